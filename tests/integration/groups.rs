//! Multisig groups with signify-ts 0.4.0 (`tests/signify04/groups.mjs`): members of one keria
//! or of two incept a group whose inception waits for their signatures, is receipted by its
//! witnesses, and authorises its agents; refused inceptions change nothing; an inception
//! pending at a SIGKILL completes after the restart.

use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::witnesses::Witnesses;

/// Member `index` of a group test, as `groups.mjs` takes it: a controller of `keria`.
fn member(keria: &Keria, test: &str, index: usize) -> Value {
    let ports = keria.ports();
    json!({
        "admin": format!("http://127.0.0.1:{}", ports.admin),
        "boot": format!("http://127.0.0.1:{}", ports.boot),
        "http": format!("http://127.0.0.1:{}/", ports.http),
        "passcode": format!("{index}{test:.<12}-groups-0123456789"),
    })
}

/// Runs `groups.mjs` with `options`; asserts it succeeded and returns its JSON line.
fn groups(options: &Value, kerias: &[&Keria]) -> Value {
    let (ok, out) = crate::signify04::run("groups.mjs", &[&options.to_string()]);
    assert!(
        ok,
        "groups.mjs failed: {out}\n{}",
        kerias
            .iter()
            .map(|keria| keria.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    out
}

/// keria with the witnesses' OOBIs as its introductions, once it has resolved them.
fn introduced(witnesses: &Witnesses) -> Keria {
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

#[test]
fn a_two_of_three_group_incepts_is_receipted_by_its_witnesses_and_authorises_its_agents() {
    let witnesses = Witnesses::start(2);
    let mut keria = introduced(&witnesses);
    let wits: Vec<String> = witnesses.list().iter().map(|w| w.aid.clone()).collect();
    let members: Vec<Value> = (0..3)
        .map(|index| member(&keria, "witnessed", index))
        .collect();
    let out = groups(
        &json!({
            "members": members,
            "isith": 2, "nsith": 2, "wits": wits, "toad": 2,
            "steps": ["setup", "start", "join", "await", "members", "notes", "endrole"],
        }),
        &[&keria],
    );
    let prefix = out["prefix"].as_str().unwrap();
    // From the last member's signature (its POST) to every member's operation seen done.
    eprintln!(
        "group inception: last signature to done in {} ms",
        out["elapsedMs"]
    );
    for operation in out["operations"].as_array().unwrap() {
        assert_eq!(operation["name"], format!("group.{prefix}"), "{out}");
        assert_eq!(operation["done"], true, "{out}");
        assert_eq!(operation["response"]["i"], prefix, "{out}");
    }
    assert_eq!(out["state"]["kt"], "2", "{out}");
    assert_eq!(out["state"]["b"], json!(wits), "{out}");
    let signing: Vec<&Value> = out["members"]["signing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| &member["aid"])
        .collect();
    let aids: Vec<&Value> = out["aids"].as_array().unwrap().iter().collect();
    assert_eq!(signing, aids, "{out}");
    // Every member's agent end role is listed with the member.
    for member in out["members"]["signing"].as_array().unwrap() {
        assert_eq!(
            member["ends"]["agent"]
                .as_object()
                .map(serde_json::Map::len),
            Some(1),
            "{out}"
        );
    }
    // No note is left for an event a member had already approved.
    assert_eq!(out["notes"], json!([[], [], []]), "{out}");
    // The group authorised every member's agent, each role signed by two members.
    let mut eids: Vec<&str> = out["endroles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| role["eid"].as_str().unwrap())
        .collect();
    let mut agents: Vec<&str> = out["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| agent.as_str().unwrap())
        .collect();
    eids.sort_unstable();
    agents.sort_unstable();
    assert_eq!(eids, agents, "{out}");
    // The witnesses hold the inception.
    for witness in witnesses.list() {
        let served = crate::peers::http_get(witness.http_port, &format!("/oobi/{prefix}"))
            .expect("the witness answers");
        assert_eq!(
            served.status, 200,
            "witness {}: {}",
            witness.aid, served.body
        );
        assert!(
            served.body.contains(prefix),
            "witness {} does not serve {prefix}",
            witness.aid
        );
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}

#[test]
fn a_weighted_group_of_members_of_two_keria_processes_incepts() {
    let mut first = Start::new().start();
    let mut second = Start::new().start();
    let members = [
        member(&first, "weighted", 0),
        member(&first, "weighted", 1),
        member(&second, "weighted", 2),
    ];
    let weights = json!(["1/2", "1/2", "1/2"]);
    let out = groups(
        &json!({
            "members": members, "isith": weights, "nsith": weights,
            "steps": ["setup", "start", "join", "await"],
        }),
        &[&first, &second],
    );
    assert_eq!(out["state"]["kt"], weights, "{out}");
    assert_eq!(out["operations"].as_array().unwrap().len(), 3, "{out}");
    assert_eq!(first.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(second.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn refused_group_inceptions_and_a_replayed_multisig_exn_change_nothing() {
    let mut keria = Start::new().start();
    let members: Vec<Value> = (0..3)
        .map(|index| member(&keria, "refused", index))
        .collect();
    let out = groups(
        &json!({"members": members, "steps": ["setup", "bad"]}),
        &[&keria],
    );
    let bad = &out["bad"];
    for (case, reason) in [
        ("notLocal", "not a local AID"),
        ("keysWithoutMember", "keys"),
        ("duplicateMember", "duplicate member"),
        ("unmeetableThreshold", "does not fit"),
        ("nonMemberSignature", "signature"),
    ] {
        assert_eq!(bad[case]["status"], 400, "{case}: {out}");
        let text = bad[case]["reason"].as_str().unwrap_or_default();
        assert!(text.contains(reason), "{case}: {text}");
    }
    assert_eq!(bad["firstDelivery"]["status"], 204, "{out}");
    assert_eq!(bad["replayed"]["status"], 400, "{out}");
    assert!(
        bad["replayed"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("replayed"),
        "{out}"
    );
    // No group was made by any refused request.
    assert_eq!(bad["identifiers"], json!(["member"]), "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_group_inception_pending_at_sigkill_completes_after_the_restart() {
    let mut keria = Start::new().start();
    let members: Vec<Value> = (0..2)
        .map(|index| member(&keria, "sigkill", index))
        .collect();
    let out = groups(
        &json!({"members": members, "steps": ["setup", "start"]}),
        &[&keria],
    );
    assert_eq!(out["started"]["done"], false, "{out}");
    keria.signal(Signal::KILL);
    keria.wait_exit();
    let mut keria = Start::new().data_dir(&keria.data_dir.clone()).start();
    let members: Vec<Value> = (0..2)
        .map(|index| member(&keria, "sigkill", index))
        .collect();
    let out = groups(
        &json!({"members": members, "steps": ["join", "await", "notes"]}),
        &[&keria],
    );
    assert_eq!(out["operations"][0]["done"], true, "{out}");
    assert_eq!(out["operations"][1]["done"], true, "{out}");
    assert_eq!(out["notes"], json!([[], []]), "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
