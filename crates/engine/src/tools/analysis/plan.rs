//! `triage plan`: the exact change between two bundles. Both are analysed
//! over one space (each field split by what either tells apart); the tickets
//! whose decision differs are split into disjoint classes, each with the
//! decision before and after, its share, and a witness both bundles decide
//! as stated.

use std::collections::BTreeMap;
use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;
use serde_json::Value;

use super::classes::{Part, cube, describe, ticket};
use super::flow::{Ending, Flow, Opaque, Verdict};
use super::meet::meets;
use super::side::Side;
use super::space::Space;
use super::specs::specs;
use super::split::{Care, classes};
use crate::engine::Bundle;
use crate::model::decision::{Decision, PolicyRef, Rejection, RejectionKind, Stage};

/// The most classes one before-and-after pair is split into; past it, the
/// pair is one change named by its first classes.
const PAIR_CLASSES: usize = 24;

/// How many classes name an abbreviated change.
const NAMED: usize = 3;

/// A set too fragmented to list, named by its first classes.
fn abbreviated(space: &Space, found: &[Vec<Part>]) -> String {
    let named: Vec<String> = found
        .iter()
        .take(NAMED)
        .map(|p| describe(space, p))
        .collect();
    format!(
        "{}; or … (more than {PAIR_CLASSES} classes)",
        named.join("; or ")
    )
}

/// The change between two bundles.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The bundle before the change.
    pub base: PlanSide,
    /// The bundle after it.
    pub head: PlanSide,
    /// Whether the change set is exact: false when an expression could not
    /// be analysed, the change has too many classes to list, or a witness
    /// disagreed with the engine.
    pub proven: bool,
    /// Why it is not proven, when it is not.
    pub not_proven: Vec<String>,
    /// Expressions the analysis cannot model, on either side.
    pub opaque: Vec<Opaque>,
    /// The classes of tickets whose decision changes; disjoint.
    pub changes: Vec<Change>,
    /// Decisions change while the bundle's `version` does not.
    pub version_unchanged: bool,
    /// With tickets to count: how many were given, how many decide
    /// differently, and how many of those fell in no class (a bug).
    pub tickets: Option<TicketCount>,
}

/// A bundle's name, version and digest.
#[derive(Clone, Debug, Serialize)]
pub struct PlanSide {
    /// The bundle's name.
    pub name: Arc<str>,
    /// Its version.
    pub version: Arc<str>,
    /// Its content digest.
    pub digest: Arc<str>,
}

/// A class of tickets whose decision changes.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The class as a readable predicate.
    pub class: String,
    /// The decision before.
    pub before: Outcome,
    /// The decision after.
    pub after: Outcome,
    /// A complete ticket in the class, decided as stated by both bundles.
    pub witness: Value,
    /// The class's share of the tickets either bundle accepts.
    pub share: f64,
    /// How many of the given tickets fall in the class (`null` without tickets).
    pub tickets: Option<u64>,
}

/// One side of a change: a decision, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The outcome, when decided.
    pub outcome: Option<Arc<str>>,
    /// The vehicle, when the path chose one.
    pub vehicle: Option<Arc<str>>,
    /// The deciding rule.
    pub rule: Option<Arc<str>>,
    /// The path step that chose the vehicle, or `fallback`.
    pub path_step: Option<Arc<str>>,
    /// The action.
    pub action: Option<Arc<str>>,
    /// The roles that may take the action.
    pub allowed_roles: Vec<Arc<str>>,
    /// Why there is no decision: the bundle rejects the ticket, or fails on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// Tickets counted against the plan.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TicketCount {
    /// Tickets given.
    pub given: u64,
    /// Of those, the ones the two bundles decide differently.
    pub changed: u64,
    /// Of those, the ones no class holds (a disagreement).
    pub unplaced: u64,
}

impl Bundle {
    /// The exact change from `self` (the base) to `head`; with `tickets`,
    /// how many of them fall in each class.
    pub fn plan(&self, head: &Bundle, tickets: Option<&[Value]>) -> Plan {
        plan(self, head, tickets)
    }
}

fn side_of(policy: &PolicyRef) -> PlanSide {
    PlanSide {
        name: policy.name.clone(),
        version: policy.version.clone(),
        digest: policy.digest.clone(),
    }
}

