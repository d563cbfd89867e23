//! The exact analysis at scale: the reference pack proven; the pack with
//! twenty more enum fields of 3–6 values and N rules over them (decision
//! tables, and random conjunctions as the worst case) proven; and the plan
//! between two such bundles that differ in ten rules. Run with
//! `cargo bench --bench analysis`; the figures are in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
#[path = "support/scaled.rs"]
mod scaled;

use scaled::{Shape, load, pack, scaled};

fn bench(c: &mut Criterion) {
    let reference = load(&pack());
    c.bench_function("analyse: reference pack", |b| {
        b.iter(|| black_box(reference.analyse()))
    });
    let mut group = c.benchmark_group("analyse: 20 more enum fields");
    group.sample_size(10);
    for rules in [100, 300, 1000] {
        let bundle = load(&scaled(Shape::Tables, 20, rules, false));
        group.bench_function(format!("{rules} rules"), |b| {
            b.iter(|| black_box(bundle.analyse()))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("plan: 20 more enum fields, ten rules changed");
    group.sample_size(10);
    for rules in [100, 300, 1000] {
        let (base, head) = (
            load(&scaled(Shape::Tables, 20, rules, false)),
            load(&scaled(Shape::Tables, 20, rules, true)),
        );
        group.bench_function(format!("{rules} rules"), |b| {
            b.iter(|| black_box(base.plan(&head, None)))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("analyse: 20 more enum fields, random conjunctions");
    group.sample_size(10);
    for rules in [100, 1000] {
        let bundle = load(&scaled(Shape::Random, 20, rules, false));
        group.bench_function(format!("{rules} rules"), |b| {
            b.iter(|| black_box(bundle.analyse()))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("analyse: 1000 rules");
    group.sample_size(10);
    for fields in [5, 10, 20, 40] {
        let bundle = load(&scaled(Shape::Tables, fields, 1000, false));
        group.bench_function(format!("{fields} more fields"), |b| {
            b.iter(|| black_box(bundle.analyse()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
