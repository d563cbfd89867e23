//! The command line: one file and one function per subcommand. Each takes its
//! arguments and writers and returns the process exit code, so tests call them
//! without spawning a process.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use triage_engine::{Bundle, BundleError, Diagnostics};

pub mod audit;
mod batch;
pub mod check;
pub mod diff;
pub mod eval;
mod explain;
pub mod r#gen;
mod input;
pub mod schema;
pub mod serve;
pub mod test;

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
    /// Load and validate a bundle and report every problem, without deciding anything.
    #[command(
        after_help = "Exit codes:\n  0  no errors (and no warnings, with --deny-warnings)\n  3  errors, or warnings with --deny-warnings"
    )]
    Check(check::Args),
    /// Run the policy test suites in the bundle's `tests/` directory, with coverage.
    #[command(after_help = test::EXIT_CODES)]
    Test(test::Args),
    /// Print a JSON Schema: `policy` or `suite` for editors, `ticket` for services.
    Schema(schema::Args),
    /// Check, replay, show and summarise decision logs.
    Audit(audit::Args),
    /// Decide tickets with two bundles and report what changes.
    Diff(diff::Args),
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

/// The decision log options, shared by every subcommand that decides.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Append a hash-chained record of every decision to this log.
    #[arg(long, value_name = "PATH", env = "TRIAGE_DECISION_LOG")]
    pub decision_log: Option<PathBuf>,
    /// `every`: sync to disk after each record; `batch`: every `--log-batch` records.
    #[arg(long, value_enum, default_value_t = LogFlush::Every)]
    pub log_flush: LogFlush,
    /// Records per sync with `--log-flush batch`.
    #[arg(long, default_value_t = 256)]
    pub log_batch: u32,
    /// Start a new segment of the log (keeping the chain) past this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub log_max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFlush {
    Every,
    Batch,
}

impl LogArgs {
    /// Opens the log if one was asked for, printing why it cannot be opened.
    pub fn open(&self, err: &mut dyn Write) -> Result<Option<triage_audit::DecisionLog>, u8> {
        let Some(path) = &self.decision_log else {
            return Ok(None);
        };
        let options = triage_audit::LogOptions {
            flush: match self.log_flush {
                LogFlush::Every => triage_audit::Flush::EveryRecord,
                LogFlush::Batch => triage_audit::Flush::Batch(self.log_batch),
            },
            max_bytes: self.log_max_bytes,
        };
        triage_audit::DecisionLog::open(path, options)
            .map(Some)
            .map_err(|e| {
                let _ = writeln!(err, "error: {e}");
                exit::OTHER
            })
    }
}

pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match cli.command {
        Command::Eval(args) => eval::run(&args, out, err),
        Command::Check(args) => check::run(&args, out, err),
        Command::Test(args) => test::run(&args, out, err),
        Command::Schema(args) => schema::run(&args, out, err),
        Command::Audit(args) => audit::run(&args, out, err),
        Command::Diff(args) => diff::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, out, err),
        Command::Gen(args) => r#gen::run(&args, out, err),
    }
}

/// Loads the bundle, printing every problem when it is invalid.
/// Loads the bundle in `dir`, or reports why not and gives the exit code.
pub(crate) fn load(dir: &Path, err: &mut dyn Write) -> Result<Bundle, u8> {
    Bundle::load(dir).map_err(|error| {
        report_bundle_error(&error, err);
        exit::INVALID_POLICY
    })
}

pub(crate) fn report_bundle_error(error: &BundleError, err: &mut dyn Write) {
    for report in error.error_reports() {
        let _ = writeln!(err, "{report:?}");
    }
    let _ = writeln!(err, "{error}");
}
