//! The service under hostile input: a rule that takes seconds, a client that
//! sends its headers slowly, a body announced too large (with and without
//! `Expect: 100-continue`), a SIGTERM with clients stuck, and a decision log
//! on a disk that fills up. Each is answered within its bound, and what is
//! recorded is what was answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use triage_audit::verify::verify;
use triage_audit::{DecisionLog, LogOptions};
use triage_service::serve::Config;

use crate::fault_support::{Tmpfs, fill};
use crate::serve_support::{
    Process, Response, Server, eventually, example, metric, policies_copy, read_response, replace,
    request, send_head,
};

/// Long enough for anything that is not a hang.
const GENEROUS: Duration = Duration::from_secs(5);

/// The reference policies with the first rule made slow, with allowed work
/// only, for a ticket of the marketplace service with a long summary: the
/// operation, depth and string limits raised, and a condition of `terms`
/// terms that each concatenate the summary eight times. With a summary of
/// 1 MiB and 500 terms a decision took 9 s in this test binary on a busy
/// two-core machine (the system allocator maps and unmaps every large
/// string; the `triage` binary, with its own allocator, takes about 1.5 s of
/// CPU). The deadline in the test is 200 ms. Other tickets stop at
/// `service == "marketplace"`.
fn slow_policies(terms: usize) -> tempfile::TempDir {
    let dir = policies_copy();
    let manifest = std::fs::read_to_string(dir.path().join("bundle.yaml")).unwrap();
    let raised = manifest
        .replace("max_operations: 10000", "max_operations: 1000000")
        .replace("max_expression_depth: 32", "max_expression_depth: 128")
        .replace("max_string_size: 4096", "max_string_size: 1048576");
    assert_ne!(manifest, raised);
    replace(dir.path(), "bundle.yaml", &raised);
    let rules = std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap();
    let term = format!("({}).len() > 0", ["issue.summary"; 8].join(" + "));
    let slow = balanced(&vec![term; terms]);
    let when = "when: technical && service == \"marketplace\"";
    let slowed = rules.replacen(when, &format!("{when} && {slow}"), 1);
    assert_ne!(rules, slowed);
    replace(dir.path(), "boundaries.yaml", &slowed);
    dir
}

/// `a && b && …` as a balanced tree, so the chain stays within the
/// expression depth limit however long it is.
fn balanced(terms: &[String]) -> String {
    match terms {
        [one] => one.clone(),
        _ => {
            let (left, right) = terms.split_at(terms.len() / 2);
            format!("({}) && ({})", balanced(left), balanced(right))
        }
    }
}

fn slow_ticket() -> Value {
    let mut ticket = example();
    ticket["service"] = json!("marketplace");
    // Eight copies make the longest string the raised limit allows.
    ticket["issue"]["summary"] = json!("x".repeat(1 << 17));
    ticket
}

/// A GET that must be answered within `GENEROUS`.
fn probe(addr: SocketAddr, path: &str) -> Response {
    let mut stream = send_head(addr, "GET", path, &[], 0);
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    read_response(&mut stream)
}

fn records(log: &Arc<Mutex<DecisionLog>>) -> u64 {
    log.lock().unwrap().records()
}

fn decision_log(dir: &Path) -> Arc<Mutex<DecisionLog>> {
    let log = DecisionLog::open(dir.join("decisions.jsonl"), LogOptions::default()).unwrap();
    Arc::new(Mutex::new(log))
}

fn is_late(response: &Response) -> bool {
    response.status == 503 && response.json()["error"]["kind"] == "decision_timeout"
}

