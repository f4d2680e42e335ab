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
    let mut child = std::process::Command::new(crate::harness::keria_bin())
        .args(["start", "--help"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    rustix::pipe::fcntl_setpipe_size(&stdout, 4096).unwrap();
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
