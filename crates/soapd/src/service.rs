//! The eight operations, over the queue and the spool.
//!
//! Durability rule: every lease, extension, release, hold and completion
//! is appended to the journal, and synced, before its answer is written.
//! The queue state is only ever changed by folding journal lines, read
//! back in journal order: the state a restart rebuilds is the state the
//! answers came from, so `kill -9` at any instant loses no completion
//! and hands out no request twice while its lease runs.
//!
//! The journal is tailed before every operation, so `parsed` lines from
//! suzanne-parse and `unhold` lines from the operator's tool are seen as
//! soon as the next call comes.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use rand::Rng;
use spool::clock;
use spool::journal::{Journal, Reader};
use spool::{Record, Spool};

use crate::events;
use crate::protocol::{
    Answer, Call, Fault, Fields, ItemResult, Param, RequestOut, StatusOut,
};
use crate::queue::{Event, Queue, Refusal, Ticket, View};

/// The limits the operations apply.
#[derive(Clone, Debug)]
pub struct Limits {
    pub lease_default: u64,
    pub lease_max: u64,
    pub max_batch: usize,
    /// Bytes of messages one GetRequests answer carries at most (at
    /// least one request is always handed out).
    pub max_answer: usize,
    /// A request is handed out only once it arrived this long ago, so
    /// that mail our MX received earlier, but has not delivered yet, can
    /// still take its place in line.
    pub settle_us: i64,
}

/// What came of one call, for the answer and the log line.
#[derive(Debug)]
pub struct Handled {
    pub result: Result<Answer, Fault>,
    /// The tickets the call was about.
    pub tickets: Vec<Ticket>,
    /// One word for the log: `leased`, `completed`, `again`, ...
    pub outcome: &'static str,
    /// More `key=value` fields for the log line, each after a space.
    pub detail: String,
}

impl Handled {
    fn fault(f: Fault) -> Handled {
        Handled {
            tickets: f.ticket.into_iter().collect(),
            result: Err(f),
            outcome: "fault",
            detail: String::new(),
        }
    }

    fn answer(
        answer: Answer,
        tickets: Vec<Ticket>,
        outcome: &'static str,
    ) -> Handled {
        Handled {
            result: Ok(answer),
            tickets,
            outcome,
            detail: String::new(),
        }
    }
}

pub struct Service {
    spool: Spool,
    limits: Limits,
    inner: Mutex<Inner>,
}

struct Inner {
    queue: Queue,
    journal: Journal,
    reader: Reader,
    /// Journal lines that could not be read (reported once each).
    bad_lines: u64,
}

impl Inner {
    /// Folds the journal lines written since the last look.  Returns
    /// the tickets of `mine` (sequence numbers of our own `lease` lines)
    /// that could no longer be leased when their line came: another
    /// program's line got in between the decision and the append.
    fn catch_up(&mut self, mine: &[u64], now_us: i64) -> Vec<Ticket> {
        let mut undone = Vec::new();
        // Until another program's line comes, the state is the one the
        // leases were planned on: checking them again would cost a
        // look at every open request per lease, for nothing.
        let mut foreign = false;
        while let Some(entry) = self.reader.next_entry() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.bad_lines += 1;
                    foreign = true;
                    spool::cli::warn(&format!(
                        "- op=journal outcome=unreadable error={e}"
                    ));
                    continue;
                }
            };
            let Some(ev) = events::from_journal(&entry.event) else {
                continue;
            };
            let ours = mine.contains(&entry.seq);
            if let Event::Lease { ticket, .. } = &ev {
                if ours && foreign && !self.queue.may_lease(*ticket, now_us) {
                    undone.push(*ticket);
                }
            }
            foreign |= !ours;
            self.queue.apply(&ev);
        }
        undone
    }

    /// Appends, durably, then folds what was appended.
    fn record(
        &mut self,
        evs: &[Event],
        now_us: i64,
    ) -> Result<Vec<Ticket>, Fault> {
        let lines: Vec<_> =
            evs.iter().filter_map(events::to_journal).collect();
        let seqs = self.journal.append(&lines).map_err(|e| {
            Fault::server("internal", format!("cannot write journal: {e}"))
        })?;
        Ok(self.catch_up(&seqs, now_us))
    }
}

