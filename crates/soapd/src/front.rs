//! The guard in front of the HTTP server: owns the client sockets,
//! reads each request whole, within its limits, and only then passes it
//! to tiny_http over a private Unix socket.
//!
//! design rationale: tiny_http 0.12 is a fine request/response engine
//! but was not written to face a hostile network, and this service faces
//! the registration network:
//!
//! * it accepts connections itself and gives no way to set a socket
//!   timeout, so a client that sends nothing holds a thread forever, and
//!   one that sends a byte a second holds a worker; its accept loop
//!   stops for good on the first accept error (EMFILE);
//! * a request line or header line has no length limit;
//! * a request body left unread (any refusal: 401, 413, a fault) is
//!   drained when the request is dropped, through a buffer allocated at
//!   the declared Content-Length: `Content-Length: 4611686018427387904`
//!   aborts the process, and a few requests declaring 1 GB cost
//!   gigabytes (tiny-http issue #252, pull request #290).
//!
//! So the guard sets read and write timeouts on every client socket,
//! bounds each request's head, body and total time, answers 413, 408,
//! 400 itself, and forwards only complete requests, always framed by an
//! exact Content-Length (chunked bodies are decoded here).  tiny_http
//! then only ever reads from this guard, never from the network.  The
//! client's address travels in an `X-Suzanne-Peer` header, which the
//! guard strips from what clients send; the Unix socket lives in a
//! directory only this process's user can enter.
//!
//! Threads: two per client connection (requests in, answers out), at
//! most `max_connections` connections; the next one is answered with a
//! fault and closed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol::{write_fault, Fault};

/// The header carrying the client's address to the HTTP server.
pub const PEER_HEADER: &str = "X-Suzanne-Peer";

/// The guard's limits.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_header: usize,
    pub max_body: usize,
    /// Longest wait for one read.
    pub read_timeout: Duration,
    /// Longest time from a request's first byte to its last.
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    /// Longest wait for the next request on a kept-alive connection.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Accepts clients for ever.  Errors of `accept` (out of descriptors,
/// a connection reset before it was accepted) are logged and waited
/// out, never fatal.
pub fn serve(listener: TcpListener, backend: PathBuf, limits: Limits) -> ! {
    let active = Arc::new(AtomicUsize::new(0));
    let limits = Arc::new(limits);
    let mut last_error: Option<Instant> = None;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                // One line a second at most while it lasts.
                if last_error.is_none_or(|t| t.elapsed().as_secs() >= 1) {
                    log(&format!("- op=accept outcome=error error={e}"));
                    last_error = Some(Instant::now());
                }
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= limits.max_connections {
            refuse_busy(stream, peer);
            continue;
        }
        let slot = Slot::take(&active);
        let backend = backend.clone();
        let limits = Arc::clone(&limits);
        let spawned = thread::Builder::new()
            .name("client".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let _slot = slot;
                Connection::run(stream, peer, &backend, &limits);
            });
        if let Err(e) = spawned {
            log(&format!("- op=accept outcome=error error={e}"));
        }
    }
}

fn log(line: &str) {
    spool::cli::warn(line);
}

/// A counted connection slot, given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Slot {
        active.fetch_add(1, Ordering::SeqCst);
        Slot(Arc::clone(active))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refuse_busy(mut stream: TcpStream, peer: SocketAddr) {
    log(&format!(
        "- op=connect client={} outcome=busy status=500",
        peer.ip()
    ));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let fault = Fault::server("internal", "too many connections; try later");
    let _ = stream.write_all(&http_error(500, &fault));
    let _ = stream.shutdown(Shutdown::Both);
}

/// A response the guard writes itself, always closing the connection.
fn http_error(status: u16, fault: &Fault) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let body = write_fault(fault);
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: text/xml; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Why a request could not be passed on.
#[derive(Debug)]
enum Refusal {
    /// Closed by the client between requests: nothing to answer.
    Gone,
    /// Answer with this status and fault, then close.
    Answer(u16, Fault),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Refusal::Answer(
                    408,
                    Fault::client(
                        "bad-request",
                        "request not received in time",
                    ),
                )
            }
            _ => Refusal::Gone,
        }
    }
}

fn bad_request(why: &str) -> Refusal {
    Refusal::Answer(400, Fault::client("bad-request", why.to_owned()))
}

/// Reads from the client socket under the current deadline: each read
/// waits at most `read_timeout`, and never past the deadline.
struct Timed {
    stream: TcpStream,
    deadline: Option<Instant>,
    wait: Duration,
    set: Option<Duration>,
}

