//! `generate`: deterministic, well-formed, and holding every case a
//! landrush must rehearse. The mailbox is read here with code of the
//! test's own, not the generator's.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{count_from_lines, header, sha256_hex, split_mbox, truth, Work};
use serde_json::Value;

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let w = Work::new();
    w.generate("a", 1500, 7, &[]);
    w.generate("b", 1500, 7, &[]);
    w.generate("c", 1500, 8, &[]);
    let hash = |name: &str| sha256_hex(&std::fs::read(w.path(name)).unwrap());
    assert_eq!(hash("a"), hash("b"));
    assert_eq!(hash("a.truth.jsonl"), hash("b.truth.jsonl"));
    assert_ne!(hash("a"), hash("c"));
    assert_ne!(hash("a.truth.jsonl"), hash("c.truth.jsonl"));
}

#[test]
fn the_same_seed_gives_the_same_maildir() {
    let w = Work::new();
    w.generate("a", 300, 7, &["--format", "maildir"]);
    w.generate("b", 300, 7, &["--format", "maildir"]);
    let listing = |name: &str| -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> =
            std::fs::read_dir(w.path(name).join("new"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let bytes = std::fs::read(e.path()).unwrap();
                    (e.file_name().into_string().unwrap(), sha256_hex(&bytes))
                })
                .collect();
        files.sort();
        files
    };
    assert_eq!(listing("a"), listing("b"));
}

#[test]
fn the_mbox_splits_into_exactly_n_messages() {
    let w = Work::new();
    w.generate("mbox", 2000, 2004, &[]);
    let data = std::fs::read(w.path("mbox")).unwrap();
    let messages = split_mbox(&data);
    assert_eq!(messages.len(), 2000);
    // mboxo: no line inside a message starts with "From ".
    assert_eq!(count_from_lines(&data), 2000);
    let quoted = data
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b">From "))
        .count();
    assert!(quoted >= 1, "no quoted From line");
    for (from_line, _) in &messages {
        // Postfix: `From sender  asctime` (two blanks).
        assert!(from_line.contains("  "), "{from_line}");
        assert!(from_line.ends_with(" 2004"), "{from_line}");
    }
    // Every message carries its index, once, and all indices are there.
    let indices: BTreeSet<u64> = messages
        .iter()
        .map(|(_, m)| header(m, "X-Loadgen-Index").unwrap().parse().unwrap())
        .collect();
    assert_eq!(indices, (1..=2000).collect());
}

#[test]
fn the_truth_is_in_arrival_order() {
    let w = Work::new();
    w.generate("mbox", 2000, 2004, &[]);
    let t = truth(&w.path("mbox.truth.jsonl"));
    assert_eq!(t.len(), 2000);
    let mut last = String::new();
    for (i, line) in t.iter().enumerate() {
        assert_eq!(line["index"], i as u64 + 1);
        let arrival = line["arrival"].as_str().unwrap().to_string();
        // RFC 3339 with microseconds sorts as text.
        assert_eq!(arrival.len(), "2004-05-11T09:00:00.000000Z".len());
        assert!(arrival > last, "{arrival} after {last}");
        last = arrival;
        let request = line["kind"] == "request";
        assert_eq!(line["must_ack"], request);
    }
    // Most in the first ten seconds, the rest within the minute.
    let early = t
        .iter()
        .filter(|l| l["arrival"].as_str().unwrap() < "2004-05-11T09:00:10")
        .count();
    assert!(early > 1400 && early < 1900, "{early} in the first 10 s");
    assert!(last.as_str() < "2004-05-11T09:01:01");
}

#[test]
fn the_mailbox_order_is_close_to_arrival_but_not_equal() {
    let w = Work::new();
    w.generate("mbox", 2000, 2004, &[]);
    let data = std::fs::read(w.path("mbox")).unwrap();
    let order: Vec<i64> = split_mbox(&data)
        .iter()
        .map(|(_, m)| header(m, "X-Loadgen-Index").unwrap().parse().unwrap())
        .collect();
    let displaced = order
        .iter()
        .enumerate()
        .filter(|(pos, &i)| *pos as i64 + 1 != i)
        .count();
    assert!(displaced > 100, "{displaced} displaced");
    let inversions = order.windows(2).filter(|p| p[0] > p[1]).count();
    assert!(inversions < 1000, "{inversions} adjacent inversions");
}

