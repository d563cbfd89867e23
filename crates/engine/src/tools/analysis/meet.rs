//! Whether two sets share a ticket, without building their intersection.
//!
//! The precedence report and the reachability findings ask this of every
//! pair of rules: building `a ∧ b` for each pair allocates a new diagram
//! whose size is that of the larger operand, while the answer only needs
//! one path that both diagrams allow. The walk below stops at the first
//! such path and remembers the pairs of nodes it has already seen (which
//! can only lead to an empty intersection, or the walk would have stopped).

use std::collections::HashSet;

use biodivine_lib_bdd::{Bdd, BddPointer};
use foldhash::fast::FixedState;

/// Whether some assignment is in both `a` and `b`.
pub(crate) fn meets(a: &Bdd, b: &Bdd) -> bool {
    // Most pairs that meet do so along the first paths tried: a short walk
    // without memory settles them before any table is allocated.
    if let Some(found) = walk(a, b, &mut NoMemory, QUICK) {
        return found;
    }
    let pairs = a.size().saturating_mul(b.size());
    let found = match pairs <= DENSE {
        true => walk(a, b, &mut Dense::new(b.size(), pairs), usize::MAX),
        false => walk(a, b, &mut HashSet::<_, FixedState>::default(), usize::MAX),
    };
    found.unwrap_or(false)
}

/// Up to how many pairs of nodes a bit each is cheaper than hashing.
const DENSE: usize = 1 << 22;

/// How many pairs of nodes the walk without memory visits before it gives
/// way to the one with.
const QUICK: usize = 256;

/// The pairs of nodes a walk has seen.
trait Memory {
    /// Whether `pair` is new (and now seen).
    fn first(&mut self, pair: (BddPointer, BddPointer)) -> bool;
}

/// A walk that remembers nothing (so may visit a pair twice).
struct NoMemory;

impl Memory for NoMemory {
    fn first(&mut self, _: (BddPointer, BddPointer)) -> bool {
        true
    }
}

/// One bit a pair of nodes, for diagrams small enough.
struct Dense {
    width: usize,
    bits: Vec<u64>,
}

impl Dense {
    fn new(width: usize, pairs: usize) -> Dense {
        Dense {
            width,
            bits: vec![0; pairs.div_ceil(64)],
        }
    }
}

impl Memory for Dense {
    fn first(&mut self, (x, y): (BddPointer, BddPointer)) -> bool {
        let at = x.to_index() * self.width + y.to_index();
        let (word, bit) = (at / 64, 1u64 << (at % 64));
        let new = self.bits.get(word).is_some_and(|w| w & bit == 0);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= bit;
        }
        new
    }
}

impl Memory for HashSet<(BddPointer, BddPointer), FixedState> {
    fn first(&mut self, pair: (BddPointer, BddPointer)) -> bool {
        self.insert(pair)
    }
}

/// Depth first through pairs of nodes, the `true` branches first; `None`
/// when `budget` pairs were visited without an answer.
fn walk(a: &Bdd, b: &Bdd, memory: &mut impl Memory, budget: usize) -> Option<bool> {
    let mut stack = vec![(a.root_pointer(), b.root_pointer())];
    let mut visited = 0;
    while let Some((x, y)) = stack.pop() {
        if x.is_zero() || y.is_zero() {
            continue;
        }
        // A reduced diagram's every node other than `false` holds some
        // assignment, so meeting `true` is meeting the other side.
        if x.is_one() || y.is_one() {
            return Some(true);
        }
        if !memory.first((x, y)) {
            continue;
        }
        visited += 1;
        if visited > budget {
            return None;
        }
        let (vx, vy) = (a.var_of(x), b.var_of(y));
        let v = vx.min(vy);
        let (xl, xh) = match vx == v {
            true => (a.low_link_of(x), a.high_link_of(x)),
            false => (x, x),
        };
        let (yl, yh) = match vy == v {
            true => (b.low_link_of(y), b.high_link_of(y)),
            false => (y, y),
        };
        stack.push((xl, yl));
        stack.push((xh, yh));
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_agrees_with_building_the_intersection() {
        let sets = super::super::sample_sets();
        for a in &sets {
            for b in &sets {
                assert_eq!(meets(a, b), !a.and(b).is_false(), "{a:?} / {b:?}");
            }
        }
    }
}
