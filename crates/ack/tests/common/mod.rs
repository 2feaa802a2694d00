//! Fixtures for suzanne-ack's tests: spools built through the spool API,
//! the real binary, and a real SMTP server (Postfix's smtp-sink, started
//! through scripts/sink-up) on 127.0.0.1.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spool::journal::{Ack, Event, Parsed};
use spool::record::{Domain, TimeSource};
use spool::{ArrivalKey, Kind, Record, Spool};
use tempfile::TempDir;

/// The frozen clock and host name every test run uses.
pub const NOW: &str = "2004-05-11T09:05:00Z";
pub const HOST: &str = "ack.nic.example";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn templates() -> PathBuf {
    root().join("templates")
}

/// A request record with plain values; tests change what they need.
pub fn record(ticket: u64) -> Record {
    Record {
        ticket,
        batch: "000000000001.mbox".into(),
        file: String::new(),
        offset: ticket * 1000,
        size: 512,
        sha256: format!("{:064x}", ticket),
        arrival: format!("2004-05-11T09:00:{:02}.{:06}Z", ticket % 60, ticket),
        key: ArrivalKey {
            arrival_us: 1_084_266_000_000_000 + ticket as i64,
            rotation: 1,
            position: ticket * 1000,
        },
        time_source: TimeSource::Received,
        received: None,
        envelope_sender: Some(format!("reg{ticket}@bureau.example")),
        from: format!("Bureau {ticket} <reg{ticket}@bureau.example>"),
        reply_to: None,
        message_id: Some(format!("<req{ticket}@bureau.example>")),
        subject: format!("Demande {ticket}"),
        date: None,
        domains: vec![Domain {
            unicode: format!("nom{ticket}.fr"),
            ascii: format!("nom{ticket}.fr"),
        }],
        form: vec![],
        body: String::new(),
        language: None,
        kind: Kind::Request,
        dup_of: None,
        reason: vec![],
        list: false,
        auto_submitted: None,
        incomplete: false,
        fingerprint: String::new(),
    }
}

/// A plausible raw message for a record, with extra header lines.
pub fn raw_for(r: &Record, extra: &str) -> Vec<u8> {
    let mut text = match &r.envelope_sender {
        Some(sender) => format!("Return-Path: <{sender}>\n{extra}"),
        None => extra.to_string(),
    };
    text.push_str(&format!("From: {}\n", r.from));
    if let Some(rt) = &r.reply_to {
        text.push_str(&format!("Reply-To: {rt}\n"));
    }
    if let Some(id) = &r.message_id {
        text.push_str(&format!("Message-ID: {id}\n"));
    }
    text.push_str("Subject: request\n\ndomain: x.fr\n");
    text.into_bytes()
}

