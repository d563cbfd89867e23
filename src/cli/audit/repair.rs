//! `triage audit repair LOG`: cut a torn last line (saving its bytes), then
//! report what was cut.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The log (its newest segment is the one a crash can tear).
    pub log: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match triage_audit::repair::repair(&args.log) {
        Ok(Some(r)) => {
            let _ = writeln!(
                out,
                "{}:{}: torn record removed ({} bytes, saved to {})",
                r.file.display(),
                r.line,
                r.bytes,
                r.saved_to.display()
            );
            exit::DECIDED
        }
        Ok(None) => {
            let _ = writeln!(out, "no torn record: nothing to repair");
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}
