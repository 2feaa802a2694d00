//! Golden tests of rendered acknowledgements: each `tests/golden/NAME.json`
//! is a request record (with `NAME.toml` holding extra `[ack]` settings,
//! if any); `NAME.eml` is the acknowledgement suzanne-ack must write for
//! it, byte for byte, through the outbox transport with the clock and
//! host name fixed. A mismatch (or a missing `.eml`) writes
//! `NAME.eml.failed` beside them for review.
//!
//! Every fixture runs twice: with the templates as they are, and with a
//! copy whose line ends are CRLF; both must give the same letter.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use spool::Record;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The templates with CRLF line ends, in `dir`.
fn crlf_templates(dir: &Path) -> PathBuf {
    let out = dir.join("templates-crlf");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(templates()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "txt") {
            let text = std::fs::read_to_string(&path).unwrap();
            let crlf = text.replace('\n', "\r\n");
            std::fs::write(out.join(path.file_name().unwrap()), crlf).unwrap();
        }
    }
    out
}

/// Render one fixture; the letter's bytes, or why there is none.
fn render(name: &str, crlf: bool) -> Result<Vec<u8>, String> {
    let dir = golden_dir();
    let text = std::fs::read_to_string(dir.join(format!("{name}.json")))
        .map_err(|e| e.to_string())?;
    let record: Record = serde_json::from_str(&text)
        .map_err(|e| format!("{name}.json: {e}"))?;
    let ticket = record.ticket;
    let extra = std::fs::read_to_string(dir.join(format!("{name}.toml")))
        .unwrap_or_default();

    let mut f = Fixture::new();
    f.add(vec![record]);
    let outbox = f.path().join("outbox");
    let mut ack = format!(
        "transport = 'outbox'\noutbox = '{}'\n{extra}",
        outbox.display()
    );
    if crlf {
        let t = crlf_templates(f.path());
        ack.push_str(&format!("templates = '{}'\n", t.display()));
    }
    f.config(&ack);
    let out = f.run(&[]);
    if code(&out) != 0 {
        return Err(format!("exit {}: {}", code(&out), stderr(&out)));
    }
    let file = outbox.join(format!("new/T{ticket:012}.ack"));
    std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
}

#[test]
fn rendered_acks_match_their_golden_files() {
    let names = fixtures();
    assert!(names.len() >= 6, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let expected_path = golden_dir().join(format!("{name}.eml"));
        let expected = std::fs::read(&expected_path).ok();
        for crlf in [false, true] {
            let got = match render(name, crlf) {
                Ok(bytes) => bytes,
                Err(e) => {
                    failures.push(format!("{name} (crlf {crlf}): {e}"));
                    continue;
                }
            };
            if expected.as_deref() != Some(got.as_slice()) {
                let failed = golden_dir().join(format!("{name}.eml.failed"));
                std::fs::write(&failed, &got).unwrap();
                failures.push(format!(
                    "{name} (crlf {crlf}): differs; see {}",
                    failed.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
