//! The decision log writer: one process at a time appends hash-chained
//! records, each written whole with a single `write` of one line (a batch of
//! records with a single `write` of all its lines).
//!
//! The writer's lock is taken on the log file itself (`flock` on the open
//! file), not on a file beside it: a second writer reaching the same file by
//! any name (a symlink, a hard link, another relative path) is refused.
//! Rotation hands the lock over without a gap: the new segment is created
//! and locked under a name of its own, the current one is linked to its
//! segment name, and the new one is renamed over the log's name.
//!
//! Beside the log `decisions.jsonl`: `decisions.jsonl.salt` (the masking
//! secret, created on first open from OS randomness, mode 0600),
//! `decisions.jsonl.bundles/` (the archive), and the rotated segments
//! `decisions.<N>.jsonl`.
//!
//! A failed append (disk full, I/O error, short write) leaves nothing behind:
//! the writer cuts the file back to its length before the append, and if
//! even that fails it remembers that the tail is torn and cuts it before its
//! next append. The record is not counted, so the next append continues the
//! chain from the last record written whole.
//!
//! A log whose last line is torn (a crash mid-write) is not appended to:
//! opening it fails until `triage audit repair` has cut the torn tail, and
//! saved it, so that the damage is seen and recorded rather than buried
//! under new records.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::checkpoint::Checkpointer;
use super::read;
use super::record::{self, Decided, GENESIS, Ticket};
use super::seal::Sealer;
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

/// One record to append: the bundle that decided, the ticket, what it decided.
pub type Entry<'a> = (&'a Bundle, Ticket<'a>, Decided<'a>);