fn plan(base: &Bundle, head: &Bundle, tickets: Option<&[Value]>) -> Plan {
    let mut plan = Plan {
        base: side_of(base.policy()),
        head: side_of(head.policy()),
        proven: true,
        not_proven: Vec::new(),
        opaque: Vec::new(),
        changes: Vec::new(),
        version_unchanged: false,
        tickets: None,
    };
    let Some(space) = Space::new(&specs(&[&base.inner, &head.inner])) else {
        plan.proven = false;
        plan.not_proven.push(super::check::TOO_LARGE.into());
        return plan;
    };
    let (sb, sh) = (
        Side::new(&base.inner, &space),
        Side::new(&head.inner, &space),
    );
    let flows = (sb.flow(), sh.flow());
    let (fb, fh) = match flows {
        (Ok(fb), Ok(fh)) => (fb, fh),
        (b, h) => {
            plan.opaque = [b.err(), h.err()].into_iter().flatten().flatten().collect();
            plan.proven = false;
            plan.not_proven
                .push("an expression on either side cannot be analysed".into());
            return plan;
        }
    };
    let pairs = Pairs::new(&space, &fb, &fh);
    let cubes = pairs.changes(&mut plan, base, head);
    if let Some(tickets) = tickets {
        count(&mut plan, &space, &cubes, base, head, tickets);
    }
    plan.version_unchanged = !plan.changes.is_empty() && plan.base.version == plan.head.version;
    plan
}

/// Each side's endings over the whole space (what the schema refuses too),
/// one set per way a decision ends, and the tickets either side accepts.
struct Pairs<'s> {
    space: &'s Space,
    base: Vec<(Ending, Bdd)>,
    head: Vec<(Ending, Bdd)>,
    either: Bdd,
    /// The number of combinations either side accepts, for shares.
    size: f64,
    /// Tickets either side decides or fails on.
    care: Care,
}

impl<'s> Pairs<'s> {
    fn new(space: &'s Space, fb: &Flow, fh: &Flow) -> Self {
        let endings = |flow: &Flow| {
            let invalid = space.encoding.and_not(&flow.valid);
            // What the engine answers where no rule matches (a bundle
            // without a catch-all does not load, so this stays empty).
            let unmatched = Ending::Error {
                stage: Stage::Rule,
                id: "(none)".into(),
            };
            let ends = [
                (invalid, Ending::InvalidTicket),
                (flow.leftover.clone(), unmatched),
            ];
            // In the order the flow meets them (rule order), each ending once.
            let mut all: Vec<(Ending, Bdd)> = Vec::new();
            let mut at: BTreeMap<Ending, usize> = BTreeMap::new();
            for (set, ending) in flow.endings.iter().chain(&ends) {
                match at.get(ending) {
                    Some(&i) => all[i].1 = all[i].1.or(set),
                    None => {
                        at.insert(ending.clone(), all.len());
                        all.push((ending.clone(), set.clone()));
                    }
                }
            }
            all
        };
        let either = fb.valid.or(&fh.valid);
        Pairs {
            space,
            base: endings(fb),
            head: endings(fh),
            size: space.size(&either),
            either,
            care: Care::new(space, &fb.care.or(&fh.care)),
        }
    }

    /// The tickets whose decision differs. The endings of each side are
    /// disjoint and cover the space, so a ticket differs exactly when the
    /// head does not end it as the base does; and a set the two sides
    /// built alike (every rule the change leaves alone) is the same
    /// diagram on both, which spares the difference.
    fn differing(&self) -> Bdd {
        let (base, head) = (by_kind(&self.base), by_kind(&self.head));
        let mut differ = self.space.vars.mk_false();
        for (key, b) in &base {
            let gone = match head.get(key) {
                Some(h) if h == b => continue,
                Some(h) => b.and_not(h),
                None => b.clone(),
            };
            differ = differ.or(&gone);
        }
        differ.and(&self.either)
    }

    /// Fills in the plan's changes; returns each change's set of tickets.
    fn changes(&self, plan: &mut Plan, base: &Bundle, head: &Bundle) -> Vec<Bdd> {
        let differ = self.differing();
        let mut n = 0;
        let mut cubes = Vec::new();
        for (kb, b) in &self.base {
            if !meets(&differ, b) {
                continue;
            }
            let x = differ.and(b);
            for (kh, h) in &self.head {
                if !meets(&x, h) {
                    continue;
                }
                let y = x.and(h);
                let found = classes(self.space, &y, &self.care, PAIR_CLASSES + 1);
                // Past a readable number of classes, one change holds the
                // whole set (still exact and disjoint), named by its first
                // classes.
                let groups: Vec<(String, Bdd)> = match found.len() > PAIR_CLASSES {
                    true => vec![(abbreviated(self.space, &found), y.clone())],
                    false => (found.iter())
                        .map(|parts| (describe(self.space, parts), cube(self.space, parts).and(&y)))
                        .collect(),
                };
                for (class, set) in groups {
                    n += 1;
                    let change = self.change(class, &set, kb, kh, base, head, n);
                    if let Some(change) = change {
                        if !decides_as(base, &change.witness, kb)
                            || !decides_as(head, &change.witness, kh)
                        {
                            plan.proven = false;
                            plan.not_proven.push(format!(
                                "the engine decides the witness of `{}` otherwise than the analysis",
                                change.class
                            ));
                        }
                        plan.changes.push(change);
                        cubes.push(set);
                    }
                }
            }
        }
        cubes
    }

    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        class: String,
        set: &Bdd,
        kb: &Ending,
        kh: &Ending,
        base: &Bundle,
        head: &Bundle,
        n: usize,
    ) -> Option<Change> {
        let valuation = self.space.pick(set)?;
        let witness_base = ticket(self.space, &valuation, &base.inner, n);
        let witness = match kb {
            Ending::InvalidTicket => ticket(self.space, &valuation, &head.inner, n),
            _ => witness_base,
        };
        Some(Change {
            class,
            before: outcome(kb, base, &witness),
            after: outcome(kh, head, &witness),
            share: self.space.share(set, self.size),
            witness,
            tickets: None,
        })
    }
}

