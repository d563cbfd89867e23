//! The HTTP API against a real server on an ephemeral loopback port: every
//! route, every error status, batch order, and authentication on and off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};
use triage_service::serve::Config;

use crate::serve_support::{
    POLICIES, Server, eventually, example, failing_rule_pack, policies_copy, read_response,
    replace, request, send_head,
};

#[test]
fn health_readiness_and_policy() {
    let server = Server::with_policies(POLICIES);
    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");

    let policy = server.get("/v1/policy");
    assert_eq!(policy.status, 200);
    let policy = policy.json();
    assert_eq!(policy["name"], "csp-support-triage");
    assert!(policy["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(policy["loaded_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        policy["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("technical_escalation"))
    );
    assert!(
        policy["vehicles"]
            .as_array()
            .unwrap()
            .contains(&json!("premier_support_for_partners"))
    );
    assert_eq!(policy["last_reload_error"], Value::Null);

    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["digest"], policy["digest"]);
}

#[test]
fn a_ticket_is_decided_with_the_digest_that_decided_it() {
    let server = Server::with_policies(POLICIES);
    let response = request(
        server.addr,
        "POST",
        "/v1/decisions",
        &[("x-request-id", "req-42")],
        example().to_string().as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-request-id"), Some("req-42"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    let decision = response.json();
    assert_eq!(decision["ticket_id"], "T-1001");
    assert_eq!(decision["outcome"], "escalate");
    assert_eq!(decision["vehicle"], "premier_support_for_partners");
    assert!(!decision["trace"].as_array().unwrap().is_empty());
    let digest = server.get("/v1/policy").json()["digest"].clone();
    assert_eq!(decision["policy"]["digest"], digest);

    // The same JSON as the library's decision, byte for byte, for generated
    // tickets too (written compact or pretty, the service reads them the
    // short way and writes the decision straight).
    let bundle = crate::common::reference();
    let expected = serde_json::to_vec(&bundle.decide(&example()).unwrap()).unwrap();
    assert_eq!(response.body, expected);
    let mut generator = triage_engine::generate::TicketGenerator::new(&bundle, 3);
    for i in 0..40 {
        let ticket = generator.next_ticket().unwrap();
        let body = match i % 2 {
            0 => serde_json::to_vec(&ticket).unwrap(),
            _ => serde_json::to_vec_pretty(&ticket).unwrap(),
        };
        let response = server.post("/v1/decisions", &body);
        let expected = match bundle.decide(&ticket) {
            Ok(decision) => serde_json::to_vec(&decision).unwrap(),
            Err(rejection) => serde_json::to_vec(&rejection).unwrap(),
        };
        assert_eq!(response.text(), String::from_utf8(expected).unwrap());
    }
}

#[test]
fn an_invalid_ticket_is_a_400_listing_every_problem() {
    let server = Server::with_policies(POLICIES);
    let mut ticket = example();
    ticket["service"] = json!("nope");
    ticket["issue"]["severity"] = json!(7);
    ticket.as_object_mut().unwrap().remove("category");
    let response = server.post_json("/v1/decisions", &ticket);
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(body["error"]["kind"], "invalid_ticket");
    assert_eq!(body["ticket_id"], "T-1001");
    let problems = body["error"]["problems"].as_array().unwrap();
    let fields: Vec<&str> = problems
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for field in ["service", "issue.severity", "category"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    for problem in problems {
        for key in ["field", "expected", "found", "message"] {
            assert!(problem[key].is_string(), "{key} in {problem}");
        }
    }
}

#[test]
fn a_body_that_is_not_json_is_a_400() {
    let server = Server::with_policies(POLICIES);
    let response = server.post("/v1/decisions", b"{not json");
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(body["error"]["kind"], "invalid_ticket");
    assert!(
        body["error"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON")
    );

    let response = server.post("/v1/decisions/batch", b"[1,");
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["kind"], "invalid_ticket");
    // Both count as input errors.
    assert_eq!(server.metric("triage_input_errors_total"), 2.0);

    let response = server.post_json("/v1/decisions/batch", &example());
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["kind"], "not_a_batch");
}

#[test]
fn a_rule_failing_at_run_time_is_a_422_naming_the_rule() {
    let (dir, ticket) = failing_rule_pack();
    let server = Server::with_policies(dir.path());
    let response = server.post_json("/v1/decisions", &ticket);
    assert_eq!(response.status, 422, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["kind"], "evaluation");
    assert_eq!(body["error"]["rule"], "marketplace_publisher");
    assert!(
        body["error"]["cause"]
            .as_str()
            .unwrap()
            .contains("division by zero")
    );
    assert_eq!(
        server.metric("triage_evaluation_errors_total{rule=\"marketplace_publisher\"}"),
        1.0
    );
}

#[test]
fn a_batch_answers_in_order_each_with_a_decision_or_an_error() {
    let server = Server::with_policies(POLICIES);
    let mut second = example();
    second["id"] = json!("T-2");
    second["diagnosed"] = json!(false);
    let batch = json!([example(), {"id": "bad"}, 42, second]);
    let response = server.post_json("/v1/decisions/batch", &batch);
    assert_eq!(response.status, 200, "{}", response.text());
    let results = response.json();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["ticket_id"], "T-1001");
    assert_eq!(results[0]["outcome"], "escalate");
    assert_eq!(results[1]["ticket_id"], "bad");
    assert_eq!(results[1]["error"]["kind"], "invalid_ticket");
    assert_eq!(results[2]["error"]["kind"], "invalid_ticket");
    assert_eq!(results[3]["ticket_id"], "T-2");
    assert_eq!(results[3]["outcome"], "diagnose_first");

    let empty = server.post("/v1/decisions/batch", b"[]");
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!([]));
}

