//! `repair`: the one change the tools make to a log. A torn last line (a
//! crash mid-write) is cut off so that writing can go on, and its bytes are
//! appended to `<segment>.torn` so that what was cut stays on record. Any
//! other damage is evidence, not something to repair: it is left as found.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{AuditError, read};

#[derive(Debug, Serialize)]
pub struct Repaired {
    pub file: PathBuf,
    pub line: usize,
    pub bytes: usize,
    pub saved_to: PathBuf,
}

/// Cuts a torn last line off the log at `path`; `None` when there is none.
/// Fails while a writer has the log open.
pub fn repair(path: &Path) -> Result<Option<Repaired>, AuditError> {
    let _lock = super::log::lock(path)?;
    let files = read::segments(path)?;
    let Some(file) = files.last() else {
        return Ok(None);
    };
    let mut offset = 0u64;
    let mut torn: Option<read::Line> = None;
    read::lines(std::slice::from_ref(file), |line| {
        if line.complete {
            offset += line.text.len() as u64 + 1;
            true
        } else {
            torn = Some(line);
            false
        }
    })?;
    let Some(line) = torn else { return Ok(None) };
    let saved_to = super::read::sidecar(file, "torn");
    let mut saved = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&saved_to)
        .map_err(AuditError::io("open", &saved_to))?;
    saved
        .write_all(&line.text)
        .and_then(|()| saved.write_all(b"\n"))
        .and_then(|()| saved.sync_all())
        .map_err(AuditError::io("write", &saved_to))?;
    let log = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(AuditError::io("open", file))?;
    log.set_len(offset)
        .and_then(|()| log.sync_all())
        .map_err(AuditError::io("truncate", file))?;
    Ok(Some(Repaired {
        file: file.clone(),
        line: line.number,
        bytes: line.text.len(),
        saved_to,
    }))
}
