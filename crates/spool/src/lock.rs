//! Suzanne's own locks: one per stage, so a second instance of a program
//! started by cron exits at once with status 75.
//!
//! Lock order, for every program: the stage lock first, then (rotate only)
//! a mailbox's dotlock and kernel lock (see [`crate::mailbox`]), then the
//! journal lock, which is held only for the length of one append. Nobody
//! waits for a stage lock while holding another lock.
//!
//! Stage locks are flock(2) locks through fd-lock: they exclude only
//! Suzanne's programs, which is all they are for (flock does not see
//! Postfix's fcntl locks on Linux).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

use fd_lock::{RwLock, RwLockWriteGuard};

use crate::error::{Error, ErrorKind, Result};

/// The stages that run one instance at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Rotate,
    Parse,
    Ack,
    Soapd,
}

impl Stage {
    /// The lock file's name under `locks/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Stage::Rotate => "rotate.lock",
            Stage::Parse => "parse.lock",
            Stage::Ack => "ack.lock",
            Stage::Soapd => "soapd.lock",
        }
    }
}

/// Holds a stage lock until dropped.
pub struct StageGuard {
    // The guard borrows its RwLock; the RwLock is leaked so the guard can
    // be 'static. A program takes each stage lock at most a few times.
    _guard: RwLockWriteGuard<'static, File>,
    path: PathBuf,
}

impl StageGuard {
    /// Take the lock at `path` without waiting; `Busy` if it is held.
    pub fn try_lock(path: &Path) -> Result<StageGuard> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open lock", path, e))?;
        let lock: &'static mut RwLock<File> =
            Box::leak(Box::new(RwLock::new(file)));
        match lock.try_write() {
            Ok(guard) => Ok(StageGuard {
                _guard: guard,
                path: path.to_path_buf(),
            }),
            Err(e) if e.kind() == IoKind::WouldBlock => Err(Error::new(
                ErrorKind::Running,
                format!(
                    "another instance holds '{}'; try later",
                    path.display()
                ),
            )),
            Err(e) => Err(Error::io("lock", path, e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
