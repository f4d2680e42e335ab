//! The controller's own KEL through the binary: its approval (`ixn`) and its passcode
//! rotation (`rot` with every identifier's re-encrypted parameters) are checked by the one KEL
//! validator, a refusal changes nothing, and after a rotation only the new key signs
//! requests. Key-manager parameters that do not fit their event are refused.

use std::fmt::Write as _;

use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::primitives::{Signer, Verfer};
use keria::keri::seal::Seal;
use keria::signify::httpsig;
use keria::signify::passcode::{controller_keys, Tier};
use rustix::process::Signal;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::agency::{VECTOR_BODY, VECTOR_CONTROLLER, VECTOR_PASSCODE};
use crate::harness::{Keria, Response, Start};
use crate::identifiers::{create_body, digest, refused, sig, Controller};

/// A signed request by `signer` for the vector controller.
fn send(
    keria: &Keria,
    signer: &Signer,
    method: &str,
    target: &str,
    body: Option<&Value>,
) -> Response {
    let headers = httpsig::request_headers(
        VECTOR_CONTROLLER,
        signer,
        method,
        target,
        OffsetDateTime::now_utc(),
    );
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        write!(raw, "{name}: {value}\r\n").unwrap();
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(raw, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    keria.request(keria.ports().admin, &raw)
}

fn put_agent(keria: &Keria, query: &str, body: &Value) -> Response {
    let body = body.to_string();
    keria.request(
        keria.ports().admin,
        &format!(
            "PUT /agent/{VECTOR_CONTROLLER}{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn controller_state(keria: &Keria) -> Value {
    let state = keria.get(keria.ports().admin, &format!("/agent/{VECTOR_CONTROLLER}"));
    assert_eq!(state.status, 200, "{}", state.body);
    state.json()["controller"].clone()
}

fn signed_by(event: &Event, signers: &[&Signer]) -> Vec<String> {
    signers
        .iter()
        .zip(0u32..)
        .map(|(signer, index)| signer.sign_indexed(event.raw(), index).qb64())
        .collect()
}

/// Boots the vector controller and approves its agent; (keria, ixn SAID, current, next).
fn booted_and_approved() -> (Keria, String, Signer, Signer) {
    let keria = Start::new().start();
    let response = keria.post(keria.ports().boot, "/boot", VECTOR_BODY, "");
    assert_eq!(response.status, 202, "{}", response.body);
    let agent = response.json()["i"].as_str().unwrap().to_owned();
    let (current, next) = controller_keys(VECTOR_PASSCODE, Tier::Low).unwrap();
    let ixn = build::interact(
        VECTOR_CONTROLLER,
        1,
        VECTOR_CONTROLLER,
        vec![Seal::event(&agent, 0, &agent)],
    );
    let response = put_agent(
        &keria,
        "?type=ixn",
        &json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &current)]}),
    );
    assert_eq!(response.status, 204, "{}", response.body);
    (keria, ixn.said().to_owned(), current, next)
}

fn rot_body(rot: &Event, sigs: &[String], keys: &Value) -> Value {
    json!({"rot": rot.value(), "sigs": sigs, "sxlt": "1AAHcontroller", "keys": keys})
}

