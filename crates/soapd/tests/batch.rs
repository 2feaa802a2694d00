//! CompleteRequests item by item (each decided as CompleteRequest would
//! decide it, one bad item stopping none), in one durable append; and
//! GetRequests' `fields`.

mod common;
use common::*;
use spool::journal::Event;

/// A `completion` element as zeep sends it.
fn item(id: &str, token: &str, outcome: &str) -> String {
    format!(
        "<ns0:completion><ns0:id>{id}</ns0:id><ns0:leaseToken>{token}\
         </ns0:leaseToken><ns0:outcome>{outcome}</ns0:outcome>\
         </ns0:completion>"
    )
}

fn complete_many(addr: &str, items: &[String]) -> String {
    literal_call(
        addr,
        "CompleteRequests",
        &[("completions", &items.concat())],
    )
}

/// The journal's `complete` lines: (ticket, time written).
fn complete_lines(fx: &Fixture) -> Vec<(u64, i64)> {
    let journal = fx.spool.journal_reader().unwrap();
    journal
        .filter_map(|e| {
            let e = e.unwrap();
            match e.event {
                Event::Complete { ticket, .. } => Some((ticket, e.t_us)),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn each_item_decided_alone_all_in_one_append() {
    let fx = spool_with(30);
    let d = Daemon::start(fx.root(), &[]);
    let l = lease(&d.addr, 3, 60);
    assert_eq!(l.len(), 3);
    let (a, b, c) = (&l[0], &l[1], &l[2]);
    let (ia, ib, ic) = (a.id.to_string(), b.id.to_string(), c.id.to_string());
    let items = [
        item(&ia, &a.token, "accepted"),
        item(&ib, "L0-not-this-one", "accepted"),
        item(&ic, &c.token, "maybe"),
        item("999999", "L999999-x", "rejected"),
        item(&ic, "", "accepted"),
        item("abc", &c.token, "accepted"),
        item(&ia, &a.token, "accepted"),
        item(&ic, &c.token, "rejected"),
        item(&ia, &c.token, "accepted"),
    ];
    let resp = complete_many(&d.addr, &items);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let statuses = texts(&resp, "status");
    assert_eq!(
        statuses,
        [
            "completed",
            "stale-lease",
            "bad-outcome",
            "no-such-request",
            "bad-parameter",
            "bad-parameter",
            "completed",
            "completed",
            "stale-lease",
        ]
    );
    let ids = texts(&resp, "id");
    let want = [&ia, &ib, &ic, "999999", &ic, "0", &ia, &ic, &ia];
    assert_eq!(ids, want);

    // One append: the two completions are consecutive lines written at
    // the same instant, and nothing else was completed.
    let lines = complete_lines(&fx);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!((lines[0].0, lines[1].0), (a.id, c.id));
    assert_eq!(lines[0].1, lines[1].1);

    // The same call again writes nothing and answers the same.
    let again = complete_many(&d.addr, &items);
    assert_eq!(texts(&again, "status"), statuses);
    assert_eq!(complete_lines(&fx).len(), 2);

    // The refused item, put right, goes through on its own.
    let resp = complete_many(&d.addr, &[item(&ib, &b.token, "accepted")]);
    assert_eq!(texts(&resp, "status"), ["completed"]);
    assert_eq!(complete_lines(&fx).len(), 3);

    let log = d.log_lines();
    let first = log
        .iter()
        .find(|l| l.contains("op=CompleteRequests"))
        .unwrap();
    assert!(
        first.contains(&format!("{ia},{ib},{ic},999999 ")),
        "{first}"
    );
    assert!(first.contains(" outcome=partial "), "{first}");
    assert!(
        first.contains(" items=9 completed=2 again=1 refused=6"),
        "{first}"
    );
}

#[test]
fn soap_lite_array_answered_encoded() {
    let fx = spool_with(10);
    let d = Daemon::start(fx.root(), &[]);
    let l = lease(&d.addr, 2, 60);
    let mut structs = String::new();
    for x in &l {
        structs.push_str(&format!(
            "<item><outcome xsi:type=\"xsd:string\">accepted</outcome>\
             <id xsi:type=\"xsd:int\">{}</id><leaseToken \
             xsi:type=\"xsd:string\">{}</leaseToken></item>",
            x.id, x.token
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope \
         soap:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soap:Body><CompleteRequests xmlns=\"urn:Suzanne\">\
         <soapenc:Array soapenc:arrayType=\"xsd:anyType[2]\" \
         xsi:type=\"soapenc:Array\">{structs}</soapenc:Array>\
         </CompleteRequests></soap:Body></soap:Envelope>"
    );
    let resp = post(&d.addr, &body, "");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains(
            "<return xsi:type=\"SOAP-ENC:Array\" \
             SOAP-ENC:arrayType=\"tns:CompletionResult[2]\">"
        ),
        "{resp}"
    );
    assert_eq!(texts(&resp, "status"), ["completed", "completed"]);
    assert_eq!(complete_lines(&fx).len(), 2);
}

#[test]
fn empty_and_missing_lists() {
    let fx = spool_with(5);
    let d = Daemon::start(fx.root(), &[]);
    let resp = complete_many(&d.addr, &[]);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(texts(&resp, "result").is_empty());
    let resp = literal_call(&d.addr, "CompleteRequests", &[]);
    assert!(resp.starts_with("HTTP/1.1 500"), "{resp}");
    assert_eq!(texts(&resp, "code"), ["bad-parameter"]);
}

#[test]
fn fields_choose_the_request_elements() {
    let fx = spool_with(10);
    let d = Daemon::start(fx.root(), &[]);
    let resp = literal_call(
        &d.addr,
        "GetRequests",
        &[
            ("max", "2"),
            ("leaseSeconds", "60"),
            ("fields", "raw, sha256"),
        ],
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(texts(&resp, "request").len(), 2);
    assert_eq!(texts(&resp, "raw").len(), 2);
    assert_eq!(texts(&resp, "leaseToken").len(), 2);
    for gone in ["body", "subject", "form", "domains", "state", "arrival"] {
        assert!(texts(&resp, gone).is_empty(), "{gone}: {resp}");
    }
    let resp = literal_call(
        &d.addr,
        "GetRequests",
        &[("max", "2"), ("fields", "raw bodies")],
    );
    assert!(resp.starts_with("HTTP/1.1 500"), "{resp}");
    assert_eq!(texts(&resp, "code"), ["bad-parameter"]);
    assert!(resp.contains("bodies"), "{resp}");
    // SOAP::Lite's positional style: the third c-gensym is fields.
    let resp = post(
        &d.addr,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope \
         soap:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soap:Body><GetRequests xmlns=\"urn:Suzanne\">\
         <c-gensym3 xsi:type=\"xsd:int\">1</c-gensym3>\
         <c-gensym5 xsi:type=\"xsd:int\">60</c-gensym5>\
         <c-gensym7 xsi:type=\"xsd:string\">domainsAscii sha256\
         </c-gensym7></GetRequests></soap:Body></soap:Envelope>",
        "",
    );
    assert!(resp.contains("tns:Request[1]"), "{resp}");
    assert_eq!(texts(&resp, "sha256").len(), 1, "{resp}");
    assert!(texts(&resp, "raw").is_empty(), "{resp}");
    assert!(texts(&resp, "leaseExpires").is_empty(), "{resp}");
    // Without fields, everything, as before.
    let all = lease(&d.addr, 1, 60);
    assert_eq!(all.len(), 1);
    let resp = literal_call(&d.addr, "GetRequest", &[("id", "1")]);
    assert_eq!(texts(&resp, "body").len(), 1, "{resp}");
}
