//! Hot reload while requests flow, a broken bundle that leaves the old one
//! serving, and the process's signals: `SIGHUP` reloads, `SIGTERM` stops
//! gracefully after finishing what is in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use triage_service::serve::Config;

use crate::serve_support::{
    Process, Server, eventually, example, metric, policies_copy, read_response, replace, request,
    send_head,
};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn an_edited_rule_file_switches_digests_without_a_failed_request() {
    let dir = policies_copy();
    let mut config = Config::new(dir.path());
    config.debounce = Duration::from_millis(50);
    let server = Server::start(config);
    let old = server.get("/v1/policy").json()["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // Requests flow from another thread for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let addr = server.addr;
    let flow = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let body = example().to_string();
            let mut failures = Vec::new();
            let mut digests = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let response = request(addr, "POST", "/v1/decisions", &[], body.as_bytes());
                if response.status == 200 {
                    let digest = response.json()["policy"]["digest"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    if digests.last() != Some(&digest) {
                        digests.push(digest);
                    }
                } else {
                    failures.push(response.text());
                }
            }
            (failures, digests)
        })
    };

    let rules = std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap();
    // A comment changes the bytes, so the digest, and nothing else.
    let edited = format!("{rules}\n# edited by the reload test\n");
    replace(dir.path(), "boundaries.yaml", &edited);
    let mut new = String::new();
    eventually(WAIT, "the new digest", || {
        new = server.get("/v1/policy").json()["digest"]
            .as_str()
            .unwrap()
            .to_owned();
        new != old
    });
    let decision = server.post_json("/v1/decisions", &example()).json();
    assert_eq!(decision["policy"]["digest"], json!(new));

    // A broken file: rejected, shown, counted; the new bundle keeps serving.
    replace(dir.path(), "boundaries.yaml", "rules:\n  - id: [unclosed\n");
    eventually(WAIT, "the failed reload to show", || {
        server.get("/v1/policy").json()["last_reload_error"] != Value::Null
    });
    let policy = server.get("/v1/policy").json();
    assert_eq!(policy["digest"], json!(new));
    let error = &policy["last_reload_error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("boundaries.yaml")
            || error["problems"].to_string().contains("boundaries.yaml"),
        "{error}"
    );
    assert!(server.metric("triage_policy_reloads_total{result=\"failure\"}") >= 1.0);
    assert!(server.metric("triage_policy_reloads_total{result=\"success\"}") >= 2.0);
    assert!(
        server
            .get("/metrics")
            .text()
            .contains(&format!("digest=\"{new}\""))
    );
    let response = server.post_json("/v1/decisions", &example());
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["policy"]["digest"], json!(new));

    stop.store(true, Ordering::Relaxed);
    let (failures, digests) = flow.join().unwrap();
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert_eq!(digests.last(), Some(&new), "{digests:?}");
    assert!(
        digests.iter().all(|d| *d == old || *d == new),
        "{digests:?}"
    );
}

#[test]
fn sighup_reloads_and_sigterm_finishes_an_in_flight_batch_then_exits_0() {
    let dir = policies_copy();
    let mut server = Process::start(dir.path(), &["--no-watch"]);
    let addr = server.addr;
    let reloads = || {
        let text = request(addr, "GET", "/metrics", &[], b"").text();
        metric(&text, "triage_policy_reloads_total{result=\"success\"}")
    };
    assert_eq!(reloads(), 1.0);
    server.signal("HUP");
    eventually(WAIT, "the SIGHUP reload", || reloads() == 2.0);

    // A batch request whose body is still on its way when SIGTERM arrives.
    let mut second = example();
    second["id"] = json!("T-2");
    let body = json!([example(), second]).to_string();
    let (start, rest) = body.as_bytes().split_at(body.len() / 2);
    let mut stream = send_head(addr, "POST", "/v1/decisions/batch", &[], body.len());
    stream.write_all(start).unwrap();
    stream.flush().unwrap();
    // In flight: this request and the one reading the gauge.
    eventually(WAIT, "the batch to be in flight", || {
        let text = request(addr, "GET", "/metrics", &[], b"").text();
        metric(&text, "triage_http_requests_in_flight") >= 2.0
    });
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(100));
    stream.write_all(rest).unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200, "{}", response.text());
    let results = response.json();
    assert_eq!(results[0]["ticket_id"], "T-1001");
    assert_eq!(results[1]["ticket_id"], "T-2");
    let status = server.wait(WAIT);
    assert_eq!(status.code(), Some(0));
}

/// Writes the policy files (top level only, as a ConfigMap holds them) in
/// a new timestamped directory of `root` and points `root/..data` at it
/// with one rename, the way the kubelet updates a mounted ConfigMap; the
/// files in `root` are symlinks through `..data`, made on the first call.
fn config_map_update(root: &std::path::Path, version: &str, edit: impl Fn(&str, String) -> String) {
    use std::os::unix::fs::symlink;
    let stamp = format!("..2026_12_06_{version}");
    std::fs::create_dir(root.join(&stamp)).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(crate::serve_support::POLICIES).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let name = entry.file_name().into_string().unwrap();
            let text = edit(&name, std::fs::read_to_string(entry.path()).unwrap());
            std::fs::write(root.join(&stamp).join(&name), text).unwrap();
            names.push(name);
        }
    }
    let previous = std::fs::read_link(root.join("..data")).ok();
    symlink(&stamp, root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    for name in names {
        let _ = symlink(format!("..data/{name}"), root.join(&name));
    }
    if let Some(previous) = previous {
        std::fs::remove_dir_all(root.join(previous)).unwrap();
    }
}

#[test]
fn a_config_map_update_by_symlink_swap_is_reloaded() {
    let root = tempfile::tempdir().unwrap();
    config_map_update(root.path(), "v1", |_, text| text);
    let mut config = Config::new(root.path());
    config.debounce = Duration::from_millis(50);
    let server = Server::start(config);
    let digest = || server.get("/v1/policy").json()["digest"].clone();
    let old = digest();
    assert!(old.is_string(), "the first version serves: {old}");

    config_map_update(root.path(), "v2", |name, text| match name {
        "boundaries.yaml" => format!("{text}\n# the second version\n"),
        _ => text,
    });
    eventually(WAIT, "the second version's digest", || digest() != old);
    let response = server.post_json("/v1/decisions", &example());
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["policy"]["digest"], digest());
    assert_eq!(
        server.metric("triage_policy_reloads_total{result=\"failure\"}"),
        0.0
    );
}
