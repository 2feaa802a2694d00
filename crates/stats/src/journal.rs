//! A fast, read-only pass over the journal: complete lines only, the
//! event name looked at before any JSON is parsed, and only the fields
//! the reports use deserialized, borrowed from the line.
//!
//! Design rationale: `spool::journal::Reader` decodes every line into the
//! full `Event` enum (an internally tagged enum behind `#[serde(flatten)]`
//! buffers every value twice) and hashes it. For a million requests that
//! is four million lines; the reports need a third of the fields of a
//! third of the events, and most of them need no hash. So this module
//! reads the same format with a narrower struct. The hash chain rule is
//! the spool's (docs/spool.md): a line's hash is the SHA-256 of its bytes
//! without the newline, the next line's `prev` names it, the first line's
//! `prev` is `spool::journal::GENESIS`, and `seq` counts up from 1.
//!
//! XXX: `Line` mirrors the field names of `spool::journal::Event`; the
//! tests write their journals through `spool::journal::Journal`, so a
//! renamed field fails them. A borrowed fast reader belongs in the spool
//! crate.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use memchr::memmem;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use spool::Kind;

use crate::stamp;

/// Which events a report reads; the others are skipped unparsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `parsed`.
    pub parsed: bool,
    /// `rotated`, `batch`, `archived`.
    pub batches: bool,
    /// `ack`.
    pub acks: bool,
    /// `lease`, `extend`, `release`, `hold`, `unhold`, `complete`.
    pub queue: bool,
    /// Hash every line and check the chain.
    pub chain: bool,
}

impl Wanted {
    /// Every event and the chain.
    pub fn all() -> Wanted {
        Wanted {
            parsed: true,
            batches: true,
            acks: true,
            queue: true,
            chain: true,
        }
    }

    fn wants(&self, ev: &str) -> bool {
        match ev {
            "parsed" => self.parsed,
            "rotated" | "batch" | "archived" => self.batches,
            "ack" => self.acks,
            "lease" | "extend" | "release" | "hold" | "unhold"
            | "complete" => self.queue,
            _ => false,
        }
    }
}

/// One journal line, the fields of every event kind side by side; each
/// event fills its own.
#[derive(Debug, Deserialize)]
pub struct Line<'a> {
    pub seq: u64,
    #[serde(borrow)]
    pub t: Cow<'a, str>,
    #[serde(borrow)]
    pub prev: Cow<'a, str>,
    #[serde(borrow)]
    pub ev: Cow<'a, str>,
    pub ticket: Option<u64>,
    #[serde(borrow)]
    pub batch: Option<Cow<'a, str>>,
    pub first: Option<u64>,
    pub count: Option<u64>,
    pub offset: Option<u64>,
    pub arrival_us: Option<i64>,
    pub rotation: Option<u64>,
    pub position: Option<u64>,
    pub kind: Option<Kind>,
    #[serde(borrow)]
    pub domains: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub sha256: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub registrar: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub token: Option<Cow<'a, str>>,
    pub expires_us: Option<i64>,
    #[serde(borrow)]
    pub outcome: Option<Cow<'a, str>>,
}

/// Just what the chain check reads of a line not otherwise wanted.
#[derive(Deserialize)]
struct Head<'a> {
    seq: u64,
    #[serde(borrow)]
    prev: Cow<'a, str>,
}

/// Where the chain first broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// Byte offset of the line that does not link.
    pub offset: u64,
    /// Its seq, when it could be read.
    pub seq: Option<u64>,
    pub detail: String,
}

/// A line that could not be read, by byte offset.
#[derive(Clone, Debug)]
pub struct Unreadable {
    pub offset: u64,
    pub detail: String,
}

/// What one read of the journal saw besides the events.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Complete lines read.
    pub lines: u64,
    /// Bytes of complete lines (where a tail could resume).
    pub bytes: u64,
    pub last_seq: u64,
    /// Hash of the last line (only with `Wanted::chain`).
    pub last_hash: Option<String>,
    /// The first broken link (only with `Wanted::chain`).
    pub chain_break: Option<Break>,
    /// Lines that are not JSON or lack an event's fields.
    pub unreadable: Vec<Unreadable>,
    /// Bytes after the last newline: a line still being written.
    pub partial_tail: u64,
}

/// Read `path` from the start, calling `each` with every wanted line and
/// its byte offset. A missing journal reads as empty.
pub fn read<F>(path: &Path, wanted: Wanted, mut each: F) -> io::Result<Tally>
where
    F: FnMut(&Line, u64),
{
    let mut tally = Tally::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(tally),
        Err(e) => return Err(e),
    };
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut chain = Chain::new(wanted.chain);
    let tag = memmem::Finder::new(TAG);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            // A writer is still on this line (or died in it): stop here.
            tally.partial_tail = n as u64;
            break;
        }
        let offset = tally.bytes;
        tally.bytes += n as u64;
        tally.lines += 1;
        let bytes = &buf[..n - 1];
        let read = Reading { tag: &tag, wanted };
        if let Err(detail) = read.take(bytes, offset, &mut chain, &mut each) {
            tally.unreadable.push(Unreadable { offset, detail });
        }
        if let Some(seq) = chain.seq {
            tally.last_seq = seq;
        }
    }
    tally.last_hash = chain.last_hash();
    tally.chain_break = chain.broken.take();
    Ok(tally)
}

