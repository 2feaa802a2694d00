//! One run of suzanne-ack: take the stage lock, rebuild the state from
//! the journal, then send every due acknowledgement in ticket order over
//! the configured transport, recording each outcome in the journal.
//!
//! Exactly once: a letter's `ack` event is appended (and synced) right
//! after the relay accepts it, and a link sends its next letter only once
//! that event is durable. A crash between acceptance and record repeats
//! at most the one letter in flight on each link, under the same
//! Message-ID. Events from several links are written together, one sync
//! for all ("group commit"), by one recorder thread.
//!
//! Limits never drop a letter: a request held back by `limit` or a
//! per-registrar cap simply has no event yet and waits for the next run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;

use lettre::message::Mailbox;
use lettre::Address;
use spool::config::Config;
use spool::journal::{Ack, Event, Journal};
use spool::record::ticket_name;
use spool::{cli, clock, ErrorKind, Exit, Spool, Stage};
use tokio::sync::oneshot;

use crate::config::{AckConfig, Duplicates, TransportKind};
use crate::headers::{self, HeaderFacts};
use crate::render::{Languages, Letter, LetterKind, Templates, Writer};
use crate::select::{self, Allow, Decision, Policy};
use crate::state::{Ledger, MINUTE_US};
use crate::transport::{Outcome, Transport};

/// How much of a raw message is read for its header block.
const HEADER_READ_MAX: u64 = 256 * 1024;

/// Events written in one journal append at most.
const GROUP_MAX: usize = 512;

/// Run options that are not configuration.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Write letters but record nothing in the journal.
    pub dry_run: bool,
}

/// What a run did, for the exit status and the `-v` summary.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    pub deferred: u64,
    /// Held back by a limit; they wait for the next run.
    pub held: u64,
    /// Deferred earlier and not yet due.
    pub waiting: u64,
    /// Records or messages that could not be read.
    pub unreadable: u64,
    /// Why the transport could not be reached, if work was left for it.
    pub unreachable: Option<String>,
}

impl Summary {
    /// 75 when something must be tried again later (the relay is down,
    /// a letter was deferred), 65 when a record could not be read, else 0.
    pub fn exit(&self) -> Exit {
        if self.unreachable.is_some() || self.deferred > 0 {
            Exit::TempFail
        } else if self.unreadable > 0 {
            Exit::DataErr
        } else {
            Exit::Ok
        }
    }

    /// One line, for `-v`.
    pub fn line(&self) -> String {
        format!(
            "run sent={} skipped={} failed={} deferred={} held={} \
             waiting={} unreadable={}",
            self.sent,
            self.skipped,
            self.failed,
            self.deferred,
            self.held,
            self.waiting,
            self.unreadable
        )
    }
}

/// A letter to send, with the attempts already made.
struct Job {
    letter: Letter,
    attempt: u32,
    /// The recipient, lower case: the key of the per-registrar caps.
    key: String,
}

enum Step {
    Skip(Ack),
    Job(Job),
}

/// The settings a run reads many times.
struct Settings {
    limit: u64,
    per_run: u64,
    per_minute: u64,
    retry_base: u64,
    retry_max: u64,
    max_attempts: u32,
    envelope_from: Option<Address>,
}

/// Run once. Configuration problems are `ErrorKind::Config` errors (exit
/// 78); a busy stage lock is `Busy` (exit 75).
/// Letters written to the outbox between two syncs, at most.
const OUTBOX_LINKS: usize = 64;

pub fn run(
    config: &Config,
    ack: &AckConfig,
    opts: &Options,
) -> spool::Result<Summary> {
    let writer = writer(ack).map_err(config_error)?;
    let policy = Policy {
        duplicates: ack.duplicates,
        allow: Allow::new(&ack.allow).map_err(config_error)?,
    };
    let settings = settings(ack).map_err(config_error)?;
    let transport = Transport::new(ack).map_err(config_error)?;

    let spool = Spool::open_existing(&config.spool)?;
    let _lock = spool.lock_stage(Stage::Ack)?;
    let now_us = clock::now_us();
    let ledger = Ledger::replay(&spool, now_us)?;
    let (due, waiting) = ledger.due(now_us);
    let journal = if opts.dry_run {
        None
    } else {
        Some(spool.journal()?)
    };

    let planner = Planner {
        spool: &spool,
        writer: &writer,
        policy: &policy,
        settings: &settings,
        due: due.into_iter(),
        recent: ledger.recent,
        per_address: HashMap::new(),
        issued: 0,
        now_us,
    };
    let links = match ack.transport {
        // Files, not connections: many letters in flight let one sync
        // of the outbox and one journal append cover a whole group.
        TransportKind::Outbox => OUTBOX_LINKS,
        _ => ack.connections.max(1),
    };
    let mut summary = Summary {
        waiting,
        ..Summary::default()
    };
    send_all(planner, &transport, journal, links, &mut summary)?;
    Ok(summary)
}

