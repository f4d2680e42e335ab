//! The data-dir lock: one agency per data folder.
//!
//! `start` takes an exclusive `flock` on `<data-dir>/keria.pid` and writes its pid there.
//! The kernel drops the lock when the process dies, so after a SIGKILL the next start takes it
//! at once; a graceful stop removes the file and then releases the lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

/// The file name of the lock inside the data dir.
pub const PID_FILE: &str = "keria.pid";

/// A held data-dir lock; `release` removes the pid file and unlocks.
#[derive(Debug)]
pub struct DataDirLock {
    path: PathBuf,
    file: File,
}

impl DataDirLock {
    /// Takes the lock on `data_dir`, or fails naming the holder's pid.
    pub fn acquire(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(PID_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder =
                    read_pid(&mut file).map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
                return Err(anyhow!(
                    "data dir {} is in use: lock {} is held by pid {holder}",
                    data_dir.display(),
                    path.display()
                ));
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .with_context(|| format!("writing {}", path.display()))?;
        writeln!(file, "{}", std::process::id())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self { path, file })
    }

    /// Removes the pid file, then releases the lock.
    pub fn release(self) -> Result<()> {
        fs::remove_file(&self.path).with_context(|| format!("removing {}", self.path.display()))?;
        self.file
            .unlock()
            .with_context(|| format!("unlocking {}", self.path.display()))
    }
}

/// What the pid file of `data_dir` says about an agency, without taking its lock for long.
#[derive(Debug, PartialEq, Eq)]
pub enum LockState {
    /// No pid file: never started, or stopped gracefully.
    Absent,
    /// A process holds the lock.
    Held(Option<u32>),
    /// The pid file is left but nobody holds the lock: the agency died.
    Stale(Option<u32>),
}

/// Reads the lock state of `data_dir`.
pub fn inspect(data_dir: &Path) -> LockState {
    let path = data_dir.join(PID_FILE);
    let Ok(mut file) = File::open(&path) else {
        return LockState::Absent;
    };
    let pid = read_pid(&mut file);
    match file.try_lock_shared() {
        Ok(()) => LockState::Stale(pid),
        Err(_) => LockState::Held(pid),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{inspect, DataDirLock, LockState};

    #[test]
    fn second_acquire_names_the_holder_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("held by pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(
            inspect(dir.path()),
            LockState::Held(Some(std::process::id()))
        );
        lock.release().unwrap();
        assert_eq!(inspect(dir.path()), LockState::Absent);
        DataDirLock::acquire(dir.path()).unwrap().release().unwrap();
    }
}
