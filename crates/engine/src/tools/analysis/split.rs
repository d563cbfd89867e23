//! A set split into disjoint classes, each a conjunction of one condition a
//! field, by walking the set's decision diagram from the top.
//!
//! The fields are walked in variable order, so choosing a field's cell is
//! following links from the current node, never building a new diagram;
//! and two cells whose remaining sets are equal end at the same node of a
//! reduced diagram, so grouping them ("`x in [a, b]`") compares pointers.
//! Only the initial `set ∨ don't care` is a diagram operation, which keeps
//! the cost of a class to the length of its description.

use std::collections::HashSet;

use biodivine_lib_bdd::{Bdd, BddPointer, BddVariable};
use foldhash::fast::FixedState;

use super::apply;
use super::classes::Part;
use super::space::{Shape, Space};

/// The tickets somebody cares about, and the rest of the well-formed ones.
pub(crate) struct Care {
    care: Bdd,
    dont: Bdd,
}

impl Care {
    pub(crate) fn new(space: &Space, care: &Bdd) -> Care {
        Care {
            care: care.and(&space.encoding),
            dont: space.encoding.and_not(care),
        }
    }
}

/// `set` (within the space's encoding) split into disjoint classes; at
/// most `limit` of them, the rest merged into the last (so the output stays
/// readable). Tickets outside `care` (which no side accepts, or a
/// constraint refuses) may fall in a class's predicate: leaving them out of
/// the words keeps the words short (`category = technical` rather than also
/// naming every technical type).
pub(crate) fn classes(space: &Space, set: &Bdd, care: &Care, limit: usize) -> Vec<Vec<Part>> {
    // The library walks both diagrams even when one is empty; most bundles
    // leave no well-formed ticket out of the care set.
    let loose = match care.dont.is_false() {
        true => set.clone(),
        false => apply::or(set, &care.dont),
    };
    // Fields the loose set does not mention cannot split it: skip them.
    let support = mentioned(&loose);
    let dims: Vec<usize> = (0..space.dims.len())
        .filter(|&d| space.dims[d].vars().iter().any(|v| support[v.to_index()]))
        .collect();
    let walk = Walk {
        space,
        dims: &dims,
        limit,
        set,
        loose: &loose,
        care: &care.care,
    };
    let at = Node {
        set: live(vec![set.root_pointer()]),
        loose: loose.root_pointer(),
        care: live(vec![care.care.root_pointer()]),
    };
    let mut out = Vec::new();
    walk.split(at, 0, &mut Vec::new(), &mut out);
    out
}

/// Where the walk stands in each diagram: the set and the cared tickets as
/// unions of nodes (fields the walk skips are left open, so both of their
/// branches stay), the loose set as one node (it mentions no skipped field).
#[derive(Clone)]
struct Node {
    set: Vec<BddPointer>,
    loose: BddPointer,
    care: Vec<BddPointer>,
}

struct Walk<'a> {
    space: &'a Space,
    dims: &'a [usize],
    limit: usize,
    set: &'a Bdd,
    loose: &'a Bdd,
    care: &'a Bdd,
}

/// A branch: the parts it adds, and where it leads.
type Branch = (Vec<Part>, Node);

impl Walk<'_> {
    fn split(&self, at: Node, depth: usize, parts: &mut Vec<Part>, out: &mut Vec<Vec<Part>>) {
        if at.set.is_empty() {
            return;
        }
        if depth == self.dims.len() || out.len() >= self.limit {
            out.push(parts.clone());
            return;
        }
        for (added, next) in self.branches(&at, self.dims[depth]) {
            let n = added.len();
            parts.extend(added);
            self.split(next, depth + 1, parts, out);
            parts.truncate(parts.len() - n);
        }
    }

    /// The node reached from `at` when the variables in `range` take the
    /// values `value` gives.
    fn follow(&self, at: &Node, range: Range, value: impl Fn(BddVariable) -> bool) -> Node {
        Node {
            set: advance(self.set, &at.set, range, &value),
            loose: follow(self.loose, at.loose, range, &value),
            care: advance(self.care, &at.care, range, &value),
        }
    }

    /// The ways field `dim` splits the set: cells whose loose rests agree
    /// go together; a field that does not matter gives one branch without
    /// a part.
    fn branches(&self, at: &Node, dim: usize) -> Vec<Branch> {
        match &self.space.dims[dim].shape {
            Shape::Cells { cells, vars } => {
                let range = (vars[0], vars[vars.len() - 1]);
                let mut groups: Vec<(Vec<usize>, Node)> = Vec::new();
                // Cells nobody cares about here go with whichever group.
                let mut cared = 0;
                for (i, chosen) in vars.iter().enumerate() {
                    let next = self.follow(at, range, |v| v == *chosen);
                    if next.care.is_empty() {
                        continue;
                    }
                    cared += 1;
                    match groups.iter_mut().find(|(_, g)| g.loose == next.loose) {
                        Some((members, g)) => {
                            members.push(i);
                            g.set = live([g.set.clone(), next.set].concat());
                            g.care = live([g.care.clone(), next.care].concat());
                        }
                        None => groups.push((vec![i], next)),
                    }
                }
                let whole = groups.len() == 1 && groups[0].0.len() == cared;
                groups
                    .into_iter()
                    .filter(|(_, g)| !g.set.is_empty())
                    .map(|(members, g)| {
                        let chosen = members.iter().map(|&i| cells[i].clone()).collect();
                        let part = (!whole).then_some(Part::Cells(dim, chosen));
                        (part.into_iter().collect(), g)
                    })
                    .collect()
            }
            Shape::List { absent, members } => {
                let mut out = vec![(Vec::new(), at.clone())];
                if let Some(a) = absent {
                    out = self.fork(out, *a, |b| Part::ListAbsent(dim, b));
                }
                for (m, v) in members {
                    out = self.fork(out, *v, |b| Part::Member(dim, m.clone(), b));
                }
                out
            }
        }
    }

    /// Splits each branch on one boolean variable, where it matters to the
    /// tickets somebody cares about.
    fn fork(
        &self,
        branches: Vec<Branch>,
        var: BddVariable,
        part: impl Fn(bool) -> Part,
    ) -> Vec<Branch> {
        let mut out = Vec::new();
        for (prior, at) in branches {
            let yes = self.follow(&at, (var, var), |_| true);
            let no = self.follow(&at, (var, var), |_| false);
            // One side holds no cared ticket (an absent list has no
            // members, say): the other side alone stands for both.
            if yes.care.is_empty() || no.care.is_empty() {
                let next = if yes.care.is_empty() { no } else { yes };
                out.push((prior, next));
                continue;
            }
            if yes.loose == no.loose {
                let set = live([yes.set, no.set].concat());
                let care = live([yes.care, no.care].concat());
                out.push((
                    prior,
                    Node {
                        set,
                        loose: yes.loose,
                        care,
                    },
                ));
                continue;
            }
            for (value, next) in [(true, yes), (false, no)] {
                if next.set.is_empty() {
                    continue;
                }
                let mut parts = prior.clone();
                parts.push(part(value));
                out.push((parts, next));
            }
        }
        out
    }
}

