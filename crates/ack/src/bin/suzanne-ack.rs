//! suzanne-ack: send each request its acknowledgement, once.

use std::path::PathBuf;

use ack::config::TransportKind;
use ack::{AckConfig, Options};
use clap::Parser;
use spool::cli::{self, CommonArgs};
use spool::Exit;

/// Send each request in the spool its acknowledgement by email, once.
///
/// Requests are taken in ticket order. Bounces, automatic replies, list
/// mail and malformed or incomplete messages are never answered; each is
/// recorded as skipped with its reason. Outcomes go to the journal:
/// sent, skipped, deferred (4xx or lost connection: retried by a later
/// run) or failed (5xx).
///
/// An acknowledgement goes to the request's Reply-To, else its From,
/// else its envelope sender, from the [ack] from address, with the null
/// envelope sender and Auto-Submitted: auto-replied. Settings live in the
/// [ack] section of the configuration file.
///
/// Exit status: 0 done; 75 try later (another instance runs, the relay
/// is down, or acknowledgements were deferred); 65 a record could not be
/// read; 78 bad configuration.
#[derive(Parser, Debug)]
#[command(name = "suzanne-ack", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,

    /// How acknowledgements leave: smtp, sendmail or outbox
    /// (overrides [ack] transport)
    #[arg(long, value_name = "KIND", value_parser = KINDS)]
    transport: Option<String>,

    /// SMTP relay host (overrides [ack] relay)
    #[arg(long, value_name = "HOST")]
    relay: Option<String>,

    /// SMTP relay port (overrides [ack] port)
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,

    /// Outbox directory (overrides [ack] outbox)
    #[arg(long, value_name = "DIR")]
    outbox: Option<PathBuf>,

    /// Templates directory (overrides [ack] templates)
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,

    /// Send at most N acknowledgements this run (overrides [ack] limit)
    #[arg(long, value_name = "N")]
    limit: Option<u64>,

    /// SMTP connections in parallel (overrides [ack] connections)
    #[arg(long, value_name = "N")]
    connections: Option<usize>,

    /// Write the acknowledgements into the outbox directory and record
    /// nothing in the journal
    #[arg(long)]
    dry_run: bool,
}

const KINDS: [&str; 3] = ["smtp", "sendmail", "outbox"];

/// Known limits, for the manual's BUGS section.
const BUGS: &[&str] = &[
    "A crash after the relay accepted an acknowledgement and before its \
     record reached the journal sends it again on the next run: at most \
     one acknowledgement per connection per crash, with the same \
     Message-ID, so the copy is recognisable.",
    "Every acknowledgement waits for its journal record to be synced \
     before its connection sends the next one; a slow disk slows \
     acknowledgements. More connections share each sync.",
    "An acknowledgement goes to the first address of Reply-To (else \
     From, else the envelope sender) only.",
    "An address whose local part is not ASCII needs a relay that offers \
     SMTPUTF8; without it the acknowledgement is recorded as failed.",
    "A template line of 76 characters or more (a long domain name, say) \
     makes the body go quoted-printable.",
];

fn main() {
    let args: Args = cli::parse_with_bugs(BUGS);
    cli::run("suzanne-ack", || body(args));
}

fn body(args: Args) -> anyhow::Result<Exit> {
    let config = args.common.load_config()?;
    let mut ack: AckConfig = config.section("ack")?;
    apply_flags(&args, &mut ack);
    let opts = Options {
        dry_run: args.dry_run,
    };
    let summary = ack::run(&config, &ack, &opts)?;
    cli::info(&summary.line());
    if let Some(why) = &summary.unreachable {
        cli::warn(&format!("{why}; the rest waits for the next run"));
    }
    if summary.deferred > 0 {
        cli::warn(&format!(
            "{} acknowledgements deferred; a later run retries them",
            summary.deferred
        ));
    }
    Ok(summary.exit())
}

fn apply_flags(args: &Args, ack: &mut AckConfig) {
    ack.transport = match args.transport.as_deref() {
        Some("smtp") => TransportKind::Smtp,
        Some("sendmail") => TransportKind::Sendmail,
        Some("outbox") => TransportKind::Outbox,
        _ => ack.transport,
    };
    if args.dry_run {
        ack.transport = TransportKind::Outbox;
    }
    if let Some(v) = &args.relay {
        ack.relay = v.clone();
    }
    if let Some(v) = args.port {
        ack.port = v;
    }
    if let Some(v) = &args.outbox {
        ack.outbox = Some(v.clone());
    }
    if let Some(v) = &args.templates {
        ack.templates = Some(v.clone());
    }
    if let Some(v) = args.limit {
        ack.limit = v;
    }
    if let Some(v) = args.connections {
        ack.connections = v;
    }
}
