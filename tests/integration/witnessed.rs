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
    let iurls: Vec<&str> = witnesses
        .list()
        .iter()
        .map(|witness| witness.oobi_url.as_str())
        .collect();
    let keria = Start::new().args(["--iurls", &iurls.join(";")]).start();
    for witness in witnesses.list() {
        let line = format!("introduction {} resolved for every agent", witness.oobi_url);
        assert!(keria.wait_for_log(&line).is_some(), "{}", keria.log());
    }
    keria
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
    let (ok, out) = witnessed(&keria, "witnessed-unknown-01234", &json!({"steps": []}));
    assert!(!ok, "nothing was stored under the name: {out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
