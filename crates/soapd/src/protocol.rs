//! SOAP 1.1 on the wire: reading calls, writing answers and faults.
//!
//! design rationale: the registration system's Perl client (SOAP::Lite,
//! any version since 2004) and Python tooling (zeep, suds) disagree on
//! almost everything a SOAP message can vary in.  Reading is therefore
//! tolerant in the way the research notes (soap-interop §6) lay out:
//! dispatch on the local name of the Body's first child (never on
//! SOAPAction), parameters by local name in any namespace or else by
//! position (SOAP::Lite's `c-gensymN`), `xsi:type` ignored except for
//! base64, which SOAP::Lite uses for every non-ASCII string.  Writing is
//! strict and chooses between two shapes (§7): rpc/encoded, with
//! `xsi:type` on every leaf and SOAP-ENC arrays, when the call carried
//! the SOAP-ENC `encodingStyle` (every SOAP::Lite call does), and the
//! document/literal shape of the WSDL otherwise (zeep, suds).  No single
//! shape works for both.
//!
//! Threats: the body comes from the network.  DTDs are refused before
//! any entity is expanded (billion laughs), names, attributes, text and
//! nesting are bounded, and text written back never holds a character
//! XML 1.0 forbids: mail carries them, parsers choke on them.

use base64::Engine;
use std::fmt::Write as _;
use xml::attribute::OwnedAttribute;
use xml::name::OwnedName;
use xml::namespace::Namespace;
use xml::reader::{ParserConfig, XmlEvent};

pub const NS_SUZANNE: &str = "urn:Suzanne";
pub const NS_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_ENV12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
const NS_XSI: [&str; 2] = [
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/1999/XMLSchema-instance",
];
const NS_XSD: [&str; 2] = [
    "http://www.w3.org/2001/XMLSchema",
    "http://www.w3.org/1999/XMLSchema",
];

/// Deeper than this is no SOAP call of ours.
const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 10_000;

/// The shape an answer takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// rpc/encoded: typed leaves, SOAP-ENC arrays (SOAP::Lite).
    Encoded,
    /// document/literal wrapped, exactly the WSDL (zeep, suds).
    Literal,
}

/// One parameter of a call, or one element inside a parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Param {
    /// Local name, namespace dropped.
    pub name: String,
    /// Text content, base64 decoded when typed so; `None` when nil.
    pub value: Option<String>,
    /// The element had child elements (an array or a struct).
    pub complex: bool,
    /// Those child elements, in document order.
    pub children: Vec<Param>,
}

impl Param {
    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Param> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// A SOAP call as read from a request body.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Local name of the Body's first child.
    pub op: String,
    /// Its namespace, echoed on rpc/encoded answers.
    pub op_ns: Option<String>,
    pub params: Vec<Param>,
    pub style: Style,
}

impl Call {
    /// The parameter named `names[i]`, or, when no child has that name,
    /// the `i`-th child if its name is none of `names` (`c-gensym3`).
    pub fn param(&self, names: &[&str], i: usize) -> Option<&Param> {
        let name = names[i];
        if let Some(p) = self.params.iter().find(|p| p.name == name) {
            return Some(p);
        }
        self.params
            .get(i)
            .filter(|p| !names.contains(&p.name.as_str()))
    }
}

/// SOAP 1.1 fault codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
    MustUnderstand,
}

impl FaultCode {
    fn qname(self) -> &'static str {
        match self {
            FaultCode::Client => "SOAP-ENV:Client",
            FaultCode::Server => "SOAP-ENV:Server",
            FaultCode::VersionMismatch => "SOAP-ENV:VersionMismatch",
            FaultCode::MustUnderstand => "SOAP-ENV:MustUnderstand",
        }
    }
}

/// A SOAP fault: sent with HTTP 500, always.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub code: FaultCode,
    /// The contract's machine-readable code (`stale-lease`, ...).
    pub detail: &'static str,
    /// English, for people.
    pub string: String,
    pub ticket: Option<u64>,
}

impl Fault {
    pub fn client(detail: &'static str, string: impl Into<String>) -> Self {
        Fault {
            code: FaultCode::Client,
            detail,
            string: string.into(),
            ticket: None,
        }
    }

