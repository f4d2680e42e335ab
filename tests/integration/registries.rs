//! Credential registries through the binary, signed as Signify signs them: forged registry
//! inceptions and anchoring events get a 400 with the reason and leave the issuer's key event
//! log and its registries as they were; the read routes of credentials and escrows answer;
//! and a registry made by the real signify-ts is listed again after SIGTERM and SIGKILL.

use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::primitives::Signer;
use keria::keri::tel::{self, Vcp};
use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::identifiers::{kel_length, refused, sig, with_identifier, Controller};
use crate::signify::one;

const PATH: &str = "/identifiers/aid/registries";

/// A registry inception by `issuer` with a fresh nonce.
fn vcp(issuer: &str) -> Vcp {
    tel::incept(issuer, &Signer::random().unwrap().verfer().qb64())
}

/// The body Signify sends: the registry's name, its inception and the anchoring `ixn`.
fn body(name: &str, vcp: &Value, ixn: &Event, signer: &Signer) -> Value {
    json!({"name": name, "vcp": vcp, "ixn": ixn.value(), "sigs": [sig(ixn, signer)]})
}

fn registries(keria: &Keria, alice: &Controller) -> Value {
    let response = alice.send(keria, "GET", PATH, None);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

#[test]
fn forged_registry_inceptions_are_refused_and_nothing_is_kept() {
    let (mut keria, alice, [k0, _, k2], icp) = with_identifier();
    let aid = icp.prefix().to_owned();
    let reg = vcp(&aid);
    let anchored = build::interact(&aid, 1, icp.said(), vec![reg.seal()]);
    let unanchored = build::interact(&aid, 1, icp.said(), Vec::new());
    let mut wrong_said = reg.value().clone();
    wrong_said["n"] = json!(Signer::random().unwrap().verfer().qb64());
    let foreign = vcp(&alice.aid);
    let anchors_foreign = build::interact(&aid, 1, icp.said(), vec![foreign.seal()]);
    for (body, reason) in [
        (
            body("reg", reg.value(), &unanchored, &k0),
            "does not anchor the vcp",
        ),
        (body("reg", reg.value(), &anchored, &k2), "signatures"),
        (body("reg", &wrong_said, &anchored, &k0), "SAID mismatch"),
        (
            body("reg", foreign.value(), &anchors_foreign, &k0),
            "issuer ii",
        ),
        (body("", reg.value(), &anchored, &k0), "registry's name"),
        (
            json!({"name": "reg", "ixn": anchored.value(), "sigs": [sig(&anchored, &k0)]}),
            "'vcp' missing",
        ),
        (
            json!({"name": "reg", "vcp": reg.value(), "sigs": [sig(&anchored, &k0)]}),
            "ixn or a rot",
        ),
    ] {
        refused(&alice.send(&keria, "POST", PATH, Some(&body)), reason);
        assert_eq!(kel_length(&keria, &alice, &aid), 1, "after {body}");
        assert_eq!(registries(&keria, &alice), json!([]), "after {body}");
    }
    let good = body("reg", reg.value(), &anchored, &k0);
    let elsewhere = alice.send(
        &keria,
        "POST",
        "/identifiers/nobody/registries",
        Some(&good),
    );
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);

    assert_eq!(kel_length(&keria, &alice, &aid), 1);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_registry_is_anchored_listed_and_its_name_used_once() {
    let (mut keria, alice, [k0, _, _], icp) = with_identifier();
    let aid = icp.prefix().to_owned();
    let reg = vcp(&aid);
    let anchored = build::interact(&aid, 1, icp.said(), vec![reg.seal()]);
    let good = body("reg", reg.value(), &anchored, &k0);
    let response = alice.send(&keria, "POST", PATH, Some(&good));
    assert_eq!(response.status, 202, "{}", response.body);
    let anchor = json!({"i": reg.regk(), "s": "0", "d": reg.regk()});
    let depends = json!({
        "name": format!("done.{}", anchored.said()),
        "metadata": {"response": anchored.value()},
        "response": anchored.value(),
        "done": true,
    });
    assert_eq!(
        response.json(),
        json!({
            "name": format!("registry.{}", reg.regk()),
            "metadata": {"pre": aid, "anchor": anchor, "depends": depends},
            "response": {"anchor": anchor},
            "done": true,
        })
    );
    assert_eq!(kel_length(&keria, &alice, &aid), 2);
    let operation = alice.send(
        &keria,
        "GET",
        &format!("/operations/done.{}", anchored.said()),
        None,
    );
    assert_eq!(operation.json(), depends);

    // The same request again, and another registry under the same name: refused, unchanged.
    refused(
        &alice.send(&keria, "POST", PATH, Some(&good)),
        "already in use",
    );
    let again = vcp(&aid);
    let next = build::interact(&aid, 2, anchored.said(), vec![again.seal()]);
    refused(
        &alice.send(
            &keria,
            "POST",
            PATH,
            Some(&body("reg", again.value(), &next, &k0)),
        ),
        "registry name reg already in use",
    );
    assert_eq!(kel_length(&keria, &alice, &aid), 2);
    let listed = registries(&keria, &alice);
    let state = &listed[0]["state"];
    assert_eq!(
        listed,
        json!([{
            "name": "reg",
            "regk": reg.regk(),
            "pre": aid,
            "state": {
                "vn": [1, 0], "i": reg.regk(), "s": "0", "d": reg.regk(), "ii": aid,
                "dt": state["dt"], "et": "vcp", "bt": "0", "b": [], "c": ["NB"],
            },
        }])
    );
    assert!(state["dt"].as_str().unwrap().ends_with("+00:00"), "{state}");
    // The identifier's prefix names it too; another controller sees nothing.
    let by_prefix = alice.send(
        &keria,
        "GET",
        &format!("/identifiers/{aid}/registries"),
        None,
    );
    assert_eq!(by_prefix.json(), listed);
    let bob = Controller::boot(&keria);
    assert_eq!(bob.send(&keria, "GET", PATH, None).status, 404);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn schemas_and_reply_escrows_are_empty_lists() {
    let (mut keria, alice, _, _) = with_identifier();
    for target in [
        "/schema",
        "/escrows/rpy?route=%2Fend%2Frole",
        "/escrows/rpy",
    ] {
        let response = alice.send(&keria, "GET", target, None);
        assert_eq!(response.status, 200, "{target}: {}", response.body);
        assert_eq!(response.body, "[]", "{target}");
    }
    let post = alice.send(&keria, "POST", "/schema", Some(&json!({})));
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, OPTIONS"));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_signify_registry_is_listed_again_after_sigterm_and_sigkill() {
    const PASSCODE: &str = "issuer-passcode-012345";
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let seen = one(
        "registry",
        keria.ports(),
        PASSCODE,
        &["--name", "issuer", "--registry", "vLEI"],
    );
    let (regk, issuer) = (&seen["vcp"]["i"], &seen["aid"]["i"]);
    let operation = &seen["operation"];
    assert_eq!(
        operation["name"],
        format!("registry.{}", regk.as_str().unwrap())
    );
    assert_eq!(operation["done"], true);
    assert_eq!(operation["metadata"]["pre"], *issuer);
    assert_eq!(
        operation["metadata"]["depends"]["name"],
        format!("done.{}", seen["ixn"]["d"].as_str().unwrap())
    );
    assert_eq!(seen["waited"], *operation);
    assert_eq!(seen["depends"]["response"], seen["ixn"]);
    assert_eq!(seen["state"]["s"], "1");
    assert_eq!(seen["state"]["d"], seen["ixn"]["d"]);
    let listed = &seen["registries"];
    assert_eq!(
        listed,
        &json!([{
            "name": "vLEI",
            "regk": regk,
            "pre": issuer,
            "state": {
                "vn": [1, 0], "i": regk, "s": "0", "d": regk, "ii": issuer,
                "dt": listed[0]["state"]["dt"], "et": "vcp", "bt": "0", "b": [], "c": ["NB"],
            },
        }])
    );
    assert_eq!(seen["schemas"], json!([]));
    assert_eq!(seen["escrows"], json!([]));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let again = |keria: &Keria| one("registries", keria.ports(), PASSCODE, &["--name", "issuer"]);
    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_term = again(&keria);
    assert_eq!(after_term["registries"], *listed);
    assert_eq!(after_term["state"], seen["state"]);
    keria.stop_with(Signal::KILL);

    let mut keria = Start::new().data_dir(dir.path()).start();
    let after_kill = again(&keria);
    assert_eq!(after_kill["registries"], *listed);
    assert_eq!(after_kill["state"], seen["state"]);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
