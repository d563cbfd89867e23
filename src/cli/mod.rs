//! The command line: one file and one function per subcommand. Each takes its
//! arguments and writers and returns the process exit code, so tests call them
//! without spawning a process.

use std::io::Write;

use clap::{Parser, Subcommand};

pub mod approve;
pub mod audit;
mod batch;
pub mod check;
pub mod diff;
pub mod eval;
mod explain;
pub mod fmt;
pub mod r#gen;
mod input;
pub mod keygen;
pub mod plan;
pub mod schema;
pub mod serve;
pub mod shared;
pub mod table;
pub mod test;
pub mod workbench;

pub use shared::exit;

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
    /// Validate a bundle, report every problem, and prove exactly that every valid ticket gets a decision.
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
    /// The exact change between two bundles: the classes of tickets whose decision changes.
    #[command(after_help = plan::EXIT_CODES)]
    Plan(plan::Args),
    /// The decision table: for each rule and path step, the classes of tickets it decides.
    #[command(after_help = table::EXIT_CODES)]
    Table(table::Args),
    /// Run the HTTP evaluation service, reloading the bundle when it changes.
    Serve(serve::Args),
    /// Open the workbench on a draft bundle: try tickets, read the policy as a table, review a change (loopback only, reloads on save).
    Workbench(workbench::Args),
    /// Generate test data from the bundle's schema (deterministic per seed).
    Gen(r#gen::Args),
    /// Write every policy and suite file in the canonical layout, comments kept (`--check` for CI).
    #[command(after_help = fmt::EXIT_CODES)]
    Fmt(fmt::Args),
    /// Write a new Ed25519 key pair: PREFIX.key (private) and PREFIX.pub.
    Keygen(keygen::Args),
    /// Sign a bundle's digest with its plan and suite results, for `serve --require-approval`.
    #[command(after_help = approve::EXIT_CODES)]
    Approve(approve::Args),
}

pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match cli.command {
        Command::Eval(args) => eval::run(&args, out, err),
        Command::Check(args) => check::run(&args, out, err),
        Command::Test(args) => test::run(&args, out, err),
        Command::Schema(args) => schema::run(&args, out, err),
        Command::Audit(args) => audit::run(&args, out, err),
        Command::Diff(args) => diff::run(&args, out, err),
        Command::Plan(args) => plan::run(&args, out, err),
        Command::Table(args) => table::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, out, err),
        Command::Workbench(args) => workbench::run(&args, out, err),
        Command::Gen(args) => r#gen::run(&args, out, err),
        Command::Fmt(args) => fmt::run(&args, out, err),
        Command::Keygen(args) => keygen::run(&args, out, err),
        Command::Approve(args) => approve::run(&args, out, err),
    }
}
