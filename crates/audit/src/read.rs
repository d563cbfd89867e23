//! Reading a log back: its segments in order, line by line.
//!
//! Rotation: the log `dir/decisions.jsonl` is the segment written to; when it
//! would grow past the size limit it is renamed `dir/decisions.<N>.jsonl`
//! (N = 1, 2, … oldest first, never renamed again) and a new
//! `decisions.jsonl` continues the chain. Readers walk the numbered segments
//! in order of N, then the current one, as one chain.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::AuditError;

/// The log a segment belongs to: `decisions.3.jsonl` → `decisions.jsonl`,
/// when that exists; any other path is its own base.
pub fn base(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let parts: Vec<&str> = name.rsplitn(3, '.').collect();
    if let [ext, number, stem] = parts[..] {
        let candidate = path.with_file_name(format!("{stem}.{ext}"));
        if number.parse::<u64>().is_ok() && candidate.exists() {
            return candidate;
        }
    }
    path.to_path_buf()
}

/// The name of rotated segment `n` of `base`.
pub fn segment_name(base: &Path, n: u64) -> PathBuf {
    let name = base
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    match name.rsplit_once('.') {
        Some((stem, ext)) => base.with_file_name(format!("{stem}.{n}.{ext}")),
        None => base.with_file_name(format!("{name}.{n}")),
    }
}

/// The rotated segments of `base` as `(n, path)`, oldest first.
pub fn rotated(base: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let dir = match base.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = base
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (format!("{stem}."), format!(".{ext}")),
        None => (format!("{name}."), String::new()),
    };
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(AuditError::io("list", &dir)(e)),
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let number = file
            .strip_prefix(&stem)
            .and_then(|rest| rest.strip_suffix(&ext))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
            found.push((n, base.with_file_name(file)));
        }
    }
    found.sort();
    Ok(found)
}

/// The files of the log at `path` that exist, in chain order: its rotated
/// segments, then the log itself.
pub fn segments(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let mut files: Vec<PathBuf> = rotated(path)?.into_iter().map(|(_, p)| p).collect();
    if path.exists() {
        files.push(path.to_path_buf());
    }
    Ok(files)
}

/// Every file of the logs named, in chain order: a log's rotated segments,
/// then the log itself. A path that is itself a rotated segment stands alone.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, AuditError> {
    let mut all = Vec::new();
    for path in paths {
        if base(path) == *path {
            all.extend(rotated(path)?.into_iter().map(|(_, p)| p));
        }
        if !path.exists() {
            return Err(AuditError::io("open", path)(std::io::Error::from(
                std::io::ErrorKind::NotFound,
            )));
        }
        all.push(path.clone());
    }
    Ok(all)
}

/// The most bytes of a line the readers keep: far more than any record
/// (a ticket is at most a few MiB, its trace bounded by the bundle), far
/// less than a damaged file can hold (a crash can leave a run of zeros with
/// no line feed). The rest of a longer line is read past, not kept, so that
/// reading a log (as the service does to open it or search it) never holds
/// more than this of it.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// One line of a log file.
pub struct Line {
    /// Index into the list of files.
    pub file: usize,
    /// 1-based.
    pub number: usize,
    /// The line's bytes without its line feed; only the first
    /// [`MAX_LINE_BYTES`] when `cut_short`.
    pub text: Vec<u8>,
    /// Ended by a line feed (the last line of a torn log is not).
    pub complete: bool,
    /// Longer than [`MAX_LINE_BYTES`], so no record: `text` holds its start.
    pub cut_short: bool,
}

/// Calls `each` for every line of `files`, in order; stops when it returns
/// false. Each line is kept up to [`MAX_LINE_BYTES`].
pub fn lines(files: &[PathBuf], each: impl FnMut(Line) -> bool) -> Result<(), AuditError> {
    lines_within(files, Some(MAX_LINE_BYTES), each)
}

/// The same, every line kept whole, however long: for `repair`, which must
/// save exactly what it cuts.
pub(crate) fn whole_lines(
    files: &[PathBuf],
    each: impl FnMut(Line) -> bool,
) -> Result<(), AuditError> {
    lines_within(files, None, each)
}

