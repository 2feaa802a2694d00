//! Writing a planned landrush as Postfix would have left it: an mbox
//! (local(8)'s From_ lines and mboxo quoting) or a Maildir.

use std::fs::{self, File, FileTimes};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use spool::{Error, Result};

use crate::plan::Landrush;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mbox,
    Maildir,
}

/// Write the landrush as an mbox at `path`, in the order Postfix
/// appended the messages. The file appears complete under its name:
/// it is written beside it first, then renamed.
pub fn write_mbox(lr: &Landrush, path: &Path) -> Result<()> {
    let tmp = sibling(path, ".tmp");
    let file = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for &i in &lr.mailbox_order {
        let m = &lr.messages[i];
        let crlf = lr.letter(m).crlf;
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut chunk = Vec::with_capacity(4096);
        chunk.extend_from_slice(lr.from_line(m).as_bytes());
        chunk.extend_from_slice(eol);
        let body = lr.delivered(m);
        quote_mboxo(&body, &mut chunk);
        // local(8) ends every message with a blank line; the one cut off
        // ends where it was cut.
        if body.ends_with(b"\n") {
            chunk.extend_from_slice(eol);
        }
        out.write_all(&chunk)
            .map_err(|e| Error::io("write", &tmp, e))?;
    }
    out.flush().map_err(|e| Error::io("write", &tmp, e))?;
    drop(out);
    fs::rename(&tmp, path).map_err(|e| {
        Error::io_msg(
            format!(
                "cannot rename '{}' to '{}'",
                tmp.display(),
                path.display()
            ),
            e,
        )
    })
}

/// mboxo: a line starting with `From ` gains a `>` (Postfix
/// global/mail_copy.c, MAIL_COPY_QUOTE); nothing else changes.
pub fn quote_mboxo(message: &[u8], out: &mut Vec<u8>) {
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
}

/// Write the landrush as a Maildir at `dir`: one file a message in
/// `new/`, made in `tmp/` and renamed, each dated (mtime) when Postfix
/// delivered it, so a reader sorting by time sees the delivery order.
pub fn write_maildir(lr: &Landrush, dir: &Path) -> Result<()> {
    // Mixed with an earlier landrush, the truth would be wrong.
    let new = dir.join("new");
    if fs::read_dir(&new).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::data(format!(
            "cannot write Maildir '{}': new/ already holds messages",
            dir.display()
        )));
    }
    for sub in ["tmp", "new", "cur"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(|e| Error::io("create", &d, e))?;
    }
    for &i in &lr.mailbox_order {
        let m = &lr.messages[i];
        let secs = m.delivery_us.div_euclid(1_000_000);
        let usecs = m.delivery_us.rem_euclid(1_000_000);
        // Postfix's unique name: time, device and inode, microseconds,
        // host (global/maildir: "%lu.V%lxI%lxM%lu.%s").
        let name = format!(
            "{secs}.V801I{:x}M{usecs}.{}",
            0x40000 + m.index,
            lr.options.trusted_host
        );
        let tmp = dir.join("tmp").join(&name);
        let new = dir.join("new").join(&name);
        let file =
            File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        let mut out = BufWriter::new(file);
        out.write_all(&lr.delivered(m))
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("write", &tmp, e))?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        let when =
            UNIX_EPOCH + Duration::from_micros(m.delivery_us.max(0) as u64);
        file.set_times(FileTimes::new().set_modified(when).set_accessed(when))
            .map_err(|e| Error::io("set the time of", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, &new).map_err(|e| {
            Error::io_msg(
                format!(
                    "cannot rename '{}' to '{}'",
                    tmp.display(),
                    new.display()
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// `path` with `suffix` added to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}
