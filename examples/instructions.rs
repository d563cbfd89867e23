//! Decides generated tickets inside one function, `measured`, so that
//! `valgrind --tool=callgrind --toggle-collect='*measured*'` counts the
//! instructions of the decisions alone, whatever else runs on the machine.
//! `benches/instructions.sh` runs it for each case and prints the counts.
//!
//!   instructions CASE POLICIES COUNT
//!
//! CASE: `engine` (decide from a `Value`, the `Decision` built), `linear`
//! (the same without the rule index), `engine-ticket` (decide a ticket
//! already read into the bundle's layout, the trace kept as indices),
//! `hand` (the hand-written decision from a typed ticket), `hand-value` (the
//! same from a `Value`), `engine-json` (a JSON line read straight into the
//! layout, the decision written straight to JSON), `engine-json-value` (the
//! same through a `Value` and serde_json) and `hand-json` (the hand-written
//! decision, serde_json in and out).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// One index walks the cases' inputs side by side.
#![allow(clippy::needless_range_loop)]

use std::hint::black_box;

use serde_json::Value;
use triage_engine::generate::TicketGenerator;
use triage_engine::{Bundle, Ticket};

#[path = "../benches/support/handwritten.rs"]
mod handwritten;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, case, policies, count] = &args[..] else {
        panic!("usage: instructions CASE POLICIES COUNT");
    };
    let bundle = Bundle::load(policies).unwrap();
    let count: usize = count.parse().unwrap();
    // The tickets come from the reference pack's schema, whatever the bundle.
    let pack = Bundle::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap();
    let mut generator = TicketGenerator::new(&pack, 7);
    let tickets: Vec<Value> = (0..count)
        .map(|_| generator.next_ticket().unwrap())
        .collect();
    let p = bundle.policy();
    let policy = handwritten::Policy {
        name: p.name.to_string(),
        version: p.version.to_string(),
        digest: p.digest.to_string(),
    };
    let input = Input {
        lines: tickets.iter().map(Value::to_string).collect(),
        typed: (tickets.iter())
            .map(|t| handwritten::Ticket::from_value(t).unwrap())
            .collect(),
        tickets,
        policy,
    };
    let bundle = match case.as_str() {
        "linear" => bundle.linear(),
        _ => bundle,
    };
    // Read before the count starts: `engine-ticket` decides read tickets.
    let read: Vec<Ticket> = (input.lines.iter())
        .map(|l| bundle.read_ticket(l.as_bytes()).unwrap())
        .collect();
    println!("{} bytes", measured(case, &bundle, &input, &read));
}

struct Input {
    tickets: Vec<Value>,
    typed: Vec<handwritten::Ticket>,
    lines: Vec<String>,
    policy: handwritten::Policy,
}

/// The decisions of `case`: what callgrind counts.
#[inline(never)]
fn measured(case: &str, bundle: &Bundle, input: &Input, read: &[Ticket]) -> usize {
    let mut out = Vec::with_capacity(4096);
    let mut total = 0;
    for i in 0..input.tickets.len() {
        out.clear();
        match case {
            "engine" | "linear" => {
                black_box(bundle.decide(black_box(&input.tickets[i])).unwrap());
            }
            "hand" => {
                black_box(handwritten::decide(black_box(&input.typed[i])).rule);
            }
            "hand-value" => {
                let t = handwritten::Ticket::from_value(black_box(&input.tickets[i])).unwrap();
                black_box(handwritten::decide(&t).rule);
            }
            "engine-ticket" => {
                black_box(bundle.decide_ticket(black_box(&read[i])).unwrap().rule_id());
            }
            "engine-json" => {
                let t = bundle
                    .read_ticket(black_box(input.lines[i].as_bytes()))
                    .unwrap();
                bundle
                    .decide_ticket(&t)
                    .unwrap()
                    .write_json(&mut out)
                    .unwrap();
            }
            "engine-json-value" => {
                let t: Value = serde_json::from_str(black_box(&input.lines[i])).unwrap();
                serde_json::to_writer(&mut out, &bundle.decide(&t).unwrap()).unwrap();
            }
            "hand-json" => {
                let t = handwritten::Ticket::read(black_box(&input.lines[i])).unwrap();
                let decision = handwritten::decide(&t);
                let policy = &input.policy;
                let written = handwritten::Written { decision, policy };
                serde_json::to_writer(&mut out, &written).unwrap();
            }
            _ => panic!("unknown case `{case}`"),
        }
        total += out.len();
    }
    total
}