pub struct DecisionLog {
    path: PathBuf,
    options: LogOptions,
    /// The current segment, open for appending and locked for the writer's
    /// lifetime: the lock is released when it closes.
    file: File,
    /// The length of the current segment up to its last whole record.
    size: u64,
    /// A failed append may have left bytes past `size` that could not be cut
    /// at once: they are cut before the next append.
    torn: bool,
    sealer: Sealer,
    archive: Archive,
    seq: u64,
    prev: String,
    unsynced: u32,
    /// Signs the chain head every so many records and at close, when set.
    checkpoints: Option<Checkpointer>,
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
        let file = locked(&path, append_to)?;
        undo_cut_rotation(&path, &file)?;
        let salt = salt(&read::sidecar(&path, "salt"))?;
        let (seq, prev) = last(&path)?;
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
            torn: false,
            sealer: Sealer::new(salt, None),
            seq,
            prev,
            unsynced: 0,
            checkpoints: None,
        })
    }

    /// Signs the chain head with `checkpointer` from now on: every so many
    /// records and at close ([`super::checkpoint`]).
    pub fn sign_with(&mut self, mut checkpointer: Checkpointer) -> Result<(), AuditError> {
        checkpointer.attach(&self.path)?;
        self.checkpoints = Some(checkpointer);
        Ok(())
    }

    /// Signs the chain head now, unless it is signed already or no key was
    /// given: at shutdown. The records are synced first.
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        if !self
            .checkpoints
            .as_ref()
            .is_some_and(|c| c.behind(self.seq))
        {
            return Ok(());
        }
        self.sync()?;
        match &mut self.checkpoints {
            Some(checkpoints) => checkpoints.sign(self.seq, &self.prev),
            None => Ok(()),
        }
    }

    /// Names `approval` in every record decided by the bundle with `digest`
    /// from now on.
    pub fn approved(&mut self, digest: &str, approval: &str) -> Result<(), AuditError> {
        self.sealer.approved(digest, approval)
    }

    /// Appends the record of one decision by `bundle` (archiving the bundle
    /// the first time it decides) and returns the decision id. On failure
    /// nothing of the record stays in the log.
    pub fn append(
        &mut self,
        bundle: &Bundle,
        ticket: &Value,
        result: &Result<Decision, Rejection>,
    ) -> Result<String, AuditError> {
        let ids = self.append_all(&[(bundle, Ticket::Value(ticket), Decided::Result(result))])?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// Appends the records of `entries`, in order, with one `write` into one
    /// segment (rotating before them if they would take it past the size
    /// limit), and returns their decision ids. All or nothing: on failure
    /// none of them stays in the log.
    pub fn append_all(&mut self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError> {
        let (mut seq, mut prev) = (self.seq, self.prev.clone());
        let mut lines = Vec::new();
        let mut ids = Vec::with_capacity(entries.len());
        for &(bundle, ticket, result) in entries {
            // The bundle that decided is archived before its first record.
            self.archive.store(bundle)?;
            let record = self.sealer.seal(bundle, ticket, result, seq + 1, &prev)?;
            lines.extend_from_slice(&record.line);
            ids.push(record.id);
            (seq, prev) = (seq + 1, record.hash);
        }
        if lines.is_empty() {
            return Ok(ids);
        }
        self.cut_torn_tail()?;
        self.rotate_for(lines.len() as u64)?;
        let before = self.size;
        if let Err(failure) = self.write(&lines, entries.len()) {
            self.cut_back_to(before);
            return Err(failure);
        }
        self.size += lines.len() as u64;
        (self.seq, self.prev) = (seq, prev);
        if self.checkpoints.as_ref().is_some_and(|c| c.due(seq)) {
            // The records are written: a failed checkpoint is the caller's
            // error all the same, and the next append tries again.
            self.checkpoint()?;
        }
        Ok(ids)
    }

    /// Writes `lines` (`count` records) at the end of the current segment with
    /// one `write`, and syncs when the flush policy says so. A crash leaves
    /// at most a torn last line.
    fn write(&mut self, lines: &[u8], count: usize) -> Result<(), AuditError> {
        self.file
            .write_all(lines)
            .map_err(AuditError::io("append to", &self.path))?;
        self.unsynced = self
            .unsynced
            .saturating_add(u32::try_from(count).unwrap_or(u32::MAX));
        let due = match self.options.flush {
            Flush::EveryRecord => true,
            Flush::Batch(n) => self.unsynced >= n.max(1),
        };
        if due { self.sync() } else { Ok(()) }
    }

    /// Cuts the current segment back to `length` after a failed append, or,
    /// when even that fails, remembers to cut it before the next append.
    fn cut_back_to(&mut self, length: u64) {
        let cut = self
            .file
            .set_len(length)
            .and_then(|()| self.file.sync_data());
        self.torn = cut.is_err();
    }

    /// Cuts what a failed append left past the last whole record, if it could
    /// not be cut at the time. Until this succeeds nothing is appended.
    fn cut_torn_tail(&mut self) -> Result<(), AuditError> {
        if self.torn {
            self.file
                .set_len(self.size)
                .and_then(|()| self.file.sync_data())
                .map_err(AuditError::io("cut the torn tail of", &self.path))?;
            self.torn = false;
        }
        Ok(())
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

    /// The path the log was opened with.
    pub fn path(&self) -> &Path {
        &self.path
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
        // The new segment is created and locked aside, so that the log's
        // name never names a file this writer has not locked.
        let aside = read::sidecar(&self.path, "next");
        let fresh = locked(&aside, create_new_segment)?;
        if let Err(failure) = hand_over(&self.path, &target, &aside) {
            let _ = std::fs::remove_file(&aside);
            return Err(failure);
        }
        self.file = fresh;
        self.size = 0;
        sync_dir(&self.path);
        Ok(())
    }
}

/// Makes the full segment `current` the rotated segment `target`, and the new
/// segment at `aside` the current one. With hard links the log's name names
/// a locked file throughout: `current` is linked to `target`, then `aside`
/// renamed over it. Where the file system has no hard links, `current` is
/// renamed to `target` first, which leaves the name free for an instant.
fn hand_over(current: &Path, target: &Path, aside: &Path) -> Result<(), AuditError> {
    let linked = std::fs::hard_link(current, target);
    if linked.is_err() {
        std::fs::rename(current, target).map_err(AuditError::io("rotate", current))?;
    }
    std::fs::rename(aside, current).map_err(|e| {
        // Undo the rotation: the full segment stays the current one.
        match linked {
            Ok(()) => drop(std::fs::remove_file(target)),
            Err(_) => drop(std::fs::rename(target, current)),
        }
        AuditError::io("rotate", current)(e)
    })
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        let _ = self.checkpoint();
        let _ = self.sync();
    }
}

/// Opens the log file at `path` with `open` and takes the writer's lock on
/// the file itself. Refused (`Locked`) while another writer holds it, by
/// whatever name it opened it.
pub(crate) fn locked(
    path: &Path,
    open: fn(&Path) -> Result<File, AuditError>,
) -> Result<File, AuditError> {
    // The name may move to another file between opening and locking (the
    // writer that held it rotated it): then the file it names now is tried.
    for _ in 0..3 {
        let file = open(path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => break,
            Err(fs4::TryLockError::Error(e)) => return Err(AuditError::io("lock", path)(e)),
        }
        if names(path, &file)? {
            return Ok(file);
        }
    }
    Err(AuditError::Locked {
        path: path.to_path_buf(),
    })
}

/// A rotation cut short by a crash between linking the full segment to its
/// segment name and renaming the new segment over the log leaves one file
/// under two names: the segment name is taken away again (its records stay
/// in the log, and the next rotation starts over).
fn undo_cut_rotation(path: &Path, file: &File) -> Result<(), AuditError> {
    if let Some((_, newest)) = read::rotated(path)?.last()
        && names(newest, file)?
    {
        std::fs::remove_file(newest).map_err(AuditError::io("remove", newest))?;
    }
    Ok(())
}

/// Whether `path` still names the open `file` (always, where files have no
/// identity to compare).
fn names(path: &Path, file: &File) -> Result<bool, AuditError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata().map_err(AuditError::io("stat", path))?;
        let named = match std::fs::metadata(path) {
            Ok(named) => named,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(AuditError::io("stat", path)(e)),
        };
        Ok((open.dev(), open.ino()) == (named.dev(), named.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        Ok(true)
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
        // A line that is not even JSON is what a failed write leaves (a crash
        // can leave zeros): torn, for `audit repair` to cut.
        let Some(value) = serde_json::from_slice::<Value>(&line.text)
            .ok()
            .filter(Value::is_object)
        else {
            return Err(AuditError::Torn {
                path: file.clone(),
                base: path.to_path_buf(),
                line: line.number,
            });
        };
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

/// A new, empty segment at `path` (one left over from a rotation cut short is
/// emptied), open for appending.
pub(crate) fn create_new_segment(path: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(AuditError::io("create", path))?;
    file.set_len(0).map_err(AuditError::io("create", path))?;
    Ok(file)
}

/// Makes a new or renamed file's directory entry durable (best effort: not
/// every platform can open a directory).
pub(crate) fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(Ok(dir)) = dir.map(File::open) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_can_move_to_a_writer_thread() {
        fn check<T: Send>() {}
        check::<super::DecisionLog>();
    }

    #[test]
    fn a_tail_that_could_not_be_cut_at_once_is_cut_before_the_next_append() {
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let bundle = Bundle::load(&policies).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        let ticket = serde_json::json!({});
        let result = bundle.decide(&ticket);
        log.append(&bundle, &ticket, &result).unwrap();
        // A failed append whose cutting back failed too: part of a record,
        // and the writer knowing it.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"at\":\"2026-11-").unwrap();
        log.torn = true;
        log.append(&bundle, &ticket, &result).unwrap();
        assert!(!log.torn);
        drop(log);
        let checked = crate::verify::verify(&[path]).unwrap();
        assert!(checked.broken.is_none(), "{:?}", checked.broken);
        assert_eq!(checked.records, 2);
    }
}
