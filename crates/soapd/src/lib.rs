//! suzanne-soapd: hands the spool's requests to the registration system
//! over SOAP 1.1, in arrival order, one lease at a time per domain name.

pub mod protocol;
pub mod queue;
