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
pub use classes::Class;
pub use flow::{Ending, Opaque, Verdict};
pub use plan::{Change, Outcome, Plan, PlanSide, TicketCount};
pub use table::{Row, Table};
