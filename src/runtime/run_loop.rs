//! The single-threaded run loop: one tock at a time, the stop flag checked at the loop head.
//!
//! I/O is served as it arrives: the poll waits with the time left to the next tock as its
//! timeout, so the loop adds no tock of latency to a request, and a signal wakes it at once.
//!
//! The blocking budget. The loop blocks on nothing but the poll and durable writes:
//! - every write a wake-up stages goes into one batch, committed once at the end of the
//!   wake-up (one fsync-bound commit, about 1 ms here), and sooner when it holds
//!   `api::MAX_BATCH` (128) answers, so a wake-up never holds more than 128 answers' writes;
//! - a wake-up reads at most 256 poll events, and a connection awaiting a commit parses no
//!   further request, so what one wake-up can stage is bounded by both;
//! - a tick releases at most `agency::RELEASES_PER_TICK` (64) idle agents, each a drop of
//!   memory with no I/O;
//! - requests that need no write (`/health`, signed reads) are answered as they are parsed,
//!   never behind a commit of a later wake-up;
//! - `POST /backup` costs the loop one exclusive file creation and the start of a read
//!   transaction (microseconds); the copy runs on a worker thread over that transaction
//!   (`api::backup`), one at a time, and wakes the loop through a pipe when done. The loop's
//!   commits go on meanwhile (redb readers never block the writer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::runtime::service::Service;
use crate::server::stop_grace;

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The stop flag was set and every in-flight request finished.
    Stopped,
    /// `--shutdown-timeout` passed while these were still open.
    DeadlinePassed { still_open: Vec<String> },
}

/// Runs `service` until `stop` is set and it drains, or the shutdown deadline passes.
pub fn run(
    stop: &AtomicBool,
    service: &mut Service,
    tock: Duration,
    shutdown_timeout: Duration,
) -> Result<Ended> {
    let mut next_tock = Instant::now() + tock;
    let mut deadline: Option<Instant> = None;
    let mut grace_end: Option<Instant> = None;
    loop {
        let now = Instant::now();
        // Relaxed is enough: the flag carries no data, and the poll's syscall orders it.
        if deadline.is_none() && stop.load(Ordering::Relaxed) {
            deadline = Some(now + shutdown_timeout);
            grace_end = Some(now + stop_grace(shutdown_timeout));
            service.begin_stop();
        }
        // Clients cannot hold the stop: what is still in flight after the grace is dropped.
        if grace_end.is_some_and(|end| now >= end) {
            grace_end = None;
            service.end_grace();
        }
        if let Some(deadline) = deadline {
            if service.is_drained() {
                return Ok(Ended::Stopped);
            }
            if now >= deadline {
                return Ok(Ended::DeadlinePassed {
                    still_open: service.describe_open(),
                });
            }
        }
        if now >= next_tock {
            service.tick(now)?;
            next_tock = now + tock;
        }
        let wake_at = [deadline, grace_end]
            .into_iter()
            .flatten()
            .fold(next_tock, Instant::min);
        service.wait(wake_at.saturating_duration_since(now))?;
    }
}
