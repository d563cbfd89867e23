//! `triage diff`: the impact of a policy change on tickets.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{ONE_RULE_CHANGE, arg, binary, generated, jsonl, pack_copy, reference};

fn diff(base: &Path, head: &Path, tickets: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["diff", "--base", arg(base), "--head", arg(head)];
    args.extend(["--tickets", arg(tickets)]);
    args.extend(extra);
    let (code, out, _) = binary(&args);
    (code, out)
}

/// The reference pack as `base`, and as `head` with the marketplace rule's
/// outcome changed.
fn base_and_head(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (base, head) = (dir.join("base"), dir.join("head"));
    pack_copy(&base, None);
    pack_copy(&head, Some(ONE_RULE_CHANGE));
    (base, head)
}

#[test]
fn one_changed_rule_changes_exactly_its_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = base_and_head(dir.path());
    let tickets = generated(2000, 42);
    let file = dir.path().join("tickets.jsonl");
    std::fs::write(&file, jsonl(&tickets)).unwrap();

    let bundle = reference();
    let mut affected: Vec<String> = tickets
        .iter()
        .filter_map(|t| bundle.decide(t).ok())
        .filter(|d| &*d.rule == "marketplace_publisher")
        .map(|d| d.ticket_id.to_string())
        .collect();
    assert!(!affected.is_empty());

    let (code, out) = diff(
        &base,
        &head,
        &file,
        &["--format", "json", "--examples", "100000"],
    );
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tickets"], 2000);
    assert_eq!(report["changed"], affected.len());
    let transitions = report["transitions"].as_array().unwrap();
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0]["before"], "contact_publisher");
    assert_eq!(transitions[0]["after"], "diagnose_first");
    assert_eq!(
        transitions[0]["rules"][0]["before"],
        "marketplace_publisher"
    );
    assert_eq!(transitions[0]["rules"][0]["after"], "marketplace_publisher");
    let mut listed: Vec<String> = transitions[0]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Examples come in input order.
    assert_eq!(listed, affected);
    listed.sort();
    affected.sort();
    assert_eq!(listed, affected);

    let (code, text) = diff(&base, &head, &file, &["--fail-on-change"]);
    assert_eq!(code, 1);
    assert!(
        text.contains(&format!(
            "2000 tickets, {} decisions change",
            affected.len()
        )),
        "{text}"
    );
    assert!(
        text.contains("contact_publisher -> diagnose_first"),
        "{text}"
    );
    let (_, md) = diff(&base, &head, &file, &["--format", "md"]);
    assert!(
        md.contains("| contact_publisher | diagnose_first |"),
        "{md}"
    );
}

#[test]
fn identical_bundles_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = (dir.path().join("base"), dir.path().join("head"));
    pack_copy(&base, None);
    pack_copy(&head, None);
    let file = dir.path().join("tickets.jsonl");
    // Lines that are no ticket: not JSON, and not even text (they are
    // counted, not the end of the run).
    let mut bytes = (jsonl(&generated(500, 1)) + "not json\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"\xff\xfe\"}\r\n");
    std::fs::write(&file, bytes).unwrap();
    let (code, out) = diff(
        &base,
        &head,
        &file,
        &["--format", "json", "--fail-on-change"],
    );
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tickets"], 500);
    assert_eq!(report["changed"], 0);
    assert_eq!(report["unreadable"], 2);
    assert_eq!(report["unreadable_lines"], json!([501, 502]));
}

#[test]
fn diff_reads_the_tickets_of_a_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = base_and_head(dir.path());
    let log = dir.path().join("decisions.jsonl");
    let bundle = reference();
    let tickets = generated(400, 8);
    let mut writer = triage_audit::DecisionLog::open(&log, Default::default()).unwrap();
    for t in &tickets {
        writer.append(&bundle, t, &bundle.decide(t)).unwrap();
    }
    drop(writer);
    let lines = dir.path().join("tickets.jsonl");
    std::fs::write(&lines, jsonl(&tickets)).unwrap();
    let (code, from_log) = diff(&base, &head, &log, &["--format", "json"]);
    assert_eq!(code, 0, "{from_log}");
    let (code, from_lines) = diff(&base, &head, &lines, &["--format", "json"]);
    assert_eq!(code, 0, "{from_lines}");
    let (a, b): (Value, Value) = (
        serde_json::from_str(&from_log).unwrap(),
        serde_json::from_str(&from_lines).unwrap(),
    );
    assert_eq!(a["tickets"], 400);
    assert!(a["changed"].as_u64().unwrap() > 0, "{a}");
    assert_eq!(a["transitions"], b["transitions"]);
}

#[test]
fn transitions_name_the_path_step_and_why_a_side_rejects_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = (dir.path().join("base"), dir.path().join("head"));
    pack_copy(&base, None);
    // A new step before `signature`, and a new field with a default.
    crate::common::pack_edited(
        &head,
        &[
            (
                "paths.yaml",
                "      - id: signature\n",
                "      - id: premier_for_outage\n        vehicle: premier_support_for_partners\n        when: has_premier && issue.type == \"regional_outage\"\n        rationale: A regional outage goes to Premier Support.\n      - id: signature\n",
            ),
            (
                "ticket.yaml",
                "    partner.support_plans:",
                "    partner.tier: { type: enum, values: [standard, strategic], default: standard }\n    partner.support_plans:",
            ),
        ],
    );
    let outage = crate::common::with(
        crate::common::ticket(),
        &[
            ("id", serde_json::json!("OUTAGE")),
            ("issue.type", serde_json::json!("regional_outage")),
            ("issue.severity", serde_json::json!("B")),
            ("partner.competency", serde_json::json!("none")),
        ],
    );
    let tiered = crate::common::with(
        crate::common::ticket(),
        &[
            ("id", serde_json::json!("TIERED")),
            ("partner.tier", serde_json::json!("standard")),
        ],
    );
    let file = dir.path().join("tickets.jsonl");
    std::fs::write(&file, jsonl(&[outage, tiered])).unwrap();

    let (code, text) = diff(&base, &head, &file, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("2 tickets, 2 decisions change"), "{text}");
    assert!(
        text.contains("  escalate via advanced_support_for_partners (step advanced) -> escalate via premier_support_for_partners (step premier_for_outage): 1\n"),
        "{text}"
    );
    assert!(
        text.contains("  invalid ticket: partner.tier: unknown field -> escalate via premier_support_for_partners (step premier_for_critical): 1\n"),
        "{text}"
    );
    let (_, json) = diff(&base, &head, &file, &["--format", "json"]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let transitions = report["transitions"].as_array().unwrap();
    assert!(
        transitions.iter().any(
            |t| t["before"] == "invalid ticket: partner.tier: unknown field"
                && t["examples"][0] == "TIERED"
        ),
        "{json}"
    );
    assert!(
        transitions.iter().any(|t| t["after"]
            == "escalate via premier_support_for_partners (step premier_for_outage)"
            && t["examples"][0] == "OUTAGE"),
        "{json}"
    );
}
