//! The boot and admin ports under a hostile client: connection floods that must leave the
//! agency observable, boots that try to store too much or an unrotatable controller, loose
//! Basic auth, ambiguous JSON, and a refused start that must not touch the store.

use keria::boot_command::boot_body;
use keria::keri::cesr::{Diger, Signer, Verfer};
use keria::keri::event::{self, DUMMY};
use keria::keri::passcode::Tier;
use rustix::process::Signal;
use serde_json::{json, Map, Value};

use crate::agency::{store_path, stored_controllers, VECTOR_BODY, VECTOR_CONTROLLER};
use crate::harness::{Keria, Start};

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
    let icp = event::Event::parse(raw.as_bytes()).unwrap();
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
    let icp = event::incept(&[basic], &[next]);
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
