//! KERI ingress on the http port through the binary: forged, unknown, tampered, truncated,
//! oversized and misdirected messages are refused with the reason and store nothing, and the
//! agency keeps serving; a true `exn` is stored, listed, and completes a challenge whether it
//! arrives before or after the verification was asked for.

use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::exchange::{exchange, Exchange};
use keria::keri::primitives::Signer;
use keria::keri::reply;
use keria::keri::stream::{Attachments, SignatureGroup};
use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Response, Start};
use crate::identifiers::{create_body, digest, sig, Controller};
use crate::oobis::resolve;

/// An identifier of a controller: its inception and its current signing key.
struct Identifier {
    icp: Event,
    signer: Signer,
}

impl Identifier {
    fn prefix(&self) -> &str {
        self.icp.prefix()
    }

    /// A message from this identifier to `recipient`, dated `dt`.
    fn exn(&self, recipient: &str, route: &str, payload: &Value, dt: &str) -> Exchange {
        exchange(
            self.prefix(),
            recipient,
            route,
            payload.as_object().unwrap(),
            dt,
        )
    }

    /// The attachment of `exn` signed by `signer` under this identifier's inception.
    fn attachment(&self, exn: &Exchange, signer: &Signer) -> String {
        Attachments {
            signature_groups: vec![SignatureGroup {
                prefix: self.prefix().to_owned(),
                sn: 0,
                said: self.prefix().to_owned(),
                sigs: vec![signer.sign_indexed(exn.raw(), 0)],
            }],
            ..Attachments::default()
        }
        .to_qb64()
    }
}

/// Creates identifier `name` for `controller`, with its agent as end role: its OOBI URL too.
fn identifier(keria: &Keria, controller: &Controller, name: &str) -> (Identifier, String) {
    let (k0, k1) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept(&[k0.verfer()], &[digest(&k1)]);
    let body = create_body(name, &icp, &[sig(&icp, &k0)]);
    let created = controller.send(keria, "POST", "/identifiers", Some(&body));
    assert_eq!(created.status, 202, "{}", created.body);
    let role = reply::end_role_add(
        icp.prefix(),
        "agent",
        &controller.agent,
        "2026-11-24T21:59:12.366000+00:00",
    );
    let body = json!({"rpy": role.value(), "sigs": [k0.sign_indexed(role.raw(), 0).qb64()]});
    let added = controller.send(
        keria,
        "POST",
        &format!("/identifiers/{name}/endroles"),
        Some(&body),
    );
    assert_eq!(added.status, 202, "{}", added.body);
    let url = format!(
        "http://127.0.0.1:{}/oobi/{}/agent/{}",
        keria.ports().http,
        icp.prefix(),
        controller.agent
    );
    (Identifier { icp, signer: k0 }, url)
}

/// Posts `body` to the http port's `/` as `content_type`, with `headers` (each ending "\r\n").
fn ingress(keria: &Keria, content_type: &str, headers: &str, body: &[u8]) -> Response {
    let mut raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {content_type}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    keria.request(keria.ports().http, &String::from_utf8(raw).unwrap())
}

/// Posts `exn` as KERI agents do: JSON body, attachments and destination in headers.
fn post_exn(keria: &Keria, exn: &Exchange, attachment: &str, destination: &str) -> Response {
    ingress(
        keria,
        "application/cesr+json",
        &format!("CESR-ATTACHMENT: {attachment}\r\nCESR-DESTINATION: {destination}\r\n"),
        exn.raw(),
    )
}

fn refused(response: &Response, status: u16, reason: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    let description = response.json()["description"].as_str().unwrap().to_owned();
    assert!(
        description.contains(reason),
        "{description:?} lacks {reason:?}"
    );
}

fn held(keria: &Keria, alice: &Controller) -> Vec<Value> {
    let listed = alice.send(keria, "POST", "/exchanges/query", Some(&json!({})));
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json().as_array().unwrap().clone()
}

fn words(list: &[&str]) -> Value {
    json!({ "words": list })
}

/// Alice's agent, holding Bob's KEL (his OOBI resolved) but not Carol's.
struct Agents {
    keria: Keria,
    alice: Controller,
    mine: Identifier,
    theirs: Identifier,
    carol: Identifier,
}

