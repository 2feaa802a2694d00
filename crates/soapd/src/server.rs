//! The HTTP side: tiny_http behind the guard (`front`), worker threads,
//! authentication, content codings, the WSDL, and one log line per call.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use flate2::read::GzDecoder;
use tiny_http::{Header, Method, Request, Response};

use crate::config::SoapConfig;
use crate::front::{self, PEER_HEADER};
use crate::protocol::{self, read_call, version_mismatch, write_fault, Fault};
use crate::service::{ticket_list, Service};
use crate::wsdl;

/// `user:password` pairs allowed in (HTTP Basic).
#[derive(Clone, Debug, Default)]
pub struct Credentials(Vec<(String, String)>);

impl Credentials {
    /// Reads `user:password` lines; blank lines and `#` comments are
    /// skipped.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Credentials> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read credentials '{}'", path.display())
        })?;
        let mut pairs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                anyhow::bail!(
                    "cannot read credentials '{}': line {} is not user:password",
                    path.display(),
                    n + 1
                );
            };
            pairs.push((user.to_owned(), password.to_owned()));
        }
        Ok(Credentials(pairs))
    }

    /// Checks an `Authorization` header value.
    fn allows(&self, header: Option<&str>) -> bool {
        let Some(encoded) = header
            .and_then(|h| h.trim().strip_prefix("Basic "))
            .map(str::trim)
        else {
            return false;
        };
        let Ok(decoded) =
            base64::engine::general_purpose::STANDARD.decode(encoded)
        else {
            return false;
        };
        let Some((user, password)) = std::str::from_utf8(&decoded)
            .ok()
            .and_then(|s| s.split_once(':'))
        else {
            return false;
        };
        // Every pair is compared in full, so the time taken does not
        // tell how much of a guess was right.
        let mut ok = false;
        for (u, p) in &self.0 {
            ok |= same(u.as_bytes(), user.as_bytes())
                & same(p.as_bytes(), password.as_bytes());
        }
        ok
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= (*x ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

/// Everything a worker needs.
pub struct Server {
    pub service: Service,
    pub config: SoapConfig,
    pub credentials: Option<Credentials>,
}

/// Serves for ever on `listener`.
pub fn run(server: Server, listener: TcpListener) -> anyhow::Result<()> {
    // The HTTP server listens on a Unix socket in a directory only this
    // user can enter; only the guard connects to it.
    let dir = tempfile::Builder::new()
        .prefix("suzanne-soapd.")
        .tempdir()
        .context("cannot create a private directory")?;
    let socket = dir.path().join("http.sock");
    let unix = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on '{}'", socket.display()))?;
    let server = Arc::new(server);
    let workers = server.config.workers.max(1);
    let pool = Arc::new(Pool::start(unix)?);
    for n in 0..workers {
        let server = Arc::clone(&server);
        let pool = Arc::clone(&pool);
        thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || loop {
                let rq = pool.next();
                server.answer(rq);
            })
            .context("cannot start worker threads")?;
    }
    let c = &server.config;
    let limits = front::Limits {
        max_header: c.max_header,
        max_body: c.max_body,
        read_timeout: SoapConfig::secs(c.read_timeout),
        request_timeout: SoapConfig::secs(c.request_timeout),
        write_timeout: SoapConfig::secs(c.write_timeout),
        idle_timeout: SoapConfig::secs(c.idle_timeout),
        max_connections: c.max_connections.max(1),
    };
    let _keep = dir;
    front::serve(listener, socket, limits)
}

/// tiny_http servers on the private socket.  tiny_http's accept thread
/// ends on its first accept error; a new server is then started on the
/// same socket, and the old one is drained by a thread of its own.
struct Pool {
    listener: UnixListener,
    current: std::sync::Mutex<Arc<tiny_http::Server>>,
}

impl Pool {
    fn start(listener: UnixListener) -> anyhow::Result<Pool> {
        let first = Pool::server(&listener)?;
        Ok(Pool {
            listener,
            current: std::sync::Mutex::new(first),
        })
    }

    fn server(l: &UnixListener) -> anyhow::Result<Arc<tiny_http::Server>> {
        let l = l.try_clone().context("cannot share the HTTP socket")?;
        let s = tiny_http::Server::from_listener(l, None)
            .map_err(|e| anyhow::anyhow!("cannot start HTTP server: {e}"))?;
        Ok(Arc::new(s))
    }

    fn next(&self) -> Request {
        loop {
            let server = match self.current.lock() {
                Ok(s) => Arc::clone(&s),
                Err(p) => Arc::clone(&p.into_inner()),
            };
            match server.recv() {
                Ok(rq) => return rq,
                Err(e) => self.replace(&server, e),
            }
        }
    }

    fn replace(&self, failed: &Arc<tiny_http::Server>, e: std::io::Error) {
        let mut current = match self.current.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !Arc::ptr_eq(&current, failed) {
            return;
        }
        spool::cli::warn(&format!("- op=accept outcome=restart error={e}"));
        thread::sleep(Duration::from_millis(100));
        match Pool::server(&self.listener) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut *current, fresh);
                drain(old);
            }
            Err(e) => spool::cli::warn(&format!(
                "- op=accept outcome=error error={e:#}"
            )),
        }
    }
}

