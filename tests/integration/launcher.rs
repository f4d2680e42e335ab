//! The launcher: signals, the stop, the lock, ports, notify, status, limits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use rustix::process::Signal;

use crate::harness::{read_response, run_keria, Start, PATIENCE};

#[test]
fn sigterm_stops_gracefully_with_exit_zero() {
    let mut keria = Start::new().start();
    assert_eq!(keria.get(keria.ports().boot, "/health").status, 200);
    let status = keria.stop_with(Signal::TERM);
    assert_eq!(status.code(), Some(0), "log:\n{}", keria.log());
    assert!(
        keria.log().contains("Agent keria gracefully stopped"),
        "log:\n{}",
        keria.log()
    );
    assert!(
        !keria.data_dir.join("keria.pid").exists(),
        "the pid file outlived a graceful stop"
    );
}

#[test]
fn sigint_stops_gracefully_with_exit_zero() {
    let mut keria = Start::new().args(["--name", "edge"]).start();
    let status = keria.stop_with(Signal::INT);
    assert_eq!(status.code(), Some(0), "log:\n{}", keria.log());
    assert!(keria.log().contains("Agent edge gracefully stopped"));
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
fn sigterm_during_start_up_still_stops_gracefully() {
    let mut keria = Start::new().spawn();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !catches(keria.pid(), 15) {
        assert!(
            std::time::Instant::now() < deadline,
            "no SIGTERM handler was installed"
        );
        std::thread::yield_now();
    }
    let status = keria.stop_with(Signal::TERM);
    assert_eq!(status.code(), Some(0), "log:\n{}", keria.log());
    assert!(
        keria.log().contains("gracefully stopped"),
        "log:\n{}",
        keria.log()
    );
}

#[test]
fn as_pid1_of_a_pid_namespace_sigterm_exits_zero() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: a new PID namespace (unshare --pid) needs root");
        return;
    }
    let mut keria = Start::new().in_pid_namespace().start();
    let health = keria.get(keria.ports().boot, "/health").json();
    assert_eq!(
        health["pid"], 1,
        "keria is not PID 1 of its namespace: {health}"
    );
    let status = keria.stop_with(Signal::TERM);
    assert_eq!(status.code(), Some(0), "log:\n{}", keria.log());
    assert!(keria.log().contains("gracefully stopped"));
}

/// A client that pipelines requests and never reads, so the stop waits for its answers (for
/// the stop's grace); returns once keria paused it. Keria must log at DEBUG.
fn unread_answers(keria: &crate::harness::Keria) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", keria.ports().boot)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = writer.write_all(&b"GET /health HTTP/1.1\r\n\r\n".repeat(1 << 17));
    });
    keria
        .wait_for_log("the client is not reading; reading paused")
        .expect("the client was never paused");
    stream
}

#[test]
fn second_signal_during_the_stop_forces_exit_128_plus_n() {
    for (signal, code) in [(Signal::TERM, 143), (Signal::INT, 130)] {
        let mut keria = Start::new()
            .notify()
            .env("KERIA_LOG_LEVEL", "DEBUG")
            .args(["--shutdown-timeout", "30"])
            .start();
        assert!(keria.next_notify().starts_with("READY=1"));
        // An OOBI fetch from a server that never answers holds the stop until its deadline
        // (30 s): the second signal comes well before, whatever the machine's load.
        let _silent = hold_the_stop_with_a_silent_fetch(&keria);
        keria.signal(signal);
        assert!(keria.next_notify().starts_with("STOPPING=1"));
        assert_eq!(
            keria.stop_with(signal).code(),
            Some(code),
            "log:\n{}",
            keria.log()
        );
    }
}

