//! Link: turn the parsed files into the model, resolving every reference and
//! collecting every problem before giving up.
//!
//! Linking runs in phases, in this order; each reports into the same list of
//! problems, so an author sees every problem of a bundle at once:
//!
//! 1. `files`: the manifest's own fields, then each listed file parsed;
//!    syntax problems stop here (references into a file that does not parse
//!    would all fail);
//! 2. `declarations`: every id of every kind, whatever the file order;
//! 3. `ticket`: the ticket schema;
//! 4. `names`: conditions, sets and fields share one namespace;
//! 5. `expressions`: the named conditions, compiled, in dependency order;
//! 6. `constraints`, `rules`, `paths`, `actions`: each section resolved;
//! 7. `semantics`: unused declarations, then the model assembled.
//!
//! A new section of the policy format is a new phase.

use crate::diagnostic::{BundleError, Code, Problem, Severity, with_suggestion_budget};
use crate::expr::compile::Compiler;
use crate::expr::sandbox::{engine, is_keyword};
use crate::load::PolicyFile;
use crate::load::raw::{self, parse_yaml};
use crate::load::source::{Sources, locate};
use crate::load::style::yaml_style;
use crate::load::text::{hidden_characters, hidden_in};
use crate::model::Compiled;
use crate::model::decision::PolicyRef;
use crate::schema::Schema;

mod actions;
mod conditions;
mod constraints;
mod declarations;
mod guards;
mod linker;
mod paths;
mod registry;
mod rules;
mod ticket;

use declarations::Declared;
use guards::Guards;
use linker::Linker;
use registry::{Builder, Parsed};

/// The character comparisons all the suggestions of one load may make
/// (a few hundred suggestions among thousands of names; a fraction of a
/// second): see `with_suggestion_budget`.
const SUGGESTION_BUDGET: u64 = 4_000_000;

/// Builds the model from the bundle's parsed sources.
pub(crate) fn build(sources: Sources) -> Result<Compiled, BundleError> {
    with_suggestion_budget(SUGGESTION_BUDGET, || link(sources))
}

fn link(sources: Sources) -> Result<Compiled, BundleError> {
    let texts = sources.texts();
    let fail = |problems: Vec<Problem>| BundleError::new(problems, texts.clone());
    let mut b = Builder {
        files: &sources.files,
        problems: Vec::new(),
    };
    // Warnings found before linking travel with the errors, if there are any.
    b.problems.extend(sources.warnings.iter().cloned());
    let parsed = files(&mut b, &sources);
    if has_errors(&b.problems) {
        return Err(fail(b.problems));
    }
    let mut declared = Declared::collect(&mut b, &parsed);
    let Some(schema) = declared.ticket_schema(&mut b, &sources) else {
        return Err(fail(b.problems));
    };
    let engine = engine(&sources.manifest.limits);
    names(&mut b, &engine, &schema, &declared);
    let condition_names = declared.conditions.ids();
    let set_values = std::mem::take(&mut declared.set_values);
    let set_locs = std::mem::take(&mut declared.set_locs);
    let compiler =
        Compiler::new(&engine, &schema, &condition_names, &set_values).with_set_locations(set_locs);
    let Some(guards) = Guards::new(&mut b, &compiler, &declared) else {
        return Err(fail(b.problems));
    };
    let mut linker = Linker {
        manifest: locate(&sources.manifest_file, &sources.manifest.name.referenced),
        b,
        schema: &schema,
        compiler: &compiler,
        declared,
        guards,
    };
    let sections = sections(&mut linker, &parsed);
    let unused = linker.unused();
    // With errors present, "unused" warnings are mostly their echo (a misspelt
    // reference leaves its target unused), so only the errors are reported.
    if has_errors(&linker.b.problems) {
        return Err(fail(linker.b.problems));
    }
    let mut warnings = std::mem::take(&mut linker.b.problems);
    warnings.extend(unused);
    let conditions = linker.conditions();
    let rank = std::mem::take(&mut linker.guards.rank);
    let outcomes = linker.declared.outcomes();
    let (roles, vehicles) = (linker.declared.role_defs, linker.declared.vehicle_defs);
    // The compiler borrows the engine, which the model now takes over.
    drop(compiler);
    Ok(Compiled {
        policy: policy(&sources),
        description: sources.manifest.description.clone(),
        engine,
        schema,
        roles,
        actions: sections.actions,
        outcomes,
        vehicles,
        set_arrays: set_values
            .iter()
            .map(|(_, members)| set_array(members))
            .collect(),
        sets: set_values,
        conditions,
        rank,
        constraints: sections.constraints,
        rules: sections.rules,
        paths: sections.paths,
        warnings,
        sources: texts,
        files: files_as_loaded(&sources),
    })
}

