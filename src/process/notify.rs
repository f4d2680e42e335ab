//! systemd's notify protocol: READY, STATUS, STOPPING and WATCHDOG datagrams to NOTIFY_SOCKET.
//!
//! Nothing is sent when NOTIFY_SOCKET is unset. A send that fails is logged once and never
//! stops the agency.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A connection to the service manager, or nothing when none asked for one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog_interval: Option<Duration>,
    next_watchdog: Option<Instant>,
    failed: bool,
}

impl Notifier {
    /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
    pub fn from_env() -> Result<Self> {
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(Self::disabled());
        };
        let socket = socket.to_string_lossy().into_owned();
        let address = match socket.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&socket),
        }
        .with_context(|| format!("NOTIFY_SOCKET {socket:?} is not a socket address"))?;
        let datagram = UnixDatagram::unbound().context("creating the notify socket")?;
        let watchdog_interval = watchdog_interval();
        Ok(Self {
            target: Some((datagram, address)),
            watchdog_interval,
            next_watchdog: watchdog_interval.map(|interval| Instant::now() + interval),
            failed: false,
        })
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self {
            target: None,
            watchdog_interval: None,
            next_watchdog: None,
            failed: false,
        }
    }

    /// READY=1 with our pid, once every port accepts.
    pub fn ready(&mut self, status: &str) {
        self.send(&format!(
            "READY=1\nMAINPID={}\nSTATUS={status}",
            std::process::id()
        ));
    }

    /// A STATUS= line for `systemctl status`.
    pub fn status(&mut self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// STOPPING=1, when the graceful stop begins.
    pub fn stopping(&mut self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={status}"));
    }

    /// Sends WATCHDOG=1 when half of WATCHDOG_USEC has passed since the last one.
    pub fn tick(&mut self, now: Instant) {
        if let (Some(interval), Some(next)) = (self.watchdog_interval, self.next_watchdog) {
            if now >= next {
                self.send("WATCHDOG=1");
                self.next_watchdog = Some(now + interval);
            }
        }
    }

    fn send(&mut self, message: &str) {
        let Some((socket, address)) = &self.target else {
            return;
        };
        if let Err(err) = socket.send_to_addr(message.as_bytes(), address) {
            if !self.failed {
                log::warn!("cannot notify the service manager: {err}");
                self.failed = true;
            }
        }
    }
}

/// Half of WATCHDOG_USEC, when the watchdog is meant for this process.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
