//! `cargo bench --bench lifecycle`: figures for the README, measured on the release binary.
//!
//! Start-to-ready (exec → first `/health` 200), signal-to-exit with N agents loaded, boot
//! latency and throughput, memory idle and per loaded agent, `/health` latency under 64
//! concurrent keep-alive connections. Each figure is a median (or percentile) of real runs.

#![allow(
    clippy::cast_precision_loss,
    reason = "figures for people, a few digits are plenty"
)]

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use keria::keri::primitives::Signer;
use keria::signify::passcode::{inception_from_keys, Tier};

use common::{boot_agents, boot_body, median, ms, percentile, request, Agency};

const RUNS: usize = 21;

fn main() {
    let filter = std::env::args().nth(1).filter(|arg| !arg.starts_with('-'));
    let wants = |name: &str| filter.as_deref().is_none_or(|filter| name.contains(filter));
    println!(
        "keria {} benchmarks ({} runs per median)",
        env!("CARGO_PKG_VERSION"),
        RUNS
    );
    if wants("start") {
        start_to_ready();
    }
    if wants("stop") {
        for agents in [0, 50, 100, 1000] {
            signal_to_exit(agents);
        }
    }
    if wants("boot") {
        boot_latency(500);
        boot_concurrent(16, 4000);
    }
    if wants("restart") {
        restart_to_ready(1000);
    }
    if wants("memory") {
        memory(1000);
    }
    if wants("health") {
        health_under_load(64, 200);
    }
    if wants("signed") {
        signed_requests(2000);
    }
}

fn start_to_ready() {
    let samples: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let agency = Agency::spawn(tempfile::tempdir().unwrap());
            agency.wait_healthy();
            let elapsed = started.elapsed();
            agency.stop();
            elapsed
        })
        .collect();
    println!(
        "start-to-ready (exec → /health 200), median: {}",
        ms(median(samples))
    );
}

fn signal_to_exit(agents: usize) {
    let runs = if agents >= 1000 { 5 } else { RUNS };
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let agency = Agency::spawn(tempfile::tempdir().unwrap());
            agency.wait_healthy();
            boot_agents(&agency, agents);
            agency.stop()
        })
        .collect();
    println!(
        "SIGTERM → exit 0 with {agents} agents loaded, median of {runs}: {}",
        ms(median(samples))
    );
}

fn boot_latency(count: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let started = Instant::now();
    let mut latencies = boot_agents(&agency, count);
    let elapsed = started.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "POST /boot ({count} sequential, loopback): p50 {}, p99 {}, {rate:.0} boots/s",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    agency.stop();
}

/// `clients` connections boot `count` agents between them at once: throughput, and the
/// commits' batching (boots per commit) read from keria's own count.
fn boot_concurrent(clients: usize, count: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let bodies: Vec<String> = (0..count).map(|_| boot_body()).collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let boot = agency.boot;
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let queue = std::sync::Arc::clone(&queue);
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut latencies = Vec::new();
                loop {
                    // Taken in a statement of its own, so the lock is not held over the request.
                    let next = queue.lock().unwrap().pop();
                    let Some(body) = next else { break };
                    let raw = format!(
                        "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let sent = Instant::now();
                    let (status, answer) = request(&mut stream, &raw);
                    assert_eq!(status, 202, "{answer}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let rate = count as f64 / elapsed.as_secs_f64();
    let mut scrape = TcpStream::connect(("127.0.0.1", agency.boot)).unwrap();
    let (_, metrics) = request(&mut scrape, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let batch = value("keria_store_commit_batch_size_sum ")
        / value("keria_store_commit_batch_size_count ").max(1.0);
    println!(
        "POST /boot ({count} from {clients} concurrent clients): {rate:.0} boots/s, p50 {}, p99 {}, {batch:.1} answers per commit",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    agency.stop();
}

/// exec → /health 200 on an empty data dir, and on one holding `agents` agents.
fn restart_to_ready(agents: usize) {
    let time_start = |dir: tempfile::TempDir| -> (Duration, tempfile::TempDir) {
        let started = Instant::now();
        let agency = Agency::spawn_in(dir);
        agency.wait_healthy();
        let elapsed = started.elapsed();
        (elapsed, agency.stop_keeping_dir().1)
    };
    let empty: Vec<Duration> = (0..RUNS)
        .map(|_| time_start(tempfile::tempdir().unwrap()).0)
        .collect();
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    boot_agents(&agency, agents);
    let (_, mut dir) = agency.stop_keeping_dir();
    let mut full = Vec::new();
    for _ in 0..RUNS {
        let (elapsed, kept) = time_start(dir);
        full.push(elapsed);
        dir = kept;
    }
    println!(
        "restart to ready, median: empty {}, {agents} agents on disk {}",
        ms(median(empty)),
        ms(median(full))
    );
}

fn memory(agents: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let idle = agency.rss_kib();
    boot_agents(&agency, agents);
    let loaded = agency.rss_kib();
    println!(
        "memory: idle {:.1} MiB RSS; {agents} agents loaded {:.1} MiB, {:.1} KiB per agent",
        idle as f64 / 1024.0,
        loaded as f64 / 1024.0,
        (loaded.saturating_sub(idle)) as f64 / agents as f64
    );
    agency.stop();
}

fn health_under_load(connections: usize, requests: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let boot = agency.boot;
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", boot)).unwrap();
                stream.set_nodelay(true).unwrap();
                (0..requests)
                    .map(|_| {
                        let started = Instant::now();
                        assert_eq!(
                            request(&mut stream, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").0,
                            200
                        );
                        started.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    println!(
        "/health, {connections} concurrent keep-alive connections × {requests}: p50 {}, p99 {}",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    agency.stop();
}

/// Signed `GET /identifiers` over one keep-alive connection: verification, routing and the
/// response signature, as a Signify client sees them.
fn signed_requests(count: usize) {
    let agency = Agency::spawn(tempfile::tempdir().unwrap());
    agency.wait_healthy();
    let current = Signer::random().unwrap();
    let (icp, sig) = inception_from_keys(&current, &Signer::random().unwrap());
    let body = keria::commands::boot::boot_body(&icp, &sig, Tier::Low);
    let mut boot = TcpStream::connect(("127.0.0.1", agency.boot)).unwrap();
    let raw = format!(
        "POST /boot HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(request(&mut boot, &raw).0, 202);
    let requests: Vec<String> = (0..count)
        .map(|_| {
            let headers = keria::signify::httpsig::request_headers(
                icp.prefix(),
                &current,
                "GET",
                "/identifiers",
                time::OffsetDateTime::now_utc(),
            );
            let extra: String = headers
                .iter()
                .map(|(name, value)| [name, ": ", value.as_str(), "\r\n"].concat())
                .collect();
            format!("GET /identifiers HTTP/1.1\r\nHost: x\r\n{extra}\r\n")
        })
        .collect();
    let mut stream = TcpStream::connect(("127.0.0.1", agency.admin)).unwrap();
    stream.set_nodelay(true).unwrap();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = requests
        .iter()
        .map(|raw| {
            let sent = Instant::now();
            assert_eq!(request(&mut stream, raw).0, 200);
            sent.elapsed()
        })
        .collect();
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "signed GET /identifiers ({count} sequential, loopback): p50 {}, p99 {}, {rate:.0} requests/s",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    agency.stop();
}
