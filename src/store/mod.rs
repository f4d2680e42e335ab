//! The agency store: one redb file (ACID, crash-safe) holding the index and every agent's rows.
//!
//! Every agent table is keyed by a tuple that begins with the owning controller's AID, so one
//! owner's range can never reach into another's. Code outside this module reaches an agent's
//! rows only through a handle scoped to its controller: `Reader::owner` to read,
//! `Batch::owner` to stage writes. A `Batch` is one write transaction: everything staged in
//! it becomes durable together at `commit`, or not at all.
//!
//! The file is private (0600) in a private folder (0700) whatever the umask; a store that
//! others can read is refused. redb takes its own file lock; `close` returns redb's close error.

pub mod copy;
pub mod legacy;
mod rows;
pub mod secrets;
mod tables;

pub use rows::{Batch, OwnerReader, OwnerWriter, Reader, StoredEvent};

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use redb::backends::FileBackend;
use redb::{
    Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase, TableDefinition, WriteTransaction,
};

pub use tables::Records;
use tables::{Visitor, FORMAT, FORMAT_KEY, TABLE_COUNT};
pub use tables::{
    CHALLENGES, CONTACTS, CONTACT_IMAGES, DELEGABLES, DELEGATING, END_ROLES, EXCHANGES, GROUPS,
    IDENTIFIERS, LOCATIONS, NOTIFICATIONS, OPERATIONS, OUTBOX, PREFIXES, RECEIPTING, RECEIPTS,
    REGISTRIES, SCHEMAS, TELS,
};
pub use tables::{CREDENTIALS, CREDENTIAL_INDEX};

/// Default bound of the page cache, in MiB.
pub const DEFAULT_CACHE_MIB: usize = 16;

/// How the store file was found.
pub enum Opened {
    /// Open and ready.
    Ready(Store),
    /// The file is in the format keria 0.1.0 wrote (redb 2): it must be imported first.
    Legacy,
}

/// Pause between two attempts to recover a failing store.
pub const RECOVERY_PAUSE: Duration = Duration::from_secs(1);

/// The open agency store.
pub struct Store {
    /// None between a failed commit's close and the reopen that recovers it.
    database: Option<Database>,
    path: PathBuf,
    cache_bytes: usize,
    /// Why the last commit failed, and since when, until a commit succeeds again.
    failing: Option<Failing>,
}

/// A store whose last commit failed (a full disk, a failing device).
#[derive(Debug, Clone)]
pub struct Failing {
    pub reason: String,
    pub since: Instant,
    /// Reopens tried since it began failing.
    pub attempts: u64,
}

impl Store {
    /// Opens (or creates, 0600) the store at `path` with a page cache of at most `cache_bytes`.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Opened> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening store {}", path.display()))?;
        refuse_shared(path)?;
        let backend =
            FileBackend::new(file).with_context(|| format!("opening store {}", path.display()))?;
        let database = match Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(backend)
        {
            Ok(database) => database,
            Err(DatabaseError::UpgradeRequired(_)) => return Ok(Opened::Legacy),
            Err(err) => {
                return Err(err).with_context(|| format!("opening store {}", path.display()))
            }
        };
        let store = Self {
            database: Some(database),
            path: path.to_path_buf(),
            cache_bytes,
            failing: None,
        };
        store
            .prepare()
            .with_context(|| format!("preparing store {}", path.display()))?;
        Ok(Opened::Ready(store))
    }

    /// Creates every table once, so that reads never meet a missing one.
    fn prepare(&self) -> Result<()> {
        let reader = self.read()?;
        if let Some(format) = reader.meta(FORMAT_KEY)? {
            if format != FORMAT {
                bail!(
                    "unknown store format {:?}",
                    String::from_utf8_lossy(&format)
                );
            }
        }
        let existing = reader.transaction().list_tables()?.count();
        drop(reader);
        if existing == TABLE_COUNT {
            return Ok(());
        }
        // A new store, or one written before a table was added: create what is missing.
        let mut batch = self.write()?;
        tables::visit(&mut Create(batch.transaction()))?;
        batch.set_meta(FORMAT_KEY, FORMAT)?;
        batch.commit()
    }

    /// The store file, for the log.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database, unless a failed commit closed it and it is not reopened yet.
    fn database(&self) -> Result<&Database> {
        self.database.as_ref().with_context(|| {
            format!(
                "store {} is closed after a failed commit and is being reopened",
                self.path.display()
            )
        })
    }

    /// Why the store is failing, while it is: from a failed commit until one succeeds.
    pub fn failing(&self) -> Option<&Failing> {
        self.failing.as_ref()
    }

    /// Records that a commit failed: redb refuses every later write of this handle, so the
    /// next `recover` closes and reopens it.
    pub fn commit_failed(&mut self, err: &anyhow::Error) {
        let reason = format!("{err:#}");
        if self.failing.is_none() {
            log::error!(
                "store {} is failing: {reason}; it is reopened every {}s until a commit succeeds",
                self.path.display(),
                RECOVERY_PAUSE.as_secs()
            );
        }
        let failing = self.failing.get_or_insert_with(|| Failing {
            reason: reason.clone(),
            since: Instant::now(),
            attempts: 0,
        });
        failing.reason = reason;
    }

    /// A commit succeeded: the store is no longer failing.
    pub fn commit_succeeded(&mut self) {
        if let Some(failing) = self.failing.take() {
            log::info!(
                "store {} recovered after {:.1}s ({} reopens)",
                self.path.display(),
                failing.since.elapsed().as_secs_f64(),
                failing.attempts
            );
        }
    }

    /// For a failing store: closes the handle, reopens the file, and commits an empty
    /// transaction durably to see whether writes succeed again. Bounded by one open and one
    /// commit; true once the store works again.
    pub fn recover(&mut self) -> bool {
        let Some(failing) = self.failing.as_mut() else {
            return true;
        };
        failing.attempts += 1;
        if let Some(database) = self.database.take() {
            // redb refuses a second handle on the file: the failed one goes first.
            if let Err(err) = database.close() {
                log::debug!("closing the failed store handle: {err}");
            }
        }
        let reopened = Self::open(&self.path, self.cache_bytes).and_then(|opened| match opened {
            Opened::Ready(mut store) => Ok(store.database.take()),
            Opened::Legacy => bail!("the store file changed format"),
        });
        match reopened {
            Ok(database) => self.database = database,
            Err(err) => {
                log::debug!("reopening store {}: {err:#}", self.path.display());
                return false;
            }
        }
        let probe = self.write().and_then(|mut batch| {
            batch.set_durability(redb::Durability::Immediate)?;
            batch.commit()
        });
        match probe {
            Ok(()) => {
                self.commit_succeeded();
                true
            }
            Err(err) => {
                self.commit_failed(&err);
                false
            }
        }
    }

    /// A consistent view of the committed rows.
    pub fn read(&self) -> Result<Reader> {
        let txn = self
            .database()?
            .begin_read()
            .with_context(|| format!("reading store {}", self.path.display()))?;
        Ok(Reader::new(txn))
    }

    /// Begins a write transaction. Its commit also records the allocator state, so that the
    /// store's close needs no commit of its own.
    pub fn write(&self) -> Result<Batch> {
        let mut txn = self
            .database()?
            .begin_write()
            .with_context(|| format!("writing store {}", self.path.display()))?;
        txn.set_quick_repair(true);
        Ok(Batch::new(txn))
    }

    /// Closes the store: redb flushes it and marks the file clean.
    /// A store closed by a failed commit and not reopened has nothing left to close.
    pub fn close(self) -> Result<()> {
        let Self { database, path, .. } = self;
        match database {
            Some(database) => database
                .close()
                .with_context(|| format!("closing store {}", path.display())),
            None => Ok(()),
        }
    }
}