#[test]
fn responses_waiting_to_be_sent_go_out_during_the_stop() {
    let mut keria = Start::new()
        .notify()
        .env("KERIA_LOG_LEVEL", "DEBUG")
        .start();
    assert!(keria.next_notify().starts_with("READY=1"));
    let boot = keria.ports().boot;
    let mut unread = unread_answers(&keria);
    unread.set_read_timeout(Some(PATIENCE)).unwrap();
    keria.signal(Signal::TERM);
    assert!(keria.next_notify().starts_with("STOPPING=1"));
    // STOPPING=1 goes out just before the listeners close: wait for the refusal.
    let deadline = std::time::Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", boot)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "new connections are still accepted during the stop"
        );
    }
    // Read what comes until keria closes: answers already queued, then possibly one 503
    // with `Connection: close` (a request parsed once the stop had begun).
    let mut answered = 0;
    let mut bytes = Vec::new();
    let _ = unread.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let responses: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    for (index, response) in responses.iter().enumerate() {
        // The pipelined requests end with a partial one, which the stop closes at once: the
        // reset may cut the last answer short. Every earlier one must be whole.
        if !response.contains("\r\n\r\n") {
            assert_eq!(
                index + 1,
                responses.len(),
                "a cut answer before the last: {response}"
            );
            continue;
        }
        let status = &response[..3];
        assert!(status == "200" || status == "503", "{response}");
        if status == "503" {
            assert!(response.contains("Connection: close\r\n"), "{response}");
            assert!(response.contains("\"status\":\"stopping\""), "{response}");
        }
        answered += 1;
    }
    // How much is read before the grace (1 s) ends depends on the machine's load; what must
    // hold is that queued answers go out whole and the stop still ends with 0.
    assert!(answered > 0, "nothing was sent during the stop");
    assert_eq!(keria.wait_exit().code(), Some(0), "log:\n{}", keria.log());
}

/// Starts an OOBI resolution from a server that accepts and never answers; the listener,
/// which must live as long as the fetch is to hang.
fn hold_the_stop_with_a_silent_fetch(keria: &crate::harness::Keria) -> std::net::TcpListener {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/oobi/Esilent/agent/Esilent",
        silent.local_addr().unwrap().port()
    );
    let controller = crate::identifiers::Controller::boot(keria);
    let started = controller.send(
        keria,
        "POST",
        "/oobis",
        Some(&serde_json::json!({"url": url})),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    silent
}

#[test]
fn notify_datagrams_arrive_in_order() {
    let mut keria = Start::new().notify().env("WATCHDOG_USEC", "200000").start();
    let ready = keria.next_notify();
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        ready.contains(&format!("MAINPID={}", keria.pid())),
        "{ready}"
    );
    assert!(ready.contains("STATUS=serving on admin port"), "{ready}");
    assert_eq!(keria.next_notify(), "WATCHDOG=1");
    keria.signal(Signal::TERM);
    let mut stopping = keria.next_notify();
    while stopping == "WATCHDOG=1" {
        stopping = keria.next_notify();
    }
    assert!(
        stopping.starts_with("STOPPING=1\nSTATUS=stopping"),
        "{stopping}"
    );
    assert_eq!(keria.wait_exit().code(), Some(0));
}

#[test]
fn watchdog_for_another_pid_is_not_ours() {
    let mut keria = Start::new()
        .notify()
        .env("WATCHDOG_USEC", "100000")
        .env("WATCHDOG_PID", "1")
        .start();
    assert!(keria.next_notify().starts_with("READY=1"));
    keria.signal(Signal::TERM);
    assert!(
        keria.next_notify().starts_with("STOPPING=1"),
        "a watchdog ping was sent for another pid"
    );
    assert_eq!(keria.wait_exit().code(), Some(0));
}

