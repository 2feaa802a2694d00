//! Test support: a spool written through the spool crate, the real
//! daemon started on it, and the real clients.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use spool::journal::{Event, Parsed};
use spool::record::{Domain, TimeSource};
use spool::{ArrivalKey, Kind, Record, Spool};

/// Names requests ask for: accents, IDN, several contested.
const NAMES: &[&str] =
    &["café.fr", "élève.fr", "exemple.fr", "thé.fr", "garçon.fr"];

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub spool: Spool,
    /// Request-kind tickets, and every record by ticket.
    pub requests: Vec<u64>,
    pub records: BTreeMap<u64, Record>,
}

impl Fixture {
    pub fn root(&self) -> &Path {
        self.spool.root()
    }
}

fn domain(i: usize) -> Domain {
    if i < NAMES.len() {
        Domain {
            unicode: NAMES[i].into(),
            ascii: idna::domain_to_ascii(NAMES[i]).unwrap(),
        }
    } else {
        let name = format!("d{i}.fr");
        Domain {
            unicode: name.clone(),
            ascii: name,
        }
    }
}

/// A spool of `n` messages: mostly requests, some duplicates, auto
/// replies and malformed ones; arrival order is not ticket order; some
/// names are asked for by several requests.
pub fn spool_with(n: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let mut items = Vec::new();
    let mut events = Vec::new();
    let mut requests = Vec::new();
    let mut records = BTreeMap::new();
    for t in 1..=n {
        let kind = match t % 23 {
            7 => Kind::Duplicate,
            11 => Kind::Auto,
            19 => Kind::Malformed,
            _ => Kind::Request,
        };
        // Every third request names a contested name; some name two.
        let mut domains = vec![domain(100 + t as usize)];
        if t % 3 == 0 {
            domains.insert(0, domain((t as usize / 3) % NAMES.len()));
        }
        let extra = domain((t as usize / 10 + 1) % NAMES.len());
        if t % 10 == 0 && !domains.contains(&extra) {
            domains.push(extra);
        }
        let subject = format!("Demande n°{t} : café & thé <b> ]]>");
        let body = format!(
            "domain: {}\r\nnom: Stéphane Élève\r\nligne \u{1} étrange\r\n\
             <&> ]]> €\r\n",
            domains[0].unicode
        );
        let raw = format!(
            "From: Registrar {t} <reg{t}@example.fr>\r\nSubject: x\r\n\r\n{body}"
        )
        .into_bytes();
        let sha = hex::encode(Sha256::digest(&raw));
        // Arrival: ticket order reversed within groups of five.
        let arrival_us =
            1_084_266_000_000_000 + ((t / 5) * 5 + 4 - t % 5) as i64;
        let key = ArrivalKey {
            arrival_us,
            rotation: 1,
            position: t,
        };
        let record = Record {
            ticket: t,
            batch: "000000000001.mbox".into(),
            file: String::new(),
            offset: t * 1000,
            size: raw.len() as u64,
            sha256: sha.clone(),
            arrival: spool::clock::rfc3339_us(arrival_us),
            key,
            time_source: TimeSource::Received,
            received: None,
            envelope_sender: Some(format!("reg{t}@example.fr")),
            from: format!("Registrar {t} <reg{t}@example.fr>"),
            reply_to: None,
            message_id: Some(format!("<{t}@example.fr>")),
            subject,
            date: None,
            domains: domains.clone(),
            form: vec![
                ("domain".into(), domains[0].unicode.clone()),
                ("nom".into(), "Stéphane Élève".into()),
            ],
            body,
            language: Some("fr".into()),
            kind,
            dup_of: (kind == Kind::Duplicate).then_some(1),
            reason: Vec::new(),
            list: false,
            auto_submitted: None,
            incomplete: false,
            fingerprint: sha.clone(),
        };
        events.push(Event::Parsed(Parsed {
            ticket: t,
            batch: record.batch.clone(),
            offset: record.offset,
            arrival_us,
            rotation: 1,
            position: t,
            kind,
            dup_of: record.dup_of,
            domains: domains.iter().map(|d| d.ascii.clone()).collect(),
            sha256: sha,
            message_id: record.message_id.clone(),
            fingerprint: record.fingerprint.clone(),
            registrar: format!("reg{t}@example.fr"),
        }));
        if kind == Kind::Request {
            requests.push(t);
        }
        records.insert(t, record.clone());
        items.push((record, raw));
    }
    spool.write_messages(&items, false).unwrap();
    spool.journal().unwrap().append(&events).unwrap();
    Fixture {
        dir,
        spool,
        requests,
        records,
    }
}

