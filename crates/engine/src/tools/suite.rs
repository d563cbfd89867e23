//! Policy test suites: YAML cases beside the policies (`tests/*.yaml` in the
//! bundle directory), each a ticket and what its decision must be, run
//! against a bundle with coverage of its rules, path steps and fallbacks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Code, Loc, Problem, SuiteError, did_you_mean};
use crate::engine::Bundle;
use crate::load::raw::{Text, parse_yaml};
use crate::load::source::{MAX_FILE_BYTES, Refusal, read_inside, refused};
use crate::model::Covered;
use crate::model::decision::{Decision, Rejection, RejectionKind};

/// One suite file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    /// Named partial tickets that cases build on.
    #[serde(default)]
    bases: BTreeMap<String, Value>,
    cases: Vec<CaseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    name: Text,
    #[serde(default)]
    base: Option<Text>,
    #[serde(default)]
    ticket: Option<Value>,
    expect: ExpectFile,
}

/// What a case expects as written, each id with its place, so that an id
/// the bundle does not declare is reported where it is written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    #[serde(default)]
    outcome: Option<Text>,
    #[serde(default, deserialize_with = "present_at")]
    vehicle: Option<Spanned<Option<String>>>,
    #[serde(default)]
    rule: Option<Text>,
    #[serde(default, deserialize_with = "present_at")]
    path_step: Option<Spanned<Option<String>>>,
    #[serde(default)]
    action: Option<Text>,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_field: Option<String>,
}

impl ExpectFile {
    /// What the case expects, and each id it names with its place.
    fn split(self, at: impl Fn(&Location) -> Loc) -> (Expect, Vec<Reference>) {
        let mut refs = Vec::new();
        let mut named = |kind: &'static str, text: &Spanned<Option<String>>| {
            if let Some(id) = &text.value {
                refs.push(Reference {
                    kind,
                    id: id.clone(),
                    loc: at(&text.referenced),
                });
            }
        };
        let spanned = |t: &Text| Spanned {
            value: Some(t.value.clone()),
            referenced: t.referenced,
            defined: t.defined,
        };
        for (kind, text) in [
            ("outcome", self.outcome.as_ref().map(spanned)),
            ("vehicle", self.vehicle.clone()),
            ("rule", self.rule.as_ref().map(spanned)),
            ("path step", self.path_step.clone()),
            ("action", self.action.as_ref().map(spanned)),
        ] {
            if let Some(text) = &text {
                named(kind, text);
            }
        }
        let expect = Expect {
            outcome: self.outcome.map(|t| t.value),
            vehicle: self.vehicle.map(|t| t.value),
            rule: self.rule.map(|t| t.value),
            path_step: self.path_step.map(|t| t.value),
            action: self.action.map(|t| t.value),
            allowed: self.allowed,
            error: self.error,
            error_field: self.error_field,
        };
        (expect, refs)
    }
}

/// An id a case names: what kind it is, and where it is written.
#[derive(Debug, Clone)]
struct Reference {
    kind: &'static str,
    id: String,
    loc: Loc,
}

/// What a case expects; only what is written is checked.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The outcome the decision must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `null` expects no vehicle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<Option<String>>,
    /// The boundary rule that must decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `null` expects no step (no path ran, or the fallback applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_step: Option<Option<String>>,
    /// The action the decision must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Whether the requester's role may take the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// `invalid_ticket` or `evaluation`: the ticket must get this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `error: invalid_ticket`: a problem must name this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_field: Option<String>,
}

/// Tells `vehicle: null` (expect none) from no `vehicle` key (do not check).
fn present_at<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Spanned<Option<String>>>, D::Error> {
    Spanned::<Option<String>>::deserialize(d).map(Some)
}

/// A case ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// The suite file's name.
    pub suite: String,
    /// The case's name, as written.
    pub name: String,
    /// The ticket: its base, if any, with the case's own fields merged in.
    pub ticket: Value,
    /// What its decision must be.
    pub expect: Expect,
    /// Where the case is written: `file:line:col` of its name, the file by
    /// its name in `tests/`.
    pub location: String,
    /// Each id the case's expectations name, with its place.
    references: Vec<Reference>,
    /// The suite file's display name and text, for snippets.
    file: (Arc<str>, Arc<str>),
    /// Where the case's name is written.
    name_at: Loc,
}