/// A snapshot of the store file at `path`, opened without modifying it (a file that needs
/// repair is refused); the database must outlive the reader.
pub fn read_file(path: &Path) -> Result<(ReadOnlyDatabase, Reader)> {
    let database = Database::builder()
        .open_read_only(path)
        .with_context(|| format!("opening {} read-only", path.display()))?;
    let txn = database
        .begin_read()
        .with_context(|| format!("reading {}", path.display()))?;
    Ok((database, Reader::new(txn)))
}

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

/// Refuses a file or folder that group or others may read, write or enter.
pub fn refuse_shared(path: &Path) -> Result<()> {
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

/// Creates each table it visits in a write transaction.
struct Create<'t>(&'t WriteTransaction);

impl Visitor for Create<'_> {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        definition: TableDefinition<K, V>,
    ) -> Result<()> {
        self.0.open_table(definition)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{private_dir, Opened, Store, StoredEvent};

    fn open(path: &std::path::Path) -> Store {
        match Store::open(path, 1 << 16).unwrap() {
            Opened::Ready(store) => store,
            Opened::Legacy => panic!("a new store is not legacy"),
        }
    }

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
        open(&path).close().unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Store::open(&path, 1 << 16).err().unwrap().to_string();
        assert!(
            err.contains("accessible to other users (mode 644)"),
            "{err}"
        );
    }

    #[test]
    fn one_owners_rows_never_reach_into_anothers() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("s.redb"));
        let event = |n: u8| StoredEvent {
            raw: vec![n],
            sigs: format!("sig{n}"),
            first_seen: format!("seen{n}"),
        };
        let mut batch = store.write().unwrap();
        // "A" is a prefix of "AB" as text: the tuple keys must still keep them apart.
        batch.owner("A").put_event("P", 0, &event(1)).unwrap();
        batch.owner("A").put_event("P", 1, &event(2)).unwrap();
        batch.owner("AB").put_event("P", 0, &event(3)).unwrap();
        batch.owner("A").put_event("PQ", 0, &event(4)).unwrap();
        batch.owner("A").put_setting("s", "a").unwrap();
        batch.owner("AB").put_setting("s", "ab").unwrap();
        assert_eq!(
            batch.owner("A").kel("P").unwrap().len(),
            2,
            "staged rows read back"
        );
        batch.commit().unwrap();
        let reader = store.read().unwrap();
        let kel: Vec<u8> = reader
            .owner("A")
            .kel("P")
            .unwrap()
            .iter()
            .map(|event| event.raw[0])
            .collect();
        assert_eq!(kel, [1, 2]);
        assert_eq!(reader.owner("AB").kel("P").unwrap()[0].sigs, "sig3");
        assert!(reader.owner("B").kel("P").unwrap().is_empty());
        assert_eq!(
            reader.owner("AB").setting("s").unwrap().as_deref(),
            Some("ab")
        );
        drop(reader);
        store.close().unwrap();
    }

    #[test]
    fn a_batch_dropped_without_commit_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let store = open(&path);
        let mut batch = store.write().unwrap();
        batch.add_agent("C", "A").unwrap();
        assert_eq!(batch.agent_of("C").unwrap().as_deref(), Some("A"));
        drop(batch);
        assert_eq!(store.read().unwrap().agent_of("C").unwrap(), None);
        let mut batch = store.write().unwrap();
        batch.add_agent("C", "A").unwrap();
        batch.commit().unwrap();
        store.close().unwrap();
        let store = open(&path);
        let reader = store.read().unwrap();
        assert_eq!(reader.agent_of("C").unwrap().as_deref(), Some("A"));
        assert_eq!(reader.agent_count().unwrap(), 1);
        drop(reader);
        store.close().unwrap();
    }
}