/// The daemon under test.
pub struct Daemon {
    pub child: Child,
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_suzanne-soapd"))
}

impl Daemon {
    pub fn start(spool: &Path, args: &[&str]) -> Daemon {
        Daemon::start_with(spool, args, "")
    }

    /// Starts it with `[soap]` settings, on a free port.
    pub fn start_with(spool: &Path, args: &[&str], soap: &str) -> Daemon {
        let config = spool.parent().unwrap().join("suzanne.toml");
        std::fs::write(&config, format!("[soap]\nport = 0\n{soap}")).unwrap();
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(&config)
            .arg("--spool")
            .arg(spool)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ =
                        tx.send(rest.split(' ').next().unwrap().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr =
            rx.recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| {
                    panic!("no start line: {:?}", log.lock().unwrap())
                });
        Daemon { child, addr, log }
    }

    pub fn url(&self) -> String {
        format!("http://{}/soap", self.addr)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Resident memory in kB.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.child.id()
        ))
        .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends raw bytes, returns what came back before the server closed,
/// or what came within `wait`.
pub fn raw_exchange(addr: &str, bytes: &[u8], wait: Duration) -> String {
    String::from_utf8_lossy(&raw_bytes(addr, bytes, wait)).into_owned()
}

pub fn raw_bytes(addr: &str, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A SOAP POST with a body, as SOAP::Lite frames it.
pub fn post(addr: &str, body: &str, extra: &str) -> String {
    let req = format!(
        "POST /soap HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; \
         charset=utf-8\r\nSOAPAction: \"urn:Suzanne#X\"\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    dechunk(&raw_bytes(addr, req.as_bytes(), Duration::from_secs(20)))
}

/// A response with a chunked body, given back with a plain one.
pub fn dechunk(resp: &[u8]) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Some(split) = resp.windows(4).position(|w| w == b"\r\n\r\n") else {
        return text(resp);
    };
    let head = text(&resp[..split]);
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return text(resp);
    }
    let mut rest = &resp[split + 4..];
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(text(&rest[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < eol + 2 + n {
            break;
        }
        body.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
        rest = &rest[(eol + 4 + n).min(rest.len())..];
    }
    format!("{head}\r\n\r\n{}", text(&body))
}

pub fn status_line(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

/// The zeep-style QueueStatus call, for "is it still serving".
pub fn queue_status(addr: &str) -> String {
    post(
        addr,
        "<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope \
         xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap-env:Body><ns0:QueueStatus xmlns:ns0=\"urn:Suzanne\"/>\
         </soap-env:Body></soap-env:Envelope>",
        "",
    )
}

/// Whether a real client is there; `None` means go on, `Some(why)`
/// means skip (or fail under SUZANNE_REQUIRE_REALPARTS=1).
pub fn need(cmd: &str, args: &[&str], what: &str) -> bool {
    let ok = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    if std::env::var("SUZANNE_REQUIRE_REALPARTS").as_deref() == Ok("1") {
        panic!("{what} is required (SUZANNE_REQUIRE_REALPARTS=1) but missing");
    }
    println!("skipped: {what} is not installed");
    false
}

pub fn have_soap_lite() -> bool {
    need(
        "perl",
        &["-MSOAP::Lite", "-MJSON::PP", "-e", "1"],
        "SOAP::Lite (libsoap-lite-perl)",
    )
}

pub fn have_python(module: &str) -> bool {
    need(
        "python3",
        &["-c", &format!("import {module}")],
        &format!("python3 {module}"),
    )
}

pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs a client script; its stdout lines (JSON) are returned.
pub fn run_client(cmd: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let start = Instant::now();
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed after {:?}: {}",
        start.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What the journal says was completed, ticket by ticket, in order.
pub fn completions(spool: &Spool) -> Vec<u64> {
    spool
        .journal_reader()
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            Event::Complete { ticket, .. } => Some(ticket),
            _ => None,
        })
        .collect()
}

/// Body text as the service sends it: characters XML cannot carry
/// become U+FFFD.
pub fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Checks what a client printed against the spool: every request
/// exactly once, every field as recorded, each name's requests in
/// arrival order; and the journal completed each exactly once.
pub fn check_drained(fx: &Fixture, got: &[serde_json::Value]) {
    let mut seen = BTreeMap::new();
    for r in got {
        let id = r["id"]
            .as_u64()
            .unwrap_or_else(|| r["id"].as_str().unwrap().parse().unwrap());
        assert!(
            seen.insert(id, r.clone()).is_none(),
            "{id} handed out twice"
        );
        let rec = &fx.records[&id];
        assert_eq!(rec.kind, Kind::Request, "{id} is not a request");
        assert_eq!(r["subject"], rec.subject.as_str(), "{id} subject");
        assert_eq!(r["from"], rec.from.as_str(), "{id} from");
        assert_eq!(r["body"], xml_safe(&rec.body).as_str(), "{id} body");
        assert_eq!(r["raw_sha256"], rec.sha256.as_str(), "{id} raw");
        assert_eq!(r["sha256"], rec.sha256.as_str(), "{id} sha256");
        let uni: Vec<&str> =
            rec.domains.iter().map(|d| d.unicode.as_str()).collect();
        let asc: Vec<&str> =
            rec.domains.iter().map(|d| d.ascii.as_str()).collect();
        assert_eq!(r["domains"], serde_json::json!(uni), "{id} domains");
        assert_eq!(r["domainsAscii"], serde_json::json!(asc), "{id} ascii");
        assert_eq!(r["form"][1][1], "Stéphane Élève", "{id} form");
    }
    let ids: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(ids, fx.requests, "not every request was handed out");

    let done = completions(&fx.spool);
    let mut sorted = done.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), done.len(), "a request was completed twice");
    assert_eq!(sorted, fx.requests, "not every request was completed");
    check_name_order(fx, &done);
}

