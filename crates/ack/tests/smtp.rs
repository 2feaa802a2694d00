//! suzanne-ack against a real SMTP server: Postfix's smtp-sink on
//! 127.0.0.1, started by each test through scripts/sink-up, capturing
//! every message with its envelope.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;

use common::*;
use mailparse::MailHeaderMap;
use spool::record::Domain;
use spool::Kind;

macro_rules! sink_or_skip {
    ($args:expr) => {
        match Sink::start($args) {
            Ok(s) => s,
            Err(why) => {
                missing(&why);
                return;
            }
        }
    };
}

/// The headers an acknowledgement carries, and no others (smtp-sink adds
/// its Received line in front).
const HEADERS: [&str; 12] = [
    "Received",
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// One request of every kind the acknowledgement stage meets, with the
/// outcome each must have: the recipient, or the skip reason's word.
fn every_case() -> Vec<(spool::Record, Vec<u8>, &'static str)> {
    let mut cases = Vec::new();
    let plain = record(1);
    cases.push((plain, "", "reg1@bureau.example"));

    let mut r = record(2);
    r.reply_to = Some("\"Dupont, Jean\" <depot@bureau.example>".into());
    cases.push((r, "", "depot@bureau.example"));

    let mut r = record(3);
    r.kind = Kind::Auto;
    r.reason = vec!["auto-reply: vacation".into()];
    cases.push((r, "", "auto"));

    let mut r = record(4);
    r.envelope_sender = Some(String::new());
    cases.push((r, "", "null-sender"));

    let mut r = record(5);
    r.list = true;
    cases.push((r, "List-Id: <annonces.bureau.example>\n", "list"));

    let mut r = record(6);
    r.kind = Kind::Malformed;
    r.reason = vec!["no header".into()];
    cases.push((r, "", "malformed"));

    let mut r = record(7);
    r.kind = Kind::Duplicate;
    r.dup_of = Some(1);
    r.envelope_sender = record(1).envelope_sender;
    r.from = record(1).from;
    r.message_id = record(1).message_id;
    cases.push((r, "", "reg1@bureau.example"));

    let r = record(8);
    cases.push((r, "Auto-Submitted: auto-replied\n", "auto-submitted"));

    let r = record(9);
    let report = "Content-Type: multipart/report;\n \
                  report-type=delivery-status; boundary=x\n";
    cases.push((r, report, "delivery-report"));

    let mut r = record(10);
    r.reply_to = Some("Jean <jean@Café.example>".into());
    r.domains = vec![Domain {
        unicode: "élysée.fr".into(),
        ascii: "xn--lyse-9oad.fr".into(),
    }];
    cases.push((r, "", "jean@xn--caf-dma.example"));

    let mut r = record(11);
    r.subject = format!(
        "Demande\r\nBcc: victim@example.org\r\n\r\n.\r\nété {}",
        "x".repeat(2000)
    );
    cases.push((r, "", "reg11@bureau.example"));

    let mut r = record(12);
    r.incomplete = true;
    cases.push((r, "", "incomplete"));

    let mut r = record(13);
    r.from = "MAILER-DAEMON@mx.bureau.example".into();
    r.envelope_sender = Some("postmaster@mx.bureau.example".into());
    cases.push((r, "", "mailer-daemon"));

    let mut r = record(14);
    r.from = "undisclosed".into();
    r.envelope_sender = None;
    cases.push((r, "", "no-address"));

    let mut r = record(15);
    r.message_id = Some("<bad id>\r\nBcc: x@y".into());
    cases.push((r, "", "reg15@bureau.example"));

    cases
        .into_iter()
        .map(|(r, extra, want)| {
            let raw = raw_for(&r, extra);
            (r, raw, want)
        })
        .collect()
}

fn relay_config(port: u16, more: &str) -> String {
    format!("relay = '127.0.0.1'\nport = {port}\nconnections = 2\n{more}")
}

#[test]
fn each_request_gets_one_ack_with_exactly_the_right_headers() {
    let sink = sink_or_skip!("");
    let mut f = Fixture::new();
    let cases = every_case();
    let want: BTreeMap<u64, &str> =
        cases.iter().map(|(r, _, w)| (r.ticket, *w)).collect();
    f.add_raw(cases.into_iter().map(|(r, raw, _)| (r, raw)).collect());
    f.config(&relay_config(sink.port, ""));

    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "quiet on success");

    // The journal: one event per ticket, sent or skipped as expected.
    let acks = f.acks();
    assert_eq!(acks.len(), want.len());
    for a in &acks {
        let w = want[&a.ticket];
        if w.contains('@') {
            assert_eq!(a.status, "sent", "{a:?}");
            assert_eq!(a.to.as_deref(), Some(w));
            assert_eq!(
                a.message_id.as_deref(),
                Some(format!("<ack-T{:012}@{HOST}>", a.ticket).as_str())
            );
        } else {
            assert_eq!(a.status, "skipped", "{a:?}");
            assert_eq!(a.reason.split(':').next(), Some(w), "{a:?}");
        }
    }

    // The wire: one message per acknowledged request, null sender.
    let msgs = sink.messages();
    let sent: Vec<u64> = want
        .iter()
        .filter(|(_, w)| w.contains('@'))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(msgs.len(), sent.len());
    let mut by_ticket = BTreeMap::new();
    for m in &msgs {
        assert!(
            m.mail_from == "<>" || m.mail_from.starts_with("<> "),
            "{m:?}"
        );
        let id = m.header("Message-ID").unwrap();
        let ticket: u64 = id[6..18].parse().unwrap();
        assert!(by_ticket.insert(ticket, m.clone()).is_none(), "twice: {id}");
        assert_eq!(m.rcpt, vec![format!("<{}>", want[&ticket])]);
        assert_eq!(m.header_names(), headers_for(ticket), "T{ticket}");
        assert_eq!(m.header("Auto-Submitted").unwrap(), "auto-replied");
        assert_eq!(m.header("From").unwrap(), "Registre <accuse@nic.example>");
        assert_eq!(
            m.header("Date").unwrap(),
            "Tue, 11 May 2004 09:05:00 +0000"
        );
    }
    assert_eq!(by_ticket.keys().copied().collect::<Vec<_>>(), sent);

    let plain = parsed(&by_ticket[&1]);
    let subject = plain.headers.get_first_value("Subject").unwrap();
    assert_eq!(subject, "Accusé de réception, ticket 1 : Demande 1");
    let reply = "<req1@bureau.example>";
    assert_eq!(by_ticket[&1].header("In-Reply-To").unwrap(), reply);
    assert_eq!(by_ticket[&1].header("References").unwrap(), reply);
    let body = plain.get_body().unwrap();
    assert!(body.contains("Ticket        : 1\n"), "{body}");
    assert!(body.contains("2004-05-11T09:00:01.000001Z"), "{body}");
    assert!(body.contains(&format!("{:064x}", 1)), "{body}");
    // "Registered" appears once: in the sentence saying it is not.
    assert_eq!(body.matches("enregistr").count(), 1, "{body}");
    let disclaimer = "il ne dit pas qu'un nom de domaine est enregistré";
    assert!(body.contains(disclaimer), "{body}");

    let note = parsed(&by_ticket[&7]);
    let subject = note.headers.get_first_value("Subject").unwrap();
    assert!(subject.starts_with("Doublon du ticket 1"), "{subject}");

    let idn = parsed(&by_ticket[&10]).get_body().unwrap();
    assert!(idn.contains("élysée.fr  (xn--lyse-9oad.fr)"), "{idn}");
    assert_eq!(
        by_ticket[&10].header("To").unwrap(),
        "jean@xn--caf-dma.example"
    );

    // Header injection: the subject is one line, cut, and no Bcc exists.
    let evil = parsed(&by_ticket[&11]);
    let subject = evil.headers.get_first_value("Subject").unwrap();
    let start = "Accusé de réception, ticket 11 : \
                Demande Bcc: victim@example.org . été xx";
    assert!(subject.starts_with(start), "{subject}");
    assert!(subject.ends_with('…') && subject.chars().count() < 200);
    assert!(evil.headers.get_first_value("Bcc").is_none());

    // A Message-ID that is not plainly one is not repeated.
    assert!(by_ticket[&15].header("In-Reply-To").is_none());

    // Nothing more to do: a second run sends nothing.
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sink.messages().len(), sent.len());
    assert_eq!(f.acks().len(), want.len());
}

