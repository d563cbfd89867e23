//! `triage audit report LOG --format html|md|json`.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::exit;
use triage_audit::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub log: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Md,
    Json,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let source = match super::source::Source::open(&args.log, err) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let r = match report::report(&source.path().to_path_buf()) {
        Ok(r) => report::LogReport {
            log: source.name().display().to_string(),
            ..r
        },
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    match args.format {
        Format::Json => crate::cli::shared::json(&r, out),
        Format::Md => {
            let _ = write!(out, "{}", report::markdown(&r));
        }
        Format::Html => {
            let _ = write!(out, "{}", triage_audit::html::html(&r));
        }
    }
    exit::DECIDED
}
