//! `cargo bench --bench agent_api`: the Signify agent API on the release binary, as a client
//! sees it over loopback (so each figure bounds the server's own time from above).
//!
//! `POST /identifiers` and `POST /identifiers/{name}/events` latency, signed
//! `GET /identifiers/{name}` with 100 identifiers, and an OOBI resolution between two agents
//! of one agency (from `POST /oobis` to its operation done); an `exn` sent between two agents
//! of one agency (delivered and verified when its answer comes), and the http port's intake
//! of verified `exn` messages; the signed reads of contacts, filtered operations, OOBIs by alias
//! and location schemes; a controller's passcode rotation (`PUT /agent/{caid}`) that
//! re-encrypts 100 identifiers' parameters; a delegator's approval of a delegated inception,
//! from its anchoring `ixn` to the delegate's operation done; credentials
//! (`agent_api/credentials.rs`).

#![allow(
    clippy::cast_precision_loss,
    reason = "figures for people, a few digits are plenty"
)]

mod common;
#[path = "agent_api/credentials.rs"]
mod credentials;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use keria::keri::build;
use keria::keri::event::Event;
use keria::keri::exchange::{exchange, Exchange};
use keria::keri::primitives::{Diger, Signer};
use keria::keri::reply;
use keria::keri::seal::Seal;
use keria::keri::stream::{self, Attachments, SignatureGroup};
use keria::signify::httpsig;
use keria::signify::passcode::{inception_from_keys, Tier};
use serde_json::{json, Value};

use common::{ms, percentile, request, request_bytes, Agency};

/// Identifiers created, and interactions made, per figure.
const COUNT: usize = 100;

fn main() {
    let filter = std::env::args().nth(1).filter(|arg| !arg.starts_with('-'));
    let wants = |name: &str| filter.as_deref().is_none_or(|filter| name.contains(filter));
    println!("keria {} agent API benchmarks", env!("CARGO_PKG_VERSION"));
    if wants("identifiers") {
        identifiers();
    }
    if wants("oobi") {
        oobi_resolution(21);
    }
    if wants("exchanges") {
        exchanges(200, 6400);
    }
    if wants("routes") {
        routes(200);
    }
    if wants("rotation") {
        controller_rotation(21);
    }
    if wants("witnessed") {
        witnessed(20, 100);
    }
    if wants("delegation") {
        delegation(21, false);
        delegation(21, true);
    }
    if wants("credentials") {
        credentials::credentials(100, 100, 200);
    }
}

/// A booted controller and a keep-alive connection to its agent.
struct Client {
    aid: String,
    agent: String,
    signer: Signer,
    /// SAID of the approval, the controller's latest event.
    approval: String,
    stream: TcpStream,
}

impl Client {
    fn boot(agency: &Agency) -> Self {
        Self::boot_with(
            agency,
            Signer::random().unwrap(),
            &Signer::random().unwrap(),
        )
    }

