//! The hand-off queue as a pure fold over journal events.
//!
//! Nothing here reads a clock, a file or a socket: the state is what
//! `apply` makes of the journal's `parsed`, `lease`, `extend`, `release`,
//! `hold`, `unhold` and `complete` events, and every decision takes the
//! current time as an argument.  The daemon asks for a decision, appends
//! the events it returns to the journal, and only then applies them, so
//! replaying the journal after a crash rebuilds exactly the state the
//! answers were given from.
//!
//! Queue rules (the SOAP contract):
//!
//! * requests are handed out oldest first by arrival key;
//! * a request is skipped while an earlier request naming one of the same
//!   domains (compared by A-label) is not completed: pending, leased or
//!   held, the first claimant is never overtaken;
//! * auto-replies, duplicates and malformed messages are never handed out;
//! * a lease that has expired puts the request back in its place: expiry
//!   is computed from the lease, it needs no journal line;
//! * completion is idempotent on (ticket, token), and accepted after the
//!   lease expired as long as nobody leased the request since.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

/// A request's ticket number: fixed once, never reused.
pub type Ticket = u64;

pub use spool::{ArrivalKey, Kind};

/// A message as the queue sees it (from a `parsed` event).
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub ticket: Ticket,
    pub key: ArrivalKey,
    pub kind: Kind,
    /// A-labels, lower-case.
    pub domains: Vec<String>,
}

/// The journal events the queue folds.  Times are microseconds since
/// the Unix epoch, UTC.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Parsed(Parsed),
    Lease {
        ticket: Ticket,
        token: String,
        expires_us: i64,
        client: String,
    },
    Extend {
        ticket: Ticket,
        token: String,
        expires_us: i64,
    },
    Release {
        ticket: Ticket,
        token: String,
    },
    Hold {
        ticket: Ticket,
        token: String,
        reason: String,
    },
    Unhold {
        ticket: Ticket,
    },
    Complete {
        ticket: Ticket,
        token: String,
        outcome: String,
        comment: String,
    },
}

impl Event {
    pub fn ticket(&self) -> Ticket {
        match self {
            Event::Parsed(p) => p.ticket,
            Event::Lease { ticket, .. }
            | Event::Extend { ticket, .. }
            | Event::Release { ticket, .. }
            | Event::Hold { ticket, .. }
            | Event::Unhold { ticket }
            | Event::Complete { ticket, .. } => *ticket,
        }
    }
}

/// Why an operation on one request was refused; each maps to a fault
/// code of the SOAP contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No request has this ticket (or it is not a request at all).
    NoSuchRequest,
    /// The token is not the request's current or last lease.
    StaleLease,
    /// The request is not leased (pending, held or completed).
    NotLeased(State),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoSuchRequest => "no-such-request",
            Refusal::StaleLease => "stale-lease",
            Refusal::NotLeased(_) => "not-leased",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoSuchRequest => write!(f, "no such request"),
            Refusal::StaleLease => {
                write!(f, "lease token is not the request's current lease")
            }
            Refusal::NotLeased(s) => {
                write!(f, "request is not leased (state {})", s.as_str())
            }
        }
    }
}

/// A request's state as the contract names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Leased,
    Held,
    Completed,
    Duplicate,
    Auto,
    Malformed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Leased => "leased",
            State::Held => "held",
            State::Completed => "completed",
            State::Duplicate => "duplicate",
            State::Auto => "auto",
            State::Malformed => "malformed",
        }
    }
}

/// What GetRequest shows of one message.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub state: State,
    /// The live lease's token; empty when not leased.
    pub token: String,
    pub expires_us: Option<i64>,
}

/// QueueStatus figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub leased: u64,
    pub held: u64,
    pub completed: u64,
    /// Arrival of the oldest pending request, if any.
    pub oldest_pending_us: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Pending,
    Leased,
    Held,
    Completed,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    key: ArrivalKey,
    kind: Kind,
    domains: Vec<String>,
    status: Status,
    /// The current lease's token, or the last one once released, held
    /// or completed: what idempotent retries are matched against.
    token: Option<String>,
    expires_us: i64,
    /// Set when `token` was given back (release, unhold): the same token
    /// may repeat the release, nothing else.
    token_released: bool,
}

