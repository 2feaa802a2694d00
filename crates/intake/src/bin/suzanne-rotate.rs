//! suzanne-rotate: move the mailbox Postfix delivers to into the spool,
//! under Postfix's own locks. Run by cron; quiet unless something is
//! wrong; exits 75 when another instance runs or the mailbox stays
//! locked.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use intake::rotate;
use spool::cli::{self, CommonArgs};
use spool::mailbox::LockPolicy;
use spool::{Exit, Spool};

/// Move the mailbox Postfix delivers to into Suzanne's spool.
#[derive(Parser, Debug)]
#[command(name = "suzanne-rotate", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,

    /// The mbox to rotate (overrides [mailbox] mbox)
    #[arg(long, value_name = "PATH")]
    mbox: Option<PathBuf>,

    /// The Maildir to take messages from (overrides [mailbox] maildir)
    #[arg(long, value_name = "PATH")]
    maildir: Option<PathBuf>,

    /// Rotate the mbox only once it holds this many bytes...
    #[arg(long, value_name = "BYTES")]
    min_bytes: Option<u64>,

    /// ...or once it is this many seconds old
    #[arg(long, value_name = "SECS")]
    min_age: Option<u64>,

    /// Seconds to wait for a busy mailbox lock before exiting 75
    #[arg(long, value_name = "SECS")]
    lock_wait: Option<u64>,

    /// Seconds after which a dotlock with no live holder is stale
    #[arg(long, value_name = "SECS")]
    stale_lock: Option<u64>,
}

/// Known limits, for the manual's BUGS section.
const BUGS: &[&str] = &[
    "The spool must be on the mailbox's file system: rotation is a \
     rename, and a copy would hold Postfix's locks for as long as the copy \
     takes. Rotation across file systems fails with a message saying so.",
    "A rotate killed while holding the mailbox leaves its dotlock behind. \
     suzanne-rotate breaks it at its next run once it is older than the \
     stale age and its process is gone, but Postfix itself reads no pid \
     and defers deliveries until the lock is 500 s old.",
    "Maildir files are numbered by modification time, then name; their \
     arrival time comes from the Received header all the same.",
];

fn main() {
    let args: Args = cli::parse_with_bugs(BUGS);
    cli::run("suzanne-rotate", || run(args));
}

fn run(args: Args) -> anyhow::Result<Exit> {
    let config = args.common.load_config()?;
    let m = &config.mailbox;
    let opts = rotate::Options {
        mbox: args.mbox.or(m.mbox.clone()),
        maildir: args.maildir.or(m.maildir.clone()),
        policy: LockPolicy {
            wait: Duration::from_secs(args.lock_wait.unwrap_or(m.lock_wait)),
            stale: Duration::from_secs(
                args.stale_lock.unwrap_or(m.stale_lock),
            ),
            ..LockPolicy::default()
        },
        min_bytes: args.min_bytes.unwrap_or(m.min_bytes),
        min_age: Duration::from_secs(args.min_age.unwrap_or(m.min_age)),
    };
    if opts.mbox.is_none() && opts.maildir.is_none() {
        bail!(spool::Error::new(
            spool::ErrorKind::Config,
            "no mailbox to rotate: give --mbox or --maildir, or set \
             [mailbox] mbox or maildir in the configuration",
        ));
    }
    let spool = Spool::open(&config.spool)?;
    let report = rotate::run(&spool, &opts)?;
    for note in &report.notes {
        cli::info(note);
    }
    for (i, batch) in report.batches.iter().enumerate() {
        let hold = report
            .hold
            .get(i)
            .map(|d| format!(" hold_us={}", d.as_micros()))
            .unwrap_or_default();
        cli::info(&format!("rotated batch={}{hold}", batch.name));
    }
    Ok(Exit::Ok)
}
