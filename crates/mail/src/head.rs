//! Finding where the header block ends, before mailparse sees it.
//!
//! mailparse reads headers up to the first blank line and takes a line
//! without a colon for a header named after the whole line. Real mail
//! breaks that two ways, told apart by what follows the odd line:
//!
//! * a garbage line among headers (a broken fold, a script's stray
//!   output): every line after it up to a blank line is a header line,
//!   and one of them at least is a header mail software writes (`To`,
//!   `Subject`, `X-...`), not a form line (`domaine: ...`). It is left
//!   out of the copy handed to mailparse, and named in the defects;
//! * no blank line after the headers: the odd line is the first line of
//!   the body. A blank line is inserted before it in the copy.
//!
//! Files with bare CR line endings (old Mac) are read with LF endings.
//! The copy only serves parsing; the raw message is never changed.

use crate::decode::{clip, note};
use crate::mbox::is_header_line;
use std::borrow::Cow;

/// The bytes to hand to mailparse.
pub fn prepare<'a>(raw: &'a [u8], defects: &mut Vec<String>) -> Cow<'a, [u8]> {
    let text = if !raw.contains(&b'\n') && raw.contains(&b'\r') {
        note(defects, "bare CR line endings");
        let lf: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect();
        Cow::Owned(lf)
    } else {
        Cow::Borrowed(raw)
    };
    let scan = scan(&text);
    for &(start, end) in &scan.garbage {
        let line = String::from_utf8_lossy(trim_eol(&text[start..end]));
        note(
            defects,
            &format!("garbage header line '{}'", clip(&line, 40)),
        );
    }
    match scan.end {
        End::Blank if scan.garbage.is_empty() => text,
        End::Eof if scan.garbage.is_empty() => {
            if !text.is_empty() {
                note(defects, "no body");
            }
            text
        }
        end => Cow::Owned(repair(&text, &scan.garbage, end, defects)),
    }
}

enum End {
    /// A blank line closes the headers.
    Blank,
    /// The headers run to the end of the message.
    Eof,
    /// The body starts at this offset without a blank line.
    BodyAt(usize),
}

struct Scan {
    garbage: Vec<(usize, usize)>,
    end: End,
}

fn scan(text: &[u8]) -> Scan {
    let mut garbage = Vec::new();
    let mut pos = 0;
    let mut first = true;
    while pos < text.len() {
        let next = next_line(text, pos);
        let line = trim_eol(&text[pos..next]);
        if line.is_empty() {
            return Scan {
                garbage,
                end: End::Blank,
            };
        }
        let folded = line[0] == b' ' || line[0] == b'\t';
        if !(is_header_line(line) || folded && !first) {
            if headers_follow(text, next) {
                garbage.push((pos, next));
            } else {
                return Scan {
                    garbage,
                    end: End::BodyAt(pos),
                };
            }
        }
        first = false;
        pos = next;
    }
    Scan {
        garbage,
        end: End::Eof,
    }
}

/// From `pos`, only header lines (and folds) up to a blank line, and
/// one of them a header that mail software writes.
fn headers_follow(text: &[u8], mut pos: usize) -> bool {
    let mut seen = false;
    while pos < text.len() {
        let next = next_line(text, pos);
        let line = trim_eol(&text[pos..next]);
        if line.is_empty() {
            return seen;
        }
        if is_header_line(line) {
            seen |= is_mail_header(line);
        } else if !(line[0] == b' ' || line[0] == b'\t') {
            return false;
        }
        pos = next;
    }
    false
}

/// A header line whose name mail software writes, as opposed to a form
/// line that happens to look like a header.
fn is_mail_header(line: &[u8]) -> bool {
    const NAMES: &[&str] = &[
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "sender",
        "received",
        "return-path",
        "mime-version",
        "references",
        "in-reply-to",
        "delivered-to",
        "precedence",
        "auto-submitted",
        "user-agent",
        "organization",
        "importance",
        "thread-topic",
        "thread-index",
        "dkim-signature",
        "comments",
        "keywords",
        "authentication-results",
        "errors-to",
    ];
    const PREFIXES: &[&str] =
        &["x-", "content-", "list-", "resent-", "arc-", "accept-"];
    let end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    let name = String::from_utf8_lossy(&line[..end]).trim().to_lowercase();
    NAMES.contains(&name.as_str())
        || PREFIXES.iter().any(|p| name.starts_with(p))
}

fn repair(
    text: &[u8],
    garbage: &[(usize, usize)],
    end: End,
    defects: &mut Vec<String>,
) -> Vec<u8> {
    let head_end = match end {
        End::BodyAt(at) => at,
        End::Blank | End::Eof => text.len(),
    };
    let mut out = Vec::with_capacity(text.len() + 2);
    let mut pos = 0;
    for &(start, stop) in garbage {
        out.extend_from_slice(&text[pos..start]);
        pos = stop;
    }
    out.extend_from_slice(&text[pos..head_end]);
    if let End::BodyAt(at) = end {
        note(defects, "no blank line after headers");
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        let crlf = out.ends_with(b"\r\n");
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        out.extend_from_slice(&text[at..]);
    }
    out
}

fn next_line(text: &[u8], pos: usize) -> usize {
    memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i + 1)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(raw: &str) -> (String, Vec<String>) {
        let mut d = Vec::new();
        let out = prepare(raw.as_bytes(), &mut d);
        (String::from_utf8(out.into_owned()).unwrap(), d)
    }

    #[test]
    fn clean_message_is_borrowed() {
        let mut d = Vec::new();
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        assert!(matches!(prepare(raw, &mut d), Cow::Borrowed(_)));
        assert!(d.is_empty());
    }

    #[test]
    fn garbage_line_is_dropped() {
        let (out, d) = prep("From: a\nthis is junk\nSubject: x\n\nbody\n");
        assert_eq!(out, "From: a\nSubject: x\n\nbody\n");
        assert_eq!(d, ["garbage header line 'this is junk'"]);
        let (out, d) = prep("From: a\nBonjour\ndomaine: x.fr\n\nMerci\n");
        assert_eq!(out, "From: a\n\nBonjour\ndomaine: x.fr\n\nMerci\n");
        assert_eq!(d, ["no blank line after headers"]);
    }

    #[test]
    fn body_without_blank_line() {
        let (out, d) = prep("From: a\r\nBonjour,\r\n\r\ndomain: x.fr\r\n");
        assert_eq!(out, "From: a\r\n\r\nBonjour,\r\n\r\ndomain: x.fr\r\n");
        assert_eq!(d, ["no blank line after headers"]);
        let (out, _) = prep("From: a\nBonjour");
        assert_eq!(out, "From: a\n\nBonjour");
    }

    #[test]
    fn leading_fold_and_bare_cr() {
        let (out, d) = prep(" folded\nSubject: x\n\nb");
        assert_eq!(out, "Subject: x\n\nb");
        assert_eq!(d.len(), 1);
        let (out, d) = prep("Subject: x\r\rb\r");
        assert_eq!(out, "Subject: x\n\nb\n");
        assert_eq!(d, ["bare CR line endings"]);
    }

    #[test]
    fn odd_inputs() {
        assert_eq!(prep("").0, "");
        assert_eq!(prep("2").0, "\n2");
        assert_eq!(prep("Subject: x").1, ["no body"]);
    }
}
