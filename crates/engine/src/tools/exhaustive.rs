//! Validate (semantics): walk every combination of the values that the
//! bundle's conditions read, to prove that every valid ticket gets a decision
//! without an error, and to find rules and path steps no ticket can reach.
//! Where a read field has no finite value set, or there are too many
//! combinations, it samples instead and says so.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::engine::Bundle;
use crate::model::decision::{Decision, Rejection, RejectionKind};
use crate::model::{Compiled, Covered};
use crate::schema::{FieldPath, Kind};

/// How far to go.
#[derive(Clone, Copy, Debug)]
pub struct ExploreOptions {
    /// Enumerate only when there are at most this many combinations.
    pub max_tickets: u64,
    /// Tickets to draw when enumerating is not possible.
    pub samples: u64,
    /// The seed of the sample, so a sampled run can be repeated exactly.
    pub seed: u64,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            max_tickets: 5_000_000,
            samples: 200_000,
            seed: 1,
        }
    }
}

/// How the tickets were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every combination of the values the conditions read: a proof.
    Exhaustive,
    /// A seeded sample: evidence, not a proof.
    Sampled,
}

/// What exploring a bundle found.
#[derive(Clone, Debug, Serialize)]
pub struct Exploration {
    /// Exhaustive, or sampled with the reason.
    pub mode: Mode,
    /// Why the tickets were sampled rather than enumerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The fields read by some condition, and how many values each takes.
    pub fields: Vec<FieldDomain>,
    /// Tickets decided in all.
    pub tickets: u64,
    /// Tickets the schema or its constraints reject (not decided, by design).
    pub invalid: u64,
    /// Valid tickets that got a decision.
    pub decided: u64,
    /// Valid tickets that got an evaluation error instead of a decision.
    pub errors: u64,
    /// The first few tickets that got an evaluation error, with the error.
    pub error_examples: Vec<Example>,
    /// Each boundary rule, in order, and how often it decided.
    pub rules: Vec<Reach>,
    /// Each path step and fallback (`path/step`, `path/fallback`), and how often it decided.
    pub steps: Vec<Reach>,
}

/// A field some condition reads, and how many values it can take.
#[derive(Clone, Debug, Serialize)]
pub struct FieldDomain {
    /// The field's dotted path.
    pub path: Arc<str>,
    /// The number of values, or `null` for an unbounded field.
    pub values: Option<u64>,
}

/// How often a rule or step decided, and the first ticket that shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Reach {
    /// The rule id, or `path/step`.
    pub id: String,
    /// How many explored tickets it decided.
    pub hits: u64,
    /// The first such ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Example>,
}

/// The values of the explored fields in one ticket (absent ones are `null`).
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    /// Each explored field's dotted path and value.
    pub fields: Vec<(Arc<str>, Value)>,
    /// The evaluation error this ticket got, for an error example.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Exploration {
    /// The rules and steps that no explored ticket reaches.
    pub fn shadowed(&self) -> impl Iterator<Item = &Reach> {
        self.rules.iter().chain(&self.steps).filter(|r| r.hits == 0)
    }
}

impl Bundle {
    /// Explores the bundle's decisions; see the module documentation.
    pub fn explore(&self, options: ExploreOptions) -> Exploration {
        explore(self, &self.inner, options)
    }
}

fn explore(bundle: &Bundle, b: &Compiled, options: ExploreOptions) -> Exploration {
    let read = fields_read(b);
    let domains: Vec<Option<Vec<Value>>> = read.iter().map(|&i| domain(b, i)).collect();
    let fields = read
        .iter()
        .zip(&domains)
        .map(|(&i, d)| FieldDomain {
            path: b.schema.fields[i].path.clone(),
            values: d.as_ref().map(|d| d.len() as u64),
        })
        .collect();
    let (mode, reason, tickets) = plan(b, &read, &domains, &options);
    let base = base_ticket(b, &read);
    let space = Space {
        b,
        read: &read,
        domains: &domains,
        base: &base,
        sampled: mode == Mode::Sampled,
        seed: options.seed,
    };
    let total = space.run_all(bundle, tickets);
    let example = |index: Option<u64>, error: Option<String>| {
        index.map(|i| Example {
            fields: space.fields_of(i),
            error,
        })
    };
    let (mut rules, mut steps) = (Vec::new(), Vec::new());
    for (item, (hits, first)) in b.coverage_items().into_iter().zip(total.items) {
        let (list, id) = match item {
            Covered::Rule(rule) => (&mut rules, rule.id.to_string()),
            Covered::Step(path, step) => (&mut steps, format!("{}/{}", path.id, step.id)),
            Covered::Fallback(path) => (&mut steps, format!("{}/fallback", path.id)),
        };
        let example = example(first, None);
        list.push(Reach { id, hits, example });
    }
    let first_errors = total.first_errors.into_iter();
    Exploration {
        mode,
        reason,
        fields,
        tickets,
        invalid: total.invalid,
        decided: total.decided,
        errors: total.errors,
        error_examples: first_errors
            .filter_map(|(i, e)| example(Some(i), Some(e)))
            .collect(),
        rules,
        steps,
    }
}

