//! suzanne-stats: the reports. See `suzanne-stats --help`.

use stats::cli::{self, Cli};

fn main() {
    let Cli(args) = spool::cli::parse_with_bugs::<Cli>(cli::BUGS);
    spool::cli::run("suzanne-stats", || {
        cli::run(args).map_err(stats::Error::into_anyhow)
    })
}
