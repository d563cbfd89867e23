//! The corpus of broken bundles in `tests/broken/`: each case edits one file
//! of the reference pack and must fail to load with a located diagnostic.

use std::path::Path;

use serde::Deserialize;

use triage_engine::Diagnostics;

use crate::common::edited;

#[derive(Deserialize)]
struct Case {
    note: String,
    file: String,
    replace: String,
    with: String,
}

#[test]
fn every_broken_bundle_is_rejected_with_file_line_and_column() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    // A case and its reviewed snapshot come and go together.
    let mut stems: Vec<String> = names
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    let mut snapshots: Vec<String> = std::fs::read_dir(dir.join("../snapshots"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = name.strip_prefix("tests__bad_bundles__broken@")?;
            Some(stem.strip_suffix(".snap")?.to_owned())
        })
        .collect();
    snapshots.sort();
    assert_eq!(stems, snapshots);
    assert!(stems.len() >= 30);
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let error = edited(&case.file, &case.replace, &case.with)
            .map(|_| ())
            .expect_err(&format!("{name}: {} must be rejected", case.note));
        let located = error.problems.iter().any(|p| {
            p.severity == triage_engine::Severity::Error
                && p.location
                    .as_ref()
                    .is_some_and(|l| l.line > 0 && l.column > 0)
        });
        assert!(located, "{name}: no located error in {:?}", error.problems);
        insta::with_settings!({ snapshot_suffix => name.as_str(), description => case.note.as_str() }, {
            insta::assert_snapshot!("broken", error.render_plain());
        });
    }
}
