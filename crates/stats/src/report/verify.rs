//! `verify-journal`: walk the hash chain of the whole journal and name
//! the first line that does not link to the one before it.
//!
//! A changed line shows at the line after it (its `prev` no longer
//! matches), so the report names both. A change to the very last line
//! cannot show in the chain itself: compare `last_hash` with a copy
//! published earlier (the summary prints it).

use crate::error::Error;
use crate::journal::{self, Break, Tally, Wanted};
use crate::output::Table;
use crate::report::Context;

/// The columns, in order.
pub const COLUMNS: [&str; 7] = [
    "status",
    "lines",
    "last_seq",
    "last_hash",
    "broken_offset",
    "broken_seq",
    "detail",
];

/// Read the journal for the chain only.
pub fn check(ctx: &Context) -> Result<Tally, Error> {
    let path = ctx.spool.journal_path();
    let wanted = Wanted {
        chain: true,
        ..Wanted::default()
    };
    journal::read(&path, wanted, |_, _| {})
        .map_err(|e| Error::read("read journal", &path, e))
}

/// The stderr line for a broken chain.
pub fn describe(ctx: &Context, b: &Break) -> String {
    let seq = b.seq.map_or("?".to_string(), |s| s.to_string());
    format!(
        "journal '{}' at byte {} (seq {seq}): chain broken: {}",
        ctx.spool.journal_path().display(),
        b.offset,
        b.detail
    )
}

/// Write the one-row report from a chain walk (or from a full replay,
/// which checks the same chain on the way).
pub fn write(ctx: &Context, tally: &Tally) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "journal.csv", &COLUMNS)?;
    let b = tally.chain_break.as_ref();
    table.row([
        if b.is_some() { "broken" } else { "intact" }.to_string(),
        tally.lines.to_string(),
        tally.last_seq.to_string(),
        tally.last_hash.clone().unwrap_or_default(),
        b.map(|b| b.offset.to_string()).unwrap_or_default(),
        b.and_then(|b| b.seq)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        b.map(|b| b.detail.clone()).unwrap_or_default(),
    ])?;
    table.finish()
}
