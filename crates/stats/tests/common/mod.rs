//! Fixture spools for the tests, built through the spool API: records
//! and raw messages with `Spool::write_messages`, events with
//! `Journal::append`. Each event's journal time is fixed through
//! `SUZANNE_NOW`, under one lock, so the fixtures are the same on every
//! run; the program under test runs with its own fixed `SUZANNE_NOW`.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use spool::journal::{Ack, Event, Journal, Parsed};
use spool::record::{Domain, TimeSource};
use spool::{clock, ArrivalKey, Kind, Record, Spool};
use tempfile::TempDir;

/// The time the program under test takes as now.
pub const NOW: &str = "2004-05-11T09:05:00Z";

/// Fixture building sets SUZANNE_NOW for the spool's clock; one at a time.
static CLOCK: Mutex<()> = Mutex::new(());

/// Microseconds of a time given as `HH:MM:SS.ffffff` on the landrush day.
pub fn at(hms: &str) -> i64 {
    clock::parse_rfc3339(&format!("2004-05-11T{hms}Z")).unwrap()
}

/// One message to put in the fixture.
#[derive(Clone, Debug)]
pub struct Msg {
    pub ticket: u64,
    pub arrival: &'static str,
    pub position: u64,
    pub kind: Kind,
    pub registrar: &'static str,
    /// (unicode, ascii)
    pub domains: Vec<(&'static str, &'static str)>,
    pub reason: Vec<&'static str>,
    pub dup_of: Option<u64>,
    pub file: &'static str,
}

impl Msg {
    pub fn request(
        ticket: u64,
        arrival: &'static str,
        position: u64,
        registrar: &'static str,
        domains: &[(&'static str, &'static str)],
    ) -> Msg {
        Msg {
            ticket,
            arrival,
            position,
            kind: Kind::Request,
            registrar,
            domains: domains.to_vec(),
            reason: Vec::new(),
            dup_of: None,
            file: "",
        }
    }

    pub fn raw(&self) -> Vec<u8> {
        format!(
            "From: {}\r\nSubject: request {}\r\n\r\ndomain: {}\r\n",
            self.registrar,
            self.ticket,
            self.domains
                .iter()
                .map(|d| d.0)
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into_bytes()
    }

    pub fn record(&self, batch: &str, rotation: u64) -> Record {
        let raw = self.raw();
        let arrival_us = at(self.arrival);
        Record {
            ticket: self.ticket,
            batch: batch.to_string(),
            file: self.file.to_string(),
            offset: self.position,
            size: raw.len() as u64,
            sha256: hex::encode(Sha256::digest(&raw)),
            arrival: clock::rfc3339_us(arrival_us),
            key: ArrivalKey {
                arrival_us,
                rotation,
                position: self.position,
            },
            time_source: TimeSource::Received,
            received: None,
            envelope_sender: Some(format!("bounce-{}", self.registrar)),
            from: self.registrar.to_string(),
            reply_to: None,
            message_id: Some(format!("<m{}@example>", self.ticket)),
            subject: format!("request {}", self.ticket),
            date: None,
            domains: self
                .domains
                .iter()
                .map(|(u, a)| Domain {
                    unicode: u.to_string(),
                    ascii: a.to_string(),
                })
                .collect(),
            form: Vec::new(),
            body: String::new(),
            language: None,
            kind: self.kind,
            dup_of: self.dup_of,
            reason: self.reason.iter().map(|r| r.to_string()).collect(),
            list: false,
            auto_submitted: None,
            incomplete: false,
            fingerprint: "f".repeat(64),
        }
    }
}

/// The `parsed` event of a record.
pub fn parsed(r: &Record, registrar: &str) -> Event {
    Event::Parsed(Parsed::of(r, registrar.to_string()))
}

pub fn ack(ticket: u64, status: &str, reason: &str) -> Event {
    Event::Ack(Ack {
        ticket,
        status: status.to_string(),
        reason: reason.to_string(),
        attempt: 1,
        next_try_us: None,
        message_id: None,
        to: None,
    })
}

pub fn lease(ticket: u64, token: &str, expires: &str) -> Event {
    Event::Lease {
        ticket,
        token: token.to_string(),
        expires_us: at(expires),
        client: "registry".to_string(),
    }
}

pub fn complete(ticket: u64, token: &str, outcome: &str) -> Event {
    Event::Complete {
        ticket,
        token: token.to_string(),
        outcome: outcome.to_string(),
        comment: None,
    }
}

/// A spool in a temporary directory.
pub struct Fixture {
    pub dir: TempDir,
    pub spool: Spool,
    journal: Journal,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("spool")).unwrap();
        let journal = spool.journal().unwrap();
        Fixture {
            dir,
            spool,
            journal,
        }
    }

    pub fn root(&self) -> &Path {
        self.spool.root()
    }

    /// Append events, the journal's clock reading `hms`.
    pub fn events(&mut self, hms: &str, events: Vec<Event>) {
        let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("SUZANNE_NOW", format!("2004-05-11T{hms}Z"));
        self.journal.append(&events).unwrap();
        std::env::remove_var("SUZANNE_NOW");
    }

    /// A whole batch, parsed at `hms` and archived: rotated, batch,
    /// records and raw messages, parsed events, archived, and the
    /// mailbox in archive/.
    pub fn batch(
        &mut self,
        rotation: u64,
        maildir: bool,
        hms: &str,
        msgs: &[Msg],
    ) {
        self.batch_with(rotation, maildir, hms, msgs, msgs.len() as u64, true)
    }

    /// A batch with a chosen count on its `batch` event, archived or not.
    pub fn batch_with(
        &mut self,
        rotation: u64,
        maildir: bool,
        hms: &str,
        msgs: &[Msg],
        count: u64,
        archived: bool,
    ) {
        let ext = if maildir { "maildir" } else { "mbox" };
        let name = format!("{rotation:012}.{ext}");
        let records: Vec<Record> =
            msgs.iter().map(|m| m.record(&name, rotation)).collect();
        let items: Vec<(Record, Vec<u8>)> = records
            .iter()
            .zip(msgs)
            .map(|(r, m)| (r.clone(), m.raw()))
            .collect();
        self.spool.write_messages(&items, false).unwrap();
        let first = msgs.first().map_or(1, |m| m.ticket);
        let mut events = vec![
            Event::Rotated {
                batch: name.clone(),
                source: "/var/mail/registry".into(),
                bytes: 0,
                files: 0,
            },
            Event::Batch {
                batch: name.clone(),
                first,
                count,
                rotated_us: at(hms),
            },
        ];
        for (r, m) in records.iter().zip(msgs) {
            events.push(parsed(r, m.registrar));
        }
        let place = if archived { "archive" } else { "incoming" };
        let path = self.root().join(place).join(&name);
        if maildir {
            fs::create_dir_all(&path).unwrap();
        } else {
            fs::write(&path, b"").unwrap();
        }
        if archived {
            events.push(Event::Archived {
                batch: name.clone(),
                count,
            });
        }
        self.events(hms, events);
    }

    /// Run suzanne-stats on this spool.
    pub fn run(&self, args: &[&str]) -> Output {
        stats(self.root(), args)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }
}

