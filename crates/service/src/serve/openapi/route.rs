//! The parts the OpenAPI document is written from: a route, its answers
//! and parameters, and the schema helpers both tables of routes use.

use serde_json::{Value, json};

/// One answer of a route: its status, its body and when it comes.
pub(crate) type Answer = (u16, Body, &'static str);

/// The body of an answer.
#[derive(Clone, Copy)]
pub(crate) enum Body {
    /// JSON, by the name of its component schema.
    Json(&'static str),
    /// Text of this media type: the metrics, the workbench's pages.
    Text(&'static str),
}

/// A parameter of a route: where it goes (`path` or `query`), its name,
/// its JSON type and what it is.
pub(crate) type Parameter = (&'static str, &'static str, &'static str, &'static str);

/// A route: method, path, summary, its own answers, and whether it is a
/// `/v1/` route (which the token, size and concurrency limits guard).
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub answers: &'static [Answer],
    pub guarded: bool,
    pub parameters: &'static [Parameter],
}

/// A reference to the component schema `name`.
pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An object with exactly these properties, all required.
pub(crate) fn strict(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}
