//! Writing an acknowledgement: the template (tera, text/plain UTF-8, one
//! per kind and language), the language it is written in, and the
//! message lettre formats from it.
//!
//! A template file is `<kind>.<language>.txt` (`ack.fr.txt`,
//! `duplicate.en.txt`). Its first line is `Subject: ...`, then an empty
//! line, then the body; both parts are rendered with the variables
//! listed in `templates/README.md`. Untrusted values (the subject, the
//! domain names) reach the template already reduced to one clean line.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{Address, Message};
use serde::Serialize;
use spool::record::{ticket_name, TimeSource};
use spool::Record;
use tera::{Context, Tera};
use time::OffsetDateTime;

use crate::headers::{self, AutoSubmitted};
use crate::select::address_key;

/// The two kinds of letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LetterKind {
    /// The acknowledgement of a request.
    Ack,
    /// The short note a duplicate gets.
    Duplicate,
}

impl LetterKind {
    /// The template name's first part.
    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Ack => "ack",
            LetterKind::Duplicate => "duplicate",
        }
    }
}

/// The templates of one directory, parsed once.
pub struct Templates {
    tera: Tera,
    dir: PathBuf,
    /// (kind, language) pairs present.
    present: BTreeSet<(String, String)>,
}

impl Templates {
    /// Load every `ack.*.txt` and `duplicate.*.txt` of `dir`.
    pub fn load(dir: &Path) -> Result<Templates, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!("cannot read templates directory '{}': {e}", dir.display())
        })?;
        let mut tera = Tera::default();
        // Plain text: nothing is HTML-escaped.
        tera.autoescape_on(Vec::new());
        let mut present = BTreeSet::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((kind, lang)) = template_name(&name) else {
                continue;
            };
            let path = entry.path();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!("cannot read template '{}': {e}", path.display())
            })?;
            let text = text.replace("\r\n", "\n");
            if !text.starts_with("Subject:") {
                return Err(format!(
                    "template '{}': must start with a 'Subject:' line",
                    path.display()
                ));
            }
            tera.add_raw_template(&name, &text).map_err(|e| {
                format!("template '{}': {}", path.display(), tera_error(&e))
            })?;
            present.insert((kind.to_string(), lang.to_string()));
        }
        Ok(Templates {
            tera,
            dir: dir.to_path_buf(),
            present,
        })
    }

    /// True when the template for `kind` in `lang` exists.
    pub fn has(&self, kind: LetterKind, lang: &str) -> bool {
        self.present
            .contains(&(kind.as_str().to_string(), lang.to_string()))
    }

    /// Check that `kind` exists in the default language.
    pub fn require(&self, kind: LetterKind, lang: &str) -> Result<(), String> {
        if self.has(kind, lang) {
            return Ok(());
        }
        Err(format!(
            "no template '{}.{lang}.txt' in '{}'",
            kind.as_str(),
            self.dir.display()
        ))
    }

    /// Render; returns the subject line's text and the body.
    fn render(
        &self,
        kind: LetterKind,
        lang: &str,
        ctx: &Context,
    ) -> Result<(String, String), String> {
        let name = format!("{}.{lang}.txt", kind.as_str());
        let text = self.tera.render(&name, ctx).map_err(|e| {
            format!("render template '{name}': {}", tera_error(&e))
        })?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first.trim_start_matches("Subject:");
        let body = body.strip_prefix('\n').unwrap_or(body);
        let mut body = body.to_string();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Ok((headers::clean_line(subject, 400), body))
    }
}

/// `ack.fr.txt` -> ("ack", "fr").
fn template_name(name: &str) -> Option<(&str, &str)> {
    let stem = name.strip_suffix(".txt")?;
    let (kind, lang) = stem.split_once('.')?;
    let known = kind == "ack" || kind == "duplicate";
    let plain = !lang.is_empty()
        && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (known && plain).then_some((kind, lang))
}