impl Timed {
    fn arm(&mut self, wait: Duration, deadline: Option<Instant>) {
        self.wait = wait;
        self.deadline = deadline;
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut wait = self.wait;
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            wait = wait.min(left);
        }
        // Whole milliseconds, so a steady deadline costs no syscall.
        let wait = Duration::from_millis(wait.as_millis().max(1) as u64);
        if self.set != Some(wait) {
            self.stream.set_read_timeout(Some(wait))?;
            self.set = Some(wait);
        }
        let n = self.stream.read(buf)?;
        quick_ack(&self.stream);
        Ok(n)
    }
}

/// Acknowledges what was read at once instead of after the delayed-ACK
/// timer (40 ms on Linux).  LWP, under SOAP::Lite, writes the head of
/// a request larger than 8 KiB apart from its body, and Nagle holds the
/// body back until the head is acknowledged: every such call (a
/// CompleteRequests of more than about 40 items) would wait out the
/// timer.  Linux drops quick-ack mode by itself, so it is asked for
/// again after each read.
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and an int-sized option.
        // Failure only costs the delay this avoids.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// One client connection.
struct Connection<'a> {
    input: BufReader<Timed>,
    /// The client's write half, shared with the answer relay.
    output: Arc<Mutex<TcpStream>>,
    peer: SocketAddr,
    limits: &'a Limits,
    /// Set once the guard ends the connection itself.
    closing: Arc<AtomicBool>,
}

/// A request read whole.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    close: bool,
}

