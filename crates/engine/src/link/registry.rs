//! Declared ids and where they were declared; the problems found so far.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Loc, Problem, Severity, did_you_mean, shortened};
use crate::load::raw::{self, Entries, Prose, Text};
use crate::load::source::{SourceFile, locate};
use crate::load::text::hidden_in;

/// The parsed policy files, each with its index in the bundle's file list.
pub(super) type Parsed = Vec<(usize, raw::Document)>;

/// Declared ids of one kind, with where each was declared.
pub(super) struct Registry {
    pub kind: &'static str,
    pub names: Vec<(Arc<str>, Loc)>,
    pub index: HashMap<Arc<str>, usize>,
    pub used: Vec<bool>,
}

impl Registry {
    pub(super) fn new(kind: &'static str) -> Self {
        Registry {
            kind,
            names: Vec::new(),
            index: HashMap::new(),
            used: Vec::new(),
        }
    }

    /// Declares `name`; a second declaration is a problem, and so is a name
    /// that is not an id (it is declared all the same, so that references
    /// to it do not each report it again).
    pub(super) fn declare(&mut self, name: &str, loc: Loc, problems: &mut Vec<Problem>) -> bool {
        if let Some(&first) = self.index.get(name) {
            problems.push(
                Problem::error(
                    Code::DuplicateId,
                    format!(
                        "duplicate {} id `{}`",
                        self.kind,
                        shortened(name, MAX_ID_CHARS)
                    ),
                    Some(loc),
                )
                .with_help(format!(
                    "`{}` is first declared at {}",
                    shortened(name, MAX_ID_CHARS),
                    self.names[first].1
                )),
            );
            return false;
        }
        if name.is_empty() {
            problems.push(Problem::error(
                Code::BadId,
                format!("a {} id cannot be empty", self.kind),
                Some(loc),
            ));
            return false;
        }
        problems.extend(id_problem(self.kind, name, &loc));
        let name: Arc<str> = name.into();
        self.index.insert(name.clone(), self.names.len());
        self.names.push((name, loc));
        self.used.push(false);
        true
    }

    /// The index of a referenced id; an unknown one is a problem.
    pub(super) fn resolve(
        &mut self,
        name: &str,
        loc: &Loc,
        problems: &mut Vec<Problem>,
    ) -> Option<usize> {
        match self.index.get(name) {
            Some(&index) => {
                self.used[index] = true;
                Some(index)
            }
            None => {
                let mut problem = Problem::error(
                    Code::UnknownReference,
                    format!("unknown {} `{}`", self.kind, shortened(name, MAX_ID_CHARS)),
                    Some(loc.clone()),
                );
                problem.help =
                    did_you_mean(name, self.names.iter().map(|(n, _)| &**n)).or_else(|| {
                        let declared: Vec<&str> = self.names.iter().map(|(n, _)| &**n).collect();
                        Some(match declared.is_empty() {
                            true => format!("no {} is declared", self.kind),
                            false => format!("declared {}s: {}", self.kind, declared.join(", ")),
                        })
                    });
                problems.push(problem);
                None
            }
        }
    }

    pub(super) fn id(&self, index: usize) -> Arc<str> {
        self.names[index].0.clone()
    }

    /// Every declared id, in declaration order.
    pub(super) fn ids(&self) -> Vec<Arc<str>> {
        self.names.iter().map(|(n, _)| n.clone()).collect()
    }

    /// A warning for each declared id nothing refers to.
    pub(super) fn unused(&self, warnings: &mut Vec<Problem>) {
        for ((name, loc), used) in self.names.iter().zip(&self.used) {
            if !used {
                warnings.push(Problem {
                    severity: Severity::Warning,
                    code: Code::Unused,
                    message: format!("{} `{name}` is declared but never used", self.kind),
                    help: Some(format!("remove it, or {}", unused_help(self.kind))),
                    location: Some(loc.clone()),
                });
            }
        }
    }
}

