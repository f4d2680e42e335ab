//! keri's own witnesses (keri 1.2.13 from PyPI, `kli`), as the peers the witness and
//! credential tests talk to: any number on free loopback ports, in parallel, or keri's fixed
//! six-witness demo. Every run keeps its stores under a private `HOME` (see
//! `tests/peers/keri-sandbox`) removed on drop, and kills its processes on drop.

use std::path::Path;

use crate::peers::{self, group_alive, http_get, PeerProcess};

/// The keri release the witnesses run.
pub const KERI: &str = "keri==1.2.13";

/// The venv holding keri, made on first use.
pub fn keri_venv() -> std::path::PathBuf {
    peers::venv(
        "keri-1.2.13",
        KERI,
        "import pysodium",
        "keri needs libsodium (Debian: apt-get install libsodium23)",
    )
}

/// A running witness, as its controllers reach it.
#[derive(Debug, Clone)]
pub struct Witness {
    pub name: String,
    /// Its non-transferable identifier (`B…`).
    pub aid: String,
    pub http_port: u16,
    pub tcp_port: u16,
    /// `http://127.0.0.1:{http_port}/oobi/{aid}/controller`.
    pub oobi_url: String,
}

/// N witnesses, each `kli witness start` in its own process group.
pub struct Witnesses {
    started: Vec<Witness>,
    processes: Vec<PeerProcess>,
    home: tempfile::TempDir,
}