#[test]
fn limits_answer_413_with_a_json_error() {
    let mut config = Config::new(POLICIES);
    config.watch = false;
    config.max_batch = 2;
    config.max_body = 4096;
    let server = Server::start(config);
    let batch = json!([example(), example(), example()]);
    let response = server.post_json("/v1/decisions/batch", &batch);
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"]["kind"], "batch_too_large");

    let mut big = example();
    big["issue"]["summary"] = json!("x".repeat(5000));
    let response = server.post_json("/v1/decisions", &big);
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"]["kind"], "payload_too_large");
}

#[test]
fn a_request_slower_than_the_timeout_is_a_408() {
    let mut config = Config::new(POLICIES);
    config.watch = false;
    config.timeout = Duration::from_millis(200);
    let server = Server::start(config);
    // Announce a body and never send it: the request cannot finish in time.
    let mut stream = send_head(server.addr, "POST", "/v1/decisions", &[], 100);
    stream.write_all(b"{\"id\":").unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 408);
    assert_eq!(response.json()["error"]["kind"], "timeout");
}

#[test]
fn requests_beyond_the_concurrency_limit_get_503() {
    let mut config = Config::new(POLICIES);
    config.watch = false;
    config.concurrency = 1;
    let server = Server::start(config);
    // One request holds the only slot while it waits for its body.
    let mut held = send_head(server.addr, "POST", "/v1/decisions", &[], 100);
    held.write_all(b"{").unwrap();
    // In flight: the held request and the one reading the gauge.
    eventually(Duration::from_secs(10), "the held request to start", || {
        server.metric("triage_http_requests_in_flight") >= 2.0
    });
    let mut rejected = None;
    eventually(Duration::from_secs(10), "a 503", || {
        let response = server.post_json("/v1/decisions", &example());
        let busy = response.status == 503;
        if busy {
            rejected = Some(response);
        }
        busy
    });
    let rejected = rejected.unwrap();
    assert_eq!(rejected.json()["error"]["kind"], "overloaded");
    assert_eq!(rejected.header("retry-after"), Some("1"));
    // Health checks are not subject to the limit.
    assert_eq!(server.get("/healthz").status, 200);
    drop(held);
    eventually(Duration::from_secs(10), "the slot to free up", || {
        server.post_json("/v1/decisions", &example()).status == 200
    });
}

