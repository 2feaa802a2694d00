//! The command line of suzanne-stats, and what each subcommand runs.
//! One definition serves the parser, `--help` and the man page.

use std::path::PathBuf;

use clap::{
    ArgMatches, Args as ClapArgs, CommandFactory, FromArgMatches, Parser,
    Subcommand,
};
use spool::cli::{info, warn, CommonArgs};
use spool::{clock, Exit, Spool};

use crate::error::Error;
use crate::journal::Wanted;
use crate::ledger::{Ledger, Needs};
use crate::output::Dest;
use crate::problem::Problem;
use crate::report::arrivals::Per;
use crate::report::{
    arrivals, chart, contested, latency, reconcile, registrars, requests,
    stages, summary, verify, Context,
};

const ABOUT: &str = "Reports on a Suzanne spool, as CSV";

const LONG_ABOUT: &str = "\
Reports on a Suzanne spool: the request listing in arrival order, arrivals
per second or minute, stage counts, latency percentiles, per-registrar
figures, contested domain names (who came first), a reconciliation of every
message, and a check of the journal's hash chain.

suzanne-stats only reads: it changes nothing in the spool, takes no lock,
and runs beside the other programs (a journal line still being written is
left for the next run). Each report is CSV with a header row on standard
output, or a file in --out DIR; times are RFC 3339 UTC. The columns are
listed in the manual page.";