/// Every field some rule, step or constraint reads, in schema order.
fn fields_read(b: &Compiled) -> Vec<usize> {
    let steps = b
        .paths
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| &s.guard));
    let guards = b.rules.iter().map(|r| &r.guard).chain(steps);
    let guards = guards.chain(b.constraints.iter().map(|c| &c.guard));
    let mut read: Vec<usize> = guards.flat_map(|g| g.reads.iter().copied()).collect();
    read.sort_unstable();
    read.dedup();
    read
}

/// Whether to enumerate or sample, why, and how many tickets.
fn plan(
    b: &Compiled,
    read: &[usize],
    domains: &[Option<Vec<Value>>],
    options: &ExploreOptions,
) -> (Mode, Option<String>, u64) {
    let combinations = domains.iter().try_fold(1u64, |n, d| {
        d.as_ref().and_then(|d| n.checked_mul(d.len() as u64))
    });
    match (combinations, domains.iter().position(Option::is_none)) {
        (_, Some(unbounded)) => (
            Mode::Sampled,
            Some(format!(
                "`{}` has no finite set of values",
                b.schema.fields[read[unbounded]].path
            )),
            options.samples,
        ),
        (Some(n), None) if n <= options.max_tickets => (Mode::Exhaustive, None, n),
        (n, None) => (
            Mode::Sampled,
            Some(format!(
                "{} combinations are more than the limit of {}",
                n.map_or_else(|| "too many".to_owned(), |n| n.to_string()),
                options.max_tickets
            )),
            options.samples,
        ),
    }
}

/// Every value a field can take in a valid ticket, absence included.
fn domain(b: &Compiled, index: usize) -> Option<Vec<Value>> {
    let field = &b.schema.fields[index];
    let mut values: Vec<Value> = match &field.kind {
        Kind::Enum(values) => values.iter().map(|v| json!(v)).collect(),
        Kind::Bool => vec![json!(false), json!(true)],
        Kind::List(values) if values.len() <= 12 => (0u32..1 << values.len())
            .map(|mask| {
                let members = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0);
                Value::Array(members.map(|(_, v)| json!(v)).collect())
            })
            .collect(),
        _ => return None,
    };
    if !field.required && field.default.is_none() {
        values.push(Value::Null);
    }
    Some(values)
}

/// A valid ticket for the fields nobody reads: required ones get a plain value.
fn base_ticket(b: &Compiled, read: &[usize]) -> Value {
    let mut ticket = Value::Object(Map::new());
    for (index, field) in b.schema.fields.iter().enumerate() {
        if read.contains(&index) || !field.required {
            continue;
        }
        let value = match &field.kind {
            Kind::String => json!(format!("explore-{}", field.path)),
            Kind::Bool => json!(false),
            Kind::Integer => json!(0),
            Kind::Timestamp => json!("2026-01-01T00:00:00Z"),
            Kind::List(_) => json!([]),
            Kind::Enum(values) => values.first().map_or(Value::Null, |v| json!(v)),
        };
        set(&mut ticket, &field.path, value);
    }
    ticket
}

/// Puts a value at a field's path; `null` stands for an absent field, whose
/// parent objects are still there.
fn set(ticket: &mut Value, path: &str, value: Value) {
    let Value::Object(map) = ticket else { return };
    let path = FieldPath::new(path);
    if let (Some(parent), false) = (path.parent(map), value.is_null()) {
        parent.insert(path.name().to_owned(), value);
    }
}

struct Space<'a> {
    b: &'a Compiled,
    read: &'a [usize],
    domains: &'a [Option<Vec<Value>>],
    base: &'a Value,
    sampled: bool,
    seed: u64,
}

