//! `triage fmt`: the canonical layout written, `--check` for CI, files it
//! cannot format named and left alone.

use crate::common::{cli, policies_dir};

#[test]
fn check_passes_on_the_shipped_pack() {
    let (code, out, err) = cli(&["fmt", "--check", policies_dir().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("11 files, 0 would change, 0 not formatted\n"),
        "{out}"
    );
}

#[test]
fn check_lists_what_would_change_and_fmt_writes_it_keeping_comments() {
    let dir = crate::check::pack_with(
        "roles.yaml",
        "    title: Resolve the commercial issue\n",
        "    title:   \"Resolve the commercial issue\"   # the second action\n",
    );
    let path = dir.path().to_str().unwrap();
    let before = std::fs::read_to_string(dir.path().join("roles.yaml")).unwrap();
    let (code, out, _) = cli(&["fmt", "--check", path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("would reformat roles.yaml\n"), "{out}");
    assert!(!out.contains("would reformat ticket.yaml"), "{out}");
    // --check writes nothing.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("roles.yaml")).unwrap(),
        before
    );

    let (code, out, _) = cli(&["fmt", path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("formatted roles.yaml\n"), "{out}");
    let after = std::fs::read_to_string(dir.path().join("roles.yaml")).unwrap();
    assert!(
        after.contains("    title: Resolve the commercial issue # the second action\n"),
        "{after}"
    );
    let (code, out, _) = cli(&["fmt", "--check", path]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_file_it_cannot_format_is_named_and_left_unchanged() {
    let dir = crate::check::pack_with(
        "boundaries.yaml",
        "when: \"!diagnosed\"",
        "when: !diagnosed",
    );
    let path = dir.path().to_str().unwrap();
    let before = std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap();
    let (code, out, err) = cli(&["fmt", path]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("error: boundaries.yaml: 40:11: a YAML tag (`!`): the formatter does not rewrite it; if this is an expression or a text, put it in quotes; the file is left unchanged"),
        "{err}"
    );
    assert!(out.ends_with("1 not formatted\n"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap(),
        before
    );
}
