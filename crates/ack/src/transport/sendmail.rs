//! The `sendmail` transport: hand each letter to the local mail system's
//! sendmail command, run without a shell.
//!
//! Postfix's sendmail takes the null sender as `-f '<>'` (or `-f ''`),
//! wants `-i` so that a line holding only `.` does not end the message,
//! and `--` before the recipients so that an address starting with `-`
//! is not read as an option. The exit status follows sysexits: 75 means
//! try later.

use std::process::Stdio;
use std::time::Duration;

use lettre::Address;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::time::timeout;

use super::{Delivery, Outcome};
use crate::config::{AckConfig, Encoding};
use crate::headers::clean_line;
use crate::render::Letter;

/// The command line, with its placeholders.
pub struct Sendmail {
    argv: Vec<String>,
    timeout: Duration,
    eight_bit: bool,
}

impl Sendmail {
    /// From the configuration.
    pub fn new(c: &AckConfig) -> Result<Sendmail, String> {
        if c.sendmail.is_empty() {
            return Err("[ack] sendmail is empty".to_string());
        }
        if !c.sendmail.iter().any(|a| a == "{recipient}") {
            return Err("[ack] sendmail has no {recipient} argument".into());
        }
        Ok(Sendmail {
            argv: c.sendmail.clone(),
            timeout: Duration::from_secs(c.timeout.max(1)),
            eight_bit: c.encoding == Encoding::EightBit,
        })
    }

    /// The program, for messages.
    pub fn name(&self) -> &str {
        &self.argv[0]
    }

    /// Run the command for one letter. A command that cannot be started
    /// is the caller's trouble (`Err`), not the letter's.
    pub async fn send(
        &self,
        letter: &Letter,
        envelope_from: Option<&Address>,
    ) -> Result<Delivery, String> {
        let message = match letter.message(envelope_from, self.eight_bit) {
            Ok(m) => m,
            Err(e) => return Ok(Delivery::kept(Outcome::Failed(e))),
        };
        let sender = envelope_from.map_or("<>".to_string(), |a| a.to_string());
        let recipient = letter.to.to_string();
        let args = self.argv[1..].iter().map(|a| match a.as_str() {
            "{sender}" => sender.clone(),
            "{recipient}" => recipient.clone(),
            _ => a.clone(),
        });
        let mut child = Command::new(&self.argv[0])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run '{}': {e}", self.argv[0]))?;
        // sendmail reads a plain mail file: LF line ends.
        let bytes = crlf_to_lf(&message.formatted());
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The block owns stdin and closes it once written, so sendmail
        // sees the end of the message; the timeout covers both halves.
        let run = async move {
            let written = async {
                stdin.write_all(&bytes).await?;
                stdin.shutdown().await
            }
            .await;
            drop(stdin);
            (written, child.wait_with_output().await)
        };
        let (written, output) = match timeout(self.timeout, run).await {
            Ok((written, Ok(out))) => (written, out),
            Ok((_, Err(e))) => {
                return Err(format!("wait for '{}': {e}", self.argv[0]))
            }
            Err(_) => {
                // Dropping the future kills the child (kill_on_drop).
                let why = format!("'{}' timed out", self.argv[0]);
                return Ok(Delivery::kept(Outcome::Deferred(why)));
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = clean_line(stderr.lines().next().unwrap_or(""), 200);
        Ok(Delivery::kept(outcome(
            output.status.code(),
            detail,
            written,
        )))
    }
}

/// sysexits: 65 bad data, 67 no such user, 68 no such host are the
/// letter's; 75 is a temporary failure; a signal or anything else is
/// deferred, so a broken local mail system loses no acknowledgement.
fn outcome(
    code: Option<i32>,
    detail: String,
    written: std::io::Result<()>,
) -> Outcome {
    let say = |what: String| {
        if detail.is_empty() {
            what
        } else {
            format!("{what}: {detail}")
        }
    };
    match code {
        Some(0) if written.is_ok() => {
            Outcome::Sent("sendmail: accepted".into())
        }
        Some(0) => Outcome::Deferred(say("sendmail: input cut short".into())),
        Some(c @ (65 | 67 | 68)) => {
            Outcome::Failed(say(format!("sendmail exit {c}")))
        }
        Some(c) => Outcome::Deferred(say(format!("sendmail exit {c}"))),
        None => Outcome::Deferred(say("sendmail killed by a signal".into())),
    }
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_to_outcomes() {
        let ok = || Ok(());
        assert!(matches!(
            outcome(Some(0), String::new(), ok()),
            Outcome::Sent(_)
        ));
        assert!(matches!(
            outcome(Some(67), "x".into(), ok()),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            outcome(Some(75), "x".into(), ok()),
            Outcome::Deferred(_)
        ));
        assert!(matches!(
            outcome(None, String::new(), ok()),
            Outcome::Deferred(_)
        ));
        assert_eq!(crlf_to_lf(b"a\r\nb\r\r\n"), b"a\nb\r\n");
    }
}
