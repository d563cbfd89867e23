//! Expressions: the named conditions compiled in dependency order, and the
//! guard of each rule, step and constraint, with every field it reads.

use super::conditions::condition_order;
use super::declarations::Declared;
use super::registry::Builder;
use crate::expr::compile::{Compiler, Expression};
use crate::load::raw::Text;
use crate::model::{Guard, Needs};
use crate::schema::Schema;

/// The most conditions a guard lists, and the most fields a condition's
/// reads are remembered for: beyond them, a guard finds its conditions when
/// it is evaluated, and its reads by a walk of its own.
const MAX_LISTED: usize = 64;

/// The named conditions, compiled, and what the guards use of them.
pub(super) struct Guards {
    /// Each named condition's expression, in declaration order (`None` where
    /// it did not compile).
    pub exprs: Vec<Option<Expression>>,
    /// Each condition's place in an order where each comes after those it uses.
    pub rank: Vec<usize>,
    /// Each condition's reads with those of every condition it depends on,
    /// where they are few (`None` where they are not).
    reads: Vec<Option<Vec<usize>>>,
    /// Scratch for the walk of one guard: the walk that last reached each
    /// condition.
    seen: Vec<usize>,
    walks: usize,
    /// The conditions the guards name, and the sets they name: what is used.
    named: Vec<usize>,
    sets: Vec<bool>,
}

/// Which named conditions and sets some guard uses.
pub(super) struct Used {
    pub conditions: Vec<bool>,
    pub sets: Vec<bool>,
}

impl Guards {
    /// Compiles the named conditions; `None` when they refer to each other in
    /// a cycle.
    pub(super) fn new(b: &mut Builder, compiler: &Compiler, declared: &Declared) -> Option<Guards> {
        let exprs: Vec<Option<Expression>> = declared
            .condition_defs
            .iter()
            .map(|(file, text)| compile(b, compiler, *file, text))
            .collect();
        let order = condition_order(b, &exprs, &declared.conditions)?;
        let mut rank = vec![0; exprs.len()];
        for (place, &condition) in order.iter().enumerate() {
            rank[condition] = place;
        }
        Some(Guards {
            reads: transitive_reads(&exprs, &order),
            seen: vec![0; exprs.len()],
            walks: 0,
            exprs,
            rank,
            named: Vec::new(),
            sets: vec![false; compiler.sets.len()],
        })
    }

    /// The guard of `expr`: the named conditions it needs (listed,
    /// dependencies first, when there are few), and every field it reads
    /// through them, sorted by path. A guard costs what it names and what
    /// it lists, not the size of the bundle.
    pub(super) fn guard(&mut self, schema: &Schema, expr: Expression) -> Guard {
        self.named.extend(&expr.conditions);
        expr.sets.iter().for_each(|&s| self.sets[s] = true);
        let needs = match self.walk(&expr.conditions, Some(MAX_LISTED)) {
            Some(mut needs) => {
                // The order every guard evaluates its conditions in.
                needs.sort_unstable_by_key(|&c| self.rank[c]);
                Needs::Listed(needs)
            }
            None => Needs::Found,
        };
        let mut reads = expr.reads.clone();
        let remembered: Option<Vec<&Vec<usize>>> = (expr.conditions.iter())
            .map(|&c| self.reads[c].as_ref())
            .collect();
        match remembered {
            Some(each) => each.into_iter().for_each(|r| reads.extend(r)),
            None => {
                let all = self.walk(&expr.conditions, None).unwrap_or_default();
                for c in all {
                    reads.extend(self.exprs[c].iter().flat_map(|e| &e.reads));
                }
            }
        }
        reads.sort_unstable();
        reads.dedup();
        // Sorted by path, the order the trace shows them in.
        reads.sort_unstable_by(|a, b| schema.fields[*a].path.cmp(&schema.fields[*b].path));
        let needs_bits = match &needs {
            Needs::Listed(list) if list.iter().all(|&c| c < 64) => {
                Some(list.iter().fold(0, |bits, &c| bits | 1 << c))
            }
            _ => None,
        };
        Guard {
            expr,
            needs,
            reads,
            needs_bits,
        }
    }

    /// The conditions reached from `start`, each once; `None` as soon as
    /// there are more than `limit`.
    fn walk(&mut self, start: &[usize], limit: Option<usize>) -> Option<Vec<usize>> {
        self.walks += 1;
        let walk = self.walks;
        let mut reached = Vec::new();
        let mut stack = start.to_vec();
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut self.seen[c], walk) == walk {
                continue;
            }
            reached.push(c);
            if let Some(e) = &self.exprs[c] {
                stack.extend(e.conditions.iter().filter(|&&d| self.seen[d] != walk));
            }
            if limit.is_some_and(|limit| reached.len() + stack.len() > limit) {
                return None;
            }
        }
        Some(reached)
    }

    /// The conditions and sets some guard uses, directly or through the
    /// conditions it uses: one walk from all the guards at once.
    pub(super) fn used(&mut self) -> Used {
        let mut conditions = vec![false; self.exprs.len()];
        let mut sets = std::mem::take(&mut self.sets);
        let mut stack = std::mem::take(&mut self.named);
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut conditions[c], true) {
                continue;
            }
            if let Some(e) = &self.exprs[c] {
                e.sets.iter().for_each(|&s| sets[s] = true);
                stack.extend(e.conditions.iter().filter(|&&d| !conditions[d]));
            }
        }
        Used { conditions, sets }
    }
}

/// Each condition's reads with those of every condition it depends on, in
/// dependency order, where there are at most `MAX_LISTED` (a chain that
/// reads one field remembers one field per condition, not the chain).
fn transitive_reads(exprs: &[Option<Expression>], order: &[usize]) -> Vec<Option<Vec<usize>>> {
    let mut reads: Vec<Option<Vec<usize>>> = vec![None; exprs.len()];
    for &c in order {
        let Some(e) = &exprs[c] else { continue };
        let mut all = e.reads.clone();
        let mut few = true;
        for &d in &e.conditions {
            match &reads[d] {
                Some(r) if all.len() + r.len() <= 2 * MAX_LISTED => all.extend(r),
                Some(r) => {
                    all.sort_unstable();
                    all.dedup();
                    all.extend(r);
                    few = all.len() <= 2 * MAX_LISTED;
                }
                None => few = false,
            }
            if !few {
                break;
            }
        }
        all.sort_unstable();
        all.dedup();
        reads[c] = (few && all.len() <= MAX_LISTED).then_some(all);
    }
    reads
}

/// Compiles one expression of `file`, reporting its problems.
pub(super) fn compile(
    b: &mut Builder,
    compiler: &Compiler,
    file: usize,
    text: &Text,
) -> Option<Expression> {
    match compiler.compile(&b.files[file], text) {
        Ok(expr) => Some(expr),
        Err(problems) => {
            b.problems.extend(problems);
            None
        }
    }
}
