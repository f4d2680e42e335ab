//! The close order, in process: the service runs on a thread with real signal handlers and a
//! real notify socket; the test boots agents over HTTP, sets the stop flag, and reads the
//! record the lifecycle keeps of each step it closed.

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::Ordering;

use clap::Parser;
use keria::cli::{Cli, Command};
use keria::commands::start::lifecycle;
use keria::config::StartConfig;
use keria::exit_code::ExitCode;
use keria::process::notify::Notifier;
use keria::process::signals::Signals;

use crate::agency::random_boot_body;
use crate::harness::{read_response, PATIENCE};

#[test]
fn servers_then_fetcher_then_agents_newest_first_then_store_then_lock() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    // This test runs in a process of its own (nextest), so the variable reaches nothing else.
    std::env::set_var("NOTIFY_SOCKET", &socket_path);
    let command_line = [
        "keria",
        "start",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "-a",
        "0",
        "-H",
        "0",
        "-B",
        "0",
    ];
    let Command::Start(args) = Cli::try_parse_from(command_line).unwrap().command else {
        unreachable!("a start command line")
    };
    let config = StartConfig::try_from(args).unwrap();
    let signals = Signals::install().unwrap();
    let stop = signals.stop_flag();
    let notifier = Notifier::from_env().unwrap();
    let service = std::thread::spawn(move || {
        let mut closed = Vec::new();
        let code = lifecycle(&config, signals, notifier, None, &mut closed);
        (code.map_err(|err| format!("{err:#}")), closed)
    });

    let mut ready = [0_u8; 4096];
    let length = socket.recv(&mut ready).unwrap();
    let ready = String::from_utf8_lossy(&ready[..length]).into_owned();
    assert!(ready.starts_with("READY=1"), "{ready}");
    let boot: u16 = ready
        .split("boot port ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    let mut agents = Vec::new();
    for _ in 0..3 {
        let (body, _) = random_boot_body();
        let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let raw = format!(
            "POST /boot HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut stream, raw.as_bytes()).unwrap();
        let response = read_response(&mut stream);
        assert_eq!(response.status, 202, "{}", response.body);
        agents.push(response.json()["i"].as_str().unwrap().to_owned());
    }

    stop.store(true, Ordering::Relaxed);
    let (code, closed) = service.join().unwrap();
    assert_eq!(code, Ok(ExitCode::Success));
    let store = data_dir.join("keri/adb/keria.redb");
    let mut expected = vec!["servers".to_owned(), "workers".to_owned()];
    expected.extend(agents.iter().rev().map(|agent| format!("agent {agent}")));
    expected.push(format!("store {}", store.display()));
    expected.push("lock".to_owned());
    assert_eq!(closed, expected);
}
