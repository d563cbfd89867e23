//! `triage audit verify LOG...`: exit 0 when every record and the chain are
//! intact, 1 otherwise, naming the first broken record's line. With
//! `--trusted-key`, the signed checkpoints too: every problem with them is
//! named, and records past the last one are counted as not yet signed.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;
use triage_audit::checkpoint::Report;
use triage_audit::sign::Trusted;
use triage_audit::verify::{Verification, verify, verify_signed};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The logs (each with its rotated segments), checked as one chain in order.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Check the logs' signed checkpoints against these public keys
    /// (`.pub` files): a checkpoint signed by another key is refused.
    #[arg(long, value_name = "PUBFILE", num_args = 1..)]
    pub trusted_key: Vec<PathBuf>,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let checked = match check(args) {
        Ok(checked) => checked,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    if args.format == Format::Json {
        crate::cli::shared::json(&checked, out);
    } else {
        let _ = write!(out, "{}", text(&checked));
    }
    if checked.intact() {
        exit::DECIDED
    } else {
        exit::OTHER
    }
}

fn check(args: &Args) -> Result<Verification, triage_audit::AuditError> {
    if args.trusted_key.is_empty() {
        return verify(&args.logs);
    }
    verify_signed(&args.logs, &Trusted::read(&args.trusted_key)?)
}

fn text(checked: &Verification) -> String {
    let mut s = match &checked.broken {
        Some(b) => format!("{b}\nintact before it: {} records\n", checked.records),
        None => format!(
            "intact: {} records in {} file(s); head {}\n",
            checked.records,
            checked.files.len(),
            checked.head
        ),
    };
    if let Some(report) = &checked.checkpoints {
        s += &checkpoints(report);
    }
    s
}

fn checkpoints(report: &Report) -> String {
    let mut s = String::new();
    for problem in &report.problems {
        s += &format!("{problem}\n");
    }
    s += &format!(
        "checkpoints: {} good, signed through record {}",
        report.good, report.signed_through
    );
    if report.unreached > 0 {
        s += &format!("; {} past the break, not compared", report.unreached);
    }
    if report.unsigned > 0 {
        s += &format!("; {} records after it not yet signed", report.unsigned);
    }
    s + "\n"
}