impl Entry {
    fn live_lease(&self, now_us: i64) -> bool {
        self.status == Status::Leased && self.expires_us > now_us
    }

    /// Pending, or leased with the lease run out.
    fn available(&self, now_us: i64) -> bool {
        match self.status {
            Status::Pending => true,
            Status::Leased => self.expires_us <= now_us,
            Status::Held | Status::Completed => false,
        }
    }

    fn holds_token(&self, token: &str) -> bool {
        self.token.as_deref() == Some(token)
    }
}

/// The queue state.  Build it with `Queue::default()` and `apply` every
/// journal event in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue {
    entries: HashMap<Ticket, Entry>,
    /// Requests not completed yet, in queue order.
    open: BTreeSet<(ArrivalKey, Ticket)>,
    completed: u64,
    /// Events that named an unknown ticket or did not fit the state; a
    /// healthy journal has none.
    anomalies: u64,
}

impl Queue {
    /// Folds one journal event into the state.  Events that do not fit
    /// (a lease on an unknown ticket, a second `parsed` for a ticket) are
    /// counted and otherwise ignored: a fold must accept any journal.
    pub fn apply(&mut self, ev: &Event) {
        let fits = match ev {
            Event::Parsed(p) => self.apply_parsed(p),
            Event::Lease {
                ticket,
                token,
                expires_us,
                ..
            } => self.apply_lease(*ticket, token, *expires_us),
            Event::Extend {
                ticket,
                token,
                expires_us,
            } => self.with_leased(*ticket, token, |e| {
                e.expires_us = *expires_us;
            }),
            Event::Release { ticket, token } => {
                self.with_leased(*ticket, token, |e| {
                    e.status = Status::Pending;
                    e.token_released = true;
                })
            }
            Event::Hold { ticket, token, .. } => {
                self.with_leased(*ticket, token, |e| {
                    e.status = Status::Held;
                })
            }
            Event::Unhold { ticket } => self.apply_unhold(*ticket),
            Event::Complete { ticket, token, .. } => {
                self.apply_complete(*ticket, token)
            }
        };
        if !fits {
            self.anomalies += 1;
        }
    }

    fn apply_parsed(&mut self, p: &Parsed) -> bool {
        if self.entries.contains_key(&p.ticket) {
            return false;
        }
        if p.kind == Kind::Request {
            self.open.insert((p.key, p.ticket));
        }
        self.entries.insert(
            p.ticket,
            Entry {
                key: p.key,
                kind: p.kind,
                domains: p.domains.clone(),
                status: Status::Pending,
                token: None,
                expires_us: 0,
                token_released: false,
            },
        );
        true
    }

    fn apply_lease(&mut self, ticket: Ticket, token: &str, exp: i64) -> bool {
        let Some(e) = self.entries.get_mut(&ticket) else {
            return false;
        };
        if e.kind != Kind::Request
            || matches!(e.status, Status::Held | Status::Completed)
        {
            return false;
        }
        e.status = Status::Leased;
        e.token = Some(token.to_owned());
        e.expires_us = exp;
        e.token_released = false;
        true
    }

    fn with_leased(
        &mut self,
        ticket: Ticket,
        token: &str,
        f: impl FnOnce(&mut Entry),
    ) -> bool {
        match self.entries.get_mut(&ticket) {
            Some(e) if e.status == Status::Leased && e.holds_token(token) => {
                f(e);
                true
            }
            _ => false,
        }
    }

    fn apply_unhold(&mut self, ticket: Ticket) -> bool {
        match self.entries.get_mut(&ticket) {
            Some(e) if e.status == Status::Held => {
                e.status = Status::Pending;
                e.token_released = true;
                true
            }
            _ => false,
        }
    }

    fn apply_complete(&mut self, ticket: Ticket, token: &str) -> bool {
        let Some(e) = self.entries.get_mut(&ticket) else {
            return false;
        };
        if e.status != Status::Leased || !e.holds_token(token) {
            return false;
        }
        e.status = Status::Completed;
        self.open.remove(&(e.key, ticket));
        self.completed += 1;
        true
    }

