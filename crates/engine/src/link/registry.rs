//! Declared ids and where they were declared; the problems found so far.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Loc, Problem, Severity, did_you_mean};
use crate::load::raw::{self, Entries, Text};
use crate::load::source::{SourceFile, locate};

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

    /// Declares `name`; a second declaration is a problem.
    pub(super) fn declare(&mut self, name: &str, loc: Loc, problems: &mut Vec<Problem>) -> bool {
        if let Some(&first) = self.index.get(name) {
            problems.push(
                Problem::error(
                    Code::DuplicateId,
                    format!("duplicate {} id `{name}`", self.kind),
                    Some(loc),
                )
                .with_help(format!(
                    "`{name}` is first declared at {}",
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
                    format!("unknown {} `{name}`", self.kind),
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
                    help: Some("remove it, or refer to it from a rule".to_owned()),
                    location: Some(loc.clone()),
                });
            }
        }
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

/// Declares every id of a section of one file.
pub(super) fn declare<T>(
    b: &mut Builder,
    file: usize,
    registry: &mut Registry,
    entries: &Entries<T>,
) {
    for (name, _) in &entries.0 {
        let loc = b.at(file, name);
        registry.declare(&name.value, loc, &mut b.problems);
    }
}

/// Names used as rhai variables must be identifiers.
pub(super) fn identifier(problems: &mut Vec<Problem>, name: &str, loc: &Loc, kind: &str) -> bool {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        let message = format!("{kind} name `{name}` is not an identifier");
        problems.push(
            Problem::error(Code::BadId, message, Some(loc.clone())).with_help(concat!(
                "use letters, digits and `_`, starting with a letter, ",
                "so expressions can refer to it"
            )),
        );
    }
    ok
}
