//! The data-dir lock and checks, signals at the very start, flag validation, TLS clients.

use std::os::unix::fs::PermissionsExt;

use rustix::process::Signal;

use crate::agency::{VECTOR_CONTROLLER, VECTOR_PASSCODE};
use crate::harness::{run_keria, Start};

/// `keria start` on `dir` with ephemeral ports, expected to exit by itself: (code, stderr).
fn start_on(dir: &std::path::Path) -> (i32, String) {
    let dir = dir.to_str().unwrap();
    let (code, _, stderr) = run_keria(
        &["start", "--data-dir", dir, "-a", "0", "-H", "0", "-B", "0"],
        &[],
    );
    (code, stderr)
}

#[test]
fn deleting_the_pid_file_does_not_let_a_second_agency_in() {
    let mut first = Start::new().start();
    let dir = first.data_dir.clone();
    std::fs::remove_file(dir.join("keria.pid")).unwrap();
    let (code, stderr) = start_on(&dir);
    assert_eq!(code, 1, "a second agency started: {stderr}");
    assert!(
        stderr.starts_with("keria: error: ") && stderr.contains("is in use"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.pid())),
        "the holder is not named: {stderr}"
    );
    assert_eq!(first.get(first.ports().boot, "/health").status, 200);
    let (code, stdout, _) = run_keria(
        &[
            "status",
            "-B",
            &first.ports().boot.to_string(),
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        first.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        first.log()
    );
    assert!(first.log().contains("gracefully stopped"));
}

#[test]
fn a_data_dir_other_users_can_write_to_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = start_on(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("keria: error: data dir ")
            && stderr.contains("writable by other users (mode 777)"),
        "{stderr}"
    );
    assert!(!dir.join("keria.pid").exists());
    assert!(!dir.join("keri").exists());
}

#[test]
fn a_data_dir_made_with_mkdir_is_served_and_what_holds_keys_is_private() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut keria = Start::new().data_dir(&dir).start();
    assert_eq!(
        keria.get(keria.ports().boot, "/health").status,
        200,
        "{}",
        keria.log()
    );
    let store = crate::agency::store_path(&dir);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o755, "the operator's folder is left as it was");
    assert_eq!(mode(store.parent().unwrap()), 0o700);
    assert_eq!(mode(&store), 0o600);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_data_dir_owned_by_another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: chown to another user needs root");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(4242), Some(4242)).unwrap();
    let (code, stderr) = start_on(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("owned by uid 4242") && stderr.contains("not by uid 0"),
        "{stderr}"
    );
    assert!(!dir.join("keria.pid").exists());
}

/// Whether `pid` has a handler for `signal` (its `SigCgt` mask in /proc).
fn catches(pid: i32, signal: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

#[test]
fn sigterm_as_soon_as_the_handler_shows_always_stops_gracefully() {
    for signal in [Signal::TERM, Signal::INT] {
        for attempt in 0..20 {
            let mut keria = Start::new().spawn();
            let deadline = std::time::Instant::now() + crate::harness::PATIENCE;
            while !catches(keria.pid(), signal.as_raw().unsigned_abs()) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no handler was installed"
                );
                std::hint::spin_loop();
            }
            let status = keria.stop_with(signal);
            assert_eq!(
                status.code(),
                Some(0),
                "attempt {attempt} with {signal:?}: {status}; log:\n{}",
                keria.log()
            );
        }
    }
}

#[test]
fn start_catches_sigterm_before_it_parses_its_arguments() {
    // `start --help` writing into a full 4 KiB pipe blocks inside argument parsing: the
    // handlers must already be there.
    let (read_end, write_end) = rustix::pipe::pipe().unwrap();
    rustix::pipe::fcntl_setpipe_size(&write_end, 4096).unwrap();
    let mut child = std::process::Command::new(crate::harness::keria_bin())
        .args(["start", "--help"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(write_end))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::fs::File::from(read_end);
    let pid = i32::try_from(child.id()).unwrap();
    let deadline = std::time::Instant::now() + crate::harness::PATIENCE;
    // /proc/<pid>/syscall: "1 0x1 …" is write(2) on fd 1, blocked.
    while !std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .unwrap_or_default()
        .starts_with("1 0x1 ")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "keria never blocked writing its help"
        );
        std::thread::yield_now();
    }
    assert!(
        catches(pid, 15) && catches(pid, 2),
        "start parses its arguments before it catches SIGTERM and SIGINT"
    );
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), Signal::TERM)
        .unwrap();
    let mut help = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut help).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(help.contains("Exit status"), "{help}");
}

/// Arguments and environment of one `keria` run.
type UsageCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);

