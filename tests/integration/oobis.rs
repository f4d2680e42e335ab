//! OOBI resolution that must fail: a URL that is slow, huge, not CESR, missing, or serves a
//! stream whose signatures lie. Each operation fails with its reason and nothing is stored.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Instant;

use keria::keri::build;
use keria::keri::event;
use keria::keri::primitives::Signer;
use keria::keri::reply;
use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start, PATIENCE};
use crate::identifiers::{create_body, digest, sig, Controller};

/// Serves `answer` to every connection on a loopback port (or holds the connection open and
/// silent, when `answer` is None); the port.
pub fn canned(answer: Option<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            match &answer {
                Some(answer) => {
                    let _ = stream.write_all(answer);
                }
                None => held.push(stream),
            }
        }
    });
    port
}

pub fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json+cesr\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// Resolves `url` for `controller` and waits for the operation to finish; the operation.
pub fn resolve(keria: &Keria, controller: &Controller, url: &str) -> Value {
    let started = controller.send(
        keria,
        "POST",
        "/oobis",
        Some(&json!({"url": url, "oobialias": "them"})),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    let name = started.json()["name"].as_str().unwrap().to_owned();
    assert_eq!(started.json()["done"], false);
    finished(keria, controller, &name)
}

/// Waits for operation `name` of `controller` to be done; the operation.
pub fn finished(keria: &Keria, controller: &Controller, name: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let operation = controller
            .send(keria, "GET", &format!("/operations/{name}"), None)
            .json();
        if operation["done"] == true {
            return operation;
        }
        assert!(Instant::now() < deadline, "{name} never finished");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A served OOBI stream of a fresh identifier "mine" of `controller`: (url, aid).
pub fn served(keria: &Keria, controller: &Controller) -> (String, String) {
    let (url, icp, _) = served_with_key(keria, controller);
    (url, icp.prefix().to_owned())
}

/// `served`, with the identifier's inception and current key.
fn served_with_key(keria: &Keria, controller: &Controller) -> (String, event::Event, Signer) {
    let (k0, k1) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept(&[k0.verfer()], &[digest(&k1)]);
    let body = create_body("mine", &icp, &[sig(&icp, &k0)]);
    assert_eq!(
        controller
            .send(keria, "POST", "/identifiers", Some(&body))
            .status,
        202
    );
    let role = reply::end_role_add(
        icp.prefix(),
        "agent",
        &controller.agent,
        "2026-11-24T21:59:12.366000+00:00",
    );
    let body = json!({"rpy": role.value(), "sigs": [k0.sign_indexed(role.raw(), 0).qb64()]});
    assert_eq!(
        controller
            .send(keria, "POST", "/identifiers/mine/endroles", Some(&body))
            .status,
        202
    );
    let url = format!(
        "http://127.0.0.1:{}/oobi/{}/agent/{}",
        keria.ports().http,
        icp.prefix(),
        controller.agent
    );
    (url, icp, k0)
}

#[test]
fn oobis_that_are_slow_huge_not_cesr_missing_or_lying_fail_and_store_nothing() {
    let mut keria = Start::new().args(["--fetch-timeout", "1"]).start();
    let bob = Controller::boot(&keria);
    bob.approve(&keria);
    let (good_url, aid) = served(&keria, &bob);
    let stream = keria.get(
        keria.ports().http,
        &good_url[good_url.find("/oobi").unwrap()..],
    );
    assert_eq!(stream.status, 200);
    // The identifier's inception signature is the first indexed signature after `-AAB`.
    let mut lying = stream.body.clone().into_bytes();
    let at = stream.body.find("-AAB").unwrap() + 4 + 10;
    lying[at] = if lying[at] == b'A' { b'B' } else { b'A' };
    let alice = Controller::boot(&keria);
    let path = format!("/oobi/{aid}/agent/{}", bob.agent);
    for (port, reason) in [
        (canned(None), "timed out"),
        (
            canned(Some(http("200 OK", &vec![b'{'; 5 << 20]))),
            "larger than",
        ),
        (canned(Some(http("200 OK", b"hello, not CESR"))), ""),
        (canned(Some(http("404 Not Found", b""))), "HTTP status 404"),
        (canned(Some(http("200 OK", &lying))), ""),
    ] {
        let operation = resolve(&keria, &alice, &format!("http://127.0.0.1:{port}{path}"));
        let message = operation["error"]["message"].as_str().unwrap_or_default();
        assert!(operation["error"].is_object(), "port {port}: {operation}");
        assert!(message.contains(reason), "{message:?} lacks {reason:?}");
        assert!(!operation.as_object().unwrap().contains_key("response"));
        assert_eq!(
            alice.send(&keria, "GET", "/contacts", None).json(),
            json!([])
        );
        assert_eq!(
            alice
                .send(&keria, "GET", &format!("/states?pre={aid}"), None)
                .json(),
            json!([])
        );
    }
    // A URL that is no OOBI at all is refused before any fetch.
    for url in [
        "ftp://127.0.0.1/oobi/E",
        "http://127.0.0.1:1/no-aid",
        "not a url",
    ] {
        let refused = alice.send(&keria, "POST", "/oobis", Some(&json!({"url": url})));
        assert_eq!(refused.status, 400, "{url}: {}", refused.body);
    }
    // The true stream resolves, and only then is there a contact.
    let operation = resolve(&keria, &alice, &good_url);
    assert_eq!(operation["response"]["i"], aid, "{operation}");
    assert_eq!(
        alice.send(&keria, "GET", "/contacts", None).json()[0]["id"],
        aid
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn an_oobi_resolution_cut_by_a_restart_fails_instead_of_waiting_forever() {
    let dir = tempfile::tempdir().unwrap();
    let keria = Start::new().data_dir(dir.path()).start();
    let alice = Controller::boot(&keria);
    let url = format!(
        "http://127.0.0.1:{}/oobi/Esilent/agent/Esilent",
        canned(None)
    );
    let started = alice.send(&keria, "POST", "/oobis", Some(&json!({"url": url})));
    assert_eq!(started.status, 202, "{}", started.body);
    let name = started.json()["name"].as_str().unwrap().to_owned();
    let mut keria = keria;
    keria.stop_with(Signal::KILL);

    let mut keria = Start::new().data_dir(dir.path()).start();
    let operation = alice
        .send(&keria, "GET", &format!("/operations/{name}"), None)
        .json();
    assert_eq!(operation["done"], true, "{operation}");
    assert!(
        operation["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restarted"),
        "{operation}"
    );
    let listed = alice.send(&keria, "GET", "/operations", None).json();
    assert_eq!(listed[0]["done"], true, "{listed}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Starts keria with KERIA's configuration file `config` (as `<dir>/keri/cf/keria.json`).
fn with_config_file(config: &Value, env: &[(&str, &str)]) -> (Keria, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cf = dir.path().join("keri/cf");
    std::fs::create_dir_all(&cf).unwrap();
    std::fs::write(cf.join("keria.json"), config.to_string()).unwrap();
    let mut start = Start::new().args([
        "--config-dir",
        dir.path().to_str().unwrap(),
        "--config-file",
        "keria",
    ]);
    for (key, value) in env {
        start = start.env(key, value);
    }
    (start.start(), dir)
}

#[test]
fn the_configuration_file_sets_the_oobi_urls_and_flags_win_over_it() {
    let config = json!({
        "dt": "2023-12-01T10:05:25.062609+00:00",
        "iurls": ["http://127.0.0.1:5642/oobi/Ewitness/controller"],
        "keria": {"dt": "2023-12-01T10:05:25.062609+00:00", "curls": ["http://127.0.0.1:7723/"]},
    });
    let (mut keria, _dir) = with_config_file(&config, &[]);
    assert!(
        keria
            .log()
            .contains("curls from the configuration file's \"keria\" section"),
        "log:\n{}",
        keria.log()
    );
    let alice = Controller::boot(&keria);
    alice.approve(&keria);
    let (_, aid) = served(&keria, &alice);
    let oobis = alice
        .send(&keria, "GET", "/identifiers/mine/oobis?role=agent", None)
        .json();
    assert_eq!(
        oobis,
        json!({"role": "agent", "oobis": [format!("http://127.0.0.1:7723/oobi/{aid}/agent/{}", alice.agent)]})
    );
    assert_eq!(
        alice.send(&keria, "GET", "/config", None).json(),
        json!({"iurls": ["http://127.0.0.1:5642/oobi/Ewitness/controller"]})
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let (mut keria, _dir) =
        with_config_file(&config, &[("KERIA_CURLS", "https://agents.example/")]);
    assert!(
        keria.log().contains("curls from --curls or KERIA_CURLS"),
        "log:\n{}",
        keria.log()
    );
    let alice = Controller::boot(&keria);
    alice.approve(&keria);
    served(&keria, &alice);
    let oobis = alice
        .send(&keria, "GET", "/identifiers/mine/oobis?role=agent", None)
        .json();
    assert!(
        oobis["oobis"][0]
            .as_str()
            .unwrap()
            .starts_with("https://agents.example/oobi/"),
        "{oobis}"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut bad = Start::new().args(["--config-file", "missing"]).spawn();
    assert_eq!(bad.wait_exit().code(), Some(1));
    assert!(
        bad.log().contains("reading configuration"),
        "log:\n{}",
        bad.log()
    );
}

#[test]
fn a_query_for_a_later_state_asks_the_identifiers_agent_again_through_its_oobi() {
    let mut alices = Start::new().start();
    let mut bobs = Start::new().start();
    let alice = Controller::boot(&alices);
    let bob = Controller::boot(&bobs);
    bob.approve(&bobs);
    let (url, icp, key) = served_with_key(&bobs, &bob);
    let aid = icp.prefix().to_owned();
    assert_eq!(resolve(&alices, &alice, &url)["response"]["s"], "0");

    // Bob's identifier moves on; Alice's agent learns it only by asking again.
    let ixn = build::interact(&aid, 1, icp.said(), Vec::new());
    let body = json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &key)]});
    assert_eq!(
        bob.send(&bobs, "POST", "/identifiers/mine/events", Some(&body))
            .status,
        200
    );
    let query = |sn: &str| {
        let started = alice.send(
            &alices,
            "POST",
            "/queries",
            Some(&json!({"pre": aid, "sn": sn})),
        );
        assert_eq!(started.status, 202, "{}", started.body);
        let name = started.json()["name"].as_str().unwrap().to_owned();
        assert_eq!(name, format!("query.{aid}.{sn}"));
        finished(&alices, &alice, &name)
    };
    let caught_up = query("1");
    assert_eq!(caught_up["response"]["s"], "1", "{caught_up}");
    assert_eq!(caught_up["response"]["d"], ixn.said());
    let states = alice
        .send(&alices, "GET", &format!("/states?pre={aid}"), None)
        .json();
    assert_eq!(states[0]["s"], "1");
    assert_eq!(
        alice.send(&alices, "GET", "/contacts", None).json()[0]["alias"],
        "them"
    );
    let ahead = query("5");
    assert!(
        ahead["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not yet 5"),
        "{ahead}"
    );

    // An identifier no OOBI was resolved for fails at once, with the reason.
    let unknown = alice.send(
        &alices,
        "POST",
        "/queries",
        Some(&json!({"pre": "Enobody", "sn": "0"})),
    );
    assert_eq!(unknown.json()["done"], true);
    assert!(unknown.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("resolve its OOBI first"));
    assert_eq!(alices.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(bobs.stop_with(Signal::TERM).code(), Some(0));
}
