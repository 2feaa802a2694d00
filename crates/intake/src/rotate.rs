//! suzanne-rotate: move a full mailbox aside so delivery continues into a
//! fresh one.
//!
//! For an mbox the critical section is one rename, done with both locks
//! Postfix local(8) takes held (see `spool::mailbox`); the rotation number
//! is handed out before locking and the directory syncs happen after
//! unlocking, so delivery waits for as little as possible. A Maildir needs
//! no lock: its files in new/ and cur/ are complete by construction, and
//! tmp/ is never touched.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use spool::journal::Event;
use spool::mailbox::{LockPolicy, Locked, MailboxLock};
use spool::{Batch, Result, Spool, Stage};

/// What to rotate and when.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub mbox: Option<PathBuf>,
    pub maildir: Option<PathBuf>,
    pub policy: LockPolicy,
    /// Rotate only at this size or more (0: any non-empty mailbox)...
    pub min_bytes: u64,
    /// ...or when it is at least this old (0: no age rule).
    pub min_age: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Batches entered into `incoming/`, in order.
    pub batches: Vec<Batch>,
    /// How long the mbox locks were held, per rotation.
    pub hold: Vec<Duration>,
    /// Notes for the log (a stale lock broken, a rule not met).
    pub notes: Vec<String>,
}

/// Rotate the configured mailboxes into the spool.
pub fn run(spool: &Spool, opts: &Options) -> Result<Report> {
    let guard = spool.lock_stage(Stage::Rotate)?;
    let mut report = Report {
        batches: spool.recover(&guard)?,
        ..Report::default()
    };
    let mut journal = spool.journal()?;
    if let Some(mbox) = &opts.mbox {
        if let Some(batch) =
            rotate_mbox(spool, &guard, mbox, opts, &mut report)?
        {
            journal.append(&[rotated(&batch, mbox, 1)])?;
            report.batches.push(batch);
        }
    }
    if let Some(maildir) = &opts.maildir {
        let files = maildir_files(maildir)?;
        if !files.is_empty() {
            let n = spool.next_rotation(&guard)?;
            let batch = spool.enter_maildir(&files, n, maildir)?;
            let count = batch.maildir_files()?.len() as u64;
            journal.append(&[rotated(&batch, maildir, count)])?;
            report.batches.push(batch);
        }
    }
    Ok(report)
}

fn rotated(batch: &Batch, source: &Path, files: u64) -> Event {
    let bytes = match batch.kind {
        spool::BatchKind::Mbox => {
            fs::metadata(&batch.path).map(|m| m.len()).unwrap_or(0)
        }
        spool::BatchKind::Maildir => 0,
    };
    Event::Rotated {
        batch: batch.name.clone(),
        source: source.display().to_string(),
        bytes,
        files,
    }
}

/// Rotate one mbox if it is due. The rotation number is taken before
/// the locks so that the locks cover the rename alone.
fn rotate_mbox(
    spool: &Spool,
    guard: &spool::StageGuard,
    mbox: &Path,
    opts: &Options,
    report: &mut Report,
) -> Result<Option<Batch>> {
    if !due(mbox, opts, report) {
        return Ok(None);
    }
    let n = spool.next_rotation(guard)?;
    let lock = match MailboxLock::acquire(mbox, &opts.policy)? {
        Locked::Held(lock) => lock,
        Locked::Missing => return Ok(None),
    };
    if let Some(note) = &lock.broke_stale {
        report.notes.push(note.clone());
    }
    if lock.is_empty()? {
        return Ok(None);
    }
    let locked_at = Instant::now();
    let batch = spool.enter_mbox(&lock, n)?;
    drop(lock);
    report.hold.push(locked_at.elapsed());
    spool.settle_mbox(mbox)?;
    Ok(Some(batch))
}

/// Whether the mbox is worth rotating now, by the size and age rules.
fn due(mbox: &Path, opts: &Options, report: &mut Report) -> bool {
    let meta = match fs::metadata(mbox) {
        Ok(m) if m.len() > 0 => m,
        _ => return false,
    };
    if opts.min_bytes == 0 && opts.min_age.is_zero() {
        return true;
    }
    if opts.min_bytes > 0 && meta.len() >= opts.min_bytes {
        return true;
    }
    if !opts.min_age.is_zero() {
        // The birth time is when the first message arrived in this
        // mailbox; without it, the last change is the best we know.
        let born = meta.created().or_else(|_| meta.modified());
        let age = born.ok().and_then(spool_age).unwrap_or(Duration::ZERO);
        if age >= opts.min_age {
            return true;
        }
    }
    report.notes.push(format!(
        "mbox '{}' not due ({} bytes)",
        mbox.display(),
        meta.len()
    ));
    false
}

fn spool_age(t: SystemTime) -> Option<Duration> {
    let now_us = spool::clock::now_us();
    let t_us =
        t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_micros() as i64;
    Some(Duration::from_micros(
        now_us.saturating_sub(t_us).max(0) as u64
    ))
}

/// The message files of a Maildir, in the order they will be numbered:
/// modification time, then name. Files in tmp/ are still being written
/// and are never taken; dot files are not messages.
pub fn maildir_files(maildir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let dir = maildir.join(sub);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(spool::Error::io("read directory", &dir, e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((mtime, name, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}