impl Witnesses {
    /// Starts `count` witnesses on free ports, in parallel, and waits until each serves its
    /// OOBI.
    ///
    /// Each is made with keri's commands: `kli init` (keystore, with a salt), `kli incept`
    /// (its non-transferable identifier, whose config section sets the `curls` its OOBI
    /// carries), then `kli witness start`. keri 1.2.13's `witness start` fails on any
    /// `--config-file` (it calls `Configer.get` with an argument that method lacks), hence the
    /// identifier made beforehand: `witness start` uses an existing one of its alias.
    pub fn start(count: usize) -> Self {
        let venv = keri_venv();
        let home = peers::private_home();
        let started: Vec<(Witness, PeerProcess)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .map(|index| {
                    let (venv, home) = (&venv, home.path());
                    scope.spawn(move || start_one(venv, home, index))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        let (started, processes) = started.into_iter().unzip();
        Self {
            started,
            processes,
            home,
        }
    }

    /// The witnesses, in the order they were asked for.
    pub fn list(&self) -> &[Witness] {
        &self.started
    }

    /// The private `HOME` holding every witness's stores (`.keri/{db,ks,reg}/{name}`).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The process group ids, one per witness.
    pub fn process_groups(&self) -> Vec<i32> {
        self.processes.iter().map(PeerProcess::pid).collect()
    }

    /// Kills witness `index` (its process group); its stores stay for `restart`.
    pub fn stop_one(&mut self, index: usize) {
        self.processes[index].stop();
    }

    /// Starts witness `index` again, on its ports and with its stores, and waits until it
    /// serves its OOBI.
    pub fn restart(&mut self, index: usize) {
        let witness = self.started[index].clone();
        let mut command = peers::sandboxed(&keri_venv(), "kli", self.home.path());
        command.args([
            "witness",
            "start",
            "--name",
            &witness.name,
            "--alias",
            &witness.name,
            "-H",
            &witness.http_port.to_string(),
            "-T",
            &witness.tcp_port.to_string(),
        ]);
        let log = self.home.path().join(format!("{}-again.log", witness.name));
        let mut process = PeerProcess::spawn(command, &witness.name, log);
        process.wait_ready(
            witness.http_port,
            &format!("/oobi/{}/controller", witness.aid),
        );
        self.processes[index] = process;
    }

    /// Kills every witness (their process groups) and removes their `HOME`.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Witnesses {
    fn drop(&mut self) {
        // Witnesses first, then (as a field, after this) the HOME their stores are in.
        while let Some(mut process) = self.processes.pop() {
            process.stop();
        }
    }
}

/// A CESR salt (`0A…`, 16 raw bytes) for witness `index`, fixed so a witness's keys are the
/// same from run to run.
fn salt(index: usize) -> String {
    use base64::Engine as _;
    let raw = format!("keria-witness{index:03}");
    assert_eq!(raw.len(), 16);
    let mut padded = vec![0_u8, 0];
    padded.extend_from_slice(raw.as_bytes());
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(padded);
    format!("0A{}", &text[2..])
}

fn start_one(venv: &Path, home: &Path, index: usize) -> (Witness, PeerProcess) {
    let name = format!("witness{index}");
    let (http_port, tcp_port) = (peers::free_port(), peers::free_port());
    // keri reads `{config-dir}/keri/cf/{file}.json`; the section named for the alias holds the
    // witness's own URLs.
    let config_dir = home.join(format!("config-{name}"));
    std::fs::create_dir_all(config_dir.join("keri/cf")).unwrap();
    let config = serde_json::json!({
        "dt": "2024-01-01T00:00:00.000000+00:00",
        name.clone(): {
            "dt": "2024-01-01T00:00:00.000000+00:00",
            "curls": [
                format!("tcp://127.0.0.1:{tcp_port}/"),
                format!("http://127.0.0.1:{http_port}/"),
            ],
        },
    });
    std::fs::write(
        config_dir.join(format!("keri/cf/{name}.json")),
        config.to_string(),
    )
    .unwrap();
    let inception = home.join(format!("{name}-incept.json"));
    std::fs::write(
        &inception,
        r#"{"transferable": false, "wits": [], "toad": 0, "icount": 1, "ncount": 0, "isith": "1", "nsith": "0"}"#,
    )
    .unwrap();
    let config_dir_arg = config_dir.to_str().unwrap();
    peers::run_sandboxed(
        peers::sandboxed(venv, "kli", home).args([
            "init",
            "--name",
            &name,
            "--nopasscode",
            "--salt",
            &salt(index),
            "--config-dir",
            config_dir_arg,
            "--config-file",
            &name,
        ]),
        &format!("kli init --name {name}"),
    );
    let incepted = peers::run_sandboxed(
        peers::sandboxed(venv, "kli", home).args([
            "incept",
            "--name",
            &name,
            "--alias",
            &name,
            "--config",
            config_dir_arg,
            "--file",
            inception.to_str().unwrap(),
        ]),
        &format!("kli incept --name {name}"),
    );
    let Some(aid) = incepted
        .lines()
        .find_map(|line| line.strip_prefix("Prefix"))
        .map(|rest| rest.trim().to_owned())
    else {
        panic!("kli incept printed no prefix:\n{incepted}");
    };
    let mut command = peers::sandboxed(venv, "kli", home);
    command.args([
        "witness",
        "start",
        "--name",
        &name,
        "--alias",
        &name,
        "-H",
        &http_port.to_string(),
        "-T",
        &tcp_port.to_string(),
    ]);
    let mut process = PeerProcess::spawn(command, &name, home.join(format!("{name}.log")));
    let path = format!("/oobi/{aid}/controller");
    process.wait_ready(http_port, &path);
    let witness = Witness {
        oobi_url: format!("http://127.0.0.1:{http_port}{path}"),
        name,
        aid,
        http_port,
        tcp_port,
    };
    (witness, process)
}

/// keri's six demo witnesses (`kli witness demo`): name, identifier (from the demo's fixed
/// salts), http port, tcp port.
pub const DEMO_WITNESSES: [(&str, &str, u16, u16); 6] = [
    (
        "wan",
        "BBilc4-L3tFUnfM_wJr4S4OJanAv_VmF_dJNN6vkf2Ha",
        5642,
        5632,
    ),
    (
        "wil",
        "BLskRTInXnMxWaGqcpSyMgo0nYbalW99cGZESrz3zapM",
        5643,
        5633,
    ),
    (
        "wes",
        "BIKKuvBwpmDVA4Ds-EpL5bt9OqPzWPja2LigFYZN2YfX",
        5644,
        5634,
    ),
    (
        "wit",
        "BM35JN8XeJSEfpxopjn5jr7tAHCE5749f0OobhMLCorE",
        5645,
        5635,
    ),
    (
        "wub",
        "BIj15u5V11bkbtAxMA7gcNJZcax-7TgaBMLsQnMHpYHP",
        5646,
        5636,
    ),
    (
        "wyz",
        "BF2rZTW79z4IXocYRQnjjsOuvFUQv-ptCf8Yltd7PfsM",
        5647,
        5637,
    ),
];

/// `kli witness demo` on its fixed ports (tcp 5632–5637, http 5642–5647). It reads
/// `./scripts/keri/cf/main/{name}.json` from its working directory: `tests/peers/witness-demo/`.
pub struct WitnessDemo {
    pub witnesses: Vec<Witness>,
    process: PeerProcess,
    _home: tempfile::TempDir,
    /// Held while the demo runs: other runs on this machine (another test run,
    /// `tests/peers/signify-ts-scripts`) wait for the fixed ports on the same lock.
    _ports: std::fs::File,
}

impl WitnessDemo {
    /// Starts the demo and waits until all six serve their OOBIs.
    pub fn start() -> Self {
        let ports = std::fs::File::create(std::env::temp_dir().join("keria-fixed-ports.lock"))
            .expect("create the fixed ports' lock file");
        rustix::fs::flock(&ports, rustix::fs::FlockOperation::LockExclusive)
            .expect("take the fixed ports' lock");
        let venv = keri_venv();
        let home = peers::private_home();
        let mut command = peers::sandboxed(&venv, "kli", home.path());
        command
            .args(["witness", "demo"])
            .current_dir(peers::peers_source_dir().join("witness-demo"));
        let mut process =
            PeerProcess::spawn(command, "kli witness demo", home.path().join("demo.log"));
        let witnesses: Vec<Witness> = DEMO_WITNESSES
            .iter()
            .map(|&(name, aid, http_port, tcp_port)| Witness {
                name: name.to_owned(),
                aid: aid.to_owned(),
                http_port,
                tcp_port,
                oobi_url: format!("http://127.0.0.1:{http_port}/oobi/{aid}/controller"),
            })
            .collect();
        for witness in &witnesses {
            process.wait_ready(
                witness.http_port,
                &format!("/oobi/{}/controller", witness.aid),
            );
        }
        Self {
            witnesses,
            process,
            _home: home,
            _ports: ports,
        }
    }

    /// The demo's process group id.
    pub fn process_group(&self) -> i32 {
        self.process.pid()
    }
}

/// Checks that an OOBI answer is a KERI stream carrying replies (the witness's location and
/// role), as controllers expect.
fn assert_keri_stream(witness: &Witness) {
    let answer = http_get(
        witness.http_port,
        &format!("/oobi/{}/controller", witness.aid),
    )
    .unwrap_or_else(|| panic!("no answer from {}", witness.oobi_url));
    assert_eq!(answer.status, 200, "{}: {}", witness.oobi_url, answer.body);
    assert!(
        answer.body.starts_with(r#"{"v":"KERI10JSON"#),
        "{}: {}",
        witness.oobi_url,
        answer.body
    );
    assert!(answer.body.contains(r#""t":"rpy""#), "{}", answer.body);
    assert!(answer.body.contains(&witness.aid), "{}", answer.body);
    assert!(
        answer
            .body
            .contains(&format!("http://127.0.0.1:{}/", witness.http_port)),
        "the OOBI does not carry the witness's http URL: {}",
        answer.body
    );
    assert!(
        answer
            .body
            .contains(&format!("tcp://127.0.0.1:{}/", witness.tcp_port)),
        "the OOBI does not carry the witness's tcp URL: {}",
        answer.body
    );
}

/// Where keri would have put a store of `name` had it not been kept under the private HOME.
fn stores_outside(name: &str) -> Vec<std::path::PathBuf> {
    let mut heads = vec![Path::new("/usr/local/var/keri").to_path_buf()];
    if let Some(home) = std::env::var_os("HOME") {
        heads.push(Path::new(&home).join(".keri"));
    }
    heads
        .into_iter()
        .flat_map(|head| ["db", "ks", "reg", "cf"].map(|kind| head.join(kind).join(name)))
        .filter(|path| path.exists() || path.with_extension("json").exists())
        .collect()
}

#[test]
fn three_witnesses_serve_their_oobis_and_leave_nothing_behind() {
    let witnesses = Witnesses::start(3);
    assert_eq!(witnesses.list().len(), 3);
    let mut aids: Vec<&str> = witnesses.list().iter().map(|w| w.aid.as_str()).collect();
    aids.sort_unstable();
    aids.dedup();
    assert_eq!(aids.len(), 3, "three distinct witnesses: {aids:?}");
    for witness in witnesses.list() {
        assert!(
            witness.aid.starts_with('B'),
            "non-transferable: {witness:?}"
        );
        assert_keri_stream(witness);
        let store = witnesses.home().join(".keri/db").join(&witness.name);
        assert!(store.is_dir(), "no store at {}", store.display());
    }
    let home = witnesses.home().to_path_buf();
    let groups = witnesses.process_groups();
    let names: Vec<String> = witnesses.list().iter().map(|w| w.name.clone()).collect();
    witnesses.stop();
    for group in groups {
        assert!(!group_alive(group), "process group {group} is still alive");
    }
    assert!(!home.exists(), "{} was left behind", home.display());
    for name in names {
        assert_eq!(stores_outside(&name), Vec::<std::path::PathBuf>::new());
    }
}

#[test]
fn the_witness_demo_serves_six_oobis_on_its_fixed_ports() {
    let demo = WitnessDemo::start();
    for witness in &demo.witnesses {
        assert_keri_stream(witness);
    }
    let group = demo.process_group();
    drop(demo);
    assert!(
        !group_alive(group),
        "the demo's process group is still alive"
    );
    for (name, ..) in DEMO_WITNESSES {
        assert_eq!(stores_outside(name), Vec::<std::path::PathBuf>::new());
    }
}
