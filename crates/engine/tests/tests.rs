//! The engine's integration tests, in one binary (one link, one run); they
//! need nothing above the engine: no service, no CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod analysis;
mod analysis_enumeration;
mod architecture;
mod atoms;
mod bad_bundles;
mod determinism;
mod explanations;
mod fast_path;
mod format;
mod fuzz_policies;
mod fuzz_tickets;
mod ids;
mod index;
mod loader;
mod native;
mod problem_codes;
mod properties;
mod quick_walk;
mod sandbox;
mod scale;
mod tickets;
