//! Locking a mailbox the way Postfix local(8) does, so that rotation and
//! delivery exclude each other.
//!
//! Order (Postfix `global/mbox_open.c`, `mailbox_delivery_lock = fcntl,
//! dotlock`): first the dotlock `<mbox>.lock`, created with O_EXCL; then
//! open the mailbox and take a kernel fcntl lock on it; then check that
//! the path still names the file we locked. The dotlock must come first:
//! a local(8) that already holds the dotlock and has the old file open
//! would otherwise append to the file we just renamed away.
//!
//! The kernel lock is an open-file-description lock (F_OFD_SETLK): it
//! conflicts with Postfix's POSIX fcntl locks, and unlike a classic
//! fcntl lock it is not dropped when another descriptor of the same file
//! is closed elsewhere in this process. flock(2) would not exclude
//! Postfix at all on Linux.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// How to treat locks held by others.
#[derive(Clone, Copy, Debug)]
pub struct LockPolicy {
    /// Give up (Busy) after waiting this long.
    pub wait: Duration,
    /// A dotlock older than this whose holder is gone is stale.
    pub stale: Duration,
    /// Pause between attempts.
    pub retry: Duration,
}

impl Default for LockPolicy {
    fn default() -> LockPolicy {
        LockPolicy {
            wait: Duration::from_secs(30),
            stale: Duration::from_secs(500),
            retry: Duration::from_millis(50),
        }
    }
}

/// A mailbox held under both locks; released (kernel lock, then dotlock)
/// when dropped.
pub struct MailboxLock {
    file: File,
    path: PathBuf,
    dotlock: PathBuf,
    /// A dotlock that was broken as stale on the way in, if any.
    pub broke_stale: Option<String>,
}

/// What happened when locking.
pub enum Locked {
    /// The mailbox is ours until the guard drops.
    Held(MailboxLock),
    /// There is no mailbox: nothing to do.
    Missing,
}

impl MailboxLock {
    /// Lock `path` under `policy`; `Busy` when the locks stay held past
    /// the wait.
    pub fn acquire(path: &Path, policy: &LockPolicy) -> Result<Locked> {
        let deadline = Instant::now() + policy.wait;
        let dotlock = dotlock_path(path);
        loop {
            let broke = take_dotlock(&dotlock, policy, deadline)?;
            match lock_file(path, deadline, policy) {
                Ok(Some(file)) => {
                    return Ok(Locked::Held(MailboxLock {
                        file,
                        path: path.to_path_buf(),
                        dotlock,
                        broke_stale: broke,
                    }))
                }
                Ok(None) => {
                    let _ = fs::remove_file(&dotlock);
                    return Ok(Locked::Missing);
                }
                Err(Retry::Replaced) => {
                    // Someone renamed or replaced the mailbox between
                    // our open and our lock; start again on the new one.
                    let _ = fs::remove_file(&dotlock);
                    if Instant::now() >= deadline {
                        return Err(busy(path));
                    }
                }
                Err(Retry::Fail(e)) => {
                    let _ = fs::remove_file(&dotlock);
                    return Err(e);
                }
            }
        }
    }

    /// The locked mailbox's size in bytes.
    pub fn len(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::io("stat", &self.path, e))
    }

    /// True when the mailbox is empty.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// The locked file's metadata.
    pub fn metadata(&self) -> Result<fs::Metadata> {
        self.file
            .metadata()
            .map_err(|e| Error::io("stat", &self.path, e))
    }

    /// The mailbox path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for MailboxLock {
    fn drop(&mut self) {
        // Kernel lock first (closing the description releases it), then
        // the dotlock, the reverse of the order they were taken in.
        let _ = ofd_lock(&self.file, libc::F_UNLCK as libc::c_short);
        let _ = fs::remove_file(&self.dotlock);
    }
}

fn busy(path: &Path) -> Error {
    Error::new(
        ErrorKind::Busy,
        format!("mailbox '{}' stays locked; try later", path.display()),
    )
}

