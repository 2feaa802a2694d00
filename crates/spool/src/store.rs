//! The spool directory and every operation that changes a file in it.

use std::fs;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::durable;
use crate::error::{Error, Result};
use crate::journal::{Journal, Reader};
use crate::lock::{Stage, StageGuard};
use crate::mailbox::MailboxLock;
use crate::record::{ticket_name, Record};

const DIRS: [&str; 7] =
    ["incoming", "archive", "msg", "raw", "tmp", "locks", "state"];

/// An open spool.
#[derive(Clone, Debug)]
pub struct Spool {
    root: PathBuf,
}

/// What a rotated mailbox is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// One mbox file.
    Mbox,
    /// A directory of message files taken from a Maildir.
    Maildir,
}

/// A rotated mailbox in `incoming/` or `archive/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `000000000007.mbox`
    pub name: String,
    pub rotation: u64,
    pub kind: BatchKind,
    pub path: PathBuf,
}

impl Batch {
    fn from_path(path: PathBuf) -> Option<Batch> {
        let name = path.file_name()?.to_str()?.to_string();
        let (num, ext) = name.split_once('.')?;
        if num.len() != 12 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let kind = match ext {
            "mbox" => BatchKind::Mbox,
            "maildir" => BatchKind::Maildir,
            _ => return None,
        };
        Some(Batch {
            rotation: num.parse().ok()?,
            name,
            kind,
            path,
        })
    }

    /// The message files of a Maildir batch, in their frozen order (the
    /// `NNNNNN-` prefix given at rotation).
    pub fn maildir_files(&self) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.path)
            .map_err(|e| Error::io("read directory", &self.path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        Ok(files)
    }
}

impl Spool {
    /// Open the spool at `root`, creating its directories if needed.
    pub fn open(root: &Path) -> Result<Spool> {
        for d in DIRS {
            durable::make_dir(&root.join(d))?;
        }
        Ok(Spool {
            root: root.to_path_buf(),
        })
    }

    /// Open an existing spool without creating anything (for readers).
    pub fn open_existing(root: &Path) -> Result<Spool> {
        if !root.join("msg").is_dir() {
            return Err(Error::data(format!(
                "'{}' is not a Suzanne spool (no msg/ directory)",
                root.display()
            )));
        }
        Ok(Spool {
            root: root.to_path_buf(),
        })
    }

