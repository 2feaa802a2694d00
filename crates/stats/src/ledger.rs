//! The journal folded, in one pass, into a compact record per ticket:
//! arrival key, kind, registrar, when it was parsed, acknowledged, leased
//! and completed, and where it stands now. No request record is read
//! here; a million tickets take on the order of a hundred megabytes.
//!
//! The queue rules are the SOAP contract's (docs/spool.md, the soapd
//! queue): a lease makes a request leased until it is released, held,
//! completed or expires; an expired lease puts it back to pending
//! without a journal line; `unhold` returns a held request to pending.
//! The journal is taken as the record of what happened: an event that
//! breaks a rule still counts, and is named in `problems`.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use spool::{ArrivalKey, Kind, Spool};

use crate::error::Error;
use crate::journal::{self, Line, Tally, Wanted};
use crate::problem::Problem;

/// Where an acknowledgement stands (the last `ack` event; `sent` stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckStatus {
    None,
    Sent,
    Skipped,
    Failed,
    Deferred,
}

/// Where a request stands in the hand-off queue, as journaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueStatus {
    Pending,
    Leased,
    Held,
    Completed,
}

/// Where a request stands now: a lease past its expiry is pending again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Leased,
    Held,
    Completed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Leased => "leased",
            State::Held => "held",
            State::Completed => "completed",
        }
    }
}

/// One ticket, as the journal tells it.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub ticket: u64,
    pub key: ArrivalKey,
    pub kind: Kind,
    /// Index into `Ledger::batch_names`.
    pub batch: u32,
    /// Index into `Ledger::registrars`.
    pub registrar: u32,
    /// Byte offset (index for a Maildir) in its batch.
    pub offset: u64,
    /// When the `parsed` line was written.
    pub parsed_us: i64,
    pub ack: AckStatus,
    /// A `skipped` ack said why.
    pub ack_reasoned: bool,
    /// The first `sent` ack.
    ack_sent: Stamp,
    /// The last ack event of any status.
    ack_last: Stamp,
    pub queue: QueueStatus,
    /// Hash of the current (or last) lease token, 0 for none; tokens are
    /// only ever compared with each other, so 64 bits of hash stand for
    /// them.
    token: u64,
    pub expires_us: i64,
    /// When the request entered its queue status.
    pub since_us: i64,
    /// The first lease.
    leased: Stamp,
    completed: Stamp,
    /// Index into `Ledger::outcomes`, `u32::MAX` for none.
    outcome: u32,
}

/// An optional time in eight bytes (a million tickets carry four each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp(i64);

impl Stamp {
    const NONE: Stamp = Stamp(i64::MIN);

    fn get(self) -> Option<i64> {
        (self != Stamp::NONE).then_some(self.0)
    }

    /// Keep the first time only.
    fn first(&mut self, us: i64) {
        if *self == Stamp::NONE {
            self.0 = us;
        }
    }
}

impl Ticket {
    /// When the first acknowledgement was sent.
    pub fn ack_sent_us(&self) -> Option<i64> {
        self.ack_sent.get()
    }

    /// When the last ack event (of any status) was written.
    pub fn ack_us(&self) -> Option<i64> {
        self.ack_last.get()
    }

    /// When it was first leased (handed over).
    pub fn leased_us(&self) -> Option<i64> {
        self.leased.get()
    }

    /// When it was completed.
    pub fn completed_us(&self) -> Option<i64> {
        self.completed.get()
    }

    /// The completion's outcome, as an index into `Ledger::outcomes`.
    pub fn outcome(&self) -> Option<u32> {
        (self.outcome != u32::MAX).then_some(self.outcome)
    }

    /// The queue state at `now_us`.
    pub fn state(&self, now_us: i64) -> State {
        match self.queue {
            QueueStatus::Leased if self.expires_us > now_us => State::Leased,
            QueueStatus::Leased | QueueStatus::Pending => State::Pending,
            QueueStatus::Held => State::Held,
            QueueStatus::Completed => State::Completed,
        }
    }