/// The event name's tag: the spool writes `seq`, `t` and `prev` first,
/// then the event with its `ev` tag.
const TAG: &[u8] = b"\"ev\":\"";

/// What one read looks for.
struct Reading<'a> {
    tag: &'a memmem::Finder<'a>,
    wanted: Wanted,
}

impl Reading<'_> {
    /// Handle one complete line: the chain, then the event if wanted.
    fn take<F>(
        &self,
        bytes: &[u8],
        offset: u64,
        chain: &mut Chain,
        each: &mut F,
    ) -> Result<(), String>
    where
        F: FnMut(&Line, u64),
    {
        let ev = self.event_name(bytes);
        if ev.is_some_and(|ev| self.wanted.wants(ev)) {
            let line: Line = match serde_json::from_slice(bytes) {
                Ok(line) => line,
                Err(e) => {
                    chain.link(bytes, offset, None);
                    return Err(format!("not a journal line: {e}"));
                }
            };
            chain.link(bytes, offset, Some((line.seq, line.prev.as_bytes())));
            each(&line, offset);
            return Ok(());
        }
        if chain.on {
            // Only the chain reads this line: its head is enough.
            match head(bytes) {
                Some((seq, prev)) => {
                    chain.link(bytes, offset, Some((seq, prev)))
                }
                None => match serde_json::from_slice::<Head>(bytes) {
                    Ok(h) => chain.link(
                        bytes,
                        offset,
                        Some((h.seq, h.prev.as_bytes())),
                    ),
                    Err(e) => {
                        chain.link(bytes, offset, None);
                        return Err(format!("not a journal line: {e}"));
                    }
                },
            }
        }
        match ev {
            Some(_) => Ok(()),
            None => Err("no \"ev\" field".to_string()),
        }
    }

    /// The event name, found without parsing.
    fn event_name<'b>(&self, bytes: &'b [u8]) -> Option<&'b str> {
        let at = self.tag.find(bytes)? + TAG.len();
        let len = memchr::memchr(b'"', &bytes[at..])?;
        std::str::from_utf8(&bytes[at..at + len]).ok()
    }
}

/// `seq` and `prev` read off the front of a line as the spool writes it
/// (`{"seq":N,"t":"...","prev":"HEX",`), None when it is not so.
fn head(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let rest = bytes.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"t\":\"")?;
    let close = memchr::memchr(b'"', rest)?;
    let rest = rest[close..].strip_prefix(b"\",\"prev\":\"")?;
    let prev = rest.get(..64)?;
    rest[64..].starts_with(b"\",").then_some((seq, prev))
}

/// The running hash chain.
struct Chain {
    on: bool,
    /// The hash the next line's `prev` must give.
    prev: [u8; 32],
    prev_offset: Option<u64>,
    seq: Option<u64>,
    broken: Option<Break>,
}

impl Chain {
    fn new(on: bool) -> Chain {
        Chain {
            on,
            prev: [0; 32],
            prev_offset: None,
            seq: None,
            broken: None,
        }
    }

    /// The last line's hash in hex (GENESIS before any line).
    fn last_hash(&self) -> Option<String> {
        self.on.then(|| hex::encode(self.prev))
    }

    /// Check that this line links to the one before, then make it the
    /// one before. `head` (seq, prev in hex) is None for a line that is
    /// not JSON.
    fn link(&mut self, bytes: &[u8], offset: u64, head: Option<(u64, &[u8])>) {
        let last_seq = self.seq;
        self.seq = match head {
            Some((seq, _)) => Some(seq),
            None => last_seq.map(|s| s + 1),
        };
        if !self.on {
            return;
        }
        let expected =
            std::mem::replace(&mut self.prev, Sha256::digest(bytes).into());
        let before = self.prev_offset.replace(offset);
        if self.broken.is_some() {
            return;
        }
        let links = |prev: &[u8]| {
            let mut given = [0u8; 32];
            hex::decode_to_slice(prev, &mut given).is_ok() && given == expected
        };
        let problem = match head {
            None => Some("the line is not JSON".to_string()),
            Some((_, prev)) if !links(prev) => {
                Some(match before {
                    Some(o) => {
                        format!("prev does not match the hash of the line at byte {o}")
                    }
                    None => "prev is not that of the first line".to_string(),
                })
            }
            Some((seq, _)) if seq != last_seq.map_or(1, |s| s + 1) => {
                Some(match last_seq {
                    Some(s) => format!("seq {seq} follows seq {s}"),
                    None => format!("the first seq is {seq}, not 1"),
                })
            }
            Some(_) => None,
        };
        self.broken = problem.map(|detail| Break {
            offset,
            seq: head.map(|(seq, _)| seq),
            detail,
        });
    }
}

/// A line's time in microseconds (None when it cannot be read).
pub fn line_time(line: &Line) -> Option<i64> {
    stamp::parse(&line.t)
}
