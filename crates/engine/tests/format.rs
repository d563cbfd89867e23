//! The policy formatter: one canonical layout, comments kept, meaning
//! unchanged, on the reference pack and on the broken-bundle corpus.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use triage_engine::format::{FileKind, bundle_files, format, kind_of};
use triage_engine::generate::TicketGenerator;
use triage_engine::{Bundle, PolicyFile, suite};

use crate::common::{pack_files, policies_dir};

/// Every file of `files` formatted as the policy file it is.
fn formatted(files: &[PolicyFile]) -> Vec<PolicyFile> {
    files
        .iter()
        .map(|file| PolicyFile {
            name: file.name.clone(),
            text: format(kind_of(&file.name), &file.text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.name)),
        })
        .collect()
}

/// The decision (or rejection) as JSON, without the bundle's digest.
fn decided(bundle: &Bundle, ticket: &Value) -> String {
    let mut json = match bundle.decide(ticket) {
        Ok(decision) => serde_json::to_value(decision).unwrap(),
        Err(rejection) => serde_json::to_value(rejection).unwrap(),
    };
    json["policy"]["digest"] = Value::Null;
    serde_json::to_string(&json).unwrap()
}

#[test]
fn formatting_the_reference_pack_changes_no_decision() {
    let original = Bundle::from_files(&pack_files()).unwrap();
    let tidy = Bundle::from_files(&formatted(&pack_files())).unwrap();
    let dir = policies_dir();
    let mut tickets: Vec<Value> = suite::load_suites(&dir)
        .unwrap()
        .into_iter()
        .map(|case| case.ticket)
        .collect();
    let mut generator = TicketGenerator::new(&original, 12);
    for _ in 0..2000 {
        tickets.push(generator.next_ticket().unwrap());
    }
    assert!(tickets.len() > 2000);
    for ticket in &tickets {
        assert_eq!(
            decided(&original, ticket),
            decided(&tidy, ticket),
            "{ticket}"
        );
    }
}

#[test]
fn the_shipped_pack_is_in_the_canonical_layout_and_formatting_is_idempotent() {
    let dir = policies_dir();
    let names = bundle_files(&dir).unwrap();
    assert!(names.iter().any(|n| n == "bundle.yaml"));
    assert!(names.iter().any(|n| n.starts_with("tests/")));
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let once = format(kind_of(&name), &text).unwrap();
        assert_eq!(
            once, text,
            "{name} is not formatted: run `triage fmt policies`"
        );
        assert_eq!(format(kind_of(&name), &once).unwrap(), once, "{name}");
    }
}

#[test]
fn layout_quoting_and_key_order_are_canonical_and_comments_stay() {
    let text = "\
# header comment

rules:
    -   rationale: \"Why: because.\"   # the reason
        when:   \"category == 'x'\"
        id: 'first'
        # the outcome
        outcome: done
        action: {cases: {a: b}, by: category}

    - id: second
      outcome: \"true\"
      when: \"!diagnosed\"
      action: act
      rationale: >-
        one two
        three
conditions:
  long: aaaaaaaaaa == \"aaaaaaaaaaaaaaaaaaaa\" && bbbbbbbbbbbbbbbbbbb == \"bbbbbbbbbbbbbbbbbbbb\" && cccccccccc
# the end
";
    let expected = "\
# header comment

conditions:
  long: |-
    aaaaaaaaaa == \"aaaaaaaaaaaaaaaaaaaa\" && bbbbbbbbbbbbbbbbbbb == \"bbbbbbbbbbbbbbbbbbbb\" && cccccccccc
rules:
  - id: first
    when: category == 'x'
    # the outcome
    outcome: done
    action: { by: category, cases: { a: b } }
    rationale: \"Why: because.\" # the reason

  - id: second
    when: \"!diagnosed\"
    outcome: \"true\"
    action: act
    rationale: >-
      one two three
# the end
";
    let once = format(FileKind::Policy, text).unwrap();
    assert_eq!(once, expected);
    assert_eq!(format(FileKind::Policy, &once).unwrap(), once);
}

#[test]
fn what_the_formatter_does_not_understand_is_refused_not_mangled() {
    let cases = [
        ("when: !diagnosed && commercial\n", "a YAML tag (`!`)"),
        ("when: !diagnosed\n", "put it in quotes"),
        ("a: &x 1\nb: *x\n", "a YAML anchor"),
        ("a: b: c\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "a second YAML document"),
        ("- - a\n", "a list written directly inside a list"),
    ];
    for (text, message) in cases {
        let error = format(FileKind::Policy, text).expect_err(text);
        assert!(
            error.to_string().contains(message) && error.to_string().ends_with("left unchanged"),
            "{text:?}: {error}"
        );
    }
    // A comment at the end of a line inside a `[…]` list moves after it.
    assert_eq!(
        format(FileKind::Policy, "a: [1, # c\n  2]\n").unwrap(),
        "a: [1, 2] # c\n"
    );
    let error = format(FileKind::Policy, "x:\n\n  when: !diagnosed\n").unwrap_err();
    assert_eq!((error.line, error.column), (3, 9));
}

#[test]
fn formatting_keeps_every_broken_bundle_broken_with_the_same_problems() {
    #[derive(serde::Deserialize)]
    struct Case {
        file: String,
        replace: String,
        with: String,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut refused: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut files = pack_files();
        let target = files.iter_mut().find(|f| f.name == case.file).unwrap();
        target.text = target.text.replacen(&case.replace, &case.with, 1);
        let codes = |files: &[PolicyFile]| -> BTreeSet<String> {
            let Err(error) = Bundle::from_files(files) else {
                panic!("{} loads once formatted", path.display());
            };
            error
                .problems
                .iter()
                .map(|p| format!("{:?}", p.code))
                .collect()
        };
        let before = codes(&files);
        let mut tidy = Vec::new();
        for file in &files {
            match format(kind_of(&file.name), &file.text) {
                Ok(text) => tidy.push(PolicyFile {
                    name: file.name.clone(),
                    text,
                }),
                Err(error) => {
                    assert!(!error.message.is_empty());
                    tidy.clear();
                    break;
                }
            }
        }
        if tidy.is_empty() {
            refused.push(path.file_stem().unwrap().to_string_lossy().into_owned());
            continue;
        }
        assert_eq!(codes(&tidy), before, "{}", path.display());
    }
    // Only files that are not YAML the formatter understands are refused:
    // broken YAML, and the tags, anchors and aliases the loader refuses too.
    refused.sort();
    let expected = [
        "colon-in-a-sentence",
        "tab-indentation",
        "text-after-a-quote",
        "yaml-alias",
        "yaml-anchor",
        "yaml-syntax",
        "yaml-tag",
    ];
    assert_eq!(refused, expected);
}
