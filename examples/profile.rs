//! Runs many decisions on one ticket, for a profiler: `cargo run --release --example profile`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bundle = triage_engine::Bundle::load(root.join("policies")).unwrap();
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "dynamics-no-vehicle.json".to_owned());
    let text = std::fs::read_to_string(root.join("examples/tickets").join(name)).unwrap();
    let ticket: serde_json::Value = serde_json::from_str(&text).unwrap();
    let count: u32 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let start = std::time::Instant::now();
    for _ in 0..count {
        std::hint::black_box(bundle.decide(std::hint::black_box(&ticket)).unwrap());
    }
    let each = start.elapsed() / count;
    println!("{count} decisions, {each:?} each");
}
