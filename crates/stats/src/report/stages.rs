//! `stages`: how many messages stand in each stage now, and how long the
//! oldest of them has been there.

use spool::Kind;

use crate::error::Error;
use crate::ledger::{AckStatus, Ledger, State, Ticket};
use crate::output::Table;
use crate::report::Context;
use crate::stamp;

/// The columns, in order.
pub const COLUMNS: [&str; 3] = ["stage", "count", "oldest_age_s"];

/// One stage: how many, and since when the oldest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: &'static str,
    pub count: u64,
    /// When the oldest entered it (None when empty).
    pub since_us: Option<i64>,
}

impl Stage {
    fn new(name: &'static str) -> Stage {
        Stage {
            name,
            count: 0,
            since_us: None,
        }
    }

    fn add(&mut self, since_us: i64) {
        self.count += 1;
        self.since_us =
            Some(self.since_us.map_or(since_us, |s| s.min(since_us)));
    }

    /// Whole seconds since the oldest entered; 0 when empty.
    pub fn oldest_age_s(&self, now_us: i64) -> i64 {
        self.since_us
            .map_or(0, |s| stamp::whole_seconds(now_us - s))
    }
}

/// The stages, in pipeline order.
pub fn count(ctx: &Context, ledger: &Ledger) -> Result<Vec<Stage>, Error> {
    let mut incoming = Stage::new("incoming");
    // A batch archived while we list it is simply not counted.
    for batch in ctx.spool.incoming()? {
        if let Ok(us) = ctx.spool.rotation_time_us(&batch) {
            incoming.add(us);
        }
    }
    let names = [
        "parsed",
        "duplicate",
        "auto",
        "malformed",
        "awaiting_ack",
        "acknowledged",
        "skipped",
        "failed",
        "deferred",
        "pending",
        "leased",
        "held",
        "completed",
    ];
    let mut stages: Vec<Stage> = names.iter().map(|n| Stage::new(n)).collect();
    for t in &ledger.tickets {
        places(t, ctx.now_us, |i, since| stages[i].add(since));
    }
    stages.insert(0, incoming);
    Ok(stages)
}

/// Where one ticket stands: `at(index into the stage names, since)`.
fn places(t: &Ticket, now_us: i64, mut at: impl FnMut(usize, i64)) {
    at(0, t.parsed_us);
    match t.kind {
        Kind::Request => {}
        Kind::Duplicate => at(1, t.parsed_us),
        Kind::Auto => at(2, t.parsed_us),
        Kind::Malformed => at(3, t.parsed_us),
    }
    let last_ack = t.ack_us().unwrap_or(t.parsed_us);
    match t.ack {
        AckStatus::None => at(4, t.parsed_us),
        AckStatus::Sent => at(5, t.ack_sent_us().unwrap_or(last_ack)),
        AckStatus::Skipped => at(6, last_ack),
        AckStatus::Failed => at(7, last_ack),
        AckStatus::Deferred => at(8, last_ack),
    }
    if t.is_request() {
        let (i, since) = match t.state(now_us) {
            // Waiting since it arrived, as QueueStatus reports it.
            State::Pending => (9, t.key.arrival_us),
            State::Leased => (10, t.since_us),
            State::Held => (11, t.since_us),
            State::Completed => (12, t.since_us),
        };
        at(i, since);
    }
}

/// Write the report.
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "stages.csv", &COLUMNS)?;
    for s in count(ctx, ledger)? {
        table.row([
            s.name.to_string(),
            s.count.to_string(),
            s.oldest_age_s(ctx.now_us).to_string(),
        ])?;
    }
    table.finish()
}
