//! `triage audit repair LOG`: cut torn records out (saving their bytes),
//! then report what was cut.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The log (every segment of it is repaired).
    pub log: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if args.log.to_str().is_some_and(triage_audit::store::is_url) {
        // Each commit is whole: a store has no torn record to cut.
        let _ = writeln!(
            out,
            "a store's records are written whole: nothing to repair"
        );
        return exit::DECIDED;
    }
    match triage_audit::repair::repair(&args.log) {
        Ok(repaired) if repaired.is_empty() => {
            let _ = writeln!(out, "no torn record: nothing to repair");
            exit::DECIDED
        }
        Ok(repaired) => {
            for r in repaired {
                let _ = writeln!(
                    out,
                    "{}:{}: torn record removed ({} bytes, saved to {})",
                    r.file.display(),
                    r.line,
                    r.bytes,
                    r.saved_to.display()
                );
            }
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}
