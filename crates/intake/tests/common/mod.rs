//! Helpers the intake tests share: fresh directories, the real binaries,
//! and small landrush mailboxes written the way Postfix writes them.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const TRUSTED: &str = "mx.landrush.example";

pub fn rotate_bin() -> &'static str {
    env!("CARGO_BIN_EXE_suzanne-rotate")
}

pub fn parse_bin() -> &'static str {
    env!("CARGO_BIN_EXE_suzanne-parse")
}

/// A sibling binary of the workspace (built by `cargo test --workspace`).
pub fn workspace_bin(name: &str) -> Option<PathBuf> {
    let dir = Path::new(rotate_bin()).parent()?;
    let path = dir.join(name);
    path.exists().then_some(path)
}

/// Run a binary with `args` and no inherited configuration.
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("SUZANNE_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Rotate `mbox` into `spool` then parse, asserting both succeed quietly.
pub fn rotate_and_parse(spool: &Path, mbox: &Path) {
    let s = spool.to_str().unwrap();
    let out = run(
        rotate_bin(),
        &["--spool", s, "--mbox", mbox.to_str().unwrap()],
    );
    assert_quiet_ok(&out, "suzanne-rotate");
    let out = run(parse_bin(), &["--spool", s, "--trusted-host", TRUSTED]);
    assert_quiet_ok(&out, "suzanne-parse");
}

pub fn assert_quiet_ok(out: &Output, what: &str) {
    assert_eq!(
        code(out),
        0,
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{what} printed on stdout");
    assert!(
        out.stderr.is_empty(),
        "{what} printed on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One request as Postfix's local(8) would append it: From_ line, the
/// Received header our MX adds, the message, and a blank line.
pub fn postfix_message(i: usize, second: u32, domain: &str) -> String {
    let sender = format!("registrar{}@reg{}.example", i % 37, i % 37);
    format!(
        "From {sender} Tue May 11 09:00:{second:02} 2004\n\
         Return-Path: <{sender}>\n\
         Received: from reg.example (reg.example [192.0.2.1])\n\
         \tby {TRUSTED} (Postfix) with ESMTP id {qid:X}\n\
         \tfor <suzanne@landrush.example>; Tue, 11 May 2004 \
         09:00:{second:02} +0000 (UTC)\n\
         From: Registrar {i} <{sender}>\n\
         To: suzanne@landrush.example\n\
         Subject: Demande {i}\n\
         Message-ID: <req{i}@reg.example>\n\
         Date: Tue, 11 May 2004 11:00:00 +0200\n\
         \n\
         domaine: {domain}\n\
         titulaire: Titulaire {i}\n\
         >From the registrar, line quoted by Postfix\n\
         \n",
        qid = 0xA0000 + i
    )
}

/// A message as a Maildir holds it: no From_ line.
pub fn without_from_line(text: &str) -> &str {
    text.split_once('\n').map(|(_, rest)| rest).unwrap_or(text)
}

/// A mailbox of `n` requests, arrival seconds rising every 50 messages,
/// every 10th name asked for twice.
pub fn landrush(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        // Every tenth request asks again for the name before it.
        let n = if i % 10 == 1 { i - 1 } else { i };
        let name = format!("nom{n}.fr");
        out.push_str(&postfix_message(i, (i / 50 % 60) as u32, &name));
    }
    out
}

pub fn write(path: &Path, text: &str) {
    fs::write(path, text)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Every file under `dir`, relative path -> bytes, sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.push((rel, fs::read(&p).unwrap()));
        }
    }
}
