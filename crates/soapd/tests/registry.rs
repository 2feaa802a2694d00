//! scripts/suzanne-registry.pl, the SOAP::Lite registration system,
//! against the real daemon in each of its call styles: first come,
//! first served, each request decided once.

mod common;
use common::*;
use std::collections::HashSet;
use std::path::PathBuf;

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
    // Replaying the decisions in journal order with the registry's
    // rule gives the outcomes it reported.
    let mut taken = HashSet::new();
    for e in fx.spool.journal_reader().unwrap() {
        if let spool::journal::Event::Complete {
            ticket, outcome, ..
        } = e.unwrap().event
        {
            let names: Vec<String> = fx.records[&ticket]
                .domains
                .iter()
                .map(|d| d.ascii.clone())
                .collect();
            let free = names.iter().all(|n| !taken.contains(n));
            let expected = if free { "accepted" } else { "rejected" };
            assert_eq!(outcome, expected, "ticket {ticket}");
            if free {
                taken.extend(names);
            }
        }
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
    run_registry("doc", &[]);
}
