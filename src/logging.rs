//! The log: env_logger writing to stderr or to `--logfile`, which SIGHUP reopens.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{bail, Context, Result};
use log::LevelFilter;

/// Maps KERIA's level names (DEBUG INFO WARNING ERROR CRITICAL) and Rust's to a filter.
pub fn parse_level(name: &str) -> Result<LevelFilter> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::Trace,
        "debug" => LevelFilter::Debug,
        "info" => LevelFilter::Info,
        "warning" | "warn" => LevelFilter::Warn,
        "error" | "critical" => LevelFilter::Error,
        "off" => LevelFilter::Off,
        _ => bail!(
            "unknown log level {name:?}: expected DEBUG, INFO, WARNING, ERROR, CRITICAL, trace or off"
        ),
    })
}

/// The open log file, shared with the logger so SIGHUP can swap it.
#[derive(Clone)]
pub struct LogFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl LogFile {
    /// Opens `path` for appending (created 0600).
    pub fn open(path: &Path) -> Result<Self> {
        let file = open_append(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Reopens the file at the same path, after logrotate moved the old one away.
    pub fn reopen(&self) -> Result<()> {
        let file = open_append(&self.path)?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = file;
        Ok(())
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening log file {}", path.display()))
}

/// Installs the global logger at `level` (RUST_LOG, when set, takes precedence).
pub fn init(level: LevelFilter, file: Option<&LogFile>) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level).format_timestamp_micros();
    if let Ok(filters) = std::env::var("RUST_LOG") {
        builder.parse_filters(&filters);
    }
    if let Some(file) = file {
        builder.target(env_logger::Target::Pipe(Box::new(file.clone())));
    }
    // A second init (in tests that run the agency in-process) keeps the first logger.
    let _ = builder.try_init();
}

#[cfg(test)]
mod tests {
    use log::LevelFilter;

    use super::parse_level;

    #[test]
    fn keria_level_names_map_to_filters() {
        assert_eq!(parse_level("DEBUG").unwrap(), LevelFilter::Debug);
        assert_eq!(parse_level("WARNING").unwrap(), LevelFilter::Warn);
        assert_eq!(parse_level("CRITICAL").unwrap(), LevelFilter::Error);
        assert_eq!(parse_level("info").unwrap(), LevelFilter::Info);
        assert!(parse_level("loud").is_err());
    }
}