fn lines_within(
    files: &[PathBuf],
    max: Option<u64>,
    mut each: impl FnMut(Line) -> bool,
) -> Result<(), AuditError> {
    for (index, path) in files.iter().enumerate() {
        let file = File::open(path).map_err(AuditError::io("open", path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut number = 0;
        while let Some(read) = next(&mut reader, max).map_err(AuditError::io("read", path))? {
            number += 1;
            let line = Line {
                file: index,
                number,
                text: read.text,
                complete: read.complete,
                cut_short: read.cut_short,
            };
            if !each(line) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The next line of `reader` without its line feed, if it is text (UTF-8)
/// of at most [`MAX_LINE_BYTES`]; `Some(None)` for a line that is longer
/// (read past, not kept) or not text; `None` at the end. For readers of
/// ticket files that may be large, written by others.
pub fn text_line(reader: &mut impl BufRead) -> std::io::Result<Option<Option<String>>> {
    Ok(next(reader, Some(MAX_LINE_BYTES))?.map(|taken| {
        let text = (!taken.cut_short).then_some(taken.text)?;
        let mut text = String::from_utf8(text).ok()?;
        if text.ends_with('\r') {
            text.pop();
        }
        Some(text)
    }))
}

/// A line as `next` reads it.
struct Taken {
    /// Without its line feed; at most the cap.
    text: Vec<u8>,
    complete: bool,
    cut_short: bool,
}

/// The next line of `reader`, kept up to `max` bytes, or `None` at the end;
/// the rest of a longer line is read past up to its line feed.
fn next(reader: &mut impl BufRead, max: Option<u64>) -> std::io::Result<Option<Taken>> {
    let mut text = Vec::new();
    let read = match max {
        Some(max) => reader.by_ref().take(max + 1).read_until(b'\n', &mut text)?,
        None => reader.read_until(b'\n', &mut text)?,
    };
    if read == 0 {
        return Ok(None);
    }
    let mut complete = text.last() == Some(&b'\n');
    let cut_short = !complete && max.is_some_and(|max| read as u64 > max);
    if complete {
        text.pop();
    }
    if let (true, Some(max)) = (cut_short, max) {
        text.truncate(max as usize);
        complete = read_past_line(reader)?.1;
    }
    Ok(Some(Taken {
        text,
        complete,
        cut_short,
    }))
}

/// Reads past the rest of a line, through its line feed, keeping nothing:
/// how many bytes came before the line feed, and whether there was one (or
/// the input ended first).
pub fn read_past_line(reader: &mut dyn BufRead) -> std::io::Result<(u64, bool)> {
    let mut skipped = 0;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok((skipped, false));
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok((skipped + at as u64, true));
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
                skipped += all as u64;
            }
        }
    }
}

/// A record with the index of its file and its line number.
pub type Located = (usize, usize, super::Record);

/// Every record of `files` that parses, with its file index and line number.
/// Lines that do not parse are returned as problems, not skipped silently.
pub fn records(files: &[PathBuf]) -> Result<(Vec<Located>, Vec<String>), AuditError> {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    lines(files, |line| {
        let at = format!("{}:{}", files[line.file].display(), line.number);
        if line.cut_short {
            problems.push(format!(
                "{at}: longer than {} MiB, so no decision record",
                MAX_LINE_BYTES >> 20
            ));
        } else if !line.complete {
            problems.push(format!("{at}: torn record (no line end)"));
        } else {
            match serde_json::from_slice::<super::Record>(&line.text) {
                Ok(record) => records.push((line.file, line.number, record)),
                Err(e) => problems.push(format!("{at}: not a decision record: {e}")),
            }
        }
        true
    })?;
    Ok((records, problems))
}

/// A file beside the log: `decisions.jsonl` and `salt` give `decisions.jsonl.salt`.
pub(crate) fn sidecar(log: &Path, suffix: &str) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    log.with_file_name(name)
}

/// The tickets of a JSON Lines file, one a line, for counting or deciding
/// them: a line that is a decision record gives its ticket (none when it
/// logged an input that was no ticket document).
pub fn tickets(path: &Path) -> Result<Vec<serde_json::Value>, String> {
    use serde_json::Value;
    let cannot = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
    let mut reader = BufReader::new(File::open(path).map_err(cannot)?);
    let mut tickets = Vec::new();
    let mut number = 0;
    while let Some(line) = text_line(&mut reader).map_err(cannot)? {
        number += 1;
        let Some(line) = line else {
            let why = format!("longer than {MAX_LINE_BYTES} bytes, or not UTF-8");
            return Err(format!(
                "line {number} of `{}` is not JSON: {why}",
                path.display()
            ));
        };
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {number} of `{}` is not JSON: {e}", path.display()))?;
        let is_record = value.get("schema").and_then(Value::as_str) == Some(super::SCHEMA);
        match (is_record, value.get("ticket")) {
            (true, Some(ticket)) if !ticket.is_null() => tickets.push(ticket.clone()),
            (true, _) => {}
            (false, _) => tickets.push(value),
        }
    }
    Ok(tickets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `input` read with a cap of `max`: each one's kept bytes,
    /// whether it ended in a line feed, and whether it was longer.
    fn read_all(input: &[u8], max: Option<u64>) -> Vec<(Vec<u8>, bool, bool)> {
        // A small buffer, so that long lines span many refills.
        let mut reader = BufReader::with_capacity(4, input);
        std::iter::from_fn(|| next(&mut reader, max).unwrap())
            .map(|r| (r.text, r.complete, r.cut_short))
            .collect()
    }

    #[test]
    fn a_line_past_the_cap_is_read_past_and_only_its_start_kept() {
        let input = b"12345\n1234567890123\n\n123456789012345";
        let at = |text: &[u8], complete: bool, cut: bool| (text.to_vec(), complete, cut);
        assert_eq!(
            read_all(input, Some(8)),
            [
                at(b"12345", true, false),
                at(b"12345678", true, true),
                at(b"", true, false),
                at(b"12345678", false, true),
            ]
        );
        assert_eq!(
            read_all(input, None),
            [
                at(b"12345", true, false),
                at(b"1234567890123", true, false),
                at(b"", true, false),
                at(b"123456789012345", false, false),
            ]
        );
    }

    #[test]
    fn a_record_line_past_the_cap_is_a_problem_not_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, format!("{{}}\n{}\nnot json\n", "0".repeat(100))).unwrap();
        let mut seen = Vec::new();
        lines_within(&[path], Some(10), |line| {
            seen.push((line.number, line.text.len(), line.complete, line.cut_short));
            true
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (1, 2, true, false),
                (2, 10, true, true),
                (3, 8, true, false)
            ]
        );
    }
}
