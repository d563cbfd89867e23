//! `triage audit export STORE --output FILE` and `triage audit import FILE
//! STORE`: a store to the JSON Lines record format (every writer, with the
//! archived bundles beside the file) and back.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::exit;
use triage_audit::store;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The store's URL (`postgres://…`).
    pub store: String,
    /// The log file to write (replaced), its bundles in `FILE.bundles/`.
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The log to load (with its rotated segments and archive); it must verify.
    pub log: PathBuf,
    /// The store's URL (`postgres://…`).
    pub store: String,
    /// The writer for records that name none (those of a file log).
    #[arg(long)]
    pub writer: Option<String>,
}

/// Prints the outcome of a transfer (and the problems `done` names beside
/// it) and gives the exit code; refuses a store that is not a URL before
/// anything runs.
fn transfer<T>(
    store: &str,
    run: impl FnOnce() -> Result<T, triage_audit::AuditError>,
    done: impl FnOnce(T) -> (String, Vec<String>),
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if !store::is_url(store) {
        let _ = writeln!(err, "error: `{store}` is not a store's URL (postgres://…)");
        return exit::OTHER;
    }
    match run() {
        Ok(value) => {
            let (summary, problems) = done(value);
            let _ = writeln!(out, "{summary}");
            for problem in &problems {
                let _ = writeln!(err, "error: {problem}");
            }
            if problems.is_empty() {
                exit::DECIDED
            } else {
                exit::OTHER
            }
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}

pub fn export(args: &ExportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    transfer(
        &args.store,
        || store::export(&args.store, &args.output),
        |exported| {
            let summary = format!(
                "exported {} records of {} writer(s) to {}",
                exported.records(),
                exported.writers.len(),
                args.output.display()
            );
            let url = store::redacted(&args.store);
            let unreadable = exported.unreadable.iter().map(|row| {
                format!("{url}#{row}; written in its place as lines that are not records")
            });
            (summary, unreadable.collect())
        },
        out,
        err,
    )
}

pub fn import(args: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    transfer(
        &args.store,
        || store::import(&args.log, &args.store, args.writer.as_deref()),
        |count| {
            let summary = format!(
                "imported {count} records into {}",
                store::redacted(&args.store)
            );
            (summary, Vec::new())
        },
        out,
        err,
    )
}
