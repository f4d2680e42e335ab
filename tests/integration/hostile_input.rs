//! The boot and admin ports under a hostile client: connection floods that must leave the
//! agency observable, boots that try to store too much or an unrotatable controller, loose
//! Basic auth, ambiguous JSON, and a refused start that must not touch the store.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use keria::commands::boot::boot_body;
use keria::keri::build;
use keria::keri::primitives::{Diger, Signer, Verfer};
use keria::signify::passcode::Tier;
use rustix::process::Signal;
use serde_json::{json, Map, Value};

/// What a SAID field holds while its digest is computed (44 `#`).
const DUMMY: &str = "############################################";

use crate::agency::{store_path, stored_controllers, VECTOR_BODY, VECTOR_CONTROLLER};
use crate::harness::{read_response, Keria, Start, PATIENCE};

/// The connection cap of the flood tests: the boot port keeps a quarter of it for itself.
const MAX_CONNECTIONS: usize = 16;

/// `GET path` on a kept-alive connection, read to its answer; the connection stays open.
fn kept_alive(port: u16, path: &str) -> (TcpStream, u16) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let status = read_response(&mut stream).status;
    (stream, status)
}

/// Opens connections to `port` until one is answered 503 at once, proving the port full.
fn wait_until_full(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut probe = TcpStream::connect(("127.0.0.1", port)).unwrap();
        probe.set_read_timeout(Some(PATIENCE)).unwrap();
        let _ = probe.write_all(b"GET /agent/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if read_response(&mut probe).status == 503 {
            return;
        }
        assert!(Instant::now() < deadline, "the port never filled up");
    }
}

