//! A bundle's decision as sets: the constraints, then the first rule that
//! matches, then along its path the first eligible step or the fallback,
//! then the action; at each point, the tickets that fail instead. The
//! classes it ends in are disjoint and cover every ticket the schema accepts.

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;

use super::apply;
use super::meet::meets;
use super::parallel;
use super::side::{AVal, Side};
use super::terms::{Tri, Why};
use crate::expr::native::Term;
use crate::model::decision::Stage;
use crate::model::{ActionSel, Guard, Needs};

/// An expression the analysis cannot model.
#[derive(Clone, Debug, Serialize)]
pub struct Opaque {
    /// Where it is written (`file:line:col`).
    pub location: String,
    /// The expression.
    pub expression: Arc<str>,
    /// What in it is outside the analysed subset.
    pub reason: String,
}

impl Opaque {
    fn at(expr: &crate::expr::Expression, reason: Why) -> Opaque {
        Opaque {
            location: expr.loc.to_string(),
            expression: expr.source.clone(),
            reason,
        }
    }
}

/// How a ticket's decision ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    /// Decided.
    Decided(Verdict),
    /// Refused by the schema (the field's value or presence).
    InvalidTicket,
    /// Refused by a ticket constraint.
    Constraint,
    /// An evaluation error.
    Error {
        /// What was being evaluated.
        stage: Stage,
        /// Its id.
        id: Arc<str>,
    },
}

/// What a decision says, as far as a change to it matters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Arc<str>,
    /// The vehicle, when the path chose one.
    pub vehicle: Option<Arc<str>>,
    /// The boundary rule that decided.
    pub rule: Arc<str>,
    /// The path step that chose the vehicle; `fallback` when the path's
    /// fallback applied; absent without a path.
    pub path_step: Option<Arc<str>>,
    /// The action.
    pub action: Arc<str>,
    /// Every role that may take the action.
    pub allowed_roles: Vec<Arc<str>>,
}

/// Where an evaluation error can happen, and on which tickets.
#[derive(Clone)]
pub(crate) struct Failure {
    pub set: Bdd,
    pub stage: Stage,
    pub id: Arc<str>,
    pub location: String,
    pub expression: Arc<str>,
}

/// The decision of one bundle, as sets.
pub(crate) struct Flow {
    /// Tickets the schema accepts.
    pub valid: Bdd,
    /// Of those, the ones every constraint accepts.
    pub passed: Bdd,
    /// Valid tickets no constraint refuses: decided, or failing. A class
    /// described for people may leave out the others.
    pub care: Bdd,
    /// Each class and how it ends, disjoint, covering `valid`.
    pub endings: Vec<(Bdd, Ending)>,
    pub failures: Vec<Failure>,
    /// Per rule: the tickets its condition is true on (its condition alone,
    /// a few nodes: what it decides lies within the tickets that pass the
    /// schema and constraints anyway), and those it decides.
    pub rule_guard: Vec<Bdd>,
    pub rule_decides: Vec<Bdd>,
    /// Per path: per step, the tickets it chooses; then its fallback's.
    pub steps: Vec<Vec<Bdd>>,
    pub fallbacks: Vec<Bdd>,
    /// Valid tickets no rule decides.
    pub leftover: Bdd,
}

/// The sets of a guard: where it holds, and where it fails (and why).
struct GuardSets {
    t: Bdd,
    f: Bdd,
    failures: Vec<Failure>,
}

impl Side<'_> {
    /// The bundle's decision as sets; every expression it cannot analyse
    /// instead, each with where it is and why.
    pub(crate) fn flow(&self) -> Result<Flow, Vec<Opaque>> {
        let conditions = self.conditions();
        let mut opaque = Vec::new();
        for (i, c) in conditions.iter().enumerate() {
            if let Err(why) = c {
                let expr = &self.bundle.conditions[i].expr;
                opaque.push(Opaque::at(expr, why.clone()));
            }
        }
        let known: Vec<Option<Tri>> = conditions.into_iter().map(Result::ok).collect();
        let mut walk = Walk::new(self, &known);
        walk.run(&mut opaque);
        if opaque.is_empty() {
            Ok(walk.flow)
        } else {
            opaque.sort_by(|a, b| a.location.cmp(&b.location));
            opaque.dedup_by(|a, b| a.location == b.location);
            Err(opaque)
        }
    }

    /// Each named condition's sets, dependencies first.
    fn conditions(&self) -> Vec<Result<Tri, Why>> {
        let n = self.bundle.conditions.len();
        let mut done: Vec<Option<Result<Tri, Why>>> = vec![None; n];
        for i in 0..n {
            self.condition(i, &mut done);
        }
        done.into_iter()
            .map(|c| c.unwrap_or_else(|| Err("a cycle".into())))
            .collect()
    }

    fn condition(&self, i: usize, done: &mut [Option<Result<Tri, Why>>]) {
        if done[i].is_some() {
            return;
        }
        let expr = &self.bundle.conditions[i].expr;
        for &j in &expr.conditions {
            if j != i {
                self.condition(j, done);
            }
        }
        let known: Vec<Option<Tri>> = done
            .iter()
            .map(|c| c.as_ref().and_then(|c| c.as_ref().ok().cloned()))
            .collect();
        done[i] = Some(match &expr.native {
            Some(program) => self.tri(program.term(), &known),
            None => Err(RHAI_ONLY.into()),
        });
    }
}

