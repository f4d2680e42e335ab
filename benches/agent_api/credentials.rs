//! Credential benchmarks: an issuance from `POST /identifiers/{name}/credentials` to its
//! done operation (without witnesses, and against `KERIA_BENCH_WITNESSES` beside the
//! witnesses' own round trip); a grant to admitted between two agents of one agency; and
//! `POST /credentials/query` with 10,000 stored credentials (100 issuers of 100 each), a
//! schema-and-issuer filter, limit 25.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use keria::keri::acdc::{self, Acdc};
use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::primitives::{Salt, Signer};
use keria::keri::tel;
use keria::keri::tel_vc;
use serde_json::{json, Map, Value};

use super::common::{ms, percentile, Agency};
use super::{create_body, direct_round_trip, next_digest, print, Client, WITNESS_QUIET};

const QVI: &str = "EBfdlu8R27Fbx-ehrqwImnK-8Cm79sqbAQ4MmvEAYqao";
const DT: &str = "2026-12-04T10:00:00.000000+00:00";

/// Serves the QVI schema at `/oobi/{QVI}` on a free port, for as long as the process runs.
fn schema_server() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/vlei/schema/acdc/qualified-vLEI-issuer-vLEI-credential.json"
    );
    let schema = std::fs::read(path).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/schema+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                schema.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&schema);
        }
    });
    format!("http://127.0.0.1:{port}/oobi/{QVI}")
}

/// An issuer: its name, key, KEL tip and registry.
struct Issuer {
    name: String,
    prefix: String,
    key: Signer,
    sn: u64,
    tip: String,
    regk: String,
}

impl Issuer {
    /// The next interaction, anchoring `seal`, signed; the body fields `ixn` and `sigs`.
    fn anchor(&mut self, seal: keria::keri::seal::Seal) -> (Event, Value) {
        self.sn += 1;
        let ixn = build::interact(&self.prefix, self.sn, &self.tip, vec![seal]);
        ixn.said().clone_into(&mut self.tip);
        let sigs = json!([self.key.sign_indexed(ixn.raw(), 0).qb64()]);
        (ixn, sigs)
    }
}

/// A new unwitnessed identifier `name` of `client` with a registry.
fn issuer(client: &mut Client, agency: &Agency, name: &str) -> Issuer {
    let (icp, key, _) = client.identifier(agency, name);
    let mut issuer = Issuer {
        name: name.to_owned(),
        prefix: icp.prefix().to_owned(),
        key,
        sn: 0,
        tip: icp.said().to_owned(),
        regk: String::new(),
    };
    registry(client, &mut issuer, false);
    issuer
}

