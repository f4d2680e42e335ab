//! Identifiers and key events through the binary, signed as Signify signs them: forged,
//! replayed, out-of-order and malformed events and replies get a 400 with the reason and
//! leave the key event log as it was; operations, ranges and methods answer as documented.

use std::fmt::Write as _;

use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::primitives::{Diger, Signer, Verfer};
use keria::keri::reply;
use keria::keri::seal::Seal;
use keria::signify::httpsig;
use keria::signify::passcode::{inception_from_keys, Tier};
use rustix::process::Signal;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::harness::{Keria, Response, Start};

/// A booted Signify controller making signed requests to its agent.
pub struct Controller {
    pub aid: String,
    pub agent: String,
    signer: Signer,
}

impl Controller {
    /// Boots a controller with fresh keys.
    pub fn boot(keria: &Keria) -> Self {
        let signer = Signer::random().unwrap();
        let (icp, sig) = inception_from_keys(&signer, &Signer::random().unwrap());
        let body = keria::commands::boot::boot_body(&icp, &sig, Tier::Low);
        let response = keria.post(keria.ports().boot, "/boot", &body, "");
        assert_eq!(response.status, 202, "{}", response.body);
        Self {
            aid: icp.prefix().to_owned(),
            agent: response.json()["i"].as_str().unwrap().to_owned(),
            signer,
        }
    }

