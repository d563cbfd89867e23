//! The OpenAPI document against the service: the committed copy is the one
//! served, its routes are the router's, every documented method is served
//! (and no other), and real answers, one for each status a test here can
//! bring about, have a documented status and fit its schema.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use triage_service::serve::Config;

use crate::serve_support::{
    POLICIES, Response, Server, example, failing_rule_pack, policies_copy, read_response, replace,
    request, send_head,
};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

fn document() -> Value {
    triage_service::serve::openapi()
}

#[test]
fn the_committed_document_is_the_one_served() {
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(COMMITTED).unwrap()).unwrap();
    assert!(
        committed == document(),
        "docs/openapi.json is stale: write it with `triage schema openapi > docs/openapi.json`"
    );
    let server = Server::with_policies(POLICIES);
    assert_eq!(server.get("/openapi.json").json(), document());
}

/// `(method, path)` of every documented operation.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            all.insert((method.clone(), path.clone()));
        }
    }
    all
}

#[test]
fn the_document_has_every_route_of_the_router_and_no_other() {
    let routed: BTreeSet<(String, String)> = triage_service::serve::routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(operations(&document()), routed);

    // Each documented method is served (a route may answer 404 of its own,
    // as the log routes do without a log, but not the router's `not_found`);
    // the others on its path are not.
    let server = Server::with_policies(POLICIES);
    let documented = operations(&document());
    for (_, path) in &documented {
        for method in ["get", "post", "put", "delete"] {
            let concrete = path.replace("{seq}", "1");
            let response = request(server.addr, &method.to_uppercase(), &concrete, &[], b"");
            let status = response.status;
            match documented.contains(&(method.to_owned(), path.clone())) {
                true => {
                    let routed = status != 404 || response.json()["error"]["kind"] != "not_found";
                    assert!(status != 405 && routed, "{method} {path}: {status}");
                }
                false => assert_eq!(status, 405, "{method} {path}"),
            }
        }
    }
}

/// The body schema a status of an operation documents, resolvable alone,
/// when `kind` (the answer's content type) is the one it documents.
fn schema_of(
    document: &Value,
    (method, path, status): (&str, &str, u16),
    kind: &str,
) -> Option<Value> {
    let response = &document["paths"][path][method]["responses"][status.to_string()];
    let content = response.get("content")?;
    let documented = content.as_object()?.keys().next()?;
    assert!(
        kind.starts_with(documented.as_str()),
        "{method} {path} {status}: answered `{kind}`, documented `{documented}`"
    );
    let mut schema = content["application/json"]["schema"].clone();
    if schema.is_null() {
        return Some(json!({ "type": "string" }));
    }
    schema["components"] = document["components"].clone();
    Some(schema)
}

/// Checks one real answer against the document and notes its status.
struct Checker {
    document: Value,
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

impl Checker {
    fn check(&mut self, method: &str, path: &str, response: &Response) {
        let status = response.status;
        let kind = response.header("content-type").unwrap_or_default();
        let Some(schema) = schema_of(&self.document, (method, path, status), kind) else {
            panic!("{method} {path} answered {status}, which is not documented");
        };
        let body = match response.header("content-type") {
            Some(kind) if kind.starts_with("application/json") => response.json(),
            _ => Value::String(response.text()),
        };
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {errors:?}\n{body}"
        );
        let key = (method.to_owned(), path.to_owned());
        self.seen.entry(key).or_default().insert(status);
    }

    fn send(&mut self, server: &Server, method: &str, path: &str, body: &[u8]) {
        self.send_with(server, method, path, &[], body);
    }

    fn send_with(
        &mut self,
        server: &Server,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        self.send_to(server, (method, path), path, headers, body);
    }

    /// Sends to `concrete`, a path of the documented `path` template.
    fn send_to(
        &mut self,
        server: &Server,
        (method, path): (&str, &str),
        concrete: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let response = request(server.addr, &method.to_uppercase(), concrete, headers, body);
        self.check(method, path, &response);
    }
}