#[test]
fn unknown_routes_and_methods_are_json_errors() {
    let server = Server::with_policies(POLICIES);
    let response = server.get("/v2/nothing");
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["error"]["kind"], "not_found");
    let response = server.get("/v1/decisions");
    assert_eq!(response.status, 405);
    assert_eq!(response.json()["error"]["kind"], "method_not_allowed");
}

#[test]
fn without_a_token_file_the_api_is_open() {
    let server = Server::with_policies(POLICIES);
    let response = server.post("/v1/policy/reload", b"");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["reloaded"], true);
}

#[test]
fn with_a_token_the_api_needs_it_and_health_does_not() {
    let mut config = Config::new(POLICIES);
    config.watch = false;
    config.token = Some("s3cret-token".to_owned());
    let server = Server::start(config);
    let ticket = example().to_string();
    for (path, method, body) in [
        ("/v1/decisions", "POST", ticket.as_bytes()),
        ("/v1/policy/reload", "POST", b"".as_slice()),
        ("/v1/policy", "GET", b"".as_slice()),
    ] {
        let none = request(server.addr, method, path, &[], body);
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(none.json()["error"]["kind"], "unauthorized");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        let wrong = request(
            server.addr,
            method,
            path,
            &[("authorization", "Bearer s3cret")],
            body,
        );
        assert_eq!(wrong.status, 401, "{path}");
        let right = request(
            server.addr,
            method,
            path,
            &[("authorization", "Bearer s3cret-token")],
            body,
        );
        assert_eq!(right.status, 200, "{path}: {}", right.text());
    }
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/readyz").status, 200);
    assert_eq!(server.get("/metrics").status, 200);
}

#[test]
fn metrics_count_decisions_errors_and_requests() {
    let server = Server::with_policies(POLICIES);
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
    assert_eq!(
        server
            .post_json("/v1/decisions", &json!({"id": "x"}))
            .status,
        400
    );
    let text = server.get("/metrics").text();
    let digest = server.get("/v1/policy").json()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let check = |needle: &str, at_least: f64| {
        let value = crate::serve_support::metric(&text, needle);
        assert!(value >= at_least, "{needle} = {value} in\n{text}");
    };
    check(
        "triage_decisions_total{outcome=\"escalate\",vehicle=\"premier_support_for_partners\"}",
        1.0,
    );
    check("triage_input_errors_total", 1.0);
    check("triage_decision_duration_seconds_count", 2.0);
    check(
        "triage_http_requests_total{route=\"/v1/decisions\",status=\"200\"}",
        1.0,
    );
    check(
        "triage_http_requests_total{route=\"/v1/decisions\",status=\"400\"}",
        1.0,
    );
    check("triage_policy_reloads_total{result=\"success\"}", 1.0);
    check(
        &format!(
            "triage_policy_info{{name=\"csp-support-triage\",version=\"2026.11.0\",digest=\"{digest}\"}}"
        ),
        1.0,
    );
    assert!(text.contains("# TYPE triage_decision_duration_seconds histogram"));
    // Every expression of the shipped pack runs natively: it decides in place.
    let in_place = crate::serve_support::metric(&text, "triage_policy_decides_in_place");
    assert_eq!(in_place, 1.0);
}

#[test]
fn an_invalid_bundle_at_start_means_not_ready_until_a_good_one_arrives() {
    let dir = policies_copy();
    let good = std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap();
    replace(dir.path(), "boundaries.yaml", "rules: [ {id: oops");
    let server = Server::with_policies(dir.path());
    assert_eq!(server.get("/healthz").status, 200);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert!(
        ready.json()["last_reload_error"]["problems"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    let response = server.post_json("/v1/decisions", &example());
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["error"]["kind"], "not_ready");
    let policy = server.get("/v1/policy");
    assert_eq!(policy.status, 503);
    assert!(policy.json()["last_reload_error"]["message"].is_string());

    let failed = server.post("/v1/policy/reload", b"");
    assert_eq!(failed.status, 422);
    assert_eq!(failed.json()["error"]["kind"], "invalid_policy");
    replace(dir.path(), "boundaries.yaml", &good);
    assert_eq!(server.post("/v1/policy/reload", b"").status, 200);
    assert_eq!(server.get("/readyz").status, 200);
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
}
