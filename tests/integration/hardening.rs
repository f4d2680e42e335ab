//! The servers under hostile or careless clients: floods that never read, requests cut short at
//! the stop, large and pipelined requests over TLS, file-descriptor exhaustion, strict framing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::harness::{read_response, Keria, Start, PATIENCE};
use crate::tls::{client_config, make_pki, TlsAgency};

/// What a flooding client sends: pipelined `/health` requests.
const FLOOD_REQUEST: &[u8] = b"GET /health HTTP/1.1\r\n\r\n";

/// How much a flooding client writes.
const FLOOD_BYTES: usize = 4 << 20;

/// How long another client may wait for `/health` while a flood goes on.
const PROMPT: Duration = Duration::from_secs(2);

/// Most resident memory keria may use while one client floods it (it idles near 8 MiB).
const RSS_BOUND_KIB: u64 = 32 << 10;

/// The log line a connection writes when its client stopped reading and its output is full.
const PAUSED: &str = "the client is not reading; reading paused";

/// A keria that logs at DEBUG, so the pause of a connection is visible.
fn start_debug() -> Keria {
    Start::new().env("KERIA_LOG_LEVEL", "DEBUG").start()
}

/// A client that writes `FLOOD_BYTES` of pipelined requests from a thread and never reads.
/// The thread ends when keria closes the connection; the returned stream keeps it open.
fn flood(port: u16) -> (TcpStream, JoinHandle<()>) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let thread = std::thread::spawn(move || {
        let burst = FLOOD_REQUEST.repeat(FLOOD_BYTES / FLOOD_REQUEST.len());
        let _ = writer.write_all(&burst);
    });
    (stream, thread)
}

/// A client that sent `bytes` (less than a whole request); returns once keria has read them.
fn partial_request(keria: &Keria, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", keria.ports().boot)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(bytes).unwrap();
    // A request answered on a later connection proves the first bytes were read.
    assert_eq!(keria.get(keria.ports().boot, "/health").status, 200);
    stream
}

/// `GET /health` on a fresh connection, answered within `PROMPT`.
fn prompt_health(port: u16) -> u16 {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PROMPT)).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let status = read_response(&mut stream).status;
    assert!(
        started.elapsed() < PROMPT,
        "/health took {:?}",
        started.elapsed()
    );
    status
}

#[test]
fn a_partial_request_line_does_not_hold_the_stop() {
    let mut keria = Start::new().start();
    let mut stream = partial_request(&keria, b"GET /hea");
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

#[test]
fn half_a_body_does_not_hold_the_stop() {
    let mut keria = Start::new().start();
    let _stream = partial_request(
        &keria,
        b"POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"icp\":",
    );
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    assert!(!keria.log().contains("stop grace ended"), "{}", keria.log());
}

#[test]
fn a_response_the_client_never_reads_is_dropped_after_the_grace() {
    let mut keria = start_debug();
    let (_stream, flooder) = flood(keria.ports().boot);
    keria
        .wait_for_log(PAUSED)
        .expect("the flooding connection never paused");
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    let line = keria.wait_for_log("stop grace ended").unwrap();
    assert!(line.contains("boot connection from 127.0.0.1"), "{line}");
    flooder.join().unwrap();
}

#[test]
fn a_flood_that_never_reads_leaves_other_clients_served_and_memory_bounded() {
    let mut keria = start_debug();
    let boot = keria.ports().boot;
    let (_stream, flooder) = flood(boot);
    keria
        .wait_for_log(PAUSED)
        .expect("the flooding connection never paused");
    for _ in 0..10 {
        assert_eq!(prompt_health(boot), 200);
        let rss = keria.rss_kib();
        assert!(rss < RSS_BOUND_KIB, "keria uses {rss} KiB while flooded");
    }
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    flooder.join().unwrap();
}

/// A keria serving TLS with a fresh PKI; the PKI's directory must outlive it.
fn start_tls(dir: &std::path::Path) -> (Keria, Arc<ClientConfig>) {
    let pki = make_pki(dir);
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let keria = Start::new()
        .args([
            "--keypath",
            &path("server.key"),
            "--certpath",
            &path("server.pem"),
        ])
        .start();
    (keria, client_config(&pki, false))
}

/// A TLS connection to 127.0.0.1:`port`.
fn tls_connect(port: u16, config: Arc<ClientConfig>) -> StreamOwned<ClientConnection, TcpStream> {
    let server_name = ServerName::try_from("127.0.0.1").unwrap();
    let connection = ClientConnection::new(config, server_name).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    StreamOwned::new(connection, socket)
}

#[test]
fn a_large_body_over_tls_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut keria, config) = start_tls(dir.path());
    let mut stream = tls_connect(keria.ports().boot, config);
    let body = format!("{{\"icp\":\"{}\"}}", "a".repeat(200 << 10));
    stream
        .write_all(
            format!(
                "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    stream.flush().unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
}

#[test]
fn a_thousand_pipelined_requests_over_tls_are_all_answered_then_the_stop_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let (mut keria, config) = start_tls(dir.path());
    let mut stream = tls_connect(keria.ports().boot, config);
    stream
        .write_all(&b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000))
        .unwrap();
    stream.flush().unwrap();
    for answered in 0..1000 {
        let response =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_response(&mut stream)))
                .unwrap_or_else(|_| panic!("only {answered} of 1000 requests were answered"));
        assert_eq!(response.status, 200);
    }
    // The connection stays open and idle: the stop must not wait for it.
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    assert!(!keria.log().contains("stop grace ended"), "{}", keria.log());
}

