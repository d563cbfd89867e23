//! Atom mode: the decision compiled at load, for a bundle whose every
//! expression is made of tests of ticket fields that number at most 64
//! (`cubes`). A ticket's atoms are one word, a table lookup a field read;
//! the constraints, the rules and each path's steps are lists of cubes
//! over that word, in order, and the first cube that holds names the rule
//! (or step) that matches first. Only where the decision ends is kept: the
//! trace is the walk's, found again when the verdict is rendered. Anything
//! this does not take (a ticket whose slot is not what a table expects, a
//! broken constraint, a path with no step and no fallback) is left to the
//! walk, which answers and words it as before.

use crate::engine::cubes::{Cube, Numbering};
use crate::expr::Expression;
use crate::expr::flat::Read;
use crate::model::{ActionSel, Compiled};
use crate::schema::{Kind, Slot, Ticket};

/// A bundle's decision as cubes over its atoms.
pub(crate) struct Atoms {
    /// Each field an atom reads, with the atoms its value makes true.
    fields: Box<[(usize, Table)]>,
    /// Where a constraint is broken: any of these holds.
    broken: Box<[Cube]>,
    /// Every rule's cubes, in rule order.
    rules: Chain,
    /// Each path's steps' cubes, in step order.
    paths: Box<[Chain]>,
    /// Each rule's outcome, path and action.
    routes: Box<[Route]>,
    /// Each path's fallback, if it has one: its outcome and action.
    fallbacks: Box<[Option<(usize, Pick)>]>,
}

/// The atoms a field's value makes true.
enum Table {
    /// By the enum value's place.
    Enum(Box<[u64]>),
    /// For false, then for true.
    Bool([u64; 2]),
    /// By each item's place, or-ed, for a list of at most `max` (0: any).
    List { members: Box<[u64]>, max: usize },
}

/// Cubes in order, each with the place of the rule or step it is one of.
struct Chain {
    cubes: Box<[Cube]>,
    owners: Box<[u32]>,
}

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
/// no path), the outcome and the action.
pub(crate) struct End {
    pub rule: usize,
    pub step: Option<usize>,
    pub outcome: usize,
    pub action: usize,
}

impl Atoms {
    /// The bundle's decision in atom mode, when it fits.
    pub fn build(bundle: &Compiled) -> Option<Atoms> {
        let mut numbering = Numbering::new(&bundle.conditions);
        let broken = (bundle.constraints.iter())
            .map(|c| cubes(&mut numbering, &c.guard.expr, false))
            .collect::<Option<Vec<_>>>()?;
        let rules = Chain::of(&mut numbering, bundle.rules.iter().map(|r| &r.guard.expr))?;
        let paths = (bundle.paths.iter())
            .map(|p| Chain::of(&mut numbering, p.steps.iter().map(|s| &s.guard.expr)))
            .collect::<Option<_>>()?;
        let routes = (bundle.rules.iter())
            .map(|r| {
                let pick = Pick::of(bundle, &r.action)?;
                let (outcome, path) = (r.outcome, r.path);
                Some(Route {
                    outcome,
                    path,
                    pick,
                })
            })
            .collect::<Option<_>>()?;
        let fallbacks = (bundle.paths.iter())
            .map(|p| match &p.fallback {
                Some(f) => Some(Some((f.outcome, Pick::of(bundle, &f.action)?))),
                None => Some(None),
            })
            .collect::<Option<_>>()?;
        Some(Atoms {
            fields: tables(bundle, &numbering.atoms)?,
            broken: broken.concat().into(),
            rules,
            paths,
            routes,
            fallbacks,
        })
    }

    /// Where `ticket`'s decision ends; `None` where the walk must decide.
    #[inline(always)]
    pub fn decide(&self, ticket: &Ticket<'_>) -> Option<End> {
        let atoms = self.atoms(ticket)?;
        if self.broken.iter().any(|c| c.holds(atoms)) {
            return None;
        }
        let rule = self.rules.first(atoms)?;
        let route = self.routes.get(rule)?;
        let (mut outcome, mut pick, mut step) = (route.outcome, &route.pick, None);
        if let Some(path) = route.path {
            match self.paths.get(path)?.first(atoms) {
                Some(at) => step = Some(at),
                None => {
                    (outcome, pick) = self.fallbacks.get(path)?.as_ref().map(|(o, p)| (*o, p))?
                }
            }
        }
        let action = pick.action(ticket)?;
        Some(End {
            rule,
            step,
            outcome,
            action,
        })
    }

