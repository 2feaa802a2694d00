//! The `outbox` transport: each letter becomes a file in a Maildir,
//! written under `tmp/` then renamed into `new/`, so whoever watches
//! `new/` (a demonstration, a person checking a dry run) only ever sees
//! complete files. The letters are not synced one by one: the run syncs
//! the outbox's file system once per group of letters, before the
//! journal records them as sent. The file is named after the ticket: a
//! letter written again after a crash replaces its first copy.

use std::path::{Path, PathBuf};

use lettre::Address;
use spool::durable;
use spool::record::ticket_name;

use super::{Delivery, Outcome};
use crate::render::Letter;

/// The directory.
pub struct Outbox {
    dir: PathBuf,
    eight_bit: bool,
}

impl Outbox {
    /// Create `dir/tmp` and `dir/new` if needed. `eight_bit`: bodies may
    /// be written as 8bit.
    pub fn new(dir: &Path, eight_bit: bool) -> Result<Outbox, String> {
        for sub in ["tmp", "new", "cur"] {
            durable::make_dir(&dir.join(sub)).map_err(|e| e.to_string())?;
        }
        Ok(Outbox {
            dir: dir.to_path_buf(),
            eight_bit,
        })
    }

    /// The directory, for messages.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write one letter. A file system error is the caller's trouble.
    pub fn send(
        &self,
        letter: &Letter,
        envelope_from: Option<&Address>,
    ) -> Result<Delivery, String> {
        let message = match letter.message(envelope_from, self.eight_bit) {
            Ok(m) => m,
            Err(e) => return Ok(Delivery::kept(Outcome::Failed(e))),
        };
        let sender = envelope_from.map_or(String::new(), |a| a.to_string());
        // What a local delivery agent adds: the envelope, as headers.
        let mut bytes =
            format!("Return-Path: <{sender}>\nDelivered-To: {}\n", letter.to)
                .into_bytes();
        bytes.extend(message.formatted().iter().filter(|&&b| b != b'\r'));
        let name = format!("{}.ack", ticket_name(letter.ticket));
        let tmp = self.dir.join("tmp").join(&name);
        let dest = self.dir.join("new").join(&name);
        let _ = std::fs::remove_file(&tmp);
        durable::create(&tmp, &bytes).map_err(|e| e.to_string())?;
        durable::rename(&tmp, &dest).map_err(|e| e.to_string())?;
        Ok(Delivery::kept(Outcome::Sent(format!(
            "written '{}'",
            dest.display()
        ))))
    }
}