    /// The spool directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A sub-directory by name (`incoming`, `msg`, ...).
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.root.join("journal")
    }

    /// Open the journal for appending.
    pub fn journal(&self) -> Result<Journal> {
        Journal::open(
            &self.journal_path(),
            &self.root.join("locks/journal.lock"),
        )
    }

    /// Read the journal from the start.
    pub fn journal_reader(&self) -> Result<Reader> {
        Reader::open(&self.journal_path())
    }

    /// Take a stage lock without waiting (Busy when held: exit 75).
    pub fn lock_stage(&self, stage: Stage) -> Result<StageGuard> {
        StageGuard::try_lock(&self.root.join("locks").join(stage.file_name()))
    }

    // ----------------------------------------------------------- rotation

    /// Hand out the next rotation number, durably. Call with the rotate
    /// stage lock held.
    pub fn next_rotation(&self, _guard: &StageGuard) -> Result<u64> {
        let path = self.root.join("state/rotation.seq");
        let last = match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse::<u64>().map_err(|_| {
                Error::data(format!(
                    "cannot read rotation number in '{}'",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == IoKind::NotFound => {
                self.highest_rotation()?
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let next = last + 1;
        let tmp = self.root.join("tmp/rotation.seq");
        durable::write_atomic(&tmp, &path, format!("{next}\n").as_bytes())?;
        Ok(next)
    }

    /// The highest rotation number present anywhere (recovers a lost
    /// counter file so numbers are never reused).
    fn highest_rotation(&self) -> Result<u64> {
        let mut high = 0;
        for d in ["incoming", "archive", "tmp"] {
            for b in self.list_batches(&self.root.join(d))? {
                high = high.max(b.rotation);
            }
        }
        Ok(high)
    }

    /// Move a locked mbox into `incoming/` as rotation `n`. The rename is
    /// the whole critical section; both directories are synced after.
    pub fn enter_mbox(&self, mbox: &MailboxLock, n: u64) -> Result<Batch> {
        let name = format!("{n:012}.mbox");
        let dest = self.root.join("incoming").join(&name);
        let from = mbox.path();
        fs::rename(from, &dest).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EXDEV) {
                " (the spool must be on the mailbox's file system)"
            } else {
                ""
            };
            Error::io_msg(
                format!(
                    "cannot rename '{}' to '{}'{hint}",
                    from.display(),
                    dest.display()
                ),
                e,
            )
        })?;
        Ok(Batch {
            name,
            rotation: n,
            kind: BatchKind::Mbox,
            path: dest,
        })
    }

    /// Make an entered mbox durable: sync the spool's and the mailbox's
    /// directories (after the locks are released: syncs are slow).
    pub fn settle_mbox(&self, mailbox: &Path) -> Result<()> {
        durable::sync_dir(&self.root.join("incoming"))?;
        durable::sync_dir(parent_dir(mailbox))
    }

    /// Move Maildir message files into a new batch, rotation `n`, in the
    /// order given, then publish the batch in `incoming/`. A crash part
    /// way leaves `tmp/<n>.maildir`, which [`Spool::recover`] publishes.
    pub fn enter_maildir(
        &self,
        files: &[PathBuf],
        n: u64,
        maildir: &Path,
    ) -> Result<Batch> {
        let name = format!("{n:012}.maildir");
        let staging = self.root.join("tmp").join(&name);
        durable::make_dir(&staging)?;
        durable::sync_dir(&self.root.join("tmp"))?;
        for (i, file) in files.iter().enumerate() {
            let base = file
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dest = staging.join(format!("{i:06}-{base}"));
            match fs::rename(file, &dest) {
                Ok(()) => {}
                // Another reader (a person with a mail client) moved it.
                Err(e) if e.kind() == IoKind::NotFound => continue,
                Err(e) => {
                    return Err(Error::io_msg(
                        format!(
                            "cannot rename '{}' to '{}'",
                            file.display(),
                            dest.display()
                        ),
                        e,
                    ))
                }
            }
        }
        durable::sync_dir(&staging)?;
        for sub in ["new", "cur"] {
            let d = maildir.join(sub);
            if d.is_dir() {
                durable::sync_dir(&d)?;
            }
        }
        self.publish_batch(&staging)
    }

    fn publish_batch(&self, staging: &Path) -> Result<Batch> {
        let name = staging.file_name().unwrap_or_default();
        let dest = self.root.join("incoming").join(name);
        durable::rename(staging, &dest)?;
        durable::sync_dir(&self.root.join("incoming"))?;
        durable::sync_dir(&self.root.join("tmp"))?;
        Batch::from_path(dest).ok_or_else(|| {
            Error::data(format!("bad batch name '{}'", staging.display()))
        })
    }

    /// Finish what a killed rotation left: publish half-moved Maildir
    /// batches from `tmp/`.
    pub fn recover(&self, _guard: &StageGuard) -> Result<Vec<Batch>> {
        let mut done = Vec::new();
        for b in self.list_batches(&self.root.join("tmp"))? {
            if b.kind == BatchKind::Maildir {
                done.push(self.publish_batch(&b.path)?);
            }
        }
        Ok(done)
    }

    // -------------------------------------------------------------- parse

    /// The rotated mailboxes waiting to be parsed, in rotation order.
    pub fn incoming(&self) -> Result<Vec<Batch>> {
        self.list_batches(&self.root.join("incoming"))
    }

    /// The archived mailboxes, in rotation order.
    pub fn archived(&self) -> Result<Vec<Batch>> {
        self.list_batches(&self.root.join("archive"))
    }

    fn list_batches(&self, dir: &Path) -> Result<Vec<Batch>> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read directory", dir, e)),
        };
        let mut batches: Vec<Batch> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Batch::from_path(e.path()))
            .collect();
        batches.sort_by_key(|b| b.rotation);
        Ok(batches)
    }

    /// Write records and raw messages under their final names. With
    /// `durable`, everything is synced (once, for the whole set) before
    /// the first rename, and the directories after the last.
    pub fn write_messages(
        &self,
        items: &[(Record, Vec<u8>)],
        durable: bool,
    ) -> Result<()> {
        let tmp = self.root.join("tmp");
        let mut staged = Vec::with_capacity(items.len() * 2);
        for (record, raw) in items {
            let name = ticket_name(record.ticket);
            let json = serde_json::to_vec(record).map_err(|e| {
                Error::data(format!("cannot encode record {name}: {e}"))
            })?;
            for (bytes, dir, ext) in
                [(&json, "msg", "json"), (raw, "raw", "eml")]
            {
                let t = tmp.join(format!("{name}.{ext}"));
                let _ = fs::remove_file(&t);
                durable::create(&t, bytes)?;
                let dest = self.root.join(dir).join(format!("{name}.{ext}"));
                staged.push((t, dest));
            }
        }
        if durable {
            durable::sync_fs(&tmp)?;
        }
        for (t, dest) in &staged {
            durable::rename(t, dest)?;
        }
        if durable {
            durable::sync_dir(&self.root.join("msg"))?;
            durable::sync_dir(&self.root.join("raw"))?;
        }
        Ok(())
    }

    /// Move a parsed batch to `archive/`, durably.
    pub fn archive(&self, batch: &Batch) -> Result<()> {
        let dest = self.root.join("archive").join(&batch.name);
        durable::rename(&batch.path, &dest)?;
        durable::sync_dir(&self.root.join("archive"))?;
        durable::sync_dir(&self.root.join("incoming"))
    }

    // ------------------------------------------------------------ readers

    /// The record file of a ticket.
    pub fn record_path(&self, ticket: u64) -> PathBuf {
        self.root
            .join("msg")
            .join(format!("{}.json", ticket_name(ticket)))
    }

    /// The raw message file of a ticket.
    pub fn raw_path(&self, ticket: u64) -> PathBuf {
        self.root
            .join("raw")
            .join(format!("{}.eml", ticket_name(ticket)))
    }

    /// Read a ticket's record.
    pub fn record(&self, ticket: u64) -> Result<Record> {
        let path = self.record_path(ticket);
        let bytes =
            fs::read(&path).map_err(|e| Error::io("read record", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::data(format!(
                "cannot read record '{}': {e}",
                path.display()
            ))
        })
    }

    /// Read a ticket's raw message.
    pub fn raw(&self, ticket: u64) -> Result<Vec<u8>> {
        let path = self.raw_path(ticket);
        fs::read(&path).map_err(|e| Error::io("read message", &path, e))
    }

    /// The time a batch was rotated (its file's change time), in
    /// microseconds: the arrival time of messages with no trusted
    /// Received header.
    pub fn rotation_time_us(&self, batch: &Batch) -> Result<i64> {
        let meta = fs::metadata(&batch.path)
            .map_err(|e| Error::io("stat", &batch.path, e))?;
        Ok(meta.ctime() * 1_000_000 + meta.ctime_nsec() / 1000)
    }
}

/// The directory holding `path` ("." for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
