//! The manifest's `limits:`: every sandbox bound has a default, a floor and a
//! ceiling. rhai reads `0` as "unlimited", and a very large bound is nearly
//! the same, so both are load errors: whatever a bundle sets, one expression
//! does bounded work in bounded memory, and its parse fits in a thread's stack.

use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Problem};
use crate::load::raw::Limits;
use crate::load::source::{SourceFile, locate};

/// One bound: its manifest key, its default and the range it may be set to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    pub key: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
}

/// `max_operations`: rhai operations one expression may take per ticket.
pub(crate) const OPERATIONS: Bound = Bound {
    key: "max_operations",
    default: 10_000,
    min: 1,
    max: 1_000_000,
};

/// `max_expression_depth`: how deep an expression may nest. The ceiling keeps
/// every recursive walk of an expression (rhai's parser, optimiser and
/// evaluator, and the engine's own) well inside a 2 MiB thread stack.
pub(crate) const DEPTH: Bound = Bound {
    key: "max_expression_depth",
    default: 32,
    // Less leaves no room for `a > 1 && b < 3`.
    min: 4,
    max: 128,
};

/// `max_string_size`: the longest string an expression may build, in bytes.
pub(crate) const STRING: Bound = Bound {
    key: "max_string_size",
    default: 4_096,
    min: 1,
    max: 1_048_576,
};

/// `max_array_size`: the most items an array may hold.
pub(crate) const ARRAY: Bound = Bound {
    key: "max_array_size",
    default: 1_024,
    min: 1,
    max: 65_536,
};

/// `max_map_size`: the most entries a map may hold.
pub(crate) const MAP: Bound = Bound {
    key: "max_map_size",
    default: 256,
    min: 1,
    max: 65_536,
};

impl Limits {
    /// Each limit with its bound, in manifest order.
    fn entries(&self) -> [(Bound, Option<&Spanned<u64>>); 5] {
        [
            (OPERATIONS, self.max_operations.as_ref()),
            (DEPTH, self.max_expression_depth.as_ref()),
            (STRING, self.max_string_size.as_ref()),
            (ARRAY, self.max_array_size.as_ref()),
            (MAP, self.max_map_size.as_ref()),
        ]
    }

    /// The value in force for `bound`: the manifest's, or the default; a value
    /// out of range (which `check` reports) counts as the default.
    pub(crate) fn get(&self, bound: Bound) -> u64 {
        let set = self.entries().into_iter().find(|(b, _)| b.key == bound.key);
        match set.and_then(|(_, value)| value) {
            Some(value) if (bound.min..=bound.max).contains(&value.value) => value.value,
            _ => bound.default,
        }
    }

    /// The same, as a size.
    pub(crate) fn size(&self, bound: Bound) -> usize {
        usize::try_from(self.get(bound)).unwrap_or(usize::MAX)
    }

    /// A problem for every limit outside its range, at its value in `manifest`.
    pub(crate) fn check(&self, manifest: &SourceFile) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (bound, value) in self.entries() {
            let Some(value) = value else { continue };
            if (bound.min..=bound.max).contains(&value.value) {
                continue;
            }
            let (key, min, max) = (bound.key, bound.min, bound.max);
            let why = if value.value == 0 {
                "`0` would mean no limit at all"
            } else if value.value < min {
                "a smaller value leaves no room for a comparison of two conditions"
            } else {
                "a larger value would let one expression stall a decision or exhaust memory"
            };
            problems.push(
                Problem::error(
                    Code::BadLimit,
                    format!(
                        "limit `{key}` is `{}`, outside its range of {min} to {max}",
                        value.value
                    ),
                    Some(locate(manifest, &value.referenced)),
                )
                .with_help(format!(
                    "{why}; set it between {min} and {max}, or leave it out for the default ({})",
                    bound.default
                )),
            );
        }
        problems
    }
}