/// Run the program on `spool` with the fixed clock.
pub fn stats(spool: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_suzanne-stats"))
        .args(args)
        .arg("--spool")
        .arg(spool)
        .args(["--config", "/dev/null"])
        .env("SUZANNE_NOW", NOW)
        .env_remove("SUZANNE_CONFIG")
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The standard landrush fixture: two batches, six messages, three of
/// them asking for exemple.fr; acks, leases, completions.
///
/// Arrival order: 1 (.1), 4 (.2), 2 (.3, rotation 1), 5 (.3, rotation
/// 2), 3 (01.2), 6 (01:05).
pub fn landrush() -> Fixture {
    let mut f = Fixture::new();
    let cafe = ("café.fr", "xn--caf-dma.fr");
    let exemple = ("exemple.fr", "exemple.fr");
    let mut auto = Msg::request(3, "09:00:01.200000", 1800, "a@reg-a.fr", &[]);
    auto.kind = Kind::Auto;
    auto.reason = vec!["auto-reply (Auto-Submitted: auto-replied)"];
    f.batch(
        1,
        false,
        "09:00:03.000000",
        &[
            Msg::request(
                1,
                "09:00:00.100000",
                0,
                "a@reg-a.fr",
                &[cafe, exemple],
            ),
            Msg::request(2, "09:00:00.300000", 900, "b@reg-b.fr", &[exemple]),
            auto,
        ],
    );
    let mut first =
        Msg::request(4, "09:00:00.200000", 0, "c@reg-c.fr", &[exemple]);
    first.file = "000000-1084266000.M1P1.mx";
    let mut dup =
        Msg::request(5, "09:00:00.300000", 1, "b@reg-b.fr", &[exemple]);
    dup.kind = Kind::Duplicate;
    dup.dup_of = Some(2);
    dup.reason = vec!["duplicate of ticket 2"];
    dup.file = "000001-1084266000.M2P1.mx";
    let mut bad = Msg::request(6, "09:01:05.000000", 2, "d@reg-d.fr", &[]);
    bad.kind = Kind::Malformed;
    bad.reason = vec!["no domain", "no form"];
    bad.file = "000002-1084266065.M3P1.mx";
    f.batch(2, true, "09:01:11.000000", &[first, dup, bad]);
    f.events("09:01:20.000000", vec![ack(1, "sent", "")]);
    f.events("09:01:21.000000", vec![ack(2, "sent", "")]);
    f.events(
        "09:01:22.000000",
        vec![
            ack(4, "sent", ""),
            ack(3, "skipped", "auto-reply"),
            ack(5, "skipped", "duplicate"),
            ack(6, "skipped", "malformed"),
        ],
    );
    f.events("09:02:00.000000", vec![lease(1, "tok1", "09:07:00.000000")]);
    f.events("09:02:30.000000", vec![complete(1, "tok1", "accepted")]);
    f.events("09:02:31.000000", vec![lease(4, "tok4", "09:07:31.000000")]);
    f.events("09:02:40.000000", vec![complete(4, "tok4", "rejected")]);
    f.events("09:02:41.000000", vec![lease(2, "tok2", "09:12:41.000000")]);
    f
}

/// CSV text as rows of fields (header included).
pub fn rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// One column of CSV rows (header excluded), by name.
pub fn column(text: &str, name: &str) -> Vec<String> {
    let all = rows(text);
    let i = all[0].iter().position(|h| h == name).unwrap();
    all[1..].iter().map(|r| r[i].clone()).collect()
}
