//! What is wrong with a spool, one finding at a time: a short name, the
//! ticket when there is one, and a line of detail naming the file, byte
//! offset or event.

use std::fmt;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A fixed short name (documented in COLUMNS.md): `raw-missing`.
    pub name: &'static str,
    pub ticket: Option<u64>,
    pub detail: String,
}

impl Problem {
    /// A finding about one ticket.
    pub fn ticket(
        name: &'static str,
        ticket: u64,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            name,
            ticket: Some(ticket),
            detail: detail.into(),
        }
    }

    /// A finding about the spool as a whole (a batch, a file, a line).
    pub fn spool(name: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            name,
            ticket: None,
            detail: detail.into(),
        }
    }

    /// The ticket as the CSV prints it (empty for none).
    pub fn ticket_field(&self) -> String {
        self.ticket.map(|t| t.to_string()).unwrap_or_default()
    }
}

/// The stderr line: ticket first, then `key=value` fields, the detail
/// escaped (it may quote a subject or a file name).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.ticket {
            write!(f, "ticket={t} ")?;
        }
        write!(
            f,
            "problem={} detail=\"{}\"",
            self.name,
            spool::cli::escape(&self.detail)
        )
    }
}
