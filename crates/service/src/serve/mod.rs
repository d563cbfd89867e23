//! The HTTP evaluation service: decisions over JSON, the bundle swapped in
//! atomically when it changes, Prometheus metrics, and limits that answer
//! with a status and a JSON error rather than falling over.
//!
//! `conn` has the connections and their time limits, `routes` the handlers
//! and middleware, `deadline` the decisions run off the async threads within
//! each request's deadline, `reload` the loading and watching of the bundle,
//! `metrics` the counters, `openapi` the document of every route,
//! `workbench` the web pages for people and the read-only API behind them.

mod conn;
mod deadline;
mod metrics;
mod openapi;
mod reload;
mod routes;
mod state;
mod workbench;

pub use openapi::document as openapi;
use state::State;
pub use state::{
    Config, DEFAULT_CONCURRENCY, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HEADER_TIMEOUT_MS,
    DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT_MS, Review,
};

use std::future::Future;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serves on `listener` until `shutdown` completes, then finishes the
/// requests in flight (closing what is still open after the drain timeout)
/// and returns. Loads the bundle first; when it is invalid the service still
/// starts, not ready, and waits for a good one.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = state_of(config);
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
    let app = routes::routed(Arc::clone(&state), &WORKBENCH).0;
    let limits = conn::Limits {
        header_read: state.config.header_read_timeout,
        drain: state.config.drain_timeout,
    };
    conn::serve(listener, app, limits, shutdown).await;
    hangup.abort();
    drop(watcher);
    tracing::info!("stopped");
    Ok(())
}

/// The service's routes are its own and the workbench's.
const WORKBENCH: routes::Added = routes::Added {
    api: workbench::api,
    open: workbench::pages,
};

fn state_of(config: Config) -> Arc<State> {
    Arc::new(State {
        permits: Semaphore::new(config.concurrency),
        deciders: Arc::new(Semaphore::new(config.decision_threads.max(1))),
        config,
        live: ArcSwapOption::empty(),
        first: std::sync::OnceLock::new(),
        last_error: Mutex::new(None),
        metrics: metrics::Metrics::default(),
        reloading: tokio::sync::Mutex::new(()),
    })
}

/// The method (lowercase) and path of every route the service serves, as
/// its router lists them.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    routes::routed(state_of(Config::new("")), &WORKBENCH).1
}
