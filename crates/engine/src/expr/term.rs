//! The lowered expression tree: the subset of rhai whose semantics are
//! known exactly. The native evaluator (`native`) runs it, the analysis
//! (`tools::analysis`) reads it, and `bound` specialises it to a schema.

use std::sync::Arc;

/// A lowered expression: the subset whose rhai semantics are known exactly,
/// which the analysis (`tools::analysis`) reads too.
#[derive(Clone, Debug)]
pub(crate) enum Term {
    Field(usize),
    Condition(usize),
    Str(Box<str>),
    Int(i64),
    Bool(bool),
    /// A list literal, or a named set (shared with every program that uses it).
    List(Arc<[Arc<str>]>),
    Not(Box<Term>),
    And(Box<[Term]>),
    Or(Box<[Term]>),
    Compare(Cmp, Box<(Term, Term)>),
    /// The item, then the list.
    In(Box<(Term, Term)>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}
