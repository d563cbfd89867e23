//! The routes, and the middleware around them: request ids, logs and metrics
//! for every request; authentication, the body limit, concurrency and time
//! limits for the `/v1/` API. Every `/v1/` answer is JSON, errors included,
//! and nothing a client sends leads to a `500`.
//!
//! Every `/v1/` request has a deadline, `--timeout-ms` after it starts. The
//! policy routes are cut off at it (`408`); the decision routes read the
//! body within it (`408`) and decide off the async threads within it
//! (`503 decision_timeout`), so that what is recorded is what is answered
//! (see `deadline`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::Instrument;

use super::deadline::{self, Claim, Deadline, Ran};
use super::reload;
use super::state::{Loaded, State as Shared};
use tokio::sync::oneshot;
use triage_audit::{Answer, AuditError, Observer, Recorder, Unconfirmed, Unreadable, Written};
use triage_engine::{Bundle, Rejection};

pub(super) type AppState = State<Arc<Shared>>;

/// Routes more than the service's own, added by the caller: the
/// workbench's (so that its handlers may use this file's and this file
/// need not know them).
pub(crate) struct Added {
    /// More `/v1/` routes, behind the same guard.
    pub api: fn(Listed) -> Listed,
    /// More open routes.
    pub open: fn(Listed) -> Listed,
}

/// The router, and the method and path of each route it serves, listed as
/// they are added: the OpenAPI document is checked against the list.
pub(crate) fn routed(
    state: Arc<Shared>,
    added: &Added,
) -> (Router, Vec<(&'static str, &'static str)>) {
    let limited = || from_fn_with_state(Arc::clone(&state), time_limit);
    let api = Listed::default()
        .route("post", "/v1/decisions", post(decide))
        .route("post", "/v1/decisions/batch", post(decide_batch))
        .route("get", "/v1/policy", get(policy).route_layer(limited()))
        .route(
            "post",
            "/v1/policy/reload",
            post(reload_now).route_layer(limited()),
        );
    let (api, mut listed) = (added.api)(api).done();
    let open = Listed::default()
        .route("get", "/healthz", get(healthz))
        .route("get", "/readyz", get(readyz))
        .route("get", "/metrics", get(metrics))
        .route("get", "/openapi.json", get(openapi));
    let (open, more) = (added.open)(open).done();
    listed.extend(more);
    let router = api
        .route_layer(from_fn_with_state(Arc::clone(&state), guard))
        .merge(open)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state);
    (router, listed)
}

/// Routes with the list of what they serve.
#[derive(Default)]
pub(crate) struct Listed {
    router: Router<Arc<Shared>>,
    routes: Vec<(&'static str, &'static str)>,
}

impl Listed {
    pub(crate) fn route(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: axum::routing::MethodRouter<Arc<Shared>>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.routes.push((method, path));
        self
    }

    fn done(self) -> (Router<Arc<Shared>>, Vec<(&'static str, &'static str)>) {
        (self.router, self.routes)
    }
}

/// A JSON error that is not about a ticket: `{"error": {"kind", "message"}}`.
pub(super) fn error(
    status: StatusCode,
    kind: &'static str,
    message: impl Into<String>,
) -> Response {
    Refusal(status, kind, message.into()).into_response()
}

/// A request refused before any ticket was looked at.
pub(super) struct Refusal(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "kind": self.1, "message": self.2 } });
        (self.0, json_body(&body)).into_response()
    }
}

