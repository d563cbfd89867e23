//! All integration tests, in one binary (one link, one run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod audit;
mod audit_crash;
mod audit_faults;
mod audit_serve;
mod audit_tools;
mod batch;
mod browser_support;
mod check;
mod cli;
mod deploy;
mod determinism_processes;
mod diff;
mod editor;
mod fault_support;
mod fmt;
mod hostile_input;
mod http;
mod openapi;
mod plan;
mod reload;
mod scripts;
mod serve_limits;
mod serve_support;
mod signing;
mod store;
mod suites;
mod table;
mod workbench;
