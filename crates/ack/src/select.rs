//! Which requests get an acknowledgement, and which never do.
//!
//! RFC 3834 forbids answering robots: a null reverse path, MAILER-DAEMON,
//! `Auto-Submitted` other than `no`, delivery reports, list traffic. The
//! parser's classification (the record's kind and flags) is checked
//! first, then the raw header block is read again (see
//! [`HeaderFacts`]), so one mistake upstream does not start a mail loop.
//! Every refusal is a reason word, recorded in the journal as a skipped
//! acknowledgement so the reports can account for every request.

use lettre::Address;
use spool::{Kind, Record};

use crate::config::Duplicates;
use crate::headers::{self, HeaderFacts};

/// What to do with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Never acknowledge; the reason starts with a fixed word.
    Skip(String),
    /// Acknowledge to this address (domain in A-labels).
    Ack(Address),
    /// A duplicate: a short note pointing at the first ticket.
    Note(Address, u64),
}

/// The allow-list: addresses and domains that may receive
/// acknowledgements, compared in lower case with A-label domains.
#[derive(Clone, Debug, Default)]
pub struct Allow {
    addresses: Vec<String>,
    domains: Vec<String>,
}

impl Allow {
    /// Read the configured entries; an entry that is not an address or
    /// a domain name is an error.
    pub fn new(entries: &[String]) -> Result<Allow, String> {
        let mut allow = Allow::default();
        for entry in entries {
            let entry = entry.trim().trim_start_matches('@');
            if entry.contains('@') {
                let a = headers::to_ascii_address(entry)
                    .map_err(|e| format!("allow entry '{entry}': {e}"))?;
                allow.addresses.push(address_key(&a));
            } else {
                let d = headers::domain_ascii(entry)
                    .map_err(|e| format!("allow entry '{entry}': {e}"))?;
                allow.domains.push(d);
            }
        }
        Ok(allow)
    }

    /// True when the list is empty or names the address or its domain.
    pub fn permits(&self, to: &Address) -> bool {
        if self.addresses.is_empty() && self.domains.is_empty() {
            return true;
        }
        self.addresses.contains(&address_key(to))
            || self.domains.iter().any(|d| d == to.domain())
    }
}

/// An address as a map key: lower case throughout. Local parts are
/// case-sensitive in theory and never in a registrar's practice.
pub fn address_key(a: &Address) -> String {
    a.to_string().to_lowercase()
}

/// The policy a decision follows.
#[derive(Clone, Debug)]
pub struct Policy {
    pub duplicates: Duplicates,
    pub allow: Allow,
}

/// Decide for one request, from its record and its raw header block.
pub fn decide(r: &Record, facts: &HeaderFacts, policy: &Policy) -> Decision {
    if let Some(reason) = robot(r, facts) {
        return Decision::Skip(reason);
    }
    let envelope = r.envelope_sender.as_deref();
    let Some((field, addr)) =
        headers::reply_address(r.reply_to.as_deref(), &r.from, envelope)
    else {
        return Decision::Skip("no-address".to_string());
    };
    if headers::is_mailer_daemon(&addr) {
        return Decision::Skip(format!("mailer-daemon: {field}"));
    }
    let to = match headers::to_ascii_address(&addr) {
        Ok(a) => a,
        Err(e) => return Decision::Skip(format!("bad-address: {field}: {e}")),
    };
    if !policy.allow.permits(&to) {
        return Decision::Skip("not-allowed".to_string());
    }
    match (r.kind, r.dup_of, policy.duplicates) {
        (Kind::Duplicate, Some(first), Duplicates::Note) => {
            Decision::Note(to, first)
        }
        (Kind::Duplicate, Some(first), Duplicates::Off) => {
            Decision::Skip(format!("duplicate: of ticket {first}"))
        }
        (Kind::Duplicate, None, _) => {
            Decision::Skip("duplicate: first ticket unknown".to_string())
        }
        _ => Decision::Ack(to),
    }
}

/// Why a request must not be answered at all, if it must not.
fn robot(r: &Record, facts: &HeaderFacts) -> Option<String> {
    match r.kind {
        Kind::Auto => return Some(with_detail("auto", &r.reason_line())),
        Kind::Malformed => {
            return Some(with_detail("malformed", &r.reason_line()))
        }
        Kind::Request | Kind::Duplicate => {}
    }
    if r.incomplete {
        return Some("incomplete".to_string());
    }
    let null_envelope = r
        .envelope_sender
        .as_deref()
        .is_some_and(headers::is_null_sender);
    if null_envelope || facts.null_return_path {
        return Some("null-sender".to_string());
    }
    if headers::is_mailer_daemon(&r.from) {
        return Some("mailer-daemon: from".to_string());
    }
    let auto = r
        .auto_submitted
        .as_deref()
        .map(|v| headers::first_word(v.trim()))
        .filter(|w| !w.is_empty() && w != "no")
        .or_else(|| facts.auto_submitted.clone());
    if let Some(value) = auto {
        let value = headers::clean_line(&value, 40);
        return Some(format!("auto-submitted: {value}"));
    }
    if facts.report {
        return Some("delivery-report".to_string());
    }
    if r.list || facts.list {
        return Some("list".to_string());
    }
    None
}

