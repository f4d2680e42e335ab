//! `keria restore FILE`: puts a backup in place as the agency store of a data dir.
//!
//! Holds the data-dir lock throughout, so no agency can start on the folder meanwhile; refuses a
//! folder an agency holds and a store that already exists; checks FILE opens as a keria store;
//! then copies it beside the store's place, makes it durable and names it (`store_copy`).

use anyhow::{bail, Context, Result};

use crate::cli::RestoreArgs;
use crate::config::default_data_dir;
use crate::exit_code::ExitCode;
use crate::process::lock::DataDirLock;
use crate::store;
use crate::store::copy::{self, TempFile};

/// Runs `keria restore`.
pub fn run(args: &RestoreArgs) -> Result<ExitCode> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let lock = DataDirLock::acquire(&data_dir)?;
    let restored = restore(args, &data_dir);
    let released = lock.release();
    let (agents, target) = restored?;
    released?;
    println!(
        "keria: restored {agents} agents from {} into {}",
        args.file.display(),
        target.display()
    );
    Ok(ExitCode::Success)
}

fn restore(args: &RestoreArgs, data_dir: &std::path::Path) -> Result<(u64, std::path::PathBuf)> {
    let target = copy::store_file(
        data_dir,
        args.base.as_deref().unwrap_or_default(),
        &args.name,
    );
    if target.exists() {
        bail!(
            "a store already exists at {}: restore never replaces one; move it away first",
            target.display()
        );
    }
    let agents = {
        let (_database, reader) = store::read_file(&args.file)
            .with_context(|| format!("{} is not a store keria can read", args.file.display()))?;
        if !reader.is_keria_store().unwrap_or(false) {
            bail!(
                "{} is not a keria agency store (its format marker is missing or unknown)",
                args.file.display()
            );
        }
        reader.agent_count()?
    };
    let folder = target.parent().context("the store has no folder")?;
    store::private_dir(folder)?;
    copy::restore(&args.file, TempFile::beside(&target)?, &target)?;
    Ok((agents, target))
}
