//! Log formats through the binary: JSON lines, and the journal's priority prefixes when
//! `JOURNAL_STREAM` names keria's stderr (and only then).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;

use crate::harness::{keria_bin, Start};

#[test]
fn json_log_lines_are_one_object_each_with_time_level_target_message() {
    let mut keria = Start::new().env("KERIA_LOG_FORMAT", "json").start();
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let log = keria.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    for line in &lines {
        let object = line.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["time", "level", "target", "message"], "{line}");
        assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
    }
    assert!(lines.iter().any(|line| line["level"] == "WARNING"
        && line["message"]
            .as_str()
            .unwrap()
            .starts_with("no controller URL configured")));
    assert!(
        lines
            .iter()
            .any(|line| line["level"] == "INFO"
                && line["message"] == "Agent keria gracefully stopped")
    );

    let mut keria = Start::new().args(["--log-format", "json"]).start();
    assert!(serde_json::from_str::<Value>(&keria.wait_for_log("ready").unwrap()).is_ok());
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_journal_stream_that_is_not_our_stderr_changes_nothing() {
    let mut keria = Start::new().env("JOURNAL_STREAM", "1:2").start();
    let ready = keria.wait_for_log("ready").unwrap();
    assert!(ready.starts_with("[20"), "{ready}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Runs keria with `JOURNAL_STREAM` set, by a shell, to its stderr's own device and inode (as
/// systemd does); every line it wrote until it stopped.
fn journal_lines(format: &str) -> Vec<String> {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" start --data-dir "$1" -a 0 -H 0 -B 0 --log-format "$2""#,
            keria_bin(),
            data_dir.to_str().unwrap(),
            format,
        ])
        .env_remove("NOTIFY_SOCKET")
        .env_remove("RUST_LOG")
        .env("KERIA_LOG_LEVEL", "INFO")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut signalled = false;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if !signalled && line.contains("ready") {
            let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
            kill_process(pid, Signal::TERM).unwrap();
            signalled = true;
        }
        lines.push(std::mem::take(&mut line).trim_end().to_owned());
    }
    assert_eq!(child.wait().unwrap().code(), Some(0), "{lines:?}");
    assert!(signalled, "keria never became ready: {lines:?}");
    lines
}

#[test]
fn on_the_journal_lines_carry_syslog_priorities_and_no_timestamp() {
    let lines = journal_lines("text");
    assert!(
        lines.iter().any(|line| line.starts_with("<4>[WARN ")),
        "{lines:?}"
    );
    let ready = lines.iter().find(|line| line.contains("ready")).unwrap();
    assert!(
        ready.starts_with("<6>[INFO keria::runtime::service] keria "),
        "{ready}"
    );
    assert!(
        lines
            .iter()
            .all(|line| line.starts_with('<') && !line.contains("[20")),
        "{lines:?}"
    );
    let lines = journal_lines("json");
    let ready = lines.iter().find(|line| line.contains("ready")).unwrap();
    let object: Value = serde_json::from_str(ready.strip_prefix("<6>").unwrap()).unwrap();
    assert_eq!(object["level"], "INFO");
}
