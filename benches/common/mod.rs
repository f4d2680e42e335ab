//! What both benchmarks need: a release `keria` on fixed loopback ports in a temp dir,
//! keep-alive requests, and the statistics printed.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each benchmark uses its own part of these helpers"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keria::keri::primitives::Signer;
use keria::signify::passcode::{inception_from_keys, Tier};

/// A running agency on loopback ports: keria spawned on a temp dir, or (`external`) one that
/// was started outside the benchmark.
pub struct Agency {
    child: Option<Child>,
    pub admin: u16,
    pub http: u16,
    pub boot: u16,
    dir: Option<tempfile::TempDir>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Agency {
    pub fn spawn(dir: tempfile::TempDir) -> Self {
        Self::spawn_in(dir)
    }

    /// The agency already listening on the loopback ports `KERIA_BENCH_AGENCY` names
    /// (`admin,http,boot`, e.g. `3901,3902,3903`), to measure another agency with the same
    /// client; `None` when the variable is unset.
    pub fn external() -> Option<Self> {
        let ports = std::env::var("KERIA_BENCH_AGENCY").ok()?;
        let ports: Vec<u16> = ports
            .split(',')
            .map(|port| {
                port.trim()
                    .parse()
                    .expect("KERIA_BENCH_AGENCY: admin,http,boot")
            })
            .collect();
        let [admin, http, boot] = ports[..] else {
            panic!("KERIA_BENCH_AGENCY names three ports: admin,http,boot");
        };
        Some(Self {
            child: None,
            admin,
            http,
            boot,
            dir: None,
        })
    }

    /// Spawns keria on the data dir `dir` holds.
    pub fn spawn_in(dir: tempfile::TempDir) -> Self {
        // keria refuses a data dir that other users may enter.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let (admin, http, boot) = (free_port(), free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_keria"))
            .args([
                "start",
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--loglevel",
                "ERROR",
            ])
            .args([
                "-a",
                &admin.to_string(),
                "-H",
                &http.to_string(),
                "-B",
                &boot.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            admin,
            http,
            boot,
            dir: Some(dir),
        }
    }

    /// Polls /health until it answers 200; panics after 10 s.
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.boot)) {
                if request(&mut stream, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").0 == 200 {
                    return;
                }
            }
            std::hint::spin_loop();
        }
        panic!("keria did not become healthy");
    }

    pub fn pid(&self) -> i32 {
        let child = self
            .child
            .as_ref()
            .expect("an external agency's pid is not known");
        i32::try_from(child.id()).unwrap()
    }

    /// SIGTERM, then the time until the process has exited.
    pub fn stop(self) -> Duration {
        if self.child.is_none() {
            return Duration::ZERO;
        }
        self.stop_keeping_dir().0
    }

    /// Stops, and hands back the data dir for a restart.
    pub fn stop_keeping_dir(mut self) -> (Duration, tempfile::TempDir) {
        let started = Instant::now();
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.pid()).unwrap(),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let status = self.child.as_mut().expect("spawned").wait().unwrap();
        let elapsed = started.elapsed();
        assert!(status.success(), "keria exited with {status}");
        (elapsed, self.dir.take().expect("spawned"))
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap()
    }
}

/// Sends one request on a keep-alive stream and reads the response: (status, body). The
/// server answers one request at a time, so nothing after the response is read.
pub fn request(stream: &mut TcpStream, raw: &str) -> (u16, String) {
    request_bytes(stream, raw.as_bytes())
}

/// `request` with a request that is not text.
pub fn request_bytes(stream: &mut TcpStream, raw: &[u8]) -> (u16, String) {
    stream.write_all(raw).unwrap();
    let mut received = Vec::with_capacity(4096);
    let mut chunk = [0_u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8(received[..end].to_vec()).unwrap();
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|value| value.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let body_start = end + 4;
            while received.len() < body_start + length {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0, "the connection closed mid-response");
                received.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8(received[body_start..body_start + length].to_vec());
            return (status, body.unwrap());
        }
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return (0, String::new());
        }
        received.extend_from_slice(&chunk[..n]);
    }
}

/// A fresh controller's boot body (random keys), as Signify sends it.
pub fn boot_body() -> String {
    let (icp, sig) = inception_from_keys(&Signer::random().unwrap(), &Signer::random().unwrap());
    keria::commands::boot::boot_body(&icp, &sig, Tier::Low)
}

/// Boots `count` agents over one keep-alive connection; the latency of each.
pub fn boot_agents(agency: &Agency, count: usize) -> Vec<Duration> {
    let bodies: Vec<String> = (0..count).map(|_| boot_body()).collect();
    let mut stream = TcpStream::connect(("127.0.0.1", agency.boot)).unwrap();
    stream.set_nodelay(true).unwrap();
    bodies
        .iter()
        .map(|body| {
            let raw = format!("POST /boot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            let started = Instant::now();
            let (status, answer) = request(&mut stream, &raw);
            assert_eq!(status, 202, "{answer}");
            started.elapsed()
        })
        .collect()
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

pub fn percentile(values: &mut [Duration], fraction: f64) -> Duration {
    values.sort();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((values.len() as f64 - 1.0) * fraction).round() as usize;
    values[index]
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}