    /// Boots a controller whose current key is `signer` and next key `next`.
    fn boot_with(agency: &Agency, signer: Signer, next: &Signer) -> Self {
        let (icp, sig) = inception_from_keys(&signer, next);
        let body = keria::commands::boot::boot_body(&icp, &sig, Tier::Low);
        let mut boot = TcpStream::connect(("127.0.0.1", agency.boot)).unwrap();
        let raw = format!(
            "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, answer) = request(&mut boot, &raw);
        assert_eq!(status, 202, "{answer}");
        let agent = serde_json::from_str::<Value>(&answer).unwrap()["i"]
            .as_str()
            .unwrap()
            .to_owned();
        // Approve the agent's delegation, as Signify's connect does.
        let ixn = build::interact(
            icp.prefix(),
            1,
            icp.said(),
            vec![Seal::event(&agent, 0, &agent)],
        );
        let body = json!({"ixn": ixn.value(), "sigs": [signer.sign_indexed(ixn.raw(), 0).qb64()]})
            .to_string();
        let mut admin = TcpStream::connect(("127.0.0.1", agency.admin)).unwrap();
        let raw = format!(
            "PUT /agent/{}?type=ixn HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            icp.prefix(),
            body.len()
        );
        assert_eq!(request(&mut admin, &raw).0, 204);
        let stream = TcpStream::connect(("127.0.0.1", agency.admin)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            aid: icp.prefix().to_owned(),
            agent,
            signer,
            approval: ixn.said().to_owned(),
            stream,
        }
    }

    /// A signed request, prepared before the clock starts.
    fn prepare(&self, method: &str, target: &str, body: Option<&Value>) -> String {
        let path = target.split('?').next().unwrap();
        let headers = httpsig::request_headers(
            &self.aid,
            &self.signer,
            method,
            path,
            time::OffsetDateTime::now_utc(),
        );
        let extra: String = headers
            .iter()
            .map(|(name, value)| [name, ": ", value.as_str(), "\r\n"].concat())
            .collect();
        let body = body.map(Value::to_string).unwrap_or_default();
        format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// Sends a prepared request: (status, body, latency).
    fn send(&mut self, raw: &str) -> (u16, String, Duration) {
        let sent = Instant::now();
        let (status, body) = request(&mut self.stream, raw);
        (status, body, sent.elapsed())
    }
}

impl Client {
    /// Creates identifier `name` with this agent as its end role; (inception, key, OOBI URL).
    fn identifier(&mut self, agency: &Agency, name: &str) -> (Event, Signer, String) {
        let (icp, key) = inception();
        let raw = self.prepare("POST", "/identifiers", Some(&create_body(name, &icp, &key)));
        assert_eq!(self.send(&raw).0, 202);
        let role = reply::end_role_add(
            icp.prefix(),
            "agent",
            &self.agent,
            "2026-11-24T21:59:12.366000+00:00",
        );
        let body = json!({"rpy": role.value(), "sigs": [key.sign_indexed(role.raw(), 0).qb64()]});
        let raw = self.prepare(
            "POST",
            &format!("/identifiers/{name}/endroles"),
            Some(&body),
        );
        assert_eq!(self.send(&raw).0, 202);
        let url = format!(
            "http://127.0.0.1:{}/oobi/{}/agent/{}",
            agency.http,
            icp.prefix(),
            self.agent
        );
        (icp, key, url)
    }

    /// Resolves `url` and waits for its operation, polling as fast as the connection answers.
    fn resolve(&mut self, url: &str) {
        let start = self.prepare(
            "POST",
            "/oobis",
            Some(&json!({"url": url, "oobialias": "them"})),
        );
        let (status, answer, _) = self.send(&start);
        assert_eq!(status, 202, "{answer}");
        let name = serde_json::from_str::<Value>(&answer).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let poll = self.prepare("GET", &format!("/operations/{name}"), None);
        loop {
            let (status, answer, _) = self.send(&poll);
            assert_eq!(status, 200, "{answer}");
            let operation: Value = serde_json::from_str(&answer).unwrap();
            if operation["done"] == true {
                assert!(operation.get("error").is_none(), "{operation}");
                return;
            }
        }
    }
}

fn next_digest(signer: &Signer) -> Diger {
    Diger::blake3(signer.verfer().qb64().as_bytes())
}

/// A signed inception of a fresh identifier: (its event, its key).
fn inception() -> (Event, Signer) {
    let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
    (build::incept(&[key.verfer()], &[next_digest(&next)]), key)
}

fn create_body(name: &str, icp: &Event, key: &Signer) -> Value {
    json!({
        "name": name,
        "icp": icp.value(),
        "sigs": [key.sign_indexed(icp.raw(), 0).qb64()],
        "salty": {"sxlt": "1AAHsealed", "pidx": 0, "kidx": 0, "stem": "signify:aid", "tier": "low",
                  "icodes": ["A"], "ncodes": ["A"], "dcode": "E", "transferable": true},
    })
}

fn print(what: &str, latencies: &mut [Duration]) {
    println!(
        "{what}: p50 {}, p99 {}",
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.99))
    );
}

