//! The rhai sandbox: every limit fires, and what is not allowed fails at load.

use triage_engine::{Bundle, BundleError, Code, RejectionKind};

use crate::common::{probe_bundle, ticket_head};

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
    let head = ticket_head(
        "    text: { type: string, default: '' }
    n: { type: integer, default: 0 }
    meta.source: { type: string }
",
    );
    probe_bundle(limits, &head, when)
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
    // The ninth parenthesis, the first past the limit of 8.
    assert!(
        problems.contains(
            "policy.yaml:19:20: error: the expression nests deeper than `max_expression_depth` (8)"
        ),
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
        problems.contains("`nobody` is not a ticket field, a named set or a named condition"),
        "{problems}"
    );
}

#[test]
fn a_condition_must_give_a_bool() {
    let cause = cause("n + 1", "", 0);
    assert!(cause.contains("must be true or false"), "{cause}");
    assert!(cause.contains("gave a whole number `1`"), "{cause}");
}

#[test]
fn a_type_mismatch_is_an_evaluation_error_in_plain_words() {
    let cause = cause("text - 1 > 0", "a", 0);
    assert!(cause.contains("function not found"), "{cause}");
    // No Rust or rhai type name reaches the analyst.
    for name in ["ImmutableString", "&str", "i64", "String", "()"] {
        assert!(!cause.contains(name), "{name} in {cause}");
    }
    assert!(cause.contains("text, a whole number"), "{cause}");
}

#[test]
fn only_expressions_are_allowed() {
    for (forbidden, column) in [
        ("eval(\"true\")", 12),
        ("print(\"x\") == ()", 12),
        ("debug(\"x\") == ()", 12),
        ("n = 1", 14),
        ("n += 1", 14),
        ("{ let x = 1; x > 0 }", 12),
        ("if n > 0 { let x = 1; x > 0 } else { false }", 23),
        ("while true { }", 12),
        ("loop { break true; }", 12),
        ("for x in [1] { }", 12),
        ("do { } while false", 12),
        ("fn f() { true }", 12),
        ("import \"fs\" as fs", 12),
        ("|x| x > 0", 12),
        ("switch n { 1 => true, _ => false }", 12),
        ("return true", 12),
    ] {
        let error = bundle(forbidden).expect_err(forbidden);
        let at = |p: &triage_engine::Problem| {
            p.location
                .as_ref()
                .map(|l| (l.file.to_string(), l.line, l.column))
        };
        assert!(
            error
                .problems
                .iter()
                .any(|p| p.code == Code::NotAllowed
                    && at(p) == Some(("policy.yaml".into(), 19, column))),
            "`{forbidden}`: {:?}",
            error.problems
        );
    }
}

/// The problems of a bundle that must not load, each as `file:line:col: …`.
fn refusal(limits: &str, when: &str) -> Vec<triage_engine::Problem> {
    bundle_with(limits, when)
        .expect_err(&format!("`{when}` must be refused at load"))
        .problems
}

/// `when` is refused with `code` at column `column` of its line (19) in `policy.yaml`.
fn refused_at(when: &str, code: Code, column: usize, message: &str) {
    let problems = refusal(LIMITS, when);
    assert!(
        problems.iter().any(|p| {
            let loc = p.location.as_ref().unwrap();
            p.code == code
                && (&*loc.file, loc.line, loc.column) == ("policy.yaml", 19, column)
                && p.message.contains(message)
                && p.help.is_some()
        }),
        "`{when}`: {problems:?}"
    );
}

#[test]
fn allowed_functions_and_operators_work() {
    for when in [
        "text.len() == 3 && len(text) == 3 && !text.is_empty()",
        "text.contains(\"b\") && contains(text, \"b\") && \"b\" in text",
        "text.starts_with(\"a\") && text.ends_with(\"c\")",
        "text.to_upper() == \"ABC\" && text.to_upper().to_lower() == text",
        "n * 2 - 1 == 3 && n / 2 == 1 && n % 2 == 0 && -n < 0",
        "(if n > 1 { \"big\" } else { \"small\" }) == \"big\"",
        "(meta.source ?? \"none\") == \"none\" && [1, 2][1] == 2",
        "#{a: n}.a == 2 && 'a' != 'b' && 1.5 < 2.0",
        "!(n in [1, 3]) && n !in [5]",
    ] {
        let limits = "\n  max_operations: 1000\n";
        let bundle = bundle_with(limits, when).unwrap_or_else(|e| panic!("`{when}`: {e:?}"));
        let ticket = serde_json::json!({ "id": "S-1", "role": "agent", "text": "abc", "n": 2 });
        let decision = bundle.decide(&ticket).unwrap();
        assert_eq!(&*decision.rule, "probe", "`{when}`");
    }
}

