//! Reading registration requests out of mail.
//!
//! Two pure steps, no file system: [`split_mbox`] cuts a mailbox into
//! messages, [`parse_message`] turns one message into the facts a spool
//! record holds. Neither panics on any input and neither drops a
//! message: what cannot be read is still returned, flagged
//! [`Class::Malformed`] with its reasons.
//!
//! # Decisions
//!
//! * **Form lines.** Every `key: value` line of every text/plain part,
//!   inline or attached, at any depth of multipart nesting, in message
//!   order; an `application/octet-stream` part named `*.txt` counts as
//!   text. When a message has no text/plain part at all, its text/html
//!   parts are read instead (tags dropped), with a defect saying so.
//!   Parts inside an attached `message/rfc822` are someone else's message
//!   and are not read. Keys are kept lower-cased with blanks collapsed;
//!   a key is 1 to 40 letters, digits, blanks, `-`, `_` or `.`, starting
//!   with a letter, and blanks around the colon are allowed
//!   (`Domaine : café.fr`). Quoted lines (`> domain: ...`) are not form
//!   lines. Unknown keys are kept.
//! * **Matching keys.** Configured domain and language keys match after
//!   lower-casing, NFC, reading `-` and `_` as blanks and collapsing
//!   blanks, so `nom-de-domaine`, `Nom de domaine` and `nom_de_domaine`
//!   are one key.
//! * **Several names in one value.** A domain value may list names
//!   separated by commas, semicolons or blanks; each is checked on its
//!   own. Invalid ones are named in the defects; the valid ones count.
//! * **Domain names.** Lower case, NFC, UTS 46 non-transitional with
//!   STD3 rules, hyphen checks (no leading, trailing, or 3rd-4th position
//!   hyphens outside `xn--`) and DNS lengths, at least two labels,
//!   trailing dot dropped; kept as Unicode and as A-label, deduplicated
//!   by A-label in form order.
//! * **Form lines among the headers.** A header named like a domain or
//!   language key (a message whose body started without a blank line
//!   right into the form) is read as a form line, with a defect.
//! * **Automatic mail.** A message is [`Class::Auto`] when its envelope
//!   sender is null (`<>`) or `MAILER-DAEMON`, its From address is
//!   `MAILER-DAEMON@...`, it has `Auto-Submitted` other than `no`, it is
//!   `multipart/report`, or it carries `X-Autoreply`, `X-Autorespond` or
//!   `Precedence: auto_reply` (vacation programs that predate RFC 3834).
//!   List mail (`List-Id`, `Precedence: list|bulk|junk`) is only flagged
//!   in [`Parsed::list`]: whether to answer it is the acknowledger's
//!   business.
//! * **Malformed.** Not automatic, and cut off, or unreadable as MIME,
//!   or without one valid domain name. Other defects (no Message-ID,
//!   garbage header line, unknown charset, bad base64...) are recorded
//!   and do not stop a request.
//! * **Text.** Body text has LF line endings whatever the message had,
//!   so a CRLF copy of a message parses the same. Unknown charsets fall
//!   back to UTF-8 when the bytes are valid UTF-8, else Latin-1; text
//!   without a charset, or declared UTF-8 but invalid, is read as UTF-8
//!   or else windows-1252.
//! * **Arrival.** See the `received` module: the topmost `Received:`
//!   header by a trusted host, to the microsecond with a Postfix long
//!   queue ID. The `Date:` header is kept as written and never read.

mod date;
mod decode;
mod form;
mod head;
mod html;
mod mbox;
mod received;

pub use mbox::{split_mbox, Flavour, MboxEntry, UnknownFlavour};
pub use received::{decode_long_queue_id, LongQueueId};

use mailparse::{MailHeader, ParsedMail};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a message is, for the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A registration request: not automatic, complete, one valid name.
    Request,
    /// A bounce, auto-reply or other machine mail: never answered.
    Auto,
    /// Kept, never queued as a request; `class_reason` says why.
    Malformed,
}

/// A requested domain name in both forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// Lower case, NFC: `café.example.fr`.
    pub unicode: String,
    /// The A-label form: `xn--caf-dma.example.fr`.
    pub ascii: String,
}

