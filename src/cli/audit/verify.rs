//! `triage audit verify LOG...`: exit 0 when every record and the chain are
//! intact, 1 otherwise, naming the first broken record's line. A log may be
//! a store's URL: every writer's chain is checked, and a break is named by
//! `URL#writer` and the writer's record number. With `--trusted-key`, the
//! signed checkpoints too (a store's, each writer's): every problem with
//! them is named, and records past the last one are counted as not yet signed.

use std::io::Write;
use std::path::PathBuf;

use super::source::{Source, open_all};
use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;
use std::collections::BTreeMap;

use triage_audit::checkpoint::{Checkpoints, Report};
use triage_audit::sign::Trusted;
use triage_audit::verify::{Verification, verify, verify_signed, verify_writers};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The logs (each with its rotated segments), checked as one chain in
    /// order; or a store's URL (`postgres://…`), each writer's chain.
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
    let sources = match open_all(&args.logs, err) {
        Ok(sources) => sources,
        Err(code) => return code,
    };
    let mut checked = match check(args, &sources) {
        Ok(checked) => checked,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    name_places(&sources, &mut checked);
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

fn check(args: &Args, sources: &[Source]) -> Result<Verification, triage_audit::AuditError> {
    let paths: Vec<PathBuf> = sources.iter().map(|s| s.path().to_path_buf()).collect();
    if args.trusted_key.is_empty() {
        return verify(&paths);
    }
    let trusted = Trusted::read(&args.trusted_key)?;
    if !sources.iter().any(Source::is_store) {
        return verify_signed(&paths, &trusted);
    }
    // A store keeps each writer's checkpoints apart; files keep theirs beside them.
    let files: Vec<PathBuf> = sources
        .iter()
        .filter(|s| !s.is_store())
        .map(|s| s.path().to_path_buf())
        .collect();
    let mut claims = BTreeMap::new();
    if !files.is_empty() {
        claims.extend(Checkpoints::read_chains(&files, &trusted)?);
    }
    for (url, kept) in sources.iter().filter_map(Source::checkpoints) {
        for (writer, documents) in kept {
            let source = PathBuf::from(format!("{url}#{writer}.checkpoints"));
            let signed = Checkpoints::of_documents(source, documents, &trusted);
            claims.insert(Some(writer), signed);
        }
    }
    verify_writers(&paths, claims)
}

fn text(checked: &Verification) -> String {
    let mut s = match &checked.broken {
        Some(b) => format!("{b}\nintact before it: {} records\n", checked.records),
        None if checked.writers.is_empty() => format!(
            "intact: {} records in {} file(s); head {}\n",
            checked.records,
            checked.files.len(),
            checked.head
        ),
        None => format!(
            "intact: {} records of {} writer(s)\n",
            checked.records,
            checked.writers.len()
        ),
    };
    if let Some(report) = &checked.checkpoints {
        s += &checkpoints(report, "");
    }
    for w in &checked.writers {
        s += &format!(
            "  writer {}: {} records; head {}\n",
            w.writer, w.records, w.head
        );
        if let Some(report) = &w.checkpoints {
            s += &checkpoints(report, &format!("  writer {}: ", w.writer));
        }
    }
    s
}

/// The problems with the checkpoints, a line each, then `prefix` and the summary.
fn checkpoints(report: &Report, prefix: &str) -> String {
    let mut s = String::new();
    for problem in &report.problems {
        s += &format!("{problem}\n");
    }
    s += &format!(
        "{prefix}checkpoints: {} good, signed through record {}",
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

/// The files and the break named as the person gave them: a store by its URL.
fn name_places(sources: &[Source], checked: &mut Verification) {
    let mut files: Vec<PathBuf> = Vec::new();
    for file in &checked.files {
        let source = sources.iter().find(|s| s.path() == file.as_path());
        let name = source.map_or_else(|| file.clone(), Source::name);
        if !files.contains(&name) {
            files.push(name);
        }
    }
    checked.files = files;
    if let Some(broken) = &mut checked.broken {
        let source = sources.iter().find(|s| s.path() == broken.file.as_path());
        if let Some(source) = source {
            (broken.file, broken.line) = source.place(&broken.file, broken.line);
        }
    }
}
