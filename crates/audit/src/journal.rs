//! Where the recorder writes: a [`Journal`] takes sealed records in order
//! and says when they are durable. Two kinds: the file log
//! ([`crate::DecisionLog`], behind a mutex so threads can share it) and the
//! PostgreSQL store ([`crate::store::StoreWriter`]).

use std::path::PathBuf;
use std::sync::Mutex;

use super::log::Entry;
use super::{AuditError, DecisionLog};

/// What a journal tells, once records handed to [`Journal::append_then`]
/// are written as it promises: their decision ids, or why none is.
pub type Written = Box<dyn FnOnce(Result<Vec<String>, AuditError>) + Send>;

/// A decision log that threads can share.
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// Records `entries`, in order, and returns their decision ids once they
    /// are written as the journal promises (synced, or committed). All or
    /// nothing: on failure none of them is recorded.
    fn append_all(&self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError>;

    /// Like [`Journal::append_all`] without holding the caller's thread
    /// until the records are durable: `then` hears the outcome when they
    /// are, on whichever thread knows (at once, for a journal that writes in
    /// place). For callers that wait elsewhere, e.g. an async task. `then`
    /// must not call back into the journal.
    fn append_then(&self, entries: &[Entry<'_>], then: Written) {
        then(self.append_all(entries));
    }

    /// Whether [`Journal::append_then`] writes on the caller's thread (and
    /// may wait there on the disk), so that a caller which must never block
    /// (an async thread) calls it from a thread of its own. A journal that
    /// only queues the records returns `false`.
    fn writes_in_place(&self) -> bool {
        true
    }

    /// Makes everything recorded so far durable, at shutdown. A journal busy
    /// elsewhere is left alone: shutdown does not wait for a stuck writer.
    fn close(&self) -> Result<(), AuditError>;

    /// Names `approval` in every record decided by the bundle with `digest`
    /// from now on (`triage serve --require-approval`).
    fn approved(&self, digest: &str, approval: &str) -> Result<(), AuditError>;

    /// The file the records go to, for readers of a file log; `None` for a store.
    fn file(&self) -> Option<PathBuf>;

    /// The URL of the store the records go to, for readers of a store;
    /// `None` for a file log.
    fn store(&self) -> Option<&str> {
        None
    }

    /// Whether records can be taken now, or why not (a store out of
    /// reach): what a readiness probe reports. A file log always can.
    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
}

impl Journal for Mutex<DecisionLog> {
    fn append_all(&self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError> {
        // A thread that failed mid-append may have left the log half-written.
        let mut log = self.lock().map_err(|_| AuditError::Poisoned)?;
        log.append_all(entries)
    }

    fn close(&self) -> Result<(), AuditError> {
        match self.try_lock() {
            // The head is signed (when there is a key) once nothing more is written.
            Ok(mut log) => log.checkpoint().and_then(|()| log.sync()),
            Err(_) => Ok(()),
        }
    }

    fn approved(&self, digest: &str, approval: &str) -> Result<(), AuditError> {
        let mut log = self.lock().map_err(|_| AuditError::Poisoned)?;
        log.approved(digest, approval)
    }

    fn file(&self) -> Option<PathBuf> {
        self.lock().ok().map(|log| log.path().to_path_buf())
    }
}