impl Service {
    /// Rebuilds the queue from the whole journal.
    pub fn open(spool: Spool, limits: Limits) -> anyhow::Result<Service> {
        let journal = spool.journal()?;
        let reader = spool.journal_reader()?;
        let mut inner = Inner {
            queue: Queue::default(),
            journal,
            reader,
            bad_lines: 0,
        };
        inner.catch_up(&[], clock::now_us());
        Ok(Service {
            spool,
            limits,
            inner: Mutex::new(inner),
        })
    }

    /// The state, caught up with the journal.  A panic in another
    /// thread while it held the lock may have left the queue half
    /// changed: it is then rebuilt from the journal.
    fn state(&self) -> MutexGuard<'_, Inner> {
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                self.inner.clear_poison();
                let mut g = poisoned.into_inner();
                if let Ok(reader) = self.spool.journal_reader() {
                    g.reader = reader;
                    g.queue = Queue::default();
                }
                g
            }
        };
        inner.catch_up(&[], clock::now_us());
        inner
    }

    pub fn handle(&self, call: &Call, client: &str) -> Handled {
        let r = match call.op.as_str() {
            "GetRequests" => self.get_requests(call, client),
            "CompleteRequest" => self.complete(call),
            "CompleteRequests" => self.complete_many(call),
            "HoldRequest" => self.hold(call),
            "ReleaseRequest" => self.release(call),
            "ExtendLease" => self.extend(call),
            "GetRequest" => self.get_request(call),
            "QueueStatus" => Ok(self.queue_status()),
            _ => Err(Fault::client(
                "unknown-operation",
                format!("no operation named {}", call.op),
            )),
        };
        r.unwrap_or_else(Handled::fault)
    }

    fn get_requests(
        &self,
        call: &Call,
        client: &str,
    ) -> Result<Handled, Fault> {
        const P: [&str; 3] = ["max", "leaseSeconds", "fields"];
        // max=0 asks for nothing and gets nothing: a harmless probe.
        let max = int_param(call, &P, 0)?.unwrap_or(1);
        if max < 0 {
            return Err(bad_param("max", "must not be negative"));
        }
        let max = (max as usize).min(self.limits.max_batch);
        let secs = self.lease_seconds(call, &P, 1)?;
        let fields = str_param(call, &P, 2).unwrap_or_default();
        let fields = Fields::parse(&fields).map_err(|name| {
            bad_param("fields", &format!("no Request element {name:?}"))
        })?;

        let mut st = self.state();
        let now = clock::now_us();
        let expires = now + secs as i64 * 1_000_000;
        let client = client.to_owned();
        // Nothing that arrived within the settle time is handed out:
        // Postfix may still be delivering mail received before it.
        let horizon = now - self.limits.settle_us;
        let plan = st
            .queue
            .plan_leases(max, now, horizon, expires, &client, token);

        // What will be handed out is read before it is leased: a record
        // that cannot be read is not leased (it keeps its place, and its
        // names, for an operator to look at), and one answer stays
        // within max_answer bytes.
        let mut kept = Vec::with_capacity(plan.len());
        let mut loaded = Vec::with_capacity(plan.len());
        let mut bytes = 0;
        for ev in plan {
            let Event::Lease { ticket, .. } = &ev else {
                continue;
            };
            match self.load(*ticket, fields.has("raw")) {
                Ok((rec, raw)) => {
                    bytes += raw.len() * 4 / 3 + rec.body.len();
                    if !kept.is_empty() && bytes > self.limits.max_answer {
                        break;
                    }
                    loaded.push((*ticket, rec, raw));
                    kept.push(ev);
                }
                Err(f) => spool::cli::warn(&format!(
                    "{ticket} op=GetRequests outcome=unreadable error=\"{}\"",
                    spool::cli::escape(&f.string)
                )),
            }
        }

        let undone = st.record(&kept, now)?;
        let mut views = Vec::with_capacity(kept.len());
        let mut releases = Vec::new();
        for ev in &kept {
            let Event::Lease { ticket, token, .. } = ev else {
                continue;
            };
            if undone.contains(ticket) {
                releases.push(Event::Release {
                    ticket: *ticket,
                    token: token.clone(),
                });
            } else {
                views.push(st.queue.view(*ticket, now));
            }
        }
        // Rare: suzanne-parse journaled an earlier claimant for one of
        // the names between the decision and its lines.  Those leases
        // are given back before anyone sees them.
        st.record(&releases, now)?;
        drop(st);

        let mut out = Vec::with_capacity(views.len());
        let mut tickets = Vec::with_capacity(views.len());
        let handed =
            loaded.into_iter().filter(|(t, _, _)| !undone.contains(t));
        for ((ticket, rec, raw), view) in handed.zip(views) {
            if let Some(view) = view {
                let mut r = request_out(ticket, rec, raw, &view);
                r.fields = fields;
                out.push(r);
                tickets.push(ticket);
            }
        }
        Ok(Handled::answer(Answer::Requests(out), tickets, "leased"))
    }

    fn complete(&self, call: &Call) -> Result<Handled, Fault> {
        const P: [&str; 4] = ["id", "leaseToken", "outcome", "comment"];
        let (id, token) = id_and_token(call, &P)?;
        let outcome = str_param(call, &P, 2).unwrap_or_default();
        let outcome = outcome.trim();
        if outcome != "accepted" && outcome != "rejected" {
            return Err(Fault::client(
                "bad-outcome",
                "outcome must be \"accepted\" or \"rejected\"",
            )
            .with_ticket(id));
        }
        let comment = str_param(call, &P, 3).unwrap_or_default();
        let mut st = self.state();
        let now = clock::now_us();
        let planned = st.queue.plan_complete(id, &token, outcome, &comment);
        self.apply_planned(&mut st, id, planned, now, "completed")
    }

    /// CompleteRequests: every item decided as CompleteRequest would
    /// decide it alone, in order, and all the completions appended in one
    /// durable append before the answer.  An item that would have been
    /// a fault gets that fault's code as its status; the others go on.
    fn complete_many(&self, call: &Call) -> Result<Handled, Fault> {
        if call.params.is_empty() {
            return Err(bad_param("completions", "missing"));
        }
        let items: Vec<_> = completion_items(call)
            .into_iter()
            .map(read_completion)
            .collect();
        let mut st = self.state();
        let now = clock::now_us();
        let mut events = Vec::new();
        // Tokens completed earlier in this call: the queue only sees
        // them once they are appended.
        let mut done: HashMap<Ticket, &str> = HashMap::new();
        let mut results = Vec::with_capacity(items.len());
        let (mut again, mut refused) = (0, 0);
        for item in &items {
            let (id, status) = match item {
                Err((id, code)) => (*id, *code),
                Ok(c) => {
                    let planned = match done.get(&c.id) {
                        Some(t) if *t == c.token => Ok(None),
                        Some(_) => Err(Refusal::StaleLease),
                        None => st.queue.plan_complete(
                            c.id, &c.token, &c.outcome, &c.comment,
                        ),
                    };
                    let status = match planned {
                        Ok(Some(ev)) => {
                            events.push(ev);
                            done.insert(c.id, &c.token);
                            "completed"
                        }
                        Ok(None) => {
                            again += 1;
                            "completed"
                        }
                        Err(r) => r.code(),
                    };
                    (c.id, status)
                }
            };
            refused += usize::from(status != "completed");
            results.push(ItemResult { id, status });
        }
        st.record(&events, now)?;
        drop(st);

        let tickets = results.iter().map(|r| r.id).filter(|&t| t > 0);
        let tickets = tickets.collect();
        let outcome = match (refused, events.len()) {
            (0, 0) => "again",
            (0, _) => "completed",
            _ => "partial",
        };
        let mut h =
            Handled::answer(Answer::Results(results), tickets, outcome);
        h.detail = format!(
            " items={} completed={} again={again} refused={refused}",
            items.len(),
            events.len()
        );
        Ok(h)
    }

    fn hold(&self, call: &Call) -> Result<Handled, Fault> {
        const P: [&str; 3] = ["id", "leaseToken", "reason"];
        let (id, token) = id_and_token(call, &P)?;
        let reason = str_param(call, &P, 2).unwrap_or_default();
        let mut st = self.state();
        let now = clock::now_us();
        let planned = st.queue.plan_hold(id, &token, &reason, now);
        self.apply_planned(&mut st, id, planned, now, "held")
    }

    fn release(&self, call: &Call) -> Result<Handled, Fault> {
        const P: [&str; 2] = ["id", "leaseToken"];
        let (id, token) = id_and_token(call, &P)?;
        let mut st = self.state();
        let now = clock::now_us();
        let planned = st.queue.plan_release(id, &token);
        self.apply_planned(&mut st, id, planned, now, "released")
    }

    /// Writes what a Complete/Hold/Release decided; `Ok(None)` was
    /// already done and is answered the same, with nothing written.
    fn apply_planned(
        &self,
        st: &mut Inner,
        id: Ticket,
        planned: Result<Option<Event>, Refusal>,
        now: i64,
        status: &'static str,
    ) -> Result<Handled, Fault> {
        let outcome = match planned.map_err(|r| refusal(r, id))? {
            Some(ev) => {
                st.record(&[ev], now)?;
                status
            }
            None => "again",
        };
        Ok(Handled::answer(Answer::Status(status), vec![id], outcome))
    }

    fn extend(&self, call: &Call) -> Result<Handled, Fault> {
        const P: [&str; 3] = ["id", "leaseToken", "seconds"];
        let (id, token) = id_and_token(call, &P)?;
        let secs = self.lease_seconds(call, &P, 2)?;
        let mut st = self.state();
        let now = clock::now_us();
        let expires = now + secs as i64 * 1_000_000;
        let ev = st
            .queue
            .plan_extend(id, &token, now, expires)
            .map_err(|r| refusal(r, id))?;
        st.record(&[ev], now)?;
        let answer = Answer::LeaseExpires(clock::rfc3339_us(expires));
        Ok(Handled::answer(answer, vec![id], "extended"))
    }

    fn get_request(&self, call: &Call) -> Result<Handled, Fault> {
        let id = id_param(call, &["id"])?;
        let view = self.state().queue.view(id, clock::now_us());
        let Some(view) = view else {
            return Err(refusal(Refusal::NoSuchRequest, id));
        };
        let (rec, raw) = self.load(id, true)?;
        let r = request_out(id, rec, raw, &view);
        let answer = Answer::Request(Box::new(r));
        Ok(Handled::answer(answer, vec![id], "shown"))
    }

    fn queue_status(&self) -> Handled {
        let now = clock::now_us();
        let c = self.state().queue.counts(now);
        let age = c
            .oldest_pending_us
            .map(|t| ((now - t).max(0) / 1_000_000) as u64)
            .unwrap_or(0);
        let answer = Answer::QueueStatus(StatusOut {
            pending: c.pending,
            leased: c.leased,
            held: c.held,
            completed: c.completed,
            oldest_pending_age: age,
        });
        Handled::answer(answer, Vec::new(), "shown")
    }

    fn lease_seconds(
        &self,
        call: &Call,
        names: &[&str],
        i: usize,
    ) -> Result<u64, Fault> {
        match int_param(call, names, i)? {
            None | Some(0) => Ok(self.limits.lease_default),
            Some(n) if n < 0 => Err(bad_param(names[i], "must be positive")),
            Some(n) => Ok((n as u64).min(self.limits.lease_max)),
        }
    }

    /// A ticket's record and, when `with_raw`, its message bytes.
    fn load(
        &self,
        id: Ticket,
        with_raw: bool,
    ) -> Result<(Record, Vec<u8>), Fault> {
        let internal = |what: &str, e: spool::Error| {
            Fault::server("internal", format!("cannot read {what}: {e}"))
                .with_ticket(id)
        };
        let rec = self.spool.record(id).map_err(|e| internal("record", e))?;
        let raw = match with_raw {
            true => self.spool.raw(id).map_err(|e| internal("message", e))?,
            false => Vec::new(),
        };
        Ok((rec, raw))
    }
}

