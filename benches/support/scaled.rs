//! Generated bundles for measuring the analysis at scale: the reference pack
//! with more enum fields and rules over them. Shared by `benches/analysis.rs`
//! and `examples/analysis_scale.rs`.
#![allow(dead_code, reason = "each includer uses part of it")]

use triage_engine::{Bundle, PolicyFile};

/// The reference pack, in memory.
pub fn pack() -> Vec<PolicyFile> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let mut files: Vec<PolicyFile> = std::fs::read_dir(dir)
        .expect("policies/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| PolicyFile {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: std::fs::read_to_string(&p).expect("a pack file is readable"),
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// A deterministic pseudo-random number below `bound`.
fn next(state: &mut u64, bound: u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 33) % bound
}

/// How the generated rules are written.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Decision tables: the fields come in families of four declared
    /// together (a contract's terms, a product's areas); each block of 50
    /// rules tests three fields of one family for equality, one distinct
    /// combination a rule, as a compliance team's exception tables do.
    Tables,
    /// Each rule a random conjunction of two or three `==`/`!=` tests over
    /// any of the fields: the worst case for an exact analysis, since every
    /// rule ties together fields far apart.
    Random,
}

/// The pack with `fields` more enum fields (3 to 6 values each) and `rules`
/// rules over them, inserted before the escalation rules; `variant` changes
/// ten of the rules' outcomes.
pub fn scaled(shape: Shape, fields: usize, rules: usize, variant: bool) -> Vec<PolicyFile> {
    let mut files = pack();
    let mut state = 7;
    let sizes: Vec<u64> = (0..fields).map(|_| 3 + next(&mut state, 4)).collect();
    let mut declared = String::new();
    for (i, n) in sizes.iter().enumerate() {
        let values: Vec<String> = (0..*n).map(|v| format!("v{v}")).collect();
        declared += &format!(
            "    extra.x{i}: {{ type: enum, values: [{}], default: v0 }}\n",
            values.join(", ")
        );
    }
    // Rules over no fields cannot be written: with none, the pack alone.
    let rules = if fields == 0 { 0 } else { rules };
    let conditions = match shape {
        Shape::Tables => tables(&sizes, rules, &mut state),
        Shape::Random => random(&sizes, rules, &mut state),
    };
    let mut written = String::new();
    for (r, atoms) in conditions.iter().enumerate() {
        let outcome = match (variant, r % (rules / 10).max(1) == 0) {
            (true, true) => "diagnose_first",
            _ => "partner_resolves",
        };
        written += &format!(
            "  - id: extra_{r}\n    when: '{}'\n    outcome: {outcome}\n    action: resolve_technical\n    rationale: A generated rule.\n\n",
            atoms.join(" && ").replace('\'', "''")
        );
    }
    for file in &mut files {
        if file.name == "ticket.yaml" {
            file.text = file
                .text
                .replacen("  fields:\n", &format!("  fields:\n{declared}"), 1);
        }
        if file.name == "boundaries.yaml" {
            file.text = file.text.replacen(
                "  - id: commercial_escalation",
                &format!("{written}  - id: commercial_escalation"),
                1,
            );
        }
    }
    files
}

/// Blocks of up to 50 rules, each testing three fields of one family of
/// four (the family's fourth field left out in turn) for one combination
/// of values, no combination twice in a block and at most half of them (a
/// table that lists every combination would leave the next ones nothing).
fn tables(sizes: &[u64], rules: usize, state: &mut u64) -> Vec<Vec<String>> {
    let families = (sizes.len() / 4).max(1);
    let mut out = Vec::new();
    let mut idle = 0;
    for block in 0.. {
        if out.len() >= rules {
            break;
        }
        let family = block % families;
        let skip = (block / families) % 4;
        let columns: Vec<usize> = (0..4)
            .filter(|&k| k != skip)
            .map(|k| family * 4 + k)
            .filter(|&f| f < sizes.len())
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        let combos: u64 = columns.iter().map(|&f| sizes[f]).product();
        let wanted = 50.min(combos as usize / 2);
        // A block too small to hold a rule adds nothing; once a whole turn
        // of families and left-out fields adds nothing, stop rather than loop.
        idle = if wanted == 0 { idle + 1 } else { 0 };
        if idle > families * 4 {
            break;
        }
        while seen.len() < wanted && out.len() < rules {
            let values: Vec<u64> = columns.iter().map(|&f| next(state, sizes[f])).collect();
            if !seen.insert(values.clone()) {
                continue;
            }
            let mut atoms = vec!["technical".to_owned()];
            for (&f, v) in columns.iter().zip(values) {
                atoms.push(format!("extra.x{f} == \"v{v}\""));
            }
            out.push(atoms);
        }
    }
    out
}

/// Random conjunctions of two or three tests over any of the fields.
fn random(sizes: &[u64], rules: usize, state: &mut u64) -> Vec<Vec<String>> {
    (0..rules)
        .map(|_| {
            let mut atoms = vec!["technical".to_owned()];
            for _ in 0..2 + next(state, 2) {
                let f = next(state, sizes.len() as u64) as usize;
                let v = next(state, sizes[f]);
                atoms.push(match next(state, 3) {
                    0 => format!("extra.x{f} != \"v{v}\""),
                    _ => format!("extra.x{f} == \"v{v}\""),
                });
            }
            atoms
        })
        .collect()
}

pub fn load(files: &[PolicyFile]) -> Bundle {
    Bundle::from_files(files).expect("the generated bundle loads")
}
