//! `triage plan`: the exact change between two bundles. Both are analysed
//! over one space (each field split by what either tells apart); the tickets
//! whose decision differs are split into disjoint classes, each with the
//! decision before and after, its share, and a witness both bundles decide
//! as stated.

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde::Serialize;
use serde_json::Value;

use super::classes::{Part, classes, cube, describe, ticket};
use super::flow::{Ending, Flow, Opaque, Verdict};
use super::side::Side;
use super::space::Space;
use super::specs::specs;
use crate::engine::Bundle;
use crate::model::decision::{Decision, PolicyRef, Rejection, RejectionKind};

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
/// and the tickets either side accepts.
struct Pairs<'s> {
    space: &'s Space,
    base: Vec<(Bdd, Ending)>,
    head: Vec<(Bdd, Ending)>,
    either: Bdd,
    /// Tickets either side decides or fails on.
    care: Bdd,
}

impl<'s> Pairs<'s> {
    fn new(space: &'s Space, fb: &Flow, fh: &Flow) -> Self {
        let endings = |flow: &Flow| {
            let mut all = flow.endings.clone();
            all.push((space.encoding.and_not(&flow.valid), Ending::InvalidTicket));
            all
        };
        Pairs {
            space,
            base: endings(fb),
            head: endings(fh),
            either: fb.valid.or(&fh.valid),
            care: fb.care.or(&fh.care),
        }
    }

    /// The tickets whose decision differs.
    fn differing(&self) -> Bdd {
        let mut same = self.space.vars.mk_false();
        for (b, kb) in &self.base {
            for (h, kh) in &self.head {
                if alike(kb, kh) {
                    same = same.or(&b.and(h));
                }
            }
        }
        self.either.and_not(&same)
    }

    /// Fills in the plan's changes; returns each change's set of tickets.
    fn changes(&self, plan: &mut Plan, base: &Bundle, head: &Bundle) -> Vec<Bdd> {
        let differ = self.differing();
        let mut n = 0;
        let mut cubes = Vec::new();
        for (b, kb) in &self.base {
            let x = differ.and(b);
            if x.is_false() {
                continue;
            }
            for (h, kh) in &self.head {
                let y = x.and(h);
                if y.is_false() {
                    continue;
                }
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
            share: self.space.share(set, &self.either),
            witness,
            tickets: None,
        })
    }
}

/// Whether two endings are the same decision (a rejection is a rejection,
/// whatever refused the ticket).
fn alike(a: &Ending, b: &Ending) -> bool {
    let rejected = |e: &Ending| matches!(e, Ending::InvalidTicket | Ending::Constraint);
    a == b || (rejected(a) && rejected(b))
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