/// The contract's Request for one ticket.
fn request_out(id: Ticket, rec: Record, raw: Vec<u8>, v: &View) -> RequestOut {
    RequestOut {
        id,
        arrival: rec.arrival,
        envelope_sender: rec.envelope_sender.unwrap_or_default(),
        from: rec.from,
        message_id: rec.message_id.unwrap_or_default(),
        subject: rec.subject,
        domains: rec.domains.iter().map(|d| d.unicode.clone()).collect(),
        domains_ascii: rec.domains.iter().map(|d| d.ascii.clone()).collect(),
        form: rec.form,
        body: rec.body,
        raw,
        sha256: rec.sha256,
        state: v.state.as_str().to_owned(),
        lease_token: v.token.clone(),
        lease_expires: v.expires_us.map(clock::rfc3339_us),
        fields: Fields::ALL,
    }
}

/// One item of CompleteRequests, read.
struct Completion {
    id: Ticket,
    token: String,
    outcome: String,
    comment: String,
}

/// The items of a CompleteRequests call, whatever shape the client gave
/// the list: one parameter holding structs (the WSDL's
/// `completions/completion`, a SOAP-ENC array of `item` structs from
/// SOAP::Lite, under any name), or structs as repeated parameters
/// (SOAP::Lite `autotype(0)` with a list).  A struct is an element with
/// an `id` child.
fn completion_items(call: &Call) -> Vec<&Param> {
    let is_item = |p: &Param| p.child("id").is_some_and(|c| !c.complex);
    let mut out = Vec::new();
    for p in &call.params {
        if is_item(p) {
            out.push(p);
        } else {
            out.extend(p.children.iter().filter(|c| c.complex));
        }
    }
    out
}

