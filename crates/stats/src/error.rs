//! The reports' error type. An I/O failure keeps its `io::Error` as the
//! source, so the command-line glue can tell a closed pipe
//! (`suzanne-stats requests | head`) from a real failure.

use std::fmt;
use std::io;
use std::path::Path;

use spool::Exit;

/// A report could not be made.
#[derive(Debug)]
pub enum Error {
    /// The spool library failed (opening the spool, reading a record).
    Spool(spool::Error),
    /// Reading or writing failed: "cannot ACTION 'OBJECT'", the cause as
    /// the source.
    Io { message: String, source: io::Error },
    /// The chart could not be drawn.
    Chart(String),
}

impl Error {
    /// "cannot ACTION 'PATH'" with its cause.
    pub fn read(action: &str, path: &Path, source: io::Error) -> Error {
        Error::Io {
            message: format!("cannot {action} '{}'", path.display()),
            source,
        }
    }

    /// Writing to `target` (a file name, or "standard output") failed.
    pub fn write(target: &str, source: io::Error) -> Error {
        Error::Io {
            message: format!("cannot write '{target}'"),
            source,
        }
    }

    /// A CSV writer's error: its I/O error unwrapped, so a broken pipe
    /// stays visible as one.
    pub fn csv(target: &str, err: csv::Error) -> Error {
        let source = match err.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => io::Error::other(format!("{other:?}")),
        };
        Error::write(target, source)
    }

    /// The exit status this error ends the program with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Spool(e) => e.exit(),
            Error::Io { .. } | Error::Chart(_) => Exit::Software,
        }
    }

    /// For the binary: the spool's own error goes into the chain as
    /// itself, so the shared glue maps it to its exit status.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Error::Spool(e) => e.into(),
            other => other.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spool(e) => e.fmt(f),
            Error::Io { message, .. } => f.write_str(message),
            Error::Chart(why) => write!(f, "cannot draw chart: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<spool::Error> for Error {
    fn from(e: spool::Error) -> Error {
        Error::Spool(e)
    }
}
