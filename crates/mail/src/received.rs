//! The arrival time: the `Received:` header our own server added.
//!
//! The header chosen is the topmost one whose `by` host is trusted:
//! headers are prepended, so the topmost trusted one was written by our
//! server and a sender cannot forge one above it. Its date gives the
//! second. Postfix's smtpd(8) prints there the time of the MAIL FROM
//! command (`state->arrival_time` in smtpd/smtpd.c).
//!
//! Postfix long queue IDs (`enable_long_queue_ids = yes`) carry the time
//! the queue file was created, to the microsecond. Postfix
//! global/mail_queue.h (MQID_LG_* macros) and global/mail_queue.c
//! (mail_queue_enter) build the ID as: the seconds in base 52 (at least
//! six digits), the microseconds in base 52 (exactly four digits), the
//! letter `z`, then the inode number in base 51 (which never uses `z`).
//! The digits are global/safe_ultostr.c's alphabet: `0-9`, then the
//! upper- and lower-case consonants.
//!
//! The queue file is created at the first accepted RCPT, a little after
//! MAIL FROM, so the ID's second can be later than the header's. The key
//! stays "header second, then queue-file order within it": when the
//! seconds agree the ID's microseconds are used; when the queue file was
//! made in a later second the message is put at the end of the header's
//! second (999999 us) and the record says so; an ID that predates the
//! header does not belong to it and gives whole seconds.
//!
//! Short (hexadecimal) queue IDs start with the microseconds too, but
//! without their second there is no telling whether they belong to the
//! header's second or a later one, so they give whole seconds.
//!
//! XXX: with a content filter that re-injects into the same Postfix
//! (amavis, after-queue), the topmost trusted header is the re-injection,
//! which is later than the arrival and varies with filtering time. Only
//! name the first hop's `by` host in trusted_hosts, or add no filter.

use crate::date::parse_date;

/// The arrival time found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Unix microseconds, UTC.
    pub us: i64,
    /// The header used, unfolded.
    pub header: String,
    /// Oddities worth recording (a queue ID that disagrees, no zone).
    pub notes: Vec<String>,
}

/// Safe alphabet of Postfix global/safe_ultostr.c: digits then the
/// consonants, upper case first; a digit's value is its index.
const SAFE_CHARS: &[u8; 52] =
    b"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

/// Time fields of a Postfix long queue ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongQueueId {
    /// Unix seconds when the queue file was created.
    pub secs: i64,
    /// Microseconds within that second.
    pub usecs: u32,
    /// Inode number of the queue file.
    pub inode: u64,
}

/// Decode a Postfix long queue ID; `None` for short IDs and anything
/// else that does not follow the layout described in the module doc.
pub fn decode_long_queue_id(id: &str) -> Option<LongQueueId> {
    let id = id.as_bytes();
    let sep = id.iter().rposition(|&b| b == b'z')?;
    // MQID_LG_TIME_PAD: six second digits plus four microsecond digits.
    if sep < 10 || sep + 1 == id.len() {
        return None;
    }
    let (time, inode) = (&id[..sep], &id[sep + 1..]);
    let (secs, usecs) = time.split_at(time.len() - 4);
    let secs = safe_decode(secs, 52)?;
    let usecs = safe_decode(usecs, 52)?;
    let inode = safe_decode(inode, 51)?;
    if usecs >= 1_000_000 {
        return None;
    }
    Some(LongQueueId {
        secs: i64::try_from(secs).ok()?,
        usecs: usecs as u32,
        inode,
    })
}

fn safe_decode(digits: &[u8], base: u64) -> Option<u64> {
    let mut value: u64 = 0;
    for &d in digits {
        let v = SAFE_CHARS.iter().position(|&c| c == d)? as u64;
        if v >= base {
            return None;
        }
        value = value.checked_mul(base)?.checked_add(v)?;
    }
    Some(value)
}

/// Find the arrival among `Received:` header values (top first, already
/// unfolded). `Err` carries a note when a trusted header exists but its
/// date cannot be read.
pub fn find_arrival(
    received: &[String],
    trusted_hosts: &[String],
) -> Option<Result<Arrival, String>> {
    let header = received.iter().find(|value| {
        let by = clause_value(value, "by");
        by.is_some_and(|by| is_trusted(&by, trusted_hosts))
    })?;
    Some(arrival_from(header))
}

fn is_trusted(by: &str, trusted_hosts: &[String]) -> bool {
    let by = by.trim_end_matches('.');
    trusted_hosts
        .iter()
        .any(|h| h.trim().trim_end_matches('.').eq_ignore_ascii_case(by))
}

fn arrival_from(header: &str) -> Result<Arrival, String> {
    let date = header.rsplit_once(';').map(|(_, d)| d.trim());
    let Some(date) = date else {
        return Err("trusted Received header has no date".to_string());
    };
    let (secs, no_zone) = parse_date(date).map_err(|why| {
        format!("bad date '{date}' in trusted Received header: {why}")
    })?;

    let mut notes = Vec::new();
    if no_zone {
        notes.push("trusted Received date has no zone; read as UTC".into());
    }
    let usecs = match clause_value(header, "id") {
        Some(id) => id_usecs(&id, secs, &mut notes),
        None => 0,
    };
    Ok(Arrival {
        us: secs * 1_000_000 + i64::from(usecs),
        header: header.to_string(),
        notes,
    })
}