/// What the parser needs to know about the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// `by` hosts of `Received:` headers trusted for the arrival time.
    pub trusted_hosts: Vec<String>,
    /// Form keys naming a domain.
    pub domain_keys: Vec<String>,
    /// Form keys choosing the acknowledgement's language.
    pub language_keys: Vec<String>,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ParseOptions {
            trusted_hosts: Vec::new(),
            domain_keys: strings(&[
                "domain",
                "domains",
                "domain name",
                "domain names",
                "domainname",
                "domaine",
                "domaines",
                "nom de domaine",
                "noms de domaine",
                "nom du domaine",
                "nomdedomaine",
            ]),
            language_keys: strings(&["language", "lang", "langue", "langage"]),
        }
    }
}

/// The facts of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// From the caller (the From_ line), else the `Return-Path:` header;
    /// `""` for a null sender.
    pub envelope_sender: Option<String>,
    /// The `From:` header, decoded; `""` when there is none.
    pub from: String,
    /// The address in `From:`, when one can be found.
    pub from_address: Option<String>,
    pub reply_to: Option<String>,
    pub message_id: Option<String>,
    /// Decoded and unfolded; `""` when there is none.
    pub subject: String,
    /// The `Date:` header as written (unfolded), never interpreted.
    pub date: Option<String>,
    /// Arrival: Unix microseconds, UTC; `None` without a trusted
    /// `Received:` header with a readable date.
    pub received_us: Option<i64>,
    /// The trusted `Received:` header used, unfolded.
    pub received_raw: Option<String>,
    /// Valid requested names, in form order, deduplicated by A-label.
    pub domains: Vec<Domain>,
    /// Every form line: (key lower-cased, value trimmed).
    pub form: Vec<(String, String)>,
    /// The decoded text parts, LF line endings.
    pub body: String,
    pub language: Option<String>,
    /// `List-Id:` present, or `Precedence:` list, bulk or junk.
    pub list: bool,
    pub auto_submitted: Option<String>,
    /// Why the class is Auto or Malformed; `None` for a request.
    pub class_reason: Option<String>,
    /// Every oddity found, as short English phrases.
    pub defects: Vec<String>,
    pub class: Class,
    /// SHA-256 hex of From, Subject and body text, joined by `\n`.
    pub fingerprint: String,
}

/// Parse one message. `envelope_sender` comes from the mbox From_ line
/// when there is one; `incomplete` says the message was cut off.
pub fn parse_message(
    raw: &[u8],
    envelope_sender: Option<&str>,
    incomplete: bool,
    opts: &ParseOptions,
) -> Parsed {
    let mut p = Work::new(opts);
    if raw.contains(&0) {
        p.defect("NUL byte in message");
    }
    let prepared = head::prepare(raw, &mut p.defects);

    // mailparse is not ours: should it ever panic, the message is still
    // kept, as malformed.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.read_mail(&prepared)
        }));
    if outcome.is_err() {
        p = Work::new(opts);
        p.defect("the MIME parser crashed on this message");
        p.unreadable = Some("MIME parser crashed".to_string());
    }
    p.finish(envelope_sender, incomplete)
}

/// Parse a message cut out of an mbox: its From_ line's sender, its
/// cut-off flag and the mailbox's defects around it are taken along.
pub fn parse_entry(entry: &MboxEntry, opts: &ParseOptions) -> Parsed {
    let sender = entry.envelope_sender.as_deref();
    let mut p = parse_message(&entry.raw, sender, entry.incomplete, opts);
    p.defects.splice(0..0, entry.defects.iter().cloned());
    p
}

/// A parse in progress.
struct Work<'o> {
    opts: &'o ParseOptions,
    keys: form::Keys,
    defects: Vec<String>,
    headers: Vec<(String, Vec<u8>)>,
    texts: Vec<String>,
    html: Vec<String>,
    top_type: String,
    unreadable: Option<String>,
}

