//! The agency: agents booted by the real Signify client, checked boots, durable stores,
//! recovery after every kind of stop, and every store closed by a graceful one.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use keria::commands::boot::boot_body;
use keria::keri::build;
use keria::keri::primitives::{Diger, Signer};
use keria::signify::passcode::{inception_from_keys, Tier};
use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{read_response, Start, PATIENCE};
use crate::signify;

/// The protocol note's boot body (section 7.3), byte for byte.
pub const VECTOR_BODY: &str = r#"{"icp":{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]},"sig":"AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG","stem":"signify:controller","pidx":1,"tier":"low"}"#;
pub const VECTOR_CONTROLLER: &str = "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose";
pub const VECTOR_PASSCODE: &str = "0123456789abcdefghijk";

/// A fresh controller's boot body and its AID.
pub fn random_boot_body() -> (String, String) {
    let (icp, sig) = inception_from_keys(&Signer::random().unwrap(), &Signer::random().unwrap());
    (boot_body(&icp, &sig, Tier::Low), icp.prefix().to_owned())
}

/// The agency store of a data dir with the default name.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keri/adb/keria.redb")
}

/// The controllers with an acknowledged agent, read from the store of a stopped agency.
pub fn stored_controllers(data_dir: &Path) -> Vec<String> {
    use redb::{ReadableDatabase, ReadableTable};
    let database = redb::Database::open(store_path(data_dir)).unwrap();
    let txn = database.begin_read().unwrap();
    let table = txn
        .open_table(redb::TableDefinition::<&str, &str>::new("agents"))
        .unwrap();
    let controllers = table
        .iter()
        .unwrap()
        .map(|entry| entry.unwrap().0.value().to_owned())
        .collect();
    controllers
}

#[test]
fn the_real_signify_client_boots_an_agent_and_a_second_boot_is_409() {
    let mut keria = Start::new().start();
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["--passcode", VECTOR_PASSCODE, "--steps", "boot"]);
    let (ok, out) = signify::client(&args);
    assert!(ok, "{out}");
    assert_eq!(out["controller"], VECTOR_CONTROLLER);
    assert_eq!(out["boot_status"], 202);
    let state = &out["boot_body"];
    assert_eq!(state["et"], "dip");
    assert_eq!(state["di"], VECTOR_CONTROLLER);
    assert_eq!(state["i"], state["d"]);
    assert_eq!(state["k"].as_array().unwrap().len(), 1);
    args.extend(["--expect-status", "409"]);
    let (ok, out) = signify::client(&args);
    assert!(ok, "{out}");
    assert_eq!(out["boot_body"]["title"], "agent already exists");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn the_protocol_vector_boots_and_answers_with_python_separators() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    let response = keria.post(boot, "/boot", VECTOR_BODY, "");
    assert_eq!(response.status, 202, "{}", response.body);
    assert!(
        response.body.starts_with(r#"{"vn": [1, 0], "i": "E"#),
        "{}",
        response.body
    );
    let state = response.json();
    let keys: Vec<&str> = state
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "vn", "i", "s", "p", "d", "f", "dt", "et", "kt", "k", "nt", "n", "bt", "b", "c", "ee",
            "di"
        ]
    );
    assert_eq!(state["di"], VECTOR_CONTROLLER);
    assert_eq!(
        (
            state["s"].as_str(),
            state["p"].as_str(),
            state["et"].as_str()
        ),
        (Some("0"), Some(""), Some("dip"))
    );
    let again = keria.post(boot, "/boot", VECTOR_BODY, "");
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json(),
        json!({"title": "agent already exists", "description": format!("agent for controller {VECTOR_CONTROLLER} already exists")})
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Mutates the vector body's JSON.
fn vector_with(change: impl FnOnce(&mut Value)) -> String {
    let mut body: Value = serde_json::from_str(VECTOR_BODY).unwrap();
    change(&mut body);
    body.to_string()
}