/// How one case fared.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The suite file's name.
    pub suite: String,
    /// The case's name.
    pub name: String,
    /// Where the case is written: `file:line:col` of its name.
    pub location: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// Each expectation that did not hold.
    pub mismatches: Vec<Mismatch>,
    /// The decision or rejection the ticket got.
    pub result: Value,
    /// The trace of the decision or evaluation error, for failure reports.
    #[serde(skip)]
    pub trace: Vec<crate::TraceStep>,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// The expectation: `outcome`, `vehicle`, `rule`, `path_step`, `action`, `allowed`, `error` or `error_field`.
    pub what: &'static str,
    /// What the case expected.
    pub expected: String,
    /// What the ticket got.
    pub actual: String,
}

/// Which rules, path steps and fallbacks the cases exercised.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Each rule, then each path's steps and fallback, in bundle order.
    pub items: Vec<CoverageItem>,
    /// Items some case exercised.
    pub covered: usize,
    /// Items in all.
    pub total: usize,
    /// `covered` as a percentage of `total` (100 for an empty bundle).
    pub percent: f64,
}

/// One rule, path step or fallback, and how many cases it decided.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageItem {
    /// What the item is.
    pub kind: CoverageKind,
    /// The rule id, `path/step`, or the path of a fallback.
    pub id: String,
    /// How many cases it decided.
    pub cases: usize,
}

/// What running the suites found.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// Every case, in suite and case order.
    pub cases: Vec<CaseResult>,
    /// What the cases exercised.
    pub coverage: Coverage,
    /// Cases whose expectations all held.
    pub passed: usize,
    /// Cases with a mismatch.
    pub failed: usize,
}

/// The kind of a coverage item; written in JSON as `rule`, `step` or `fallback`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CoverageKind {
    /// A boundary rule.
    Rule,
    /// A step of an escalation path.
    Step,
    /// A path's fallback.
    Fallback,
}

impl std::fmt::Display for CoverageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            CoverageKind::Rule => "rule",
            CoverageKind::Step => "step",
            CoverageKind::Fallback => "fallback",
        })
    }
}

/// Reads every `tests/*.yaml` suite of the bundle in `dir`, in name order.
pub fn load_suites(dir: &Path) -> Result<Vec<Case>, SuiteError> {
    let tests = dir.join("tests");
    let mut paths: Vec<_> = match std::fs::read_dir(&tests) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(error) => {
            let problem = Problem::error(
                Code::Io,
                format!("cannot read `{}`: {error}", tests.display()),
                None,
            )
            .with_help("policy test suites are YAML files in the bundle's `tests/` directory");
            return Err(SuiteError::new(vec![problem], Vec::new()));
        }
    };
    // Directory order is not ours to depend on.
    paths.sort();
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    // Suites are read as the bundle's files are: regular files inside the
    // bundle directory, each under the cap.
    let root = std::fs::canonicalize(dir);
    for path in paths {
        let read = match &root {
            Ok(root) => read_inside(root, &path, MAX_FILE_BYTES),
            Err(error) => Err(Refusal::Unreadable(error.to_string())),
        };
        match read {
            Ok(text) => files.push((path.display().to_string(), text)),
            Err(refusal) => {
                unreadable.push(refused(&refusal, &path.display().to_string(), false, None))
            }
        }
    }
    if !unreadable.is_empty() {
        return Err(SuiteError::new(unreadable, Vec::new()));
    }
    parse_suites(&files)
}

