//! Throughput, for the record: `cargo test --release -p suzanne-mail
//! --test perf -- --ignored --nocapture`. The landrush peak is 12,000
//! messages in a minute; the parser should not be what limits it.

use std::time::Instant;
use suzanne_mail::{parse_entry, split_mbox, Class, Flavour, ParseOptions};

fn landrush_mbox(n: usize) -> Vec<u8> {
    let mut data = String::new();
    for i in 0..n {
        data.push_str(&format!(
            "From reg{r}@example.com  Fri Dec  4 17:38:33 2026\n\
             Return-Path: <reg{r}@example.com>\n\
             X-Original-To: suzanne@landrush.example\n\
             Delivered-To: suzanne@landrush.example\n\
             Received: from client.example.com (client.example.com \
             [192.0.2.10])\n\
             \tby mx.landrush.example (Postfix) with ESMTP id \
             4jgzHY4HHyz1SRvg\n\
             \tfor <suzanne@landrush.example>; \
             Fri,  4 Dec 2026 17:38:33 +0000 (UTC)\n\
             From: =?utf-8?Q?Bureau_d=C3=A9p=C3=B4t_{r}?= \
             <reg{r}@example.com>\n\
             To: suzanne@landrush.example\n\
             Subject: =?utf-8?Q?Demande_n=C2=B0{i}?=\n\
             Date: Fri, 04 Dec 2026 18:38:30 +0100\n\
             Message-ID: <req-{i}@example.com>\n\
             MIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: 8bit\n\
             \n\
             Bonjour,\n\
             \n\
             Domaine : café-{i}.example.fr\n\
             Domaine : maison-{i}.example.fr\n\
             Langue: français\n\
             Titulaire: Société {r}\n\
             >From the registrar's desk\n\
             \n\
             Cordialement,\n\
             \n",
            r = i % 300
        ));
    }
    data.into_bytes()
}

#[test]
#[ignore = "a measurement, not a test: run it with --release --ignored"]
fn throughput() {
    let n = 20_000;
    let data = landrush_mbox(n);
    let opts = ParseOptions {
        trusted_hosts: vec!["mx.landrush.example".into()],
        ..ParseOptions::default()
    };

    let t = Instant::now();
    let entries = split_mbox(&data, Flavour::Mboxo);
    let split = t.elapsed();
    assert_eq!(entries.len(), n);

    let t = Instant::now();
    let mut requests = 0;
    for e in &entries {
        let p = parse_entry(e, &opts);
        requests += usize::from(p.class == Class::Request);
    }
    let parse = t.elapsed();
    assert_eq!(requests, n);

    let mb = data.len() as f64 / 1e6;
    println!(
        "split {mb:.1} MB, {n} messages in {split:?} ({:.0} MB/s); \
         parsed in {parse:?} ({:.0} messages/s)",
        mb / split.as_secs_f64(),
        n as f64 / parse.as_secs_f64()
    );
}
