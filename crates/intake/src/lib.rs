//! The intake: from the mailbox Postfix writes to the ordered spool.
//!
//! `rotate` moves a mailbox into the spool under Postfix's own locks;
//! `parse` turns each rotated mailbox into tickets, records and journal
//! lines, durably, in a way that a re-run after a crash finishes with
//! exactly the spool an uninterrupted run would have left.

pub mod parse;
pub mod rotate;
