//! The `[ack]` section of the configuration file: every setting of
//! suzanne-ack, with its default. Each key's doc comment is its
//! documentation; the README and the man page repeat them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the built-in search for templates ends when nothing names them.
pub const SYSTEM_TEMPLATES: &str = "/usr/share/suzanne/templates";

/// `[ack]`: how acknowledgements are written, to whom, and how they
/// leave.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AckConfig {
    /// How acknowledgements leave: `smtp` (to `relay`), `sendmail` (the
    /// `sendmail` command) or `outbox` (files in `outbox`, for dry runs
    /// and demonstrations). Default `smtp`.
    pub transport: TransportKind,

    /// The registry's address, the From of every acknowledgement, e.g.
    /// `Registre <accuse@nic.example>`. Required: there is no sensible
    /// default.
    pub from: Option<String>,

    /// Envelope sender (MAIL FROM). Empty, the default, sends with the
    /// null sender `<>`, as RFC 3834 asks of automatic replies, so that
    /// a bounce of an acknowledgement never comes back to Suzanne.
    pub envelope_from: String,

    /// The domain of each acknowledgement's Message-ID and the EHLO name.
    /// Default: this host's name.
    pub hostname: Option<String>,

    /// Directory of the templates. Default: `$SUZANNE_TEMPLATES`, else
    /// `/usr/share/suzanne/templates` when it exists, else `templates`
    /// in the current directory.
    pub templates: Option<PathBuf>,

    /// The language of acknowledgements (`fr`, `en`: the suffix of the
    /// template files). Default `fr`.
    pub language: String,

    /// Language per registrar: an address or a domain mapped to a
    /// language, e.g. `{ "example.com" = "en" }`. The request form's
    /// language field, when it names a known language, wins over both
    /// this and `language`.
    pub languages: BTreeMap<String, String>,

    /// What a duplicate request gets: `note` (a short note pointing at
    /// the first ticket; the default) or `off` (nothing; recorded as
    /// skipped).
    pub duplicates: Duplicates,

    /// Addresses (`user@domain`) or domains (`domain`) that may receive
    /// acknowledgements. Empty, the default, allows everyone; otherwise
    /// the address an acknowledgement would go to must be listed (itself
    /// or its domain), and others are recorded as skipped (not-allowed).
    /// This stops forged senders turning acknowledgements into
    /// backscatter.
    pub allow: Vec<String>,

    /// At most this many acknowledgements sent per run; 0 (the default)
    /// for no limit. The rest wait for the next run, in their order.
    pub limit: u64,

    /// At most this many acknowledgements per run to one address; 0 for
    /// no limit (the default).
    pub per_registrar_run: u64,

    /// At most this many acknowledgements to one address in any 60
    /// seconds (counting earlier runs, from the journal); 0 for no limit
    /// (the default).
    pub per_registrar_minute: u64,

    /// Seconds before the first retry of a deferred acknowledgement
    /// (4xx reply, lost connection); doubled at each attempt. Default 60.
    pub retry_base: u64,

    /// The longest wait between two retries, seconds. Default 3600.
    pub retry_max: u64,

    /// After this many deferred attempts an acknowledgement is recorded
    /// as failed. Default 20 (about a day with the default waits).
    pub max_attempts: u32,

    /// Body transfer encoding: `8bit` (the default; readable, and
    /// quoted-printable anyway when an SMTP relay does not offer
    /// 8BITMIME) or `quoted-printable` (always).
    pub encoding: Encoding,

    /// SMTP relay host name or address. Default `127.0.0.1`.
    pub relay: String,

    /// SMTP relay port. Default 25.
    pub port: u16,

    /// STARTTLS: `off` (the default), `try` (when offered) or `require`.
    pub starttls: StartTls,

    /// Check the relay's certificate (against the Mozilla roots) under
    /// STARTTLS. Default true.
    pub tls_verify: bool,

    /// SMTP AUTH user name; AUTH (PLAIN or LOGIN) is used when set.
    pub user: Option<String>,

    /// File holding the SMTP AUTH password (its first line), so the
    /// password stays out of the shared configuration file.
    pub password_file: Option<PathBuf>,

    /// SMTP connections used in parallel. Default 4.
    pub connections: usize,

    /// Seconds allowed for connecting and for each SMTP exchange.
    /// Default 60.
    pub timeout: u64,

    /// The sendmail command, run without a shell: each argument as
    /// given, `{sender}` replaced by the envelope sender (`<>` when
    /// null) and `{recipient}` by the recipient. Default
    /// `["/usr/sbin/sendmail", "-i", "-f", "{sender}", "--",
    /// "{recipient}"]`.
    pub sendmail: Vec<String>,

    /// Directory for the `outbox` transport: each acknowledgement is
    /// written to `tmp/`, synced, then renamed into `new/` (a Maildir).
    pub outbox: Option<PathBuf>,
}

