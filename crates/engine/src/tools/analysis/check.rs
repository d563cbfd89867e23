//! `triage check`'s proofs: every valid ticket gets a decision, every rule,
//! path step and fallback decides some ticket, no ticket can fail at run
//! time, and, for each rule, which earlier rules take tickets it also
//! matches. Each finding carries a witness that the engine decides as stated.

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;

use super::apply;
use super::classes::{Class, describe, ticket};
use super::flow::{Failure, Flow, Opaque};
use super::meet::meets;
use super::parallel;
use super::side::Side;
use super::space::Space;
use super::specs::specs;
use super::split::{Care, classes};
use crate::engine::Bundle;
use crate::model::Compiled;
use crate::model::decision::{RejectionKind, Stage};

/// What the analysis of one bundle found.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// Whether every property was decided exactly: false when an
    /// expression could not be analysed, or a witness disagreed.
    pub proven: bool,
    /// Why it is not proven, when it is not.
    pub not_proven: Vec<String>,
    /// The expressions that stood in the way of a proof.
    pub opaque: Vec<Opaque>,
    /// Problems found: tickets without a decision, run-time errors, rules
    /// and steps that decide nothing.
    pub findings: Vec<Finding>,
    /// For each rule, the earlier rules that take tickets it also matches.
    pub precedence: Vec<Precedence>,
    /// The fields the analysis splits, with how many cells each has.
    pub fields: Vec<(Arc<str>, usize)>,
}

/// One finding, with where it is and a ticket that shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The rule, step, condition or constraint it is about.
    pub id: String,
    /// Where that is written, when it is written somewhere.
    pub location: String,
    /// The problem in one line.
    pub message: String,
    /// The tickets it concerns, when there are some.
    pub class: Option<Class>,
    /// For a rule that decides nothing: the nearest rules before it that
    /// take its tickets (at most five, in rule order).
    pub taken_by: Vec<String>,
    /// Whether more rules before it than `taken_by` lists take some.
    pub taken_by_more: bool,
}

/// The kinds of findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Valid tickets no rule decides (an error).
    Undecided,
    /// Valid tickets on which evaluation fails (an error).
    EvaluationError,
    /// A rule that decides no ticket (a warning).
    UnreachableRule,
    /// A path step that chooses no ticket's vehicle (a warning).
    UnreachableStep,
    /// A fallback no ticket reaches (a warning).
    UnreachableFallback,
    /// A witness the engine decides otherwise than the analysis says: a bug
    /// in the analysis, and the result is not proven (an error).
    Disagreement,
}

impl FindingKind {
    /// Whether the finding is an error (the others are warnings).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            FindingKind::Undecided | FindingKind::EvaluationError | FindingKind::Disagreement
        )
    }
}

/// The earlier rules that take tickets a rule also matches.
#[derive(Clone, Debug, Serialize)]
pub struct Precedence {
    /// The rule.
    pub rule: Arc<str>,
    /// Where it is written.
    pub location: String,
    /// The nearest earlier rules that take some of its tickets, with the
    /// class each takes (at most five, listed in rule order).
    pub taken: Vec<Taking>,
    /// Whether more earlier rules than `taken` lists take some of its
    /// tickets.
    pub more: bool,
}

/// An earlier rule and the tickets it takes.
#[derive(Clone, Debug, Serialize)]
pub struct Taking {
    /// The earlier rule.
    pub by: Arc<str>,
    /// Where it is written.
    pub location: String,
    /// The tickets both rules match, which the earlier one decides.
    pub class: Class,
}

/// A class found, before its witness is numbered.
struct Described {
    text: String,
    share: f64,
    valuation: biodivine_lib_bdd::BddValuation,
}

/// How many classes a finding's predicate shows at most.
const CLASSES: usize = 4;

/// How many rules a precedence entry lists; the rest are counted.
const TAKERS: usize = 5;