/// Whether two endings are the same decision (a rejection is a rejection,
/// whatever refused the ticket).
fn alike(a: &Ending, b: &Ending) -> bool {
    kind(a) == kind(b)
}

/// Each side's tickets by what `alike` compares.
fn by_kind(endings: &[(Ending, Bdd)]) -> BTreeMap<Option<&Ending>, Bdd> {
    let mut kinds: BTreeMap<Option<&Ending>, Bdd> = BTreeMap::new();
    for (ending, set) in endings {
        kinds
            .entry(kind(ending))
            .and_modify(|all| *all = all.or(set))
            .or_insert_with(|| set.clone());
    }
    kinds
}

/// What `alike` compares: the ending, or `None` for any rejection.
fn kind(ending: &Ending) -> Option<&Ending> {
    match ending {
        Ending::InvalidTicket | Ending::Constraint => None,
        other => Some(other),
    }
}

/// An ending as the plan shows it; a rejection's reason is the engine's own.
fn outcome(ending: &Ending, bundle: &Bundle, witness: &Value) -> Outcome {
    let none = Outcome {
        outcome: None,
        vehicle: None,
        rule: None,
        path_step: None,
        action: None,
        allowed_roles: Vec::new(),
        rejected: None,
    };
    match ending {
        Ending::Decided(v) => Outcome {
            outcome: Some(v.outcome.clone()),
            vehicle: v.vehicle.clone(),
            rule: Some(v.rule.clone()),
            path_step: v.path_step.clone(),
            action: Some(v.action.clone()),
            allowed_roles: v.allowed_roles.clone(),
            rejected: None,
        },
        _ => Outcome {
            rejected: Some(match bundle.decide(witness) {
                Err(rejection) => rejection.reason(),
                Ok(_) => "decided (the analysis expected no decision)".to_owned(),
            }),
            ..none
        },
    }
}

/// The ending of a decision (or rejection) by the engine.
pub(crate) fn ending_of(result: &Result<Decision, Rejection>) -> Ending {
    match result {
        Ok(d) => Ending::Decided(Verdict {
            outcome: d.outcome.clone(),
            vehicle: d.vehicle.clone(),
            rule: d.rule.clone(),
            path_step: match (&d.path, &d.path_step) {
                (Some(_), None) => Some("fallback".into()),
                (_, step) => step.clone(),
            },
            action: d.action.clone(),
            allowed_roles: d.allowed_roles.clone(),
        }),
        Err(r) => match &r.error {
            RejectionKind::InvalidTicket { .. } => Ending::InvalidTicket,
            RejectionKind::Evaluation(e) => Ending::Error {
                stage: e.stage,
                id: e.id.clone(),
            },
        },
    }
}

/// Whether the engine decides `ticket` with the ending the analysis says.
fn decides_as(bundle: &Bundle, ticket: &Value, expected: &Ending) -> bool {
    alike(&ending_of(&bundle.decide(ticket)), expected)
}

/// Counts the given tickets into the classes; every ticket whose decision
/// differs must fall in exactly one.
fn count(
    plan: &mut Plan,
    space: &Space,
    cubes: &[Bdd],
    base: &Bundle,
    head: &Bundle,
    tickets: &[Value],
) {
    let mut count = TicketCount::default();
    let mut per = vec![0u64; plan.changes.len()];
    for ticket in tickets {
        count.given += 1;
        let (b, h) = (
            ending_of(&base.decide(ticket)),
            ending_of(&head.decide(ticket)),
        );
        if alike(&b, &h) {
            continue;
        }
        count.changed += 1;
        let at = space
            .place(ticket)
            .and_then(|v| cubes.iter().position(|c| c.eval_in(&v)));
        match at {
            Some(i) => per[i] += 1,
            None => count.unplaced += 1,
        }
    }
    for (change, n) in plan.changes.iter_mut().zip(per) {
        change.tickets = Some(n);
    }
    if count.unplaced > 0 {
        plan.proven = false;
        plan.not_proven.push(format!(
            "{} of the given tickets decide differently but fall in no class",
            count.unplaced
        ));
    }
    plan.tickets = Some(count);
}
