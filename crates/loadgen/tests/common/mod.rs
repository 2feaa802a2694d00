//! What the integration tests share: running the binaries in a fresh
//! directory, and reading mailboxes without the code under test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// The suzanne-loadgen binary cargo built for these tests.
pub fn loadgen() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_suzanne-loadgen"))
}

/// Another workspace binary built beside ours (`cargo build
/// --workspace`), if it is there.
pub fn sibling_bin(name: &str) -> Option<PathBuf> {
    let path = loadgen().parent()?.join(name);
    path.is_file().then_some(path)
}

/// A fresh directory, with an empty configuration file in it so no
/// system-wide configuration is read.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        let dir = tempfile::Builder::new()
            .prefix("loadgen-test.")
            .tempdir()
            .expect("make a temporary directory");
        std::fs::write(dir.path().join("empty.toml"), "").unwrap();
        Work { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self) -> PathBuf {
        self.path("empty.toml")
    }

    /// Run `program` with `args` in this directory.
    pub fn run(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("SUZANNE_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    }

    /// Run suzanne-loadgen and insist it succeeds.
    pub fn loadgen_ok(&self, args: &[&str]) -> Output {
        let out = self.run(&loadgen(), args);
        assert!(out.status.success(), "loadgen {args:?}: {}", show(&out));
        out
    }

    /// `generate` `count` messages with `seed` into `name`.
    pub fn generate(
        &self,
        name: &str,
        count: usize,
        seed: u64,
        extra: &[&str],
    ) {
        let out = self.path(name);
        let count = count.to_string();
        let seed = seed.to_string();
        let mut args = vec![
            "generate",
            "--out",
            out.to_str().unwrap(),
            "--count",
            &count,
            "--seed",
            &seed,
        ];
        args.extend_from_slice(extra);
        self.loadgen_ok(&args);
    }
}

/// stdout and stderr of a run, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Split an mbox the simplest way: a line starting with `From ` at the
/// start of the file or after an empty line starts a message. Returns
/// (From_ line, message bytes up to the next From_ line).
pub fn split_mbox(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut blank_before = true;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if blank_before && bare.starts_with(b"From ") {
            out.push((String::from_utf8_lossy(bare).into_owned(), Vec::new()));
        } else if let Some((_, m)) = out.last_mut() {
            m.extend_from_slice(line);
        }
        blank_before = bare.is_empty();
    }
    out
}

/// Every line of `data` starting with `From `, wherever it is.
pub fn count_from_lines(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"From "))
        .count()
}

/// The value of the first header `name` of a message, unfolded.
pub fn header(msg: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(msg);
    let mut found: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some(v) = found.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push_str(line);
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                found = Some(v.trim().to_string());
            }
        }
    }
    found
}

/// True when the environment insists that real parts be there.
pub fn realparts_required() -> bool {
    std::env::var("SUZANNE_REQUIRE_REALPARTS").as_deref() == Ok("1")
}

/// Skip a test (say so), or fail when real parts are required.
pub fn skip(why: &str) {
    assert!(
        !realparts_required(),
        "SUZANNE_REQUIRE_REALPARTS=1 but {why}"
    );
    eprintln!("skipped: {why}");
}

/// The truth file, as JSON values.
pub fn truth(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
