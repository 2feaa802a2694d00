//! Real clients drain a spool through the real daemon; what they got
//! must be the spool, each request once, each name in arrival order.

mod common;
use common::*;

fn drain_perl(style: &str, batch: &str) {
    drain_perl_with(style, batch, "one");
}

/// `complete`: `one` CompleteRequest per request, or `many` requests
/// in one CompleteRequests per leased batch.
fn drain_perl_with(style: &str, batch: &str, complete: &str) {
    if !have_soap_lite() {
        return;
    }
    let fx = spool_with(120);
    let d = Daemon::start(fx.root(), &[]);
    let script = clients_dir().join("drain.pl");
    let got = run_client(
        "perl",
        &[
            script.to_str().unwrap(),
            &d.url(),
            style,
            batch,
            "100000",
            complete,
        ],
    );
    check_drained(&fx, &got);
    check_batches_appended_whole(&fx, &d, complete == "many");
}

#[test]
fn soap_lite_positional() {
    drain_perl("positional", "7");
}

#[test]
fn soap_lite_named() {
    drain_perl("named", "100");
}

#[test]
fn soap_lite_autotype0() {
    drain_perl("autotype0", "1");
}

#[test]
fn soap_lite_keep_alive() {
    drain_perl("keepalive", "10");
}

#[test]
fn soap_lite_complete_requests_positional() {
    drain_perl_with("positional", "7", "many");
}

#[test]
fn soap_lite_complete_requests_named_keep_alive() {
    drain_perl_with("keepalive", "100", "many");
}

#[test]
fn soap_lite_complete_requests_autotype0() {
    drain_perl_with("autotype0", "5", "many");
}

fn drain_python(lib: &str, batch: &str) {
    drain_python_with(lib, batch, "one");
}

fn drain_python_with(lib: &str, batch: &str, complete: &str) {
    if !have_python(lib) {
        return;
    }
    let fx = spool_with(120);
    let d = Daemon::start(fx.root(), &[]);
    let script = clients_dir().join("drain.py");
    let got = run_client(
        "python3",
        &[
            script.to_str().unwrap(),
            &d.url(),
            lib,
            batch,
            "100000",
            complete,
        ],
    );
    check_drained(&fx, &got);
    check_batches_appended_whole(&fx, &d, complete == "many");
}

/// With CompleteRequests, each call's completions are one append: the
/// log's `completed=N` equals a run of N `complete` lines sharing one
/// time, nothing else in between.
fn check_batches_appended_whole(fx: &Fixture, d: &Daemon, many: bool) {
    let calls: Vec<usize> = d
        .log_lines()
        .iter()
        .filter(|l| l.contains("op=CompleteRequests"))
        .map(|l| {
            let n = l.split(" completed=").nth(1).expect(l);
            n.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    if !many {
        assert!(calls.is_empty());
        return;
    }
    let mut runs = Vec::new();
    let mut last: Option<i64> = None;
    for e in fx.spool.journal_reader().unwrap() {
        let e = e.unwrap();
        match e.event {
            spool::journal::Event::Complete { .. } => {
                if last == Some(e.t_us) {
                    *runs.last_mut().unwrap() += 1;
                } else {
                    runs.push(1);
                }
                last = Some(e.t_us);
            }
            _ => last = None,
        }
    }
    assert_eq!(runs, calls, "one append per CompleteRequests call");
}

#[test]
fn zeep_complete_requests() {
    drain_python_with("zeep", "10", "many");
}

#[test]
fn suds_complete_requests() {
    drain_python_with("suds", "4", "many");
}

#[test]
fn zeep_from_the_served_wsdl() {
    drain_python("zeep", "10");
}

#[test]
fn suds_from_the_served_wsdl() {
    drain_python("suds", "3");
}
