//! Every mailbox and message of the public corpus beside the project
//! (`../shared/corpus`) goes through rotate and parse without a failure,
//! and every message comes out accounted for. Skips, saying so, when the
//! corpus is not there.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn corpus() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var("SUZANNE_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("../shared/corpus is required (SUZANNE_REQUIRE_CORPUS=1)");
    } else {
        eprintln!("skipped: ../shared/corpus not present");
        None
    }
}

/// (kind, ticket) of every parsed message, from the journal.
fn parsed(spool: &Path) -> Vec<(String, u64)> {
    let text = fs::read_to_string(spool.join("journal")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["ev"] == "parsed")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["ticket"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every parsed ticket is of a known kind and has its record and raw
/// message; nothing is left waiting.
fn assert_accounted(spool: &Path, expected: usize, what: &str) {
    let got = parsed(spool);
    assert_eq!(got.len(), expected, "{what}: messages accounted for");
    for (kind, ticket) in &got {
        assert!(
            ["request", "duplicate", "auto", "malformed"]
                .contains(&kind.as_str()),
            "{what}: kind {kind}"
        );
        let name = format!("T{ticket:012}");
        assert!(spool.join(format!("msg/{name}.json")).exists());
        assert!(spool.join(format!("raw/{name}.eml")).exists());
    }
    assert_eq!(fs::read_dir(spool.join("incoming")).unwrap().count(), 0);
}

/// Message counts known independently of Suzanne's splitter (the
/// corpus's SOURCES.md gives Python mailbox's counts; mailbox_01 is one
/// message whose body has an unquoted "From " line).
const MBOXES: &[(&str, usize)] = &[
    ("cpython-test_email-data/mailbox_01.mbox", 1),
    ("gnu-mailutils-spool/bigto.mbox", 1),
    ("gnu-mailutils-spool/mbox", 1),
    ("gnu-mailutils-spool/mbox1", 5),
    ("gnu-mailutils-spool/mbox2", 5),
    ("gnu-mailutils-spool/mime.mbox", 2),
    ("gnu-mailutils-spool/msg.mbox", 4),
    ("gnu-mailutils-spool/relational.mbox", 9),
    ("gnu-mailutils-spool/search.mbox", 8),
    ("gnu-mailutils-spool/search2.mbox", 5),
    ("gnu-mailutils-spool/sieve.mbox", 3),
    ("gnu-mailutils-spool/teaparty.mbox", 95),
    ("sisimai-set-of-emails/mailbox/mbox-0", 37),
    ("sisimai-set-of-emails/mailbox/mbox-1", 1),
];

#[test]
fn every_corpus_mbox_is_split_and_accounted_for() {
    let Some(corpus) = corpus() else { return };
    for (name, count) in MBOXES {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("mbox");
        let spool = dir.path().join("spool");
        fs::copy(corpus.join(name), &mbox).unwrap();
        rotate_and_parse(&spool, &mbox);
        assert_accounted(&spool, *count, name);
    }
}

#[test]
fn tiny_and_empty_mailboxes_lose_nothing() {
    let Some(corpus) = corpus() else { return };
    // size-0 is empty: nothing to rotate. size-1 is one blank byte: no
    // message, though the rotated mailbox keeps it in the archive.
    // size-2 ("22\n") is no mail either, yet must be kept, not dropped.
    for (name, count) in [("size-0", 0), ("size-1", 0), ("size-2", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("mbox");
        let spool = dir.path().join("spool");
        fs::copy(
            corpus.join("sisimai-set-of-emails/mailbox").join(name),
            &mbox,
        )
        .unwrap();
        rotate_and_parse(&spool, &mbox);
        assert_accounted(&spool, count, name);
    }
}

/// Every single-message file in the corpus, delivered into one Maildir.
#[test]
fn every_corpus_message_file_is_accounted_for() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        fs::create_dir_all(md.join(sub)).unwrap();
    }
    let mut files = Vec::new();
    collect_messages(&corpus, &mut files);
    assert!(files.len() > 300, "only {} corpus messages", files.len());
    for (i, f) in files.iter().enumerate() {
        fs::copy(f, md.join("new").join(format!("{i}.corpus"))).unwrap();
    }
    let spool = dir.path().join("spool");
    let s = spool.to_str().unwrap();
    let out = run(
        rotate_bin(),
        &["--spool", s, "--maildir", md.to_str().unwrap()],
    );
    assert_quiet_ok(&out, "rotate");
    let out = run(parse_bin(), &["--spool", s, "--trusted-host", TRUSTED]);
    assert_quiet_ok(&out, "parse");
    assert_accounted(&spool, files.len(), "corpus message files");
}

/// Message files: .eml, cpython's msg_*.txt, zbateson's *.txt, mime.msg,
/// and the files of every Maildir (cur/, new/, sisimai's dos/mac/not).
fn collect_messages(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_messages(&p, out);
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let parent = p.parent().unwrap().to_string_lossy().into_owned();
        let in_maildir = ["/cur", "/new", "/dos", "/mac", "/not"]
            .iter()
            .any(|s| parent.ends_with(s));
        let message = name.ends_with(".eml")
            || name.ends_with(".msg")
            || (name.ends_with(".txt") && !name.contains("README"))
            || in_maildir
            || parent.ends_with("/headers");
        if message && !name.ends_with(".json") {
            out.push(p);
        }
    }
}
