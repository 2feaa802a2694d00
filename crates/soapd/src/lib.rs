//! suzanne-soapd: hands the spool's requests to the registration system
//! over SOAP 1.1, in arrival order, one lease at a time per domain name.
//!
//! Layers, from the wire in: `front` (the guard that owns the client
//! sockets), `server` (tiny_http, workers, authentication, logging),
//! `protocol` (SOAP reading and writing) and `wsdl`, `service` (the
//! operations, journal first), `queue` (the state, a pure fold of the
//! journal).

pub mod config;
pub mod events;
pub mod front;
pub mod protocol;
pub mod queue;
pub mod server;
pub mod service;
pub mod wsdl;
