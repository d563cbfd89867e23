//! Fuzzing the policy loader and the rhai sandbox: random and structured
//! garbage as policy files and as conditions. Whatever comes in, loading
//! answers without a panic and without hanging, with a bundle or with
//! problems of which at least one is located; a bundle that loads decides
//! every ticket the same way.
//!
//! Each property runs 64 cases (a few seconds); `PROPTEST_CASES=5000 cargo
//! test -p triage-engine --test tests fuzz` runs more. Every case runs on a
//! thread of its own and must answer within `DEADLINE`: generous, so it
//! catches a hang, never a slow machine.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use triage_engine::{Bundle, BundleError, PolicyFile, Severity};

use crate::common::{pack_files, probe_bundle};

const DEADLINE: Duration = Duration::from_secs(20);

/// 64 cases, or `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `work` on a thread of its own; its answer, or a failure if it
/// panics or does not answer within `DEADLINE`.
fn guarded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (send, receive) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .spawn(move || send.send(work()))
        .map_err(|e| e.to_string())?;
    match receive.recv_timeout(DEADLINE) {
        Ok(answer) => Ok(answer),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("no answer within {DEADLINE:?}"))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => Err(format!("panicked: {:?}", panic.downcast_ref::<String>())),
            Ok(_) => Err("the thread ended without an answer".to_owned()),
        },
    }
}

/// A clear answer: a bundle, or an error with at least one located error.
fn clear(result: &Result<Bundle, BundleError>) -> Result<(), String> {
    let Err(error) = result else { return Ok(()) };
    let located = error
        .problems
        .iter()
        .any(|p| p.severity == Severity::Error && p.location.as_ref().is_some_and(|l| l.line > 0));
    match located {
        true => Ok(()),
        false => Err(format!("no located error: {:?}", error.problems)),
    }
}

/// Loads `files`, decides a few tickets with what loads, and checks the
/// answers are clear; on a thread, within the deadline.
fn judge(files: Vec<PolicyFile>) -> Result<(), String> {
    guarded(move || {
        let result = Bundle::from_files(&files);
        clear(&result)?;
        if let Ok(bundle) = result {
            for ticket in tickets() {
                let _ = bundle.decide(&ticket);
                let _ = bundle.interpreted().decide(&ticket);
            }
        }
        Ok(())
    })?
}

/// Tickets for the probe bundle: ordinary, empty, huge, and of the wrong shape.
fn tickets() -> Vec<serde_json::Value> {
    vec![
        json!({ "id": "F-1", "role": "agent", "text": "abc", "n": 2 }),
        json!({ "id": "F-2", "role": "agent" }),
        json!({ "id": "F-3", "role": "agent", "text": "x".repeat(100_000), "n": i64::MAX }),
        json!({ "id": "F-4", "role": "agent", "text": "\u{202E}", "meta": { "source": "" } }),
        json!([1, 2, 3]),
    ]
}

/// A one-file bundle around `policy`.
fn bundle_files(manifest: &str, policy: String) -> Vec<PolicyFile> {
    vec![
        PolicyFile {
            name: "bundle.yaml".into(),
            text: manifest.into(),
        },
        PolicyFile {
            name: "policy.yaml".into(),
            text: policy,
        },
    ]
}

const MANIFEST: &str = "name: fuzz\nversion: '1'\nfiles: [policy.yaml]\n";

/// Pieces of policy files, well-formed and not.
fn yaml_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "ticket:",
            "  id_field: id",
            "  role_field: role",
            "  fields:",
            "    id: { type: string, required: true }",
            "    role: { type: role, required: true }",
            "    n: { type: integer, default: 0 }",
            "    e: { type: enum, values: [a, b] }",
            "roles:",
            "  agent: { title: Agent }",
            "actions:",
            "  act: { title: Act, roles: [agent] }",
            "outcomes:",
            "  done: { title: Done, description: Done. }",
            "rules:",
            "  - id: r",
            "    when: n > 1",
            "    when: |",
            "      n >",
            "    when: >",
            "    outcome: done",
            "    action: act",
            "    rationale: R.",
            "conditions:",
            "  c: c",
            "  d: e == \"c\"",
            "sets:",
            "  s: [a, b, a]",
            "paths:",
            "  p: { title: P, steps: [] }",
            "vehicles:",
            "- ",
            "  - ",
            ": ",
            "{",
            "}",
            "[",
            "]",
            ",",
            "&a",
            "*a",
            "<<: *a",
            "!!str",
            "!!map",
            "? ",
            "---",
            "...",
            "%YAML 1.2",
            "# comment",
            "\"",
            "'",
            "\\",
            "|",
            ">",
            "~",
            "null",
            "\t",
            "\r",
            "\u{0}",
            "\u{202E}",
            "\u{FEFF}",
            "é",
            "😀",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

