//! Runs scripts with signify-ts 0.4.0, the client KERIA 0.4 is tested with, vendored as its
//! `npm pack` tarball (`tests/signify/vendor/`) and installed in `tests/signify04/` with
//! `npm ci` once, under a lock, like the 0.3.0 client of `signify.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::Start;

fn signify04_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/signify04")
}

/// Runs `node SCRIPT ARGS…` in `tests/signify04/` (installing it first); whether it exited 0,
/// and the one JSON line it printed.
pub fn run(script: &str, args: &[&str]) -> (bool, Value) {
    crate::signify::npm_ci_once(&signify04_dir(), "keria-signify04-npm.lock");
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(signify04_dir())
        .output()
        .expect("node is needed for the Signify interop tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
        panic!(
            "{script} printed no JSON ({err}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), value)
}

#[test]
fn signify_ts_0_4_boots_connects_and_lists_identifiers() {
    let keria = Start::new().start();
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let (ok, out) = run("client.mjs", &[&admin, &boot, "signify04-passcode-01234"]);
    assert!(
        ok,
        "signify-ts 0.4.0 failed: {out}\nkeria log:\n{}",
        keria.log()
    );
    assert_eq!(out["signify"], "0.4.0");
    assert!(out["agent"]
        .as_str()
        .is_some_and(|aid| aid.starts_with('E')));
    assert_eq!(out["identifiers"]["total"], 0, "{out}");
    assert_eq!(out["identifiers"]["aids"], serde_json::json!([]), "{out}");
}

/// Runs `rotate.mjs` against a fresh keria; its JSON line.
fn rotate_with_signify04(mode: &str) -> Value {
    let keria = Start::new().start();
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let (ok, out) = run(
        "rotate.mjs",
        &[
            &admin,
            &boot,
            "signify04-rotate-old-0123",
            "signify04-rotate-new-4567",
            mode,
        ],
    );
    assert!(
        ok,
        "signify-ts 0.4.0 failed: {out}\nkeria log:\n{}",
        keria.log()
    );
    assert_eq!(out["rotate"]["status"], 204, "{out}");
    assert!(
        out["oldKey"]
            .as_str()
            .is_some_and(|error| error.contains("401")),
        "a request signed with the old key was not refused: {out}"
    );
    assert_eq!(out["reconnect"]["agent"], out["agent"], "{out}");
    assert_eq!(out["reconnect"]["controller"], out["controller"], "{out}");
    assert_eq!(out["after"], out["before"], "{out}");
    assert_eq!(out["carol"]["sn"], "1", "{out}");
    out
}

#[test]
fn signify_ts_0_4_rotates_the_controller_passcode() {
    let out = rotate_with_signify04("none");
    assert_eq!(out["before"], serde_json::json!([]), "{out}");
}

#[test]
fn signify_ts_0_4_rotates_the_controller_passcode_with_salty_and_randy_identifiers() {
    let out = rotate_with_signify04("with-identifiers");
    let keys = out["sent"]["keys"].as_object().unwrap();
    assert_eq!(keys.len(), 2, "{out}");
    for (prefix, sent) in keys {
        let stored = &out["stored"][prefix];
        for (field, value) in sent.as_object().unwrap() {
            assert_eq!(
                &stored[field], value,
                "{prefix}.{field} was not stored: {out}"
            );
        }
    }
}