fn with_detail(word: &str, detail: &str) -> String {
    let detail = headers::clean_line(detail, 200);
    if detail.is_empty() {
        word.to_string()
    } else {
        format!("{word}: {detail}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spool::record::TimeSource;
    use spool::ArrivalKey;

    pub fn record(ticket: u64) -> Record {
        Record {
            ticket,
            batch: "000000000001.mbox".into(),
            file: String::new(),
            offset: 0,
            size: 100,
            sha256: "ab".repeat(32),
            arrival: "2004-05-11T09:00:00.123456Z".into(),
            key: ArrivalKey {
                arrival_us: 0,
                rotation: 1,
                position: 0,
            },
            time_source: TimeSource::Received,
            received: None,
            envelope_sender: Some("reg@bureau.example".into()),
            from: "Bureau <reg@bureau.example>".into(),
            reply_to: None,
            message_id: Some("<m1@bureau.example>".into()),
            subject: "Demande".into(),
            date: None,
            domains: vec![],
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

    fn policy() -> Policy {
        Policy {
            duplicates: Duplicates::Note,
            allow: Allow::default(),
        }
    }

    fn skip_word(r: &Record, f: &HeaderFacts, p: &Policy) -> String {
        match decide(r, f, p) {
            Decision::Skip(reason) => {
                reason.split(':').next().unwrap().to_string()
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn robots_are_never_answered() {
        let f = HeaderFacts::default();
        let p = policy();
        let mut cases: Vec<(Record, &str)> = Vec::new();
        let mut r = record(1);
        r.kind = Kind::Auto;
        cases.push((r, "auto"));
        let mut r = record(1);
        r.kind = Kind::Malformed;
        cases.push((r, "malformed"));
        let mut r = record(1);
        r.incomplete = true;
        cases.push((r, "incomplete"));
        let mut r = record(1);
        r.envelope_sender = Some(String::new());
        cases.push((r, "null-sender"));
        let mut r = record(1);
        r.envelope_sender = Some("MAILER-DAEMON".into());
        cases.push((r, "null-sender"));
        let mut r = record(1);
        r.from = "MAILER-DAEMON@mx.example".into();
        cases.push((r, "mailer-daemon"));
        let mut r = record(1);
        r.auto_submitted = Some("auto-generated".into());
        cases.push((r, "auto-submitted"));
        let mut r = record(1);
        r.list = true;
        cases.push((r, "list"));
        for (r, want) in &cases {
            assert_eq!(skip_word(r, &f, &p), *want, "{r:?}");
        }
        let mut r = record(1);
        r.auto_submitted = Some("no".into());
        assert!(matches!(decide(&r, &f, &p), Decision::Ack(_)));
    }

    #[test]
    fn raw_headers_catch_what_the_record_missed() {
        let r = record(1);
        let p = policy();
        for (raw, want) in [
            (&b"Return-Path: <>\n\n"[..], "null-sender"),
            (b"Auto-Submitted: auto-replied\n\n", "auto-submitted"),
            (
                b"Content-Type: multipart/report; x=y\n\n",
                "delivery-report",
            ),
            (b"List-Id: <l.x>\n\n", "list"),
            (b"Precedence: junk\n\n", "list"),
        ] {
            let f = HeaderFacts::scan(raw);
            assert_eq!(skip_word(&r, &f, &p), want);
        }
    }

    #[test]
    fn duplicates_get_a_note_or_nothing() {
        let mut r = record(7);
        r.kind = Kind::Duplicate;
        r.dup_of = Some(3);
        let f = HeaderFacts::default();
        let mut p = policy();
        assert!(matches!(decide(&r, &f, &p), Decision::Note(_, 3)));
        p.duplicates = Duplicates::Off;
        assert_eq!(skip_word(&r, &f, &p), "duplicate");
    }

    #[test]
    fn allow_list_matches_address_or_domain() {
        let allow =
            Allow::new(&["Reg@Bureau.example".into(), "café.fr".into()])
                .unwrap();
        let a = |s: &str| headers::to_ascii_address(s).unwrap();
        assert!(allow.permits(&a("reg@bureau.example")));
        assert!(!allow.permits(&a("other@bureau.example")));
        assert!(allow.permits(&a("x@xn--caf-dma.fr")));
        assert!(allow.permits(&a("x@CAFÉ.fr")));
        let mut r = record(1);
        r.reply_to = Some("victim@elsewhere.example".into());
        let p = Policy {
            duplicates: Duplicates::Note,
            allow,
        };
        let f = HeaderFacts::default();
        assert_eq!(skip_word(&r, &f, &p), "not-allowed");
    }
}
