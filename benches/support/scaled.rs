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

/// The pack with `fields` more enum fields (3 to 6 values each) and `rules`
/// rules over them, inserted before the escalation rules; `variant` changes
/// ten of the rules' outcomes.
pub fn scaled(fields: usize, rules: usize, variant: bool) -> Vec<PolicyFile> {
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
    let mut written = String::new();
    for r in 0..rules {
        let mut atoms = vec!["technical".to_owned()];
        for _ in 0..2 + next(&mut state, 2) {
            let f = next(&mut state, fields as u64) as usize;
            let v = next(&mut state, sizes[f]);
            atoms.push(match next(&mut state, 3) {
                0 => format!("extra.x{f} != \"v{v}\""),
                _ => format!("extra.x{f} == \"v{v}\""),
            });
        }
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

pub fn load(files: &[PolicyFile]) -> Bundle {
    Bundle::from_files(files).expect("the generated bundle loads")
}
