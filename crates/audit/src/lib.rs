//! Record: the audit trail. A hash-chained, append-only decision log
//! (`log`), the bundles that decided archived beside it (`archive`), masked
//! inputs (`mask`), and the tools that read it back: `verify`, `repair` (of
//! torn records), `replay`, `report`, and `diff` for the impact of a policy
//! change. The `recorder` is the one way to decide, record and answer: every
//! caller that decides (`triage eval`, batch mode, the service) goes through it.
//!
//! The signed parts: `sign` (Ed25519 keys and signed documents),
//! `checkpoint` (the chain heads a writer signs, so that a cut tail shows)
//! and `approval` (a bundle signed off before it may serve).
//!
//! The record format, `triage.decision/v1`, is described in `record`.

pub mod approval;
pub mod archive;
pub mod canonical;
pub mod checkpoint;
pub mod diff;
pub mod html;
pub mod journal;
pub use html::esc as escape;
pub mod log;
pub mod mask;
pub mod read;
pub mod record;
pub mod recorder;
pub mod repair;
pub mod replay;
pub mod report;
mod seal;
pub mod sign;
pub mod store;
pub mod verdict;
pub mod verify;

use std::path::PathBuf;

pub use archive::Archive;
pub use journal::{Journal, Written};
pub use log::{DecisionLog, Flush, LogOptions};
pub use record::{Decided, GENESIS, Record, SCHEMA, Ticket};
pub use recorder::{Answer, Drafted, Observer, Pending, Recorder, Unconfirmed, Unreadable};

/// What can go wrong writing or reading a decision log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("decision log `{}` is in use by another process", path.display())]
    Locked { path: PathBuf },
    #[error(
        "decision log `{}` ends in a torn record at line {line}; run `triage audit repair {}`",
        path.display(),
        base.display()
    )]
    Torn {
        path: PathBuf,
        base: PathBuf,
        line: usize,
    },
    #[error("decision log `{}` line {line} is damaged ({detail}); run `triage audit verify`", path.display())]
    Damaged {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("key file `{}`: {detail}", path.display())]
    Key { path: PathBuf, detail: String },
    #[error("archived bundle `{digest}`: {detail}")]
    Archive { digest: String, detail: String },
    #[error("cannot encode a record: {0}")]
    Encode(String),
    /// A thread failed while appending to a log shared between threads, so
    /// the log may be half-written: nothing more is recorded in it.
    #[error("the decision log is unusable")]
    Poisoned,
    /// The decision store could not be reached or refused a statement.
    #[error("decision store `{store}`: {detail}")]
    Store { store: String, detail: String },
    /// Another live process writes the chain of this writer id.
    #[error("writer `{writer}` of decision store `{store}` is in use by another process")]
    WriterBusy { store: String, writer: String },
}

impl AuditError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io {
            action,
            path,
            source,
        }
    }
}
