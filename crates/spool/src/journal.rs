//! The journal: an append-only file of state changes, one JSON object a
//! line, each line carrying the SHA-256 of the line before it, so the
//! order of events can be proven later and a changed line is detected.
//!
//! Writers take `locks/journal.lock` for one append at a time. A writer
//! that was killed in the middle of a write leaves a torn last line; the
//! next writer cuts it off before appending (nothing acted on it: an
//! append is only acknowledged once it is synced). Readers take no lock
//! and stop before an incomplete last line, so they can tail the file.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fd_lock::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::error::{Error, Result};
use crate::record::Kind;

/// The `prev` of the first line.
pub const GENESIS: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// A state change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// A mailbox was moved into `incoming/`.
    Rotated {
        batch: String,
        source: String,
        bytes: u64,
        files: u64,
    },
    /// Tickets first..first+count-1 belong to this batch, which was
    /// rotated at `rotated_us` (the arrival time of its messages that
    /// carry no trusted Received header).
    Batch {
        batch: String,
        first: u64,
        count: u64,
        rotated_us: i64,
    },
    /// A message is durable in the spool.
    Parsed(Parsed),
    /// A batch's messages are all durable; the mailbox is archived.
    Archived { batch: String, count: u64 },
    /// An acknowledgement was sent, skipped, failed or put off.
    Ack(Ack),
    /// A request was leased to the registration system.
    Lease {
        ticket: u64,
        token: String,
        expires_us: i64,
        client: String,
    },
    /// A lease was extended.
    Extend {
        ticket: u64,
        token: String,
        expires_us: i64,
    },
    /// A lease was given back; the request returns to its place.
    Release { ticket: u64, token: String },
    /// The registration system could not decide; a person must.
    Hold {
        ticket: u64,
        token: String,
        reason: String,
    },
    /// An operator released a held request back to its place.
    Unhold { ticket: u64, reason: String },
    /// The registration system decided.
    Complete {
        ticket: u64,
        token: String,
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// An event this version does not know (written by a newer one).
    #[serde(other)]
    Unknown,
}

/// The `parsed` event: what the queue and the reports need of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parsed {
    pub ticket: u64,
    pub batch: String,
    pub offset: u64,
    pub arrival_us: i64,
    pub rotation: u64,
    pub position: u64,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_of: Option<u64>,
    /// A-labels.
    pub domains: Vec<String>,
    pub sha256: String,
    #[serde(default)]
    pub message_id: Option<String>,
    pub fingerprint: String,
    /// The registrar's address (From, else the envelope sender).
    pub registrar: String,
}

impl Parsed {
    /// The `parsed` event of a record, with the registrar's address as
    /// the caller reads it.
    pub fn of(r: &crate::Record, registrar: String) -> Parsed {
        Parsed {
            ticket: r.ticket,
            batch: r.batch.clone(),
            offset: r.offset,
            arrival_us: r.key.arrival_us,
            rotation: r.key.rotation,
            position: r.key.position,
            kind: r.kind,
            dup_of: r.dup_of,
            domains: r.ascii_domains(),
            sha256: r.sha256.clone(),
            message_id: r.message_id.clone(),
            fingerprint: r.fingerprint.clone(),
            registrar,
        }
    }

    /// The arrival key.
    pub fn key(&self) -> crate::ArrivalKey {
        crate::ArrivalKey {
            arrival_us: self.arrival_us,
            rotation: self.rotation,
            position: self.position,
        }
    }
}

/// The `ack` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub ticket: u64,
    /// `sent`, `skipped`, `failed` or `deferred`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try_us: Option<i64>,
    /// The acknowledgement's own Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// One journal line, read back.
#[derive(Clone, Debug)]
pub struct Entry {
    pub seq: u64,
    /// When it was written, microseconds since the epoch.
    pub t_us: i64,
    pub prev: String,
    /// SHA-256 (hex) of this line.
    pub hash: String,
    pub event: Event,
    /// Byte offset of this line.
    pub offset: u64,
}

#[derive(Deserialize)]
struct Line {
    seq: u64,
    t: String,
    prev: String,
    #[serde(flatten)]
    event: Event,
}

/// The writing end of the journal.
pub struct Journal {
    path: PathBuf,
    file: File,
    lock: RwLock<File>,
    /// (file length, seq, hash) after our last append or look.
    tail: Option<(u64, u64, String)>,
}

