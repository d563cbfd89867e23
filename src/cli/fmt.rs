//! `triage fmt`: every policy and suite file of a bundle in the canonical
//! layout, comments kept; `--check` only lists the files it would change.

use std::io::Write;
use std::path::PathBuf;

use triage_engine::format;

use super::shared::exit;

/// Exit codes of `triage fmt`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every file is (now) in the canonical layout
  1  with --check: a file would change; or a file could not be read, written or formatted";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle directory: its `*.yaml` and `tests/*.yaml` are formatted.
    #[arg(default_value = "policies")]
    pub dir: PathBuf,
    /// Change nothing: list the files that are not in the canonical layout, and fail if there are any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let names = match format::bundle_files(&args.dir) {
        Ok(names) => names,
        Err(error) => {
            let _ = writeln!(err, "error: cannot read {}: {error}", args.dir.display());
            return exit::OTHER;
        }
    };
    let (mut changed, mut failed) = (0, 0);
    for name in &names {
        let path = args.dir.join(name);
        let result = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read it: {error}"))
            .and_then(|text| {
                format::format(format::kind_of(name), &text)
                    .map(|formatted| (formatted != text).then_some(formatted))
                    .map_err(|error| error.to_string())
            });
        match result {
            Ok(None) => {}
            Ok(Some(_)) if args.check => {
                changed += 1;
                let _ = writeln!(out, "would reformat {name}");
            }
            Ok(Some(formatted)) => match std::fs::write(&path, formatted) {
                Ok(()) => {
                    changed += 1;
                    let _ = writeln!(out, "formatted {name}");
                }
                Err(error) => {
                    failed += 1;
                    let _ = writeln!(err, "error: {name}: cannot write it: {error}");
                }
            },
            Err(message) => {
                failed += 1;
                let _ = writeln!(err, "error: {name}: {message}");
            }
        }
    }
    let verb = if args.check {
        "would change"
    } else {
        "changed"
    };
    let _ = writeln!(
        out,
        "{} files, {changed} {verb}, {failed} not formatted",
        names.len()
    );
    if failed > 0 || (args.check && changed > 0) {
        exit::OTHER
    } else {
        exit::DECIDED
    }
}