#[test]
fn a_flood_of_idle_admin_connections_leaves_health_and_metrics_answering() {
    let mut keria = Start::new()
        .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
        .start();
    let ports = keria.ports();
    let held: Vec<TcpStream> = (0..MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(("127.0.0.1", ports.admin)).unwrap())
        .collect();
    wait_until_full(ports.admin);
    let health = keria.get(ports.boot, "/health");
    assert_eq!(health.status, 200, "{}", health.body);
    let metrics = keria.get(ports.boot, "/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    drop(held);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn idle_keep_alive_connections_are_closed_first_under_pressure() {
    let mut keria = Start::new()
        .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
        .start();
    let admin = keria.ports().admin;
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let (stream, status) = kept_alive(admin, "/agent/unknown");
        assert_eq!(status, 404);
        held.push(stream);
    }
    let (_newest, status) = kept_alive(admin, "/agent/unknown");
    assert_eq!(
        status, 404,
        "a full port refused instead of closing an idle connection"
    );
    let mut byte = [0_u8; 1];
    match held[0].read(&mut byte) {
        Ok(0) => {}
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the idlest connection was not the one closed: {other:?}"),
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// A Signify-style inception with one transferable key, edited by `edit` before its SAID and
/// version are computed, and the boot body that carries it.
fn boot_body_with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let signer = Signer::random().unwrap();
    let next = Diger::blake3(Signer::random().unwrap().verfer().qb64().as_bytes());
    let mut map = Map::new();
    for (label, value) in [
        ("v", json!("KERI10JSON000000_")),
        ("t", json!("icp")),
        ("d", json!(DUMMY)),
        ("i", json!(DUMMY)),
        ("s", json!("0")),
        ("kt", json!("1")),
        ("k", json!([signer.verfer().qb64()])),
        ("nt", json!("1")),
        ("n", json!([next.qb64()])),
        ("bt", json!("0")),
        ("b", json!([])),
        ("c", json!([])),
        ("a", json!([])),
    ] {
        map.insert(label.to_owned(), value);
    }
    edit(&mut map);
    let size = Value::Object(map.clone()).to_string().len();
    map.insert("v".to_owned(), json!(format!("KERI10JSON{size:06x}_")));
    let said = Diger::blake3(Value::Object(map.clone()).to_string().as_bytes()).qb64();
    map.insert("d".to_owned(), json!(said));
    map.insert("i".to_owned(), json!(said));
    let raw = Value::Object(map).to_string();
    let icp = keria::keri::event::Event::parse(raw.as_bytes()).unwrap();
    boot_body(&icp, &signer.sign_indexed(icp.raw(), 0), Tier::Low)
}

/// Posts each body to `/boot`, expecting a 400 whose description contains its fragment; then
/// checks that none of them left an agent.
fn refused_boots(cases: &[(String, &str)]) {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    for (body, fragment) in cases {
        let response = keria.post(boot, "/boot", body, "");
        let shown = &body[..body.len().min(200)];
        assert_eq!(response.status, 400, "{shown} → {}", response.body);
        let description = response.json()["description"].as_str().unwrap().to_owned();
        assert!(description.contains(fragment), "{shown} → {description}");
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert!(
        stored_controllers(&keria.data_dir).is_empty(),
        "a refused boot left an agent"
    );
}

#[test]
fn boots_are_bounded_in_what_they_store() {
    let long_stem = {
        let mut body: Value = serde_json::from_str(&boot_body_with(|_| {})).unwrap();
        body["stem"] = json!("s".repeat(900 << 10));
        body.to_string()
    };
    let salty_stem = {
        let mut body: Value = serde_json::from_str(&boot_body_with(|_| {})).unwrap();
        body["salty"] = json!({"stem": "s".repeat(257)});
        body.to_string()
    };
    refused_boots(&[
        (long_stem, "stem is 921600 bytes; at most 256"),
        (salty_stem, "stem is 257 bytes"),
        (
            boot_body_with(|icp| drop(icp.insert("c".into(), json!(vec!["EO"; 9])))),
            "icp field c lists 9 traits",
        ),
        (
            boot_body_with(|icp| drop(icp.insert("c".into(), json!(["x".repeat(30 << 10)])))),
            "icp field c has a trait of 30720 bytes",
        ),
        (
            boot_body_with(|icp| {
                let seal = json!({"i": VECTOR_CONTROLLER, "s": "0", "d": VECTOR_CONTROLLER});
                icp.insert("a".into(), json!(vec![seal; 9]));
            }),
            "icp field a carries 9 anchors",
        ),
    ]);
}

#[test]
fn a_controller_that_could_never_rotate_is_refused() {
    let signer = Signer::random().unwrap();
    let basic = Verfer::new(*signer.verfer().raw(), false);
    let next = Diger::blake3(b"next");
    let icp = build::incept(&[basic], &[next]);
    let non_transferable = boot_body(&icp, &signer.sign_indexed(icp.raw(), 0), Tier::Low);
    refused_boots(&[
        (non_transferable, "is non-transferable (code B)"),
        (
            boot_body_with(|icp| {
                icp.insert("nt".into(), json!("0"));
                icp.insert("n".into(), json!([]));
            }),
            "commits to no next key (n is empty)",
        ),
    ]);
}

#[test]
fn basic_auth_takes_any_case_of_its_scheme_and_refuses_two_authorization_headers() {
    let mut keria = Start::new()
        .args([
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "s3cret pass",
        ])
        .start();
    let boot = keria.ports().boot;
    // base64("ops:s3cret pass")
    let credentials = "b3BzOnMzY3JldCBwYXNz";
    let twice = keria.post(
        boot,
        "/boot",
        VECTOR_BODY,
        &format!("Authorization: Basic {credentials}\r\nAuthorization: Basic {credentials}\r\n"),
    );
    assert_eq!(twice.status, 400, "{}", twice.body);
    assert!(
        twice.body.contains("several Authorization headers"),
        "{}",
        twice.body
    );
    let lowercase = keria.post(
        boot,
        "/boot",
        VECTOR_BODY,
        &format!("Authorization: basic {credentials}\r\n"),
    );
    assert_eq!(lowercase.status, 202, "{}", lowercase.body);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(stored_controllers(&keria.data_dir), [VECTOR_CONTROLLER]);
}

#[test]
fn a_repeated_json_key_is_refused_on_the_boot_and_admin_ports() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let body = VECTOR_BODY.replace(r#""tier":"low"}"#, r#""tier":"low","tier":"med"}"#);
    let response = keria.post(ports.boot, "/boot", &body, "");
    assert_eq!(response.status, 400, "{}", response.body);
    let description = response.json()["description"].as_str().unwrap().to_owned();
    assert!(
        description.starts_with("Could not parse JSON body - duplicate key \"tier\""),
        "{description}"
    );
    let approval_body = r#"{"ixn":{},"sigs":[],"ixn":1}"#;
    let approval = keria.request(
        ports.admin,
        &format!(
            "PUT /agent/{VECTOR_CONTROLLER}?type=ixn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{approval_body}",
            approval_body.len()
        ),
    );
    assert_eq!(approval.status, 400, "{}", approval.body);
    assert!(approval.body.contains("duplicate key"), "{}", approval.body);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert!(stored_controllers(&keria.data_dir).is_empty());
}

/// The store file's digest.
fn digest(keria: &Keria) -> blake3::Hash {
    blake3::hash(&std::fs::read(store_path(&keria.data_dir)).unwrap())
}

#[test]
fn a_start_refused_for_its_passcode_changes_no_byte_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let passcode = "correct horse battery staple";
    let mut keria = Start::new()
        .data_dir(dir.path())
        .args(["--passcode", passcode])
        .start();
    assert_eq!(
        keria
            .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
            .status,
        202
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let before = digest(&keria);
    for args in [vec!["--passcode", "the wrong horse battery staple"], vec![]] {
        let mut refused = Start::new().data_dir(dir.path()).args(args).spawn();
        assert_eq!(
            refused.wait_exit().code(),
            Some(1),
            "log:\n{}",
            refused.log()
        );
        assert_eq!(
            digest(&refused),
            before,
            "a refused start wrote to the store"
        );
    }
    let mut keria = Start::new()
        .data_dir(dir.path())
        .args(["--passcode", passcode])
        .start();
    assert_eq!(
        keria
            .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
            .status,
        409
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
