//! `triage audit show LOG --ticket ID | --decision ID`: the records of a
//! ticket (every time it was decided) or one decision, for a person.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use crate::cli::eval::{rejection_text, text, trace_text};
use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;
use triage_audit::Record;
use triage_engine::printable;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ticket", "decision"])))]
pub struct Args {
    pub log: PathBuf,
    /// Every record of this ticket id.
    #[arg(long)]
    pub ticket: Option<String>,
    /// The record with this decision id.
    #[arg(long)]
    pub decision: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let source = match super::source::Source::open(&args.log, err) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let found = triage_audit::read::files(&[source.path().to_path_buf()])
        .and_then(|files| triage_audit::read::records(&files).map(|r| (files, r)));
    let (files, (records, _)) = match found {
        Ok(found) => found,
        Err(e) => {
            let _ = writeln!(err, "error: {}", printable(&e.to_string()));
            return exit::OTHER;
        }
    };
    let matching: Vec<_> = records
        .iter()
        .filter(|(_, _, r)| match (&args.ticket, &args.decision) {
            (Some(ticket), _) => r.ticket_id() == Some(ticket.as_str()),
            (_, Some(decision)) => &r.id == decision,
            _ => false,
        })
        .collect();
    if matching.is_empty() {
        let what = match (&args.ticket, &args.decision) {
            (Some(t), _) => format!("ticket `{}`", printable(t)),
            (_, Some(d)) => format!("decision `{}`", printable(d)),
            _ => String::new(),
        };
        let _ = writeln!(
            err,
            "error: no record of {what} in `{}`",
            args.log.display()
        );
        return exit::OTHER;
    }
    if args.format == Format::Json {
        let list: Vec<&Record> = matching.iter().map(|(_, _, r)| r).collect();
        crate::cli::shared::json(&list, out);
        return exit::DECIDED;
    }
    for (file, line, record) in matching {
        let (file, line) = source.place(&files[*file], *line);
        let _ = writeln!(out, "{}", person(record, &file, line));
    }
    exit::DECIDED
}

/// One record for a person. Everything in it was read from the log, so
/// everything is written [`printable`]: neither a ticket's values nor an
/// edited line can drive the terminal.
fn person(r: &Record, file: &std::path::Path, line: usize) -> String {
    let mut s = format!(
        "decision {} (record {}, {}:{line})\n  at:        {}",
        printable(&r.id),
        r.seq,
        file.display(),
        printable(&r.at)
    );
    if !r.masked.is_empty() {
        s += &format!("\n  masked:    {}", printable(&r.masked.join(", ")));
    }
    if let Some(approval) = &r.approval {
        s += &format!("\n  approval:  {}", printable(approval));
    }
    match r.result() {
        Some(Ok(decision)) => {
            // Every field the decision looked at, once, whichever step read it.
            let reads: BTreeMap<&str, String> = decision
                .trace
                .iter()
                .flat_map(|step| step.reads.iter().map(|(k, v)| (&**k, v.to_string())))
                .collect();
            let reads: Vec<String> = reads
                .iter()
                .map(|(k, v)| format!("{} = {}", printable(k), printable(v)))
                .collect();
            s += &format!("\n  read:      {}", reads.join(", "));
            s += &format!(
                "\n{}\n{}",
                indent(&text(decision)),
                indent(&trace_text(&decision.trace))
            );
        }
        Some(Err(rejection)) => s += &format!("\n{}", indent(&rejection_text(rejection))),
        None => s += "\n  (no decision recorded)",
    }
    s
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