/// Where a declaration of `kind` is referred to, for the hint of an unused one.
fn unused_help(kind: &str) -> &'static str {
    match kind {
        "role" => "name it in an action's `roles`",
        "vehicle" => "name it as the `vehicle` of a path step",
        "action" => "name it as the `action` of a rule or a fallback",
        "outcome" => "name it as the `outcome` of a rule or a fallback",
        "path" => "name it as the `path` of a rule whose outcome escalates",
        "set" => "use it in a rule's `when` (`field in set_name`) or a field's `values_from`",
        "condition" => "use it by name in a rule's or a step's `when`",
        _ => "refer to it from a rule",
    }
}

pub(super) struct Builder<'s> {
    pub files: &'s [SourceFile],
    pub problems: Vec<Problem>,
}

impl Builder<'_> {
    pub(super) fn at(&self, file: usize, text: &Text) -> Loc {
        locate(&self.files[file], &text.referenced)
    }

    pub(super) fn at_spanned<T>(&self, file: usize, spanned: &serde_saphyr::Spanned<T>) -> Loc {
        locate(&self.files[file], &spanned.referenced)
    }
}

/// Declares every id of a section of one file, and checks its texts.
pub(super) fn declare<T: Prose>(
    b: &mut Builder,
    file: usize,
    registry: &mut Registry,
    entries: &Entries<T>,
) {
    for (name, item) in &entries.0 {
        let loc = b.at(file, name);
        prose(b, registry.kind, &name.value, item, &loc);
        registry.declare(&name.value, loc, &mut b.problems);
    }
}

/// A problem for each text of `item` (the `kind` called `name`, declared
/// at `loc`) that is blank or holds a hidden character.
pub(super) fn prose(b: &mut Builder, kind: &str, name: &str, item: &impl Prose, loc: &Loc) {
    for (key, text) in item.prose() {
        let what = format!("the {key} of {kind} `{}`", shortened(name, MAX_ID_CHARS));
        if text.trim().is_empty() {
            let problem = Problem::error(
                Code::EmptyText,
                format!("{what} is empty"),
                Some(loc.clone()),
            );
            b.problems.push(problem.with_help(format!(
                "write the {key} in a sentence: it is what a reader of a decision sees"
            )));
            continue;
        }
        b.problems.extend(hidden_in(&what, text, loc));
    }
}

/// The longest id, in characters.
const MAX_ID_CHARS: usize = 64;

/// The id pattern, as help texts give it.
const ID_PATTERN: &str =
    "an id is a lowercase letter, then lowercase letters, digits and `_`, at most 64 characters";

/// Whether `name` is an id: an ASCII lowercase letter, then ASCII lowercase
/// letters, digits and `_`, at most 64 characters. Every id a policy declares
/// follows it (rules, roles, actions, outcomes, vehicles, paths, steps, sets,
/// conditions, constraints, and each segment of a field's path), so an id
/// reads the same everywhere, is a rhai variable name where expressions use
/// it, and holds nothing invisible.
pub(super) fn is_id(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_ID_CHARS
        && bytes.next().is_some_and(|c| c.is_ascii_lowercase())
        && bytes.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The problem with `name` as an id of `kind`, if it is not one, with the
/// id it could be.
pub(super) fn id_problem(kind: &str, name: &str, loc: &Loc) -> Option<Problem> {
    if is_id(name) {
        return None;
    }
    let shown = shortened(name, MAX_ID_CHARS);
    let message = if name.chars().count() > MAX_ID_CHARS {
        format!("{kind} id `{shown}` is longer than {MAX_ID_CHARS} characters")
    } else {
        format!("`{shown}` is not a valid {kind} id")
    };
    let help = match suggestion(kind, name) {
        Some(id) => format!("{ID_PATTERN}: `{id}`"),
        None => ID_PATTERN.to_owned(),
    };
    Some(Problem::error(Code::BadId, message, Some(loc.clone())).with_help(help))
}

/// `name` as an id: lowercased, every other character `_`, cut to length,
/// and led by the kind's name where it does not start with a letter.
fn suggestion(kind: &str, name: &str) -> Option<String> {
    let mut id: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '_',
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        let lead: String = kind.chars().filter(char::is_ascii_lowercase).collect();
        id = format!("{lead}_{id}");
    }
    id.truncate(MAX_ID_CHARS);
    (is_id(&id) && id.bytes().any(|c| c != b'_')).then_some(id)
}
