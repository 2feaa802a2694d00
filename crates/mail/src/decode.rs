//! Turning encoded bytes into text without ever giving up.
//!
//! Header values: unfolded, RFC 2047 encoded words decoded. Adjacent
//! encoded words in the same charset are joined before the charset is
//! applied, so a UTF-8 character split across two words comes out whole.
//! Bodies: base64 and quoted-printable undone leniently (bad padding,
//! stray characters), then the charset applied. Whatever cannot be
//! decoded as declared falls back to UTF-8 when the bytes are valid
//! UTF-8, else to Latin-1 (headers) or windows-1252 (bodies), and the
//! defect is recorded.

use charset::Charset;
use std::borrow::Cow;

/// Decode a raw header value (as mailparse hands it: folding kept).
pub fn header_text(raw: &[u8], defects: &mut Vec<String>) -> String {
    let text = match std::str::from_utf8(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            note(defects, "raw 8-bit header bytes read as Latin-1");
            charset::decode_latin1(raw)
        }
    };
    let unfolded: String =
        text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    decode_words(&unfolded, defects).trim().to_string()
}

enum Piece<'a> {
    Text(&'a str),
    Word { charset: &'a str, bytes: Vec<u8> },
}

fn decode_words(text: &str, defects: &mut Vec<String>) -> String {
    let pieces = split_words(text, defects);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < pieces.len() {
        match &pieces[i] {
            Piece::Text(t) => {
                // Blanks between two encoded words are not text
                // (RFC 2047 section 6.2).
                let between = i > 0
                    && t.trim().is_empty()
                    && matches!(pieces.get(i - 1), Some(Piece::Word { .. }))
                    && matches!(pieces.get(i + 1), Some(Piece::Word { .. }));
                if !between {
                    out.push_str(t);
                }
                i += 1;
            }
            Piece::Word { charset, .. } => {
                let (bytes, next) = join_run(&pieces, i, charset);
                out.push_str(&text_in(&bytes, Some(charset), defects));
                i = next;
            }
        }
    }
    out
}

/// Bytes of the encoded words from `start` on that share its charset,
/// with only blanks between them; and the index after the run.
fn join_run(pieces: &[Piece], start: usize, cs: &str) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut i = start;
    let mut end = start;
    while i < pieces.len() {
        match &pieces[i] {
            Piece::Word { charset, bytes: b }
                if charset.eq_ignore_ascii_case(cs) =>
            {
                bytes.extend_from_slice(b);
                end = i + 1;
                i += 1;
            }
            Piece::Text(t) if t.trim().is_empty() => i += 1,
            _ => break,
        }
    }
    (bytes, end)
}

fn split_words<'a>(
    text: &'a str,
    defects: &mut Vec<String>,
) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut plain_start = 0;
    let mut offset = 0;
    while let Some(i) = rest.find("=?") {
        let at = offset + i;
        match encoded_word(&text[at..]) {
            Some((charset, enc, data, len)) => {
                if at > plain_start {
                    pieces.push(Piece::Text(&text[plain_start..at]));
                }
                let bytes = if enc.eq_ignore_ascii_case("b") {
                    let (b, clean) = base64(data.as_bytes());
                    if !clean {
                        note(defects, "bad base64 in encoded word");
                    }
                    b
                } else {
                    q_word(data)
                };
                pieces.push(Piece::Word { charset, bytes });
                offset = at + len;
                plain_start = offset;
            }
            None => offset = at + 2,
        }
        rest = &text[offset..];
    }
    if plain_start < text.len() {
        pieces.push(Piece::Text(&text[plain_start..]));
    }
    pieces
}

