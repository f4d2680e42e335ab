//! Challenges between two Signify users, driven by the real signify-ts
//! (tests/signify/workflow.mjs): OOBIs resolved both ways, Alice challenges Bob, Bob signs the
//! words into an `exn` his agent delivers to Alice's (in the same agency, or posted to another
//! keria process), Alice verifies and accepts it; an IPEX-routed `exn` makes a notification.
//! The authenticated challenge and the notification survive SIGTERM and SIGKILL restarts.

use rustix::process::Signal;
use serde_json::Value;

use crate::harness::{Keria, Start};
use crate::signify::{alice_and_bob, one, ALICE};

/// Runs the challenge story with Alice on `a` and Bob on `b`, and checks what both saw.
fn challenge(a: &Keria, b: &Keria) -> Value {
    let seen = alice_and_bob("challenge", a.ports(), b.ports());
    assert_eq!(seen["words"].as_array().unwrap().len(), 12);
    assert_eq!(seen["words256"].as_array().unwrap().len(), 24);
    // Bob's agent answered with the exn it sent, from Bob to Alice, with the words.
    let sent = &seen["sent"];
    assert_eq!(sent["t"], "exn");
    assert_eq!(sent["i"], seen["bob"]);
    assert_eq!(sent["rp"], seen["alice"]);
    assert_eq!(sent["r"], "/challenge/response");
    assert_eq!(sent["a"]["words"], seen["words"]);
    // Alice's verification completed with that very message.
    assert_eq!(
        seen["verifying"]["name"],
        format!("challenge.{}", seen["bob"].as_str().unwrap())
    );
    assert_eq!(seen["verifying"]["metadata"]["words"], seen["words"]);
    assert_eq!(seen["verified"]["done"], true);
    assert_eq!(seen["verified"]["response"]["exn"], *sent);
    assert_eq!(seen["responded"], 202);
    assert_eq!(seen["exchange"]["exn"], *sent);
    assert_eq!(seen["exchange"]["pathed"], serde_json::json!({}));
    assert_eq!(seen["sentAtBob"]["exn"], *sent);
    authenticated(&seen["contacts"], &seen);
    // The IPEX-routed message reached Alice as a notification, and was marked read.
    let note = &seen["notes"]["notes"][0];
    assert_eq!(seen["notes"]["total"], 1, "{}", seen["notes"]);
    assert_eq!(note["a"]["r"], "/exn/ipex/grant");
    assert_eq!(note["a"]["d"], seen["grant"]["d"]);
    assert_eq!(note["a"]["m"], "hello");
    assert_eq!(note["r"], false);
    assert_eq!(seen["notesAfterMark"]["notes"][0]["r"], true);
    eprintln!(
        "challenge response: POST answered in {} ms, verified by Alice {} ms after it was posted",
        seen["respondMs"], seen["deliveredMs"]
    );
    seen
}

/// Checks that Alice's only contact is Bob, with the challenge he answered authenticated.
fn authenticated(contacts: &Value, seen: &Value) {
    let contact = &contacts[0];
    assert_eq!(contact["id"], seen["bob"]);
    let challenges = contact["challenges"].as_array().unwrap();
    assert_eq!(challenges.len(), 1, "{contact}");
    assert_eq!(challenges[0]["words"], seen["words"]);
    assert_eq!(challenges[0]["said"], seen["sent"]["d"]);
    assert_eq!(challenges[0]["dt"], seen["sent"]["dt"]);
    assert_eq!(challenges[0]["authenticated"], true);
}

/// Reconnects Alice: her contacts and notifications (deleted when `delete`).
fn challenged(keria: &Keria, delete: bool) -> Value {
    one(
        "challenged",
        keria.ports(),
        ALICE,
        &["--delete", if delete { "yes" } else { "no" }],
    )
}

#[test]
fn a_challenge_between_two_agents_of_one_agency_survives_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let seen = challenge(&keria, &keria);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_term = challenged(&keria, false);
    authenticated(&after_term["contacts"], &seen);
    assert_eq!(after_term["notes"]["notes"][0]["r"], true);
    keria.stop_with(Signal::KILL);

    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_kill = challenged(&keria, true);
    authenticated(&after_kill["contacts"], &seen);
    assert_eq!(after_kill["notes"]["total"], 1);
    assert_eq!(after_kill["notesAfterDelete"]["total"], 0);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_challenge_between_agents_of_two_keria_processes() {
    let mut alice = Start::new().start();
    let mut bob = Start::new().start();
    challenge(&alice, &bob);
    assert!(bob.wait_for_log("delivered to").is_some());
    assert_eq!(alice.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(bob.stop_with(Signal::TERM).code(), Some(0));
}
