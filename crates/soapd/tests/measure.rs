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

/// `many`: one CompleteRequests per leased batch instead of a
/// CompleteRequest per request.
fn fast_client(batch: u32, n: u64, many: bool) {
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
        if many {
            let items: String = leased
                .iter()
                .map(|l| {
                    format!(
                        "<ns0:completion><ns0:id>{}</ns0:id><ns0:leaseToken>\
                         {}</ns0:leaseToken><ns0:outcome>accepted\
                         </ns0:outcome></ns0:completion>",
                        l.id, l.token
                    )
                })
                .collect();
            let t = Instant::now();
            let r = c.call("CompleteRequests", &[("completions", &items)]);
            done.push(t.elapsed());
            assert_eq!(r.matches(">completed<").count(), leased.len());
            total += leased.len();
            continue;
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
    let op = if many {
        "CompleteRequests"
    } else {
        "CompleteRequest"
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fast client batch={batch}: {total} requests in {secs:.2}s = {:.0}/s; \
         GetRequests p50 {:.2} ms p99 {:.2} ms; {op} p50 {:.2} ms p99 {:.2} ms",
        total as f64 / secs,
        pct(&mut get, 0.5),
        pct(&mut get, 0.99),
        pct(&mut done, 0.5),
        pct(&mut done, 0.99)
    );
}

#[test]
#[ignore = "a measurement, not a test: run it with --release --ignored"]
fn measure_fast_client() {
    fast_client(1, 2000, false);
    fast_client(100, 2000, false);
    fast_client(100, 2000, true);
    fast_client(100, 12000, true);
}

#[test]
#[ignore = "a measurement, not a test: run it with --release --ignored"]
fn measure_soap_lite() {
    if !have_soap_lite() {
        return;
    }
    for (style, batch, complete) in [
        ("keepalive", "1", "one"),
        ("keepalive", "100", "one"),
        ("named", "100", "one"),
        ("keepalive", "100", "many"),
    ] {
        let fx = spool_with(1000);
        let d = Daemon::start(fx.root(), &[]);
        let script = clients_dir().join("drain.pl");
        let t = Instant::now();
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
        let secs = t.elapsed().as_secs_f64();
        println!(
            "SOAP::Lite {style} batch={batch} complete={complete}: {} \
             requests in {secs:.2}s = {:.0}/s",
            got.len(),
            got.len() as f64 / secs
        );
    }
}

/// scripts/suzanne-registry.pl as the demo runs it (batches of 100,
/// keep-alive), completing one by one or batch by batch, with one
/// worker or two.  The idle second before it exits is not counted.
#[test]
#[ignore = "a measurement, not a test: run it with --release --ignored"]
fn measure_registry() {
    if !have_soap_lite() {
        return;
    }
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/suzanne-registry.pl");
    let n = std::env::var("SUZANNE_MEASURE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for (workers, complete) in
        [("1", "one"), ("1", "batch"), ("2", "one"), ("2", "batch")]
    {
        let fx = spool_with(n);
        let d = Daemon::start(fx.root(), &[]);
        let t = Instant::now();
        run_client(
            "perl",
            &[
                script.to_str().unwrap(),
                "--url",
                &d.url(),
                "--batch",
                "100",
                "--keep-alive",
                "--idle-exit",
                "1",
                "--workers",
                workers,
                "--complete",
                complete,
            ],
        );
        let secs = t.elapsed().as_secs_f64() - 1.0;
        let done = completions(&fx.spool).len();
        println!(
            "registry workers={workers} complete={complete}: {done} \
             requests in {secs:.2}s = {:.0}/s",
            done as f64 / secs
        );
    }
}
