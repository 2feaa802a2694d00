//! Times as the reports print them: RFC 3339 UTC, with microseconds for
//! arrival keys and whole seconds for periods; durations in seconds.

use spool::clock;

/// One second in microseconds.
pub const SECOND: i64 = 1_000_000;

/// Parse an RFC 3339 time into microseconds since the epoch. The spool
/// writes `YYYY-MM-DDTHH:MM:SS.ffffffZ`, read here without allocating;
/// anything else goes through the clock module's general parser.
pub fn parse(text: &str) -> Option<i64> {
    fast_parse(text.as_bytes()).or_else(|| clock::parse_rfc3339(text))
}

fn fast_parse(b: &[u8]) -> Option<i64> {
    if b.len() != 27 || b[26] != b'Z' || b[19] != b'.' {
        return None;
    }
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let micros = num(20, 26)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(secs * SECOND + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the classic
/// era-based conversion).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2004-05-11T09:00:00.123456Z`.
pub fn micros(us: i64) -> String {
    clock::rfc3339_us(us)
}

/// `2004-05-11T09:00:00Z`: the second `us` falls in.
pub fn seconds(us: i64) -> String {
    let text = clock::rfc3339_us(us.div_euclid(SECOND) * SECOND);
    format!("{}Z", &text[..19])
}

/// The start of the period of `len` microseconds that `us` falls in.
pub fn floor(us: i64, len: i64) -> i64 {
    us.div_euclid(len) * len
}

/// A duration in seconds with millisecond precision: `1.250`.
pub fn duration(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let ms = (us.unsigned_abs() + 500) / 1000;
    format!("{sign}{}.{:03}", ms / 1000, ms % 1000)
}

/// A duration in seconds with microsecond precision: `0.000125`.
pub fn duration_exact(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let abs = us.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// A duration in whole seconds, rounded down; negative ages read 0.
pub fn whole_seconds(us: i64) -> i64 {
    us.max(0) / SECOND
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_parse_agrees_with_the_clock() {
        for text in [
            "2004-05-11T09:00:00.123456Z",
            "1970-01-01T00:00:00.000000Z",
            "2000-02-29T23:59:59.999999Z",
            "2100-03-01T12:34:56.000001Z",
        ] {
            assert_eq!(
                fast_parse(text.as_bytes()),
                clock::parse_rfc3339(text),
                "{text}"
            );
        }
        assert_eq!(
            parse("2004-05-11T11:00:00+02:00"),
            parse("2004-05-11T09:00:00.000000Z")
        );
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn periods_and_durations_print_plainly() {
        let us = parse("2004-05-11T09:00:01.999999Z").unwrap();
        assert_eq!(seconds(us), "2004-05-11T09:00:01Z");
        assert_eq!(seconds(floor(us, 60 * SECOND)), "2004-05-11T09:00:00Z");
        assert_eq!(duration(1_250_000), "1.250");
        assert_eq!(duration(-1_500), "-0.002");
        assert_eq!(duration(0), "0.000");
        assert_eq!(duration_exact(125), "0.000125");
        assert_eq!(duration_exact(-1_000_001), "-1.000001");
        assert_eq!(whole_seconds(-5), 0);
    }
}
