//! The one-time import of what keria 0.1.0 wrote: an index store plus one store per agent,
//! in redb 2's file format, into the one agency store.
//!
//! The import writes the new store beside the old index (`<name>.redb.importing`), commits and
//! closes it, and only then renames the old files aside (`….0.1.0`) and the new store into
//! place. A crash at any moment leaves either the old files (the import is redone from
//! scratch) or a committed new store (its rename is finished at the next start).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use redb2::{Database, ReadableTable, TableDefinition};

use crate::store::{Opened, Store, StoredEvent};

const AGENTS: TableDefinition<&str, &str> = TableDefinition::new("agents");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
const SIGNATURES: TableDefinition<(&str, u64), &str> = TableDefinition::new("signatures");
const FIRST_SEEN: TableDefinition<(&str, u64), &str> = TableDefinition::new("first_seen");
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");
const APPROVALS: TableDefinition<(&str, &str), &str> = TableDefinition::new("approvals");

/// Page cache while importing.
const IMPORT_CACHE_BYTES: usize = 1 << 20;
/// The suffix of files renamed aside after an import.
const ASIDE: &str = "0.1.0";

/// Finishes an import that committed its new store but stopped before renaming it into
/// place, and removes one that never committed.
pub fn finish_interrupted(path: &Path) -> Result<()> {
    let importing = with_suffix(path, "importing");
    if !importing.exists() {
        return Ok(());
    }
    if path.exists() {
        log::warn!(
            "removing {}: an import of keria 0.1.0 data stopped before it committed; it is redone",
            importing.display()
        );
        fs::remove_file(&importing).with_context(|| format!("removing {}", importing.display()))?;
    } else {
        fs::rename(&importing, path)
            .with_context(|| format!("moving {} into place", importing.display()))?;
        sync_parent(path)?;
        log::info!(
            "finished the import of keria 0.1.0 data into {}",
            path.display()
        );
    }
    Ok(())
}

/// Imports the 0.1.0 index at `path` and the agent stores it names in `agents_dir`.
pub fn import(path: &Path, agents_dir: &Path) -> Result<()> {
    log::info!(
        "{} was written by keria 0.1.0: importing it and its agents' stores",
        path.display()
    );
    let importing = with_suffix(path, "importing");
    let controllers = copy(path, agents_dir, &importing).with_context(|| {
        format!(
            "importing keria 0.1.0 data from {} (the old files are unchanged)",
            path.display()
        )
    })?;
    fs::rename(path, with_suffix(path, ASIDE))
        .with_context(|| format!("renaming {} aside", path.display()))?;
    fs::rename(&importing, path)
        .with_context(|| format!("moving {} into place", importing.display()))?;
    sync_parent(path)?;
    for controller in &controllers {
        let old = agents_dir.join(format!("{controller}.redb"));
        fs::rename(&old, with_suffix(&old, ASIDE))
            .with_context(|| format!("renaming {} aside", old.display()))?;
    }
    log::info!(
        "imported {} agents from keria 0.1.0; the old files are kept with the suffix .{ASIDE}",
        controllers.len()
    );
    Ok(())
}

/// Writes the new store at `importing` in one transaction; returns the controllers imported.
fn copy(path: &Path, agents_dir: &Path, importing: &Path) -> Result<Vec<String>> {
    if importing.exists() {
        fs::remove_file(importing).with_context(|| format!("removing {}", importing.display()))?;
    }
    let old = Database::open(path).with_context(|| format!("opening {}", path.display()))?;
    let Opened::Ready(store) = Store::open(importing, IMPORT_CACHE_BYTES)? else {
        bail!("{} is not a new store", importing.display());
    };
    let mut batch = store.write()?;
    let txn = old.begin_read()?;
    let mut controllers = Vec::new();
    if let Ok(meta) = txn.open_table(META) {
        for entry in meta.iter()? {
            let (key, value) = entry?;
            batch.set_meta(key.value(), value.value())?;
        }
    }
    for entry in txn.open_table(AGENTS)?.iter()? {
        let (controller, agent) = entry?;
        let (controller, agent) = (controller.value().to_owned(), agent.value().to_owned());
        let agent_path = agents_dir.join(format!("{controller}.redb"));
        copy_agent(&agent_path, &controller, &mut batch)
            .with_context(|| format!("importing agent {agent} ({})", agent_path.display()))?;
        batch.add_agent(&controller, &agent)?;
        let mut rows = batch.owner(&controller);
        rows.claim(&agent)?;
        rows.claim(&controller)?;
        controllers.push(controller);
    }
    batch.commit()?;
    store.close()?;
    Ok(controllers)
}

/// Copies one 0.1.0 agent store into `batch`, under its controller.
fn copy_agent(path: &Path, controller: &str, batch: &mut crate::store::Batch) -> Result<()> {
    if !path.exists() {
        bail!("the store of an acknowledged agent is missing");
    }
    let old = Database::open(path)?;
    let txn = old.begin_read()?;
    let mut rows = batch.owner(controller);
    let events = txn.open_table(EVENTS)?;
    let signatures = txn.open_table(SIGNATURES)?;
    let first_seen = txn.open_table(FIRST_SEEN)?;
    for entry in events.iter()? {
        let (key, raw) = entry?;
        let (prefix, sn) = key.value();
        let sigs = signatures
            .get((prefix, sn))?
            .map(|value| value.value().to_owned())
            .unwrap_or_default();
        let seen = first_seen
            .get((prefix, sn))?
            .map(|value| value.value().to_owned())
            .unwrap_or_default();
        rows.put_event(
            prefix,
            sn,
            &StoredEvent {
                raw: raw.value().to_vec(),
                sigs,
                first_seen: seen,
            },
        )?;
    }
    for entry in txn.open_table(SECRETS)?.iter()? {
        let (name, value) = entry?;
        rows.put_secret(name.value(), value.value())?;
    }
    for entry in txn.open_table(SETTINGS)?.iter()? {
        let (name, value) = entry?;
        if !matches!(name.value(), "controller") {
            rows.put_setting(name.value(), value.value())?;
        }
    }
    for entry in txn.open_table(APPROVALS)?.iter()? {
        let (key, value) = entry?;
        let (prefix, said) = key.value();
        rows.put_approval(prefix, said, value.value())?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Flushes the folder holding `path`, so its renames survive a crash.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}
