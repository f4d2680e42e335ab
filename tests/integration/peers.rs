//! What the real peers of the tests (keri's witnesses, the vLEI schema server) share: a Python
//! venv per pinned package under `target/peers/`, made on first use under a file lock with a
//! stamp; processes run through `tests/peers/keri-sandbox` (stores under a private `HOME`,
//! sockets on loopback), each in its own process group, killed with its group when dropped;
//! readiness polled over HTTP.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

/// How long a peer may take to answer its first request.
pub const PEER_PATIENCE: Duration = Duration::from_secs(60);

/// The oldest Python keri 1.2.13 runs on.
const MIN_PYTHON: (u32, u32, u32) = (3, 12, 2);

/// `target/peers/`: venvs and the private homes of running peers.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is under the target dir")
        .join("peers")
}

/// `tests/peers/` in the source tree.
pub fn peers_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// A Python >= 3.12.2: `KERIA_TEST_PYTHON`, else the newest pyenv version, else `python3` (or
/// `python3.13`, `python3.12`) on PATH.
fn find_python() -> PathBuf {
    if let Some(python) = std::env::var_os("KERIA_TEST_PYTHON") {
        let python = PathBuf::from(python);
        match python_version(&python) {
            Some(version) if version >= MIN_PYTHON => return python,
            found => panic!(
                "KERIA_TEST_PYTHON={} is Python {found:?}; the test peers need Python >= 3.12.2",
                python.display()
            ),
        }
    }
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let mut candidates: Vec<PathBuf> = pyenv_root
        .and_then(|root| std::fs::read_dir(root.join("versions")).ok())
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin/python3"))
        .collect();
    candidates.extend(["python3", "python3.13", "python3.12"].map(PathBuf::from));
    let newest = candidates
        .into_iter()
        .filter_map(|python| python_version(&python).map(|version| (version, python)))
        .filter(|(version, _)| *version >= MIN_PYTHON)
        .max_by_key(|(version, _)| *version);
    match newest {
        Some((_, python)) => python,
        None => panic!(
            "the test peers (keri's witnesses, the vLEI server) need Python >= 3.12.2 with \
                 venv and pip: install it (e.g. `pyenv install 3.13`, or Debian's python3 and \
                 python3-venv on trixie) or point KERIA_TEST_PYTHON at one"
        ),
    }
}

/// `(major, minor, micro)` of a Python interpreter, or None when it does not run.
fn python_version(python: &Path) -> Option<(u32, u32, u32)> {
    let output = Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:3])"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut parts = text.split_whitespace().map(str::parse);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(micro))) => Some((major, minor, micro)),
        _ => None,
    }
}

/// The venv `target/peers/{name}/` holding `requirement` (e.g. `keri==1.2.13`), made once:
/// under the lock `target/peers/{name}.lock`, rebuilt unless its stamp names the same
/// requirement. `check` is a Python statement run in the new venv before the stamp is written;
/// when it fails, `hint` says what the machine lacks.
pub fn venv(name: &str, requirement: &str, check: &str, hint: &str) -> PathBuf {
    let dir = peers_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{name}.lock")))
        .unwrap();
    lock.lock().unwrap();
    let venv = dir.join(name);
    let stamp = venv.join(".keria-stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirement) {
        return venv;
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).unwrap();
    }
    let python = find_python();
    run_checked(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        "python -m venv (Debian needs python3-venv)",
    );
    run_checked(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--disable-pip-version-check",
            "--no-input",
            requirement,
        ]),
        &format!("pip install {requirement}"),
    );
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", check])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{requirement} is installed but does not load: {hint}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&stamp, requirement).unwrap();
    drop::<File>(lock);
    venv
}

fn run_checked(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A private `HOME` for peers under `target/peers/homes/`, removed when dropped. Kept out of
/// `/tmp` so nothing a peer writes lands in the machine's temp dir either (the sandbox points
/// `TMPDIR` at `$HOME/tmp`).
pub fn private_home() -> tempfile::TempDir {
    let homes = peers_dir().join("homes");
    std::fs::create_dir_all(&homes).unwrap();
    tempfile::Builder::new()
        .prefix("home-")
        .tempdir_in(homes)
        .unwrap()
}

/// A command of a peer's venv (`kli`, `vLEI-server`), run through the sandbox with `home` as
/// `HOME`.
pub fn sandboxed(venv: &Path, program: &str, home: &Path) -> Command {
    let mut command = Command::new(peers_source_dir().join("keri-sandbox"));
    command
        .arg(venv.join("bin").join(program))
        .env("HOME", home)
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null());
    command
}

/// Runs a sandboxed command to completion; its stdout. Fails the test with its output when it
/// does not exit 0.
pub fn run_sandboxed(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A free port on 127.0.0.1, as the system hands them out (free when this returns; the peer
/// binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A long-running peer in its own process group, its output in `log`; the group is killed
/// when dropped.
pub struct PeerProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl PeerProcess {
    /// Spawns `command` as the leader of a new process group, stdout and stderr to `log`.
    pub fn spawn(mut command: Command, name: &str, log: PathBuf) -> Self {
        let file = File::create(&log).unwrap();
        let child = command
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        Self {
            child,
            name: name.to_owned(),
            log,
        }
    }

    /// The process (and group) id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// What the peer wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `GET http://127.0.0.1:{port}{path}` until it answers 200; that answer. Fails the
    /// test when the peer exits first or PEER_PATIENCE passes.
    pub fn wait_ready(&mut self, port: u16, path: &str) -> PeerResponse {
        let deadline = Instant::now() + PEER_PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before it was ready:\n{}",
                    self.name,
                    self.log()
                );
            }
            if let Some(response) = http_get(port, path).filter(|r| r.status == 200) {
                return response;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer GET {path} on port {port} within {PEER_PATIENCE:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process group and reaps the leader.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill_process_group(Pid::from_raw(self.pid()).unwrap(), Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether any process still belongs to process group `pgid` (read from `/proc`).
pub fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|pgrp| pgrp.parse::<i32>().ok())
            == Some(pgid)
    })
}

/// An HTTP answer of a peer.
#[derive(Debug)]
pub struct PeerResponse {
    pub status: u16,
    pub body: String,
}

/// `GET path` on 127.0.0.1:`port` with `Connection: close`, read to the end; None when nothing
/// answers (yet) or the answer is cut short.
pub fn http_get(port: u16, path: &str) -> Option<PeerResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(PEER_PATIENCE)).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(PeerResponse {
        status,
        body: body.to_owned(),
    })
}
