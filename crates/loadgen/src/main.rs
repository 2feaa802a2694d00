//! suzanne-loadgen: generate a landrush, send it, verify a spool. The
//! work is in the library; see `suzanne-loadgen --help` and `--man`.

fn main() {
    let cli =
        spool::cli::parse_with_bugs::<loadgen::cli::Cli>(loadgen::cli::BUGS);
    spool::cli::run("suzanne-loadgen", || loadgen::cli::run(cli));
}
