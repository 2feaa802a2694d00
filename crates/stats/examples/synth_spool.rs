//! Build a synthetic landrush spool for benchmarking suzanne-stats:
//! `synth_spool DIR N` writes N messages (records and raw messages) and
//! their journal (rotated, batch, parsed, archived, ack, lease,
//! complete) through the spool API, as suzanne-parse, suzanne-ack and
//! suzanne-soapd would leave them.
//!
//! About 97 % are requests, the rest duplicates, auto-replies and
//! malformed messages; one request in twenty asks for one of a few
//! thousand contested names; arrivals crowd the first minutes. The
//! journal's times come from `SUZANNE_NOW`, set before each append.

use std::path::Path;

use sha2::{Digest, Sha256};
use spool::journal::{Ack, Event, Journal, Parsed};
use spool::record::{Domain, TimeSource};
use spool::{clock, ArrivalKey, Kind, Record, Spool};

const START: &str = "2004-05-11T09:00:00Z";
const PER_BATCH: u64 = 10_000;
const CHUNK: usize = 2_000;
const SECOND: i64 = 1_000_000;
/// Arrivals spread over ten minutes, most of them early.
const SPREAD_US: f64 = 600.0 * 1e6;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: synth_spool DIR N");
        std::process::exit(64);
    }
    let n: u64 = args[2].parse().expect("N is a number");
    let spool = Spool::open(Path::new(&args[1])).expect("open spool");
    let mut journal = spool.journal().expect("open journal");
    let start = clock::parse_rfc3339(START).expect("start time");
    let mut all: Vec<(u64, ArrivalKey, Kind)> = Vec::with_capacity(n as usize);
    let mut rotation = 0;
    let mut first = 1;
    while first <= n {
        rotation += 1;
        let count = PER_BATCH.min(n - first + 1);
        let made =
            batch(&spool, &mut journal, start, rotation, first, count, n);
        all.extend(made);
        first += count;
    }
    all.sort_by_key(|&(ticket, key, _)| (key, ticket));
    acks(&mut journal, start, &all);
    hand_off(&mut journal, start, &all);
}

/// Arrival of the i-th of n messages: crowded at the start.
fn arrival(start: i64, i: u64, n: u64) -> i64 {
    let x = i as f64 / n as f64;
    start + (SPREAD_US * x * x) as i64
}

fn kind_of(ticket: u64) -> Kind {
    match ticket % 200 {
        7 | 77 | 107 | 177 => Kind::Duplicate,
        13 => Kind::Auto,
        99 => Kind::Malformed,
        _ => Kind::Request,
    }
}

fn domains(ticket: u64, kind: Kind) -> Vec<Domain> {
    if kind == Kind::Auto || kind == Kind::Malformed {
        return Vec::new();
    }
    let mut names = vec![format!("registrant-{ticket}.fr")];
    if ticket.is_multiple_of(20) {
        names.push(format!("landrush-{}.fr", (ticket / 20) % 3000));
    }
    if ticket % 50 == 3 {
        names.push(format!("café-{}.fr", ticket % 500));
    }
    names
        .into_iter()
        .map(|unicode| Domain {
            ascii: idna::domain_to_ascii(&unicode).expect("a valid name"),
            unicode,
        })
        .collect()
}

fn raw_message(ticket: u64, registrar: &str, domains: &[Domain]) -> Vec<u8> {
    let mut text = format!(
        "Return-Path: <{registrar}>\r\n\
         Received: from mx.{registrar} by mx.registry.example with ESMTP \
         id 4Q2bXz6kFVz9vTx.{ticket}; Tue, 11 May 2004 09:00:00 +0200\r\n\
         From: Registrar <{registrar}>\r\n\
         To: landrush@registry.example\r\n\
         Subject: Demande d'enregistrement {ticket}\r\n\
         Message-ID: <{ticket}.landrush@{registrar}>\r\n\
         Date: Tue, 11 May 2004 09:00:00 +0200\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    for d in domains {
        text.push_str(&format!("domain: {}\r\n", d.unicode));
    }
    text.push_str(
        "holder: Exemple SARL\r\nholder-address: 1 rue de la Paix, Paris\r\n\
         admin-c: ADM123-FRNIC\r\ntech-c: TEC456-FRNIC\r\n\
         nserver: ns1.exemple.fr\r\nnserver: ns2.exemple.fr\r\n",
    );
    text.into_bytes()
}

fn record(
    ticket: u64,
    batch: &str,
    key: ArrivalKey,
    n_regs: u64,
) -> (Record, Vec<u8>) {
    let kind = kind_of(ticket);
    let registrar = format!("robot@registrar-{}.fr", ticket % n_regs);
    let domains = domains(ticket, kind);
    let raw = raw_message(ticket, &registrar, &domains);
    let mut reason = Vec::new();
    let mut dup_of = None;
    match kind {
        Kind::Duplicate => {
            dup_of = Some(ticket.saturating_sub(1).max(1));
            reason.push(format!("duplicate of ticket {}", dup_of.unwrap()));
        }
        Kind::Auto => reason.push("auto-reply (Auto-Submitted)".into()),
        Kind::Malformed => reason.push("no domain in the form".into()),
        Kind::Request => {}
    }
    let form = domains
        .iter()
        .map(|d| ("domain".to_string(), d.unicode.clone()))
        .chain([("holder".to_string(), "Exemple SARL".to_string())])
        .collect();
    let r = Record {
        ticket,
        batch: batch.to_string(),
        file: String::new(),
        offset: key.position,
        size: raw.len() as u64,
        sha256: hex::encode(Sha256::digest(&raw)),
        arrival: clock::rfc3339_us(key.arrival_us),
        key,
        time_source: TimeSource::Received,
        received: Some("from mx by mx.registry.example".into()),
        envelope_sender: Some(registrar.clone()),
        from: registrar.clone(),
        reply_to: None,
        message_id: Some(format!("<{ticket}.landrush@{registrar}>")),
        subject: format!("Demande d'enregistrement {ticket}"),
        date: Some("Tue, 11 May 2004 09:00:00 +0200".into()),
        domains,
        form,
        body: "holder: Exemple SARL\nadmin-c: ADM123-FRNIC\n".repeat(4),
        language: Some("fr".into()),
        kind,
        dup_of,
        reason,
        list: false,
        auto_submitted: None,
        incomplete: false,
        fingerprint: hex::encode(Sha256::digest(ticket.to_be_bytes())),
    };
    (r, raw)
}

