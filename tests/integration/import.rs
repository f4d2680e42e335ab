//! Data written by keria 0.1.0 (an index plus one redb 2 file per agent) is imported once into
//! the agency store at start, and every agent keeps its AID and keys.
//!
//! The fixtures in tests/fixtures were written by keria 0.1.0 itself (see their README).

use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::process::Signal;

use crate::harness::{run_keria, Start};
use crate::signify;

/// (controller, agent) of each fixture agent; the third was connected by signify-ts.
const PLAIN: [(&str, &str); 3] = [
    (
        "EPTyfBT_Xq1KhSNAkrV96Ae0d59LUFeyhN7ruA2xZXET",
        "ENteVa0HIdSsVZoz9LMyAQ1TPY3i1hFmT6hNoi54x4el",
    ),
    (
        "EEW-ZKqlyCgcKQCxd9nQV1N1MaT_3xhoYSUDXuY0jrwU",
        "EKgs5flQIaYL4JfZ-I3Pht5fVpJwI2DpB5zk4oaIB9A2",
    ),
    (
        "EALLW9e4zXdEHPq7nhKLiA1W8TcNdhH8vyndYoIZv1dA",
        "EErGhXSdVu7XKzHKg-Gdg1DpFgZGqjMqkRkz421IyV_4",
    ),
];
const SEALED: [(&str, &str); 3] = [
    (
        "EBNUoQXw1wVmCPf7nTyywyvnFIe8UE4cav05Tc2DDJVR",
        "ENQkWSnrcfqN-lp3-DAS7JuIxr1X9gas9PTQHc5nxccj",
    ),
    (
        "EOcStqA0eVmkCFCmZqmt1XjZOMYc_6xLfntlyRYKaIxO",
        "EHHb_HwsJYSSIchljXCHBkq4g35c3DZiasVIoRWNwPd9",
    ),
    (
        "EJcXUb554pSnwJ7j8iCRvVGdc_m7-nq7Y54MykT16RZP",
        "EO-x2cwd0GT4edWm92fMYk9TskCbnFsKuRI9i6U7K_Po",
    ),
];
const AGENCY_PASSCODE: &str = "fixture-agency-passcode-0001";

/// A private data dir holding the `keri/` folder of fixture `kind`.
fn unpack(kind: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/keria-0.1.0-{kind}.tar.gz"));
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar is needed to unpack the fixtures");
    assert!(status.success());
    dir
}

fn index(data_dir: &Path) -> PathBuf {
    data_dir.join("keri/adb/keria.redb")
}

/// Every fixture agent answers `GET /agent/{caid}` with its 0.1.0 AID.
fn assert_agents(keria: &crate::harness::Keria, agents: &[(&str, &str)]) {
    for (controller, agent) in agents {
        let response = keria.get(keria.ports().admin, &format!("/agent/{controller}"));
        assert_eq!(response.status, 200, "{controller}: {}", response.body);
        let state = response.json();
        assert_eq!(state["agent"]["i"], *agent);
        assert_eq!(state["controller"]["state"]["i"], *controller);
    }
}

#[test]
fn a_0_1_0_data_dir_is_imported_once_and_signify_reconnects_to_the_same_agent() {
    let dir = unpack("plain");
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(
        keria
            .wait_for_log("imported 3 agents from keria 0.1.0")
            .is_some(),
        "log:\n{}",
        keria.log()
    );
    assert!(
        keria.log().contains("3 agents known"),
        "log:\n{}",
        keria.log()
    );
    assert_agents(&keria, &PLAIN);
    let urls = signify::urls(keria.ports());
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend([
        "--passcode",
        "3fixtureplaincontroller0000",
        "--steps",
        "connect,list",
    ]);
    let (ok, out) = signify::client(&args);
    assert!(ok, "{out}");
    assert_eq!(out["agent"], PLAIN[2].1);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    // The old files are kept aside, and nothing is imported twice.
    assert!(index(dir.path()).with_extension("redb.0.1.0").exists());
    for (controller, _) in PLAIN {
        let old = dir.path().join(format!("keri/db/{controller}.redb"));
        assert!(!old.exists());
        assert!(old.with_extension("redb.0.1.0").exists());
    }
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(!keria.log().contains("imported"), "log:\n{}", keria.log());
    assert_agents(&keria, &PLAIN);
    let (code, stdout, stderr) = run_keria(
        &[
            "boot",
            "-B",
            &keria.ports().boot.to_string(),
            "--passcode",
            "1fixtureplaincontroller0000",
        ],
        &[],
    );
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_sealed_0_1_0_data_dir_keeps_its_passcode() {
    let dir = unpack("sealed");
    let mut refused = Start::new().data_dir(dir.path()).spawn();
    assert_eq!(refused.wait_exit().code(), Some(1));
    assert!(
        refused.log().contains("is encrypted: give its passcode"),
        "log:\n{}",
        refused.log()
    );
    let mut keria = Start::new()
        .data_dir(dir.path())
        .args(["--passcode", AGENCY_PASSCODE])
        .start();
    assert_agents(&keria, &SEALED);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    let mut wrong = Start::new()
        .data_dir(dir.path())
        .args(["--passcode", "not-the-fixture-passcode-0001"])
        .spawn();
    assert_eq!(wrong.wait_exit().code(), Some(1));
    assert!(
        wrong.log().contains("wrong passcode"),
        "log:\n{}",
        wrong.log()
    );
}

#[test]
fn an_import_interrupted_at_either_step_is_redone_or_finished() {
    // Stopped before its commit: a partial new store beside the untouched old index.
    let dir = unpack("plain");
    let importing = index(dir.path()).with_extension("redb.importing");
    std::fs::write(&importing, b"half an import").unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(
        keria.log().contains("stopped before it committed"),
        "log:\n{}",
        keria.log()
    );
    assert!(
        keria.log().contains("imported 3 agents"),
        "log:\n{}",
        keria.log()
    );
    assert_agents(&keria, &PLAIN);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    // Stopped after the old index was renamed aside, before the new store was moved in.
    std::fs::rename(index(dir.path()), &importing).unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert!(
        keria
            .log()
            .contains("finished the import of keria 0.1.0 data"),
        "log:\n{}",
        keria.log()
    );
    assert!(
        keria.log().contains("3 agents known"),
        "log:\n{}",
        keria.log()
    );
    assert_agents(&keria, &PLAIN);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
