//! The data-dir lock and checks, signals at the very start, flag validation, TLS clients.

use std::os::unix::fs::PermissionsExt;

use rustix::process::Signal;

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
fn a_data_dir_other_users_can_enter_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = start_on(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("keria: error: data dir ")
            && stderr.contains("accessible to other users (mode 777)"),
        "{stderr}"
    );
    assert!(!dir.join("keria.pid").exists());
    assert!(!dir.join("keri").exists());
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