/// `=?charset?B|Q?data?=` at the start of `s`: charset (RFC 2231
/// language suffix removed), encoding, data, and the word's length.
fn encoded_word(s: &str) -> Option<(&str, &str, &str, usize)> {
    // RFC 2047 words are at most 75 characters; looking much further
    // for the end would make a header full of "=?" quadratic.
    let mut window = s.len().min(1000);
    while !s.is_char_boundary(window) {
        window -= 1;
    }
    let body = s[..window].strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let charset = &body[..q1];
    let after = &body[q1 + 1..];
    let q2 = after.find('?')?;
    let enc = &after[..q2];
    if !(enc.eq_ignore_ascii_case("b") || enc.eq_ignore_ascii_case("q")) {
        return None;
    }
    let data_start = &after[q2 + 1..];
    let end = data_start.find("?=")?;
    let data = &data_start[..end];
    let bad = |t: &str| t.is_empty() || t.contains(char::is_whitespace);
    if bad(charset) || data.contains(char::is_whitespace) {
        return None;
    }
    let charset = charset.split('*').next().unwrap_or(charset);
    let len = 2 + q1 + 1 + q2 + 1 + end + 2;
    Some((charset, enc, data, len))
}

fn q_word(data: &str) -> Vec<u8> {
    let b = data.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => match hex_pair(&b[i + 1..]) {
                Some(x) => {
                    out.push(x);
                    i += 2;
                }
                None => out.push(b'='),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_pair(b: &[u8]) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    match b {
        [a, c, ..] => Some((h(*a)? * 16 + h(*c)?) as u8),
        _ => None,
    }
}

/// Apply a charset (a MIME label, or none) to bytes.
pub fn text_in(
    bytes: &[u8],
    label: Option<&str>,
    defects: &mut Vec<String>,
) -> String {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    let plain = label.is_none_or(|l| {
        l.eq_ignore_ascii_case("us-ascii") || l.eq_ignore_ascii_case("ascii")
    });
    if plain {
        if bytes.is_ascii() {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        note(defects, "8-bit text without charset");
        return utf8_or_1252(bytes);
    }
    let label = label.unwrap_or_default();
    let Some(cs) = Charset::for_label_no_replacement(label.as_bytes()) else {
        note(defects, &format!("unknown charset '{}'", clip(label, 40)));
        return match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => charset::decode_latin1(bytes).into_owned(),
        };
    };
    if cs.is_ascii_compatible() && bytes.is_ascii() {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if cs.name() == "UTF-8" {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_string();
        }
        note(defects, "invalid UTF-8 read as windows-1252");
        return utf8_or_1252(bytes);
    }
    let (text, had_errors) = cs.decode_without_bom_handling(bytes);
    if had_errors {
        note(
            defects,
            &format!("bytes invalid in charset '{}'", cs.name()),
        );
    }
    text.into_owned()
}

/// UTF-8 when the bytes are valid UTF-8, else windows-1252 (which maps
/// every byte, and is what mail labelled Latin-1 usually is).
fn utf8_or_1252(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Undo a Content-Transfer-Encoding. Unknown encodings pass through.
pub fn transfer(
    body: &[u8],
    encoding: Option<&str>,
    defects: &mut Vec<String>,
) -> Vec<u8> {
    let enc = encoding.map(|e| e.trim().to_ascii_lowercase());
    match enc.as_deref() {
        Some("base64") => {
            let (out, clean) = base64(body);
            if !clean {
                note(defects, "bad base64");
            }
            out
        }
        Some("quoted-printable") => {
            let (out, clean) = quoted_printable(body);
            if !clean {
                note(defects, "bad quoted-printable");
            }
            out
        }
        None | Some("7bit" | "8bit" | "binary" | "") => body.to_vec(),
        Some(other) => {
            let msg =
                format!("unknown transfer encoding '{}'", clip(other, 40));
            note(defects, &msg);
            body.to_vec()
        }
    }
}

/// Lenient base64: skips anything outside the alphabet, accepts missing
/// or extra padding and padded chunks glued together. The flag is false
/// when something had to be forgiven.
pub fn base64(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut clean = true;
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut in_group = 0u32;
    let mut padded = false;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                if in_group == 1 {
                    clean = false;
                }
                acc = 0;
                bits = 0;
                in_group = 0;
                padded = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => {
                clean = false;
                continue;
            }
        };
        if padded && in_group == 0 {
            // A second encoded chunk after padding: decoded, but odd.
            padded = false;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        in_group = (in_group + 1) % 4;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if in_group != 0 {
        clean = false;
    }
    (out, clean)
}

/// Lenient quoted-printable: a bad `=` is kept as written.
pub fn quoted_printable(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(input.len());
    let mut clean = true;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        if let Some(b) = hex_pair(&input[i + 1..]) {
            out.push(b);
            i += 3;
            continue;
        }
        // Soft line break: "=", optional blanks, then the line ending.
        let mut j = i + 1;
        while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
            j += 1;
        }
        if input[j..].starts_with(b"\r\n") {
            i = j + 2;
        } else if input[j..].starts_with(b"\n") {
            i = j + 1;
        } else if j == input.len() {
            i = j;
        } else {
            clean = false;
            out.push(c);
            i += 1;
        }
    }
    (out, clean)
}