pub(super) fn json_body<T: Serialize>(
    value: &T,
) -> ([(header::HeaderName, HeaderValue); 1], Vec<u8>) {
    // Serialising the service's own types cannot fail; an empty object keeps
    // the answer JSON even so.
    json_bytes(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

/// `bytes`, JSON already, as a body.
fn json_bytes(bytes: Vec<u8>) -> ([(header::HeaderName, HeaderValue); 1], Vec<u8>) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts a request as in flight until it is answered or dropped.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Request id, span, log line and metrics for every request.
async fn observe(State(state): AppState, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(
            || format!("{:016x}", REQUESTS.fetch_add(1, Ordering::Relaxed)),
            str::to_owned,
        );
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let in_flight = InFlight(&state);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status >= 400 {
            tracing::info!(status, micros, "request answered with an error");
        } else {
            tracing::debug!(status, micros, "request answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The `/v1/` limits: the token, the declared body size, the concurrency cap,
/// and the request's deadline.
async fn guard(State(state): AppState, mut request: Request, next: Next) -> Response {
    if let Some(token) = &state.config.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Comparing digests keeps the comparison constant-time even in length.
        let same = Sha256::digest(given.trim().as_bytes()).ct_eq(&Sha256::digest(token.as_bytes()));
        if !bool::from(same) {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs `Authorization: Bearer <token>` with the service's token",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    // Refused before anything reads the body, so that a client announcing
    // too large a body with `Expect: 100-continue` is not told to send it.
    if declared_length(&request).is_some_and(|length| length > state.config.max_body as u64) {
        return too_large(&state).into_response();
    }
    let Ok(_permit) = state.permits.try_acquire() else {
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "more than {} requests at once; retry shortly",
                state.config.concurrency
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let deadline = Deadline(tokio::time::Instant::now() + state.config.timeout);
    request.extensions_mut().insert(deadline);
    next.run(request).await
}

/// The `Content-Length` the client announced, if any.
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Cuts a request off at its deadline: for routes whose work can be dropped
/// half-way (the decision routes answer at the deadline themselves).
async fn time_limit(State(state): AppState, request: Request, next: Next) -> Response {
    let deadline = deadline_of(&state, request.extensions());
    match tokio::time::timeout_at(deadline.0, next.run(request)).await {
        Ok(response) => response,
        Err(_) => timed_out(&state).into_response(),
    }
}

/// The request's deadline, as the guard set it.
pub(super) fn deadline_of(state: &Shared, extensions: &axum::http::Extensions) -> Deadline {
    extensions
        .get::<Deadline>()
        .copied()
        .unwrap_or_else(|| Deadline(tokio::time::Instant::now() + state.config.timeout))
}

/// The answer to a request still arriving at its deadline.
fn timed_out(state: &Shared) -> Refusal {
    Refusal(
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        format!(
            "the request took longer than {} ms",
            state.config.timeout.as_millis()
        ),
    )
}

/// The answer to a decision not made and recorded by the request's deadline:
/// the service's fault (a slow rule, or every decision thread busy), so a
/// `503`; nothing of it is recorded.
pub(super) fn late(state: &Shared) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "decision_timeout",
        format!(
            "the decision did not finish within {} ms; nothing was recorded",
            state.config.timeout.as_millis()
        ),
    )
}

fn too_large(state: &Shared) -> Refusal {
    Refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the request body is larger than {} bytes",
            state.config.max_body
        ),
    )
}

pub(super) fn live(state: &Shared) -> Result<Arc<Loaded>, Refusal> {
    state.live.load_full().ok_or_else(|| {
        Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "no valid policy bundle is loaded; see `/v1/policy`".to_owned(),
        )
    })
}

/// What a decision route needs: the bundle to decide with, the request
/// body (read within the deadline) and the deadline; or why there are none.
pub(super) async fn bundle_and_body(
    state: &Shared,
    request: Request,
) -> Result<(Arc<Loaded>, Bytes, Deadline), Refusal> {
    let (parts, body): (Parts, Body) = request.into_parts();
    let deadline = deadline_of(state, &parts.extensions);
    let loaded = live(state)?;
    match tokio::time::timeout_at(deadline.0, read_body(state, body)).await {
        Ok(bytes) => Ok((loaded, bytes?, deadline)),
        Err(_) => Err(timed_out(state)),
    }
}

async fn read_body(state: &Shared, body: Body) -> Result<Bytes, Refusal> {
    axum::body::to_bytes(body, state.config.max_body)
        .await
        .map_err(|e| {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                too_large(state)
            } else {
                Refusal(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("cannot read the request body: {inner}"),
                )
            }
        })
}

/// How the single-ticket route words a body that is not JSON.
const TICKET_BODY: Unreadable<'static> = Unreadable {
    expected: "a ticket as a JSON object",
    found: "a body that is not JSON",
    empty: None,
};

/// How the batch route words a body that is not JSON.
const BATCH_BODY: Unreadable<'static> = Unreadable {
    expected: "a JSON array of tickets",
    found: "a body that is not JSON",
    empty: None,
};

