//! Just enough header reading to check a spool and to replay a mailbox,
//! written apart from the parser it checks: header fields, the index
//! header, and the time in our server's Received header.

use crate::queue_id;

/// The header section of a raw message: up to the first empty line, or
/// all of it when there is none (a message cut off in its header).
pub fn header_section(raw: &[u8]) -> &[u8] {
    let mut pos = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return &raw[..pos];
        }
        pos += line.len();
    }
    raw
}

/// The header fields, in order, as (name, unfolded value); values read
/// as UTF-8 where they can be, bytes above 127 replaced otherwise.
pub fn fields(raw: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in header_section(raw).split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        if text.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push_str(&text);
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

/// The first value of the field `name` (any case).
pub fn field(raw: &[u8], name: &str) -> Option<String> {
    fields(raw)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The number in `X-Loadgen-Index`.
pub fn loadgen_index(raw: &[u8]) -> Option<u64> {
    field(raw, "X-Loadgen-Index")?.trim().parse().ok()
}

/// The arrival time in the topmost Received header written by one of
/// `trusted` hosts: its date, to the second, plus the microseconds of a
/// Postfix long queue ID made in that same second (or 999,999 when the
/// queue file was made in a later second, as the spool does).
pub fn trusted_received_us(raw: &[u8], trusted: &[String]) -> Option<i64> {
    fields(raw)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
        .find_map(|(_, v)| {
            let (head, date) = v.rsplit_once(';')?;
            let by = word_after(head, "by")?;
            let by = by.trim_end_matches('.');
            let ours = trusted
                .iter()
                .any(|t| t.trim_end_matches('.').eq_ignore_ascii_case(by));
            if !ours {
                return None;
            }
            let secs = parse_date(date)?;
            let usecs = match word_after(head, "id")
                .and_then(|id| queue_id::decode_long(id.trim_end_matches(';')))
            {
                Some((s, us)) if s == secs => i64::from(us),
                Some((s, _)) if s > secs => 999_999,
                _ => 0,
            };
            Some(secs * 1_000_000 + usecs)
        })
}

/// The word after `name` outside parenthesised comments.
fn word_after<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut depth = 0i32;
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        let in_word = depth == 0 && !c.is_whitespace() && c != '(' && c != ')';
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push(&text[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    let at = words.iter().position(|w| w.eq_ignore_ascii_case(name))?;
    words.get(at + 1).copied()
}

/// An RFC 5322 date (`[Tue,] 11 May 2004 11:00:03 +0200 [(CEST)]`) as
/// seconds since the epoch, UTC.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.split('(').next()?;
    let mut words = text.split_whitespace().peekable();
    if words.peek()?.ends_with(',') {
        words.next();
    }
    let day: i64 = words.next()?.parse().ok()?;
    let month = MONTHS.iter().position(|m| {
        words.peek().is_some_and(|w| w.eq_ignore_ascii_case(m))
    })?;
    words.next();
    let year: i64 = words.next()?.parse().ok()?;
    let mut hms = words.next()?.split(':').map(|p| p.parse::<i64>());
    let (h, mi) = (hms.next()?.ok()?, hms.next()?.ok()?);
    let s = hms.next().and_then(|r| r.ok()).unwrap_or(0);
    let zone = words.next().unwrap_or("+0000");
    let offset = match zone.as_bytes().first() {
        Some(b'+') | Some(b'-') if zone.len() == 5 => {
            let n: i64 = zone[1..].parse().ok()?;
            let m = n / 100 * 60 + n % 100;
            if zone.starts_with('-') {
                -m
            } else {
                m
            }
        }
        _ => 0,
    };
    let days = days_from_civil(year, month as i64 + 1, day);
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset * 60)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
    "Nov", "Dec",
];

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The address in a From-like value: inside `<>` if there are any, else
/// the value without comments.
pub fn address(value: &str) -> String {
    if let (Some(a), Some(b)) = (value.rfind('<'), value.rfind('>')) {
        if a < b {
            return value[a + 1..b].trim().to_string();
        }
    }
    let mut out = String::new();
    let mut depth = 0;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Return-Path: <a@b.example>\n\
        Received: from mail.b.example (unknown [192.0.2.1])\n\
        \tby MX.landrush.example. (Postfix) with ESMTP id 4jgzHY4HHyz1SRvg\n\
        \tfor <s@landrush.example>; Fri,  4 Dec 2026 18:38:33 +0100 (CET)\n\
        X-Loadgen-Index: 42\n\nbody\nX-Loadgen-Index: 7\n";

    #[test]
    fn reads_the_index_from_the_header_only() {
        assert_eq!(loadgen_index(MSG), Some(42));
        assert_eq!(loadgen_index(b"Subject: x\n\nX-Loadgen-Index: 7\n"), None);
    }

    #[test]
    fn trusted_time_with_microseconds() {
        let trusted = vec!["mx.landrush.example".to_string()];
        assert_eq!(
            trusted_received_us(MSG, &trusted),
            Some(1_796_405_913_603_822)
        );
        assert_eq!(trusted_received_us(MSG, &["other".into()]), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(address("\"Dupont, J\" <j@d.example>"), "j@d.example");
        assert_eq!(
            address("MAILER-DAEMON@m.example (Mail Delivery System)"),
            "MAILER-DAEMON@m.example"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("Tue, 11 May 2004 11:00:03 +0200 (CEST)"),
            Some(1_084_266_003)
        );
        assert_eq!(parse_date("11 May 2004 09:00:03"), Some(1_084_266_003));
    }
}
