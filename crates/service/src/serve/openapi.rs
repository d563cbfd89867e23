//! The OpenAPI 3.1 document of every route, served at `/openapi.json` and
//! committed as `docs/openapi.json`. Written out here, from one table of
//! routes and their answers, rather than derived by a framework: the
//! decision and rejection schemas come from the engine
//! ([`triage_engine::jsonschema`]), the same source `triage schema` prints,
//! and the integration test checks the table against the router's routes
//! and real answers against the schemas.

use serde_json::{Map, Value, json};
use triage_engine::jsonschema;

mod route;
mod workbench;

use route::{Answer, Body::Json, Body::Text, Parameter, Route, reference, strict};

/// What the limits answer on every `/v1/` route.
const GUARD: &[Answer] = &[
    (
        401,
        Json("Error"),
        "The service has a token and the request did not send it (`unauthorized`).",
    ),
    (
        413,
        Json("Error"),
        "The body is larger than `--max-body` (`payload_too_large`).",
    ),
    (
        503,
        Json("Error"),
        "More than `--concurrency` requests at once (`overloaded`), no bundle loaded (`not_ready`), the decision not made in time (`decision_timeout`) or not recorded (`decision_log`).",
    ),
];

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/v1/decisions",
        summary: "Decide one ticket (a JSON object); answered once its record is written.",
        answers: &[
            (200, Json("Decision"), "The decision."),
            (
                400,
                Json("RejectionOrError"),
                "The ticket is invalid (a rejection, recorded) or the body unreadable.",
            ),
            (
                408,
                Json("Error"),
                "The body did not arrive within `--timeout-ms`.",
            ),
            (
                422,
                Json("Rejection"),
                "A rule failed at run time for this ticket (recorded).",
            ),
        ],
        guarded: true,
        parameters: &[],
    },
    Route {
        method: "post",
        path: "/v1/decisions/batch",
        summary: "Decide a JSON array of tickets, recorded all or none.",
        answers: &[
            (
                200,
                Json("Batch"),
                "Each ticket's decision or rejection, in order.",
            ),
            (
                400,
                Json("RejectionOrError"),
                "The body is not JSON (a rejection, recorded) or not an array.",
            ),
            (
                408,
                Json("Error"),
                "The body did not arrive within `--timeout-ms`.",
            ),
            (
                413,
                Json("Error"),
                "More than `--max-batch` tickets (`batch_too_large`).",
            ),
            (
                500,
                Json("Error"),
                "The batch failed on its decision thread (`internal`).",
            ),
        ],
        guarded: true,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/v1/policy",
        summary: "The bundle serving, its approval and the last reload error.",
        answers: &[
            (200, Json("Policy"), "The bundle serving."),
            (408, Json("Error"), "Not answered within `--timeout-ms`."),
            (503, Json("NotServing"), "No bundle is loaded."),
        ],
        guarded: true,
        parameters: &[],
    },
    Route {
        method: "post",
        path: "/v1/policy/reload",
        summary: "Load the bundle again; the old one serves until a valid (approved) one loads.",
        answers: &[
            (200, Json("Reloaded"), "The new bundle serves."),
            (408, Json("Error"), "Not answered within `--timeout-ms`."),
            (
                422,
                Json("ReloadRefused"),
                "The bundle is invalid or not approved; the old one keeps serving.",
            ),
        ],
        guarded: true,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/healthz",
        summary: "Liveness: the process answers.",
        answers: &[(200, Json("Health"), "Alive.")],
        guarded: false,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/readyz",
        summary: "Readiness: a bundle is loaded and the decision log takes records.",
        answers: &[
            (
                200,
                Json("Ready"),
                "A bundle serves and its answers can be recorded.",
            ),
            (
                503,
                Json("NotReady"),
                "No bundle is loaded yet, or the decision store is out of reach.",
            ),
        ],
        guarded: false,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics, in the text exposition format.",
        answers: &[(200, Text("text/plain"), "The metrics.")],
        guarded: false,
        parameters: &[],
    },
    Route {
        method: "get",
        path: "/openapi.json",
        summary: "This document.",
        answers: &[(200, Json("OpenApi"), "The OpenAPI document.")],
        guarded: false,
        parameters: &[],
    },
];