impl Journal {
    /// Open the journal at `path`, its lock at `lock_path`.
    pub fn open(path: &Path, lock_path: &Path) -> Result<Journal> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io("open journal", path, e))?;
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .map_err(|e| Error::io("open lock", lock_path, e))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            lock: RwLock::new(lock_file),
            tail: None,
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `events` as consecutive lines, durably: when this returns
    /// Ok, the lines are on disk. Returns their sequence numbers.
    pub fn append(&mut self, events: &[Event]) -> Result<Vec<u64>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let Journal {
            path,
            file,
            lock,
            tail,
        } = self;
        let _guard = lock
            .write()
            .map_err(|e| Error::io("lock journal", path, e))?;
        let (len, mut seq, mut prev) = current_tail(file, tail, path)?;
        let now = clock::rfc3339_us(clock::now_us());
        let mut buf = Vec::with_capacity(events.len() * 256);
        let mut seqs = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let line = render(seq, &now, &prev, event)?;
            prev = hash_hex(line.as_bytes());
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            seqs.push(seq);
        }
        file.write_all(&buf)
            .map_err(|e| Error::io("append to journal", path, e))?;
        file.sync_data()
            .map_err(|e| Error::io("sync journal", path, e))?;
        *tail = Some((len + buf.len() as u64, seq, prev));
        Ok(seqs)
    }
}

/// The (length, last seq, last hash) of the file as it is now, cutting
/// off a torn last line. Called with the journal lock held.
fn current_tail(
    file: &mut File,
    tail: &mut Option<(u64, u64, String)>,
    path: &Path,
) -> Result<(u64, u64, String)> {
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat journal", path, e))?
        .len();
    if let Some((l, s, h)) = tail.as_ref() {
        if *l == len {
            return Ok((*l, *s, h.clone()));
        }
    }
    let (end, last) = read_tail(file, len, path)?;
    if end < len {
        file.set_len(end)
            .map_err(|e| Error::io("repair journal", path, e))?;
    }
    let (seq, hash) = match last {
        None => (0, GENESIS.to_string()),
        Some(line) => {
            let parsed: Line = serde_json::from_slice(&line).map_err(|e| {
                Error::data(format!(
                    "cannot read last line of journal '{}': {e}",
                    path.display()
                ))
            })?;
            (parsed.seq, hash_hex(&line))
        }
    };
    *tail = Some((end, seq, hash.clone()));
    Ok((end, seq, hash))
}

/// Render one line: seq, time and prev first, then the event's fields.
fn render(seq: u64, t: &str, prev: &str, event: &Event) -> Result<String> {
    let body = serde_json::to_string(event)
        .map_err(|e| Error::data(format!("cannot encode event: {e}")))?;
    // body is a JSON object: splice our fields in front of its own.
    Ok(format!(
        "{{\"seq\":{seq},\"t\":\"{t}\",\"prev\":\"{prev}\",{}",
        &body[1..]
    ))
}

/// SHA-256 hex of bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Find the end of the last complete line and that line's bytes.
fn read_tail(
    file: &mut File,
    len: u64,
    path: &Path,
) -> Result<(u64, Option<Vec<u8>>)> {
    if len == 0 {
        return Ok((0, None));
    }
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = vec![0u8; (len - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| Error::io("read journal", path, e))?;
        // The end of the last complete line.
        let end = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => i,
            None if start == 0 => return Ok((0, None)),
            None => {
                window *= 4;
                continue;
            }
        };
        let line_start = match buf[..end].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if start == 0 => 0,
            None => {
                window *= 4;
                continue;
            }
        };
        let line = buf[line_start..end].to_vec();
        return Ok((start + end as u64 + 1, Some(line)));
    }
}

/// The reading end: iterates complete lines from an offset, checking the
/// hash chain as it goes.
pub struct Reader {
    path: PathBuf,
    input: BufReader<File>,
    offset: u64,
    prev: Option<String>,
    last_seq: Option<u64>,
    line: Vec<u8>,
}

impl Reader {
    /// Read `path` from its start.
    pub fn open(path: &Path) -> Result<Reader> {
        Reader::open_at(path, 0, None)
    }

