//! Checking a spool against a truth file: every message present exactly
//! once, nothing extra, each with the right kind and fields, duplicates
//! pointing at the right ticket, and the queue in the order of arrival.
//!
//! Messages are matched by the `X-Loadgen-Index` header of their raw
//! bytes in `raw/` (falling back on a Message-ID that names exactly one
//! truth line), never by ticket: tickets are the spool's to give.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use spool::journal::{Event, Parsed};
use spool::record::Record;
use spool::{Result, Spool};

use crate::headers;
use crate::smtp::LogLine;
use crate::truth::TruthLine;

/// How the order is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The queue order is exactly the truth's (a generated mailbox,
    /// whose Received headers the truth wrote).
    Strict,
    /// The server stamped the times (an SMTP run): the queue follows
    /// each message's trusted Received time, and agrees with the truth
    /// for messages accepted more than a second apart.
    Received,
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct Options {
    pub order: Order,
    /// The hosts whose Received headers are ours (for `Received`).
    pub trusted_hosts: Vec<String>,
    /// Acceptance times from an `smtp` log, by index (for `Received`).
    pub accepted_us: HashMap<u64, i64>,
}

/// The outcome: how many messages were compared, and every difference
/// found, one line each.
#[derive(Debug, Default)]
pub struct Verdict {
    pub messages: usize,
    pub differences: Vec<String>,
}

/// Acceptance times from an `smtp` log file.
pub fn read_log(path: &Path) -> Result<HashMap<u64, i64>> {
    let text = fs::read_to_string(path)
        .map_err(|e| spool::Error::io("read", path, e))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: LogLine = serde_json::from_str(line).map_err(|e| {
            spool::Error::data(format!(
                "cannot read log '{}' line {}: {e}",
                path.display(),
                n + 1
            ))
        })?;
        if let Some(t) = l.accepted_at.as_deref() {
            if let Some(us) = spool::clock::parse_rfc3339(t) {
                out.insert(l.index, us);
            }
        }
    }
    Ok(out)
}

/// One message found in the spool.
struct Found {
    ticket: u64,
    parsed: Parsed,
    record: Option<Record>,
    raw: Option<Vec<u8>>,
}

/// Compare `spool` with `truth`.
pub fn verify(
    spool: &Spool,
    truth: &[TruthLine],
    opts: &Options,
) -> Result<Verdict> {
    let mut v = Verdict {
        messages: truth.len(),
        differences: Vec::new(),
    };
    let found = read_spool(spool, &mut v)?;
    let by_index: HashMap<u64, &TruthLine> =
        truth.iter().map(|t| (t.index, t)).collect();

    // Match every spool message to a truth line.
    let mut ticket_of: HashMap<u64, u64> = HashMap::new();
    let mut index_of: HashMap<u64, u64> = HashMap::new();
    for f in &found {
        let Some(index) = match_index(f, truth, &by_index, &mut v) else {
            continue;
        };
        if let Some(&other) = ticket_of.get(&index) {
            v.differences.push(format!(
                "index {index} (tickets {other} and {}): in the spool twice",
                f.ticket
            ));
            continue;
        }
        ticket_of.insert(index, f.ticket);
        index_of.insert(f.ticket, index);
    }
    for t in truth {
        if !ticket_of.contains_key(&t.index) {
            v.differences
                .push(format!("index {}: missing from the spool", t.index));
        }
    }

    for f in &found {
        let Some(&index) = index_of.get(&f.ticket) else {
            continue;
        };
        if let (Some(t), Some(r)) = (by_index.get(&index), &f.record) {
            compare(t, r, f, &ticket_of, opts.order, &mut v);
        }
    }

    match opts.order {
        Order::Strict => strict_order(&found, &index_of, truth, &mut v),
        Order::Received => {
            received_order(&found, &index_of, &by_index, opts, &mut v)
        }
    }
    Ok(v)
}

