//! `contested`: every domain name (A-label) asked for by more than one
//! request, with all its claimants in arrival order: who was first, by
//! how much, and what became of each claim. Only requests count as
//! claimants (a duplicate repeats an earlier claim; auto-replies and
//! malformed messages claim nothing).

use crate::error::Error;
use crate::ledger::{Ledger, Ticket};
use crate::output::Table;
use crate::report::Context;
use crate::stamp::{self, SECOND};

/// The columns, in order.
pub const COLUMNS: [&str; 13] = [
    "domain",
    "domain_unicode",
    "claimants",
    "rank",
    "ticket",
    "registrar",
    "arrival",
    "rotation",
    "position",
    "gap_us",
    "gap_s",
    "same_second",
    "outcome",
];

/// One contested name and its claimants (indexes into the ledger's
/// tickets), first claimant first.
pub struct Contest<'a> {
    pub domain: &'a str,
    pub claimants: Vec<u32>,
}

/// The contested names, ordered by their first claimant's arrival.
pub fn contests(ledger: &Ledger) -> Vec<Contest<'_>> {
    let by_key = |&i: &u32| {
        let t = &ledger.tickets[i as usize];
        (t.key, t.ticket)
    };
    let mut list: Vec<Contest> = ledger
        .claims
        .contested()
        .map(|(domain, tickets)| {
            let mut claimants = tickets.to_vec();
            claimants.sort_by_key(by_key);
            Contest { domain, claimants }
        })
        .collect();
    list.sort_by(|a, b| {
        (by_key(&a.claimants[0]), a.domain)
            .cmp(&(by_key(&b.claimants[0]), b.domain))
    });
    list
}

/// The completion's outcome, else the queue state.
pub fn outcome(ledger: &Ledger, t: &Ticket, now_us: i64) -> String {
    match t.outcome() {
        Some(o) => ledger.outcomes.get(o).to_string(),
        None => t.state(now_us).as_str().to_string(),
    }
}

/// The Unicode form of an A-label name (the name itself if not IDN).
pub fn unicode(domain: &str) -> String {
    idna::domain_to_unicode(domain).0
}

/// Write the report.
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<(), Error> {
    let mut table = Table::create(&ctx.dest, "contested.csv", &COLUMNS)?;
    for c in contests(ledger) {
        let first = &ledger.tickets[c.claimants[0] as usize];
        let unicode = unicode(c.domain);
        for (rank, &i) in c.claimants.iter().enumerate() {
            let t = &ledger.tickets[i as usize];
            let gap = t.key.arrival_us - first.key.arrival_us;
            let same = t.key.arrival_us.div_euclid(SECOND)
                == first.key.arrival_us.div_euclid(SECOND);
            table.row([
                c.domain.to_string(),
                unicode.clone(),
                c.claimants.len().to_string(),
                (rank + 1).to_string(),
                t.ticket.to_string(),
                ledger.registrars.get(t.registrar).to_string(),
                stamp::micros(t.key.arrival_us),
                t.key.rotation.to_string(),
                t.key.position.to_string(),
                gap.to_string(),
                stamp::duration_exact(gap),
                if same { "yes" } else { "no" }.to_string(),
                outcome(ledger, t, ctx.now_us),
            ])?;
        }
    }
    table.finish()
}