#[test]
fn a_slow_rule_is_answered_503_at_the_deadline_unrecorded_while_probes_answer() {
    let policies = slow_policies(5000);
    let audit = tempfile::tempdir().unwrap();
    let log = decision_log(audit.path());
    let mut config = Config::new(policies.path());
    config.watch = false;
    config.timeout = Duration::from_millis(200);
    config.max_body = 4 << 20;
    config.decision_threads = 1;
    config.log = Some(Arc::clone(&log) as Arc<dyn triage_audit::Journal>);
    // One async thread: a decision run on it would stall every other request.
    let server = Server::start_on(config, 1);
    assert_eq!(
        probe(server.addr, "/readyz").status,
        200,
        "the slow bundle loads"
    );
    let slow = slow_ticket().to_string();
    let fast = example().to_string();
    let decide = |body: &str| request(server.addr, "POST", "/v1/decisions", &[], body.as_bytes());

    let late = decide(&slow);
    assert!(is_late(&late), "{}", late.status);
    assert!(
        late.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("200 ms")
    );
    // The rule is still running on the only decision thread, and the probes answer.
    assert_eq!(probe(server.addr, "/healthz").status, 200);
    assert_eq!(probe(server.addr, "/readyz").status, 200);
    let metrics = probe(server.addr, "/metrics").text();
    assert_eq!(
        metric(&metrics, "triage_decision_duration_seconds_count"),
        0.0
    );
    // A bundle with a rule only rhai runs decides on decision threads.
    assert!(
        metrics.contains("\ntriage_policy_decides_in_place 0\n"),
        "{metrics}"
    );
    // A ticket that waits for the busy thread past its deadline is not decided either.
    assert!(is_late(&decide(&fast)));

    // Once the slow rule returns, its result is dropped: only what was
    // answered is recorded.
    let mut answered = 0;
    eventually(
        Duration::from_secs(120),
        "the decision thread to be free",
        || {
            let response = decide(&fast);
            answered += u64::from(response.status == 200);
            response.status == 200
        },
    );
    assert_eq!(records(&log), answered);

    // A batch is decided whole and recorded whole, or not at all: its fast
    // ticket is decided, then the slow one outlives the deadline.
    let batch = format!("[{fast},{slow}]");
    let late = request(
        server.addr,
        "POST",
        "/v1/decisions/batch",
        &[],
        batch.as_bytes(),
    );
    assert!(is_late(&late), "{}", late.status);
    eventually(
        Duration::from_secs(120),
        "the decision thread to be free",
        || {
            let response = decide(&fast);
            answered += u64::from(response.status == 200);
            response.status == 200
        },
    );
    assert_eq!(records(&log), answered);
    drop(server);
    let checked = verify(&[audit.path().join("decisions.jsonl")]).unwrap();
    assert!(checked.broken.is_none());
    assert_eq!(checked.records, answered);
}