/// Requests already read by a retired server still get answered: they
/// are refused with a fault (the client retries) until it falls quiet.
fn drain(old: Arc<tiny_http::Server>) {
    let _ = thread::Builder::new().name("drain".into()).spawn(move || {
        while let Ok(Some(rq)) = old.recv_timeout(Duration::from_secs(120)) {
            let f = Fault::server("internal", "server restarting; try again");
            let _ = rq.respond(xml_response(500, write_fault(&f)));
        }
    });
}

fn xml_response(
    status: u16,
    body: String,
) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body.into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", "text/xml; charset=utf-8"))
}

fn header(name: &str, value: &str) -> Header {
    // Names and values here are this program's own ASCII constants.
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes("X-Invalid", "1").unwrap())
}

/// What a worker sends back and logs.
struct Reply {
    response: Response<std::io::Cursor<Vec<u8>>>,
    /// `ticket(s)`, first on the log line.
    tickets: String,
    op: String,
    outcome: String,
    extra: String,
}

impl Reply {
    fn new(status: u16, body: String, op: &str, outcome: &str) -> Reply {
        Reply {
            response: xml_response(status, body),
            tickets: "-".into(),
            op: op.to_owned(),
            outcome: outcome.to_owned(),
            extra: String::new(),
        }
    }

    fn fault(f: &Fault, op: &str) -> Reply {
        let mut r = Reply::new(500, write_fault(f), op, "fault");
        if let Some(t) = f.ticket {
            r.tickets = t.to_string();
        }
        r.extra = format!(" fault={}", f.detail);
        r
    }

    fn plain(status: u16, text: &str, outcome: &str) -> Reply {
        Reply {
            response: Response::from_data(text.as_bytes().to_vec())
                .with_status_code(status)
                .with_header(header(
                    "Content-Type",
                    "text/plain; charset=utf-8",
                )),
            tickets: "-".into(),
            op: "-".into(),
            outcome: outcome.to_owned(),
            extra: format!(" status={status}"),
        }
    }
}

fn header_value<'a>(rq: &'a Request, name: &str) -> Option<&'a str> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

impl Server {
    fn answer(&self, mut rq: Request) {
        let start = Instant::now();
        let peer = header_value(&rq, PEER_HEADER).unwrap_or("-").to_owned();
        let reply = catch_unwind(AssertUnwindSafe(|| self.process(&mut rq)))
            .unwrap_or_else(|_| {
                let f = Fault::server("internal", "internal error");
                Reply::fault(&f, "-")
            });
        spool::cli::warn(&format!(
            "{} op={} client={} outcome={} ms={}{}",
            reply.tickets,
            reply.op,
            spool::cli::escape(&peer),
            reply.outcome,
            start.elapsed().as_millis(),
            reply.extra
        ));
        let _ = rq.respond(reply.response);
    }

    fn process(&self, rq: &mut Request) -> Reply {
        if let Some(creds) = &self.credentials {
            if !creds.allows(header_value(rq, "Authorization")) {
                let mut r = Reply::plain(401, "", "unauthorized");
                r.response = Response::from_data(Vec::new())
                    .with_status_code(401)
                    .with_header(header(
                        "WWW-Authenticate",
                        "Basic realm=\"suzanne\"",
                    ));
                return r;
            }
        }
        let url = rq.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let ours = path == self.config.path
            || path.strip_suffix('/') == Some(self.config.path.as_str());
        if !ours {
            return Reply::plain(404, "not found\n", "not-found");
        }
        match rq.method() {
            Method::Get | Method::Head
                if query.eq_ignore_ascii_case("wsdl") =>
            {
                let mut r = Reply::new(
                    200,
                    wsdl::document(&self.address(rq)),
                    "wsdl",
                    "shown",
                );
                r.op = "wsdl".into();
                r
            }
            Method::Post => self.soap(rq),
            _ => {
                let mut r = Reply::plain(
                    405,
                    "POST SOAP 1.1 here; the WSDL is at ?wsdl\n",
                    "refused",
                );
                r.response.add_header(header("Allow", "GET, POST"));
                r
            }
        }
    }