/// One item, or the ticket (0 when unreadable) and fault code it earns.
fn read_completion(p: &Param) -> Result<Completion, (Ticket, &'static str)> {
    let text = |name: &str| {
        p.child(name)
            .and_then(|c| c.value.as_deref())
            .map(str::trim)
            .unwrap_or("")
    };
    let id = match parse_int(text("id")) {
        Some(n) if n > 0 => n as Ticket,
        _ => return Err((0, "bad-parameter")),
    };
    let token = text("leaseToken");
    if token.is_empty() {
        return Err((id, "bad-parameter"));
    }
    let outcome = text("outcome");
    if outcome != "accepted" && outcome != "rejected" {
        return Err((id, "bad-outcome"));
    }
    // The comment is kept as sent, like CompleteRequest's.
    let comment = p.child("comment").and_then(|c| c.value.clone());
    Ok(Completion {
        id,
        token: token.to_owned(),
        outcome: outcome.to_owned(),
        comment: comment.unwrap_or_default(),
    })
}

/// A fresh lease token: the ticket and 128 random bits.
fn token(ticket: Ticket) -> String {
    let bits: u128 = rand::thread_rng().gen();
    format!("L{ticket}-{bits:032x}")
}

fn refusal(r: Refusal, id: Ticket) -> Fault {
    Fault::client(r.code(), format!("request {id}: {r}")).with_ticket(id)
}

