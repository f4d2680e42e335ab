//! Runs the real Signify client (signify-ts 0.3.0 from npm, `tests/signify/client.mjs`).
//! The first test that needs it installs it with `npm ci`, under a lock shared by every test
//! process; later ones find the stamp and skip the install.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn signify_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/signify")
}

/// Runs `npm ci` once per lock file content.
fn ensure_installed() {
    npm_ci_once(&signify_dir(), "keria-signify-npm.lock");
}

/// Runs `npm ci` in `dir` unless its `node_modules` carries a stamp of the same
/// `package-lock.json`; under the file lock `lock_name` in the temp dir, shared by every test
/// process.
pub fn npm_ci_once(dir: &Path, lock_name: &str) {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join(lock_name))
        .unwrap();
    lock.lock().unwrap();
    let wanted = std::fs::read(dir.join("package-lock.json")).unwrap();
    let stamp = dir.join("node_modules/.keria-stamp");
    if std::fs::read(&stamp).ok().as_deref() == Some(wanted.as_slice()) {
        return;
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .expect("npm is needed for the Signify interop tests");
    assert!(
        output.status.success(),
        "npm ci failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&stamp, wanted).unwrap();
    drop::<File>(lock);
}

/// Runs the Signify driver with `args`; its one JSON line of output and whether it succeeded.
pub fn client(args: &[&str]) -> (bool, Value) {
    run("client.mjs", args)
}

/// Runs a whole Signify workflow (`tests/signify/workflow.mjs`); its JSON answer.
pub fn workflow(args: &[&str]) -> Value {
    let (ok, out) = run("workflow.mjs", args);
    assert!(ok, "the Signify workflow failed: {out}");
    out
}

/// Alice's and Bob's passcodes in the two-controller workflows.
pub const ALICE: &str = "alice-passcode-0123456";
pub const BOB: &str = "bob-passcode-012345678";

/// Runs workflow `command` with Alice on agency `a` and Bob on agency `b`.
pub fn alice_and_bob(command: &str, a: crate::harness::Ports, b: crate::harness::Ports) -> Value {
    let (a, b) = (endpoint(a), endpoint(b));
    workflow(&[
        command,
        "--a",
        &a,
        "--b",
        &b,
        "--passcode-a",
        ALICE,
        "--passcode-b",
        BOB,
    ])
}

/// Runs workflow `command` for the controller of `passcode` alone on agency `a`, with `extra`
/// arguments.
pub fn one(command: &str, a: crate::harness::Ports, passcode: &str, extra: &[&str]) -> Value {
    let a = endpoint(a);
    let mut args = vec![command, "--a", &a, "--passcode-a", passcode];
    args.extend_from_slice(extra);
    workflow(&args)
}

/// The `ADMIN,BOOT` URL pair of a running keria, as the workflow driver takes it.
pub fn endpoint(ports: crate::harness::Ports) -> String {
    format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        ports.admin, ports.boot
    )
}

pub fn run(script: &str, args: &[&str]) -> (bool, Value) {
    ensure_installed();
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(signify_dir())
        .output()
        .expect("node is needed for the Signify interop tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
        panic!(
            "signify driver printed no JSON ({err}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), value)
}

/// The admin and boot URLs of a running keria, as driver arguments.
pub fn urls(ports: crate::harness::Ports) -> [String; 4] {
    [
        "--admin".to_owned(),
        format!("http://127.0.0.1:{}", ports.admin),
        "--boot".to_owned(),
        format!("http://127.0.0.1:{}", ports.boot),
    ]
}
