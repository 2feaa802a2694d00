//! The acknowledgement state of every ticket, rebuilt by replaying the
//! journal: `parsed` events name the tickets, `ack` events say what
//! became of each one's acknowledgement. Nothing else is kept between
//! runs, so the journal alone decides what is sent next.

use std::collections::{BTreeMap, HashMap};

use spool::journal::{Ack, Event, Parsed};
use spool::{Kind, Spool};

/// Sent acknowledgements younger than this count for the per-minute cap.
pub const MINUTE_US: i64 = 60_000_000;

/// Where one ticket's acknowledgement stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckState {
    /// Nothing tried yet.
    Pending,
    /// Tried `attempt` times, failed for a reason that may pass; try again
    /// from `next_try_us`.
    Deferred { attempt: u32, next_try_us: i64 },
    /// Sent, skipped or failed for good.
    Done,
}

/// A ticket as the acknowledgement stage sees it.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub kind: Kind,
    pub state: AckState,
}

/// Every ticket, in ticket order, and the recent sends per address.
#[derive(Debug, Default)]
pub struct Ledger {
    pub tickets: BTreeMap<u64, Ticket>,
    /// Times (µs) of acknowledgements sent to each address in the last
    /// minute before `now_us`.
    pub recent: HashMap<String, Vec<i64>>,
}

impl Ledger {
    /// Replay the spool's journal. A line that cannot be read or breaks
    /// the hash chain stops the replay: an acknowledgement state built on
    /// a damaged journal could send a request its acknowledgement twice.
    pub fn replay(spool: &Spool, now_us: i64) -> spool::Result<Ledger> {
        let mut ledger = Ledger::default();
        for entry in spool.journal_reader()? {
            let entry = entry?;
            match entry.event {
                Event::Parsed(p) => ledger.parsed(&p),
                Event::Ack(a) => ledger.ack(&a, entry.t_us, now_us),
                _ => {}
            }
        }
        Ok(ledger)
    }

    /// Apply a `parsed` event.
    pub fn parsed(&mut self, p: &Parsed) {
        self.tickets.entry(p.ticket).or_insert(Ticket {
            kind: p.kind,
            state: AckState::Pending,
        });
    }

    /// Apply an `ack` event written at `t_us`.
    pub fn ack(&mut self, a: &Ack, t_us: i64, now_us: i64) {
        let state = match a.status.as_str() {
            "deferred" => AckState::Deferred {
                attempt: a.attempt,
                next_try_us: a.next_try_us.unwrap_or(0),
            },
            // sent, skipped, failed, and any status a newer version
            // may write: none of them asks for another try.
            _ => AckState::Done,
        };
        if let Some(t) = self.tickets.get_mut(&a.ticket) {
            t.state = state;
        }
        if a.status == "sent" && now_us - t_us < MINUTE_US {
            if let Some(to) = &a.to {
                self.recent.entry(to.clone()).or_default().push(t_us);
            }
        }
    }

    /// The tickets to consider now, in ticket order, with the attempts
    /// made so far; and how many deferred ones are not yet due.
    pub fn due(&self, now_us: i64) -> (Vec<(u64, u32)>, u64) {
        let mut due = Vec::new();
        let mut waiting = 0;
        for (&ticket, t) in &self.tickets {
            match t.state {
                AckState::Pending => due.push((ticket, 0)),
                AckState::Deferred {
                    attempt,
                    next_try_us,
                } => {
                    if next_try_us <= now_us {
                        due.push((ticket, attempt));
                    } else {
                        waiting += 1;
                    }
                }
                AckState::Done => {}
            }
        }
        (due, waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(ticket: u64) -> Parsed {
        Parsed {
            ticket,
            batch: "000000000001.mbox".into(),
            offset: 0,
            arrival_us: 0,
            rotation: 1,
            position: ticket,
            kind: Kind::Request,
            dup_of: None,
            domains: vec![],
            sha256: String::new(),
            message_id: None,
            fingerprint: String::new(),
            registrar: String::new(),
        }
    }

    fn ack(ticket: u64, status: &str, attempt: u32, next: i64) -> Ack {
        Ack {
            ticket,
            status: status.into(),
            reason: String::new(),
            attempt,
            next_try_us: Some(next),
            message_id: None,
            to: Some("a@x.fr".into()),
        }
    }

    #[test]
    fn due_lists_pending_and_ripe_deferrals_in_ticket_order() {
        let mut l = Ledger::default();
        for t in [3, 1, 2, 4] {
            l.parsed(&parsed(t));
        }
        l.ack(&ack(1, "sent", 1, 0), 100, 100);
        l.ack(&ack(2, "deferred", 2, 500), 100, 100);
        l.ack(&ack(4, "deferred", 1, 50), 100, 100);
        let (due, waiting) = l.due(100);
        assert_eq!(due, vec![(3, 0), (4, 1)]);
        assert_eq!(waiting, 1);
        assert_eq!(l.recent["a@x.fr"], vec![100]);
        l.ack(&ack(2, "sent", 3, 0), MINUTE_US + 200, MINUTE_US + 200);
        assert_eq!(l.due(MINUTE_US + 200).0, vec![(3, 0), (4, 1)]);
    }
}