fn at(journal: &mut Journal, us: i64, events: &[Event]) {
    std::env::set_var("SUZANNE_NOW", clock::rfc3339_us(us));
    journal.append(events).expect("append to journal");
}

/// One rotated mailbox, parsed and archived.
fn batch(
    spool: &Spool,
    journal: &mut Journal,
    start: i64,
    rotation: u64,
    first: u64,
    count: u64,
    n: u64,
) -> Vec<(u64, ArrivalKey, Kind)> {
    let name = format!("{rotation:012}.mbox");
    let keys: Vec<ArrivalKey> = (0..count)
        .map(|i| ArrivalKey {
            arrival_us: arrival(start, first + i - 1, n),
            rotation,
            position: i * 1500,
        })
        .collect();
    let parsed_at = keys.last().map_or(start, |k| k.arrival_us) + 2 * SECOND;
    at(
        journal,
        parsed_at,
        &[
            Event::Rotated {
                batch: name.clone(),
                source: "/var/mail/landrush".into(),
                bytes: count * 1500,
                files: 0,
            },
            Event::Batch {
                batch: name.clone(),
                first,
                count,
                rotated_us: parsed_at - SECOND,
            },
        ],
    );
    let mut made = Vec::with_capacity(count as usize);
    let tickets: Vec<u64> = (first..first + count).collect();
    for chunk in tickets.chunks(CHUNK) {
        let items: Vec<(Record, Vec<u8>)> = chunk
            .iter()
            .map(|&t| record(t, &name, keys[(t - first) as usize], 200))
            .collect();
        spool.write_messages(&items, false).expect("write messages");
        let events: Vec<Event> =
            items.iter().map(|(r, _)| parsed(r)).collect();
        at(journal, parsed_at, &events);
        made.extend(items.iter().map(|(r, _)| (r.ticket, r.key, r.kind)));
    }
    std::fs::write(spool.dir("archive").join(&name), b"").expect("archive");
    at(
        journal,
        parsed_at,
        &[Event::Archived { batch: name, count }],
    );
    made
}

fn parsed(r: &Record) -> Event {
    Event::Parsed(Parsed::of(r, r.from.clone()))
}

/// One ack each, in arrival order, at least twenty seconds after
/// arrival, two thousand a second at most.
fn acks(journal: &mut Journal, start: i64, all: &[(u64, ArrivalKey, Kind)]) {
    let mut t = start + 30 * SECOND;
    for chunk in all.chunks(CHUNK) {
        let events: Vec<Event> = chunk
            .iter()
            .map(|&(ticket, _, kind)| {
                let (status, reason) = match kind {
                    Kind::Request => ("sent", String::new()),
                    other => ("skipped", other.as_str().to_string()),
                };
                Event::Ack(Ack {
                    ticket,
                    status: status.into(),
                    reason,
                    attempt: 1,
                    next_try_us: None,
                    message_id: Some(format!("<ack.{ticket}@registry>")),
                    to: None,
                })
            })
            .collect();
        let last = chunk[chunk.len() - 1].1.arrival_us;
        t = t.max(last + 20 * SECOND) + SECOND;
        at(journal, t, &events);
    }
}

/// Every request leased then completed, in arrival order, a minute or
/// more after arrival and a thousand a second at most: no claimant is leased before an earlier one completed.
fn hand_off(
    journal: &mut Journal,
    start: i64,
    all: &[(u64, ArrivalKey, Kind)],
) {
    let requests: Vec<(u64, i64)> = all
        .iter()
        .filter(|(_, _, k)| *k == Kind::Request)
        .map(|(t, key, _)| (*t, key.arrival_us))
        .collect();
    let mut t = start + 60 * SECOND;
    for chunk in requests.chunks(1000) {
        let mut events = Vec::with_capacity(chunk.len() * 2);
        t = t.max(chunk[chunk.len() - 1].1 + 60 * SECOND);
        for &(ticket, _) in chunk {
            let token = format!("{ticket:x}-lease");
            let outcome = if ticket.is_multiple_of(3) {
                "rejected"
            } else {
                "accepted"
            };
            events.push(Event::Lease {
                ticket,
                token: token.clone(),
                expires_us: t + 300 * SECOND,
                client: "registry".into(),
            });
            events.push(Event::Complete {
                ticket,
                token,
                outcome: outcome.into(),
                comment: None,
            });
        }
        at(journal, t, &events);
        t += SECOND;
    }
}
