//! Single-sig delegation through the binary, with signify-ts 0.4.0 (`delegation.mjs`): a
//! delegate's `dip` and `drt` wait for the delegator's anchoring `ixn`, learned by querying the
//! delegator; the delegator is told by a `/delegate/request` notification; the delegate's OOBI
//! carries the whole chain for a third party. In one keria and across two, with keri's
//! witnesses, across a SIGKILL of the delegate's keria while the approval is pending, and with
//! the bad inputs (an unknown delegator, an anchor of another event).

use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::witnesses::Witnesses;

/// A Signify controller on `keria`: its URLs and passcode, as `delegation.mjs` takes them.
fn controller(keria: &Keria, passcode: &str) -> Value {
    let ports = keria.ports();
    json!({
        "admin": format!("http://127.0.0.1:{}", ports.admin),
        "boot": format!("http://127.0.0.1:{}", ports.boot),
        "passcode": passcode,
    })
}

/// Runs `delegation.mjs` with `options`; its JSON line, which must say ok.
fn delegation(options: &Value, logs: &[&Keria]) -> Value {
    let (ok, out) = crate::signify04::run("delegation.mjs", &[&options.to_string()]);
    let logs: Vec<String> = logs.iter().map(|keria| keria.log()).collect();
    assert!(ok, "{out}\nkeria logs:\n{}", logs.join("\n----\n"));
    out
}

