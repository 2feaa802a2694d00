//! Splitting mailboxes: the shapes real writers produce and the ways
//! files get damaged.

use std::path::{Path, PathBuf};
use std::time::Instant;
use suzanne_mail::{
    parse_entry, parse_message, split_mbox, Flavour, MboxEntry, ParseOptions,
};

fn corpus() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpus not present");
        None
    }
}

fn raws(entries: &[MboxEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.raw).into_owned())
        .collect()
}

const FROM1: &str = "From a@example.com Fri Dec  4 17:32:48 2026\n";
const FROM2: &str = "From MAILER-DAEMON Fri Dec  4 17:32:49 2026\n";

#[test]
fn cpython_mailbox_01_is_one_message() {
    let Some(dir) = corpus() else { return };
    let path = dir.join("cpython-test_email-data/mailbox_01.mbox");
    let data = std::fs::read(&path).expect("read mailbox_01.mbox");
    let entries = split_mbox(&data, Flavour::Mboxo);
    assert_eq!(entries.len(), 1);
    let raw = String::from_utf8_lossy(&entries[0].raw);
    assert!(raw.ends_with("From time to time\n"), "{raw:?}");
    assert!(!entries[0].incomplete);
    assert_eq!(entries[0].envelope_sender.as_deref(), Some("MAILER-DAEMON"));
}

#[test]
fn unquoted_body_from_lines_do_not_split() {
    let data = format!(
        "{FROM1}Subject: one\n\nHello\n\nFrom time to time\n\n\
         From our office in Paris we ask:\ndomain: x.example.fr\n\n\
         From me to you: 10 names\n\n{FROM2}Subject: two\n\nbody\n\n"
    );
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(e.len(), 2);
    assert!(raws(&e)[0].contains("From our office in Paris we ask:\ndomain:"));
    assert_eq!(raws(&e)[1], "Subject: two\n\nbody\n");
    assert_eq!(e[1].offset as usize, data.find("From MAILER").unwrap());
}

#[test]
fn separator_without_blank_line_before() {
    // Only a complete asctime From_ line followed by a header counts.
    let data = format!("{FROM1}Subject: one\n\nbody\n{FROM2}Subject: x\n\n");
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(raws(&e), ["Subject: one\n\nbody\n", "Subject: x\n"]);
    assert_eq!(
        e[0].defects,
        ["next From_ line not preceded by a blank line"]
    );
    assert!(e[1].defects.is_empty());
    let p = parse_entry(&e[0], &ParseOptions::default());
    assert_eq!(p.defects[0], "next From_ line not preceded by a blank line");

    for line in [
        "From a@example.com Fri Dec  4 17:32:48 2026\nbody\n",
        "From a@example.com\nSubject: x\n",
        "From a@example.com 4 Dec 2026 17:32:48\nSubject: x\n",
    ] {
        let data = format!("{FROM1}Subject: one\n\nbody\n{line}\n");
        assert_eq!(split_mbox(data.as_bytes(), Flavour::Mboxo).len(), 1);
    }
}

#[test]
fn crlf_mbox_keeps_crlf() {
    let data = "From a@example.com Fri Dec  4 17:32:48 2026\r\n\
        Subject: one\r\n\r\n>From here\r\nbody\r\n\r\n\
        From b@example.com Fri Dec  4 17:32:49 2026\r\n\
        Subject: two\r\n\r\nbody\r\n\r\n";
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(e.len(), 2);
    assert_eq!(raws(&e)[0], "Subject: one\r\n\r\nFrom here\r\nbody\r\n");
    assert_eq!(raws(&e)[1], "Subject: two\r\n\r\nbody\r\n");
    let line = e[1].from_line.as_deref().unwrap();
    assert_eq!(line, b"From b@example.com Fri Dec  4 17:32:49 2026");
    assert!(!e[1].incomplete);
}