fn config_error(message: String) -> spool::Error {
    spool::Error::new(ErrorKind::Config, message)
}

fn writer(ack: &AckConfig) -> Result<Writer, String> {
    let from_text = ack.from.as_deref().unwrap_or("").trim();
    if from_text.is_empty() {
        return Err("[ack] from is not set (the registry's address)".into());
    }
    let from: Mailbox = from_text
        .parse()
        .map_err(|e| format!("[ack] from '{from_text}': {e}"))?;
    let dir = ack.templates_dir();
    let templates = Templates::load(&dir)?;
    let languages = Languages::new(&ack.language, &ack.languages)?;
    templates.require(LetterKind::Ack, languages.default_language())?;
    if ack.duplicates == Duplicates::Note {
        templates
            .require(LetterKind::Duplicate, languages.default_language())?;
    }
    Ok(Writer {
        templates,
        languages,
        from,
        host: ack.host(),
    })
}

fn settings(ack: &AckConfig) -> Result<Settings, String> {
    let envelope_from = match ack.envelope_from.trim() {
        "" | "<>" => None,
        text => Some(
            headers::to_ascii_address(text)
                .map_err(|e| format!("[ack] envelope_from '{text}': {e}"))?,
        ),
    };
    Ok(Settings {
        limit: ack.limit,
        per_run: ack.per_registrar_run,
        per_minute: ack.per_registrar_minute,
        retry_base: ack.retry_base.max(1),
        retry_max: ack.retry_max.max(ack.retry_base.max(1)),
        max_attempts: ack.max_attempts.max(1),
        envelope_from,
    })
}

/// Walks the due tickets in order and turns each into a skip or a job.
struct Planner<'a> {
    spool: &'a Spool,
    writer: &'a Writer,
    policy: &'a Policy,
    settings: &'a Settings,
    due: std::vec::IntoIter<(u64, u32)>,
    recent: HashMap<String, Vec<i64>>,
    per_address: HashMap<String, u64>,
    issued: u64,
    now_us: i64,
}

impl Planner<'_> {
    /// The next step; None when every due ticket has been looked at or
    /// the run's limit is reached. Err: the letter cannot be written
    /// (a template fails): nothing further can be sent.
    fn next(&mut self, summary: &mut Summary) -> Result<Option<Step>, String> {
        loop {
            if self.settings.limit > 0 && self.issued >= self.settings.limit {
                summary.held += self.due.len() as u64;
                self.due = Vec::new().into_iter();
                return Ok(None);
            }
            let Some((ticket, attempt)) = self.due.next() else {
                return Ok(None);
            };
            let (record, facts) = match self.read(ticket) {
                Ok(r) => r,
                Err(e) => {
                    cli::warn(&format!(
                        "{} unreadable: {e}",
                        ticket_name(ticket)
                    ));
                    summary.unreadable += 1;
                    continue;
                }
            };
            let decision = select::decide(&record, &facts, self.policy);
            let (to, kind, dup_of) = match decision {
                Decision::Skip(reason) => {
                    return Ok(Some(Step::Skip(skipped(ticket, reason))))
                }
                Decision::Ack(to) => (to, LetterKind::Ack, None),
                Decision::Note(to, first) => {
                    (to, LetterKind::Duplicate, Some(first))
                }
            };
            let key = select::address_key(&to);
            if self.capped(&key) {
                summary.held += 1;
                continue;
            }
            let date = clock::now();
            let letter =
                self.writer
                    .letter(&record, kind, to, dup_of, date)
                    .map_err(|e| format!("{}: {e}", ticket_name(ticket)))?;
            self.issued += 1;
            *self.per_address.entry(key.clone()).or_default() += 1;
            return Ok(Some(Step::Job(Job {
                letter,
                attempt,
                key,
            })));
        }
    }

    fn read(
        &self,
        ticket: u64,
    ) -> spool::Result<(spool::Record, HeaderFacts)> {
        let record = self.spool.record(ticket)?;
        let path = self.spool.raw_path(ticket);
        let mut head = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(HEADER_READ_MAX).read_to_end(&mut head))
            .map_err(|e| spool::Error::io("read message", &path, e))?;
        Ok((record, HeaderFacts::scan(&head)))
    }

    /// True when a per-registrar cap keeps `key` waiting.
    fn capped(&self, key: &str) -> bool {
        let this_run = self.per_address.get(key).copied().unwrap_or(0);
        let s = self.settings;
        if s.per_run > 0 && this_run >= s.per_run {
            return true;
        }
        if s.per_minute > 0 {
            let since = self.now_us - MINUTE_US;
            let earlier = self
                .recent
                .get(key)
                .map_or(0, |v| v.iter().filter(|&&t| t > since).count());
            return earlier as u64 + this_run >= s.per_minute;
        }
        false
    }
}