    /// Approves the agent's delegated inception, as Signify's connect does.
    pub fn approve(&self, keria: &Keria) {
        let seal = Seal::event(&self.agent, 0, &self.agent);
        let ixn = build::interact(&self.aid, 1, &self.aid, vec![seal]);
        let body = json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &self.signer)]}).to_string();
        let response = keria.request(
            keria.ports().admin,
            &format!(
                "PUT /agent/{}?type=ixn HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                self.aid,
                body.len()
            ),
        );
        assert_eq!(response.status, 204, "{}", response.body);
    }

    /// A signed request with a JSON body (or none).
    pub fn send(
        &self,
        keria: &Keria,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> Response {
        let body = body.map(Value::to_string).unwrap_or_default();
        self.send_typed(keria, method, target, "application/json", &body)
    }

    /// A signed request with a body of `content_type`.
    pub fn send_typed(
        &self,
        keria: &Keria,
        method: &str,
        target: &str,
        content_type: &str,
        body: &str,
    ) -> Response {
        let path = target.split('?').next().unwrap();
        let headers = httpsig::request_headers(
            &self.aid,
            &self.signer,
            method,
            path,
            OffsetDateTime::now_utc(),
        );
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (name, value) in headers {
            write!(raw, "{name}: {value}\r\n").unwrap();
        }
        write!(
            raw,
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        keria.request(keria.ports().admin, &raw)
    }
}

pub fn digest(signer: &Signer) -> Diger {
    Diger::blake3(signer.verfer().qb64().as_bytes())
}

pub fn sig(event: &Event, signer: &Signer) -> String {
    signer.sign_indexed(event.raw(), 0).qb64()
}

const SALTY: &str = r#"{"sxlt":"1AAHsealed","pidx":0,"kidx":0,"stem":"signify:aid","tier":"low","icodes":["A"],"ncodes":["A"],"dcode":"E","transferable":true}"#;

pub fn create_body(name: &str, icp: &Event, sigs: &[String]) -> Value {
    json!({"name": name, "icp": icp.value(), "sigs": sigs, "salty": serde_json::from_str::<Value>(SALTY).unwrap()})
}

/// The number of events `GET /events` shows for `prefix`.
pub fn kel_length(keria: &Keria, controller: &Controller, prefix: &str) -> usize {
    let response = controller.send(keria, "GET", &format!("/events?pre={prefix}"), None);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json().as_array().unwrap().len()
}

/// Asserts a 400 whose description contains `reason`.
pub fn refused(response: &Response, reason: &str) {
    assert_eq!(response.status, 400, "{}", response.body);
    let description = response.json()["description"].as_str().unwrap().to_owned();
    assert!(
        description.contains(reason),
        "{description:?} lacks {reason:?}"
    );
}

#[test]
fn forged_and_malformed_inceptions_create_nothing() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let (k0, k1, k2) = (
        Signer::random().unwrap(),
        Signer::random().unwrap(),
        Signer::random().unwrap(),
    );
    let icp = build::incept(&[k0.verfer()], &[digest(&k1)]);
    let aid = icp.prefix().to_owned();

    // Inceptions that must not create anything.
    let mut tampered = icp.value().clone();
    tampered["k"] = json!([k2.verfer().qb64()]);
    for (body, reason) in [
        (create_body("aid", &icp, &[sig(&icp, &k2)]), "signatures"),
        (
            create_body("aid", &icp, &[]),
            "sigs must be a non-empty list",
        ),
        (
            json!({"name": "aid", "icp": tampered, "sigs": [sig(&icp, &k0)], "salty": {}}),
            "icp is not a valid KERI event",
        ),
        (
            json!({"name": "aid", "icp": icp.value(), "sigs": [sig(&icp, &k0)]}),
            "exactly one of salty, randy or extern",
        ),
        (
            json!({"name": "", "icp": icp.value(), "sigs": [sig(&icp, &k0)]}),
            "name must be a non-empty string",
        ),
    ] {
        refused(
            &alice.send(&keria, "POST", "/identifiers", Some(&body)),
            reason,
        );
    }
    assert_eq!(
        alice.send(&keria, "GET", "/identifiers", None).json(),
        json!([])
    );
    let response = alice.send(
        &keria,
        "POST",
        "/identifiers",
        Some(&create_body("aid", &icp, &[sig(&icp, &k0)])),
    );
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(response.json()["name"], format!("done.{aid}"));
    refused(
        &alice.send(
            &keria,
            "POST",
            "/identifiers",
            Some(&create_body("aid", &icp, &[sig(&icp, &k0)])),
        ),
        "already incepted",
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// A running keria, a controller, and its identifier "aid" (key k0, next k1; k2 unrelated).
pub fn with_identifier() -> (Keria, Controller, [Signer; 3], Event) {
    let keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let keys = [
        Signer::random().unwrap(),
        Signer::random().unwrap(),
        Signer::random().unwrap(),
    ];
    let icp = build::incept(&[keys[0].verfer()], &[digest(&keys[1])]);
    let body = create_body("aid", &icp, &[sig(&icp, &keys[0])]);
    let response = alice.send(&keria, "POST", "/identifiers", Some(&body));
    assert_eq!(response.status, 202, "{}", response.body);
    (keria, alice, keys, icp)
}

#[test]
fn forged_and_out_of_order_events_are_refused_and_the_kel_is_unchanged() {
    let (mut keria, alice, [k0, k1, k2], icp) = with_identifier();
    let aid = icp.prefix().to_owned();
    // Interactions and rotations that must not extend the KEL.
    let events = "/identifiers/aid/events";
    let ixn = build::interact(&aid, 1, icp.said(), Vec::new());
    let wrong_sn = build::interact(&aid, 2, icp.said(), Vec::new());
    let wrong_prior = build::interact(&aid, 1, &aid.replace('E', "F"), Vec::new());
    let rot_to_uncommitted = build::rotate(&aid, 1, icp.said(), &[k2.verfer()], &[digest(&k0)]);
    let rot = build::rotate(&aid, 1, icp.said(), &[k1.verfer()], &[digest(&k2)]);
    for (body, reason) in [
        (
            json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &k1)]}),
            "signatures",
        ),
        (
            json!({"ixn": wrong_sn.value(), "sigs": [sig(&wrong_sn, &k0)]}),
            "sequence",
        ),
        (
            json!({"ixn": wrong_prior.value(), "sigs": [sig(&wrong_prior, &k0)]}),
            "prior",
        ),
        (
            json!({"rot": rot_to_uncommitted.value(), "sigs": [sig(&rot_to_uncommitted, &k2)]}),
            "next",
        ),
        (
            json!({"rot": rot.value(), "sigs": [sig(&rot, &k0)]}),
            "signatures",
        ),
        (
            json!({"ixn": {"t": "ixn"}, "sigs": [sig(&ixn, &k0)]}),
            "not a valid KERI event",
        ),
        (json!({"sigs": []}), "ixn or a rot"),
    ] {
        refused(&alice.send(&keria, "POST", events, Some(&body)), reason);
        assert_eq!(kel_length(&keria, &alice, &aid), 1, "after {body}");
    }
    assert_eq!(
        alice
            .send(
                &keria,
                "POST",
                "/identifiers/nobody/events",
                Some(&json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &k0)]}))
            )
            .status,
        404
    );

    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn replays_are_duplicates_conflicts_are_refused_and_old_keys_stop_after_a_rotation() {
    let (mut keria, alice, [k0, k1, k2], icp) = with_identifier();
    let aid = icp.prefix().to_owned();
    let events = "/identifiers/aid/events";
    let ixn = build::interact(&aid, 1, icp.said(), Vec::new());
    // The right interaction, its replay (a duplicate changes nothing), a different event at
    // the same sequence number (refused), then the rotation and the old key's refusal.
    let good = json!({"ixn": ixn.value(), "sigs": [sig(&ixn, &k0)]});
    assert_eq!(alice.send(&keria, "POST", events, Some(&good)).status, 200);
    assert_eq!(alice.send(&keria, "POST", events, Some(&good)).status, 200);
    assert_eq!(kel_length(&keria, &alice, &aid), 2);
    let other = build::interact(&aid, 1, icp.said(), vec![Seal::event(&aid, 0, icp.said())]);
    refused(
        &alice.send(
            &keria,
            "POST",
            events,
            Some(&json!({"ixn": other.value(), "sigs": [sig(&other, &k0)]})),
        ),
        "conflicts with the accepted event",
    );
    let rot = build::rotate(&aid, 2, ixn.said(), &[k1.verfer()], &[digest(&k2)]);
    let response = alice.send(
        &keria,
        "POST",
        events,
        Some(&json!({"rot": rot.value(), "sigs": [sig(&rot, &k1)],
            "salty": serde_json::from_str::<Value>(SALTY).unwrap()})),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let late = build::interact(&aid, 3, rot.said(), Vec::new());
    refused(
        &alice.send(
            &keria,
            "POST",
            events,
            Some(&json!({"ixn": late.value(), "sigs": [sig(&late, &k0)]})),
        ),
        "signatures",
    );
    assert_eq!(kel_length(&keria, &alice, &aid), 3);
    let state = alice.send(&keria, "GET", "/identifiers/aid", None).json()["state"].clone();
    assert_eq!(state["s"], "2");
    assert_eq!(state["k"], json!([k1.verfer().qb64()]));

    // Another controller's agent knows nothing of it.
    let bob = Controller::boot(&keria);
    assert_eq!(
        bob.send(&keria, "GET", "/identifiers/aid", None).status,
        404
    );
    assert_eq!(
        bob.send(&keria, "GET", &format!("/states?pre={aid}"), None)
            .json(),
        json!([])
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_non_transferable_identifier_refuses_rotation() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let k0 = Signer::random().unwrap();
    let basic = Verfer::new(*k0.verfer().raw(), false);
    let icp = build::incept(&[basic], &[]);
    let mut body = create_body("once", &icp, &[sig(&icp, &k0)]);
    body["salty"]["transferable"] = json!(false);
    // As signify-ts sends it: no next codes for no next keys.
    body["salty"]["ncodes"] = json!([]);
    let response = alice.send(&keria, "POST", "/identifiers", Some(&body));
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(
        alice.send(&keria, "GET", "/identifiers/once", None).json()["transferable"],
        false
    );
    let rot = build::rotate(icp.prefix(), 1, icp.said(), &[k0.verfer()], &[]);
    let refusal = alice.send(
        &keria,
        "POST",
        "/identifiers/once/events",
        Some(&json!({"rot": rot.value(), "sigs": [sig(&rot, &k0)]})),
    );
    assert_eq!(refusal.status, 400, "{}", refusal.body);
    assert_eq!(kel_length(&keria, &alice, icp.prefix()), 1);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn end_roles_need_the_identifiers_own_signature() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let (k0, k1) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept(&[k0.verfer()], &[digest(&k1)]);
    let aid = icp.prefix();
    assert_eq!(
        alice
            .send(
                &keria,
                "POST",
                "/identifiers",
                Some(&create_body("aid", &icp, &[sig(&icp, &k0)]))
            )
            .status,
        202
    );
    let dt = "2026-11-24T21:59:12.366000+00:00";
    let role = reply::end_role_add(aid, "agent", &alice.agent, dt);
    let foreign = reply::end_role_add(&alice.aid, "agent", &alice.agent, dt);
    let odd = reply::end_role_add(aid, "janitor", &alice.agent, dt);
    let mut tampered = role.value().clone();
    tampered["a"]["eid"] = json!(alice.aid);
    let path = "/identifiers/aid/endroles";
    for (body, reason) in [
        (
            json!({"rpy": role.value(), "sigs": [k1.sign_indexed(role.raw(), 0).qb64()]}),
            "signature",
        ),
        (
            json!({"rpy": foreign.value(), "sigs": [k0.sign_indexed(foreign.raw(), 0).qb64()]}),
            "not for this identifier",
        ),
        (
            json!({"rpy": odd.value(), "sigs": [k0.sign_indexed(odd.raw(), 0).qb64()]}),
            "role must be one of",
        ),
        (
            json!({"rpy": tampered, "sigs": [k0.sign_indexed(role.raw(), 0).qb64()]}),
            "rpy",
        ),
    ] {
        refused(&alice.send(&keria, "POST", path, Some(&body)), reason);
    }
    assert_eq!(
        alice
            .send(&keria, "GET", "/identifiers/aid/endroles/agent", None)
            .json(),
        json!([])
    );
    let good = json!({"rpy": role.value(), "sigs": [k0.sign_indexed(role.raw(), 0).qb64()]});
    let response = alice.send(&keria, "POST", path, Some(&good));
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(
        response.json()["name"],
        format!("endrole.{aid}.agent.{}", alice.agent)
    );
    assert_eq!(
        alice
            .send(&keria, "GET", "/identifiers/aid/endroles/agent", None)
            .json(),
        json!([{"cid": aid, "role": "agent", "eid": alice.agent}])
    );
    // The agent now serves the identifier's OOBI on the http port; an unknown one is 404.
    let oobi = keria.get(
        keria.ports().http,
        &format!("/oobi/{aid}/agent/{}", alice.agent),
    );
    assert_eq!(oobi.status, 200);
    assert_eq!(oobi.header("content-type"), Some("application/json+cesr"));
    assert!(oobi.body.starts_with("{\"v\":\"KERI10JSON"));
    assert_eq!(
        keria
            .get(
                keria.ports().http,
                &format!("/oobi/{aid}/agent/{}", alice.aid)
            )
            .status,
        404
    );
    assert_eq!(
        keria
            .get(keria.ports().http, "/oobi/Enobody/agent/Enobody")
            .status,
        404
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn operations_ranges_and_methods_answer_as_documented() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let missing = alice.send(&keria, "GET", "/operations/done.Enothing", None);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"title": "long running operation 'done.Enothing' not found"})
    );
    assert_eq!(
        alice
            .send(&keria, "DELETE", "/operations/done.Enothing", None)
            .status,
        404
    );
    for name in ["a", "b", "c"] {
        let (k0, k1) = (Signer::random().unwrap(), Signer::random().unwrap());
        let icp = build::incept(&[k0.verfer()], &[digest(&k1)]);
        assert_eq!(
            alice
                .send(
                    &keria,
                    "POST",
                    "/identifiers",
                    Some(&create_body(name, &icp, &[sig(&icp, &k0)]))
                )
                .status,
            202
        );
    }
    let ranged = |range: &str| {
        let path = "/identifiers";
        let headers = httpsig::request_headers(
            &alice.aid,
            &alice.signer,
            "GET",
            path,
            OffsetDateTime::now_utc(),
        );
        let mut raw =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: {range}\r\n");
        for (name, value) in headers {
            write!(raw, "{name}: {value}\r\n").unwrap();
        }
        raw.push_str("\r\n");
        keria.request(keria.ports().admin, &raw)
    };
    let page = ranged("aids=1-1");
    assert_eq!(page.status, 206);
    assert_eq!(page.header("content-range"), Some("aids 1-1/3"));
    assert_eq!(page.json()[0]["name"], "b");
    let rest = ranged("aids=1-24");
    assert_eq!(rest.header("content-range"), Some("aids 1-2/3"));
    assert_eq!(rest.json().as_array().unwrap().len(), 2);
    assert_eq!(ranged("aids=5-9").status, 416);
    assert_eq!(ranged("items=0-1").status, 400);
    let operations = alice.send(&keria, "GET", "/operations", None).json();
    assert_eq!(operations.as_array().unwrap().len(), 3);
    let delete = alice.send(&keria, "DELETE", "/identifiers/a", None);
    assert_eq!(delete.status, 405);
    assert_eq!(delete.header("allow"), Some("GET, PUT, OPTIONS"));
    assert_eq!(alice.send(&keria, "GET", "/nothing/here", None).status, 404);
    let renamed = alice.send(&keria, "PUT", "/identifiers/a", Some(&json!({"name": "b"})));
    assert_eq!(renamed.status, 400, "a rename onto a used name");
    let renamed = alice.send(&keria, "PUT", "/identifiers/a", Some(&json!({"name": "z"})));
    assert_eq!(renamed.json()["name"], "z");
    assert_eq!(
        alice.send(&keria, "GET", "/identifiers/a", None).status,
        404
    );
    let agent = keria
        .get(keria.ports().admin, &format!("/agent/{}", alice.aid))
        .json();
    assert_eq!(agent["pidx"], 3);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