#[test]
fn no_final_newline() {
    let data =
        format!("{FROM1}Subject: one\n\nbody\n\n{FROM2}Subject: two\n\nlast");
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(raws(&e), ["Subject: one\n\nbody\n", "Subject: two\n\nlast"]);
    assert!(!e[0].incomplete);
    assert!(e[1].incomplete, "cut mid-line");
}

#[test]
fn truncated_last_message_is_kept() {
    let data = format!("{FROM1}Subject: one\n\nbody\n\n{FROM2}Subject: tw");
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(e.len(), 2);
    assert_eq!(raws(&e)[1], "Subject: tw");
    assert!(e[1].incomplete);
    let data = format!("{FROM1}Subject: one\nTo: x\n");
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert!(e[0].incomplete, "no header/body split");
    let opts = ParseOptions::default();
    let p = parse_message(&e[0].raw, None, e[0].incomplete, &opts);
    assert_eq!(p.class_reason.as_deref(), Some("message cut off"));
}

#[test]
fn tiny_files() {
    assert!(split_mbox(b"", Flavour::Mboxo).is_empty());
    let e = split_mbox(b"2", Flavour::Mboxo);
    assert_eq!(raws(&e), ["2"]);
    assert!(e[0].incomplete && e[0].from_line.is_none());
    let e = split_mbox(b"22\n", Flavour::Mboxo);
    assert_eq!(raws(&e), ["22\n"]);
    assert!(split_mbox(b"\n\n", Flavour::Mboxo).is_empty());
    let e = split_mbox(b"From ", Flavour::Mboxo);
    assert_eq!(raws(&e), ["From "]);
    let e = split_mbox(FROM1.as_bytes(), Flavour::Mboxo);
    assert_eq!(e.len(), 1);
    assert!(e[0].raw.is_empty() && e[0].incomplete);
}

/// Counts agree with Python's mailbox module, which splits on every
/// `From ` line: these files have no unquoted body `From ` lines, and
/// two of them lack the blank line before a From_ line.
#[test]
fn corpus_mbox_counts() {
    let Some(dir) = corpus() else { return };
    let expected = [
        ("gnu-mailutils-spool/bigto.mbox", 1),
        ("gnu-mailutils-spool/mbox", 1),
        ("gnu-mailutils-spool/mbox1", 5),
        ("gnu-mailutils-spool/mbox2", 5),
        ("gnu-mailutils-spool/mime.mbox", 2),
        ("gnu-mailutils-spool/mime.msg", 1),
        ("gnu-mailutils-spool/msg.mbox", 4),
        ("gnu-mailutils-spool/relational.mbox", 9),
        ("gnu-mailutils-spool/search.mbox", 8),
        ("gnu-mailutils-spool/search2.mbox", 5),
        ("gnu-mailutils-spool/sieve.mbox", 3),
        ("gnu-mailutils-spool/teaparty.mbox", 95),
        ("sisimai-set-of-emails/mailbox/mbox-0", 37),
        ("sisimai-set-of-emails/mailbox/mbox-1", 1),
    ];
    for (name, count) in expected {
        let data = std::fs::read(dir.join(name)).expect("read corpus mbox");
        let e = split_mbox(&data, Flavour::Mboxo);
        assert_eq!(e.len(), count, "{name}");
        assert!(e.iter().all(|e| e.from_line.is_some()), "{name}");
        assert!(e.iter().all(|e| !e.incomplete), "{name}");
    }
}

#[test]
fn sisimai_size_files() {
    let Some(dir) = corpus() else { return };
    let dir = dir.join("sisimai-set-of-emails/mailbox");
    let count = |name: &str| {
        let data = std::fs::read(dir.join(name)).expect("read size file");
        split_mbox(&data, Flavour::Mboxo).len()
    };
    assert_eq!(count("size-0"), 0);
    assert_eq!(count("size-1"), 0, "a lone blank byte");
    assert_eq!(count("size-2"), 1);
}