/// Each case, counted from the bytes where the bytes show it, else from
/// the truth.
#[test]
fn the_mix_holds_every_case() {
    for seed in [2004, 1] {
        let counts = mix(seed);
        let report: Vec<String> =
            counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("seed {seed}: {}", report.join(" "));
        for (case, n) in &counts {
            assert!(*n >= 1, "seed {seed}: no {case}: {report:?}");
        }
        assert!(counts["malformed without a domain"] >= 3);
        assert!(counts["contested groups"] >= 3);
    }
}

fn mix(seed: u64) -> BTreeMap<&'static str, usize> {
    let w = Work::new();
    w.generate("mbox", 1000, seed, &[]);
    let data = std::fs::read(w.path("mbox")).unwrap();
    let t = truth(&w.path("mbox.truth.jsonl"));
    let by_index: HashMap<u64, &Value> = t
        .iter()
        .map(|l| (l["index"].as_u64().unwrap(), l))
        .collect();
    let mut msg: HashMap<u64, (String, Vec<u8>)> = HashMap::new();
    for (from_line, m) in split_mbox(&data) {
        let i: u64 = header(&m, "X-Loadgen-Index").unwrap().parse().unwrap();
        msg.insert(i, (from_line, m));
    }

    let mut c: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut count = |case: &'static str, yes: bool| {
        *c.entry(case).or_default() += usize::from(yes);
    };
    for (from_line, m) in msg.values() {
        let has = |s: &str| m.windows(s.len()).any(|w| w == s.as_bytes());
        let subject = header(m, "Subject").unwrap_or_default();
        count(
            "quoted-printable",
            has("Content-Transfer-Encoding: quoted-printable"),
        );
        count("base64", has("Content-Transfer-Encoding: base64"));
        count("8bit", has("Content-Transfer-Encoding: 8bit"));
        count(
            "ISO-8859-1",
            has("charset=\"ISO-8859-1\"") || has("charset=ISO-8859-1"),
        );
        count("windows-1252", has("windows-1252"));
        count("UTF-8", has("charset=\"UTF-8\"") || has("charset=UTF-8"));
        count("Q subject", subject.contains("?Q?"));
        count("B subject", subject.contains("?B?"));
        count("folded subject", has_folded_subject(m));
        count(
            "8-bit subject",
            subject.contains('\u{fffd}')
                || !subject.is_ascii() && !subject.contains("=?"),
        );
        count("multipart/alternative", has("multipart/alternative"));
        count("text attachment", has("Content-Disposition: attachment"));
        count("CRLF message", has("\r\n"));
        count("body From line quoted", has("\n>From "));
        count("body dot line", has("\n.\n") || has("\r\n.\r\n"));
        count(
            "bounce from MAILER-DAEMON",
            has("multipart/report")
                && from_line.starts_with("From MAILER-DAEMON "),
        );
        count(
            "vacation",
            has("Auto-Submitted: auto-replied") && !has("multipart/report"),
        );
        count("Auto-Submitted: no", has("Auto-Submitted: no"));
        count(
            "forged Received below ours",
            m_count(m, "by mx.landrush.example (Postfix)") == 2,
        );
        count("no Message-ID", header(m, "Message-ID").is_none());
    }
    for l in &t {
        let domains: Vec<&str> = l["domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let ascii: Vec<&str> = l["domains_ascii"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let features: Vec<&str> = l["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let m = &msg[&l["index"].as_u64().unwrap()].1;
        let has = |s: &str| m.windows(s.len()).any(|w| w == s.as_bytes());
        count("IDN name", domains.iter().any(|d| !d.is_ascii()));
        count(
            "IDN given as xn--",
            ascii.iter().any(|a| a.contains("xn--") && has(a)),
        );
        count("IDN decomposed (NFD)", features.contains(&"nfd"));
        count("name in capitals", features.contains(&"upper"));
        count("multi-domain", domains.len() > 1);
        count("split encoded word", features.contains(&"subject-split"));
        count(
            "malformed without a domain",
            l["kind"] == "malformed" && domains.is_empty(),
        );
        count("auto", l["kind"] == "auto");
        count("duplicate", l["kind"] == "duplicate");
    }
    // Re-sent duplicates: same Message-ID and, below the index header,
    // the same bytes as their original.
    for l in t.iter().filter(|l| l["kind"] == "duplicate") {
        let orig = by_index[&l["dup_of_index"].as_u64().unwrap()];
        assert!(orig["index"].as_u64() < l["index"].as_u64());
        assert_eq!(orig["message_id"], l["message_id"]);
        assert!(orig["arrival"].as_str() < l["arrival"].as_str());
        let letter = |i: u64| {
            let m = &msg[&i].1;
            let at = m
                .windows(16)
                .position(|w| w == b"X-Loadgen-Index:")
                .unwrap();
            let end = m[at..].iter().position(|&b| b == b'\n').unwrap();
            m[at + end..].to_vec()
        };
        assert_eq!(
            letter(l["index"].as_u64().unwrap()),
            letter(orig["index"].as_u64().unwrap())
        );
        count("re-sent duplicate, same bytes", true);
    }
    // A Message-ID reused for other content: both are requests.
    let mut ids: HashMap<&str, Vec<&Value>> = HashMap::new();
    for l in &t {
        if let Some(id) = l["message_id"].as_str() {
            ids.entry(id).or_default().push(l);
        }
    }
    let reused = ids
        .values()
        .filter(|v| v.len() > 1 && v.iter().all(|l| l["kind"] == "request"))
        .count();
    count("Message-ID reused for new content", reused > 0);
    // Contested: one name, several registrars, one second.
    let mut claims: HashMap<(String, String), BTreeSet<String>> =
        HashMap::new();
    for l in t.iter().filter(|l| l["kind"] == "request") {
        let second = l["arrival"].as_str().unwrap()[..19].to_string();
        for d in l["domains"].as_array().unwrap() {
            let key = (d.as_str().unwrap().to_string(), second.clone());
            claims
                .entry(key)
                .or_default()
                .insert(l["from"].as_str().unwrap().to_string());
        }
    }
    let groups = claims.values().filter(|s| s.len() > 1).count();
    // The last message of the mailbox is cut off inside its header.
    count("cut off at the end", !data.ends_with(b"\n"));
    let last = split_mbox(&data).pop().unwrap().1;
    assert!(!last.windows(2).any(|w| w == b"\n\n"));
    c.insert("contested groups", groups);
    c
}

