//! `reconcile` and `verify-journal`: a clean spool passes; each kind of
//! gap or damage is named, by ticket where there is one, and exits 65.

mod common;

use std::fs;

use common::*;
use spool::journal::Event;

/// Reconcile's rows (header left out) and exit status.
fn reconcile(f: &Fixture, extra: &[&str]) -> (Vec<Vec<String>>, i32, String) {
    let mut args = vec!["reconcile"];
    args.extend_from_slice(extra);
    // Nothing here is work in progress unless a test says so.
    if !extra.contains(&"--tmp-grace") {
        args.extend_from_slice(&["--tmp-grace", "0"]);
    }
    let out = f.run(&args);
    let all = rows(&stdout(&out));
    assert_eq!(all[0], ["problem", "ticket", "detail"]);
    (all[1..].to_vec(), out.status.code().unwrap(), stderr(&out))
}

/// The (problem, ticket) pairs of reconcile's rows.
fn named(rows: &[Vec<String>]) -> Vec<(String, String)> {
    rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Replace the journal's lines through `edit` (a damaged journal).
fn edit_journal(f: &Fixture, edit: impl FnOnce(&mut Vec<String>)) {
    let path = f.path("journal");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// The byte offset of the journal line holding `needle`.
fn offset_of(f: &Fixture, needle: &str) -> usize {
    let text = fs::read_to_string(f.path("journal")).unwrap();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.contains(needle) {
            return at;
        }
        at += line.len();
    }
    panic!("{needle} not in the journal");
}

#[test]
fn a_clean_spool_reconciles_quietly() {
    let f = landrush();
    let (rows, code, err) = reconcile(&f, &["--tmp-grace", "0"]);
    assert_eq!((rows.len(), code, err.as_str()), (0, 0, ""));
}

#[test]
fn a_truncated_record_is_named_and_still_listed() {
    let f = landrush();
    let path = f.path("msg/T000000000002.json");
    let text = fs::read(&path).unwrap();
    fs::write(&path, &text[..text.len() / 2]).unwrap();

    let (rows, code, err) = reconcile(&f, &[]);
    assert_eq!(named(&rows), pairs(&[("record-unreadable", "2")]));
    assert!(rows[0][2].contains("T000000000002.json"), "{}", rows[0][2]);
    assert_eq!(code, 65);
    assert_eq!(
        err,
        "suzanne-stats: reconcile: 1 problem: 1 record-unreadable\n"
    );

    let out = f.run(&["requests"]);
    assert_eq!(out.status.code(), Some(65));
    let text = stdout(&out);
    assert_eq!(column(&text, "ticket"), ["1", "4", "2", "5", "3", "6"]);
    assert_eq!(column(&text, "reason")[2], "record unreadable");
    assert_eq!(column(&text, "source")[2], "000000000001.mbox");
    let err = stderr(&out);
    assert!(
        err.starts_with("suzanne-stats: ticket=2 problem=record-unreadable"),
        "{err}"
    );
    assert!(err.contains("T000000000002.json"), "{err}");

    // `all` reads the journal's SHA-256 too, and gives it in the row.
    let dir = f.dir.path().join("out");
    let out = f.run(&["all", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let listed = fs::read_to_string(dir.join("requests.csv")).unwrap();
    let sha = column(&listed, "sha256")[2].clone();
    assert_eq!(sha.len(), 64);
    assert_eq!(
        column(
            &fs::read_to_string(dir.join("reconcile.csv")).unwrap(),
            "problem"
        ),
        ["record-unreadable"]
    );
}

#[test]
fn a_file_left_in_tmp_is_named_after_the_grace() {
    let f = landrush();
    let path = f.path("tmp/T000000000007.json");
    fs::write(&path, b"{\"tick").unwrap();
    let file = fs::File::options().write(true).open(&path).unwrap();
    let minute_ago = std::time::UNIX_EPOCH
        + std::time::Duration::from_micros(at("09:04:00.000000") as u64);
    file.set_modified(minute_ago).unwrap();
    let (rows, code, _) = reconcile(&f, &["--tmp-grace", "300"]);
    assert_eq!((rows.len(), code), (0, 0), "a write in progress");

    let (rows, code, err) = reconcile(&f, &["--tmp-grace", "60"]);
    assert_eq!(named(&rows), pairs(&[("tmp-leftover", "")]));
    assert_eq!(
        rows[0][2],
        "tmp/T000000000007.json left since 2004-05-11T09:04:00Z"
    );
    assert_eq!(code, 65);
    assert!(err.contains("1 tmp-leftover"), "{err}");
}

#[test]
fn a_missing_or_changed_raw_message_is_named() {
    let f = landrush();
    fs::remove_file(f.path("raw/T000000000004.eml")).unwrap();
    fs::write(f.path("raw/T000000000001.eml"), b"From: forged\r\n").unwrap();
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[("raw-sha256-mismatch", "1"), ("raw-missing", "4")])
    );
    assert_eq!(rows[1][2], "raw/T000000000004.eml is missing");
    assert_eq!(code, 65);
}

#[test]
fn a_broken_journal_line_is_named_and_the_reports_still_run() {
    let f = landrush();
    let at = offset_of(&f, "\"ticket\":4,\"status\":\"sent\"");
    edit_journal(&f, |lines| {
        let i = lines
            .iter()
            .position(|l| l.contains("\"ticket\":4,\"status\""))
            .unwrap();
        lines[i] = "{\"seq\":17,\"t\":\"2004-05-1".to_string();
    });

    let out = f.run(&["stages"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(stdout(&out).contains("acknowledged,2,"), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("problem=journal-unreadable"), "{err}");
    assert!(err.contains(&format!("at byte {at}:")), "{err}");

    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[
            ("journal-unreadable", ""),
            ("journal-chain", ""),
            ("ack-missing", "4"),
        ])
    );
    assert_eq!(code, 65);

    let out = f.run(&["verify-journal"]);
    assert_eq!(out.status.code(), Some(65));
    let row = &rows_of(&out)[1];
    assert_eq!(row[0], "broken");
    assert_eq!(row[4], at.to_string());
    assert_eq!(row[5], "");
    assert_eq!(row[6], "the line is not JSON");
}

fn rows_of(out: &std::process::Output) -> Vec<Vec<String>> {
    rows(&stdout(out))
}

#[test]
fn a_changed_journal_line_breaks_the_chain_at_the_next_line() {
    let f = landrush();
    let changed = offset_of(&f, "\"ev\":\"lease\",\"ticket\":4");
    edit_journal(&f, |lines| {
        let i = lines
            .iter()
            .position(|l| l.contains("\"ev\":\"lease\",\"ticket\":4"))
            .unwrap();
        lines[i] = lines[i].replace("\"ticket\":4", "\"ticket\":2");
    });
    let next = offset_of(&f, "\"ev\":\"complete\",\"ticket\":4");

    let out = f.run(&["verify-journal"]);
    assert_eq!(out.status.code(), Some(65));
    let rows = rows_of(&out);
    assert_eq!(rows[1][0], "broken");
    assert_eq!(rows[1][4], next.to_string());
    assert_eq!(rows[1][5], "22");
    assert_eq!(
        rows[1][6],
        format!("prev does not match the hash of the line at byte {changed}")
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("at byte {next} (seq 22): chain broken")),
        "{err}"
    );

    let clean = landrush();
    let out = clean.run(&["verify-journal"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows_of(&out)[1][0..3], ["intact", "23", "23"]);
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_ticket_without_its_parsed_event_is_named() {
    let mut f = Fixture::new();
    let msgs = [
        Msg::request(1, "09:00:00.000000", 0, "a@x.fr", &[]),
        Msg::request(2, "09:00:01.000000", 10, "a@x.fr", &[]),
    ];
    f.batch_with(1, false, "09:00:05.000000", &msgs, 3, true);
    f.events(
        "09:00:06.000000",
        vec![ack(1, "sent", ""), ack(2, "sent", "")],
    );
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[("batch-count", ""), ("not-parsed", "3")])
    );
    assert_eq!(
        rows[0][2],
        "batch 000000000001.mbox: the batch event says 3 messages, 2 were \
         parsed"
    );
    assert_eq!(code, 65);
}

