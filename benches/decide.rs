//! Single decisions on the reference pack, with the full trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use triage_engine::Bundle;

fn ticket(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/tickets")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn decide(c: &mut Criterion) {
    let bundle = Bundle::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap();
    let mut group = c.benchmark_group("decide");
    // The longest walk (every rule, every step, the fallback) and the shortest.
    for name in [
        "dynamics-no-vehicle.json",
        "premier-critical.json",
        "marketplace-publisher.json",
    ] {
        let t = ticket(name);
        group.bench_function(name.trim_end_matches(".json"), |b| {
            b.iter(|| bundle.decide(black_box(&t)).unwrap())
        });
    }
    group.finish();

    // The longest walk again with every condition run by rhai, for the
    // difference native evaluation makes.
    let interpreted = bundle.interpreted();
    let t = ticket("dynamics-no-vehicle.json");
    c.bench_function("decide_interpreted/dynamics-no-vehicle", |b| {
        b.iter(|| interpreted.decide(black_box(&t)).unwrap())
    });

    let t = ticket("premier-critical.json");
    c.bench_function("decide_and_serialise", |b| {
        b.iter(|| serde_json::to_vec(&bundle.decide(black_box(&t)).unwrap()).unwrap())
    });
    c.bench_function("load_bundle", |b| {
        b.iter(|| Bundle::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap())
    });
}

criterion_group!(benches, decide);
criterion_main!(benches);
