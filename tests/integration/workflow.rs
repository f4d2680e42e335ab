//! A Signify user's whole story, driven by the real signify-ts (tests/signify/workflow.mjs):
//! identifiers, key events, ranges, renames, end roles, OOBIs resolved between two agents
//! (of one agency, and of two keria processes), contacts, key state, operations; and all of
//! it still there after SIGTERM and SIGKILL restarts.

use rustix::process::Signal;
use serde_json::Value;

use crate::harness::{Keria, Start};
use crate::signify::{alice_and_bob, one, ALICE};

/// Runs the story with Alice on `a` and Bob on `b`, and checks what both saw.
fn story(a: &Keria, b: &Keria) -> Value {
    let seen = alice_and_bob("story", a.ports(), b.ports());
    // Events: the interaction and both rotations were accepted in order.
    assert_eq!(seen["ixn"]["s"], "1");
    assert_eq!(seen["rot"]["s"], "2");
    assert_eq!(seen["randyRot"]["s"], "1");
    assert_eq!(seen["aid1State"]["s"], "2");
    assert_eq!(seen["aid1State"]["et"], "rot");
    assert_eq!(seen["aid1State"]["k"], seen["rot"]["k"]);
    // Ranges: one of two, then both, by name; salty parameters moved with the rotation.
    assert_eq!(seen["firstPage"]["total"], 2);
    assert_eq!(seen["firstPage"]["aids"].as_array().unwrap().len(), 1);
    assert_eq!(seen["all"]["aids"][0]["name"], "aid1");
    assert_eq!(seen["all"]["aids"][0]["salty"]["kidx"], 1);
    assert!(seen["all"]["aids"][1]["randy"]["prxs"].is_array());
    assert_eq!(seen["renamed"]["name"], "aid2-renamed");
    assert_eq!(seen["renamed"]["prefix"], seen["aid2"]);
    // OOBIs: each agent serves its identifier, the other resolves it and keeps a contact.
    let alice_oobi = seen["aliceOobis"]["oobis"][0].as_str().unwrap();
    assert!(alice_oobi.ends_with(&format!(
        "/oobi/{}/agent/{}",
        seen["aid1"].as_str().unwrap(),
        seen["aliceAgent"].as_str().unwrap()
    )));
    assert_eq!(seen["resolvedByAlice"]["i"], seen["bob"]);
    assert_eq!(seen["resolvedByBob"]["i"], seen["aid1"]);
    assert_eq!(seen["aliceContacts"][0]["id"], seen["bob"]);
    assert_eq!(seen["aliceContacts"][0]["alias"], "bob");
    let bob_agent = seen["bobAgent"].as_str().unwrap();
    assert!(seen["aliceContacts"][0]["ends"]["agent"][bob_agent]["http"].is_string());
    assert_eq!(seen["bobContacts"][0]["id"], seen["aid1"]);
    assert_eq!(seen["bobContacts"][0]["alias"], "alice");
    // Key state: what Bob holds of aid1 is what Alice's agent holds, rotation included.
    let at_bob = &seen["aid1StateAtBob"][0];
    for field in ["i", "s", "d", "p", "k", "n", "et", "ee"] {
        assert_eq!(at_bob[field], seen["aid1State"][field], "{field}");
    }
    assert_eq!(seen["bobStateAtAlice"][0]["i"], seen["bob"]);
    let events = seen["bobEventsAtAlice"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0]["atc"].as_str().unwrap().starts_with("-VA"));
    assert_eq!(seen["query"]["i"], seen["bob"]);
    // Operations: listed by name, deleted, gone.
    let names: Vec<&str> = seen["operationNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(names.contains(&format!("done.{}", seen["aid1"].as_str().unwrap()).as_str()));
    assert!(names.iter().any(|name| name.starts_with("oobi.")));
    assert!(names.iter().any(|name| name.starts_with("endrole.")));
    assert!(names.iter().any(|name| name.starts_with("query.")));
    assert_eq!(seen["operationsAfterDelete"], 0);
    assert_eq!(seen["agentPidx"], 2);
    seen
}

/// Reconnects Alice (no boot) and creates `name`: what she finds, and the new identifier.
fn again(keria: &Keria, name: &str) -> Value {
    one("again", keria.ports(), ALICE, &["--name", name])
}

fn names(list: &Value) -> Vec<String> {
    list["aids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|aid| aid["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_signify_users_whole_story_on_one_agency_survives_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let seen = story(&keria, &keria);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_term = again(&keria, "aid3");
    assert_eq!(after_term["agent"], seen["aliceAgent"]);
    assert_eq!(names(&after_term["before"]), ["aid1", "aid2-renamed"]);
    assert_eq!(after_term["before"]["aids"][0]["salty"]["kidx"], 1);
    // The next salty identifier takes the next path index: no key is derived twice.
    assert_eq!(after_term["createdDetail"]["salty"]["pidx"], 2);
    keria.stop_with(Signal::KILL);

    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_kill = again(&keria, "aid4");
    assert_eq!(
        names(&after_kill["before"]),
        ["aid1", "aid2-renamed", "aid3"]
    );
    assert_eq!(after_kill["createdDetail"]["salty"]["pidx"], 3);
    assert_ne!(after_kill["created"]["i"], after_term["created"]["i"]);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn agents_of_two_keria_processes_resolve_each_others_oobis() {
    let mut alice = Start::new().start();
    let mut bob = Start::new().start();
    let seen = story(&alice, &bob);
    assert!(seen["bobOobis"]["oobis"][0]
        .as_str()
        .unwrap()
        .contains(&format!(":{}/oobi/", bob.ports().http)));
    assert_eq!(alice.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(bob.stop_with(Signal::TERM).code(), Some(0));
}