/// Why an expression without a native form is opaque.
const RHAI_ONLY: &str = "it runs in rhai only (a method call, an `if`, a computed value, or more operations than the analysed form allows)";

/// The walk through a bundle's rules and paths, building its `Flow`.
struct Walk<'s, 'a> {
    side: &'s Side<'a>,
    conditions: &'s [Option<Tri>],
    flow: Flow,
}

impl<'s, 'a> Walk<'s, 'a> {
    fn new(side: &'s Side<'a>, conditions: &'s [Option<Tri>]) -> Self {
        let valid = side.valid();
        let none = side.none();
        Walk {
            side,
            conditions,
            flow: Flow {
                passed: none.clone(),
                care: valid.clone(),
                valid,
                endings: Vec::new(),
                failures: Vec::new(),
                rule_guard: Vec::new(),
                rule_decides: Vec::new(),
                steps: Vec::new(),
                fallbacks: Vec::new(),
                leftover: none,
            },
        }
    }

    fn run(&mut self, opaque: &mut Vec<Opaque>) {
        let bundle = self.side.bundle;
        let mut sets = Vec::new();
        for c in &bundle.constraints {
            sets.push(self.guard(&c.guard, Stage::Constraint, &c.id, opaque));
        }
        let rules: Vec<Option<GuardSets>> = (bundle.rules.iter())
            .map(|r| self.guard(&r.guard, Stage::Rule, &r.id, opaque))
            .collect();
        let steps: Vec<Vec<Option<GuardSets>>> = (bundle.paths.iter())
            .map(|p| {
                let guards = p.steps.iter();
                guards
                    .map(|s| self.guard(&s.guard, Stage::PathStep, &s.id, opaque))
                    .collect()
            })
            .collect();
        if !opaque.is_empty() {
            return;
        }
        let sets: Vec<GuardSets> = sets.into_iter().flatten().collect();
        let reached = self.constraints(&sets);
        let rules: Vec<GuardSets> = rules.into_iter().flatten().collect();
        let steps: Vec<Vec<GuardSets>> = (steps.into_iter())
            .map(|p| p.into_iter().flatten().collect())
            .collect();
        self.rules(reached, &rules, &steps);
    }

    /// The sets of a guard, or `None` (with why) if it cannot be analysed.
    fn guard(
        &self,
        guard: &Guard,
        stage: Stage,
        id: &Arc<str>,
        opaque: &mut Vec<Opaque>,
    ) -> Option<GuardSets> {
        let expr = &guard.expr;
        let tri = match (&expr.native, expr.always) {
            (_, true) => Ok(Tri {
                t: self.side.everything(),
                f: self.side.none(),
                e: self.side.none(),
            }),
            (Some(program), false) => self.side.tri(program.term(), self.conditions),
            (None, false) => Err(RHAI_ONLY.into()),
        };
        let tri = match tri {
            Ok(tri) => tri,
            Err(why) => {
                opaque.push(Opaque::at(expr, why));
                return None;
            }
        };
        let mut failures = Vec::new();
        let mut failing = self.side.none();
        for c in needs(self.side.bundle, guard) {
            let Some(Some(cond)) = self.conditions.get(c) else {
                continue;
            };
            let condition = &self.side.bundle.conditions[c];
            let set = cond.e.and_not(&failing);
            failing = failing.or(&set);
            failures.push(Failure {
                set,
                stage: Stage::Condition,
                id: condition.name.clone(),
                location: condition.expr.loc.to_string(),
                expression: condition.expr.source.clone(),
            });
        }
        let own = tri.e.and_not(&failing);
        failing = failing.or(&own);
        failures.push(Failure {
            set: own,
            stage,
            id: id.clone(),
            location: expr.loc.to_string(),
            expression: expr.source.clone(),
        });
        Some(GuardSets {
            t: tri.t.and_not(&failing),
            f: tri.f.and_not(&failing),
            failures,
        })
    }

