//! suzanne-soapd: serve the spool's requests to the registration system
//! over SOAP 1.1, in arrival order.  A long-running daemon: one log line
//! per call on stderr; exits 75 when another instance runs.

use std::path::PathBuf;

use clap::Parser;
use soapd::config::SoapConfig;
use soapd::server::{self, Credentials, Server};
use soapd::service::{Limits, Service};
use spool::cli::{self, CommonArgs};
use spool::{Exit, Spool, Stage};

/// Serve Suzanne's queue over SOAP 1.1 (WSDL at <path>?wsdl).
///
/// Settings come from the [soap] section of the configuration file;
/// each flag below overrides its key.
#[derive(Parser, Debug)]
#[command(name = "suzanne-soapd", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,

    /// Address to listen on ([soap] bind; default 127.0.0.1)
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,

    /// Port to listen on ([soap] port; default 8780)
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,

    /// File of user:password lines for HTTP Basic ([soap] auth_file)
    #[arg(long, value_name = "FILE")]
    auth_file: Option<PathBuf>,

    /// Endpoint URL announced in the WSDL ([soap] public_url)
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,

    /// Worker threads ([soap] workers)
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// Known limits, for the manual's BUGS section.
const BUGS: &[&str] = &[
    "SOAP 1.2 is not spoken: such requests get a SOAP 1.1 \
     VersionMismatch fault.",
    "Request bodies may be gzip-compressed; any other Content-Encoding \
     is answered 415 (SOAP::Lite then sends the request again, plain).",
    "At most max_connections clients are served at once; a client \
     holds its slot for at most request_timeout per request and \
     idle_timeout between requests. Further clients get a fault and \
     are closed.",
    "When suzanne-parse journals an earlier claimant of a name between \
     a GetRequests decision and its journal lines, the lease it \
     overtook is released at once (the journal shows both lines) and \
     is not handed out.",
    "ExtendLease on a lease that has already run out is refused \
     (stale-lease) when an earlier claimant of one of its names has \
     arrived since.",
    "A call holds at most 10,000 elements, so one CompleteRequests \
     takes about 2,000 items at most (4 or 5 elements each); a longer \
     list is refused whole as too complex.",
];

fn main() {
    let args: Args = cli::parse_with_bugs(BUGS);
    cli::run("suzanne-soapd", || run(args));
}

fn run(args: Args) -> anyhow::Result<Exit> {
    let config = args.common.load_config()?;
    let mut soap: SoapConfig = config.section("soap")?;
    if let Some(b) = args.bind {
        soap.bind = b;
    }
    if let Some(p) = args.port {
        soap.port = p;
    }
    if let Some(f) = args.auth_file {
        soap.auth_file = Some(f);
    }
    if let Some(u) = args.public_url {
        soap.public_url = u;
    }
    if let Some(w) = args.workers {
        soap.workers = w;
    }

    let spool = Spool::open(&config.spool)?;
    let _stage = spool.lock_stage(Stage::Soapd)?;
    let credentials = match &soap.auth_file {
        Some(path) => Some(Credentials::load(path)?),
        None => None,
    };
    let listener = server::bind(&soap)?;
    // Port 0 picks a free port; the WSDL's fallback address is the real
    // one.
    soap.port = listener.local_addr()?.port();
    let limits = Limits {
        lease_default: soap.lease_default.max(1),
        lease_max: soap.lease_max.max(1),
        max_batch: soap.max_batch.max(1),
        max_answer: soap.max_answer,
        settle_us: soap.settle as i64 * 1_000_000,
    };
    let service = Service::open(spool, limits)?;
    cli::warn(&format!(
        "- op=start outcome=listening addr={} path={}",
        listener.local_addr()?,
        soap.path
    ));
    server::run(
        Server {
            service,
            config: soap,
            credentials,
        },
        listener,
    )?;
    Ok(Exit::Ok)
}
