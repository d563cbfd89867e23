//! `triage table`: for each rule and path step, the classes of tickets it
//! decides, in the order the bundle tries them: the decision table that
//! shows which rule wins for each combination of values.

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;

use super::classes::{Class, cube, describe, ticket};
use super::flow::{Ending, Flow, Opaque};
use super::side::Side;
use super::space::Space;
use super::specs::specs;
use super::split::{Care, classes};
use crate::engine::Bundle;
use crate::model::decision::PolicyRef;

/// The most classes a row lists; more are counted, not listed.
const ROW_CLASSES: usize = 64;

/// The decision table of a bundle.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// The bundle.
    pub policy: PolicyRef,
    /// Whether every row is exact (false when an expression is opaque).
    pub proven: bool,
    /// Why it is not proven, when it is not.
    pub not_proven: Vec<String>,
    /// The expressions that stood in the way.
    pub opaque: Vec<Opaque>,
    /// One row a rule, or a rule's path step (or fallback), in order.
    pub rows: Vec<Row>,
}

/// What one rule (and path step) decides.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The rule.
    pub rule: Arc<str>,
    /// The path step that chose the vehicle, or `fallback`; absent without a path.
    pub path_step: Option<Arc<str>>,
    /// The outcome.
    pub outcome: Arc<str>,
    /// The vehicle.
    pub vehicle: Option<Arc<str>>,
    /// The action.
    pub action: Arc<str>,
    /// Where the rule is written.
    pub location: String,
    /// The classes of tickets it decides, disjoint.
    pub classes: Vec<Class>,
    /// The share of the valid tickets it decides, all classes together.
    pub share: f64,
    /// Classes beyond the listed ones.
    pub more: usize,
}

impl Bundle {
    /// The bundle's decision table.
    pub fn table(&self) -> Table {
        let mut table = Table {
            policy: self.policy().clone(),
            proven: false,
            not_proven: Vec::new(),
            opaque: Vec::new(),
            rows: Vec::new(),
        };
        let Some(space) = Space::new(&specs(&[&self.inner])) else {
            table.not_proven.push(super::check::TOO_LARGE.into());
            return table;
        };
        table.proven = true;
        let side = Side::new(&self.inner, &space);
        match side.flow() {
            Ok(flow) => table.rows = rows(self, &space, &flow),
            Err(opaque) => {
                table.proven = false;
                table
                    .not_proven
                    .push("an expression cannot be analysed".into());
                table.opaque = opaque;
            }
        }
        table
    }
}

fn rows(bundle: &Bundle, space: &Space, flow: &Flow) -> Vec<Row> {
    let mut rows: Vec<(Row, Bdd)> = Vec::new();
    for (set, ending) in &flow.endings {
        let Ending::Decided(v) = ending else { continue };
        let same = |r: &Row| r.rule == v.rule && r.path_step == v.path_step && r.action == v.action;
        match rows.iter_mut().find(|(r, _)| same(r)) {
            Some((_, s)) => *s = s.or(set),
            None => {
                let location = (bundle.inner.rules.iter())
                    .find(|r| r.id == v.rule)
                    .map(|r| r.guard.expr.loc.to_string())
                    .unwrap_or_default();
                let row = Row {
                    rule: v.rule.clone(),
                    path_step: v.path_step.clone(),
                    outcome: v.outcome.clone(),
                    vehicle: v.vehicle.clone(),
                    action: v.action.clone(),
                    location,
                    classes: Vec::new(),
                    share: 0.0,
                    more: 0,
                };
                rows.push((row, set.clone()));
            }
        }
    }
    let mut n = 0;
    let care = Care::new(space, &flow.care);
    let size = space.size(&flow.valid);
    rows.into_iter()
        .map(|(mut row, set)| {
            let parts = classes(space, &set, &care, ROW_CLASSES + 1);
            row.more = parts.len().saturating_sub(ROW_CLASSES);
            row.share = space.share(&set, size);
            for p in parts.iter().take(ROW_CLASSES) {
                let exact = cube(space, p).and(&set);
                let Some(valuation) = space.pick(&exact) else {
                    continue;
                };
                n += 1;
                row.classes.push(Class {
                    class: describe(space, p),
                    share: space.share(&exact, size),
                    witness: ticket(space, &valuation, &bundle.inner, n),
                });
            }
            row
        })
        .collect()
}