    /// Every constraint is evaluated; the first failure stops the decision.
    fn constraints(&mut self, sets: &[GuardSets]) -> Bdd {
        let valid = self.flow.valid.clone();
        let mut failing = self.side.none();
        let mut rejected = self.side.none();
        let mut found = Found::default();
        for set in sets {
            let ok = valid.and_not(&failing);
            let before = failing.clone();
            for f in &set.failures {
                failing = failing.or(&f.set.and(&ok));
            }
            let mut scoped = set.failures.clone();
            for s in &mut scoped {
                s.set = s.set.and(&ok).and_not(&before);
            }
            found.fail(&valid, &scoped);
            rejected = rejected.or(&set.f);
        }
        self.flow.absorb(found);
        let rejected = valid.and_not(&failing).and(&rejected);
        self.flow.care = valid.and_not(&rejected);
        if !rejected.is_false() {
            self.flow
                .endings
                .push((rejected.clone(), Ending::Constraint));
        }
        let passed = valid.and_not(&failing).and_not(&rejected);
        self.flow.passed = passed.clone();
        passed
    }

    /// The rules in three phases. Which tickets reach each rule is one
    /// chain, rule after rule; what a rule then decides depends only on
    /// the tickets reaching it, so the rules are decided on the machine's
    /// cores; and their classes are gathered in rule order.
    fn rules(&mut self, reached: Bdd, rules: &[GuardSets], steps: &[Vec<GuardSets>]) {
        let bundle = self.side.bundle;
        let n_paths = bundle.paths.len();
        self.flow.steps = (bundle.paths.iter())
            .map(|p| vec![self.side.none(); p.steps.len()])
            .collect();
        self.flow.fallbacks = vec![self.side.none(); n_paths];
        self.flow.rule_guard = rules.iter().map(|sets| sets.t.clone()).collect();
        let reaching = self.reaching(reached, rules);
        let order: Vec<usize> = (0..rules.len()).collect();
        let decided = parallel::map(&order, |&i| {
            let reached = reaching[i].as_ref()?;
            Some(self.decide(&bundle.rules[i], reached, &rules[i], steps))
        });
        for decided in decided {
            let Some((decides, found)) = decided else {
                self.flow.rule_decides.push(self.side.none());
                continue;
            };
            self.flow.rule_decides.push(decides);
            self.flow.absorb(found);
        }
    }

    /// The tickets reaching each rule, where the rule can matter to them; a
    /// rule that neither matches nor fails on any ticket still reaching it
    /// leaves them all to the next (most of a long list of exceptions, once
    /// earlier ones take their tickets): no diagram is kept for it.
    fn reaching(&mut self, mut reached: Bdd, rules: &[GuardSets]) -> Vec<Option<Bdd>> {
        let mut reaching = Vec::with_capacity(rules.len());
        for sets in rules {
            let fails = sets.failures.iter().any(|f| meets(&f.set, &reached));
            if !fails && !meets(&reached, &sets.t) {
                reaching.push(None);
                continue;
            }
            let next = apply::and(&reached, &sets.f);
            reaching.push(Some(std::mem::replace(&mut reached, next)));
        }
        self.flow.leftover = reached;
        reaching
    }

    /// What one rule does with the tickets reaching it.
    fn decide(
        &self,
        rule: &crate::model::Rule,
        reached: &Bdd,
        sets: &GuardSets,
        steps: &[Vec<GuardSets>],
    ) -> (Bdd, Found) {
        let mut found = Found::default();
        found.fail(reached, &sets.failures);
        let decides = apply::and(reached, &sets.t);
        if !decides.is_false() {
            match rule.path {
                None => self.act(&mut found, &decides, rule, rule.outcome, &rule.action, None),
                Some(p) => self.path(&mut found, &decides, rule, p, &steps[p]),
            }
        }
        (decides, found)
    }

    fn path(
        &self,
        found: &mut Found,
        decides: &Bdd,
        rule: &crate::model::Rule,
        p: usize,
        steps: &[GuardSets],
    ) {
        let bundle = self.side.bundle;
        let path = &bundle.paths[p];
        let mut left = decides.clone();
        for (i, (step, sets)) in path.steps.iter().zip(steps).enumerate() {
            found.fail(&left, &sets.failures);
            let chosen = apply::and(&left, &sets.t);
            left = apply::and(&left, &sets.f);
            if !chosen.is_false() {
                found.steps.push((p, i, chosen.clone()));
                let vehicle = bundle.vehicles[step.vehicle].id.clone();
                let via = Some((step.id.clone(), Some(vehicle)));
                self.act(found, &chosen, rule, rule.outcome, &rule.action, via);
            }
        }
        if left.is_false() {
            return;
        }
        match &path.fallback {
            Some(f) => {
                found.fallbacks.push((p, left.clone()));
                let via = Some(("fallback".into(), None));
                self.act(found, &left, rule, f.outcome, &f.action, via);
            }
            None => found.failed(
                left,
                Stage::Path,
                path.id.clone(),
                String::new(),
                "(none)".into(),
            ),
        }
    }