/// A policy file of pieces, each on a line of its own or run together.
fn yaml_text() -> impl Strategy<Value = String> {
    prop::collection::vec((yaml_piece(), any::<bool>()), 0..40).prop_map(|pieces| {
        pieces
            .into_iter()
            .map(|(piece, newline)| if newline { piece + "\n" } else { piece })
            .collect()
    })
}

/// Atoms of a condition: fields, literals, and what an attacker would try.
fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "n",
            "text",
            "meta.source",
            "meta",
            "role",
            "id",
            "true",
            "false",
            "()",
            "0",
            "-1",
            "9223372036854775807",
            "1.5e308",
            "\"a\"",
            "\"\"",
            "'c'",
            "[]",
            "[n, n]",
            "#{a: n}",
            "sleep(1)",
            "Fn(\"sleep\")",
            "call(Fn(\"sleep\"), 1)",
            "Fn(\"sl\" + \"eep\").call(1)",
            "text.curry(1)",
            "eval(\"1\")",
            "print(1)",
            "debug(1)",
            "timestamp()",
            "exit(1)",
            "\"\".pad(100000000, \"x\")",
            "text.len()",
            "text.to_upper()",
            "len(text)",
            "text.contains(\"a\")",
            "text.starts_with(\"\")",
            "n in [1, 2]",
            "\"a\" in text",
            "0..1000000000",
            "`${n}`",
            "|x| x",
            "while true {}",
            "loop {}",
            "let x = 1",
            "n = 1",
            "if n > 0 { n } else { 0 }",
            "switch n { _ => 1 }",
            "/*",
            "*/",
            "//",
            "\"\\u202E\"",
            "\u{202E}",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "nobody",
            "meta.sourc",
            "1 / 0",
            "n ** 99",
            "n % 0",
            "this",
            "global",
            "import \"x\" as y",
        ])
        .prop_map(str::to_owned),
        (
            1usize..400,
            prop::sample::select(vec!["(", "[", "!", "-", "!("])
        )
            .prop_map(|(k, open)| open.repeat(k)),
    ]
}

/// A condition built from atoms with operators.
fn condition() -> impl Strategy<Value = String> {
    let operator = prop::sample::select(vec![
        " == ", " != ", " < ", " >= ", " && ", " || ", " + ", " - ", " * ", " / ", " % ", " in ",
        " ?? ", ".", "", " ",
    ]);
    prop::collection::vec((atom(), operator), 1..8).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(atom, op)| atom + op)
            .collect::<String>()
    })
}

fn limits() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "max_operations",
                "max_expression_depth",
                "max_string_size",
                "max_array_size",
                "max_map_size",
            ]),
            prop_oneof![Just(0u64), 1u64..200, any::<u64>()],
        ),
        0..3,
    )
    .prop_map(|limits| {
        let mut seen = std::collections::HashSet::new();
        limits
            .into_iter()
            .filter(|(key, _)| seen.insert(*key))
            .map(|(key, value)| format!("\n  {key}: {value}"))
            .collect()
    })
}

const HEAD: &str = "ticket:
  id_field: id
  role_field: role
  fields:
    id: { type: string, required: true }
    role: { type: role, required: true }
    text: { type: string, default: '' }
    n: { type: integer, default: 0 }
    meta.source: { type: string }
