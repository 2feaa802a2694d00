//! Exit codes, sysexits-style, in one place.
//!
//! Cron mails output and shell scripts test codes, so every program maps
//! its outcome onto this short list and nothing else.

/// How a program ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done (also: nothing to do).
    Ok = 0,
    /// The command line was wrong (EX_USAGE).
    Usage = 64,
    /// The input data was wrong (EX_DATAERR); a report found a problem.
    DataErr = 65,
    /// A bug or an unexpected condition (EX_SOFTWARE).
    Software = 70,
    /// Try again later: a lock is busy, a relay is down (EX_TEMPFAIL).
    TempFail = 75,
    /// The configuration is wrong (EX_CONFIG).
    Config = 78,
}

impl Exit {
    /// The numeric status handed to the operating system.
    pub fn code(self) -> i32 {
        self as i32
    }
}