/// Record a defect once.
pub fn note(defects: &mut Vec<String>, what: &str) {
    if !defects.iter().any(|d| d == what) {
        defects.push(what.to_string());
    }
}

/// At most `max` characters of untrusted text, for messages.
pub fn clip(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(raw: &str) -> (String, Vec<String>) {
        let mut d = Vec::new();
        (header_text(raw.as_bytes(), &mut d), d)
    }

    #[test]
    fn encoded_words() {
        assert_eq!(h("=?ISO-8859-1?Q?caf=E9?=").0, "café");
        assert_eq!(h("=?utf-8?B?Y2Fmw6k=?= au lait").0, "café au lait");
        assert_eq!(h("a =?utf-8?q?b?=  =?utf-8?q?c?= d").0, "a bc d");
        assert_eq!(h("Re:=?utf-8?q?x?=").0, "Re:x");
        assert_eq!(h("=?utf-8*fr?q?x_y?=").0, "x y");
        assert_eq!(h("50% =? off").0, "50% =? off");
    }

    #[test]
    fn split_utf8_character() {
        // "é" is C3 A9: the first word ends after C3.
        let (s, d) = h("=?UTF-8?B?Y2Fmww==?= =?UTF-8?B?qQ==?=");
        assert_eq!(s, "café");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn folded_and_unknown() {
        assert_eq!(h("a\r\n b\n\tc").0, "a b\tc");
        let (s, d) = h("=?x-bogus?Q?caf=E9?=");
        assert_eq!(s, "café");
        assert_eq!(d, ["unknown charset 'x-bogus'"]);
    }

    #[test]
    fn base64_leniency() {
        assert_eq!(base64(b"Y2Fmw6k="), ("café".as_bytes().to_vec(), true));
        assert_eq!(base64(b"Y2Fmw6k").0, "café".as_bytes());
        assert!(!base64(b"Y2Fmw6k").1);
        assert_eq!(base64(b"YQ==YQ==").0, b"aa");
        assert_eq!(base64(b"Y2F*mw6k=").0, "café".as_bytes());
        assert_eq!(base64(b"").0, b"");
    }

    #[test]
    fn qp() {
        let (out, clean) = quoted_printable(b"caf=C3=A9 =\r\nau lait=\n");
        assert_eq!(out, "café au lait".as_bytes());
        assert!(clean);
        let (out, clean) = quoted_printable(b"50=% =");
        assert_eq!(out, b"50=% ");
        assert!(!clean);
    }

    #[test]
    fn charsets() {
        let mut d = Vec::new();
        assert_eq!(text_in(b"caf\xe9", Some("iso-8859-1"), &mut d), "café");
        assert_eq!(text_in(b"\x80", Some("windows-1252"), &mut d), "€");
        assert_eq!(text_in(b"caf\xe9", Some("utf-8"), &mut d), "café");
        assert_eq!(text_in("café".as_bytes(), None, &mut d), "café");
        assert_eq!(
            d,
            [
                "invalid UTF-8 read as windows-1252",
                "8-bit text without charset"
            ]
        );
    }
}
