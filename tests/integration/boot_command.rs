//! `keria boot`: provisioning from a shell, then connecting with signify-ts.

use std::io::Write;
use std::process::{Command, Stdio};

use rustix::process::Signal;
use serde_json::Value;

use crate::agency::{VECTOR_CONTROLLER, VECTOR_PASSCODE};
use crate::harness::{keria_bin, run_keria, Start, PATIENCE};
use crate::signify;

fn boot_args(boot: u16) -> Vec<String> {
    vec![
        "boot".to_owned(),
        "-B".to_owned(),
        boot.to_string(),
        "--json".to_owned(),
    ]
}

fn run_boot(args: &[String], env: &[(&str, &str)]) -> (i32, Value, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = run_keria(&args, env);
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (code, value, stderr)
}

#[test]
fn keria_boot_provisions_the_controller_signify_derives_and_signify_connects() {
    let mut keria = Start::new().start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passcode");
    std::fs::write(&file, format!("{VECTOR_PASSCODE}\n")).unwrap();
    let mut args = boot_args(keria.ports().boot);
    args.extend([
        "--passcode-file".to_owned(),
        file.to_str().unwrap().to_owned(),
    ]);
    let (code, out, stderr) = run_boot(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["outcome"], "created");
    assert_eq!(
        out["controller"], VECTOR_CONTROLLER,
        "the controller differs from Signify's derivation"
    );
    let agent = out["agent"].as_str().unwrap().to_owned();

    let urls = signify::urls(keria.ports());
    let mut client: Vec<&str> = urls.iter().map(String::as_str).collect();
    client.extend(["--passcode", VECTOR_PASSCODE, "--steps", "connect,list"]);
    let (ok, connected) = signify::client(&client);
    assert!(ok, "{connected}");
    assert_eq!(connected["agent"], agent.as_str());

    let (code, out, _) = run_boot(&args, &[]);
    assert_eq!((code, out["outcome"].as_str()), (5, Some("exists")));
    args.push("--if-missing".to_owned());
    assert_eq!(run_boot(&args, &[]).0, 0);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn passcode_sources_short_passcodes_and_generation() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    let (code, out, stderr) = run_boot(
        &boot_args(boot),
        &[("SIGNIFY_PASSCODE", "abcdefghijklmnopqrstu")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("visible to other users"), "{stderr}");
    assert_eq!(out["outcome"], "created");

    let mut args = boot_args(boot);
    args.extend(["--passcode".to_owned(), "ABCDEFGHIJKLMNOPQRSTU".to_owned()]);
    let (code, _, stderr) = run_boot(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("visible to other users"), "{stderr}");

    let mut args = boot_args(boot);
    args.extend(["--passcode".to_owned(), "too-short".to_owned()]);
    let (code, _, stderr) = run_boot(&args, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("at least 21 characters"), "{stderr}");

    let mut args = boot_args(boot);
    args.push("--generate".to_owned());
    let (code, out, stderr) = run_boot(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let passcode = out["passcode"].as_str().unwrap();
    assert_eq!(passcode.len(), 21);
    let mut again = boot_args(boot);
    again.extend(["--passcode".to_owned(), passcode.to_owned()]);
    assert_eq!(
        run_boot(&again, &[]).1["controller"],
        out["controller"],
        "the printed passcode does not give the same controller"
    );

    let (code, _, stderr) = run_boot(&boot_args(boot), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no passcode"), "{stderr}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn an_unreachable_agency_exits_three() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, stderr) = run_boot(&boot_args(port), &[("SIGNIFY_PASSCODE", VECTOR_PASSCODE)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("agency not reachable"), "{stderr}");
}

#[test]
fn boot_credentials_are_sent_when_given() {
    let mut keria = Start::new()
        .args([
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "pw",
        ])
        .start();
    let env = [("SIGNIFY_PASSCODE", VECTOR_PASSCODE)];
    let (code, _, stderr) = run_boot(&boot_args(keria.ports().boot), &env);
    assert_eq!(code, 1);
    assert!(stderr.contains("401"), "{stderr}");
    let mut args = boot_args(keria.ports().boot);
    args.extend(
        [
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "pw",
        ]
        .map(str::to_owned),
    );
    let (code, out, stderr) = run_boot(&args, &env);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["controller"], VECTOR_CONTROLLER);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn ctrl_c_during_key_stretching_exits_130() {
    let mut child = Command::new(keria_bin())
        .args([
            "boot",
            "-B",
            "1",
            "--tier",
            "high",
            "--passcode-file",
            "/dev/stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(VECTOR_PASSCODE.as_bytes())
        .unwrap();
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    // The high tier stretches over 1 GiB for seconds: wait until the handler is installed.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok());
        if caught.is_some_and(|mask| mask & (1 << 1) != 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no SIGINT handler");
        std::thread::yield_now();
    }
    let started = std::time::Instant::now();
    rustix::process::kill_process(pid, Signal::INT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "the interrupt waited for the derivation"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
}