fn identifiers() {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut client = Client::boot(&agency);
    let prepared: Vec<(String, Event, Signer)> = (0..COUNT)
        .map(|index| {
            let (icp, key) = inception();
            let raw = client.prepare(
                "POST",
                "/identifiers",
                Some(&create_body(&format!("aid{index}"), &icp, &key)),
            );
            (raw, icp, key)
        })
        .collect();
    let mut created = Vec::new();
    for (raw, _, _) in &prepared {
        let (status, body, latency) = client.send(raw);
        assert_eq!(status, 202, "{body}");
        created.push(latency);
    }
    print(
        &format!("POST /identifiers ({COUNT} sequential)"),
        &mut created,
    );

    let (_, icp, key) = &prepared[0];
    let mut prior = icp.said().to_owned();
    let mut interactions = Vec::new();
    for sn in 1..=COUNT as u64 {
        let ixn = build::interact(icp.prefix(), sn, &prior, Vec::new());
        let body = json!({"ixn": ixn.value(), "sigs": [key.sign_indexed(ixn.raw(), 0).qb64()]});
        let raw = client.prepare("POST", "/identifiers/aid0/events", Some(&body));
        let (status, answer, latency) = client.send(&raw);
        assert_eq!(status, 200, "{answer}");
        interactions.push(latency);
        ixn.said().clone_into(&mut prior);
    }
    print(
        &format!(
            "POST /identifiers/{{name}}/events, ixn ({COUNT} sequential, KEL growing to {})",
            COUNT + 1
        ),
        &mut interactions,
    );

    let gets: Vec<String> = (0..2000)
        .map(|index| {
            client.prepare(
                "GET",
                &format!("/identifiers/aid{}", 1 + index % (COUNT - 1)),
                None,
            )
        })
        .collect();
    let mut reads: Vec<Duration> = gets
        .iter()
        .map(|raw| {
            let (status, body, latency) = client.send(raw);
            assert_eq!(status, 200, "{body}");
            latency
        })
        .collect();
    print(
        &format!("signed GET /identifiers/{{name}} with {COUNT} identifiers (2000 sequential)"),
        &mut reads,
    );
    agency.stop();
}

/// `runs` controllers, each with `COUNT` identifiers (half salty, half randy), rotate their
/// passcode: from the `PUT /agent/{caid}` with the `rot` and every identifier's re-encrypted
/// parameters until its 204, which waits for the commit.
fn controller_rotation(runs: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut latencies = Vec::new();
    for _ in 0..runs {
        let next = Signer::random().unwrap();
        let mut client = Client::boot_with(&agency, Signer::random().unwrap(), &next);
        let mut keys = serde_json::Map::new();
        for index in 0..COUNT {
            let (icp, key) = inception();
            let mut body = create_body(&format!("aid{index}"), &icp, &key);
            let entry = if index % 2 == 0 {
                json!({"sxlt": "1AAHresealed"})
            } else {
                body.as_object_mut().unwrap().remove("salty");
                body["randy"] =
                    json!({"prxs": ["0AAprx"], "nxts": ["0AAnxt"], "transferable": true});
                json!({"prxs": ["0AAprx2"], "nxts": ["0AAnxt2"]})
            };
            let raw = client.prepare("POST", "/identifiers", Some(&body));
            let (status, answer, _) = client.send(&raw);
            assert_eq!(status, 202, "{answer}");
            keys.insert(icp.prefix().to_owned(), entry);
        }
        let rot = build::rotate(
            &client.aid,
            2,
            &client.approval,
            &[next.verfer()],
            &[next_digest(&Signer::random().unwrap())],
        );
        let body = json!({"rot": rot.value(), "sigs": [next.sign_indexed(rot.raw(), 0).qb64()],
            "sxlt": "1AAHcontroller", "keys": keys})
        .to_string();
        let raw = format!(
            "PUT /agent/{} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            client.aid,
            body.len()
        );
        let (status, answer, latency) = client.send(&raw);
        assert_eq!(status, 204, "{answer}");
        latencies.push(latency);
    }
    print(
        &format!(
            "PUT /agent/{{caid}} rotation re-encrypting {COUNT} identifiers ({runs} controllers)"
        ),
        &mut latencies,
    );
    agency.stop();
}

