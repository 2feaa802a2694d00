//! Golden tests: each `tests/golden/NAME.eml` is parsed and compared with
//! `NAME.json`. A mismatch writes `NAME.json.failed` beside it;
//! `SUZANNE_BLESS=1 cargo test -p suzanne-mail --test golden` rewrites
//! the expectations. Every fixture is also parsed with CRLF line endings
//! and must give the same JSON.

use std::fs;
use std::path::{Path, PathBuf};
use suzanne_mail::{parse_message, ParseOptions, Parsed};

fn options() -> ParseOptions {
    ParseOptions {
        trusted_hosts: vec!["mx.landrush.example".to_string()],
        ..ParseOptions::default()
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut list: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read tests/golden")
        .map(|e| e.expect("read tests/golden entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    list.sort();
    list
}

fn to_json(p: &Parsed) -> String {
    serde_json::to_string_pretty(p).expect("serialize Parsed") + "\n"
}

/// Every bare LF becomes CRLF; existing CRLF stays.
fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn golden() {
    let bless = std::env::var_os("SUZANNE_BLESS").is_some_and(|v| v == "1");
    let opts = options();
    let mut failures = Vec::new();
    let list = fixtures();
    assert!(list.len() >= 20, "only {} fixtures", list.len());

    for eml in &list {
        let raw = fs::read(eml).expect("read fixture");
        let got = to_json(&parse_message(&raw, None, false, &opts));
        let expected_path = eml.with_extension("json");
        let failed_path = eml.with_extension("json.failed");

        if bless {
            fs::write(&expected_path, &got).expect("write expectation");
            let _ = fs::remove_file(&failed_path);
        } else {
            let expected = fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| String::from("(missing)\n"));
            if got == expected {
                let _ = fs::remove_file(&failed_path);
            } else {
                fs::write(&failed_path, &got).expect("write .failed");
                failures.push(format!("{}", expected_path.display()));
                continue;
            }
        }

        let got_crlf =
            to_json(&parse_message(&crlf(&raw), None, false, &opts));
        if got_crlf != got {
            let path = eml.with_extension("crlf.json.failed");
            fs::write(&path, &got_crlf).expect("write crlf .failed");
            failures.push(format!("{} (CRLF)", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}
