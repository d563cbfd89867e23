//! Atom mode: the decision compiled at load, for a bundle whose every
//! expression is made of tests of ticket fields that number at most 64
//! (`cubes`). A ticket's atoms are one word, a table lookup a field read;
//! the constraints, the rules and each path's steps are lists of cubes
//! over that word, in order, and the first cube that holds names the rule
//! (or step) that matches first. Only where the decision ends and the
//! atoms are kept: the trace, the walk's entry for entry, is found from
//! them when the verdict is rendered (`replay`). Anything this does not
//! take (a ticket whose slot is not what a table expects, a broken
//! constraint, a path with no step and no fallback) is left to the walk,
//! which answers and words it as before.

use crate::engine::cubes::{Cube, Numbering};
use crate::engine::replay::Replay;
use crate::engine::tables::Tables;
use crate::expr::Expression;
use crate::model::{ActionSel, Compiled};
use crate::schema::{Kind, Slot, Ticket};

/// A bundle's decision as cubes over its atoms.
pub(crate) struct Atoms {
    /// Each field an atom of a constraint or rule reads (or of a named
    /// condition they need), with the atoms its values make true.
    tables: Tables,
    /// The same for the other fields: those only path steps read, read
    /// only for a rule with a path.
    path_tables: Tables,
    /// Where a constraint is broken: any of these holds.
    broken: Box<[Cube]>,
    /// Every rule's cubes, in rule order.
    rules: Chain,
    /// Each path's steps' cubes, in step order.
    paths: Box<[Chain]>,
    /// Each rule's outcome, path and action.
    routes: Box<[Route]>,
    /// Each path's fallback, if it has one: its outcome and action.
    fallbacks: Box<[Fallback]>,
    /// What a decision's trace is found from, when it is rendered.
    pub replay: Replay,
}

/// A path's fallback, if it has one: its outcome and action.
type Fallback = Option<(usize, Pick)>;

/// Cubes in order, each with the place of the rule or step it is one of.
struct Chain(Box<[(Cube, usize)]>);

struct Route {
    outcome: usize,
    path: Option<usize>,
    pick: Pick,
}

/// The action: fixed, or by an enum field's place (`None`: no action).
enum Pick {
    Fixed(usize),
    ByPlace {
        field: usize,
        actions: Box<[Option<usize>]>,
    },
}

/// Where a decision ends: the rule, the path step (none: the fallback, or
/// no path), the outcome and the action; and the ticket's atoms.
pub(crate) struct End {
    pub atoms: u64,
    pub rule: usize,
    pub step: Option<usize>,
    pub outcome: usize,
    pub action: usize,
}

impl Atoms {
    /// The bundle's decision in atom mode, when it fits.
    pub fn build(bundle: &Compiled) -> Option<Atoms> {
        let mut numbering = Numbering::new(&bundle.schema, &bundle.conditions);
        let broken = (bundle.constraints.iter())
            .map(|c| cubes(&mut numbering, &c.guard.expr, false))
            .collect::<Option<Vec<_>>>()?;
        let rules = Chain::of(&mut numbering, bundle.rules.iter().map(|r| &r.guard.expr))?;
        // The conditions a rule needs are numbered with the rules, even one
        // no cube of theirs reached: the trace shows its value.
        let guards = bundle.constraints.iter().map(|c| &c.guard);
        let needs = (guards.chain(bundle.rules.iter().map(|r| &r.guard)))
            .try_fold(0u64, |all, g| Some(all | g.needs_bits?))?;
        for c in (0..64).filter(|c| (needs >> c) & 1 != 0) {
            numbering.condition(c)?;
        }
        let before_paths = numbering.atoms.len();
        let paths = (bundle.paths.iter())
            .map(|p| Chain::of(&mut numbering, p.steps.iter().map(|s| &s.guard.expr)))
            .collect::<Option<_>>()?;
        let replay = Replay::build(bundle, &mut numbering)?;
        let (tables, path_tables) = Tables::split(&bundle.schema, &numbering.atoms, before_paths)?;
        Some(Atoms {
            replay,
            tables,
            path_tables,
            broken: broken.concat().into(),
            rules,
            paths,
            routes: routes(bundle)?,
            fallbacks: fallbacks(bundle)?,
        })
    }