/// What every approval leaves: the delegate's operation done with its event, the delegator's
/// done with the delegate's prefix, the delegator told by one `/delegate/request` note.
fn assert_approved(out: &Value) {
    let prefix = out["prefix"].as_str().unwrap();
    assert_eq!(
        out["operation"]["name"],
        format!("delegation.{prefix}"),
        "{out}"
    );
    assert_eq!(out["operation"]["done"], false, "{out}");
    assert_eq!(out["delegation"]["done"], true, "{out}");
    assert_eq!(out["delegation"]["response"]["t"], "dip", "{out}");
    assert_eq!(out["delegation"]["response"]["i"], prefix, "{out}");
    assert_eq!(out["delegatorOperation"]["response"], prefix, "{out}");
    assert_eq!(
        out["approvalOperation"]["metadata"]["teepre"], prefix,
        "{out}"
    );
    let notes: Vec<&Value> = out["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|note| note["a"]["r"] == "/delegate/request")
        .collect();
    assert_eq!(notes.len(), 1, "{out}");
    assert_eq!(notes[0]["a"]["ked"]["i"], prefix, "{out}");
    assert_eq!(notes[0]["a"]["ked"]["t"], "dip", "{out}");
    assert_eq!(out["state"]["di"], out["pendingState"]["di"], "{out}");
}

/// The rest of a full run: the delegated rotation approved, and the delegate's OOBI verified
/// by a third controller, delegation included.
fn assert_rotated_and_verified(out: &Value) {
    let prefix = out["prefix"].as_str().unwrap();
    let drt = &out["rotation"]["response"];
    assert_eq!(drt["t"], "drt", "{out}");
    assert_eq!(drt["s"], "1", "{out}");
    assert_eq!(
        out["rotationOperation"]["name"],
        format!("delegation.{}", drt["d"].as_str().unwrap()),
        "{out}"
    );
    assert_eq!(out["thirdParty"]["i"], prefix, "{out}");
    assert_eq!(out["thirdParty"]["s"], "1", "{out}");
    assert_eq!(out["thirdParty"]["et"], "drt", "{out}");
    let events = out["thirdPartyEvents"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{out}");
    let delegate_events = out["delegateEvents"].as_array().unwrap();
    for event in delegate_events {
        // Each delegated event carries its seal source (-G) in its attachments.
        let atc = event["atc"].as_str().unwrap();
        assert!(atc.contains("-GAB"), "no seal source on {event}");
    }
}

#[test]
fn a_delegator_approves_a_delegate_and_its_rotation_in_one_keria() {
    let mut keria = Start::new().start();
    let out = delegation(
        &json!({
            "delegator": controller(&keria, "gator-one-0123456789ab"),
            "delegate": controller(&keria, "gate-one-0123456789abc"),
            "third": controller(&keria, "third-one-0123456789ab"),
            "badAnchor": true,
        }),
        &[&keria],
    );
    assert_approved(&out);
    assert_rotated_and_verified(&out);
    // While the dip waited, the identifier took no other event and its KEL held nothing.
    let blocked = out["blocked"].as_str().unwrap_or_default();
    assert!(blocked.contains("400"), "{out}");
    assert!(
        out["pendingEvents"].as_array().is_none_or(Vec::is_empty),
        "{out}"
    );
    // An anchor of another SAID counted for nothing.
    assert_eq!(out["afterBadAnchor"]["done"], false, "{out}");
    eprintln!(
        "delegation approval, anchoring ixn to the delegate's done operation: {:.0} ms (dip), {:.0} ms (drt)",
        out["approvalMs"].as_f64().unwrap(),
        out["rotationApprovalMs"].as_f64().unwrap()
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_dip_naming_a_delegator_never_resolved_is_refused_and_nothing_is_stored() {
    let mut keria = Start::new().start();
    let out = delegation(
        &json!({
            "delegator": controller(&keria, "gator-unknown-01234567"),
            "delegate": controller(&keria, "gate-unknown-012345678"),
            "unknownDelegator": true,
        }),
        &[&keria],
    );
    let refusal = out["refusal"].as_str().unwrap();
    assert!(refusal.contains("400"), "{out}");
    assert!(refusal.contains("unknown delegator"), "{out}");
    assert_eq!(out["identifiers"], json!([]), "{out}");
    assert_eq!(out["operations"], json!([]), "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// keria introduced to `witnesses` (their OOBIs as its `iurls`), once it has resolved them.
fn introduced(witnesses: &Witnesses, start: Start) -> Keria {
    let iurls: Vec<&str> = witnesses
        .list()
        .iter()
        .map(|witness| witness.oobi_url.as_str())
        .collect();
    let keria = start.args(["--iurls", &iurls.join(";")]).start();
    for witness in witnesses.list() {
        let line = format!("introduction {} resolved for every agent", witness.oobi_url);
        assert!(keria.wait_for_log(&line).is_some(), "{}", keria.log());
    }
    keria
}

#[test]
fn witnessed_delegator_and_delegate_in_two_keria_processes() {
    let witnesses = Witnesses::start(3);
    let mut delegator_keria = introduced(&witnesses, Start::new());
    let mut delegate_keria = introduced(&witnesses, Start::new());
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let out = delegation(
        &json!({
            "delegator": controller(&delegator_keria, "gator-two-0123456789ab"),
            "delegate": controller(&delegate_keria, "gate-two-0123456789abc"),
            "third": controller(&delegator_keria, "third-two-0123456789ab"),
            "wits": wits, "toad": 3,
            "delegateWits": &wits[..2], "delegateToad": 2,
        }),
        &[&delegator_keria, &delegate_keria],
    );
    assert_approved(&out);
    assert_rotated_and_verified(&out);
    eprintln!(
        "witnessed delegation approval, anchoring ixn to the delegate's done operation: {:.0} ms (dip), {:.0} ms (drt)",
        out["approvalMs"].as_f64().unwrap(),
        out["rotationApprovalMs"].as_f64().unwrap()
    );
    assert_eq!(delegate_keria.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(delegator_keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}

#[test]
fn a_pending_delegation_completes_after_a_sigkill_of_the_delegates_keria() {
    let mut delegator_keria = Start::new().start();
    let delegate_keria = Start::new().start();
    let options = |delegate_keria: &Keria, phase: &str| {
        json!({
            "delegator": controller(&delegator_keria, "gator-kill-0123456789a"),
            "delegate": controller(delegate_keria, "gate-kill-0123456789ab"),
            "phase": phase,
        })
    };
    let out = delegation(&options(&delegate_keria, "request"), &[&delegate_keria]);
    assert_eq!(out["operation"]["done"], false, "{out}");
    delegate_keria.signal(Signal::KILL);
    let mut killed = delegate_keria;
    killed.wait_exit();
    let mut restarted = Start::new().data_dir(&killed.data_dir.clone()).start();
    assert!(
        restarted
            .wait_for_log("1 delegated events still wait")
            .is_some(),
        "{}",
        restarted.log()
    );
    let out = delegation(
        &options(&restarted, "approve"),
        &[&delegator_keria, &restarted],
    );
    assert_approved(&json!({
        "prefix": out["prefix"],
        "operation": {"name": format!("delegation.{}", out["prefix"].as_str().unwrap()), "done": false},
        "delegation": out["delegation"],
        "delegatorOperation": out["delegatorOperation"],
        "approvalOperation": out["approvalOperation"],
        "notifications": out["notifications"],
        "state": out["state"],
        "pendingState": out["state"],
    }));
    assert_eq!(restarted.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(delegator_keria.stop_with(Signal::TERM).code(), Some(0));
}
