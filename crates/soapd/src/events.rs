//! Between the spool journal's events and the queue's own.

use crate::queue::{Event, Parsed};
use spool::journal::Event as J;

/// The queue event a journal event carries, if any.
pub fn from_journal(ev: &J) -> Option<Event> {
    Some(match ev {
        J::Parsed(p) => Event::Parsed(Parsed {
            ticket: p.ticket,
            key: p.key(),
            kind: p.kind,
            domains: p.domains.clone(),
        }),
        J::Lease {
            ticket,
            token,
            expires_us,
            client,
        } => Event::Lease {
            ticket: *ticket,
            token: token.clone(),
            expires_us: *expires_us,
            client: client.clone(),
        },
        J::Extend {
            ticket,
            token,
            expires_us,
        } => Event::Extend {
            ticket: *ticket,
            token: token.clone(),
            expires_us: *expires_us,
        },
        J::Release { ticket, token } => Event::Release {
            ticket: *ticket,
            token: token.clone(),
        },
        J::Hold {
            ticket,
            token,
            reason,
        } => Event::Hold {
            ticket: *ticket,
            token: token.clone(),
            reason: reason.clone(),
        },
        J::Unhold { ticket, .. } => Event::Unhold { ticket: *ticket },
        J::Complete {
            ticket,
            token,
            outcome,
            comment,
        } => Event::Complete {
            ticket: *ticket,
            token: token.clone(),
            outcome: outcome.clone(),
            comment: comment.clone().unwrap_or_default(),
        },
        _ => return None,
    })
}

/// The journal line for an event soapd writes; `parsed` is
/// suzanne-parse's alone.
pub fn to_journal(ev: &Event) -> Option<J> {
    Some(match ev.clone() {
        Event::Lease {
            ticket,
            token,
            expires_us,
            client,
        } => J::Lease {
            ticket,
            token,
            expires_us,
            client,
        },
        Event::Extend {
            ticket,
            token,
            expires_us,
        } => J::Extend {
            ticket,
            token,
            expires_us,
        },
        Event::Release { ticket, token } => J::Release { ticket, token },
        Event::Hold {
            ticket,
            token,
            reason,
        } => J::Hold {
            ticket,
            token,
            reason,
        },
        Event::Complete {
            ticket,
            token,
            outcome,
            comment,
        } => J::Complete {
            ticket,
            token,
            outcome,
            comment: (!comment.is_empty()).then_some(comment),
        },
        Event::Unhold { ticket } => J::Unhold {
            ticket,
            reason: String::new(),
        },
        Event::Parsed(_) => return None,
    })
}
