//! suzanne-parse end to end: the spool it writes, its idempotence, and
//! its behaviour under `kill -9` at random instants.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng};

fn journal_events(spool: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(spool.join("journal")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

/// The journal's `parsed` and `batch` lines without their times and
/// chain fields: what must not depend on when or how often parse ran.
fn parsed_lines(spool: &Path) -> Vec<serde_json::Value> {
    journal_events(spool)
        .into_iter()
        .filter(|e| e["ev"] == "parsed" || e["ev"] == "batch")
        .map(|mut e| {
            let o = e.as_object_mut().unwrap();
            for k in ["seq", "t", "prev", "rotated_us"] {
                o.remove(k);
            }
            e
        })
        .collect()
}

/// The durable result of parsing: records, raw messages, archive, and
/// the journal's parse lines.
fn result(spool: &Path) -> (Vec<(String, Vec<u8>)>, Vec<serde_json::Value>) {
    let mut files = tree(&spool.join("msg"));
    files.extend(tree(&spool.join("raw")));
    files.extend(
        tree(&spool.join("archive"))
            .into_iter()
            .map(|(n, b)| (format!("archive/{n}"), b)),
    );
    (files, parsed_lines(spool))
}

#[test]
fn parses_a_landrush_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mbox = dir.path().join("mbox");
    // Deliveries out of arrival order: the second message arrived first.
    let mut text = postfix_message(0, 5, "premier.fr");
    text.push_str(&postfix_message(1, 2, "premier.fr"));
    text.push_str(&postfix_message(2, 9, "autre.fr"));
    write(&mbox, &text);
    rotate_and_parse(&spool, &mbox);

    let parsed: Vec<_> = journal_events(&spool)
        .into_iter()
        .filter(|e| e["ev"] == "parsed")
        .collect();
    assert_eq!(parsed.len(), 3);
    // Tickets follow arrival within a batch: ticket 1 is message 1.
    assert_eq!(parsed[0]["ticket"], 1);
    assert_eq!(parsed[0]["message_id"], "<req1@reg.example>");
    assert_eq!(parsed[1]["message_id"], "<req0@reg.example>");
    let r1: serde_json::Value = serde_json::from_slice(
        &fs::read(spool.join("msg/T000000000001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r1["arrival"], "2004-05-11T09:00:02.000000Z");
    assert_eq!(r1["time_source"], "received");
    assert_eq!(r1["kind"], "request");
    assert_eq!(r1["domains"][0]["ascii"], "premier.fr");
    // mboxo quoting is undone in the stored message.
    let raw = fs::read_to_string(spool.join("raw/T000000000001.eml")).unwrap();
    assert!(raw.contains("\nFrom the registrar"), "{raw}");
    assert!(!raw.starts_with("From "), "From_ line kept");
    // The mailbox is archived only when every message is durable.
    assert!(spool.join("archive/000000000001.mbox").exists());
    assert_eq!(fs::read_dir(spool.join("incoming")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(spool.join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_resent_request_is_a_duplicate_of_the_first_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mbox = dir.path().join("mbox");
    write(&mbox, &postfix_message(7, 1, "double.fr"));
    rotate_and_parse(&spool, &mbox);
    // The same message re-sent later, in another mailbox.
    write(&mbox, &postfix_message(7, 30, "double.fr"));
    rotate_and_parse(&spool, &mbox);
    let r2: serde_json::Value = serde_json::from_slice(
        &fs::read(spool.join("msg/T000000000002.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r2["kind"], "duplicate");
    assert_eq!(r2["dup_of"], 1);
}

/// Postfix deferred the first copy, so its re-send was parsed first: the
/// copy received earlier keeps its earlier place as a request rather
/// than being thrown out as a duplicate of its own later copy.
#[test]
fn an_earlier_copy_delivered_late_is_not_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mbox = dir.path().join("mbox");
    write(&mbox, &postfix_message(7, 30, "double.fr"));
    rotate_and_parse(&spool, &mbox);
    write(&mbox, &postfix_message(7, 1, "double.fr"));
    rotate_and_parse(&spool, &mbox);
    let r2: serde_json::Value = serde_json::from_slice(
        &fs::read(spool.join("msg/T000000000002.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r2["kind"], "request");
    assert!(r2["reason"].to_string().contains("received later"), "{r2}");
}

#[test]
fn parse_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mbox = dir.path().join("mbox");
    write(&mbox, &landrush(50));
    rotate_and_parse(&spool, &mbox);
    let before = result(&spool);
    let out = run(
        parse_bin(),
        &[
            "--spool",
            spool.to_str().unwrap(),
            "--trusted-host",
            TRUSTED,
        ],
    );
    assert_quiet_ok(&out, "second parse");
    assert_eq!(result(&spool), before);
}

#[test]
fn a_second_instance_exits_75() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    fs::create_dir_all(spool.join("locks")).unwrap();
    let lock = spool.join("locks/parse.lock");
    let mut holder = Command::new("flock")
        .args(["-x", lock.to_str().unwrap(), "sleep", "5"])
        .spawn()
        .expect("flock(1)");
    sleep(Duration::from_millis(300));
    let out = run(parse_bin(), &["--spool", spool.to_str().unwrap()]);
    assert_eq!(code(&out), 75);
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn bad_usage_and_bad_config_get_one_line_and_their_codes() {
    let out = run(parse_bin(), &["--no-such-flag"]);
    assert_eq!(code(&out), 64);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("s.toml");
    write(&conf, "spoool = 1\n");
    let out = run(parse_bin(), &["--config", conf.to_str().unwrap()]);
    assert_eq!(code(&out), 78);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("suzanne-parse: cannot read configuration"));
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = run(rotate_bin(), &["--spool", "/nonexistent/x"]);
    assert_eq!(code(&out), 78, "no mailbox configured");
}

/// Kill suzanne-parse at random instants while it parses a big mailbox,
/// re-run it each time until it finishes, and compare with a clean run.
#[test]
fn kill_9_at_random_points_then_rerun_gives_the_clean_spool() {
    let dir = tempfile::tempdir().unwrap();
    let text = landrush(2000);
    let clean = dir.path().join("clean");
    let mbox = dir.path().join("mbox");
    write(&mbox, &text);
    let started = std::time::Instant::now();
    rotate_and_parse(&clean, &mbox);
    // Kill at random instants within the time a whole run takes here.
    let span = started.elapsed().as_millis() as u64 + 1;
    let expected = result(&clean);
    assert_eq!(
        expected.1.iter().filter(|e| e["ev"] == "parsed").count(),
        2000
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(2004);
    let rounds = 6;
    let mut kills = 0;
    for round in 0..rounds {
        let spool = dir.path().join(format!("crash{round}"));
        write(&mbox, &text);
        let out = run(
            rotate_bin(),
            &[
                "--spool",
                spool.to_str().unwrap(),
                "--mbox",
                mbox.to_str().unwrap(),
            ],
        );
        assert_quiet_ok(&out, "rotate");
        for attempt in 0..50 {
            let mut child = Command::new(parse_bin())
                .args([
                    "--spool",
                    spool.to_str().unwrap(),
                    "--trusted-host",
                    TRUSTED,
                    "--chunk",
                    "250",
                ])
                .spawn()
                .unwrap();
            let delay = rng.gen_range(0..span);
            sleep(Duration::from_millis(delay));
            if child.try_wait().unwrap().is_none() {
                let _ = child.kill();
                kills += 1;
            }
            let status = child.wait().unwrap();
            if status.success() {
                break;
            }
            assert!(attempt < 49, "parse never finished");
        }
        // One more run to finish anything a kill interrupted.
        let out = run(
            parse_bin(),
            &[
                "--spool",
                spool.to_str().unwrap(),
                "--trusted-host",
                TRUSTED,
            ],
        );
        assert_quiet_ok(&out, "final parse");
        assert_eq!(result(&spool), expected, "round {round} differs");
        fs::remove_dir_all(&spool).unwrap();
    }
    eprintln!("kill -9 rounds: {rounds}, kills: {kills}");
    assert!(kills > 0, "no run was ever killed: the test proved nothing");
}