/// Builds the cases of suites given as `(name, text)`.
pub fn parse_suites(files: &[(String, String)]) -> Result<Vec<Case>, SuiteError> {
    let mut problems = Vec::new();
    let mut cases = Vec::new();
    for (name, text) in files {
        let file: (Arc<str>, Arc<str>) = (name.as_str().into(), text.as_str().into());
        let suite: SuiteFile = match parse_yaml(name, text) {
            Ok(suite) => suite,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let short = Path::new(name)
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
        for case in suite.cases {
            let mut ticket = Value::Object(serde_json::Map::new());
            if let Some(base) = &case.base {
                match suite.bases.get(&base.value) {
                    Some(value) => merge(&mut ticket, value),
                    None => {
                        let loc = crate::load::raw::loc(name, text, &base.referenced);
                        problems.push(
                            Problem::error(
                                Code::UnknownReference,
                                format!("unknown base `{}`", base.value),
                                Some(loc),
                            )
                            .with_help(format!(
                                "bases in this file: {}",
                                suite.bases.keys().cloned().collect::<Vec<_>>().join(", ")
                            )),
                        );
                        continue;
                    }
                }
            }
            if let Some(patch) = &case.ticket {
                merge(&mut ticket, patch);
            }
            let at = |at: &Location| crate::load::raw::loc(name, text, at);
            let name_at = at(&case.name.referenced);
            let location = format!("{short}:{}:{}", name_at.line, name_at.column);
            let (expect, references) = case.expect.split(at);
            cases.push(Case {
                suite: short.clone(),
                name: case.name.value,
                ticket,
                expect,
                location,
                references,
                file: file.clone(),
                name_at,
            });
        }
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        let sources = files
            .iter()
            .map(|(n, t)| (Arc::from(n.as_str()), Arc::from(t.as_str())))
            .collect();
        Err(SuiteError::new(problems, sources))
    }
}

/// Checks that every id the cases' expectations name (an outcome, vehicle,
/// rule, path step or action) is declared by `bundle`: a case that expects
/// what cannot happen is a broken test, reported at its `file:line:col`
/// with the declared id it may mean, not a failing policy.
pub fn check_references(bundle: &Bundle, cases: &[Case]) -> Result<(), SuiteError> {
    let catalog = bundle.catalog();
    let ids = |kind: &str| -> Vec<&str> {
        match kind {
            "outcome" => catalog.outcomes.iter().map(|o| &*o.info.id).collect(),
            "vehicle" => catalog.vehicles.iter().map(|v| &*v.id).collect(),
            "rule" => catalog.rules.iter().map(|r| &*r.id).collect(),
            "path step" => (catalog.paths.iter())
                .flat_map(|p| p.steps.iter().map(|s| &*s.id))
                .collect(),
            _ => catalog.actions.iter().map(|a| &*a.info.id).collect(),
        }
    };
    let mut problems: Vec<Problem> = cases
        .iter()
        .filter_map(|case| undeclared_role(&catalog, case))
        .collect();
    for reference in cases.iter().flat_map(|c| &c.references) {
        let declared = ids(reference.kind);
        if declared.contains(&reference.id.as_str()) {
            continue;
        }
        let help = did_you_mean(&reference.id, declared.iter().copied())
            .unwrap_or_else(|| format!("the bundle declares: {}", declared.join(", ")));
        let message = format!(
            "the case expects {} `{}`, which the bundle does not declare",
            reference.kind, reference.id
        );
        problems.push(
            Problem::error(Code::UnknownReference, message, Some(reference.loc.clone()))
                .with_help(help),
        );
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut sources: Vec<(Arc<str>, Arc<str>)> = Vec::new();
    for case in cases {
        if !sources.iter().any(|(name, _)| *name == case.file.0) {
            sources.push(case.file.clone());
        }
    }
    Err(SuiteError::new(problems, sources))
}

/// The problem of a case that expects a decision for a ticket whose role
/// the bundle does not declare (such a ticket is always refused). A case
/// that expects an error may send any role, to test that refusal.
fn undeclared_role(catalog: &crate::Catalog, case: &Case) -> Option<Problem> {
    if case.expect.error.is_some() {
        return None;
    }
    let mut path = catalog.ticket.role_field.split('.');
    let role = path
        .try_fold(&case.ticket, |value, key| value.get(key))?
        .as_str()?;
    let roles: Vec<&str> = catalog.roles.iter().map(|r| &*r.id).collect();
    if roles.contains(&role) {
        return None;
    }
    let message = format!(
        "the case's ticket sends role `{role}` in `{}`, which the bundle does not declare",
        catalog.ticket.role_field
    );
    let help = did_you_mean(role, roles.iter().copied()).unwrap_or_else(|| {
        "a ticket with an undeclared role is refused: expect `error: invalid_ticket`".to_owned()
    });
    Some(
        Problem::error(Code::UnknownReference, message, Some(case.name_at.clone())).with_help(help),
    )
}

/// Deep merge: maps merge key by key, a `null` removes the key, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Runs every case and measures coverage.
pub fn run(bundle: &Bundle, cases: &[Case]) -> SuiteReport {
    let b = &bundle.inner;
    let mut items: Vec<CoverageItem> = b
        .coverage_items()
        .into_iter()
        .map(|item| {
            let (kind, id) = match item {
                Covered::Rule(rule) => (CoverageKind::Rule, rule.id.to_string()),
                Covered::Step(path, step) => {
                    (CoverageKind::Step, format!("{}/{}", path.id, step.id))
                }
                Covered::Fallback(path) => (CoverageKind::Fallback, path.id.to_string()),
            };
            CoverageItem { kind, id, cases: 0 }
        })
        .collect();
    let mut results = Vec::new();
    for case in cases {
        let result = bundle.decide(&case.ticket);
        if let Ok(decision) = &result {
            for at in b.exercised(decision) {
                items[at].cases += 1;
            }
        }
        let mismatches = check(&case.expect, &result);
        results.push(CaseResult {
            suite: case.suite.clone(),
            name: case.name.clone(),
            location: case.location.clone(),
            passed: mismatches.is_empty(),
            mismatches,
            trace: match &result {
                Ok(d) => d.trace.clone(),
                Err(r) => r.trace.clone(),
            },
            result: match &result {
                Ok(d) => serde_json::to_value(d).unwrap_or_default(),
                Err(r) => serde_json::to_value(r).unwrap_or_default(),
            },
        });
    }
    let covered = items.iter().filter(|i| i.cases > 0).count();
    let total = items.len();
    let percent = if total == 0 {
        100.0
    } else {
        covered as f64 * 100.0 / total as f64
    };
    let passed = results.iter().filter(|r| r.passed).count();
    SuiteReport {
        failed: results.len() - passed,
        passed,
        cases: results,
        coverage: Coverage {
            items,
            covered,
            total,
            percent,
        },
    }
}

fn check(expect: &Expect, result: &Result<Decision, Rejection>) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut compare = |what: &'static str, expected: Option<String>, actual: Option<String>| {
        let show = |v: &Option<String>| {
            v.as_ref()
                .map_or_else(|| "none".to_owned(), |v| format!("`{v}`"))
        };
        if expected != actual {
            out.push(Mismatch {
                what,
                expected: show(&expected),
                actual: show(&actual),
            });
        }
    };
    match result {
        Ok(d) => {
            if let Some(error) = &expect.error {
                compare("error", Some(error.clone()), None);
            }
            // (what, expected if written: `Some(None)` expects nothing, actual)
            type Expectation = (&'static str, Option<Option<String>>, Option<String>);
            let fields: [Expectation; 6] = [
                (
                    "outcome",
                    expect.outcome.clone().map(Some),
                    Some(d.outcome.to_string()),
                ),
                (
                    "vehicle",
                    expect.vehicle.clone(),
                    d.vehicle.as_deref().map(str::to_owned),
                ),
                (
                    "rule",
                    expect.rule.clone().map(Some),
                    Some(d.rule.to_string()),
                ),
                (
                    "path_step",
                    expect.path_step.clone(),
                    d.path_step.as_deref().map(str::to_owned),
                ),
                (
                    "action",
                    expect.action.clone().map(Some),
                    Some(d.action.to_string()),
                ),
                (
                    "allowed",
                    expect.allowed.map(|a| Some(a.to_string())),
                    Some(d.requester.allowed.to_string()),
                ),
            ];
            for (what, expected, actual) in fields {
                if let Some(expected) = expected {
                    compare(what, expected, actual);
                }
            }
        }
        Err(rejection) => {
            let (kind, detail) = match &rejection.error {
                RejectionKind::InvalidTicket { problems } => (
                    "invalid_ticket",
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                RejectionKind::Evaluation(e) => {
                    ("evaluation", format!("{} `{}`: {}", e.stage, e.id, e.cause))
                }
            };
            match &expect.error {
                Some(error) => compare("error", Some(error.clone()), Some(kind.to_owned())),
                None => out.push(Mismatch {
                    what: "decision",
                    expected: "a decision".to_owned(),
                    actual: format!("{kind}: {detail}"),
                }),
            }
            if let (Some(field), RejectionKind::InvalidTicket { problems }) =
                (&expect.error_field, &rejection.error)
                && !problems.iter().any(|p| p.field == *field)
            {
                out.push(Mismatch {
                    what: "error_field",
                    expected: format!("`{field}`"),
                    actual: detail,
                });
            }
        }
    }
    out
}
