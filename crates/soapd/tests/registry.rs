//! scripts/suzanne-registry.pl, the SOAP::Lite registration system,
//! against the real daemon in each of its call styles, completing one
//! by one or batch by batch, with one worker or several: first come,
//! first served, each request decided once.

mod common;
use common::*;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

fn registry_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/suzanne-registry.pl")
}

fn run_registry(style: &str, extra: &[&str]) {
    if !have_soap_lite() {
        return;
    }
    let script = registry_script();
    if !script.exists() {
        println!("skipped: {} is missing", script.display());
        return;
    }
    let fx = spool_with(120);
    let d = Daemon::start(fx.root(), &[]);
    let out = fx.dir.path().join("decisions.jsonl");
    let mut args = vec![
        script.to_str().unwrap().to_string(),
        "--url".into(),
        d.url(),
        "--style".into(),
        style.into(),
        "--idle-exit".into(),
        "1".into(),
        "--deadline".into(),
        "120".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_client("perl", &args);

    let done = completions(&fx.spool);
    let mut sorted = done.clone();
    sorted.sort();
    assert_eq!(sorted, fx.requests, "each request decided exactly once");
    check_name_order(&fx, &done);
    check_journal_leases(&fx.spool);
    let outcomes = journal_outcomes(&fx);
    assert_eq!(outcomes, first_come_first_served(&fx));
    check_out_file(&out, &outcomes, extra.contains(&"--workers"));
}

/// Each ticket's outcome as the journal recorded it.
fn journal_outcomes(fx: &Fixture) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for e in fx.spool.journal_reader().unwrap() {
        if let spool::journal::Event::Complete {
            ticket, outcome, ..
        } = e.unwrap().event
        {
            out.insert(ticket, outcome);
        }
    }
    out
}

/// The registry's rule replayed over the requests in arrival order: a
/// request is accepted when none of its names was taken by an earlier
/// accepted one.
fn first_come_first_served(fx: &Fixture) -> BTreeMap<u64, String> {
    let mut by_arrival: Vec<u64> = fx.requests.clone();
    by_arrival.sort_by_key(|t| fx.records[t].key);
    let mut taken = HashSet::new();
    let mut out = BTreeMap::new();
    for t in by_arrival {
        let names: Vec<&str> = fx.records[&t]
            .domains
            .iter()
            .map(|d| d.ascii.as_str())
            .collect();
        let free = names.iter().all(|n| !taken.contains(n));
        if free {
            taken.extend(names);
        }
        let outcome = if free { "accepted" } else { "rejected" };
        out.insert(t, outcome.to_owned());
    }
    out
}

/// --out: one line per request, with the journal's outcome; merged
/// from several workers, in arrival order.
fn check_out_file(
    path: &std::path::Path,
    outcomes: &BTreeMap<u64, String>,
    merged: bool,
) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seen = BTreeMap::new();
    for l in &lines {
        let id = l["id"].as_u64().unwrap();
        let outcome = l["outcome"].as_str().unwrap().to_owned();
        assert!(seen.insert(id, outcome).is_none(), "{id} twice");
    }
    assert_eq!(&seen, outcomes, "--out and the journal disagree");
    if merged {
        let keys: Vec<(String, u64)> = lines
            .iter()
            .map(|l| {
                let arrival = l["arrival"].as_str().unwrap().to_owned();
                (arrival, l["id"].as_u64().unwrap())
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "merged --out not in arrival order");
    }
}

#[test]
fn registry_default_style() {
    run_registry("default", &[]);
}

#[test]
fn registry_named_keep_alive() {
    run_registry("named", &["--keep-alive", "--batch", "100"]);
}

#[test]
fn registry_typed() {
    run_registry("typed", &["--batch", "1"]);
}

#[test]
fn registry_doc() {
    run_registry("doc", &["--fields", "all"]);
}

#[test]
fn registry_complete_one_by_one() {
    run_registry("default", &["--complete", "one", "--batch", "7"]);
}

#[test]
fn registry_typed_complete_one_keep_alive() {
    run_registry("typed", &["--complete", "one", "--keep-alive"]);
}

/// Two workers, small batches and a little delay, so that claimants
/// of the contested names are handed to both: the outcomes are still
/// those of first come, first served by arrival.
#[test]
fn registry_two_workers_contested_names() {
    run_registry(
        "default",
        &["--workers", "2", "--batch", "3", "--delay-ms", "2"],
    );
}

#[test]
fn registry_three_workers_doc_one_by_one() {
    run_registry(
        "doc",
        &["--workers", "3", "--batch", "2", "--complete", "one"],
    );
}

/// A worker that fails makes the whole run fail, with its status, and
/// the others are not waited for beyond the bound.
#[test]
fn registry_workers_fail_together() {
    if !have_soap_lite() {
        return;
    }
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = std::time::Instant::now();
    let out = Command::new("perl")
        .arg(registry_script())
        .args(["--url", &format!("http://127.0.0.1:{port}/soap")])
        .args(["--workers", "2", "--timeout", "5", "--deadline", "20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69), "{out:?}");
    assert!(start.elapsed().as_secs() < 30);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("call 'GetRequests' at"), "{err}");
}
