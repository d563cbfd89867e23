//! The loader trusts nothing on disk: only regular files inside the bundle
//! directory are read, each under a size cap and all of them under another;
//! anything else is refused by its own problem code, without being read, so
//! none of it reaches a diagnostic. Each hostile bundle is a named case.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use triage_engine::{
    Bundle, BundleError, Code, Diagnostics, MAX_BUNDLE_BYTES, MAX_FILE_BYTES, PolicyFile, Severity,
};

use crate::common::{pack_copy, pack_files, reference};

/// What a hostile file holds: never to be seen in a diagnostic.
const SECRET: &str = "# SECRET-CONTENT-OF-A-FILE-OUTSIDE\nroles: {}\n";

/// A copy of the reference pack in `dir` whose manifest also lists `extra`.
fn pack_listing(dir: &Path, extra: &str) {
    pack_copy(dir, None);
    let manifest = dir.join("bundle.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("  - paths.yaml\n"));
    let text = text.replace(
        "  - paths.yaml\n",
        &format!("  - paths.yaml\n  - {extra}\n"),
    );
    std::fs::write(manifest, text).unwrap();
}

/// Loads `dir` on another thread, failing the test if that takes more than
/// 20 s (a FIFO opened for reading blocks until a writer comes).
fn load_within_deadline(dir: &Path) -> Result<Bundle, BundleError> {
    let (tx, rx) = mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Bundle::load(&dir));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the loader hangs")
}

/// The one error of a refused bundle: its code, and every problem rendered
/// as `triage check` prints them (snippets included).
fn the_error(loaded: Result<Bundle, BundleError>) -> (Code, String, String) {
    let error = loaded.map(|_| ()).expect_err("the bundle must be refused");
    let errors: Vec<_> = error
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", error.problems);
    let rendered = error.render_plain();
    assert!(!rendered.contains("SECRET"), "{rendered}");
    (errors[0].code, errors[0].message.clone(), rendered)
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_file_outside_the_bundle_is_refused_unread() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), SECRET).unwrap();
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "extra.yaml");
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("extra.yaml"),
    )
    .unwrap();
    let (code, message, rendered) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::OutsideBundle);
    assert_eq!(
        message,
        "file `extra.yaml` leads outside the bundle directory"
    );
    assert!(rendered.contains("help: a bundle reads only files inside its directory"));
}

#[cfg(unix)]
#[test]
fn a_relative_symlink_climbing_out_of_the_bundle_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("secret.yaml"), SECRET).unwrap();
    let dir = parent.path().join("pack");
    pack_listing(&dir, "extra.yaml");
    std::os::unix::fs::symlink("../secret.yaml", dir.join("extra.yaml")).unwrap();
    let (code, _, _) = the_error(Bundle::load(&dir));
    assert_eq!(code, Code::OutsideBundle);
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_bundle_is_followed_and_the_digest_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::rename(
        dir.path().join("ticket.yaml"),
        dir.path().join("real/ticket.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("real/ticket.yaml", dir.path().join("ticket.yaml")).unwrap();
    // The bundle directory itself may be reached through a link too.
    let link = tempfile::tempdir().unwrap();
    let linked = link.path().join("policies");
    std::os::unix::fs::symlink(dir.path(), &linked).unwrap();
    for path in [dir.path(), linked.as_path()] {
        let bundle = Bundle::load(path).unwrap();
        assert_eq!(bundle.policy(), reference().policy());
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_is_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    let (code, message, _) = the_error(load_within_deadline(dir.path()));
    assert_eq!(code, Code::NotAFile);
    assert_eq!(
        message,
        "file `zero.yaml` is a character device, not a regular file"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let (code, message, _) = the_error(load_within_deadline(dir.path()));
    assert_eq!(code, Code::NotAFile);
    assert_eq!(message, "file `fifo.yaml` is a FIFO, not a regular file");
}

#[cfg(unix)]
#[test]
fn a_fifo_for_a_manifest_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("bundle.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let (code, message, _) = the_error(load_within_deadline(dir.path()));
    assert_eq!(code, Code::NotAFile);
    assert!(message.starts_with("the manifest `"), "{message}");
    assert!(message.ends_with("bundle.yaml` is a FIFO, not a regular file"));
}

#[cfg(unix)]
#[test]
fn a_manifest_leading_outside_the_bundle_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    pack_copy(outside.path(), None);
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    std::fs::remove_file(dir.path().join("bundle.yaml")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("bundle.yaml"),
        dir.path().join("bundle.yaml"),
    )
    .unwrap();
    let (code, message, _) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::OutsideBundle);
    assert!(message.ends_with("bundle.yaml` leads outside the bundle directory"));
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "more.yaml");
    std::fs::create_dir(dir.path().join("more.yaml")).unwrap();
    let (code, message, _) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::NotAFile);
    assert_eq!(
        message,
        "file `more.yaml` is a directory, not a regular file"
    );
}

