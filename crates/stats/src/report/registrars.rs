//! `registrars`: per registrar (the `parsed` event's registrar: From,
//! else the envelope sender), what they sent and how fast it was
//! acknowledged.

use spool::Kind;

use crate::error::Error;
use crate::ledger::Ledger;
use crate::output::Table;
use crate::report::{percentile, Context};
use crate::stamp;

/// The columns, in order.
pub const COLUMNS: [&str; 11] = [
    "registrar",
    "messages",
    "requests",
    "duplicates",
    "auto",
    "malformed",
    "first_arrival",
    "last_arrival",
    "acknowledged",
    "ack_p50_s",
    "ack_max_s",
];

#[derive(Default)]
struct Figures {
    kinds: [u64; 4],
    first: Option<i64>,
    last: Option<i64>,
    ack: Vec<i64>,
}

/// Write the report, registrars sorted by address.
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "registrars.csv", &COLUMNS)?;
    let mut figures: Vec<Figures> = Vec::new();
    figures.resize_with(ledger.registrars.len(), Figures::default);
    for t in &ledger.tickets {
        let f = &mut figures[t.registrar as usize];
        f.kinds[kind_index(t.kind)] += 1;
        let at = t.key.arrival_us;
        f.first = Some(f.first.map_or(at, |x| x.min(at)));
        f.last = Some(f.last.map_or(at, |x| x.max(at)));
        if let Some(sent) = t.ack_sent_us() {
            f.ack.push(sent - at);
        }
    }
    let mut order: Vec<usize> = (0..figures.len()).collect();
    order.sort_by(|&a, &b| {
        ledger
            .registrars
            .get(a as u32)
            .cmp(ledger.registrars.get(b as u32))
    });
    for i in order {
        let f = &mut figures[i];
        f.ack.sort_unstable();
        let fig = |p| {
            percentile(&f.ack, p)
                .map(stamp::duration)
                .unwrap_or_default()
        };
        let time = |us: Option<i64>| us.map(stamp::micros).unwrap_or_default();
        let [requests, duplicates, auto, malformed] = f.kinds;
        table.row([
            ledger.registrars.get(i as u32).to_string(),
            (requests + duplicates + auto + malformed).to_string(),
            requests.to_string(),
            duplicates.to_string(),
            auto.to_string(),
            malformed.to_string(),
            time(f.first),
            time(f.last),
            f.ack.len().to_string(),
            fig(50),
            fig(100),
        ])?;
    }
    table.finish()
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Request => 0,
        Kind::Duplicate => 1,
        Kind::Auto => 2,
        Kind::Malformed => 3,
    }
}