    /// A registration request (not a duplicate, auto-reply or malformed).
    pub fn is_request(&self) -> bool {
        self.kind == Kind::Request
    }
}

/// What the journal says of one rotated mailbox.
#[derive(Clone, Debug, Default)]
pub struct BatchFacts {
    pub rotated: bool,
    /// From the `batch` event: tickets first..first+count-1.
    pub first: Option<u64>,
    pub count: Option<u64>,
    /// `parsed` events naming it.
    pub parsed: u64,
    /// From the `archived` event.
    pub archived: Option<u64>,
}

/// The first and last time of one kind of event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub n: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl Span {
    fn add(&mut self, us: i64) {
        self.n += 1;
        self.first = Some(self.first.map_or(us, |f| f.min(us)));
        self.last = Some(self.last.map_or(us, |l| l.max(us)));
    }
}

/// When things happened, for the summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spans {
    /// Arrival keys of every message.
    pub arrival: Span,
    pub parse: Span,
    /// `sent` acknowledgements.
    pub ack: Span,
    pub lease: Span,
    pub complete: Span,
}

/// Ticket numbers to places in `Ledger::tickets`. Tickets are handed
/// out densely from 1, so a vector indexed by ticket serves; a ticket
/// far past the others (a damaged line) goes to a map instead of
/// growing the vector.
#[derive(Debug, Default)]
struct TicketIndex {
    dense: Vec<u32>,
    sparse: HashMap<u64, u32>,
}

impl TicketIndex {
    const EMPTY: u32 = u32::MAX;
    /// How far past the dense part a ticket may be and still extend it.
    const REACH: u64 = 1 << 20;

    fn get(&self, ticket: u64) -> Option<u32> {
        match self.dense.get(ticket as usize) {
            Some(&i) if i != Self::EMPTY => Some(i),
            Some(_) => None,
            None => self.sparse.get(&ticket).copied(),
        }
    }

    /// Record `ticket` at `slot`; false if it is already there.
    fn insert(&mut self, ticket: u64, slot: u32) -> bool {
        if self.get(ticket).is_some() {
            return false;
        }
        let len = self.dense.len() as u64;
        if ticket < len.saturating_add(Self::REACH) {
            if ticket >= len {
                self.dense.resize(ticket as usize + 1, Self::EMPTY);
            }
            self.dense[ticket as usize] = slot;
        } else {
            self.sparse.insert(ticket, slot);
        }
        true
    }
}

/// Who asked for which A-label: each name maps to its only claimant's
/// place in `Ledger::tickets` or, with the top bit set, to its list of
/// claimants in `many` (most names have one claimant: no list for them).
#[derive(Debug, Default)]
pub struct Claims {
    names: HashMap<Box<str>, u32>,
    many: Vec<Vec<u32>>,
}

impl Claims {
    const LIST: u32 = 1 << 31;

    fn add(&mut self, name: &str, slot: u32) {
        let Some(&v) = self.names.get(name) else {
            self.names.insert(name.into(), slot);
            return;
        };
        if v & Self::LIST == 0 {
            // The same name twice in one request is one claim.
            if v != slot {
                self.many.push(vec![v, slot]);
                let list = (self.many.len() - 1) as u32 | Self::LIST;
                self.names.insert(name.into(), list);
            }
            return;
        }
        let list = &mut self.many[(v & !Self::LIST) as usize];
        if list.last() != Some(&slot) {
            list.push(slot);
        }
    }

    /// The names asked for by more than one request, with their
    /// claimants in journal order.
    pub fn contested(&self) -> impl Iterator<Item = (&str, &[u32])> {
        self.names.iter().filter(|(_, &v)| v & Self::LIST != 0).map(
            |(name, &v)| (&**name, &self.many[(v & !Self::LIST) as usize][..]),
        )
    }
}

