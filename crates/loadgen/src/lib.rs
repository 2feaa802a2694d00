//! suzanne-loadgen: rehearse a landrush and check what Suzanne made of
//! it.
//!
//! `generate` writes a realistic landrush, deterministic from a seed, as
//! Postfix would have delivered it (an mbox or a Maildir), with a truth
//! file saying what the spool must hold afterwards. `smtp` sends such a
//! landrush to a mail server on this machine at a chosen rate. `verify`
//! compares a spool with a truth file: every message once, nothing
//! more, the right kinds and fields, and the order of arrival kept.
//!
//! The modules: [`plan`] decides the scenario, [`compose`] renders its
//! messages, [`mailbox`] writes them, [`truth`] states the expected
//! outcome, [`smtp`] and [`replay`] send, [`verify`] checks. [`cli`]
//! holds the command line the binary parses.

pub mod cli;
pub mod compose;
pub mod encode;
pub mod headers;
pub mod mailbox;
pub mod names;
pub mod plan;
pub mod queue_id;
pub mod replay;
pub mod smtp;
pub mod truth;
pub mod verify;

use std::path::Path;

use spool::Result;

pub use mailbox::Format;
pub use plan::{Landrush, Options};

/// Plan a landrush and write it to `out` in `format`, with its truth at
/// `truth`. Returns the plan.
pub fn generate(
    options: &Options,
    format: Format,
    out: &Path,
    truth: &Path,
) -> Result<Landrush> {
    let landrush = Landrush::plan(options);
    match format {
        Format::Mbox => mailbox::write_mbox(&landrush, out)?,
        Format::Maildir => mailbox::write_maildir(&landrush, out)?,
    }
    truth::write(truth, &landrush.truth())?;
    Ok(landrush)
}
