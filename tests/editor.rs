//! Editor support: the committed JSON Schemas are current, and the shipped
//! files and tickets validate against them.

use std::path::Path;

use serde_json::Value;

use crate::check::triage;
use crate::common::policies_dir;

fn schema(which: &str) -> Value {
    let (code, out) = triage(&[
        "schema",
        which,
        "--policies",
        policies_dir().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap()
}

fn yaml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schemas_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The repository's copies, and the shipped pack's own (so it can be
    // copied alone), each with the command that writes it.
    let repository = ["policy", "suite"].map(|which| {
        let path = root.join(format!("schemas/{which}.schema.json"));
        let hint = format!("triage schema {which} > schemas/{which}.schema.json");
        (which, path, hint)
    });
    let pack = ["policy", "suite", "ticket"].map(|which| {
        let path = policies_dir().join(format!(".schemas/{which}.schema.json"));
        (which, path, "triage schema --write policies".to_owned())
    });
    for (which, path, hint) in repository.into_iter().chain(pack) {
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(committed, schema(which), "regenerate with `{hint}`");
    }
}

#[test]
fn every_policy_file_and_suite_validates_and_names_its_schema() {
    for (dir, which) in [
        (policies_dir(), "policy"),
        (policies_dir().join("tests"), "suite"),
    ] {
        let schema = schema(which);
        for path in yaml_files(&dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            let header = match which {
                "policy" => "# yaml-language-server: $schema=./.schemas/policy.schema.json\n",
                _ => "# yaml-language-server: $schema=../.schemas/suite.schema.json\n",
            };
            assert!(
                text.starts_with(header),
                "{} does not name the bundle's own schema",
                path.display()
            );
            let value: Value = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(
                errors(&schema, &value),
                Vec::<String>::new(),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn the_policy_schema_accepts_the_documented_catch_all() {
    let schema = schema("policy");
    let catch_all: Value = serde_json::json!({
        "conditions": { "always": true },
        "rules": [{ "id": "r", "when": true, "outcome": "o", "action": "a", "rationale": "x" }]
    });
    assert_eq!(errors(&schema, &catch_all), Vec::<String>::new());
    // A number is still no expression, and the message names the field
    // (no top-level "not valid under any of the given schemas").
    let number: Value = serde_json::json!({
        "rules": [{ "id": "r", "when": 1, "outcome": "o", "action": "a", "rationale": "x" }]
    });
    let found = errors(&schema, &number);
    assert!(
        found.iter().any(|e| e.ends_with("at /rules/0/when")),
        "{found:?}"
    );
    assert!(!found.iter().any(|e| e.contains("anyOf")), "{found:?}");
    // A manifest's mistake is reported at its field too.
    let manifest: Value = serde_json::json!({ "name": "n", "version": "1", "files": "a.yaml" });
    let found = errors(&schema, &manifest);
    assert!(found.iter().any(|e| e.ends_with("at /files")), "{found:?}");
}

#[test]
fn the_policy_schema_rejects_what_the_loader_rejects() {
    let schema = schema("policy");
    let bad: Value = serde_json::json!({ "rules": [{ "id": "r", "outcome": "o", "action": "a", "rationale": "x", "severity": "high" }] });
    assert!(!errors(&schema, &bad).is_empty());
    // Keys the loader requires: an action's roles, an outcome's and a
    // vehicle's description.
    for bad in [
        serde_json::json!({ "actions": { "a": { "title": "A" } } }),
        serde_json::json!({ "outcomes": { "o": { "title": "O" } } }),
        serde_json::json!({ "vehicles": { "v": { "title": "V" } } }),
    ] {
        assert!(!errors(&schema, &bad).is_empty(), "{bad}");
    }
}

#[test]
fn example_tickets_validate_against_the_ticket_schema() {
    let schema = schema("ticket");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tickets");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let ticket: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            errors(&schema, &ticket),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 12);
    let bad = crate::common::with(
        crate::common::ticket(),
        &[
            ("service", serde_json::json!("azur")),
            ("priority", serde_json::json!(1)),
        ],
    );
    assert_eq!(errors(&schema, &bad).len(), 2);
}

/// The schema a file's header names, resolved from the file's own directory.
fn header_target(file: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let first = text.lines().next().unwrap();
    let relative = first
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("{} has no schema header: {first}", file.display()));
    assert!(!relative.starts_with('/'), "{relative}");
    file.parent().unwrap().join(relative)
}

#[test]
fn schemas_written_into_the_bundle_travel_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    crate::common::pack_copy(&bundle, None);
    let suites = policies_dir().join("tests");
    std::fs::create_dir_all(bundle.join("tests")).unwrap();
    for path in yaml_files(&suites) {
        std::fs::copy(&path, bundle.join("tests").join(path.file_name().unwrap())).unwrap();
    }
    // One file without a header gets one.
    let roles = bundle.join("roles.yaml");
    let text = std::fs::read_to_string(&roles).unwrap();
    std::fs::write(&roles, text.split_once('\n').unwrap().1).unwrap();
    let digest = triage_engine::Bundle::load(&bundle)
        .unwrap()
        .policy()
        .digest
        .clone();

    let (code, out) = triage(&["schema", "--write", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    for which in ["policy", "suite", "ticket"] {
        let written: Value = serde_json::from_str(
            &std::fs::read_to_string(bundle.join(format!(".schemas/{which}.schema.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(written, schema(which), "{which}");
    }
    // Moved elsewhere, every file's header still finds its schema, and the
    // file validates against it.
    let moved = tmp.path().join("elsewhere/moved");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&bundle, &moved).unwrap();
    for (dir, which) in [(moved.clone(), "policy"), (moved.join("tests"), "suite")] {
        let files = yaml_files(&dir);
        assert!(!files.is_empty());
        for file in files {
            let target = header_target(&file);
            assert_eq!(
                target.canonicalize().unwrap(),
                moved
                    .join(format!(".schemas/{which}.schema.json"))
                    .canonicalize()
                    .unwrap(),
                "{}",
                file.display()
            );
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
            let value: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(
                errors(&schema, &value),
                Vec::<String>::new(),
                "{}",
                file.display()
            );
        }
    }
    // Only comments changed: the bundle decides as before, its suites pass,
    // and the formatter leaves it as it is.
    let after = triage_engine::Bundle::load(&moved).unwrap();
    assert_ne!(
        after.policy().digest,
        digest,
        "the headers are part of the files"
    );
    let dir = moved.to_str().unwrap();
    assert_eq!(triage(&["check", dir, "--deny-warnings"]).0, 0);
    assert_eq!(triage(&["test", dir]).0, 0);
    assert_eq!(triage(&["fmt", "--check", dir]).0, 0);
    // Writing again changes nothing.
    let before = std::fs::read_to_string(moved.join("paths.yaml")).unwrap();
    assert_eq!(triage(&["schema", "--write", dir]).0, 0);
    assert_eq!(
        std::fs::read_to_string(moved.join("paths.yaml")).unwrap(),
        before
    );
}
