//! The 2004 client: SOAP::Lite 0.60's envelope (SOAP-ENV prefixes,
//! 1999 schema namespaces, `namesp1:` operation in the caller's own
//! namespace, positional `c-gensymN` parameters, `SOAP-ENC:base64`
//! Latin-1 text), sent byte for byte from recorded fixtures.

mod common;
use common::*;
use std::time::Duration;

fn send(addr: &str, op: &str, subst: &[(&str, &str)]) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/soaplite-0.60")
        .join(format!("{op}.http"));
    let mut text = std::fs::read_to_string(path)
        .unwrap()
        .replace("@HOST@", addr);
    for (k, v) in subst {
        text = text.replace(k, v);
    }
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let req = format!(
        "{}\r\n\r\n{body}",
        head.replace("@LENGTH@", &body.len().to_string())
    );
    dechunk(&raw_bytes(addr, req.as_bytes(), Duration::from_secs(10)))
}

#[test]
fn soap_lite_060_envelopes() {
    let fx = spool_with(40);
    let d = Daemon::start(fx.root(), &[]);
    let resp = send(&d.addr, "GetRequests", &[]);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    // rpc/encoded, in the caller's namespace, arrays SOAP::Lite 0.60
    // reads as arrays.
    assert!(resp.contains("<ns1:GetRequestsResponse xmlns:ns1=\"urn:Example\" SOAP-ENV:encodingStyle="));
    assert!(
        resp.contains("SOAP-ENC:arrayType=\"tns:Request[10]\""),
        "{resp}"
    );
    assert!(resp.contains("<id xsi:type=\"xsd:long\">"));
    let leased = leased_in(&resp);
    assert_eq!(leased.len(), 10);
    for l in &leased {
        let id = l.id.to_string();
        let resp = send(
            &d.addr,
            "CompleteRequest",
            &[("@ID@", &id), ("@TOKEN@", &l.token)],
        );
        assert_eq!(texts(&resp, "status"), ["completed"], "{resp}");
        assert!(resp.contains("<status xsi:type=\"xsd:string\">"));
    }
    let resp = send(&d.addr, "QueueStatus", &[]);
    assert_eq!(texts(&resp, "completed"), ["10"], "{resp}");
    let comments: Vec<String> = fx
        .spool
        .journal_reader()
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            spool::journal::Event::Complete {
                comment, outcome, ..
            } => {
                assert_eq!(outcome, "accepted");
                comment
            }
            _ => None,
        })
        .collect();
    assert_eq!(comments, vec!["vérifié".to_string(); 10]);
}
