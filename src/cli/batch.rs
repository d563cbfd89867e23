//! `triage eval --input`: the JSON Lines batch mode's files, progress bar and
//! summary around `triage_service::batch`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use super::exit;
use triage_engine::Bundle;
use triage_service::batch::{self, Options, Summary};

/// Output buffer: big writes keep the writer thread off the critical path.
const BUFFER: usize = 1 << 20;

pub(crate) fn run(
    bundle: &Bundle,
    input: &str,
    output: &str,
    workers: usize,
    mut log: Option<triage_audit::DecisionLog>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let (mut reader, size): (Box<dyn io::BufRead + Send>, Option<u64>) = if input == "-" {
        (
            Box::new(BufReader::with_capacity(BUFFER, io::stdin())),
            None,
        )
    } else {
        match File::open(input) {
            Ok(file) => {
                let size = file.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(BUFFER, file)), size)
            }
            Err(error) => {
                let _ = writeln!(err, "error: cannot read `{input}`: {error}");
                return exit::OTHER;
            }
        }
    };
    let mut file_out;
    let writer: &mut dyn Write = if output == "-" {
        out
    } else {
        match File::create(output) {
            Ok(file) => {
                file_out = BufWriter::with_capacity(BUFFER, file);
                &mut file_out
            }
            Err(error) => {
                let _ = writeln!(err, "error: cannot write `{output}`: {error}");
                return exit::OTHER;
            }
        }
    };
    let bar = progress_bar(size);
    let mut progress = |lines: u64, bytes: u64| {
        if let Some(bar) = &bar {
            match size {
                Some(_) => bar.set_position(bytes),
                None => bar.set_position(lines),
            }
        }
    };
    let options = Options { workers };
    let result = batch::run(
        bundle,
        &mut *reader,
        writer,
        &options,
        &mut progress,
        log.as_mut(),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(summary) => {
            report(&summary, err);
            if summary.evaluation_errors > 0 {
                exit::EVALUATION_ERROR
            } else if summary.invalid > 0 {
                exit::INVALID_TICKET
            } else {
                exit::DECIDED
            }
        }
        Err(error) => {
            let _ = writeln!(err, "error: batch stopped: {error}");
            exit::OTHER
        }
    }
}

/// A bar only for people: scripts and pipes get nothing but the summary.
fn progress_bar(size: Option<u64>) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} lines {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    Some(bar)
}

fn report(summary: &Summary, err: &mut dyn Write) {
    let mut s = format!(
        "{} lines: {} decided, {} invalid ({} malformed), {} evaluation errors in {:.2} s ({:.0} lines/s)",
        summary.lines,
        summary.decided,
        summary.invalid,
        summary.malformed,
        summary.evaluation_errors,
        summary.elapsed.as_secs_f64(),
        summary.throughput()
    );
    for (title, counts) in [
        ("outcome", &summary.by_outcome),
        ("vehicle", &summary.by_vehicle),
    ] {
        s += &format!("\n  by {title}:");
        for (name, n) in counts {
            s += &format!("\n    {name:<28} {n:>10}");
        }
    }
    let _ = writeln!(err, "{s}");
}