fn headers_for(ticket: u64) -> Vec<String> {
    HEADERS
        .iter()
        .filter(|h| {
            ticket != 15 || !matches!(**h, "In-Reply-To" | "References")
        })
        .map(|h| h.to_string())
        .collect()
}

fn parsed(m: &Captured) -> mailparse::ParsedMail<'_> {
    mailparse::parse_mail(m.message.as_bytes()).unwrap()
}

#[test]
fn dot_lines_arrive_intact() {
    let sink = sink_or_skip!("");
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    let t = f.path().join("templates");
    std::fs::create_dir(&t).unwrap();
    let body = "A\n.\n..\n.hidden\n. \nend\n.";
    std::fs::write(t.join("ack.fr.txt"), format!("Subject: dots\n\n{body}"))
        .unwrap();
    std::fs::write(t.join("duplicate.fr.txt"), "Subject: d\n\nd\n").unwrap();
    let more = format!("templates = '{}'", t.display());
    f.config(&relay_config(sink.port, &more));
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].body().trim_end(), body);
}

#[test]
fn relay_down_exits_75_and_records_nothing() {
    // A port nobody listens on: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut f = Fixture::new();
    let mut bounce = record(3);
    bounce.kind = Kind::Auto;
    f.add(vec![record(1), record(2), bounce]);
    f.config(&relay_config(port, ""));
    let out = f.run(&[]);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot connect to relay '127.0.0.1:"), "{err}");
    assert!(err.lines().count() == 1, "one line: {err}");
    assert!(f.acks().iter().all(|a| a.status == "skipped"));
    assert!(f.acks().iter().all(|a| a.ticket == 3));
}

