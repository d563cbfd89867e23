//! Boundary rules, in file order: the first match decides, and the last must
//! be a catch-all.

use std::sync::Arc;

use super::actions::action_sel;
use super::guards::compile;
use super::linker::Linker;
use super::registry::{Parsed, prose};
use crate::diagnostic::{Code, Loc, Problem};
use crate::load::raw;
use crate::model::Rule;

/// Where the rules stand while they are linked in order.
struct Walk {
    /// The first rule that matches every ticket, if any yet.
    catch_all: Option<Arc<str>>,
    last: Option<Loc>,
}

impl Linker<'_> {
    pub(super) fn rules(&mut self, parsed: &Parsed) -> Vec<Rule> {
        let mut ids = super::registry::Registry::new("rule");
        let mut walk = Walk {
            catch_all: None,
            last: None,
        };
        let mut rules = Vec::new();
        for (file, content) in parsed {
            for rule in &content.rules {
                let loc = self.b.at(*file, &rule.id);
                prose(&mut self.b, "rule", &rule.id.value, rule, &loc);
                ids.declare(&rule.id.value, loc.clone(), &mut self.b.problems);
                walk.last = Some(loc.clone());
                rules.extend(self.rule(*file, rule, loc, &mut walk));
            }
        }
        self.catch_all(walk);
        rules
    }

    fn rule(&mut self, file: usize, rule: &raw::Rule, loc: Loc, walk: &mut Walk) -> Option<Rule> {
        if let Some(previous) = &walk.catch_all {
            self.b.problems.push(
                Problem::error(
                    Code::Unreachable,
                    format!("rule `{}` can never match", rule.id.value),
                    Some(loc.clone()),
                )
                .with_help(format!(
                    "rule `{previous}` before it matches every ticket; move this rule above it"
                )),
            );
        }
        let expr = match &rule.when {
            Some(text) => compile(&mut self.b, self.compiler, file, text),
            None => Some(self.compiler.always(loc)),
        };
        let b = &mut self.b;
        let declared = &mut self.declared;
        let outcome_loc = b.at(file, &rule.outcome);
        let outcome = declared
            .outcomes
            .resolve(&rule.outcome.value, &outcome_loc, &mut b.problems);
        let action = action_sel(b, self.schema, &mut declared.actions, file, &rule.action);
        let path = rule.path.as_ref().and_then(|p| {
            let loc = b.at(file, p);
            declared.paths.resolve(&p.value, &loc, &mut b.problems)
        });
        if let Some(o) = outcome {
            self.path_needed(file, rule, self.declared.outcome_defs[o].0);
        }
        let expr = expr?;
        if expr.always && walk.catch_all.is_none() {
            walk.catch_all = Some(rule.id.value.as_str().into());
        }
        let (outcome, action) = (outcome?, action?);
        Some(Rule {
            id: rule.id.value.as_str().into(),
            guard: self.guards.guard(self.schema, expr),
            outcome,
            action,
            path,
            rationale: rule.rationale.trim().into(),
        })
    }

    /// A rule names a path exactly when its outcome escalates.
    fn path_needed(&mut self, file: usize, rule: &raw::Rule, escalates: bool) {
        let b = &mut self.b;
        match (&rule.path, escalates) {
            (None, true) => b.problems.push(
                Problem::error(
                    Code::MissingPath,
                    format!("rule `{}` escalates but names no path", rule.id.value),
                    Some(b.at(file, &rule.outcome)),
                )
                .with_help(format!(
                    "outcome `{}` escalates: add `path:` with the escalation path to follow",
                    rule.outcome.value
                )),
            ),
            (Some(p), false) => b.problems.push(
                Problem::error(
                    Code::NeedlessPath,
                    format!(
                        "rule `{}` names path `{}` but its outcome is not an escalation",
                        rule.id.value, p.value
                    ),
                    Some(b.at(file, p)),
                )
                .with_help(format!(
                    "remove `path:`, or mark outcome `{}` with `escalates: true`",
                    rule.outcome.value
                )),
            ),
            _ => {}
        }
    }

    /// The rules end with one that matches every ticket.
    fn catch_all(&mut self, walk: Walk) {
        let b = &mut self.b;
        match (&walk.catch_all, walk.last) {
            (None, Some(loc)) => {
                let message = "the last boundary rule is not a catch-all";
                b.problems.push(
                    Problem::error(Code::NoCatchAll, message, Some(loc)).with_help(concat!(
                        "end the rules with one that has no `when` (or `when: true`), ",
                        "so every valid ticket gets a decision"
                    )),
                )
            }
            (None, None) => {
                let message = "the bundle declares no boundary rules";
                let loc = Some(self.manifest.clone());
                b.problems.push(
                    Problem::error(Code::NoRules, message, loc)
                        .with_help("add a `rules:` list to one of the listed files"),
                )
            }
            _ => {}
        }
    }
}
