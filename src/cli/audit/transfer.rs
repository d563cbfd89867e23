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

pub fn export(args: &ExportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if !store::is_url(&args.store) {
        let _ = writeln!(
            err,
            "error: `{}` is not a store's URL (postgres://…)",
            args.store
        );
        return exit::OTHER;
    }
    match store::export(&args.store, &args.output) {
        Ok(exported) => {
            let _ = writeln!(
                out,
                "exported {} records of {} writer(s) to {}",
                exported.records(),
                exported.writers.len(),
                args.output.display()
            );
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}

pub fn import(args: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if !store::is_url(&args.store) {
        let _ = writeln!(
            err,
            "error: `{}` is not a store's URL (postgres://…)",
            args.store
        );
        return exit::OTHER;
    }
    match store::import(&args.log, &args.store, args.writer.as_deref()) {
        Ok(count) => {
            let _ = writeln!(
                out,
                "imported {count} records into {}",
                store::redacted(&args.store)
            );
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}
