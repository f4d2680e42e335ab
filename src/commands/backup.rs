//! `keria backup FILE`: a consistent copy of the agency store, from a running agency or not.
//!
//! First asks the agency on the boot port (`POST /backup`, the same URL, port and TLS options as
//! `status`) to write the copy itself from one read transaction. When nothing answers there and
//! no agency holds the data dir, it takes the data-dir lock and copies the store itself; when an
//! agency holds the lock but does not answer, it stops with exit 3 rather than guess.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::cli::BackupArgs;
use crate::commands::client::{self, agency_base_url};
use crate::config::default_data_dir;
use crate::exit_code::ExitCode;
use crate::process::lock::{self, DataDirLock, LockState};
use crate::store::copy::{self, Copied, TempFile};
use crate::store::{self, Opened, Store};

/// How long a running agency may take to write the copy.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(3600);

/// What the agency or the offline copy reported.
struct Written {
    path: String,
    agents: u64,
    bytes: u64,
    seconds: f64,
    by: &'static str,
}

/// Runs `keria backup`.
pub fn run(args: &BackupArgs) -> Result<ExitCode> {
    let url = format!(
        "{}/backup",
        agency_base_url(args.url.as_ref(), args.ports.boot, &args.tls)
    );
    let agent = client::agent(&args.tls, BACKUP_TIMEOUT)?;
    let mut request = agent.post(&url).set("Content-Type", "application/json");
    if let (Some(user), Some(password)) = (
        &args.boot_auth.experimental_boot_username,
        &args.boot_auth.experimental_boot_password,
    ) {
        request = request.set(
            "Authorization",
            &format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
        );
    }
    let body = json!({ "name": args.file, "force": args.force }).to_string();
    let written = match request.send_string(&body) {
        Ok(response) => {
            let answer: Value = response
                .into_json()
                .with_context(|| format!("reading the answer of {url}"))?;
            Written {
                path: answer["path"].as_str().unwrap_or_default().to_owned(),
                agents: answer["agents"].as_u64().unwrap_or(0),
                bytes: answer["bytes"].as_u64().unwrap_or(0),
                seconds: answer["seconds"].as_f64().unwrap_or(0.0),
                by: "the running agency",
            }
        }
        Err(ureq::Error::Status(status, response)) => {
            let answer: Value = response.into_json().unwrap_or(Value::Null);
            let why = answer["description"]
                .as_str()
                .map_or_else(|| format!("status {status}"), ToOwned::to_owned);
            if status == 409 {
                eprintln!("keria: error: backup {}: {why}", args.file);
                return Ok(ExitCode::AlreadyExists);
            }
            bail!("{url} refused the backup ({status}): {why}");
        }
        Err(ureq::Error::Transport(err)) => {
            let data_dir = match &args.data_dir {
                Some(dir) => dir.clone(),
                None => default_data_dir()?,
            };
            if let LockState::Held(pid) = lock::inspect(&data_dir) {
                eprintln!(
                    "keria: error: {url} does not answer ({err}), but pid {} holds the data dir {}",
                    pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string()),
                    data_dir.display()
                );
                return Ok(ExitCode::NotRunning);
            }
            let Some(folder) = &args.backup_dir else {
                bail!(
                    "{url} does not answer ({err}); to copy the store without an agency, name the \
                     backup folder with --backup-dir or KERIA_BACKUP_DIR"
                );
            };
            let folder = copy::prepare_backup_folder(folder, &data_dir)?;
            let target = folder.join(&args.file);
            let store = copy::store_file(
                &data_dir,
                args.base.as_deref().unwrap_or_default(),
                &args.name,
            );
            if !store.exists() {
                bail!(
                    "{url} does not answer ({err}) and there is no store at {}",
                    store.display()
                );
            }
            if target.exists() && !args.force {
                eprintln!(
                    "keria: error: backup to {0}: {0} already exists (--force replaces it)",
                    target.display()
                );
                return Ok(ExitCode::AlreadyExists);
            }
            offline(&data_dir, &store, &target, args.force)?
        }
    };
    if args.json {
        println!(
            "{}",
            json!({"path": written.path, "agents": written.agents, "bytes": written.bytes,
                   "seconds": written.seconds, "by": written.by})
        );
    } else {
        println!(
            "keria: backup of {} agents written to {} by {} ({} bytes, {:.3}s)",
            written.agents, written.path, written.by, written.bytes, written.seconds
        );
    }
    Ok(ExitCode::Success)
}

/// Copies the store of a data dir no agency holds, under its lock.
fn offline(data_dir: &Path, store: &Path, target: &Path, force: bool) -> Result<Written> {
    let started = Instant::now();
    let lock = DataDirLock::acquire(data_dir)?;
    let copied = copy_store(store, target, force);
    let released = lock.release();
    let copied = copied?;
    released?;
    Ok(Written {
        path: target.display().to_string(),
        agents: copied.agents,
        bytes: copied.bytes,
        seconds: started.elapsed().as_secs_f64(),
        by: "keria (no agency was running)",
    })
}

/// Copies `store` to `target`: read-only when the file is clean, else through a normal open,
/// which repairs what a killed agency left (the lock is held, so nothing else writes).
fn copy_store(store: &Path, target: &Path, force: bool) -> Result<Copied> {
    let cancel = AtomicBool::new(false);
    match store::read_file(store) {
        Ok((_database, reader)) => {
            copy::backup(&reader, TempFile::beside(target)?, target, force, &cancel)
        }
        Err(read_only) => {
            log::debug!("{read_only:#}; opening the store normally");
            let Opened::Ready(opened) = Store::open(store, store::DEFAULT_CACHE_MIB << 20)? else {
                bail!(
                    "{} is in keria 0.1.0's format: start keria once to import it",
                    store.display()
                );
            };
            let copied = opened.read().and_then(|reader| {
                copy::backup(&reader, TempFile::beside(target)?, target, force, &cancel)
            });
            let closed = opened.close();
            let copied = copied?;
            closed?;
            Ok(copied)
        }
    }
}
