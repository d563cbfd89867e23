//! Times the exact analysis on generated bundles once, for the figures in
//! docs/performance.md: `cargo run --release --example analysis_scale -- FIELDS RULES [tables|random] [analyse]`
//! (twenty more enum fields and 1,000 rules is the target case;
//! `analyse` stops before the plan, for a profile of the check alone).
//! The criterion benchmark of the same cases is `cargo bench --bench analysis`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

#[path = "../benches/support/scaled.rs"]
mod scaled;

use scaled::{Shape, load, scaled};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (fields, rules) = (number(0, 20), number(1, 1000));
    let shape = match args.get(2).map(String::as_str) {
        Some("random") => Shape::Random,
        _ => Shape::Tables,
    };
    let started = Instant::now();
    let base = load(&scaled(shape, fields, rules, false));
    let head = load(&scaled(shape, fields, rules, true));
    println!(
        "{shape:?}: {fields} more fields, {rules} rules: both loaded in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let analysis = base.analyse();
    let taken: usize = analysis.precedence.iter().map(|p| p.taken.len()).sum();
    println!(
        "analyse: {:?} (proven: {}, {} findings, {} rules taken from, {} pairs listed)",
        started.elapsed(),
        analysis.proven,
        analysis.findings.len(),
        analysis.precedence.len(),
        taken
    );
    if args.get(3).is_some_and(|a| a == "analyse") {
        return;
    }
    let started = Instant::now();
    let plan = base.plan(&head, None);
    println!(
        "plan: {:?} (proven: {}, {} changes)",
        started.elapsed(),
        plan.proven,
        plan.changes.len()
    );
}
