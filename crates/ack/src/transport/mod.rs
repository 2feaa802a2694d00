//! How letters leave: `smtp` to a relay, `sendmail`, or `outbox` files.
//! Each transport opens links (an SMTP session; for the others a handle
//! on the command or the directory) and sends one letter at a time on
//! each, reporting what became of it.

pub mod outbox;
pub mod sendmail;
pub mod smtp;

use lettre::Address;

use crate::config::{AckConfig, Encoding, TransportKind};
use crate::render::Letter;

/// What became of one letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the reply (or where the file went).
    Sent(String),
    /// Not now (4xx, lost connection, timeout); try again later.
    Deferred(String),
    /// Never (5xx, a letter the relay cannot take).
    Failed(String),
}

/// An outcome, and whether the link it came on is still usable.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub outcome: Outcome,
    pub broken: bool,
}

impl Delivery {
    /// The link is still good.
    pub fn kept(outcome: Outcome) -> Delivery {
        Delivery {
            outcome,
            broken: false,
        }
    }

    /// The link must be dropped and opened again.
    pub fn broken(outcome: Outcome) -> Delivery {
        Delivery {
            outcome,
            broken: true,
        }
    }
}

/// The configured transport.
pub enum Transport {
    Smtp(smtp::Relay),
    Sendmail(sendmail::Sendmail),
    Outbox(outbox::Outbox),
}

/// One open link.
pub enum Link<'a> {
    Smtp(Box<smtp::Connection>),
    Sendmail(&'a sendmail::Sendmail),
    Outbox(&'a outbox::Outbox),
}

impl Transport {
    /// The transport the configuration names.
    pub fn new(c: &AckConfig) -> Result<Transport, String> {
        Ok(match c.transport {
            TransportKind::Smtp => Transport::Smtp(smtp::Relay::new(c)?),
            TransportKind::Sendmail => {
                Transport::Sendmail(sendmail::Sendmail::new(c)?)
            }
            TransportKind::Outbox => {
                let dir = c.outbox.as_ref().ok_or_else(|| {
                    "[ack] transport 'outbox' needs an outbox directory"
                        .to_string()
                })?;
                let eight_bit = c.encoding == Encoding::EightBit;
                Transport::Outbox(outbox::Outbox::new(dir, eight_bit)?)
            }
        })
    }

    /// What the transport talks to, for messages: `relay '127.0.0.1:25'`.
    pub fn name(&self) -> String {
        match self {
            Transport::Smtp(r) => format!("relay '{}'", r.name()),
            Transport::Sendmail(s) => format!("sendmail '{}'", s.name()),
            Transport::Outbox(o) => format!("outbox '{}'", o.dir().display()),
        }
    }

    /// Open a link. An error means nothing can be sent on it now.
    /// A directory whose letters are written unsynced and must be synced
    /// (with its whole file system) before they are recorded as sent.
    pub fn unsynced_dir(&self) -> Option<std::path::PathBuf> {
        match self {
            Transport::Outbox(o) => Some(o.dir().to_path_buf()),
            _ => None,
        }
    }

    pub async fn open(&self) -> Result<Link<'_>, String> {
        Ok(match self {
            Transport::Smtp(r) => Link::Smtp(Box::new(r.connect().await?)),
            Transport::Sendmail(s) => Link::Sendmail(s),
            Transport::Outbox(o) => Link::Outbox(o),
        })
    }
}

impl Link<'_> {
    /// Send one letter. `Err`: the transport itself failed (sendmail
    /// cannot be run, the outbox cannot be written): the letter was not
    /// sent and the run must stop.
    pub async fn send(
        &mut self,
        letter: &Letter,
        envelope_from: Option<&Address>,
    ) -> Result<Delivery, String> {
        match self {
            Link::Smtp(c) => Ok(c.send(letter, envelope_from).await),
            Link::Sendmail(s) => s.send(letter, envelope_from).await,
            Link::Outbox(o) => o.send(letter, envelope_from),
        }
    }

    /// Close the link.
    pub async fn close(self) {
        if let Link::Smtp(c) = self {
            c.quit().await;
        }
    }
}