";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_text_as_a_policy_file_gets_a_clear_answer(text in yaml_text()) {
        judge(bundle_files(MANIFEST, text)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_text_in_a_reference_file_gets_a_clear_answer(
        file in 0usize..7,
        at in 0usize..4000,
        text in yaml_text(),
    ) {
        let mut files = pack_files();
        let target = &mut files[file % 7];
        let mut cut = at.min(target.text.len());
        while !target.text.is_char_boundary(cut) {
            cut -= 1;
        }
        target.text.insert_str(cut, &text);
        judge(files).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn hostile_conditions_get_a_clear_answer(when in condition(), limits in limits()) {
        let result = guarded(move || {
            let result = probe_bundle(&limits, HEAD, &when);
            clear(&result)?;
            if let Ok(bundle) = result {
                for ticket in tickets() {
                    let native = bundle.decide(&ticket);
                    let interpreted = bundle.interpreted().decide(&ticket);
                    if native != interpreted {
                        let natively = format!("`{when}` decides {native:?} natively");
                        return Err(format!("{natively}, {interpreted:?} in rhai"));
                    }
                }
            }
            Ok(())
        });
        result.and_then(|r| r).map_err(TestCaseError::fail)?;
    }
}

/// Hostile policy files, each kept as a named case: the loader answers each
/// clearly and in time.
#[test]
fn hostile_files_get_a_clear_answer() {
    let laughs = {
        let mut text = String::from("sets:\n  l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
        for i in 1..10 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            text.push_str(&format!("  l{i}: &l{i} [{refs}]\n"));
        }
        text
    };
    let cases: Vec<(&str, String)> = vec![
        ("billion laughs: aliases that expand to 10^10 items", laughs),
        (
            "100,000 nested flow sequences",
            format!("sets:\n  s: {}", "[".repeat(100_000)),
        ),
        (
            "3,000 nested block mappings",
            (0..3_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect(),
        ),
        (
            "a key of a million characters",
            format!("{}: 1\n", "k".repeat(1_000_000)),
        ),
        (
            "a value of ten million characters",
            format!("roles:\n  r: {{ title: {} }}\n", "t".repeat(10_000_000)),
        ),
        ("NUL bytes", "\0".repeat(1_000)),
        ("only a byte-order mark", "\u{FEFF}".to_owned()),
        ("an empty file", String::new()),
        (
            "200,000 set members",
            format!("sets:\n  s: [{}]\n", vec!["m"; 200_000].join(", ")),
        ),
        (
            "300,000 nodes, past the parser's budget",
            format!("sets:\n  s: [{}]\n", vec!["m"; 300_000].join(", ")),
        ),
        ("a thousand documents", "---\nroles: {}\n".repeat(1_000)),
        (
            "tabs as indentation",
            "roles:\n\tr: { title: R }\n".to_owned(),
        ),
        (
            "a custom tag",
            "roles: !!python/object:os.system { }\n".to_owned(),
        ),
    ];
    for (name, text) in cases {
        judge(bundle_files(MANIFEST, text)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The same for manifests.
#[test]
fn hostile_manifests_get_a_clear_answer() {
    for (name, manifest) in [
        (
            "a file outside the bundle",
            "name: m\nversion: '1'\nfiles: [../../etc/passwd]\n",
        ),
        (
            "an absolute path",
            "name: m\nversion: '1'\nfiles: [/etc/passwd]\n",
        ),
        (
            "a file listed twice",
            "name: m\nversion: '1'\nfiles: [policy.yaml, policy.yaml]\n",
        ),
        (
            "a negative limit",
            "name: m\nversion: '1'\nfiles: [policy.yaml]\nlimits: { max_operations: -1 }\n",
        ),
        (
            "a limit that is not a number",
            "name: m\nversion: '1'\nfiles: [policy.yaml]\nlimits: { max_map_size: many }\n",
        ),
        (
            "a limit past u64",
            "name: m\nversion: '1'\nfiles: [policy.yaml]\nlimits: { max_array_size: 1e99 }\n",
        ),
        (
            "a zero-width space in the name",
            "name: m\u{200B}\nversion: '1'\nfiles: [policy.yaml]\n",
        ),
    ] {
        let files = bundle_files(manifest, "roles: {}\n".to_owned());
        judge(files).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The YAML parser's own limits are named in plain words.
#[test]
fn the_yaml_parsers_limits_are_named_plainly() {
    for (text, message) in [
        (
            format!("sets:\n  s: [{}]\n", vec!["m"; 300_000].join(", ")),
            "the file holds more than 250000 YAML nodes",
        ),
        (
            format!("sets:\n  s: {}", "[".repeat(100_000)),
            "the YAML nests too deeply",
        ),
        (
            "---\nroles: {}\n".repeat(3),
            "a policy file is one YAML document, and this one holds several",
        ),
    ] {
        let error = Bundle::from_files(&bundle_files(MANIFEST, text)).unwrap_err();
        assert_eq!(error.problems[0].message, message);
        assert!(error.problems[0].location.is_some());
    }
}
