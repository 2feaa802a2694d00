//! suzanne-parse: give every message of every rotated mailbox its ticket
//! and its place in line, durably.
//!
//! A batch (one rotated mailbox) goes through these steps, each of which
//! a re-run after `kill -9` repeats or skips so that the result is the
//! spool an uninterrupted run leaves:
//!
//! 1. split and parse every message (pure: same bytes, same result);
//! 2. sort by arrival key and fix the tickets with a `batch` journal line
//!    (a re-run reuses the line it finds, with its rotation time);
//! 3. write records and raw messages in chunks: write all, sync once,
//!    rename, sync the directories; then journal the chunk's `parsed`
//!    lines, skipping those a killed run already journalled;
//! 4. journal `archived`, then move the mailbox to `archive/`.
//!
//! Duplicates are judged against every earlier ticket only, so the same
//! input always gives the same verdict.

use std::collections::{HashMap, HashSet};
use std::fs;

use sha2::{Digest, Sha256};
use spool::journal::{Event, Parsed as ParsedEvent};
use spool::record::{Domain, TimeSource};
use spool::{
    clock, ArrivalKey, Batch, BatchKind, Error, Kind, Record, Result, Spool,
    Stage,
};
use suzanne_mail::{Class, Flavour, ParseOptions, Parsed};

/// How to parse.
#[derive(Clone, Debug)]
pub struct Options {
    pub flavour: Flavour,
    pub mail: ParseOptions,
    /// Sync before publishing.
    pub durable: bool,
    /// Messages per sync.
    pub chunk: usize,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub batches: usize,
    pub messages: usize,
    pub by_kind: HashMap<&'static str, usize>,
}

/// One message on its way to the spool.
struct Item {
    key: ArrivalKey,
    file: String,
    offset: u64,
    raw: Vec<u8>,
    incomplete: bool,
    parsed: Parsed,
}

/// The first request seen with a Message-ID.
struct FirstCopy {
    ticket: u64,
    fingerprint: String,
    key: ArrivalKey,
}

/// What earlier batches left in the journal.
#[derive(Default)]
struct Known {
    /// Message-ID -> its first request.
    first_by_id: HashMap<String, FirstCopy>,
    /// batch name -> (first ticket, count, rotation time)
    batches: HashMap<String, (u64, u64, i64)>,
    /// tickets already journalled as parsed
    journalled: HashSet<u64>,
    /// batches already journalled as archived
    archived: HashSet<String>,
    next_ticket: u64,
}

/// Parse every rotated mailbox waiting in `incoming/`.
pub fn run(spool: &Spool, opts: &Options) -> Result<Report> {
    let _guard = spool.lock_stage(Stage::Parse)?;
    let waiting = spool.incoming()?;
    let mut report = Report::default();
    if waiting.is_empty() {
        return Ok(report);
    }
    let pending: HashSet<String> =
        waiting.iter().map(|b| b.name.clone()).collect();
    let mut known = replay(spool, &pending)?;
    let mut journal = spool.journal()?;
    for batch in &waiting {
        let n = parse_batch(spool, batch, opts, &mut known, &mut journal)?;
        report.batches += 1;
        report.messages += n.len();
        for kind in n {
            *report.by_kind.entry(kind.as_str()).or_default() += 1;
        }
    }
    Ok(report)
}

/// Read the journal once for what parsing needs. Requests of batches
/// still waiting are left out of the duplicate index: they are about to
/// be parsed (again) and must not be judged duplicates of themselves.
fn replay(spool: &Spool, pending: &HashSet<String>) -> Result<Known> {
    let mut known = Known {
        next_ticket: 1,
        ..Known::default()
    };
    for entry in spool.journal_reader()? {
        match entry?.event {
            Event::Batch {
                batch,
                first,
                count,
                rotated_us,
            } => {
                known.next_ticket = known.next_ticket.max(first + count);
                known.batches.insert(batch, (first, count, rotated_us));
            }
            Event::Parsed(p) => {
                known.journalled.insert(p.ticket);
                if pending.contains(&p.batch) || p.kind != Kind::Request {
                    continue;
                }
                let key = p.key();
                if let Some(id) = p.message_id {
                    known.first_by_id.entry(id).or_insert(FirstCopy {
                        ticket: p.ticket,
                        fingerprint: p.fingerprint,
                        key,
                    });
                }
            }
            Event::Archived { batch, .. } => {
                known.archived.insert(batch);
            }
            _ => {}
        }
    }
    Ok(known)
}

