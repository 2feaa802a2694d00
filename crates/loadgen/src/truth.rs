//! The truth file: what the spool must hold after a landrush, one JSON
//! object a line, in arrival order.
//!
//! Each line names a message by `index`, the number in its
//! `X-Loadgen-Index` header, so a spool can be checked without trusting
//! Message-IDs (duplicates share one, some messages have none).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use spool::{Error, Kind, Result};

use crate::plan::Landrush;

/// One message of the truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthLine {
    pub index: u64,
    /// Without angle brackets; None when the message has none.
    pub message_id: Option<String>,
    /// Our server's arrival time, RFC 3339 UTC with microseconds.
    pub arrival: String,
    pub kind: Kind,
    /// For a duplicate, the index of the first copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_of_index: Option<u64>,
    /// Empty for the null sender.
    pub envelope_sender: String,
    /// The From address.
    pub from: String,
    /// Decoded.
    pub subject: String,
    /// Unicode, NFC, lower case, in form order.
    pub domains: Vec<String>,
    /// The same names as A-labels.
    pub domains_ascii: Vec<String>,
    /// True only for requests.
    pub must_ack: bool,
    /// The cases this message covers (`qp`, `idn`, `resent`, ...).
    #[serde(default)]
    pub features: Vec<String>,
}

impl Landrush {
    /// The truth, in arrival order.
    pub fn truth(&self) -> Vec<TruthLine> {
        self.messages
            .iter()
            .map(|m| {
                let l = self.letter(m);
                // A cut-off message loses its body, names and all.
                let names = if l.role == crate::plan::Role::Cut {
                    &[][..]
                } else {
                    &l.names[..]
                };
                let mut features: Vec<String> =
                    l.features.iter().map(|f| f.to_string()).collect();
                if m.dup_of.is_some() {
                    features.push("resent".to_string());
                }
                TruthLine {
                    index: m.index,
                    message_id: l.message_id.clone(),
                    arrival: spool::clock::rfc3339_us(m.arrival_us),
                    kind: m.kind,
                    dup_of_index: m.dup_of,
                    envelope_sender: l.sender.clone(),
                    from: l.from.clone(),
                    subject: l.subject.clone(),
                    domains: names.iter().map(|n| n.unicode.clone()).collect(),
                    domains_ascii: names
                        .iter()
                        .map(|n| n.ascii.clone())
                        .collect(),
                    must_ack: m.kind == Kind::Request,
                    features,
                }
            })
            .collect()
    }
}

/// Write truth lines to `path`.
pub fn write(path: &Path, lines: &[TruthLine]) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    let mut out = BufWriter::new(file);
    for line in lines {
        serde_json::to_writer(&mut out, line)
            .map_err(|e| Error::data(format!("cannot encode truth: {e}")))?;
        out.write_all(b"\n")
            .map_err(|e| Error::io("write", path, e))?;
    }
    out.flush().map_err(|e| Error::io("write", path, e))
}

/// Read a truth file.
pub fn read(path: &Path) -> Result<Vec<TruthLine>> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut lines = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io("read", path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let t: TruthLine = serde_json::from_str(&line).map_err(|e| {
            Error::data(format!(
                "cannot read truth '{}' line {}: {e}",
                path.display(),
                n + 1
            ))
        })?;
        lines.push(t);
    }
    Ok(lines)
}
