//! `verify` end to end: a generated landrush through suzanne-rotate and
//! suzanne-parse verifies; a spool tampered with does not, and the
//! differences name what was done.
//!
//! The intake binaries are those `cargo build --workspace` left beside
//! ours; without them the tests say `skipped: ...` (and fail under
//! SUZANNE_REQUIRE_REALPARTS=1).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{show, sibling_bin, Work};

struct Intake {
    rotate: PathBuf,
    parse: PathBuf,
}

fn intake() -> Option<Intake> {
    match (sibling_bin("suzanne-rotate"), sibling_bin("suzanne-parse")) {
        (Some(rotate), Some(parse)) => Some(Intake { rotate, parse }),
        _ => {
            common::skip(
                "suzanne-rotate or suzanne-parse not built beside \
                 suzanne-loadgen (run cargo build --workspace)",
            );
            None
        }
    }
}

/// Generate `count` messages in `format`, rotate and parse them into
/// `spool`.
fn landrush(w: &Work, it: &Intake, format: &str, count: usize) -> PathBuf {
    let mailbox = w.path(format);
    w.generate(format, count, 2004, &["--format", format]);
    let config = w.config();
    let config = config.to_str().unwrap();
    let spool = w.path("spool");
    let spool_s = spool.to_str().unwrap();
    let flag = format!("--{format}");
    let out = w.run(
        &it.rotate,
        &[
            "--config",
            config,
            "--spool",
            spool_s,
            &flag,
            mailbox.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "rotate: {}", show(&out));
    let out = w.run(
        &it.parse,
        &[
            "--config",
            config,
            "--spool",
            spool_s,
            "--trusted-host",
            "mx.landrush.example",
            "--no-sync",
        ],
    );
    assert!(out.status.success(), "parse: {}", show(&out));
    spool
}

fn verify(w: &Work, spool: &Path, truth: &Path) -> (Option<i32>, String) {
    let config = w.config();
    let out = w.run(
        &common::loadgen(),
        &[
            "verify",
            "--config",
            config.to_str().unwrap(),
            "--spool",
            spool.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn ticket_file(spool: &Path, dir: &str, ticket: u64, ext: &str) -> PathBuf {
    spool.join(dir).join(format!("T{ticket:012}.{ext}"))
}

#[test]
fn an_mbox_landrush_verifies_and_tampering_is_named() {
    let Some(it) = intake() else { return };
    let w = Work::new();
    let spool = landrush(&w, &it, "mbox", 1000);
    let truth = w.path("mbox.truth.jsonl");
    let (code, out) = verify(&w, &spool, &truth);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "verify: ok: 1000 messages, order kept\n");

    // Two tickets' files swapped: the queue order no longer is the
    // order of arrival.
    let swapped = copy_spool(&w, &spool, "swapped");
    for (dir, ext) in [("msg", "json"), ("raw", "eml")] {
        let a = ticket_file(&swapped, dir, 100, ext);
        let b = ticket_file(&swapped, dir, 101, ext);
        let tmp = swapped.join("tmp").join("swap");
        fs::rename(&a, &tmp).unwrap();
        fs::rename(&b, &a).unwrap();
        fs::rename(&tmp, &b).unwrap();
    }
    let (code, out) = verify(&w, &swapped, &truth);
    assert_eq!(code, Some(65), "{out}");
    assert!(out.starts_with("verify: FAILED: "), "{out}");
    assert!(out.contains("(ticket 100): queued before index"), "{out}");

    // A record and its message removed.
    let removed = copy_spool(&w, &spool, "removed");
    fs::remove_file(ticket_file(&removed, "msg", 500, "json")).unwrap();
    fs::remove_file(ticket_file(&removed, "raw", 500, "eml")).unwrap();
    let (code, out) = verify(&w, &removed, &truth);
    assert_eq!(code, Some(65), "{out}");
    assert!(out.contains("ticket 500: cannot read record"), "{out}");

    // A subject changed in a record.
    let changed = copy_spool(&w, &spool, "changed");
    let rec = ticket_file(&changed, "msg", 7, "json");
    let mut r: serde_json::Value =
        serde_json::from_slice(&fs::read(&rec).unwrap()).unwrap();
    r["subject"] = "Autre chose".into();
    fs::write(&rec, serde_json::to_vec(&r).unwrap()).unwrap();
    let (code, out) = verify(&w, &changed, &truth);
    assert_eq!(code, Some(65), "{out}");
    assert!(out.contains("(ticket 7): subject: expected"), "{out}");
    assert!(out.contains("got \"Autre chose\""), "{out}");

    // A message the truth does not know, and one it misses.
    let short = w.path("short.truth.jsonl");
    let text = fs::read_to_string(&truth).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("{\"index\":3,"))
        .collect();
    fs::write(&short, kept.join("\n") + "\n").unwrap();
    let (code, out) = verify(&w, &spool, &short);
    assert_eq!(code, Some(65), "{out}");
    assert!(out.contains(": index 3 is not in the truth"), "{out}");
}

#[test]
fn a_maildir_landrush_verifies() {
    let Some(it) = intake() else { return };
    let w = Work::new();
    let spool = landrush(&w, &it, "maildir", 1000);
    let (code, out) = verify(&w, &spool, &w.path("maildir.truth.jsonl"));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "verify: ok: 1000 messages, order kept\n");
}

/// Cron rotates while Postfix delivers: the mailbox reaches the spool
/// in several pieces, and late deliveries carry later tickets. The
/// queue still follows arrival.
#[test]
fn a_landrush_rotated_in_three_pieces_verifies() {
    let Some(it) = intake() else { return };
    let w = Work::new();
    w.generate("whole", 3000, 11, &[]);
    rotate_in_pieces(&w, &it, "whole", &[1000, 2000]);
    let (code, out) =
        verify(&w, &w.path("spool"), &w.path("whole.truth.jsonl"));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "verify: ok: 3000 messages, order kept\n");
}