    /// Read from `offset`, where the previous line's hash was `prev`
    /// (None: do not check the first line's link).
    pub fn open_at(
        path: &Path,
        offset: u64,
        prev: Option<String>,
    ) -> Result<Reader> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No journal yet reads as an empty one.
                File::open("/dev/null").map_err(|e| {
                    Error::io("open", Path::new("/dev/null"), e)
                })?
            }
            Err(e) => return Err(Error::io("open journal", path, e)),
        };
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("seek journal", path, e))?;
        let prev = if offset == 0 {
            Some(GENESIS.to_string())
        } else {
            prev
        };
        Ok(Reader {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(256 * 1024, file),
            offset,
            prev,
            last_seq: None,
            line: Vec::with_capacity(512),
        })
    }

    /// The offset just past the last complete line read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The hash of the last line read (to resume with `open_at`).
    pub fn prev(&self) -> Option<&str> {
        self.prev.as_deref()
    }

    /// The next complete line, None at the end (or before a torn line).
    /// An Err names the line's offset and what is wrong with it; reading
    /// can go on after it.
    pub fn next_entry(&mut self) -> Option<Result<Entry>> {
        self.line.clear();
        let n = match self.input.read_until(b'\n', &mut self.line) {
            Ok(n) => n,
            Err(e) => {
                return Some(Err(Error::io("read journal", &self.path, e)))
            }
        };
        if n == 0 {
            return None;
        }
        if self.line.last() != Some(&b'\n') {
            // A line still being written (or torn): leave it for later.
            let back = -(n as i64);
            let _ = self.input.seek_relative(back);
            return None;
        }
        let offset = self.offset;
        self.offset += n as u64;
        let line = std::mem::take(&mut self.line);
        let entry = self.check(&line[..n - 1], offset);
        self.line = line;
        Some(entry)
    }

    fn check(&mut self, bytes: &[u8], offset: u64) -> Result<Entry> {
        let hash = hash_hex(bytes);
        let expected = self.prev.replace(hash.clone());
        let line: Line = serde_json::from_slice(bytes).map_err(|e| {
            Error::data(format!(
                "journal '{}' at byte {offset}: unreadable line: {e}",
                self.path.display()
            ))
        })?;
        if let Some(expected) = expected {
            if line.prev != expected {
                return Err(Error::data(format!(
                    "journal '{}' at byte {offset} (seq {}): chain broken: \
                     prev does not match the line before",
                    self.path.display(),
                    line.seq
                )));
            }
        }
        if let Some(last) = self.last_seq.replace(line.seq) {
            if line.seq != last + 1 {
                return Err(Error::data(format!(
                    "journal '{}' at byte {offset}: seq {} follows {last}",
                    self.path.display(),
                    line.seq
                )));
            }
        }
        Ok(Entry {
            seq: line.seq,
            t_us: clock::parse_rfc3339(&line.t).unwrap_or(0),
            prev: line.prev,
            hash,
            event: line.event,
            offset,
        })
    }
}

impl Iterator for Reader {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        self.next_entry()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(t: u64) -> Event {
        Event::Release {
            ticket: t,
            token: "x".into(),
        }
    }

    #[test]
    fn appends_chain_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let lock = dir.path().join("journal.lock");
        let mut j = Journal::open(&path, &lock).unwrap();
        j.append(&[release(1), release(2)]).unwrap();
        let mut j2 = Journal::open(&path, &lock).unwrap();
        j2.append(&[release(3)]).unwrap();
        j.append(&[release(4)]).unwrap();
        let seqs: Vec<u64> = Reader::open(&path)
            .unwrap()
            .map(|e| e.unwrap().seq)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }

    #[test]
    fn torn_line_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let lock = dir.path().join("journal.lock");
        Journal::open(&path, &lock)
            .unwrap()
            .append(&[release(1)])
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":2,\"t\":\"20").unwrap();
        let mut r = Reader::open(&path).unwrap();
        assert!(r.next_entry().unwrap().is_ok());
        assert!(r.next_entry().is_none());
        Journal::open(&path, &lock)
            .unwrap()
            .append(&[release(2)])
            .unwrap();
        let all: Vec<Entry> =
            Reader::open(&path).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].event, release(2));
    }

    #[test]
    fn a_changed_line_breaks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let lock = dir.path().join("journal.lock");
        Journal::open(&path, &lock)
            .unwrap()
            .append(&[release(1), release(2), release(3)])
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen("\"ticket\":2", "\"ticket\":9", 1),
        )
        .unwrap();
        let results: Vec<_> = Reader::open(&path).unwrap().collect();
        assert!(results[0].is_ok() && results[1].is_ok());
        let err = results[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("chain broken"), "{err}");
    }

    #[test]
    fn unknown_events_are_read_as_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let line = render(1, "2004-05-11T09:00:00Z", GENESIS, &release(1))
            .unwrap()
            .replace("\"release\"", "\"future\"");
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let e = Reader::open(&path).unwrap().next().unwrap().unwrap();
        assert_eq!(e.event, Event::Unknown);
    }
}
