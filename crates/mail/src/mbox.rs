//! Splitting an mbox into its messages.
//!
//! Postfix local(8) appends each message as a `From ` line, the message
//! with body lines starting with `From ` quoted as `>From ` (mboxo), and
//! one blank line. Other writers differ (mboxrd quoting, Thunderbird's
//! `From - ` lines, no quoting at all), so a `From ` line is a separator
//! only when it stands at the start of the file or after a blank line
//! AND looks like a From_ line: a sender token followed by something
//! dated (a time and a four-digit year), or a sender token with nothing
//! or something numeric after it followed by a header line. A body line
//! such as `From time to time` therefore never cuts a message in two,
//! and neither does `From our office:` followed by a form line such as
//! `domain: example.fr`.
//!
//! Some writers leave out the blank line before a From_ line. A `From `
//! line elsewhere still separates when it is a complete asctime From_
//! line (`From sender Mon Nov 29 14:00:03 2010`) followed by a header
//! line; the entry then says so in its defects. Postfix quotes every body
//! line that starts with `From `, so in its mailboxes an unquoted one is
//! always a separator; this rule only matters for other writers, where
//! merging two requests into one would lose the second.
//!
//! Every byte of the file ends up in exactly one entry, except the blank
//! line Postfix adds after each message, the From_ lines (kept apart in
//! `from_line`), the one `>` each quoted line loses, and blank lines
//! before the first From_ line.

use std::fmt;
use std::str::FromStr;

/// How `From ` lines inside messages were quoted by the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `From ` became `>From `; `>From ` was left alone (Postfix).
    Mboxo,
    /// Every `>*From ` gained one `>` (mutt, Dovecot, getmail).
    Mboxrd,
}

impl FromStr for Flavour {
    type Err = UnknownFlavour;

    fn from_str(s: &str) -> Result<Flavour, UnknownFlavour> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mboxo" => Ok(Flavour::Mboxo),
            "mboxrd" => Ok(Flavour::Mboxrd),
            _ => Err(UnknownFlavour(s.to_string())),
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Mboxo => "mboxo",
            Flavour::Mboxrd => "mboxrd",
        })
    }
}

/// A flavour name that is neither `mboxo` nor `mboxrd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFlavour(pub String);

impl fmt::Display for UnknownFlavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mbox flavour '{}' (expected mboxo or mboxrd)",
            self.0
        )
    }
}

impl std::error::Error for UnknownFlavour {}

/// One message cut out of an mbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MboxEntry {
    /// Byte offset of the From_ line, or of the message when it has none
    /// (bytes before the first From_ line).
    pub offset: u64,
    /// The From_ line without its line ending.
    pub from_line: Option<Vec<u8>>,
    /// The sender named on the From_ line: `MAILER-DAEMON` as written,
    /// `""` for `<>`, `None` for Thunderbird's `-` or no From_ line.
    pub envelope_sender: Option<String>,
    /// The message: From_ line removed, quoting undone per flavour, the
    /// blank line the writer appends removed; line endings as in the file.
    pub raw: Vec<u8>,
    /// The last message of the file was cut off: it has no blank line
    /// between header and body, or the file does not end with a newline.
    pub incomplete: bool,
    /// Oddities of the mailbox around this message, to add to the
    /// message's own (see [`crate::parse_entry`]).
    pub defects: Vec<String>,
}

/// Split `data` into messages. A separator is a `From ` line at the
/// start or after a blank line that looks like a From_ line (a sender
/// and a date, or a sender and a header line after it), or a complete
/// asctime From_ line followed by a header line anywhere. Linear in the
/// size of `data`; never panics; an empty file gives no entry.
pub fn split_mbox(data: &[u8], flavour: Flavour) -> Vec<MboxEntry> {
    let seps = find_separators(data);
    let mut entries = Vec::with_capacity(seps.len() + 1);

    // Bytes before the first From_ line are kept as a message of their
    // own (a Maildir file passed as an mbox, garbage, a cut-off start),
    // unless they are only blank lines.
    let first = seps.first();
    let lead = &data[..first.map_or(data.len(), |s| s.start)];
    if !lead.iter().all(|b| b.is_ascii_whitespace()) {
        let mut e = entry(data, 0, None, lead, first.is_none(), flavour);
        if first.is_some_and(|s| s.unspaced) {
            e.defects.push(UNSPACED.to_string());
        }
        entries.push(e);
    }

    for (i, sep) in seps.iter().enumerate() {
        let next = seps.get(i + 1);
        let end = next.map_or(data.len(), |n| n.start);
        let region = &data[sep.body..end];
        let line = trim_cr(&data[sep.start..sep.line_end]);
        let last = next.is_none();
        let mut e = entry(data, sep.start, Some(line), region, last, flavour);
        if next.is_some_and(|n| n.unspaced) {
            e.defects.push(UNSPACED.to_string());
        }
        entries.push(e);
    }
    entries
}

