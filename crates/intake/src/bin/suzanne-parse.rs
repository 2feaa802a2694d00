//! suzanne-parse: turn every rotated mailbox into tickets in arrival
//! order, durably. Run by cron after suzanne-rotate; quiet unless
//! something is wrong; exits 75 when another instance runs.

use anyhow::anyhow;
use clap::Parser;
use intake::parse;
use spool::cli::{self, CommonArgs};
use spool::{Exit, Spool};
use suzanne_mail::{Flavour, ParseOptions};

/// Parse rotated mailboxes into Suzanne's ordered spool.
#[derive(Parser, Debug)]
#[command(name = "suzanne-parse", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,

    /// A host whose Received header fixes the arrival time (repeatable;
    /// overrides [arrival] trusted_hosts)
    #[arg(long = "trusted-host", value_name = "HOST")]
    trusted_hosts: Vec<String>,

    /// mbox quoting to undo: mboxo (what Postfix writes) or mboxrd
    #[arg(long, value_name = "FLAVOUR")]
    flavour: Option<String>,

    /// A form key naming a domain (repeatable; overrides [form])
    #[arg(long = "domain-key", value_name = "KEY")]
    domain_keys: Vec<String>,

    /// Do not sync before publishing (benchmarks only: a crash can lose
    /// what was parsed)
    #[arg(long)]
    no_sync: bool,

    /// Messages written per sync
    #[arg(long, value_name = "N")]
    chunk: Option<usize>,
}

/// Known limits, for the manual's BUGS section.
const BUGS: &[&str] = &[
    "A rotated mailbox is read whole into memory, with every message of \
     it parsed before the first is written (tickets follow arrival order \
     within a mailbox). Rotate often enough to keep mailboxes small.",
    "mboxo quoting cannot be undone exactly: a body line that was \
     \">From \" before delivery is stored as \"From \". The SHA-256 is \
     of the stored bytes.",
    "A message without a trusted Received header takes its mailbox's \
     rotation time as its arrival time, and so sorts after every message \
     of that mailbox that has one.",
];

fn main() {
    let args: Args = cli::parse_with_bugs(BUGS);
    cli::run("suzanne-parse", || run(args));
}

fn run(args: Args) -> anyhow::Result<Exit> {
    let config = args.common.load_config()?;
    let flavour_name = args.flavour.unwrap_or(config.mailbox.flavour.clone());
    let flavour: Flavour = flavour_name.parse().map_err(|_| {
        anyhow!(spool::Error::new(
            spool::ErrorKind::Config,
            format!("unknown mbox flavour '{flavour_name}'"),
        ))
    })?;
    let mut mail = ParseOptions {
        trusted_hosts: if args.trusted_hosts.is_empty() {
            config.trusted_hosts()
        } else {
            args.trusted_hosts
        },
        ..ParseOptions::default()
    };
    let keys = if args.domain_keys.is_empty() {
        config.form.domain_keys.clone()
    } else {
        args.domain_keys
    };
    if !keys.is_empty() {
        mail.domain_keys = keys;
    }
    if !config.form.language_keys.is_empty() {
        mail.language_keys = config.form.language_keys.clone();
    }
    let opts = parse::Options {
        flavour,
        mail,
        durable: config.parse.durable && !args.no_sync,
        chunk: args.chunk.unwrap_or(config.parse.chunk),
    };
    let spool = Spool::open(&config.spool)?;
    let report = parse::run(&spool, &opts)?;
    if report.batches > 0 {
        let mut kinds: Vec<_> = report.by_kind.iter().collect();
        kinds.sort();
        let kinds: Vec<String> =
            kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
        cli::info(&format!(
            "parsed batches={} messages={} {}",
            report.batches,
            report.messages,
            kinds.join(" ")
        ));
    }
    Ok(Exit::Ok)
}
