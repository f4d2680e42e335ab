//! A disk that fills under the agency: writes fail with 5xx and nothing of their batch is kept
//! or sent, `/health` and `/metrics` say the store is failing, writes succeed again once space
//! is back (without a restart), and SIGTERM still exits 0. Runs keria on a tmpfs of its own in a
//! private mount namespace, so it needs root.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustix::process::Signal;
use serde_json::json;

use crate::agency::random_boot_body;
use crate::harness::{Keria, Start, PATIENCE};
use crate::identifiers::Controller;

/// Fills the file system that holds `path` (as keria's namespace shows it) with one file.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    for chunk in [64 << 10, 4 << 10, 512] {
        let bytes = vec![0_u8; chunk];
        while file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
    }
}

/// Boots fresh controllers until one is refused with a 5xx (the disk is full), at most
/// `bound` of them; the statuses seen.
fn boot_until_refused(keria: &Keria, bound: usize) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..bound {
        let (body, _) = random_boot_body();
        let status = keria.post(keria.ports().boot, "/boot", &body, "").status;
        seen.push(status);
        if status >= 500 {
            break;
        }
    }
    seen
}

/// Polls `/health` until its `store` field is `wanted`.
fn wait_for_store(keria: &Keria, wanted: &str) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let health = keria.get(keria.ports().boot, "/health").json();
        if health["store"] == wanted {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "the store never became {wanted}: {health}"
        );
        std::thread::yield_now();
    }
}

/// A loopback server that records the path of every request it gets (answering 404).
fn recording() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&paths);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0_u8; 4096];
            let read = stream.read(&mut request).unwrap_or(0);
            let text = String::from_utf8_lossy(&request[..read]).into_owned();
            let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
            seen.lock().unwrap().push(path);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, paths)
}

#[test]
fn a_full_disk_fails_writes_and_the_agency_recovers_when_space_is_back() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: a tmpfs in a private mount namespace needs root");
        return;
    }
    let mut keria = Start::new().on_tmpfs(8 << 10).start();
    let boot = keria.ports().boot;
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        let (body, _) = random_boot_body();
        assert_eq!(keria.post(boot, "/boot", &body, "").status, 202);
        acknowledged.push(body);
    }
    let controller = Controller::boot(&keria);
    let (oobi_port, requested) = recording();

    let filler = keria.namespace_path(&keria.data_dir.join("filler"));
    fill(&filler);
    let seen = boot_until_refused(&keria, 400);
    assert!(
        seen.last().is_some_and(|status| *status >= 500),
        "no boot was refused on a full disk: {seen:?}"
    );
    let health = wait_for_store(&keria, "failing");
    assert_eq!(health["status"], "ok", "reads are still served: {health}");
    assert!(health["storeError"].as_str().is_some(), "{health}");
    let metrics = keria.get(boot, "/metrics").body;
    assert!(metrics.contains("keria_store_failing 1"), "{metrics}");
    // A resolution refused with its batch is never fetched.
    let refused = controller.send(
        &keria,
        "POST",
        "/oobis",
        Some(&json!({"url": format!("http://127.0.0.1:{oobi_port}/oobi/EAAA/refused")})),
    );
    assert!(refused.status >= 500, "{}", refused.body);

    std::fs::remove_file(&filler).unwrap();
    wait_for_store(&keria, "ok");
    let (body, _) = random_boot_body();
    assert_eq!(
        keria.post(boot, "/boot", &body, "").status,
        202,
        "{}",
        keria.log()
    );
    for body in &acknowledged {
        assert_eq!(keria.post(boot, "/boot", body, "").status, 409);
    }
    let metrics = keria.get(boot, "/metrics").body;
    assert!(metrics.contains("keria_store_failing 0"), "{metrics}");
    let kept = controller.send(
        &keria,
        "POST",
        "/oobis",
        Some(&json!({"url": format!("http://127.0.0.1:{oobi_port}/oobi/EAAA/kept")})),
    );
    assert_eq!(kept.status, 202, "{}", kept.body);
    let deadline = Instant::now() + PATIENCE;
    while !requested
        .lock()
        .unwrap()
        .iter()
        .any(|path| path.ends_with("/kept"))
    {
        assert!(
            Instant::now() < deadline,
            "the kept resolution was never fetched"
        );
        std::thread::yield_now();
    }
    let requested = requested.lock().unwrap().clone();
    assert!(
        !requested.iter().any(|path| path.ends_with("/refused")),
        "a resolution whose commit failed was fetched: {requested:?}"
    );
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "{}",
        keria.log()
    );
}

#[test]
fn a_stop_while_the_disk_is_full_is_graceful() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: a tmpfs in a private mount namespace needs root");
        return;
    }
    let mut keria = Start::new().on_tmpfs(8 << 10).start();
    fill(&keria.namespace_path(&keria.data_dir.join("filler")));
    let seen = boot_until_refused(&keria, 400);
    assert!(seen.last().is_some_and(|status| *status >= 500), "{seen:?}");
    wait_for_store(&keria, "failing");
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "{}",
        keria.log()
    );
}