/// Boot bodies that must be refused: (body, title, part of the description).
fn bad_bodies() -> Vec<(String, &'static str, &'static str)> {
    let two_keys = {
        let (a, b) = (Signer::random().unwrap(), Signer::random().unwrap());
        let icp = build::incept(
            &[a.verfer(), b.verfer()],
            &[Diger::blake3(b"x"), Diger::blake3(b"y")],
        );
        format!(
            r#"{{"icp":{},"sig":"{}"}}"#,
            String::from_utf8_lossy(icp.raw()),
            a.sign_indexed(icp.raw(), 0).qb64()
        )
    };
    let other_signature = Signer::random()
        .unwrap()
        .sign_indexed(b"something else", 0)
        .qb64();
    vec![
        (
            "{not json".to_owned(),
            "Invalid JSON",
            "Could not parse JSON body",
        ),
        (
            "[1,2]".to_owned(),
            "invalid inception",
            "must be a JSON object",
        ),
        (
            vector_with(|body| drop(body.as_object_mut().unwrap().remove("icp"))),
            "invalid inception",
            "required field \"icp\" missing from body",
        ),
        (
            vector_with(|body| drop(body.as_object_mut().unwrap().remove("sig"))),
            "invalid inception",
            "required field \"sig\" missing from body",
        ),
        (
            vector_with(|body| body["icp"]["a"] = json!(["x"])),
            "invalid inception",
            "field a must be an array of seal objects",
        ),
        (
            vector_with(|body| body["icp"]["a"] = json!([{"i": "E", "s": "0", "d": "E"}])),
            "invalid inception",
            "size",
        ),
        (
            vector_with(|body| {
                body["icp"]["d"] = json!("EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            }),
            "invalid inception",
            "SAID",
        ),
        (
            vector_with(|body| drop(body["icp"].as_object_mut().unwrap().remove("bt"))),
            "invalid inception",
            "icp is not a valid KERI event",
        ),
        (
            vector_with(|body| body["icp"]["v"] = json!("KERI10JSON00012c_")),
            "invalid inception",
            "icp is not a valid KERI event",
        ),
        (
            vector_with(|body| body["sig"] = json!("not-a-signature")),
            "invalid inception",
            "sig is not a qb64 indexed Ed25519 signature",
        ),
        (
            vector_with(|body| body["sig"] = json!(other_signature)),
            "invalid inception",
            "the signature does not verify against k[0]",
        ),
        (
            vector_with(|body| body["tier"] = json!("extreme")),
            "invalid inception",
            "tier must be",
        ),
        (
            vector_with(|body| body["group"] = json!({})),
            "invalid inception",
            "multisig",
        ),
        (
            two_keys,
            "invalid inception",
            "multisig controllers are not supported",
        ),
    ]
}

#[test]
fn bad_boot_bodies_get_precise_400s_and_leave_nothing_behind() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    let cases = bad_bodies();
    for (body, title, description) in &cases {
        let response = keria.post(boot, "/boot", body, "");
        assert_eq!(response.status, 400, "{body} → {}", response.body);
        let error = response.json();
        assert_eq!(error["title"], *title, "{body} → {error}");
        assert!(
            error["description"].as_str().unwrap().contains(description),
            "{body} → {error}"
        );
    }
    let response = keria.post(boot, "/boot", VECTOR_BODY, "");
    assert_eq!(
        response.status, 202,
        "the valid boot was locked out: {}",
        response.body
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert_eq!(
        stored_controllers(&keria.data_dir),
        [VECTOR_CONTROLLER],
        "a refused boot left an agent"
    );
}

#[test]
fn boot_credentials_are_required_when_configured() {
    let mut keria = Start::new()
        .args([
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "s3cret pass",
        ])
        .start();
    let boot = keria.ports().boot;
    let response = keria.post(boot, "/boot", VECTOR_BODY, "");
    assert_eq!(response.status, 401);
    assert!(response
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    let wrong = keria.post(
        boot,
        "/boot",
        VECTOR_BODY,
        "Authorization: Basic b3BzOndyb25n\r\n",
    );
    assert_eq!(wrong.status, 401);
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend([
        "--random",
        "--steps",
        "boot",
        "--boot-user",
        "ops",
        "--boot-password",
        "s3cret pass",
    ]);
    let (ok, out) = signify::client(&args);
    assert!(ok, "{out}");
    assert_eq!(out["boot_status"], 202);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert!(
        !stored_controllers(&keria.data_dir).contains(&VECTOR_CONTROLLER.to_owned()),
        "a refused boot created an agent"
    );
}

/// Boots `bodies` from `threads` connections at once; the controllers that got a 202.
fn boot_concurrently(
    boot: u16,
    bodies: Vec<(String, String)>,
    threads: usize,
) -> (Vec<String>, Vec<u16>) {
    boot_concurrently_into(boot, bodies, threads, &Arc::new(Mutex::new(Vec::new())))
}

/// `boot_concurrently`, adding each acknowledged controller to `acknowledged` as its 202
/// arrives (so that another thread can watch them come).
fn boot_concurrently_into(
    boot: u16,
    bodies: Vec<(String, String)>,
    threads: usize,
    acknowledged: &Arc<Mutex<Vec<String>>>,
) -> (Vec<String>, Vec<u16>) {
    let queue = Arc::new(Mutex::new(bodies));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (queue, acknowledged, statuses) = (
                Arc::clone(&queue),
                Arc::clone(acknowledged),
                Arc::clone(&statuses),
            );
            std::thread::spawn(move || loop {
                let Some((body, controller)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let Ok(mut stream) = TcpStream::connect(("127.0.0.1", boot)) else {
                    return;
                };
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                let raw = format!(
                    "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if std::io::Write::write_all(&mut stream, raw.as_bytes()).is_err() {
                    return;
                }
                let Ok(response) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read_response(&mut stream)
                })) else {
                    return;
                };
                statuses.lock().unwrap().push(response.status);
                if response.status == 202 {
                    acknowledged.lock().unwrap().push(controller);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let statuses = statuses.lock().unwrap().clone();
    (acknowledged, statuses)
}

#[test]
fn every_acknowledged_boot_survives_sigkill_at_a_random_moment() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for round in 0..4_u32 {
        let mut keria = Start::new().data_dir(dir.path()).start();
        let boot = keria.ports().boot;
        for (body, controller) in &acknowledged {
            let response = keria.post(boot, "/boot", body, "");
            assert_eq!(
                response.status, 409,
                "round {round}: acknowledged controller {controller} was lost: {}",
                response.body
            );
        }
        let bodies: Vec<(String, String)> =
            (0..BOOTS_PER_ROUND).map(|_| random_boot_body()).collect();
        let by_controller: std::collections::HashMap<String, String> = bodies
            .iter()
            .map(|(body, controller)| (controller.clone(), body.clone()))
            .collect();
        let pid = keria.pid();
        let delay = std::time::Duration::from_micros(u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_micros()
                % 20_000,
        ));
        // The kill lands after the first boot is acknowledged to its client, at a random moment
        // of the stream that follows.
        let acknowledged_so_far = Arc::new(Mutex::new(Vec::new()));
        let watched = Arc::clone(&acknowledged_so_far);
        let killer = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + PATIENCE;
            while watched.lock().unwrap().is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no boot was acknowledged"
                );
                std::thread::yield_now();
            }
            std::thread::sleep(delay);
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap(),
                Signal::KILL,
            );
        });
        let (acked, statuses) = boot_concurrently_into(boot, bodies, 16, &acknowledged_so_far);
        killer.join().unwrap();
        keria.wait_exit();
        assert!(
            !statuses.contains(&500),
            "round {round}: a boot answered 500: {statuses:?}"
        );
        assert!(
            !acked.is_empty(),
            "round {round}: no boot was acknowledged before the kill"
        );
        assert!(
            statuses.len() < BOOTS_PER_ROUND,
            "round {round}: the kill landed after every boot was answered"
        );
        acknowledged.extend(
            acked
                .into_iter()
                .map(|controller| (by_controller[&controller].clone(), controller)),
        );
    }
    let mut keria = Start::new().data_dir(dir.path()).start();
    let boot = keria.ports().boot;
    for (body, controller) in &acknowledged {
        assert_eq!(
            keria.post(boot, "/boot", body, "").status,
            409,
            "acknowledged controller {controller} was lost"
        );
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Boots sent per SIGKILL round: enough that the kill lands while boots are in flight.
const BOOTS_PER_ROUND: usize = 400;

#[test]
fn a_graceful_stop_closes_servers_then_agents_newest_first_then_the_store_then_the_lock() {
    let mut keria = Start::new().env("RUST_LOG", "keria=debug").start();
    let boot = keria.ports().boot;
    let mut agents = Vec::new();
    for _ in 0..5 {
        let (body, _) = random_boot_body();
        let response = keria.post(boot, "/boot", &body, "");
        assert_eq!(response.status, 202);
        agents.push(response.json()["i"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        keria.stop_with(Signal::TERM).code(),
        Some(0),
        "log:\n{}",
        keria.log()
    );
    let log = keria.log();
    let order = log
        .lines()
        .find_map(|line| line.split("closed, in order: ").nth(1))
        .unwrap_or_else(|| panic!("no close record; log:\n{log}"));
    let store = store_path(&keria.data_dir);
    let mut expected = vec!["servers".to_owned(), "workers".to_owned()];
    expected.extend(agents.iter().rev().map(|agent| format!("agent {agent}")));
    expected.push(format!("store {}", store.display()));
    expected.push("lock".to_owned());
    assert_eq!(order, expected.join(", "), "log:\n{log}");
}

#[test]
fn agents_are_found_again_after_sigterm_and_sigint_with_identical_aids() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let first = keria
        .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
        .json();
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    for signal in [Signal::INT, Signal::TERM] {
        let mut keria = Start::new().data_dir(dir.path()).start();
        let health = keria.get(keria.ports().boot, "/health").json();
        assert_eq!(health["status"], "ok");
        assert!(
            keria.log().contains("1 agents known"),
            "log:\n{}",
            keria.log()
        );
        assert_eq!(
            keria
                .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
                .status,
            409
        );
        assert_eq!(keria.stop_with(signal).code(), Some(0));
    }
    assert_eq!(first["di"], VECTOR_CONTROLLER);
}

#[test]
fn a_passcode_seals_the_store_and_a_wrong_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let passcode = "correct horse battery staple";
    let mut keria = Start::new()
        .data_dir(dir.path())
        .args(["--passcode", passcode])
        .start();
    assert_eq!(
        keria
            .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
            .status,
        202
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    for (args, expected) in [
        (
            vec!["--passcode", "the wrong horse battery staple"],
            "wrong passcode",
        ),
        (vec![], "is encrypted: give its passcode"),
    ] {
        let mut keria = Start::new().data_dir(dir.path()).args(args).spawn();
        let status = keria.wait_exit();
        assert_eq!(status.code(), Some(1), "log:\n{}", keria.log());
        assert!(keria.log().contains(expected), "log:\n{}", keria.log());
        assert!(!keria.log().contains(passcode), "the passcode was logged");
    }
    let mut keria = Start::new()
        .data_dir(dir.path())
        .env("KERIA_PASSCODE", passcode)
        .start();
    assert_eq!(
        keria
            .post(keria.ports().boot, "/boot", VECTOR_BODY, "")
            .status,
        409
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_store_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let index = dir.path().join("keri/adb/keria.redb");
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut keria = Start::new().data_dir(dir.path()).spawn();
    assert_eq!(keria.wait_exit().code(), Some(1));
    assert!(
        keria.log().contains("accessible to other users (mode 644)"),
        "log:\n{}",
        keria.log()
    );
}

#[test]
fn idle_agents_are_released_through_the_shut_path() {
    let mut keria = Start::new()
        .args(["--release-timeout", "1"])
        .env("RUST_LOG", "keria=debug")
        .start();
    let response = keria.post(keria.ports().boot, "/boot", VECTOR_BODY, "");
    let agent = response.json()["i"].as_str().unwrap().to_owned();
    assert_eq!(keria.get(keria.ports().boot, "/health").json()["agents"], 1);
    keria
        .wait_for_log(&format!("releasing idle agent {agent}"))
        .expect("the idle agent was not released");
    assert_eq!(keria.get(keria.ports().boot, "/health").json()["agents"], 0);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_stream_of_boots_does_not_starve_health() {
    let mut keria = Start::new().start();
    let boot = keria.ports().boot;
    let bodies: Vec<(String, String)> = (0..600).map(|_| random_boot_body()).collect();
    let booting = std::thread::spawn(move || boot_concurrently(boot, bodies, 16));
    let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut slowest = std::time::Duration::ZERO;
    let mut answered = 0;
    while !booting.is_finished() {
        let asked = std::time::Instant::now();
        std::io::Write::write_all(&mut stream, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut stream).status, 200);
        slowest = slowest.max(asked.elapsed());
        answered += 1;
    }
    let (acknowledged, statuses) = booting.join().unwrap();
    assert_eq!(acknowledged.len(), 600, "statuses: {statuses:?}");
    assert!(answered > 0);
    // Each commit is bounded (MAX_BATCH answers): /health waits for at most one of them, a
    // few milliseconds. The bound is generous for a loaded machine; starving would be unbounded.
    assert!(
        slowest < PATIENCE / 4,
        "/health waited {slowest:?} behind the boots"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn another_name_on_the_same_data_dir_leaves_the_agents_of_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let boot = keria.ports().boot;
    let mut controllers = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let (body, controller) = random_boot_body();
        let response = keria.post(boot, "/boot", &body, "");
        assert_eq!(response.status, 202, "{}", response.body);
        controllers.push(controller);
        bodies.push(body);
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    let mut other = Start::new()
        .data_dir(dir.path())
        .args(["--name", "other"])
        .start();
    assert!(
        other.wait_for_log(", 0 agents known)").is_some(),
        "log:\n{}",
        other.log()
    );
    assert_eq!(other.stop_with(Signal::TERM).code(), Some(0));
    assert!(dir.path().join("keri/adb/other.redb").is_file());

    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(
        keria.wait_for_log(", 3 agents known)").is_some(),
        "log:\n{}",
        keria.log()
    );
    let ports = keria.ports();
    for (body, controller) in bodies.iter().zip(&controllers) {
        assert_eq!(keria.post(ports.boot, "/boot", body, "").status, 409);
        let agent = keria.get(ports.admin, &format!("/agent/{controller}"));
        assert_eq!(agent.status, 200, "{}", agent.body);
        assert_eq!(agent.json()["controller"]["state"]["i"], *controller);
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    // The store is the only record of the agents: deleted while stopped, the next start
    // begins with an empty one.
    std::fs::remove_file(store_path(dir.path())).unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(
        keria.wait_for_log(", 0 agents known)").is_some(),
        "log:\n{}",
        keria.log()
    );
    let ports = keria.ports();
    let agent = keria.get(ports.admin, &format!("/agent/{}", controllers[0]));
    assert_eq!(agent.status, 404, "{}", agent.body);
    assert_eq!(keria.post(ports.boot, "/boot", &bodies[0], "").status, 202);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