/// `transport`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    Sendmail,
    Outbox,
}

/// `duplicates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    Note,
    Off,
}

/// `encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Encoding {
    #[serde(rename = "8bit")]
    EightBit,
    #[serde(rename = "quoted-printable")]
    QuotedPrintable,
}

/// `starttls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    Off,
    Try,
    Require,
}

impl Default for AckConfig {
    fn default() -> AckConfig {
        AckConfig {
            transport: TransportKind::Smtp,
            from: None,
            envelope_from: String::new(),
            hostname: None,
            templates: None,
            language: "fr".to_string(),
            languages: BTreeMap::new(),
            duplicates: Duplicates::Note,
            allow: Vec::new(),
            limit: 0,
            per_registrar_run: 0,
            per_registrar_minute: 0,
            retry_base: 60,
            retry_max: 3600,
            max_attempts: 20,
            encoding: Encoding::EightBit,
            relay: "127.0.0.1".to_string(),
            port: 25,
            starttls: StartTls::Off,
            tls_verify: true,
            user: None,
            password_file: None,
            connections: 4,
            timeout: 60,
            sendmail: [
                "/usr/sbin/sendmail",
                "-i",
                "-f",
                "{sender}",
                "--",
                "{recipient}",
            ]
            .map(String::from)
            .to_vec(),
            outbox: None,
        }
    }
}

impl AckConfig {
    /// The templates directory: the setting, else `$SUZANNE_TEMPLATES`,
    /// else the system directory when it exists, else `./templates`.
    pub fn templates_dir(&self) -> PathBuf {
        if let Some(dir) = &self.templates {
            return dir.clone();
        }
        if let Some(dir) = std::env::var_os("SUZANNE_TEMPLATES") {
            if !dir.is_empty() {
                return PathBuf::from(dir);
            }
        }
        let system = Path::new(SYSTEM_TEMPLATES);
        if system.is_dir() {
            return system.to_path_buf();
        }
        PathBuf::from("templates")
    }

    /// The host name for Message-IDs and EHLO.
    pub fn host(&self) -> String {
        match &self.hostname {
            Some(h) if !h.is_empty() => h.clone(),
            _ => spool::clock::hostname(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_typos_are_refused() {
        let text = "[ack]\ntransport = 'outbox'\nencoding = \
                    'quoted-printable'\nlanguages = { 'x.fr' = 'en' }";
        let c = spool::config::Config::from_str(text).unwrap();
        let a: AckConfig = c.section("ack").unwrap();
        assert_eq!(a.transport, TransportKind::Outbox);
        assert_eq!(a.encoding, Encoding::QuotedPrintable);
        assert_eq!(a.languages["x.fr"], "en");
        assert_eq!(a.connections, 4);
        let bad = spool::config::Config::from_str("[ack]\nrelai = 'x'")
            .unwrap()
            .section::<AckConfig>("ack");
        assert!(bad.is_err());
    }
}
