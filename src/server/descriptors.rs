//! File descriptors: fitting the connection cap to the open-file limit at start, and a spare
//! descriptor that lets a listener shed a connection when the process has none left.
//!
//! Without the spare, a listener that hits EMFILE leaves its backlog full and, being
//! edge-triggered, never hears of it again.

use std::fs::File;
use std::io;

use mio::net::{TcpListener, TcpStream};
use rustix::io::Errno;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept for everything but connections: listeners, the poll, the signal pipe, the
/// log, the agency's stores and those of loaded agents, the spare.
const DESCRIPTOR_HEADROOM: u64 = 32;

/// The connection cap that fits the open-file limit: the soft limit is raised to the hard one
/// when `max_connections` needs it, and the cap lowered (with a warning) if that is not enough.
pub(super) fn fit_connection_cap(max_connections: usize) -> usize {
    let limit = getrlimit(Resource::Nofile);
    let Some(soft) = limit.current else {
        return max_connections;
    };
    let wanted = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(DESCRIPTOR_HEADROOM);
    let mut available = soft;
    if soft < wanted && limit.maximum.is_none_or(|hard| hard > soft) {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                available = limit.maximum.unwrap_or(u64::MAX);
                log::info!(
                    "raised the open-file limit from {soft} to {}",
                    limit
                        .maximum
                        .map_or_else(|| "unlimited".to_owned(), |hard| hard.to_string())
                );
            }
            Err(err) => log::warn!("cannot raise the open-file limit of {soft}: {err}"),
        }
    }
    if available >= wanted {
        return max_connections;
    }
    let cap = usize::try_from(available.saturating_sub(DESCRIPTOR_HEADROOM))
        .unwrap_or(usize::MAX)
        .max(1);
    log::warn!(
        "--max-connections {max_connections} does not fit the open-file limit of {available} \
         ({DESCRIPTOR_HEADROOM} kept for the rest): serving at most {cap} connections"
    );
    cap
}

/// Whether an accept failed because the process or the system ran out of descriptors.
pub(super) fn is_out_of_descriptors(err: &io::Error) -> bool {
    matches!(Errno::from_io_error(err), Some(Errno::MFILE | Errno::NFILE))
}

/// One descriptor held back, given up for a moment to accept a connection and close it.
pub(super) struct Spare(Option<File>);

impl Spare {
    pub(super) fn open() -> Self {
        Self(File::open("/dev/null").ok())
    }

    /// Accepts one pending connection on `listener` with the spare descriptor and hands it to
    /// `refuse`, which drops it; false if even that failed.
    pub(super) fn shed(&mut self, listener: &TcpListener, refuse: impl FnOnce(&TcpStream)) -> bool {
        self.0 = None;
        let shed = match listener.accept() {
            Ok((socket, _)) => {
                refuse(&socket);
                true
            }
            Err(_) => false,
        };
        self.0 = File::open("/dev/null").ok();
        shed
    }
}
