//! Sending a landrush to an SMTP server on this machine, over several
//! connections at a target rate, recording when each message was
//! accepted.
//!
//! A plain blocking client: one thread a connection. TCP_NODELAY is set
//! on every connection; without it the end-of-data dot waits for the
//! server's delayed ACK (about 40 ms a message on Linux).
//!
//! Safety: only 127.0.0.1 is ever connected to, and every loop is
//! bounded: three attempts a message, three failed connections in a row
//! end a connection's thread, and every read and write times out.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use spool::{Error, ErrorKind, Result};

/// How to send.
#[derive(Clone, Debug)]
pub struct SmtpOptions {
    /// Always 127.0.0.1 (see [`local_server`]).
    pub server: SocketAddr,
    pub rcpt: String,
    pub connections: usize,
    /// Messages a second over all connections; 0: as fast as possible.
    pub rate: f64,
    /// The name given in EHLO.
    pub helo: String,
}

/// One message to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub index: u64,
    /// The envelope sender; empty for the null sender.
    pub sender: String,
    /// The message, any line ends.
    pub data: Vec<u8>,
}

/// One line of the log: a message accepted, or given up on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub index: u64,
    /// RFC 3339 UTC with microseconds, when the 250 after the data came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
    /// From the 250 reply (`queued as ID`), if the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    pub connection: usize,
    /// The last reply or error, for a message not accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// What happened to a whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Accepted messages, in the order their acceptance was seen.
    pub accepted: Vec<(u64, i64)>,
    /// Messages refused for good (5xx), with the reply.
    pub refused: Vec<(u64, String)>,
    /// Messages not accepted for a reason that may pass (4xx, network).
    pub deferred: Vec<(u64, String)>,
    pub elapsed: Duration,
}

/// Parse `HOST:PORT`, refusing anything but 127.0.0.1 (or `localhost`):
/// load goes only to servers on this machine.
pub fn local_server(text: &str) -> std::result::Result<SocketAddr, String> {
    let addr = match text.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => match text.strip_prefix("localhost:") {
            Some(port) => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("bad port in '{text}'"))?;
                SocketAddr::from((Ipv4Addr::LOCALHOST, port))
            }
            None => return Err(format!("'{text}' is not 127.0.0.1:PORT")),
        },
    };
    if addr.ip() != Ipv4Addr::LOCALHOST || addr.port() == 0 {
        return Err(format!("refusing '{text}': only 127.0.0.1 is sent to"));
    }
    Ok(addr)
}

const ATTEMPTS: u32 = 3;
const IO_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Send every message; write a log line for each outcome to `log`.
/// Err (exit 75) when the server cannot be reached at all.
pub fn send(
    opts: &SmtpOptions,
    messages: &[Outgoing],
    log: Option<&Path>,
) -> Result<Report> {
    let first = Session::open(opts).map_err(|e| {
        Error::new(
            ErrorKind::Busy,
            format!("cannot connect to '{}': {e}", opts.server),
        )
    })?;
    let mut log = match log {
        Some(p) => Some((
            BufWriter::new(
                File::create(p).map_err(|e| Error::io("create", p, e))?,
            ),
            p,
        )),
        None => None,
    };
    let shared = Shared {
        messages,
        next: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        retry: Mutex::new(Vec::new()),
        start: Instant::now(),
        rate: opts.rate,
    };
    let mut report = Report::default();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    thread::scope(|scope| -> Result<()> {
        let mut first = Some(first);
        for c in 0..opts.connections.max(1) {
            let tx = tx.clone();
            let session = first.take();
            let shared = &shared;
            scope.spawn(move || worker(c, session, opts, shared, &tx));
        }
        drop(tx);
        for (c, outcome) in rx {
            let line = report.record(c, outcome);
            if let Some((out, path)) = log.as_mut() {
                serde_json::to_writer(&mut *out, &line)
                    .map_err(io::Error::from)
                    .and_then(|_| out.write_all(b"\n"))
                    .map_err(|e| Error::io("write", path, e))?;
            }
        }
        Ok(())
    })?;
    if let Some((mut out, path)) = log {
        out.flush().map_err(|e| Error::io("write", path, e))?;
    }
    report.elapsed = shared.start.elapsed();
    report.add_unsent(&shared);
    Ok(report)
}

