//! `summary`: a few lines for a person: how many messages of each kind,
//! where they stand, when each stage ran, the journal's head, and the
//! most contested names with who asked first.

use std::fmt::Write as _;
use std::io::Write as _;

use spool::Kind;

use crate::error::Error;
use crate::ledger::{Ledger, Span};
use crate::output::Target;
use crate::report::{contested, stages, Context};
use crate::stamp;

/// How many contested names the summary lists.
pub const TOP: usize = 5;

/// The summary text.
pub fn text(ctx: &Context, ledger: &Ledger) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Spool {} at {}",
        ctx.spool.root().display(),
        stamp::seconds(ctx.now_us)
    );
    kinds(&mut out, ledger);
    let all = stages::count(ctx, ledger)?;
    let line = |names: &[&str]| {
        let parts: Vec<String> = all
            .iter()
            .filter(|s| names.contains(&s.name))
            .map(|s| format!("{} {}", s.name.replace('_', " "), s.count))
            .collect();
        parts.join(", ")
    };
    let _ = writeln!(out, "Intake:   {}", line(&["incoming", "parsed"]));
    let _ = writeln!(
        out,
        "Acks:     {}",
        line(&[
            "awaiting_ack",
            "acknowledged",
            "skipped",
            "failed",
            "deferred"
        ])
    );
    let _ = writeln!(
        out,
        "Hand-off: {}",
        line(&["pending", "leased", "held", "completed"])
    );
    times(&mut out, ledger);
    let t = &ledger.tally;
    let _ =
        write!(out, "Journal:  {} lines, last seq {}", t.lines, t.last_seq);
    if let Some(head) = &t.last_hash {
        let state = if t.chain_break.is_some() {
            "BROKEN"
        } else {
            "intact"
        };
        let _ = write!(out, ", chain {state}, head {head}");
    }
    out.push('\n');
    contests(&mut out, ctx, ledger);
    Ok(out)
}

fn kinds(out: &mut String, ledger: &Ledger) {
    let mut n = [0u64; 4];
    for t in &ledger.tickets {
        n[match t.kind {
            Kind::Request => 0,
            Kind::Duplicate => 1,
            Kind::Auto => 2,
            Kind::Malformed => 3,
        }] += 1;
    }
    let _ = writeln!(
        out,
        "Messages: {} ({} requests, {} duplicates, {} auto-replies, {} \
         malformed) from {} registrars",
        ledger.tickets.len(),
        n[0],
        n[1],
        n[2],
        n[3],
        ledger.registrars.len()
    );
}

fn times(out: &mut String, ledger: &Ledger) {
    let s = &ledger.spans;
    let rows: [(&str, Span); 5] = [
        ("arrival", s.arrival),
        ("parse", s.parse),
        ("ack", s.ack),
        ("lease", s.lease),
        ("complete", s.complete),
    ];
    let _ = writeln!(
        out,
        "Times:    {:<9} {:<27}  {:<27}  span",
        "", "first", "last"
    );
    for (name, span) in rows {
        let (Some(first), Some(last)) = (span.first, span.last) else {
            let _ = writeln!(out, "          {name:<9} none");
            continue;
        };
        let _ = writeln!(
            out,
            "          {name:<9} {}  {}  {} s",
            stamp::micros(first),
            stamp::micros(last),
            stamp::duration(last - first)
        );
    }
}

fn contests(out: &mut String, ctx: &Context, ledger: &Ledger) {
    let mut list = contested::contests(ledger);
    if list.is_empty() {
        let _ = writeln!(out, "Contested: no name was asked for twice");
        return;
    }
    let total = list.len();
    // Most claimants first; among equals, the earliest first claim.
    list.sort_by_key(|c| std::cmp::Reverse(c.claimants.len()));
    let _ = writeln!(
        out,
        "Contested: {total} names asked for by more than one request; the \
         most contested:"
    );
    for c in list.iter().take(TOP) {
        let first = &ledger.tickets[c.claimants[0] as usize];
        let _ = writeln!(
            out,
            "  {}  {} claimants; first: ticket {} from {} at {} ({})",
            c.domain,
            c.claimants.len(),
            first.ticket,
            spool::cli::escape(ledger.registrars.get(first.registrar)),
            stamp::micros(first.key.arrival_us),
            contested::outcome(ledger, first, ctx.now_us)
        );
    }
}

/// Write the summary to the report output as `summary.txt`.
pub fn write(ctx: &Context, text: &str) -> Result<(), Error> {
    let mut target = Target::open(&ctx.dest, "summary.txt")?;
    target
        .write_all(text.as_bytes())
        .map_err(|e| Error::write(target.name(), e))?;
    target.finish()
}