fn agents() -> Agents {
    let keria = Start::new().start();
    let alice = Controller::boot(&keria);
    alice.approve(&keria);
    let bob = Controller::boot(&keria);
    bob.approve(&keria);
    let (mine, _) = identifier(&keria, &alice, "alice");
    let (theirs, bob_oobi) = identifier(&keria, &bob, "bob");
    let (carol, _) = identifier(&keria, &bob, "carol");
    assert_eq!(resolve(&keria, &alice, &bob_oobi)["done"], true);
    Agents {
        keria,
        alice,
        mine,
        theirs,
        carol,
    }
}

const DT: &str = "2026-11-24T21:59:18.298000+00:00";

/// Each refused request, with its status and a part of its reason.
fn forged(
    keria: &Keria,
    mine: &Identifier,
    theirs: &Identifier,
    carol: &Identifier,
) -> Vec<(Response, u16, &'static str)> {
    let dt = DT;
    let exn = theirs.exn(
        mine.prefix(),
        "/challenge/response",
        &words(&["napkin", "live"]),
        dt,
    );
    let good = theirs.attachment(&exn, &theirs.signer);
    // Each refusal names its reason, stores nothing, and the agency keeps serving.
    let other = Signer::random().unwrap();
    let unknown = carol.exn(mine.prefix(), "/challenge/response", &words(&["a"]), dt);
    let tampered = String::from_utf8(exn.raw().to_vec())
        .unwrap()
        .replacen("\"live\"", "\"lime\"", 1);
    let mut truncated = exn.raw().to_vec();
    truncated.extend_from_slice(&good.as_bytes()[..good.len() - 9]);
    let key_event = String::from_utf8(theirs.icp.raw().to_vec()).unwrap()
        + &Attachments {
            controller_sigs: vec![theirs.signer.sign_indexed(theirs.icp.raw(), 0)],
            ..Attachments::default()
        }
        .to_qb64();
    vec![
        (
            post_exn(keria, &exn, &theirs.attachment(&exn, &other), mine.prefix()),
            400,
            "0 of 1 signatures verify",
        ),
        (
            post_exn(
                keria,
                &unknown,
                &carol.attachment(&unknown, &carol.signer),
                mine.prefix(),
            ),
            400,
            "whose key event log this agent does not hold",
        ),
        (
            ingress(
                keria,
                "application/cesr+json",
                &format!("CESR-ATTACHMENT: {good}\r\n"),
                tampered.as_bytes(),
            ),
            400,
            "SAID mismatch",
        ),
        (
            ingress(keria, "application/cesr", "", &truncated),
            400,
            "truncated",
        ),
        (
            post_exn(keria, &exn, "", mine.prefix()),
            400,
            "exactly one transferable signature group",
        ),
        (
            post_exn(keria, &exn, &good, carol.prefix()),
            400,
            "but CESR-DESTINATION names",
        ),
        (
            post_exn(
                keria,
                &theirs.exn(carol.prefix(), "/x", &json!({}), dt),
                &good,
                carol.prefix(),
            ),
            400,
            "signatures verify",
        ),
        (
            ingress(keria, "application/cesr", "", key_event.as_bytes()),
            400,
            "only exn messages are taken here",
        ),
        (
            ingress(keria, "application/json", "", exn.raw()),
            415,
            "application/cesr+json",
        ),
        (
            ingress(keria, "application/cesr", "", &vec![b'{'; (1 << 20) + 1]),
            413,
            "",
        ),
    ]
}