impl Space<'_> {
    /// Decides tickets `0..tickets` on every core and adds up what happened.
    fn run_all(&self, bundle: &Bundle, tickets: u64) -> Counts {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let chunk = tickets.div_ceil(threads).max(1);
        let tallies: Vec<Counts> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let to = ((t + 1) * chunk).min(tickets);
                    scope.spawn(move || self.run(bundle, t * chunk, to))
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut total = Counts::new(self.b);
        for tally in tallies {
            total.merge(tally);
        }
        total
    }

    /// The value index of each explored field in ticket number `n`.
    fn choices(&self, n: u64) -> Vec<usize> {
        let mut rest = n;
        let mut random = splitmix(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.domains
            .iter()
            .map(|d| {
                let size = d.as_ref().map_or(1, Vec::len) as u64;
                if self.sampled {
                    random = splitmix(random);
                    (random % size.max(1)) as usize
                } else {
                    let choice = rest % size;
                    rest /= size;
                    choice as usize
                }
            })
            .collect()
    }

    fn values(&self, n: u64) -> Vec<Value> {
        let choices = self.choices(n);
        self.domains
            .iter()
            .zip(choices)
            .enumerate()
            .map(|(i, (d, c))| match d {
                Some(values) => values[c].clone(),
                // An unbounded field gets a plain value of its type.
                None => match self.b.schema.fields[self.read[i]].kind {
                    Kind::Integer => json!(c),
                    Kind::Timestamp => json!("2026-01-01T00:00:00Z"),
                    // Too many values to enumerate their subsets.
                    Kind::List(_) => json!([]),
                    _ => json!(format!("explore-{c}")),
                },
            })
            .collect()
    }

    fn fields_of(&self, n: u64) -> Vec<(Arc<str>, Value)> {
        self.read
            .iter()
            .map(|&i| self.b.schema.fields[i].path.clone())
            .zip(self.values(n))
            .collect()
    }

    fn run(&self, bundle: &Bundle, from: u64, to: u64) -> Counts {
        let mut tally = Counts::new(self.b);
        for n in from..to {
            let mut ticket = self.base.clone();
            for (&index, value) in self.read.iter().zip(self.values(n)) {
                set(&mut ticket, &self.b.schema.fields[index].path, value);
            }
            tally.add(self.b, n, &bundle.decide(&ticket));
        }
        tally
    }
}

/// Error examples an exploration keeps: the lowest ticket numbers.
const ERROR_EXAMPLES: usize = 5;

/// Counts of one thread's share of the tickets.
struct Counts {
    invalid: u64,
    decided: u64,
    errors: u64,
    /// The first few evaluation errors, by ticket number.
    first_errors: Vec<(u64, String)>,
    /// Per coverage item (`Compiled::coverage_items`): hits and the first
    /// ticket number.
    items: Vec<(u64, Option<u64>)>,
}

impl Counts {
    fn new(b: &Compiled) -> Self {
        Counts {
            invalid: 0,
            decided: 0,
            errors: 0,
            first_errors: Vec::new(),
            items: vec![(0, None); b.coverage_items().len()],
        }
    }

    /// Tickets come in ascending order within a thread, so the first errors
    /// met are its lowest-numbered ones.
    fn add(&mut self, b: &Compiled, n: u64, result: &Result<Decision, Rejection>) {
        match result {
            Ok(decision) => {
                self.decided += 1;
                for at in b.exercised(decision) {
                    hit(&mut self.items[at], n);
                }
            }
            Err(rejection) => match &rejection.error {
                RejectionKind::InvalidTicket { .. } => self.invalid += 1,
                RejectionKind::Evaluation(e) => {
                    self.errors += 1;
                    if self.first_errors.len() < ERROR_EXAMPLES {
                        let brief = format!("{} `{}`: {}", e.stage, e.id, e.cause);
                        self.first_errors.push((n, brief));
                    }
                }
            },
        }
    }

    fn merge(&mut self, other: Counts) {
        self.invalid += other.invalid;
        self.decided += other.decided;
        self.errors += other.errors;
        self.first_errors.extend(other.first_errors);
        self.first_errors.sort_by_key(|(n, _)| *n);
        self.first_errors.truncate(ERROR_EXAMPLES);
        for (mine, theirs) in self.items.iter_mut().zip(other.items) {
            mine.0 += theirs.0;
            mine.1 = match (mine.1, theirs.1) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
}

fn hit(slot: &mut (u64, Option<u64>), n: u64) {
    slot.0 += 1;
    slot.1 = Some(slot.1.map_or(n, |first| first.min(n)));
}

/// A small, well-known mixing function: deterministic samples per seed.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
