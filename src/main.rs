//! The `triage` binary: parse the flags, run the subcommand, exit with its code.

use std::process::ExitCode;

use clap::Parser;

// Decisions allocate many small short-lived values; the system allocator
// spent about a sixth of a batch run in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = triage::cli::Cli::parse();
    // Not locked for the whole run: the service logs to stderr from its own
    // threads, which would wait forever on a lock this thread holds.
    let code = triage::cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