const UNSPACED: &str = "next From_ line not preceded by a blank line";

/// A From_ line: where it starts, where its text ends (before the line
/// ending) and where the message after it starts.
struct Separator {
    start: usize,
    line_end: usize,
    body: usize,
    /// Not preceded by a blank line.
    unspaced: bool,
}

fn find_separators(data: &[u8]) -> Vec<Separator> {
    let mut seps = Vec::new();
    let mut prev_blank = true;
    let mut pos = 0;
    while pos < data.len() {
        let (line_end, next) = line_at(data, pos);
        let line = trim_cr(&data[pos..line_end]);
        if line.starts_with(b"From ") {
            let (next_end, _) = line_at(data, next);
            let next_line = trim_cr(&data[next.min(data.len())..next_end]);
            let unspaced = !prev_blank;
            let found = if prev_blank {
                is_separator(line, next_line)
            } else {
                is_asctime_from(line) && is_header_line(next_line)
            };
            if found {
                seps.push(Separator {
                    start: pos,
                    line_end,
                    body: next,
                    unspaced,
                });
            }
        }
        prev_blank = line.is_empty();
        pos = next;
    }
    seps
}

/// The end of the line starting at `pos` (index of its `\n`, or the end
/// of data) and the start of the next line.
fn line_at(data: &[u8], pos: usize) -> (usize, usize) {
    if pos >= data.len() {
        return (data.len(), data.len());
    }
    match memchr::memchr(b'\n', &data[pos..]) {
        Some(i) => (pos + i, pos + i + 1),
        None => (data.len(), data.len()),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Decide whether a `From ` line after a blank line starts a message.
fn is_separator(line: &[u8], next_line: &[u8]) -> bool {
    let rest = &line[5..];
    let (token, after) = sender_token(rest);
    if token.is_empty() {
        return false;
    }
    if looks_dated(after) {
        return true;
    }
    let after_ok = after.iter().all(|b| b.is_ascii_whitespace())
        || after.iter().any(u8::is_ascii_digit);
    after_ok && is_header_line(trim_cr(next_line))
}

/// `From sender Www Mmm dd hh:mm[:ss] [zone] yyyy`, English names, as
/// written by every mbox writer that follows the traditional format.
fn is_asctime_from(line: &[u8]) -> bool {
    const DAYS: [&[u8]; 7] =
        [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug",
        b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    let (token, after) = sender_token(&line[5..]);
    let words: Vec<&[u8]> = after
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let digits = |w: &[u8], n: std::ops::RangeInclusive<usize>| {
        n.contains(&w.len()) && w.iter().all(u8::is_ascii_digit)
    };
    let year_at = |i: usize| words.get(i).is_some_and(|w| digits(w, 4..=4));
    !token.is_empty()
        && words.len() >= 5
        && DAYS.contains(&words[0])
        && MONTHS.contains(&words[1])
        && digits(words[2], 1..=2)
        && has_time(words[3])
        && (year_at(4) || year_at(5))
}

/// Split the sender off a From_ line's text after `From `: a quoted
/// local part may hold spaces (Postfix quotes such addresses).
fn sender_token(rest: &[u8]) -> (&[u8], &[u8]) {
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let rest = &rest[start..];
    let mut i = 0;
    if rest.first() == Some(&b'"') {
        i = 1;
        while i < rest.len() && rest[i] != b'"' {
            i += if rest[i] == b'\\' { 2 } else { 1 };
        }
        i = (i + 1).min(rest.len());
    }
    while i < rest.len() && !rest[i].is_ascii_whitespace() {
        i += 1;
    }
    (&rest[..i], &rest[i..])
}

/// A time (`h:mm` or `hh:mm`) and a four-digit year somewhere: true for
/// asctime, RFC 5322 and localised dates alike.
fn looks_dated(s: &[u8]) -> bool {
    let has_year = s.split(|b| !b.is_ascii_digit()).any(|run| {
        run.len() == 4 && (run.starts_with(b"19") || run.starts_with(b"20"))
    });
    has_time(s) && has_year
}

fn has_time(s: &[u8]) -> bool {
    s.windows(4).any(|w| {
        w[0].is_ascii_digit()
            && w[1] == b':'
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
    })
}

/// `Name:` or `Name :` with a printable ASCII field name.
pub(crate) fn is_header_line(line: &[u8]) -> bool {
    let name_len = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(line.len());
    if name_len == 0 {
        return false;
    }
    let rest = &line[name_len..];
    let colon = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len());
    rest.get(colon) == Some(&b':')
}

fn entry(
    data: &[u8],
    offset: usize,
    from_line: Option<&[u8]>,
    region: &[u8],
    last: bool,
    flavour: Flavour,
) -> MboxEntry {
    let cut = last && !data.ends_with(b"\n");
    let region = strip_final_blank(region);
    let raw = unquote(region, flavour);
    let incomplete = last && (cut || !has_header_end(&raw));
    MboxEntry {
        offset: offset as u64,
        envelope_sender: from_line.and_then(envelope_sender),
        from_line: from_line.map(<[u8]>::to_vec),
        raw,
        incomplete,
        defects: Vec::new(),
    }
}

/// Remove the blank line the writer puts after each message (`\n` or
/// `\r\n`), when the region ends with one.
fn strip_final_blank(region: &[u8]) -> &[u8] {
    let Some(before) = region.strip_suffix(b"\n") else {
        return region;
    };
    let before = before.strip_suffix(b"\r").unwrap_or(before);
    if before.is_empty() || before.ends_with(b"\n") {
        before
    } else {
        region
    }
}

/// A blank line somewhere, i.e. the header block was closed.
fn has_header_end(raw: &[u8]) -> bool {
    raw.starts_with(b"\n")
        || raw.starts_with(b"\r\n")
        || memchr::memmem::find(raw, b"\n\n").is_some()
        || memchr::memmem::find(raw, b"\n\r\n").is_some()
}

/// Undo the writer's quoting of `From ` lines, copying the region.
fn unquote(region: &[u8], flavour: Flavour) -> Vec<u8> {
    let mut out = Vec::with_capacity(region.len());
    let mut pos = 0;
    while pos < region.len() {
        let (_, next) = line_at(region, pos);
        let line = &region[pos..next];
        if is_quoted_from(line, flavour) {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
        pos = next;
    }
    out
}

fn is_quoted_from(line: &[u8], flavour: Flavour) -> bool {
    match flavour {
        Flavour::Mboxo => line.starts_with(b">From "),
        Flavour::Mboxrd => {
            let n = line.iter().take_while(|&&b| b == b'>').count();
            n > 0 && line[n..].starts_with(b"From ")
        }
    }
}

/// The sender on a From_ line: `""` for `<>`, `None` for `-` or none.
fn envelope_sender(line: &[u8]) -> Option<String> {
    let rest = line.get(5..)?;
    let (token, _) = sender_token(rest);
    let token = String::from_utf8_lossy(token);
    let token = token.trim();
    match token {
        "" | "-" => None,
        "<>" => Some(String::new()),
        t => {
            let t = t.strip_prefix('<').unwrap_or(t);
            Some(t.strip_suffix('>').unwrap_or(t).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_shapes() {
        let yes: &[&[u8]] = &[
            b"From sender@example.com Fri Dec  4 17:32:48 2026",
            b"From MAILER-DAEMON  Wed Sep 17 22:25:40 2008",
            b"From - Mon Jan  1 00:00:00 2024",
            b"From x@example.fr  Fr 4 Dez 2026 17:32:48",
            b"From \"a b\"@example.fr Fri Dec  4 17:32:48 2026",
        ];
        for line in yes {
            assert!(is_separator(line, b"body"), "{:?}", line);
        }
        let no: &[&[u8]] = &[
            b"From time to time",
            b"From our office in Paris we ask:",
            b"From ",
        ];
        for line in no {
            assert!(!is_separator(line, b"domain: x.fr"), "{:?}", line);
        }
        assert!(is_separator(b"From foo@example.com", b"Subject: x"));
    }

    #[test]
    fn senders() {
        let s = |l: &[u8]| envelope_sender(l);
        assert_eq!(s(b"From <> Fri Dec  4 17:32:48 2026"), Some("".into()));
        assert_eq!(s(b"From - Fri Dec  4 17:32:48 2026"), None);
        assert_eq!(
            s(b"From MAILER-DAEMON Fri Dec  4 17:32:48 2026"),
            Some("MAILER-DAEMON".into())
        );
        assert_eq!(
            s(b"From \"a b\"@x.fr Fri Dec  4 17:32:48 2026"),
            Some("\"a b\"@x.fr".into())
        );
    }

    #[test]
    fn header_lines() {
        assert!(is_header_line(b"Subject: x"));
        assert!(is_header_line(b"Subject : x"));
        assert!(is_header_line(b"X:"));
        assert!(!is_header_line(b"nom de domaine: x"));
        assert!(!is_header_line(b": x"));
        assert!(!is_header_line(b" Subject: x"));
    }
}