/// Seed 3: index 222 is deferred by Postfix and delivered (mailbox
/// position 1809) after its re-sent copy, index 1684 (position 1687).
/// Rotated between the two, the first copy to arrive must still be the
/// request and the re-send its duplicate.
#[test]
#[ignore = "XXX: suzanne-parse keeps both copies as requests (the earlier \
            keeps its place, its reason names the later copy) where this \
            truth expects the re-send to be the duplicate: verify must \
            learn that outcome before this can pass"]
fn a_first_copy_delivered_after_its_resend_stays_the_request() {
    let Some(it) = intake() else { return };
    let w = Work::new();
    w.generate("whole", 2000, 3, &[]);
    rotate_in_pieces(&w, &it, "whole", &[1700]);
    let (code, out) =
        verify(&w, &w.path("spool"), &w.path("whole.truth.jsonl"));
    assert_eq!(code, Some(0), "{out}");
}

/// Rotate and parse the mbox `name` in pieces, cut before the messages
/// at the mailbox positions `cuts`.
fn rotate_in_pieces(w: &Work, it: &Intake, name: &str, cuts: &[usize]) {
    let data = fs::read(w.path(name)).unwrap();
    let starts = message_starts(&data);
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().map(|&c| starts[c]));
    bounds.push(data.len());
    let config = w.config();
    let config = config.to_str().unwrap();
    let spool = w.path("spool");
    let spool = spool.to_str().unwrap();
    for piece in bounds.windows(2) {
        fs::write(w.path("mbox"), &data[piece[0]..piece[1]]).unwrap();
        let out = w.run(
            &it.rotate,
            &["--config", config, "--spool", spool, "--mbox", "mbox"],
        );
        assert!(out.status.success(), "rotate: {}", show(&out));
        let out = w.run(
            &it.parse,
            &[
                "--config",
                config,
                "--spool",
                spool,
                "--trusted-host",
                "mx.landrush.example",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "parse: {}", show(&out));
    }
}

/// Byte offsets of the From_ lines of an mbox.
fn message_starts(data: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 0;
    let mut blank_before = true;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if blank_before && line.starts_with(b"From ") {
            starts.push(pos);
        }
        blank_before = line == b"\n" || line == b"\r\n";
        pos += line.len();
    }
    starts
}

#[test]
fn no_spool_is_an_error_not_a_verdict() {
    let w = Work::new();
    w.generate("mbox", 10, 1, &[]);
    let (code, out) =
        verify(&w, &w.path("nowhere"), &w.path("mbox.truth.jsonl"));
    assert_eq!(code, Some(65), "{out}");
    assert!(out.is_empty(), "{out}");
}

/// A copy of a spool to spoil.
fn copy_spool(w: &Work, spool: &Path, name: &str) -> PathBuf {
    let dest = w.path(name);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg("--")
        .arg(spool)
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success());
    dest
}