fn bad_param(name: &str, why: &str) -> Fault {
    Fault::client("bad-parameter", format!("parameter {name}: {why}"))
}

fn str_param(call: &Call, names: &[&str], i: usize) -> Option<String> {
    call.param(names, i).and_then(|p| p.value.clone())
}

/// An integer as SOAP::Lite may type it: `xsd:int`, `xsd:long`, even
/// `xsd:float` for large values; the lexical text is what counts.
fn int_param(
    call: &Call,
    names: &[&str],
    i: usize,
) -> Result<Option<i64>, Fault> {
    let Some(text) = str_param(call, names, i) else {
        return Ok(None);
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match parse_int(text) {
        Some(n) => Ok(Some(n)),
        None => Err(bad_param(names[i], "not an integer")),
    }
}

fn parse_int(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    match text.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        _ => None,
    }
}

fn id_param(call: &Call, names: &[&str]) -> Result<Ticket, Fault> {
    match int_param(call, names, 0)? {
        Some(n) if n > 0 => Ok(n as Ticket),
        Some(_) => Err(bad_param("id", "must be a ticket number")),
        None => Err(bad_param("id", "missing")),
    }
}

fn id_and_token(
    call: &Call,
    names: &[&str],
) -> Result<(Ticket, String), Fault> {
    let id = id_param(call, names)?;
    match str_param(call, names, 1) {
        Some(t) if !t.trim().is_empty() => Ok((id, t.trim().to_owned())),
        _ => Err(bad_param("leaseToken", "missing").with_ticket(id)),
    }
}

/// Tickets as the log shows them: `12,13,14`, or `-` for none.
pub fn ticket_list(tickets: &[Ticket]) -> String {
    if tickets.is_empty() {
        return "-".to_owned();
    }
    let mut seen = HashSet::new();
    tickets
        .iter()
        .filter(|t| seen.insert(**t))
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
