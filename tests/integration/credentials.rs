//! Credentials and IPEX, single-sig, through the binary with signify-ts 0.4.0, real keri
//! witnesses and the vLEI schema server: a registry renamed, a QVI credential issued (its
//! anchoring event receipted), queried with every filter form and paged, granted and
//! admitted, a chained LE credential issued from it and admitted by a third controller who
//! never met the issuer, the QVI revoked; every bad input refused with its reason and nothing
//! stored; and an issuance cut short by SIGKILL completed after the restart.

use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::vlei::{VleiServer, QVI_SCHEMA};
use crate::witnesses::Witnesses;

const LE_SCHEMA: &str = "ENPXp1vQzRF6JwIuS-mp2U8Uf1MoADoP_GqQ62VsDZWY";

/// keria introduced to `witnesses`, once it has resolved their OOBIs.
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

/// Runs `credentials.mjs` against `keria` with `options` added to the witnesses and schemas.
fn run(keria: &Keria, witnesses: &Witnesses, vlei: &VleiServer, extra: &Value) -> (bool, Value) {
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let wits: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    let mut options = json!({
        "wits": wits,
        "toad": wits.len(),
        "qvi": vlei.oobi_url(QVI_SCHEMA),
        "le": vlei.oobi_url(LE_SCHEMA),
    });
    for (key, value) in extra.as_object().unwrap() {
        options[key] = value.clone();
    }
    crate::signify04::run("credentials.mjs", &[&admin, &boot, &options.to_string()])
}

fn assert_refused(out: &Value, name: &str, status: u64, reason: &str) {
    let refusal = &out["refusals"][name];
    assert_eq!(refusal["status"], status, "{name}: {refusal}");
    assert!(
        refusal["reason"]
            .as_str()
            .unwrap_or_default()
            .contains(reason),
        "{name}: {refusal}"
    );
    if refusal.get("unchanged").is_some() {
        assert_eq!(
            refusal["unchanged"], true,
            "{name} changed the KEL: {refusal}"
        );
    }
}

#[test]
fn credentials_are_issued_granted_admitted_chained_queried_and_revoked() {
    let witnesses = Witnesses::start(2);
    let vlei = VleiServer::start();
    let mut keria = introduced(&witnesses, Start::new());
    let (ok, out) = run(&keria, &witnesses, &vlei, &json!({}));
    assert!(ok, "{out}\n{}", keria.log());
    eprintln!("timings (ms): {}", out["timings"]);
    assert_eq!(out["registries"], json!(["reg-1"]), "{out}");
    assert_eq!(out["registry"]["name"], "reg-1", "{out}");
    let queries = &out["queries"];
    for filter in ["issuer", "schema", "issuee", "all", "begins", "eq"] {
        assert_eq!(queries[filter], 1, "{filter}: {out}");
    }
    assert_eq!(queries["none"], 0, "{out}");
    assert_eq!(out["contentRange"], "credentials 0-0/25", "{out}");
    assert_eq!(out["cesrEndsWithAcdc"], true, "{out}");
    assert_eq!(out["state"]["et"], "iss", "{out}");
    assert_eq!(out["state"]["i"], out["qvi"], "{out}");
    assert_eq!(
        out["held"],
        json!({"s": QVI_SCHEMA, "status": "0"}),
        "{out}"
    );
    assert_eq!(out["chain"], json!([out["qvi"]]), "{out}");
    assert_eq!(out["revoked"], "1", "{out}");
    assert_eq!(out["holderAfterDelete"], 1, "{out}");

    assert_refused(&out, "said", 400, "SAID");
    assert_refused(&out, "schema", 400, "does not fit schema");
    assert_refused(&out, "unknownSchema", 400, "is not held");
    assert_refused(&out, "registry", 404, "invalid registry");
    assert_refused(&out, "unanchored", 400, "does not anchor the iss");
    assert_refused(&out, "edge", 400, "is not held");
    assert_refused(&out, "operator", 400, "filter operator");
    assert_refused(&out, "admit", 400, "admit an invalid grant");
    assert_refused(&out, "grant", 400, "e.anc");
    assert_refused(&out, "revokedSource", 400, "is revoked");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}

#[test]
fn an_issuance_cut_short_by_sigkill_completes_after_the_restart() {
    let witnesses = Witnesses::start(1);
    let vlei = VleiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let start = || Start::new().data_dir(dir.path());
    let mut keria = introduced(&witnesses, start());
    let (ok, out) = run(
        &keria,
        &witnesses,
        &vlei,
        &json!({"stop": "after-issue-posted", "prefix": "credentials-kill-01234"}),
    );
    assert!(ok, "{out}\n{}", keria.log());
    keria.signal(Signal::KILL);
    keria.wait_exit();
    let keria = introduced(&witnesses, start().ports(keria.ports()));
    // The same controllers connect again and wait on the operation the POST answered.
    let name = out["operation"]["name"].as_str().unwrap();
    assert_eq!(
        name,
        format!("credential.{}", out["said"].as_str().unwrap())
    );
    let ports = keria.ports();
    let (ok, waited) = crate::signify04::run(
        "operation.mjs",
        &[
            &format!("http://127.0.0.1:{}", ports.admin),
            &format!("http://127.0.0.1:{}", ports.boot),
            "credentials-kill-01234i",
            name,
        ],
    );
    assert!(ok, "{waited}\n{}", keria.log());
    assert_eq!(waited["operation"]["done"], true, "{waited}");
    assert!(waited["operation"].get("error").is_none(), "{waited}");
    assert_eq!(waited["credential"]["status"]["et"], "iss", "{waited}");
    witnesses.stop();
}