enum Outcome {
    Accepted {
        index: u64,
        at_us: i64,
        queue_id: Option<String>,
    },
    Refused {
        index: u64,
        why: String,
    },
    Deferred {
        index: u64,
        why: String,
    },
}

impl Report {
    fn record(&mut self, c: usize, outcome: Outcome) -> LogLine {
        let mut line = LogLine {
            index: 0,
            accepted_at: None,
            queue_id: None,
            connection: c,
            rejected: None,
        };
        match outcome {
            Outcome::Accepted {
                index,
                at_us,
                queue_id,
            } => {
                self.accepted.push((index, at_us));
                line.index = index;
                line.accepted_at = Some(spool::clock::rfc3339_us(at_us));
                line.queue_id = queue_id;
            }
            Outcome::Refused { index, why } => {
                line.index = index;
                line.rejected = Some(why.clone());
                self.refused.push((index, why));
            }
            Outcome::Deferred { index, why } => {
                line.index = index;
                line.rejected = Some(why.clone());
                self.deferred.push((index, why));
            }
        }
        line
    }

    /// Messages no connection got to (every connection failed).
    fn add_unsent(&mut self, shared: &Shared) {
        let mut done = vec![false; shared.messages.len()];
        let positions: std::collections::HashMap<u64, usize> = shared
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.index, i))
            .collect();
        let ended = self.accepted.iter().map(|a| a.0);
        let ended = ended
            .chain(self.refused.iter().map(|r| r.0))
            .chain(self.deferred.iter().map(|d| d.0));
        for index in ended {
            if let Some(&p) = positions.get(&index) {
                done[p] = true;
            }
        }
        for (p, m) in shared.messages.iter().enumerate() {
            if !done[p] {
                self.deferred
                    .push((m.index, "not sent: no connection left".into()));
            }
        }
    }
}

struct Shared<'a> {
    messages: &'a [Outgoing],
    next: AtomicUsize,
    in_flight: AtomicUsize,
    /// (position, attempts so far) to try again.
    retry: Mutex<Vec<(usize, u32)>>,
    start: Instant,
    rate: f64,
}

impl Shared<'_> {
    /// The next message to send, counted in flight until `done`.
    fn take(&self) -> Option<(usize, u32)> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if let Some(r) = self.retry.lock().ok().and_then(|mut q| q.pop()) {
            return Some(r);
        }
        let p = self.next.fetch_add(1, Ordering::SeqCst);
        if p < self.messages.len() {
            return Some((p, 0));
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        None
    }

    fn done(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Put a message back for another attempt (before `done`).
    fn again(&self, p: usize, attempts: u32) {
        if let Ok(mut q) = self.retry.lock() {
            q.push((p, attempts));
        }
    }

    /// Nothing left, and nothing in flight that could come back.
    fn finished(&self) -> bool {
        self.next.load(Ordering::SeqCst) >= self.messages.len()
            && self.in_flight.load(Ordering::SeqCst) == 0
            && self.retry.lock().map(|q| q.is_empty()).unwrap_or(true)
    }

    /// Wait until message `p` is due at the target rate.
    fn pace(&self, p: usize) {
        if self.rate <= 0.0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(p as f64 / self.rate);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
    }
}