#[test]
fn controller_events_that_break_the_kel_rules_are_refused_and_change_nothing() {
    let (mut keria, ixn, current, next) = booted_and_approved();
    let stranger = Signer::random().unwrap();
    let new_next = Signer::random().unwrap();
    let rotate = |sn: u64, prior: &str, keys: &[Verfer]| {
        build::rotate(VECTOR_CONTROLLER, sn, prior, keys, &[digest(&new_next)])
    };
    let before = controller_state(&keria);
    let wrong_prior = rotate(2, VECTOR_CONTROLLER, &[next.verfer()]);
    let wrong_sn = rotate(3, &ixn, &[next.verfer()]);
    let uncommitted = rotate(2, &ixn, &[stranger.verfer()]);
    let two_keys = rotate(2, &ixn, &[next.verfer(), stranger.verfer()]);
    let seal = || vec![Seal::event(VECTOR_CONTROLLER, 0, VECTOR_CONTROLLER)];
    let forged_ixn = build::interact(VECTOR_CONTROLLER, 2, &ixn, seal());
    let cases = [
        (
            "rot with a wrong prior digest",
            "",
            rot_body(&wrong_prior, &signed_by(&wrong_prior, &[&next]), &json!({})),
            "prior p must be",
        ),
        (
            "rot with a wrong sequence number",
            "",
            rot_body(&wrong_sn, &signed_by(&wrong_sn, &[&next]), &json!({})),
            "sequence number s must be 2, not 3",
        ),
        (
            "rot whose keys are not the committed next keys",
            "",
            rot_body(
                &uncommitted,
                &signed_by(&uncommitted, &[&stranger]),
                &json!({}),
            ),
            "do not satisfy the prior next threshold",
        ),
        (
            "rot signed below its threshold",
            "",
            rot_body(&two_keys, &signed_by(&two_keys, &[&next]), &json!({})),
            "threshold",
        ),
        (
            "ixn signed by a key that is not the controller's",
            "?type=ixn",
            json!({"ixn": forged_ixn.value(), "sigs": [sig(&forged_ixn, &stranger)]}),
            "threshold",
        ),
        (
            "ixn out of sequence",
            "?type=ixn",
            {
                let late = build::interact(VECTOR_CONTROLLER, 3, &ixn, seal());
                json!({"ixn": late.value(), "sigs": [sig(&late, &current)]})
            },
            "sequence number s must be 2, not 3",
        ),
        (
            "rot with an unknown field",
            "",
            {
                let mut body = rot_body(&rotate(2, &ixn, &[next.verfer()]), &[], &json!({}));
                body["sigs"] = json!([sig(&rotate(2, &ixn, &[next.verfer()]), &next)]);
                body["evil"] = json!(1);
                body
            },
            "unknown field 'evil'",
        ),
        (
            "rot without keys",
            "",
            json!({"rot": wrong_prior.value(), "sigs": [], "sxlt": "x"}),
            "required field 'keys' missing",
        ),
    ];
    for (name, query, body, reason) in &cases {
        let response = put_agent(&keria, query, body);
        assert_eq!(response.status, 400, "{name}: {}", response.body);
        let description = response.json()["description"].as_str().unwrap().to_owned();
        assert!(
            description.contains(reason),
            "{name}: {description:?} lacks {reason:?}"
        );
        assert_eq!(
            controller_state(&keria),
            before,
            "{name} changed the controller's KEL"
        );
    }
    assert_eq!(
        send(&keria, &current, "GET", "/identifiers", None).status,
        200
    );
    assert_eq!(send(&keria, &next, "GET", "/identifiers", None).status, 401);

    rotation_moves_the_request_key(&mut keria, &ixn, &current, &next);
}

