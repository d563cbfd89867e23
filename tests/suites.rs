//! `triage test`: the shipped suites, a failing expectation, coverage gates.

use crate::check::{pack_with, triage};
use crate::common::policies_dir;

#[test]
fn the_shipped_suites_pass_with_full_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (code, out) = triage(&[
        "test",
        policies_dir().to_str().unwrap(),
        "--min-coverage",
        "100",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("coverage: 16 of 16 rules, path steps and fallbacks exercised (100.0%)"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{out}"
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"worked-examples.yaml\" tests=\"8\" failures=\"0\">"),
        "{xml}"
    );
}

/// The pack with a suite of its own, written into its `tests/`.
fn pack_with_suite(suite: &str) -> tempfile::TempDir {
    let dir = pack_with("bundle.yaml", "name:", "name:");
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(dir.path().join("tests/mine.yaml"), suite).unwrap();
    dir
}

const WRONG: &str = "bases:
  t:
    id: T-wrong
    service: azure
    category: technical
    issue: { type: product_bug, severity: B }
    customer: { id: contoso, admin_relationship: gdap }
    partner: { competency: gold }
    requester: { role: sales_agent }
    diagnosed: true
cases:
  - name: a right expectation
    base: t
    expect: { vehicle: signature_cloud_support }
  - name: a deliberately wrong expectation
    base: t
    expect: { outcome: escalate, vehicle: premier_support_for_partners, path_step: premier, allowed: true }
";

#[test]
fn a_wrong_expectation_fails_with_a_readable_diff() {
    let dir = pack_with_suite(WRONG);
    let (code, out) = triage(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn json_output_and_a_coverage_gate() {
    let dir = pack_with_suite(WRONG);
    let (code, out) = triage(&[
        "test",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        "--min-coverage",
        "50",
    ]);
    assert_eq!(code, 1);
    let json: serde_json::Value =
        serde_json::from_str(out.split("\nerror:").next().unwrap()).unwrap();
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let mismatches = &json["cases"][1]["mismatches"];
    assert_eq!(mismatches[0]["what"], "vehicle");
    assert_eq!(mismatches[0]["expected"], "`premier_support_for_partners`");
    assert_eq!(mismatches[0]["actual"], "`signature_cloud_support`");
    assert!(
        out.contains("error: coverage 12.5% is below the minimum of 50.0%"),
        "{out}"
    );
}

#[test]
fn an_unknown_base_is_a_located_error() {
    let dir = pack_with_suite(
        "cases:\n  - name: lost\n    base: nowhere\n    expect: { outcome: escalate }\n",
    );
    let (code, out) = triage(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("unknown base `nowhere`"), "{out}");
    assert!(out.contains("mine.yaml:3:11"), "{out}");
}

#[test]
fn a_suite_file_that_cannot_be_read_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(dir.path().join("tests/latin1.yaml"), b"name: caf\xe9\n").unwrap();
    let error = triage_engine::suite::load_suites(dir.path()).unwrap_err();
    let text = error.problems[0].to_string();
    assert!(
        text.contains("cannot read") && text.contains("latin1.yaml"),
        "{text}"
    );
}

#[test]
fn an_expectation_naming_an_undeclared_id_is_a_broken_test_at_its_line() {
    let dir = pack_with_suite(concat!(
        "cases:\n",
        "  - name: misspelt\n",
        "    ticket: { id: T-1 }\n",
        "    expect:\n",
        "      outcome: escalat\n",
        "      vehicle: premier_support\n",
        "      rule: commercial_escalaton\n",
        "      path_step: premeir\n",
        "      action: file_service_requst\n",
        "  - name: a misspelt role\n",
        "    ticket: { requester: { role: sales_agnt } }\n",
        "    expect: { outcome: escalate }\n",
        "  - name: an undeclared role, refused on purpose\n",
        "    ticket: { requester: { role: intern } }\n",
        "    expect: { error: invalid_ticket }\n",
    ));
    let (code, out) = triage(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    for (place, message, help) in [
        (
            "mine.yaml:5:16",
            "expects outcome `escalat`",
            "did you mean `escalate`?",
        ),
        (
            "mine.yaml:6:16",
            "expects vehicle `premier_support`",
            "did you mean",
        ),
        (
            "mine.yaml:7:13",
            "expects rule `commercial_escalaton`",
            "did you mean `commercial_escalation`?",
        ),
        (
            "mine.yaml:8:18",
            "expects path step `premeir`",
            "did you mean `premier`?",
        ),
        (
            "mine.yaml:9:15",
            "expects action `file_service_requst`",
            "did you mean `file_service_request`?",
        ),
    ] {
        assert!(out.contains(place), "{place} in {out}");
        assert!(out.contains(message), "{message} in {out}");
        assert!(out.contains(help), "{help} in {out}");
    }
    assert!(
        out.contains("the case's ticket sends role `sales_agnt` in `requester.role`"),
        "{out}"
    );
    assert!(out.contains("mine.yaml:10:11"), "{out}");
    assert!(out.contains("did you mean `sales_agent`?"), "{out}");
    assert_eq!(out.matches("triage::unknown-reference").count(), 6, "{out}");
}

#[test]
fn a_failing_case_shows_where_it_is_written() {
    let dir = pack_with_suite(WRONG);
    let (code, out) = triage(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let fail = out.lines().find(|l| l.contains("FAIL")).unwrap();
    assert!(
        fail.contains("FAIL  a deliberately wrong expectation (")
            && fail.ends_with("mine.yaml:15:11)"),
        "{fail}"
    );
}
