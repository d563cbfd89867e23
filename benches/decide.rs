//! Decisions measured side by side in one run: the engine against a
//! hand-written implementation of the reference pack (the lower bound), from
//! a parsed ticket and from a JSON line to a JSON decision; and the engine on
//! bundles with N per-customer override rules (`benches/overrides.sh`).
//! Every group cycles through the same generated tickets. Run with
//! `cargo bench --bench decide`; the figures are in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::Value;
use triage_engine::Bundle;
use triage_engine::generate::TicketGenerator;

#[path = "support/handwritten.rs"]
mod handwritten;

const TICKETS: usize = 10_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ticket(name: &str) -> Value {
    let path = root().join("examples/tickets").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn tickets(bundle: &Bundle) -> Vec<Value> {
    let mut generator = TicketGenerator::new(bundle, 7);
    (0..TICKETS)
        .map(|_| generator.next_ticket().unwrap())
        .collect()
}

fn policy(bundle: &Bundle) -> handwritten::Policy {
    let p = bundle.policy();
    handwritten::Policy {
        name: p.name.to_string(),
        version: p.version.to_string(),
        digest: p.digest.to_string(),
    }
}

/// The hand-written decision writes the engine's bytes for every ticket, or
/// nothing here is worth measuring.
fn check_agreement(bundle: &Bundle, tickets: &[Value], policy: &handwritten::Policy) {
    for t in tickets {
        let engine = serde_json::to_string(&bundle.decide(t).unwrap()).unwrap();
        let typed = handwritten::Ticket::from_value(t).expect("the hand-written reader accepts it");
        let decision = handwritten::decide(&typed);
        let hand = serde_json::to_string(&handwritten::Written { decision, policy }).unwrap();
        assert_eq!(engine, hand, "the hand-written decision differs for {t}");
    }
}

/// Cycles through `items`, one a call.
fn cycle<'a, T>(items: &'a [T]) -> impl FnMut() -> &'a T {
    let mut i = 0;
    move || {
        i = (i + 1) % items.len();
        &items[i]
    }
}

fn reference(c: &mut Criterion) {
    let bundle = Bundle::load(root().join("policies")).unwrap();
    let tickets = tickets(&bundle);
    let policy = policy(&bundle);
    check_agreement(&bundle, &tickets, &policy);
    let typed: Vec<_> = tickets
        .iter()
        .map(|t| handwritten::Ticket::from_value(t).unwrap())
        .collect();
    let lines: Vec<String> = tickets.iter().map(Value::to_string).collect();

    let mut group = c.benchmark_group("reference pack: decide, full trace");
    let mut next = cycle(&tickets);
    group.bench_function("engine, from a Value", |b| {
        b.iter(|| bundle.decide(black_box(next())).unwrap())
    });
    let read: Vec<_> = (lines.iter())
        .map(|l| bundle.read_ticket(l.as_bytes()).unwrap())
        .collect();
    let mut next = cycle(&read);
    group.bench_function("engine, from a read ticket, trace as indices", |b| {
        b.iter(|| {
            bundle
                .decide_ticket(black_box(next()))
                .unwrap()
                .rule_id()
                .len()
        })
    });
    let mut next = cycle(&typed);
    group.bench_function("hand-written, from a typed ticket", |b| {
        b.iter(|| handwritten::decide(black_box(next())).rule)
    });
    let mut next = cycle(&tickets);
    group.bench_function("hand-written, from a Value", |b| {
        b.iter(|| {
            let t = handwritten::Ticket::from_value(black_box(next())).unwrap();
            handwritten::decide(&t).rule
        })
    });
    group.finish();

    let mut group = c.benchmark_group("reference pack: JSON line in, JSON decision out");
    let mut out = Vec::with_capacity(4096);
    let mut next = cycle(&lines);
    group.bench_function("engine, read and written straight", |b| {
        b.iter(|| {
            out.clear();
            let t = bundle.read_ticket(black_box(next()).as_bytes()).unwrap();
            let verdict = bundle.decide_ticket(&t).unwrap();
            verdict.write_json(&mut out).unwrap();
            out.len()
        })
    });
    let mut next = cycle(&lines);
    group.bench_function("engine, through a Value and serde_json", |b| {
        b.iter(|| {
            out.clear();
            let t: Value = serde_json::from_str(black_box(next())).unwrap();
            serde_json::to_writer(&mut out, &bundle.decide(&t).unwrap()).unwrap();
            out.len()
        })
    });
    let mut next = cycle(&lines);
    group.bench_function("hand-written, serde_json", |b| {
        b.iter(|| {
            out.clear();
            let t = handwritten::Ticket::read(black_box(next())).unwrap();
            let decision = handwritten::decide(&t);
            let written = handwritten::Written {
                decision,
                policy: &policy,
            };
            serde_json::to_writer(&mut out, &written).unwrap();
            out.len()
        })
    });
    group.finish();
}

/// The reference pack with `n` override rules, written by the script.
fn overrides(n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("triage-bench-overrides-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    let status = std::process::Command::new("bash")
        .arg(root().join("benches/overrides.sh"))
        .arg(n.to_string())
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "benches/overrides.sh {n} failed");
    dir
}

/// The bundle with `n` override rules, if it loads (100,000 rules are more
/// bytes than a bundle may hold): said on standard error when not.
fn load_overrides(n: usize) -> Option<Bundle> {
    let started = std::time::Instant::now();
    match Bundle::load(overrides(n)) {
        Ok(bundle) => {
            eprintln!(
                "{n} override rules: loaded and checked in {:?}",
                started.elapsed()
            );
            Some(bundle)
        }
        Err(error) => {
            let first = error.problems.first().map(|p| p.message.clone());
            eprintln!(
                "{n} override rules do not load: {}",
                first.unwrap_or_default()
            );
            None
        }
    }
}

fn scaling(c: &mut Criterion) {
    let reference = Bundle::load(root().join("policies")).unwrap();
    let tickets = tickets(&reference);
    let mut group = c.benchmark_group("override rules: decide, full trace");
    group.sample_size(30);
    for n in [0, 100, 1_000, 10_000, 100_000] {
        let Some(bundle) = load_overrides(n) else {
            continue;
        };
        let mut next = cycle(&tickets);
        group.bench_function(BenchmarkId::new("indexed", n), |b| {
            b.iter(|| bundle.decide(black_box(next())).unwrap())
        });
        // The same walk of every rule, for the difference the index makes
        // (100,000 rules would take minutes to sample).
        if n <= 10_000 {
            let linear = bundle.linear();
            let mut next = cycle(&tickets);
            group.bench_function(BenchmarkId::new("linear", n), |b| {
                b.iter(|| linear.decide(black_box(next())).unwrap())
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("override rules: load and check");
    group.sample_size(10);
    for n in [1_000, 10_000] {
        let dir = overrides(n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| Bundle::load(&dir).unwrap())
        });
    }
    group.finish();
}

fn examples(c: &mut Criterion) {
    let bundle = Bundle::load(root().join("policies")).unwrap();
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
        b.iter(|| Bundle::load(root().join("policies")).unwrap())
    });
}

criterion_group!(benches, reference, scaling, examples);
criterion_main!(benches);
