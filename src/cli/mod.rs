//! The command line: one file and one function per subcommand. Each takes its
//! arguments and writers and returns the process exit code, so tests call them
//! without spawning a process.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{Bundle, BundleError};

mod batch;
pub mod eval;
pub mod r#gen;
mod input;
pub mod serve;

/// Exit codes, the same for every subcommand.
pub mod exit {
    /// Every ticket was decided.
    pub const DECIDED: u8 = 0;
    /// Anything else went wrong: I/O, usage.
    pub const OTHER: u8 = 1;
    /// At least one ticket was invalid.
    pub const INVALID_TICKET: u8 = 2;
    /// The policy bundle is invalid.
    pub const INVALID_POLICY: u8 = 3;
    /// A rule failed at run time for at least one ticket.
    pub const EVALUATION_ERROR: u8 = 4;
}

const EXIT_CODES: &str = "\
Exit codes:
  0  every ticket decided
  1  anything else: I/O, usage
  2  an invalid ticket (every problem is printed)
  3  an invalid policy bundle (every problem is printed, with file:line:col)
  4  an evaluation error (a rule failed at run time)
When several apply, the first in the order 3, 1, 4, 2 wins.";

#[derive(Debug, Parser)]
#[command(name = "triage", version, about = "Decide what happens next with a support ticket, by the rules of a YAML policy bundle", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide tickets: one per file, or a JSON/YAML array of them.
    #[command(after_help = EXIT_CODES)]
    Eval(eval::Args),
    /// Run the HTTP evaluation service, reloading the bundle when it changes.
    Serve(serve::Args),
    /// Generate test data from the bundle's schema (deterministic per seed).
    Gen(r#gen::Args),
}

/// Where the policy bundle is, shared by every subcommand that needs one.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// The policy bundle directory.
    #[arg(long, env = "TRIAGE_POLICIES", default_value = "policies")]
    pub policies: PathBuf,
}

pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match cli.command {
        Command::Eval(args) => eval::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, out, err),
        Command::Gen(args) => r#gen::run(&args, out, err),
    }
}

/// Loads the bundle, printing every problem when it is invalid.
pub(crate) fn load(args: &PolicyArgs, err: &mut dyn Write) -> Result<Bundle, u8> {
    Bundle::load(&args.policies).map_err(|error| {
        report_bundle_error(&error, err);
        exit::INVALID_POLICY
    })
}

pub(crate) fn report_bundle_error(error: &BundleError, err: &mut dyn Write) {
    for report in error.reports() {
        let _ = writeln!(err, "{report:?}");
    }
    let _ = writeln!(err, "{error}");
}
