//! Named conditions: which depend on which, and an order to evaluate them in.

use super::registry::{Builder, Registry};
use crate::diagnostic::{Code, Problem};
use crate::expr::compile::Expression;

/// Whether `expr` depends on condition `c`, directly or through other conditions.
pub(super) fn depends(expr: &Expression, c: usize, exprs: &[Option<Expression>]) -> bool {
    let mut stack: Vec<usize> = expr.conditions.clone();
    let mut seen = vec![false; exprs.len()];
    while let Some(next) = stack.pop() {
        if next == c {
            return true;
        }
        if std::mem::replace(&mut seen[next], true) {
            continue;
        }
        if let Some(e) = &exprs[next] {
            stack.extend(&e.conditions);
        }
    }
    false
}

/// The conditions in an order where each comes after those it uses; `None`
/// (with a problem) when they refer to each other in a cycle.
pub(super) fn condition_order(
    b: &mut Builder,
    exprs: &[Option<Expression>],
    names: &Registry,
) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    pub(super) fn visit(
        at: usize,
        exprs: &[Option<Expression>],
        marks: &mut [Mark],
        order: &mut Vec<usize>,
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        match marks[at] {
            Mark::Done => return None,
            Mark::Active => {
                let start = stack.iter().position(|&s| s == at).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            Mark::New => {}
        }
        marks[at] = Mark::Active;
        stack.push(at);
        if let Some(e) = &exprs[at] {
            for &next in &e.conditions {
                if let Some(cycle) = visit(next, exprs, marks, order, stack) {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        marks[at] = Mark::Done;
        order.push(at);
        None
    }
    let mut marks = vec![Mark::New; exprs.len()];
    let mut order = Vec::new();
    for at in 0..exprs.len() {
        if let Some(cycle) = visit(at, exprs, &mut marks, &mut order, &mut Vec::new()) {
            let chain: Vec<String> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| format!("`{}`", names.names[i].0))
                .collect();
            b.problems.push(
                Problem::error(
                    Code::Cycle,
                    format!(
                        "conditions refer to each other in a cycle: {}",
                        chain.join(" → ")
                    ),
                    Some(names.names[cycle[0]].1.clone()),
                )
                .with_help("a named condition may use only conditions that do not use it back"),
            );
            return None;
        }
    }
    Some(order)
}