/// The parsed messages of the journal, in queue order, with their
/// records and raw bytes.
fn read_spool(spool: &Spool, v: &mut Verdict) -> Result<Vec<Found>> {
    let mut parsed: BTreeMap<u64, Parsed> = BTreeMap::new();
    for entry in spool.journal_reader()? {
        match entry {
            Ok(e) => {
                if let Event::Parsed(p) = e.event {
                    if parsed.contains_key(&p.ticket) {
                        v.differences.push(format!(
                            "ticket {}: parsed twice in the journal",
                            p.ticket
                        ));
                    }
                    parsed.insert(p.ticket, p);
                }
            }
            Err(e) => v.differences.push(format!("journal: {e}")),
        }
    }
    for ticket in record_tickets(spool)? {
        if !parsed.contains_key(&ticket) {
            v.differences.push(format!(
                "ticket {ticket}: record in msg/ but no parsed event in \
                 the journal"
            ));
        }
    }

    let mut found: Vec<Found> = parsed
        .into_values()
        .map(|p| {
            let ticket = p.ticket;
            let record = match spool.record(ticket) {
                Ok(r) => Some(r),
                Err(e) => {
                    v.differences.push(format!("ticket {ticket}: {e}"));
                    None
                }
            };
            let raw = match spool.raw(ticket) {
                Ok(r) => Some(r),
                Err(e) => {
                    v.differences.push(format!("ticket {ticket}: {e}"));
                    None
                }
            };
            Found {
                ticket,
                parsed: p,
                record,
                raw,
            }
        })
        .collect();
    found.sort_by_key(|f| f.parsed.key());
    Ok(found)
}

/// The tickets of the records in `msg/`.
fn record_tickets(spool: &Spool) -> Result<Vec<u64>> {
    let dir = spool.dir("msg");
    let entries = fs::read_dir(&dir)
        .map_err(|e| spool::Error::io("read directory", &dir, e))?;
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix('T')?.strip_suffix(".json")?.parse().ok()
        })
        .collect())
}