#[test]
fn transient_failure_defers_then_a_later_run_sends() {
    let sink = sink_or_skip!("-r RCPT");
    let mut f = Fixture::new();
    f.add(vec![record(1), record(2), record(3)]);
    f.config(&relay_config(sink.port, "retry_base = 60"));

    let out = f.run(&[]);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("3 acknowledgements deferred"));
    let acks = f.last_acks();
    for a in acks.values() {
        assert_eq!((a.status.as_str(), a.attempt), ("deferred", 1), "{a:?}");
        assert!(a.reason.contains("4"), "{a:?}");
        let next = a.next_try_us.unwrap();
        let now = spool::clock::parse_rfc3339(NOW).unwrap();
        assert_eq!(next, now + 60_000_000);
    }
    assert_eq!(sink.messages().len(), 0);

    // The relay recovers; a run before the retry time does nothing.
    sink.restart("");
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sink.messages().len(), 0);

    let later = "2004-05-11T09:06:30Z";
    let out = f.command(&[]).env("SUZANNE_NOW", later).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let acks = f.last_acks();
    for a in acks.values() {
        assert_eq!((a.status.as_str(), a.attempt), ("sent", 2), "{a:?}");
    }
    assert_eq!(sink.messages().len(), 3);
}

#[test]
fn permanent_failure_is_recorded_with_the_reply() {
    let sink = sink_or_skip!("-f RCPT");
    let mut f = Fixture::new();
    f.add(vec![record(1), record(2)]);
    f.config(&relay_config(sink.port, ""));
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "one warning per failure: {err}");
    assert!(err.starts_with("suzanne-ack: T000000000001 status=failed"));
    for a in f.last_acks().values() {
        assert_eq!(a.status, "failed", "{a:?}");
        assert!(a.reason.starts_with("permanent error (5"), "{a:?}");
    }
    // Failed is final.
    sink.restart("");
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sink.messages().len(), 0);
}

#[test]
fn starttls_required_but_not_offered_is_a_relay_problem() {
    let sink = sink_or_skip!("");
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    f.config(&relay_config(sink.port, "starttls = 'require'"));
    let out = f.run(&[]);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("STARTTLS: not offered"));
    assert!(f.acks().is_empty());
}

#[test]
fn auth_is_used_when_configured() {
    let sink = sink_or_skip!("");
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    let pw = f.path().join("password");
    std::fs::write(&pw, "secret\n").unwrap();
    let more = format!("user = 'suzanne'\npassword_file = '{}'", pw.display());
    f.config(&relay_config(sink.port, &more));
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn limits_hold_acks_for_the_next_run() {
    let sink = sink_or_skip!("");
    let mut f = Fixture::new();
    let mut rs: Vec<_> = (1..=6).map(record).collect();
    // Tickets 4..6 share one registrar address.
    for r in &mut rs[3..] {
        r.from = "Bureau <lots@bureau.example>".into();
    }
    f.add(rs);
    f.config(&relay_config(sink.port, "per_registrar_run = 1"));
    let out = f.run(&["--limit", "3"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let done: Vec<u64> = f.last_acks().keys().copied().collect();
    assert_eq!(done, vec![1, 2, 3]);
    let out = f.run(&["--limit", "3"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let done: Vec<u64> = f.last_acks().keys().copied().collect();
    assert_eq!(done, vec![1, 2, 3, 4], "one per registrar per run");
    for _ in 0..2 {
        f.run(&[]);
    }
    assert_eq!(f.last_acks().len(), 6);
    assert_eq!(sink.messages().len(), 6);
}