/// The service hears every result before it is recorded, so that a result
/// whose record fails is still counted.
impl Observer for Shared {
    fn decided(&self, result: &Answer, took: Duration) {
        self.metrics.decided(result, took);
        // The bundle's fault, not the client's: worth an operator's attention.
        if let Err(rejection) = result
            && !rejection.is_invalid_ticket()
        {
            tracing::warn!("{}", rejection.error);
        }
    }

    fn written(&self, outcome: &Arc<str>, vehicle: Option<&Arc<str>>, took: Duration) {
        self.metrics.decided_as(outcome, vehicle, took);
    }

    fn unreadable(&self, rejection: &Rejection) {
        self.metrics.rejected(rejection);
    }
}

/// Decides with `bundle`, records in the service's decision log (if it has
/// one), and counts in its metrics.
fn recorder<'a>(state: &'a Shared, bundle: &'a Bundle) -> Recorder<'a> {
    Recorder::new(bundle, state.config.log.as_deref()).observed_by(state)
}

/// Results handed to the decision log, and where the log tells when their
/// records are written.
type Recording<T> = (
    Unconfirmed<T>,
    oneshot::Receiver<Result<Vec<String>, AuditError>>,
);

/// Hands results to the log with `hand` (on a decision thread). The wait
/// for their records is then the request's task's ([`confirmed`]), not a
/// thread's: a thread is free for the next decision while a commit groups
/// the records of many.
fn hand_over<T>(hand: impl FnOnce(Written) -> Unconfirmed<T>) -> Recording<T> {
    let (tell, written) = oneshot::channel();
    (
        hand(Box::new(move |outcome| drop(tell.send(outcome)))),
        written,
    )
}

/// The results of `recording` once their records are written, or why not.
async fn confirmed<T>((unconfirmed, written): Recording<T>) -> Result<T, AuditError> {
    // A log that stopped without telling recorded nothing known.
    let written = written.await.unwrap_or(Err(AuditError::Poisoned));
    unconfirmed.confirm(written)
}

/// The answer when a record could not be written: the decision is withheld.
fn unrecorded(failure: AuditError) -> Response {
    let message = match failure {
        AuditError::Poisoned => failure.to_string(),
        failure => {
            tracing::error!("cannot record a decision: {failure}");
            format!("cannot record the decision: {failure}")
        }
    };
    error(StatusCode::SERVICE_UNAVAILABLE, "decision_log", message)
}

/// The answer to a result the recorder handed back: the result itself, or
/// why it is withheld.
fn recorded(recording: Result<Answer, AuditError>) -> Response {
    match recording {
        Ok(result) => answer(&result),
        Err(failure) => unrecorded(failure),
    }
}

fn answer(result: &Answer) -> Response {
    match result {
        Ok(decision) => (StatusCode::OK, json_body(decision)).into_response(),
        Err(rejection) if rejection.is_invalid_ticket() => {
            (StatusCode::BAD_REQUEST, json_body(rejection)).into_response()
        }
        Err(rejection) => (StatusCode::UNPROCESSABLE_ENTITY, json_body(rejection)).into_response(),
    }
}

/// A single ticket's answer: its decision written straight; written
/// straight and answered once its record is written; or a result that went
/// the recorder's long way, answered once its record is written.
enum Reply {
    Straight(Vec<u8>),
    Written(Box<Recording<Vec<u8>>>),
    Recorded(Box<Recording<Answer>>),
}

/// The decision of `bytes` read and written the short way
/// ([`Bundle::write_decision`]) and counted, when there is no log to record
/// it in; `None` for a body that must go the long way.
fn straight(state: &Shared, bundle: &Bundle, bytes: &[u8]) -> Option<Vec<u8>> {
    let started = Instant::now();
    let mut body = Vec::with_capacity(2048);
    let written = bundle.write_decision(bytes, &mut body)?;
    let took = started.elapsed();
    (state.metrics).decided_as(written.outcome, written.vehicle, took);
    Some(body)
}

