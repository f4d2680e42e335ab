//! Signify connect: agent state, delegation approval, and signed requests both ways.

use keria::keri::build;
use keria::keri::event;
use keria::keri::primitives::Signer;
use keria::keri::seal::Seal;
use keria::signify::httpsig;
use keria::signify::passcode::{controller_keys, Tier};
use rustix::process::Signal;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::agency::{random_boot_body, VECTOR_BODY, VECTOR_CONTROLLER, VECTOR_PASSCODE};
use crate::harness::{Keria, Response, Start};
use crate::signify;

#[test]
fn the_real_client_connects_and_makes_signed_requests_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend([
        "--passcode",
        VECTOR_PASSCODE,
        "--steps",
        "boot,connect,list",
    ]);
    let (ok, first) = signify::client(&args);
    assert!(ok, "{first}");
    assert_eq!(first["identifiers"]["aids"], json!([]));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut keria = Start::new().data_dir(dir.path()).start();
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend([
        "--passcode",
        VECTOR_PASSCODE,
        "--steps",
        "connect,list,state",
    ]);
    let (ok, second) = signify::client(&args);
    assert!(ok, "{second}");
    assert_eq!(
        second["agent"], first["agent"],
        "the agent changed across the restart"
    );
    assert_eq!(
        second["state"]["controller"]["state"]["s"], "1",
        "the approval was not kept once"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Boots the protocol vector and returns (keria, agent AID, controller signer).
fn booted() -> (Keria, String, Signer) {
    let keria = Start::new().start();
    let response = keria.post(keria.ports().boot, "/boot", VECTOR_BODY, "");
    assert_eq!(response.status, 202);
    let agent = response.json()["i"].as_str().unwrap().to_owned();
    let (current, _) = controller_keys(VECTOR_PASSCODE, Tier::Low).unwrap();
    (keria, agent, current)
}

/// Sends a signed GET with the given headers.
fn signed_get(keria: &Keria, path: &str, headers: &[(&str, String)]) -> Response {
    let extra: String = headers
        .iter()
        .map(|(name, value)| [name, ": ", value.as_str(), "\r\n"].concat())
        .collect();
    keria.request(
        keria.ports().admin,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"),
    )
}

fn request_headers(
    signer: &Signer,
    path: &str,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    httpsig::request_headers(VECTOR_CONTROLLER, signer, "GET", path, now).to_vec()
}

#[test]
fn signed_requests_are_verified_and_answered_signed_by_the_agent() {
    let (mut keria, agent, signer) = booted();
    let response = signed_get(
        &keria,
        "/identifiers",
        &request_headers(&signer, "/identifiers", OffsetDateTime::now_utc()),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body, "[]");
    assert_eq!(response.header("content-range"), Some("aids 0-0/0"));
    assert_eq!(response.header("signify-resource"), Some(agent.as_str()));
    let input =
        httpsig::SignatureInput::parse(response.header("signature-input").unwrap()).unwrap();
    assert_eq!(
        input.fields,
        ["signify-resource", "@method", "@path", "signify-timestamp"]
    );
    let state = keria
        .get(keria.ports().admin, &format!("/agent/{VECTOR_CONTROLLER}"))
        .json();
    let agent_key = keri_key(&state["agent"]["k"][0]);
    let base = input.base("GET", "/identifiers", |name| {
        response.header(name).map(str::to_owned)
    });
    let signature = httpsig::Signature::parse(response.header("signature").unwrap())
        .unwrap()
        .signify_signature()
        .unwrap();
    assert!(
        agent_key.verify(base.as_bytes(), &signature),
        "the response signature does not verify with the agent's key"
    );
    let operations = signed_get(
        &keria,
        "/operations",
        &request_headers(&signer, "/operations", OffsetDateTime::now_utc()),
    );
    assert_eq!((operations.status, operations.body.as_str()), (200, "[]"));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

fn keri_key(value: &Value) -> keria::keri::primitives::Verfer {
    keria::keri::primitives::Verfer::parse(value.as_str().unwrap()).unwrap()
}

#[test]
fn bad_request_signatures_are_401_with_an_empty_body() {
    let (mut keria, _, signer) = booted();
    let now = OffsetDateTime::now_utc();
    let good = request_headers(&signer, "/identifiers", now);
    let mut tampered = good.clone();
    tampered[3].1 = tampered[3]
        .1
        .replace("0B", "0BA")
        .chars()
        .take(tampered[3].1.len())
        .collect();
    let foreign = request_headers(&Signer::random().unwrap(), "/identifiers", now);
    let stale = request_headers(&signer, "/identifiers", now - time::Duration::minutes(10));
    let other_path = request_headers(&signer, "/operations", now);
    let unknown_controller: Vec<(&str, String)> = {
        let (body, controller) = random_boot_body();
        drop(body);
        httpsig::request_headers(&controller, &signer, "GET", "/identifiers", now).to_vec()
    };
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no headers", Vec::new()),
        ("no Signature", good[..3].to_vec()),
        (
            "no Signature-Input",
            vec![good[0].clone(), good[1].clone(), good[3].clone()],
        ),
        ("tampered signature", tampered),
        ("foreign controller key", foreign),
        ("stale created", stale),
        ("signed for another path", other_path),
        ("unknown controller", unknown_controller),
    ];
    for (name, headers) in cases {
        let response = signed_get(&keria, "/identifiers", &headers);
        assert_eq!(response.status, 401, "{name}: {}", response.body);
        assert_eq!(response.body, "", "{name}");
        assert!(
            response.header("signature").is_none(),
            "{name}: a refusal was signed"
        );
    }
    assert_eq!(signed_get(&keria, "/identifiers", &good).status, 200);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn agent_state_is_unsigned_and_404_for_an_unknown_controller() {
    let (mut keria, agent, _) = booted();
    let admin = keria.ports().admin;
    let state = keria.get(admin, &format!("/agent/{VECTOR_CONTROLLER}"));
    assert_eq!(state.status, 200);
    let state = state.json();
    assert_eq!(state["agent"]["i"], agent.as_str());
    assert_eq!(state["agent"]["et"], "dip");
    assert_eq!(state["controller"]["state"]["et"], "icp");
    assert_eq!(state["controller"]["ee"]["d"], VECTOR_CONTROLLER);
    assert_eq!(state["pidx"], 0);
    let missing = keria.get(admin, "/agent/EUnknownControllerAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["description"],
        "not agent found for controller EUnknownControllerAAAAAAAAAAAAAAAAAAAAAAAAAA"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// The approval body for `ixn` signed by `signer`.
fn approval(ixn: &event::Event, signer: &Signer) -> String {
    json!({ "ixn": ixn.value(), "sigs": [signer.sign_indexed(ixn.raw(), 0).qb64()] }).to_string()
}

fn put_approval(keria: &Keria, body: &str) -> Response {
    keria.request(
        keria.ports().admin,
        &format!("PUT /agent/{VECTOR_CONTROLLER}?type=ixn HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    )
}

#[test]
fn approvals_are_checked_duplicates_accepted_and_forgeries_refused() {
    let (mut keria, agent, signer) = booted();
    let seal = || vec![Seal::event(&agent, 0, &agent)];
    let good = build::interact(VECTOR_CONTROLLER, 1, VECTOR_CONTROLLER, seal());
    let forgeries = [
        (
            "bad signature",
            approval(&good, &Signer::random().unwrap()),
            "signatures",
        ),
        (
            "wrong prior",
            approval(
                &build::interact(VECTOR_CONTROLLER, 1, &agent, seal()),
                &signer,
            ),
            "prior p must be",
        ),
        (
            "wrong sequence",
            approval(
                &build::interact(VECTOR_CONTROLLER, 2, VECTOR_CONTROLLER, seal()),
                &signer,
            ),
            "sequence number s must be 1",
        ),
        (
            "no sigs",
            json!({ "ixn": good.value() }).to_string(),
            "required field 'sigs' missing from body",
        ),
    ];
    let state_before = keria
        .get(keria.ports().admin, &format!("/agent/{VECTOR_CONTROLLER}"))
        .json()["controller"]["state"]
        .clone();
    for (name, body, description) in &forgeries {
        let response = put_approval(&keria, body);
        assert_eq!(response.status, 400, "{name}: {}", response.body);
        assert!(
            response.json()["description"]
                .as_str()
                .unwrap()
                .contains(description),
            "{name}: {}",
            response.body
        );
    }
    let state_after = keria
        .get(keria.ports().admin, &format!("/agent/{VECTOR_CONTROLLER}"))
        .json()["controller"]["state"]
        .clone();
    assert_eq!(
        state_after["s"], state_before["s"],
        "a forged approval changed the KEL"
    );
    let response = put_approval(&keria, &approval(&good, &signer));
    assert_eq!(response.status, 204, "{}", response.body);
    assert_eq!(
        put_approval(&keria, &approval(&good, &signer)).status,
        204,
        "the identical approval was not taken as a duplicate"
    );
    let different = build::interact(VECTOR_CONTROLLER, 1, VECTOR_CONTROLLER, vec![]);
    let response = put_approval(&keria, &approval(&different, &signer));
    assert_eq!(response.status, 400);
    assert!(
        response.body.contains("conflicts with the accepted event"),
        "{}",
        response.body
    );
    let state = keria
        .get(keria.ports().admin, &format!("/agent/{VECTOR_CONTROLLER}"))
        .json();
    assert_eq!(state["controller"]["state"]["s"], "1");
    assert_eq!(state["controller"]["state"]["d"], good.said());
    assert_eq!(state["controller"]["ee"]["t"], "icp");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn cors_exposes_the_signature_headers_when_enabled() {
    let mut keria = Start::new().env("KERI_AGENT_CORS", "true").start();
    let response = keria.request(keria.ports().boot, "GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://wallet.test\r\nConnection: close\r\n\r\n");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://wallet.test")
    );
    assert!(response
        .header("access-control-expose-headers")
        .unwrap()
        .contains("signature-input"));
    let preflight = keria.request(
        keria.ports().admin,
        "OPTIONS /identifiers HTTP/1.1\r\nHost: x\r\nOrigin: http://wallet.test\r\nAccess-Control-Request-Headers: signature, signature-input\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("signature, signature-input")
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut plain = Start::new().start();
    let response = plain.request(plain.ports().boot, "GET /health HTTP/1.1\r\nHost: x\r\nOrigin: http://wallet.test\r\nConnection: close\r\n\r\n");
    assert_eq!(
        response.header("access-control-allow-origin"),
        None,
        "CORS answered while disabled"
    );
    assert_eq!(plain.stop_with(Signal::TERM).code(), Some(0));
}
