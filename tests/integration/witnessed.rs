//! Witnessed identifiers against keri's own witnesses: their OOBIs resolve (replies signed with
//! receipt couples), and identifiers name only witnesses the agent knows.

use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::identifiers::Controller;
use crate::oobis::resolve;
use crate::witnesses::{Witness, Witnesses};

#[test]
fn witness_oobis_resolve_with_their_receipt_couples() {
    let witnesses = Witnesses::start(2);
    let mut keria = Start::new().start();
    let controller = Controller::boot(&keria);
    for witness in witnesses.list() {
        let operation = resolve(&keria, &controller, &witness.oobi_url);
        assert_eq!(operation["done"], true, "{operation}");
        assert!(operation.get("error").is_none(), "{operation}");
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}

/// keria started with the witnesses' OOBIs as its introduction URLs, once it has resolved them.
fn introduced_to(witnesses: &Witnesses) -> Keria {
    introduced_with(witnesses, Start::new())
}

/// `start` with the witnesses' OOBIs as its introduction URLs, once it has resolved them.
fn introduced_with(witnesses: &Witnesses, start: Start) -> Keria {
    let keria = start.args(["--iurls", &iurls(witnesses)]).start();
    for witness in witnesses.list() {
        let line = format!("introduction {} resolved for every agent", witness.oobi_url);
        assert!(keria.wait_for_log(&line).is_some(), "{}", keria.log());
    }
    keria
}

/// The witnesses' OOBIs, `;`-separated.
fn iurls(witnesses: &Witnesses) -> String {
    let iurls: Vec<&str> = witnesses
        .list()
        .iter()
        .map(|witness| witness.oobi_url.as_str())
        .collect();
    iurls.join(";")
}

/// Runs `witnessed.mjs` against `keria` with `options`.
fn witnessed(keria: &Keria, passcode: &str, options: &Value) -> (bool, Value) {
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    crate::signify04::run(
        "witnessed.mjs",
        &[&admin, &boot, passcode, &options.to_string()],
    )
}

/// The events a witness serves for `prefix` (`GET /oobi/{prefix}` on its own port).
fn served_by(witness: &Witness, prefix: &str) -> Vec<Value> {
    let answer = crate::peers::http_get(witness.http_port, &format!("/oobi/{prefix}"))
        .expect("the witness answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    served_events(witness, prefix)
}

/// The events a witness serves for `prefix` now (none while it serves nothing).
fn served_events(witness: &Witness, prefix: &str) -> Vec<Value> {
    let Some(answer) = crate::peers::http_get(witness.http_port, &format!("/oobi/{prefix}")) else {
        return Vec::new();
    };
    if answer.status != 200 {
        return Vec::new();
    }
    keria::keri::stream::parse(answer.body.as_bytes(), 1 << 20)
        .unwrap()
        .into_iter()
        .map(|message| message.value)
        .filter(|value| value["i"] == prefix && value["t"] != "rct")
        .collect()
}

#[test]
fn salty_and_randy_identifiers_are_receipted_by_their_witnesses_to_the_threshold() {
    let witnesses = Witnesses::start(3);
    let mut keria = introduced_to(&witnesses);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    for (algo, passcode) in [
        ("salty", "witnessed-salty-0123456"),
        ("randy", "witnessed-randy-0123456"),
    ] {
        let (ok, out) = witnessed(
            &keria,
            passcode,
            &json!({"algo": algo, "wits": wits, "toad": 2, "rotate": {"toad": 2}}),
        );
        assert!(ok, "{algo}: {out}\n{}", keria.log());
        let prefix = out["prefix"].as_str().unwrap();
        let names: Vec<&str> = out["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec![format!("witness.{prefix}"); 3], "{out}");
        assert_eq!(out["state"]["b"], json!(wits), "{out}");
        assert_eq!(out["state"]["bt"], "2", "{out}");
        assert_eq!(out["state"]["s"], "2", "{out}");
        for witness in witnesses.list() {
            let events = served_by(witness, prefix);
            assert_eq!(events.len(), 3, "{}: {events:?}", witness.name);
        }
        let oobis = out["witnessOobis"].as_array().unwrap();
        assert_eq!(oobis.len(), 3, "{out}");
        assert!(oobis[0]
            .as_str()
            .unwrap()
            .ends_with(&format!("/oobi/{prefix}/witness/{}", wits[0])));
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}

#[test]
fn an_unknown_witness_is_refused_and_nothing_is_stored() {
    let mut keria = Start::new().start();
    let unknown = "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (ok, out) = witnessed(
        &keria,
        "witnessed-unknown-01234",
        &json!({"wits": [unknown], "toad": 1, "steps": ["create"]}),
    );
    assert!(!ok, "{out}");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains(&format!("unknown witness {unknown}")),
        "{out}"
    );
    let (ok, out) = witnessed(
        &keria,
        "witnessed-unknown-01234",
        &json!({"steps": ["await"]}),
    );
    assert!(!ok, "nothing was stored under the name: {out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn with_one_witness_down_the_operation_completes_at_the_threshold() {
    let mut witnesses = Witnesses::start(3);
    let mut keria = introduced_to(&witnesses);
    witnesses.stop_one(2);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let (ok, out) = witnessed(
        &keria,
        "witnessed-one-down-0123",
        &json!({"wits": wits, "toad": 2, "steps": ["create"]}),
    );
    assert!(ok, "{out}\n{}", keria.log());
    assert_eq!(out["operations"][0]["done"], true, "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn with_every_witness_down_the_operation_fails_naming_them_and_submit_completes_it() {
    let mut witnesses = Witnesses::start(2);
    let mut keria = introduced_with(&witnesses, Start::new().args(["--receipt-timeout", "2"]));
    witnesses.stop_one(0);
    witnesses.stop_one(1);
    let wits: Vec<String> = witnesses.list().iter().map(|w| w.aid.clone()).collect();
    let passcode = "witnessed-all-down-0123";
    let (ok, out) = witnessed(
        &keria,
        passcode,
        &json!({"wits": wits, "toad": 2, "steps": ["create"]}),
    );
    assert!(!ok, "{out}");
    let error = &out["operation"]["error"];
    assert_eq!(error["code"], 408, "{out}");
    let message = error["message"].as_str().unwrap();
    for wit in &wits {
        assert!(message.contains(wit.as_str()), "{message}");
    }
    witnesses.restart(0);
    witnesses.restart(1);
    let (ok, out) = witnessed(&keria, passcode, &json!({"steps": ["submit"]}));
    assert!(ok, "{out}\n{}", keria.log());
    assert!(out["operations"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("submit."));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn receipting_cut_short_by_sigkill_resumes_after_the_restart() {
    let mut witnesses = Witnesses::start(2);
    let iurls = iurls(&witnesses);
    let mut keria = introduced_with(&witnesses, Start::new());
    witnesses.stop_one(0);
    witnesses.stop_one(1);
    let wits: Vec<String> = witnesses.list().iter().map(|w| w.aid.clone()).collect();
    let passcode = "witnessed-sigkill-01234";
    // The inception is accepted (202) and its receipting kept, but no witness answers.
    let (ok, out) = witnessed(
        &keria,
        passcode,
        &json!({"wits": wits, "toad": 2, "steps": ["create"], "timeout": 300}),
    );
    assert!(!ok, "{out}");
    assert_eq!(out["operation"]["done"], false, "{out}");
    keria.signal(Signal::KILL);
    keria.wait_exit();
    witnesses.restart(0);
    witnesses.restart(1);
    let mut keria = Start::new()
        .data_dir(&keria.data_dir.clone())
        .args(["--iurls", &iurls])
        .start();
    let (ok, out) = witnessed(&keria, passcode, &json!({"steps": ["await"]}));
    assert!(ok, "{out}\n{}", keria.log());
    assert_eq!(out["operations"][0]["done"], true, "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn agents_of_two_keria_processes_resolve_each_others_witnessed_oobis_only_with_their_receipts() {
    let witnesses = Witnesses::start(2);
    let mut alice_keria = introduced_to(&witnesses);
    let mut bob_keria = introduced_to(&witnesses);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let (ok, alice) = witnessed(
        &alice_keria,
        "witnessed-alice-0123456",
        &json!({"name": "alice", "wits": wits, "toad": 2, "steps": ["create", "interact", "endrole"]}),
    );
    assert!(ok, "{alice}\n{}", alice_keria.log());
    let oobi = alice["agentOobis"][0].as_str().unwrap().to_owned();
    let (ok, bob) = witnessed(
        &bob_keria,
        "witnessed-bob-012345678",
        &json!({"steps": [], "oobis": [oobi]}),
    );
    assert!(ok, "{bob}\n{}", bob_keria.log());

    // The same stream without its receipts is refused.
    let port = oobi.split(':').nth(2).unwrap().split('/').next().unwrap();
    let path = &oobi[oobi.find(&format!(":{port}")).unwrap() + port.len() + 1..];
    let served = crate::peers::http_get(port.parse().unwrap(), path).unwrap();
    let messages = keria::keri::stream::parse(served.body.as_bytes(), 1 << 20).unwrap();
    let stripped: Vec<(Vec<u8>, keria::keri::stream::Attachments)> = messages
        .into_iter()
        .map(|message| {
            let mut attachments = message.attachments;
            attachments.receipts.clear();
            (message.raw, attachments)
        })
        .collect();
    let body = keria::keri::stream::write(stripped.iter().map(|(raw, atc)| (raw.as_slice(), atc)));
    let canned = crate::oobis::canned(Some(crate::oobis::http("200 OK", &body)));
    let prefix = alice["prefix"].as_str().unwrap();
    let forged = format!("http://127.0.0.1:{canned}/oobi/{prefix}");
    let (ok, refused) = witnessed(
        &bob_keria,
        "witnessed-carol-0123456",
        &json!({"steps": [], "oobis": [forged]}),
    );
    assert!(!ok, "{refused}");
    let error = refused["operation"]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("fewer than its threshold 2"), "{refused}");
    // Served short of its receipts at first and whole afterwards (its receipting was under
    // way), the stream waits in escrow and resolves.
    let late = late_receipts(body, served.body.into_bytes());
    let (ok, resolved) = witnessed(
        &bob_keria,
        "witnessed-dave-01234567",
        &json!({"steps": [], "oobis": [format!("http://127.0.0.1:{late}/oobi/{prefix}")]}),
    );
    assert!(ok, "{resolved}\n{}", bob_keria.log());
    assert_eq!(alice_keria.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(bob_keria.stop_with(Signal::TERM).code(), Some(0));
}

/// A loopback OOBI server that answers `first` once, then `after` to every later request; its
/// port.
fn late_receipts(first: Vec<u8>, after: Vec<u8>) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (served, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            if read_request(&mut stream).is_none() {
                continue;
            }
            let body = if served == 0 { &first } else { &after };
            let _ = stream.write_all(&crate::oobis::http("200 OK", body));
        }
    });
    port
}

#[test]
fn a_rotation_cuts_a_witness_and_adds_one_that_is_caught_up_first() {
    let witnesses = Witnesses::start(4);
    let mut keria = introduced_to(&witnesses);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let (ok, out) = witnessed(
        &keria,
        "witnessed-rotation-0123",
        &json!({
            "wits": &wits[..3],
            "toad": 2,
            "steps": ["create", "interact", "rotate"],
            "rotate": {"cuts": [wits[0]], "adds": [wits[3]], "toad": 2},
        }),
    );
    assert!(ok, "{out}\n{}", keria.log());
    assert_eq!(
        out["state"]["b"],
        json!([wits[1], wits[2], wits[3]]),
        "{out}"
    );
    let prefix = out["prefix"].as_str().unwrap();
    // The operation is done at the threshold; the added witness receipts once it has caught
    // up on the log.
    let added = &witnesses.list()[3];
    let deadline = std::time::Instant::now() + crate::harness::PATIENCE;
    while served_events(added, prefix).len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the added witness never held the whole log:\n{}",
            keria.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn location_schemes_mailbox_oobis_and_end_roles_by_aid_work_as_signify_ts_uses_them() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let (ok, out) =
        crate::signify04::run("endpoints.mjs", &[&admin, &boot, "endpoints-passcode-0123"]);
    assert!(ok, "{out}\n{}", keria.log());
    let (cid, agent) = (out["cid"].as_str().unwrap(), out["agent"].as_str().unwrap());
    assert_eq!(
        out["locscheme"]["name"],
        format!("locscheme.{cid}.https"),
        "{out}"
    );
    assert_eq!(
        out["mailboxOobis"],
        json!([format!("https://mymailbox.com/oobi/{cid}/mailbox/{cid}")])
    );
    assert_eq!(
        out["agentRoles"],
        json!([{"cid": cid, "role": "agent", "eid": agent}])
    );
    assert_eq!(out["endRoles"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_rotation_of_a_witnessed_identifier_is_learned_from_its_witnesses() {
    let witnesses = Witnesses::start(3);
    let mut keria = introduced_to(&witnesses);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let alice_passcode = "witnessed-query-alice-01";
    let (ok, alice) = witnessed(
        &keria,
        alice_passcode,
        &json!({"name": "alice", "wits": wits, "toad": 2, "steps": ["create", "endrole"]}),
    );
    assert!(ok, "{alice}\n{}", keria.log());
    let prefix = alice["prefix"].as_str().unwrap();
    let oobi = alice["agentOobis"][0].as_str().unwrap();
    let bob_passcode = "witnessed-query-bob-0123";
    let (ok, bob) = witnessed(&keria, bob_passcode, &json!({"steps": [], "oobis": [oobi]}));
    assert!(ok, "{bob}");
    let (ok, rotated) = witnessed(
        &keria,
        alice_passcode,
        &json!({"name": "alice", "steps": ["rotate"], "rotate": {"toad": 2}}),
    );
    assert!(ok, "{rotated}\n{}", keria.log());
    // Bob's agent holds Alice at 0; its query asks her witnesses for the rotation.
    let (ok, queried) = witnessed(
        &keria,
        bob_passcode,
        &json!({"steps": ["query"], "query": {"prefix": prefix, "sn": "1"}}),
    );
    assert!(ok, "{queried}\n{}", keria.log());
    assert_eq!(queried["queried"]["s"], "1", "{queried}");
    assert_eq!(queried["queried"]["k"], rotated["state"]["k"], "{queried}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// One HTTP request read from `stream`: its head, lowercased, and its body.
fn read_request(stream: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use std::io::Read;
    let mut request = Vec::new();
    let mut buffer = [0_u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..read]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    Some((head, request[head_end..].to_vec()))
}

/// How a rogue witness answers a receipt request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rogue {
    /// Its receipt couple names its key, but another key signed.
    Forged,
    /// A true signature, by a non-transferable identifier that is not the witness asked.
    Stranger,
}

/// A witness that is not one: it serves a valid OOBI of its own (a non-transferable inception
/// and a location signed with its receipt couple), then answers every receipt request as
/// `mode` says. Its (AID, OOBI URL).
fn rogue_witness(mode: &'static std::sync::Mutex<Rogue>) -> (String, String) {
    use keria::keri::build;
    use keria::keri::primitives::{Signer, Verfer};
    use keria::keri::stream::{self, Attachments};
    use std::io::Write;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let key = Signer::random().unwrap();
    let verfer = Verfer::new(*key.verfer().raw(), false);
    let aid = verfer.qb64();
    let icp = build::incept_basic(&verfer);
    let location = keria::keri::reply::loc_scheme(
        &aid,
        "http",
        &format!("http://127.0.0.1:{port}/"),
        "2024-01-01T00:00:00.000000+00:00",
    );
    let oobi = stream::write([
        (
            icp.raw(),
            &Attachments {
                controller_sigs: vec![key.sign_indexed(icp.raw(), 0)],
                ..Attachments::default()
            },
        ),
        (
            location.raw(),
            &Attachments {
                receipts: vec![(verfer.clone(), key.sign_cigar(location.raw()))],
                ..Attachments::default()
            },
        ),
    ]);
    let url = format!("http://127.0.0.1:{port}/oobi/{aid}/controller");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some((head, request_body)) = read_request(&mut stream) else {
                continue;
            };
            let body = if head.starts_with("get /oobi/") {
                oobi.clone()
            } else if head.starts_with("post /receipts") {
                let event: serde_json::Value =
                    serde_json::from_slice(&request_body).unwrap_or_default();
                let raw = &request_body[..];
                let rct = build::receipt(
                    event["i"].as_str().unwrap_or_default(),
                    u64::from_str_radix(event["s"].as_str().unwrap_or("0"), 16).unwrap_or(0),
                    event["d"].as_str().unwrap_or_default(),
                );
                let other = Signer::random().unwrap();
                let couple = match *mode.lock().unwrap() {
                    Rogue::Forged => (verfer.clone(), other.sign_cigar(raw)),
                    Rogue::Stranger => (
                        Verfer::new(*other.verfer().raw(), false),
                        other.sign_cigar(raw),
                    ),
                };
                stream::write([(
                    rct.as_slice(),
                    &Attachments {
                        receipts: vec![couple],
                        ..Attachments::default()
                    },
                )])
            } else {
                Vec::new()
            };
            let status = if body.is_empty() {
                "204 No Content"
            } else {
                "200 OK"
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json+cesr\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = stream.write_all(&body);
        }
    });
    (aid, url)
}

#[test]
fn forged_receipts_and_receipts_by_strangers_count_for_nothing() {
    static MODE: std::sync::Mutex<Rogue> = std::sync::Mutex::new(Rogue::Forged);
    let (rogue, oobi) = rogue_witness(&MODE);
    let mut keria = Start::new().args(["--receipt-timeout", "2"]).start();
    let passcode = "witnessed-rogue-0123456";
    for (mode, name) in [(Rogue::Forged, "forged"), (Rogue::Stranger, "stranger")] {
        *MODE.lock().unwrap() = mode;
        let (ok, out) = witnessed(
            &keria,
            passcode,
            &json!({"name": name, "oobis": [oobi], "wits": [rogue], "toad": 1, "steps": ["create"]}),
        );
        assert!(!ok, "{name}: a receipt that does not verify counted: {out}");
        let error = &out["operation"]["error"];
        assert_eq!(error["code"], 408, "{name}: {out}");
        assert!(
            error["message"].as_str().unwrap().contains(&rogue),
            "{name}: {out}"
        );
    }
    let log = keria.log();
    assert!(log.contains("does not verify"), "{log}");
    assert!(
        log.contains(&format!("no receipt couple of {rogue}")),
        "{log}"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
