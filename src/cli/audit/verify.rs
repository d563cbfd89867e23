//! `triage audit verify LOG...`: exit 0 when every record and the chain are
//! intact, 1 otherwise, naming the first broken record's line.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;
use triage_audit::verify::verify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The logs (each with its rotated segments), checked as one chain in order.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let checked = match verify(&args.logs) {
        Ok(checked) => checked,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    if args.format == Format::Json {
        crate::cli::shared::json(&checked, out);
    } else if let Some(b) = &checked.broken {
        let _ = writeln!(out, "{b}\nintact before it: {} records", checked.records);
    } else {
        let _ = writeln!(
            out,
            "intact: {} records in {} file(s); head {}",
            checked.records,
            checked.files.len(),
            checked.head
        );
    }
    if checked.broken.is_some() {
        exit::OTHER
    } else {
        exit::DECIDED
    }
}
