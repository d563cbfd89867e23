//! Exact policy analysis over binary decision diagrams.
//!
//! The ticket space is split, field by field, into the cells the bundle can
//! tell apart (`space`, `specs`); every condition becomes the sets of tickets
//! it is true on, false on and fails on (`terms`, `side`); the first-match
//! decision becomes disjoint classes of tickets and how each ends (`flow`).
//! From these, `check` proves totality, reachability and the absence of
//! run-time errors and reports precedence; `plan` computes the exact change
//! between two bundles; `table` lists which rule and step decide each class.
//! Every claim comes with a witness ticket, decided again by the engine to
//! confirm it. An expression outside the analysed subset is named, and what
//! depends on it is "not proven".

mod apply;
mod check;
mod classes;
mod flow;
mod meet;
mod parallel;
mod plan;
mod side;
mod space;
mod specs;
mod split;
mod table;
mod terms;

pub use check::{Analysis, Finding, FindingKind, Precedence, Taking};

/// Diagrams of several shapes over six variables, for the tests that hold
/// an operation of this module against the library's own.
#[cfg(test)]
pub(crate) fn sample_sets() -> Vec<biodivine_lib_bdd::Bdd> {
    let vars = biodivine_lib_bdd::BddVariableSet::new_anonymous(6);
    let v = vars.variables();
    let x = |i: usize| vars.mk_var(v[i]);
    vec![
        vars.mk_false(),
        vars.mk_true(),
        x(0),
        x(5).not(),
        x(0).and(&x(1)),
        x(1).or(&x(3)).and_not(&x(2)),
        x(0).iff(&x(3)),
        x(0).xor(&x(3)).and(&x(2)),
        x(1).xor(&x(2)).xor(&x(4)).or(&x(0).and(&x(5))),
        x(2).imp(&x(4)).and(&x(1).or(&x(5))),
    ]
}
pub use classes::Class;
pub use flow::{Ending, Opaque, Verdict};
pub use plan::{Change, Outcome, Plan, PlanSide, TicketCount};
pub use table::{Row, Table};
