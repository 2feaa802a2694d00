//! suzanne-ack with the outbox transport: the stage lock, configuration
//! errors, dry runs, the allow-list, duplicates, caps, unreadable
//! records. No network.

mod common;

use std::path::PathBuf;

use common::*;
use spool::{Kind, Stage};

fn outbox_config(f: &Fixture, more: &str) -> PathBuf {
    let outbox = f.path().join("outbox");
    f.config(&format!(
        "transport = 'outbox'\noutbox = '{}'\n{more}",
        outbox.display()
    ));
    outbox
}

fn written(outbox: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(outbox.join("new"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn writes_one_file_per_request_atomically_and_records_it() {
    let mut f = Fixture::new();
    f.add(vec![record(1), record(2)]);
    let outbox = outbox_config(&f, "");
    let out = f.run(&["-v"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("suzanne-ack: T000000000001 status=sent "));
    assert!(lines[2].starts_with("suzanne-ack: run sent=2 "));
    assert_eq!(written(&outbox), ["T000000000001.ack", "T000000000002.ack"]);
    assert_eq!(std::fs::read_dir(outbox.join("tmp")).unwrap().count(), 0);
    assert!(f.last_acks().values().all(|a| a.status == "sent"));
}

#[test]
fn a_second_instance_exits_75_at_once() {
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    let outbox = outbox_config(&f, "");
    let guard = f.spool.lock_stage(Stage::Ack).unwrap();
    let out = f.run(&[]);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    // Overlapping cron runs are normal: nothing for cron to mail...
    assert_eq!(stderr(&out), "");
    // ...and with -v, one line naming the lock.
    let out = f.run(&["-v"]);
    assert_eq!(code(&out), 75);
    assert!(stderr(&out).contains("ack.lock"), "{}", stderr(&out));
    assert!(written(&outbox).is_empty());
    drop(guard);
    assert_eq!(code(&f.run(&[])), 0);
}

#[test]
fn configuration_errors_exit_78() {
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    let cases = [
        ("from = ''", "[ack] from is not set"),
        (
            "templates = '/nonexistent'",
            "cannot read templates directory",
        ),
        ("language = 'de'", "no template 'ack.de.txt'"),
        ("allow = ['a b@x']", "allow entry"),
        ("transport = 'outbox'", "needs an outbox directory"),
        ("relai = 'x'", "unknown field"),
    ];
    for (line, want) in cases {
        // TOML refuses a repeated key: `from = ''` replaces the
        // fixture's own.
        let mut text = std::fs::read_to_string(f.config(line)).unwrap();
        if line.starts_with("from") {
            text = text.replace("from = 'Registre <accuse@nic.example>'", "");
        }
        std::fs::write(f.path().join("suzanne.toml"), text).unwrap();
        let out = f.run(&[]);
        assert_eq!(code(&out), 78, "{line}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{line}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    assert!(f.acks().is_empty());
}

#[test]
fn dry_run_writes_letters_and_records_nothing() {
    let mut f = Fixture::new();
    let mut bounce = record(2);
    bounce.kind = Kind::Auto;
    f.add(vec![record(1), bounce]);
    f.config("");
    let dir = f.path().join("dry");
    let out = f.run(&["--dry-run", "--outbox", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(written(&dir), ["T000000000001.ack"]);
    assert!(f.acks().is_empty());
}

#[test]
fn allow_list_and_duplicates_off_record_skips() {
    let mut f = Fixture::new();
    let mut stranger = record(2);
    stranger.reply_to = Some("victim@elsewhere.example".into());
    let mut dup = record(3);
    dup.kind = Kind::Duplicate;
    dup.dup_of = Some(1);
    f.add(vec![record(1), stranger, dup]);
    let outbox =
        outbox_config(&f, "allow = ['bureau.example']\nduplicates = 'off'");
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(written(&outbox), ["T000000000001.ack"]);
    let acks = f.last_acks();
    assert_eq!(acks[&1].status, "sent");
    assert_eq!(
        (acks[&2].status.as_str(), acks[&2].reason.as_str()),
        ("skipped", "not-allowed")
    );
    assert_eq!(
        (acks[&3].status.as_str(), acks[&3].reason.as_str()),
        ("skipped", "duplicate: of ticket 1")
    );
}

#[test]
fn per_minute_cap_counts_earlier_runs() {
    let mut f = Fixture::new();
    let rs: Vec<_> = (1..=3)
        .map(|t| {
            let mut r = record(t);
            r.from = "Bureau <same@bureau.example>".into();
            r
        })
        .collect();
    f.add(rs);
    let outbox = outbox_config(&f, "per_registrar_minute = 2");
    assert_eq!(code(&f.run(&[])), 0);
    assert_eq!(written(&outbox).len(), 2);
    // Same minute: the cap still holds.
    assert_eq!(code(&f.run(&[])), 0);
    assert_eq!(written(&outbox).len(), 2);
    // Journal times come from SUZANNE_NOW; a minute later it frees up.
    let later = "2004-05-11T09:06:01Z";
    let out = f.command(&[]).env("SUZANNE_NOW", later).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(written(&outbox).len(), 3);
}

#[test]
fn an_unreadable_record_is_reported_and_the_batch_goes_on() {
    let mut f = Fixture::new();
    f.add(vec![record(1), record(2), record(3)]);
    std::fs::write(f.spool.record_path(2), b"{ not json").unwrap();
    let outbox = outbox_config(&f, "");
    let out = f.run(&[]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("suzanne-ack: T000000000002 unreadable:"),
        "{err}"
    );
    assert_eq!(written(&outbox), ["T000000000001.ack", "T000000000003.ack"]);
    // Left without an event: tried again once it is repaired.
    assert!(!f.last_acks().contains_key(&2));
}

#[test]
fn form_language_and_registrar_map_choose_the_template() {
    let mut f = Fixture::new();
    let mut by_form = record(1);
    by_form.language = Some("English".into());
    let mut by_map = record(2);
    by_map.from = "Desk <desk@registrar.example>".into();
    let mut form_wins = record(3);
    form_wins.from = "Desk <desk@registrar.example>".into();
    form_wins.language = Some("fr".into());
    let mut unknown = record(4);
    unknown.language = Some("klingon".into());
    f.add(vec![by_form, by_map, form_wins, unknown]);
    let outbox =
        outbox_config(&f, "languages = { 'registrar.example' = 'en' }");
    assert_eq!(code(&f.run(&[])), 0);
    let subject = |t: u64| {
        let path = outbox.join(format!("new/T{t:012}.ack"));
        let text = std::fs::read_to_string(path).unwrap();
        let line = text.lines().find(|l| l.starts_with("Subject:")).unwrap();
        line.to_string()
    };
    assert!(subject(1).starts_with("Subject: Acknowledgement, ticket 1"));
    assert!(subject(2).starts_with("Subject: Acknowledgement, ticket 2"));
    // French: the encoded word "Accusé" first.
    assert!(subject(3).starts_with("Subject: =?utf-8?b?QWNjdXPDqQ==?= de"));
    assert!(subject(4).starts_with("Subject: =?utf-8?b?QWNjdXPDqQ==?= de"));
}