/// Incepts `issuer`'s registry; waits for its operation when `witnessed`.
fn registry(client: &mut Client, issuer: &mut Issuer, witnessed: bool) {
    let nonce = Salt::new(rand_bytes()).qb64().to_string();
    let vcp = tel::incept(&issuer.prefix, &nonce);
    let (ixn, sigs) = issuer.anchor(vcp.seal());
    let body = json!({"name": "registry", "vcp": vcp.value(), "ixn": ixn.value(), "sigs": sigs});
    let raw = client.prepare(
        "POST",
        &format!("/identifiers/{}/registries", issuer.name),
        Some(&body),
    );
    let (status, answer, _) = client.send(&raw);
    assert_eq!(status, 202, "{answer}");
    vcp.regk().clone_into(&mut issuer.regk);
    if witnessed {
        wait(client, &format!("registry.{}", vcp.regk()));
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut raw = [0_u8; 16];
    getrandom::getrandom(&mut raw).unwrap();
    raw
}

/// A credential ready to be issued: the ACDC, its `iss`, the anchoring `ixn`, and the signed
/// issuance request.
struct Issuance {
    credential: Acdc,
    iss: tel_vc::TelEvent,
    anc: Event,
    raw: String,
}

/// A QVI credential by `issuer` to `holder`, with its signed issuance request prepared.
fn issuance(client: &Client, issuer: &mut Issuer, holder: &str, lei: &str) -> Issuance {
    let mut attributes = Map::new();
    attributes.insert("i".into(), holder.into());
    attributes.insert("dt".into(), DT.into());
    attributes.insert("LEI".into(), lei.into());
    let credential = acdc::build(&issuer.prefix, &issuer.regk, QVI, &attributes);
    let iss = tel_vc::issue(credential.said(), &issuer.regk, DT);
    let (ixn, sigs) = issuer.anchor(iss.seal());
    let body =
        json!({"acdc": credential.value(), "iss": iss.value(), "ixn": ixn.value(), "sigs": sigs});
    let raw = client.prepare(
        "POST",
        &format!("/identifiers/{}/credentials", issuer.name),
        Some(&body),
    );
    Issuance {
        credential,
        iss,
        anc: ixn,
        raw,
    }
}

/// Polls operation `name` until it is done, without error.
fn wait(client: &mut Client, name: &str) {
    let poll = client.prepare("GET", &format!("/operations/{name}"), None);
    loop {
        let (status, answer, _) = client.send(&poll);
        assert_eq!(status, 200, "{answer}");
        let operation: Value = serde_json::from_str(&answer).unwrap();
        if operation["done"] == true {
            assert!(operation.get("error").is_none(), "{operation}");
            return;
        }
    }
}

/// The credential benchmarks.
pub(super) fn credentials(issuers: usize, per_issuer: usize, queries: usize) {
    let schema = schema_server();
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut client = Client::boot(&agency);
    client.resolve(&schema);
    let (holder_icp, _, _) = client.identifier(&agency, "holder");

    let mut latencies = Vec::with_capacity(issuers * per_issuer);
    let mut all = Vec::with_capacity(issuers);
    for index in 0..issuers {
        let mut issuer = issuer(&mut client, &agency, &format!("issuer{index}"));
        for run in 0..per_issuer {
            let prepared = issuance(
                &client,
                &mut issuer,
                holder_icp.prefix(),
                &format!("LEI{index:04}{run:06}"),
            );
            let (status, answer, took) = client.send(&prepared.raw);
            assert_eq!(status, 200, "{answer}");
            assert!(answer.contains("\"done\": true"), "{answer}");
            latencies.push(took);
        }
        all.push(issuer);
    }
    print(
        &format!(
            "credential issue without witnesses, POST to done ({} credentials)",
            latencies.len()
        ),
        &mut latencies,
    );

    let mut answers = Vec::with_capacity(queries);
    for run in 0..queries {
        let issuer = &all[run % all.len()];
        let body = json!({"filter": {"-s": QVI, "-i": issuer.prefix}, "limit": 25});
        let raw = client.prepare("POST", "/credentials/query", Some(&body));
        let (status, answer, took) = client.send(&raw);
        assert_eq!(status, 200, "{answer}");
        let found: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(found.as_array().unwrap().len(), 25.min(per_issuer));
        answers.push(took);
    }
    print(
        &format!(
            "POST /credentials/query, schema and issuer, limit 25, {} credentials stored",
            issuers * per_issuer
        ),
        &mut answers,
    );
    grant_to_admitted(&agency, &mut client, &schema, 21);
    witnessed_issue(&schema, 20);
    agency.stop();
}

/// `runs` grants from one agent to another of the same agency, each until admitted: the grant
/// POST and the admit POST, both prepared before the clock starts.
fn grant_to_admitted(agency: &Agency, issuing: &mut Client, schema: &str, runs: usize) {
    let mut holding = Client::boot(agency);
    holding.resolve(schema);
    let (holder_icp, holder_key, holder_url) = holding.identifier(agency, "holder");
    let mut issuer = issuer(issuing, agency, "granter");
    let issuer_url = format!(
        "http://127.0.0.1:{}/oobi/{}/agent/{}",
        agency.http, issuer.prefix, issuing.agent
    );
    issuing.resolve(&holder_url);
    holding.resolve(&issuer_url);
    let mut latencies = Vec::with_capacity(runs);
    for run in 0..runs {
        let Issuance {
            credential,
            iss,
            anc,
            raw,
        } = issuance(
            issuing,
            &mut issuer,
            holder_icp.prefix(),
            &format!("GRANT{run:015}"),
        );
        let (status, answer, _) = issuing.send(&raw);
        assert_eq!(status, 200, "{answer}");
        let mut payload = Map::new();
        payload.insert("m".into(), "".into());
        let grant = acdc::ipex_message(
            (&issuer.prefix, holder_icp.prefix()),
            ("/ipex/grant", ""),
            &payload,
            &[
                ("acdc", credential.value()),
                ("iss", iss.value()),
                ("anc", anc.value()),
            ],
            DT,
        )
        .unwrap();
        let grant_body = json!({"exn": grant.value(), "sigs": [issuer.key.sign_indexed(grant.raw(), 0).qb64()], "atc": "", "rec": [holder_icp.prefix()]});
        let admit = acdc::ipex_message(
            (holder_icp.prefix(), &issuer.prefix),
            ("/ipex/admit", grant.said()),
            &payload,
            &[],
            DT,
        )
        .unwrap();
        let admit_body = json!({"exn": admit.value(), "sigs": [holder_key.sign_indexed(admit.raw(), 0).qb64()], "atc": "", "rec": [issuer.prefix]});
        let grant_raw = issuing.prepare(
            "POST",
            &format!("/identifiers/{}/ipex/grant", issuer.name),
            Some(&grant_body),
        );
        let admit_raw =
            holding.prepare("POST", "/identifiers/holder/ipex/admit", Some(&admit_body));
        let started = Instant::now();
        let (status, answer, _) = issuing.send(&grant_raw);
        assert_eq!(status, 200, "{answer}");
        let (status, answer, _) = holding.send(&admit_raw);
        assert_eq!(status, 200, "{answer}");
        latencies.push(started.elapsed());
    }
    print(
        "IPEX grant to admitted, two agents of one agency (grant POST + admit POST)",
        &mut latencies,
    );
}

/// Witnessed issuances against `KERIA_BENCH_WITNESSES`, POST to done, beside the slowest
/// witness's own round trip.
fn witnessed_issue(schema: &str, runs: usize) {
    let Ok(oobis) = std::env::var("KERIA_BENCH_WITNESSES") else {
        println!("credential issue with witnesses: skipped (KERIA_BENCH_WITNESSES lists no witness OOBIs)");
        return;
    };
    let oobis: Vec<String> = oobis.split(';').map(ToOwned::to_owned).collect();
    let witnesses: Vec<(String, u16)> = oobis
        .iter()
        .map(|oobi| {
            let url = url::Url::parse(oobi).unwrap();
            (
                url.path_segments().unwrap().nth(1).unwrap().to_owned(),
                url.port().unwrap(),
            )
        })
        .collect();
    let wits: Vec<String> = witnesses.iter().map(|(aid, _)| aid.clone()).collect();
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut client = Client::boot(&agency);
    for oobi in &oobis {
        client.resolve(oobi);
    }
    client.resolve(schema);
    let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept_witnessed(
        &[key.verfer()],
        &[next_digest(&next)],
        &wits,
        wits.len() as u64,
    );
    let raw = client.prepare(
        "POST",
        "/identifiers",
        Some(&create_body("witnessed", &icp, &key)),
    );
    assert_eq!(client.send(&raw).0, 202);
    wait(&mut client, &format!("witness.{}", icp.prefix()));
    let mut issuer = Issuer {
        name: "witnessed".into(),
        prefix: icp.prefix().to_owned(),
        key,
        sn: 0,
        tip: icp.said().to_owned(),
        regk: String::new(),
    };
    registry(&mut client, &mut issuer, true);
    let mut through: Vec<Duration> = Vec::with_capacity(runs);
    for run in 0..runs {
        std::thread::sleep(WITNESS_QUIET);
        let prepared = issuance(&client, &mut issuer, icp.prefix(), &format!("WIT{run:017}"));
        let poll = client.prepare(
            "GET",
            &format!("/operations/credential.{}", prepared.credential.said()),
            None,
        );
        let started = Instant::now();
        let (status, answer, _) = client.send(&prepared.raw);
        assert_eq!(status, 200, "{answer}");
        loop {
            let (_, answer, _) = client.send(&poll);
            let operation: Value = serde_json::from_str(&answer).unwrap();
            if operation["done"] == true {
                assert!(operation.get("error").is_none(), "{operation}");
                break;
            }
        }
        through.push(started.elapsed());
    }
    let mut direct: Vec<_> = (0..runs)
        .map(|_| direct_round_trip(&witnesses, &wits))
        .collect();
    let (direct_p50, through_p50) = (percentile(&mut direct, 0.5), percentile(&mut through, 0.5));
    println!(
        "credential issue with {} witnesses (threshold all), {runs} runs: the slowest witness's own \
         round trip p50 {}; POST to done p50 {}, p99 {}; difference at p50 {}",
        wits.len(),
        ms(direct_p50),
        ms(through_p50),
        ms(percentile(&mut through, 0.99)),
        ms(through_p50.saturating_sub(direct_p50))
    );
    agency.stop();
}
