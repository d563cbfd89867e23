//! The decision log for auditors: records searched by ticket id, rule,
//! outcome, vehicle and time, and one record opened with its chain checked
//! up to it and its decision replayed against its archived bundle. A file
//! log is read from its files (every segment), as `triage audit` reads it; a
//! store is searched in place, every writer's records (a record of a store
//! is opened with `triage audit show URL`).

use std::path::PathBuf;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::routes::{AppState, Refusal, deadline_of};
use super::super::state::State as Shared;
use super::api::off_thread;
use triage_audit::{Archive, AuditError, Record, read, replay, verdict::Verdict, verify};

/// The most records one search lists: the newest are shown first.
const MOST: usize = 200;

/// What a search asks for; every criterion given must hold.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Search {
    ticket_id: Option<String>,
    rule: Option<String>,
    outcome: Option<String>,
    vehicle: Option<String>,
    /// Records written at or after this time (RFC 3339, UTC; a prefix such as a day will do).
    from: Option<String>,
    /// Records written at or before this time (a prefix covers all it starts).
    to: Option<String>,
}

impl Search {
    fn matches(&self, record: &Record) -> bool {
        let verdict = record.result().map(Verdict::of);
        let decision = record.decision.as_ref();
        let is = |wanted: &Option<String>, found: Option<&str>| match wanted.as_deref() {
            None | Some("") => true,
            Some(wanted) => found == Some(wanted),
        };
        let at = record.at.as_str();
        is(&self.ticket_id, record.ticket_id())
            && is(&self.rule, verdict.as_ref().map(|v| v.rule.as_str()))
            && is(&self.outcome, decision.map(|d| &*d.outcome))
            && is(&self.vehicle, decision.and_then(|d| d.vehicle.as_deref()))
            && self.from.as_deref().is_none_or(|from| at >= from)
            && self
                .to
                .as_deref()
                .is_none_or(|to| at.get(..to.len()).unwrap_or(at) <= to)
    }
}

/// Where the service's records are.
enum Log {
    File(PathBuf),
    /// A store's URL.
    Store(String),
}

/// The service's log, or the answer that there is none.
fn log_of(state: &Shared) -> Result<Log, Refusal> {
    let log = state.config.log.as_ref();
    if let Some(path) = log.and_then(|log| log.file()) {
        return Ok(Log::File(path));
    }
    if let Some(url) = log.and_then(|log| log.store()) {
        return Ok(Log::Store(url.to_owned()));
    }
    Err(Refusal(
        StatusCode::NOT_FOUND,
        "no_decision_log",
        "this service keeps no decision log (`--decision-log`)".to_owned(),
    ))
}

/// A record as a search lists it.
fn summary(record: &Record) -> Value {
    let verdict = record.result().map(Verdict::of);
    json!({
        "seq": record.seq,
        "id": record.id,
        "at": record.at,
        "ticket_id": record.ticket_id(),
        "verdict": verdict.as_ref().map(|v| &v.label),
        "rule": verdict.as_ref().map(|v| &v.rule),
        "version": record.policy.version,
        "writer": record.writer,
    })
}

/// Runs `work` on the log off the async threads, within the request's
/// deadline; `404` when the service keeps no log.
async fn on_the_log<W>(state: &Shared, request: Request, work: W) -> Response
where
    W: FnOnce(Log) -> Value + Send + 'static,
{
    let deadline = deadline_of(state, request.extensions());
    match log_of(state) {
        Ok(log) => off_thread(state, deadline, move || work(log)).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The records that match, newest first, at most [`MOST`].
pub(super) async fn search(
    State(state): AppState,
    Query(search): Query<Search>,
    request: Request,
) -> Response {
    on_the_log(&state, request, move |log| {
        let read = match &log {
            Log::File(path) => all(path),
            Log::Store(url) => triage_audit::store::records(url),
        };
        let (records, problems) = match read {
            Ok(read) => read,
            Err(e) => return json!({ "error": e.to_string() }),
        };
        let found: Vec<&Record> = records.iter().filter(|r| search.matches(r)).collect();
        let shown: Vec<Value> = found.iter().rev().take(MOST).map(|r| summary(r)).collect();
        json!({ "total": records.len(), "found": found.len(), "records": shown, "problems": problems })
    })
    .await
}

/// Every record of the log at `path`, every segment, and the lines that are not records.
fn all(path: &PathBuf) -> Result<(Vec<Record>, Vec<String>), AuditError> {
    let files = read::files(std::slice::from_ref(path))?;
    let (records, problems) = read::records(&files)?;
    Ok((records.into_iter().map(|(_, _, r)| r).collect(), problems))
}

/// Record `seq` with its chain checked up to it and its replay.
pub(super) async fn record(
    State(state): AppState,
    Path(seq): Path<u64>,
    request: Request,
) -> Response {
    on_the_log(&state, request, move |log| {
        let Log::File(path) = log else {
            // A store numbers each writer's records apart: `seq` alone names none.
            let message = "a store's record is opened with `triage audit show URL --ticket ID`";
            return json!({ "error": message });
        };
        match opened(&path, seq) {
            Ok(Some(body)) => body,
            Ok(None) => json!({ "error": format!("the log has no record {seq}") }),
            Err(e) => json!({ "error": e.to_string() }),
        }
    })
    .await
}

/// The record, whether the chain verifies up to it, and its replay.
fn opened(path: &PathBuf, seq: u64) -> Result<Option<Value>, AuditError> {
    let (records, _) = all(path)?;
    let Some(record) = records.into_iter().find(|r| r.seq == seq) else {
        return Ok(None);
    };
    let checked = verify::verify(std::slice::from_ref(path))?;
    let chain = json!({
        "verified_to_here": checked.records >= seq,
        "records_verified": checked.records,
        "broken": checked.broken.as_ref().map(ToString::to_string),
    });
    Ok(Some(json!({
        "record": record,
        "chain": chain,
        "replay": replayed(path, &record),
    })))
}

/// The record's ticket decided again with its archived bundle.
fn replayed(path: &std::path::Path, record: &Record) -> Value {
    let Some(logged) = record.result() else {
        return json!({ "error": "the record holds no decision" });
    };
    if record.ticket.is_null() {
        return json!({ "error": "the input was not a ticket document: there is nothing to decide again" });
    }
    match replay::again(record, logged, &mut Archive::of(path), None) {
        Ok((identical, now)) => json!({
            "identical": identical,
            "verdict": Verdict::of(now.as_ref()),
        }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}
