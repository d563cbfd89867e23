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
//! |          | `typecheck`  | comparisons and `in` tests checked against the schema     |
//! |          | `exhaustive` | every combination of the values conditions read, decided  |
//! | compile  | `compile`    | the rhai sandbox; each expression compiled once           |
//! |          | `native`     | the common expressions lowered to run without rhai        |
//! | evaluate | `evaluate`   | one ticket: constraints, first matching rule, path steps  |
//! | record   | `decision`   | the decision (or rejection) and its trace: the JSON contract |
//! |          | `audit`      | the hash-chained decision log, its bundle archive and masking; |
//! |          |              | verify, replay, report, and `diff` of two bundles on tickets |
//!
//! Around the pipeline:
//!
//! | module     | what it does                                                   |
//! |------------|----------------------------------------------------------------|
//! | `batch`    | JSON Lines in, decisions out, on every core, in input order    |
//! | `serve`    | the HTTP service: routes, metrics, hot reload, limits          |
//! | `generate` | valid test tickets drawn from a bundle's schema, seeded        |
//! | `catalog`  | everything a bundle declares, for tools and people             |
//! | `suite`    | the YAML policy test suites, with coverage                     |
//! | `jsonschema` | JSON Schemas of policy files, suites and tickets             |
//! | `cli`      | the command line: one file a subcommand                        |
//!
//! `bundle` holds the compiled result; `diagnostic` the located problems.
//! No name a policy declares (a field, role, action, outcome, vehicle or
//! service) appears here: they all come from the bundle.

pub mod audit;
pub mod batch;
mod bundle;
mod catalog;
mod compile;
mod decision;
mod diagnostic;
mod evaluate;
mod exhaustive;
pub mod generate;
pub mod jsonschema;
mod native;
mod raw;
mod schema;
pub mod serve;
mod source;
pub mod suite;
mod typecheck;
mod validate;

pub mod cli;

pub use bundle::{Bundle, Described, PolicyFile};
pub use catalog::{
    ActionInfo, Catalog, ConditionInfo, ConstraintInfo, FallbackInfo, FieldInfo, OutcomeInfo,
    PathInfo, RuleInfo, SetInfo, StepInfo, TicketInfo,
};
pub use decision::{
    Decision, EvaluationError, InputProblem, PolicyRef, Reads, Rejection, RejectionKind, Requester,
    StepKind, StepResult, TraceStep,
};
pub use diagnostic::{BundleError, Loc, Problem, Severity};
pub use exhaustive::{Example, Exploration, ExploreOptions, FieldDomain, Reach};
pub use source::MANIFEST;
