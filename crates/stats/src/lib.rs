//! suzanne-stats: reports on a Suzanne spool.
//!
//! Everything here only reads. The journal is replayed once per run
//! (`ledger`), through a reader that parses only the events and fields
//! a report needs (`journal`); records and raw messages are read one at
//! a time, on every core, in the order a report needs them
//! (`parallel`). Each report is a module of `report`; `cli` is the
//! command line.

pub mod cli;
pub mod error;
pub mod journal;
pub mod ledger;
pub mod output;
pub mod parallel;
pub mod problem;
pub mod report;
pub mod stamp;

pub use error::Error;
