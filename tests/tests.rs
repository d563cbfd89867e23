//! All integration tests, in one binary (one link, one run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod audit;
mod audit_crash;
mod audit_tools;
mod bad_bundles;
mod check;
mod cli;
mod determinism;
mod diff;
mod editor;
mod properties;
mod sandbox;
mod suites;
mod worked_examples;
