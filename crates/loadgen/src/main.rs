//! suzanne-loadgen: generate a landrush, send it, verify a spool. The
//! work is in the library; see `suzanne-loadgen --help`.

fn main() {
    let cli = spool::cli::parse::<loadgen::cli::Cli>();
    spool::cli::run("suzanne-loadgen", || loadgen::cli::run(cli));
}