    pub fn server(detail: &'static str, string: impl Into<String>) -> Self {
        Fault {
            code: FaultCode::Server,
            ..Fault::client(detail, string)
        }
    }

    pub fn with_code(mut self, code: FaultCode) -> Self {
        self.code = code;
        self
    }

    pub fn with_ticket(mut self, ticket: u64) -> Self {
        self.ticket = Some(ticket);
        self
    }

    fn malformed(why: impl std::fmt::Display) -> Self {
        Fault::client("bad-request", format!("malformed SOAP request: {why}"))
    }
}

/// Reads a SOAP 1.1 call.  `content_type` is the HTTP header (its
/// charset, when given, wins over the XML declaration).
pub fn read_call(body: &[u8], content_type: &str) -> Result<Call, Fault> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let limit = body.len().max(64);
    let config = ParserConfig::new()
        .content_type(content_type)
        .whitespace_to_characters(true)
        .cdata_to_characters(true)
        .coalesce_characters(true)
        .ignore_comments(true)
        .allow_multiple_root_elements(false)
        .max_entity_expansion_length(0)
        .max_entity_expansion_depth(0)
        .max_name_length(512)
        .max_attributes(64)
        .max_attribute_length(limit)
        .max_data_length(limit);
    let mut reader = Reader::default();
    for event in config.create_reader(body) {
        let event = event.map_err(Fault::malformed)?;
        if reader.event(event)? {
            break;
        }
        // The whole document is read: a torn or malformed tail is a
        // malformed request, not a call.
    }
    reader.finish()
}

/// Where the reader is in the envelope.
#[derive(Default)]
struct Reader {
    depth: usize,
    elements: usize,
    /// Path of element local names from the root, with what each is.
    stack: Vec<Place>,
    encoded: bool,
    op: Option<(String, Option<String>)>,
    params: Vec<Param>,
    /// The parameter being read, and the elements open inside it.
    open: Vec<Open>,
    not_understood: Option<String>,
}

/// An element of a parameter, while it is read.
struct Open {
    param: Param,
    text: String,
    base64: bool,
    nil: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Envelope,
    Header,
    HeaderBlock,
    Body,
    Op,
    Param,
    Inside,
    Other,
}

impl Reader {
    /// Takes one event; true when the rest of the document is of no use.
    fn event(&mut self, event: XmlEvent) -> Result<bool, Fault> {
        match event {
            XmlEvent::Doctype { .. } => {
                return Err(Fault::client(
                    "bad-request",
                    "document type declarations are not accepted",
                ))
            }
            XmlEvent::StartElement {
                name,
                attributes,
                namespace,
            } => self.start(&name, &attributes, &namespace)?,
            XmlEvent::EndElement { .. } => self.end(),
            XmlEvent::Characters(s)
            | XmlEvent::CData(s)
            | XmlEvent::Whitespace(s) => {
                if let Some(open) = self.open.last_mut() {
                    open.text.push_str(&s);
                }
            }
            XmlEvent::EndDocument => return Ok(true),
            _ => {}
        }
        Ok(false)
    }

