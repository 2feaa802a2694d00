//! The one place Suzanne reads the time and the host name, so tests can
//! fix both: `SUZANNE_NOW` (RFC 3339) freezes the clock and
//! `SUZANNE_HOSTNAME` names the host.

use std::time::{Duration, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current time, UTC.
pub fn now() -> OffsetDateTime {
    if let Ok(fixed) = std::env::var("SUZANNE_NOW") {
        if let Ok(t) = OffsetDateTime::parse(&fixed, &Rfc3339) {
            return t.to_offset(time::UtcOffset::UTC);
        }
    }
    #[allow(clippy::disallowed_methods)]
    let since = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    from_us(since.as_micros() as i64)
}

/// The current time in microseconds since the epoch.
pub fn now_us() -> i64 {
    to_us(now())
}

/// Microseconds since the epoch of a time.
pub fn to_us(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// The time `us` microseconds after the epoch, UTC.
pub fn from_us(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC with microseconds: `2004-05-11T09:00:00.123456Z`.
pub fn rfc3339_us(us: i64) -> String {
    let t = from_us(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Parse an RFC 3339 time into microseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(to_us)
}

/// This host's name, as acknowledgements and logs give it.
pub fn hostname() -> String {
    if let Ok(name) = std::env::var("SUZANNE_HOSTNAME") {
        return name;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_microseconds() {
        let us = 1_084_266_000_123_456;
        let text = rfc3339_us(us);
        assert_eq!(text, "2004-05-11T09:00:00.123456Z");
        assert_eq!(parse_rfc3339(&text), Some(us));
    }
}
