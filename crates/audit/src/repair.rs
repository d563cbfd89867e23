//! `repair`: the one change the tools make to a log. Torn records are cut
//! out so that writing can go on, and their bytes are appended to
//! `<segment>.torn` so that what was cut stays on record. Any other damage
//! is evidence, not something to repair: it is left as found.
//!
//! What is torn, in any segment:
//!
//! - the lines after the last record that are not records: a last line
//!   without its line feed (a crash mid-write), or lines that are not JSON at
//!   all (a crash can leave zeros where a record was to be);
//! - the start of a line that is not JSON but ends in a whole record: a write
//!   that failed part-way, with the next record appended after it (what a
//!   writer that did not cut its failed writes back left behind).
//!
//! A line that is a JSON object is never cut, even if it fails its hash: that
//! is an edit, for `verify` to report.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{AuditError, log, read, record};

#[derive(Debug, Serialize)]
pub struct Repaired {
    pub file: PathBuf,
    pub line: usize,
    pub bytes: usize,
    pub saved_to: PathBuf,
}

/// Cuts every torn record out of the log at `path` (all its segments) and
/// says what was cut, in log order; empty when nothing is torn. Fails while
/// a writer has the log open.
pub fn repair(path: &Path) -> Result<Vec<Repaired>, AuditError> {
    // Held until the end: no writer opens the log while it is repaired.
    let lock = match path.exists() {
        true => Some(log::locked(path, open_existing)?),
        false => None,
    };
    let mut repaired = Vec::new();
    for file in read::segments(path)? {
        let cuts = torn_parts(&file)?;
        if cuts.is_empty() {
            continue;
        }
        let saved_to = save(&file, &cuts)?;
        cut(&file, &cuts, lock.is_some() && file.as_path() == path)?;
        repaired.extend(cuts.into_iter().map(|c| Repaired {
            file: file.clone(),
            line: c.line,
            bytes: c.bytes.len(),
            saved_to: saved_to.clone(),
        }));
    }
    Ok(repaired)
}

/// Bytes to cut out of a segment: `len` bytes from `start`, from `line` on;
/// `bytes` are the lines cut, without their line feeds, to save.
struct Cut {
    line: usize,
    start: u64,
    len: u64,
    bytes: Vec<u8>,
}

/// The torn parts of one segment, in order.
fn torn_parts(file: &Path) -> Result<Vec<Cut>, AuditError> {
    let mut cuts = Vec::new();
    // The lines since the last record, which are torn if no record follows.
    let mut tail: Option<Cut> = None;
    let mut offset = 0u64;
    read::whole_lines(&[file.to_path_buf()], |line| {
        let length = line.text.len() as u64 + u64::from(line.complete);
        let record = line.complete && is_object(&line.text);
        let fragment = match (line.complete && !record).then(|| record_start(&line.text)) {
            Some(Some(at)) => Some(at),
            _ => None,
        };
        if let Some(at) = fragment {
            cuts.push(Cut {
                line: line.number,
                start: offset,
                len: at as u64,
                bytes: line.text[..at].to_vec(),
            });
        }
        if record || fragment.is_some() {
            tail = None;
        } else {
            let cut = tail.get_or_insert_with(|| Cut {
                line: line.number,
                start: offset,
                len: 0,
                bytes: Vec::new(),
            });
            if !cut.bytes.is_empty() {
                cut.bytes.push(b'\n');
            }
            cut.bytes.extend_from_slice(&line.text);
        }
        offset += length;
        true
    })?;
    // The torn end runs to the end of the file.
    cuts.extend(tail.map(|cut| Cut {
        len: offset - cut.start,
        ..cut
    }));
    Ok(cuts)
}

fn is_object(text: &[u8]) -> bool {
    serde_json::from_slice::<Value>(text).is_ok_and(|v| v.is_object())
}