    /// The leases a GetRequests for `max` requests would take now, in
    /// queue order, among the requests that arrived no later than
    /// `horizon_us`.  `token` makes a fresh token for a ticket.
    pub fn plan_leases(
        &self,
        max: usize,
        now_us: i64,
        horizon_us: i64,
        expires_us: i64,
        client: &str,
        mut token: impl FnMut(Ticket) -> String,
    ) -> Vec<Event> {
        let mut out = Vec::new();
        // A request parsed late may sort before one already leased: the
        // names under a live lease or a hold are taken whatever the order.
        let mut blocked: HashSet<&str> = self
            .open
            .iter()
            .map(|(_, t)| &self.entries[t])
            .filter(|e| !e.available(now_us))
            .flat_map(|e| e.domains.iter().map(String::as_str))
            .collect();
        for &(key, ticket) in &self.open {
            // In arrival order: everything after this arrived later.
            if out.len() >= max || key.arrival_us > horizon_us {
                break;
            }
            let e = &self.entries[&ticket];
            let available = e.available(now_us);
            let free = !e.domains.iter().any(|d| blocked.contains(d.as_str()));
            if free && available {
                out.push(Event::Lease {
                    ticket,
                    token: token(ticket),
                    expires_us,
                    client: client.to_owned(),
                });
            }
            // Whatever its state, an open request keeps its names from
            // every later claimant.
            blocked.extend(e.domains.iter().map(String::as_str));
        }
        out
    }

    fn request(&self, ticket: Ticket) -> Result<&Entry, Refusal> {
        match self.entries.get(&ticket) {
            Some(e) if e.kind == Kind::Request => Ok(e),
            _ => Err(Refusal::NoSuchRequest),
        }
    }

    /// CompleteRequest: `Ok(None)` when this completion was already
    /// recorded (the answer is "completed" again, nothing is written).
    pub fn plan_complete(
        &self,
        ticket: Ticket,
        token: &str,
        outcome: &str,
        comment: &str,
    ) -> Result<Option<Event>, Refusal> {
        let e = self.request(ticket)?;
        match e.status {
            Status::Completed if e.holds_token(token) => Ok(None),
            Status::Leased if e.holds_token(token) => {
                Ok(Some(Event::Complete {
                    ticket,
                    token: token.to_owned(),
                    outcome: outcome.to_owned(),
                    comment: comment.to_owned(),
                }))
            }
            Status::Held if e.holds_token(token) => {
                Err(Refusal::NotLeased(State::Held))
            }
            Status::Pending if e.token.is_none() => {
                Err(Refusal::NotLeased(State::Pending))
            }
            _ => Err(Refusal::StaleLease),
        }
    }

    /// ReleaseRequest: `Ok(None)` when already released with this token.
    pub fn plan_release(
        &self,
        ticket: Ticket,
        token: &str,
    ) -> Result<Option<Event>, Refusal> {
        let e = self.request(ticket)?;
        self.check_token(e, token, true)?;
        match e.status {
            Status::Leased => Ok(Some(Event::Release {
                ticket,
                token: token.to_owned(),
            })),
            _ => Ok(None),
        }
    }

    /// HoldRequest: `Ok(None)` when already held with this token.
    pub fn plan_hold(
        &self,
        ticket: Ticket,
        token: &str,
        reason: &str,
        now_us: i64,
    ) -> Result<Option<Event>, Refusal> {
        let e = self.request(ticket)?;
        if e.status == Status::Held && e.holds_token(token) {
            return Ok(None);
        }
        self.check_token(e, token, false)?;
        self.check_renewable(ticket, e, now_us)?;
        Ok(Some(Event::Hold {
            ticket,
            token: token.to_owned(),
            reason: reason.to_owned(),
        }))
    }

    /// ExtendLease to `expires_us`.
    pub fn plan_extend(
        &self,
        ticket: Ticket,
        token: &str,
        now_us: i64,
        expires_us: i64,
    ) -> Result<Event, Refusal> {
        let e = self.request(ticket)?;
        self.check_token(e, token, false)?;
        self.check_renewable(ticket, e, now_us)?;
        Ok(Event::Extend {
            ticket,
            token: token.to_owned(),
            expires_us,
        })
    }

