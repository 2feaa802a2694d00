//! The request record: everything suzanne-parse learnt about one message,
//! written once as `msg/T<ticket>.json` and never changed.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// What a message turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A registration request: queued, acknowledged, handed out.
    Request,
    /// The same Message-ID and content as an earlier ticket.
    Duplicate,
    /// A bounce or automatic reply: recorded only.
    Auto,
    /// Nothing usable could be read: held for a person.
    Malformed,
}

impl Kind {
    /// The word used in listings and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Duplicate => "duplicate",
            Kind::Auto => "auto",
            Kind::Malformed => "malformed",
        }
    }
}

/// Where the arrival time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A trusted `Received:` header.
    Received,
    /// No trusted header: the time the mailbox was rotated.
    Rotation,
}

/// The published order of arrival: time, then rotation, then position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArrivalKey {
    /// Microseconds since the epoch, UTC.
    pub arrival_us: i64,
    /// The rotation number of the mailbox the message came in.
    pub rotation: u64,
    /// Byte offset in the mbox, or index in the Maildir batch.
    pub position: u64,
}

impl Ord for ArrivalKey {
    fn cmp(&self, other: &ArrivalKey) -> Ordering {
        (self.arrival_us, self.rotation, self.position).cmp(&(
            other.arrival_us,
            other.rotation,
            other.position,
        ))
    }
}

impl PartialOrd for ArrivalKey {
    fn partial_cmp(&self, other: &ArrivalKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A domain name as asked for: Unicode (NFC, lower case) and A-label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// `café.example.fr`
    pub unicode: String,
    /// `xn--caf-dma.example.fr`
    pub ascii: String,
}

/// One message in the spool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub ticket: u64,
    /// The rotated mailbox it came in (`000000000001.mbox`).
    pub batch: String,
    /// The file inside a Maildir batch; empty for an mbox.
    #[serde(default)]
    pub file: String,
    /// Byte offset of its From_ line in the mbox (index for a Maildir).
    pub offset: u64,
    pub size: u64,
    /// SHA-256 (hex) of `raw/T<ticket>.eml`.
    pub sha256: String,
    /// RFC 3339, UTC, microseconds.
    pub arrival: String,
    pub key: ArrivalKey,
    pub time_source: TimeSource,
    /// The trusted Received header the time was read from.
    #[serde(default)]
    pub received: Option<String>,
    pub envelope_sender: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub message_id: Option<String>,
    pub subject: String,
    /// The raw Date header; never used for order.
    pub date: Option<String>,
    pub domains: Vec<Domain>,
    pub form: Vec<(String, String)>,
    pub body: String,
    pub language: Option<String>,
    pub kind: Kind,
    pub dup_of: Option<u64>,
    /// Defects and the reason for the kind, short phrases.
    pub reason: Vec<String>,
    /// List traffic (List-Id, Precedence list/bulk/junk).
    pub list: bool,
    pub auto_submitted: Option<String>,
    /// Cut off in the mailbox.
    pub incomplete: bool,
    /// SHA-256 (hex) of From, Subject and body: what the sender wrote.
    pub fingerprint: String,
}

impl Record {
    /// The A-labels, in form order.
    pub fn ascii_domains(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.ascii.clone()).collect()
    }

    /// The reasons as one string, `; `-separated.
    pub fn reason_line(&self) -> String {
        self.reason.join("; ")
    }
}

/// `T000000000042`: the file stem of a ticket.
pub fn ticket_name(ticket: u64) -> String {
    format!("T{ticket:012}")
}