#[test]
fn a_batch_still_being_parsed_is_not_a_gap() {
    let mut f = Fixture::new();
    let msgs = [Msg::request(1, "09:00:00.000000", 0, "a@x.fr", &[])];
    f.batch_with(1, false, "09:00:05.000000", &msgs, 2, false);
    f.events("09:00:06.000000", vec![ack(1, "sent", "")]);
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!((rows.len(), code), (0, 0), "{rows:?}");
}

/// During a landrush the report runs every few minutes: a request
/// parsed within the grace and not acknowledged yet is in progress.
#[test]
fn a_request_not_acknowledged_yet_is_not_a_gap_within_the_grace() {
    let mut f = Fixture::new();
    let msgs = [Msg::request(1, "09:00:00.000000", 0, "a@x.fr", &[])];
    f.batch(1, false, "09:00:05.000000", &msgs);
    let (rows, _, _) = reconcile(&f, &["--tmp-grace", "31536000000"]);
    assert!(rows.iter().all(|r| r[0] != "ack-missing"), "{rows:?}");
    let (rows, code, _) = reconcile(&f, &[]);
    assert!(rows.iter().any(|r| r[0] == "ack-missing"), "{rows:?}");
    assert_eq!(code, 65);
}

#[test]
fn every_acknowledgement_gap_is_named_by_ticket() {
    let mut f = Fixture::new();
    let msgs: Vec<Msg> = (1..=5)
        .map(|i| Msg::request(i, "09:00:00.000000", i * 10, "a@x.fr", &[]))
        .collect();
    f.batch(1, false, "09:00:05.000000", &msgs);
    f.events(
        "09:00:06.000000",
        vec![
            ack(1, "sent", ""),
            ack(2, "deferred", "451 try later"),
            ack(3, "failed", "550 no such user"),
            ack(4, "skipped", ""),
        ],
    );
    let (rows, code, err) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[
            ("ack-deferred", "2"),
            ("ack-failed", "3"),
            ("ack-skipped-no-reason", "4"),
            ("ack-missing", "5"),
        ])
    );
    assert_eq!(code, 65);
    assert_eq!(
        err,
        "suzanne-stats: reconcile: 4 problems: 1 ack-deferred, 1 ack-failed, \
         1 ack-missing, 1 ack-skipped-no-reason\n"
    );
}

