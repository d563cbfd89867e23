//! The `triage` binary: parse the flags, run the subcommand, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = triage::cli::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = triage::cli::run(cli, &mut stdout.lock(), &mut stderr.lock());
    ExitCode::from(code)
}
