//! Reading logs back: replay (with the archive, after `policies/` changed),
//! show, and the report in every format, the HTML one in a real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{ONE_RULE_CHANGE, arg, binary, generated, pack_copy, reference, ticket, with};

/// A log written by `triage eval --decision-log` with a copy of the pack, and
/// the tickets it decided (the binary is the writer, as a server would be).
fn logged_by_the_binary(dir: &Path, tickets: &[Value]) -> (PathBuf, PathBuf) {
    let policies = dir.join("policies");
    pack_copy(&policies, None);
    let input = dir.join("tickets.json");
    std::fs::write(&input, Value::Array(tickets.to_vec()).to_string()).unwrap();
    let log = dir.join("audit").join("decisions.jsonl");
    let (code, _, stderr) = binary(&[
        "eval",
        "--format",
        "json",
        "--policies",
        arg(&policies),
        arg(&input),
        "--decision-log",
        arg(&log),
        "--log-flush",
        "batch",
    ]);
    assert!(code == 0 || code == 2, "{stderr}");
    (log, policies)
}

#[test]
fn replay_reproduces_every_decision_with_the_archive_after_policies_change() {
    let dir = tempfile::tempdir().unwrap();
    let tickets = generated(300, 21);
    let (log, policies) = logged_by_the_binary(dir.path(), &tickets);
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("replayed 300 records: 300 identical, 0 differ, 0 skipped"),
        "{out}"
    );

    // The bundle that decided is edited, then removed: replay uses the archive.
    pack_copy(&policies, Some(ONE_RULE_CHANGE));
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("300 identical"), "{out}");

    // With `--policies`, replay says what the edited bundle would change.
    let bundle = reference();
    let affected = tickets
        .iter()
        .filter(|t| {
            bundle
                .decide(t)
                .is_ok_and(|d| &*d.rule == "marketplace_publisher")
        })
        .count();
    assert!(affected > 0);
    let (code, out, _) = binary(&[
        "audit",
        "replay",
        arg(&log),
        "--policies",
        arg(&policies),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["different"].as_array().unwrap().len(), affected);
    assert_eq!(report["different"][0]["after"]["label"], "diagnose_first");

    std::fs::remove_dir_all(&policies).unwrap();
    let (code, out, _) = binary(&["audit", "replay", arg(&log), "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["identical"], 300);
}

#[test]
fn replay_notices_a_decision_that_is_not_what_the_bundle_decides() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = logged_by_the_binary(dir.path(), &generated(20, 5));
    // Re-hash the whole chain after changing an outcome: verify cannot see it,
    // replay can.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut prev = triage_audit::GENESIS.to_owned();
    let mut out = String::new();
    let mut changed = false;
    for line in text.lines() {
        let mut record: Value = serde_json::from_str(line).unwrap();
        if !changed && record["decision"].is_object() {
            record["decision"]["outcome"] = json!("forged");
            changed = true;
        }
        record["prev"] = json!(prev);
        let hash = triage_audit::record::hash_of(&mut record);
        record["hash"] = json!(hash);
        prev = hash;
        out += &format!("{record}\n");
    }
    std::fs::write(&log, out).unwrap();
    assert_eq!(binary(&["audit", "verify", arg(&log)]).0, 0);
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 1);
    assert!(out.contains("19 identical, 1 differ"), "{out}");
}

#[test]
fn a_tampered_archive_is_refused_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = logged_by_the_binary(dir.path(), &generated(3, 5));
    let archive = log.with_file_name("decisions.jsonl.bundles");
    let file = std::fs::read_dir(&archive)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen(ONE_RULE_CHANGE.1, ONE_RULE_CHANGE.2, 1),
    )
    .unwrap();
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 1);
    assert!(out.contains("the archive was altered"), "{out}");
}

#[test]
fn show_renders_a_ticket_and_a_decision_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let summary = "printer on fire";
    let t = with(ticket(), &[("issue.summary", json!(summary))]);
    let (log, _) = logged_by_the_binary(
        dir.path(),
        &[t.clone(), with(ticket(), &[("id", json!("T-9"))]), t],
    );
    let (code, out, _) = binary(&["audit", "show", arg(&log), "--ticket", "T-1"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches("decision d-").count(), 2, "{out}");
    let decision = reference().decide(&ticket()).unwrap();
    assert!(
        out.contains(&format!("rule:      {}", decision.rule)),
        "{out}"
    );
    assert!(out.contains(&*decision.rationale[0]), "{out}");
    assert!(out.contains("read:      "), "{out}");
    assert!(out.contains("masked:    issue.summary"), "{out}");
    assert!(!out.contains(summary));
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (code, one, _) = binary(&["audit", "show", arg(&log), "--decision", &id]);
    assert_eq!(code, 0);
    assert_eq!(one.matches("decision d-").count(), 1);
    assert!(one.starts_with(&format!("decision {id}")));
    let (code, _, err) = binary(&["audit", "show", arg(&log), "--ticket", "NOPE"]);
    assert_eq!(code, 1);
    assert!(err.contains("no record of ticket `NOPE`"));
}