#[test]
fn every_bad_flag_value_is_a_usage_error() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let dir = dir.to_str().unwrap();
    let start = |extra: &[&'static str]| {
        let mut args = vec!["start", "--data-dir", dir, "-a", "0", "-H", "0", "-B", "0"];
        args.extend_from_slice(extra);
        args
    };
    let table: Vec<UsageCase> = vec![
        (start(&["-a", "70000"]), vec![]),
        (start(&["-H", "http"]), vec![]),
        (vec!["status"], vec![("KERIA_BOOT_PORT", "-1")]),
        (start(&["--tock", "0"]), vec![]),
        (start(&["--tock", "-0.5"]), vec![]),
        (start(&["--tock", "fast"]), vec![]),
        (start(&["--shutdown-timeout", "0"]), vec![]),
        (start(&["--header-timeout", "NaN"]), vec![]),
        (start(&["--release-timeout", "0"]), vec![]),
        (start(&[]), vec![("KERIA_RELEASER_TIMEOUT", "soon")]),
        (start(&["--signature-window", "0"]), vec![]),
        (start(&["--max-body", "0"]), vec![]),
        (start(&["--max-body", "1MiB"]), vec![]),
        (start(&["--max-connections", "0"]), vec![]),
        (start(&["--loglevel", "LOUD"]), vec![]),
        (start(&[]), vec![("KERIA_LOG_LEVEL", "verbose")]),
        (start(&["--name", "../x"]), vec![]),
        (start(&["--base", "a/b"]), vec![]),
        (start(&["--config-file", ".."]), vec![]),
        (start(&["--passcode", "short"]), vec![]),
        (start(&["--curls", "http://a;nope"]), vec![]),
        (start(&[]), vec![("KERIA_IURLS", "ftp://x")]),
        (start(&["--cors", "maybe"]), vec![]),
        (start(&[]), vec![("KERI_AGENT_CORS", "maybe")]),
        (vec!["status", "--url", "ftp://x"], vec![]),
        (vec!["status", "--url", "not a url"], vec![]),
        (vec!["status", "--url", "http://h/?q=1"], vec![]),
        (vec!["status", "--wait", "-1"], vec![]),
        (vec!["boot", "--url", "localhost:3903"], vec![]),
        (vec!["boot", "--passcode", "short"], vec![]),
        (vec!["boot", "--tier", "ultra"], vec![]),
        (
            vec!["boot", "--passcode", "abcdefghijklmnopqrstu", "--generate"],
            vec![],
        ),
    ];
    for (args, env) in table {
        let (code, _, stderr) = run_keria(&args, &env);
        assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?} {env:?}: {stderr}");
    }
}

#[test]
fn cors_is_a_switch_and_its_variable_turns_it_on_and_off() {
    let health = "GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://o\r\nConnection: close\r\n\r\n";
    for (args, env, on) in [
        (vec!["--cors"], None, true),
        (vec![], Some("1"), true),
        (vec![], Some("true"), true),
        (vec![], Some("0"), false),
        (vec![], Some("false"), false),
        (vec![], None, false),
    ] {
        let mut start = Start::new().args(args.clone());
        if let Some(value) = env {
            start = start.env("KERI_AGENT_CORS", value);
        }
        let mut keria = start.start();
        let response = keria.request(keria.ports().boot, health);
        assert_eq!(
            response.header("access-control-allow-origin").is_some(),
            on,
            "{args:?} KERI_AGENT_CORS={env:?}: {response:?}"
        );
        assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    }
}

#[test]
fn an_explicit_passcode_source_wins_over_signify_passcode() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot.to_string();
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("passcode");
    std::fs::write(&file, format!("{VECTOR_PASSCODE}\n")).unwrap();
    let other = [("SIGNIFY_PASSCODE", "ABCDEFGHIJKLMNOPQRSTU")];
    let (code, stdout, stderr) = run_keria(
        &[
            "boot",
            "-B",
            &boot,
            "--json",
            "--passcode-file",
            file.to_str().unwrap(),
        ],
        &other,
    );
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        out["controller"], VECTOR_CONTROLLER,
        "SIGNIFY_PASSCODE won over the file"
    );
    let (code, stdout, stderr) = run_keria(&["boot", "-B", &boot, "--json", "--generate"], &other);
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_ne!(out["passcode"], "ABCDEFGHIJKLMNOPQRSTU");
    assert_eq!(out["outcome"], "created");
    let (code, _, stderr) = run_keria(
        &[
            "boot",
            "-B",
            &boot,
            "--passcode-file",
            file.to_str().unwrap(),
            "--generate",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn if_missing_prints_the_existing_agent_in_text_and_json() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let (boot, admin) = (ports.boot.to_string(), ports.admin.to_string());
    let env = [("SIGNIFY_PASSCODE", VECTOR_PASSCODE)];
    let args = ["boot", "-B", &boot, "-a", &admin, "--if-missing"];
    let (code, created, stderr) = run_keria(&[&args[..], &["--json"]].concat(), &env);
    assert_eq!(code, 0, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["outcome"], "created");
    let agent = created["agent"].as_str().unwrap().to_owned();

    let (code, exists, stderr) = run_keria(&[&args[..], &["--json"]].concat(), &env);
    assert_eq!(code, 0, "{stderr}");
    let exists: serde_json::Value = serde_json::from_str(&exists).unwrap();
    assert_eq!(
        exists,
        serde_json::json!({"outcome": "exists", "controller": VECTOR_CONTROLLER, "agent": agent})
    );
    let (code, text, stderr) = run_keria(&args, &env);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        text,
        format!("controller {VECTOR_CONTROLLER} agent {agent} (already there)\n")
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
