//! Reading a generated mailbox back, to send it again over SMTP: each
//! message loses what our own server and local(8) added (the server it
//! is sent to adds its own), and keeps its envelope sender.

use crate::headers;
use crate::smtp::Outgoing;

/// The headers local(8) adds at delivery.
const LOCAL_HEADERS: [&str; 3] =
    ["Return-Path", "X-Original-To", "Delivered-To"];

/// The messages of an mboxo mailbox, in the order of their
/// `X-Loadgen-Index` (arrival), else of the mailbox.
pub fn from_mbox(data: &[u8], trusted: &[String]) -> Vec<Outgoing> {
    let mut out: Vec<Outgoing> = split(data)
        .into_iter()
        .enumerate()
        .map(|(i, (from_line, raw))| outgoing(i, &from_line, &raw, trusted))
        .collect();
    out.sort_by_key(|m| m.index);
    out
}

/// (From_ line, message with quoting undone and the closing blank line
/// removed) for each message: a From_ line starts a message at the
/// start of the file or after a blank line.
fn split(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut blank_before = true;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if blank_before && bare.starts_with(b"From ") {
            out.push((bare.to_vec(), Vec::new()));
        } else if let Some((_, msg)) = out.last_mut() {
            let unquoted = if line.starts_with(b">From ") {
                &line[1..]
            } else {
                line
            };
            msg.extend_from_slice(unquoted);
        }
        blank_before = bare.is_empty();
    }
    for (_, msg) in &mut out {
        // The blank line local(8) puts after each message.
        if msg.ends_with(b"\r\n\r\n") {
            msg.truncate(msg.len() - 2);
        } else if msg.ends_with(b"\n\n") {
            msg.truncate(msg.len() - 1);
        }
    }
    out
}

fn outgoing(
    position: usize,
    from_line: &[u8],
    raw: &[u8],
    trusted: &[String],
) -> Outgoing {
    let fields = headers::fields(raw);
    let return_path = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Return-Path"))
        .map(|(_, v)| headers::address(v));
    let sender = return_path.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(from_line);
        match text.split_whitespace().nth(1) {
            Some("MAILER-DAEMON") | None => String::new(),
            Some(s) => s.to_string(),
        }
    });
    Outgoing {
        index: headers::loadgen_index(raw).unwrap_or(position as u64 + 1),
        sender,
        data: strip_local(raw, trusted),
    }
}

/// Remove local(8)'s headers and, if it is the topmost Received header,
/// the one our own server wrote.
fn strip_local(raw: &[u8], trusted: &[String]) -> Vec<u8> {
    let head_len = headers::header_section(raw).len();
    let ours_on_top = is_first_received_trusted(raw, trusted);
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    let mut seen_received = false;
    for line in raw[..head_len].split_inclusive(|&b| b == b'\n') {
        let continued = line.starts_with(b" ") || line.starts_with(b"\t");
        if !continued {
            let name = line.split(|&b| b == b':').next().unwrap_or(b"");
            let name = String::from_utf8_lossy(name);
            let name = name.trim();
            skipping =
                LOCAL_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name));
            if name.eq_ignore_ascii_case("Received") && !seen_received {
                seen_received = true;
                skipping = ours_on_top;
            }
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[head_len..]);
    out
}

fn is_first_received_trusted(raw: &[u8], trusted: &[String]) -> bool {
    let first = headers::fields(raw)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Received"));
    match first {
        Some((_, v)) => {
            let one = format!("Received: {v}\n\n");
            headers::trusted_received_us(one.as_bytes(), trusted).is_some()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_delivery_added() {
        let mbox = b"From a@b.example  Tue May 11 11:00:03 2004\n\
            Return-Path: <a@b.example>\nDelivered-To: s@l.example\n\
            Received: from x (x [192.0.2.1])\n\tby mx.l.example (Postfix) \
            with ESMTP id 2bQ; Tue, 11 May 2004 11:00:03 +0200\n\
            Received: from y by mail.b.example; \
            Tue, 11 May 2004 11:00:02 +0200\n\
            X-Loadgen-Index: 2\n\n>From now on\nbye\n\n\
            From MAILER-DAEMON  Tue May 11 11:00:04 2004\n\
            Return-Path: <>\nX-Loadgen-Index: 1\n\nreport\n\n";
        let msgs = from_mbox(mbox, &["mx.l.example".to_string()]);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].index, 1);
        assert_eq!(msgs[0].sender, "");
        assert_eq!(msgs[0].data, b"X-Loadgen-Index: 1\n\nreport\n");
        assert_eq!(msgs[1].sender, "a@b.example");
        assert_eq!(
            String::from_utf8_lossy(&msgs[1].data),
            "Received: from y by mail.b.example; \
             Tue, 11 May 2004 11:00:02 +0200\n\
             X-Loadgen-Index: 2\n\nFrom now on\nbye\n"
        );
    }
}