/// A log with decisions, a requester outside its role, and rejected input.
fn mixed_log(dir: &Path) -> (PathBuf, Vec<Value>) {
    let mut tickets = generated(60, 9);
    tickets.push(with(
        ticket(),
        &[("id", json!("BAD-1")), ("service", json!("nonsense"))],
    ));
    let (log, _) = logged_by_the_binary(dir, &tickets);
    (log, tickets)
}

#[test]
fn report_counts_decisions_roles_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (log, tickets) = mixed_log(dir.path());
    let bundle = reference();
    let results: Vec<_> = tickets.iter().map(|t| bundle.decide(t)).collect();
    let (code, out, _) = binary(&["audit", "report", arg(&log), "--format", "json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["integrity"].as_str().unwrap().starts_with("intact"));
    assert_eq!(report["records"], 61);
    let decided = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(report["decisions"], decided);
    assert_eq!(report["invalid_tickets"], 61 - decided);
    let table = |title: &str| -> Vec<(String, u64)> {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["title"] == title)
            .unwrap()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    r["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for (title, of) in [
        (
            "outcome",
            &(|d: &triage_engine::Decision| d.outcome.to_string())
                as &dyn Fn(&triage_engine::Decision) -> String,
        ),
        ("rule", &|d: &triage_engine::Decision| d.rule.to_string()),
        ("role", &|d: &triage_engine::Decision| {
            d.requester.role.to_string()
        }),
    ] {
        let rows = table(title);
        for (key, count) in &rows {
            let expected = results.iter().flatten().filter(|d| of(d) == *key).count() as u64;
            assert_eq!(*count, expected, "{title} {key}");
        }
        // Every decision is in some row.
        let listed: u64 = rows.iter().map(|(_, count)| count).sum();
        assert_eq!(listed, results.iter().flatten().count() as u64, "{title}");
    }
    assert_eq!(
        table("policy"),
        [(
            format!("{} {}", bundle.policy().name, bundle.policy().version),
            61
        )]
    );
    let outside = results
        .iter()
        .flatten()
        .filter(|d| !d.requester.allowed)
        .count() as u64;
    assert!(outside > 0);
    let listed: u64 = report["outside_role"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, outside);
    let rejected = report["rejections"].as_array().unwrap();
    assert!(
        rejected
            .iter()
            .any(|r| r["ticket_id"] == "BAD-1" && r["kind"] == "invalid ticket")
    );

    let (code, md, _) = binary(&["audit", "report", arg(&log), "--format", "md"]);
    assert_eq!(code, 0);
    assert!(md.contains("## By outcome") && md.contains("## Requesters acting outside their role"));
    assert!(md.contains("BAD-1"));
}

#[test]
fn html_report_renders_in_a_headless_browser_with_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = mixed_log(dir.path());
    let (code, html, _) = binary(&["audit", "report", arg(&log), "--format", "html"]);
    assert_eq!(code, 0);
    // (The SVG namespace URI is an identifier, not a fetch.)
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "nothing is fetched: {fetch}");
    }
    assert!(!html.contains("<script"), "no scripts");
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 7);
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();

    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (scripts/install-chromium.sh)"
        );
        eprintln!("SKIPPED: chromium is not installed (run scripts/install-chromium.sh)");
        return;
    };
    let profile = dir.path().join("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(dom.contains("Decision log report"), "the page rendered");
    assert_eq!(
        dom.matches("<svg class=\"chart\"").count(),
        7,
        "the charts are in the DOM"
    );
    assert!(dom.contains("<rect"), "the charts have bars");
    assert!(!stderr.contains("Uncaught"), "{stderr}");
    assert!(!stderr.contains("CONSOLE"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("console("), "{stderr}");
}

#[test]
fn an_input_that_is_no_ticket_document_is_logged_and_replay_passes_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let log = dir.path().join("decisions.jsonl");
    let policies = crate::common::policies_dir();
    let (code, _, _) = binary(&[
        "eval",
        "--policies",
        arg(&policies),
        arg(&broken),
        "--decision-log",
        arg(&log),
    ]);
    assert_eq!(code, 2);
    let record: triage_audit::Record =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert!(record.ticket.is_null());
    assert!(record.rejection.unwrap().is_invalid_ticket());
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 records of inputs that were not tickets"),
        "{out}"
    );
}
