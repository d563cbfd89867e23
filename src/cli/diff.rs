//! `triage diff --base DIR --head DIR --tickets FILE.jsonl`: what a policy
//! change does to real tickets. With `--fail-on-change`, exit 1 when any
//! decision changes (a gate for policy pull requests).

use std::fmt::Write as _;
use std::io::{BufReader, Write};
use std::path::PathBuf;

use super::shared::exit;
use triage_audit::diff::{Impact, impact};
use triage_audit::report::md;
use triage_engine::printable;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle before the change.
    #[arg(long)]
    pub base: PathBuf,
    /// The bundle after the change.
    #[arg(long)]
    pub head: PathBuf,
    /// Tickets, one JSON object a line: bare tickets or decision log records;
    /// or a store's URL (`postgres://…`), its records.
    #[arg(long)]
    pub tickets: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Example tickets listed per transition.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Exit 1 when any decision changes.
    #[arg(long)]
    pub fail_on_change: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Json,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let base = match super::shared::load(&args.base, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    let head = match super::shared::load(&args.head, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    let source = match super::audit::source::Source::open(&args.tickets, err) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let input = match std::fs::File::open(source.path()) {
        Ok(file) => BufReader::with_capacity(1 << 20, file),
        Err(e) => {
            let _ = writeln!(err, "error: cannot open `{}`: {e}", args.tickets.display());
            return exit::OTHER;
        }
    };
    let result = match impact(&base, &head, input, args.examples) {
        Ok(result) => result,
        Err(e) => {
            let _ = writeln!(err, "error: cannot read `{}`: {e}", args.tickets.display());
            return exit::OTHER;
        }
    };
    let _ = match args.format {
        Format::Json => {
            crate::cli::shared::json(&result, out);
            Ok(())
        }
        Format::Text => write!(out, "{}", text(&result)),
        Format::Md => write!(out, "{}", markdown(&result)),
    };
    if args.fail_on_change && result.changed > 0 {
        exit::OTHER
    } else {
        exit::DECIDED
    }
}

fn text(r: &Impact) -> String {
    let mut s = format!(
        "base {} {} ({})\nhead {} {} ({})\n{} tickets, {} decisions change",
        r.base.name,
        r.base.version,
        r.base.digest,
        r.head.name,
        r.head.version,
        r.head.digest,
        r.tickets,
        r.changed
    );
    if r.unreadable > 0 {
        let _ = write!(
            s,
            ", {} lines unreadable (lines {:?})",
            r.unreadable, r.unreadable_lines
        );
    }
    s.push('\n');
    for t in &r.transitions {
        let _ = writeln!(s, "\n  {} -> {}: {}", t.before, t.after, t.count);
        for rule in &t.rules {
            let _ = writeln!(
                s,
                "    rule {} -> {}: {}",
                rule.before, rule.after, rule.count
            );
        }
        if !t.examples.is_empty() {
            // Ticket ids: the tickets' own, so written printable.
            let _ = writeln!(s, "    e.g. {}", printable(&t.examples.join(", ")));
        }
    }
    s
}

/// The impact as Markdown, every value escaped by [`md`] so that no ticket
/// id can forge a row.
fn markdown(r: &Impact) -> String {
    let mut s = format!(
        "## Policy impact: {} {} → {} {}\n\n**{}** of {} tickets change decision.\n",
        md(&r.base.name),
        md(&r.base.version),
        md(&r.head.name),
        md(&r.head.version),
        r.changed,
        r.tickets
    );
    if r.unreadable > 0 {
        let _ = writeln!(s, "\n{} lines hold no ticket.", r.unreadable);
    }
    if !r.transitions.is_empty() {
        s += "\n| before | after | tickets | rules (before → after) | examples |\n|---|---|---:|---|---|\n";
        for t in &r.transitions {
            let rules: Vec<String> = t
                .rules
                .iter()
                .map(|x| format!("`{}` → `{}` ({})", md(&x.before), md(&x.after), x.count))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                md(&t.before),
                md(&t.after),
                t.count,
                rules.join("<br>"),
                md(&t.examples.join(", "))
            );
        }
    }
    s
}
