//! JSON Schemas for editors and for the services that send tickets: the
//! policy file format and the suite format (fixed), and the ticket format
//! (derived from a bundle's own ticket schema); and the answers, a decision
//! and a rejection, for the service's OpenAPI document.

use serde_json::{Map, Value, json};

use crate::engine::catalog::Catalog;
use crate::schema::{FieldPath, FieldType};

fn text() -> Value {
    json!({ "type": "string" })
}

fn map_of(value: Value) -> Value {
    json!({ "type": "object", "additionalProperties": value })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

/// A declaration with a title, an optional description (required where the
/// loader requires it: `required`) and the kind's own keys.
fn described(extra: Value, required: &[&str]) -> Value {
    let mut properties = json!({
        "title": { "type": "string", "description": "A short name a person reads." },
        "description": { "type": "string" }
    });
    if let (Some(p), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        p.extend(extra);
    }
    let required: Vec<&str> = std::iter::once("title")
        .chain(required.iter().copied())
        .collect();
    object(properties, &required)
}

fn action_ref() -> Value {
    json!({
        "description": "An action id, or an action picked by the value of an enum field.",
        "anyOf": [
            { "type": "string" },
            object(json!({ "by": text(), "cases": map_of(text()) }), &["by", "cases"])
        ]
    })
}

/// The manifest's `limits`, each with its range.
fn limits() -> Value {
    use crate::load::limits::{ARRAY, DEPTH, MAP, OPERATIONS, STRING};
    let bounds = [OPERATIONS, DEPTH, STRING, ARRAY, MAP].map(|b| {
        let limit =
            json!({ "type": "integer", "minimum": b.min, "maximum": b.max, "default": b.default });
        (b.key.to_owned(), limit)
    });
    Value::Object(bounds.into_iter().collect())
}

/// The schema of `bundle.yaml` and of every policy file it lists.
pub fn policy() -> Value {
    // `true` and `false` load as the expressions they are (`when: true`, the
    // documented catch-all), so the schema takes them too.
    let expression = json!({ "type": ["string", "boolean"], "description": "A rhai expression: true or false for a ticket; `true` alone matches every ticket." });
    let manifest = object(
        json!({
            "name": text(),
            "version": text(),
            "description": text(),
            "files": { "type": "array", "items": text(), "description": "The policy files, in the order they are read." },
            "limits": object(limits(), &[])
        }),
        &["name", "version", "files"],
    );
    let field = object(
        json!({
            "type": { "enum": crate::schema::FIELD_TYPES },
            "values": { "type": "array", "items": text() },
            "values_from": { "type": "array", "items": text(), "description": "Named sets whose members are the values." },
            "required": { "type": "boolean" },
            "mask": { "type": "boolean", "description": "Replace the value by a salted hash in decision logs." },
            "default": {},
            "description": text()
        }),
        &["type"],
    );
    let ticket = object(
        json!({
            "id_field": text(),
            "role_field": text(),
            "fields": map_of(field),
            "constraints": { "type": "array", "items": object(json!({
                "id": text(), "check": expression, "field": text(), "expected": text(), "message": text()
            }), &["id", "check", "field", "expected", "message"]) }
        }),
        &["id_field", "role_field", "fields"],
    );
    let rule = object(
        json!({
            "id": text(), "when": expression, "outcome": text(), "action": action_ref(),
            "path": text(), "rationale": text()
        }),
        &["id", "outcome", "action", "rationale"],
    );
    let step = object(
        json!({ "id": text(), "vehicle": text(), "when": expression, "rationale": text() }),
        &["id", "vehicle", "rationale"],
    );
    let path = object(
        json!({
            "title": text(), "description": text(),
            "steps": { "type": "array", "items": step },
            "fallback": object(json!({ "outcome": text(), "action": action_ref(), "rationale": text() }), &["outcome", "action", "rationale"])
        }),
        &["title", "steps"],
    );
    let file = object(
        json!({
            "ticket": ticket,
            "roles": map_of(described(json!({}), &[])),
            "actions": map_of(described(json!({ "roles": { "type": "array", "items": text() } }), &["roles"])),
            "outcomes": map_of(described(json!({ "escalates": { "type": "boolean" } }), &["description"])),
            "vehicles": map_of(described(json!({ "fee": text(), "covers": text() }), &["description"])),
            "sets": map_of(json!({ "type": "array", "items": text() })),
            "conditions": map_of(expression),
            "rules": { "type": "array", "items": rule },
            "paths": map_of(path)
        }),
        &[],
    );
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "triage policy file",
        "description": "bundle.yaml (the manifest) or one of the policy files it lists.",
        "type": "object",
        // `if`/`then`/`else` rather than `anyOf`: a validator reports the
        // errors of the one kind of file this is, each at its field, not
        // "not valid under any of the given schemas".
        "if": { "anyOf": [{ "required": ["name"] }, { "required": ["version"] }, { "required": ["files"] }] },
        "then": manifest,
        "else": file
    })
}

/// The schema of a policy test suite (`tests/*.yaml`).
pub fn suite() -> Value {
    let nullable = json!({ "type": ["string", "null"] });
    let expect = object(
        json!({
            "outcome": text(), "vehicle": nullable, "rule": text(), "path_step": nullable,
            "action": text(), "allowed": { "type": "boolean" },
            "error": { "enum": ["invalid_ticket", "evaluation"] }, "error_field": text()
        }),
        &[],
    );
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "triage policy test suite",
        "type": "object",
        "properties": {
            "bases": map_of(json!({ "type": "object" })),
            "cases": { "type": "array", "items": object(json!({
                "name": text(), "base": text(), "ticket": { "type": "object" }, "expect": expect
            }), &["name", "expect"]) }
        },
        "required": ["cases"],
        "additionalProperties": false
    })
}

