//! The decision log writer: one process at a time appends hash-chained
//! records, each written whole with a single `write` of one line.
//!
//! Beside the log `decisions.jsonl`: `decisions.jsonl.lock` (held while a
//! writer is open), `decisions.jsonl.salt` (the masking secret, created on
//! first open from OS randomness, mode 0600), `decisions.jsonl.bundles/`
//! (the archive), and the rotated segments `decisions.<N>.jsonl`.
//!
//! A log whose last line is torn (a crash mid-write) is not appended to:
//! opening it fails until `triage audit repair` has cut the torn tail, and
//! saved it, so that the damage is seen and recorded rather than buried
//! under new records.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::mask::{self, Masker};
use super::read;
use super::record::{self, GENESIS, Record, SCHEMA};
use super::{Archive, AuditError};
use triage_engine::{Bundle, Decision, Rejection};

/// When records reach the disk (not just the operating system).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// `fsync` after every record: nothing acknowledged is lost on power failure.
    EveryRecord,
    /// `fsync` after this many records, and when the log is closed. A process
    /// crash still loses nothing (each record is handed to the OS whole).
    Batch(u32),
}

#[derive(Clone, Copy, Debug)]
pub struct LogOptions {
    pub flush: Flush,
    /// Rotate before a record would take the current segment past this size.
    pub max_bytes: Option<u64>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            flush: Flush::EveryRecord,
            max_bytes: None,
        }
    }
}

pub struct DecisionLog {
    path: PathBuf,
    options: LogOptions,
    file: File,
    size: u64,
    // Held for the writer's lifetime: the lock is released when it closes.
    _lock: File,
    masker: Masker,
    masked: HashMap<Arc<str>, Vec<Arc<str>>>,
    archive: Archive,
    seq: u64,
    prev: String,
    unsynced: u32,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("path", &self.path)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl DecisionLog {
    /// Opens (or creates) the log at `path` for appending. Fails when another
    /// process has it open, or when it ends in a torn or damaged record.
    pub fn open(path: impl AsRef<Path>, options: LogOptions) -> Result<DecisionLog, AuditError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(AuditError::io("create", dir))?;
        }
        let lock = lock(&path)?;
        let salt = salt(&read::sidecar(&path, "salt"))?;
        let (seq, prev) = last(&path)?;
        let file = append_to(&path)?;
        let size = file
            .metadata()
            .map_err(AuditError::io("stat", &path))?
            .len();
        Ok(DecisionLog {
            archive: Archive::of(&path),
            path,
            options,
            file,
            size,
            _lock: lock,
            masker: Masker::new(salt),
            masked: HashMap::new(),
            seq,
            prev,
            unsynced: 0,
        })
    }

    /// Appends the record of one decision by `bundle` (archiving the bundle
    /// the first time it decides) and returns the decision id.
    pub fn append(
        &mut self,
        bundle: &Bundle,
        ticket: &Value,
        result: &Result<Decision, Rejection>,
    ) -> Result<String, AuditError> {
        self.archive.store(bundle)?;
        let policy = bundle.policy();
        let fields = self
            .masked
            .entry(policy.digest.clone())
            .or_insert_with(|| mask::fields(bundle));
        let (ticket, masked) = self.masker.ticket(ticket, fields);
        let result = self.masker.result(result, &masked);
        let (decision, rejection) = match result {
            Ok(decision) => (Some(decision), None),
            Err(rejection) => (None, Some(rejection)),
        };
        let mut record = Record {
            schema: SCHEMA.to_owned(),
            seq: self.seq + 1,
            id: String::new(),
            at: chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            policy: policy.clone(),
            ticket,
            masked,
            decision,
            rejection,
            prev: self.prev.clone(),
            hash: String::new(),
        };
        let line = record.seal()?;
        self.rotate_for(line.len() as u64)?;
        // One `write` of the whole line: a crash leaves at most a torn last line.
        self.file
            .write_all(&line)
            .map_err(AuditError::io("append to", &self.path))?;
        self.size += line.len() as u64;
        self.seq = record.seq;
        self.prev = record.hash;
        self.unsynced += 1;
        let due = match self.options.flush {
            Flush::EveryRecord => true,
            Flush::Batch(n) => self.unsynced >= n.max(1),
        };
        if due {
            self.sync()?;
        }
        Ok(record.id)
    }

    /// Forces every record written so far to disk.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if self.unsynced > 0 {
            self.file
                .sync_data()
                .map_err(AuditError::io("sync", &self.path))?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// The number of records in the log (all segments) so far.
    pub fn records(&self) -> u64 {
        self.seq
    }

    fn rotate_for(&mut self, len: u64) -> Result<(), AuditError> {
        let Some(max) = self.options.max_bytes else {
            return Ok(());
        };
        if self.size == 0 || self.size + len <= max {
            return Ok(());
        }
        self.sync()?;
        let next = read::rotated(&self.path)?.last().map_or(1, |(n, _)| n + 1);
        let target = read::segment_name(&self.path, next);
        std::fs::rename(&self.path, &target).map_err(AuditError::io("rotate", &self.path))?;
        self.file = append_to(&self.path)?;
        self.size = 0;
        sync_dir(&self.path);
        Ok(())
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

pub(crate) fn lock(path: &Path) -> Result<File, AuditError> {
    let lock_path = read::sidecar(path, "lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(AuditError::io("create", &lock_path))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(file),
        Err(fs4::TryLockError::WouldBlock) => Err(AuditError::Locked {
            path: path.to_path_buf(),
        }),
        Err(fs4::TryLockError::Error(e)) => Err(AuditError::io("lock", &lock_path)(e)),
    }
}

fn salt(path: &Path) -> Result<Vec<u8>, AuditError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            let bytes: Option<Vec<u8>> = (0..text.len())
                .step_by(2)
                .map(|i| {
                    text.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            match bytes {
                Some(bytes) if bytes.len() >= 16 => Ok(bytes),
                _ => Err(AuditError::Damaged {
                    path: path.to_path_buf(),
                    line: 1,
                    detail: "the salt is not 16 or more hex bytes".to_owned(),
                }),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| {
                AuditError::io("make a salt for", path)(std::io::Error::other(e.to_string()))
            })?;
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(AuditError::io("create", path))?;
            writeln!(file, "{}", super::canonical::hex(&bytes))
                .and_then(|()| file.sync_all())
                .map_err(AuditError::io("write", path))?;
            Ok(bytes)
        }
        Err(e) => Err(AuditError::io("read", path)(e)),
    }
}