    /// The atoms true of `ticket`; `None` for a slot no table expects.
    #[inline(always)]
    fn atoms(&self, ticket: &Ticket<'_>) -> Option<u64> {
        let mut atoms = 0;
        for (field, table) in &self.fields {
            atoms |= match (table, ticket.slots.get(*field)?) {
                (Table::Enum(places), Slot::Enum(place)) => *places.get(*place as usize)?,
                (Table::Bool(bits), Slot::Bool(b)) => bits[usize::from(*b)],
                (Table::List { members, max }, Slot::List(items))
                    if *max == 0 || items.len() <= *max =>
                {
                    let member = |i: &u32| members.get(*i as usize).copied().unwrap_or(0);
                    items.iter().fold(0, |atoms, i| atoms | member(i))
                }
                _ => return None,
            };
        }
        Some(atoms)
    }
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
        let (mut cubes, mut owners) = (Vec::new(), Vec::new());
        for (at, expr) in exprs.enumerate() {
            let found = self::cubes(numbering, expr, true)?;
            owners.extend(std::iter::repeat_n(u32::try_from(at).ok()?, found.len()));
            cubes.extend(found);
        }
        Some(Chain {
            cubes: cubes.into(),
            owners: owners.into(),
        })
    }

    /// The place of the first rule or step one of whose cubes holds.
    #[inline(always)]
    fn first(&self, atoms: u64) -> Option<usize> {
        let at = self.cubes.iter().position(|c| c.holds(atoms))?;
        Some(*self.owners.get(at)? as usize)
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

/// Each field `atoms` read, with the atoms its value makes true.
fn tables(bundle: &Compiled, atoms: &[Read]) -> Option<Box<[(usize, Table)]>> {
    let mut fields: Vec<(usize, Table)> = Vec::new();
    for (bit, read) in atoms.iter().enumerate() {
        let (field, fresh) = match *read {
            Read::Enum { field, .. } | Read::Bool(field) => (field as usize, None),
            Read::List { field, max, .. } => (field as usize, Some(max)),
            Read::Condition(_) => return None,
        };
        let at = match fields.iter().position(|(f, _)| *f == field) {
            Some(at) => at,
            None => {
                fields.push((
                    field,
                    Table::new(&bundle.schema.fields.get(field)?.kind, fresh)?,
                ));
                fields.len() - 1
            }
        };
        fields.get_mut(at)?.1.mark(read, 1u64 << bit)?;
    }
    Some(fields.into())
}

impl Table {
    /// An empty table for a field of `kind`; `max`, a list's limit.
    fn new(kind: &Kind, max: Option<usize>) -> Option<Table> {
        Some(match (kind, max) {
            (Kind::Enum(values), None) => Table::Enum(vec![0; values.len()].into()),
            (Kind::Bool, None) => Table::Bool([0; 2]),
            (Kind::List(values), Some(max)) => Table::List {
                members: vec![0; values.len()].into(),
                max,
            },
            _ => return None,
        })
    }

    /// Marks where `read` is true with `bit`.
    fn mark(&mut self, read: &Read, bit: u64) -> Option<()> {
        match (self, *read) {
            (Table::Enum(places), Read::Enum { places: marked, .. }) => {
                for (place, atoms) in places.iter_mut().enumerate() {
                    if marked.checked_shr(place as u32).unwrap_or(0) & 1 != 0 {
                        *atoms |= bit;
                    }
                }
            }
            (Table::Bool(bits), Read::Bool(_)) => bits[1] |= bit,
            (
                Table::List { members, max },
                Read::List {
                    code, max: limit, ..
                },
            ) => {
                if *max != limit {
                    return None;
                }
                if let Some(code) = code {
                    *members.get_mut(code as usize)? |= bit;
                }
            }
            _ => return None,
        }
        Some(())
    }
}