impl Bundle {
    /// Analyses the bundle exactly: see the module documentation.
    pub fn analyse(&self) -> Analysis {
        analyse(self, &self.inner)
    }
}

/// Why a space that is too large is not analysed.
pub(crate) const TOO_LARGE: &str =
    "the ticket space has more cells than the analysis can number (65,535)";

fn analyse(bundle: &Bundle, b: &Compiled) -> Analysis {
    let unproven = |not_proven: Vec<String>, opaque, fields| Analysis {
        proven: false,
        not_proven,
        opaque,
        findings: Vec::new(),
        precedence: Vec::new(),
        fields,
    };
    let Some(space) = Space::new(&specs(&[b])) else {
        return unproven(vec![TOO_LARGE.into()], Vec::new(), Vec::new());
    };
    let side = Side::new(b, &space);
    let fields = space
        .dims
        .iter()
        .map(|d| (d.path.clone(), cells(d)))
        .collect();
    let flow = match side.flow() {
        Ok(flow) => flow,
        Err(opaque) => {
            let why = "an expression cannot be analysed".to_owned();
            return unproven(vec![why], opaque, fields);
        }
    };
    let mut report = Report {
        bundle,
        b,
        space: &space,
        flow: &flow,
        care: Care::new(&space, &flow.care),
        takers: Vec::new(),
        size: space.size(&flow.valid),
        findings: Vec::new(),
        witnesses: 0,
    };
    let rules: Vec<usize> = (0..b.rules.len()).collect();
    report.takers = parallel::map(&rules, |&i| report.find_takers(i));
    report.undecided();
    report.failures();
    report.unreachable();
    let precedence = report.precedence();
    let disagree = (report.findings.iter()).any(|f| f.kind == FindingKind::Disagreement);
    let not_proven = match disagree {
        true => vec!["the engine decides a witness otherwise than the analysis".to_owned()],
        false => Vec::new(),
    };
    Analysis {
        proven: !disagree,
        not_proven,
        opaque: Vec::new(),
        findings: report.findings,
        precedence,
        fields,
    }
}

fn cells(dim: &super::space::Dim) -> usize {
    match &dim.shape {
        super::space::Shape::Cells { cells, .. } => cells.len(),
        super::space::Shape::List { members, absent } => {
            members.len() + usize::from(absent.is_some())
        }
    }
}

struct Report<'a> {
    bundle: &'a Bundle,
    b: &'a Compiled,
    space: &'a Space,
    flow: &'a Flow,
    care: Care,
    /// For each rule, what `find_takers` says of it.
    takers: Vec<(Vec<usize>, bool)>,
    /// The number of valid combinations of cells, for shares.
    size: f64,
    findings: Vec<Finding>,
    witnesses: usize,
}