#[test]
fn a_client_sending_its_headers_slowly_is_disconnected() {
    let mut config = Config::new(crate::serve_support::POLICIES);
    config.watch = false;
    config.header_read_timeout = Duration::from_millis(300);
    let server = Server::start(config);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ")
        .unwrap();
    // One byte of the header every 50 ms, for at most 10 s.
    let mut dripping = stream.try_clone().unwrap();
    let drip = std::thread::spawn(move || {
        for _ in 0..200 {
            if dripping.write_all(b"a").is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    });
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut answer = Vec::new();
    let closed = stream.read_to_end(&mut answer);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the connection is still open: {closed:?}"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    assert!(drip.join().unwrap(), "the server stopped reading");
    // The service itself is fine.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn a_body_announced_too_large_is_refused_before_it_is_sent() {
    let mut config = Config::new(crate::serve_support::POLICIES);
    config.watch = false;
    config.max_body = 4096;
    let server = Server::start(config);
    for expect in [true, false] {
        for path in ["/v1/decisions", "/v1/decisions/batch"] {
            let headers: &[(&str, &str)] = if expect {
                &[("expect", "100-continue")]
            } else {
                &[]
            };
            // Announce 10 MB and send nothing: the answer cannot wait for the body.
            let mut stream = send_head(server.addr, "POST", path, headers, 10 << 20);
            stream.set_read_timeout(Some(GENEROUS)).unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).unwrap();
            let text = String::from_utf8_lossy(&raw);
            assert!(!text.contains("100 Continue"), "{text}");
            assert!(text.starts_with("HTTP/1.1 413"), "{text}");
            let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!(body["error"]["kind"], "payload_too_large");
            assert_eq!(
                body["error"]["message"],
                "the request body is larger than 4096 bytes"
            );
        }
    }
    // A body within the limit is invited (`100 Continue`) and decided.
    let body = example().to_string();
    let mut config = Config::new(crate::serve_support::POLICIES);
    config.watch = false;
    let server = Server::start(config);
    let headers = [("expect", "100-continue")];
    let mut stream = send_head(server.addr, "POST", "/v1/decisions", &headers, body.len());
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut invited = [0u8; 25];
    stream.read_exact(&mut invited).unwrap();
    assert_eq!(&invited, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn sigterm_with_stuck_clients_exits_0_at_the_drain_deadline() {
    let policies = policies_copy();
    // Only the drain deadline can close these clients in time.
    let mut server = Process::start(
        policies.path(),
        &[
            "--no-watch",
            "--drain-timeout-ms",
            "1000",
            "--header-timeout-ms",
            "600000",
            "--timeout-ms",
            "600000",
        ],
    );
    let addr = server.addr;
    // One client stuck in its headers, one in its body.
    let mut headers = TcpStream::connect(addr).unwrap();
    headers
        .write_all(b"POST /v1/decisions HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut body = send_head(addr, "POST", "/v1/decisions", &[], 100);
    body.write_all(b"{\"id\":").unwrap();
    eventually(GENEROUS, "the stuck body to be in flight", || {
        let text = request(addr, "GET", "/metrics", &[], b"").text();
        metric(&text, "triage_http_requests_in_flight") >= 2.0
    });
    server.signal("TERM");
    // The drain deadline and a generous margin; without it, never.
    let status = server.wait(Duration::from_secs(1) + GENEROUS * 2);
    assert_eq!(status.code(), Some(0));
    for mut stream in [headers, body] {
        stream.set_read_timeout(Some(GENEROUS)).unwrap();
        let mut rest = Vec::new();
        let closed = stream.read_to_end(&mut rest);
        assert!(
            closed.is_ok()
                || closed.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "still open"
        );
    }
}

#[test]
fn a_full_disk_is_a_503_until_space_returns_and_nothing_half_written_stays() {
    let Some(fs) = Tmpfs::mount("1m", "a_full_disk_is_a_503_until_space_returns") else {
        return;
    };
    let log = decision_log(fs.path());
    let mut config = Config::new(crate::serve_support::POLICIES);
    config.watch = false;
    config.log = Some(Arc::clone(&log) as Arc<dyn triage_audit::Journal>);
    let server = Server::start(config);
    let mut answered = 0;
    for _ in 0..3 {
        assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
        answered += 1;
    }
    let path = fs.path().join("decisions.jsonl");
    let filler = fill(fs.path());
    // What room is left in the log's last page takes a record or two.
    let mut refused = None;
    for _ in 0..4 {
        let response = server.post_json("/v1/decisions", &example());
        if response.status == 200 {
            answered += 1;
        } else {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the full disk refuses a record");
    assert_eq!(refused.status, 503, "{}", refused.text());
    let error = refused.json()["error"].clone();
    assert_eq!(error["kind"], "decision_log");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{error}"
    );
    let length = std::fs::metadata(&path).unwrap().len();
    let batch = json!([example(), example()]);
    assert_eq!(server.post_json("/v1/decisions/batch", &batch).status, 503);
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 503);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        length,
        "nothing half-written"
    );
    assert_eq!(records(&log), answered);

    std::fs::remove_file(filler).unwrap();
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
    assert_eq!(server.post_json("/v1/decisions/batch", &batch).status, 200);
    answered += 3;
    drop(server);
    drop(log);
    let checked = verify(&[path]).unwrap();
    assert!(checked.broken.is_none(), "{:?}", checked.broken);
    assert_eq!(checked.records, answered);
}

#[test]
fn with_a_file_log_decisions_stay_off_the_connection_threads() {
    let audit = tempfile::tempdir().unwrap();
    let mut config = Config::new(crate::serve_support::POLICIES);
    config.watch = false;
    config.log = Some(decision_log(audit.path()) as Arc<dyn triage_audit::Journal>);
    let server = Server::start(config);
    // Every expression of the pack runs natively, yet each record is synced
    // to disk where it is appended: that wait is a decision thread's.
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("\ntriage_policy_decides_in_place 0\n"),
        "{metrics}"
    );
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
}
