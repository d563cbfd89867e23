//! Loading a bundle: a chain of named conditions, each using the one before
//! it (`c0: x == "a"`, `c1: c0 && x != "b"`, …), with one rule on the last.
//! Load time grows linearly with the chain (it once grew with its square).
//!
//! `cargo bench -p triage-engine --bench load`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use triage_engine::{Bundle, PolicyFile};

/// A bundle of `n` chained conditions, in memory.
fn chain(n: usize) -> Vec<PolicyFile> {
    let mut policy = String::from(
        "ticket:
  id_field: id
  role_field: role
  fields:
    id: { type: string, required: true }
    role: { type: role, required: true }
    x: { type: string, default: '' }
conditions:
  c0: x == \"a\"
",
    );
    for i in 1..n {
        writeln!(policy, "  c{i}: c{} && x != \"b\"", i - 1).unwrap();
    }
    write!(
        policy,
        "roles:
  agent: {{ title: Agent }}
actions:
  act: {{ title: Act, roles: [agent] }}
outcomes:
  hit: {{ title: Hit, description: The whole chain holds. }}
  miss: {{ title: Miss, description: It does not. }}
rules:
  - id: chain
    when: c{}
    outcome: hit
    action: act
    rationale: Every condition of the chain holds.
  - id: rest
    outcome: miss
    action: act
    rationale: Anything else.
",
        n - 1
    )
    .unwrap();
    let manifest = "name: chain\nversion: '1'\nfiles: [policy.yaml]\n";
    vec![
        PolicyFile {
            name: "bundle.yaml".into(),
            text: manifest.into(),
        },
        PolicyFile {
            name: "policy.yaml".into(),
            text: policy,
        },
    ]
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_chain");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for n in [1_000, 10_000, 50_000] {
        let files = chain(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &files, |b, files| {
            b.iter(|| Bundle::from_files(black_box(files)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
