//! The data dir and its lock: one agency per data folder, in a folder only its owner can use.
//!
//! `start` creates the data dir (0700), refuses it when another user owns it or may enter it,
//! and takes an exclusive `flock` on the directory itself: the lock lives as long as the folder,
//! so deleting `keria.pid` cannot let a second agency in. `keria.pid` only tells the holder's
//! pid, to people and to `status`. The kernel drops the lock when the process dies, so after a
//! SIGKILL the next start takes it at once; a graceful stop removes the pid file (when it is
//! still the one it wrote) and then releases the lock.

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The file name of the pid file inside the data dir.
pub const PID_FILE: &str = "keria.pid";

/// A held data-dir lock; `release` removes the pid file and unlocks.
#[derive(Debug)]
pub struct DataDirLock {
    dir: File,
    pid_path: PathBuf,
    /// Device and inode of the pid file written, so `release` removes only its own.
    pid_file_id: (u64, u64),
}

impl DataDirLock {
    /// Creates `data_dir` if needed, checks it is private, and locks it, or fails naming the
    /// holder's pid.
    pub fn acquire(data_dir: &Path) -> Result<Self> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let dir = File::open(data_dir)
            .with_context(|| format!("opening data dir {}", data_dir.display()))?;
        check_private(data_dir, &dir)?;
        let pid_path = data_dir.join(PID_FILE);
        match dir.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_pid(&pid_path)
                    .or_else(|| lock_holder(&dir))
                    .map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
                bail!(
                    "data dir {} is in use: its lock is held by pid {holder} (see {})",
                    data_dir.display(),
                    pid_path.display()
                );
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("locking {}", data_dir.display()));
            }
        }
        let pid_file_id = write_pid(&pid_path)?;
        Ok(Self {
            dir,
            pid_path,
            pid_file_id,
        })
    }

    /// Removes the pid file if it is still the one `acquire` wrote, then releases the lock.
    pub fn release(self) -> Result<()> {
        match fs::symlink_metadata(&self.pid_path) {
            // Inode numbers are reused at once: the pid must match too.
            Ok(meta)
                if (meta.dev(), meta.ino()) == self.pid_file_id
                    && read_pid(&self.pid_path) == Some(std::process::id()) =>
            {
                fs::remove_file(&self.pid_path)
                    .with_context(|| format!("removing {}", self.pid_path.display()))?;
            }
            Ok(_) => log::warn!(
                "{} was replaced while keria ran; leaving it",
                self.pid_path.display()
            ),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("reading {}", self.pid_path.display()))
            }
        }
        self.dir.unlock().context("unlocking the data dir")
    }
}

/// Refuses a data dir that another user owns or that group or others may write to. Reading
/// and entering it are fine (a folder made with `mkdir` is 0755): what holds key material
/// inside it, the store's folder and file, is created 0700 and 0600.
fn check_private(path: &Path, dir: &File) -> Result<()> {
    let meta = dir
        .metadata()
        .with_context(|| format!("reading data dir {}", path.display()))?;
    if !meta.is_dir() {
        bail!("data dir {} is not a directory", path.display());
    }
    let uid = nix::unistd::geteuid().as_raw();
    if meta.uid() != uid {
        bail!(
            "data dir {} is owned by uid {}, not by uid {uid} that runs keria: chown it",
            path.display(),
            meta.uid()
        );
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        bail!(
            "data dir {} is writable by other users (mode {mode:o}): they could replace what it holds; chmod go-w it",
            path.display()
        );
    }
    Ok(())
}

/// Writes this process's pid to a fresh pid file; returns its device and inode.
fn write_pid(path: &Path) -> Result<(u64, u64)> {
    // A pid file left by a killed agency is replaced, not rewritten in place.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("removing {}", path.display())),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", std::process::id())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// What the data dir says about an agency, without taking its lock for long.
#[derive(Debug, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds the lock and no pid file is left: never started, or stopped gracefully.
    Absent,
    /// A process holds the lock (its pid, when the pid file is there).
    Held(Option<u32>),
    /// The pid file is left but nobody holds the lock: the agency died.
    Stale(Option<u32>),
}

/// Reads the lock state of `data_dir`.
pub fn inspect(data_dir: &Path) -> LockState {
    let pid_path = data_dir.join(PID_FILE);
    let pid = read_pid(&pid_path);
    let held = File::open(data_dir)
        .is_ok_and(|dir| matches!(dir.try_lock_shared(), Err(TryLockError::WouldBlock)));
    if held {
        LockState::Held(pid)
    } else if pid_path.exists() {
        LockState::Stale(pid)
    } else {
        LockState::Absent
    }
}

/// The pid holding a `flock` on `file`, from `/proc/locks` (for when the pid file is gone).
fn lock_holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    // Linux's dev_t encoding, as the kernel prints it in /proc/locks: "major:minor:inode".
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let id = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    fs::read_to_string("/proc/locks")
        .ok()?
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&id.as_str()))
        .and_then(|fields| fields.get(4)?.parse().ok())
}

fn read_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{inspect, DataDirLock, LockState, PID_FILE};

    /// A data dir that keria creates itself (0700), inside a temp dir.
    struct Private(tempfile::TempDir);

    impl Private {
        fn new() -> Self {
            Self(tempfile::tempdir().unwrap())
        }

        fn path(&self) -> std::path::PathBuf {
            self.0.path().join("data")
        }
    }

    #[test]
    fn second_acquire_names_the_holder_and_release_frees_it() {
        let dir = Private::new();
        let lock = DataDirLock::acquire(&dir.path()).unwrap();
        let err = DataDirLock::acquire(&dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("held by pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(
            inspect(&dir.path()),
            LockState::Held(Some(std::process::id()))
        );
        lock.release().unwrap();
        assert_eq!(inspect(&dir.path()), LockState::Absent);
        DataDirLock::acquire(&dir.path())
            .unwrap()
            .release()
            .unwrap();
    }

    #[test]
    fn a_deleted_pid_file_keeps_the_lock_and_release_succeeds() {
        let dir = Private::new();
        let lock = DataDirLock::acquire(&dir.path()).unwrap();
        std::fs::remove_file(dir.path().join(PID_FILE)).unwrap();
        assert_eq!(inspect(&dir.path()), LockState::Held(None));
        assert!(DataDirLock::acquire(&dir.path()).is_err());
        std::fs::write(dir.path().join(PID_FILE), "1\n").unwrap();
        lock.release().unwrap();
        assert_eq!(inspect(&dir.path()), LockState::Stale(Some(1)));
    }

    #[test]
    fn a_data_dir_others_may_write_to_is_refused_and_one_they_may_read_is_not() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o770, 0o702] {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let err = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
            assert!(
                err.contains(&format!("writable by other users (mode {mode:o})")),
                "{err}"
            );
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        DataDirLock::acquire(dir.path()).unwrap().release().unwrap();
    }
}
