//! `triage check`: problems, warnings, JSON output and the exhaustive proof.

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
fn exhaustive_proves_the_reference_pack_total_with_nothing_shadowed() {
    let (code, out) = triage(&[
        "check",
        policies_dir().to_str().unwrap(),
        "--exhaustive",
        "--error-format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = &report["exhaustive"];
    assert_eq!(e["mode"], "exhaustive");
    assert_eq!(e["errors"], 0);
    assert!(e["decided"].as_u64().unwrap() > 100_000);
    assert_eq!(
        e["tickets"].as_u64().unwrap(),
        e["decided"].as_u64().unwrap() + e["invalid"].as_u64().unwrap()
    );
    let (rules, steps) = (
        e["rules"].as_array().unwrap(),
        e["steps"].as_array().unwrap(),
    );
    assert_eq!(rules.len(), crate::common::reference().rule_ids().len());
    assert_eq!(steps.len(), 7, "5 path steps and 2 fallbacks");
    for reach in rules.iter().chain(steps) {
        assert!(reach["hits"].as_u64().unwrap() > 0, "{reach}");
        assert!(reach["example"].is_object(), "{reach}");
    }
}

#[test]
fn exhaustive_names_a_shadowed_rule() {
    let dir = pack_with(
        "boundaries.yaml",
        "  - id: commercial_baseline\n",
        "  - id: how_to_questions\n    when: technical && issue.type == \"how_to\"\n    outcome: partner_resolves\n    action: resolve_technical\n    rationale: Shadowed by technical_baseline.\n\n  - id: commercial_baseline\n",
    );
    let (code, out) = triage(&[
        "check",
        dir.path().to_str().unwrap(),
        "--exhaustive",
        "--deny-warnings",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("how_to_questions                                 0 tickets: shadowed"),
        "{out}"
    );
    assert!(
        out.contains("warning: shadowed (no ticket reaches them): how_to_questions"),
        "{out}"
    );
    assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
}

#[test]
fn exhaustive_samples_when_a_read_field_is_unbounded() {
    let dir = pack_with(
        "paths.yaml",
        "critical: issue.severity == \"A\"",
        "critical: issue.severity == \"A\" || issue.summary == \"urgent\"",
    );
    let (code, out) = triage(&[
        "check",
        dir.path().to_str().unwrap(),
        "--exhaustive",
        "--samples",
        "2000",
        "--error-format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["exhaustive"]["mode"], "sampled");
    assert_eq!(report["exhaustive"]["tickets"], 2000);
    assert_eq!(
        report["exhaustive"]["reason"],
        "`issue.summary` has no finite set of values"
    );
}

#[test]
fn exhaustive_samples_a_list_with_too_many_values_as_valid_tickets() {
    // Thirteen values: too many subsets to enumerate, so the list is sampled.
    let dir = pack_with(
        "ticket.yaml",
        "values: [premier, advanced]",
        "values: [premier, advanced, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13]",
    );
    let (code, out) = triage(&[
        "check",
        dir.path().to_str().unwrap(),
        "--exhaustive",
        "--samples",
        "2000",
        "--error-format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["exhaustive"]["mode"], "sampled", "{out}");
    // Sampled tickets are valid ones: half are decided (the other half pair an
    // issue type with the other category), not rejected for the list's value.
    assert!(
        report["exhaustive"]["decided"].as_u64().unwrap() > 500,
        "{out}"
    );
}
