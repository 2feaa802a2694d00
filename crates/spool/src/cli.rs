//! The command-line glue every binary shares: argument parsing with the
//! sysexits codes, one error-reporting path that prefixes the program name,
//! quiet success, and `tool | head` ending with status 0.

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Parser;

use crate::config::Config;
use crate::error::Error;
use crate::exit::Exit;

static PROGRAM: OnceLock<String> = OnceLock::new();

/// The options every program takes (the design's command-line contract).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CommonArgs {
    /// Configuration file [default: $SUZANNE_CONFIG, else
    /// /etc/suzanne/suzanne.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Spool directory (overrides the configuration's `spool`)
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Report each event on stderr, not only trouble
    #[arg(short, long)]
    pub verbose: bool,
}

impl CommonArgs {
    /// Load the configuration these options name, with `--spool` applied.
    pub fn load_config(&self) -> crate::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.spool {
            config.spool = dir.clone();
        }
        if self.verbose {
            VERBOSE.get_or_init(|| true);
        }
        Ok(config)
    }
}

static VERBOSE: OnceLock<bool> = OnceLock::new();

/// The name errors and warnings start with.
pub fn program() -> &'static str {
    PROGRAM.get().map(String::as_str).unwrap_or("suzanne")
}

/// Print one line on stderr, prefixed with the program name.
pub fn warn(line: &str) {
    eprintln!("{}: {line}", program());
}

/// Print one line on stderr only when `--verbose` was given.
pub fn info(line: &str) {
    if VERBOSE.get().copied().unwrap_or(false) {
        warn(line);
    }
}

/// Parse the command line; a usage error exits 64, `--help` exits 0.
/// `--man` prints the program's manual page (roff), made from the same
/// definition as `--help`, with `bugs` as its BUGS section.
pub fn parse<T: Parser>() -> T {
    parse_with_bugs(&[])
}

/// [`parse`], with the known limits listed in the manual's BUGS section.
pub fn parse_with_bugs<T: Parser>(bugs: &[&str]) -> T {
    if std::env::args().nth(1).as_deref() == Some("--man") {
        let code = match print_man(T::command(), bugs) {
            Ok(()) => Exit::Ok,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok,
            Err(_) => Exit::Software,
        };
        std::process::exit(code.code());
    }
    match T::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // Printing help into a closed pipe is not worth a complaint.
            let _ = err.print();
            std::process::exit(code.code());
        }
    }
}

fn print_man(cmd: clap::Command, bugs: &[&str]) -> io::Result<()> {
    use std::io::Write;
    let man = clap_mangen::Man::new(cmd);
    let mut out = io::stdout().lock();
    man.render(&mut out)?;
    if !bugs.is_empty() {
        writeln!(out, ".SH BUGS")?;
        for bug in bugs {
            writeln!(out, ".PP\n{}", bug.replace('\\', "\\\\"))?;
        }
    }
    Ok(())
}

/// Run a program's body and exit with the status its outcome maps to.
/// Errors are printed once, as `program: message: cause`.
pub fn run<F>(program: &str, body: F) -> !
where
    F: FnOnce() -> anyhow::Result<Exit>,
{
    let _ = PROGRAM.set(program.to_string());
    let exit = match body() {
        Ok(exit) => exit,
        Err(err) if is_broken_pipe(&err) => Exit::Ok,
        // Overlapping cron runs are normal: exit 75 without a word, so
        // cron mails nothing (with -v, say why).
        Err(err) if is_running(&err) => {
            info(&format!("{err:#}"));
            Exit::TempFail
        }
        Err(err) => {
            warn(&format!("{err:#}"));
            exit_for(&err)
        }
    };
    std::process::exit(exit.code());
}

/// The exit status an error chain maps to.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.exit();
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return Exit::Usage;
        }
    }
    Exit::Software
}

fn is_running(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<Error>()
            .is_some_and(|e| e.kind() == crate::ErrorKind::Running)
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Escape untrusted text (subjects, addresses) for a one-line log event:
/// control characters, backslashes, quotes and non-ASCII become escapes,
/// so a header cannot forge a log line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => out.extend(c.escape_default()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_masks_line_breaks_and_quotes() {
        assert_eq!(escape("a\r\nb\"c\\"), "a\\r\\nb\\\"c\\\\");
        assert_eq!(escape("café"), "caf\\u{e9}");
    }
}
