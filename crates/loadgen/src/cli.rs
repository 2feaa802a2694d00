//! The command line of suzanne-loadgen, and what each command does with
//! it. The binary only parses and hands over to [`run`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use spool::cli::{info, warn, CommonArgs};
use spool::{Exit, Spool};

use crate::mailbox::{sibling, Format};
use crate::plan::{Landrush, Options};
use crate::smtp::{self, Outgoing, SmtpOptions};
use crate::verify::{self, Order};
use crate::{replay, truth};

/// Rehearse a landrush: generate one, send one, check a spool against
/// its truth.
#[derive(Parser, Debug)]
#[command(name = "suzanne-loadgen", version)]
#[command(after_help = "Exit status: 0 done, 64 usage, 65 verify found \
    differences (or a message was refused), 70 internal error, 75 the \
    SMTP server could not be reached or deferred messages.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a landrush as Postfix would have delivered it, with its truth
    Generate(GenerateArgs),
    /// Send a landrush to an SMTP server on 127.0.0.1
    Smtp(SmtpArgs),
    /// Compare a spool with a truth file
    Verify(VerifyArgs),
}

/// The scenario: how many messages, from whom, when.
#[derive(Args, Debug, Clone)]
pub struct Scenario {
    /// Messages in the landrush
    #[arg(long, default_value_t = 12_000, value_name = "N")]
    pub count: usize,

    /// Seed: the same seed gives the same landrush, byte for byte
    #[arg(long, default_value_t = 2004, value_name = "S")]
    pub seed: u64,

    /// Invented registrars sending
    #[arg(long, default_value_t = 300, value_name = "R")]
    pub registrars: usize,

    /// The opening, RFC 3339
    #[arg(
        long,
        default_value = "2004-05-11T09:00:00Z",
        value_name = "RFC3339",
        value_parser = rfc3339_us
    )]
    pub start: i64,

    /// The host our own Received headers name after `by`
    #[arg(long, default_value = "mx.landrush.example", value_name = "HOST")]
    pub trusted_host: String,

    /// The address requests are sent to
    #[arg(
        long,
        default_value = "suzanne@landrush.example",
        value_name = "ADDR"
    )]
    pub rcpt: String,
}

impl Scenario {
    fn options(&self) -> Options {
        Options {
            count: self.count,
            seed: self.seed,
            registrars: self.registrars,
            start_us: self.start,
            trusted_host: self.trusted_host.clone(),
            rcpt: self.rcpt.clone(),
        }
    }
}

/// An RFC 3339 time as microseconds since the epoch.
fn rfc3339_us(text: &str) -> Result<i64, String> {
    spool::clock::parse_rfc3339(text)
        .ok_or_else(|| "not an RFC 3339 time (2004-05-11T09:00:00Z)".into())
}

/// Output formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Mbox,
    Maildir,
}

/// `generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The mbox file, or Maildir directory, to write
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    #[arg(long, value_enum, default_value = "mbox")]
    pub format: FormatArg,

    /// The truth file [default: PATH.truth.jsonl]
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,

    #[command(flatten)]
    pub scenario: Scenario,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `smtp`.
#[derive(Args, Debug)]
pub struct SmtpArgs {
    /// The server, 127.0.0.1:PORT only
    #[arg(long, value_name = "HOST:PORT", value_parser = smtp::local_server)]
    pub to: SocketAddr,

    /// Parallel connections
    #[arg(long, default_value_t = 8, value_name = "C")]
    pub connections: usize,

    /// Messages a second over all connections (0: as fast as possible)
    #[arg(long, default_value_t = 0.0, value_name = "MSG_PER_S")]
    pub rate: f64,

    /// Send the messages of this generated mbox (in index order) instead
    /// of generating them
    #[arg(long, value_name = "FILE")]
    pub from_mbox: Option<PathBuf>,

    /// Write one JSON line per message: index, accepted_at, queue_id
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Where to write the truth of a generated run, in the order the
    /// server accepted the messages [default: LOG.truth.jsonl]
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,

    /// The name given in EHLO
    #[arg(long, default_value = "loadgen.landrush.example")]
    pub helo: String,

    #[command(flatten)]
    pub scenario: Scenario,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Order checks.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OrderArg {
    /// The queue order is the truth's (generated mailboxes)
    Strict,
    /// Follow the server's Received times (SMTP runs)
    Received,
}

/// `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The truth file
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,

    #[arg(long, value_enum, default_value = "strict")]
    pub order: OrderArg,

    /// An `smtp` log: acceptance times for `--order received`
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Hosts whose Received headers are ours [default: the
    /// configuration's trusted_hosts]
    #[arg(long, value_name = "HOST")]
    pub trusted_host: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Known limits, for the manual's BUGS section.
pub const BUGS: &[&str] = &[
    "generate dates our server's Received headers and the From_ lines in \
     +0200 (CEST), whatever the --start date.",
    "generate always makes a message's queue ID in the second of its \
     Received date; the case of a queue file made in the next second \
     (which the spool places at the end of the header's second) is not \
     rehearsed.",
    "smtp sends one recipient a transaction, in clear text: no STARTTLS, \
     no AUTH. It connects to 127.0.0.1 only.",
    "verify takes MAILER-DAEMON, Postfix's From_ line spelling of the null \
     sender, as the null envelope sender.",
    "verify --order received reads the trusted Received header with its \
     own code, following the rule the spool documents, so a disagreement \
     shows as an order difference rather than a field difference.",
];

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Generate(a) => generate(a),
        Command::Smtp(a) => send(a),
        Command::Verify(a) => verify(a),
    }
}