#[test]
fn a_taken_port_fails_fast_naming_it_and_leaves_nothing() {
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let started = std::time::Instant::now();
    let (code, _, stderr) = run_keria(
        &[
            "start",
            "--data-dir",
            dir.to_str().unwrap(),
            "-a",
            "0",
            "-H",
            "0",
            "-B",
            &port.to_string(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        stderr.contains(&format!("cannot listen on the boot port {port}")),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|line| line.contains("error")).count(),
        1,
        "{stderr}"
    );
    assert!(!dir.join("keria.pid").exists());
}

#[test]
fn second_start_on_the_same_data_dir_is_refused_then_taken_after_sigkill() {
    let mut first = Start::new().start();
    let dir = first.data_dir.clone();
    let started = std::time::Instant::now();
    let (code, _, stderr) = run_keria(
        &[
            "start",
            "--data-dir",
            dir.to_str().unwrap(),
            "-a",
            "0",
            "-H",
            "0",
            "-B",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        stderr.contains(&format!("held by pid {}", first.pid())) && stderr.contains("keria.pid"),
        "{stderr}"
    );
    assert_eq!(
        first.get(first.ports().boot, "/health").status,
        200,
        "the first agency was disturbed"
    );

    first.signal(Signal::KILL);
    first.wait_exit();
    let mut second = Start::new().data_dir(&dir).start();
    assert_eq!(second.get(second.ports().boot, "/health").status, 200);
    assert_eq!(second.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn status_exit_codes_follow_lsb() {
    let mut keria = Start::new().start();
    let dir = keria.data_dir.to_str().unwrap().to_owned();
    let boot = keria.ports().boot.to_string();
    let (code, stdout, _) = run_keria(&["status", "-B", &boot, "--data-dir", &dir], &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("keria: running (pid "), "{stdout}");
    let (code, stdout, _) = run_keria(&["status", "-B", &boot, "--data-dir", &dir, "--json"], &[]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["state"], "running");
    assert_eq!(report["health"]["pid"], keria.pid());

    keria.signal(Signal::KILL);
    keria.wait_exit();
    let (code, stdout, _) = run_keria(&["status", "-B", &boot, "--data-dir", &dir], &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("keria.pid"), "{stdout}");

    let mut keria = Start::new()
        .data_dir(keria.data_dir.clone().as_path())
        .start();
    let boot = keria.ports().boot.to_string();
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let (code, stdout, _) = run_keria(&["status", "-B", &boot, "--data-dir", &dir, "--json"], &[]);
    assert_eq!(code, 3, "{stdout}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["state"],
        "stopped"
    );
}

#[test]
fn status_of_an_answer_that_is_not_keria_is_unknown() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buffer = [0_u8; 1024];
        let _ = stream.read(&mut buffer).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run_keria(
        &[
            "status",
            "-B",
            &port.to_string(),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    server.join().unwrap();
    assert_eq!(code, 4, "{stdout}");
    assert!(stdout.contains("not as keria"), "{stdout}");
}

#[test]
fn status_wait_polls_until_healthy() {
    let keria = Start::new().spawn();
    let dir = keria.data_dir.to_str().unwrap().to_owned();
    let mut keria = keria;
    let ports = keria.wait_ready();
    let (code, stdout, _) = run_keria(
        &[
            "status",
            "-B",
            &ports.boot.to_string(),
            "--data-dir",
            &dir,
            "--wait",
            "10",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn bad_flags_exit_two() {
    let (code, _, stderr) = run_keria(&["start", "--no-such-flag"], &[]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = run_keria(&["start", "-a", "not-a-port"], &[]);
    assert_eq!(code, 2);
    let (code, _, _) = run_keria(&["frobnicate"], &[]);
    assert_eq!(code, 2);
    let (code, _, stderr) = run_keria(&["start", "--data-dir", "/tmp", "--loglevel", "LOUD"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: invalid value 'LOUD' for '--loglevel <LOGLEVEL>': unknown log level"
        ),
        "{stderr}"
    );
}

#[test]
fn help_shows_options_environment_and_defaults() {
    let (code, stdout, _) = run_keria(&["start", "--help"], &[]);
    assert_eq!(code, 0);
    for needle in [
        "--admin-http-port",
        "KERIA_ADMIN_PORT",
        "[default: 3901]",
        "-H, --http",
        "-B, --boot",
        "--passcode",
        "--experimental-boot-username",
        "--shutdown-timeout",
        "Exit status",
    ] {
        assert!(stdout.contains(needle), "missing {needle} in:\n{stdout}");
    }
}

#[test]
fn limits_answer_413_431_400_and_404_405() {
    let mut keria = Start::new().args(["--max-body", "1000"]).start();
    let boot = keria.ports().boot;
    let big = "x".repeat(1001);
    let response = keria.post(boot, "/boot", &big, "");
    assert_eq!(response.status, 413);
    assert!(response.json()["description"]
        .as_str()
        .unwrap()
        .contains("1000"));
    let huge_header = format!(
        "GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(keria.request(boot, &huge_header).status, 431);
    assert_eq!(
        keria.request(boot, "BLAH\x01 / HTTP/1.1\r\n\r\n").status,
        400
    );
    let response = keria.get(boot, "/nowhere");
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["title"], "404 Not Found");
    let response = keria.post(boot, "/health", "{}", "");
    assert_eq!(response.status, 405);
    assert!(response.header("allow").unwrap().contains("GET"));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn all_three_ports_serve_and_route() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    assert_eq!(keria.get(ports.boot, "/health").status, 200);
    assert_eq!(
        keria.get(ports.http, "/health").status,
        404,
        "health belongs to the boot port only"
    );
    assert_eq!(
        keria.get(ports.admin, "/nowhere").status,
        401,
        "unsigned admin requests are refused"
    );
    assert_eq!(keria.get(ports.admin, "/agent/EUnknown").status, 404);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let mut keria = Start::new().start();
    let mut stream = TcpStream::connect(("127.0.0.1", keria.ports().boot)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    for _ in 0..3 {
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut stream);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("connection"), None);
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_stalled_client_is_closed_after_the_header_timeout() {
    let mut keria = Start::new().args(["--header-timeout", "0.2"]).start();
    let mut stream = TcpStream::connect(("127.0.0.1", keria.ports().boot)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost").unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 408);
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).unwrap(),
        0,
        "the connection stayed open"
    );
    let mut silent = TcpStream::connect(("127.0.0.1", keria.ports().boot)).unwrap();
    silent.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(
        silent.read_to_end(&mut rest).unwrap(),
        0,
        "a silent connection stayed open"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn connections_over_the_cap_get_a_fast_503() {
    let mut keria = Start::new().args(["--max-connections", "2"]).start();
    let boot = keria.ports().boot;
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", boot)).unwrap())
        .collect();
    // The held connections count once the server has accepted them: ask until it has.
    let deadline = std::time::Instant::now() + PATIENCE;
    let response = loop {
        let response = keria.get(boot, "/health");
        if response.status == 503 || std::time::Instant::now() > deadline {
            break response;
        }
    };
    assert_eq!(response.status, 503);
    assert!(response.body.contains("too many connections"));
    drop(held);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn sighup_reopens_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keria.log");
    let mut keria = Start::new()
        .args(["--logfile", log.to_str().unwrap()])
        .spawn();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no ready line in the log file"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::rename(&log, dir.path().join("keria.log.1")).unwrap();
    keria.signal(Signal::HUP);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("log file reopened")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the log file was not reopened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("gracefully stopped"));
}

#[test]
fn a_sighup_ignored_at_start_stays_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keria.log");
    let mut child = std::process::Command::new("nohup")
        .arg(crate::harness::keria_bin())
        .args([
            "start",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "-a",
            "0",
            "-H",
            "0",
            "-B",
            "0",
        ])
        .args(["--logfile", log.to_str().unwrap()])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let ready = std::fs::read_to_string(&log).unwrap();
    let boot: u16 = ready
        .split("boot port ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    rustix::process::kill_process(pid, Signal::HUP).unwrap();
    // The one loop thread runs the handler before it serves anything more, so an answer after
    // the SIGHUP means keria has dealt with it: it neither died nor reopened the log.
    let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream).status, 200);
    rustix::process::kill_process(pid, Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("gracefully stopped"), "{text}");
    assert!(
        !text.contains("log file reopened"),
        "an ignored SIGHUP reopened the log: {text}"
    );
}