/// Parse one batch through all four steps; returns the kinds.
fn parse_batch(
    spool: &Spool,
    batch: &Batch,
    opts: &Options,
    known: &mut Known,
    journal: &mut spool::journal::Journal,
) -> Result<Vec<Kind>> {
    if known.archived.contains(&batch.name) {
        // Killed between the `archived` line and the rename.
        spool.archive(batch)?;
        return Ok(Vec::new());
    }
    let mut items = read_batch(batch, opts)?;
    let (first, rotated_us) =
        fix_tickets(spool, batch, &items, known, journal)?;
    for item in &mut items {
        if item.parsed.received_us.is_none() {
            item.key.arrival_us = rotated_us;
        }
    }
    items.sort_by_key(|i| i.key);
    let mut kinds = Vec::with_capacity(items.len());
    for (start, chunk) in chunks(&items, opts.chunk) {
        let tickets =
            first + start as u64..first + (start + chunk.len()) as u64;
        let records: Vec<Record> = chunk
            .iter()
            .zip(tickets)
            .map(|(item, ticket)| make_record(ticket, batch, item, known))
            .collect();
        kinds.extend(records.iter().map(|r| r.kind));
        // A journalled ticket's files were durable before its line was
        // written: a re-run after a kill need not write them again.
        let todo: Vec<(Record, Vec<u8>)> = records
            .into_iter()
            .zip(chunk)
            .filter(|(r, _)| !known.journalled.contains(&r.ticket))
            .map(|(r, item)| (r, item.raw.clone()))
            .collect();
        spool.write_messages(&todo, opts.durable)?;
        let events: Vec<Event> = todo
            .iter()
            .map(|(r, _)| Event::Parsed(parsed_event(r)))
            .collect();
        journal.append(&events)?;
        known.journalled.extend(todo.iter().map(|(r, _)| r.ticket));
    }
    journal.append(&[Event::Archived {
        batch: batch.name.clone(),
        count: items.len() as u64,
    }])?;
    spool.archive(batch)?;
    Ok(kinds)
}

fn chunks(items: &[Item], size: usize) -> Vec<(usize, &[Item])> {
    let size = size.max(1);
    items
        .chunks(size)
        .enumerate()
        .map(|(i, c)| (i * size, c))
        .collect()
}

/// The batch's first ticket and rotation time: from its `batch` line if
/// a killed run wrote one, else newly fixed and journalled now.
fn fix_tickets(
    spool: &Spool,
    batch: &Batch,
    items: &[Item],
    known: &mut Known,
    journal: &mut spool::journal::Journal,
) -> Result<(u64, i64)> {
    let count = items.len() as u64;
    if let Some(&(first, n, rotated_us)) = known.batches.get(&batch.name) {
        if n != count {
            return Err(Error::data(format!(
                "batch '{}' held {n} messages when first parsed and \
                 holds {count} now; refusing to renumber",
                batch.path.display()
            )));
        }
        return Ok((first, rotated_us));
    }
    let first = known.next_ticket;
    let rotated_us = spool.rotation_time_us(batch)?;
    journal.append(&[Event::Batch {
        batch: batch.name.clone(),
        first,
        count,
        rotated_us,
    }])?;
    known.next_ticket = first + count;
    known
        .batches
        .insert(batch.name.clone(), (first, count, rotated_us));
    Ok((first, rotated_us))
}

/// Split (mbox) or list (Maildir) the batch and parse every message.
fn read_batch(batch: &Batch, opts: &Options) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    match batch.kind {
        BatchKind::Mbox => {
            let data = fs::read(&batch.path)
                .map_err(|e| Error::io("read", &batch.path, e))?;
            for entry in suzanne_mail::split_mbox(&data, opts.flavour) {
                // parse_entry also carries the mailbox's own defects
                // (a From_ line without its blank line, a cut-off end).
                let parsed = suzanne_mail::parse_entry(&entry, &opts.mail);
                let mut it = item(
                    batch,
                    String::new(),
                    entry.offset,
                    entry.raw,
                    parsed,
                );
                it.incomplete = entry.incomplete;
                items.push(it);
            }
        }
        BatchKind::Maildir => {
            for (i, path) in batch.maildir_files()?.iter().enumerate() {
                let raw =
                    fs::read(path).map_err(|e| Error::io("read", path, e))?;
                let parsed =
                    suzanne_mail::parse_message(&raw, None, false, &opts.mail);
                let file = path
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                items.push(item(batch, file, i as u64, raw, parsed));
            }
        }
    }
    Ok(items)
}

