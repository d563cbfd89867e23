//! The canonical order of the keys of each kind of mapping a bundle writes:
//! the order the reference documentation gives them. Keys a mapping lists
//! that are not here (a typo the loader reports) keep their place after the
//! known ones; mappings whose keys are ids (`conditions`, `fields`, a
//! suite's tickets) keep the author's order.

/// What a file is, by its place in the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The manifest, `bundle.yaml`.
    Manifest,
    /// A policy file the manifest lists.
    Policy,
    /// A test suite under `tests/`.
    Suite,
}

/// `*` stands for any key (an id), `-` for any list item.
const ORDERS: &[(FileKind, &[&str], &[&str])] = &[
    (
        FileKind::Manifest,
        &[],
        &["name", "version", "description", "files", "limits"],
    ),
    (
        FileKind::Manifest,
        &["limits"],
        &[
            "max_operations",
            "max_expression_depth",
            "max_string_size",
            "max_array_size",
            "max_map_size",
        ],
    ),
    (
        FileKind::Policy,
        &[],
        &[
            "sets",
            "conditions",
            "ticket",
            "roles",
            "actions",
            "outcomes",
            "vehicles",
            "rules",
            "paths",
        ],
    ),
    (
        FileKind::Policy,
        &["ticket"],
        &["id_field", "role_field", "fields", "constraints"],
    ),
    (
        FileKind::Policy,
        &["ticket", "fields", "*"],
        &[
            "type",
            "values",
            "values_from",
            "required",
            "default",
            "mask",
            "description",
        ],
    ),
    (
        FileKind::Policy,
        &["ticket", "constraints", "-"],
        &["id", "check", "field", "expected", "message"],
    ),
    (FileKind::Policy, &["roles", "*"], &["title", "description"]),
    (
        FileKind::Policy,
        &["actions", "*"],
        &["title", "description", "roles"],
    ),
    (
        FileKind::Policy,
        &["outcomes", "*"],
        &["title", "description", "escalates"],
    ),
    (
        FileKind::Policy,
        &["vehicles", "*"],
        &["title", "description", "fee", "covers"],
    ),
    (
        FileKind::Policy,
        &["rules", "-"],
        &["id", "when", "outcome", "path", "action", "rationale"],
    ),
    (
        FileKind::Policy,
        &["rules", "-", "action"],
        &["by", "cases"],
    ),
    (
        FileKind::Policy,
        &["paths", "*"],
        &["title", "description", "steps", "fallback"],
    ),
    (
        FileKind::Policy,
        &["paths", "*", "steps", "-"],
        &["id", "vehicle", "when", "rationale"],
    ),
    (
        FileKind::Policy,
        &["paths", "*", "fallback"],
        &["outcome", "action", "rationale"],
    ),
    (
        FileKind::Policy,
        &["paths", "*", "fallback", "action"],
        &["by", "cases"],
    ),
    (FileKind::Suite, &[], &["bases", "cases"]),
    (
        FileKind::Suite,
        &["cases", "-"],
        &["name", "base", "ticket", "expect"],
    ),
    (
        FileKind::Suite,
        &["cases", "-", "expect"],
        &[
            "rule",
            "outcome",
            "vehicle",
            "path_step",
            "action",
            "allowed",
            "error",
            "error_field",
        ],
    ),
];

/// The canonical key order of the mapping at `path` in a file of `kind`.
pub(super) fn key_order(kind: FileKind, path: &[String]) -> Option<&'static [&'static str]> {
    ORDERS.iter().find_map(|(of, pattern, keys)| {
        let matches = *of == kind
            && pattern.len() == path.len()
            && pattern
                .iter()
                .zip(path)
                .all(|(want, got)| *want == "*" || *want == got);
        matches.then_some(*keys)
    })
}

/// Whether the value at `path` (its key last) is a rhai expression.
pub(super) fn is_expression(kind: FileKind, path: &[String]) -> bool {
    kind == FileKind::Policy
        && match path {
            [section, _] if section == "conditions" => true,
            [.., key] => key == "when" || key == "check",
            [] => false,
        }
}