    /// The endpoint URL the WSDL announces.
    fn address(&self, rq: &Request) -> String {
        if !self.config.public_url.is_empty() {
            return self.config.public_url.clone();
        }
        let sane = |h: &&str| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || b".-:[]".contains(&b)
                })
        };
        let host = header_value(rq, "Host")
            .map(str::trim)
            .filter(sane)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!("{}:{}", self.config.bind, self.config.port)
            });
        format!("http://{host}{}", self.config.path)
    }

    fn soap(&self, rq: &mut Request) -> Reply {
        let content_type =
            header_value(rq, "Content-Type").unwrap_or("").to_owned();
        if content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/soap+xml")
        {
            return Reply::fault(&version_mismatch(), "-");
        }
        let body = match self.body(rq) {
            Ok(b) => b,
            Err(r) => return *r,
        };
        let call = match read_call(&body, &content_type) {
            Ok(c) => c,
            Err(f) => return Reply::fault(&f, "-"),
        };
        let op = spool::cli::escape(&call.op);
        let mut extra = String::new();
        if let Some(action) = header_value(rq, "SOAPAction") {
            if !action_matches(action, &call.op) {
                extra =
                    format!(" soapaction=\"{}\"", spool::cli::escape(action));
            }
        }
        let handled = self.service.handle(&call, &peer_of(rq));
        let tickets = ticket_list(&handled.tickets);
        let mut reply = match handled.result {
            Ok(answer) => Reply::new(
                200,
                protocol::write_answer(
                    &call.op,
                    call.op_ns.as_deref(),
                    call.style,
                    &answer,
                ),
                &op,
                handled.outcome,
            ),
            Err(f) => Reply::fault(&f, &op),
        };
        reply.tickets = tickets;
        reply.extra.push_str(&handled.detail);
        reply.extra.push_str(&extra);
        reply
    }

    /// The request body, decoded from gzip when so marked, within
    /// max_body either way.
    fn body(&self, rq: &mut Request) -> Result<Vec<u8>, Box<Reply>> {
        let max = self.config.max_body;
        let coding = header_value(rq, "Content-Encoding")
            .unwrap_or("identity")
            .trim()
            .to_ascii_lowercase();
        let too_large = || {
            let f = Fault::client(
                "bad-request",
                format!("request body larger than {max} bytes"),
            );
            let mut r = Reply::fault(&f, "-");
            r.response = xml_response(413, write_fault(&f));
            Box::new(r)
        };
        let read_err = |e: std::io::Error| {
            Reply::fault(
                &Fault::client(
                    "bad-request",
                    format!("cannot read body: {e}"),
                ),
                "-",
            )
        };
        let mut raw = Vec::new();
        let mut limited = rq.as_reader().take(max as u64 + 1);
        limited.read_to_end(&mut raw).map_err(read_err)?;
        if raw.len() > max {
            return Err(too_large());
        }
        match coding.as_str() {
            "" | "identity" => Ok(raw),
            "gzip" | "x-gzip" => {
                let mut out = Vec::new();
                GzDecoder::new(&raw[..])
                    .take(max as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(read_err)?;
                if out.len() > max {
                    return Err(too_large());
                }
                Ok(out)
            }
            // SOAP::Lite sends the request again, uncompressed.
            _ => Err(Box::new(Reply::plain(415, "", "refused"))),
        }
    }
}

fn peer_of(rq: &Request) -> String {
    header_value(rq, PEER_HEADER).unwrap_or("-").to_owned()
}

/// SOAPAction is never used to dispatch; a value that names another
/// operation is only logged.  `"urn:X#Op"`, `urn:X/Op`, `"urn:X"`, empty.
fn action_matches(action: &str, op: &str) -> bool {
    let a = action.trim().trim_matches('"');
    if a.is_empty() || !a.contains(['#', '/']) {
        return true;
    }
    a.rsplit(['#', '/']).next() == Some(op)
}

/// Where `run` listens (for messages).
pub fn bind(config: &SoapConfig) -> anyhow::Result<TcpListener> {
    let addr = format!("{}:{}", config.bind, config.port);
    TcpListener::bind(&addr)
        .with_context(|| format!("cannot listen on '{addr}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_action_check() {
        assert!(action_matches("\"urn:Suzanne#GetRequests\"", "GetRequests"));
        assert!(action_matches("urn:Suzanne/QueueStatus", "QueueStatus"));
        assert!(action_matches("\"urn:Suzanne\"", "QueueStatus"));
        assert!(action_matches("", "QueueStatus"));
        assert!(!action_matches(
            "\"urn:Suzanne#GetRequests\"",
            "QueueStatus"
        ));
    }

    #[test]
    fn basic_auth() {
        let c = Credentials(vec![("reg".into(), "s3cret:x".into())]);
        let b = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(c.allows(Some(&b("reg:s3cret:x"))));
        assert!(!c.allows(Some(&b("reg:s3cret"))));
        assert!(!c.allows(Some(&b("reg:s3cret:xy"))));
        assert!(!c.allows(None));
        assert!(!c.allows(Some("Bearer x")));
    }
}