#[test]
fn content_length_must_be_plain_digits_and_absolute_targets_route_on_their_path() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    for length in ["+2", "2 2", "-0", "0x2"] {
        let response = keria.request(
            boot,
            &format!("POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"),
        );
        assert_eq!(response.status, 400, "Content-Length {length:?}");
        assert!(
            response.body.contains("invalid Content-Length"),
            "{}",
            response.body
        );
    }
    let response = keria.request(
        boot,
        "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    );
    assert_eq!(response.status, 400);
    let response = keria.request(
        boot,
        &format!(
            "GET http://127.0.0.1:{boot}/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn tls_connections_over_the_cap_get_a_fast_503() {
    let TlsAgency {
        dir: _dir,
        pki,
        mut keria,
    } = TlsAgency::start(false, &["--max-connections", "2"]);
    let boot = keria.ports().boot;
    let config = client_config(&pki, false);
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", boot)).unwrap())
        .collect();
    // The held connections count once the server has accepted them: ask until it has.
    let deadline = Instant::now() + PATIENCE;
    let response = loop {
        let mut stream = tls_connect(boot, Arc::clone(&config));
        let answer = stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .and_then(|()| stream.flush())
            .ok()
            .and_then(|()| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read_response(&mut stream)
                }))
                .ok()
            });
        match answer {
            Some(response) if response.status == 503 => break response,
            _ => assert!(Instant::now() < deadline, "no 503 over TLS above the cap"),
        }
    };
    assert!(
        response.body.contains("too many connections"),
        "{}",
        response.body
    );
    assert_eq!(response.header("connection"), Some("close"));
    drop(held);
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
}

/// The open-file limit keria runs under in the descriptor tests: far below `--max-connections`.
const LOW_FILE_LIMIT: u64 = 64;

#[test]
fn connections_beyond_the_open_file_limit_leave_the_listener_serving() {
    let mut keria = Start::new()
        .open_file_limit(LOW_FILE_LIMIT, LOW_FILE_LIMIT)
        .start();
    let line = keria
        .wait_for_log("does not fit the open-file limit")
        .expect("no warning about the open-file limit");
    assert!(line.contains("serving at most"), "{line}");
    let boot = keria.ports().boot;
    // Far more connections than descriptors; the last one is refused once all before it were.
    let held: Vec<TcpStream> = (0..4 * LOW_FILE_LIMIT)
        .map(|_| TcpStream::connect(("127.0.0.1", boot)).unwrap())
        .collect();
    let mut last = held.last().unwrap().try_clone().unwrap();
    last.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_response(&mut last).status, 503);
    drop((held, last));
    // Closed connections are counted off as keria sees them close: ask until it serves again.
    let deadline = Instant::now() + PATIENCE;
    while keria.get(boot, "/health").status != 200 {
        assert!(
            Instant::now() < deadline,
            "the boot port never served again"
        );
    }
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let mut keria = Start::new().open_file_limit(LOW_FILE_LIMIT, 4096).start();
    let line = keria.wait_for_log("raised the open-file limit").unwrap();
    assert!(
        line.contains(&format!("from {LOW_FILE_LIMIT} to 4096")),
        "{line}"
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", keria.pid())).unwrap();
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().nth(3),
        Some("4096"),
        "{open_files}"
    );
    assert!(!keria.log().contains("does not fit"), "{}", keria.log());
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
}

/// `GET /health` on `address`; None when the connection is refused.
fn health_at(address: std::net::SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    Some(read_response(&mut stream).status)
}

#[test]
fn host_chooses_the_address_the_ports_listen_on() {
    let mut keria = Start::new().args(["--host", "127.0.0.1"]).start();
    let boot = keria.ports().boot;
    assert_eq!(health_at(([127, 0, 0, 1], boot).into()), Some(200));
    assert_eq!(
        health_at(([127, 0, 0, 2], boot).into()),
        None,
        "listening beyond --host"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped the IPv6 half: this machine has no IPv6 loopback");
        return;
    }
    let mut keria = Start::new().env("KERIA_HOST", "::1").start();
    let boot = keria.ports().boot;
    let ipv6_loopback = std::net::Ipv6Addr::LOCALHOST;
    assert_eq!(health_at((ipv6_loopback, boot).into()), Some(200));
    assert_eq!(
        health_at(([127, 0, 0, 1], boot).into()),
        None,
        "listening beyond --host"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn host_must_be_an_ip_address() {
    let (code, _, stderr) = crate::harness::run_keria(&["start", "--host", "localhost"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("invalid value 'localhost' for '--host"),
        "{stderr}"
    );
}