#[test]
fn a_missing_file_is_still_an_io_problem() {
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "gone.yaml");
    let (code, message, _) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::Io);
    assert!(
        message.starts_with("cannot read `gone.yaml`: "),
        "{message}"
    );
}

/// `n` bytes of YAML comment, whose content must never be shown.
fn filler(n: u64) -> String {
    let mut text = "# SECRET ".repeat(usize::try_from(n).unwrap() / 9 + 1);
    text.truncate(usize::try_from(n).unwrap() - 1);
    text + "\n"
}

#[test]
fn a_file_over_the_cap_is_refused_naming_its_size_and_the_cap() {
    assert_eq!(MAX_FILE_BYTES, 1 << 20);
    let dir = tempfile::tempdir().unwrap();
    pack_listing(dir.path(), "big.yaml");
    std::fs::write(dir.path().join("big.yaml"), filler(MAX_FILE_BYTES + 1)).unwrap();
    let (code, message, rendered) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::TooLarge);
    assert_eq!(
        message,
        "file `big.yaml` is 1048577 bytes, more than the 1048576 bytes a policy file may hold"
    );
    assert!(rendered.contains("help: split it into smaller files"));
    // One byte less is not refused for its size (it is only a comment).
    std::fs::write(dir.path().join("big.yaml"), filler(MAX_FILE_BYTES)).unwrap();
    Bundle::load(dir.path()).unwrap();
}

#[test]
fn a_manifest_over_the_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    let manifest = std::fs::read_to_string(dir.path().join("bundle.yaml")).unwrap();
    std::fs::write(
        dir.path().join("bundle.yaml"),
        manifest + filler(MAX_FILE_BYTES).as_str(),
    )
    .unwrap();
    let (code, message, _) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::TooLarge);
    assert!(message.starts_with("the manifest `"), "{message}");
}

/// The names of `n` filler files, and the manifest lines listing them.
fn fillers(n: usize) -> (Vec<String>, String) {
    let names: Vec<String> = (0..n).map(|i| format!("fill-{i}.yaml")).collect();
    let lines = names.iter().map(|n| format!("  - {n}\n")).collect();
    (names, lines)
}

#[test]
fn a_bundle_over_the_cap_is_refused_at_the_file_that_crosses_it() {
    assert_eq!(MAX_BUNDLE_BYTES, 32 << 20);
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    // Thirty-five files of a million bytes: each under the file cap,
    // together over the bundle's; the thirty-fourth crosses it.
    let (names, lines) = fillers(35);
    for name in &names {
        std::fs::write(dir.path().join(name), filler(1_000_000)).unwrap();
    }
    let manifest = std::fs::read_to_string(dir.path().join("bundle.yaml")).unwrap();
    let manifest = manifest.replace("  - paths.yaml\n", &format!("  - paths.yaml\n{lines}"));
    std::fs::write(dir.path().join("bundle.yaml"), manifest).unwrap();
    let (code, message, rendered) = the_error(Bundle::load(dir.path()));
    assert_eq!(code, Code::TooLarge);
    assert!(
        message.starts_with(
            "file `fill-33.yaml` (1000000 bytes) takes the bundle past the 33554432 bytes \
             a bundle's files may hold together: "
        ),
        "{message}"
    );
    assert!(rendered.contains("help: list only the files the bundle needs"));
}

