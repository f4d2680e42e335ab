//! The log: env_logger writing to stderr or to `--logfile`, which SIGHUP reopens.
//!
//! Lines are env_logger's text, or with `--log-format json` one JSON object per line. When
//! stderr is the journal (systemd sets `JOURNAL_STREAM` to its device and inode), each line
//! starts with its syslog priority (`<6>`) so journald files it at the right level, and text
//! lines carry no timestamp: the journal stamps them itself.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{bail, Context, Result};
use log::{Level, LevelFilter, Record};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines of the form: [time LEVEL target] message
    Text,
    /// One JSON object per line, with time, level, target and message
    Json,
}

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
pub fn init(level: LevelFilter, format: LogFormat, file: Option<&LogFile>) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level).format_timestamp_micros();
    let journal = file.is_none() && stderr_is_journal();
    match (format, journal) {
        (LogFormat::Text, false) => {}
        (LogFormat::Text, true) => {
            builder.format(|out, record| {
                writeln!(
                    out,
                    "<{}>[{} {}] {}",
                    priority(record.level()),
                    record.level(),
                    record.target(),
                    record.args()
                )
            });
        }
        (LogFormat::Json, journal) => {
            builder.format(move |out, record| {
                if journal {
                    write!(out, "<{}>", priority(record.level()))?;
                }
                writeln!(out, "{}", json_line(record))
            });
        }
    }
    if let Ok(filters) = std::env::var("RUST_LOG") {
        builder.parse_filters(&filters);
    }
    if let Some(file) = file {
        builder.target(env_logger::Target::Pipe(Box::new(file.clone())));
    }
    // A second init (in tests that run the agency in-process) keeps the first logger.
    let _ = builder.try_init();
}

/// One record as a JSON object, with KERIA's level names.
fn json_line(record: &Record<'_>) -> serde_json::Value {
    let time = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let level = match record.level() {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    };
    json!({
        "time": time,
        "level": level,
        "target": record.target(),
        "message": record.args().to_string(),
    })
}

/// The syslog priority journald reads from a line's `<N>` prefix.
fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Whether stderr is the stream systemd connected to the journal: `JOURNAL_STREAM` holds its
/// `device:inode`, and it is inherited by children whose stderr may be elsewhere, so it is
/// compared with stderr's own.
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = stream.to_str().and_then(|text| text.split_once(':')) else {
        return false;
    };
    let Ok(stat) = rustix::fs::fstat(io::stderr().as_fd()) else {
        return false;
    };
    device.parse() == Ok(stat.st_dev) && inode.parse() == Ok(stat.st_ino)
}

#[cfg(test)]
mod tests {
    use log::{Level, LevelFilter, Record};

    use super::{json_line, parse_level, priority};

    #[test]
    fn keria_level_names_map_to_filters() {
        assert_eq!(parse_level("DEBUG").unwrap(), LevelFilter::Debug);
        assert_eq!(parse_level("WARNING").unwrap(), LevelFilter::Warn);
        assert_eq!(parse_level("CRITICAL").unwrap(), LevelFilter::Error);
        assert_eq!(parse_level("info").unwrap(), LevelFilter::Info);
        assert!(parse_level("loud").is_err());
    }

    #[test]
    fn json_lines_and_journal_priorities() {
        let line = json_line(
            &Record::builder()
                .args(format_args!("hello \"there\""))
                .level(Level::Warn)
                .target("keria::x")
                .build(),
        );
        assert_eq!(line["level"], "WARNING");
        assert_eq!(line["target"], "keria::x");
        assert_eq!(line["message"], "hello \"there\"");
        assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
        assert_eq!(
            [Level::Error, Level::Warn, Level::Info, Level::Debug].map(priority),
            [3, 4, 6, 7]
        );
    }
}
