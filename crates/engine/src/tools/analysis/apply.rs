//! Conjunction and disjunction of two diagrams, node for node as the
//! diagram library builds them, with the pairs of nodes already solved kept
//! in a flat table instead of a hash map.
//!
//! Most of the analysis's operations pair a large diagram (the tickets
//! still reaching a rule, or those a rule decides) with a condition of a
//! few nodes, so a table of every pair is small, and looking a pair up is
//! an index rather than a hash. Larger products go to the library. The
//! result is the library's own, node for node (the tests compare them), so
//! everything read off a diagram afterwards (witnesses, class words) is
//! unchanged.

use std::cell::RefCell;
use std::collections::HashMap;

use biodivine_lib_bdd::{Bdd, BddNode, BddPointer};
use foldhash::fast::FixedState;

/// Up to how many pairs of nodes the flat table is used (8 bytes each).
const FLAT: usize = 1 << 20;

/// The solved pairs of one operation, in a table each thread keeps for
/// all of its operations: an entry counts only when it carries the current
/// operation's stamp, so starting an operation clears nothing (clearing a
/// table of a million pairs for an operation that visits a few thousand
/// cost more than the operation).
#[derive(Default)]
struct Solved {
    stamp: u32,
    cells: Vec<(u32, u32)>,
}

impl Solved {
    /// Ready for an operation of `pairs` pairs.
    fn start(&mut self, pairs: usize) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.cells.iter_mut().for_each(|c| c.0 = 0);
            self.stamp = 1;
        }
        if self.cells.len() < pairs {
            self.cells.resize(pairs, (0, 0));
        }
    }

    fn get(&self, at: usize) -> Option<BddPointer> {
        let (stamp, p) = self.cells[at];
        (stamp == self.stamp).then(|| BddPointer::from_index(p as usize))
    }

    fn set(&mut self, at: usize, p: BddPointer) {
        self.cells[at] = (self.stamp, p.to_index() as u32);
    }
}

thread_local! {
    static SOLVED: RefCell<Solved> = RefCell::default();
}

/// The two operations.
#[derive(Clone, Copy)]
enum Op {
    And,
    Or,
}

impl Op {
    /// The result where the terminals decide it (the library's rules).
    fn terminal(self, l: Option<bool>, r: Option<bool>) -> Option<bool> {
        match (self, l, r) {
            (Op::And, Some(true), Some(true)) => Some(true),
            (Op::And, Some(false), _) | (Op::And, _, Some(false)) => Some(false),
            (Op::Or, Some(false), Some(false)) => Some(false),
            (Op::Or, Some(true), _) | (Op::Or, _, Some(true)) => Some(true),
            _ => None,
        }
    }
}

/// `a ∧ b`.
pub(crate) fn and(a: &Bdd, b: &Bdd) -> Bdd {
    match a.size().saturating_mul(b.size()) <= FLAT {
        true => apply(a, b, Op::And),
        false => a.and(b),
    }
}

/// `a ∨ b`.
pub(crate) fn or(a: &Bdd, b: &Bdd) -> Bdd {
    match a.size().saturating_mul(b.size()) <= FLAT {
        true => apply(a, b, Op::Or),
        false => a.or(b),
    }
}

/// The library's depth-first construction: the same tasks in the same
/// order, so the same nodes in the same order.
fn apply(a: &Bdd, b: &Bdd, op: Op) -> Bdd {
    let nodes = SOLVED.with(|solved| {
        let mut solved = solved.borrow_mut();
        solved.start(a.size() * b.size());
        build(a, b, op, &mut solved)
    });
    // The nodes are ordered and in range by construction; the library
    // checks them again, and its own operation stands in if it objects.
    Bdd::from_nodes(&nodes).unwrap_or_else(|_| match op {
        Op::And => a.and(b),
        Op::Or => a.or(b),
    })
}

fn build(a: &Bdd, b: &Bdd, op: Op, solved: &mut Solved) -> Vec<BddNode> {
    let vars = a.num_vars();
    let width = b.size();
    let mut nodes = vec![BddNode::mk_zero(vars), BddNode::mk_one(vars)];
    let capacity = a.size().max(b.size());
    let mut existing: HashMap<BddNode, BddPointer, FixedState> =
        HashMap::with_capacity_and_hasher(capacity, FixedState::default());
    let mut not_empty = false;
    let mut stack = vec![(a.root_pointer(), b.root_pointer())];
    let slot = |(l, r): (BddPointer, BddPointer)| l.to_index() * width + r.to_index();
    let known = |solved: &Solved, task: (BddPointer, BddPointer)| {
        let at = op.terminal(task.0.as_bool(), task.1.as_bool());
        at.map(BddPointer::from_bool)
            .or_else(|| solved.get(slot(task)))
    };
    while let Some(&task) = stack.last() {
        if solved.get(slot(task)).is_some() {
            stack.pop();
            continue;
        }
        let (l, r) = task;
        let (lv, rv) = (a.var_of(l), b.var_of(r));
        let var = lv.min(rv);
        let (l_low, l_high) = match lv == var {
            true => (a.low_link_of(l), a.high_link_of(l)),
            false => (l, l),
        };
        let (r_low, r_high) = match rv == var {
            true => (b.low_link_of(r), b.high_link_of(r)),
            false => (r, r),
        };
        let (low, high) = ((l_low, r_low), (l_high, r_high));
        match (known(solved, low), known(solved, high)) {
            (Some(new_low), Some(new_high)) => {
                not_empty |= new_low.is_one() || new_high.is_one();
                let result = match new_low == new_high {
                    true => new_low,
                    false => {
                        let node = BddNode::mk_node(var, new_low, new_high);
                        *existing.entry(node).or_insert_with(|| {
                            nodes.push(node);
                            BddPointer::from_index(nodes.len() - 1)
                        })
                    }
                };
                solved.set(slot(task), result);
                stack.pop();
            }
            (new_low, new_high) => {
                if new_low.is_none() {
                    stack.push(low);
                }
                if new_high.is_none() {
                    stack.push(high);
                }
            }
        }
    }
    if !not_empty {
        nodes.truncate(1);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of a few shapes of diagram, against the library: the
    /// same nodes in the same order, not just the same set.
    #[test]
    fn builds_the_libraries_diagram_node_for_node() {
        let sets = super::super::sample_sets();
        for p in &sets {
            for q in &sets {
                let ours = and(p, q).to_nodes();
                assert_eq!(ours, p.and(q).to_nodes(), "{p:?} ∧ {q:?}");
                let ours = or(p, q).to_nodes();
                assert_eq!(ours, p.or(q).to_nodes(), "{p:?} ∨ {q:?}");
            }
        }
    }
}