#[test]
fn files_in_memory_have_the_same_caps() {
    let mut files = pack_files();
    let manifest = files.iter_mut().find(|f| f.name == "bundle.yaml").unwrap();
    // As on disk: thirty-five files of a million bytes, the thirty-fourth
    // crosses the bundle's cap.
    let (names, lines) = fillers(35);
    manifest.text = manifest
        .text
        .replace("  - paths.yaml\n", &format!("  - paths.yaml\n{lines}"));
    let mut big = files.clone();
    for (i, name) in names.iter().enumerate() {
        let size = if i == 0 { MAX_FILE_BYTES + 1 } else { 10 };
        big.push(PolicyFile {
            name: name.clone(),
            text: filler(size),
        });
    }
    let (code, message, _) = the_error(Bundle::from_files(&big));
    assert_eq!(code, Code::TooLarge);
    assert!(
        message.contains("`fill-0.yaml` is 1048577 bytes"),
        "{message}"
    );
    for name in names {
        files.push(PolicyFile {
            name,
            text: filler(1_000_000),
        });
    }
    let (code, message, _) = the_error(Bundle::from_files(&files));
    assert_eq!(code, Code::TooLarge);
    assert!(message.starts_with("file `fill-33.yaml` (1000000 bytes) takes the bundle past"));
}

#[cfg(unix)]
#[test]
fn suites_are_read_under_the_same_rules() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("tests/fifo.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), SECRET).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("tests/secret.yaml"),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(triage_engine::suite::load_suites(&path).map(|_| ()));
    });
    let error = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("loading the suites hangs")
        .unwrap_err();
    let codes: Vec<Code> = error.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, [Code::NotAFile, Code::OutsideBundle]);
    assert!(!error.render_plain().contains("SECRET"));
}

#[test]
fn a_yaml_file_the_manifest_does_not_list_is_a_warning_naming_it() {
    let mut files = pack_files();
    files.push(PolicyFile {
        name: "new-vehicle.yaml".to_owned(),
        text: "vehicles: {}\n".to_owned(),
    });
    files.push(PolicyFile {
        name: "notes.txt".to_owned(),
        text: "not policy\n".to_owned(),
    });
    let bundle = Bundle::from_files(&files).unwrap();
    let [warning] = bundle.warnings() else {
        panic!("{:?}", bundle.warnings())
    };
    assert_eq!(warning.code, Code::UnlistedFile);
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(
        warning.message,
        "the manifest does not list `new-vehicle.yaml`, so the bundle ignores it"
    );
    assert_eq!(
        warning.location.as_ref().unwrap().to_string(),
        "bundle.yaml:1:1"
    );
}

#[test]
fn a_comment_that_cuts_a_rationale_short_is_a_warning_at_the_hash() {
    let bundle = crate::common::edited(
        "boundaries.yaml",
        "rationale: A diagnosed commercial issue beyond",
        "rationale: A diagnosed commercial issue #2 beyond",
    )
    .unwrap();
    let [warning] = bundle.warnings() else {
        panic!("{:?}", bundle.warnings())
    };
    assert_eq!(warning.code, Code::CutText);
    assert_eq!(
        warning.to_string(),
        "boundaries.yaml:60:45: warning: the `rationale` stops before this `#`: \
         YAML reads what follows it as a comment, not as text\n  \
         help: put the whole text in quotes to keep the `#` and what follows it"
    );
    // Quoted, the same text is whole and nothing is said.
    let quoted = crate::common::edited(
        "boundaries.yaml",
        "rationale: A diagnosed commercial issue beyond the baseline goes to Microsoft.",
        "rationale: \"A diagnosed commercial issue #2 beyond the baseline goes to Microsoft.\"",
    )
    .unwrap();
    assert!(quoted.warnings().is_empty(), "{:?}", quoted.warnings());
}

#[test]
fn an_unused_declaration_is_told_where_it_belongs() {
    let bundle = crate::common::edited(
        "roles.yaml",
        "roles:\n",
        "roles:\n  intern: { title: Intern }\n",
    )
    .unwrap();
    let help: Vec<_> = bundle.warnings().iter().map(|w| w.help.clone()).collect();
    assert_eq!(
        help,
        [Some(
            "remove it, or name it in an action's `roles`".to_owned()
        )]
    );
}

#[test]
fn the_manifest_is_read_for_tags_and_cut_texts_too() {
    let error =
        crate::common::edited("bundle.yaml", "version: 2026.11.0", "version: *v").unwrap_err();
    assert_eq!(error.problems[0].code, Code::YamlMarker);
    assert_eq!(
        error.problems[0].location.as_ref().unwrap().to_string(),
        "bundle.yaml:6:10"
    );
}
