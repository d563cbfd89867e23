//! Test tickets drawn from a bundle's ticket schema, the same for the same
//! seed, so anyone can reproduce a benchmark. Every value comes from the
//! catalog; a draw the bundle rejects (a cross-field constraint) is replaced
//! by the next draw of the same random stream, which keeps the output
//! deterministic.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::engine::Bundle;
use crate::engine::catalog::FieldInfo;
use crate::schema::{FieldPath, FieldType};

/// How many draws a ticket may take before the schema is declared
/// unsatisfiable by random choice.
const MAX_ATTEMPTS: u32 = 1000;

/// Start of the window `timestamp` fields are drawn from: 2026-01-01T00:00:00Z.
const EPOCH: i64 = 1_767_225_600;
const YEAR: u64 = 365 * 24 * 3600;

/// An endless, deterministic stream of tickets the bundle accepts.
pub struct TicketGenerator {
    bundle: Bundle,
    fields: Vec<FieldInfo>,
    id_field: String,
    rng: ChaCha8Rng,
    seed: u64,
    count: u64,
}

/// No draw gave a ticket the bundle accepts: its constraints are too hard to
/// satisfy by random choice.
#[derive(Debug, thiserror::Error)]
#[error("no valid ticket after {attempts} random draws; last problem: {last}")]
pub struct GenerateError {
    /// How many draws were tried.
    pub attempts: u32,
    /// Why the bundle rejected the last draw, on one line.
    pub last: String,
}

impl TicketGenerator {
    /// A generator of `bundle`'s tickets; the same `seed` gives the same
    /// tickets, with ids `T-<seed>-1`, `T-<seed>-2`, and so on.
    pub fn new(bundle: &Bundle, seed: u64) -> Self {
        let catalog = bundle.catalog();
        TicketGenerator {
            bundle: bundle.clone(),
            fields: catalog.ticket.fields,
            id_field: catalog.ticket.id_field.to_string(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            count: 0,
        }
    }

    /// The next ticket: valid for the bundle, with a unique id.
    pub fn next_ticket(&mut self) -> Result<Value, GenerateError> {
        self.count += 1;
        let mut last = String::new();
        for _ in 0..MAX_ATTEMPTS {
            let ticket = self.draw();
            match self.bundle.decide(&ticket) {
                Err(rejection) if rejection.is_invalid_ticket() => {
                    last = rejection.error.to_string().replace('\n', " ");
                }
                // An evaluation error is the bundle's fault, not the draw's:
                // such tickets are exactly what a benchmark should exercise.
                _ => return Ok(ticket),
            }
        }
        Err(GenerateError {
            attempts: MAX_ATTEMPTS,
            last,
        })
    }

    fn draw(&mut self) -> Value {
        let mut ticket = Map::new();
        for i in 0..self.fields.len() {
            let field = &self.fields[i];
            let path = field.path.to_string();
            let value = if *path == self.id_field {
                Some(Value::String(format!("T-{}-{}", self.seed, self.count)))
            } else if field.required || !self.rng.next_u32().is_multiple_of(4) {
                // Optional fields are left out a quarter of the time, so
                // defaults get exercised too.
                value_for(&self.fields[i], &mut self.rng)
            } else {
                None
            };
            if let Some(value) = value {
                FieldPath::new(&path).set(&mut ticket, value);
            }
        }
        Value::Object(ticket)
    }
}

fn pick(rng: &mut ChaCha8Rng, len: usize) -> usize {
    // The modulo bias over a u64 is far below anything a benchmark notices.
    (rng.next_u64() % len.max(1) as u64) as usize
}

fn value_for(field: &FieldInfo, rng: &mut ChaCha8Rng) -> Option<Value> {
    let values = field.values.as_deref().unwrap_or_default();
    let value = match field.kind {
        FieldType::Bool => Value::Bool(rng.next_u32().is_multiple_of(2)),
        FieldType::Integer => Value::from(rng.next_u64() % 1000),
        FieldType::Timestamp => {
            let secs = EPOCH + (rng.next_u64() % YEAR) as i64;
            let at = chrono::DateTime::from_timestamp(secs, 0)?;
            Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        FieldType::Enum => Value::String(values.get(pick(rng, values.len()))?.to_string()),
        FieldType::List => Value::Array(
            values
                .iter()
                .filter(|_| rng.next_u32().is_multiple_of(2))
                .map(|v| Value::String(v.to_string()))
                .collect(),
        ),
        FieldType::String => {
            let name = FieldPath::new(&field.path).name();
            Value::String(format!("{name}-{}", rng.next_u32() % 1000))
        }
    };
    Some(value)
}