async fn decide(State(state): AppState, request: Request) -> Response {
    let (loaded, bytes, deadline) = match bundle_and_body(&state, request).await {
        Ok(all) => all,
        Err(refusal) => return refusal.into_response(),
    };
    let in_place = loaded.in_place;
    let shared = Arc::clone(&state);
    let work = move |claim: &Claim| {
        if shared.config.log.is_none()
            && let Some(body) = straight(&shared, &loaded.bundle, &bytes)
        {
            return claim.take().then_some(Reply::Straight(body));
        }
        let recorder = recorder(&shared, &loaded.bundle);
        if recorder.is_recording()
            && let Some(drafted) = recorder.draft(&bytes)
        {
            return claim.take().then(|| {
                Reply::Written(Box::new(hand_over(|then| {
                    recorder.record_drafted_then(drafted, then)
                })))
            });
        }
        let pending = recorder.decide_json_unrecorded(&bytes, &TICKET_BODY);
        claim.take().then(|| {
            Reply::Recorded(Box::new(hand_over(|then| {
                recorder.record_then(pending, then)
            })))
        })
    };
    let ran = match in_place {
        true => deadline::here(work),
        false => deadline::run(&state.deciders, deadline, work).await,
    };
    match ran {
        Ran::Done(Reply::Straight(body)) => (StatusCode::OK, json_bytes(body)).into_response(),
        Ran::Done(Reply::Written(recording)) => match confirmed(*recording).await {
            Ok(body) => (StatusCode::OK, json_bytes(body)).into_response(),
            Err(failure) => unrecorded(failure),
        },
        Ran::Done(Reply::Recorded(recording)) => recorded(confirmed(*recording).await),
        Ran::Late => late(&state),
        Ran::Failed(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "decision_log",
            format!("the decision failed: {e}"),
        ),
    }
}

async fn decide_batch(State(state): AppState, request: Request) -> Response {
    let (loaded, bytes, deadline) = match bundle_and_body(&state, request).await {
        Ok(all) => all,
        Err(refusal) => return refusal.into_response(),
    };
    let shared = Arc::clone(&state);
    let work = move |claim: &Claim| answer_batch(&shared, &loaded.bundle, &bytes, claim);
    // A batch goes to a decision thread whatever its bundle: its many
    // decisions would hold the connection's thread, and its hop is shared.
    match deadline::run(&state.deciders, deadline, work).await {
        Ran::Done(Batched::Now(response)) => response,
        Ran::Done(Batched::One(recording)) => recorded(confirmed(recording).await),
        Ran::Done(Batched::All(recording)) => match confirmed(recording).await {
            Ok(results) => batch_body(&results),
            Err(failure) => unrecorded(failure),
        },
        Ran::Late => late(&state),
        Ran::Failed(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the batch failed: {e}"),
        ),
    }
}

/// The refusal of a JSON body that is not an array.
fn not_a_batch(body: &Value) -> Response {
    let found = match body {
        Value::Object(_) => "an object",
        _ => "a JSON value that is not an array",
    };
    error(
        StatusCode::BAD_REQUEST,
        "not_a_batch",
        format!("expected a JSON array of tickets, found {found}"),
    )
}

/// What a batch comes to on its decision thread.
enum Batched {
    /// Refused before anything was decided.
    Now(Response),
    /// Not JSON at all: one rejection, recorded like any.
    One(Recording<Answer>),
    /// Every ticket's result, recorded together.
    All(Recording<Vec<Answer>>),
}

/// Reads, decides and hands over a batch, on a decision thread. Every
/// ticket is decided first, then the results are recorded together, all or
/// none, once the request has claimed them; `None` when it gave up first.
fn answer_batch(state: &Shared, bundle: &Bundle, bytes: &[u8], claim: &Claim) -> Option<Batched> {
    let recorder = recorder(state, bundle);
    let tickets = match recorder.read(bytes, &BATCH_BODY) {
        Ok(Value::Array(tickets)) => tickets,
        Ok(other) => return Some(Batched::Now(not_a_batch(&other))),
        // Not JSON at all: answered like any rejection, recorded first.
        Err(rejection) => {
            let pending = recorder.reject_unrecorded(rejection);
            let recording = || hand_over(|then| recorder.record_then(pending, then));
            return claim.take().then(|| Batched::One(recording()));
        }
    };
    if tickets.len() > state.config.max_batch {
        return Some(Batched::Now(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "the batch has {} tickets; at most {} are allowed",
                tickets.len(),
                state.config.max_batch
            ),
        )));
    }
    let mut pending = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        if claim.abandoned() {
            return None;
        }
        pending.push(recorder.decide_unrecorded(ticket));
    }
    if !claim.take() {
        return None;
    }
    Some(Batched::All(hand_over(|then| {
        recorder.record_all_then(pending, then)
    })))
}