    /// Passes when `token` is the request's current lease (expired or
    /// not: nobody leased it since), or, with `released_ok`, the token
    /// it was released with.
    fn check_token(
        &self,
        e: &Entry,
        token: &str,
        released_ok: bool,
    ) -> Result<(), Refusal> {
        match e.status {
            Status::Leased if e.holds_token(token) => Ok(()),
            Status::Pending
                if released_ok && e.token_released && e.holds_token(token) =>
            {
                Ok(())
            }
            Status::Held | Status::Completed if e.holds_token(token) => {
                Err(Refusal::NotLeased(self.state_of(e, 0)))
            }
            Status::Pending if e.token.is_none() => {
                Err(Refusal::NotLeased(State::Pending))
            }
            _ => Err(Refusal::StaleLease),
        }
    }

    /// Renewing a lease that ran out is leasing the request again: only
    /// when it could be handed out now.  Meanwhile a request parsed late
    /// with an earlier arrival key may have taken its names.
    fn check_renewable(
        &self,
        ticket: Ticket,
        e: &Entry,
        now_us: i64,
    ) -> Result<(), Refusal> {
        if e.live_lease(now_us) || !self.names_taken(ticket, e, now_us) {
            Ok(())
        } else {
            Err(Refusal::StaleLease)
        }
    }

    /// True when an earlier open request, or any request under a live
    /// lease or a hold, names one of the same domains.
    fn names_taken(&self, ticket: Ticket, e: &Entry, now_us: i64) -> bool {
        self.open.iter().any(|&(key, t)| {
            let o = &self.entries[&t];
            t != ticket
                && (key < e.key || !o.available(now_us))
                && o.domains.iter().any(|d| e.domains.contains(d))
        })
    }

    /// Whether `ticket` may be leased now: what `plan_leases` decided,
    /// checked again when other programs' events were journaled between
    /// the decision and its own lines.
    pub fn may_lease(&self, ticket: Ticket, now_us: i64) -> bool {
        match self.entries.get(&ticket) {
            Some(e) if e.kind == Kind::Request && e.available(now_us) => {
                !self.names_taken(ticket, e, now_us)
            }
            _ => false,
        }
    }

    fn state_of(&self, e: &Entry, now_us: i64) -> State {
        match e.kind {
            Kind::Duplicate => return State::Duplicate,
            Kind::Auto => return State::Auto,
            Kind::Malformed => return State::Malformed,
            Kind::Request => {}
        }
        match e.status {
            Status::Pending => State::Pending,
            Status::Leased if e.live_lease(now_us) => State::Leased,
            Status::Leased => State::Pending,
            Status::Held => State::Held,
            Status::Completed => State::Completed,
        }
    }

    /// GetRequest: the message's state now, if the ticket exists.
    pub fn view(&self, ticket: Ticket, now_us: i64) -> Option<View> {
        let e = self.entries.get(&ticket)?;
        let state = self.state_of(e, now_us);
        let leased = state == State::Leased;
        Some(View {
            state,
            token: match (leased, &e.token) {
                (true, Some(t)) => t.clone(),
                _ => String::new(),
            },
            expires_us: leased.then_some(e.expires_us),
        })
    }

    /// QueueStatus.
    pub fn counts(&self, now_us: i64) -> Counts {
        let mut c = Counts {
            completed: self.completed,
            ..Counts::default()
        };
        for (key, ticket) in &self.open {
            match self.state_of(&self.entries[ticket], now_us) {
                State::Leased => c.leased += 1,
                State::Held => c.held += 1,
                _ => {
                    c.pending += 1;
                    if c.oldest_pending_us.is_none() {
                        c.oldest_pending_us = Some(key.arrival_us);
                    }
                }
            }
        }
        c
    }

    pub fn contains(&self, ticket: Ticket) -> bool {
        self.entries.contains_key(&ticket)
    }

    pub fn anomalies(&self) -> u64 {
        self.anomalies
    }
}

#[cfg(test)]
mod tests;
