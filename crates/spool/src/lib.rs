//! The spool every Suzanne program shares, and the pieces every program
//! needs around it: configuration, exit codes, the clock, the command-line
//! glue.
//!
//! This crate owns every file operation on the spool (see
//! `docs/spool.md`): no other crate creates, renames or removes a spool
//! file. A file becomes visible under its final name only when complete:
//! it is written under `tmp/`, synced, renamed, and its directory synced.

pub mod cli;
pub mod clock;
pub mod config;
pub mod durable;
mod error;
pub mod exit;
pub mod journal;
pub mod lock;
pub mod mailbox;
pub mod record;
mod store;

pub use error::{Error, ErrorKind, Result};
pub use exit::Exit;
pub use lock::{Stage, StageGuard};
pub use record::{ArrivalKey, Kind, Record};
pub use store::{Batch, BatchKind, Spool};