fn worker(
    c: usize,
    mut session: Option<Session>,
    opts: &SmtpOptions,
    shared: &Shared,
    tx: &mpsc::Sender<(usize, Outcome)>,
) {
    let mut failed_connects = 0;
    let mut idle = 0;
    // Bounded: each pass takes a message (finitely many, three attempts
    // each) or waits 10 ms for one in flight, at most 3,000 times in a
    // row (30 s: longer than no reply ever takes).
    while failed_connects < ATTEMPTS && idle < 3000 {
        let Some((p, attempts)) = shared.take() else {
            if shared.finished() {
                break;
            }
            idle += 1;
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        idle = 0;
        shared.pace(p);
        let m = &shared.messages[p];
        if session.is_none() {
            match Session::open(opts) {
                Ok(s) => session = Some(s),
                Err(e) => {
                    failed_connects += 1;
                    let why = format!("cannot connect: {e}");
                    retry_or_give_up(shared, tx, c, p, attempts, why);
                    shared.done();
                    thread::sleep(Duration::from_millis(
                        200 * failed_connects as u64,
                    ));
                    continue;
                }
            }
        }
        let Some(s) = session.as_mut() else {
            shared.done();
            continue;
        };
        let outcome = match s.deliver(m, &opts.rcpt) {
            Ok(Delivery::Accepted(queue_id)) => Outcome::Accepted {
                index: m.index,
                at_us: spool::clock::now_us(),
                queue_id,
            },
            Ok(Delivery::Refused(reply)) if reply.starts_with('5') => {
                Outcome::Refused {
                    index: m.index,
                    why: reply,
                }
            }
            Ok(Delivery::Refused(reply)) => {
                retry_or_give_up(shared, tx, c, p, attempts, reply);
                shared.done();
                continue;
            }
            Err(e) => {
                // The connection is in an unknown state: start afresh.
                session = None;
                failed_connects += 1;
                retry_or_give_up(shared, tx, c, p, attempts, e.to_string());
                shared.done();
                continue;
            }
        };
        failed_connects = 0;
        let _ = tx.send((c, outcome));
        shared.done();
    }
    if let Some(s) = session {
        s.quit();
    }
}

fn retry_or_give_up(
    shared: &Shared,
    tx: &mpsc::Sender<(usize, Outcome)>,
    c: usize,
    p: usize,
    attempts: u32,
    why: String,
) {
    if attempts + 1 < ATTEMPTS {
        shared.again(p, attempts + 1);
    } else {
        let index = shared.messages[p].index;
        let _ = tx.send((c, Outcome::Deferred { index, why }));
    }
}

enum Delivery {
    /// 250 after the data, with the queue ID if the reply named one.
    Accepted(Option<String>),
    /// Any other reply, as `code text`.
    Refused(String),
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    pipelining: bool,
    eight_bit: bool,
}

/// A reply: its code and its text lines joined.
struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.code)
    }

    fn line(&self) -> String {
        format!("{} {}", self.code, self.text)
    }
}

