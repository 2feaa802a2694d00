//! The library's error type: an action, its objects, and the cause, on one
//! line, plus a kind that tells the caller whether to retry.

use std::fmt;
use std::io;
use std::path::Path;

use crate::exit::Exit;

/// What sort of failure this is; decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another instance holds a lock, or a resource is briefly unavailable.
    Busy,
    /// Another instance of the same program holds its stage: the normal
    /// outcome of overlapping cron runs, so reported only with `-v`.
    Running,
    /// The file system failed (disk full, permissions, I/O error).
    Io,
    /// Data on disk or on input is not what it must be.
    Data,
    /// The configuration or command line is wrong.
    Config,
}

/// A spool error. `Display` prints the whole line, cause included, and
/// `source()` returns nothing, so the cause is never printed twice.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    io_kind: Option<io::ErrorKind>,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a full message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            io_kind: None,
        }
    }

    /// An I/O failure of `action` on `path`: "cannot ACTION 'PATH': CAUSE".
    pub fn io(action: &str, path: &Path, err: io::Error) -> Error {
        Error::io_msg(format!("cannot {action} '{}'", path.display()), err)
    }

    /// An I/O failure with a prepared "cannot ..." message.
    pub fn io_msg(message: String, err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("{message}: {}", plain_io(&err)),
            io_kind: Some(err.kind()),
        }
    }

    /// Bad data: "ACTION 'PATH': WHY".
    pub fn data(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Data, message)
    }

    /// The kind, for callers choosing between retry and give-up.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The kind of the underlying I/O error, if any.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        self.io_kind
    }

    /// True when running again later may succeed (exit 75).
    pub fn is_transient(&self) -> bool {
        match self.kind {
            ErrorKind::Busy | ErrorKind::Running => true,
            ErrorKind::Io => matches!(
                self.io_kind,
                Some(io::ErrorKind::StorageFull)
                    | Some(io::ErrorKind::QuotaExceeded)
                    | Some(io::ErrorKind::Interrupted)
                    | Some(io::ErrorKind::WouldBlock)
            ),
            _ => false,
        }
    }

    /// The exit code a program should end with for this error.
    pub fn exit(&self) -> Exit {
        if self.is_transient() {
            return Exit::TempFail;
        }
        match self.kind {
            ErrorKind::Busy | ErrorKind::Running => Exit::TempFail,
            ErrorKind::Io => Exit::Software,
            ErrorKind::Data => Exit::DataErr,
            ErrorKind::Config => Exit::Config,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// An io::Error's text without Rust's " (os error N)" suffix.
fn plain_io(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
