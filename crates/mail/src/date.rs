//! Reading the date at the end of a `Received:` header.
//!
//! Only used for the time our own server stamped on a message; the
//! sender's `Date:` header is never read for order. The reader accepts
//! RFC 5322 dates with their obsolete forms (two-digit years, named
//! zones, comments) and asctime order, and refuses impossible fields
//! (hour 27, 31 February) rather than guessing.

/// Seconds since the Unix epoch, UTC, for an RFC 5322 date; the error
/// names what is wrong. A date without zone is taken as UTC and says so
/// in the second value.
pub fn parse_date(text: &str) -> Result<(i64, bool), &'static str> {
    let cleaned = strip_comments(text);
    let tokens: Vec<&str> = cleaned
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();

    let mut month = None;
    let mut numbers = Vec::new();
    let mut clock = None;
    let mut zone = None;
    for tok in &tokens {
        if let Some(m) = month_number(tok) {
            month.get_or_insert(m);
        } else if tok.contains(':') {
            clock.get_or_insert(*tok);
        } else if let Some(z) = zone_offset(tok) {
            zone.get_or_insert(z);
        } else if tok.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push(*tok);
        }
    }

    let month = month.ok_or("no month")?;
    let (day, year) = match numbers.as_slice() {
        [day, year, ..] => (*day, *year),
        _ => return Err("no day or year"),
    };
    let day: u32 = day.parse().map_err(|_| "bad day")?;
    let year = full_year(year)?;
    if day == 0 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    let (h, m, s) = parse_clock(clock.ok_or("no time")?)?;
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(h * 3600 + m * 60 + s);
    let no_zone = zone.is_none();
    Ok((local - zone.unwrap_or(0), no_zone))
}

/// Comments `( ... )`, nested, become a space.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn month_number(tok: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
        "nov", "dec",
    ];
    if tok.len() < 3 || !tok.is_char_boundary(3) {
        return None;
    }
    let head = tok[..3].to_ascii_lowercase();
    let i = MONTHS.iter().position(|m| *m == head)?;
    // "Mar" must not also match "Marketing": accept the name or its
    // abbreviation, with an optional dot.
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ][i];
    let lower = tok.trim_end_matches('.').to_ascii_lowercase();
    (lower.len() == 3 || full.starts_with(&lower)).then_some(i as u32 + 1)
}

/// `+hhmm` / `-hhmm` or a zone name, as seconds east of UTC.
fn zone_offset(tok: &str) -> Option<i64> {
    let b = tok.as_bytes();
    if b.len() == 5 && (b[0] == b'+' || b[0] == b'-') {
        if !b[1..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let h = i64::from(b[1] - b'0') * 10 + i64::from(b[2] - b'0');
        let m = i64::from(b[3] - b'0') * 10 + i64::from(b[4] - b'0');
        if h > 23 || m > 59 {
            return None;
        }
        let secs = h * 3600 + m * 60;
        return Some(if b[0] == b'-' { -secs } else { secs });
    }
    let hours = match tok.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => return None,
    };
    Some(hours * 3600)
}

fn full_year(tok: &str) -> Result<i64, &'static str> {
    let y: i64 = tok.parse().map_err(|_| "bad year")?;
    // RFC 5322 section 4.3: two digits below 50 are 20xx, others 19xx;
    // three digits are added to 1900.
    let y = match tok.len() {
        1 | 2 if y < 50 => 2000 + y,
        1 | 2 => 1900 + y,
        3 => 1900 + y,
        4 => y,
        _ => return Err("bad year"),
    };
    if y < 1970 {
        return Err("year before 1970");
    }
    Ok(y)
}

fn parse_clock(tok: &str) -> Result<(u32, u32, u32), &'static str> {
    let mut parts = tok.split(':');
    let mut field = |max: u32| -> Result<u32, &'static str> {
        match parts.next() {
            None => Ok(0),
            Some(p) if p.is_empty() || p.len() > 2 => Err("bad time"),
            Some(p) => match p.parse::<u32>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err("time out of range"),
            },
        }
    };
    let h = field(23)?;
    let m = field(59)?;
    let s = field(60)?;
    if parts.next().is_some() {
        return Err("bad time");
    }
    Ok((h, m, s))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfix_dates() {
        let d = "Fri,  4 Dec 2026 17:38:33 +0000 (UTC)";
        assert_eq!(parse_date(d), Ok((1_796_405_913, false)));
        let d = "Fri, 4 Dec 2026 18:38:33 +0100 (CET)";
        assert_eq!(parse_date(d), Ok((1_796_405_913, false)));
        let d = "Fri Dec  4 17:38:33 2026";
        assert_eq!(parse_date(d), Ok((1_796_405_913, true)));
        assert_eq!(parse_date("1 Jan 1970 00:00:00 GMT"), Ok((0, false)));
        assert_eq!(
            parse_date("29 Feb 2024 23:59:60 -0000"),
            Ok((1_709_251_200, false))
        );
    }

    #[test]
    fn refusals() {
        assert!(parse_date("Fri, 4 Dec 2026 27:38:33 +0000").is_err());
        assert!(parse_date("31 Feb 2026 10:00:00 +0000").is_err());
        assert!(parse_date("Fri, 4 Dec 2026").is_err());
        assert!(parse_date("").is_err());
        assert!(parse_date("4 Marketing 2026 10:00 +0000").is_err());
        assert!(parse_date("Mon, 4 Dec 2026 10:00:00:00 +0000").is_err());
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(
            parse_date("4 Dec 26 17:38:33 +0000"),
            parse_date("4 Dec 2026 17:38:33 +0000")
        );
    }
}
