//! triage-engine: decide, for a support ticket, what happens next, by the
//! rules of a YAML policy bundle with rhai conditions. This is the crate a
//! service embeds; the decision log, the HTTP service and the CLI sit on top
//! of it in their own crates.
//!
//! The layers, lowest first; each imports only from the layers above it in
//! this table:
//!
//! | layer        | what it does                                                     |
//! |--------------|------------------------------------------------------------------|
//! | `diagnostic` | located problems (`file:line:col`), their codes, "did you mean"  |
//! | `schema`     | the ticket schema, field paths, and the check of each ticket     |
//! | `load`       | the manifest and the files it lists, as written; the digest      |
//! | `expr`       | the rhai sandbox; each condition compiled once, type-checked, lowered to native code where it can be |
//! | `model`      | the compiled bundle as evaluation reads it; the decision and its trace |
//! | `link`       | resolves every reference and builds the model, collecting every problem |
//! | `engine`     | `Bundle`: load it, decide with it; the catalog of what it declares |
//! | `tools`      | suites, the exhaustive check, ticket generation, JSON Schemas, the formatter |
//!
//! No name a policy declares (a field, role, action, outcome, vehicle or
//! service) appears in this crate: they all come from the bundle.
//!
//! ```
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
//! let bundle = triage_engine::Bundle::load(dir).expect("the reference pack loads");
//! let ticket: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
//!     concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tickets/premier-critical.json"),
//! ).unwrap()).unwrap();
//! let decision = bundle.decide(&ticket).expect("a valid ticket is decided");
//! assert_eq!(decision.policy, *bundle.policy());
//! println!("{}", serde_json::to_string_pretty(&decision).unwrap());
//! ```

#![warn(missing_docs)]

mod diagnostic;
mod engine;
mod expr;
mod link;
mod load;
mod model;
mod schema;
mod tools;

pub use diagnostic::{
    BundleError, Code, Diagnostics, Loc, Problem, Severity, SuiteError, is_unprintable, printable,
    printable_keeping_lines,
};
pub use engine::catalog::{
    ActionInfo, Catalog, ConditionInfo, ConstraintInfo, FallbackInfo, FieldInfo, OutcomeInfo,
    PathInfo, RuleInfo, SetInfo, StepInfo, TicketInfo,
};
pub use engine::{Bundle, Verdict, Written};
pub use load::source::{MANIFEST, MAX_BUNDLE_BYTES, MAX_FILE_BYTES};
pub use load::{PolicyFile, digest};
pub use model::Described;
pub use model::decision::{
    Counts, Decision, EvaluationError, Excluded, InputProblem, Named, PolicyRef, Reads, Rejection,
    RejectionKind, Requester, Stage, StepKind, StepResult, TraceStep,
};
pub use schema::{
    BOM, FieldPath, FieldType, Ticket, TicketSyntaxError, parse_ticket, read_tickets, strip_bom,
};
pub use tools::exhaustive::{Example, Exploration, ExploreOptions, FieldDomain, Mode, Reach};
pub use tools::{analysis, format, generate, jsonschema, suite};