#[test]
fn forged_unknown_tampered_truncated_and_oversized_messages_store_nothing() {
    let Agents {
        mut keria,
        alice,
        mine,
        theirs,
        carol,
    } = agents();
    let health = |keria: &Keria| keria.get(keria.ports().boot, "/health").status;
    let cases = forged(&keria, &mine, &theirs, &carol);
    for (response, status, reason) in &cases {
        if *status == 413 {
            assert_eq!(response.status, 413, "{}", response.body);
        } else {
            refused(response, *status, reason);
        }
        assert!(held(&keria, &alice).is_empty());
        assert_eq!(health(&keria), 200);
    }
    let elsewhere = theirs.exn(
        "EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/x",
        &json!({}),
        DT,
    );
    refused(
        &post_exn(
            &keria,
            &elsewhere,
            &theirs.attachment(&elsewhere, &theirs.signer),
            "EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        404,
        "unknown destination AID",
    );

    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn true_messages_are_stored_listed_and_complete_challenges_in_either_order() {
    let Agents {
        mut keria,
        alice,
        mine,
        theirs,
        ..
    } = agents();
    let dt = DT;
    let exn = theirs.exn(
        mine.prefix(),
        "/challenge/response",
        &words(&["napkin", "live"]),
        dt,
    );
    let good = theirs.attachment(&exn, &theirs.signer);
    // A challenge asked for before its response arrives completes when it does.
    let verify = |list: &[&str]| {
        let started = alice.send(
            &keria,
            "POST",
            &format!("/challenges_verify/{}", theirs.prefix()),
            Some(&words(list)),
        );
        assert_eq!(started.status, 202, "{}", started.body);
        started.json()
    };
    assert_eq!(verify(&["napkin", "live"])["done"], false);
    let delivered = post_exn(&keria, &exn, &good, mine.prefix());
    assert_eq!(delivered.status, 204, "{}", delivered.body);
    let operation = alice
        .send(
            &keria,
            "GET",
            &format!("/operations/challenge.{}", theirs.prefix()),
            None,
        )
        .json();
    assert_eq!(operation["done"], true, "{operation}");
    assert_eq!(operation["response"]["exn"]["d"], exn.said());
    // The same message again, as a CESR stream: accepted, held once.
    let mut stream = exn.raw().to_vec();
    stream.extend_from_slice(good.as_bytes());
    assert_eq!(ingress(&keria, "application/cesr", "", &stream).status, 204);
    assert_eq!(held(&keria, &alice).len(), 1);
    let fetched = alice
        .send(&keria, "GET", &format!("/exchanges/{}", exn.said()), None)
        .json();
    assert_eq!(fetched, json!({"exn": exn.value(), "pathed": {}}));

    // A response that arrives first completes the verification at once.
    let second = theirs.exn(
        mine.prefix(),
        "/challenge/response",
        &words(&["blade", "boy"]),
        "2026-11-24T21:59:19.298000+00:00",
    );
    let delivered = post_exn(
        &keria,
        &second,
        &theirs.attachment(&second, &theirs.signer),
        mine.prefix(),
    );
    assert_eq!(delivered.status, 204, "{}", delivered.body);
    let operation = verify(&["blade", "boy"]);
    assert_eq!(operation["response"]["exn"]["d"], second.said());
    let filtered = alice.send(
        &keria,
        "POST",
        "/exchanges/query",
        Some(&json!({"filter": {"-a-words": {"$eq": ["blade", "boy"]}}})),
    );
    assert_eq!(filtered.json().as_array().unwrap().len(), 1);
    assert_eq!(filtered.json()[0]["exn"]["d"], second.said());

    // Many messages, one per request, each answered once durable; the query lists 25 of them.
    let count = 100;
    for n in 0..count {
        let exn = theirs.exn(mine.prefix(), "/note", &json!({"n": n}), dt);
        let answer = post_exn(
            &keria,
            &exn,
            &theirs.attachment(&exn, &theirs.signer),
            mine.prefix(),
        );
        assert_eq!(answer.status, 204, "{}", answer.body);
    }
    assert_eq!(held(&keria, &alice).len(), 25, "the default query limit");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// The body signify-ts posts to `POST /identifiers/{name}/exchanges`.
fn outgoing(exn: &Exchange, signer: &Signer, recipients: &[&str]) -> Value {
    json!({
        "tpc": "challenge",
        "exn": exn.value(),
        "sigs": [signer.sign_indexed(exn.raw(), 0).qb64()],
        "atc": "",
        "rec": recipients,
    })
}

#[test]
fn exchanges_to_another_agency_are_checked_kept_and_posted_until_delivered() {
    let mut there = Start::new().start();
    let mut here = Start::new().start();
    let alice = Controller::boot(&there);
    alice.approve(&there);
    let (mine, alice_oobi) = identifier(&there, &alice, "alice");
    let bob = Controller::boot(&here);
    bob.approve(&here);
    let (theirs, _) = identifier(&here, &bob, "bob");
    let (carol, _) = identifier(&here, &bob, "carol");
    let send = |body: &Value| bob.send(&here, "POST", "/identifiers/bob/exchanges", Some(body));
    let exn = theirs.exn(mine.prefix(), "/challenge/response", &words(&["a"]), DT);

    // Refused before anything is stored or sent.
    refused(
        &send(&outgoing(&exn, &theirs.signer, &[mine.prefix()])),
        400,
        "attempt to send to unknown AID",
    );
    assert_eq!(resolve(&here, &bob, &alice_oobi)["done"], true);
    refused(
        &send(&outgoing(&exn, &carol.signer, &[mine.prefix()])),
        400,
        "0 of 1 signatures verify",
    );
    let from_carol = carol.exn(mine.prefix(), "/challenge/response", &words(&["a"]), DT);
    refused(
        &send(&outgoing(&from_carol, &carol.signer, &[mine.prefix()])),
        400,
        "not from bob",
    );
    let mut with_atc = outgoing(&exn, &theirs.signer, &[mine.prefix()]);
    // Pathed attachments of embedded messages are taken; anything else in atc is refused.
    with_atc["atc"] = "-LAZ".into();
    refused(&send(&with_atc), 400, "atc: stream is truncated");
    with_atc["atc"] = "-AAB".into();
    refused(&send(&with_atc), 400, "atc");
    let listed = bob.send(&here, "POST", "/exchanges/query", None);
    assert_eq!(listed.json(), json!([]));

    // Alice's agent does not know Bob: it refuses the post, and Bob's agency logs why.
    let answer = send(&outgoing(&exn, &theirs.signer, &[mine.prefix()]));
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.json(), *exn.value());
    let line = here
        .wait_for_log(&format!("exn {} not delivered", exn.said()))
        .unwrap();
    assert!(line.contains("HTTP status 400"), "{line}");
    assert!(line.contains("does not hold"), "{line}");
    let held = alice.send(&there, "POST", "/exchanges/query", None);
    assert_eq!(held.json(), json!([]));
    // Bob's agent keeps what Bob sent.
    let kept = bob.send(&here, "GET", &format!("/exchanges/{}", exn.said()), None);
    assert_eq!(kept.json()["exn"], *exn.value());

    // Alice's agent learns Bob; then her agency is gone: the message is kept and tried again,
    // off the loop, across a restart of Bob's agency, until Alice's agency is back.
    let bob_oobi = format!(
        "http://127.0.0.1:{}/oobi/{}/agent/{}",
        here.ports().http,
        theirs.prefix(),
        bob.agent
    );
    assert_eq!(resolve(&there, &alice, &bob_oobi)["done"], true);
    let alices_ports = there.ports();
    assert_eq!(there.stop_with(Signal::TERM).code(), Some(0));
    let second = theirs.exn(mine.prefix(), "/challenge/response", &words(&["b"]), DT);
    let answer = send(&outgoing(&second, &theirs.signer, &[mine.prefix()]));
    assert_eq!(answer.status, 202, "{}", answer.body);
    let line = here
        .wait_for_log(&format!("exn {} not delivered", second.said()))
        .unwrap();
    assert!(line.contains("(after 3 attempts)"), "{line}");
    assert!(line.contains("post 2 of 10"), "{line}");
    assert_eq!(here.get(here.ports().boot, "/health").status, 200);
    assert_eq!(here.stop_with(Signal::TERM).code(), Some(0));

    let mut here = Start::new().data_dir(&here.data_dir).start();
    assert!(
        here.wait_for_log("1 messages to other agencies are still to be delivered")
            .is_some(),
        "log:\n{}",
        here.log()
    );
    let mut there = Start::new()
        .data_dir(&there.data_dir)
        .ports(alices_ports)
        .start();
    assert!(
        here.wait_for_log(&format!("exn {} delivered", second.said()))
            .is_some(),
        "log:\n{}",
        here.log()
    );
    let held = alice.send(
        &there,
        "GET",
        &format!("/exchanges/{}", second.said()),
        None,
    );
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.json()["exn"], *second.value());
    assert_eq!(there.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(here.get(here.ports().boot, "/health").status, 200);
    assert_eq!(here.stop_with(Signal::TERM).code(), Some(0));
}
