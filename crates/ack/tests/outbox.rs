//! The outbox transport, the selection rules and the journal states,
//! with no network.

mod common;

use common::*;
use spool::record::Domain;
use spool::Kind;

#[test]
fn outbox_writes_one_letter_per_request_and_records_it() {
    let mut f = Fixture::new();
    let mut r2 = record(2);
    r2.domains = vec![Domain {
        unicode: "café.fr".into(),
        ascii: "xn--caf-dma.fr".into(),
    }];
    f.add(vec![record(1), r2]);
    let outbox = f.path().join("outbox");
    f.config(&format!(
        "transport = 'outbox'\noutbox = '{}'",
        outbox.display()
    ));
    let out = f.run(&["-v"]);
    eprintln!("{}", stderr(&out));
    assert_eq!(code(&out), 0);
    let acks = f.last_acks();
    assert_eq!(acks.len(), 2);
    assert!(acks.values().all(|a| a.status == "sent"));
    let text =
        std::fs::read_to_string(outbox.join("new/T000000000002.ack")).unwrap();
    eprintln!("{text}");
}
