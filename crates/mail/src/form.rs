//! The request form: `key: value` lines, the domain names and language.

use crate::decode::{clip, note};
use crate::Domain;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// What the form lines of a message say.
#[derive(Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub domains: Vec<Domain>,
    /// Domain values that are not valid names, as written.
    pub invalid: Vec<String>,
    pub language: Option<String>,
}

/// Keys are compared after lower-casing, NFC, turning `-` and `_` into
/// blanks and collapsing blanks: `Nom-de-domaine` is `nom de domaine`.
pub fn key_class(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for word in nfc(key)
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// NFC, without the cost when the text already is (always for ASCII).
pub fn nfc(text: &str) -> Cow<'_, str> {
    use unicode_normalization::{is_nfc_quick, IsNormalized};
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

pub struct Keys {
    domain: Vec<String>,
    language: Vec<String>,
}

/// What a form key is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Domain,
    Language,
    Other,
}

impl Keys {
    pub fn new(domain: &[String], language: &[String]) -> Keys {
        Keys {
            domain: domain.iter().map(|k| key_class(k)).collect(),
            language: language.iter().map(|k| key_class(k)).collect(),
        }
    }

    pub fn kind(&self, key: &str) -> KeyKind {
        let k = key_class(key);
        if self.domain.contains(&k) {
            KeyKind::Domain
        } else if self.language.contains(&k) {
            KeyKind::Language
        } else {
            KeyKind::Other
        }
    }
}

impl Form {
    /// Add every form line of a decoded text.
    pub fn read_text(&mut self, text: &str, keys: &Keys) {
        for line in text.lines() {
            if let Some((key, value)) = form_line(line) {
                self.add(key, value, keys);
            }
        }
    }

    /// Add one field (from a text, or a header that is really a form
    /// line).
    pub fn add(&mut self, key: &str, value: &str, keys: &Keys) {
        let mut shown = String::with_capacity(key.len());
        for word in nfc(key).split_whitespace() {
            if !shown.is_empty() {
                shown.push(' ');
            }
            shown.extend(word.chars().flat_map(char::to_lowercase));
        }
        let value = value.trim();
        match keys.kind(key) {
            KeyKind::Domain => self.add_domains(value),
            KeyKind::Language if self.language.is_none() => {
                self.language = language_code(value);
            }
            _ => {}
        }
        self.fields.push((shown, value.to_string()));
    }

    /// A value may name several domains, separated by commas, semicolons
    /// or blanks.
    fn add_domains(&mut self, value: &str) {
        let names = value
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty());
        for name in names {
            match domain(name) {
                Some(d) => {
                    if !self.domains.iter().any(|x| x.ascii == d.ascii) {
                        self.domains.push(d);
                    }
                }
                None => self.invalid.push(name.to_string()),
            }
        }
    }

    pub fn note_invalid(&self, defects: &mut Vec<String>) {
        for name in &self.invalid {
            note(
                defects,
                &format!("invalid domain name '{}'", clip(name, 80)),
            );
        }
    }
}

/// `key: value`, blanks allowed around the colon. A key is 1 to 40
/// letters, digits, blanks, `-`, `_` or `.`, starting with a letter;
/// quoted lines (`> ...`) and URLs (`http://...`) are not form lines.
pub fn form_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.starts_with('>') {
        return None;
    }
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let ok = key.chars().next().is_some_and(char::is_alphabetic)
        && key.chars().count() <= 40
        && key.chars().all(|c| {
            c.is_alphanumeric() || c == ' ' || c == '-' || c == '_' || c == '.'
        });
    if !ok || value.starts_with("//") {
        return None;
    }
    Some((key, value.trim()))
}

