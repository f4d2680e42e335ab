//! Runs the real `keria` binary: spawn on ephemeral ports in a temp data dir, wait on its
//! readiness (the ready log line or a notify datagram), signal it, talk HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// How long any wait in these tests may take before it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn keria_bin() -> &'static str {
    env!("CARGO_BIN_EXE_keria")
}

/// Lines the child wrote to stderr, shared with the reader thread.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

impl Lines {
    /// Waits for a line containing `needle`; None after PATIENCE.
    fn wait_for(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut lines = self.lines.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|line| line.contains(needle)) {
                return Some(line.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            lines = self.changed.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }
}

/// A builder for one `keria start`.
pub struct Start {
    args: Vec<String>,
    env: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    notify: bool,
    unshare: bool,
    open_file_limit: Option<(u64, u64)>,
    /// Size in KiB of a tmpfs of its own that the data dir lives on.
    tmpfs: Option<u64>,
    ports: Ports,
}

impl Start {
    pub fn new() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            data_dir: None,
            notify: false,
            unshare: false,
            open_file_limit: None,
            tmpfs: None,
            ports: Ports {
                admin: 0,
                http: 0,
                boot: 0,
            },
        }
    }

    /// Listens on these ports (a restart on the ports other agents know) instead of ones the
    /// system chooses.
    pub fn ports(mut self, ports: Ports) -> Self {
        self.ports = ports;
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Uses this data dir (kept by the caller, as it made it) instead of a fresh one.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// Gives the child a NOTIFY_SOCKET bound by the test.
    pub fn notify(mut self) -> Self {
        self.notify = true;
        self
    }

    /// Runs keria as PID 1 of a new PID namespace.
    pub fn in_pid_namespace(mut self) -> Self {
        self.unshare = true;
        self
    }

    /// Runs keria in a mount namespace of its own (as root) with its data dir on a tmpfs of
    /// `kib` KiB: a disk that fills. The test reaches that tmpfs through
    /// `Keria::namespace_path`.
    pub fn on_tmpfs(mut self, kib: u64) -> Self {
        self.tmpfs = Some(kib);
        self
    }

    /// Runs keria with this soft and hard open-file limit (through `prlimit`, which execs it).
    pub fn open_file_limit(mut self, soft: u64, hard: u64) -> Self {
        self.open_file_limit = Some((soft, hard));
        self
    }

    /// Spawns the process without waiting for it to be ready.
    pub fn spawn(self) -> Keria {
        let temp = tempfile::tempdir().unwrap();
        let mount = temp.path().join("fs");
        let data_dir = match self.tmpfs {
            Some(_) => {
                std::fs::create_dir(&mount).unwrap();
                mount.join("data")
            }
            None => self
                .data_dir
                .clone()
                .unwrap_or_else(|| temp.path().join("data")),
        };
        let notify = self.notify.then(|| {
            let path = temp.path().join("notify.sock");
            let socket = UnixDatagram::bind(&path).unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            (socket, path)
        });
        let mut command = if let Some(kib) = self.tmpfs {
            // unshare and sh exec keria in turn: it keeps their pid.
            let mut command = Command::new("unshare");
            command.args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                &format!(
                    "mount -t tmpfs -o size={kib}k,mode=0700 keria-test \"$0\" && exec \"$@\""
                ),
                mount.to_str().unwrap(),
                keria_bin(),
            ]);
            command
        } else if self.unshare {
            let mut command = Command::new("unshare");
            command.args(["--pid", "--fork", "--mount-proc", keria_bin()]);
            command
        } else if let Some((soft, hard)) = self.open_file_limit {
            let mut command = Command::new("prlimit");
            command
                .arg(format!("--nofile={soft}:{hard}"))
                .arg(keria_bin());
            command
        } else {
            Command::new(keria_bin())
        };
        command.arg("start").args([
            "--data-dir",
            data_dir.to_str().unwrap(),
            "-a",
            &self.ports.admin.to_string(),
            "-H",
            &self.ports.http.to_string(),
            "-B",
            &self.ports.boot.to_string(),
        ]);
        command.args(&self.args);
        command
            .env_remove("NOTIFY_SOCKET")
            .env_remove("RUST_LOG")
            .env("KERIA_LOG_LEVEL", "INFO");
        if let Some((_, path)) = &notify {
            command.env("NOTIFY_SOCKET", path);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Lines::default());
        let stderr = child.stderr.take().unwrap();
        let reader_lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                reader_lines.lines.lock().unwrap().push(line);
                reader_lines.changed.notify_all();
            }
        });
        Keria {
            child,
            unshare: self.unshare,
            _temp: temp,
            data_dir,
            lines,
            notify: notify.map(|(socket, _)| socket),
            ports: None,
        }
    }

    /// Spawns and waits until all three ports accept.
    pub fn start(self) -> Keria {
        let mut keria = self.spawn();
        keria.wait_ready();
        keria
    }
}

