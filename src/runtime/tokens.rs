//! Every poll token, and what each job on the worker pool is for: the one place that says who
//! wakes the poll and where a worker's outcome goes.
//!
//! The servers own tokens 0 to 2 (their listeners) and 16 up (their connections); see
//! `server::Servers::owns`. The service's own tokens sit between.

use mio::Token;

use crate::agency::resolutions::{Resolved, Unresolved};
use crate::process::fetcher::FetchOutcome;
use crate::store::copy::Copied;

/// The signal wake-up pipe.
pub(super) const SIGNAL: Token = Token(8);
/// The worker pool's waker: a job has ended.
pub(super) const WORKERS: Token = Token(9);

/// What a worker job is for, so its outcome reaches its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// An OOBI fetch of `Resolutions`, by its id.
    Resolution(u64),
    /// A post of the `Outbox`, by its id.
    Delivery(u64),
    /// A post of an event (or receipts) to a witness, by its id.
    Receipt(u64),
    /// The one backup being written.
    Backup,
}

/// What a worker job gives back.
pub(super) enum Outcome {
    Fetched(FetchOutcome),
    /// An OOBI fetched and examined (`resolutions::examine`).
    Resolved(Result<Resolved, Unresolved>),
    Backup(anyhow::Result<Copied>),
    /// The job panicked, with its message.
    Panicked(String),
}