#[test]
fn leading_garbage_is_a_message() {
    let data =
        format!("Subject: orphan\n\nbody\n\n{FROM1}Subject: one\n\nb\n\n");
    let e = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(
        raws(&e),
        ["Subject: orphan\n\nbody\n", "Subject: one\n\nb\n"]
    );
    assert_eq!((e[0].offset, e[0].from_line.is_none()), (0, true));
}

#[test]
fn mboxo_and_mboxrd_unquoting() {
    let body =
        "Subject: q\n\n>From a\n>>From b\n>>>From c\n> From d\nFrom e\n";
    let data = format!("{FROM1}{body}\n");
    let o = split_mbox(data.as_bytes(), Flavour::Mboxo);
    assert_eq!(
        raws(&o)[0],
        "Subject: q\n\nFrom a\n>>From b\n>>>From c\n> From d\nFrom e\n"
    );
    let rd = split_mbox(data.as_bytes(), Flavour::Mboxrd);
    assert_eq!(
        raws(&rd)[0],
        "Subject: q\n\nFrom a\n>From b\n>>From c\n> From d\nFrom e\n"
    );
}

#[test]
fn flavour_names() {
    assert_eq!("mboxo".parse::<Flavour>(), Ok(Flavour::Mboxo));
    assert_eq!(" MBOXRD ".parse::<Flavour>(), Ok(Flavour::Mboxrd));
    let err = "mboxcl2".parse::<Flavour>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown mbox flavour 'mboxcl2' (expected mboxo or mboxrd)"
    );
    assert_eq!(Flavour::Mboxrd.to_string(), "mboxrd");
}

/// An mbox written by Postfix 3.7.11 local(8) on a private instance:
/// three messages with long queue IDs, one with a short one, each body
/// with a `From ` line that Postfix quoted.
#[test]
fn real_postfix_mbox() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/postfix-3.7.mbox");
    let data = std::fs::read(path).expect("read postfix mbox");
    let e = split_mbox(&data, Flavour::Mboxo);
    assert_eq!(e.len(), 4);
    let opts = ParseOptions {
        trusted_hosts: vec!["mx.landrush.example".into()],
        ..ParseOptions::default()
    };
    let mut arrivals = Vec::new();
    for (i, entry) in e.iter().enumerate() {
        assert!(!entry.incomplete);
        let sender = format!("reg{}@example.com", i + 1);
        assert_eq!(entry.envelope_sender.as_deref(), Some(sender.as_str()));
        let p = parse_message(
            &entry.raw,
            entry.envelope_sender.as_deref(),
            false,
            &opts,
        );
        arrivals.push(p.received_us.unwrap());
        if i < 3 {
            assert!(p.body.contains("\nFrom time to time\n"), "{:?}", p.body);
            let name = format!("café{}.example.fr", i + 1);
            assert_eq!(p.domains[0].unicode, name);
        }
        // swaks sends UTF-8 without a Content-Type.
        let utf8 = ["8-bit text without charset".to_string()];
        assert!(p.defects.is_empty() || p.defects == utf8, "{:?}", p.defects);
    }
    assert_eq!(
        arrivals,
        [
            1_796_405_913_603_822,
            1_796_405_913_736_468,
            1_796_405_913_834_546,
            1_796_405_922_000_000
        ]
    );
    // Every byte is accounted for: From_ line, message, blank line.
    let mut rebuilt = Vec::new();
    for entry in &e {
        rebuilt.extend_from_slice(entry.from_line.as_deref().unwrap());
        rebuilt.push(b'\n');
        rebuilt.extend_from_slice(&requote_mboxo(&entry.raw));
        rebuilt.push(b'\n');
    }
    assert_eq!(rebuilt, data);
}

fn requote_mboxo(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    out
}