// Each attack below used to load; a condition that called `sleep(1)` made
// every decision take a second, and one that built a string with `pad` under
// `max_string_size: 0` took five seconds and 200 MB. Now each fails to load,
// at its place.

#[test]
fn sleep_is_refused_at_load() {
    let message = "the function `sleep` is not allowed in an expression";
    refused_at("n > 0 && sleep(1) == ()", Code::NotAllowed, 21, message);
}

#[test]
fn sleep_through_a_function_pointer_is_refused_at_load() {
    let message = "`Fn` is not allowed in an expression";
    refused_at(
        "Fn(\"sl\" + \"eep\").call(1) == ()",
        Code::NotAllowed,
        12,
        message,
    );
    refused_at(
        "n > 0 && Fn(\"sleep\").curry(1).call() == ()",
        Code::NotAllowed,
        21,
        message,
    );
    let message = "`call` is not allowed in an expression";
    refused_at(
        "call(Fn(\"sleep\"), 1) == ()",
        Code::NotAllowed,
        12,
        message,
    );
    let message = "`curry` is not allowed in an expression";
    refused_at("text.curry(1) == ()", Code::NotAllowed, 17, message);
}

#[test]
fn functions_outside_the_allow_list_are_refused_at_load() {
    for (when, column, name) in [
        ("timestamp() == ()", 12, "the function `timestamp`"),
        ("exit(true)", 12, "the function `exit`"),
        ("parse_json(\"1\") == 1", 12, "the function `parse_json`"),
        ("\"\".pad(200000000, \"x\") == ()", 15, "the function `pad`"),
        ("n.abs() == 1", 14, "the function `abs`"),
        (
            "text.sub_string(1) == \"\"",
            17,
            "the function `sub_string`",
        ),
        ("n in 0..5", 18, "the operator `..`"),
        ("(n | 1) == 1", 15, "the operator `|`"),
        ("n ** 2 > 1", 14, "the operator `**`"),
        ("`${n}` == \"1\"", 12, "string interpolation"),
        ("type_of(n) == \"i64\"", 12, "`type_of`"),
        ("is_def_var(\"n\")", 12, "`is_def_var`"),
    ] {
        refused_at(
            when,
            Code::NotAllowed,
            column,
            &format!("{name} is not allowed"),
        );
    }
}

#[test]
fn loops_and_statements_are_refused_at_load() {
    for (when, column, what) in [
        ("while true { }", 12, "a `while` loop"),
        ("loop { }", 12, "a `loop`"),
        ("for x in [1] { }", 12, "a `for` loop"),
        ("do { } while false", 12, "a `do` loop"),
        ("let x = 1", 12, "`let`"),
        ("n = 1", 14, "an assignment (`=`)"),
        ("n -= 1", 14, "an assignment (`-=`)"),
        ("|x| x > 0", 12, "a closure"),
    ] {
        refused_at(
            when,
            Code::NotAllowed,
            column,
            &format!("{what} is not allowed"),
        );
    }
}

/// A bundle with one limit set to `value`, and what loading it says.
fn with_limit(key: &str, value: &str) -> Result<Bundle, BundleError> {
    bundle_with(&format!("\n  {key}: {value}\n"), "n > 1")
}

/// Each limit's key, default, floor and ceiling, as docs/reliability.md gives them.
const BOUNDS: [(&str, u64, u64, u64); 5] = [
    ("max_operations", 10_000, 1, 1_000_000),
    ("max_expression_depth", 32, 4, 128),
    ("max_string_size", 4_096, 1, 1_048_576),
    ("max_array_size", 1_024, 1, 65_536),
    ("max_map_size", 256, 1, 65_536),
];