/// tera's error with its causes, on one line.
fn tera_error(err: &tera::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// The language an acknowledgement is written in: the request form's
/// language field when it names a language we have a template for, else
/// the registrar's entry in `languages`, else the default.
pub struct Languages {
    default: String,
    by_registrar: HashMap<String, String>,
}

impl Languages {
    /// From the `language` and `languages` settings.
    pub fn new(
        default: &str,
        map: &std::collections::BTreeMap<String, String>,
    ) -> Result<Languages, String> {
        let mut by_registrar = HashMap::new();
        for (key, lang) in map {
            let k = key.trim().trim_start_matches('@');
            let norm = if k.contains('@') {
                headers::to_ascii_address(k).map(|a| address_key(&a))
            } else {
                headers::domain_ascii(k)
            }
            .map_err(|e| format!("languages entry '{key}': {e}"))?;
            by_registrar.insert(norm, lang.to_ascii_lowercase());
        }
        Ok(Languages {
            default: default.to_ascii_lowercase(),
            by_registrar,
        })
    }

    /// The default language.
    pub fn default_language(&self) -> &str {
        &self.default
    }

    /// Choose for one letter.
    pub fn choose(
        &self,
        form: Option<&str>,
        to: &Address,
        kind: LetterKind,
        templates: &Templates,
    ) -> String {
        let from_form = form.and_then(language_code);
        let by_address = self.by_registrar.get(&address_key(to));
        let by_domain = self.by_registrar.get(to.domain());
        [from_form, by_address.cloned(), by_domain.cloned()]
            .into_iter()
            .flatten()
            .find(|lang| templates.has(kind, lang))
            .unwrap_or_else(|| self.default.clone())
    }
}

/// The language code a form's language field names, if any: `fr`,
/// `FR`, `fr-FR`, `français`, `English` ...
pub fn language_code(value: &str) -> Option<String> {
    let v = value.trim().to_lowercase();
    let word = v.split(['-', '_', ' ', ',', ';']).next().unwrap_or("");
    let code = match word {
        "fr" | "fra" | "fre" | "french" | "français" | "francais" => "fr",
        "en" | "eng" | "english" | "anglais" => "en",
        w if w.len() == 2 && w.bytes().all(|b| b.is_ascii_lowercase()) => w,
        _ => return None,
    };
    Some(code.to_string())
}

/// Everything a letter needs besides its request.
pub struct Writer {
    pub templates: Templates,
    pub languages: Languages,
    /// The From header.
    pub from: Mailbox,
    /// The domain of our Message-IDs.
    pub host: String,
}

/// One acknowledgement (or duplicate note), ready to format.
#[derive(Clone, Debug)]
pub struct Letter {
    pub ticket: u64,
    pub kind: LetterKind,
    pub language: String,
    pub from: Mailbox,
    pub to: Address,
    pub subject: String,
    pub body: String,
    /// Our own Message-ID, derived from the ticket.
    pub message_id: String,
    /// The request's Message-ID, when it is a plain one.
    pub reference: Option<String>,
    pub date: OffsetDateTime,
}

#[derive(Serialize)]
struct DomainVar {
    unicode: String,
    ascii: String,
    idn: bool,
}

impl Writer {
    /// Write the letter for `record`, going to `to`.
    pub fn letter(
        &self,
        record: &Record,
        kind: LetterKind,
        to: Address,
        dup_of: Option<u64>,
        date: OffsetDateTime,
    ) -> Result<Letter, String> {
        let language = self.languages.choose(
            record.language.as_deref(),
            &to,
            kind,
            &self.templates,
        );
        let ctx = self.context(record, dup_of, &language, date);
        let (subject, body) = self.templates.render(kind, &language, &ctx)?;
        Ok(Letter {
            ticket: record.ticket,
            kind,
            language,
            from: self.from.clone(),
            to,
            subject,
            body,
            message_id: headers::ack_message_id(record.ticket, &self.host),
            reference: headers::reply_reference(record.message_id.as_deref()),
            date,
        })
    }

    fn context(
        &self,
        r: &Record,
        dup_of: Option<u64>,
        language: &str,
        date: OffsetDateTime,
    ) -> Context {
        let domains: Vec<DomainVar> = r
            .domains
            .iter()
            .map(|d| {
                let unicode = headers::clean_line(&d.unicode, 253);
                let ascii = headers::clean_line(&d.ascii, 253);
                DomainVar {
                    idn: unicode != ascii,
                    unicode,
                    ascii,
                }
            })
            .collect();
        let mut ctx = Context::new();
        ctx.insert("ticket", &r.ticket);
        ctx.insert("ticket_name", &ticket_name(r.ticket));
        ctx.insert("arrival", &r.arrival);
        let by_rotation = r.time_source == TimeSource::Rotation;
        ctx.insert("arrival_from_rotation", &by_rotation);
        ctx.insert("sha256", &r.sha256);
        ctx.insert("size", &r.size);
        ctx.insert("domains", &domains);
        let subject = headers::clean_line(&r.subject, headers::SUBJECT_MAX);
        ctx.insert("subject", &subject);
        ctx.insert("from", &headers::clean_line(&r.from, 200));
        let reference = headers::reply_reference(r.message_id.as_deref());
        ctx.insert("message_id", &reference.unwrap_or_default());
        ctx.insert("dup_of", &dup_of);
        ctx.insert("dup_of_name", &dup_of.map(ticket_name));
        ctx.insert("registry", &self.from.email.to_string());
        ctx.insert("language", language);
        ctx.insert(
            "date",
            &spool::clock::rfc3339_us(spool::clock::to_us(date)),
        );
        ctx
    }
}

impl Letter {
    /// The message as lettre formats it. `eight_bit`: the body may go as
    /// 8bit (the relay offers 8BITMIME); otherwise non-ASCII text is
    /// sent quoted-printable. Pure-ASCII bodies always go as 7bit.
    pub fn message(
        &self,
        envelope_from: Option<&Address>,
        eight_bit: bool,
    ) -> Result<Message, String> {
        let envelope = lettre::address::Envelope::new(
            envelope_from.cloned(),
            vec![self.to.clone()],
        )
        .map_err(|e| format!("envelope: {e}"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, self.to.clone()))
            .subject(self.subject.clone())
            .date(SystemTime::from(self.date))
            .message_id(Some(self.message_id.clone()))
            .header(AutoSubmitted)
            .envelope(envelope);
        if let Some(r) = &self.reference {
            builder = builder.in_reply_to(r.clone()).references(r.clone());
        }
        let part = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(self.body_encoded(eight_bit));
        builder
            .singlepart(part)
            .map_err(|e| format!("build message: {e}"))
    }

    fn body_encoded(&self, eight_bit: bool) -> Body {
        use ContentTransferEncoding as Cte;
        let text = self.body.clone();
        let first = if text.is_ascii() {
            Cte::SevenBit
        } else if eight_bit {
            Cte::EightBit
        } else {
            Cte::QuotedPrintable
        };
        // 7bit and 8bit refuse over-long lines; QP takes anything.
        Body::new_with_encoding(text, first).unwrap_or_else(|_| {
            Body::new_with_encoding(self.body.clone(), Cte::QuotedPrintable)
                .unwrap_or_else(|_| Body::new(self.body.clone()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes() {
        for (v, want) in [
            ("FR", Some("fr")),
            ("fr-FR", Some("fr")),
            ("Français", Some("fr")),
            ("english", Some("en")),
            ("de", Some("de")),
            ("klingon", None),
            ("", None),
        ] {
            assert_eq!(language_code(v).as_deref(), want, "{v}");
        }
    }

    #[test]
    fn template_names() {
        assert_eq!(template_name("ack.fr.txt"), Some(("ack", "fr")));
        assert_eq!(
            template_name("duplicate.en.txt"),
            Some(("duplicate", "en"))
        );
        assert_eq!(template_name("README.md"), None);
        assert_eq!(template_name("ack.txt"), None);
        assert_eq!(template_name("other.fr.txt"), None);
    }
}
