//! Copies of the agency store: `keria backup` (a new redb file written from one read
//! transaction) and `keria restore` (a backup put into place), both installed atomically.
//!
//! A copy is written to a temporary file in the target's folder (0600, created exclusively),
//! made durable, and only then linked to its name: a crash leaves either no file or a whole one,
//! never a torn copy under the target's name. Without `force` the link refuses an existing
//! target, so two copies racing for one name cannot clobber each other.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use redb::backends::FileBackend;
use redb::{
    Database, Durability, Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value,
};

use super::tables::{self, Visitor};
use super::Reader;

/// Rows copied per write transaction of the copy: bounds the memory its dirty pages hold.
pub const CHUNK_ROWS: u64 = 10_000;

/// The longest file name a backup request may give.
pub const MAX_BACKUP_NAME: usize = 128;

/// Checks a backup's file name: a plain name in the backup folder, never a path.
pub fn check_backup_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_BACKUP_NAME {
        return Err(format!(
            "name must be 1 to {MAX_BACKUP_NAME} characters (a file name in the backup folder)"
        ));
    }
    if name.starts_with('.') {
        return Err("name must not start with a dot".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "name {name:?} holds {bad:?}: a backup is named with letters, digits, '.', '_' and '-' \
             only, and is always written into the agency's backup folder"
        ));
    }
    Ok(())
}

/// Prepares the operator's backup folder: created 0700 when missing, and never the data dir
/// or a folder the agency keeps its own files in. Returns its canonical path.
pub fn prepare_backup_folder(folder: &Path, data_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if !folder.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .with_context(|| format!("creating the backup folder {}", folder.display()))?;
    }
    let canonical = folder
        .canonicalize()
        .with_context(|| format!("resolving the backup folder {}", folder.display()))?;
    if !canonical.is_dir() {
        anyhow::bail!("the backup folder {} is not a folder", folder.display());
    }
    if let Ok(data_dir) = data_dir.canonicalize() {
        if canonical == data_dir || canonical.starts_with(data_dir.join("keri")) {
            anyhow::bail!(
                "the backup folder {} is the data dir or inside its keri/ folder: \
                 name a folder of its own",
                folder.display()
            );
        }
    }
    Ok(canonical)
}

/// A temporary file in the target's folder, removed unless it is installed.
pub struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates `.<name>.<pid>.<nanos>.tmp` next to `target`, 0600, failing if it exists.
    pub fn beside(target: &Path) -> Result<Self> {
        let name = target
            .file_name()
            .with_context(|| format!("{} names no file", target.display()))?;
        let folder = target.parent().unwrap_or(Path::new("."));
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let path = folder.join(format!(
            ".{}.{}.{nanos}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create a file in {}", folder.display()))?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    /// Makes the file durable and gives it the name `target` (replacing a file there only with
    /// `force`), then makes the folder's entry durable.
    pub fn install(mut self, target: &Path, force: bool) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .with_context(|| format!("syncing {}", self.path.display()))?;
        } else {
            File::open(&self.path)
                .and_then(|file| file.sync_all())
                .with_context(|| format!("syncing {}", self.path.display()))?;
        }
        if force {
            fs::rename(&self.path, target)
        } else {
            fs::hard_link(&self.path, target).and_then(|()| fs::remove_file(&self.path))
        }
        .map_err(|err| match err.kind() {
            io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} already exists (--force replaces it)", target.display())
            }
            _ => anyhow::Error::new(err).context(format!("installing {}", target.display())),
        })?;
        let folder = target.parent().unwrap_or(Path::new("."));
        File::open(folder)
            .and_then(|folder| folder.sync_all())
            .with_context(|| format!("syncing folder {}", folder.display()))?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What a copy wrote.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    pub agents: u64,
    pub rows: u64,
    pub bytes: u64,
}

/// Writes every row `reader` sees (one consistent snapshot) into `temp` as a new store, then
/// installs it as `target`. `cancel` is checked between chunks.
pub fn backup(
    reader: &Reader,
    mut temp: TempFile,
    target: &Path,
    force: bool,
    cancel: &AtomicBool,
) -> Result<Copied> {
    let file = temp.file.take().context("the temporary file is gone")?;
    let backend =
        FileBackend::new(file).with_context(|| format!("opening {}", temp.path.display()))?;
    let database = Database::builder()
        .create_with_backend(backend)
        .with_context(|| format!("creating a store in {}", temp.path.display()))?;
    let mut copy = TableCopy {
        source: reader.transaction(),
        target: &database,
        cancel,
        copied: Vec::new(),
        rows: 0,
    };
    tables::visit(&mut copy)?;
    copy.check_complete()?;
    let rows = copy.rows;
    let mut txn = database.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    txn.commit().context("committing the copy")?;
    database
        .close()
        .with_context(|| format!("closing {}", temp.path.display()))?;
    let bytes = fs::metadata(&temp.path).map_or(0, |meta| meta.len());
    temp.install(target, force)?;
    Ok(Copied {
        agents: reader.agent_count()?,
        rows,
        bytes,
    })
}

/// Copies a backup file byte for byte into `temp`, then installs it as `target` (never
/// replacing one).
pub fn restore(source: &Path, mut temp: TempFile, target: &Path) -> Result<u64> {
    let mut file = temp.file.take().context("the temporary file is gone")?;
    let mut from = File::open(source).with_context(|| format!("opening {}", source.display()))?;
    let bytes = io::copy(&mut from, &mut file)
        .and_then(|bytes| file.flush().map(|()| bytes))
        .with_context(|| format!("copying {} to {}", source.display(), temp.path.display()))?;
    temp.file = Some(file);
    temp.install(target, false)?;
    Ok(bytes)
}

/// Copies tables, chunk by chunk, from a snapshot into the new store.
struct TableCopy<'c> {
    source: &'c ReadTransaction,
    target: &'c Database,
    cancel: &'c AtomicBool,
    copied: Vec<String>,
    rows: u64,
}

impl Visitor for TableCopy<'_> {
    /// Copies every row of `definition`, `CHUNK_ROWS` per (not yet durable) commit.
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        definition: TableDefinition<K, V>,
    ) -> Result<()> {
        let name = definition.name().to_owned();
        let table = self
            .source
            .open_table(definition)
            .with_context(|| format!("reading table {name}"))?;
        let mut rows = table.iter()?;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                bail!("cancelled: the agency is stopping");
            }
            let mut txn = self.target.begin_write()?;
            txn.set_durability(Durability::None)?;
            let mut done = false;
            {
                let mut out = txn.open_table(definition)?;
                for _ in 0..CHUNK_ROWS {
                    let Some(row) = rows.next() else {
                        done = true;
                        break;
                    };
                    let (key, value) = row?;
                    out.insert(key.value(), value.value())?;
                    self.rows += 1;
                }
            }
            txn.commit()
                .with_context(|| format!("writing table {name}"))?;
            if done {
                break;
            }
        }
        self.copied.push(name);
        Ok(())
    }
}

impl TableCopy<'_> {
    /// Fails naming any table of the source that was not copied.
    fn check_complete(&self) -> Result<()> {
        for table in self.source.list_tables()? {
            if !self.copied.iter().any(|name| name == table.name()) {
                bail!("table {} is not part of the copy", table.name());
            }
        }
        Ok(())
    }
}

/// The agency store of a data dir: `<data-dir>/keri/adb/<base>/<name>.redb`, as `Agency::open`
/// places it.
pub fn store_file(data_dir: &Path, base: &str, name: &str) -> PathBuf {
    data_dir
        .join("keri")
        .join("adb")
        .join(base)
        .join(format!("{name}.redb"))
}