fn match_index(
    f: &Found,
    truth: &[TruthLine],
    by_index: &HashMap<u64, &TruthLine>,
    v: &mut Verdict,
) -> Option<u64> {
    let ticket = f.ticket;
    if let Some(index) = f.raw.as_deref().and_then(headers::loadgen_index) {
        if by_index.contains_key(&index) {
            return Some(index);
        }
        v.differences.push(format!(
            "ticket {ticket}: index {index} is not in the truth"
        ));
        return None;
    }
    // No index header (raw missing, or a message from elsewhere): a
    // Message-ID naming exactly one truth line will do.
    let id = f
        .record
        .as_ref()
        .and_then(|r| r.message_id.clone())
        .or_else(|| f.parsed.message_id.clone())
        .map(|id| bare_id(&id));
    let hits: Vec<u64> = match &id {
        Some(id) => truth
            .iter()
            .filter(|t| {
                t.message_id.as_deref().map(bare_id).as_ref() == Some(id)
            })
            .map(|t| t.index)
            .collect(),
        None => Vec::new(),
    };
    if let [index] = hits[..] {
        return Some(index);
    }
    v.differences.push(format!(
        "ticket {ticket}: not in the truth (no X-Loadgen-Index; \
         Message-ID {})",
        id.map(|i| format!("\"{}\"", spool::cli::escape(&i)))
            .unwrap_or_else(|| "none".into())
    ));
    None
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// The envelope sender as the truth writes it: empty for the null
/// sender, however the spool spells it (`<>`, nothing, or Postfix's
/// From_ line spelling `MAILER-DAEMON`).
fn bare_sender(s: Option<&str>) -> String {
    match s.map(str::trim) {
        None | Some("") | Some("<>") => String::new(),
        Some(s) if s.eq_ignore_ascii_case("MAILER-DAEMON") => String::new(),
        Some(s) => s.trim_start_matches('<').trim_end_matches('>').to_string(),
    }
}

fn compare(
    t: &TruthLine,
    r: &Record,
    f: &Found,
    ticket_of: &HashMap<u64, u64>,
    order: Order,
    v: &mut Verdict,
) {
    let mut diff = |what: &str, want: &str, got: &str| {
        if want != got {
            v.differences.push(format!(
                "index {} (ticket {}): {what}: expected \"{}\", got \"{}\"",
                t.index,
                f.ticket,
                spool::cli::escape(want),
                spool::cli::escape(got)
            ));
        }
    };
    diff("kind", t.kind.as_str(), r.kind.as_str());
    if f.parsed.kind != r.kind {
        diff("journal kind", r.kind.as_str(), f.parsed.kind.as_str());
    }
    if r.ticket != f.ticket {
        diff(
            "record's ticket",
            &f.ticket.to_string(),
            &r.ticket.to_string(),
        );
    }
    let want_dup = t.dup_of_index.map(|i| match ticket_of.get(&i) {
        Some(ticket) => ticket.to_string(),
        None => format!("(index {i}, not in the spool)"),
    });
    let show = |d: Option<String>| d.unwrap_or_else(|| "none".into());
    diff(
        "duplicate of ticket",
        &show(want_dup),
        &show(r.dup_of.map(|d| d.to_string())),
    );
    diff(
        "message_id",
        &show(t.message_id.as_deref().map(bare_id)),
        &show(r.message_id.as_deref().map(bare_id)),
    );
    diff(
        "envelope_sender",
        &t.envelope_sender,
        &bare_sender(r.envelope_sender.as_deref()),
    );
    diff("from", &t.from, &headers::address(&r.from));
    diff("subject", &t.subject, &r.subject);
    let unicode: Vec<&str> =
        r.domains.iter().map(|d| d.unicode.as_str()).collect();
    let ascii: Vec<&str> =
        r.domains.iter().map(|d| d.ascii.as_str()).collect();
    diff("domains", &t.domains.join(" "), &unicode.join(" "));
    diff(
        "domains_ascii",
        &t.domains_ascii.join(" "),
        &ascii.join(" "),
    );
    if order == Order::Strict {
        let want = spool::clock::parse_rfc3339(&t.arrival);
        if want != Some(r.key.arrival_us) {
            diff(
                "arrival",
                &t.arrival,
                &spool::clock::rfc3339_us(r.key.arrival_us),
            );
        }
    }
}

/// The queue order must be the truth's order.
fn strict_order(
    found: &[Found],
    index_of: &HashMap<u64, u64>,
    truth: &[TruthLine],
    v: &mut Verdict,
) {
    let rank: HashMap<u64, usize> = truth
        .iter()
        .enumerate()
        .map(|(i, t)| (t.index, i))
        .collect();
    let queue: Vec<(u64, u64)> = found
        .iter()
        .filter_map(|f| index_of.get(&f.ticket).map(|&i| (i, f.ticket)))
        .collect();
    for pair in queue.windows(2) {
        let ((a, ta), (b, tb)) = (pair[0], pair[1]);
        if rank.get(&a) > rank.get(&b) {
            v.differences.push(format!(
                "index {a} (ticket {ta}): queued before index {b} \
                 (ticket {tb}), which arrived first"
            ));
        }
    }
}

/// The queue order must follow the trusted Received times, and agree
/// with the acceptance times more than a second apart.
fn received_order(
    found: &[Found],
    index_of: &HashMap<u64, u64>,
    by_index: &HashMap<u64, &TruthLine>,
    opts: &Options,
    v: &mut Verdict,
) {
    let mut last: Option<(i64, u64)> = None;
    let mut latest: Option<(i64, u64, u64)> = None;
    for f in found {
        let ticket = f.ticket;
        let index = index_of.get(&ticket).copied();
        let name = match index {
            Some(i) => format!("index {i} (ticket {ticket})"),
            None => format!("ticket {ticket}"),
        };
        let received = f.raw.as_deref().and_then(|raw| {
            headers::trusted_received_us(raw, &opts.trusted_hosts)
        });
        match (received, last) {
            (None, _) => v.differences.push(format!(
                "{name}: no Received header from a trusted host"
            )),
            (Some(t), Some((prev, prev_ticket))) if t < prev => {
                v.differences.push(format!(
                    "{name}: received at {} but queued after ticket \
                     {prev_ticket}, received at {}",
                    spool::clock::rfc3339_us(t),
                    spool::clock::rfc3339_us(prev)
                ))
            }
            (Some(t), _) => last = Some((t, ticket)),
        }

        let Some(index) = index else { continue };
        let accepted = opts.accepted_us.get(&index).copied().or_else(|| {
            by_index
                .get(&index)
                .and_then(|t| spool::clock::parse_rfc3339(&t.arrival))
        });
        let Some(at) = accepted else { continue };
        if let Some((max, max_index, max_ticket)) = latest {
            if at < max - 1_000_000 {
                v.differences.push(format!(
                    "{name}: accepted at {}, queued after index {max_index} \
                     (ticket {max_ticket}), accepted at {}",
                    spool::clock::rfc3339_us(at),
                    spool::clock::rfc3339_us(max)
                ));
            }
        }
        if latest.is_none_or(|(max, _, _)| at > max) {
            latest = Some((at, index, ticket));
        }
    }
}
