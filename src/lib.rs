//! triage: decide, for a support ticket, what happens next, by the rules of a
//! YAML policy bundle with rhai conditions.
//!
//! The pipeline, one module a stage:
//!
//! | stage    | module       | what it does                                              |
//! |----------|--------------|-----------------------------------------------------------|
//! | load     | `source`     | reads `bundle.yaml` and the files it lists; the digest    |
//! |          | `raw`        | the YAML as written, with source locations                |
//! | validate | `validate`   | resolves every reference, collects every problem          |
//! |          | `schema`     | the ticket schema and the check of each ticket            |
//! | compile  | `compile`    | the rhai sandbox; each expression compiled once           |
//! | evaluate | `evaluate`   | one ticket: constraints, first matching rule, path steps  |
//! | record   | `decision`   | the decision (or rejection) and its trace: the JSON contract |
//!
//!
//! Around the pipeline:
//!
//! | module     | what it does                                                   |
//! |------------|----------------------------------------------------------------|
//! | `batch`    | JSON Lines in, decisions out, on every core, in input order    |
//! | `serve`    | the HTTP service: routes, metrics, hot reload, limits          |
//! | `generate` | valid test tickets drawn from a bundle's schema, seeded        |
//!
//! `bundle` holds the compiled result; `diagnostic` the located problems.
//! Nothing of the support domain is named here: it all comes from the bundle.

pub mod batch;
mod bundle;
mod catalog;
mod compile;
mod decision;
mod diagnostic;
mod evaluate;
pub mod generate;
mod raw;
mod schema;
pub mod serve;
mod source;
mod validate;

pub mod cli;

pub use bundle::{Bundle, Described, PolicyFile};
pub use catalog::{
    ActionInfo, Catalog, ConditionInfo, FallbackInfo, FieldInfo, OutcomeInfo, PathInfo, RuleInfo,
    SetInfo, StepInfo, TicketInfo,
};
pub use decision::{
    Decision, EvaluationError, InputProblem, PolicyRef, Rejection, RejectionKind, Requester,
    StepKind, StepResult, TraceStep,
};
pub use diagnostic::{BundleError, Loc, Problem, Severity};
pub use source::MANIFEST;
