//! `reconcile`: account for every message, and name whatever does not
//! add up.
//!
//! Checked: the journal reads and its chain holds; every archived
//! mailbox's `batch` count equals its `parsed` events, ticket by ticket;
//! every parsed ticket has its record and raw message, and the raw
//! message's SHA-256 is the one the journal and the record give; no
//! record, raw message or temporary file lies about unaccounted for;
//! every request was acknowledged or skipped with a reason; every
//! completed request was leased first; no request was handed out while
//! an earlier request for one of its names was still open.
//!
//! A batch still being parsed (a `batch` event, no `archived` yet, the
//! mailbox in incoming/) is not checked ticket by ticket: the parse is
//! running or will be re-run.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use spool::record::ticket_name;
use spool::Spool;

use crate::error::Error;
use crate::ledger::{AckStatus, Ledger, Ticket};
use crate::output::Table;
use crate::parallel;
use crate::problem::Problem;
use crate::report::{contested, verify, Context};
use crate::stamp::{self, SECOND};

/// The columns, in order.
pub const COLUMNS: [&str; 3] = ["problem", "ticket", "detail"];

/// Missing tickets named one by one per batch, before a count says the
/// rest (a corrupt count of billions must not run for hours).
const NAMED_PER_BATCH: u64 = 10_000;

/// How the check is run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// A file under tmp/ younger than this is a write in progress.
    pub tmp_grace_s: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options { tmp_grace_s: 300 }
    }
}

/// Every problem, journal first, then batches, tickets, files, acks.
/// `ledger` must come from a replay with `Needs::all()`.
pub fn check(
    ctx: &Context,
    ledger: &Ledger,
    opts: Options,
) -> Result<Vec<Problem>, Error> {
    let mut found: Vec<Problem> = ledger.problems.clone();
    if let Some(b) = &ledger.tally.chain_break {
        found.push(Problem::spool("journal-chain", verify::describe(ctx, b)));
    }
    batches(ctx, ledger, &mut found)?;
    ticket_order(ledger, &mut found);
    files(ctx, ledger, &mut found)?;
    strays(ctx, ledger, opts, &mut found)?;
    leftovers(ctx, opts, &mut found)?;
    acks(ctx, ledger, opts, &mut found);
    hand_off_order(ctx, ledger, &mut found);
    Ok(found)
}

/// Write the problems as CSV rows.
pub fn write(ctx: &Context, problems: &[Problem]) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "reconcile.csv", &COLUMNS)?;
    for p in problems {
        table.row([p.name, &p.ticket_field(), &p.detail])?;
    }
    table.finish()
}

