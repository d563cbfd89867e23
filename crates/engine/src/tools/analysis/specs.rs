//! Which fields the space needs, and what splits each: the values a schema
//! declares, the literals and thresholds the conditions compare with, and
//! whether the field can be absent in a way that matters.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::flow::visit;
use super::space::FieldSpec;
use crate::expr::native::Term;
use crate::model::{ActionSel, Compiled, Guard};
use crate::schema::{FieldDef, Kind};

/// The fields of the space for `bundles` (one, or the two sides of a plan).
pub(crate) fn specs(bundles: &[&Compiled]) -> Vec<FieldSpec> {
    let mut paths: Vec<Arc<str>> = Vec::new();
    let mut add = |path: &Arc<str>| {
        if !paths.contains(path) {
            paths.push(path.clone());
        }
    };
    for b in bundles {
        for &i in &read_fields(b) {
            add(&b.schema.fields[i].path);
        }
    }
    if let [base, head] = bundles {
        for path in changed_fields(base, head) {
            add(&path);
        }
    }
    paths.iter().map(|path| spec(path, bundles)).collect()
}

/// Every field a guard reads or an action is picked by, in schema order.
fn read_fields(b: &Compiled) -> Vec<usize> {
    let mut read: BTreeSet<usize> = BTreeSet::new();
    for guard in guards(b) {
        read.extend(guard.reads.iter().copied());
    }
    // A condition no guard needs is still analysed (and may be opaque).
    for condition in &b.conditions {
        read.extend(condition.expr.reads.iter().copied());
    }
    let selectors = b.rules.iter().map(|r| &r.action);
    let fallbacks = b.paths.iter().filter_map(|p| p.fallback.as_ref());
    for action in selectors.chain(fallbacks.map(|f| &f.action)) {
        if let ActionSel::ByField { field, .. } = action {
            read.insert(*field);
        }
    }
    read.into_iter().collect()
}

/// Every guard of a bundle: constraints, rules, path steps.
pub(crate) fn guards(b: &Compiled) -> impl Iterator<Item = &Guard> {
    let steps = b
        .paths
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| &s.guard));
    let constraints = b.constraints.iter().map(|c| &c.guard);
    constraints
        .chain(b.rules.iter().map(|r| &r.guard))
        .chain(steps)
}

/// Fields declared differently by the two sides (or by one only).
fn changed_fields(base: &Compiled, head: &Compiled) -> Vec<Arc<str>> {
    let differs = |a: Option<&FieldDef>, b: Option<&FieldDef>| match (a, b) {
        (Some(a), Some(b)) => {
            a.kind != b.kind || a.required != b.required || a.default != b.default
        }
        _ => true,
    };
    fn lookup<'b>(b: &'b Compiled, path: &str) -> Option<&'b FieldDef> {
        b.schema.index.get(path).map(|&i| &b.schema.fields[i])
    }
    let paths = base.schema.fields.iter().chain(&head.schema.fields);
    paths
        .filter(|f| differs(lookup(base, &f.path), lookup(head, &f.path)))
        .map(|f| f.path.clone())
        .collect()
}

/// The cells of one field across every side.
fn spec(path: &Arc<str>, bundles: &[&Compiled]) -> FieldSpec {
    let mut spec = FieldSpec {
        path: path.clone(),
        ..FieldSpec::default()
    };
    let mut absence: Vec<Option<(bool, Option<Value>)>> = Vec::new();
    for b in bundles {
        let Some(&index) = b.schema.index.get(&**path) else {
            absence.push(None);
            continue;
        };
        let def = &b.schema.fields[index];
        declared(&mut spec, def);
        absence.push(Some((def.required, def.default.clone())));
        literals(&mut spec, b, index);
    }
    spec.absent = absence
        .iter()
        .any(|a| matches!(a, None | Some((false, None))))
        || absence.windows(2).any(|w| w[0] != w[1]);
    // Every side fills an absent field with the same default: a ticket that
    // leaves it out is in the default's cell.
    if let (false, Some(Some((false, Some(default))))) = (spec.absent, absence.first()) {
        spec.default = Some(default.clone());
    }
    spec
}

/// What a field's declaration adds to its cells.
fn declared(spec: &mut FieldSpec, def: &FieldDef) {
    match &def.kind {
        Kind::Enum(values) => spec.strings.extend(values.iter().cloned()),
        Kind::String | Kind::Timestamp => spec.other_string = true,
        Kind::Bool => spec.bools = true,
        Kind::Integer => {
            spec.ints.get_or_insert_with(BTreeSet::new);
        }
        Kind::List(values) => spec
            .list
            .get_or_insert_with(BTreeSet::new)
            .extend(values.iter().cloned()),
    }
    match &def.default {
        Some(Value::String(s)) if !matches!(def.kind, Kind::List(_)) => {
            spec.strings.insert(s.as_str().into());
        }
        Some(Value::Number(n)) => {
            if let (Some(ints), Some(n)) = (&mut spec.ints, n.as_i64()) {
                ints.insert(n);
            }
        }
        _ => {}
    }
}

/// The literals and thresholds a bundle's conditions compare field `index` with.
fn literals(spec: &mut FieldSpec, b: &Compiled, index: usize) {
    let exprs = guards(b).map(|g| &g.expr);
    let exprs = exprs.chain(b.conditions.iter().map(|c| &c.expr));
    let mut terms = Vec::new();
    for expr in exprs {
        if let Some(program) = &expr.native {
            visit(program.term(), &mut terms);
        }
    }
    for term in terms {
        let (a, b) = match term {
            Term::Compare(_, pair) | Term::In(pair) => (&pair.0, &pair.1),
            _ => continue,
        };
        for (field, other) in [(a, b), (b, a)] {
            if !matches!(field, Term::Field(i) if *i == index) {
                continue;
            }
            match other {
                Term::Str(s) if spec.list.is_none() => {
                    spec.strings.insert(s.as_ref().into());
                }
                Term::List(items) => spec
                    .strings
                    .extend(items.iter().map(|s| Arc::from(s.as_ref()))),
                Term::Int(n) => {
                    if let Some(ints) = &mut spec.ints {
                        ints.insert(*n);
                    }
                }
                _ => {}
            }
        }
    }
}
