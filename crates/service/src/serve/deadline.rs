//! Decisions off the async threads, within the request's deadline.
//!
//! A decision is CPU work of unknown length (a bundle may raise its
//! operation limit), so it never runs on the async threads: it runs on the
//! blocking pool, on one of at most `Config::decision_threads` workers, while
//! the async threads go on answering `/healthz`, `/readyz`, `/metrics` and
//! other connections. Each request has a deadline (`--timeout-ms` from its
//! start); when it passes, the client is answered at once and the work it
//! started is abandoned.
//!
//! The record and the answer stay together through a [`Claim`]: the work
//! records its result only after claiming it for the request, and the
//! request gives up only if it can still abandon the claim. So either the
//! result is recorded and answered (a request whose work claimed it waits
//! for the record to be written, past the deadline if need be), or it is
//! neither: a result that comes too late is dropped unrecorded. A worker
//! that was abandoned stays busy until the rule returns, which the bundle's
//! operation limit bounds; the workers bound how many such rules run at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::Semaphore;
use tokio::time::Instant;

/// When a request must be answered by; set by the `/v1/` guard.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(pub Instant);

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const ABANDONED: u8 = 2;

/// Whether the request that started a piece of work still waits for it.
pub(crate) struct Claim(Arc<AtomicU8>);

impl Claim {
    /// The request gave up (its deadline passed, or its client left): the
    /// work may stop, and must not record anything.
    pub fn abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }

    /// Claims the result for the request before recording it. `true`: the
    /// request now waits for this work to finish, deadline or not. `false`:
    /// the request gave up, and the result is to be dropped unrecorded.
    pub fn take(&self) -> bool {
        self.0
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Gives the work up when the request is answered without it or dropped
/// (its client left); does nothing once the work has claimed the result.
struct Abandon(Arc<AtomicU8>);

impl Abandon {
    /// `true` when the work had not claimed the result: it never will.
    fn now(&self) -> bool {
        self.0
            .compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        self.now();
    }
}

/// How a piece of work ended, for the request that started it.
pub(crate) enum Ran<T> {
    /// It finished and its result is the answer.
    Done(T),
    /// The deadline passed first (waiting for a worker, or deciding): nothing
    /// was recorded.
    Late,
    /// It panicked.
    Failed(String),
}

/// Runs `work` on the calling thread at once, for work known to be short
/// (see `state::in_place`): nothing can abandon it, the request waits for
/// it where it runs, so its claim is always granted.
pub(crate) fn here<T>(work: impl FnOnce(&Claim) -> Option<T>) -> Ran<T> {
    let claim = Claim(Arc::new(AtomicU8::new(WAITING)));
    work(&claim).map_or(Ran::Late, Ran::Done)
}

/// Runs `work` on a decision worker and waits for it until `deadline`.
/// `work` gets the [`Claim`] to take before recording; it returns `None`
/// when it found the request gone, having recorded nothing.
pub(crate) async fn run<T, W>(workers: &Arc<Semaphore>, deadline: Deadline, work: W) -> Ran<T>
where
    T: Send + 'static,
    W: FnOnce(&Claim) -> Option<T> + Send + 'static,
{
    let state = Arc::new(AtomicU8::new(WAITING));
    let abandon = Abandon(Arc::clone(&state));
    let worker =
        match tokio::time::timeout_at(deadline.0, Arc::clone(workers).acquire_owned()).await {
            Ok(Ok(worker)) => worker,
            Ok(Err(closed)) => return Ran::Failed(closed.to_string()),
            Err(_) => return Ran::Late,
        };
    let claim = Claim(state);
    let span = tracing::Span::current();
    let mut task = tokio::task::spawn_blocking(move || {
        let _worker = worker;
        let _entered = span.enter();
        if claim.abandoned() {
            return None;
        }
        work(&claim)
    });
    let joined = match tokio::time::timeout_at(deadline.0, &mut task).await {
        Ok(joined) => joined,
        Err(_) if abandon.now() => {
            tracing::warn!("decision abandoned at the deadline; its result will not be recorded");
            return Ran::Late;
        }
        // The work claimed the result: its record is being written.
        Err(_) => (&mut task).await,
    };
    match joined {
        Ok(Some(done)) => Ran::Done(done),
        Ok(None) => Ran::Late,
        Err(failure) => Ran::Failed(failure.to_string()),
    }
}
