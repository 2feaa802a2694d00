//! Postfix queue IDs, as our mail server and the registrars' servers
//! write them in their `Received:` headers.
//!
//! Long queue IDs (`enable_long_queue_ids = yes`) are the arrival key's
//! microseconds. Postfix global/mail_queue.h (the MQID_LG_* macros) and
//! global/mail_queue.c (mail_queue_enter) build one from the time the
//! queue file was made: the seconds in base 52, at least six digits
//! (MQID_LG_SEC_PAD); the microseconds in base 52, exactly four digits
//! (MQID_LG_USEC_PAD); the separator `z` (MQID_LG_INUM_SEP); the queue
//! file's inode number in base 51, so that it never holds a `z`. The
//! digits are safe_ultostr's: `0-9`, then the consonants, upper case
//! first (the vowels are left out so no word is spelled by accident).
//!
//! Short IDs are the microseconds as five upper-case hexadecimal digits
//! (MQID_SH_USEC_PAD) followed by the inode number in hexadecimal.

const SAFE: &[u8; 52] =
    b"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

/// `value` in base `base` with the safe digits, at least `pad` long.
fn safe_digits(mut value: u64, base: u64, pad: usize) -> String {
    let mut digits = Vec::with_capacity(12);
    loop {
        digits.push(SAFE[(value % base) as usize]);
        value /= base;
        if value == 0 {
            break;
        }
    }
    while digits.len() < pad {
        digits.push(b'0');
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// A long queue ID for a queue file made at `secs`.`usecs` with inode
/// number `inode`.
pub fn long_id(secs: i64, usecs: u32, inode: u64) -> String {
    format!(
        "{}{}z{}",
        safe_digits(secs.max(0) as u64, 52, 6),
        safe_digits(u64::from(usecs % 1_000_000), 52, 4),
        safe_digits(inode, 51, 0)
    )
}

/// A short queue ID (the default before Postfix 2.9, and still common).
pub fn short_id(usecs: u32, inode: u64) -> String {
    format!("{:05X}{inode:X}", usecs % 1_000_000)
}

/// The time fields of a long queue ID: (seconds, microseconds); None
/// for anything else (short IDs carry no second).
pub fn decode_long(id: &str) -> Option<(i64, u32)> {
    let sep = id.rfind('z')?;
    let time = id.get(..sep)?;
    // Six second digits at least, then four of microseconds.
    if time.len() < 10 || sep + 1 == id.len() || !time.is_ascii() {
        return None;
    }
    let (secs, usecs) = time.split_at(time.len() - 4);
    let secs = safe_value(secs, 52)?;
    let usecs = safe_value(usecs, 52)?;
    safe_value(&id[sep + 1..], 51)?;
    (usecs < 1_000_000).then_some((secs as i64, usecs as u32))
}

fn safe_value(digits: &str, base: u64) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, d| {
        let v = SAFE.iter().position(|&c| c == d)? as u64;
        (v < base).then_some(())?;
        acc.checked_mul(base)?.checked_add(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_real_postfix_id() {
        // From a header written by Postfix 3.7.11 with long IDs, dated
        // Fri, 4 Dec 2026 17:38:33 +0000.
        assert_eq!(
            long_id(1_796_405_913, 603_822, 10_011_080),
            "4jgzHY4HHyz1SRvg"
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        let id = long_id(1_084_266_003, 999_999, 123_456);
        assert_eq!(decode_long(&id), Some((1_084_266_003, 999_999)));
        assert_eq!(decode_long("4jgzHY4HHyz"), None);
        assert_eq!(decode_long("01234BEEF"), None);
    }

    #[test]
    fn pads_small_values() {
        assert_eq!(long_id(0, 0, 0), "0000000000z0");
        assert_eq!(short_id(4660, 0xBEEF), "01234BEEF");
    }
}