fn item(
    batch: &Batch,
    file: String,
    offset: u64,
    raw: Vec<u8>,
    parsed: Parsed,
) -> Item {
    Item {
        key: ArrivalKey {
            // Filled from the batch's rotation time when None.
            arrival_us: parsed.received_us.unwrap_or(0),
            rotation: batch.rotation,
            position: offset,
        },
        file,
        offset,
        raw,
        incomplete: false,
        parsed,
    }
}

/// Build the record of one message, judging duplicates against every
/// earlier ticket.
fn make_record(
    ticket: u64,
    batch: &Batch,
    item: &Item,
    known: &mut Known,
) -> Record {
    let p = &item.parsed;
    let mut reason = p.defects.clone();
    let mut kind = match p.class {
        Class::Request => Kind::Request,
        Class::Auto => Kind::Auto,
        Class::Malformed => Kind::Malformed,
    };
    if let Some(why) = &p.class_reason {
        reason.insert(0, why.clone());
    }
    let mut dup_of = None;
    if kind == Kind::Request {
        dup_of = judge_duplicate(ticket, item, known, &mut reason);
        if dup_of.is_some() {
            kind = Kind::Duplicate;
        }
    }
    let time_source = if p.received_us.is_some() {
        TimeSource::Received
    } else {
        reason.push(
            "no trusted Received header: arrival is the rotation \
             time"
                .to_string(),
        );
        TimeSource::Rotation
    };
    Record {
        ticket,
        batch: batch.name.clone(),
        file: item.file.clone(),
        offset: item.offset,
        size: item.raw.len() as u64,
        sha256: hex::encode(Sha256::digest(&item.raw)),
        arrival: clock::rfc3339_us(item.key.arrival_us),
        key: item.key,
        time_source,
        received: p.received_raw.clone(),
        envelope_sender: p.envelope_sender.clone(),
        from: p.from.clone(),
        reply_to: p.reply_to.clone(),
        message_id: p.message_id.clone(),
        subject: p.subject.clone(),
        date: p.date.clone(),
        domains: p
            .domains
            .iter()
            .map(|d| Domain {
                unicode: d.unicode.clone(),
                ascii: d.ascii.clone(),
            })
            .collect(),
        form: p.form.clone(),
        body: p.body.clone(),
        language: p.language.clone(),
        kind,
        dup_of,
        reason,
        list: p.list,
        auto_submitted: p.auto_submitted.clone(),
        incomplete: item.incomplete,
        fingerprint: p.fingerprint.clone(),
    }
}

/// The first ticket this message duplicates, if any: the same
/// Message-ID and the same content, received no later. A copy that was
/// received *earlier* than the request already queued (Postfix deferred
/// it into a later mailbox) stays a request: it must not lose its place
/// to its own later copy.
fn judge_duplicate(
    ticket: u64,
    item: &Item,
    known: &mut Known,
    reason: &mut Vec<String>,
) -> Option<u64> {
    let p = &item.parsed;
    let id = p.message_id.as_ref()?;
    let Some(first) = known.first_by_id.get(id) else {
        known.first_by_id.insert(
            id.clone(),
            FirstCopy {
                ticket,
                fingerprint: p.fingerprint.clone(),
                key: item.key,
            },
        );
        return None;
    };
    if first.fingerprint != p.fingerprint {
        reason.push(format!(
            "Message-ID also used by ticket {} with other content",
            first.ticket
        ));
        return None;
    }
    if first.key > item.key {
        reason.push(format!(
            "same Message-ID and content as ticket {}, which was received \
             later; kept as a request for its earlier place",
            first.ticket
        ));
        return None;
    }
    reason.insert(0, format!("duplicate of ticket {}", first.ticket));
    Some(first.ticket)
}

/// The journal's summary of a record.
pub fn parsed_event(r: &Record) -> ParsedEvent {
    ParsedEvent::of(r, registrar(r))
}

/// The registrar's address: the From address, else the envelope sender,
/// lower-cased.
pub fn registrar(r: &Record) -> String {
    let from = addr_spec(&r.from);
    if !from.is_empty() {
        return from;
    }
    r.envelope_sender.clone().unwrap_or_default().to_lowercase()
}

/// The address inside angle brackets, or the whole trimmed text.
fn addr_spec(header: &str) -> String {
    let text = match (header.rfind('<'), header.rfind('>')) {
        (Some(a), Some(b)) if a < b => &header[a + 1..b],
        _ => header,
    };
    text.trim().to_lowercase()
}