    fn start(
        &mut self,
        name: &OwnedName,
        attrs: &[OwnedAttribute],
        ns: &Namespace,
    ) -> Result<(), Fault> {
        self.depth += 1;
        self.elements += 1;
        if self.depth > MAX_DEPTH || self.elements > MAX_ELEMENTS {
            return Err(Fault::client("bad-request", "request too complex"));
        }
        let in_env = name.namespace.as_deref() == Some(NS_ENV);
        let local = name.local_name.as_str();
        let place = match self.stack.last().copied() {
            None => {
                check_envelope(name)?;
                Place::Envelope
            }
            Some(Place::Envelope) if in_env && local == "Header" => {
                Place::Header
            }
            Some(Place::Envelope) if in_env && local == "Body" => Place::Body,
            Some(Place::Header) => {
                if must_understand(attrs) && self.not_understood.is_none() {
                    self.not_understood = Some(display_name(name));
                }
                Place::HeaderBlock
            }
            Some(Place::Body) if self.op.is_none() => {
                self.op = Some((local.to_owned(), name.namespace.clone()));
                Place::Op
            }
            Some(Place::Op) => Place::Param,
            Some(Place::Param) | Some(Place::Inside) => Place::Inside,
            Some(_) => Place::Other,
        };
        if matches!(place, Place::Envelope | Place::Body | Place::Op)
            && has_soap_encoding(attrs)
        {
            self.encoded = true;
        }
        if matches!(place, Place::Param | Place::Inside) {
            if let Some(parent) = self.open.last_mut() {
                parent.param.complex = true;
                // Text between child elements is layout, not a value.
                parent.text.clear();
            }
            self.open.push(Open {
                param: Param {
                    name: local.to_owned(),
                    ..Param::default()
                },
                text: String::new(),
                base64: is_base64(attrs, ns),
                nil: is_nil(attrs),
            });
        }
        self.stack.push(place);
        Ok(())
    }

    fn end(&mut self) {
        self.depth -= 1;
        if !matches!(self.stack.pop(), Some(Place::Param | Place::Inside)) {
            return;
        }
        let Some(mut open) = self.open.pop() else {
            return;
        };
        open.param.value = if open.nil {
            None
        } else if open.base64 {
            Some(decode_base64_text(&open.text))
        } else {
            Some(open.text)
        };
        match self.open.last_mut() {
            Some(parent) => parent.param.children.push(open.param),
            None => self.params.push(open.param),
        }
    }

    fn finish(self) -> Result<Call, Fault> {
        if let Some(header) = self.not_understood {
            return Err(Fault::client(
                "bad-request",
                format!("header {header} must be understood and is not"),
            )
            .with_code(FaultCode::MustUnderstand));
        }
        let Some((op, op_ns)) = self.op else {
            return Err(Fault::malformed("no operation in the SOAP Body"));
        };
        Ok(Call {
            op,
            op_ns,
            params: self.params,
            style: if self.encoded {
                Style::Encoded
            } else {
                Style::Literal
            },
        })
    }
}

fn check_envelope(name: &OwnedName) -> Result<(), Fault> {
    let ns = name.namespace.as_deref();
    if name.local_name != "Envelope" {
        return Err(Fault::malformed("the root element is not an Envelope"));
    }
    match ns {
        Some(NS_ENV) => Ok(()),
        Some(NS_ENV12) => Err(version_mismatch()),
        _ => Err(Fault::client(
            "bad-request",
            "the Envelope is not in the SOAP 1.1 namespace",
        )
        .with_code(FaultCode::VersionMismatch)),
    }
}

/// The answer to a SOAP 1.2 request: this service speaks SOAP 1.1.
pub fn version_mismatch() -> Fault {
    Fault::client("bad-request", "only SOAP 1.1 is supported")
        .with_code(FaultCode::VersionMismatch)
}

fn display_name(name: &OwnedName) -> String {
    match &name.namespace {
        Some(ns) => format!("{{{ns}}}{}", name.local_name),
        None => name.local_name.clone(),
    }
}

fn attr<'a>(attrs: &'a [OwnedAttribute], local: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.name.local_name == local)
        .map(|a| a.value.as_str())
}

fn xsi_attr<'a>(attrs: &'a [OwnedAttribute], local: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| {
            a.name.local_name == local
                && a.name
                    .namespace
                    .as_deref()
                    .is_some_and(|ns| NS_XSI.contains(&ns))
        })
        .map(|a| a.value.trim())
}

fn has_soap_encoding(attrs: &[OwnedAttribute]) -> bool {
    attr(attrs, "encodingStyle").is_some_and(|v| v.contains(NS_ENC))
}

fn must_understand(attrs: &[OwnedAttribute]) -> bool {
    attrs.iter().any(|a| {
        a.name.local_name == "mustUnderstand"
            && a.name.namespace.as_deref() == Some(NS_ENV)
            && matches!(a.value.trim(), "1" | "true")
    })
}