/// A tiny deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Write messages as an mboxrd writer would, split them back, compare.
#[test]
fn mboxrd_round_trip() {
    let lines = [
        "From x",
        ">From y",
        ">>From z",
        "From",
        "",
        "domain: a.fr",
        "é",
        "From time to time",
        "\u{0}",
        "Subject: inner",
    ];
    let mut rng = XorShift(0x5eed_1234_abcd_9876);
    for _ in 0..300 {
        let eol = if rng.next().is_multiple_of(4) {
            "\r\n"
        } else {
            "\n"
        };
        let n = (rng.next() % 5 + 1) as usize;
        let mut msgs = Vec::new();
        let mut data = String::new();
        for _ in 0..n {
            let mut msg = format!("Subject: s{eol}{eol}");
            for _ in 0..rng.next() % 8 {
                msg.push_str(rng.pick(&lines));
                msg.push_str(eol);
            }
            data.push_str(&format!(
                "From a@example.fr Fri Dec  4 17:32:48 2026{eol}"
            ));
            for line in msg.split_inclusive('\n') {
                let stripped = line.trim_start_matches('>');
                if stripped.starts_with("From ") {
                    data.push('>');
                }
                data.push_str(line);
            }
            data.push_str(eol);
            msgs.push(msg);
        }
        let got = split_mbox(data.as_bytes(), Flavour::Mboxrd);
        assert_eq!(raws(&got), msgs, "{data:?}");
        assert!(got.iter().all(|e| !e.incomplete));
    }
}

/// Splitting is linear: a large mbox goes through at memory speed.
#[test]
fn split_is_linear() {
    let msg =
        format!("{FROM1}Subject: s\n\ndomain: x.example.fr\n>From y\n\n");
    let small = msg.repeat(1_000);
    let big = msg.repeat(100_000);
    let t = Instant::now();
    let n_small = split_mbox(small.as_bytes(), Flavour::Mboxo).len();
    let small_time = t.elapsed();
    let t = Instant::now();
    let n_big = split_mbox(big.as_bytes(), Flavour::Mboxo).len();
    let big_time = t.elapsed();
    assert_eq!((n_small, n_big), (1_000, 100_000));
    println!(
        "split {} MB in {:?} ({} messages)",
        big.len() / 1_000_000,
        big_time,
        n_big
    );
    // 100 times the data may take at most 400 times as long (noise).
    assert!(
        big_time < small_time * 400 + std::time::Duration::from_millis(50)
    );
}

/// One SMTP transaction, two recipients: Postfix 3.7.11 delivered it to
/// an mbox and to a Maildir. The split message is the Maildir file but
/// for the recipient headers and the one thing mboxo cannot undo: a
/// body line that already read `>From ` before quoting.
#[test]
fn mbox_and_maildir_copies_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mbox = std::fs::read(dir.join("both-doors.mbox")).expect("mbox");
    let file = std::fs::read(dir.join("both-doors.maildir-file")).expect("md");
    let e = split_mbox(&mbox, Flavour::Mboxo);
    assert_eq!(e.len(), 1);

    let expected = String::from_utf8(file.clone())
        .unwrap()
        .replace("maildir@landrush", "suzanne@landrush")
        .replace("\n>From quoted already\n", "\nFrom quoted already\n");
    assert_eq!(String::from_utf8_lossy(&e[0].raw), expected);

    let opts = ParseOptions {
        trusted_hosts: vec!["mx.landrush.example".into()],
        ..ParseOptions::default()
    };
    let from_mbox = parse_entry(&e[0], &opts);
    let from_maildir = parse_message(&file, None, false, &opts);
    // "id 4jh0Td3cDzz1SRw8;" (several recipients, no "for" clause) and
    // "Fri,  4 Dec 2026 18:32:21 +0000".
    let us = Some(1_796_409_141_509_027);
    assert_eq!(from_mbox.received_us, us);
    assert_eq!(from_maildir.received_us, us);
    assert_eq!(from_mbox.envelope_sender, from_maildir.envelope_sender);
    assert_eq!(from_mbox.domains, from_maildir.domains);
}
