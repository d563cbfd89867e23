//! Times the exact analysis on generated bundles once, for the figures in
//! docs/performance.md: `cargo run --release --example analysis_scale -- FIELDS RULES`
//! (twenty more enum fields and 1,000 rules is the target case).
//! The criterion benchmark of the same cases is `cargo bench --bench analysis`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

#[path = "../benches/support/scaled.rs"]
mod scaled;

use scaled::{load, scaled};

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap_or(0));
    let (fields, rules) = (args.next().unwrap_or(20), args.next().unwrap_or(1000));
    let started = Instant::now();
    let base = load(&scaled(fields, rules, false));
    let head = load(&scaled(fields, rules, true));
    println!(
        "{fields} more fields, {rules} rules: both loaded in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let analysis = base.analyse();
    let taken: usize = analysis
        .precedence
        .iter()
        .map(|p| p.taken.len() + p.more)
        .sum();
    println!(
        "analyse: {:?} (proven: {}, {} findings, {} precedence pairs)",
        started.elapsed(),
        analysis.proven,
        analysis.findings.len(),
        taken
    );
    let started = Instant::now();
    let plan = base.plan(&head, None);
    println!(
        "plan: {:?} (proven: {}, {} changes)",
        started.elapsed(),
        plan.proven,
        plan.changes.len()
    );
}
