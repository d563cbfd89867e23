//! All integration tests, in one binary (one link, one run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod bad_bundles;
mod check;
mod cli;
mod determinism;
mod editor;
mod properties;
mod sandbox;
mod suites;
mod worked_examples;
