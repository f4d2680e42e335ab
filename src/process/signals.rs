//! Signal handling for `keria start`: one owner, installed before anything else opens.
//!
//! SIGTERM and SIGINT set the shared stop flag; a second one while the flag is set exits at
//! once with 128+n. SIGHUP sets a flag that asks for the log file to be reopened, unless it
//! was ignored when the process started (nohup). Every handler also writes a byte to a pipe
//! so the run loop's poll wakes at once instead of at the next tock.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use mio::net::UnixStream;
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::{flag, low_level};

/// The installed handlers and the flags they set; dropping it leaves them installed.
pub struct Signals {
    stop: Arc<AtomicBool>,
    hangup: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    /// Installs the handlers. Call first thing in `start`, before any store or socket opens.
    ///
    /// The three signals are blocked while the handlers are registered, so one that arrives
    /// half-way is delivered once every action is in place, never to a partial set.
    pub fn install() -> Result<Self> {
        let mut blocked = SigSet::empty();
        for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
            blocked.add(signal);
        }
        let mut previous = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut previous))
            .context("blocking signals while their handlers are installed")?;
        let installed = Self::register();
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)
            .context("unblocking signals after their handlers are installed")?;
        installed
    }

    fn register() -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let hangup = Arc::new(AtomicBool::new(false));
        let (wake, wake_writer) =
            std::os::unix::net::UnixStream::pair().context("creating the signal wake-up pipe")?;
        wake.set_nonblocking(true)
            .context("creating the signal wake-up pipe")?;
        wake_writer
            .set_nonblocking(true)
            .context("creating the signal wake-up pipe")?;
        for signal in [SIGTERM, SIGINT] {
            // The conditional exit must be registered before the arming flag: a second
            // signal finds the flag already set and exits; the first only sets it.
            flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&stop))
                .with_context(|| format!("installing the handler for signal {signal}"))?;
            flag::register(signal, Arc::clone(&stop))
                .with_context(|| format!("installing the handler for signal {signal}"))?;
            register_wake(signal, &wake_writer)?;
        }
        if !ignored_at_start(SIGHUP) {
            flag::register(SIGHUP, Arc::clone(&hangup)).context("installing the SIGHUP handler")?;
            register_wake(SIGHUP, &wake_writer)?;
        }
        let wake = UnixStream::from_std(wake);
        Ok(Self { stop, hangup, wake })
    }

    /// The flag SIGTERM and SIGINT set; the run loop stops when it is true.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// True once per SIGHUP received since the last call.
    pub fn take_hangup(&self) -> bool {
        self.hangup.swap(false, Ordering::Relaxed)
    }

    /// The read end that becomes readable when a signal arrives.
    pub fn wake_source(&mut self) -> &mut UnixStream {
        &mut self.wake
    }

    /// Empties the wake-up pipe after the poll reported it readable.
    pub fn drain_wake(&mut self) {
        let mut buffer = [0_u8; 64];
        loop {
            match self.wake.read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

/// Makes `signal` write a byte to `writer`, waking the poll.
fn register_wake(signal: i32, writer: &std::os::unix::net::UnixStream) -> Result<()> {
    let writer = writer
        .try_clone()
        .context("cloning the signal wake-up pipe")?;
    low_level::pipe::register(signal, writer)
        .with_context(|| format!("installing the wake-up for signal {signal}"))?;
    Ok(())
}

/// Whether `signal` was ignored when the process started, read from `/proc/self/status`.
fn ignored_at_start(signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}
