//! A log to read, named by a path or by a store's URL. A store is exported
//! to a temporary file first (one snapshot, every writer), so that the file
//! tools read it as they read a log, and what they report is mapped back to
//! the store's writers and records.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::shared::exit;
use triage_audit::store::{self, Exported};

/// A log ready to read: the file itself, or a store's export.
pub struct Source {
    path: PathBuf,
    /// The store's URL (password left out) and what its export holds.
    store: Option<(String, Exported)>,
    /// The export's directory, removed when the source is dropped.
    _dir: Option<tempfile::TempDir>,
}

impl Source {
    /// The log at `location`, a store exported, or why not (printed).
    pub fn open(location: &Path, err: &mut dyn Write) -> Result<Source, u8> {
        let Some(url) = location.to_str().filter(|l| store::is_url(l)) else {
            return Ok(Source {
                path: location.to_path_buf(),
                store: None,
                _dir: None,
            });
        };
        let fail = |message: String, err: &mut dyn Write| {
            let _ = writeln!(err, "error: {message}");
            exit::OTHER
        };
        let dir = tempfile::tempdir()
            .map_err(|e| fail(format!("cannot make a temporary directory: {e}"), err))?;
        let path = dir.path().join("store.jsonl");
        let exported = store::export(url, &path).map_err(|e| fail(e.to_string(), err))?;
        // Read as lines that are not records, found where they were; why
        // each could not be read is said here, once.
        for row in &exported.unreadable {
            let _ = writeln!(err, "error: {}#{row}", store::redacted(url));
        }
        Ok(Source {
            path,
            store: Some((store::redacted(url), exported)),
            _dir: Some(dir),
        })
    }

    /// The file to read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a store's export, whose checkpoints are kept apart.
    pub fn is_store(&self) -> bool {
        self.store.is_some()
    }

    /// The place of `line` of `file` for a person: for a store's export,
    /// `URL#writer` and the writer's record number; else as it is.
    pub fn place(&self, file: &Path, line: usize) -> (PathBuf, usize) {
        match &self.store {
            Some((url, exported)) if file == self.path => match exported.locate(line) {
                Some((writer, row)) => (
                    PathBuf::from(format!("{url}#{writer}")),
                    usize::try_from(row).unwrap_or(line),
                ),
                None => (PathBuf::from(url), line),
            },
            _ => (file.to_path_buf(), line),
        }
    }

    /// A store's URL (password left out) and each writer's checkpoints
    /// (none for a writer that signed none); `None` for a file.
    pub fn checkpoints(&self) -> Option<(&str, BTreeMap<String, Vec<Value>>)> {
        let (url, exported) = self.store.as_ref()?;
        let mut kept = exported.checkpoints.clone();
        for (writer, _) in &exported.writers {
            kept.entry(writer.clone()).or_default();
        }
        Some((url, kept))
    }

    /// The name to show for the log: the store's URL or the path.
    pub fn name(&self) -> PathBuf {
        match &self.store {
            Some((url, _)) => PathBuf::from(url),
            None => self.path.clone(),
        }
    }
}

/// Opens every log of `locations`, or gives the exit code once the first
/// failure is printed.
pub fn open_all(locations: &[PathBuf], err: &mut dyn Write) -> Result<Vec<Source>, u8> {
    locations.iter().map(|l| Source::open(l, err)).collect()
}