/// The schema of the tickets a bundle accepts. Cross-field constraints are
/// not expressible here; the service still checks them.
pub fn ticket(catalog: &Catalog) -> Value {
    let mut root = json!({ "type": "object", "properties": {}, "required": [], "additionalProperties": false });
    for field in &catalog.ticket.fields {
        let mut schema = match field.kind {
            FieldType::Bool => json!({ "type": "boolean" }),
            FieldType::Integer => json!({ "type": "integer" }),
            FieldType::Timestamp => json!({ "type": "string", "format": "date-time" }),
            FieldType::Enum => json!({ "type": "string", "enum": field.values }),
            FieldType::List => {
                json!({ "type": "array", "items": { "type": "string", "enum": field.values } })
            }
            FieldType::String => json!({ "type": "string" }),
        };
        if let (Some(s), Some(description)) = (schema.as_object_mut(), &field.description) {
            s.insert("description".into(), json!(description));
        }
        if let (Some(s), Some(default)) = (schema.as_object_mut(), &field.default) {
            s.insert("default".into(), default.clone());
        }
        if !field.required {
            // An explicit `null` counts as absent.
            schema = json!({ "anyOf": [schema, { "type": "null" }] });
        }
        insert(
            &mut root,
            &FieldPath::new(&field.path).segments().collect::<Vec<_>>(),
            schema,
            field.required,
        );
    }
    let constraints: Vec<String> = catalog
        .ticket
        .constraints
        .iter()
        .map(|c| format!("{}: {}", c.id, c.check.trim()))
        .collect();
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    out.insert(
        "title".into(),
        json!(format!(
            "ticket for {} {}",
            catalog.policy.name, catalog.policy.version
        )),
    );
    if !constraints.is_empty() {
        out.insert(
            "description".into(),
            json!(format!(
                "Also checked, beyond this schema: {}",
                constraints.join("; ")
            )),
        );
    }
    if let Value::Object(rest) = root {
        out.extend(rest);
    }
    Value::Object(out)
}

fn insert(node: &mut Value, path: &[&str], schema: Value, required: bool) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if required
        && let Some(list) = node.get_mut("required").and_then(Value::as_array_mut)
        && !list.iter().any(|r| r == first)
    {
        list.push(json!(first));
    }
    let Some(properties) = node.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if rest.is_empty() {
        properties.insert((*first).to_owned(), schema);
        return;
    }
    let child = properties
        .entry((*first).to_owned())
        .or_insert_with(|| json!({ "type": "object", "properties": {}, "required": [], "additionalProperties": false }));
    insert(child, rest, schema, required);
}

/// A string or `null`.
fn nullable_text() -> Value {
    json!({ "type": ["string", "null"] })
}

fn texts() -> Value {
    json!({ "type": "array", "items": text() })
}

/// The schema of the bundle reference in every answer.
pub fn policy_ref() -> Value {
    object(
        json!({ "name": text(), "version": text(), "digest": text() }),
        &["name", "version", "digest"],
    )
}

/// One step of a trace ([`crate::TraceStep`]).
fn trace_step() -> Value {
    object(
        json!({
            "kind": { "enum": ["rule", "path_step", "fallback"] },
            "id": text(),
            "path": text(),
            "result": { "enum": ["matched", "not_matched", "error"] },
            "reads": { "type": "object" },
            "defaulted": texts(),
            "conditions": map_of(json!({ "type": "boolean" })),
            "decided_by": text()
        }),
        &["kind", "id", "result", "reads"],
    )
}

/// The schema of a decision ([`crate::Decision`]), as the service answers
/// and the decision log records it. Strict: a field the type gains and this
/// schema lacks makes every decision invalid against it.
pub fn decision() -> Value {
    let requester = object(
        json!({ "role": text(), "allowed": { "type": "boolean" } }),
        &["role", "allowed"],
    );
    let properties = json!({
        "ticket_id": text(), "outcome": text(), "vehicle": nullable_text(), "rule": text(),
        "path": nullable_text(), "path_step": nullable_text(), "action": text(),
        "requester": requester, "allowed_roles": texts(), "rationale": texts(),
        "policy": policy_ref(), "trace": { "type": "array", "items": trace_step() }
    });
    let required: Vec<&str> = properties
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut schema = object(properties.clone(), &required);
    schema["title"] = json!("triage decision");
    schema
}

/// The schema of a rejection ([`crate::Rejection`]): an invalid ticket, with
/// every problem, or an evaluation error. Strict, like [`decision`].
pub fn rejection() -> Value {
    let problem = object(
        json!({ "field": text(), "expected": text(), "found": text(), "message": text() }),
        &["field", "expected", "found", "message"],
    );
    let invalid = object(
        json!({
            "kind": { "const": "invalid_ticket" },
            "problems": { "type": "array", "items": problem }
        }),
        &["kind", "problems"],
    );
    let evaluation = object(
        json!({
            "kind": { "const": "evaluation" },
            "stage": { "enum": ["constraint", "condition", "rule", "path_step", "path"] },
            "id": text(), "rule": text(), "expression": text(), "location": text(), "cause": text()
        }),
        &["kind", "stage", "id", "expression", "location", "cause"],
    );
    let mut schema = object(
        json!({
            "ticket_id": nullable_text(),
            "error": { "oneOf": [invalid, evaluation] },
            "policy": policy_ref(),
            "trace": { "type": "array", "items": trace_step() }
        }),
        &["ticket_id", "error", "policy"],
    );
    schema["title"] = json!("triage rejection");
    schema
}
