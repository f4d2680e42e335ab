//! `keria start`: the lifecycle of the agency process, written as one visible sequence.
//!
//! Opens, in order: signal handlers (installed by `main` before it parses the arguments), the
//! log, the data-dir lock, the service (agency, workers, then servers). Closes in reverse:
//! servers, workers, agents newest first, the store, the lock. Every path out of `run` passes
//! through that close, whether the loop stopped, failed, panicked or outlived its deadline;
//! each step is recorded as it is done, and the record is logged.

use std::panic::{self, AssertUnwindSafe};

use anyhow::{anyhow, Result};

use crate::cli::StartArgs;
use crate::config::StartConfig;
use crate::exit_code::ExitCode;
use crate::process::lock::DataDirLock;
use crate::process::logging::{self, LogFile};
use crate::process::notify::Notifier;
use crate::process::signals::Signals;
use crate::runtime::run_loop::{self, Ended};
use crate::runtime::service::Service;

/// Runs the agency until a signal stops it; `signals` are installed first thing, by `main`.
pub fn run(args: StartArgs, signals: Signals) -> Result<ExitCode> {
    let config = StartConfig::try_from(args)?;
    let log_file = config.log_file.as_deref().map(LogFile::open).transpose()?;
    logging::init(config.log_level, config.log_format, log_file.as_ref());
    let notifier = Notifier::from_env()?;
    let mut closed = Vec::new();
    let code = lifecycle(&config, signals, notifier, log_file, &mut closed)?;
    if code == ExitCode::Success {
        log::info!("Agent {} gracefully stopped", config.name);
    }
    Ok(code)
}

/// Takes the data-dir lock, serves until the stop, and closes; `closed` records each step of
/// the close in order (servers, workers, each agent, the store, the lock).
pub fn lifecycle(
    config: &StartConfig,
    signals: Signals,
    notifier: Notifier,
    log_file: Option<LogFile>,
    closed: &mut Vec<String>,
) -> Result<ExitCode> {
    let lock = DataDirLock::acquire(&config.data_dir)?;
    let outcome = serve(config, signals, notifier, log_file, closed);
    let released = lock.release();
    if released.is_ok() {
        closed.push("lock".to_owned());
    }
    log::debug!("closed, in order: {}", closed.join(", "));
    let code = outcome?;
    released?;
    Ok(code)
}

/// Opens the service, runs the loop, and closes the service whatever the loop did.
fn serve(
    config: &StartConfig,
    signals: Signals,
    notifier: Notifier,
    log_file: Option<LogFile>,
    closed: &mut Vec<String>,
) -> Result<ExitCode> {
    let stop = signals.stop_flag();
    let mut service = Service::open(config, signals, notifier, log_file)?;
    let ended = panic::catch_unwind(AssertUnwindSafe(|| {
        run_loop::run(&stop, &mut service, config.tock, config.shutdown_timeout)
    }))
    .unwrap_or_else(|panic| Err(anyhow!("the run loop panicked: {}", panic_message(&*panic))));
    let closed = service.close(closed);
    match ended {
        Ok(Ended::Stopped) => {
            closed?;
            Ok(ExitCode::Success)
        }
        Ok(Ended::DeadlinePassed { still_open }) => {
            log::error!(
                "shutdown timeout of {:.3}s passed with {} still open: {}",
                config.shutdown_timeout.as_secs_f64(),
                still_open.len(),
                still_open.join("; ")
            );
            if let Err(err) = closed {
                log::error!("{err:#}");
            }
            Ok(ExitCode::Failure)
        }
        Err(err) => {
            if let Err(close_err) = closed {
                log::error!("{close_err:#}");
            }
            Err(err)
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