const AFTER_HELP: &str = "\
Exit status: 0 done; 64 usage; 65 the spool is damaged or does not add up
(each problem named on standard error, or as reconcile's rows); 70 a report
could not be written; 78 bad configuration.";

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "suzanne-stats",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where a CSV report goes.
#[derive(Clone, Debug, Default, ClapArgs)]
pub struct OutDir {
    /// Write the report as a file in DIR (made if missing) instead of
    /// standard output
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The reports.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One row per message, in arrival order (the order of the queue)
    Requests(OutDir),

    /// Messages arrived per second or per minute
    Arrivals {
        /// The period counted
        #[arg(long, value_enum, default_value_t = Per::Second)]
        per: Per,
        #[command(flatten)]
        out: OutDir,
    },

    /// How many messages stand in each stage, and the oldest's age
    Stages(OutDir),

    /// Percentiles of the time from arrival to each stage
    Latency(OutDir),

    /// Per registrar: messages of each kind, first and last arrival,
    /// acknowledgement delay
    Registrars(OutDir),

    /// Every name asked for by more than one request, claimants in
    /// arrival order
    Contested(OutDir),

    /// Account for every message; name each problem (exit 65 if any)
    Reconcile {
        /// Work younger than this is in progress, not a gap: files under
        /// tmp/, files not journaled yet, requests not acknowledged yet
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        tmp_grace: u64,
        #[command(flatten)]
        out: OutDir,
    },

    /// Check the journal's hash chain; name the first broken line
    VerifyJournal(OutDir),

    /// SVG chart of arrivals, acknowledgements and hand-offs per second
    Chart {
        /// The SVG file to write [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },

    /// A few lines for a person: counts, stage times, contested names
    Summary(OutDir),

    /// Every report into DIR (CSV files and chart.svg); print the summary
    All {
        /// The directory to write into (made if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Work younger than this is in progress, not a gap: files under
        /// tmp/, files not journaled yet, requests not acknowledged yet
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        tmp_grace: u64,
    },
}

/// Known limits, for the manual's BUGS section.
pub const BUGS: &[&str] = &[
    "The journal is read from its start on every run: a few seconds per \
     million requests.",
    "reconcile cannot tell a file under tmp/ that a writer is still filling \
     from one a crash left; it names only those older than --tmp-grace.",
    "A change to the journal's last line leaves the chain intact: compare \
     last_hash (verify-journal, summary) with a copy kept elsewhere.",
    "arrivals leaves out quiet spells of more than 3600 periods; the next \
     row's period shows the jump.",
];

/// The clap command: the common options are accepted before or after
/// the subcommand.
pub fn command() -> clap::Command {
    Args::command()
        .mut_arg("config", |a| a.global(true))
        .mut_arg("spool", |a| a.global(true))
        .mut_arg("verbose", |a| a.global(true))
}

/// What the binary parses: [`Args`] through [`command`], for the shared
/// parsing glue (`spool::cli::parse_with_bugs`).
#[derive(Debug)]
pub struct Cli(pub Args);

impl CommandFactory for Cli {
    fn command() -> clap::Command {
        command()
    }

    fn command_for_update() -> clap::Command {
        command()
    }
}

impl FromArgMatches for Cli {
    fn from_arg_matches(m: &ArgMatches) -> Result<Cli, clap::Error> {
        Args::from_arg_matches(m).map(Cli)
    }

    fn update_from_arg_matches(
        &mut self,
        m: &ArgMatches,
    ) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl Parser for Cli {}

/// Run one subcommand.
pub fn run(args: Args) -> Result<Exit, Error> {
    let config = args.common.load_config()?;
    let spool = Spool::open_existing(&config.spool)?;
    let now_us = clock::now_us();
    let ctx = |out: Option<PathBuf>| -> Result<Context, Error> {
        let dest = match out {
            None => Dest::Stdout,
            Some(dir) => {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::read("create directory", &dir, e))?;
                Dest::Dir(dir)
            }
        };
        Ok(Context {
            spool: spool.clone(),
            now_us,
            dest,
        })
    };
    let reads = |needs: Needs| {
        let started = std::time::Instant::now();
        let ledger = Ledger::replay(&spool, needs)?;
        info(&format!(
            "journal='{}' lines={} messages={} read_s={:.3}",
            ledger.path.display(),
            ledger.tally.lines,
            ledger.tickets.len(),
            started.elapsed().as_secs_f64()
        ));
        Ok::<Ledger, Error>(ledger)
    };
    match args.command {
        Command::Requests(o) => {
            let ctx = ctx(o.out)?;
            let ledger = reads(needs(PARSED))?;
            let mut problems = read_problems(&ledger);
            problems.extend(requests::write(&ctx, &ledger)?);
            Ok(report(&problems))
        }
        Command::Arrivals { per, out } => {
            let ctx = ctx(out.out)?;
            let ledger = reads(needs(PARSED))?;
            arrivals::write(&ctx, &ledger, per)?;
            Ok(report(&read_problems(&ledger)))
        }
        Command::Stages(o) => {
            simple(ctx(o.out)?, reads(needs(FLOW))?, stages::write)
        }
        Command::Latency(o) => {
            simple(ctx(o.out)?, reads(needs(FLOW))?, latency::write)
        }
        Command::Registrars(o) => {
            simple(ctx(o.out)?, reads(needs(FLOW))?, registrars::write)
        }
        Command::Contested(o) => {
            let mut n = needs(FLOW);
            n.claims = true;
            simple(ctx(o.out)?, reads(n)?, contested::write)
        }
        Command::Reconcile { tmp_grace, out } => {
            let ctx = ctx(out.out)?;
            let ledger = reads(Needs::all())?;
            let opts = reconcile::Options {
                tmp_grace_s: tmp_grace,
            };
            let problems = reconcile::check(&ctx, &ledger, opts)?;
            reconcile::write(&ctx, &problems)?;
            Ok(reconciled(&problems))
        }
        Command::VerifyJournal(o) => {
            let ctx = ctx(o.out)?;
            let tally = verify::check(&ctx)?;
            verify::write(&ctx, &tally)?;
            Ok(chain_status(&ctx, &tally))
        }
        Command::Chart { out } => {
            let mut ctx = ctx(None)?;
            if let Some(file) = out {
                ctx.dest = Dest::File(file);
            }
            simple(ctx, reads(needs(FLOW))?, chart::write)
        }
        Command::Summary(o) => {
            let ctx = ctx(o.out)?;
            let mut n = needs(FLOW);
            n.claims = true;
            n.wanted.chain = true;
            let ledger = reads(n)?;
            summary::write(&ctx, &summary::text(&ctx, &ledger)?)?;
            Ok(report(&read_problems(&ledger)))
        }
        Command::All { out, tmp_grace } => {
            let ctx = ctx(Some(out))?;
            let opts = reconcile::Options {
                tmp_grace_s: tmp_grace,
            };
            all(&ctx, &reads(Needs::all())?, opts)
        }
    }
}

/// A report made from the ledger alone.
type Writer = fn(&Context, &Ledger) -> Result<(), Error>;

const PARSED: Wanted = Wanted {
    parsed: true,
    batches: false,
    acks: false,
    queue: false,
    chain: false,
};

/// Parsed, acknowledgement and queue events: the flow of messages.
const FLOW: Wanted = Wanted {
    parsed: true,
    batches: false,
    acks: true,
    queue: true,
    chain: false,
};

fn needs(wanted: Wanted) -> Needs {
    Needs {
        wanted,
        ..Needs::default()
    }
}

/// A report of the ledger alone: journal read problems decide the exit.
fn simple(ctx: Context, ledger: Ledger, write: Writer) -> Result<Exit, Error> {
    write(&ctx, &ledger)?;
    Ok(report(&read_problems(&ledger)))
}

fn read_problems(ledger: &Ledger) -> Vec<Problem> {
    ledger.read_problems().cloned().collect()
}

/// Name each problem on stderr; any problem makes the exit 65.
fn report(problems: &[Problem]) -> Exit {
    for p in problems {
        warn(&p.to_string());
    }
    if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::DataErr
    }
}

/// Reconcile's rows carry the problems; stderr gets one summary line.
fn reconciled(problems: &[Problem]) -> Exit {
    if problems.is_empty() {
        return Exit::Ok;
    }
    warn(&reconcile::summary_line(problems));
    Exit::DataErr
}

fn chain_status(ctx: &Context, tally: &crate::journal::Tally) -> Exit {
    match &tally.chain_break {
        None => Exit::Ok,
        Some(b) => {
            warn(&verify::describe(ctx, b));
            Exit::DataErr
        }
    }
}

/// Every report from one replay. A report that fails is named and the
/// others still run; the summary goes to standard output as well.
fn all(
    ctx: &Context,
    ledger: &Ledger,
    opts: reconcile::Options,
) -> Result<Exit, Error> {
    let mut exit = report(&read_problems(ledger));
    let mut failed = |name: &str, result: Result<Exit, Error>| match result {
        Ok(e) if e != Exit::Ok => exit = worse(exit, e),
        Ok(_) => {}
        Err(e) => {
            warn(&format!("{name}: {}", chain(&e)));
            exit = worse(exit, e.exit());
        }
    };
    failed(
        "requests",
        requests::write(ctx, ledger).map(|problems| report(&problems)),
    );
    for per in [Per::Second, Per::Minute] {
        let done = arrivals::write(ctx, ledger, per);
        failed("arrivals", done.map(|()| Exit::Ok));
    }
    let each: [(&str, Writer); 5] = [
        ("stages", stages::write),
        ("latency", latency::write),
        ("registrars", registrars::write),
        ("contested", contested::write),
        ("chart", chart::write),
    ];
    for (name, write) in each {
        failed(name, write(ctx, ledger).map(|()| Exit::Ok));
    }
    let checked = reconcile::check(ctx, ledger, opts).and_then(|problems| {
        reconcile::write(ctx, &problems)?;
        Ok(reconciled(&problems))
    });
    failed("reconcile", checked);
    let chained = verify::write(ctx, &ledger.tally)
        .map(|()| chain_status(ctx, &ledger.tally));
    failed("verify-journal", chained);
    let text = summary::text(ctx, ledger)?;
    failed("summary", summary::write(ctx, &text).map(|()| Exit::Ok));
    let stdout = Context {
        dest: Dest::Stdout,
        ..ctx.clone()
    };
    summary::write(&stdout, &text)?;
    Ok(exit)
}

/// The more serious of two outcomes.
fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Ok => 0,
        Exit::DataErr => 1,
        _ => 2,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// An error and its causes on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