/// A spool in a temporary directory, with its configuration file.
pub struct Fixture {
    pub dir: TempDir,
    pub spool: Spool,
    batches: u64,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("suzanne-ack-")
            .tempdir()
            .unwrap();
        let spool = Spool::open(&dir.path().join("spool")).unwrap();
        Fixture {
            dir,
            spool,
            batches: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write records (raw messages synthesised) as one batch, with the
    /// batch and parsed events parse would write.
    pub fn add(&mut self, records: Vec<Record>) {
        let items = records
            .into_iter()
            .map(|r| {
                let raw = raw_for(&r, "");
                (r, raw)
            })
            .collect();
        self.add_raw(items);
    }

    pub fn add_raw(&mut self, items: Vec<(Record, Vec<u8>)>) {
        self.batches += 1;
        let batch = format!("{:012}.mbox", self.batches);
        self.spool.write_messages(&items, false).unwrap();
        let mut events = vec![Event::Batch {
            batch: batch.clone(),
            first: items[0].0.ticket,
            count: items.len() as u64,
            rotated_us: items[0].0.key.arrival_us,
        }];
        for (r, _) in &items {
            events.push(Event::Parsed(Parsed {
                ticket: r.ticket,
                batch: batch.clone(),
                offset: r.offset,
                arrival_us: r.key.arrival_us,
                rotation: r.key.rotation,
                position: r.key.position,
                kind: r.kind,
                dup_of: r.dup_of,
                domains: r.ascii_domains(),
                sha256: r.sha256.clone(),
                message_id: r.message_id.clone(),
                fingerprint: r.fingerprint.clone(),
                registrar: r.from.clone(),
            }));
        }
        let mut journal = self.spool.journal().unwrap();
        for chunk in events.chunks(1000) {
            journal.append(chunk).unwrap();
        }
    }

    /// Write the configuration: the spool, then `[ack]` with `ack`
    /// (the repository's templates unless `ack` names others).
    pub fn config(&self, ack: &str) -> PathBuf {
        let path = self.path().join("suzanne.toml");
        let mut text = format!(
            "spool = '{}'\n[ack]\nfrom = 'Registre <accuse@nic.example>'\n\
             {ack}\n",
            self.spool.root().display(),
        );
        if !ack.contains("templates =") {
            let dir = templates();
            text.push_str(&format!("templates = '{}'\n", dir.display()));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Run suzanne-ack with the frozen clock.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_suzanne-ack"));
        cmd.arg("--config")
            .arg(self.path().join("suzanne.toml"))
            .args(args)
            .env("SUZANNE_NOW", NOW)
            .env("SUZANNE_HOSTNAME", HOST)
            .env_remove("SUZANNE_CONFIG")
            .env_remove("SUZANNE_TEMPLATES");
        cmd
    }

    /// The ack events in the journal, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.spool
            .journal_reader()
            .unwrap()
            .filter_map(|e| match e.unwrap().event {
                Event::Ack(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    /// The last ack event of each ticket.
    pub fn last_acks(&self) -> BTreeMap<u64, Ack> {
        self.acks().into_iter().map(|a| (a.ticket, a)).collect()
    }
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// When a real part is missing: fail if the run demands real parts,
/// else say why the test is skipped. Returns false to make the caller
/// return.
pub fn missing(why: &str) -> bool {
    if std::env::var("SUZANNE_REQUIRE_REALPARTS").as_deref() == Ok("1") {
        panic!("real parts required: {why}");
    }
    eprintln!("skipped: {why}");
    false
}

/// Postfix's smtp-sink on 127.0.0.1, capturing each message in a file.
pub struct Sink {
    pub dir: TempDir,
    pub port: u16,
}

/// One captured message.
#[derive(Clone, Debug)]
pub struct Captured {
    pub mail_from: String,
    pub rcpt: Vec<String>,
    /// The message as received (CRLF ends turned to LF).
    pub message: String,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.message.split("\n\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push_str(line);
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_string());
                }
            }
        }
        value
    }

    pub fn header_names(&self) -> Vec<String> {
        let head = self.message.split("\n\n").next().unwrap_or("");
        head.lines()
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .collect()
    }

    pub fn body(&self) -> &str {
        self.message.split_once("\n\n").map_or("", |(_, b)| b)
    }
}

impl Sink {
    /// Start a sink with extra smtp-sink options (fault injection), or
    /// explain why it cannot be started.
    pub fn start(extra: &str) -> Result<Sink, String> {
        if !Path::new("/usr/sbin/smtp-sink").exists() {
            return Err(
                "no /usr/sbin/smtp-sink (apt-get install postfix)".into()
            );
        }
        if real_uid() != 0 {
            return Err("smtp-sink via scripts/sink-up needs root".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("suzanne-sink-")
            .tempdir()
            .unwrap();
        set_mode(dir.path(), 0o755);
        for _ in 0..5 {
            let port = free_port()?;
            match sink_up(dir.path(), port, extra) {
                Ok(()) => return Ok(Sink { dir, port }),
                Err(75) => continue,
                Err(code) => return Err(format!("sink-up exited {code}")),
            }
        }
        Err("no free port for smtp-sink".into())
    }

    /// Restart on the same port with other options.
    pub fn restart(&self, extra: &str) {
        self.stop();
        assert_eq!(sink_up(self.dir.path(), self.port, extra), Ok(()));
    }

    pub fn stop(&self) {
        let status = Command::new(root().join("scripts/sink-down"))
            .arg(self.dir.path().join("sink"))
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn messages(&self) -> Vec<Captured> {
        let dir = self.dir.path().join("sink/msgs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().filter_map(|f| parse_capture(f)).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/sink-down"))
            .arg(self.dir.path().join("sink"))
            .status();
    }
}

fn sink_up(dir: &Path, port: u16, extra: &str) -> Result<(), i32> {
    let out = Command::new(root().join("scripts/sink-up"))
        .arg(dir.join("sink"))
        .arg(port.to_string())
        .env("SUZ_SINK_ARGS", extra)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(c) => {
            eprintln!("sink-up: {}", String::from_utf8_lossy(&out.stderr));
            Err(c)
        }
        None => Err(-1),
    }
}

fn free_port() -> Result<u16, String> {
    let out = Command::new(root().join("scripts/free-port"))
        .output()
        .map_err(|e| format!("run scripts/free-port: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "scripts/free-port printed no port".to_string())
}

/// smtp-sink's dump: X-Mail-Args, X-Rcpt-Args and friends, then the
/// message. Files still being written (no end yet) are read as they are.
fn parse_capture(path: &Path) -> Option<Captured> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    let mut mail_from = String::new();
    let mut rcpt = Vec::new();
    let mut rest = text.as_str();
    while let Some((line, tail)) = rest.split_once('\n') {
        if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
            mail_from = v.to_string();
        } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
            rcpt.push(v.to_string());
        } else if !line.starts_with("X-Client-")
            && !line.starts_with("X-Helo-")
        {
            break;
        }
        rest = tail;
    }
    Some(Captured {
        mail_from,
        rcpt,
        message: rest.to_string(),
    })
}

fn real_uid() -> u32 {
    // The real uid, read without libc: /proc/self/status "Uid:" line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap();
}
