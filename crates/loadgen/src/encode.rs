//! What a registrar's mail program does to text before it is sent:
//! charsets, quoted-printable, base64, RFC 2047 encoded words, header
//! folding, and the date formats of mail headers and mbox From_ lines.
//!
//! Everything here works on `\n` line endings; a message meant to have
//! CRLF endings is converted once, when it is complete.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The charsets the generated mail is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Ascii,
    Latin1,
    Windows1252,
    Utf8,
}

impl Charset {
    /// The name given in `charset=` and in encoded words.
    pub fn mime_name(self) -> &'static str {
        match self {
            Charset::Ascii => "us-ascii",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Windows1252 => "windows-1252",
            Charset::Utf8 => "UTF-8",
        }
    }

    /// The short tag used in the truth file's feature list.
    pub fn tag(self) -> &'static str {
        match self {
            Charset::Ascii => "ascii",
            Charset::Latin1 => "latin1",
            Charset::Windows1252 => "cp1252",
            Charset::Utf8 => "utf-8",
        }
    }

    /// True when every character of `text` has a code in this charset.
    pub fn can_encode(self, text: &str) -> bool {
        match self {
            Charset::Ascii => text.is_ascii(),
            Charset::Latin1 => text.chars().all(|c| (c as u32) < 0x100),
            Charset::Windows1252 => {
                // encoding_rs follows WHATWG: it writes a numeric character
                // reference for what it cannot map and says so.
                !encoding_rs::WINDOWS_1252.encode(text).2
            }
            Charset::Utf8 => true,
        }
    }

    /// `text` in this charset; callers check `can_encode` first.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Ascii | Charset::Utf8 => text.as_bytes().to_vec(),
            // Real ISO-8859-1: one byte per character below U+0100.
            // (encoding_rs treats the label as windows-1252, which would
            // put C1 controls where windows-1252 has letters.)
            Charset::Latin1 => {
                text.chars().map(|c| (c as u32).min(0xff) as u8).collect()
            }
            Charset::Windows1252 => {
                encoding_rs::WINDOWS_1252.encode(text).0.into_owned()
            }
        }
    }
}

/// Quoted-printable (RFC 2045 section 6.7) of text with `\n` line ends:
/// hard line breaks kept, encoded lines at most 76 characters long.
pub fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 5 / 4);
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        qp_line(line, &mut out);
        if lines.peek().is_some() {
            out.push('\n');
        }
    }
    out
}

fn qp_line(line: &[u8], out: &mut String) {
    let mut len = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal = (b'!'..=b'~').contains(&b) && b != b'='
            || (b == b' ' || b == b'\t') && !last;
        let width = if literal { 1 } else { 3 };
        // A soft break ("=" at the end) counts towards the 76.
        if len + width > 75 {
            out.push_str("=\n");
            len = 0;
        }
        if literal {
            out.push(b as char);
        } else {
            push_hex(out, b);
        }
        len += width;
    }
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('=');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// Base64 in lines of 76 characters, each ended by `\n`.
pub fn base64_lines(bytes: &[u8]) -> String {
    let flat = STANDARD.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 + 1);
    for chunk in flat.as_bytes().chunks(76) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// How a header's encoded words are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordEncoding {
    Q,
    B,
}

/// RFC 2047 encoded words for `text`, each at most 75 characters, cut
/// between characters. Joined with folding whitespace they decode back
/// to `text`.
pub fn encoded_words(
    text: &str,
    charset: Charset,
    how: WordEncoding,
) -> Vec<String> {
    let prefix_len = charset.mime_name().len() + 7; // =?cs?Q? and ?=
    let budget = 75 - prefix_len;
    let mut words = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let bytes = charset.encode(c.encode_utf8(&mut buf));
        let before = chunk.len();
        chunk.extend_from_slice(&bytes);
        if before > 0 && encoded_len(&chunk, how) > budget {
            words.push(word(&chunk[..before], charset, how));
            chunk.drain(..before);
        }
    }
    if !chunk.is_empty() {
        words.push(word(&chunk, charset, how));
    }
    words
}

/// Base64 encoded words of `text` in UTF-8, cut every `width` bytes
/// whether or not a character ends there, as some mailers do (RFC 2047
/// forbids it; decoders that join adjacent words before decoding read
/// it whole). The flag says whether a character was cut in two.
pub fn byte_chunk_words(text: &str, width: usize) -> (Vec<String>, bool) {
    let bytes = text.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(width.max(1)).collect();
    let cut_inside = chunks
        .iter()
        .skip(1)
        .any(|c| c.first().is_some_and(|&b| (b & 0xc0) == 0x80));
    let words = chunks
        .iter()
        .map(|c| word(c, Charset::Utf8, WordEncoding::B))
        .collect();
    (words, cut_inside)
}

fn encoded_len(bytes: &[u8], how: WordEncoding) -> usize {
    match how {
        WordEncoding::B => bytes.len().div_ceil(3) * 4,
        WordEncoding::Q => bytes
            .iter()
            .map(|&b| if q_literal(b) || b == b' ' { 1 } else { 3 })
            .sum(),
    }
}

/// Characters left alone in a Q word: safe in every header position
/// (RFC 2047 section 5, rule 3).
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
}