fn is_nil(attrs: &[OwnedAttribute]) -> bool {
    let yes = |v: Option<&str>| matches!(v, Some("1" | "true"));
    yes(xsi_attr(attrs, "nil")) || yes(xsi_attr(attrs, "null"))
}

/// `xsd:base64Binary` (either schema year) or `SOAP-ENC:base64`, the
/// prefix resolved in the element's scope.  An unbound prefix is judged
/// by the local name alone.
fn is_base64(attrs: &[OwnedAttribute], ns: &Namespace) -> bool {
    let Some(qname) = xsi_attr(attrs, "type") else {
        return false;
    };
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", qname),
    };
    let uri = ns.get(prefix);
    match local {
        "base64Binary" => uri.is_none_or(|u| NS_XSD.contains(&u)),
        "base64" => uri.is_none_or(|u| u == NS_ENC || NS_XSD.contains(&u)),
        _ => false,
    }
}

/// SOAP::Lite sends a non-ASCII string as the base64 of its UTF-8
/// bytes, or of its Latin-1 bytes when every character is below 256.
/// Text that is not base64 at all is kept as sent.
pub fn decode_base64_text(text: &str) -> String {
    let compact: String =
        text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
        },
        Err(_) => text.to_owned(),
    }
}

/// True for characters an XML 1.0 document may carry.
fn xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Appends `s` as XML text or attribute value.  CR is escaped because
/// parsers turn a raw CR into LF and mail bodies are CRLF; characters
/// XML forbids become U+FFFD (the `raw` field keeps the exact bytes).
pub fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// One request as the contract's `Request` type carries it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestOut {
    pub id: u64,
    pub arrival: String,
    pub envelope_sender: String,
    pub from: String,
    pub message_id: String,
    pub subject: String,
    pub domains: Vec<String>,
    pub domains_ascii: Vec<String>,
    pub form: Vec<(String, String)>,
    pub body: String,
    pub raw: Vec<u8>,
    pub sha256: String,
    pub state: String,
    pub lease_token: String,
    pub lease_expires: Option<String>,
    /// The elements to send; the others are left out.
    pub fields: Fields,
}

/// The elements of a `Request` a caller asked for (GetRequests'
/// `fields`).  `id` and `leaseToken` always go: without them a lease
/// cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields(u16);

impl Fields {
    /// The elements that may be left out, in the contract's order.
    pub const NAMES: [&'static str; 13] = [
        "arrival",
        "envelopeSender",
        "from",
        "messageId",
        "subject",
        "domains",
        "domainsAscii",
        "form",
        "body",
        "raw",
        "sha256",
        "state",
        "leaseExpires",
    ];
    const ALWAYS: [&'static str; 2] = ["id", "leaseToken"];
    pub const ALL: Fields = Fields((1 << Fields::NAMES.len()) - 1);

    /// Names separated by spaces or commas; empty means all.  An unknown
    /// name is refused (`Err` names it): a misspelt field silently left
    /// out would look like an empty one.
    pub fn parse(text: &str) -> Result<Fields, String> {
        let mut bits = 0;
        let mut any = false;
        for name in text.split([' ', ',', '\t', '\n', '\r']) {
            if name.is_empty() {
                continue;
            }
            any = true;
            if Fields::ALWAYS.contains(&name) {
                continue;
            }
            match Fields::NAMES.iter().position(|n| *n == name) {
                Some(i) => bits |= 1 << i,
                None => return Err(name.to_owned()),
            }
        }
        Ok(if any { Fields(bits) } else { Fields::ALL })
    }

    pub fn has(self, name: &str) -> bool {
        Fields::NAMES
            .iter()
            .position(|n| *n == name)
            .is_none_or(|i| self.0 & (1 << i) != 0)
    }
}

impl Default for Fields {
    fn default() -> Fields {
        Fields::ALL
    }
}

/// The answer to one item of CompleteRequests.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemResult {
    /// The item's ticket; 0 when it named none that could be read.
    pub id: u64,
    /// `completed`, or the fault code the item alone would have had.
    pub status: &'static str,
}

/// QueueStatus figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusOut {
    pub pending: u64,
    pub leased: u64,
    pub held: u64,
    pub completed: u64,
    pub oldest_pending_age: u64,
}