/// The batch's answer: a JSON array of each ticket's decision or rejection.
fn batch_body(results: &[Answer]) -> Response {
    let mut out = Vec::with_capacity(results.len() * 2048 + 2);
    out.push(b'[');
    for (i, result) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let written = match result {
            Ok(decision) => serde_json::to_writer(&mut out, decision),
            Err(rejection) => serde_json::to_writer(&mut out, rejection),
        };
        if written.is_err() {
            out.extend_from_slice(b"null");
        }
    }
    out.push(b']');
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        out,
    )
        .into_response()
}

fn last_error(state: &Shared) -> Value {
    state
        .last_error
        .lock()
        .ok()
        .and_then(|last| last.as_ref().and_then(|e| serde_json::to_value(e).ok()))
        .unwrap_or(Value::Null)
}

async fn policy(State(state): AppState) -> Response {
    let Some(loaded) = state.live.load_full() else {
        let body = json!({
            "error": { "kind": "not_ready", "message": "no valid policy bundle is loaded" },
            "last_reload_error": last_error(&state),
        });
        return (StatusCode::SERVICE_UNAVAILABLE, json_body(&body)).into_response();
    };
    let bundle = &loaded.bundle;
    let p = bundle.policy();
    let vehicles: Vec<_> = bundle.vehicles().iter().map(|v| v.id.clone()).collect();
    let body = json!({
        "name": p.name,
        "version": p.version,
        "digest": p.digest,
        "loaded_at": loaded.loaded_at,
        "approval": loaded.approval.as_ref().map(|a| json!({ "id": a.id, "key": a.key })),
        "rules": bundle.rule_ids(),
        "vehicles": vehicles,
        "last_reload_error": last_error(&state),
    });
    (StatusCode::OK, json_body(&body)).into_response()
}

async fn reload_now(State(state): AppState) -> Response {
    match reload::reload(&state, "API").await {
        Ok(policy) => (
            StatusCode::OK,
            json_body(&json!({ "reloaded": true, "policy": policy })),
        )
            .into_response(),
        Err(failure) => {
            let serving = state.live.load_full().map(|l| l.bundle.policy().clone());
            let body = json!({
                "reloaded": false,
                "error": { "kind": failure.kind, "message": failure.message },
                "problems": failure.problems,
                "policy": serving,
            });
            (StatusCode::UNPROCESSABLE_ENTITY, json_body(&body)).into_response()
        }
    }
}

async fn openapi() -> Response {
    (StatusCode::OK, json_body(&super::openapi::document())).into_response()
}

async fn healthz() -> Response {
    (StatusCode::OK, json_body(&json!({ "status": "ok" }))).into_response()
}

/// Ready when a bundle serves and the decision log takes records: a
/// replica whose store is out of reach leaves the load balancer's rotation
/// until its writer has reconnected.
async fn readyz(State(state): AppState) -> Response {
    let log = state
        .config
        .log
        .as_deref()
        .map_or(Ok(()), |log| log.ready());
    match (state.live.load_full(), log) {
        (Some(loaded), Ok(())) => {
            let digest = &loaded.bundle.policy().digest;
            let body = json!({ "status": "ready", "digest": digest });
            (StatusCode::OK, json_body(&body)).into_response()
        }
        (_, log) => {
            let body = json!({
                "status": "not_ready",
                "last_reload_error": last_error(&state),
                "decision_log": log.err(),
            });
            (StatusCode::SERVICE_UNAVAILABLE, json_body(&body)).into_response()
        }
    }
}

async fn metrics(State(state): AppState) -> Response {
    let live = state.live.load_full();
    let serving = live.as_deref().map(|l| (l.bundle.policy(), l.in_place));
    let text = state.metrics.render(serving);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn not_found(request: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route `{}`", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "`{}` is not allowed on `{}`",
            request.method(),
            request.uri().path()
        ),
    )
}
