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

mod check;
mod classes;
mod flow;
mod plan;
mod side;
mod space;
mod specs;
mod table;
mod terms;

use serde::Serialize;

pub use check::{Analysis, Finding, FindingKind, Opaque, Precedence, Taking};
pub use flow::{Ending, Verdict};
pub use plan::{Change, Plan, PlanSide};
pub use table::{Row, Table};

/// A class of tickets: a readable predicate, its share of the tickets the
/// schema accepts, and one complete ticket in it.
#[derive(Clone, Debug, Serialize)]
pub struct Class {
    /// The class as a predicate (`service = azure and issue.severity = A`).
    pub class: String,
    /// Its share of the valid ticket space, counting each combination of
    /// field cells once.
    pub share: f64,
    /// A complete ticket in the class.
    pub witness: serde_json::Value,
}
