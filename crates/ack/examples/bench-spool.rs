//! Make a spool of N plain requests for benchmarks:
//! `cargo run --release -p suzanne-ack --example bench-spool -- DIR N`.
//! Every request asks for one name and comes from one of 500 registrars.

use std::path::Path;

use spool::journal::{Event, Parsed};
use spool::record::{Domain, TimeSource};
use spool::{ArrivalKey, Kind, Record, Spool};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(n)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: bench-spool DIR N");
    };
    let n: u64 = n.parse()?;
    let spool = Spool::open(Path::new(dir))?;
    let mut journal = spool.journal()?;
    let chunk = 1000;
    for first in (1..=n).step_by(chunk) {
        let last = (first + chunk as u64 - 1).min(n);
        let items: Vec<(Record, Vec<u8>)> = (first..=last).map(item).collect();
        spool.write_messages(&items, false)?;
        let batch = format!("{:012}.mbox", first / chunk as u64 + 1);
        let mut events = vec![Event::Batch {
            batch: batch.clone(),
            first,
            count: items.len() as u64,
            rotated_us: items[0].0.key.arrival_us,
        }];
        events.extend(items.iter().map(|(r, _)| parsed(r, &batch)));
        journal.append(&events)?;
    }
    Ok(())
}

fn item(t: u64) -> (Record, Vec<u8>) {
    let registrar = format!("depot@registrar{}.example", t % 500);
    let raw = format!(
        "Return-Path: <{registrar}>\nFrom: {registrar}\n\
         Message-ID: <req{t}@bench.example>\nSubject: Demande {t}\n\n\
         domaine: nom{t}.fr\n"
    );
    let arrival_us = 1_084_266_000_000_000 + t as i64 * 5000;
    let r = Record {
        ticket: t,
        batch: String::new(),
        file: String::new(),
        offset: t,
        size: raw.len() as u64,
        sha256: format!("{t:064x}"),
        arrival: spool::clock::rfc3339_us(arrival_us),
        key: ArrivalKey {
            arrival_us,
            rotation: 1,
            position: t,
        },
        time_source: TimeSource::Received,
        received: None,
        envelope_sender: Some(registrar.clone()),
        from: registrar,
        reply_to: None,
        message_id: Some(format!("<req{t}@bench.example>")),
        subject: format!("Demande {t}"),
        date: None,
        domains: vec![Domain {
            unicode: format!("nom{t}.fr"),
            ascii: format!("nom{t}.fr"),
        }],
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
    };
    (r, raw.into_bytes())
}

fn parsed(r: &Record, batch: &str) -> Event {
    Event::Parsed(Parsed {
        ticket: r.ticket,
        batch: batch.to_string(),
        offset: r.offset,
        arrival_us: r.key.arrival_us,
        rotation: r.key.rotation,
        position: r.key.position,
        kind: r.kind,
        dup_of: r.dup_of,
        domains: r.ascii_domains(),
        sha256: r.sha256.clone(),
        message_id: r.message_id.clone(),
        fingerprint: r.fingerprint.clone(),
        registrar: r.from.clone(),
    })
}
