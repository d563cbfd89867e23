//! Reading a log back: its segments in order, line by line.
//!
//! Rotation: the log `dir/decisions.jsonl` is the segment written to; when it
//! would grow past the size limit it is renamed `dir/decisions.<N>.jsonl`
//! (N = 1, 2, … oldest first, never renamed again) and a new
//! `decisions.jsonl` continues the chain. Readers walk the numbered segments
//! in order of N, then the current one, as one chain.

use std::fs::File;
use std::io::{BufRead, BufReader};
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

/// One line of a log file.
pub struct Line {
    /// Index into the list of files.
    pub file: usize,
    /// 1-based.
    pub number: usize,
    pub text: Vec<u8>,
    /// Ended by a line feed (the last line of a torn log is not).
    pub complete: bool,
}

/// Calls `each` for every line of `files`, in order; stops when it returns false.
pub fn lines(files: &[PathBuf], mut each: impl FnMut(Line) -> bool) -> Result<(), AuditError> {
    for (index, path) in files.iter().enumerate() {
        let file = File::open(path).map_err(AuditError::io("open", path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut number = 0;
        loop {
            let mut text = Vec::new();
            let read = reader
                .read_until(b'\n', &mut text)
                .map_err(AuditError::io("read", path))?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = text.last() == Some(&b'\n');
            if complete {
                text.pop();
            }
            let line = Line {
                file: index,
                number,
                text,
                complete,
            };
            if !each(line) {
                return Ok(());
            }
        }
    }
    Ok(())
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
        if !line.complete {
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut tickets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("line {} of `{}` is not JSON: {e}", i + 1, path.display()))?;
        let is_record = value.get("schema").and_then(Value::as_str) == Some(super::SCHEMA);
        match (is_record, value.get("ticket")) {
            (true, Some(ticket)) if !ticket.is_null() => tickets.push(ticket.clone()),
            (true, _) => {}
            (false, _) => tickets.push(value),
        }
    }
    Ok(tickets)
}