/// For every name, its requests were completed in arrival order.
pub fn check_name_order(fx: &Fixture, done: &[u64]) {
    let mut last: BTreeMap<&str, ArrivalKey> = BTreeMap::new();
    for t in done {
        let rec = &fx.records[t];
        for d in &rec.domains {
            if let Some(prev) = last.insert(&d.ascii, rec.key) {
                assert!(
                    prev < rec.key,
                    "{t} overtook an earlier claimant of {}",
                    d.ascii
                );
            }
        }
    }
}

/// A document/literal call as zeep sends it; returns the raw HTTP
/// response.
pub fn literal_call(addr: &str, op: &str, params: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (k, v) in params {
        body.push_str(&format!("<ns0:{k}>{v}</ns0:{k}>"));
    }
    post(
        addr,
        &format!(
            "<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope \
             xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soap-env:Body><ns0:{op} xmlns:ns0=\"urn:Suzanne\">{body}\
             </ns0:{op}></soap-env:Body></soap-env:Envelope>"
        ),
        "",
    )
}

/// A leased request as the tests need it.
#[derive(Clone, Debug)]
pub struct Leased {
    pub id: u64,
    pub token: String,
    pub names: Vec<String>,
}

/// The text of every element named `name` in a response body.
pub fn texts(resp: &str, name: &str) -> Vec<String> {
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(resp);
    let mut out = Vec::new();
    let mut depth_in: Option<usize> = None;
    let mut depth = 0;
    let mut text = String::new();
    for ev in xml::reader::EventReader::new(body.as_bytes()) {
        match ev.unwrap() {
            xml::reader::XmlEvent::StartElement { name: n, .. } => {
                depth += 1;
                if n.local_name == name && depth_in.is_none() {
                    depth_in = Some(depth);
                    text.clear();
                }
            }
            xml::reader::XmlEvent::Characters(s) if depth_in.is_some() => {
                text.push_str(&s)
            }
            xml::reader::XmlEvent::EndElement { .. } => {
                if depth_in == Some(depth) {
                    out.push(text.clone());
                    depth_in = None;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    out
}

/// GetRequests through the literal style.
pub fn lease(addr: &str, max: u32, secs: u32) -> Vec<Leased> {
    let resp = literal_call(
        addr,
        "GetRequests",
        &[
            ("max", &max.to_string()),
            ("leaseSeconds", &secs.to_string()),
        ],
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    leased_in(&resp)
}

pub fn leased_in(resp: &str) -> Vec<Leased> {
    use xml::reader::XmlEvent as X;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or(resp);
    let mut out = Vec::new();
    let mut cur: Option<Leased> = None;
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    for ev in xml::reader::EventReader::new(body.as_bytes()) {
        match ev.unwrap() {
            X::StartElement { name, .. } => {
                if name.local_name == "request" {
                    cur = Some(Leased {
                        id: 0,
                        token: String::new(),
                        names: Vec::new(),
                    });
                }
                path.push(name.local_name);
                text.clear();
            }
            X::Characters(s) => text.push_str(&s),
            X::EndElement { .. } => {
                let name = path.pop().unwrap();
                let parent = path.last().map(String::as_str);
                if name == "request" {
                    out.extend(cur.take());
                } else if let Some(c) = cur.as_mut() {
                    match (name.as_str(), parent) {
                        ("id", Some("request")) => {
                            c.id = text.parse().unwrap()
                        }
                        ("leaseToken", Some("request")) => {
                            c.token = text.clone()
                        }
                        ("domain", Some("domainsAscii")) => {
                            c.names.push(text.clone())
                        }
                        _ => {}
                    }
                }
                text.clear();
            }
            _ => {}
        }
    }
    out
}

pub fn complete(addr: &str, l: &Leased) -> String {
    literal_call(
        addr,
        "CompleteRequest",
        &[
            ("id", &l.id.to_string()),
            ("leaseToken", &l.token),
            ("outcome", "accepted"),
        ],
    )
}

/// Replays the journal and checks, at every lease line, that no other
/// request holding one of its names had a live lease (by the line's own
/// time), and that each ticket was completed at most once.
pub fn check_journal_leases(spool: &Spool) {
    use std::collections::{HashMap, HashSet};
    let mut names: HashMap<u64, Vec<String>> = HashMap::new();
    let mut live: HashMap<u64, i64> = HashMap::new();
    let mut done: HashSet<u64> = HashSet::new();
    for e in spool.journal_reader().unwrap() {
        let e = e.unwrap();
        match e.event {
            Event::Parsed(p) => {
                names.insert(p.ticket, p.domains.clone());
            }
            Event::Lease {
                ticket, expires_us, ..
            } => {
                for (o, exp) in &live {
                    let shared =
                        names[o].iter().any(|n| names[&ticket].contains(n));
                    assert!(
                        *o == ticket || !shared || *exp <= e.t_us,
                        "{ticket} leased while {o} held a name (seq {})",
                        e.seq
                    );
                }
                assert!(
                    !done.contains(&ticket),
                    "{ticket} leased after completion"
                );
                live.insert(ticket, expires_us);
            }
            Event::Extend {
                ticket, expires_us, ..
            } => {
                live.insert(ticket, expires_us);
            }
            Event::Release { ticket, .. } => {
                live.remove(&ticket);
            }
            Event::Hold { ticket, .. } => {
                live.insert(ticket, i64::MAX);
            }
            Event::Unhold { ticket, .. } => {
                live.remove(&ticket);
            }
            Event::Complete { ticket, .. } => {
                assert!(done.insert(ticket), "{ticket} completed twice");
                live.remove(&ticket);
            }
            _ => {}
        }
    }
}

/// A kept-alive HTTP/1.1 connection speaking the literal style, for
/// measurements.
pub struct Conn {
    input: BufReader<TcpStream>,
    output: TcpStream,
    addr: String,
}

impl Conn {
    pub fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn {
            input: BufReader::new(s.try_clone().unwrap()),
            output: s,
            addr: addr.to_owned(),
        }
    }

    pub fn call(&mut self, op: &str, params: &[(&str, &str)]) -> String {
        let mut inner = String::new();
        for (k, v) in params {
            inner.push_str(&format!("<ns0:{k}>{v}</ns0:{k}>"));
        }
        let body = format!(
            "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soap-env:Body><ns0:{op} xmlns:ns0=\"urn:Suzanne\">{inner}</ns0:{op}>\
             </soap-env:Body></soap-env:Envelope>"
        );
        let req = format!(
            "POST /soap HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.output.write_all(req.as_bytes()).unwrap();
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            self.input.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push(line);
        }
        let header = |name: &str| {
            head.iter()
                .find(|l| l.to_ascii_lowercase().starts_with(name))
                .map(|l| l.split_once(':').unwrap().1.trim().to_owned())
        };
        let mut body = Vec::new();
        if let Some(n) = header("content-length") {
            body.resize(n.parse().unwrap(), 0);
            self.input.read_exact(&mut body).unwrap();
        } else {
            loop {
                let mut size = String::new();
                self.input.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let start = body.len();
                body.resize(start + n, 0);
                self.input.read_exact(&mut body[start..]).unwrap();
                let mut crlf = String::new();
                self.input.read_line(&mut crlf).unwrap();
                if n == 0 {
                    break;
                }
            }
        }
        format!("{}\r\n{}", head.concat(), String::from_utf8(body).unwrap())
    }
}
