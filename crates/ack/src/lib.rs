//! suzanne-ack: acknowledge every request by email, once.
//!
//! The journal says which requests still need an acknowledgement
//! ([`state`]); [`select`] refuses robots (RFC 3834) and applies the
//! allow-list; [`render`] writes the letter from a tera template;
//! [`headers`] makes the request's untrusted text safe for headers and
//! the envelope; [`transport`] sends (SMTP, sendmail, or an outbox
//! directory); [`run`] ties them together and records each outcome.
//!
//! Who an acknowledgement goes to: the request's Reply-To, else its From,
//! else its envelope sender (the first address of the first of these
//! that holds one), with the domain converted to A-labels. It is sent
//! from the configured registry address with the null envelope sender.

pub mod config;
pub mod headers;
pub mod render;
pub mod run;
pub mod select;
pub mod state;
pub mod transport;

pub use config::AckConfig;
pub use run::{run, Options, Summary};