/// A valid rotation to the committed next key: the new key signs, the old one no longer.
fn rotation_moves_the_request_key(keria: &mut Keria, ixn: &str, current: &Signer, next: &Signer) {
    let new_next = Signer::random().unwrap();
    let good = build::rotate(
        VECTOR_CONTROLLER,
        2,
        ixn,
        &[next.verfer()],
        &[digest(&new_next)],
    );
    let body = rot_body(&good, &signed_by(&good, &[next]), &json!({}));
    let response = put_agent(keria, "", &body);
    assert_eq!(response.status, 204, "{}", response.body);
    assert_eq!(
        put_agent(keria, "", &body).status,
        204,
        "the same rotation again is a duplicate"
    );
    let after = controller_state(keria);
    assert_eq!(after["state"]["s"], "2");
    assert_eq!(after["state"]["et"], "rot");
    assert_eq!(after["ee"]["d"], good.said());
    assert_eq!(
        send(keria, current, "GET", "/identifiers", None).status,
        401,
        "the old key still signs"
    );
    assert_eq!(send(keria, next, "GET", "/identifiers", None).status, 200);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_controller_rotation_re_encrypts_every_identifier_in_one_batch_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let response = keria.post(keria.ports().boot, "/boot", VECTOR_BODY, "");
    assert_eq!(response.status, 202, "{}", response.body);
    let (current, next) = controller_keys(VECTOR_PASSCODE, Tier::Low).unwrap();
    let (k, n) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept(&[k.verfer()], &[digest(&n)]);
    let response = send(
        &keria,
        &current,
        "POST",
        "/identifiers",
        Some(&create_body("alice", &icp, &[sig(&icp, &k)])),
    );
    assert_eq!(response.status, 202, "{}", response.body);
    let alice = icp.prefix().to_owned();
    let (rk, rn) = (Signer::random().unwrap(), Signer::random().unwrap());
    let randy_icp = build::incept(&[rk.verfer()], &[digest(&rn)]);
    let randy = json!({"name": "bob", "icp": randy_icp.value(), "sigs": [sig(&randy_icp, &rk)],
        "randy": {"prxs": ["0AAprx"], "nxts": ["0AAnxt"], "transferable": true}});
    let response = send(&keria, &current, "POST", "/identifiers", Some(&randy));
    assert_eq!(response.status, 202, "{}", response.body);
    let bob = randy_icp.prefix().to_owned();

    let new_next = Signer::random().unwrap();
    let rot = build::rotate(
        VECTOR_CONTROLLER,
        1,
        VECTOR_CONTROLLER,
        &[next.verfer()],
        &[digest(&new_next)],
    );
    let sigs = signed_by(&rot, &[&next]);
    let good_keys = json!({alice.clone(): {"sxlt": "1AAHresealed"}, bob.clone(): {"prxs": ["0AAprx2"], "nxts": ["0AAnxt2"]}});
    let hostile = [
        (
            json!({alice.clone(): {"sxlt": "1AAHresealed"}}),
            format!("keys.{bob} missing"),
        ),
        (
            json!({alice.clone(): {"sxlt": "x"}, bob.clone(): {"prxs": ["a"], "nxts": ["b"]}, "Eunknown": {"sxlt": "x"}}),
            "keys.Eunknown: no identifier".to_owned(),
        ),
        (
            json!({alice.clone(): {"sxlt": "x", "evil": 1}, bob.clone(): {"prxs": ["a"], "nxts": ["b"]}}),
            format!("keys.{alice}.evil is not a field"),
        ),
        (
            json!({alice.clone(): {"sxlt": "x"}, bob.clone(): {"prxs": ["a", "c"], "nxts": ["b"]}}),
            format!("keys.{bob}.prxs has 2 entries but the event's k has 1"),
        ),
        (
            json!({alice.clone(): {"prxs": ["a"], "nxts": ["b"]}, bob.clone(): {"prxs": ["a"], "nxts": ["b"]}}),
            format!("keys.{alice}.prxs is not a field"),
        ),
    ];
    let before = controller_state(&keria);
    for (keys, reason) in &hostile {
        let response = put_agent(&keria, "", &rot_body(&rot, &sigs, keys));
        refused(&response, reason);
        assert_eq!(
            controller_state(&keria),
            before,
            "{reason}: the KEL changed"
        );
        let stored = send(&keria, &current, "GET", "/identifiers/alice", None).json();
        assert_eq!(
            stored["salty"]["sxlt"], "1AAHsealed",
            "{reason}: alice changed"
        );
    }
    let response = put_agent(&keria, "", &rot_body(&rot, &sigs, &good_keys));
    assert_eq!(response.status, 204, "{}", response.body);
    assert_eq!(
        send(&keria, &current, "GET", "/identifiers", None).status,
        401
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut keria = Start::new().data_dir(dir.path()).start();
    assert_eq!(
        send(&keria, &current, "GET", "/identifiers", None).status,
        401,
        "the old key signs after a restart"
    );
    let alice_now = send(&keria, &next, "GET", "/identifiers/alice", None);
    assert_eq!(alice_now.status, 200, "{}", alice_now.body);
    assert_eq!(alice_now.json()["salty"]["sxlt"], "1AAHresealed");
    assert_eq!(
        alice_now.json()["salty"]["stem"],
        "signify:aid",
        "the other parameters stay"
    );
    let bob_now = send(&keria, &next, "GET", "/identifiers/bob", None).json();
    assert_eq!(
        bob_now["randy"],
        json!({"prxs": ["0AAprx2"], "nxts": ["0AAnxt2"]})
    );
    assert_eq!(controller_state(&keria)["ee"]["d"], rot.said());
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn key_manager_parameters_that_do_not_fit_their_event_are_refused_and_store_nothing() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let (k, n) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept(&[k.verfer()], &[digest(&n)]);
    let sigs = [sig(&icp, &k)];
    let with = |field: &str, value: Value| {
        let mut body = create_body("aid", &icp, &sigs);
        body["salty"][field] = value;
        body
    };
    let creations = [
        (with("evil", json!(1)), "salty.evil is not a salty field"),
        (
            with("icodes", json!(["A", "A"])),
            "salty.icodes has 2 entries but the event's k has 1",
        ),
        (
            with("ncodes", json!([])),
            "salty.ncodes has 0 entries but the event's n has 1",
        ),
        (
            json!({"name": "aid", "icp": icp.value(), "sigs": sigs, "randy": {"prxs": ["a"], "nxts": [], "transferable": true}}),
            "randy.nxts has 0 entries but the event's n has 1",
        ),
        (
            json!({"name": "aid", "icp": icp.value(), "sigs": sigs, "randy": {"prxs": ["a"], "nxts": ["b"], "evil": 1}}),
            "randy.evil is not a randy field",
        ),
    ];
    for (body, reason) in &creations {
        refused(
            &alice.send(&keria, "POST", "/identifiers", Some(body)),
            reason,
        );
        assert_eq!(
            alice.send(&keria, "GET", "/identifiers/aid", None).status,
            404,
            "{reason}: stored"
        );
    }
    let response = alice.send(
        &keria,
        "POST",
        "/identifiers",
        Some(&create_body("aid", &icp, &sigs)),
    );
    assert_eq!(response.status, 202, "{}", response.body);
    let before = alice.send(&keria, "GET", "/identifiers/aid", None).json();

    let n2 = Signer::random().unwrap();
    let rot = build::rotate(icp.prefix(), 1, icp.said(), &[n.verfer()], &[digest(&n2)]);
    let rot_sigs = [sig(&rot, &n)];
    let salty = before["salty"].clone();
    let rot_with = |field: &str, value: Value| {
        let mut params = salty.clone();
        params[field] = value;
        json!({"rot": rot.value(), "sigs": rot_sigs, "salty": params})
    };
    let rotations = [
        (
            json!({"rot": rot.value(), "sigs": rot_sigs}),
            "required field 'salty' missing from body",
        ),
        (
            rot_with("evil", json!(1)),
            "salty.evil is not a salty field",
        ),
        (
            rot_with("ncodes", json!(["A", "A"])),
            "salty.ncodes has 2 entries but the event's n has 1",
        ),
        (
            json!({"rot": rot.value(), "sigs": rot_sigs, "randy": {"prxs": ["a"], "nxts": ["b"]}}),
            "randy given for aid, a salty identifier",
        ),
    ];
    for (body, reason) in &rotations {
        refused(
            &alice.send(&keria, "POST", "/identifiers/aid/events", Some(body)),
            reason,
        );
        let after = alice.send(&keria, "GET", "/identifiers/aid", None).json();
        assert_eq!(after, before, "{reason}: the identifier changed");
    }
    let mut params = salty.clone();
    params["kidx"] = json!(1);
    let body = json!({"rot": rot.value(), "sigs": rot_sigs, "salty": params});
    let response = alice.send(&keria, "POST", "/identifiers/aid/events", Some(&body));
    assert_eq!(response.status, 200, "{}", response.body);
    let after = alice.send(&keria, "GET", "/identifiers/aid", None).json();
    assert_eq!(after["state"]["s"], "1");
    assert_eq!(after["salty"]["kidx"], 1);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
