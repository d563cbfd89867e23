//! The workbench's routes in the OpenAPI document: its pages (one HTML
//! shell, a script and a style sheet, open to anyone) and the `/v1/workbench/`
//! API they read, behind the API's guard.

use serde_json::{Value, json};

use super::route::{Answer, Body::Json, Body::Text, Parameter, Route, reference, strict};

const PAGE: &[Answer] = &[(
    200,
    Text("text/html"),
    "The workbench's page shell; its script builds the page from the API.",
)];

/// The answer of work run off the async threads that failed there.
const FAILED: Answer = (
    500,
    Json("Error"),
    "The work failed on its thread (`internal`).",
);

const fn page(path: &'static str, summary: &'static str) -> Route {
    Route {
        method: "get",
        path,
        summary,
        answers: PAGE,
        guarded: false,
        parameters: &[],
    }
}

/// A `/v1/workbench/` route read with `GET`.
const fn read(
    path: &'static str,
    summary: &'static str,
    answers: &'static [Answer],
    parameters: &'static [Parameter],
) -> Route {
    Route {
        method: "get",
        path,
        summary,
        answers,
        guarded: true,
        parameters,
    }
}

const SEARCH: &[Parameter] = &[
    ("query", "ticket_id", "string", "The ticket's id."),
    ("query", "rule", "string", "The deciding rule."),
    ("query", "outcome", "string", "The decision's outcome."),
    ("query", "vehicle", "string", "The decision's vehicle."),
    (
        "query",
        "from",
        "string",
        "Written at or after (RFC 3339, UTC; a prefix will do).",
    ),
    (
        "query",
        "to",
        "string",
        "Written at or before (a prefix covers all it starts).",
    ),
];

pub(super) const ROUTES: &[Route] = &[
    page("/", "The workbench: its first page, try a ticket."),
    page("/try", "Try a ticket."),
    page(
        "/policy",
        "The policy: its rules, decision table and coverage.",
    ),
    page("/review", "Review a change: the plan from a base bundle."),
    page("/decisions", "Search the decision log and open a record."),
    Route {
        method: "get",
        path: "/workbench.js",
        summary: "The pages' script.",
        answers: &[(200, Text("text/javascript"), "The script.")],
        guarded: false,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/workbench.css",
        summary: "The pages' style sheet.",
        answers: &[(200, Text("text/css"), "The style sheet.")],
        guarded: false,
        parameters: &[],
    },
    read(
        "/v1/workbench/catalog",
        "The serving bundle's catalog, and what the optional pages have to show.",
        &[(200, Json("WorkbenchCatalog"), "The catalog.")],
        &[],
    ),
    read(
        "/v1/workbench/status",
        "The serving bundle's digest and the last reload's failure.",
        &[(200, Json("WorkbenchStatus"), "The status.")],
        &[],
    ),
    Route {
        method: "post",
        path: "/v1/workbench/decide",
        summary: "Decide a ticket with the serving bundle, not recorded.",
        answers: &[
            (
                200,
                Json("WorkbenchDecided"),
                "The decision or the rejection.",
            ),
            (400, Json("Error"), "The body is not a JSON object."),
            (
                408,
                Json("Error"),
                "The body did not arrive within `--timeout-ms`.",
            ),
            FAILED,
        ],
        guarded: true,
        parameters: &[],
    },
    read(
        "/v1/workbench/table",
        "The serving bundle's decision table, as `triage table --format json`.",
        &[(200, Json("WorkbenchTable"), "The table."), FAILED],
        &[],
    ),
    read(
        "/v1/workbench/suites",
        "The suites beside the bundle, run with it, as `triage test --format json`.",
        &[
            (
                200,
                Json("WorkbenchSuites"),
                "The report, or why the suites do not run.",
            ),
            FAILED,
        ],
        &[],
    ),
    read(
        "/v1/workbench/plan",
        "The plan from a base bundle to the serving one, as `triage plan --format json`.",
        &[
            (
                200,
                Json("WorkbenchPlan"),
                "The plan, or why there is none.",
            ),
            FAILED,
        ],
        &[(
            "query",
            "base",
            "string",
            "`start` (the bundle first loaded, the default) or `dir` (`--base DIR`).",
        )],
    ),
    read(
        "/v1/workbench/decisions",
        "The decision log's records that match, newest first, at most 200.",
        &[
            (
                200,
                Json("WorkbenchFound"),
                "The records found, or why the log cannot be read.",
            ),
            (
                404,
                Json("Error"),
                "The service keeps no decision log (`no_decision_log`).",
            ),
            FAILED,
        ],
        SEARCH,
    ),
    read(
        "/v1/workbench/decisions/{seq}",
        "A record, its chain checked up to it, and its decision replayed.",
        &[
            (
                200,
                Json("WorkbenchRecord"),
                "The record, or why it cannot be opened.",
            ),
            (400, Text("text/plain"), "`seq` is not a record number."),
            (
                404,
                Json("Error"),
                "The service keeps no decision log (`no_decision_log`).",
            ),
            FAILED,
        ],
        &[("path", "seq", "integer", "The record's number.")],
    ),
];

/// `{"error": "…"}`: why the work could not be done.
fn failed() -> Value {
    strict(json!({ "error": { "type": "string" } }))
}

/// The body of `key` or the `failed` one.
fn or_failed(key: &str, schema: Value) -> Value {
    json!({ "oneOf": [strict(json!({ key: schema })), failed()] })
}

/// The workbench's body schemas, by name.
pub(super) fn schemas(last_error: &Value) -> Vec<(&'static str, Value)> {
    let text = json!({ "type": "string" });
    let maybe = json!({ "type": ["string", "null"] });
    let object = json!({ "type": "object" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let summary = strict(json!({
        "seq": count, "id": text, "at": text, "ticket_id": maybe,
        "verdict": maybe, "rule": maybe, "version": text, "writer": maybe
    }));
    let chain = strict(json!({
        "verified_to_here": { "type": "boolean" }, "records_verified": count, "broken": maybe
    }));
    let replay = json!({ "oneOf": [
        strict(json!({ "identical": { "type": "boolean" }, "verdict": object })), failed()
    ] });
    vec![
        (
            "WorkbenchCatalog",
            strict(json!({
                "catalog": object, "loaded_at": text, "decision_log": { "type": "boolean" },
                "base": maybe, "tickets": maybe
            })),
        ),
        (
            "WorkbenchStatus",
            strict(json!({ "digest": maybe, "last_reload_error": last_error })),
        ),
        (
            "WorkbenchDecided",
            json!({ "oneOf": [
            strict(json!({ "decision": reference("Decision") })),
            strict(json!({ "rejection": reference("Rejection") }))
        ] }),
        ),
        ("WorkbenchTable", object.clone()),
        ("WorkbenchSuites", or_failed("report", object.clone())),
        ("WorkbenchPlan", or_failed("plan", object.clone())),
        (
            "WorkbenchFound",
            json!({ "oneOf": [strict(json!({
            "total": count, "found": count,
            "records": { "type": "array", "items": summary },
            "problems": { "type": "array", "items": text }
        })), failed()] }),
        ),
        (
            "WorkbenchRecord",
            json!({ "oneOf": [strict(json!({
            "record": object, "chain": chain, "replay": replay
        })), failed()] }),
        ),
    ]
}
