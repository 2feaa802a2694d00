//! Durable file primitives: the temporary-name, sync, rename, sync-the-
//! directory sequence, and whole-file-system sync for batches.
//!
//! These are public for files Suzanne keeps outside the spool (an
//! acknowledgement outbox); spool files go through [`crate::Spool`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};

/// Create `path` (which must not exist) holding `bytes`, unsynced.
pub fn create(path: &Path, bytes: &[u8]) -> Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))?;
    Ok(file)
}

/// Flush one file's data to disk.
pub fn sync_file(file: &File, path: &Path) -> Result<()> {
    file.sync_data().map_err(|e| Error::io("sync", path, e))
}

/// Flush a directory, making the renames and creations in it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let handle =
        File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| Error::io("sync directory", dir, e))
}

/// Flush every file of the file system holding `dir` with one call: the
/// batch alternative to one fsync per file (see docs/spool.md).
pub fn sync_fs(dir: &Path) -> Result<()> {
    let handle =
        File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
    // SAFETY: syncfs takes a valid open descriptor and touches no memory.
    let rc = unsafe { libc::syncfs(handle.as_raw_fd()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(Error::io("sync file system of", dir, err));
    }
    Ok(())
}

/// Rename `from` to `to` (same file system), replacing `to`.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| {
        Error::io_msg(
            format!(
                "cannot rename '{}' to '{}'",
                from.display(),
                to.display()
            ),
            e,
        )
    })
}

/// Write `bytes` to `dest` atomically and durably through `tmp`, a name
/// in the same directory or file system: create, write, sync, rename,
/// sync the destination directory.
pub fn write_atomic(tmp: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    let _ = fs::remove_file(tmp);
    let file = create(tmp, bytes)?;
    sync_file(&file, tmp)?;
    drop(file);
    rename(tmp, dest)?;
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

/// Make a directory and its parents.
pub fn make_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))
}