/// The statuses no answer here brings about, each checked by another test:
/// a client too slow (`serve_limits`), a decision thread failing, and the
/// guard's overload or a failing log on the routes not tried here (the
/// workbench's status and log routes need no bundle: only an overload
/// answers them 503).
const NOT_BROUGHT_ABOUT: &[(&str, &str, u16)] = &[
    ("post", "/v1/decisions", 408),
    ("post", "/v1/decisions/batch", 408),
    ("post", "/v1/decisions/batch", 500),
    ("get", "/v1/policy", 408),
    ("post", "/v1/policy/reload", 408),
    ("post", "/v1/policy/reload", 503),
    ("post", "/v1/workbench/decide", 408),
    ("post", "/v1/workbench/decide", 500),
    ("get", "/v1/workbench/status", 503),
    ("get", "/v1/workbench/table", 500),
    ("get", "/v1/workbench/suites", 500),
    ("get", "/v1/workbench/plan", 500),
    ("get", "/v1/workbench/decisions", 500),
    ("get", "/v1/workbench/decisions", 503),
    ("get", "/v1/workbench/decisions/{seq}", 500),
    ("get", "/v1/workbench/decisions/{seq}", 503),
];

#[test]
fn real_answers_fit_the_documented_statuses_and_schemas() {
    let mut checker = Checker {
        document: document(),
        seen: BTreeMap::new(),
    };
    guarded_answers(&mut checker);
    workbench_answers(&mut checker);
    failing_answers(&mut checker);
    unready_answers(&mut checker);
    let mut missing = Vec::new();
    for (method, path) in operations(&checker.document) {
        let statuses = checker.document["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap();
        for status in statuses.keys() {
            let status: u16 = status.parse().unwrap();
            let seen = checker.seen.get(&(method.clone(), path.clone()));
            let exempt = NOT_BROUGHT_ABOUT.contains(&(method.as_str(), path.as_str(), status));
            if !exempt && !seen.is_some_and(|s| s.contains(&status)) {
                missing.push(format!("{method} {path} {status}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented, never answered: {missing:?}"
    );
}

/// The configuration of a service on `dir` with a token and a small body limit.
fn guarded(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir);
    config.watch = false;
    config.token = Some("secret".to_owned());
    config.max_body = 8192;
    config
}

/// A server with a token, small limits and a bundle that changes.
fn guarded_answers(checker: &mut Checker) {
    let dir = policies_copy();
    let mut config = guarded(dir.path());
    config.max_batch = 2;
    let server = Server::start(config);
    let auth = [("authorization", "Bearer secret")];
    let ticket = example().to_string();
    let batch = format!("[{ticket},{{}}]");
    checker.send(&server, "post", "/v1/decisions", ticket.as_bytes());
    for (path, body) in [
        ("/v1/decisions", ticket.as_str()),
        ("/v1/decisions", "{}"),
        ("/v1/decisions", "not json"),
        ("/v1/decisions/batch", batch.as_str()),
        ("/v1/decisions/batch", "{}"),
        ("/v1/decisions/batch", "[1, 2, 3]"),
        ("/v1/decisions/batch", "["),
    ] {
        checker.send_with(&server, "post", path, &auth, body.as_bytes());
    }
    let large = vec![b' '; 10_000];
    checker.send_with(&server, "post", "/v1/decisions", &auth, &large);
    checker.send_with(&server, "post", "/v1/decisions/batch", &auth, &large);
    for (method, path) in [("get", "/v1/policy"), ("post", "/v1/policy/reload")] {
        // Announced, never sent: refused before the body is read.
        let mut stream = send_head(server.addr, &method.to_uppercase(), path, &auth, 10_000);
        checker.check(method, path, &read_response(&mut stream));
    }
    checker.send(&server, "post", "/v1/decisions/batch", batch.as_bytes());
    checker.send(&server, "get", "/v1/policy", b"");
    checker.send(&server, "post", "/v1/policy/reload", b"");
    checker.send_with(&server, "get", "/v1/policy", &auth, b"");
    checker.send_with(&server, "post", "/v1/policy/reload", &auth, b"");
    replace(dir.path(), "bundle.yaml", "name: [broken\n");
    checker.send_with(&server, "post", "/v1/policy/reload", &auth, b"");
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        checker.send(&server, "get", path, b"");
    }
}

/// The workbench's routes, served with a token and a decision log: its
/// pages and assets open, its API refused without the token, and every
/// answer of the API to a ticket decided, a rejected one and a record.
fn workbench_answers(checker: &mut Checker) {
    let dir = policies_copy();
    let mut config = guarded(dir.path());
    let log = triage_audit::DecisionLog::open(
        dir.path().join("decisions.jsonl"),
        triage_audit::LogOptions::default(),
    );
    config.log = Some(Arc::new(Mutex::new(log.unwrap())));
    let server = Server::start(config);
    let auth = [("authorization", "Bearer secret")];
    let ticket = example().to_string();
    // One recorded decision for the log routes to find.
    checker.send_with(&server, "post", "/v1/decisions", &auth, ticket.as_bytes());
    let documented = operations(&checker.document);
    let workbench = documented
        .iter()
        .filter(|(_, path)| path.starts_with("/v1/workbench/"));
    for (method, path) in workbench {
        let concrete = path.replace("{seq}", "1");
        let route = (method.as_str(), path.as_str());
        checker.send_to(&server, route, &concrete, &[], b"");
        let mut stream = send_head(
            server.addr,
            &method.to_uppercase(),
            &concrete,
            &auth,
            10_000,
        );
        checker.check(method, path, &read_response(&mut stream));
        let body = if method == "post" {
            ticket.as_str()
        } else {
            ""
        };
        checker.send_to(&server, route, &concrete, &auth, body.as_bytes());
    }
    let path = "/v1/workbench/decisions/{seq}";
    for concrete in ["/v1/workbench/decisions/999", "/v1/workbench/decisions/x"] {
        checker.send_to(&server, ("get", path), concrete, &auth, b"");
    }
    for body in ["{}", "not json"] {
        let decide = "/v1/workbench/decide";
        checker.send_with(&server, "post", decide, &auth, body.as_bytes());
    }
    let pages = documented.iter().filter(|(_, p)| !p.starts_with("/v1/"));
    for (method, path) in pages {
        checker.send(&server, method, path, b"");
    }
}

/// A bundle whose rule fails at run time: a 422 rejection.
fn failing_answers(checker: &mut Checker) {
    let (dir, ticket) = failing_rule_pack();
    let server = Server::with_policies(dir.path());
    checker.send(
        &server,
        "post",
        "/v1/decisions",
        ticket.to_string().as_bytes(),
    );
}

/// A service whose bundle never loaded.
fn unready_answers(checker: &mut Checker) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_policies(dir.path());
    checker.send(&server, "get", "/readyz", b"");
    checker.send(&server, "get", "/v1/policy", b"");
    checker.send(&server, "post", "/v1/decisions", b"{}");
    checker.send(&server, "post", "/v1/decisions/batch", b"[]");
    let unready = [
        "catalog",
        "table",
        "suites",
        "plan",
        "decisions",
        "decisions/1",
    ];
    for name in unready {
        let concrete = format!("/v1/workbench/{name}");
        let path = concrete.replace("/1", "/{seq}");
        checker.send_to(&server, ("get", &path), &concrete, &[], b"");
    }
    checker.send(&server, "post", "/v1/workbench/decide", b"{}");
}

/// The keys of each trace step of each answer.
fn trace_keys(answers: &[Value]) -> BTreeSet<String> {
    let steps = answers
        .iter()
        .filter_map(|a| a["trace"].as_array())
        .flatten();
    steps
        .flat_map(|s| s.as_object().unwrap().keys().cloned())
        .collect()
}

#[test]
fn generated_tickets_answers_fit_the_schemas_and_use_every_trace_field() {
    let document = document();
    let validator = |name: &str| {
        let mut schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        schema["components"] = document["components"].clone();
        jsonschema::validator_for(&schema).unwrap()
    };
    let (decision, rejection) = (validator("Decision"), validator("Rejection"));
    let bundle = crate::common::reference();
    let mut answers = Vec::new();
    // Half of them leave out fields with defaults, for the trace's `defaulted`.
    let left_out = [
        ("diagnosed", Value::Null),
        ("partner.support_plans", Value::Null),
    ];
    let tickets = crate::common::generated(300, 11).into_iter().enumerate();
    for (i, ticket) in tickets {
        let ticket = match i % 2 {
            0 => ticket,
            _ => crate::common::with(ticket, &left_out),
        };
        let (answer, validator) = match bundle.decide(&ticket) {
            Ok(d) => (serde_json::to_value(d).unwrap(), &decision),
            Err(r) => (serde_json::to_value(r).unwrap(), &rejection),
        };
        let errors: Vec<String> = validator
            .iter_errors(&answer)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{answer}");
        answers.push(answer);
    }
    // A field the schema has and no answer uses would be one the code dropped.
    let step = &document["components"]["schemas"]["Decision"]["properties"]["trace"]["items"];
    let documented: BTreeSet<String> = step["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(trace_keys(&answers), documented);
}