/// The `seq` and `hash` of the log's last record (0 and the genesis value for
/// a new log), refusing a torn or damaged end.
fn last(path: &Path) -> Result<(u64, String), AuditError> {
    let files = read::segments(path)?;
    // The newest segment that has a line holds the last record.
    for file in files.iter().rev() {
        let mut tail: Option<read::Line> = None;
        read::lines(std::slice::from_ref(file), |line| {
            tail = Some(line);
            true
        })?;
        let Some(line) = tail else { continue };
        if !line.complete {
            return Err(AuditError::Torn {
                path: file.clone(),
                base: path.to_path_buf(),
                line: line.number,
            });
        }
        let damaged = |detail: &str| AuditError::Damaged {
            path: file.clone(),
            line: line.number,
            detail: detail.to_owned(),
        };
        let value: Value = serde_json::from_slice(&line.text)
            .map_err(|_| damaged("the last line is not a record"))?;
        let checked = record::check(value);
        let seq = checked
            .seq
            .ok_or_else(|| damaged("the last record has no `seq`"))?;
        if !checked.intact {
            return Err(damaged("the last record does not match its hash"));
        }
        return Ok((seq, checked.hash));
    }
    Ok((0, GENESIS.to_owned()))
}

fn append_to(path: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(AuditError::io("open", path))?;
    sync_dir(path);
    Ok(file)
}

/// Makes a new or renamed file's directory entry durable (best effort: not
/// every platform can open a directory).
fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(Ok(dir)) = dir.map(File::open) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_log_can_move_to_a_writer_thread() {
        fn check<T: Send>() {}
        check::<super::DecisionLog>();
    }
}