fn skipped(ticket: u64, reason: String) -> Ack {
    Ack {
        ticket,
        status: "skipped".to_string(),
        reason,
        attempt: 0,
        next_try_us: None,
        message_id: None,
        to: None,
    }
}

/// A batch of events for the recorder; `done` hears whether they are
/// durable.
struct Request {
    events: Vec<Event>,
    done: Option<oneshot::Sender<bool>>,
}

/// The recorder thread: appends what it is sent, as many requests per
/// append as are waiting. After a failed append it writes nothing more
/// and answers every request `false`; the error is its result.
fn recorder(
    mut journal: Option<Journal>,
    rx: mpsc::Receiver<Request>,
    presync: Option<PathBuf>,
) -> spool::Result<()> {
    let mut failure = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        // Letters the transport wrote without syncing (the outbox) must
        // be durable before the journal says they were sent: one sync of
        // their file system covers the whole group.
        if let (None, Some(dir)) = (&failure, &presync) {
            if let Err(e) = spool::durable::sync_fs(dir) {
                failure = Some(e);
            }
        }
        let ok = failure.is_none() && {
            let events: Vec<Event> =
                batch.iter_mut().flat_map(|r| r.events.drain(..)).collect();
            match journal.as_mut().map(|j| j.append(&events)) {
                Some(Err(e)) => {
                    failure = Some(e);
                    false
                }
                _ => true,
            }
        };
        for r in batch {
            if let Some(done) = r.done {
                let _ = done.send(ok);
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

/// State shared by the links of one run (one thread: cells suffice).
struct Shared<'a> {
    planner: RefCell<Planner<'a>>,
    /// A job taken from the planner before any link was opened.
    first: RefCell<Option<Job>>,
    exhausted: Cell<bool>,
    stop: Cell<bool>,
    summary: RefCell<Summary>,
    tx: mpsc::Sender<Request>,
    /// Why a link could not be opened, the first time.
    link_error: RefCell<Option<String>>,
    /// What stopped the run early: a template that fails (Config) or a
    /// transport that fails while sending (Busy: try later).
    fatal: RefCell<Option<(ErrorKind, String)>>,
}

impl Shared<'_> {
    /// The next job; skips on the way are handed to the recorder.
    fn next_job(&self) -> Option<Job> {
        if self.stop.get() {
            return None;
        }
        if let Some(job) = self.first.borrow_mut().take() {
            return Some(job);
        }
        loop {
            let step = {
                let mut summary = self.summary.borrow_mut();
                self.planner.borrow_mut().next(&mut summary)
            };
            match step {
                Ok(Some(Step::Job(job))) => return Some(job),
                Ok(Some(Step::Skip(ack))) => self.skip(ack),
                Ok(None) => {
                    self.exhausted.set(true);
                    return None;
                }
                Err(e) => {
                    self.fail(ErrorKind::Config, e);
                    return None;
                }
            }
        }
    }

    fn skip(&self, ack: Ack) {
        cli::info(&format!(
            "{} status=skipped reason=\"{}\"",
            ticket_name(ack.ticket),
            cli::escape(&ack.reason)
        ));
        self.summary.borrow_mut().skipped += 1;
        let request = Request {
            events: vec![Event::Ack(ack)],
            done: None,
        };
        if self.tx.send(request).is_err() {
            self.stop.set(true);
        }
    }

    fn fail(&self, kind: ErrorKind, message: String) {
        self.stop.set(true);
        self.fatal.borrow_mut().get_or_insert((kind, message));
    }

    /// Record what became of a job and wait until the record is durable.
    /// False: the journal failed, and the run stops.
    async fn record(&self, job: &Job, outcome: Outcome) -> bool {
        let ack = self.outcome_event(job, outcome);
        self.log(&ack);
        let (done, heard) = oneshot::channel();
        let request = Request {
            events: vec![Event::Ack(ack)],
            done: Some(done),
        };
        let durable =
            self.tx.send(request).is_ok() && heard.await.unwrap_or(false);
        if !durable {
            self.stop.set(true);
        }
        durable
    }

    fn outcome_event(&self, job: &Job, outcome: Outcome) -> Ack {
        let s = self.planner.borrow().settings;
        let attempt = job.attempt + 1;
        let mut summary = self.summary.borrow_mut();
        let (status, reason, next_try_us) = match outcome {
            Outcome::Sent(reply) => {
                summary.sent += 1;
                ("sent", reply, None)
            }
            Outcome::Failed(why) => {
                summary.failed += 1;
                ("failed", why, None)
            }
            Outcome::Deferred(why) if attempt >= s.max_attempts => {
                summary.failed += 1;
                (
                    "failed",
                    format!("gave up after {attempt} attempts: {why}"),
                    None,
                )
            }
            Outcome::Deferred(why) => {
                summary.deferred += 1;
                let wait = backoff(s.retry_base, s.retry_max, attempt);
                ("deferred", why, Some(clock::now_us() + wait * 1_000_000))
            }
        };
        Ack {
            ticket: job.letter.ticket,
            status: status.to_string(),
            reason,
            attempt,
            next_try_us,
            message_id: Some(job.letter.message_id.clone()),
            to: Some(job.key.clone()),
        }
    }

    fn log(&self, ack: &Ack) {
        let line = format!(
            "{} status={} to={} message_id={} attempt={} reply=\"{}\"",
            ticket_name(ack.ticket),
            ack.status,
            cli::escape(ack.to.as_deref().unwrap_or("")),
            ack.message_id.as_deref().unwrap_or(""),
            ack.attempt,
            cli::escape(&ack.reason)
        );
        if ack.status == "failed" {
            cli::warn(&line);
        } else {
            cli::info(&line);
        }
    }
}

/// Seconds to wait after attempt `n` (1, 2, ...): base, 2 base, 4 base
/// ..., at most `max`.
pub fn backoff(base: u64, max: u64, n: u32) -> i64 {
    let factor = 1u64 << n.saturating_sub(1).min(30);
    base.saturating_mul(factor).min(max) as i64
}

fn send_all(
    planner: Planner<'_>,
    transport: &Transport,
    journal: Option<Journal>,
    links: usize,
    summary: &mut Summary,
) -> spool::Result<()> {
    let envelope_from = planner.settings.envelope_from.clone();
    let (tx, rx) = mpsc::channel();
    let presync = transport.unsynced_dir();
    let recorder = std::thread::spawn(move || recorder(journal, rx, presync));
    let shared = Shared {
        planner: RefCell::new(planner),
        first: RefCell::new(None),
        exhausted: Cell::new(false),
        stop: Cell::new(false),
        summary: RefCell::new(std::mem::take(summary)),
        tx,
        link_error: RefCell::new(None),
        fatal: RefCell::new(None),
    };

    // Only open links when there is something to send on them.
    let first = shared.next_job();
    let has_work = first.is_some();
    *shared.first.borrow_mut() = first;
    if has_work {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                spool::Error::io_msg("cannot start the I/O runtime".into(), e)
            })?;
        let env = envelope_from.as_ref();
        let workers = (0..links).map(|_| link_loop(&shared, transport, env));
        runtime.block_on(futures_util::future::join_all(workers));
    }

    let Shared {
        tx,
        summary: done,
        link_error,
        fatal,
        exhausted,
        ..
    } = shared;
    drop(tx);
    *summary = done.into_inner();
    match recorder.join() {
        Ok(recorded) => recorded?,
        // A bug, not a condition to report: let it end the program.
        Err(panic) => std::panic::resume_unwind(panic),
    }
    if let Some((kind, message)) = fatal.into_inner() {
        return Err(spool::Error::new(kind, message));
    }
    if !exhausted.get() {
        if let Some(why) = link_error.into_inner() {
            summary.unreachable =
                Some(format!("cannot connect to {}: {why}", transport.name()));
        }
    }
    Ok(())
}

/// One link's life: open, send until there is nothing left, reopen
/// after a broken connection, give up when it cannot be opened.
async fn link_loop(
    shared: &Shared<'_>,
    transport: &Transport,
    envelope_from: Option<&Address>,
) {
    while !shared.stop.get() {
        let mut link = match transport.open().await {
            Ok(link) => link,
            Err(e) => {
                cli::info(&format!(
                    "cannot connect to {}: {e}",
                    transport.name()
                ));
                shared.link_error.borrow_mut().get_or_insert(e);
                return;
            }
        };
        loop {
            let Some(job) = shared.next_job() else {
                link.close().await;
                return;
            };
            let delivery = match link.send(&job.letter, envelope_from).await {
                Ok(d) => d,
                Err(e) => {
                    // Not sent and not recorded: the next run tries it.
                    let ticket = ticket_name(job.letter.ticket);
                    shared.fail(ErrorKind::Busy, format!("{ticket}: {e}"));
                    return;
                }
            };
            if !shared.record(&job, delivery.outcome).await {
                return;
            }
            if delivery.broken {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let waits: Vec<i64> = (1..=8).map(|n| backoff(60, 3600, n)).collect();
        assert_eq!(waits, vec![60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(60, 3600, 200), 3600);
    }
}
