//! `triage audit replay LOG [--policies DIR]`: decide every logged ticket
//! again. Without `--policies`, with the archived bundle that decided it:
//! exit 0 when every decision is identical, 1 otherwise. With `--policies`,
//! with that bundle: reports what would change (exit 0).

use std::io::Write;
use std::path::PathBuf;

use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub log: PathBuf,
    /// Decide with this bundle instead of the archived ones.
    #[arg(long)]
    pub policies: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match &args.policies {
        Some(dir) => match crate::cli::shared::load(dir, err) {
            Ok(bundle) => Some(bundle),
            Err(code) => return code,
        },
        None => None,
    };
    let source = match super::source::Source::open(&args.log, err) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let replay = match triage_audit::replay::replay(&source.path().to_path_buf(), bundle.as_ref()) {
        Ok(replay) => replay,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    if args.format == Format::Json {
        crate::cli::shared::json(&replay, out);
    } else {
        let verb = if bundle.is_some() {
            "would change"
        } else {
            "differ"
        };
        let _ = writeln!(
            out,
            "replayed {} records: {} identical, {} {verb}, {} skipped",
            replay.records,
            replay.identical,
            replay.different.len(),
            replay.skipped.len()
        );
        if replay.not_tickets > 0 {
            let _ = writeln!(
                out,
                "  {} records of inputs that were not tickets (nothing to replay)",
                replay.not_tickets
            );
        }
        for d in &replay.different {
            let _ = writeln!(
                out,
                "  {}:{} {} ({}): {} [{}] -> {} [{}]",
                d.file.display(),
                d.line,
                d.ticket_id.as_deref().unwrap_or("(no id)"),
                d.decision_id,
                d.before.label,
                d.before.rule,
                d.after.label,
                d.after.rule
            );
        }
        for s in &replay.skipped {
            let _ = writeln!(out, "  skipped {s}");
        }
    }
    let faithful = replay.different.is_empty() && replay.skipped.is_empty();
    if bundle.is_some() || faithful {
        exit::DECIDED
    } else {
        exit::OTHER
    }
}