/// The admin, http and boot ports a running keria bound.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub admin: u16,
    pub http: u16,
    pub boot: u16,
}

/// A spawned `keria start`.
pub struct Keria {
    pub child: Child,
    unshare: bool,
    _temp: tempfile::TempDir,
    pub data_dir: PathBuf,
    lines: Arc<Lines>,
    notify: Option<UnixDatagram>,
    ports: Option<Ports>,
}

impl Keria {
    /// Waits for the ready line and reads the bound ports from it.
    pub fn wait_ready(&mut self) -> Ports {
        let line = self
            .wait_for_log("ready: admin port")
            .unwrap_or_else(|| panic!("keria never became ready; log:\n{}", self.log()));
        let number = |label: &str| -> u16 {
            let rest = &line[line.find(label).unwrap() + label.len()..];
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap()
        };
        let ports = Ports {
            admin: number("admin port "),
            http: number("http port "),
            boot: number("boot port "),
        };
        self.ports = Some(ports);
        ports
    }

    pub fn ports(&self) -> Ports {
        self.ports.expect("keria is not ready yet")
    }

    /// Waits for a log line containing `needle`; None after PATIENCE.
    pub fn wait_for_log(&self, needle: &str) -> Option<String> {
        self.lines.wait_for(needle)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.lines.lines.lock().unwrap().join("\n")
    }

    /// The next notify datagram.
    pub fn next_notify(&self) -> String {
        let mut buffer = [0_u8; 4096];
        let socket = self.notify.as_ref().expect("started without .notify()");
        let len = socket
            .recv(&mut buffer)
            .expect("no notify datagram in time");
        String::from_utf8_lossy(&buffer[..len]).into_owned()
    }

    /// `path` as keria's own mount namespace shows it (its tmpfs, with `on_tmpfs`).
    pub fn namespace_path(&self, path: &Path) -> PathBuf {
        let relative = path.strip_prefix("/").unwrap_or(path);
        PathBuf::from(format!("/proc/{}/root", self.pid())).join(relative)
    }

    /// The pid to signal: keria itself (under unshare, the child of unshare).
    pub fn pid(&self) -> i32 {
        let outer = i32::try_from(self.child.id()).unwrap();
        if !self.unshare {
            return outer;
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let children = std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return pid.parse().unwrap();
            }
            assert!(Instant::now() < deadline, "unshare never forked keria");
            std::thread::yield_now();
        }
    }

    pub fn signal(&self, signal: Signal) {
        kill_process(Pid::from_raw(self.pid()).unwrap(), signal).unwrap();
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                let _ = self.wait_for_log_quietly();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "keria did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_for_log_quietly(&self) -> usize {
        let lines = self.lines.lines.lock().unwrap();
        let (lines, _) = self
            .lines
            .changed
            .wait_timeout(lines, Duration::from_millis(50))
            .unwrap();
        lines.len()
    }

    /// Sends `signal` and waits for the exit.
    pub fn stop_with(&mut self, signal: Signal) -> ExitStatus {
        self.signal(signal);
        self.wait_exit()
    }

    /// Resident memory of the keria process, in KiB (`VmRSS` in /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in /proc status:\n{status}"))
    }

    /// One request on a fresh connection; the raw response.
    #[allow(
        clippy::unused_self,
        reason = "a method reads better next to get and post"
    )]
    pub fn request(&self, port: u16, raw: &str) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        read_response(&mut stream)
    }

    /// `GET path` on `port`.
    pub fn get(&self, port: u16, path: &str) -> Response {
        self.request(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        )
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, port: u16, path: &str, body: &str, extra_headers: &str) -> Response {
        self.request(
            port,
            &format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}", body.len()),
        )
    }
}

impl Drop for Keria {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A response read from the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }
}

/// Reads one response (headers, then Content-Length bytes) from `stream`.
pub fn read_response(stream: &mut impl Read) -> Response {
    let mut buffer = Vec::new();
    let mut byte = [0_u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert!(
            n == 1,
            "connection closed before the response headers: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.push(byte[0]);
    }
    let head = String::from_utf8(buffer).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.parse().unwrap());
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).unwrap();
    Response {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

/// Runs `keria` with `args` to completion: (exit code, stdout, stderr). Fails the test, after
/// killing the child, when it has not exited within PATIENCE.
pub fn run_keria(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(keria_bin())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "keria {args:?} did not exit within {PATIENCE:?}; stderr:\n{}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code().unwrap_or(-1),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}