fn generate(a: GenerateArgs) -> anyhow::Result<Exit> {
    a.common.load_config()?;
    let options = a.scenario.options();
    let truth = a.truth.unwrap_or_else(|| sibling(&a.out, ".truth.jsonl"));
    let format = match a.format {
        FormatArg::Mbox => Format::Mbox,
        FormatArg::Maildir => Format::Maildir,
    };
    let t0 = Instant::now();
    crate::generate(&options, format, &a.out, &truth)?;
    info(&format!(
        "generate: messages={} seconds={:.2} out={} truth={}",
        options.count,
        t0.elapsed().as_secs_f64(),
        a.out.display(),
        truth.display()
    ));
    Ok(Exit::Ok)
}

fn send(a: SmtpArgs) -> anyhow::Result<Exit> {
    a.common.load_config()?;
    let options = a.scenario.options();
    let (messages, landrush) = match &a.from_mbox {
        Some(path) => {
            let data = std::fs::read(path).with_context(|| {
                format!("cannot read '{}'", path.display())
            })?;
            let trusted = [options.trusted_host.clone()];
            (replay::from_mbox(&data, &trusted), None)
        }
        None => {
            let lr = Landrush::plan(&options);
            let out: Vec<Outgoing> = lr
                .messages
                .iter()
                .map(|m| Outgoing {
                    index: m.index,
                    sender: lr.envelope_sender(m).to_string(),
                    data: lr.sent(m),
                })
                .collect();
            (out, Some(lr))
        }
    };
    let opts = SmtpOptions {
        server: a.to,
        rcpt: options.rcpt.clone(),
        connections: a.connections.max(1),
        rate: a.rate.max(0.0),
        helo: a.helo.clone(),
    };
    let report = smtp::send(&opts, &messages, a.log.as_deref())?;
    let truth_path = a
        .truth
        .clone()
        .or_else(|| a.log.as_ref().map(|l| sibling(l, ".truth.jsonl")));
    if let (Some(lr), Some(path)) = (&landrush, &truth_path) {
        write_smtp_truth(lr, &report, path)?;
    }
    let secs = report.elapsed.as_secs_f64();
    info(&format!(
        "smtp: accepted={} messages={} seconds={secs:.2} per_second={:.0} \
         connections={}",
        report.accepted.len(),
        messages.len(),
        report.accepted.len() as f64 / secs.max(1e-6),
        opts.connections
    ));
    Ok(smtp_exit(&report))
}

/// The truth of an SMTP run: the accepted messages, in the order they
/// were accepted, dated when they were.
fn write_smtp_truth(
    lr: &Landrush,
    report: &smtp::Report,
    path: &Path,
) -> anyhow::Result<()> {
    let planned = lr.truth();
    let mut accepted = report.accepted.clone();
    accepted.sort_by_key(|&(index, at)| (at, index));
    let lines: Vec<truth::TruthLine> = accepted
        .iter()
        .filter_map(|&(index, at)| {
            let mut t = planned.get(index as usize - 1)?.clone();
            t.arrival = spool::clock::rfc3339_us(at);
            Some(t)
        })
        .collect();
    truth::write(path, &lines)?;
    Ok(())
}

fn smtp_exit(report: &smtp::Report) -> Exit {
    for (index, why) in report.refused.iter().chain(&report.deferred).take(5) {
        warn(&format!(
            "index {index}: not accepted: {}",
            spool::cli::escape(why)
        ));
    }
    if !report.deferred.is_empty() {
        warn(&format!("{} messages deferred", report.deferred.len()));
        return Exit::TempFail;
    }
    if !report.refused.is_empty() {
        warn(&format!("{} messages refused", report.refused.len()));
        return Exit::DataErr;
    }
    Exit::Ok
}

fn verify(a: VerifyArgs) -> anyhow::Result<Exit> {
    let config = a.common.load_config()?;
    let spool = Spool::open_existing(&config.spool)?;
    let truth = truth::read(&a.truth)?;
    let trusted_hosts = if a.trusted_host.is_empty() {
        config.trusted_hosts()
    } else {
        a.trusted_host.clone()
    };
    let accepted_us = match &a.log {
        Some(path) => verify::read_log(path)?,
        None => Default::default(),
    };
    let order = match a.order {
        OrderArg::Strict => Order::Strict,
        OrderArg::Received => Order::Received,
    };
    let opts = verify::Options {
        order,
        trusted_hosts,
        accepted_us,
    };
    let verdict = verify::verify(&spool, &truth, &opts)?;
    print_verdict(&verdict)
}

/// The verdict on stdout: one line, then at most 50 differences.
fn print_verdict(v: &verify::Verdict) -> anyhow::Result<Exit> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if v.differences.is_empty() {
        writeln!(out, "verify: ok: {} messages, order kept", v.messages)?;
        return Ok(Exit::Ok);
    }
    let n = v.differences.len();
    let s = if n == 1 { "" } else { "s" };
    writeln!(out, "verify: FAILED: {n} difference{s}")?;
    for d in v.differences.iter().take(50) {
        writeln!(out, "{d}")?;
    }
    if n > 50 {
        writeln!(out, "... and {} more", n - 50)?;
    }
    Ok(Exit::DataErr)
}
