//! The `smtp` transport: lettre's asynchronous SMTP client over a TCP
//! stream we open ourselves.
//!
//! Why not lettre's own transport: lettre 0.11 never sets TCP_NODELAY,
//! and it writes the message and the final `.` separately, so Nagle's
//! algorithm holds every message until the server's delayed ACK, about
//! 40 ms: 23 messages a second per connection. Opening the socket here
//! with TCP_NODELAY and handing it to `connect_with_transport` removes
//! the stall. XXX: drop this once a lettre release sets TCP_NODELAY
//! itself (upstream pull request 1159).

use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};
use lettre::transport::smtp::response::Response;
use lettre::Address;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{Delivery, Outcome};
use crate::config::{AckConfig, Encoding, StartTls};
use crate::headers::clean_line;
use crate::render::Letter;

/// Where and how to reach the relay.
pub struct Relay {
    host: String,
    port: u16,
    helo: ClientId,
    starttls: StartTls,
    tls_verify: bool,
    credentials: Option<Credentials>,
    timeout: Duration,
    eight_bit: bool,
}

/// One open SMTP session.
pub struct Connection {
    conn: AsyncSmtpConnection,
    eight_bit: bool,
    timeout: Duration,
}

impl Relay {
    /// From the configuration; reads the AUTH password file.
    pub fn new(c: &AckConfig) -> Result<Relay, String> {
        let credentials = match (&c.user, &c.password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    format!(
                        "cannot read password file '{}': {e}",
                        file.display()
                    )
                })?;
                let password = text.lines().next().unwrap_or("").to_string();
                Some(Credentials::new(user.clone(), password))
            }
            (Some(_), None) => {
                return Err("[ack] user is set without password_file".into())
            }
            (None, _) => None,
        };
        Ok(Relay {
            host: c.relay.clone(),
            port: c.port,
            helo: ClientId::Domain(c.host()),
            starttls: c.starttls,
            tls_verify: c.tls_verify,
            credentials,
            timeout: Duration::from_secs(c.timeout.max(1)),
            eight_bit: c.encoding == Encoding::EightBit,
        })
    }

    /// `host:port`, for messages.
    pub fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Open a session: connect, greeting and EHLO, STARTTLS and AUTH as
    /// configured.
    pub async fn connect(&self) -> Result<Connection, String> {
        let addr = (self.host.as_str(), self.port);
        let tcp = timeout(self.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| "connect: timed out".to_string())?
            .map_err(|e| format!("connect: {}", plain_io(&e)))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("set TCP_NODELAY: {e}"))?;
        let mut conn = timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(
                Box::new(tcp),
                &self.helo,
            ),
        )
        .await
        .map_err(|_| "greeting: timed out".to_string())?
        .map_err(|e| format!("greeting: {e}"))?;
        self.secure(&mut conn).await?;
        if let Some(creds) = &self.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            timeout(self.timeout, conn.auth(&mechanisms, creds))
                .await
                .map_err(|_| "AUTH: timed out".to_string())?
                .map_err(|e| format!("AUTH: {e}"))?;
        }
        let eight_bit = self.eight_bit
            && conn.server_info().supports_feature(Extension::EightBitMime);
        Ok(Connection {
            conn,
            eight_bit,
            timeout: self.timeout,
        })
    }

    async fn secure(
        &self,
        conn: &mut AsyncSmtpConnection,
    ) -> Result<(), String> {
        match self.starttls {
            StartTls::Off => return Ok(()),
            StartTls::Try if !conn.can_starttls() => return Ok(()),
            StartTls::Require if !conn.can_starttls() => {
                return Err("STARTTLS: not offered by the relay".to_string())
            }
            _ => {}
        }
        let params = TlsParameters::builder(self.host.clone())
            .dangerous_accept_invalid_certs(!self.tls_verify)
            .dangerous_accept_invalid_hostnames(!self.tls_verify)
            .build()
            .map_err(|e| format!("STARTTLS: {e}"))?;
        timeout(self.timeout, conn.starttls(params, &self.helo))
            .await
            .map_err(|_| "STARTTLS: timed out".to_string())?
            .map_err(|e| format!("STARTTLS: {e}"))
    }
}

impl Connection {
    /// Send one letter. 4xx and lost connections defer it; 5xx fail it.
    pub async fn send(
        &mut self,
        letter: &Letter,
        envelope_from: Option<&Address>,
    ) -> Delivery {
        let message = match letter.message(envelope_from, self.eight_bit) {
            Ok(m) => m,
            Err(e) => return Delivery::kept(Outcome::Failed(e)),
        };
        let bytes = message.formatted();
        let sent = self.conn.send(message.envelope(), &bytes);
        match timeout(self.timeout, sent).await {
            Err(_) => Delivery::broken(Outcome::Deferred(
                "timed out waiting for the relay".to_string(),
            )),
            Ok(Ok(response)) => {
                Delivery::kept(Outcome::Sent(reply(&response)))
            }
            Ok(Err(e)) => {
                let text = clean_line(&e.to_string(), 300);
                let outcome = if e.is_permanent() || e.is_client() {
                    Outcome::Failed(text)
                } else {
                    Outcome::Deferred(text)
                };
                Delivery {
                    outcome,
                    broken: self.conn.has_broken(),
                }
            }
        }
    }

    /// End the session politely; a relay that does not answer QUIT has
    /// its connection dropped anyway.
    pub async fn quit(mut self) {
        let _ = timeout(self.timeout, self.conn.quit()).await;
    }
}

/// A positive reply as one line: `250 2.0.0 Ok: queued as X`.
fn reply(r: &Response) -> String {
    let text: Vec<&str> = r.message().collect();
    clean_line(&format!("{} {}", r.code(), text.join(" ")), 300)
}

fn plain_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