/// Which variables a diagram's nodes test, by index: one pass over the
/// nodes, without the library's set of variables (a hash insert a node).
fn mentioned(bdd: &Bdd) -> Vec<bool> {
    let mut seen = vec![false; usize::from(bdd.num_vars())];
    // Nodes 0 and 1 are the terminals.
    for i in 2..bdd.size() {
        let v = bdd.var_of(BddPointer::from_index(i));
        if let Some(s) = seen.get_mut(v.to_index()) {
            *s = true;
        }
    }
    seen
}

/// The first and last variable of what is being chosen.
type Range = (BddVariable, BddVariable);

/// From node `p` of `bdd`, past the variables in `range`. The loose set
/// mentions no field the walk skips, so no variable before `range` can
/// stand in the way (were one there, the node would be left as it is).
fn follow(
    bdd: &Bdd,
    p: BddPointer,
    range: Range,
    value: impl Fn(BddVariable) -> bool,
) -> BddPointer {
    straight(bdd, p, range, &value).unwrap_or(p)
}

/// From the union of nodes `at` of `bdd`, past the variables in `range`;
/// a variable before `range` belongs to a field the walk skips, so both of
/// its branches stay in the union.
fn advance(
    bdd: &Bdd,
    at: &[BddPointer],
    range: Range,
    value: impl Fn(BddVariable) -> bool,
) -> Vec<BddPointer> {
    // Mostly one node, and no skipped field in the way: a straight walk,
    // without the work list and the set of nodes met.
    if let [p] = at
        && let Some(p) = straight(bdd, *p, range, &value)
    {
        return match p.is_zero() {
            true => Vec::new(),
            false => vec![p],
        };
    }
    let mut work = at.to_vec();
    let mut seen = Seen::default();
    let mut out = Vec::new();
    while let Some(p) = work.pop() {
        if p.is_zero() || !seen.first(p) {
            continue;
        }
        let v = bdd.var_of(p);
        if p.is_terminal() || v > range.1 {
            out.push(p);
        } else if v < range.0 {
            work.extend([bdd.low_link_of(p), bdd.high_link_of(p)]);
        } else {
            work.push(match value(v) {
                true => bdd.high_link_of(p),
                false => bdd.low_link_of(p),
            });
        }
    }
    live(out)
}

/// From node `p`, past the variables in `range`, unless a variable
/// before `range` (a skipped field) is in the way.
fn straight(
    bdd: &Bdd,
    mut p: BddPointer,
    range: Range,
    value: &impl Fn(BddVariable) -> bool,
) -> Option<BddPointer> {
    while !p.is_terminal() {
        let v = bdd.var_of(p);
        if v > range.1 {
            break;
        }
        if v < range.0 {
            return None;
        }
        p = match value(v) {
            true => bdd.high_link_of(p),
            false => bdd.low_link_of(p),
        };
    }
    Some(p)
}

/// The nodes one `advance` has met: most meet a handful, which a short
/// list holds without hashing; past it, a set.
#[derive(Default)]
struct Seen {
    few: Vec<BddPointer>,
    many: HashSet<BddPointer, FixedState>,
}

impl Seen {
    const FEW: usize = 32;

    /// Whether `p` is met for the first time (and now met).
    fn first(&mut self, p: BddPointer) -> bool {
        if self.few.len() < Self::FEW {
            if self.few.contains(&p) {
                return false;
            }
            self.few.push(p);
            return true;
        }
        !self.few.contains(&p) && self.many.insert(p)
    }
}

/// A union of nodes without `false` or repeats, in one order.
fn live(mut nodes: Vec<BddPointer>) -> Vec<BddPointer> {
    nodes.retain(|p| !p.is_zero());
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}
