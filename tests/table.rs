//! `triage table`: for each rule and path step, the classes of tickets it
//! decides, as text, markdown and JSON.

use serde_json::Value;

use crate::common::{arg, cli, pack_copy, policies_dir, reference};

#[test]
fn the_table_has_a_row_for_every_rule_and_step_and_witnesses_decided_by_them() {
    let dir = policies_dir();
    let (code, out, err) = cli(&["table", arg(&dir), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let table: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(table["proven"], true);
    assert_eq!(table["policy"]["name"], "csp-support-triage");
    let rows = table["rows"].as_array().unwrap();
    let bundle = reference();
    for rule in bundle.rule_ids() {
        assert!(
            rows.iter().any(|r| r["rule"] == *rule),
            "no row for `{rule}`"
        );
    }
    for row in rows {
        for class in row["classes"].as_array().unwrap() {
            let decision = bundle.decide(&class["witness"]).unwrap();
            assert_eq!(*decision.rule, *row["rule"].as_str().unwrap(), "{class}");
            assert_eq!(
                *decision.action,
                *row["action"].as_str().unwrap(),
                "{class}"
            );
            let step = match (&decision.path, &decision.path_step) {
                (Some(_), None) => Some("fallback"),
                (_, step) => step.as_deref(),
            };
            assert_eq!(step, row["path_step"].as_str(), "{class}");
        }
    }

    let (code, text, _) = cli(&["table", arg(&dir)]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("csp-support-triage 2026.11.0 sha256:"),
        "{text}"
    );
    assert!(text.contains(&format!(": {} rows\n", rows.len())), "{text}");
    assert!(
        text.contains("\nrule `marketplace_publisher` (") && text.contains("boundaries.yaml:10:11)\n  contact_publisher, action `resolve_technical` — 8.3% of the valid tickets\n    service = marketplace and category = technical (8.3%)\n"),
        "{text}"
    );
    assert!(
        text.contains("  step `premier_for_critical`: escalate via premier_support_for_partners, action `file_service_request` — "),
        "{text}"
    );
    assert!(
        text.contains("  fallback: no_eligible_vehicle, action `resolve_technical` — "),
        "{text}"
    );

    let (code, md, _) = cli(&["table", arg(&dir), "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(
        md.starts_with("## Decision table: csp-support-triage 2026.11.0\n"),
        "{md}"
    );
    assert!(
        md.contains("| `marketplace_publisher` |  | contact_publisher, action `resolve_technical` | `service = marketplace and category = technical` (8.3%) | 8.3% |\n"),
        "{md}"
    );
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| `")).count(),
        rows.len(),
        "{md}"
    );
}

#[test]
fn an_opaque_condition_makes_the_table_not_proven() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(
        dir.path(),
        Some((
            "paths.yaml",
            "critical: issue.severity == \"A\"",
            "critical: issue.summary.contains(\"outage\")",
        )),
    );
    let (code, out, _) = cli(&["table", arg(dir.path())]);
    assert_eq!(code, 0);
    assert!(
        out.contains("not proven: these expressions are outside what the analysis models\n"),
        "{out}"
    );
    assert!(
        out.contains("paths.yaml:5:13: `issue.summary.contains(\"outage\")`: "),
        "{out}"
    );
}
