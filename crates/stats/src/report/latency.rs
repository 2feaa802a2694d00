//! `latency`: how long messages took from arrival to each stage.
//!
//! Each measure is over the messages that reached that stage: every
//! message for `parsed`, those with a sent acknowledgement for
//! `acknowledged`, and so on. Arrival is the arrival key's time; the
//! other end is the time of the journal line (the first `sent` ack, the
//! first lease, the completion).

use crate::error::Error;
use crate::ledger::{Ledger, Ticket};
use crate::output::Table;
use crate::report::{percentile, Context};
use crate::stamp;

/// The columns, in order.
pub const COLUMNS: [&str; 6] =
    ["measure", "count", "p50_s", "p90_s", "p99_s", "max_s"];

/// One measure's name and how to read its end time off a ticket.
pub type Measure = (&'static str, fn(&Ticket) -> Option<i64>);

/// The measures, in pipeline order.
pub const MEASURES: [Measure; 4] = [
    ("arrival_to_parsed", |t| Some(t.parsed_us)),
    ("arrival_to_acknowledged", Ticket::ack_sent_us),
    ("arrival_to_handed_over", Ticket::leased_us),
    ("arrival_to_completed", Ticket::completed_us),
];

/// The sorted latencies, in microseconds, of one measure.
pub fn latencies(
    ledger: &Ledger,
    end: fn(&Ticket) -> Option<i64>,
) -> Vec<i64> {
    let mut v: Vec<i64> = ledger
        .tickets
        .iter()
        .filter_map(|t| end(t).map(|e| e - t.key.arrival_us))
        .collect();
    v.sort_unstable();
    v
}

/// Write the report: one row a measure, empty figures when no message
/// reached that stage.
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "latency.csv", &COLUMNS)?;
    for (name, end) in MEASURES {
        let v = latencies(ledger, end);
        let fig =
            |p| percentile(&v, p).map(stamp::duration).unwrap_or_default();
        table.row([
            name.to_string(),
            v.len().to_string(),
            fig(50),
            fig(90),
            fig(99),
            fig(100),
        ])?;
    }
    table.finish()
}
