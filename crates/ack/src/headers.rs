//! Everything that takes text from a request and puts it into an
//! acknowledgement's header or envelope, made safe on the way: addresses
//! (IDN domains to A-labels), the quoted subject, the Message-ID the
//! acknowledgement replies to, and our own headers.
//!
//! Threat: every byte here came from a stranger. A CR or LF that reached
//! a header would let the sender add headers (or recipients) of their
//! own, so text is reduced to one clean line before lettre encodes it,
//! and a Message-ID that is not plainly one is dropped, not repaired.

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::Address;

/// The longest original subject quoted in an acknowledgement, in
/// characters; longer ones are cut and end with an ellipsis.
pub const SUBJECT_MAX: usize = 120;

/// The longest Message-ID repeated in In-Reply-To and References.
const MESSAGE_ID_MAX: usize = 250;

/// The reply address of a request, by the rule the acknowledgement
/// follows: Reply-To, else From, else the envelope sender. Each is a
/// header value as the sender wrote it (decoded), or the bare envelope
/// address. Returns the first usable address of the first field that
/// holds one, and that field's name.
pub fn reply_address(
    reply_to: Option<&str>,
    from: &str,
    envelope: Option<&str>,
) -> Option<(&'static str, String)> {
    let fields = [
        ("reply-to", reply_to.unwrap_or("")),
        ("from", from),
        ("envelope", envelope.unwrap_or("")),
    ];
    fields
        .into_iter()
        .find_map(|(name, value)| first_address(value).map(|a| (name, a)))
}

/// The first addr-spec in a header value: the inside of the first
/// `<...>` holding an `@`, else the first comma-separated item with its
/// comments removed.
pub fn first_address(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let inside = after[..close].trim();
        if inside.contains('@') {
            return Some(inside.to_string());
        }
        rest = &after[close + 1..];
    }
    let item = value.split(',').next().unwrap_or("");
    let item = strip_comments(item);
    item.split_whitespace()
        .find(|word| word.contains('@'))
        .map(|w| w.trim_matches(|c| c == '<' || c == '>').to_string())
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// An address ready for the envelope and the To header: the domain as
/// A-labels, lower case. The local part is kept as written (it may need
/// SMTPUTF8 if it is not ASCII; the relay decides).
pub fn to_ascii_address(addr: &str) -> Result<Address, String> {
    let addr = addr.trim();
    if addr.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("control character or space in address".to_string());
    }
    let (user, domain) = addr
        .rsplit_once('@')
        .ok_or_else(|| "no @ in address".to_string())?;
    if user.is_empty() {
        return Err("empty local part".to_string());
    }
    let ascii = domain_ascii(domain)?;
    Address::new(user, &ascii).map_err(|e| e.to_string())
}

/// A domain name as A-labels, lower case: `Café.fr` -> `xn--caf-dma.fr`.
pub fn domain_ascii(domain: &str) -> Result<String, String> {
    let domain = domain.trim().trim_end_matches('.');
    if domain.is_empty() {
        return Err("empty domain".to_string());
    }
    idna::domain_to_ascii(domain)
        .map_err(|_| format!("bad domain name '{domain}'"))
}

/// True for the null reverse path: an empty envelope sender, `<>`, or
/// the `MAILER-DAEMON` Postfix writes in the mbox From_ line for it.
pub fn is_null_sender(sender: &str) -> bool {
    let s = sender.trim();
    s.is_empty() || s == "<>" || s.eq_ignore_ascii_case("MAILER-DAEMON")
}

/// True when an address belongs to a mail system, not a person: its
/// local part is MAILER-DAEMON.
pub fn is_mailer_daemon(addr: &str) -> bool {
    let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
    local.trim().eq_ignore_ascii_case("mailer-daemon")
}

/// Untrusted text as one clean line: every control character (CR, LF,
/// TAB, C1 controls, the Unicode line separators) becomes a space,
/// spaces are collapsed, and the result is cut to `max` characters.
pub fn clean_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    for word in text
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// The Message-ID of a request in `<...>` form, if it plainly is one:
/// printable ASCII, no spaces or angle brackets inside, an `@`, and not
/// absurdly long. Anything else is left out of the reply headers.
pub fn reply_reference(message_id: Option<&str>) -> Option<String> {
    let id = message_id?.trim();
    let inner = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    let plain = !inner.is_empty()
        && inner.len() + 2 <= MESSAGE_ID_MAX
        && inner.contains('@')
        && inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    plain.then(|| format!("<{inner}>"))
}

/// The acknowledgement's own Message-ID, derived from the ticket alone,
/// so a repeat after a crash carries the same one and can be recognised.
pub fn ack_message_id(ticket: u64, host: &str) -> String {
    format!("<ack-{}@{host}>", spool::record::ticket_name(ticket))
}

/// `Auto-Submitted: auto-replied` (RFC 3834).
#[derive(Clone, Debug)]
pub struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(
        _: &str,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        let value = "auto-replied".to_string();
        HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            value.clone(),
            value,
        )
    }
}