impl Report<'_> {
    /// A class of `set`: its first few disjoint parts, its share, a witness.
    fn class(&mut self, set: &Bdd) -> Option<Class> {
        let found = self.described(set)?;
        Some(self.numbered(found))
    }

    /// What a class of `set` says, before its witness is numbered: pure,
    /// so the precedence report asks it of many pairs at once.
    fn described(&self, set: &Bdd) -> Option<Described> {
        let valuation = self.space.pick(set)?;
        let parts = classes(self.space, set, &self.care, CLASSES);
        let mut text: Vec<String> = parts
            .iter()
            .take(CLASSES)
            .map(|p| describe(self.space, p))
            .collect();
        if parts.len() >= CLASSES {
            text.push("…".to_owned());
        }
        Some(Described {
            text: text.join("; or "),
            share: self.space.share(set, self.size),
            valuation,
        })
    }

    /// The class, with the next witness number.
    fn numbered(&mut self, found: Described) -> Class {
        self.witnesses += 1;
        self.witnessed(&found, self.witnesses)
    }

    /// The class, with witness number `n`.
    fn witnessed(&self, found: &Described, n: usize) -> Class {
        Class {
            class: found.text.clone(),
            share: found.share,
            witness: ticket(self.space, &found.valuation, self.b, n),
        }
    }

    fn undecided(&mut self) {
        if let Some(class) = self.class(&self.flow.leftover.clone()) {
            self.findings.push(Finding {
                kind: FindingKind::Undecided,
                id: String::new(),
                location: String::new(),
                message: "no rule decides these tickets".to_owned(),
                class: Some(class),
                taken_by: Vec::new(),
                taken_by_more: false,
            });
        }
    }

    fn failures(&mut self) {
        for failure in &self.flow.failures {
            let Some(class) = self.class(&failure.set) else {
                continue;
            };
            let agrees = fails_as(self.bundle, &class.witness, failure);
            self.findings.push(Finding {
                kind: FindingKind::EvaluationError,
                id: failure.id.to_string(),
                location: failure.location.clone(),
                message: format!(
                    "{} `{}` fails at run time: `{}`",
                    failure.stage, failure.id, failure.expression
                ),
                class: Some(class.clone()),
                taken_by: Vec::new(),
                taken_by_more: false,
            });
            if !agrees {
                self.disagree(&failure.id, &class, "an evaluation error");
            }
        }
    }

    fn disagree(&mut self, id: &str, class: &Class, claim: &str) {
        self.findings.push(Finding {
            kind: FindingKind::Disagreement,
            id: id.to_owned(),
            location: String::new(),
            message: format!(
                "the analysis expects {claim} for this ticket, and the engine decides otherwise"
            ),
            class: Some(class.clone()),
            taken_by: Vec::new(),
            taken_by_more: false,
        });
    }

    fn unreachable(&mut self) {
        let b = self.b;
        for (i, rule) in b.rules.iter().enumerate() {
            if !self.flow.rule_decides[i].is_false() {
                continue;
            }
            let (takers, taken_by_more) = &self.takers[i];
            let taken_by = (takers.iter().rev())
                .map(|&j| b.rules[j].id.to_string())
                .collect::<Vec<_>>();
            let message = match taken_by.is_empty() {
                true => format!(
                    "rule `{}` decides no ticket: its condition is never true for a ticket the schema and constraints accept",
                    rule.id
                ),
                false => format!(
                    "rule `{}` decides no ticket: the rules before it take every ticket it matches",
                    rule.id
                ),
            };
            self.findings.push(Finding {
                kind: FindingKind::UnreachableRule,
                id: rule.id.to_string(),
                location: rule.guard.expr.loc.to_string(),
                message,
                class: None,
                taken_by,
                taken_by_more: *taken_by_more,
            });
        }
        for (p, path) in b.paths.iter().enumerate() {
            let used = b
                .rules
                .iter()
                .enumerate()
                .any(|(i, r)| r.path == Some(p) && !self.flow.rule_decides[i].is_false());
            if !used {
                continue;
            }
            for (s, step) in path.steps.iter().enumerate() {
                if self.flow.steps[p].get(s).is_none_or(Bdd::is_false) {
                    self.findings.push(Finding {
                        kind: FindingKind::UnreachableStep,
                        id: format!("{}/{}", path.id, step.id),
                        location: step.guard.expr.loc.to_string(),
                        message: format!(
                            "step `{}` of path `{}` chooses no ticket's vehicle",
                            step.id, path.id
                        ),
                        class: None,
                        taken_by: Vec::new(),
                        taken_by_more: false,
                    });
                }
            }
            if path.fallback.is_some() && self.flow.fallbacks[p].is_false() {
                self.findings.push(Finding {
                    kind: FindingKind::UnreachableFallback,
                    id: format!("{}/fallback", path.id),
                    location: String::new(),
                    message: format!("the fallback of path `{}` is never reached", path.id),
                    class: None,
                    taken_by: Vec::new(),
                    taken_by_more: false,
                });
            }
        }
    }

    fn precedence(&mut self) -> Vec<Precedence> {
        let b = self.b;
        // A catch-all takes what the rules above leave, by design.
        let pairs: Vec<(usize, usize)> = (0..b.rules.len())
            .filter(|&i| !b.rules[i].guard.expr.always)
            .flat_map(|i| self.takers[i].0.iter().map(move |&j| (i, j)))
            .collect();
        let flow = self.flow;
        let found = parallel::map(&pairs, |&(i, j)| {
            self.described(&apply::and(&flow.rule_decides[j], &flow.rule_guard[i]))
        });
        // Witnesses are numbered in rule order, whichever core builds them.
        let first = self.witnesses;
        let found: Vec<(usize, usize, usize, Described)> = (pairs.iter().zip(found))
            .filter_map(|(&(i, j), found)| Some((i, j, found?)))
            .enumerate()
            .map(|(k, (i, j, found))| (i, j, first + k + 1, found))
            .collect();
        self.witnesses += found.len();
        let takings = parallel::map(&found, |(i, j, n, found)| {
            let class = self.witnessed(found, *n);
            let agrees = decided_by(self.bundle, &class.witness, &b.rules[*j].id);
            (*i, *j, class, agrees)
        });
        let mut out: Vec<Precedence> = Vec::new();
        for (i, j, class, agrees) in takings {
            let by = b.rules[j].id.clone();
            if !agrees {
                self.disagree(&by, &class, "a decision by this rule");
            }
            let taking = Taking {
                by,
                location: b.rules[j].guard.expr.loc.to_string(),
                class,
            };
            let rule = &b.rules[i];
            match out.last_mut() {
                Some(p) if p.rule == rule.id => p.taken.push(taking),
                _ => out.push(Precedence {
                    rule: rule.id.clone(),
                    location: rule.guard.expr.loc.to_string(),
                    taken: vec![taking],
                    more: self.takers[i].1,
                }),
            }
        }
        // Found nearest first; listed in rule order.
        for p in &mut out {
            p.taken.reverse();
        }
        out
    }

    /// The nearest rules before rule `i` that decide some ticket it
    /// matches (at most `TAKERS`, nearest first), and whether there are
    /// more. The decided sets are disjoint, so each is tested alone; a rule
    /// whose own condition shares no ticket with rule `i`'s cannot decide
    /// one of them, which spares the larger test. Stopping at the nearest
    /// few keeps the report linear in the rules: which rules take a rule's
    /// tickets is a question about pairs, and a thousand rules over
    /// independent fields have hundreds of thousands of such pairs.
    fn find_takers(&self, i: usize) -> (Vec<usize>, bool) {
        let flow = self.flow;
        // What rule `j` decides lies within the tickets that pass the
        // schema and constraints, so meeting rule `i`'s bare condition (a
        // few nodes) is meeting its tickets.
        let guard = &flow.rule_guard[i];
        let mut found = (0..i)
            .rev()
            .filter(|&j| !flow.rule_decides[j].is_false())
            .filter(|&j| meets(&flow.rule_guard[j], guard) && meets(&flow.rule_decides[j], guard));
        let takers: Vec<usize> = found.by_ref().take(TAKERS).collect();
        let more = takers.len() == TAKERS && found.next().is_some();
        (takers, more)
    }
}

/// Whether the engine fails on `ticket` where the analysis says.
fn fails_as(bundle: &Bundle, ticket: &serde_json::Value, failure: &Failure) -> bool {
    match bundle.decide(ticket) {
        Err(r) => match &r.error {
            RejectionKind::Evaluation(e) => {
                e.stage == failure.stage && (e.id == failure.id || failure.stage == Stage::Path)
            }
            RejectionKind::InvalidTicket { .. } => false,
        },
        Ok(_) => false,
    }
}

/// Whether the engine decides `ticket` by rule `rule`.
fn decided_by(bundle: &Bundle, ticket: &serde_json::Value, rule: &str) -> bool {
    bundle.decide(ticket).is_ok_and(|d| &*d.rule == rule)
}