/// Strings stored once, referred to by index.
#[derive(Clone, Debug, Default)]
pub struct Names {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    pub fn get(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn find(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
}

/// What to fold beyond the events themselves.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    pub wanted: Wanted,
    /// Who asked for which A-label (`contested`, `summary`).
    pub claims: bool,
    /// Each ticket's SHA-256 from its `parsed` event (`reconcile`).
    pub digests: bool,
}

impl Needs {
    /// Everything: what `all` and `reconcile` use.
    pub fn all() -> Needs {
        Needs {
            wanted: Wanted::all(),
            claims: true,
            digests: true,
        }
    }
}

/// The folded journal.
#[derive(Debug, Default)]
pub struct Ledger {
    pub path: PathBuf,
    /// In the order of their `parsed` events.
    pub tickets: Vec<Ticket>,
    index: TicketIndex,
    pub batch_names: Names,
    /// Parallel to `batch_names`.
    pub batches: Vec<BatchFacts>,
    pub registrars: Names,
    pub outcomes: Names,
    /// A-label to the requests naming it (only with `Needs::claims`).
    pub claims: Claims,
    /// Parallel to `tickets` (only with `Needs::digests`): the SHA-256
    /// the `parsed` event gave, as text.
    pub digests: Vec<Box<str>>,
    /// Events that break a rule or cannot be used.
    pub problems: Vec<Problem>,
    pub tally: Tally,
    pub spans: Spans,
}

impl Ledger {
    /// Read the spool's journal once and fold it.
    pub fn replay(spool: &Spool, needs: Needs) -> Result<Ledger, Error> {
        let path = spool.journal_path();
        let mut ledger = Ledger {
            path: path.clone(),
            ..Ledger::default()
        };
        let tally = journal::read(&path, needs.wanted, |line, offset| {
            if let Err(why) = ledger.apply(line, offset, &needs) {
                ledger.problems.push(Problem::spool(
                    "journal-unreadable",
                    format!(
                        "journal '{}' at byte {offset} (seq {}): {why}",
                        path.display(),
                        line.seq
                    ),
                ));
            }
        })
        .map_err(|e| Error::read("read journal", &path, e))?;
        for bad in &tally.unreadable {
            ledger.problems.push(Problem::spool(
                "journal-unreadable",
                format!(
                    "journal '{}' at byte {}: {}",
                    path.display(),
                    bad.offset,
                    bad.detail
                ),
            ));
        }
        ledger.tally = tally;
        Ok(ledger)
    }

    /// The ticket's place in `tickets`.
    pub fn find(&self, ticket: u64) -> Option<&Ticket> {
        self.index.get(ticket).map(|i| &self.tickets[i as usize])
    }

