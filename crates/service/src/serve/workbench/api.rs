//! What the workbench pages read: the catalog the form and the policy page
//! are built from, decisions of tickets being tried (never recorded: they
//! are questions, not decisions), the decision table, the suites' results,
//! and the plan of a change. The analysis and the suites are the engine's
//! own, run off the async threads within the request's deadline.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::deadline::{self, Deadline, Ran};
use super::super::routes::{AppState, bundle_and_body, deadline_of, error, json_body, live};
use super::super::state::{Loaded, State as Shared};
use triage_engine::{Bundle, Diagnostics, suite};

/// Runs `work` on a decision thread and answers its result as JSON, or
/// `503` when the request's deadline passes first.
pub(super) async fn off_thread<T, W>(state: &Shared, deadline: Deadline, work: W) -> Response
where
    T: Serialize + Send + 'static,
    W: FnOnce() -> T + Send + 'static,
{
    match deadline::run(&state.deciders, deadline, move |_| Some(work())).await {
        Ran::Done(value) => (StatusCode::OK, json_body(&value)).into_response(),
        Ran::Late => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the answer took longer than {} ms",
                state.config.timeout.as_millis()
            ),
        ),
        Ran::Failed(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the work failed: {e}"),
        ),
    }
}

/// The bundle's catalog, and which of the optional pages have something to show.
pub(super) async fn catalog(State(state): AppState) -> Response {
    let loaded = match live(&state) {
        Ok(loaded) => loaded,
        Err(refusal) => return refusal.into_response(),
    };
    let shown = |path: &Option<std::path::PathBuf>| path.as_ref().map(|p| p.display().to_string());
    let body = json!({
        "catalog": loaded.bundle.catalog(),
        "loaded_at": loaded.loaded_at,
        // The pages read a file log; a store is read with `triage audit`.
        "decision_log": state.config.log.is_some(),
        "base": shown(&state.config.review.base),
        "tickets": shown(&state.config.review.tickets),
    });
    (StatusCode::OK, json_body(&body)).into_response()
}

/// What an open page asks every few seconds: the serving bundle's digest
/// (a new one: the page loads itself again) and why the last reload
/// failed, if it did (an author's save that does not load).
pub(super) async fn status(State(state): AppState) -> Response {
    let digest = state
        .live
        .load_full()
        .map(|l| l.bundle.policy().digest.clone());
    let failure = state.last_error.lock().ok().and_then(|last| last.clone());
    let body = json!({ "digest": digest, "last_reload_error": failure });
    (StatusCode::OK, json_body(&body)).into_response()
}

/// Decides the ticket in the body with the serving bundle, unrecorded:
/// `{"decision": …}` or `{"rejection": …}`.
pub(super) async fn decide(State(state): AppState, request: Request) -> Response {
    let (loaded, bytes, deadline) = match bundle_and_body(&state, request).await {
        Ok(all) => all,
        Err(refusal) => return refusal.into_response(),
    };
    // Read as the decision route reads it: duplicate keys refused, one BOM skipped.
    let ticket = match triage_engine::parse_ticket(&bytes) {
        Ok(ticket) => ticket,
        Err(e) => {
            let message = format!("expected a ticket as a JSON object: {e}");
            return error(StatusCode::BAD_REQUEST, "not_json", message);
        }
    };
    off_thread(&state, deadline, move || {
        match loaded.bundle.decide(&ticket) {
            Ok(decision) => json!({ "decision": decision }),
            Err(rejection) => json!({ "rejection": rejection }),
        }
    })
    .await
}

/// Runs `work` with the serving bundle off the async threads, within the
/// request's deadline; `503` when no bundle is loaded.
async fn with_bundle<T, W>(state: &Shared, request: Request, work: W) -> Response
where
    T: Serialize + Send + 'static,
    W: FnOnce(Arc<Loaded>) -> T + Send + 'static,
{
    let deadline = deadline_of(state, request.extensions());
    match live(state) {
        Ok(loaded) => off_thread(state, deadline, move || work(loaded)).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The serving bundle's decision table.
pub(super) async fn table(State(state): AppState, request: Request) -> Response {
    with_bundle(&state, request, |loaded| loaded.bundle.table()).await
}

/// The suites beside the bundle, run with the serving bundle: each case's
/// result and the coverage of every rule, step and fallback.
pub(super) async fn suites(State(state): AppState, request: Request) -> Response {
    let dir = state.config.policies.clone();
    with_bundle(&state, request, move |loaded| {
        let report = suite::load_suites(&dir).and_then(|cases| {
            suite::check_references(&loaded.bundle, &cases)?;
            Ok(suite::run(&loaded.bundle, &cases))
        });
        match report {
            Ok(report) => json!({ "report": report }),
            Err(problems) => json!({ "error": problems.render_plain() }),
        }
    })
    .await
}

/// Which bundle a review compares the serving one with.
#[derive(Deserialize)]
pub(super) struct PlanQuery {
    /// `start` (the bundle first loaded) or `dir` (the base directory).
    base: Option<String>,
}

/// The plan from the chosen base bundle to the serving one, with the
/// tickets counted when a ticket file was given.
pub(super) async fn plan(
    State(state): AppState,
    Query(query): Query<PlanQuery>,
    request: Request,
) -> Response {
    let shared = Arc::clone(&state);
    with_bundle(&state, request, move |head| {
        let base = match base(&shared, query.base.as_deref()) {
            Ok(base) => base,
            Err(error) => return json!({ "error": error }),
        };
        let tickets = match &shared.config.review.tickets {
            Some(path) => match triage_audit::read::tickets(path) {
                Ok(tickets) => Some(tickets),
                Err(error) => return json!({ "error": error }),
            },
            None => None,
        };
        json!({ "plan": base.plan(&head.bundle, tickets.as_deref()) })
    })
    .await
}

/// The base bundle a review asks for, or why it cannot be had.
fn base(state: &Shared, which: Option<&str>) -> Result<Bundle, String> {
    match (which.unwrap_or("start"), &state.config.review.base) {
        ("start", _) => state
            .first
            .get()
            .map(|first| first.bundle.clone())
            .ok_or_else(|| "no bundle has loaded yet".to_owned()),
        ("dir", Some(dir)) => Bundle::load(dir).map_err(|e| {
            format!(
                "the base bundle `{}` is invalid: {e}\n{}",
                dir.display(),
                e.render_plain()
            )
        }),
        ("dir", None) => Err("no base directory was given at start (`--base DIR`)".to_owned()),
        (other, _) => Err(format!("unknown base `{other}`: expected `start` or `dir`")),
    }
}
