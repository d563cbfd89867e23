//! Expressions: the named conditions compiled in dependency order, and the
//! guard of each rule, step and constraint, with every field it reads.

use super::conditions::{condition_order, depends};
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
    /// The conditions in an order where each comes after those it uses.
    order: Vec<usize>,
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
        let uses = Used {
            conditions: vec![false; exprs.len()],
            sets: vec![false; compiler.sets.len()],
        };
        Some(Guards { exprs, order, uses })
    }

    /// The guard of `expr`: the named conditions it needs, dependencies
    /// first, and every field it reads through them, sorted by path.
    pub(super) fn guard(&mut self, schema: &Schema, expr: Expression) -> Guard {
        let exprs = &self.exprs;
        let needs: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|&c| depends(&expr, c, exprs))
            .collect();
        let mut reads = expr.reads.clone();
        for &c in &needs {
            self.uses.conditions[c] = true;
            if let Some(e) = &exprs[c] {
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
