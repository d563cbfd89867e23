//! Validate: turn the parsed files into a compiled bundle, checking every
//! reference and collecting every problem before giving up.

use std::sync::Arc;

use crate::load::PolicyFile;
use crate::model::{
    ActionDef, Compiled, Condition, Constraint, Described, FallbackDef, Guard, OutcomeDef,
    PathDef, Rule, StepDef,
};
use crate::expr::compile::{Compiler, Expression, engine};
use crate::model::decision::PolicyRef;
use crate::diagnostic::{BundleError, Problem, Severity};
use crate::load::raw::{self, Text, parse_yaml};
use crate::load::source::{Sources, locate};

mod actions;
mod conditions;
mod registry;
mod ticket;

use actions::action_sel;
use conditions::{condition_order, depends};
use registry::{Builder, Registry, declare, identifier};
use ticket::{build_schema, field_ref, template};

/// Builds the bundle from its parsed sources.
pub(crate) fn build(sources: Sources) -> Result<Compiled, BundleError> {
    let texts = sources.texts();
    let mut b = Builder {
        files: &sources.files,
        problems: Vec::new(),
    };
    let manifest_loc = |t: &Text| locate(&sources.manifest_file, &t.referenced);
    for (what, text) in [
        ("name", &sources.manifest.name),
        ("version", &sources.manifest.version),
    ] {
        if text.value.trim().is_empty() {
            b.problems.push(Problem::error(
                "manifest",
                format!("the bundle {what} cannot be empty"),
                Some(manifest_loc(text)),
            ));
        }
    }

    let mut parsed: Vec<(usize, raw::PolicyFile)> = Vec::new();
    for (index, file) in sources.files.iter().enumerate() {
        match parse_yaml::<raw::PolicyFile>(&file.display, &file.text) {
            Ok(content) => parsed.push((index, content)),
            Err(problem) => b.problems.push(problem),
        }
    }
    // References into a file that does not parse would all fail: report the
    // syntax problems alone rather than a cascade of unknown ids.
    if !b.problems.is_empty() {
        return Err(BundleError::new(b.problems, texts));
    }

    // Declarations first, so references resolve whatever the file order.
    let mut roles = Registry::new("role");
    let mut actions = Registry::new("action");
    let mut outcomes = Registry::new("outcome");
    let mut vehicles = Registry::new("vehicle");
    let mut sets = Registry::new("set");
    let mut conditions = Registry::new("condition");
    let mut paths = Registry::new("path");
    let mut outcome_defs: Vec<(bool, Described)> = Vec::new();
    let mut set_defs: Vec<(usize, &Vec<Text>)> = Vec::new();
    let mut condition_defs: Vec<(usize, &Text)> = Vec::new();
    let mut ticket: Option<(usize, &serde_saphyr::Spanned<raw::TicketSchema>)> = None;
    for (file, content) in &parsed {
        let file = *file;
        declare(&mut b, file, &mut roles, &content.roles);
        declare(&mut b, file, &mut actions, &content.actions);
        for (name, o) in &content.outcomes.0 {
            let loc = b.at(file, name);
            if outcomes.declare(&name.value, loc, &mut b.problems) {
                outcome_defs.push((
                    o.escalates,
                    Described::new(&name.value, &o.title, Some(&o.description)),
                ));
            }
        }
        declare(&mut b, file, &mut vehicles, &content.vehicles);
        for (name, members) in &content.sets.0 {
            let loc = b.at(file, name);
            if identifier(&mut b.problems, &name.value, &loc, "set")
                && sets.declare(&name.value, loc, &mut b.problems)
            {
                set_defs.push((file, members));
            }
        }
        for (name, expr) in &content.conditions.0 {
            let loc = b.at(file, name);
            if identifier(&mut b.problems, &name.value, &loc, "condition")
                && conditions.declare(&name.value, loc, &mut b.problems)
            {
                condition_defs.push((file, expr));
            }
        }
        declare(&mut b, file, &mut paths, &content.paths);
        if let Some(schema) = &content.ticket {
            let loc = b.at_spanned(file, schema);
            match &ticket {
                Some((first_file, first)) => {
                    let first = b.at_spanned(*first_file, first);
                    b.problems.push(
                        Problem::error("duplicate-schema", "a second `ticket` schema", Some(loc))
                            .with_help(format!(
                                "a bundle has one ticket schema; the first is at {first}"
                            )),
                    );
                }
                None => ticket = Some((file, schema)),
            }
        }
    }
    let role_defs: Vec<Described> = parsed
        .iter()
        .flat_map(|(_, c)| c.roles.0.iter())
        .filter(|(name, _)| roles.index.contains_key(name.value.as_str()))
        .map(|(name, r)| Described::new(&name.value, &r.title, r.description.as_deref()))
        .collect();
    let vehicle_defs: Vec<Described> = parsed
        .iter()
        .flat_map(|(_, c)| c.vehicles.0.iter())
        .map(|(name, v)| Described {
            fee: v.fee.as_deref().map(|f| f.trim().to_owned()),
            covers: v.covers.as_deref().map(|c| c.trim().to_owned()),
            ..Described::new(&name.value, &v.title, Some(&v.description))
        })
        .collect();

    // Sets: lists of strings, used by `in` and by enum fields.
    let set_values: Vec<(Arc<str>, Vec<Arc<str>>)> = set_defs
        .iter()
        .enumerate()
        .map(|(i, (_, members))| {
            (
                sets.id(i),
                members.iter().map(|m| m.value.as_str().into()).collect(),
            )
        })
        .collect();

    // The ticket schema.
    let Some((schema_file, schema_raw)) = ticket else {
        b.problems.push(
            Problem::error("no-schema", "the bundle declares no ticket schema", Some(manifest_loc(&sources.manifest.name)))
                .with_help("add a `ticket:` section with `id_field`, `role_field` and `fields` to one of the listed files"),
        );
        return Err(BundleError::new(b.problems, texts));
    };
    let role_ids: Vec<Arc<str>> = roles.names.iter().map(|(n, _)| n.clone()).collect();
    let schema = build_schema(
        &mut b,
        schema_file,
        &schema_raw.value,
        &mut sets,
        &set_values,
        &role_ids,
    );

    let Some(schema) = schema else {
        return Err(BundleError::new(b.problems, texts));
    };
    let limits = &sources.manifest.limits;
    let engine = engine(limits);
    let condition_names: Vec<Arc<str>> = conditions.names.iter().map(|(n, _)| n.clone()).collect();
    // Conditions, sets and ticket fields share one namespace in expressions.
    for (name, loc) in &conditions.names {
        if schema.node(&[name]).is_some() {
            let message = format!("condition `{name}` has the name of a ticket field");
            b.problems
                .push(Problem::error("name-clash", message, Some(loc.clone())));
        }
    }
    for (name, loc) in &sets.names {
        let clash = if schema.node(&[name]).is_some() {
            Some("a ticket field")
        } else if conditions.index.contains_key(name) {
            Some("a condition")
        } else {
            None
        };
        if let Some(what) = clash {
            let message = format!("set `{name}` has the name of {what}");
            b.problems
                .push(Problem::error("name-clash", message, Some(loc.clone())));
        }
    }
    let compiler = Compiler::new(&engine, &schema, &condition_names, &set_values);
    let compile = |b: &mut Builder, file: usize, text: &Text| -> Option<Expression> {
        match compiler.compile(&b.files[file], text) {
            Ok(expr) => Some(expr),
            Err(problems) => {
                b.problems.extend(problems);
                None
            }
        }
    };

    // Named conditions, then their dependency order.
    let mut condition_exprs: Vec<Option<Expression>> = Vec::new();
    for (file, text) in &condition_defs {
        condition_exprs.push(compile(&mut b, *file, text));
    }
    let order = condition_order(&mut b, &condition_exprs, &conditions);
    let Some(order) = order else {
        return Err(BundleError::new(b.problems, texts));
    };
    let mut uses = Uses {
        conditions: vec![false; condition_exprs.len()],
        sets: vec![false; set_values.len()],
    };
    let guard = |uses: &mut Uses, expr: Expression, exprs: &[Option<Expression>]| -> Guard {
        let needs: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&c| depends(&expr, c, exprs))
            .collect();
        let mut reads = expr.reads.clone();
        for &c in &needs {
            uses.conditions[c] = true;
            if let Some(e) = &exprs[c] {
                reads.extend(&e.reads);
                e.sets.iter().for_each(|&s| uses.sets[s] = true);
            }
        }
        expr.sets.iter().for_each(|&s| uses.sets[s] = true);
        // Sorted by path, the order the trace shows them in.
        reads.sort_unstable_by(|a, b| schema.fields[*a].path.cmp(&schema.fields[*b].path));
        reads.dedup();
        Guard { expr, needs, reads }
    };

    // Constraints on tickets.
    let mut constraints = Vec::new();
    for c in &schema_raw.value.constraints {
        let field_loc = b.at(schema_file, &c.field);
        let field = field_ref(&mut b, &schema, &c.field.value, field_loc);
        let expected = template(&mut b, &schema, schema_file, &c.expected);
        let message = template(&mut b, &schema, schema_file, &c.message);
        let expr = compile(&mut b, schema_file, &c.check);
        if let (Some(field), Some(expected), Some(message), Some(expr)) =
            (field, expected, message, expr)
        {
            constraints.push(Constraint {
                id: c.id.value.as_str().into(),
                guard: guard(&mut uses, expr, &condition_exprs),
                field,
                expected,
                message,
            });
        }
    }

    // Boundary rules, in file order: the first match decides.
    let mut rule_ids = Registry::new("rule");
    let mut rules = Vec::new();
    let mut catch_all: Option<Arc<str>> = None;
    let mut last_rule_loc = None;
    for (file, content) in &parsed {
        let file = *file;
        for rule in &content.rules {
            let loc = b.at(file, &rule.id);
            rule_ids.declare(&rule.id.value, loc.clone(), &mut b.problems);
            last_rule_loc = Some(loc.clone());
            if let Some(previous) = &catch_all {
                b.problems.push(
                    Problem::error(
                        "unreachable",
                        format!("rule `{}` can never match", rule.id.value),
                        Some(loc.clone()),
                    )
                    .with_help(format!(
                        "rule `{previous}` before it matches every ticket; move this rule above it"
                    )),
                );
            }
            let expr = match &rule.when {
                Some(text) => compile(&mut b, file, text),
                None => Some(compiler.always(loc.clone())),
            };
            let outcome = outcomes.resolve(
                &rule.outcome.value,
                &b.at(file, &rule.outcome),
                &mut b.problems,
            );
            let action = action_sel(&mut b, &schema, &mut actions, file, &rule.action);
            let path = rule
                .path
                .as_ref()
                .and_then(|p| paths.resolve(&p.value, &b.at(file, p), &mut b.problems));
            if let Some(o) = outcome {
                let escalates = outcome_defs[o].0;
                match (&rule.path, escalates) {
                    (None, true) => b.problems.push(
                        Problem::error("missing-path", format!("rule `{}` escalates but names no path", rule.id.value), Some(b.at(file, &rule.outcome)))
                            .with_help(format!("outcome `{}` escalates: add `path:` with the escalation path to follow", rule.outcome.value)),
                    ),
                    (Some(p), false) => b.problems.push(
                        Problem::error("needless-path", format!("rule `{}` names path `{}` but its outcome is not an escalation", rule.id.value, p.value), Some(b.at(file, p)))
                            .with_help(format!("remove `path:`, or mark outcome `{}` with `escalates: true`", rule.outcome.value)),
                    ),
                    _ => {}
                }
            }
            if let Some(expr) = expr {
                if expr.always && catch_all.is_none() {
                    catch_all = Some(rule.id.value.as_str().into());
                }
                if let (Some(outcome), Some(action)) = (outcome, action) {
                    rules.push(Rule {
                        id: rule.id.value.as_str().into(),
                        guard: guard(&mut uses, expr, &condition_exprs),
                        outcome,
                        action,
                        path,
                        rationale: rule.rationale.trim().into(),
                    });
                }
            }
        }
    }
    match (&catch_all, last_rule_loc) {
        (None, Some(loc)) => b.problems.push(
            Problem::error("no-catch-all", "the last boundary rule is not a catch-all", Some(loc))
                .with_help("end the rules with one that has no `when` (or `when: true`), so every valid ticket gets a decision"),
        ),
        (None, None) => b.problems.push(
            Problem::error("no-rules", "the bundle declares no boundary rules", Some(manifest_loc(&sources.manifest.name)))
                .with_help("add a `rules:` list to one of the listed files"),
        ),
        _ => {}
    }

    // Escalation paths: the first eligible step's vehicle, or the fallback.
    let mut path_defs = Vec::new();
    for (file, content) in &parsed {
        let file = *file;
        for (name, path) in &content.paths.0 {
            let mut step_ids = Registry::new("step");
            let mut steps = Vec::new();
            let mut always: Option<&str> = None;
            for step in &path.steps {
                let loc = b.at(file, &step.id);
                step_ids.declare(&step.id.value, loc.clone(), &mut b.problems);
                if let Some(previous) = always {
                    b.problems.push(
                        Problem::error(
                            "unreachable",
                            format!(
                                "step `{}` of path `{}` can never be reached",
                                step.id.value, name.value
                            ),
                            Some(loc.clone()),
                        )
                        .with_help(format!("step `{previous}` before it is always eligible")),
                    );
                }
                let vehicle = vehicles.resolve(
                    &step.vehicle.value,
                    &b.at(file, &step.vehicle),
                    &mut b.problems,
                );
                let expr = match &step.when {
                    Some(text) => compile(&mut b, file, text),
                    None => Some(compiler.always(loc.clone())),
                };
                if let (Some(vehicle), Some(expr)) = (vehicle, expr) {
                    if expr.always && always.is_none() {
                        always = Some(&step.id.value);
                    }
                    steps.push(StepDef {
                        id: step.id.value.as_str().into(),
                        vehicle,
                        guard: guard(&mut uses, expr, &condition_exprs),
                        rationale: step.rationale.trim().into(),
                    });
                }
            }
            let fallback = match &path.fallback {
                Some(f) => {
                    let outcome = outcomes.resolve(
                        &f.outcome.value,
                        &b.at(file, &f.outcome),
                        &mut b.problems,
                    );
                    let action = action_sel(&mut b, &schema, &mut actions, file, &f.action);
                    if let Some(previous) = always {
                        b.problems.push(
                            Problem::error(
                                "unreachable",
                                format!(
                                    "the fallback of path `{}` can never be reached",
                                    name.value
                                ),
                                Some(b.at(file, &f.outcome)),
                            )
                            .with_help(format!(
                                "step `{previous}` is always eligible; remove it or the fallback"
                            )),
                        );
                    }
                    match (outcome, action) {
                        (Some(outcome), Some(action)) => Some(FallbackDef {
                            outcome,
                            action,
                            rationale: f.rationale.trim().into(),
                        }),
                        _ => None,
                    }
                }
                None => {
                    if always.is_none() {
                        b.problems.push(
                            Problem::error("no-fallback", format!("path `{}` has no fallback", name.value), Some(b.at(file, name)))
                                .with_help("add `fallback:` with the outcome, action and rationale for when no step is eligible"),
                        );
                    }
                    None
                }
            };
            path_defs.push(PathDef {
                id: name.value.as_str().into(),
                info: Described::new(&name.value, &path.title, path.description.as_deref()),
                steps,
                fallback,
            });
        }
    }

    // Actions and their roles.
    let mut action_defs = Vec::new();
    for (file, content) in &parsed {
        for (name, action) in &content.actions.0 {
            let mut allowed: Vec<Arc<str>> = action
                .roles
                .iter()
                .filter_map(|r| {
                    let loc = b.at(*file, r);
                    roles
                        .resolve(&r.value, &loc, &mut b.problems)
                        .map(|i| roles.id(i))
                })
                .collect();
            allowed.sort();
            allowed.dedup();
            action_defs.push(ActionDef {
                id: name.value.as_str().into(),
                info: Described::new(&name.value, &action.title, action.description.as_deref()),
                roles: allowed,
            });
        }
    }

    let mut warnings = Vec::new();
    for (registry, used) in [(&mut conditions, &uses.conditions), (&mut sets, &uses.sets)] {
        for (index, &u) in used.iter().enumerate() {
            if u {
                registry.used[index] = true;
            }
        }
    }
    for registry in [
        &roles,
        &actions,
        &outcomes,
        &vehicles,
        &sets,
        &conditions,
        &paths,
    ] {
        registry.unused(&mut warnings);
    }

    // With errors present, "unused" warnings are mostly their echo (a misspelt
    // reference leaves its target unused), so only the errors are reported.
    if b.problems.iter().any(|p| p.severity == Severity::Error) {
        return Err(BundleError::new(b.problems, texts));
    }
    let conditions = condition_exprs
        .into_iter()
        .enumerate()
        .filter_map(|(i, expr)| {
            expr.map(|expr| Condition {
                name: conditions.id(i),
                expr,
            })
        })
        .collect();
    let outcomes = outcome_defs
        .into_iter()
        .enumerate()
        .map(|(i, (escalates, info))| OutcomeDef {
            id: outcomes.id(i),
            info,
            escalates,
        })
        .collect();
    let manifest = &sources.manifest;
    // The compiler borrows the engine, which the bundle now takes over.
    drop(compiler);
    Ok(Compiled {
            policy: PolicyRef {
                name: manifest.name.value.as_str().into(),
                version: manifest.version.value.as_str().into(),
                digest: sources.digest.as_str().into(),
            },
            description: manifest.description.clone(),
            engine,
            schema,
            roles: role_defs,
            actions: action_defs,
            outcomes,
            vehicles: vehicle_defs,
            sets: set_values,
            conditions,
            constraints,
            rules,
            paths: path_defs,
            warnings,
            sources: texts,
            files: std::iter::once(&sources.manifest_file)
                .chain(&sources.files)
                .map(|f| PolicyFile {
                    name: f.name.to_string(),
                    text: f.text.to_string(),
                })
                .collect(),
    })
}

struct Uses {
    conditions: Vec<bool>,
    sets: Vec<bool>,
}
