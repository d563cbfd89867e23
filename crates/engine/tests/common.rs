//! Helpers shared by the integration tests: the engine's, and (through
//! `#[path]`) the workspace root's end-to-end tests, so each helper exists once.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use triage_engine::{Bundle, BundleError, FieldType, PolicyFile};

/// The repository root: the first folder up from this crate holding the
/// reference pack (tests run from the crate being tested).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("policies/bundle.yaml").is_file())
        .expect("the repository root holds policies/")
        .to_path_buf()
}

pub fn policies_dir() -> PathBuf {
    root().join("policies")
}

/// The shipped reference pack, loaded once per test binary (tests never
/// edit `policies/` in place; a clone is one `Arc`).
pub fn reference() -> Bundle {
    static PACK: std::sync::OnceLock<Bundle> = std::sync::OnceLock::new();
    PACK.get_or_init(|| Bundle::load(policies_dir()).expect("the reference pack loads"))
        .clone()
}

/// Every YAML file of the reference pack, in memory.
pub fn pack_files() -> Vec<PolicyFile> {
    let mut files: Vec<PolicyFile> = std::fs::read_dir(policies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| PolicyFile {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// The reference pack with one edit: `from` replaced by `to` in `file`.
pub fn edited(file: &str, from: &str, to: &str) -> Result<Bundle, BundleError> {
    let mut files = pack_files();
    let target = files.iter_mut().find(|f| f.name == file).unwrap();
    assert!(target.text.contains(from), "`{from}` is not in {file}");
    target.text = target.text.replacen(from, to, 1);
    Bundle::from_files(&files)
}

/// A valid technical ticket that reaches the escalation path.
pub fn ticket() -> Value {
    json!({
        "id": "T-1",
        "service": "azure",
        "category": "technical",
        "issue": { "type": "product_bug", "severity": "A" },
        "customer": { "id": "contoso", "admin_relationship": "gdap" },
        "partner": { "competency": "gold", "support_plans": ["premier", "advanced"] },
        "requester": { "role": "helpdesk_agent" },
        "diagnosed": true
    })
}

/// `base` with the dotted-path fields of `changes` set (or removed, for `null`).
pub fn with(mut base: Value, changes: &[(&str, Value)]) -> Value {
    for (path, value) in changes {
        let segments: Vec<&str> = path.split('.').collect();
        let (last, parents) = segments.split_last().unwrap();
        let mut node = &mut base;
        for segment in parents {
            node = node
                .as_object_mut()
                .unwrap()
                .entry(segment.to_string())
                .or_insert_with(|| json!({}));
        }
        let object = node.as_object_mut().unwrap();
        if value.is_null() {
            object.remove(*last);
        } else {
            object.insert(last.to_string(), value.clone());
        }
    }
    base
}

/// `n` tickets drawn deterministically (from `seed`) from the reference
/// pack's schema: mostly valid, some not (an issue type of the other
/// category), so every kind of answer shows up.
pub fn generated(n: usize, seed: u64) -> Vec<Value> {
    let catalog = reference().catalog();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |bound: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % bound.max(1)
    };
    (0..n)
        .map(|i| {
            let mut changes: Vec<(String, Value)> =
                vec![("id".into(), json!(format!("G-{seed}-{i}")))];
            for field in &catalog.ticket.fields {
                let value = match (field.kind, &field.values) {
                    (FieldType::Enum, Some(values)) => {
                        json!(values[next(values.len())].to_string())
                    }
                    (FieldType::List, Some(values)) => {
                        json!(
                            values
                                .iter()
                                .filter(|_| next(2) == 0)
                                .map(|v| v.to_string())
                                .collect::<Vec<_>>()
                        )
                    }
                    (FieldType::Bool, _) => json!(next(4) != 0),
                    (FieldType::String, _) if &*field.path != "id" => {
                        json!(format!("{} {}", field.path, next(50)))
                    }
                    _ => continue,
                };
                changes.push((field.path.to_string(), value));
            }
            let changes: Vec<(&str, Value)> = changes
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            with(json!({}), &changes)
        })
        .collect()
}

/// A copy of the reference pack in `dir`, with `from` replaced by `to` in `file`.
pub fn pack_copy(dir: &Path, edit: Option<(&str, &str, &str)>) {
    std::fs::create_dir_all(dir).unwrap();
    for file in pack_files() {
        let mut text = file.text;
        if let Some((name, from, to)) = edit
            && name == file.name
        {
            assert!(text.contains(from), "`{from}` is not in {name}");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.join(&file.name), text).unwrap();
    }
}

/// A one-file bundle (`policy.yaml`) for probing one condition: `limits` are
/// the manifest's `limits:` lines, `head` declares the sets, the ticket and
/// the conditions; then one role, one action, and two rules: `probe` when
/// `when`, and a catch-all. `when` sits on line 10 after `head`.
pub fn probe_bundle(limits: &str, head: &str, when: &str) -> Result<Bundle, BundleError> {
    let probe = format!(
        "  - id: probe
    when: '{}'
    outcome: probed
    action: act
    rationale: The probe.
",
        when.replace('\'', "''")
    );
    one_file_bundle(limits, head, &probe)
}

/// A one-file bundle's `ticket:` declaration: the id and role fields, then
/// `fields` (YAML lines, four spaces in).
pub fn ticket_head(fields: &str) -> String {
    format!(
        "ticket:
  id_field: id
  role_field: role
  fields:
    id: {{ type: string, required: true }}
    role: {{ type: role, required: true }}
{fields}"
    )
}

/// One rule a `when` of `whens`, in order, as `one_file_bundle` takes them:
/// `r0`, `r1`, … each with outcome `probed`.
pub fn rules_for(whens: &[String]) -> String {
    (whens.iter().enumerate())
        .map(|(i, when)| {
            let when = when.replace('\'', "''");
            format!(
                "  - {{ id: r{i}, when: '{when}', outcome: probed, action: act, rationale: R. }}\n"
            )
        })
        .collect()
}

/// A one-file bundle (`policy.yaml`): `limits` are the manifest's `limits:`
/// lines, `head` declares the sets, the ticket and the conditions; then one
/// role (`agent`), one action (`act`), two outcomes (`probed`, `done`), and
/// `rules` (YAML list items) before a catch-all (`rest`).
pub fn one_file_bundle(limits: &str, head: &str, rules: &str) -> Result<Bundle, BundleError> {
    let manifest = format!("name: probe\nversion: '1'\nfiles: [policy.yaml]\nlimits:{limits}");
    let policy = format!(
        "{head}roles:
  agent: {{ title: Agent }}
actions:
  act: {{ title: Act, roles: [agent] }}
outcomes:
  probed: {{ title: Probed, description: The probe matched. }}
  done: {{ title: Done, description: Nothing matched. }}
rules:
{rules}  - id: rest
    outcome: done
    action: act
    rationale: Everything else.
"
    );
    Bundle::from_files(&[
        PolicyFile {
            name: "bundle.yaml".into(),
            text: manifest,
        },
        PolicyFile {
            name: "policy.yaml".into(),
            text: policy,
        },
    ])
}

/// A one-rule policy change, for `pack_copy`: the marketplace rule's outcome.
pub const ONE_RULE_CHANGE: (&str, &str, &str) = (
    "boundaries.yaml",
    "outcome: contact_publisher",
    "outcome: diagnose_first",
);
