//! `requests`: the spool listing, one row per message in arrival order
//! (the order of the queue). The design's command-line contract fixes
//! the first thirteen columns.
//!
//! The order comes from the journal's `parsed` events (arrival_us,
//! rotation, position, then the ticket); the rest of each row from the
//! message's record, read one at a time so memory stays flat.

use spool::record::TimeSource;
use spool::Record;

use crate::error::Error;
use crate::ledger::Ledger;
use crate::output::Table;
use crate::parallel;
use crate::problem::Problem;
use crate::report::Context;
use crate::stamp;

/// The columns, in order.
pub const COLUMNS: [&str; 18] = [
    "ticket",
    "arrival",
    "envelope_sender",
    "from",
    "message_id",
    "subject",
    "domains",
    "domains_ascii",
    "kind",
    "reason",
    "sha256",
    "source",
    "offset",
    "dup_of",
    "time_source",
    "rotation",
    "position",
    "size",
];

/// Write the listing. A record that cannot be read still gets its row,
/// from what the journal knows, and is returned as a problem.
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<Vec<Problem>, Error> {
    let mut table = Table::create(&ctx.dest, "requests.csv", &COLUMNS)?;
    let mut problems = Vec::new();
    let order = ledger.arrival_order();
    // The rows are made on the reading threads; this one only writes.
    let read = |&i: &u32| {
        let ticket = ledger.tickets[i as usize].ticket;
        ctx.spool.record(ticket).map(|r| record_row(&r))
    };
    parallel::ordered_map(&order, read, |&i, row| match row {
        Ok(row) => table.row(row),
        Err(e) => {
            let t = &ledger.tickets[i as usize];
            problems.push(Problem::ticket(
                "record-unreadable",
                t.ticket,
                e.to_string(),
            ));
            table.row(journal_row(ledger, i as usize))
        }
    })?;
    table.finish()?;
    Ok(problems)
}

/// A row from the record.
pub fn record_row(r: &Record) -> [String; 18] {
    let unicode: Vec<&str> =
        r.domains.iter().map(|d| d.unicode.as_str()).collect();
    let ascii: Vec<&str> =
        r.domains.iter().map(|d| d.ascii.as_str()).collect();
    [
        r.ticket.to_string(),
        r.arrival.clone(),
        r.envelope_sender.clone().unwrap_or_default(),
        r.from.clone(),
        r.message_id.clone().unwrap_or_default(),
        r.subject.clone(),
        unicode.join(" "),
        ascii.join(" "),
        r.kind.as_str().to_string(),
        r.reason_line(),
        r.sha256.clone(),
        source(r),
        r.offset.to_string(),
        r.dup_of.map(|t| t.to_string()).unwrap_or_default(),
        time_source(r.time_source).to_string(),
        r.key.rotation.to_string(),
        r.key.position.to_string(),
        r.size.to_string(),
    ]
}

/// The row of a message whose record cannot be read: what its `parsed`
/// event gave, the rest empty, the reason saying so.
fn journal_row(ledger: &Ledger, i: usize) -> [String; 18] {
    let t = &ledger.tickets[i];
    let mut row: [String; 18] = Default::default();
    row[0] = t.ticket.to_string();
    row[1] = stamp::micros(t.key.arrival_us);
    row[8] = t.kind.as_str().to_string();
    row[9] = "record unreadable".to_string();
    if let Some(sha) = ledger.digests.get(i) {
        row[10] = sha.to_string();
    }
    row[11] = ledger.batch_of(t).to_string();
    row[12] = t.offset.to_string();
    row[15] = t.key.rotation.to_string();
    row[16] = t.key.position.to_string();
    row
}

/// The batch, and the file for a Maildir batch: `000000000002.maildir/
/// 000003-1084266000.M1P2.host`.
pub fn source(r: &Record) -> String {
    if r.file.is_empty() {
        r.batch.clone()
    } else {
        format!("{}/{}", r.batch, r.file)
    }
}

fn time_source(t: TimeSource) -> &'static str {
    match t {
        TimeSource::Received => "received",
        TimeSource::Rotation => "rotation",
    }
}
