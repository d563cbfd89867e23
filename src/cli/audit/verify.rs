//! `triage audit verify LOG...`: exit 0 when every record and the chain are
//! intact, 1 otherwise, naming the first broken record's line. A log may be
//! a store's URL: every writer's chain is checked, and a break is named by
//! `URL#writer` and the writer's record number.

use std::io::Write;
use std::path::PathBuf;

use super::source::{Source, open_all};
use crate::cli::shared::TextOrJson as Format;
use crate::cli::shared::exit;
use triage_audit::verify::{Verification, verify};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The logs (each with its rotated segments), checked as one chain in
    /// order; or a store's URL (`postgres://…`), each writer's chain.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let sources = match open_all(&args.logs, err) {
        Ok(sources) => sources,
        Err(code) => return code,
    };
    let paths: Vec<PathBuf> = sources.iter().map(|s| s.path().to_path_buf()).collect();
    let mut checked = match verify(&paths) {
        Ok(checked) => checked,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    name_places(&sources, &mut checked);
    if args.format == Format::Json {
        crate::cli::shared::json(&checked, out);
    } else if let Some(b) = &checked.broken {
        let _ = writeln!(out, "{b}\nintact before it: {} records", checked.records);
    } else if checked.writers.is_empty() {
        let _ = writeln!(
            out,
            "intact: {} records in {} file(s); head {}",
            checked.records,
            checked.files.len(),
            checked.head
        );
    } else {
        let (records, writers) = (checked.records, checked.writers.len());
        let _ = writeln!(out, "intact: {records} records of {writers} writer(s)");
        for w in &checked.writers {
            let _ = writeln!(
                out,
                "  writer {}: {} records; head {}",
                w.writer, w.records, w.head
            );
        }
    }
    if checked.broken.is_some() {
        exit::OTHER
    } else {
        exit::DECIDED
    }
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