impl Connection<'_> {
    fn run(stream: TcpStream, peer: SocketAddr, backend: &Path, l: &Limits) {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(l.write_timeout));
        let (Ok(read_half), Ok(write_half)) =
            (stream.try_clone(), stream.try_clone())
        else {
            return;
        };
        let mut conn = Connection {
            input: BufReader::with_capacity(
                16 * 1024,
                Timed {
                    stream: read_half,
                    deadline: None,
                    wait: l.read_timeout,
                    set: None,
                },
            ),
            output: Arc::new(Mutex::new(write_half)),
            peer,
            limits: l,
            closing: Arc::new(AtomicBool::new(false)),
        };
        conn.serve(backend);
        let _ = stream.shutdown(Shutdown::Both);
    }

    fn serve(&mut self, backend: &Path) {
        let upstream = match UnixStream::connect(backend) {
            Ok(s) => s,
            Err(e) => {
                log(&format!(
                    "- op=connect client={} outcome=error error={e}",
                    self.peer.ip()
                ));
                let f = Fault::server("internal", "service unavailable");
                self.answer_and_close(None, 500, &f);
                return;
            }
        };
        let relay = upstream
            .try_clone()
            .ok()
            .and_then(|up| self.spawn_relay(up));
        let Some(relay) = relay else {
            return;
        };
        let mut upstream = upstream;
        let mut first = true;
        loop {
            let wait = if first {
                self.limits.read_timeout
            } else {
                self.limits.idle_timeout
            };
            first = false;
            match self.read_request(wait) {
                Ok(rq) => {
                    let sent = upstream
                        .write_all(&rq.head)
                        .and_then(|_| upstream.write_all(&rq.body));
                    if sent.is_err() || rq.close {
                        break;
                    }
                }
                Err(Refusal::Gone) => break,
                Err(Refusal::Answer(status, fault)) => {
                    log(&format!(
                        "- op=http client={} outcome=refused status={status} \
                         error=\"{}\"",
                        self.peer.ip(),
                        spool::cli::escape(&fault.string)
                    ));
                    self.answer_and_close(
                        Some((upstream, relay)),
                        status,
                        &fault,
                    );
                    return;
                }
            }
        }
        // Answers still owed are relayed before the connection closes.
        self.closing.store(true, Ordering::SeqCst);
        let _ = upstream.shutdown(Shutdown::Write);
        let _ = relay.join();
    }

    /// Relays the HTTP server's answers to the client, in order.
    fn spawn_relay(
        &self,
        mut up: UnixStream,
    ) -> Option<thread::JoinHandle<()>> {
        let out = Arc::clone(&self.output);
        let closing = Arc::clone(&self.closing);
        thread::Builder::new()
            .name("relay".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match up.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut client = match out.lock() {
                        Ok(c) => c,
                        Err(_) => break,
                    };
                    if client.write_all(&buf[..n]).is_err() {
                        // The client stopped reading: drop it.
                        let _ = client.shutdown(Shutdown::Both);
                        break;
                    }
                }
                // The HTTP server hung up on its own: stop reading the
                // client, whose next request has nowhere to go.  When
                // the guard itself is closing, it still has to write.
                if !closing.load(Ordering::SeqCst) {
                    if let Ok(c) = out.lock() {
                        let _ = c.shutdown(Shutdown::Read);
                    }
                }
                let _ = up.shutdown(Shutdown::Both);
            })
            .ok()
    }

    /// Writes the guard's own answer once every earlier answer is out.
    fn answer_and_close(
        &mut self,
        pending: Option<(UnixStream, thread::JoinHandle<()>)>,
        status: u16,
        fault: &Fault,
    ) {
        self.closing.store(true, Ordering::SeqCst);
        if let Some((up, relay)) = pending {
            let _ = up.shutdown(Shutdown::Write);
            let _ = relay.join();
        }
        if let Ok(mut c) = self.output.lock() {
            let _ = c.write_all(&http_error(status, fault));
            let _ = c.flush();
            let _ = c.shutdown(Shutdown::Write);
        }
        self.linger();
    }

    /// Reads and drops what the client is still sending, for a short
    /// while: closing a socket with unread input resets the connection,
    /// and the client would lose the answer just written.
    fn linger(&mut self) {
        let until = Instant::now() + Duration::from_secs(2);
        self.input
            .get_mut()
            .arm(Duration::from_millis(500), Some(until));
        let mut scratch = [0u8; 16 * 1024];
        let mut left: usize = 4 << 20;
        while left > 0 {
            match self.input.read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }

    fn read_request(&mut self, wait: Duration) -> Result<Request, Refusal> {
        // Until the first byte, the idle wait; from then on the whole
        // request must come within request_timeout.
        // A connection that stays quiet between requests is closed
        // without a word: an unasked-for 408 could be taken for the
        // answer to a request the client is sending just then.
        self.input.get_mut().arm(wait, None);
        match self.input.fill_buf() {
            Ok(buf) if !buf.is_empty() => {}
            _ => return Err(Refusal::Gone),
        }
        let deadline = Instant::now() + self.limits.request_timeout;
        self.input
            .get_mut()
            .arm(self.limits.read_timeout, Some(deadline));

        let head = self.read_head()?;
        let parsed = Head::parse(&head)?;
        let body = match parsed.framing {
            Framing::Length(n) => {
                if n > self.limits.max_body {
                    return Err(too_large(self.limits));
                }
                self.continue_if_asked(&parsed)?;
                let mut body = vec![0u8; n];
                self.input.read_exact(&mut body).map_err(eof_is_gone)?;
                body
            }
            Framing::Chunked => {
                self.continue_if_asked(&parsed)?;
                self.read_chunked()?
            }
        };
        Ok(Request {
            head: parsed.forward(&body, self.peer),
            body,
            close: parsed.close,
        })
    }

    fn continue_if_asked(&mut self, head: &Head) -> Result<(), Refusal> {
        if head.expect_continue {
            let mut out = self.output.lock().map_err(|_| Refusal::Gone)?;
            out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        Ok(())
    }

    /// The request line and headers, up to the blank line.
    fn read_head(&mut self) -> Result<Vec<u8>, Refusal> {
        let max = self.limits.max_header;
        let mut head = Vec::with_capacity(1024);
        loop {
            let before = head.len();
            let mut limited =
                (&mut self.input).take((max - before) as u64 + 1);
            let n =
                limited.read_until(b'\n', &mut head).map_err(eof_is_gone)?;
            if n == 0 {
                return Err(Refusal::Gone);
            }
            if head.len() > max {
                return Err(Refusal::Answer(
                    431,
                    Fault::client("bad-request", "request head too large"),
                ));
            }
            let line = &head[before..];
            // Blank lines before a request line are tolerated (RFC 9112).
            if before == 0 && (line == b"\r\n" || line == b"\n") {
                head.clear();
                continue;
            }
            if line == b"\r\n" || line == b"\n" {
                return Ok(head);
            }
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, Refusal> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(256)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| bad_request("bad chunk size"))?;
            if size == 0 {
                break;
            }
            if body.len().saturating_add(size) > self.limits.max_body {
                return Err(too_large(self.limits));
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.input
                .read_exact(&mut body[start..])
                .map_err(eof_is_gone)?;
            if !self.read_line(2)?.is_empty() {
                return Err(bad_request("bad chunk end"));
            }
        }
        // Trailer fields are read and dropped.
        for _ in 0..64 {
            if self.read_line(self.limits.max_header)?.is_empty() {
                return Ok(body);
            }
        }
        Err(bad_request("too many trailer fields"))
    }

    /// One line without its end, at most `max` bytes.
    fn read_line(&mut self, max: usize) -> Result<String, Refusal> {
        let mut line = Vec::new();
        let mut limited = (&mut self.input).take(max as u64 + 2);
        limited.read_until(b'\n', &mut line).map_err(eof_is_gone)?;
        if line.last() != Some(&b'\n') {
            return Err(bad_request("line too long or cut short"));
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        String::from_utf8(line).map_err(|_| bad_request("bad line"))
    }
}

fn too_large(limits: &Limits) -> Refusal {
    Refusal::Answer(
        413,
        Fault::client(
            "bad-request",
            format!("request body larger than {} bytes", limits.max_body),
        ),
    )
}

/// A request cut short by the client's end of stream leaves nobody to
/// answer.
fn eof_is_gone(e: io::Error) -> Refusal {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Refusal::Gone
    } else {
        e.into()
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

/// What the guard needs of a request head.
struct Head<'a> {
    request_line: &'a str,
    /// Headers to pass on, as received.
    headers: Vec<&'a str>,
    framing: Framing,
    expect_continue: bool,
    close: bool,
}

impl<'a> Head<'a> {
    fn parse(raw: &'a [u8]) -> Result<Head<'a>, Refusal> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| bad_request("request head is not text"))?;
        let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad_request("bad request line"));
        };
        let http10 = match version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return Err(bad_request("unsupported HTTP version")),
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        };
        if !token(method) || target.is_empty() || !target.is_ascii() {
            return Err(bad_request("bad request line"));
        }

        let mut head = Head {
            request_line,
            headers: Vec::new(),
            framing: Framing::Length(0),
            expect_continue: false,
            close: http10,
        };
        let mut length: Option<usize> = None;
        let mut chunked = false;
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(bad_request("bad header line"));
            };
            if !token(name) {
                return Err(bad_request("bad header name"));
            }
            let value = value.trim();
            let lower = value.to_ascii_lowercase();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => {
                    let n = value
                        .parse::<usize>()
                        .map_err(|_| bad_request("bad Content-Length"))?;
                    if length.is_some_and(|m| m != n) {
                        return Err(bad_request("conflicting Content-Length"));
                    }
                    length = Some(n);
                }
                "transfer-encoding" => {
                    if lower != "chunked" {
                        return Err(bad_request(
                            "unsupported Transfer-Encoding",
                        ));
                    }
                    chunked = true;
                }
                "expect" => {
                    if lower != "100-continue" {
                        return Err(Refusal::Answer(
                            417,
                            Fault::client("bad-request", "unsupported Expect"),
                        ));
                    }
                    head.expect_continue = true;
                }
                "connection" => {
                    if lower.contains("close") {
                        head.close = true;
                    } else if http10 && lower.contains("keep-alive") {
                        head.close = false;
                    }
                    head.headers.push(line);
                }
                "x-suzanne-peer" => {}
                _ => head.headers.push(line),
            }
        }
        head.framing = match (chunked, length) {
            (true, Some(_)) => {
                return Err(bad_request(
                    "both Content-Length and Transfer-Encoding",
                ))
            }
            (true, None) => Framing::Chunked,
            (false, n) => Framing::Length(n.unwrap_or(0)),
        };
        Ok(head)
    }

    /// The head passed on: exact length, the client's address.
    fn forward(&self, body: &[u8], peer: SocketAddr) -> Vec<u8> {
        let mut out = String::with_capacity(1024);
        out.push_str(self.request_line);
        out.push_str("\r\n");
        for h in &self.headers {
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "Content-Length: {}\r\n{PEER_HEADER}: {}\r\n\r\n",
            body.len(),
            peer.ip()
        ));
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<(String, bool), String> {
        let peer: SocketAddr = "192.0.2.1:5".parse().unwrap();
        match Head::parse(raw.as_bytes()) {
            Ok(h) => Ok((
                String::from_utf8(h.forward(b"abc", peer)).unwrap(),
                h.close,
            )),
            Err(Refusal::Answer(s, f)) => Err(format!("{s} {}", f.string)),
            Err(Refusal::Gone) => Err("gone".into()),
        }
    }

    #[test]
    fn heads_are_normalised() {
        let (fwd, close) = parse(
            "POST /soap HTTP/1.1\r\nHost: h\r\nX-Suzanne-Peer: 1.2.3.4\r\n\
             Content-Length: 3\r\nConnection: TE, close\r\n\r\n",
        )
        .unwrap();
        assert!(close);
        assert_eq!(
            fwd,
            "POST /soap HTTP/1.1\r\nHost: h\r\nConnection: TE, close\r\n\
             Content-Length: 3\r\nX-Suzanne-Peer: 192.0.2.1\r\n\r\n"
        );
        let (_, close) =
            parse("POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap();
        assert!(!close);
        let (_, close) = parse("POST / HTTP/1.0\r\n\r\n").unwrap();
        assert!(close);
    }

    #[test]
    fn bad_heads_are_refused() {
        for raw in [
            "POST /soap HTTP/2.0\r\n\r\n",
            "POST /soap\r\n\r\n",
            "POST /soap HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST /soap HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST /soap HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "POST /soap HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST /soap HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "POST /soap HTTP/1.1\r\n folded\r\n\r\n",
            "POST /soap HTTP/1.1\r\nExpect: magic\r\n\r\n",
        ] {
            assert!(parse(raw).is_err(), "{raw:?}");
        }
    }
}
