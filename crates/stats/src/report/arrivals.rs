//! `arrivals`: how many messages arrived in each second (or minute), by
//! their arrival time: the shape of the landrush.

use std::collections::BTreeMap;

use clap::ValueEnum;

use crate::error::Error;
use crate::ledger::Ledger;
use crate::output::Table;
use crate::report::Context;
use crate::stamp::{self, SECOND};

/// The columns, in order.
pub const COLUMNS: [&str; 3] = ["period", "requests", "messages"];

/// Empty periods are written as zero rows up to this many in a row; a
/// longer quiet spell (or a stray arrival years off) is skipped, the
/// next row's period showing the jump.
pub const MAX_GAP: i64 = 3600;

/// The length of a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Per {
    Second,
    Minute,
}

impl Per {
    /// Microseconds in one period.
    pub fn micros(self) -> i64 {
        match self {
            Per::Second => SECOND,
            Per::Minute => 60 * SECOND,
        }
    }

    /// The report's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Per::Second => "arrivals-second.csv",
            Per::Minute => "arrivals-minute.csv",
        }
    }
}

/// (requests, messages) per period start.
pub fn count(ledger: &Ledger, len: i64) -> BTreeMap<i64, (u64, u64)> {
    let mut counts: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for t in &ledger.tickets {
        let c = counts
            .entry(stamp::floor(t.key.arrival_us, len))
            .or_default();
        c.0 += u64::from(t.is_request());
        c.1 += 1;
    }
    counts
}

/// Write the report.
pub fn write(ctx: &Context, ledger: &Ledger, per: Per) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, per.file_name(), &COLUMNS)?;
    let len = per.micros();
    let mut last: Option<i64> = None;
    for (&start, &(requests, messages)) in &count(ledger, len) {
        if let Some(prev) = last {
            let gap = (start - prev) / len - 1;
            if gap <= MAX_GAP {
                for k in 1..=gap {
                    table.row([
                        stamp::seconds(prev + k * len),
                        0.to_string(),
                        0.to_string(),
                    ])?;
                }
            }
        }
        table.row([
            stamp::seconds(start),
            requests.to_string(),
            messages.to_string(),
        ])?;
        last = Some(start);
    }
    table.finish()
}