/// `<mbox>.lock`, as Postfix and liblockfile name it.
pub fn dotlock_path(mbox: &Path) -> PathBuf {
    let mut name = mbox.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Create the dotlock, waiting for a live holder and breaking a stale
/// one. Returns a description of a broken stale lock.
fn take_dotlock(
    dotlock: &Path,
    policy: &LockPolicy,
    deadline: Instant,
) -> Result<Option<String>> {
    let mut broke = None;
    loop {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(dotlock)
        {
            Ok(mut f) => {
                // The pid is for people and for dotlockfile -p; Postfix
                // ignores the content. An empty lock is still a lock if
                // the disk is full.
                let _ = writeln!(f, "{}", std::process::id());
                return Ok(broke);
            }
            Err(e) if e.kind() == IoKind::AlreadyExists => {
                if let Some(why) = stale(dotlock, policy) {
                    match fs::remove_file(dotlock) {
                        Ok(()) => broke = Some(why),
                        Err(e) if e.kind() == IoKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(
                                "remove stale lock",
                                dotlock,
                                e,
                            ))
                        }
                    }
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!(
                            "lock '{}' is held; try later",
                            dotlock.display()
                        ),
                    ));
                }
                std::thread::sleep(policy.retry);
            }
            Err(e) => return Err(Error::io("create lock", dotlock, e)),
        }
    }
}

/// Why a dotlock is stale, or None when it must be honoured: older than
/// the stale age and no live process named in it.
fn stale(dotlock: &Path, policy: &LockPolicy) -> Option<String> {
    let meta = fs::metadata(dotlock).ok()?;
    let age = meta.modified().ok()?.elapsed().unwrap_or(Duration::ZERO);
    if age < policy.stale {
        return None;
    }
    let text = fs::read_to_string(dotlock).unwrap_or_default();
    if let Ok(pid) = text.trim().parse::<i32>() {
        if pid > 0 && process_alive(pid) {
            return None;
        }
    }
    Some(format!(
        "broke stale lock '{}' ({} s old, holder {})",
        dotlock.display(),
        age.as_secs(),
        if text.trim().is_empty() {
            "unknown"
        } else {
            "gone"
        }
    ))
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 checks existence only.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

enum Retry {
    Replaced,
    Fail(Error),
}

/// Open the mailbox and take the kernel lock; check it is still the file
/// the path names. None when there is no mailbox.
fn lock_file(
    path: &Path,
    deadline: Instant,
    policy: &LockPolicy,
) -> std::result::Result<Option<File>, Retry> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(None),
        Err(e) => return Err(Retry::Fail(Error::io("open", path, e))),
    };
    loop {
        match ofd_lock(&file, libc::F_WRLCK as libc::c_short) {
            Ok(()) => break,
            Err(e)
                if e.kind() == IoKind::WouldBlock
                    || e.raw_os_error() == Some(libc::EACCES) =>
            {
                if Instant::now() >= deadline {
                    return Err(Retry::Fail(busy(path)));
                }
                std::thread::sleep(policy.retry);
            }
            Err(e) => return Err(Retry::Fail(Error::io("lock", path, e))),
        }
    }
    let held = file.metadata();
    let named = fs::metadata(path);
    match (held, named) {
        (Ok(h), Ok(n))
            if h.dev() == n.dev() && h.ino() == n.ino() && h.nlink() > 0 =>
        {
            Ok(Some(file))
        }
        (_, Err(e)) if e.kind() == IoKind::NotFound => Ok(None),
        _ => Err(Retry::Replaced),
    }
}

/// Set or clear a whole-file open-file-description lock, without waiting.
fn ofd_lock(file: &File, kind: libc::c_short) -> std::io::Result<()> {
    // SAFETY: flock is plain data; zeroed is a valid value for it.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0;
    // SAFETY: fcntl with F_OFD_SETLK reads the flock we pass.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