#[test]
fn a_completion_without_a_lease_and_an_overtaking_lease_are_named() {
    let mut f = Fixture::new();
    let name = ("exemple.fr", "exemple.fr");
    let msgs = [
        Msg::request(1, "09:00:00.000000", 0, "a@x.fr", &[name]),
        Msg::request(2, "09:00:00.000001", 10, "b@y.fr", &[name]),
        Msg::request(3, "09:00:00.000002", 20, "c@z.fr", &[]),
    ];
    f.batch(1, false, "09:00:05.000000", &msgs);
    f.events(
        "09:00:06.000000",
        vec![ack(1, "sent", ""), ack(2, "sent", ""), ack(3, "sent", "")],
    );
    f.events("09:01:00.000000", vec![lease(2, "t2", "09:09:00.000000")]);
    f.events("09:01:01.000000", vec![complete(3, "t3", "accepted")]);
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[("complete-without-lease", "3"), ("order-overtaken", "2")])
    );
    assert_eq!(
        rows[1][2],
        "leased at 2004-05-11T09:01:00.000000Z while ticket 1, an earlier \
         claimant of exemple.fr, is pending"
    );
    assert_eq!(code, 65);
}

#[test]
fn files_no_event_accounts_for_are_named() {
    let f = landrush();
    let stray = Msg::request(99, "09:00:00.000000", 0, "x@x.fr", &[]);
    f.spool
        .write_messages(
            &[(stray.record("000000000009.mbox", 9), stray.raw())],
            false,
        )
        .unwrap();
    fs::write(f.path("msg/notes.txt"), b"hello").unwrap();
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(
        named(&rows),
        pairs(&[
            ("record-not-journaled", "99"),
            ("stray-file", ""),
            ("raw-not-journaled", "99"),
        ])
    );
    assert_eq!(rows[1][2], "msg/notes.txt is not a ticket's file");
    assert_eq!(code, 65);
}

#[test]
fn a_rotated_mailbox_that_vanished_is_named() {
    let mut f = landrush();
    f.events(
        "09:03:00.000000",
        vec![Event::Rotated {
            batch: "000000000003.mbox".into(),
            source: "/var/mail/registry".into(),
            bytes: 1200,
            files: 0,
        }],
    );
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(named(&rows), pairs(&[("mailbox-lost", "")]));
    assert_eq!(
        rows[0][2],
        "batch 000000000003.mbox: rotated, but in neither incoming/ nor \
         archive/"
    );
    assert_eq!(code, 65);
    fs::write(f.path("incoming/000000000003.mbox"), b"").unwrap();
    assert_eq!(reconcile(&f, &[]).1, 0, "waiting in incoming/ is fine");
}

#[test]
fn an_archived_mailbox_missing_from_archive_is_named() {
    let f = landrush();
    fs::remove_file(f.path("archive/000000000001.mbox")).unwrap();
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!(named(&rows), pairs(&[("archive-missing", "")]));
    assert_eq!(code, 65);
}

#[test]
fn a_line_still_being_written_is_left_for_later() {
    let f = landrush();
    let mut journal = fs::OpenOptions::new()
        .append(true)
        .open(f.path("journal"))
        .unwrap();
    std::io::Write::write_all(&mut journal, b"{\"seq\":24,\"t\":\"2004-05-1")
        .unwrap();
    for report in ["stages", "requests", "summary"] {
        let out = f.run(&[report]);
        assert_eq!(out.status.code(), Some(0), "{report}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{report}");
    }
    let out = f.run(&["verify-journal"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows_of(&out)[1][0..3], ["intact", "23", "23"]);
    let (rows, code, _) = reconcile(&f, &[]);
    assert_eq!((rows.len(), code), (0, 0));
}