/// Bob resolves Alice's agent OOBI `runs` times: from `POST /oobis` until the operation is
/// done, polling it as fast as the connection answers.
fn oobi_resolution(runs: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut alice = Client::boot(&agency);
    let mut bob = Client::boot(&agency);
    let (_, _, url) = alice.identifier(&agency, "alice");
    let mut latencies: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            bob.resolve(&url);
            started.elapsed()
        })
        .collect();
    print(
        &format!(
            "OOBI resolution between two agents of one agency ({runs} runs, POST /oobis → done)"
        ),
        &mut latencies,
    );
    agency.stop();
}

/// A delegator's approvals of `runs` delegated inceptions, between two agents of one agency
/// (or, `apart`, of two): from the delegator's `POST /identifiers/{name}/delegation` (the
/// anchoring `ixn`) until the delegate's `delegation.{prefix}` operation is done. The delegate's
/// agent finds the anchor by asking for the delegator's log again: at once when the approval
/// is accepted by the same agency, else at its next query (every `delegations::QUERY_PAUSE`).
fn delegation(runs: usize, apart: bool) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let other = apart.then(|| Agency::spawn(tempfile::tempdir().unwrap()));
    let gate_agency = other.as_ref().unwrap_or(&agency);
    gate_agency.wait_healthy();
    let mut gator = Client::boot(&agency);
    let mut gate = Client::boot(gate_agency);
    let (icp, key, url) = gator.identifier(&agency, "gator");
    gate.resolve(&url);
    let mut prior = icp.said().to_owned();
    let mut latencies: Vec<Duration> = (0..runs)
        .map(|run| {
            let (current, next) = (Signer::random().unwrap(), Signer::random().unwrap());
            let dip =
                build::delegated_incept(&[current.verfer()], &[next_digest(&next)], icp.prefix());
            let raw = gate.prepare(
                "POST",
                "/identifiers",
                Some(&create_body(&format!("gate{run}"), &dip, &current)),
            );
            let (status, answer, _) = gate.send(&raw);
            assert_eq!(status, 202, "{answer}");
            let ixn = build::interact(
                icp.prefix(),
                run as u64 + 1,
                &prior,
                vec![Seal::event(dip.prefix(), 0, dip.said())],
            );
            ixn.said().clone_into(&mut prior);
            let body = json!({"ixn": ixn.value(), "sigs": [key.sign_indexed(ixn.raw(), 0).qb64()]});
            let approve = gator.prepare("POST", "/identifiers/gator/delegation", Some(&body));
            let poll = gate.prepare(
                "GET",
                &format!("/operations/delegation.{}", dip.prefix()),
                None,
            );
            // The approvals land at phases spread over the delegate's query pause.
            std::thread::sleep(Duration::from_millis(100 + (run as u64 * 24) % 500));
            let started = Instant::now();
            let (status, answer, _) = gator.send(&approve);
            assert_eq!(status, 200, "{answer}");
            loop {
                let (status, answer, _) = gate.send(&poll);
                assert_eq!(status, 200, "{answer}");
                let operation: Value = serde_json::from_str(&answer).unwrap();
                if operation["done"] == true {
                    assert!(operation.get("error").is_none(), "{operation}");
                    break started.elapsed();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
        .collect();
    let between = if apart {
        "agents of two agencies"
    } else {
        "two agents of one agency"
    };
    print(
        &format!(
            "delegation approval between {between} ({runs} runs, the delegator's anchoring ixn \
             → the delegate's operation done; query pause 500 ms)"
        ),
        &mut latencies,
    );
    if let Some(other) = other {
        other.stop();
    }
    agency.stop();
}

/// The `-F` attachment of `exn` signed by `key` under its identifier's inception `icp`.
fn signed_by(exn: &Exchange, icp: &Event, key: &Signer) -> Attachments {
    Attachments {
        signature_groups: vec![SignatureGroup {
            prefix: icp.prefix().to_owned(),
            sn: 0,
            said: icp.said().to_owned(),
            sigs: vec![key.sign_indexed(exn.raw(), 0)],
        }],
        ..Attachments::default()
    }
}

/// Alice sends `sends` exn to Bob through her agent (both agents of one agency: the answer
/// comes once it is verified and delivered); then `intake` messages from Bob to Alice are
/// posted to the http port, 64 to a CESR stream.
fn exchanges(sends: usize, intake: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut alice = Client::boot(&agency);
    let mut bob = Client::boot(&agency);
    let (alice_icp, alice_key, alice_url) = alice.identifier(&agency, "alice");
    let (bob_icp, bob_key, bob_url) = bob.identifier(&agency, "bob");
    alice.resolve(&bob_url);
    bob.resolve(&alice_url);
    let dt = "2026-11-24T21:59:18.298000+00:00";

    let prepared: Vec<String> = (0..sends)
        .map(|n| {
            let payload = json!({"n": n});
            let exn = exchange(
                alice_icp.prefix(),
                bob_icp.prefix(),
                "/note",
                payload.as_object().unwrap(),
                dt,
            );
            let body = json!({
                "tpc": "note",
                "exn": exn.value(),
                "sigs": [alice_key.sign_indexed(exn.raw(), 0).qb64()],
                "atc": "",
                "rec": [bob_icp.prefix()],
            });
            alice.prepare("POST", "/identifiers/alice/exchanges", Some(&body))
        })
        .collect();
    let mut latencies: Vec<Duration> = prepared
        .iter()
        .map(|raw| {
            let (status, answer, latency) = alice.send(raw);
            assert_eq!(status, 202, "{answer}");
            latency
        })
        .collect();
    print(
        &format!("exn between two agents of one agency, sent to delivered and verified ({sends} sequential)"),
        &mut latencies,
    );

    let streams: Vec<Vec<u8>> = (0..intake)
        .map(|n| {
            let payload = json!({"n": n});
            let exn = exchange(
                bob_icp.prefix(),
                alice_icp.prefix(),
                "/note",
                payload.as_object().unwrap(),
                dt,
            );
            let attachments = signed_by(&exn, &bob_icp, &bob_key);
            (exn, attachments)
        })
        .collect::<Vec<_>>()
        .chunks(64)
        .map(|chunk| {
            stream::write(
                chunk
                    .iter()
                    .map(|(exn, attachments)| (exn.raw(), attachments)),
            )
        })
        .collect();
    let mut http = TcpStream::connect(("127.0.0.1", agency.http)).unwrap();
    http.set_nodelay(true).unwrap();
    let started = Instant::now();
    for body in &streams {
        let mut raw = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/cesr\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        let (status, answer) = request_bytes(&mut http, &raw);
        assert_eq!(status, 204, "{answer}");
    }
    let rate = intake as f64 / started.elapsed().as_secs_f64();
    println!("http port intake: {rate:.0} verified exn messages/s ({intake} in CESR streams of 64, one client)");
    agency.stop();
}

/// `reads` signed requests of each read route added for KERIA's remaining routes: a contact
/// with fields of its own, the contacts, operations of one kind, OOBIs by alias, location
/// schemes.
fn routes(reads: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let mut alice = Client::boot(&agency);
    let mut bob = Client::boot(&agency);
    let (icp, _, url) = alice.identifier(&agency, "alice");
    bob.resolve(&url);
    let contact = format!("/contacts/{}", icp.prefix());
    let fields = json!({"company": "GLEIF", "location": "Zug"});
    assert_eq!(
        bob.send(&bob.prepare("PUT", &contact, Some(&fields))).0,
        200
    );
    let agent = alice.agent.clone();
    for (who, target) in [
        ("bob", contact.clone()),
        ("bob", "/contacts".to_owned()),
        ("bob", "/operations?type=oobi".to_owned()),
        ("alice", "/oobis/alice?role=agent".to_owned()),
        ("alice", format!("/locschemes/{agent}")),
    ] {
        let client = if who == "bob" { &mut bob } else { &mut alice };
        let prepared: Vec<String> = (0..reads)
            .map(|_| client.prepare("GET", &target, None))
            .collect();
        let mut latencies: Vec<Duration> = prepared
            .iter()
            .map(|raw| {
                let (status, answer, latency) = client.send(raw);
                assert_eq!(status, 200, "{answer}");
                latency
            })
            .collect();
        print(
            &format!(
                "signed GET {} ({reads} sequential)",
                target
                    .replace(icp.prefix(), "{prefix}")
                    .replace(&agent, "{eid}")
            ),
            &mut latencies,
        );
    }
    agency.stop();
}

/// Quiet time between two witnessed inceptions: keria sends each witness the others' receipts
/// once an event is receipted, and a keri witness handles one request at a time, so a run
/// started at once would queue behind the previous run's follow-up, not measure an inception.
const WITNESS_QUIET: Duration = Duration::from_millis(500);

/// Witnessed inceptions against the witnesses whose OOBIs `KERIA_BENCH_WITNESSES` lists
/// (`;`-separated; keri's demo witnesses, or any started with `kli witness start`): `runs`
/// inceptions (threshold: all of them) from `POST /identifiers` to a done `witness.{prefix}`,
/// beside each witness's own round trip for the same kind of event posted straight to its
/// `/receipts` (the slowest of them, in parallel, as the agency's workers post); then `/health`
/// polled while `concurrent` identifiers are receipted at once.
fn witnessed(runs: usize, concurrent: usize) {
    let Ok(oobis) = std::env::var("KERIA_BENCH_WITNESSES") else {
        println!(
            "witnessed: skipped (KERIA_BENCH_WITNESSES lists no witness OOBIs; e.g. keri's demo: \
             http://127.0.0.1:5642/oobi/BBilc4-L3tFUnfM_wJr4S4OJanAv_VmF_dJNN6vkf2Ha/controller;…)"
        );
        return;
    };
    let oobis: Vec<String> = oobis.split(';').map(ToOwned::to_owned).collect();
    let witnesses: Vec<(String, u16)> = oobis
        .iter()
        .map(|oobi| {
            let url = url::Url::parse(oobi).unwrap();
            let aid = url.path_segments().unwrap().nth(1).unwrap().to_owned();
            (aid, url.port().unwrap())
        })
        .collect();
    let wits: Vec<String> = witnesses.iter().map(|(aid, _)| aid.clone()).collect();
    let toad = wits.len() as u64;
    let agency = Agency::external().unwrap_or_else(|| Agency::spawn(tempfile::tempdir().unwrap()));
    agency.wait_healthy();
    let mut client = Client::boot(&agency);
    for oobi in &oobis {
        client.resolve(oobi);
    }
    // Direct and through-keria runs alternate (and swap order each run), so both sample the
    // witnesses in the same state: a keri witness answers on its loop's tock (31.25 ms), and
    // runs taken in two separate series measured the series' luck as much as keria.
    let (mut direct, mut through, mut differences) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let (d, t) = if run % 2 == 0 {
            let d = direct_round_trip(&witnesses, &wits);
            (d, through_keria(&mut client, &wits, run))
        } else {
            let t = through_keria(&mut client, &wits, run);
            (direct_round_trip(&witnesses, &wits), t)
        };
        differences.push(t.as_secs_f64() - d.as_secs_f64());
        direct.push(d);
        through.push(t);
    }
    differences.sort_by(f64::total_cmp);
    println!(
        "witnessed icp ({} witnesses, threshold {toad}), {runs} alternating runs: the slowest \
         witness's own round trip p50 {}, p99 {}; POST /identifiers to done p50 {}, p99 {}; \
         per-run difference p50 {:.2} ms",
        wits.len(),
        ms(percentile(&mut direct, 0.5)),
        ms(percentile(&mut direct, 0.99)),
        ms(percentile(&mut through, 0.5)),
        ms(percentile(&mut through, 0.99)),
        differences[differences.len() / 2] * 1000.0
    );
    let mut health = health_while_receipting(&agency, &mut client, &wits, concurrent);
    println!(
        "GET /health while {concurrent} identifiers are receipted at once ({} answers): p50 {}, p99 {}",
        health.len(),
        ms(percentile(&mut health, 0.5)),
        ms(percentile(&mut health, 0.99))
    );
    agency.stop();
}

/// A fresh witnessed inception posted straight to every witness's `/receipts` at once: the
/// slowest answer.
fn direct_round_trip(witnesses: &[(String, u16)], wits: &[String]) -> Duration {
    let toad = wits.len() as u64;
    std::thread::sleep(WITNESS_QUIET);
    let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept_witnessed(&[key.verfer()], &[next_digest(&next)], wits, toad);
    let attachment = Attachments {
        controller_sigs: vec![key.sign_indexed(icp.raw(), 0)],
        ..Attachments::default()
    }
    .to_qb64();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (aid, port) in witnesses {
            let (raw, attachment) = (icp.raw(), attachment.as_str());
            scope.spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", *port)).unwrap();
                let mut request = format!(
                    "POST /receipts HTTP/1.1\r\nHost: x\r\nContent-Type: application/cesr+json\r\n\
                     CESR-ATTACHMENT: {attachment}\r\nCESR-DESTINATION: {aid}\r\n\
                     Connection: close\r\nContent-Length: {}\r\n\r\n",
                    raw.len()
                )
                .into_bytes();
                request.extend_from_slice(raw);
                let (status, answer) = request_bytes(&mut stream, &request);
                assert_eq!(status, 200, "{answer}");
            });
        }
    });
    started.elapsed()
}

