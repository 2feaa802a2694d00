//! Figures, not checks: run with
//! `cargo test --release -p suzanne-soapd --test measure -- --ignored --nocapture`.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn fast_client(batch: u32, n: u64) {
    let fx = spool_with(n);
    let d = Daemon::start(fx.root(), &[]);
    let mut c = Conn::open(&d.addr);
    let (mut get, mut done) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut total = 0;
    loop {
        let t = Instant::now();
        let resp = c.call(
            "GetRequests",
            &[("max", &batch.to_string()), ("leaseSeconds", "300")],
        );
        get.push(t.elapsed());
        let leased = leased_in(&resp);
        if leased.is_empty() {
            break;
        }
        for l in leased {
            let t = Instant::now();
            let r = c.call(
                "CompleteRequest",
                &[
                    ("id", &l.id.to_string()),
                    ("leaseToken", &l.token),
                    ("outcome", "accepted"),
                ],
            );
            done.push(t.elapsed());
            assert!(r.contains(">completed<"), "{r}");
            total += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fast client batch={batch}: {total} requests in {secs:.2}s = {:.0}/s; \
         GetRequests p50 {:.2} ms p99 {:.2} ms; CompleteRequest p50 {:.2} ms p99 {:.2} ms",
        total as f64 / secs,
        pct(&mut get, 0.5),
        pct(&mut get, 0.99),
        pct(&mut done, 0.5),
        pct(&mut done, 0.99)
    );
}

#[test]
#[ignore]
fn measure_fast_client() {
    fast_client(1, 2000);
    fast_client(100, 2000);
}

#[test]
#[ignore]
fn measure_soap_lite() {
    if !have_soap_lite() {
        return;
    }
    for (style, batch) in
        [("keepalive", "1"), ("keepalive", "100"), ("named", "100")]
    {
        let fx = spool_with(1000);
        let d = Daemon::start(fx.root(), &[]);
        let script = clients_dir().join("drain.pl");
        let t = Instant::now();
        let got = run_client(
            "perl",
            &[script.to_str().unwrap(), &d.url(), style, batch],
        );
        let secs = t.elapsed().as_secs_f64();
        println!(
            "SOAP::Lite {style} batch={batch}: {} requests in {secs:.2}s = {:.0}/s",
            got.len(),
            got.len() as f64 / secs
        );
    }
}
