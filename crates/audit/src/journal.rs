//! Where the recorder writes: a [`Journal`] takes sealed records in order
//! and says when they are durable. Two kinds: the file log
//! ([`crate::DecisionLog`], behind a mutex so threads can share it) and the
//! PostgreSQL store ([`crate::store::StoreWriter`]).

use std::sync::Mutex;

use super::log::Entry;
use super::{AuditError, DecisionLog};

/// A decision log that threads can share.
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// Records `entries`, in order, and returns their decision ids once they
    /// are written as the journal promises (synced, or committed). All or
    /// nothing: on failure none of them is recorded.
    fn append_all(&self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError>;

    /// Makes everything recorded so far durable, at shutdown. A journal busy
    /// elsewhere is left alone: shutdown does not wait for a stuck writer.
    fn close(&self) -> Result<(), AuditError>;
}

impl Journal for Mutex<DecisionLog> {
    fn append_all(&self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError> {
        // A thread that failed mid-append may have left the log half-written.
        let mut log = self.lock().map_err(|_| AuditError::Poisoned)?;
        log.append_all(entries)
    }

    fn close(&self) -> Result<(), AuditError> {
        match self.try_lock() {
            Ok(mut log) => log.sync(),
            Err(_) => Ok(()),
        }
    }
}