/// What the raw header block of a request says about automatic mail,
/// read again here so that the acknowledgement stage does not rely on
/// the parser alone to keep it from answering a robot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderFacts {
    /// The topmost Return-Path is `<>`.
    pub null_return_path: bool,
    /// The Auto-Submitted value, lower case, when it is not `no`.
    pub auto_submitted: Option<String>,
    /// Content-Type multipart/report (a delivery or read report).
    pub report: bool,
    /// List-Id present, or Precedence list, bulk or junk.
    pub list: bool,
}

impl HeaderFacts {
    /// Scan the header block at the start of `raw` (up to the first
    /// empty line).
    pub fn scan(raw: &[u8]) -> HeaderFacts {
        let mut facts = HeaderFacts::default();
        let mut seen_return_path = false;
        for (name, value) in header_fields(raw) {
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "return-path" if !seen_return_path => {
                    seen_return_path = true;
                    let inner = value
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .trim();
                    facts.null_return_path = is_null_sender(inner);
                }
                "auto-submitted" => {
                    let word = first_word(value);
                    if !word.is_empty() && word != "no" {
                        facts.auto_submitted = Some(word);
                    }
                }
                "content-type" => {
                    facts.report |= first_word(value) == "multipart/report";
                }
                "list-id" => facts.list = true,
                "precedence" => {
                    let word = first_word(value);
                    facts.list |=
                        matches!(word.as_str(), "list" | "bulk" | "junk");
                }
                _ => {}
            }
        }
        facts
    }
}

/// The token a structured value starts with, lower case, without
/// parameters or comments.
pub(crate) fn first_word(value: &str) -> String {
    let end = value
        .find(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .unwrap_or(value.len());
    value[..end].to_ascii_lowercase()
}

/// The (name, unfolded value) pairs of the header block, as lossy UTF-8.
fn header_fields(raw: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(text.trim());
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            fields.push((name.trim().to_string(), value.to_string()));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_address_prefers_reply_to_then_from_then_envelope() {
        let r = reply_address(Some("R <r@x.fr>"), "f@x.fr", Some("e@x.fr"));
        assert_eq!(r, Some(("reply-to", "r@x.fr".to_string())));
        let r = reply_address(Some("  "), "Jean <f@x.fr>", Some("e@x.fr"));
        assert_eq!(r, Some(("from", "f@x.fr".to_string())));
        let r = reply_address(None, "undisclosed", Some("e@x.fr"));
        assert_eq!(r, Some(("envelope", "e@x.fr".to_string())));
        assert_eq!(reply_address(None, "", None), None);
    }

    #[test]
    fn first_address_handles_common_shapes() {
        let cases = [
            ("\"Dupont, Jean\" <jean@x.fr>", "jean@x.fr"),
            ("jean@x.fr (Jean Dupont), autre@y.fr", "jean@x.fr"),
            ("Jean <not-an-address> <jean@x.fr>", "jean@x.fr"),
            ("<jean@x.fr>", "jean@x.fr"),
        ];
        for (input, want) in cases {
            assert_eq!(first_address(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn idn_domains_become_a_labels() {
        let a = to_ascii_address("Jean@Café.Example").unwrap();
        assert_eq!(a.to_string(), "Jean@xn--caf-dma.example");
        assert!(to_ascii_address("a b@x.fr").is_err());
        assert!(to_ascii_address("x.fr").is_err());
        assert!(to_ascii_address("a@x.fr\r\nBcc: v@y.fr").is_err());
    }

    #[test]
    fn clean_line_removes_breaks_and_cuts() {
        assert_eq!(
            clean_line("a\r\nBcc: x@y\u{2028}z\t\u{85}", 80),
            "a Bcc: x@y z"
        );
        assert_eq!(clean_line("éééé", 2), "éé…");
    }

    #[test]
    fn only_plain_message_ids_are_repeated() {
        assert_eq!(
            reply_reference(Some(" <a.b@c> ")).as_deref(),
            Some("<a.b@c>")
        );
        assert_eq!(reply_reference(Some("a@c")).as_deref(), Some("<a@c>"));
        assert_eq!(reply_reference(Some("<a@c>\r\nBcc: x")), None);
        assert_eq!(reply_reference(Some("<a b@c>")), None);
        assert_eq!(reply_reference(Some("<é@c>")), None);
        assert_eq!(reply_reference(None), None);
    }

    #[test]
    fn header_scan_finds_robots() {
        let raw = b"Return-Path: <>\r\nReturn-Path: <x@y>\r\n\
            Auto-Submitted: Auto-Replied (vacation)\r\nContent-Type:\r\n \
            multipart/report; report-type=delivery-status\r\n\
            Precedence: bulk\r\n\r\nList-Id: not a header\r\n";
        let f = HeaderFacts::scan(raw);
        assert!(f.null_return_path && f.report && f.list);
        assert_eq!(f.auto_submitted.as_deref(), Some("auto-replied"));
        let f = HeaderFacts::scan(b"Auto-Submitted: no\nFrom: a@b\n\n");
        assert_eq!(f, HeaderFacts::default());
    }

    #[test]
    fn null_senders_and_daemons() {
        for s in ["", "<>", " MAILER-DAEMON "] {
            assert!(is_null_sender(s), "{s}");
        }
        assert!(!is_null_sender("a@b"));
        assert!(is_mailer_daemon("Mailer-Daemon@x.fr"));
        assert!(!is_mailer_daemon("daemon@x.fr"));
    }
}