/// The one stderr line for an unclean spool: the count of each problem.
pub fn summary_line(problems: &[Problem]) -> String {
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for p in problems {
        *by_name.entry(p.name).or_default() += 1;
    }
    let parts: Vec<String> =
        by_name.iter().map(|(n, c)| format!("{c} {n}")).collect();
    format!(
        "reconcile: {} problem{}: {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

fn batches(
    ctx: &Context,
    ledger: &Ledger,
    found: &mut Vec<Problem>,
) -> Result<(), Error> {
    // incoming/ first: a batch archived between the two listings is then
    // seen twice rather than not at all.
    let incoming: HashSet<String> =
        ctx.spool.incoming()?.into_iter().map(|b| b.name).collect();
    let archive: HashSet<String> =
        ctx.spool.archived()?.into_iter().map(|b| b.name).collect();
    for (i, facts) in ledger.batches.iter().enumerate() {
        let name = ledger.batch_names.get(i as u32);
        let present = incoming.contains(name) || archive.contains(name);
        let mut say = |what: &'static str, detail: String| {
            found.push(Problem::spool(what, format!("batch {name}: {detail}")))
        };
        match (facts.first.zip(facts.count), facts.archived) {
            (Some((first, count)), Some(archived)) => {
                if facts.parsed != count {
                    say(
                        "batch-count",
                        format!(
                            "the batch event says {count} messages, {} were \
                             parsed",
                            facts.parsed
                        ),
                    );
                }
                if archived != count {
                    say(
                        "archived-count",
                        format!(
                            "archived with {archived} messages, the batch \
                             event says {count}"
                        ),
                    );
                }
                // parse journals `archived` just before the rename.
                if !archive.contains(name) && !incoming.contains(name) {
                    say(
                        "archive-missing",
                        "archived, but not in archive/".into(),
                    );
                }
                unparsed(ledger, name, first, count, found);
            }
            (None, Some(archived)) => say(
                "archived-without-batch",
                format!("archived ({archived} messages) with no batch event"),
            ),
            (Some(_), None) if !present => say(
                "batch-lost",
                "parsing began, but it is in neither incoming/ nor archive/"
                    .into(),
            ),
            (None, None) if facts.parsed > 0 => say(
                "parsed-without-batch",
                format!("{} parsed events, no batch event", facts.parsed),
            ),
            (None, None) if facts.rotated && !present => say(
                "mailbox-lost",
                "rotated, but in neither incoming/ nor archive/".into(),
            ),
            _ => {}
        }
    }
    let mut unjournaled: Vec<&String> = archive
        .iter()
        .filter(|name| {
            ledger
                .batch_names
                .find(name)
                .is_none_or(|i| ledger.batches[i as usize].archived.is_none())
        })
        .collect();
    unjournaled.sort();
    for name in unjournaled {
        found.push(Problem::spool(
            "archive-not-journaled",
            format!("batch {name}: in archive/ with no archived event"),
        ));
    }
    for t in &ledger.tickets {
        let facts = &ledger.batches[t.batch as usize];
        if let Some((first, count)) = facts.first.zip(facts.count) {
            if !(first..first.saturating_add(count)).contains(&t.ticket) {
                found.push(Problem::ticket(
                    "ticket-outside-batch",
                    t.ticket,
                    format!(
                        "parsed for batch {}, whose tickets are {first} to {}",
                        ledger.batch_of(t),
                        first + count.saturating_sub(1)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The tickets of an archived batch that no `parsed` event names.
fn unparsed(
    ledger: &Ledger,
    name: &str,
    first: u64,
    count: u64,
    found: &mut Vec<Problem>,
) {
    let mut named = 0;
    let mut more = 0u64;
    let last = first.saturating_add(count);
    let limit = ledger.tickets.len() as u64 + NAMED_PER_BATCH;
    for ticket in (first..last).take(limit as usize) {
        if ledger.find(ticket).is_some() {
            continue;
        }
        if named < NAMED_PER_BATCH {
            named += 1;
            found.push(Problem::ticket(
                "not-parsed",
                ticket,
                format!("batch {name} gave out this ticket; no parsed event"),
            ));
        } else {
            more += 1;
        }
    }
    if more > 0 || count > limit {
        found.push(Problem::spool(
            "not-parsed",
            format!("batch {name}: more tickets without a parsed event"),
        ));
    }
}

/// Within a batch, tickets follow the arrival key.
fn ticket_order(ledger: &Ledger, found: &mut Vec<Problem>) {
    let mut by_batch: Vec<u32> = (0..ledger.tickets.len() as u32).collect();
    let at = |i: u32| &ledger.tickets[i as usize];
    by_batch.sort_unstable_by_key(|&i| (at(i).batch, at(i).ticket));
    for pair in by_batch.windows(2) {
        let (a, b) = (at(pair[0]), at(pair[1]));
        if a.batch == b.batch && b.key < a.key {
            found.push(Problem::ticket(
                "ticket-order",
                b.ticket,
                format!(
                    "in batch {} it follows ticket {} but arrived before it",
                    ledger.batch_of(b),
                    a.ticket
                ),
            ));
        }
    }
}

/// Each parsed ticket's record and raw message, read on every core.
fn files(
    ctx: &Context,
    ledger: &Ledger,
    found: &mut Vec<Problem>,
) -> Result<(), Error> {
    let mut order: Vec<u32> = (0..ledger.tickets.len() as u32).collect();
    order.sort_unstable_by_key(|&i| ledger.tickets[i as usize].ticket);
    let check = |&i: &u32| {
        let digest = ledger.digests.get(i as usize).map_or("", |d| d);
        ticket_files(&ctx.spool, &ledger.tickets[i as usize], digest)
    };
    parallel::ordered_map(&order, check, |_, problems| {
        found.extend(problems);
        Ok::<(), Error>(())
    })
}

fn ticket_files(spool: &Spool, t: &Ticket, digest: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut say = |what, detail: String| {
        out.push(Problem::ticket(what, t.ticket, detail))
    };
    let name = ticket_name(t.ticket);
    match spool.record(t.ticket) {
        Err(e) if e.io_kind() == Some(IoKind::NotFound) => {
            say("record-missing", format!("msg/{name}.json is missing"))
        }
        Err(e) => say("record-unreadable", e.to_string()),
        Ok(r) => {
            if r.ticket != t.ticket {
                say(
                    "record-mismatch",
                    format!("msg/{name}.json is ticket {}", r.ticket),
                );
            }
            if r.sha256 != digest {
                say(
                    "record-sha256-mismatch",
                    format!(
                        "msg/{name}.json gives SHA-256 {}, the journal {digest}",
                        r.sha256
                    ),
                );
            }
            if r.key != t.key || r.kind != t.kind {
                say(
                    "record-mismatch",
                    format!(
                        "msg/{name}.json gives another arrival key or kind \
                         than the journal"
                    ),
                );
            }
        }
    }
    match spool.raw(t.ticket) {
        Err(e) if e.io_kind() == Some(IoKind::NotFound) => {
            say("raw-missing", format!("raw/{name}.eml is missing"))
        }
        Err(e) => say("raw-unreadable", e.to_string()),
        Ok(bytes) => {
            let sha = hex::encode(Sha256::digest(&bytes));
            if sha != digest {
                say(
                    "raw-sha256-mismatch",
                    format!(
                        "raw/{name}.eml has SHA-256 {sha}, the journal says \
                         {digest}"
                    ),
                );
            }
        }
    }
    out
}

/// Records and raw messages no `parsed` event accounts for, and files
/// that are not a ticket's at all. Tickets of a batch still being
/// parsed are not strays.
fn strays(
    ctx: &Context,
    ledger: &Ledger,
    opts: Options,
    found: &mut Vec<Problem>,
) -> Result<(), Error> {
    let in_progress: Vec<(u64, u64)> = ledger
        .batches
        .iter()
        .filter(|b| b.archived.is_none())
        .filter_map(|b| b.first.zip(b.count))
        .map(|(first, count)| (first, first.saturating_add(count)))
        .collect();
    let accounted = |ticket: u64| {
        ledger.find(ticket).is_some()
            || in_progress.iter().any(|&(a, b)| (a..b).contains(&ticket))
    };
    for (dir, ext, what) in [
        ("msg", ".json", "record-not-journaled"),
        ("raw", ".eml", "raw-not-journaled"),
    ] {
        let mut names = list(&ctx.spool.dir(dir))?;
        names.sort();
        for name in names {
            // Journal read first, files listed after: a file younger
            // than the grace may belong to a batch begun in between.
            if young(&ctx.spool.dir(dir).join(&name), ctx, opts) {
                continue;
            }
            match ticket_of(&name, ext) {
                Some(t) if accounted(t) => {}
                Some(t) => found.push(Problem::ticket(
                    what,
                    t,
                    format!("{dir}/{name} has no parsed event"),
                )),
                None => found.push(Problem::spool(
                    "stray-file",
                    format!("{dir}/{name} is not a ticket's file"),
                )),
            }
        }
    }
    Ok(())
}

/// `T000000000042.json` -> 42.
fn ticket_of(name: &str, ext: &str) -> Option<u64> {
    let digits = name.strip_prefix('T')?.strip_suffix(ext)?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Files under tmp/ older than the grace: a writer died part way.
fn leftovers(
    ctx: &Context,
    opts: Options,
    found: &mut Vec<Problem>,
) -> Result<(), Error> {
    let tmp = ctx.spool.dir("tmp");
    let mut names = list(&tmp)?;
    names.sort();
    let grace = opts.tmp_grace_s as i64 * SECOND;
    for name in names {
        let Ok(meta) = fs::symlink_metadata(tmp.join(&name)) else {
            continue; // finished and renamed while we looked
        };
        let mtime = meta.mtime() * SECOND + meta.mtime_nsec() / 1000;
        if ctx.now_us - mtime >= grace {
            found.push(Problem::spool(
                "tmp-leftover",
                format!("tmp/{name} left since {}", stamp::seconds(mtime)),
            ));
        }
    }
    Ok(())
}

/// The names in a directory (none when it does not exist).
fn list(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read("read directory", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::read("read directory", dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Whether a file changed within the grace (work in progress).
fn young(path: &Path, ctx: &Context, opts: Options) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return true; // gone while we looked: renamed by its writer
    };
    let mtime = meta.mtime() * SECOND + meta.mtime_nsec() / 1000;
    // A file newer than the report's own start (age below zero) was
    // written while the journal was being read: in progress too.
    let grace = opts.tmp_grace_s as i64 * SECOND;
    grace > 0 && ctx.now_us - mtime < grace
}

/// Every request acknowledged, or skipped with a reason. A request
/// parsed within the grace is work in progress, not a gap: the report
/// runs every few minutes during a landrush.
fn acks(
    ctx: &Context,
    ledger: &Ledger,
    opts: Options,
    found: &mut Vec<Problem>,
) {
    let grace = opts.tmp_grace_s as i64 * SECOND;
    for i in ledger.arrival_order() {
        let t = &ledger.tickets[i as usize];
        if !t.is_request() {
            continue;
        }
        if t.ack == AckStatus::None && ctx.now_us - t.parsed_us < grace {
            continue;
        }
        let problem = match t.ack {
            AckStatus::Sent => None,
            AckStatus::Skipped if t.ack_reasoned => None,
            AckStatus::Skipped => {
                Some(("ack-skipped-no-reason", "skipped without a reason"))
            }
            AckStatus::None => Some(("ack-missing", "no ack event")),
            AckStatus::Deferred => {
                Some(("ack-deferred", "deferred, not sent yet"))
            }
            AckStatus::Failed => Some(("ack-failed", "the ack failed")),
        };
        if let Some((name, detail)) = problem {
            found.push(Problem::ticket(name, t.ticket, detail));
        }
    }
}

/// For each contested name, no claimant was handed out before every
/// earlier claimant was completed (the second claimant never overtakes
/// the first).
fn hand_off_order(ctx: &Context, ledger: &Ledger, found: &mut Vec<Problem>) {
    for c in contested::contests(ledger) {
        let mut open_before: Option<&Ticket> = None;
        let mut done_by: i64 = i64::MIN;
        for &i in &c.claimants {
            let t = &ledger.tickets[i as usize];
            if let Some(leased) = t.leased_us() {
                if let Some(e) = open_before {
                    found.push(overtaken(t, e, c.domain, leased, ctx));
                } else if leased < done_by {
                    found.push(Problem::ticket(
                        "order-overtaken",
                        t.ticket,
                        format!(
                            "leased at {} before an earlier claimant of {} \
                             was completed",
                            stamp::micros(leased),
                            c.domain
                        ),
                    ));
                }
            }
            match t.completed_us() {
                Some(done) => done_by = done_by.max(done),
                None => {
                    open_before.get_or_insert(t);
                }
            }
        }
    }
}

fn overtaken(
    t: &Ticket,
    earlier: &Ticket,
    domain: &str,
    leased: i64,
    ctx: &Context,
) -> Problem {
    let late = if earlier.parsed_us > leased {
        " (it was parsed only after this lease)"
    } else {
        ""
    };
    Problem::ticket(
        "order-overtaken",
        t.ticket,
        format!(
            "leased at {} while ticket {}, an earlier claimant of {domain}, \
             is {}{late}",
            stamp::micros(leased),
            earlier.ticket,
            earlier.state(ctx.now_us).as_str()
        ),
    )
}
