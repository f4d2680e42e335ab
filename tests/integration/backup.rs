//! `keria backup` and `keria restore` through the binary: a copy taken while boots stream in
//! holds every boot acknowledged before it began, and the restored agency serves Signify.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rustix::process::Signal;
use serde_json::json;

use crate::agency::random_boot_body;
use crate::harness::{read_response, run_keria, Keria, Start, PATIENCE};
use crate::signify;

/// A passcode for the Signify controller that must survive the backup and restore.
const PASSCODE: &str = "backup-restore-0123456";

/// A loopback port nothing listens on.
fn unused_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

/// Boots fresh controllers from `threads` connections until `stop` is set; each acknowledged
/// controller, with its body and when its 202 arrived.
fn boot_stream(
    boot: u16,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<(String, String, Instant)>>> {
    (0..threads)
        .map(|_| {
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (body, controller) = random_boot_body();
                    let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    let raw = format!(
                        "POST /boot HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    std::io::Write::write_all(&mut stream, raw.as_bytes()).unwrap();
                    let response = read_response(&mut stream);
                    assert_eq!(response.status, 202, "{}", response.body);
                    acknowledged.push((controller, body, Instant::now()));
                }
                acknowledged
            })
        })
        .collect()
}

fn ports_args(keria: &Keria) -> Vec<String> {
    vec!["-B".to_owned(), keria.ports().boot.to_string()]
}

