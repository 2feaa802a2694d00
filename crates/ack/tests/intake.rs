//! From an mbox through suzanne-rotate and suzanne-parse to suzanne-ack:
//! the records the parser really writes get the acknowledgements (or the
//! silence) they must. Needs the intake binaries beside suzanne-ack
//! (`cargo test --workspace` builds them).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const MBOX: &str = "\
From reg@bureau.example Tue May 11 09:00:01 2004
Return-Path: <reg@bureau.example>
From: Bureau <reg@bureau.example>
To: depot@nic.example
Subject: Demande
Message-ID: <one@bureau.example>
Date: Tue, 11 May 2004 11:00:00 +0200

domaine: boulangerie.fr

From reg@bureau.example Tue May 11 09:00:02 2004
Return-Path: <reg@bureau.example>
From: Bureau <reg@bureau.example>
To: depot@nic.example
Subject: Absent
Message-ID: <vacation@bureau.example>
Auto-Submitted: auto-replied

Je suis absent.

From MAILER-DAEMON Tue May 11 09:00:03 2004
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.bureau.example>
To: depot@nic.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce@mx.bureau.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"

--b
Content-Type: text/plain

domaine: perdu.fr
--b--

From news@lists.example Tue May 11 09:00:04 2004
Return-Path: <news@lists.example>
From: news@lists.example
To: depot@nic.example
Subject: Lettre d'information
Message-ID: <news@lists.example>
List-Id: <news.lists.example>

domaine: liste.fr

From reg@bureau.example Tue May 11 09:00:05 2004
Return-Path: <reg@bureau.example>
From: Bureau <reg@bureau.example>
To: depot@nic.example
Subject: Demande
Message-ID: <one@bureau.example>
Date: Tue, 11 May 2004 11:00:00 +0200

domaine: boulangerie.fr

From autre@registrar.example Tue May 11 09:00:06 2004
Return-Path: <autre@registrar.example>
From: Autre <autre@registrar.example>
Reply-To: Guichet <guichet@société.example>
To: depot@nic.example
Subject: =?utf-8?q?Demande_pour_caf=C3=A9=2Efr?=
Message-ID: <two@registrar.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

domaine: café.fr
langue: en

";

fn sibling(name: &str) -> PathBuf {
    let me = PathBuf::from(env!("CARGO_BIN_EXE_suzanne-ack"));
    me.with_file_name(name)
}

#[test]
fn parsed_requests_get_acks_and_robots_get_none() {
    let (rotate, parse) =
        (sibling("suzanne-rotate"), sibling("suzanne-parse"));
    if !rotate.exists() || !parse.exists() {
        eprintln!("skipped: suzanne-rotate and suzanne-parse not built");
        return;
    }
    let f = Fixture::new();
    let mbox = f.path().join("mbox");
    std::fs::write(&mbox, MBOX).unwrap();
    let outbox = f.path().join("outbox");
    let cfg = f.config(&format!(
        "transport = 'outbox'\noutbox = '{}'",
        outbox.display()
    ));
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen(
        "[ack]",
        &format!("[mailbox]\nmbox = '{}'\n[ack]", mbox.display()),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    for bin in [&rotate, &parse] {
        let out = Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .env("SUZANNE_NOW", NOW)
            .env("SUZANNE_HOSTNAME", HOST)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}: {}", bin.display(), stderr(&out));
    }

    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let acks = f.last_acks();
    let status = |t: u64| {
        let a = &acks[&t];
        let word = a.reason.split(':').next().unwrap_or("");
        match a.status.as_str() {
            "sent" => format!("sent {}", a.to.as_deref().unwrap_or("")),
            s => format!("{s} {word}"),
        }
    };
    assert_eq!(acks.len(), 6, "{acks:?}");
    assert_eq!(status(1), "sent reg@bureau.example");
    assert_eq!(status(2), "skipped auto");
    assert_eq!(status(3), "skipped auto");
    assert_eq!(status(4), "skipped list");
    assert_eq!(status(5), "sent reg@bureau.example", "duplicate note");
    assert_eq!(status(6), "sent guichet@xn--socit-esab.example");

    let letter = |t: u64| {
        let path = outbox.join(format!("new/T{t:012}.ack"));
        std::fs::read_to_string(path).unwrap()
    };
    assert!(letter(1).contains("  - boulangerie.fr\n"));
    assert!(letter(1).contains("In-Reply-To: <one@bureau.example>\n"));
    assert!(letter(5).contains("Subject: Doublon du ticket 1 : Demande\n"));
    let six = letter(6);
    assert!(six.contains("Subject: Acknowledgement, ticket 6: Demande pour"));
    assert!(six.contains("  - café.fr  (xn--caf-dma.fr)\n"), "{six}");
}