fn word(bytes: &[u8], charset: Charset, how: WordEncoding) -> String {
    let mut out = format!("=?{}?", charset.mime_name());
    match how {
        WordEncoding::B => {
            out.push_str("B?");
            out.push_str(&STANDARD.encode(bytes));
        }
        WordEncoding::Q => {
            out.push_str("Q?");
            for &b in bytes {
                match b {
                    b' ' => out.push('_'),
                    b if q_literal(b) => out.push(b as char),
                    b => push_hex(&mut out, b),
                }
            }
        }
    }
    out.push_str("?=");
    out
}

/// `Name: value` folded at spaces so lines stay within 78 characters;
/// unfolding (removing the line breaks) gives back the value.
pub fn fold_header(name: &str, value: &str) -> String {
    let mut out = format!("{name}:");
    let mut len = out.len();
    for (i, w) in value.split(' ').enumerate() {
        if i > 0 && len + 1 + w.len() > 78 {
            out.push('\n');
            len = 0;
        }
        out.push(' ');
        out.push_str(w);
        len += 1 + w.len();
    }
    out.push('\n');
    out
}

/// Header text made of encoded words: one word a line, folded.
pub fn header_of_words(name: &str, words: &[String]) -> String {
    format!("{name}: {}\n", words.join("\n "))
}

// ------------------------------------------------------------------ dates

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
    "Nov", "Dec",
];

/// A broken-down civil time.
struct Civil {
    year: i64,
    month: usize,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: &'static str,
}

/// Seconds since the epoch, shifted by `offset_min`, broken down
/// (proleptic Gregorian calendar; days-from-civil inverted).
fn civil(secs: i64, offset_min: i32) -> Civil {
    let t = secs + i64::from(offset_min) * 60;
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
        weekday: DAYS[days.rem_euclid(7) as usize],
    }
}

fn zone(offset_min: i32) -> String {
    let sign = if offset_min < 0 { '-' } else { '+' };
    let m = offset_min.unsigned_abs();
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

/// An RFC 5322 date as mail programs write it:
/// `Tue, 11 May 2004 10:59:58 +0200`.
pub fn rfc5322_date(secs: i64, offset_min: i32) -> String {
    let c = civil(secs, offset_min);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {}",
        c.weekday,
        c.day,
        MONTHS[c.month - 1],
        c.year,
        c.hour,
        c.minute,
        c.second,
        zone(offset_min)
    )
}

/// The date Postfix puts in its Received headers (global/mail_date.c:
/// day of month padded with a space, the zone's name in a comment):
/// `Tue, 11 May 2004 11:00:03 +0200 (CEST)`.
pub fn postfix_date(secs: i64, offset_min: i32, zone_name: &str) -> String {
    let c = civil(secs, offset_min);
    format!(
        "{}, {:>2} {} {} {:02}:{:02}:{:02} {} ({zone_name})",
        c.weekday,
        c.day,
        MONTHS[c.month - 1],
        c.year,
        c.hour,
        c.minute,
        c.second,
        zone(offset_min)
    )
}

/// asctime(3) without its newline, as Postfix local(8) writes it on a
/// From_ line (local time, no zone): `Tue May 11 11:00:03 2004`.
pub fn asctime(secs: i64, offset_min: i32) -> String {
    let c = civil(secs, offset_min);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        c.weekday,
        MONTHS[c.month - 1],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qp_keeps_lines_short_and_encodes_the_rest() {
        let text = "caf\u{e9} = ok \nfin ".to_string() + &"x".repeat(100);
        let qp = quoted_printable(&Charset::Latin1.encode(&text));
        assert!(qp.starts_with("caf=E9 =3D ok=20\nfin "), "{qp}");
        assert!(qp.lines().all(|l| l.len() <= 76));
    }

    #[test]
    fn q_words_fit_and_cover_the_text() {
        let text = "Demande d'enregistrement du nom caf\u{e9}-de-la-\
                    gare.fr et de cr\u{ea}perie-bretonne.fr";
        let words = encoded_words(text, Charset::Latin1, WordEncoding::Q);
        assert!(words.len() > 1);
        assert!(words.iter().all(|w| w.len() <= 75));
        assert!(words[0].starts_with("=?ISO-8859-1?Q?Demande_d=27"));
    }

    #[test]
    fn byte_chunks_cut_inside_a_character() {
        let (words, cut) = byte_chunk_words("caf\u{e9}", 4);
        assert_eq!(words, ["=?UTF-8?B?Y2Fmww==?=", "=?UTF-8?B?qQ==?="]);
        assert!(cut);
        assert!(!byte_chunk_words("caf\u{e9}", 3).1);
    }

    #[test]
    fn dates() {
        // 2004-05-11T09:00:03Z
        let t = 1_084_266_003;
        assert_eq!(rfc5322_date(t, 120), "Tue, 11 May 2004 11:00:03 +0200");
        assert_eq!(
            postfix_date(t - 7 * 86_400, 120, "CEST"),
            "Tue,  4 May 2004 11:00:03 +0200 (CEST)"
        );
        assert_eq!(asctime(t, 120), "Tue May 11 11:00:03 2004");
        assert_eq!(rfc5322_date(t, -270), "Tue, 11 May 2004 04:30:03 -0430");
    }

    #[test]
    fn windows_1252_is_not_latin1() {
        assert!(Charset::Windows1252.can_encode("c\u{153}ur"));
        assert!(!Charset::Latin1.can_encode("c\u{153}ur"));
        assert_eq!(Charset::Windows1252.encode("c\u{153}ur"), b"c\x9cur");
    }
}
