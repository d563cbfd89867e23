//! Loading the bundle off to the side and swapping it in: on start, on a
//! change in the policy directory, on `SIGHUP` and on request. Requests in
//! flight keep the bundle they started with; a bundle that fails to load is
//! reported and the old one keeps serving.

use std::sync::Arc;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::state::{Loaded, ReloadFailure, State, now};
use triage_engine::{Bundle, BundleError, Code, Diagnostics, PolicyRef, Problem, Severity};

/// Loads the bundle again and, when it is valid, makes it the one serving.
pub(crate) async fn reload(state: &State, cause: &str) -> Result<PolicyRef, ReloadFailure> {
    let _one_at_a_time = state.reloading.lock().await;
    let dir = state.config.policies.clone();
    let loaded = tokio::task::spawn_blocking(move || Bundle::load(dir))
        .await
        .unwrap_or_else(|error| {
            let problem = Problem::error(Code::LoadFailed, error.to_string(), None);
            Err(BundleError::new(vec![problem], Vec::new()))
        });
    match loaded {
        Ok(bundle) => {
            let policy = bundle.policy().clone();
            let loaded = Arc::new(Loaded {
                bundle,
                loaded_at: now(),
            });
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
                previous = from.as_deref().unwrap_or("none"),
                "policy bundle loaded"
            );
            Ok(policy)
        }
        Err(error) => {
            // Warnings of a rejected bundle are noise next to its errors.
            let errors: Vec<Problem> = error
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .cloned()
                .collect();
            let failure = ReloadFailure {
                at: now(),
                message: error.to_string(),
                problems: errors,
            };
            for (problem, report) in error.problems.iter().zip(error.reports()) {
                match problem.severity {
                    Severity::Error => tracing::error!(cause, "{report:?}"),
                    Severity::Warning => tracing::debug!(cause, "{report:?}"),
                }
            }
            tracing::error!(
                cause,
                errors = failure.problems.len(),
                "policy bundle rejected: {error}; the previous bundle keeps serving"
            );
            if let Ok(mut last) = state.last_error.lock() {
                *last = Some(failure.clone());
            }
            state.metrics.reloaded("failure");
            Err(failure)
        }
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
