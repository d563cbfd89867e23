//! Expressions: the rhai sandbox, each condition compiled once per bundle
//! (`compile`), checked against the ticket schema (`typecheck`), and, where
//! its shape allows, lowered to run without rhai (`native`).

pub(crate) mod bound;
pub(crate) mod chain;
pub(crate) mod compile;
pub(crate) mod evaluated;
pub(crate) mod flat;
pub(crate) mod hints;
pub(crate) mod native;
pub(crate) mod sandbox;
pub(crate) mod scan;
pub(crate) mod term;
pub(crate) mod typecheck;

pub(crate) use compile::Expression;
