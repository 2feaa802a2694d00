//! The HTTP surface: the WSDL, paths, methods, the log line.

mod common;
use common::*;
use std::time::Duration;

fn get(addr: &str, target: &str, host: &str) -> String {
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    dechunk(&raw_bytes(addr, req.as_bytes(), Duration::from_secs(5)))
}

#[test]
fn wsdl_names_the_address_the_client_used() {
    let fx = spool_with(5);
    let d = Daemon::start(fx.root(), &[]);
    let resp = get(&d.addr, "/soap?wsdl", "registry.example:8780");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(
        "<soap:address location=\"http://registry.example:8780/soap\"/>"
    ));
    assert_eq!(resp.matches("soapAction=\"urn:Suzanne#").count(), 8);
    // A Host header that is not a host name is not echoed.
    let resp = get(&d.addr, "/soap?WSDL", "a\"b");
    let fallback = format!("location=\"http://{}/soap\"", d.addr);
    assert!(resp.contains(&fallback), "{resp}");
    assert!(get(&d.addr, "/other", "x").starts_with("HTTP/1.1 404"));
    assert!(get(&d.addr, "/soap", "x").starts_with("HTTP/1.1 405"));
    let resp = raw_exchange(
        &d.addr,
        b"PUT /soap/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(resp.starts_with("HTTP/1.1 405"), "{resp}");
}

#[test]
fn public_url_overrides_the_host() {
    let fx = spool_with(5);
    let d = Daemon::start(
        fx.root(),
        &["--public-url", "https://soap.example/suzanne"],
    );
    let resp = get(&d.addr, "/soap?wsdl", "x");
    assert!(
        resp.contains("location=\"https://soap.example/suzanne\""),
        "{resp}"
    );
}

#[test]
fn one_log_line_per_call_ticket_first() {
    let fx = spool_with(20);
    let d = Daemon::start(fx.root(), &[]);
    let leased = lease(&d.addr, 2, 60);
    complete(&d.addr, &leased[0]);
    let bad = Leased {
        token: "L0-stale".into(),
        ..leased[1].clone()
    };
    complete(&d.addr, &bad);
    std::thread::sleep(Duration::from_millis(200));
    let lines = d.log_lines();
    let ids = format!("{},{}", leased[0].id, leased[1].id);
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {lines:?}"))
            .clone()
    };
    let get = find("op=GetRequests");
    assert!(get.starts_with(&format!("suzanne-soapd: {ids} op=GetRequests client=127.0.0.1 outcome=leased ms=")), "{get}");
    let done = find("outcome=completed");
    assert!(
        done.starts_with(&format!(
            "suzanne-soapd: {} op=CompleteRequest client=127.0.0.1",
            leased[0].id
        )),
        "{done}"
    );
    let fault = find("fault=stale-lease");
    assert!(
        fault.starts_with(&format!(
            "suzanne-soapd: {} op=CompleteRequest",
            leased[1].id
        )),
        "{fault}"
    );
    // A SOAPAction naming another operation is logged, not obeyed.
    let resp = post(
        &d.addr,
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><QueueStatus/></s:Body></s:Envelope>",
        "",
    );
    assert!(resp.starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(200));
    let qs = d
        .log_lines()
        .into_iter()
        .find(|l| l.contains("op=QueueStatus"))
        .unwrap();
    assert!(
        qs.starts_with("suzanne-soapd: - op=QueueStatus")
            && qs.contains("soapaction=\"\\\"urn:Suzanne#X\\\"\""),
        "{qs}"
    );
}

#[test]
fn max_answer_caps_a_batch() {
    let fx = spool_with(20);
    let d = Daemon::start_with(fx.root(), &[], "max_answer = 1\n");
    assert_eq!(lease(&d.addr, 100, 60).len(), 1);
}

#[test]
fn second_instance_exits_75() {
    let fx = spool_with(5);
    let _d = Daemon::start(fx.root(), &[]);
    let config = fx.root().parent().unwrap().join("suzanne.toml");
    let out = std::process::Command::new(binary())
        .arg("--config")
        .arg(&config)
        .arg("--spool")
        .arg(fx.root())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