impl Session {
    fn open(opts: &SmtpOptions) -> io::Result<Session> {
        let stream =
            TcpStream::connect_timeout(&opts.server, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut s = Session {
            reader: BufReader::new(stream.try_clone()?),
            writer: BufWriter::with_capacity(64 * 1024, stream),
            pipelining: false,
            eight_bit: false,
        };
        let greeting = s.reply()?;
        if greeting.code != 220 {
            return Err(protocol(&greeting));
        }
        s.command(&format!("EHLO {}", opts.helo))?;
        let ehlo = s.reply()?;
        if ehlo.ok() {
            for ext in ehlo.text.split('\n') {
                let word = ext.split_whitespace().next().unwrap_or("");
                s.pipelining |= word.eq_ignore_ascii_case("PIPELINING");
                s.eight_bit |= word.eq_ignore_ascii_case("8BITMIME");
            }
        } else {
            s.command(&format!("HELO {}", opts.helo))?;
            let helo = s.reply()?;
            if !helo.ok() {
                return Err(protocol(&helo));
            }
        }
        Ok(s)
    }

    fn command(&mut self, line: &str) -> io::Result<()> {
        self.writer.write_all(line.as_bytes())?;
        self.writer.write_all(b"\r\n")?;
        self.writer.flush()
    }

    fn reply(&mut self) -> io::Result<Reply> {
        let mut text = Vec::new();
        let mut line = String::new();
        // A reply has a handful of lines; 100 is a broken server.
        for _ in 0..100 {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                ));
            }
            let l = line.trim_end();
            let code = l.get(..3).and_then(|c| c.parse::<u16>().ok());
            let Some(code) = code else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad reply line '{}'", spool::cli::escape(l)),
                ));
            };
            text.push(l.get(4..).unwrap_or("").to_string());
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply {
                    code,
                    text: text.join("\n"),
                });
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidData, "reply too long"))
    }

    fn deliver(&mut self, m: &Outgoing, rcpt: &str) -> io::Result<Delivery> {
        let body8 = m.data.iter().any(|&b| b >= 0x80);
        let param = if body8 && self.eight_bit {
            " BODY=8BITMIME"
        } else {
            ""
        };
        let mail = format!("MAIL FROM:<{}>{param}\r\n", m.sender);
        let rcpt = format!("RCPT TO:<{rcpt}>\r\n");
        let replies = if self.pipelining {
            self.writer.write_all(mail.as_bytes())?;
            self.writer.write_all(rcpt.as_bytes())?;
            self.writer.write_all(b"DATA\r\n")?;
            self.writer.flush()?;
            [self.reply()?, self.reply()?, self.reply()?]
        } else {
            self.writer.write_all(mail.as_bytes())?;
            self.writer.flush()?;
            let r1 = self.reply()?;
            if !r1.ok() {
                return self.refused(r1);
            }
            self.writer.write_all(rcpt.as_bytes())?;
            self.writer.flush()?;
            let r2 = self.reply()?;
            if !r2.ok() {
                return self.refused(r2);
            }
            self.command("DATA")?;
            [r1, r2, self.reply()?]
        };
        let [mail_r, rcpt_r, data_r] = replies;
        for r in [mail_r, rcpt_r] {
            if !r.ok() {
                if data_r.code == 354 {
                    // Pipelined DATA was accepted anyway: end it empty.
                    self.writer.write_all(b".\r\n")?;
                    self.writer.flush()?;
                    self.reply()?;
                }
                return self.refused(r);
            }
        }
        if data_r.code != 354 {
            return self.refused(data_r);
        }
        write_data(&mut self.writer, &m.data)?;
        self.writer.flush()?;
        let done = self.reply()?;
        if done.code == 250 {
            Ok(Delivery::Accepted(queue_id(&done.text)))
        } else {
            Ok(Delivery::Refused(done.line()))
        }
    }

    fn refused(&mut self, r: Reply) -> io::Result<Delivery> {
        self.command("RSET")?;
        self.reply()?;
        Ok(Delivery::Refused(r.line()))
    }

    fn quit(mut self) {
        if self.command("QUIT").is_ok() {
            let _ = self.reply();
        }
    }
}

fn protocol(r: &Reply) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply '{}'", spool::cli::escape(&r.line())),
    )
}

/// The message in SMTP's form: CRLF line ends, lines starting with a dot
/// doubled (RFC 5321 section 4.5.2), then the lone dot.
pub fn write_data(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(data.len() + data.len() / 16 + 8);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            buf.push(b'.');
        }
        buf.extend_from_slice(line);
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b".\r\n");
    out.write_all(&buf)
}

/// `queued as ID` in a 250 reply (Postfix: `2.0.0 Ok: queued as ID`).
fn queue_id(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("queued as ")?;
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_servers() {
        assert!(local_server("127.0.0.1:2525").is_ok());
        assert!(local_server("localhost:2525").is_ok());
        assert!(local_server("10.0.0.1:25").is_err());
        assert!(local_server("[::1]:25").is_err());
        assert!(local_server("mx.example.com:25").is_err());
        assert!(local_server("127.0.0.1:0").is_err());
    }

    #[test]
    fn data_is_dot_stuffed_with_crlf() {
        let mut out = Vec::new();
        write_data(&mut out, b"a\n.\n..x\r\nlast").unwrap();
        assert_eq!(out, b"a\r\n..\r\n...x\r\nlast\r\n.\r\n");
    }

    #[test]
    fn queue_ids_from_replies() {
        assert_eq!(
            queue_id("2.0.0 Ok: queued as 4jgzHY4HHyz1SRvg").as_deref(),
            Some("4jgzHY4HHyz1SRvg")
        );
        assert_eq!(queue_id("2.0.0 Ok"), None);
    }
}