/// One witnessed inception through keria: `POST /identifiers`, then the operation polled until
/// done.
fn through_keria(client: &mut Client, wits: &[String], run: usize) -> Duration {
    let toad = wits.len() as u64;
    std::thread::sleep(WITNESS_QUIET);
    let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
    let icp = build::incept_witnessed(&[key.verfer()], &[next_digest(&next)], wits, toad);
    let raw = client.prepare(
        "POST",
        "/identifiers",
        Some(&create_body(&format!("witnessed{run}"), &icp, &key)),
    );
    let poll = client.prepare(
        "GET",
        &format!("/operations/witness.{}", icp.prefix()),
        None,
    );
    let started = Instant::now();
    let (status, answer, _) = client.send(&raw);
    assert_eq!(status, 202, "{answer}");
    loop {
        let (status, answer, _) = client.send(&poll);
        assert_eq!(status, 200, "{answer}");
        let operation: Value = serde_json::from_str(&answer).unwrap();
        if operation["done"] == true {
            assert!(operation.get("error").is_none(), "{operation}");
            break;
        }
    }
    started.elapsed()
}

/// `/health`'s latencies while `concurrent` witnessed identifiers are receipted at once.
fn health_while_receipting(
    agency: &Agency,
    client: &mut Client,
    wits: &[String],
    concurrent: usize,
) -> Vec<Duration> {
    let toad = wits.len() as u64;
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let mut stream = TcpStream::connect(("127.0.0.1", agency.boot)).unwrap();
            let mut latencies = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let (status, _) = request(&mut stream, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
                assert_eq!(status, 200);
                latencies.push(started.elapsed());
            }
            latencies
        });
        let mut names = Vec::with_capacity(concurrent);
        for run in 0..concurrent {
            let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
            let icp = build::incept_witnessed(&[key.verfer()], &[next_digest(&next)], wits, toad);
            let raw = client.prepare(
                "POST",
                "/identifiers",
                Some(&create_body(&format!("concurrent{run}"), &icp, &key)),
            );
            assert_eq!(client.send(&raw).0, 202);
            names.push(format!("witness.{}", icp.prefix()));
        }
        for name in names {
            let poll = client.prepare("GET", &format!("/operations/{name}"), None);
            loop {
                let (_, answer, _) = client.send(&poll);
                if serde_json::from_str::<Value>(&answer).unwrap()["done"] == true {
                    break;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        poller.join().unwrap()
    })
}