#[test]
fn every_limit_has_a_floor_and_a_ceiling() {
    for (key, _, min, max) in BOUNDS {
        assert!(with_limit(key, &min.to_string()).is_ok(), "{key}: {min}");
        assert!(with_limit(key, &max.to_string()).is_ok(), "{key}: {max}");
        for bad in [0, min - 1, max + 1, u64::MAX] {
            let error = with_limit(key, &bad.to_string()).expect_err(key);
            let [problem] = &error.problems[..] else {
                panic!("{key}: {bad}: {:?}", error.problems)
            };
            assert_eq!(problem.code, Code::BadLimit);
            let loc = problem.location.as_ref().unwrap();
            assert_eq!(
                (&*loc.file, loc.line, loc.column),
                ("bundle.yaml", 5, key.len() + 5)
            );
            assert_eq!(
                problem.message,
                format!("limit `{key}` is `{bad}`, outside its range of {min} to {max}")
            );
            assert!(problem.help.as_ref().unwrap().contains("set it between"));
        }
    }
}

#[test]
fn the_limits_are_documented() {
    let page = std::fs::read_to_string(crate::common::root().join("docs/reliability.md")).unwrap();
    for (key, default, min, max) in BOUNDS {
        let row = format!("| `{key}` | {default} | {min} to {max} |");
        assert!(
            page.contains(&row),
            "docs/reliability.md lacks the row\n{row}"
        );
    }
}

#[test]
fn a_string_is_bounded_by_the_ceiling_of_its_limit() {
    let limits = "\n  max_string_size: 1048576\n  max_operations: 1000000\n";
    let text = "x".repeat(600_000);
    let cause = cause_with(limits, "text + text > \"\"", &text, 0);
    assert!(cause.contains("string too large"), "{cause}");
}

/// Runs `work` on a thread with `kib` KiB of stack, and gives its result; a
/// stack overflow there would abort the test binary.
fn on_small_stack<T: Send + 'static>(kib: usize, work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(kib * 1024)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn deep_nesting_is_refused_before_anything_recursive_runs() {
    // Before: with the depth limit raised, 100,000 parentheses overflowed the
    // parser's stack (SIGABRT) in `check`, and in the service on reload.
    let limits = "\n  max_expression_depth: 128\n";
    for (open, close) in [("(", ")"), ("[", "]"), ("!(", ")"), ("-", ""), ("!", "")] {
        let when = format!("{}n{} > 0", open.repeat(100_000), close.repeat(100_000));
        let problems = on_small_stack(256, move || refusal(limits, &when));
        let [problem] = &problems[..] else {
            panic!("{open}: {problems:?}")
        };
        assert_eq!(problem.code, Code::TooDeep, "{open}");
        let loc = problem.location.as_ref().unwrap();
        // The first character past depth 128.
        assert_eq!((loc.line, loc.column), (19, 12 + 128), "{open}");
    }
}

/// An expression of `shape` nested `k` times.
fn nested(shape: &str, k: usize) -> String {
    match shape {
        "parentheses" => format!("{}n{} > 0", "(".repeat(k), ")".repeat(k)),
        "not" => format!("{}(n > 0)", "!".repeat(k)),
        "arrays" => format!("{}1{} != []", "[".repeat(k), "]".repeat(k)),
        "if" => format!(
            "{} true {}",
            "if n > 0 {".repeat(k),
            "} else { false }".repeat(k)
        ),
        "sum" => format!("n{} > 0", " + 1".repeat(k)),
        "or" => format!("n > 0{}", " || n > 0".repeat(k)),
        "calls" => format!("{}text{} > 0", "len(".repeat(k), ")".repeat(k)),
        _ => unreachable!(),
    }
}

#[test]
fn the_deepest_expressions_the_ceiling_allows_fit_in_a_small_stack() {
    let limits = "\n  max_expression_depth: 128\n  max_operations: 1000000\n";
    for shape in ["parentheses", "not", "arrays", "if", "sum", "or", "calls"] {
        // The deepest of its shape that loads.
        let k = (1..200)
            .take_while(|&k| bundle_with(limits, &nested(shape, k)).is_ok())
            .last()
            .unwrap();
        assert!(bundle_with(limits, &nested(shape, k + 1)).is_err());
        let when = nested(shape, k);
        // Loaded, type-checked, lowered and decided (natively and by rhai) in
        // a quarter of the stack a service's blocking thread has.
        on_small_stack(512, move || {
            let bundle = bundle_with(limits, &when).unwrap();
            let ticket = serde_json::json!({ "id": "S-1", "role": "agent", "n": 1 });
            let _ = bundle.decide(&ticket);
            let _ = bundle.interpreted().decide(&ticket);
        });
    }
}
