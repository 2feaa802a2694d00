//! kill -9 the daemon while clients work, again and again: every
//! request is completed exactly once, no name is leased twice at once,
//! each name's requests complete in arrival order.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One literal call; None when the daemon is not there or hung up.
fn try_call(addr: &str, op: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut body = String::new();
    for (k, v) in params {
        body.push_str(&format!("<ns0:{k}>{v}</ns0:{k}>"));
    }
    let body = format!(
        "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap-env:Body><ns0:{op} xmlns:ns0=\"urn:Suzanne\">{body}</ns0:{op}>\
         </soap-env:Body></soap-env:Envelope>"
    );
    let req = format!(
        "POST /soap HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let resp = dechunk(&out);
    let complete = resp.contains("</SOAP-ENV:Envelope>");
    (resp.starts_with("HTTP/1.1 ") && complete).then_some(resp)
}

fn worker(addr: String, stop: Arc<AtomicBool>) -> usize {
    let mut completed = 0;
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst)
        && start.elapsed() < Duration::from_secs(150)
    {
        let Some(resp) = try_call(
            &addr,
            "GetRequests",
            &[("max", "5"), ("leaseSeconds", "2")],
        ) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let batch = if resp.starts_with("HTTP/1.1 200") {
            leased_in(&resp)
        } else {
            Vec::new()
        };
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        for l in batch {
            let params = [
                ("id", l.id.to_string()),
                ("leaseToken", l.token.clone()),
                ("outcome", "accepted".to_string()),
            ];
            let params: Vec<(&str, &str)> =
                params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if let Some(r) = try_call(&addr, "CompleteRequest", &params) {
                if r.contains(">completed<") {
                    completed += 1;
                }
            }
        }
    }
    completed
}

#[test]
fn kill_9_while_clients_work() {
    let fx = spool_with(150);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let soap = "read_timeout = 2\nrequest_timeout = 3\n".to_string();
    let start = |fx: &Fixture| {
        Daemon::start_with(fx.root(), &["--port", &port.to_string()], &soap)
    };
    let mut d = start(&fx);
    let addr = d.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (a, s) = (addr.clone(), Arc::clone(&stop));
            std::thread::spawn(move || worker(a, s))
        })
        .collect();

    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250 + 150 * (kills % 4)));
        if kills < 8 {
            d.kill9();
            kills += 1;
            d = start(&fx);
            continue;
        }
        let status = queue_status(&addr);
        let n =
            |k: &str| texts(&status, k).first().cloned().unwrap_or_default();
        if n("pending") == "0" && n("leased") == "0" {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let answered: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    drop(d);

    let done = completions(&fx.spool);
    let mut sorted = done.clone();
    sorted.sort();
    assert_eq!(sorted, fx.requests, "each request completed exactly once");
    check_journal_leases(&fx.spool);
    check_name_order(&fx, &done);
    println!("kills={kills} completed={} answered={answered}", done.len());
}
