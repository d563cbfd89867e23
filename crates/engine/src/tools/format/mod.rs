//! The policy formatter behind `triage fmt`: every policy and suite file of a
//! bundle in one canonical layout, comments kept, meaning unchanged.
//!
//! It reads a file through the YAML parser's events, which carry each
//! scalar's style, each comment and each position, into a tree that keeps
//! them ([`tree`]), and writes that tree again ([`emit`]). Before it hands
//! the text back it proves three things, and refuses the file otherwise:
//! the new text holds the same data (every value, with its type; mappings
//! compared as sets of keys, since keys are reordered), the same comments,
//! and formatting it again changes nothing.

mod emit;
mod error;
mod order;
mod tree;

use std::path::Path;

use granit_parser::ScalarStyle;

pub use error::FormatError;
pub use order::FileKind;
use tree::{Node, Scalar, comments};

/// What kind of file `name` is, by its path relative to the bundle directory.
pub fn kind_of(name: &str) -> FileKind {
    if name == crate::load::source::MANIFEST {
        FileKind::Manifest
    } else if name.starts_with("tests/") {
        FileKind::Suite
    } else {
        FileKind::Policy
    }
}

/// The files `triage fmt` formats in `dir`: `*.yaml`, then `tests/*.yaml`,
/// as paths relative to `dir` with `/`, sorted.
pub fn bundle_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for (sub, prefix) in [(dir.to_path_buf(), ""), (dir.join("tests"), "tests/")] {
        if prefix.is_empty() || sub.is_dir() {
            let mut found: Vec<String> = std::fs::read_dir(&sub)?
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_file())
                .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
                .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
                .map(|name| format!("{prefix}{name}"))
                .collect();
            found.sort();
            names.extend(found);
        }
    }
    Ok(names)
}

/// The canonical text of `text`, a file of `kind`; or why it is left as it is.
pub fn format(kind: FileKind, text: &str) -> Result<String, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let before = tree::parse(text)?;
    let formatted = emit::emit(&before, kind)?;
    let after = tree::parse(&formatted).map_err(|error| unsure(&error.message))?;
    if !same_node(before.root.as_ref(), after.root.as_ref()) {
        return Err(unsure("the data would change"));
    }
    if comments(&before) != comments(&after) {
        return Err(unsure("a comment would be lost"));
    }
    if emit::emit(&after, kind)? != formatted {
        return Err(unsure("formatting twice would not give the same text"));
    }
    Ok(formatted)
}

/// The formatter's own checks failed: a layout it does not understand.
fn unsure(why: &str) -> FormatError {
    FormatError::at(
        0,
        0,
        format!("the formatter does not understand this file's layout ({why})"),
    )
}

/// Whether two trees hold the same data: the same values with the same
/// types, lists in order, mappings as sets of entries.
fn same_node(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Node::Scalar(a)), Some(Node::Scalar(b))) => same_scalar(a, b),
        (Some(Node::Seq { items: a, .. }), Some(Node::Seq { items: b, .. })) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(a, b)| same_node(Some(&a.node), Some(&b.node)))
        }
        (Some(Node::Map { entries: a, .. }), Some(Node::Map { entries: b, .. })) => {
            let mut a: Vec<_> = a.iter().collect();
            let mut b: Vec<_> = b.iter().collect();
            a.sort_by(|x, y| x.key.value.cmp(&y.key.value));
            b.sort_by(|x, y| x.key.value.cmp(&y.key.value));
            a.len() == b.len()
                && a.iter().zip(&b).all(|(a, b)| {
                    same_scalar(&a.key, &b.key) && same_node(Some(&a.value), Some(&b.value))
                })
        }
        _ => false,
    }
}

/// The same text, read as the same type: a plain scalar may be a number or
/// a boolean, so it matches a quoted one only when it can only be text.
fn same_scalar(a: &Scalar, b: &Scalar) -> bool {
    let text = |s: &Scalar| {
        s.style != ScalarStyle::Plain || s.multiline || emit::plain_text(&s.value, false)
    };
    a.value == b.value
        && ((a.style == ScalarStyle::Plain) == (b.style == ScalarStyle::Plain)
            || (text(a) && text(b)))
}
