//! `triage check`: problems, warnings, JSON output and the exact proof.

use crate::common::policies_dir;

/// Runs the CLI in-process; stdout and stderr together.
pub fn triage(args: &[&str]) -> (u8, String) {
    let (code, out, err) = crate::common::cli(args);
    (code, out + err.as_str())
}

/// A copy of the reference pack with one edit, in a temporary directory.
pub fn pack_with(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::pack_copy(dir.path(), Some((file, from, to)));
    dir
}

#[test]
fn the_reference_pack_is_clean() {
    let (code, out) = triage(&["check", policies_dir().to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("0 errors, 0 warnings\n"), "{out}");
}

#[test]
fn warnings_fail_only_when_denied() {
    let dir = pack_with(
        "roles.yaml",
        "roles:\n",
        "roles:\n  intern: { title: Intern }\n",
    );
    let path = dir.path().to_str().unwrap();
    let (code, out) = triage(&["check", path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("role `intern` is declared but never used"),
        "{out}"
    );
    assert!(out.contains("roles.yaml:5:3"), "{out}");
    assert!(
        out.contains("remove it, or name it in an action's `roles`"),
        "{out}"
    );
    assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
    let (code, _) = triage(&["check", path, "--deny-warnings"]);
    assert_eq!(code, 3);
}

#[test]
fn every_problem_is_reported_at_once_as_json() {
    let dir = pack_with(
        "boundaries.yaml",
        "outcome: contact_publisher\n    action: resolve_technical",
        "outcome: contact_publishr\n    action: resolve_tecnical",
    );
    let (code, out) = triage(&[
        "check",
        dir.path().to_str().unwrap(),
        "--error-format",
        "json",
    ]);
    assert_eq!(code, 3);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["errors"], 2);
    let problems = report["problems"].as_array().unwrap();
    let first = &problems[0];
    assert_eq!(first["code"], "unknown-reference");
    assert_eq!(first["message"], "unknown outcome `contact_publishr`");
    assert_eq!(first["help"], "did you mean `contact_publisher`?");
    assert!(
        first["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("boundaries.yaml")
    );
    assert_eq!(
        (
            first["location"]["line"].as_u64(),
            first["location"]["column"].as_u64()
        ),
        (Some(11), Some(14))
    );
    assert_eq!(problems[1]["message"], "unknown action `resolve_tecnical`");
}

#[test]
fn the_reference_pack_is_proven_exactly_with_its_precedence_report() {
    let dir = policies_dir();
    let (code, out) = triage(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  proven: every valid ticket gets a decision without an error; every rule, path step and fallback decides some ticket\n"),
        "{out}"
    );
    assert!(!out.contains("not proven"), "{out}");
    assert!(
        out.contains("  rule `azure_indirect_reseller` (")
            && out
                .contains("boundaries.yaml:50:11) — tickets it also matches are taken first by:\n"),
        "{out}"
    );
    assert!(
        out.contains("boundaries.yaml:40:12): service = azure and category = technical and issue.type in [network_disruption, product_bug, regional_outage, service_unavailable, undocumented_behavior] and customer.admin_relationship in [dap, gdap] and partner.program = indirect_reseller and diagnosed = false and service_health.status in [healthy, restored] ("),
        "{out}"
    );

    let (code, out) = triage(&["check", dir.to_str().unwrap(), "--error-format", "json"]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report.get("exhaustive").is_none(), "{out}");
    let analysis = &report["analysis"];
    assert_eq!(analysis["proven"], true);
    assert_eq!(analysis["findings"], serde_json::json!([]));
    assert_eq!(analysis["opaque"], serde_json::json!([]));
    // Every taker's witness is decided by the taker, and matches the later rule's condition.
    let bundle = crate::common::reference();
    let precedence = analysis["precedence"].as_array().unwrap();
    assert!(precedence.len() >= 5, "{out}");
    for p in precedence {
        for taking in p["taken"].as_array().unwrap() {
            let decision = bundle.decide(&taking["class"]["witness"]).unwrap();
            assert_eq!(&*decision.rule, taking["by"].as_str().unwrap(), "{taking}");
            assert!(
                taking["location"]
                    .as_str()
                    .unwrap()
                    .contains("boundaries.yaml:")
            );
        }
    }
}

#[test]
fn exhaustive_is_accepted_and_changes_nothing() {
    let dir = policies_dir();
    let (code, plain) = triage(&["check", dir.to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(code, 0, "{plain}");
    let (code, out) = triage(&[
        "check",
        dir.to_str().unwrap(),
        "--deny-warnings",
        "--exhaustive",
        "--samples",
        "10",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, plain);
}

#[test]
fn a_rule_after_a_general_one_is_unreachable_and_names_the_rules_that_take_it() {
    let dir = pack_with(
        "boundaries.yaml",
        "  - id: commercial_baseline\n",
        "  - id: how_to_questions\n    when: technical && issue.type == \"how_to\"\n    outcome: partner_resolves\n    action: resolve_technical\n    rationale: Taken by technical_baseline.\n\n  - id: commercial_baseline\n",
    );
    let path = dir.path().to_str().unwrap();
    let (code, out) = triage(&["check", path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  warning: rule `how_to_questions` decides no ticket: the rules before it take every ticket it matches ("),
        "{out}"
    );
    assert!(out.contains("boundaries.yaml:34:11)\n"), "{out}");
    assert!(
        out.contains("    taken by: `marketplace_publisher`, `known_service_incident`, `no_admin_relationship`, `technical_baseline`\n"),
        "{out}"
    );
    // Totality still holds; only reachability fails.
    assert!(
        out.contains("  proven: every valid ticket gets a decision without an error\n  warning: "),
        "{out}"
    );
    assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
    let (code, _) = triage(&["check", path, "--deny-warnings"]);
    assert_eq!(code, 3);

    let (_, out) = triage(&["check", path, "--error-format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = report["analysis"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["kind"], "unreachable_rule");
    assert_eq!(findings[0]["id"], "how_to_questions");
    assert_eq!(findings[0]["taken_by"][3], "technical_baseline");
    // The later rule's precedence names the rule that takes its tickets.
    let precedence = report["analysis"]["precedence"].as_array().unwrap();
    let entry = precedence
        .iter()
        .find(|p| p["rule"] == "how_to_questions")
        .unwrap();
    assert!(
        entry["taken"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["by"] == "technical_baseline"),
        "{entry}"
    );
}

#[test]
fn a_method_on_an_optional_text_field_is_not_proven_and_named() {
    let dir = pack_with(
        "paths.yaml",
        "critical: issue.severity == \"A\"",
        "critical: issue.severity == \"A\" || issue.summary.contains(\"outage\")",
    );
    let path = dir.path().to_str().unwrap();
    let (code, out) = triage(&["check", path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  not proven: an expression cannot be analysed\n"),
        "{out}"
    );
    assert!(
        out.contains("paths.yaml:5:13: `issue.severity == \"A\" || issue.summary.contains(\"outage\")`: it runs in rhai only"),
        "{out}"
    );
    assert!(!out.contains("  proven:"), "{out}");
    assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
    let (code, _) = triage(&["check", path, "--deny-warnings"]);
    assert_eq!(code, 3);
    let (_, out) = triage(&["check", path, "--error-format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["analysis"]["proven"], false);
    assert!(
        report["analysis"]["opaque"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["expression"]
                == "issue.severity == \"A\" || issue.summary.contains(\"outage\")"),
        "{out}"
    );
}

#[test]
fn a_comparison_with_an_optional_text_field_stays_analysable() {
    let dir = pack_with(
        "paths.yaml",
        "critical: issue.severity == \"A\"",
        "critical: issue.severity == \"A\" || (issue.summary == \"outage\" && diagnosed)",
    );
    let (code, out) = triage(&["check", dir.path().to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("issue.summary (3)"), "{out}");
    assert!(out.contains("  proven: every valid ticket"), "{out}");
    assert!(!out.contains("not proven"), "{out}");
}

#[test]
fn an_optional_flag_in_a_condition_is_a_run_time_error_with_a_witness() {
    let dir = pack_with(
        "ticket.yaml",
        "    partner.id: { type: string }\n",
        "    partner.id: { type: string }\n    partner.verified: { type: bool }\n",
    );
    let boundaries = dir.path().join("boundaries.yaml");
    let text = std::fs::read_to_string(&boundaries).unwrap().replacen(
        "when: technical && service == \"marketplace\"",
        "when: technical && service == \"marketplace\" && partner.verified",
        1,
    );
    std::fs::write(&boundaries, text).unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, out) = triage(&["check", path]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("  error: rule `marketplace_publisher` fails at run time: `technical && service == \"marketplace\" && partner.verified` ("),
        "{out}"
    );
    assert!(out.contains("    tickets: "), "{out}");
    assert!(out.contains("    e.g. {"), "{out}");
    assert!(!out.contains("  proven:"), "{out}");
    let (_, out) = triage(&["check", path, "--error-format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    let finding = report["analysis"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "evaluation_error")
        .unwrap()
        .clone();
    // The witness is a ticket the engine fails on, as stated.
    let bundle = triage_engine::Bundle::load(dir.path()).unwrap();
    let rejection = bundle.decide(&finding["class"]["witness"]).unwrap_err();
    match rejection.error {
        triage_engine::RejectionKind::Evaluation(e) => assert_eq!(&*e.id, "marketplace_publisher"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_yaml_file_the_manifest_does_not_list_is_named_in_a_warning() {
    let dir = pack_with("bundle.yaml", "name:", "name:");
    std::fs::write(dir.path().join("extra-rules.yaml"), "rules: []\n").unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, out) = triage(&["check", path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("the manifest does not list `extra-rules.yaml`, so the bundle ignores it"),
        "{out}"
    );
    assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
    let (code, out) = triage(&["check", path, "--deny-warnings"]);
    assert_ne!(code, 0, "{out}");
}