fn has_folded_subject(m: &[u8]) -> bool {
    let text = String::from_utf8_lossy(m);
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.is_empty() {
            return false;
        }
        if l.starts_with("Subject:") {
            return lines.next().is_some_and(|n| n.starts_with(' '));
        }
    }
    false
}

fn m_count(m: &[u8], s: &str) -> usize {
    m.windows(s.len()).filter(|w| *w == s.as_bytes()).count()
}

#[test]
fn the_maildir_has_one_file_a_message_in_new() {
    let w = Work::new();
    w.generate("md", 500, 3, &["--format", "maildir"]);
    let dir = w.path("md");
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(dir.join("cur")).unwrap().count(), 0);
    let files: Vec<_> = std::fs::read_dir(dir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 500);
    let mut indices = BTreeSet::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(b"Return-Path: <"), "{}", f.display());
        // No From_ line: a Maildir file is the message alone.
        assert!(!bytes.starts_with(b"From "), "{}", f.display());
        indices.insert(
            header(&bytes, "X-Loadgen-Index")
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    assert_eq!(indices, (1..=500).collect());
    assert_eq!(truth(&w.path("md.truth.jsonl")).len(), 500);
}

#[test]
fn a_bad_start_is_a_usage_error() {
    let w = Work::new();
    let out = w.run(
        &common::loadgen(),
        &["generate", "--out", "x", "--start", "yesterday"],
    );
    assert_eq!(out.status.code(), Some(64), "{}", common::show(&out));
    let out = w.run(&common::loadgen(), &["generate"]);
    assert_eq!(out.status.code(), Some(64), "{}", common::show(&out));
}

#[test]
fn a_maildir_is_not_written_over() {
    let w = Work::new();
    w.generate("md", 5, 3, &["--format", "maildir"]);
    let out = w.run(
        &common::loadgen(),
        &[
            "generate", "--out", "md", "--format", "maildir", "--count", "5",
        ],
    );
    assert_eq!(out.status.code(), Some(65), "{}", common::show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("new/ already holds messages"), "{err}");
}
