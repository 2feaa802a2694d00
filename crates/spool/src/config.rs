//! One TOML file for every program. The core sections are typed here;
//! each program reads its own section (`ack`, `soap`, `stats`, ...) with
//! [`Config::section`], so a program's settings live beside its code.
//!
//! Where the file comes from: `--config FILE`, else `$SUZANNE_CONFIG`,
//! else `/etc/suzanne/suzanne.toml` when it exists, else the built-in
//! defaults below. Unknown keys are refused, so a typo is an error rather
//! than a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};

/// The system-wide configuration file.
pub const DEFAULT_PATH: &str = "/etc/suzanne/suzanne.toml";

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The spool directory.
    pub spool: PathBuf,
    /// Where Postfix delivers and how to take it.
    pub mailbox: MailboxConfig,
    /// How the arrival time is read.
    pub arrival: ArrivalConfig,
    /// How the request form is read.
    pub form: FormConfig,
    /// How suzanne-parse writes.
    pub parse: ParseConfig,
    /// The other programs' sections, read with [`Config::section`].
    pub ack: toml::Table,
    /// suzanne-soapd's section.
    pub soap: toml::Table,
    /// suzanne-stats' section.
    pub stats: toml::Table,
    /// suzanne-loadgen's section.
    pub loadgen: toml::Table,
    /// The file this came from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[mailbox]`: the mailbox Postfix delivers to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailboxConfig {
    /// The mbox Postfix local(8) appends to.
    pub mbox: Option<PathBuf>,
    /// The Maildir Postfix delivers to (instead of, or beside, the mbox).
    pub maildir: Option<PathBuf>,
    /// The mbox quoting Postfix writes: `mboxo` (Postfix) or `mboxrd`.
    pub flavour: String,
    /// How long suzanne-rotate waits for a busy mailbox lock, seconds.
    pub lock_wait: u64,
    /// A dotlock older than this, whose holder is gone, is stale.
    pub stale_lock: u64,
    /// Rotate only once the mailbox holds at least this many bytes...
    pub min_bytes: u64,
    /// ...or its oldest content has waited this many seconds.
    pub min_age: u64,
}

/// `[arrival]`: whose `Received:` header fixes the arrival time.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArrivalConfig {
    /// Host names our own mail servers put after `by` (empty: this host).
    pub trusted_hosts: Vec<String>,
}

/// `[form]`: the keys of the request form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FormConfig {
    /// Keys naming a domain (empty: the built-in French and English list).
    pub domain_keys: Vec<String>,
    /// Keys choosing the acknowledgement language (empty: built-in).
    pub language_keys: Vec<String>,
}

/// `[parse]`: how suzanne-parse writes the spool.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseConfig {
    /// Sync before publishing (never turn off in production).
    pub durable: bool,
    /// Messages written per sync.
    pub chunk: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            spool: PathBuf::from("/var/spool/suzanne"),
            mailbox: MailboxConfig::default(),
            arrival: ArrivalConfig::default(),
            form: FormConfig::default(),
            parse: ParseConfig::default(),
            ack: toml::Table::new(),
            soap: toml::Table::new(),
            stats: toml::Table::new(),
            loadgen: toml::Table::new(),
            source: None,
        }
    }
}

impl Default for MailboxConfig {
    fn default() -> MailboxConfig {
        MailboxConfig {
            mbox: None,
            maildir: None,
            flavour: "mboxo".to_string(),
            lock_wait: 30,
            stale_lock: 500,
            min_bytes: 0,
            min_age: 0,
        }
    }
}

impl Default for ParseConfig {
    fn default() -> ParseConfig {
        ParseConfig {
            durable: true,
            chunk: 2000,
        }
    }
}

impl Config {
    /// Load from `explicit`, else `$SUZANNE_CONFIG`, else the system file
    /// if present, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let env = std::env::var_os("SUZANNE_CONFIG").map(PathBuf::from);
        let path = match (explicit, env) {
            (Some(p), _) => Some(p.to_path_buf()),
            (None, Some(p)) if !p.as_os_str().is_empty() => Some(p),
            _ => {
                let system = PathBuf::from(DEFAULT_PATH);
                system.exists().then_some(system)
            }
        };
        match path {
            Some(p) => Config::from_file(&p),
            None => Ok(Config::default()),
        }
    }

    /// Load one file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("read configuration", path, e))?;
        let mut config = Config::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read configuration '{}': {e}", path.display()),
            )
        })?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parse TOML text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> std::result::Result<Config, String> {
        toml::from_str(text).map_err(|e| one_line(&e.to_string()))
    }

    /// A program's own section, typed by that program.
    pub fn section<T: DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T> {
        let table = match name {
            "ack" => &self.ack,
            "soap" => &self.soap,
            "stats" => &self.stats,
            "loadgen" => &self.loadgen,
            _ => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("no configuration section '{name}'"),
                ))
            }
        };
        if table.is_empty() {
            return Ok(T::default());
        }
        toml::Value::Table(table.clone()).try_into().map_err(
            |e: toml::de::Error| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "bad configuration section [{name}]: {}",
                        one_line(&e.to_string())
                    ),
                )
            },
        )
    }

    /// The trusted Received hosts, defaulting to this host's name.
    pub fn trusted_hosts(&self) -> Vec<String> {
        if self.arrival.trusted_hosts.is_empty() {
            vec![crate::clock::hostname()]
        } else {
            self.arrival.trusted_hosts.clone()
        }
    }
}

/// TOML errors span several lines with a caret picture; keep one line.
fn one_line(text: &str) -> String {
    let mut parts = text.lines().map(str::trim).filter(|l| {
        !l.is_empty() && !l.starts_with('|') && !l.starts_with('^')
    });
    let mut out = parts.next().unwrap_or("").to_string();
    for p in parts {
        if p.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push_str(": ");
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Config::from_str("spoool = '/x'").is_err());
        let c = Config::from_str("spool = '/x'\n[mailbox]\nmin_bytes = 5")
            .unwrap();
        assert_eq!(c.spool, PathBuf::from("/x"));
        assert_eq!(c.mailbox.min_bytes, 5);
        assert_eq!(c.mailbox.flavour, "mboxo");
    }

    #[test]
    fn sections_are_typed_by_their_program() {
        #[derive(Deserialize, Default)]
        struct Soap {
            port: u16,
        }
        let c = Config::from_str("[soap]\nport = 8080").unwrap();
        assert_eq!(c.section::<Soap>("soap").unwrap().port, 8080);
        assert!(Config::from_str("[soap]\nport = 'x'")
            .unwrap()
            .section::<Soap>("soap")
            .is_err());
    }
}