/// The manifest's own fields, then every listed file parsed.
fn files(b: &mut Builder, sources: &Sources) -> Parsed {
    for (what, text) in [
        ("name", &sources.manifest.name),
        ("version", &sources.manifest.version),
    ] {
        if text.value.trim().is_empty() {
            b.problems.push(Problem::error(
                Code::Manifest,
                format!("the bundle {what} cannot be empty"),
                Some(locate(&sources.manifest_file, &text.referenced)),
            ));
        }
    }
    let limits = sources.manifest.limits.check(&sources.manifest_file);
    b.problems.extend(limits);
    let manifest = &sources.manifest;
    let at = |text: &raw::Text| locate(&sources.manifest_file, &text.referenced);
    for (what, text) in [
        ("the bundle name", &manifest.name),
        ("the bundle version", &manifest.version),
    ] {
        b.problems.extend(hidden_in(what, &text.value, &at(text)));
    }
    if let Some(description) = &manifest.description {
        let what = "the bundle description";
        b.problems
            .extend(hidden_in(what, description, &at(&manifest.name)));
    }
    let mut parsed = Vec::new();
    for (index, file) in sources.files.iter().enumerate() {
        // A file with a hidden character is not parsed: what it says is in doubt.
        let hidden = hidden_characters(&file.display, &file.text);
        if !hidden.is_empty() {
            b.problems.extend(hidden);
            continue;
        }
        // A value YAML reads as a tag, an anchor or an alias is not parsed
        // either: the parse would report what it became, not what was written.
        let (errors, warnings) = yaml_style(&file.display, &file.text);
        b.problems.extend(warnings);
        if !errors.is_empty() {
            b.problems.extend(errors);
            continue;
        }
        match parse_yaml::<raw::Document>(&file.display, &file.text) {
            Ok(content) => parsed.push((index, content)),
            Err(problem) => b.problems.push(problem),
        }
    }
    parsed
}

/// Whether `problems` hold an error (not only warnings).
fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}

/// Conditions, sets and ticket fields share one namespace in expressions.
fn names(b: &mut Builder, engine: &rhai::Engine, schema: &Schema, declared: &Declared) {
    let conditions = &declared.conditions;
    for (registry, kind) in [(conditions, "condition"), (&declared.sets, "set")] {
        for (name, loc) in &registry.names {
            if is_keyword(engine, name) {
                let message = format!("`{name}` is a keyword of the expression language");
                let problem = Problem::error(Code::BadId, message, Some(loc.clone()));
                let help = format!(
                    "no expression could use the {kind} by this name; call it `{name}_{kind}`"
                );
                b.problems.push(problem.with_help(help));
            }
        }
    }
    for (name, loc) in &conditions.names {
        if schema.node(&[name]).is_some() {
            let message = format!("condition `{name}` has the name of a ticket field");
            b.problems
                .push(Problem::error(Code::NameClash, message, Some(loc.clone())));
        }
    }
    for (name, loc) in &declared.sets.names {
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
                .push(Problem::error(Code::NameClash, message, Some(loc.clone())));
        }
    }
}

/// A set's members as the array an expression run by rhai sees.
fn set_array(members: &[std::sync::Arc<str>]) -> rhai::Dynamic {
    let array: rhai::Array = members
        .iter()
        .map(|m| rhai::Dynamic::from(m.to_string()))
        .collect();
    rhai::Dynamic::from_array(array)
}

fn policy(sources: &Sources) -> PolicyRef {
    let manifest = &sources.manifest;
    PolicyRef {
        name: manifest.name.value.as_str().into(),
        version: manifest.version.value.as_str().into(),
        digest: sources.digest.as_str().into(),
    }
}

/// The manifest and the files it lists, as loaded: what the digest covers.
fn files_as_loaded(sources: &Sources) -> Vec<PolicyFile> {
    std::iter::once(&sources.manifest_file)
        .chain(&sources.files)
        .map(|f| PolicyFile {
            name: f.name.to_string(),
            text: f.text.to_string(),
        })
        .collect()
}

/// The linked sections of the policy files.
struct Sections {
    constraints: Vec<crate::model::Constraint>,
    rules: Vec<crate::model::Rule>,
    paths: Vec<crate::model::PathDef>,
    actions: Vec<crate::model::ActionDef>,
}

/// Every section of the policy files, linked in order.
fn sections(linker: &mut Linker, parsed: &Parsed) -> Sections {
    Sections {
        constraints: linker.constraints(),
        rules: linker.rules(parsed),
        paths: linker.paths(parsed),
        actions: linker.actions(parsed),
    }
}
