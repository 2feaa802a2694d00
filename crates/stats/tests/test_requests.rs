//! `requests`: the design's contract listing, row by row.

mod common;

use std::process::{Command, Stdio};

use common::*;
use sha2::{Digest, Sha256};
use spool::Kind;

#[test]
fn rows_are_in_arrival_order_with_every_contract_column() {
    let f = landrush();
    let out = f.run(&["requests"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let rows = rows(&stdout(&out));
    assert_eq!(
        rows[0].join(","),
        "ticket,arrival,envelope_sender,from,message_id,subject,domains,\
         domains_ascii,kind,reason,sha256,source,offset,dup_of,time_source,\
         rotation,position,size"
    );
    let tickets: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(tickets, ["1", "4", "2", "5", "3", "6"]);

    let raw = Msg::request(
        1,
        "09:00:00.100000",
        0,
        "a@reg-a.fr",
        &[("café.fr", "xn--caf-dma.fr"), ("exemple.fr", "exemple.fr")],
    )
    .raw();
    let sha = hex::encode(Sha256::digest(&raw));
    let size = raw.len().to_string();
    assert_eq!(
        rows[1],
        [
            "1",
            "2004-05-11T09:00:00.100000Z",
            "bounce-a@reg-a.fr",
            "a@reg-a.fr",
            "<m1@example>",
            "request 1",
            "café.fr exemple.fr",
            "xn--caf-dma.fr exemple.fr",
            "request",
            "",
            &sha,
            "000000000001.mbox",
            "0",
            "",
            "received",
            "1",
            "0",
            &size,
        ]
    );
    // A Maildir message names its file; a duplicate names its original.
    assert_eq!(
        rows[4][11],
        "000000000002.maildir/000001-1084266000.M2P1.mx"
    );
    assert_eq!(rows[4][8], "duplicate");
    assert_eq!(rows[4][9], "duplicate of ticket 2");
    assert_eq!(rows[4][13], "2");
    assert_eq!(rows[6][8], "malformed");
    assert_eq!(rows[6][9], "no domain; no form");
    assert_eq!(rows[5][8], "auto");
}

#[test]
fn equal_arrival_times_go_by_rotation_then_position() {
    let mut f = Fixture::new();
    let t = "09:00:00.000000";
    f.batch(
        1,
        false,
        "09:00:05.000000",
        &[
            Msg::request(1, t, 100, "a@x.fr", &[]),
            Msg::request(2, t, 200, "a@x.fr", &[]),
        ],
    );
    f.batch(
        2,
        false,
        "09:00:06.000000",
        &[Msg::request(3, t, 50, "a@x.fr", &[])],
    );
    let out = f.run(&["requests"]);
    assert_eq!(column(&stdout(&out), "ticket"), ["1", "2", "3"]);
}

#[test]
fn an_empty_spool_lists_only_the_header() {
    let f = Fixture::new();
    let out = f.run(&["requests"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows(&stdout(&out)).len(), 1);
}

#[test]
fn out_dir_writes_requests_csv() {
    let f = landrush();
    let dir = f.dir.path().join("reports");
    let out = f.run(&["requests", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(dir.join("requests.csv")).unwrap();
    assert_eq!(rows(&text).len(), 7);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file stays behind");
}

#[test]
fn requests_into_head_exits_0_quietly() {
    let mut f = Fixture::new();
    let msgs: Vec<Msg> = (1..=3000)
        .map(|i| {
            let mut m =
                Msg::request(i, "09:00:00.000000", i * 1000, "a@x.fr", &[]);
            m.kind = Kind::Request;
            m
        })
        .collect();
    f.batch(1, false, "09:00:05.000000", &msgs);
    let cmd = format!(
        "'{}' requests --config /dev/null --spool '{}' | head -1",
        env!("CARGO_BIN_EXE_suzanne-stats"),
        f.root().display()
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &cmd])
        .env("SUZANNE_NOW", NOW)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(stdout(&out).starts_with("ticket,arrival,"));
    assert_eq!(stdout(&out).lines().count(), 1);
}

#[test]
fn common_options_go_before_or_after_the_report() {
    let f = landrush();
    let out = Command::new(env!("CARGO_BIN_EXE_suzanne-stats"))
        .arg("--spool")
        .arg(f.root())
        .args(["--config", "/dev/null", "requests"])
        .env("SUZANNE_NOW", NOW)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&stdout(&out)).len(), 7);
}

#[test]
fn usage_errors_exit_64_and_a_missing_spool_65() {
    let f = Fixture::new();
    assert_eq!(f.run(&["no-such-report"]).status.code(), Some(64));
    let missing = f.dir.path().join("nowhere");
    let out = stats(&missing, &["requests"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        stderr(&out).starts_with("suzanne-stats: "),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
}