/// What an operation answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// GetRequests: `request*`.
    Requests(Vec<RequestOut>),
    /// GetRequest: `request`.
    Request(Box<RequestOut>),
    /// CompleteRequest, HoldRequest, ReleaseRequest: `status`.
    Status(&'static str),
    /// CompleteRequests: `result*`, one per item, in order.
    Results(Vec<ItemResult>),
    /// ExtendLease: `leaseExpires`.
    LeaseExpires(String),
    QueueStatus(StatusOut),
}

fn envelope_open(out: &mut String) {
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope \
         xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:tns=\"urn:Suzanne\"><SOAP-ENV:Body>",
    );
}

fn envelope_close(out: &mut String) {
    out.push_str("</SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
}

/// Writes an answer's document.  `op_ns` is the namespace the call's
/// operation element had: rpc custom echoes it (SOAP::Lite ignores it).
pub fn write_answer(
    op: &str,
    op_ns: Option<&str>,
    style: Style,
    answer: &Answer,
) -> String {
    let mut w = Writer {
        out: String::with_capacity(answer_size_hint(answer)),
        enc: style == Style::Encoded,
    };
    envelope_open(&mut w.out);
    let (tag, decl) = match (w.enc, op_ns) {
        (true, Some(ns)) if !ns.is_empty() => (
            format!("ns1:{op}Response"),
            format!(" xmlns:ns1=\"{}\"", escape(ns)),
        ),
        (true, _) => (format!("{op}Response"), String::new()),
        (false, _) => {
            (format!("{op}Response"), " xmlns=\"urn:Suzanne\"".to_owned())
        }
    };
    let _ = write!(w.out, "<{tag}{decl}");
    if w.enc {
        w.out.push_str(
            " SOAP-ENV:encodingStyle=\
             \"http://schemas.xmlsoap.org/soap/encoding/\"",
        );
    }
    w.out.push('>');
    w.answer(answer);
    let _ = write!(w.out, "</{tag}>");
    envelope_close(&mut w.out);
    w.out
}

fn answer_size_hint(answer: &Answer) -> usize {
    let one = |r: &RequestOut| 1024 + r.body.len() + r.raw.len() * 4 / 3;
    match answer {
        Answer::Requests(rs) => 512 + rs.iter().map(one).sum::<usize>(),
        Answer::Request(r) => 512 + one(r),
        Answer::Results(rs) => 512 + rs.len() * 160,
        _ => 1024,
    }
}

/// Writes elements in one of the two styles.
struct Writer {
    out: String,
    enc: bool,
}

impl Writer {
    fn answer(&mut self, answer: &Answer) {
        match answer {
            Answer::Requests(rs) => {
                if self.enc {
                    self.open_array("return", "tns:Request", rs.len());
                }
                for r in rs {
                    self.request(r);
                }
                if self.enc {
                    self.close("return");
                }
            }
            Answer::Request(r) => self.request(r),
            Answer::Status(s) => self.leaf("status", "string", s),
            Answer::Results(rs) => {
                if self.enc {
                    let ty = "tns:CompletionResult";
                    self.open_array("return", ty, rs.len());
                }
                for r in rs {
                    self.open_struct("result", "tns:CompletionResult");
                    self.leaf("id", "long", &r.id.to_string());
                    self.leaf("status", "string", r.status);
                    self.close("result");
                }
                if self.enc {
                    self.close("return");
                }
            }
            Answer::LeaseExpires(t) => {
                self.leaf("leaseExpires", "dateTime", t)
            }
            Answer::QueueStatus(s) => {
                self.leaf("pending", "int", &s.pending.to_string());
                self.leaf("leased", "int", &s.leased.to_string());
                self.leaf("held", "int", &s.held.to_string());
                self.leaf("completed", "int", &s.completed.to_string());
                let age = s.oldest_pending_age.to_string();
                self.leaf("oldestPendingAge", "int", &age);
            }
        }
    }

    fn request(&mut self, r: &RequestOut) {
        let has = |name| r.fields.has(name);
        self.open_struct("request", "tns:Request");
        self.leaf("id", "long", &r.id.to_string());
        let texts = [
            ("arrival", "dateTime", &r.arrival),
            ("envelopeSender", "string", &r.envelope_sender),
            ("from", "string", &r.from),
            ("messageId", "string", &r.message_id),
            ("subject", "string", &r.subject),
        ];
        for (name, xsd, value) in texts {
            if has(name) {
                self.leaf(name, xsd, value);
            }
        }
        if has("domains") {
            self.string_list("domains", &r.domains);
        }
        if has("domainsAscii") {
            self.string_list("domainsAscii", &r.domains_ascii);
        }
        if has("form") {
            self.form(&r.form);
        }
        if has("body") {
            self.leaf("body", "string", &r.body);
        }
        if has("raw") {
            let raw = base64::engine::general_purpose::STANDARD.encode(&r.raw);
            self.leaf("raw", "base64Binary", &raw);
        }
        if has("sha256") {
            self.leaf("sha256", "string", &r.sha256);
        }
        if has("state") {
            self.leaf("state", "string", &r.state);
        }
        self.leaf("leaseToken", "string", &r.lease_token);
        match &r.lease_expires {
            _ if !has("leaseExpires") => {}
            Some(t) => self.leaf("leaseExpires", "dateTime", t),
            // Literal: the element is optional and left out.
            None if self.enc => self.out.push_str(
                "<leaseExpires xsi:type=\"xsd:dateTime\" xsi:nil=\"true\"/>",
            ),
            None => {}
        }
        self.close("request");
    }

    fn form(&mut self, form: &[(String, String)]) {
        if self.enc {
            self.open_array("form", "tns:FormField", form.len());
        } else {
            self.out.push_str("<form>");
        }
        for (name, value) in form {
            self.open_struct("field", "tns:FormField");
            self.leaf("name", "string", name);
            self.leaf("value", "string", value);
            self.close("field");
        }
        self.close("form");
    }

    fn string_list(&mut self, name: &str, items: &[String]) {
        if self.enc {
            self.open_array(name, "xsd:string", items.len());
        } else {
            let _ = write!(self.out, "<{name}>");
        }
        for d in items {
            self.leaf("domain", "string", d);
        }
        self.close(name);
    }

    fn leaf(&mut self, name: &str, xsd: &str, value: &str) {
        if self.enc {
            let _ = write!(self.out, "<{name} xsi:type=\"xsd:{xsd}\">");
        } else {
            let _ = write!(self.out, "<{name}>");
        }
        push_escaped(&mut self.out, value);
        let _ = write!(self.out, "</{name}>");
    }

    fn open_struct(&mut self, name: &str, ty: &str) {
        if self.enc {
            let _ = write!(self.out, "<{name} xsi:type=\"{ty}\">");
        } else {
            let _ = write!(self.out, "<{name}>");
        }
    }

    fn open_array(&mut self, name: &str, item: &str, n: usize) {
        let _ = write!(
            self.out,
            "<{name} xsi:type=\"SOAP-ENC:Array\" \
             SOAP-ENC:arrayType=\"{item}[{n}]\">"
        );
    }

    fn close(&mut self, name: &str) {
        let _ = write!(self.out, "</{name}>");
    }
}

/// Writes a fault document (sent with HTTP 500).
pub fn write_fault(f: &Fault) -> String {
    let mut out = String::with_capacity(1024);
    envelope_open(&mut out);
    out.push_str("<SOAP-ENV:Fault><faultcode>");
    out.push_str(f.code.qname());
    out.push_str("</faultcode><faultstring>");
    push_escaped(&mut out, &f.string);
    out.push_str(
        "</faultstring><detail><s:fault xmlns:s=\"urn:Suzanne\"><code>",
    );
    push_escaped(&mut out, f.detail);
    out.push_str("</code>");
    if let Some(t) = f.ticket {
        let _ = write!(out, "<ticket>{t}</ticket>");
    }
    out.push_str("</s:fault></detail></SOAP-ENV:Fault>");
    envelope_close(&mut out);
    out
}

#[cfg(test)]
mod tests;
