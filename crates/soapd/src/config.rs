//! The `[soap]` section of the configuration file.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Every key, with its default.  Times are in seconds, sizes in bytes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoapConfig {
    /// Address to listen on.
    pub bind: String,
    pub port: u16,
    /// The SOAP endpoint's path; the WSDL is at `<path>?wsdl`.
    pub path: String,
    /// The endpoint URL the WSDL announces; empty: the URL the client
    /// used (its Host header).
    pub public_url: String,
    /// `user:password` lines; empty: no authentication.
    pub auth_file: Option<PathBuf>,
    /// Largest request body, before and after gzip decoding.
    pub max_body: usize,
    /// Largest request head (request line and headers).
    pub max_header: usize,
    /// Lease length when GetRequests names none.
    pub lease_default: u64,
    /// Longest lease GetRequests or ExtendLease may take.
    pub lease_max: u64,
    /// Most requests one GetRequests hands out.
    pub max_batch: usize,
    /// Seconds a request must have waited since its arrival before it is
    /// handed out: Postfix may still be delivering mail it received
    /// earlier (deliveries run in parallel and retry). 0 turns it off.
    pub settle: u64,
    /// Most bytes of messages in one GetRequests answer (one request is
    /// always handed out, whatever its size).
    pub max_answer: usize,
    /// Longest wait for one read from a client.
    pub read_timeout: u64,
    /// Longest time from a request's first byte to its last.
    pub request_timeout: u64,
    /// Longest wait for one write to a client.
    pub write_timeout: u64,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: u64,
    /// Threads answering SOAP calls.
    pub workers: usize,
    /// Client connections served at once; more are refused with 503.
    pub max_connections: usize,
}

impl Default for SoapConfig {
    fn default() -> SoapConfig {
        SoapConfig {
            bind: "127.0.0.1".to_owned(),
            port: 8780,
            path: "/soap".to_owned(),
            public_url: String::new(),
            auth_file: None,
            max_body: 4 << 20,
            max_header: 16 << 10,
            lease_default: 300,
            lease_max: 3600,
            max_batch: 100,
            settle: 60,
            max_answer: 64 << 20,
            read_timeout: 10,
            request_timeout: 30,
            write_timeout: 30,
            idle_timeout: 60,
            workers: 4,
            max_connections: 64,
        }
    }
}

impl SoapConfig {
    pub fn secs(n: u64) -> Duration {
        Duration::from_secs(n.max(1))
    }
}