impl<'o> Work<'o> {
    fn new(opts: &'o ParseOptions) -> Work<'o> {
        Work {
            opts,
            keys: form::Keys::new(&opts.domain_keys, &opts.language_keys),
            defects: Vec::new(),
            headers: Vec::new(),
            texts: Vec::new(),
            html: Vec::new(),
            top_type: String::new(),
            unreadable: None,
        }
    }

    fn defect(&mut self, what: &str) {
        decode::note(&mut self.defects, what);
    }

    fn read_mail(&mut self, bytes: &[u8]) {
        // mailparse recurses once per multipart level and searches the
        // rest of the message at each: a few hundred kilobytes of nested
        // multiparts would overflow the stack (an abort, which no
        // catch_unwind stops) or take minutes. No request needs that.
        if count_ignore_case(bytes, b"multipart/") > MAX_MULTIPARTS {
            let why = format!(
                "MIME structure not read: more than {MAX_MULTIPARTS} \
                 multipart parts"
            );
            self.defect(&why);
            self.unreadable = Some(why);
            self.read_unstructured(bytes);
            return;
        }
        match mailparse::parse_mail(bytes) {
            Ok(mail) => {
                self.keep_headers(&mail.headers);
                self.top_type = mail.ctype.mimetype.clone();
                self.walk(&mail, 0);
            }
            Err(e) => {
                let why = format!("MIME structure unreadable: {e}");
                self.defect(&why);
                self.unreadable = Some(why);
                self.read_unstructured(bytes);
            }
        }
    }

    /// When mailparse gives up: the headers if they can be read, and
    /// the rest as one plain text.
    fn read_unstructured(&mut self, bytes: &[u8]) {
        let body = match mailparse::parse_headers(bytes) {
            Ok((headers, at)) => {
                self.keep_headers(&headers);
                &bytes[at.min(bytes.len())..]
            }
            Err(_) => bytes,
        };
        let text = decode::text_in(body, None, &mut self.defects);
        self.texts.push(text);
    }

    fn keep_headers(&mut self, headers: &[MailHeader]) {
        self.headers = headers
            .iter()
            .map(|h| {
                let key = String::from_utf8_lossy(h.get_key_raw());
                (key.trim().to_ascii_lowercase(), h.get_value_raw().to_vec())
            })
            .collect();
    }

    /// Collect the text of every part that may hold the form.
    fn walk(&mut self, part: &ParsedMail, depth: usize) {
        // XXX: mailparse already recursed; the bound only guards this
        // walk against pathological nesting.
        if depth > 64 {
            self.defect("multipart nesting deeper than 64");
            return;
        }
        let mime = part.ctype.mimetype.as_str();
        if mime.starts_with("multipart/") {
            if part.subparts.is_empty() {
                self.defect("multipart without parts; read as text");
                self.read_text(part);
            }
            for sub in &part.subparts {
                self.walk(sub, depth + 1);
            }
        } else if mime == "text/plain" || is_text_file(part) {
            self.read_text(part);
        } else if mime == "text/html" {
            let text = self.decoded(part);
            self.html.push(html::to_text(&text));
        } else if !mime.contains('/') {
            let what = format!(
                "bad Content-Type '{}'; read as text",
                decode::clip(mime, 40)
            );
            self.defect(&what);
            self.read_text(part);
        }
    }

    fn read_text(&mut self, part: &ParsedMail) {
        let text = self.decoded(part);
        self.texts.push(text);
    }

    fn decoded(&mut self, part: &ParsedMail) -> String {
        let cte = part
            .headers
            .iter()
            .find(|h| key_is(h, "content-transfer-encoding"))
            .map(|h| String::from_utf8_lossy(h.get_value_raw()).into_owned());
        let body = body_bytes(part);
        let bytes = decode::transfer(body, cte.as_deref(), &mut self.defects);
        let charset = part.ctype.params.get("charset").map(String::as_str);
        decode::text_in(&bytes, charset, &mut self.defects)
    }

    fn header(&self, key: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    fn decoded_header(&mut self, key: &str) -> Option<String> {
        let raw = self.header(key)?.to_vec();
        Some(decode::header_text(&raw, &mut self.defects))
    }

    fn unfolded(&self, key: &str) -> Option<String> {
        self.header(key).map(unfold)
    }

    fn finish(mut self, caller_sender: Option<&str>, cut: bool) -> Parsed {
        let from = self.decoded_header("from");
        if from.is_none() {
            self.defect("no From header");
        }
        let from = from.unwrap_or_default();
        let from_address = address_in(&from);
        let reply_to = self.decoded_header("reply-to");
        let subject = self.decoded_header("subject").unwrap_or_default();
        let message_id = self.unfolded("message-id").and_then(message_id);
        if message_id.is_none() {
            self.defect("no Message-ID");
        }
        let date = self.unfolded("date");
        // Postfix writes the Return-Path it was given, and a From_ line
        // that spells a null sender "MAILER-DAEMON": the header is the
        // exact one, so the same message reads the same from an mbox and
        // from a Maildir.
        let header_sender =
            self.unfolded("return-path").map(|v| return_path(&v));
        let envelope_sender = match (caller_sender, header_sender) {
            (_, Some(h)) => Some(h),
            (Some(s), None) => Some(s.to_string()),
            (None, None) => None,
        };
        let (received_us, received_raw) = self.arrival();
        let precedence = self.unfolded("precedence").map(|v| v.to_lowercase());
        let list = self.header("list-id").is_some()
            || precedence
                .as_deref()
                .is_some_and(|p| matches!(p, "list" | "bulk" | "junk"));
        let auto_submitted = self.unfolded("auto-submitted");

        let body = self.body_text();
        let form = self.read_form(&body);
        let fingerprint = fingerprint(&from, &subject, &body);

        let auto = self.auto_reason(
            envelope_sender.as_deref(),
            from_address.as_deref(),
            auto_submitted.as_deref(),
            precedence.as_deref(),
        );
        let (class, class_reason) = match auto {
            Some(why) => (Class::Auto, Some(why)),
            None => match self.malformed_reason(cut, &form) {
                Some(why) => (Class::Malformed, Some(why)),
                None => (Class::Request, None),
            },
        };
        Parsed {
            envelope_sender,
            from,
            from_address,
            reply_to,
            message_id,
            subject,
            date,
            received_us,
            received_raw,
            domains: form.domains,
            form: form.fields,
            body,
            language: form.language,
            list,
            auto_submitted,
            class_reason,
            defects: self.defects,
            class,
            fingerprint,
        }
    }

    fn arrival(&mut self) -> (Option<i64>, Option<String>) {
        let received: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| k == "received")
            .map(|(_, v)| unfold(v))
            .collect();
        match received::find_arrival(&received, &self.opts.trusted_hosts) {
            None => (None, None),
            Some(Err(why)) => {
                self.defect(&why);
                (None, None)
            }
            Some(Ok(a)) => {
                for n in &a.notes {
                    self.defect(n);
                }
                (Some(a.us), Some(a.header))
            }
        }
    }

    /// The text parts, or the HTML ones when there is no plain text.
    fn body_text(&mut self) -> String {
        let parts = if self.texts.is_empty() && !self.html.is_empty() {
            self.defect("no text/plain part; form read from HTML");
            std::mem::take(&mut self.html)
        } else {
            std::mem::take(&mut self.texts)
        };
        let mut body = String::new();
        for part in parts {
            if !body.is_empty() && !body.ends_with('\n') {
                body.push('\n');
            }
            body.push_str(&lf_endings(&part));
        }
        body
    }

    fn read_form(&mut self, body: &str) -> form::Form {
        let mut f = form::Form::default();
        let mut stray = Vec::new();
        for (key, value) in &self.headers {
            if self.keys.kind(key) != form::KeyKind::Other {
                stray.push((key.clone(), unfold(value)));
            }
        }
        for (key, value) in stray {
            let what = format!(
                "form line '{}' among the headers",
                decode::clip(&key, 40)
            );
            self.defect(&what);
            f.add(&key, &value, &self.keys);
        }
        f.read_text(body, &self.keys);
        f.note_invalid(&mut self.defects);
        f
    }

    fn auto_reason(
        &self,
        sender: Option<&str>,
        from_address: Option<&str>,
        auto_submitted: Option<&str>,
        precedence: Option<&str>,
    ) -> Option<String> {
        let daemon = |a: &str| {
            let local = a.rsplit_once('@').map_or(a, |(l, _)| l);
            local.eq_ignore_ascii_case("mailer-daemon")
        };
        if sender == Some("") {
            return Some("null envelope sender".into());
        }
        if sender.is_some_and(daemon) {
            return Some("envelope sender MAILER-DAEMON".into());
        }
        if from_address.is_some_and(daemon) {
            return Some("From MAILER-DAEMON".into());
        }
        if let Some(v) = auto_submitted {
            let kind = v.split(';').next().unwrap_or("").trim();
            if !kind.eq_ignore_ascii_case("no") {
                return Some(format!(
                    "Auto-Submitted: {}",
                    decode::clip(kind, 40)
                ));
            }
        }
        if self.top_type == "multipart/report" {
            return Some("delivery report (multipart/report)".into());
        }
        for h in ["x-autoreply", "x-autorespond"] {
            if self.header(h).is_some() {
                return Some(format!("{} header", header_name(h)));
            }
        }
        if precedence == Some("auto_reply") {
            return Some("Precedence: auto_reply".into());
        }
        None
    }

    fn malformed_reason(
        &self,
        cut: bool,
        form: &form::Form,
    ) -> Option<String> {
        if cut {
            return Some("message cut off".into());
        }
        if let Some(why) = &self.unreadable {
            return Some(why.clone());
        }
        if !form.domains.is_empty() {
            return None;
        }
        Some(if form.invalid.is_empty() {
            "no domain name in the form".into()
        } else {
            "no valid domain name in the form".into()
        })
    }
}

/// More multipart containers than any request has; see `read_mail`.
const MAX_MULTIPARTS: usize = 100;

fn count_ignore_case(hay: &[u8], needle: &[u8]) -> usize {
    let first = needle[0];
    let mut count = 0;
    let mut pos = 0;
    while let Some(i) =
        memchr::memchr2(first, first.to_ascii_uppercase(), &hay[pos..])
    {
        let at = pos + i;
        if hay[at..].len() >= needle.len()
            && hay[at..at + needle.len()].eq_ignore_ascii_case(needle)
        {
            count += 1;
        }
        pos = at + 1;
    }
    count
}

fn key_is(h: &MailHeader, key: &str) -> bool {
    String::from_utf8_lossy(h.get_key_raw())
        .trim()
        .eq_ignore_ascii_case(key)
}

/// The part's body as written (transfer encoding not undone).
fn body_bytes<'a>(part: &'a ParsedMail<'a>) -> &'a [u8] {
    use mailparse::body::Body;
    match part.get_body_encoded() {
        Body::Base64(b) | Body::QuotedPrintable(b) => b.get_raw(),
        Body::SevenBit(b) | Body::EightBit(b) => b.get_raw(),
        Body::Binary(b) => b.get_raw(),
    }
}

/// A `.txt` attachment sent as application/octet-stream.
fn is_text_file(part: &ParsedMail) -> bool {
    if part.ctype.mimetype != "application/octet-stream" {
        return false;
    }
    let disposition = part.get_content_disposition();
    let name = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"));
    name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".txt"))
}