/// The statuses `route` answers with, its own and its guard's, in order.
pub(crate) fn answers(route: &Route) -> Vec<Answer> {
    let guard = if route.guarded { GUARD } else { &[] };
    let mut all: Vec<Answer> = route.answers.to_vec();
    for answer in guard {
        if !all.iter().any(|a| a.0 == answer.0) {
            all.push(*answer);
        }
    }
    all.sort_by_key(|a| a.0);
    all
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES.iter().chain(workbench::ROUTES) {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "triage",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Decide support tickets by the rules of a policy bundle, and the workbench's pages for people. Every answer is JSON except `/metrics` and the pages; an unknown route answers 404 and a known one with another method 405, both with the `Error` body."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "token": { "type": "http", "scheme": "bearer" } }
        }
    })
}

fn operation(route: &Route) -> Value {
    let mut responses = Map::new();
    for (status, schema, description) in answers(route) {
        let content = match schema {
            Json(name) => json!({ "application/json": { "schema": reference(name) } }),
            Text(kind) => json!({ kind: { "schema": { "type": "string" } } }),
        };
        responses.insert(
            status.to_string(),
            json!({ "description": description, "content": content }),
        );
    }
    let mut operation = json!({ "summary": route.summary, "responses": responses });
    if route.guarded {
        operation["security"] = json!([{ "token": [] }]);
    }
    if !route.parameters.is_empty() {
        operation["parameters"] = route.parameters.iter().map(parameter).collect();
    }
    if let Some(body) = request_body(route) {
        operation["requestBody"] = body;
    }
    operation
}

/// The body of a route that reads tickets; `None` for the others.
fn request_body(route: &Route) -> Option<Value> {
    let tickets = "Tickets as the bundle's schema describes them: `triage schema ticket`.";
    let ticket = "A ticket as the bundle's schema describes it: `triage schema ticket`.";
    let object = json!({ "type": "object" });
    let (description, schema) = match (route.method, route.path) {
        ("post", "/v1/decisions/batch") => (tickets, json!({ "type": "array", "items": object })),
        ("post", "/v1/decisions") => (tickets, object),
        ("post", "/v1/workbench/decide") => (ticket, object),
        _ => return None,
    };
    Some(json!({
        "required": true,
        "description": description,
        "content": { "application/json": { "schema": schema } }
    }))
}

fn parameter(&(place, name, kind, description): &Parameter) -> Value {
    json!({
        "in": place, "name": name, "required": place == "path",
        "description": description, "schema": { "type": kind }
    })
}

/// The body schemas, by name.
fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let error = strict(json!({ "error": strict(json!({ "kind": text, "message": text })) }));
    let last_error = json!({ "oneOf": [{ "type": "null" }, strict(json!({
        "at": text, "message": text, "problems": { "type": "array", "items": { "type": "object" } }
    }))] });
    let approval =
        json!({ "oneOf": [{ "type": "null" }, strict(json!({ "id": text, "key": text }))] });
    let texts = json!({ "type": "array", "items": text });
    let mut all = json!({
        "Decision": jsonschema::decision(),
        "Rejection": jsonschema::rejection(),
        "Error": error,
        "RejectionOrError": { "oneOf": [reference("Rejection"), reference("Error")] },
        "Batch": { "type": "array", "items": { "oneOf": [reference("Decision"), reference("Rejection")] } },
        "Policy": strict(json!({
            "name": text, "version": text, "digest": text, "loaded_at": text,
            "approval": approval, "rules": texts, "vehicles": texts, "last_reload_error": last_error
        })),
        "NotServing": strict(json!({ "error": error["properties"]["error"], "last_reload_error": last_error })),
        "Reloaded": strict(json!({ "reloaded": { "const": true }, "policy": jsonschema::policy_ref() })),
        "ReloadRefused": strict(json!({
            "reloaded": { "const": false }, "error": error["properties"]["error"],
            "problems": { "type": "array", "items": { "type": "object" } },
            "policy": { "oneOf": [{ "type": "null" }, jsonschema::policy_ref()] }
        })),
        "Health": strict(json!({ "status": { "const": "ok" } })),
        "Ready": strict(json!({ "status": { "const": "ready" }, "digest": text })),
        "NotReady": strict(json!({
            "status": { "const": "not_ready" }, "last_reload_error": last_error,
            "decision_log": { "oneOf": [{ "type": "null" }, text] }
        })),
        "OpenApi": { "type": "object", "required": ["openapi", "paths", "components"] }
    });
    for (name, schema) in workbench::schemas(&last_error) {
        all[name] = schema;
    }
    all
}
