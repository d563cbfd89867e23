//! The rhai sandbox: every limit fires, and what is not allowed fails at load.

use triage_engine::{Bundle, BundleError, RejectionKind};

use crate::common::probe_bundle;

const LIMITS: &str = "
  max_operations: 20
  max_expression_depth: 8
  max_string_size: 64
  max_array_size: 8
  max_map_size: 4
";

/// A one-field-of-each-kind bundle whose first rule has the condition `when`.
fn bundle(when: &str) -> Result<Bundle, BundleError> {
    bundle_with(LIMITS, when)
}

fn bundle_with(limits: &str, when: &str) -> Result<Bundle, BundleError> {
    let head = "ticket:
  id_field: id
  role_field: role
  fields:
    id: { type: string, required: true }
    role: { type: role, required: true }
    text: { type: string, default: '' }
    n: { type: integer, default: 0 }
    meta.source: { type: string }
";
    probe_bundle(limits, head, when)
}

/// The evaluation error for a ticket with `text` and `n`.
fn cause(when: &str, text: &str, n: i64) -> String {
    cause_with(LIMITS, when, text, n)
}

fn cause_with(limits: &str, when: &str, text: &str, n: i64) -> String {
    let bundle = bundle_with(limits, when).unwrap();
    let ticket = serde_json::json!({ "id": "S-1", "role": "agent", "text": text, "n": n });
    let rejection = bundle.decide(&ticket).expect_err("the probe must fail");
    match rejection.error {
        RejectionKind::Evaluation(e) => {
            assert_eq!(&*e.id, "probe");
            assert_eq!(&*e.expression, when);
            e.cause
        }
        other => panic!("expected an evaluation error, got {other:?}"),
    }
}

fn load_error(when: &str) -> String {
    let error = bundle(when).expect_err("the bundle must be rejected");
    error
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_probe_bundle_works() {
    let bundle = bundle("n > 1").unwrap();
    let decision = bundle
        .decide(&serde_json::json!({ "id": "S", "role": "agent", "n": 2 }))
        .unwrap();
    assert_eq!(&*decision.rule, "probe");
}

#[test]
fn too_many_operations() {
    let when = (1..=30)
        .map(|i| format!("n == {i}"))
        .collect::<Vec<_>>()
        .join(" || ");
    // A flat chain, deep enough to need a higher depth limit than the default here.
    let limits = "\n  max_operations: 20\n  max_expression_depth: 64\n";
    let cause = cause_with(limits, &when, "", 0);
    assert!(cause.contains("too many operations"), "{cause}");
}

#[test]
fn too_deep() {
    let when = format!("{}n{} > 0", "(".repeat(12), ")".repeat(12));
    let problems = load_error(&when);
    assert!(
        problems.contains("policy.yaml:19:16: error: expression exceeds maximum complexity"),
        "{problems}"
    );
}

#[test]
fn string_too_large() {
    assert!(cause("text + text + text > \"\"", &"x".repeat(30), 0).contains("string too large"));
}

#[test]
fn array_too_large() {
    let cause = cause("[n, n, n, n, n] + [n, n, n, n, n] == []", "", 0);
    assert!(
        cause.contains("array") && cause.contains("too large"),
        "{cause}"
    );
}

#[test]
fn map_too_large() {
    let problems = load_error("#{a: n, b: n, c: n, d: n, e: n}.len() > 0");
    assert!(
        problems.contains("exceeds the maximum limit (4)"),
        "{problems}"
    );
    let cause = cause("(#{a: n, b: n, c: n} + #{d: n, e: n}).len() > 0", "", 0);
    assert!(
        cause.contains("map") && cause.contains("too large"),
        "{cause}"
    );
}

#[test]
fn a_property_that_does_not_exist_is_an_error_not_unit() {
    let cause = cause("role.nothing == ()", "", 0);
    assert!(cause.contains("nothing"), "{cause}");
}

#[test]
fn a_field_the_schema_does_not_declare_fails_at_load() {
    let problems = load_error("meta.sourc == \"x\"");
    assert!(
        problems.contains("the ticket schema has no field `meta.sourc`"),
        "{problems}"
    );
    assert!(
        problems.contains("did you mean `meta.source`?"),
        "{problems}"
    );
}

#[test]
fn variables_are_strict() {
    let problems = load_error("nobody > 0");
    assert!(
        problems.contains("undefined variable `nobody`"),
        "{problems}"
    );
}

#[test]
fn a_condition_must_give_a_bool() {
    assert!(cause("n + 1", "", 0).contains("must be true or false"));
}

#[test]
fn a_type_mismatch_is_an_evaluation_error() {
    assert!(cause("text - 1 > 0", "a", 0).contains("function not found"));
}

#[test]
fn only_expressions_are_allowed() {
    for forbidden in [
        "eval(\"true\")",
        "print(\"x\") == ()",
        "debug(\"x\") == ()",
        "n = 1",
        "{ let x = 1; x > 0 }",
        "while true { }",
        "loop { break true; }",
        "for x in [1] { }",
        "fn f() { true }",
        "import \"fs\" as fs",
    ] {
        let problems = load_error(forbidden);
        assert!(
            problems.contains("policy.yaml:19:"),
            "`{forbidden}`: {problems}"
        );
    }
}
