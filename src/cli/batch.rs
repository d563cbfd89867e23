//! `triage eval --input`: the JSON Lines batch mode's files, progress bar and
//! summary around `triage_service::batch`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use super::shared::exit;
use triage_engine::Bundle;
use triage_service::batch::{self, Options, Summary};

/// Output buffer: big writes keep the writer thread off the critical path.
const BUFFER: usize = 1 << 20;

pub(crate) fn run(
    bundle: &Bundle,
    input: &str,
    output: &str,
    options: Options,
    log: Option<std::sync::Arc<dyn triage_audit::Journal>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some((mut reader, size)) = open_input(input, err) else {
        return exit::OTHER;
    };
    let mut file_out;
    let writer: &mut dyn Write = if output == "-" {
        out
    } else {
        match open_output(output, err) {
            Some(file) => {
                file_out = file;
                &mut file_out
            }
            None => return exit::OTHER,
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
    // The batch's writer thread records through the log it is lent.
    let result = batch::run(
        bundle,
        &mut *reader,
        writer,
        &options,
        &mut progress,
        log.as_deref(),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    finish(result, err)
}

/// The input to read (`-`: standard input) and its size when it is a file
/// (for the progress bar), or `None` once the error is printed.
fn open_input(
    input: &str,
    err: &mut dyn Write,
) -> Option<(Box<dyn io::BufRead + Send>, Option<u64>)> {
    if input == "-" {
        return Some((
            Box::new(BufReader::with_capacity(BUFFER, io::stdin())),
            None,
        ));
    }
    match File::open(input) {
        Ok(file) => {
            let size = file.metadata().ok().map(|m| m.len());
            Some((Box::new(BufReader::with_capacity(BUFFER, file)), size))
        }
        Err(error) => {
            let _ = writeln!(err, "error: cannot read `{input}`: {error}");
            None
        }
    }
}

/// The output file, or `None` once the error is printed.
fn open_output(output: &str, err: &mut dyn Write) -> Option<BufWriter<File>> {
    match File::create(output) {
        Ok(file) => Some(BufWriter::with_capacity(BUFFER, file)),
        Err(error) => {
            let _ = writeln!(err, "error: cannot write `{output}`: {error}");
            None
        }
    }
}

/// Prints the summary (or why the run stopped) and gives the exit code.
fn finish(result: io::Result<Summary>, err: &mut dyn Write) -> u8 {
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
