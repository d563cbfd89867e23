//! Named conditions: which depend on which, and an order to evaluate them in.

use super::registry::{Builder, Registry};
use crate::diagnostic::{Code, Problem};
use crate::expr::compile::Expression;

/// The conditions in an order where each comes after those it uses; `None`
/// (with a problem) when they refer to each other in a cycle.
pub(super) fn condition_order(
    b: &mut Builder,
    exprs: &[Option<Expression>],
    names: &Registry,
) -> Option<Vec<usize>> {
    let mut marks = vec![Mark::New; exprs.len()];
    let mut order = Vec::with_capacity(exprs.len());
    for at in 0..exprs.len() {
        if let Some(cycle) = visit(at, exprs, &mut marks, &mut order) {
            let name = |i: &usize| format!("`{}`", names.names[*i].0);
            // A long cycle is named by its ends.
            let chain: Vec<String> = match cycle.len() {
                ..=MAX_CYCLE_SHOWN => cycle.iter().chain(cycle.first()).map(name).collect(),
                n => (cycle.iter().take(MAX_CYCLE_SHOWN / 2).map(name))
                    .chain([format!("… ({} more)", n - MAX_CYCLE_SHOWN / 2 - 1)])
                    .chain(cycle.last().into_iter().chain(cycle.first()).map(name))
                    .collect(),
            };
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

/// The most conditions a cycle's message names one by one.
const MAX_CYCLE_SHOWN: usize = 16;

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    New,
    Active,
    Done,
}

/// A depth-first walk from `start` that appends each condition to `order`
/// after those it uses; the conditions of a cycle, if it finds one. It keeps
/// its own stack (of each condition and the next of its uses to look at), so
/// a chain of any length walks in constant call depth.
fn visit(
    start: usize,
    exprs: &[Option<Expression>],
    marks: &mut [Mark],
    order: &mut Vec<usize>,
) -> Option<Vec<usize>> {
    if marks[start] != Mark::New {
        return None;
    }
    marks[start] = Mark::Active;
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    while let Some((at, next)) = stack.last_mut() {
        let uses = exprs[*at].as_ref().map_or(&[][..], |e| &e.conditions[..]);
        let Some(&used) = uses.get(*next) else {
            marks[*at] = Mark::Done;
            order.push(*at);
            stack.pop();
            continue;
        };
        *next += 1;
        match marks[used] {
            Mark::Done => {}
            Mark::Active => {
                let from = stack.iter().position(|&(s, _)| s == used).unwrap_or(0);
                return Some(stack[from..].iter().map(|&(s, _)| s).collect());
            }
            Mark::New => {
                marks[used] = Mark::Active;
                stack.push((used, 0));
            }
        }
    }
    None
}