/// A domain name as the registry sees it: lower case, NFC, IDNA 2008 per
/// UTS 46 (non-transitional, STD3 rules, hyphen and length checks), at
/// least two labels, trailing dot dropped. Both forms kept.
pub fn domain(name: &str) -> Option<Domain> {
    const WRAP: &[char] = &['"', '\'', '<', '>', '(', ')', '[', ']', '{', '}'];
    let name = name.trim_matches(WRAP);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.contains(['/', '@', ':']) {
        return None;
    }
    let lowered: String =
        nfc(name).chars().flat_map(char::to_lowercase).collect();
    let uts46 = Uts46::new();
    let ascii = uts46
        .to_ascii(
            lowered.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Verify,
        )
        .ok()?
        .into_owned();
    if ascii.split('.').count() < 2 {
        return None;
    }
    let (unicode, check) = uts46.to_unicode(
        ascii.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
    );
    check.ok()?;
    Some(Domain {
        unicode: nfc(&unicode).into_owned(),
        ascii,
    })
}

/// A language code from a form value: `fr`, `en`, or the first word as
/// written (lower case) when it is not a name we know.
fn language_code(value: &str) -> Option<String> {
    let word = value.split_whitespace().next()?.to_lowercase();
    let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
    let code = match word {
        "français" | "francais" | "french" | "fra" | "fre" => "fr",
        "english" | "anglais" | "eng" => "en",
        w => w.split(['-', '_']).next().unwrap_or(w),
    };
    (!code.is_empty()).then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str) -> Option<(String, String)> {
        domain(name).map(|d| (d.unicode, d.ascii))
    }

    #[test]
    fn idn_names() {
        let want =
            Some(("café.example.fr".into(), "xn--caf-dma.example.fr".into()));
        assert_eq!(d("café.example.fr"), want);
        assert_eq!(d("CAFÉ.Example.FR."), want);
        assert_eq!(d("xn--caf-dma.example.fr"), want);
        assert_eq!(d("XN--CAF-DMA.example.fr"), want);
        // "e" plus a combining acute accent is NFC "é".
        assert_eq!(d("cafe\u{301}.example.fr"), want);
        assert_eq!(
            d("<exemple.fr>"),
            Some(("exemple.fr".into(), "exemple.fr".into()))
        );
    }

    #[test]
    fn invalid_names() {
        for bad in [
            "",
            "fr",
            "-abc.fr",
            "abc-.fr",
            "ab--cd.fr",
            "a_b.fr",
            "a..fr",
            "http://x.fr",
            "x@y.fr",
            "xn--zzzz.fr",
            &"a".repeat(64),
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
        assert_eq!(d(&format!("{}.fr", "a".repeat(64))), None);
    }

    #[test]
    fn form_lines() {
        assert_eq!(
            form_line("Domaine : café.fr"),
            Some(("Domaine", "café.fr"))
        );
        assert_eq!(
            form_line("  nom de domaine:x.fr  "),
            Some(("nom de domaine", "x.fr"))
        );
        assert_eq!(form_line("> domain: x.fr"), None);
        assert_eq!(form_line("http://x.fr"), None);
        assert_eq!(form_line("Bonjour"), None);
        assert_eq!(form_line("2026: année"), None);
    }

    #[test]
    fn keys_and_values() {
        let keys = Keys::new(
            &["domain".into(), "nom de domaine".into()],
            &["langue".into()],
        );
        let mut f = Form::default();
        f.read_text(
            "Nom-de-Domaine: a.fr, b.fr c.fr;\nDOMAIN: a.fr\n\
             Langue: Français\ndomain: !!\n",
            &keys,
        );
        let names: Vec<_> =
            f.domains.iter().map(|d| d.ascii.as_str()).collect();
        assert_eq!(names, ["a.fr", "b.fr", "c.fr"]);
        assert_eq!(f.language.as_deref(), Some("fr"));
        assert_eq!(f.invalid, ["!!"]);
        assert_eq!(
            f.fields[0],
            ("nom-de-domaine".into(), "a.fr, b.fr c.fr;".into())
        );
    }
}
