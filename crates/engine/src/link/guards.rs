//! Expressions: the named conditions compiled in dependency order, and the
//! guard of each rule, step and constraint, with every field it reads.

use super::conditions::condition_order;
use super::declarations::Declared;
use super::registry::Builder;
use crate::expr::compile::{Compiler, Expression};
use crate::load::raw::Text;
use crate::model::Guard;
use crate::schema::Schema;

/// The named conditions, compiled, and what the guards use of them.
pub(super) struct Guards {
    /// Each named condition's expression, in declaration order (`None` where
    /// it did not compile).
    pub exprs: Vec<Option<Expression>>,
    /// Each condition's place in an order where each comes after those it uses.
    rank: Vec<usize>,
    /// Scratch for the walk of one guard's conditions: the walk that last
    /// reached each condition.
    seen: Vec<usize>,
    walks: usize,
    pub uses: Used,
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
        let uses = Used {
            conditions: vec![false; exprs.len()],
            sets: vec![false; compiler.sets.len()],
        };
        Some(Guards {
            seen: vec![0; exprs.len()],
            walks: 0,
            exprs,
            rank,
            uses,
        })
    }

    /// The guard of `expr`: the named conditions it needs, dependencies
    /// first, and every field it reads through them, sorted by path. Each
    /// condition it needs is reached once, so a guard costs what it needs,
    /// not the number of conditions in the bundle.
    pub(super) fn guard(&mut self, schema: &Schema, expr: Expression) -> Guard {
        self.walks += 1;
        let walk = self.walks;
        let mut needs = Vec::new();
        let mut stack = expr.conditions.clone();
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut self.seen[c], walk) == walk {
                continue;
            }
            needs.push(c);
            if let Some(e) = &self.exprs[c] {
                stack.extend(e.conditions.iter().filter(|&&d| self.seen[d] != walk));
            }
        }
        // The order every guard evaluates its conditions in.
        needs.sort_unstable_by_key(|&c| self.rank[c]);
        let mut reads = expr.reads.clone();
        for &c in &needs {
            self.uses.conditions[c] = true;
            if let Some(e) = &self.exprs[c] {
                reads.extend(&e.reads);
                e.sets.iter().for_each(|&s| self.uses.sets[s] = true);
            }
        }
        expr.sets.iter().for_each(|&s| self.uses.sets[s] = true);
        // Sorted by path, the order the trace shows them in.
        reads.sort_unstable_by(|a, b| schema.fields[*a].path.cmp(&schema.fields[*b].path));
        reads.dedup();
        Guard { expr, needs, reads }
    }
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