/// Where, in a line that is not JSON, a whole record starts after a torn one:
/// the first `{"at":` (every record's canonical encoding starts so) from
/// which the rest of the line is a record carrying its own hash.
fn record_start(text: &[u8]) -> Option<usize> {
    const START: &[u8] = b"{\"at\":";
    (1..text.len().saturating_sub(START.len()))
        .filter(|&at| text[at..].starts_with(START))
        .find(|&at| {
            serde_json::from_slice::<Value>(&text[at..])
                .is_ok_and(|value| value.is_object() && record::check(value).intact)
        })
}

/// Appends the bytes to cut to `<file>.torn`, each cut on a line of its own,
/// and syncs them before anything is cut.
fn save(file: &Path, cuts: &[Cut]) -> Result<PathBuf, AuditError> {
    let saved_to = read::sidecar(file, "torn");
    let mut saved = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&saved_to)
        .map_err(AuditError::io("open", &saved_to))?;
    let mut text = Vec::new();
    for cut in cuts {
        text.extend_from_slice(&cut.bytes);
        text.push(b'\n');
    }
    saved
        .write_all(&text)
        .and_then(|()| saved.sync_all())
        .map_err(AuditError::io("write", &saved_to))?;
    Ok(saved_to)
}

/// Cuts `cuts` out of `file`: a torn end by truncating it, anything before
/// the end by writing the segment again aside and renaming it into place
/// (locked first when it is the log itself, so that no writer gets in).
fn cut(file: &Path, cuts: &[Cut], current: bool) -> Result<(), AuditError> {
    let length = std::fs::metadata(file)
        .map_err(AuditError::io("stat", file))?
        .len();
    let [only] = cuts else {
        return rewrite(file, cuts, current);
    };
    if only.start + only.len < length {
        return rewrite(file, cuts, current);
    }
    let log = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(AuditError::io("open", file))?;
    log.set_len(only.start)
        .and_then(|()| log.sync_all())
        .map_err(AuditError::io("truncate", file))
}

/// Writes `file` without `cuts` to `<file>.repairing`, then renames that over it.
fn rewrite(file: &Path, cuts: &[Cut], current: bool) -> Result<(), AuditError> {
    let aside = read::sidecar(file, "repairing");
    let written = if current {
        log::locked(&aside, log::create_new_segment)
    } else {
        log::create_new_segment(&aside)
    }
    .and_then(|out| copy_without(file, cuts, &aside, out));
    let renamed = written.and_then(|out| {
        std::fs::rename(&aside, file).map_err(AuditError::io("rename", &aside))?;
        drop(out);
        Ok(())
    });
    if renamed.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    renamed?;
    log::sync_dir(file);
    Ok(())
}

/// Copies `file` to `out` (at `aside`), leaving out the bytes of `cuts`, and
/// syncs it; returns `out`, whose lock must outlive the rename.
fn copy_without(file: &Path, cuts: &[Cut], aside: &Path, out: File) -> Result<File, AuditError> {
    let input = File::open(file).map_err(AuditError::io("open", file))?;
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut writer = BufWriter::with_capacity(1 << 20, out);
    let mut at = 0u64;
    let copied = (|| -> std::io::Result<()> {
        for cut in cuts {
            std::io::copy(&mut (&mut input).take(cut.start - at), &mut writer)?;
            input.seek_relative(i64::try_from(cut.len).unwrap_or(i64::MAX))?;
            at = cut.start + cut.len;
        }
        std::io::copy(&mut input, &mut writer)?;
        writer.flush()
    })();
    copied.map_err(AuditError::io("write", aside))?;
    let out = writer
        .into_inner()
        .map_err(|e| AuditError::io("write", aside)(e.into_error()))?;
    out.sync_all().map_err(AuditError::io("sync", aside))?;
    Ok(out)
}

fn open_existing(path: &Path) -> Result<File, AuditError> {
    File::open(path).map_err(AuditError::io("open", path))
}