    /// The decided classes of `set`, split by the action a field picks.
    fn act(
        &self,
        found: &mut Found,
        set: &Bdd,
        rule: &crate::model::Rule,
        outcome: usize,
        action: &ActionSel,
        via: Option<(Arc<str>, Option<Arc<str>>)>,
    ) {
        let bundle = self.side.bundle;
        let (path_step, vehicle) = match via {
            Some((step, vehicle)) => (Some(step), vehicle),
            None => (None, None),
        };
        let verdict = |action: usize| Verdict {
            outcome: bundle.outcomes[outcome].id.clone(),
            vehicle: vehicle.clone(),
            rule: rule.id.clone(),
            path_step: path_step.clone(),
            action: bundle.actions[action].id.clone(),
            allowed_roles: bundle.actions[action].roles.clone(),
        };
        match action {
            ActionSel::Fixed(a) => {
                let ending = Ending::Decided(verdict(*a));
                found.endings.push((set.clone(), ending));
            }
            ActionSel::ByField { field, cases } => {
                let mut left = set.clone();
                if let Ok(dim) = self.side.dim(*field)
                    && let Ok(cells) = self.side.cells(dim)
                {
                    for (cell, value) in cells {
                        let AVal::Str(v) = value else { continue };
                        let Some((_, a)) = cases.iter().find(|(case, _)| **case == *v) else {
                            continue;
                        };
                        let picked = set.and(&cell);
                        left = left.and_not(&cell);
                        if !picked.is_false() {
                            found.endings.push((picked, Ending::Decided(verdict(*a))));
                        }
                    }
                }
                if !left.is_false() {
                    let path = bundle.schema.fields[*field].path.clone();
                    found.failed(left, Stage::Rule, rule.id.clone(), String::new(), path);
                }
            }
        }
    }
}

/// What one rule (or the constraints) adds to the flow, gathered apart so
/// that rules can be decided on several cores and added in rule order.
#[derive(Default)]
struct Found {
    endings: Vec<(Bdd, Ending)>,
    failures: Vec<Failure>,
    /// (path, step, tickets it chooses).
    steps: Vec<(usize, usize, Bdd)>,
    /// (path, tickets its fallback takes).
    fallbacks: Vec<(usize, Bdd)>,
}

impl Found {
    /// The failures of `failures` on tickets in `within`.
    fn fail(&mut self, within: &Bdd, failures: &[Failure]) {
        for failure in failures {
            if !meets(&failure.set, within) {
                continue;
            }
            let set = apply::and(&failure.set, within);
            if set.is_false() {
                continue;
            }
            let ending = Ending::Error {
                stage: failure.stage,
                id: failure.id.clone(),
            };
            self.endings.push((set.clone(), ending));
            self.failures.push(Failure {
                set,
                ..failure.clone()
            });
        }
    }

    /// An evaluation error on `set`, with nothing written to point at.
    fn failed(
        &mut self,
        set: Bdd,
        stage: Stage,
        id: Arc<str>,
        location: String,
        expression: Arc<str>,
    ) {
        let ending = Ending::Error {
            stage,
            id: id.clone(),
        };
        self.endings.push((set.clone(), ending));
        self.failures.push(Failure {
            set,
            stage,
            id,
            location,
            expression,
        });
    }
}

impl Flow {
    fn absorb(&mut self, found: Found) {
        self.endings.extend(found.endings);
        self.failures.extend(found.failures);
        for (p, s, chosen) in found.steps {
            self.steps[p][s] = self.steps[p][s].or(&chosen);
        }
        for (p, left) in found.fallbacks {
            self.fallbacks[p] = self.fallbacks[p].or(&left);
        }
    }
}

/// The named conditions a guard needs, dependencies first, in the order
/// evaluation runs them.
fn needs(bundle: &crate::model::Compiled, guard: &Guard) -> Vec<usize> {
    match &guard.needs {
        Needs::Listed(listed) => listed.clone(),
        Needs::Found => {
            let mut seen = std::collections::BTreeSet::new();
            let mut stack = guard.expr.conditions.clone();
            while let Some(c) = stack.pop() {
                if seen.insert(c) {
                    stack.extend(&bundle.conditions[c].expr.conditions);
                }
            }
            let mut found: Vec<usize> = seen.into_iter().collect();
            found.sort_unstable_by_key(|&c| bundle.rank[c]);
            found
        }
    }
}

/// Every field a term reads, and the terms below it, for gathering literals.
pub(crate) fn visit<'t>(term: &'t Term, out: &mut Vec<&'t Term>) {
    out.push(term);
    match term {
        Term::Not(x) => visit(x, out),
        Term::And(xs) | Term::Or(xs) => xs.iter().for_each(|x| visit(x, out)),
        Term::Compare(_, pair) | Term::In(pair) => {
            visit(&pair.0, out);
            visit(&pair.1, out);
        }
        _ => {}
    }
}