    /// Indexes into `tickets` in arrival order: (arrival_us, rotation,
    /// position), the ticket breaking any tie.
    pub fn arrival_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.tickets.len() as u32).collect();
        order.sort_unstable_by_key(|&i| {
            let t = &self.tickets[i as usize];
            (t.key, t.ticket)
        });
        order
    }

    /// The name of a ticket's batch.
    pub fn batch_of(&self, t: &Ticket) -> &str {
        self.batch_names.get(t.batch)
    }

    /// Problems found while reading lines (the other problems in
    /// `problems` are rule breaks only `reconcile` reports).
    pub fn read_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.name == "journal-unreadable")
    }

    fn apply(
        &mut self,
        line: &Line,
        offset: u64,
        needs: &Needs,
    ) -> Result<(), String> {
        let t_us = journal::line_time(line)
            .ok_or_else(|| format!("bad time '{}'", line.t))?;
        match line.ev.as_ref() {
            "parsed" => self.parsed(line, t_us, needs),
            "rotated" => {
                self.batch_facts(need_str(&line.batch, "batch")?).rotated =
                    true;
                Ok(())
            }
            "batch" => {
                let (first, count) =
                    (need(&line.first, "first")?, need(&line.count, "count")?);
                let facts = self.batch_facts(need_str(&line.batch, "batch")?);
                facts.first = Some(first);
                facts.count = Some(count);
                Ok(())
            }
            "archived" => {
                let count = need(&line.count, "count")?;
                self.batch_facts(need_str(&line.batch, "batch")?).archived =
                    Some(count);
                Ok(())
            }
            "ack" => self.ack(line, t_us, offset),
            _ => self.queue_event(line, t_us, offset),
        }
    }

    fn batch_facts(&mut self, name: &str) -> &mut BatchFacts {
        let i = self.batch_names.intern(name) as usize;
        if i == self.batches.len() {
            self.batches.push(BatchFacts::default());
        }
        &mut self.batches[i]
    }

    fn parsed(
        &mut self,
        line: &Line,
        t_us: i64,
        needs: &Needs,
    ) -> Result<(), String> {
        let ticket = need(&line.ticket, "ticket")?;
        let key = ArrivalKey {
            arrival_us: need(&line.arrival_us, "arrival_us")?,
            rotation: need(&line.rotation, "rotation")?,
            position: need(&line.position, "position")?,
        };
        let kind = need(&line.kind, "kind")?;
        let batch_name = need_str(&line.batch, "batch")?;
        let slot = self.tickets.len() as u32;
        if !self.index.insert(ticket, slot) {
            self.problems.push(Problem::ticket(
                "parsed-twice",
                ticket,
                format!("a second parsed event at seq {}", line.seq),
            ));
            return Ok(());
        }
        let batch = self.batch_names.intern(batch_name);
        if batch as usize == self.batches.len() {
            self.batches.push(BatchFacts::default());
        }
        self.batches[batch as usize].parsed += 1;
        let registrar = self
            .registrars
            .intern(line.registrar.as_deref().unwrap_or(""));
        self.tickets.push(Ticket {
            ticket,
            key,
            kind,
            batch,
            registrar,
            offset: line.offset.unwrap_or(0),
            parsed_us: t_us,
            ack: AckStatus::None,
            ack_reasoned: false,
            ack_sent: Stamp::NONE,
            ack_last: Stamp::NONE,
            queue: QueueStatus::Pending,
            token: 0,
            expires_us: 0,
            since_us: key.arrival_us,
            leased: Stamp::NONE,
            completed: Stamp::NONE,
            outcome: u32::MAX,
        });
        self.spans.arrival.add(key.arrival_us);
        self.spans.parse.add(t_us);
        if needs.digests {
            let sha = line.sha256.as_deref().unwrap_or("");
            self.digests.push(sha.into());
        }
        if needs.claims && kind == Kind::Request {
            for name in line.domains.iter().flatten() {
                self.claims.add(name, slot);
            }
        }
        Ok(())
    }

    /// The ticket an event names, or a problem when no `parsed` event
    /// named it before.
    fn named(
        &mut self,
        line: &Line,
        offset: u64,
    ) -> Result<Option<usize>, String> {
        let ticket = need(&line.ticket, "ticket")?;
        match self.index.get(ticket) {
            Some(i) => Ok(Some(i as usize)),
            None => {
                self.problems.push(Problem::ticket(
                    "unknown-ticket",
                    ticket,
                    format!(
                        "{} event at byte {offset} (seq {}) names a ticket \
                         no parsed event named before",
                        line.ev, line.seq
                    ),
                ));
                Ok(None)
            }
        }
    }

    fn ack(
        &mut self,
        line: &Line,
        t_us: i64,
        offset: u64,
    ) -> Result<(), String> {
        let status = match need_str(&line.status, "status")? {
            "sent" => AckStatus::Sent,
            "skipped" => AckStatus::Skipped,
            "failed" => AckStatus::Failed,
            "deferred" => AckStatus::Deferred,
            other => return Err(format!("unknown ack status '{other}'")),
        };
        let Some(i) = self.named(line, offset)? else {
            return Ok(());
        };
        let t = &mut self.tickets[i];
        t.ack_last = Stamp(t_us);
        if status == AckStatus::Sent {
            if t.ack_sent != Stamp::NONE {
                let ticket = t.ticket;
                self.problems.push(Problem::ticket(
                    "ack-sent-twice",
                    ticket,
                    format!("a second sent ack at seq {}", line.seq),
                ));
                return Ok(());
            }
            t.ack_sent = Stamp(t_us);
            self.spans.ack.add(t_us);
        }
        if t.ack != AckStatus::Sent {
            t.ack = status;
            t.ack_reasoned =
                !line.reason.as_deref().unwrap_or("").trim().is_empty();
        }
        Ok(())
    }

    fn queue_event(
        &mut self,
        line: &Line,
        t_us: i64,
        offset: u64,
    ) -> Result<(), String> {
        let ev = line.ev.as_ref();
        let token = match ev {
            "unhold" => 0,
            _ => token_hash(need_str(&line.token, "token")?),
        };
        let expires = match ev {
            "lease" | "extend" => Some(need(&line.expires_us, "expires_us")?),
            _ => None,
        };
        let Some(i) = self.named(line, offset)? else {
            return Ok(());
        };
        let mut broke = None;
        let t = &mut self.tickets[i];
        let current = token != 0 && token == t.token;
        match ev {
            "lease" => {
                if t.kind != Kind::Request {
                    broke = Some(("leased-non-request", t.kind.as_str()));
                }
                t.queue = QueueStatus::Leased;
                t.token = token;
                t.expires_us = expires.unwrap_or(0);
                t.since_us = t_us;
                t.leased.first(t_us);
                self.spans.lease.add(t_us);
            }
            "extend" if current => t.expires_us = expires.unwrap_or(0),
            "release" if current && t.queue == QueueStatus::Leased => {
                t.queue = QueueStatus::Pending;
                t.since_us = t_us;
            }
            "hold" if current => {
                t.queue = QueueStatus::Held;
                t.since_us = t_us;
            }
            "unhold" if t.queue == QueueStatus::Held => {
                t.queue = QueueStatus::Pending;
                t.since_us = t_us;
            }
            "complete" => {
                if t.leased == Stamp::NONE {
                    broke = Some(("complete-without-lease", "never leased"));
                } else if !current {
                    broke = Some((
                        "complete-stale-token",
                        "the token is not the last lease's",
                    ));
                }
                if t.queue != QueueStatus::Completed {
                    let outcome = line.outcome.as_deref().unwrap_or("");
                    t.outcome = self.outcomes.intern(outcome);
                    t.queue = QueueStatus::Completed;
                    t.since_us = t_us;
                    t.completed = Stamp(t_us);
                    self.spans.complete.add(t_us);
                }
            }
            "extend" | "release" | "hold" | "unhold" => {
                broke = Some(("queue-event-ignored", "not the current lease"));
            }
            other => return Err(format!("unknown event '{other}'")),
        }
        if let Some((name, why)) = broke {
            let ticket = self.tickets[i].ticket;
            self.problems.push(Problem::ticket(
                name,
                ticket,
                format!("{ev} event at seq {}: {why}", line.seq),
            ));
        }
        Ok(())
    }
}

/// A number (or kind) the event must carry.
fn need<T: Copy>(field: &Option<T>, name: &str) -> Result<T, String> {
    field.ok_or_else(|| format!("no '{name}' field"))
}

/// A text field the event must carry.
fn need_str<'a>(
    field: &'a Option<std::borrow::Cow<'_, str>>,
    name: &str,
) -> Result<&'a str, String> {
    field.as_deref().ok_or_else(|| format!("no '{name}' field"))
}

/// A token's hash, never 0 (0 stands for no token).
fn token_hash(token: &str) -> u64 {
    let mut h = DefaultHasher::new();
    token.hash(&mut h);
    h.finish().max(1)
}
