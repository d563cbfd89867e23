//! Loading the bundle off to the side and swapping it in: on start, on a
//! change in the policy directory, on `SIGHUP` and on request. Requests in
//! flight keep the bundle they started with; a bundle that fails to load is
//! reported and the old one keeps serving, and so is one without a valid
//! approval when approvals are required (`--require-approval`).

use std::path::Path;
use std::sync::Arc;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::state::{Loaded, ReloadFailure, State, now};
use triage_audit::approval::{self, Approved, Refused};
use triage_audit::sign::Trusted;
use triage_engine::{Bundle, BundleError, Code, Diagnostics, PolicyRef, Problem, Severity};

/// Loads the bundle again and, when it is valid (and approved, when
/// approvals are required), makes it the one serving.
pub(crate) async fn reload(state: &State, cause: &str) -> Result<PolicyRef, ReloadFailure> {
    let _one_at_a_time = state.reloading.lock().await;
    let dir = state.config.policies.clone();
    let trusted = state.config.require_approval.clone();
    let loaded = tokio::task::spawn_blocking(move || load(&dir, trusted.as_ref()))
        .await
        .unwrap_or_else(|error| {
            let problem = Problem::error(Code::LoadFailed, error.to_string(), None);
            Err(Failed::Invalid(BundleError::new(vec![problem], Vec::new())))
        });
    let failure = match loaded {
        Ok((bundle, approval)) => return Ok(swap_in(state, cause, bundle, approval)),
        Err(Failed::Invalid(error)) => invalid(cause, &error),
        Err(Failed::Unapproved(refused)) => unapproved(state, cause, &refused),
    };
    tracing::error!(
        cause,
        errors = failure.problems.len(),
        "policy bundle rejected: {}; the previous bundle keeps serving",
        failure.message
    );
    if let Ok(mut last) = state.last_error.lock() {
        *last = Some(failure.clone());
    }
    state.metrics.reloaded("failure");
    Err(failure)
}

/// Why a bundle is not swapped in.
enum Failed {
    Invalid(BundleError),
    Unapproved(Refused),
}

/// The bundle in `dir`, with its approval when `trusted` keys are required.
fn load(dir: &Path, trusted: Option<&Trusted>) -> Result<(Bundle, Option<Approved>), Failed> {
    let bundle = Bundle::load(dir).map_err(Failed::Invalid)?;
    let Some(trusted) = trusted else {
        return Ok((bundle, None));
    };
    let digest = &bundle.policy().digest;
    let approved = approval::check(dir, digest, trusted).map_err(Failed::Unapproved)?;
    Ok((bundle, Some(approved)))
}

/// Makes `bundle` the one serving, its records naming `approval`.
fn swap_in(state: &State, cause: &str, bundle: Bundle, approval: Option<Approved>) -> PolicyRef {
    let policy = bundle.policy().clone();
    if let (Some(approved), Some(log)) = (&approval, &state.config.log)
        && let Err(error) = log.approved(&policy.digest, &approved.id)
    {
        tracing::error!("cannot name the approval in the records: {error}");
    }
    let approval_id = approval.as_ref().map(|a| a.id.clone());
    let loaded = Arc::new(Loaded {
        in_place: super::state::in_place(&bundle, state.config.log.as_deref()),
        bundle,
        loaded_at: now(),
        approval,
    });
    // The review page compares with the first bundle that loaded.
    let _ = state.first.set(Arc::clone(&loaded));
    let previous = state.live.swap(Some(loaded));
    if let Ok(mut last) = state.last_error.lock() {
        *last = None;
    }
    state.metrics.reloaded("success");
    let from = previous.map(|p| p.bundle.policy().digest.to_string());
    tracing::info!(
        cause,
        name = %policy.name,
        version = %policy.version,
        digest = %policy.digest,
        approval = approval_id.as_deref().unwrap_or("none"),
        previous = from.as_deref().unwrap_or("none"),
        "policy bundle loaded"
    );
    policy
}

/// The failure of a bundle that does not load, its problems logged.
fn invalid(cause: &str, error: &BundleError) -> ReloadFailure {
    for (problem, report) in error.problems.iter().zip(error.reports()) {
        match problem.severity {
            Severity::Error => tracing::error!(cause, "{report:?}"),
            Severity::Warning => tracing::debug!(cause, "{report:?}"),
        }
    }
    // Warnings of a rejected bundle are noise next to its errors.
    let errors: Vec<Problem> = error
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .cloned()
        .collect();
    ReloadFailure {
        kind: "invalid_policy",
        at: now(),
        message: error.to_string(),
        problems: errors,
    }
}

/// The failure of a bundle without a valid approval, counted by reason.
fn unapproved(state: &State, cause: &str, refused: &Refused) -> ReloadFailure {
    state.metrics.refused(refused.reason());
    tracing::warn!(cause, reason = refused.reason(), "{refused}");
    ReloadFailure {
        kind: "not_approved",
        at: now(),
        message: refused.to_string(),
        problems: Vec::new(),
    }
}

/// Watches the policy directory and reloads once a burst of changes has
/// settled. The watch stops when the returned watcher is dropped.
pub(crate) fn watch(state: Arc<State>) -> Option<RecommendedWatcher> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handler = move |event: notify::Result<notify::Event>| {
        // Reading the files (our own reloads included) must not trigger one.
        let relevant = match &event {
            Ok(event) => !matches!(event.kind, EventKind::Access(_)),
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(
                "cannot watch the policy directory: {error}; reload with SIGHUP or the API"
            );
            return None;
        }
    };
    // Not recursive: config maps and editors replace files in the directory
    // itself, by rename, and the directory entry is what changes.
    if let Err(error) = watcher.watch(&state.config.policies, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch `{}`: {error}; reload with SIGHUP or the API",
            state.config.policies.display()
        );
        return None;
    }
    let debounce = state.config.debounce;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            loop {
                match tokio::time::timeout(debounce, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let _ = reload(&state, "file change").await;
        }
    });
    Some(watcher)
}

/// Reloads on every `SIGHUP`, until the returned future is dropped. The
/// handler is installed before this returns, so a `SIGHUP` that arrives as
/// soon as the service answers reloads rather than ends the process.
pub(crate) fn on_hangup(state: Arc<State>) -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    async move {
        #[cfg(unix)]
        {
            let mut hangups = match hangups {
                Ok(hangups) => hangups,
                Err(error) => {
                    tracing::warn!("cannot listen for SIGHUP: {error}");
                    return;
                }
            };
            while hangups.recv().await.is_some() {
                let _ = reload(&state, "SIGHUP").await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = state;
        }
    }
}