#[test]
fn a_backup_during_a_boot_stream_holds_every_earlier_boot_and_restores_into_a_working_agency() {
    let out = tempfile::tempdir().unwrap();
    let mut keria = Start::new()
        .args(["--backup-dir", out.path().to_str().unwrap()])
        .start();
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["--passcode", PASSCODE, "--steps", "boot,connect"]);
    let (ok, booted) = signify::client(&args);
    assert!(ok, "{booted}");

    let stop = Arc::new(AtomicBool::new(false));
    let workers = boot_stream(keria.ports().boot, 4, &stop);
    let acknowledged_so_far = || {
        let log = keria.log();
        log.matches("booted for controller").count()
    };
    let deadline = Instant::now() + PATIENCE;
    while acknowledged_so_far() < 40 {
        assert!(Instant::now() < deadline, "boots never got going");
        std::thread::yield_now();
    }
    let file = out.path().join("agency.backup");
    let file_arg = file.to_str().unwrap().to_owned();
    let began = Instant::now();
    let mut command = vec!["backup", "agency.backup", "--json"];
    let ports = ports_args(&keria);
    command.extend(ports.iter().map(String::as_str));
    let (code, stdout, stderr) = run_keria(&command, &[]);
    let ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<(String, String, Instant)> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let written: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(written["by"], "the running agency");
    let before: Vec<&(String, String, Instant)> = acknowledged
        .iter()
        .filter(|(_, _, at)| *at < began)
        .collect();
    let during = acknowledged
        .iter()
        .filter(|(_, _, at)| *at >= began && *at <= ended)
        .count();
    assert!(
        written["agents"].as_u64().unwrap() > before.len() as u64,
        "the copy holds fewer agents than were acknowledged before it: {written}"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    eprintln!(
        "{} boots acknowledged before the backup, {during} while it ran; {written}",
        before.len()
    );

    let restored = tempfile::tempdir().unwrap();
    let data_dir = restored.path().join("data");
    let (code, stdout, stderr) = run_keria(
        &[
            "restore",
            &file_arg,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("restored"), "{stdout}");
    let store = crate::agency::store_path(&data_dir);
    assert_eq!(
        std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(store.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let mut keria = Start::new().data_dir(&data_dir).start();
    let boot = keria.ports().boot;
    for (controller, body, _) in &before {
        let response = keria.post(boot, "/boot", body, "");
        assert_eq!(
            response.status, 409,
            "controller {controller}, acknowledged before the backup, is not in it"
        );
    }
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["--passcode", PASSCODE, "--steps", "connect,list"]);
    let (ok, connected) = signify::client(&args);
    assert!(ok, "{connected}");
    assert_eq!(connected["agent"], booted["agent"]);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Runs `keria backup` (or `restore`) with `args`; (code, stdout, stderr).
fn command(args: &[&str]) -> (i32, String, String) {
    run_keria(args, &[])
}

#[test]
fn without_an_agency_backup_copies_under_the_lock_and_restore_refuses_what_it_must() {
    let mut keria = Start::new().start();
    for _ in 0..3 {
        let (body, _) = random_boot_body();
        assert_eq!(
            keria.post(keria.ports().boot, "/boot", &body, "").status,
            202
        );
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let data_dir = keria.data_dir.to_str().unwrap().to_owned();
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().to_str().unwrap();
    let file = out.path().join("offline.backup");
    let file = file.to_str().unwrap();
    let port = unused_port();
    let (code, _, stderr) = command(&[
        "backup",
        "offline.backup",
        "--data-dir",
        &data_dir,
        "-B",
        &port,
    ]);
    assert_eq!(code, 1, "no folder to copy into: {stderr}");
    assert!(stderr.contains("--backup-dir"), "{stderr}");
    let (code, _, stderr) = command(&["backup", file, "--backup-dir", folder, "-B", &port]);
    assert_eq!(code, 2, "a path is not a backup name: {stderr}");
    let backup = |extra: &[&str]| {
        let mut args = vec![
            "backup",
            "offline.backup",
            "--backup-dir",
            folder,
            "--data-dir",
            &data_dir,
            "-B",
            &port,
        ];
        args.extend(extra);
        command(&args)
    };
    let (code, stdout, stderr) = backup(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("backup of 3 agents") && stdout.contains("no agency was running"),
        "{stdout}"
    );
    assert!(
        !Path::new(&data_dir).join("keria.pid").exists(),
        "the lock was not released"
    );
    let (code, _, stderr) = backup(&[]);
    assert_eq!(code, 5, "an existing file is not replaced: {stderr}");
    assert!(
        stderr.contains("already exists (--force replaces it)"),
        "{stderr}"
    );
    assert_eq!(backup(&["--force"]).0, 0);

    // Restore refuses an existing store, a file that is not a store, and a held data dir.
    let (code, _, stderr) = command(&["restore", file, "--data-dir", &data_dir]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("keria: error: a store already exists at "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let fresh = out.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    let junk = out.path().join("junk");
    std::fs::write(&junk, "not a store").unwrap();
    let (code, _, stderr) = command(&["restore", junk.to_str().unwrap(), "--data-dir", fresh]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not a store keria can read"), "{stderr}");
    let other = out.path().join("other.redb");
    redb::Database::create(&other).unwrap();
    let (code, _, stderr) = command(&["restore", other.to_str().unwrap(), "--data-dir", fresh]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not a keria agency store"), "{stderr}");
    assert!(!crate::agency::store_path(Path::new(fresh)).exists());

    let running = Start::new().data_dir(Path::new(fresh)).start();
    let (code, _, stderr) = command(&["restore", file, "--data-dir", fresh]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is in use"), "{stderr}");
    // An agency holds the data dir but is not on the port asked: exit 3, nothing copied.
    let elsewhere = out.path().join("elsewhere.backup");
    let (code, _, stderr) = command(&[
        "backup",
        "elsewhere.backup",
        "--backup-dir",
        folder,
        "--data-dir",
        fresh,
        "-B",
        &port,
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("holds the data dir"), "{stderr}");
    assert!(!elsewhere.exists());
    drop(running);
}

#[test]
fn without_a_backup_folder_the_agency_refuses_every_backup() {
    let mut keria = Start::new().start();
    let out = tempfile::tempdir().unwrap();
    let victim = out.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    for body in [
        json!({"path": victim, "force": true}),
        json!({"name": "agency.backup"}),
    ] {
        let response = keria.post(keria.ports().boot, "/backup", &body.to_string(), "");
        assert_eq!(response.status, 403, "{body}: {}", response.body);
        assert!(response.body.contains("--backup-dir"), "{}", response.body);
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn the_agency_writes_backups_only_into_its_backup_folder() {
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("backups");
    let mut keria = Start::new()
        .args(["--backup-dir", folder.to_str().unwrap()])
        .start();
    let boot = keria.ports().boot;
    assert_eq!(
        std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
        0o700,
        "the missing folder is created 0700"
    );
    let victim = out.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let store = crate::agency::store_path(&keria.data_dir);
    let live = std::fs::read(&store).unwrap();
    let existing = folder.join("existing");
    std::fs::write(&existing, "keep me").unwrap();
    std::fs::create_dir(folder.join("sub")).unwrap();
    // Every way out of the folder, and into the live store, is refused before anything is written.
    let through_dots = format!("sub/../../../../../../../..{}", store.display());
    for (body, status, reason) in [
        (
            json!({"path": victim, "force": true}),
            400,
            "not a \\\"path\\\"",
        ),
        (
            json!({"path": store, "force": true}),
            400,
            "not a \\\"path\\\"",
        ),
        (json!({"name": victim, "force": true}), 400, "holds '/'"),
        (
            json!({"name": through_dots, "force": true}),
            400,
            "holds '/'",
        ),
        (
            json!({"name": "..", "force": true}),
            400,
            "must not start with a dot",
        ),
        (json!({"name": ".hidden"}), 400, "must not start with a dot"),
        (json!({"name": "a\\b"}), 400, "holds"),
        (json!({"name": ""}), 400, "1 to 128"),
        (json!({"name": "x".repeat(129)}), 400, "1 to 128"),
        (json!({"name": "existing"}), 409, "already exists"),
        (json!({"name": "sub", "force": true}), 400, "is a folder"),
        (json!({"name": "ok", "force": "yes"}), 400, "force must be"),
        (json!({"name": "ok", "evil": 1}), 400, "unknown field"),
        (json!({"nothing": 1}), 400, "unknown field"),
        (json!({}), 400, "\\\"name\\\""),
        (json!(["name"]), 400, "JSON object"),
    ] {
        let response = keria.post(boot, "/backup", &body.to_string(), "");
        assert_eq!(response.status, status, "{body}: {}", response.body);
        assert!(response.body.contains(reason), "{body}: {}", response.body);
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert_eq!(
        std::fs::read(&store).unwrap(),
        live,
        "the live store was touched"
    );
    let written = keria.post(
        boot,
        "/backup",
        &json!({"name": "existing", "force": true}).to_string(),
        "",
    );
    assert_eq!(written.status, 200, "{}", written.body);
    assert_eq!(written.json()["agents"], 0);
    assert_eq!(
        Path::new(written.json()["path"].as_str().unwrap()),
        existing.canonicalize().unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_backup_folder_inside_the_agency_store_is_refused_at_start() {
    let out = tempfile::tempdir().unwrap();
    let data = out.path().join("data");
    let inside = data.join("keri/adb");
    let (code, _, stderr) = run_keria(
        &[
            "start",
            "--data-dir",
            data.to_str().unwrap(),
            "--backup-dir",
            inside.to_str().unwrap(),
            "-a",
            "0",
            "-H",
            "0",
            "-B",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("name a folder of its own"), "{stderr}");
}

#[test]
fn with_boot_credentials_a_backup_requires_them() {
    let out = tempfile::tempdir().unwrap();
    let mut keria = Start::new()
        .args([
            "--backup-dir",
            out.path().to_str().unwrap(),
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "s3cret pass",
        ])
        .start();
    let boot = keria.ports().boot;
    let body = json!({"name": "agency.backup"}).to_string();
    let anonymous = keria.post(boot, "/backup", &body, "");
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let wrong = keria.post(
        boot,
        "/backup",
        &body,
        "Authorization: Basic b3BzOndyb25n\r\n",
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(!out.path().join("agency.backup").exists());
    let port = boot.to_string();
    let (code, stdout, stderr) = run_keria(
        &[
            "backup",
            "agency.backup",
            "-B",
            &port,
            "--experimental-boot-username",
            "ops",
            "--experimental-boot-password",
            "s3cret pass",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(out.path().join("agency.backup").exists());
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
