//! The embedded stores (redb: ACID, crash-safe, one file each) and their tables.
//!
//! Each store is a private file (0600) in a private folder (0700) whatever the umask; a store
//! that others can read is refused. redb takes its own file lock and closes on drop: the owner
//! (the agency for its index, each agent for its own store) drops it in its `close`.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};
use redb::{Database, TableDefinition};

/// Agency index: controller AID → agent AID.
pub const AGENTS: TableDefinition<&str, &str> = TableDefinition::new("agents");
/// Agency index: agent AID → controller AID.
pub const CONTROLLERS: TableDefinition<&str, &str> = TableDefinition::new("controllers");
/// Agency metadata: the passcode salt and check value.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Agent store: (prefix, sequence number) → the event's serialized bytes.
pub const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// Agent store: (prefix, sequence number) → its indexed signatures (qb64, comma-separated).
pub const SIGNATURES: TableDefinition<(&str, u64), &str> = TableDefinition::new("signatures");
/// Agent store: (prefix, sequence number) → when the event was first seen (ISO-8601).
pub const FIRST_SEEN: TableDefinition<(&str, u64), &str> = TableDefinition::new("first_seen");
/// Agent store: the agent's key seeds (sealed when a passcode is set).
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
/// Agent store: settings (controller, agent, key-manager parameters, OOBI URLs).
pub const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");
/// Agent store: (delegate prefix, delegate SAID) → the approving event "sn,SAID".
pub const APPROVALS: TableDefinition<(&str, &str), &str> = TableDefinition::new("approvals");

/// Creates `dir` (and parents) as 0700, or checks an existing one is private.
pub fn private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    refuse_shared(dir)
}

/// Opens (or creates, 0600) the store at `path` with a page cache of `cache_bytes`.
pub fn open(path: &Path, cache_bytes: usize) -> Result<Database> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening store {}", path.display()))?;
    refuse_shared(path)?;
    Database::builder()
        .set_cache_size(cache_bytes)
        .create_file(file)
        .with_context(|| format!("opening store {}", path.display()))
}

/// Begins a write transaction whose commit also records the allocator state, so that closing
/// the store later needs no extra commit of its own.
pub fn begin_write(database: &Database) -> Result<redb::WriteTransaction> {
    let mut txn = database.begin_write()?;
    txn.set_quick_repair(true);
    Ok(txn)
}

/// Closes a store: redb flushes it and marks the file clean (two fsyncs).
pub fn close(database: Database) {
    drop(database);
}

/// Flushes a directory so a file just created in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|dir_file| dir_file.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Refuses a file or folder that group or others may read, write or enter.
fn refuse_shared(path: &Path) -> Result<()> {
    let mode = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is accessible to other users (mode {:o}); it holds key material: chmod go-rwx it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{open, private_dir};

    #[test]
    fn stores_are_private_whatever_the_umask_and_shared_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        private_dir(&folder).unwrap();
        assert_eq!(
            std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let path = folder.join("s.redb");
        drop(open(&path, 1 << 16).unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = open(&path, 1 << 16).unwrap_err().to_string();
        assert!(
            err.contains("accessible to other users (mode 644)"),
            "{err}"
        );
    }
}