    /// Where `ticket`'s decision ends; `None` where the walk must decide.
    #[inline(always)]
    pub fn decide(&self, ticket: &Ticket<'_>) -> Option<End> {
        let mut atoms = self.tables.atoms(ticket)?;
        if self.broken.iter().any(|c| c.holds(atoms)) {
            return None;
        }
        let rule = self.rules.first(atoms)?;
        let route = self.routes.get(rule)?;
        let (mut outcome, mut pick, mut step) = (route.outcome, &route.pick, None);
        if let Some(path) = route.path {
            atoms |= self.path_tables.atoms(ticket)?;
            match self.paths.get(path)?.first(atoms) {
                Some(at) => step = Some(at),
                None => {
                    (outcome, pick) = self.fallbacks.get(path)?.as_ref().map(|(o, p)| (*o, p))?
                }
            }
        }
        let action = pick.action(ticket)?;
        Some(End {
            atoms,
            rule,
            step,
            outcome,
            action,
        })
    }
}

/// Each rule's outcome, path and action.
fn routes(bundle: &Compiled) -> Option<Box<[Route]>> {
    let route = |r: &crate::model::Rule| {
        Some(Route {
            outcome: r.outcome,
            path: r.path,
            pick: Pick::of(bundle, &r.action)?,
        })
    };
    bundle.rules.iter().map(route).collect()
}

/// Each path's fallback, if it has one: its outcome and action.
fn fallbacks(bundle: &Compiled) -> Option<Box<[Fallback]>> {
    let fallback = |p: &crate::model::PathDef| match &p.fallback {
        Some(f) => Some(Some((f.outcome, Pick::of(bundle, &f.action)?))),
        None => Some(None),
    };
    bundle.paths.iter().map(fallback).collect()
}

/// The cubes where `expr` comes out `value`.
fn cubes(numbering: &mut Numbering, expr: &Expression, value: bool) -> Option<Vec<Cube>> {
    if expr.always {
        return Some(if value { vec![Cube::ANY] } else { Vec::new() });
    }
    let view = expr.native.as_ref()?.view()?;
    numbering.cubes(&view, value, 0)
}

impl Chain {
    fn of<'e>(
        numbering: &mut Numbering,
        exprs: impl Iterator<Item = &'e Expression>,
    ) -> Option<Chain> {
        let mut chain = Vec::new();
        for (at, expr) in exprs.enumerate() {
            let found = self::cubes(numbering, expr, true)?;
            chain.extend(found.into_iter().map(|cube| (cube, at)));
        }
        Some(Chain(chain.into()))
    }

    /// The place of the first rule or step one of whose cubes holds.
    #[inline(always)]
    fn first(&self, atoms: u64) -> Option<usize> {
        let (_, at) = self.0.iter().find(|(c, _)| c.holds(atoms))?;
        Some(*at)
    }
}

impl Pick {
    fn of(bundle: &Compiled, action: &ActionSel) -> Option<Pick> {
        Some(match action {
            ActionSel::Fixed(index) => Pick::Fixed(*index),
            ActionSel::ByField { field, cases } => {
                let Kind::Enum(values) = &bundle.schema.fields.get(*field)?.kind else {
                    return None;
                };
                let find = |v: &std::sync::Arc<str>| cases.iter().find(|(c, _)| c == v);
                let actions = values.iter().map(|v| find(v).map(|(_, a)| *a));
                Pick::ByPlace {
                    field: *field,
                    actions: actions.collect(),
                }
            }
        })
    }

    #[inline(always)]
    fn action(&self, ticket: &Ticket<'_>) -> Option<usize> {
        match self {
            Pick::Fixed(index) => Some(*index),
            Pick::ByPlace { field, actions } => match ticket.slots.get(*field)? {
                Slot::Enum(place) => *actions.get(*place as usize)?,
                _ => None,
            },
        }
    }
}
