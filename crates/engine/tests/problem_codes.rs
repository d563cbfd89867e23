//! Problem codes are a stable contract: the list is pinned here, and the
//! documentation lists exactly these, with their meanings.

use triage_engine::Code;

use crate::common::root;

/// The codes as they are written, in order. Changing one breaks every tool
/// that matches on it: add codes at need, never rename or reuse one.
const PINNED: &[&str] = &[
    "io",
    "bad-file-name",
    "duplicate-file",
    "manifest",
    "yaml",
    "duplicate-id",
    "bad-id",
    "duplicate-schema",
    "no-schema",
    "bad-field",
    "bad-default",
    "bad-mask",
    "bad-schema",
    "unknown-field",
    "unknown-reference",
    "unknown-value",
    "type-mismatch",
    "name-clash",
    "cycle",
    "expression",
    "expression-style",
    "bad-action",
    "missing-path",
    "needless-path",
    "no-catch-all",
    "no-rules",
    "no-fallback",
    "unreachable",
    "unused",
    "load-failed",
    "not-allowed",
    "bad-limit",
    "too-deep",
    "bad-text",
    "outside-bundle",
    "not-a-file",
    "too-large",
    "yaml-marker",
    "empty-text",
    "cut-text",
    "unlisted-file",
];

#[test]
fn the_codes_are_the_pinned_ones() {
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, PINNED);
    for code in Code::ALL {
        let text = code.as_str();
        assert!(
            text.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "`{text}` is not kebab-case"
        );
        assert_eq!(serde_json::to_value(code).unwrap(), text);
        assert!(!code.meaning().is_empty(), "`{text}` has no meaning");
    }
}

#[test]
fn the_documentation_lists_every_code_with_its_meaning() {
    let table: String = Code::ALL
        .iter()
        .map(|c| format!("| `{}` | {} |\n", c.as_str(), c.meaning()))
        .collect();
    let page = std::fs::read_to_string(root().join("docs/problem-codes.md")).unwrap();
    assert!(
        page.contains(&table),
        "docs/problem-codes.md must hold this table:\n\n{table}"
    );
}