fn header_name(lower: &str) -> &'static str {
    match lower {
        "x-autoreply" => "X-Autoreply",
        _ => "X-Autorespond",
    }
}

/// A header value with its folding removed, not decoded.
fn unfold(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text: String =
        text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    text.trim().to_string()
}

fn lf_endings(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn message_id(value: String) -> Option<String> {
    let v = value.trim();
    let id = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => &v[a..=b],
        _ => v,
    };
    (!id.is_empty()).then(|| id.to_string())
}

/// `<a@b>` gives `a@b`, `<>` gives `""`.
fn return_path(value: &str) -> String {
    let v = value.trim();
    match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].trim().to_string(),
        _ => v.to_string(),
    }
}

/// The first address in a From header, as written.
fn address_in(from: &str) -> Option<String> {
    if let Ok(list) = mailparse::addrparse(from) {
        if let Some(mailparse::MailAddr::Single(s)) = list.iter().next() {
            if s.addr.contains('@') {
                return Some(s.addr.clone());
            }
        }
    }
    let angle = from.find('<').and_then(|a| {
        from[a + 1..].find('>').map(|b| &from[a + 1..a + 1 + b])
    });
    let word = from
        .split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .find(|w| w.contains('@'));
    angle
        .filter(|a| a.contains('@'))
        .or(word)
        .map(str::to_string)
}

fn fingerprint(from: &str, subject: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(lf_endings(from).as_bytes());
    h.update(b"\n");
    h.update(lf_endings(subject).as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}
