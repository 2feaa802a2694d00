//! The queue rules, through the real daemon: first claimant first, one
//! lease per name, expiry gives the request back in its place, a hold
//! blocks its names and nothing else.

mod common;
use common::*;
use std::collections::HashSet;
use std::time::Duration;

fn names_disjoint(batch: &[Leased]) {
    let mut seen = HashSet::new();
    for l in batch {
        for n in &l.names {
            assert!(seen.insert(n.clone()), "{n} leased twice at once");
        }
    }
}

#[test]
fn one_lease_per_name_and_first_claimant_first() {
    let fx = spool_with(60);
    let d = Daemon::start(fx.root(), &[]);
    let first = lease(&d.addr, 100, 300);
    names_disjoint(&first);
    // Nothing else can be leased while those run.
    let second = lease(&d.addr, 100, 300);
    for l in &second {
        for n in &l.names {
            assert!(first.iter().all(|f| !f.names.contains(n)));
        }
    }
    // The first claimant of each contested name is the one leased.
    for l in first.iter().chain(&second) {
        let key = fx.records[&l.id].key;
        for (t, rec) in &fx.records {
            let shares =
                rec.domains.iter().any(|d| l.names.contains(&d.ascii));
            if rec.kind == spool::Kind::Request && shares && *t != l.id {
                assert!(rec.key > key, "{} leased before earlier {t}", l.id);
            }
        }
    }
    check_journal_leases(&fx.spool);
}

#[test]
fn expiry_returns_the_first_claimant() {
    let fx = spool_with(60);
    let d = Daemon::start(fx.root(), &[]);
    let all = lease(&d.addr, 100, 1);
    let contested = all
        .iter()
        .find(|l| l.names.contains(&"xn--caf-dma.fr".to_string()))
        .expect("a café.fr request")
        .clone();
    std::thread::sleep(Duration::from_millis(1500));
    let again = lease(&d.addr, 100, 300);
    let back = again
        .iter()
        .find(|l| l.names.contains(&"xn--caf-dma.fr".to_string()))
        .expect("café.fr back");
    assert_eq!(back.id, contested.id, "the first claimant comes back");
    assert_ne!(back.token, contested.token);
    // The old token is stale; the new one completes, idempotently.
    let stale = complete(&d.addr, &contested);
    assert!(stale.starts_with("HTTP/1.1 500"), "{stale}");
    assert_eq!(texts(&stale, "code"), ["stale-lease"]);
    for _ in 0..2 {
        let ok = complete(&d.addr, back);
        assert_eq!(texts(&ok, "status"), ["completed"], "{ok}");
    }
    check_journal_leases(&fx.spool);
}

#[test]
fn hold_blocks_the_name_and_nothing_else() {
    let fx = spool_with(60);
    let d = Daemon::start(fx.root(), &[]);
    let first = lease(&d.addr, 100, 300);
    let held = first
        .iter()
        .find(|l| l.names.contains(&"xn--caf-dma.fr".to_string()))
        .unwrap()
        .clone();
    let resp = literal_call(
        &d.addr,
        "HoldRequest",
        &[
            ("id", &held.id.to_string()),
            ("leaseToken", &held.token),
            ("reason", "à vérifier"),
        ],
    );
    assert_eq!(texts(&resp, "status"), ["held"], "{resp}");
    // Complete everything else, round after round: every other name
    // drains, café.fr stays blocked.
    let mut rest: Vec<Leased> =
        first.into_iter().filter(|l| l.id != held.id).collect();
    for _ in 0..50 {
        for l in &rest {
            assert!(!l.names.contains(&"xn--caf-dma.fr".to_string()), "{l:?}");
            complete(&d.addr, l);
        }
        rest = lease(&d.addr, 100, 300);
        if rest.is_empty() {
            break;
        }
    }
    let status = queue_status(&d.addr);
    assert_eq!(texts(&status, "held"), ["1"]);
    assert_ne!(texts(&status, "pending"), ["0"], "café.fr claimants wait");
    // The operator releases it: the daemon sees the journal line.
    fx.spool
        .journal()
        .unwrap()
        .append(&[spool::journal::Event::Unhold {
            ticket: held.id,
            reason: "checked".into(),
        }])
        .unwrap();
    let next = lease(&d.addr, 100, 300);
    assert_eq!(next.iter().map(|l| l.id).collect::<Vec<_>>(), [held.id]);
    check_journal_leases(&fx.spool);
}

#[test]
fn new_requests_are_picked_up_while_running() {
    let fx = spool_with(30);
    let d = Daemon::start(fx.root(), &[]);
    let before = texts(&queue_status(&d.addr), "pending");
    // Another program journals a request: the next call sees it.
    let extra = spool::journal::Event::Parsed(spool::journal::Parsed {
        ticket: 1000,
        batch: "000000000002.mbox".into(),
        offset: 0,
        arrival_us: 1,
        rotation: 2,
        position: 0,
        kind: spool::Kind::Request,
        dup_of: None,
        domains: vec!["neuf.fr".into()],
        sha256: String::new(),
        message_id: None,
        fingerprint: String::new(),
        registrar: "x@example.fr".into(),
    });
    fx.spool.journal().unwrap().append(&[extra]).unwrap();
    let after = texts(&queue_status(&d.addr), "pending");
    let n = |v: &[String]| v[0].parse::<u64>().unwrap();
    assert_eq!(n(&after), n(&before) + 1);
}
