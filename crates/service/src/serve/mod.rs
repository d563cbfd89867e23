//! The HTTP evaluation service: decisions over JSON, the bundle swapped in
//! atomically when it changes, Prometheus metrics, and limits that answer
//! with a status and a JSON error rather than falling over.
//!
//! `routes` has the handlers and middleware, `reload` the loading and
//! watching of the bundle, `metrics` the counters.

mod metrics;
mod reload;
mod routes;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use triage_engine::{Bundle, Problem};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub policies: PathBuf,
    /// When set, every `/v1/` route needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Most tickets in one batch request.
    pub max_batch: usize,
    /// Longest a request may take, body included.
    pub timeout: Duration,
    /// Most `/v1/` requests served at once; more get `503`.
    pub concurrency: usize,
    /// Reload when a file in `policies` changes.
    pub watch: bool,
    /// Quiet time after a file change before reloading: editors and config
    /// maps change several files in a burst.
    pub debounce: Duration,
    /// Where every answer is recorded, when set; a decision is sent only once
    /// its record is written.
    pub log: Option<std::sync::Arc<std::sync::Mutex<triage_audit::DecisionLog>>>,
}

/// The defaults of `Config`'s limits, which `triage serve` shows as its own.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
pub const DEFAULT_MAX_BATCH: usize = 1000;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_CONCURRENCY: usize = 1024;

impl Config {
    pub fn new(policies: impl Into<PathBuf>) -> Self {
        Config {
            policies: policies.into(),
            token: None,
            max_body: DEFAULT_MAX_BODY,
            max_batch: DEFAULT_MAX_BATCH,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            concurrency: DEFAULT_CONCURRENCY,
            watch: true,
            debounce: Duration::from_millis(250),
            log: None,
        }
    }
}

/// The bundle serving decisions and when it was loaded.
pub(crate) struct Loaded {
    pub bundle: Bundle,
    pub loaded_at: String,
}

/// Why the last reload failed.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReloadFailure {
    pub at: String,
    pub message: String,
    pub problems: Vec<Problem>,
}

pub(crate) struct State {
    pub config: Config,
    pub live: ArcSwapOption<Loaded>,
    pub last_error: Mutex<Option<ReloadFailure>>,
    pub metrics: metrics::Metrics,
    pub permits: Semaphore,
    /// One reload at a time, so a slow load cannot overwrite a newer one.
    pub reloading: tokio::sync::Mutex<()>,
}

/// Serves on `listener` until `shutdown` completes, then finishes the
/// requests in flight and returns. Loads the bundle first; when it is
/// invalid the service still starts, not ready, and waits for a good one.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(State {
        permits: Semaphore::new(config.concurrency),
        config,
        live: ArcSwapOption::empty(),
        last_error: Mutex::new(None),
        metrics: metrics::Metrics::default(),
        reloading: tokio::sync::Mutex::new(()),
    });
    let hangups = reload::on_hangup(Arc::clone(&state));
    let _ = reload::reload(&state, "start").await;
    let watcher = if state.config.watch {
        reload::watch(Arc::clone(&state))
    } else {
        None
    };
    let hangup = tokio::spawn(hangups);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "listening");
    }
    let app = routes::router(Arc::clone(&state));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    hangup.abort();
    drop(watcher);
    tracing::info!("stopped");
    served
}

/// Now, as RFC 3339 in UTC.
pub(crate) fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp(secs, since.subsec_nanos())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