/// Microseconds to add to the header's second, from the queue ID.
fn id_usecs(id: &str, header_secs: i64, notes: &mut Vec<String>) -> u32 {
    let Some(q) = decode_long_queue_id(id) else {
        return 0;
    };
    match q.secs - header_secs {
        0 => q.usecs,
        d if d > 0 => {
            notes.push(format!(
                "queue ID '{id}' made {d} s after the Received date; \
                 placed at the end of that second"
            ));
            999_999
        }
        d => {
            notes.push(format!(
                "queue ID '{id}' is {} s before the Received date; \
                 whole seconds used",
                -d
            ));
            0
        }
    }
}

/// The word after `name` (`by`, `id`, ...) in a Received header, outside
/// comments and before the date; trailing `;` removed.
fn clause_value(header: &str, name: &str) -> Option<String> {
    let head = header.rsplit_once(';').map_or(header, |(h, _)| h);
    let head = header_without_comments(head);
    let mut words = head.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case(name) {
            let v = words.next()?.trim_end_matches(';');
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

fn header_without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                out.push(' ');
            }
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Delivered by Postfix 3.7.11 (Debian 12), enable_long_queue_ids=yes,
    // on a private instance: the header as it reached the mbox.
    const REAL: &str = "from vm (unknown [127.0.0.1]) by mx.landrush.example \
        (Postfix) with ESMTP id 4jgzHY4HHyz1SRvg for \
        <suzanne@landrush.example>; Fri,  4 Dec 2026 17:38:33 +0000 (UTC)";

    fn trusted() -> Vec<String> {
        vec!["MX.landrush.example.".to_string()]
    }

    #[test]
    fn real_long_queue_id() {
        let q = decode_long_queue_id("4jgzHY4HHyz1SRvg").unwrap();
        // The header's date, Fri, 4 Dec 2026 17:38:33 +0000.
        assert_eq!(q.secs, 1_796_405_913);
        assert_eq!(q.usecs, 603_822);
        assert_eq!(q.inode, 10_011_080);
        let q = decode_long_queue_id("4jgzHY5wcyz1SRvg").unwrap();
        assert_eq!((q.secs, q.usecs), (1_796_405_913, 834_546));
    }

    #[test]
    fn not_long_ids() {
        // Short ID from the same Postfix with enable_long_queue_ids=no.
        assert_eq!(decode_long_queue_id("A66FC98C081"), None);
        assert_eq!(decode_long_queue_id("4jgzHY4HHyz"), None);
        assert_eq!(decode_long_queue_id("4jgzHYaHHyz1SRvg"), None);
        assert_eq!(decode_long_queue_id("zzzzzzzzzzz1"), None);
        assert_eq!(decode_long_queue_id(""), None);
        assert_eq!(decode_long_queue_id("é4jgzHY4HHyz1SRvg"), None);
    }

    #[test]
    fn arrival_with_long_id() {
        let got = find_arrival(&[REAL.to_string()], &trusted());
        let a = got.unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_913_603_822);
        assert!(a.notes.is_empty());
    }

    #[test]
    fn arrival_with_short_id() {
        let h = REAL.replace("4jgzHY4HHyz1SRvg", "A66FC98C081");
        let a = find_arrival(&[h], &trusted()).unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_913_000_000);
    }

    #[test]
    fn id_from_a_later_second() {
        let h = REAL.replace("17:38:33", "17:38:32");
        let a = find_arrival(&[h], &trusted()).unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_912_999_999);
        assert_eq!(a.notes.len(), 1);
        let h = REAL.replace("17:38:33", "17:38:34");
        let a = find_arrival(&[h], &trusted()).unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_914_000_000);
    }

    #[test]
    fn untrusted_on_top_is_skipped() {
        let top = "from mx.landrush.example by relay.example.com with \
            ESMTP id 4jgzHY5DLrz1SRvg; Fri, 4 Dec 2026 19:00:00 +0000";
        let all = [top.to_string(), REAL.to_string()];
        let a = find_arrival(&all, &trusted()).unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_913_603_822);
        assert!(find_arrival(&all[..1], &trusted()).is_none());
        assert!(find_arrival(&all, &[]).is_none());
    }

    #[test]
    fn multi_recipient_form() {
        // smtpd writes "id X;" then the date when there is no "for".
        let h = "from a by mx.landrush.example (Postfix) with ESMTP id \
            4jgzHY4HHyz1SRvg; Fri,  4 Dec 2026 17:38:33 +0000 (UTC)";
        let a = find_arrival(&[h.into()], &trusted()).unwrap().unwrap();
        assert_eq!(a.us, 1_796_405_913_603_822);
    }

    #[test]
    fn bad_date_is_reported() {
        let h = REAL.replace("17:38:33", "27:38:33");
        assert!(find_arrival(&[h], &trusted()).unwrap().is_err());
    }
}
