//! The trace as evaluation keeps it: which step gave what, each entry
//! packed in 8 bytes and kept inline, so a decision allocates nothing for
//! it; names, paths and values are looked up only when it is rendered.

use crate::model::Compiled;
use crate::model::decision::StepResult;

/// One entry of the trace, as rendering reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// The rule at `rule`; `part`: the operand of its top-level `&&`/`||`
    /// that decided, when known (never for an `error` result).
    Rule {
        rule: u32,
        result: StepResult,
        part: Option<u32>,
    },
    /// The step at `step` of the path at `path`.
    Along {
        path: u32,
        step: u32,
        result: StepResult,
        part: Option<u32>,
    },
    /// The fallback of the path at `path`.
    Fallback { path: u32 },
    /// The rules from `first` up to `end` (not included), left out by the index.
    Excluded { first: u32, end: u32 },
}

/// One entry of the trace as evaluation keeps it, in 8 bytes, so that the
/// trace kept inline stays small to move: `at` is the rule, the path step,
/// or the first rule left out; `info` holds the kind (top two bits), the
/// result (the next two) and the operand that decided, counted from one
/// (the rest; 0 for none), or, left out by the index, the end of the run.
/// An entry along a path, or its fallback, belongs to the path of the rule
/// tried last. Operands and rules are counted in 28 and 30 bits, more than
/// a bundle within the size caps can hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packed {
    at: u32,
    info: u32,
}

const KIND: u32 = 0b11 << 30;
const ALONG: u32 = 1 << 30;
const FALLBACK: u32 = 2 << 30;
const EXCLUDED: u32 = 3 << 30;
const RESULT: u32 = 28;
/// The most an operand's count from one can be (see also `expr::flat`).
pub(crate) const PART: u32 = (1 << 28) - 1;

impl Packed {
    #[inline]
    pub fn rule(rule: u32, result: StepResult, part: Option<u32>) -> Packed {
        Packed::tried(0, rule, result, part)
    }

    #[inline]
    pub fn along(step: u32, result: StepResult, part: Option<u32>) -> Packed {
        Packed::tried(ALONG, step, result, part)
    }

    pub fn fallback() -> Packed {
        Packed {
            at: 0,
            info: FALLBACK,
        }
    }

    pub fn excluded(first: u32, end: u32) -> Packed {
        Packed {
            at: first,
            info: EXCLUDED | (end & !KIND),
        }
    }

    #[inline]
    fn tried(kind: u32, at: u32, result: StepResult, part: Option<u32>) -> Packed {
        let result = match result {
            StepResult::Matched => 0,
            StepResult::NotMatched => 1,
            StepResult::Error => 2,
        };
        let part = part.and_then(|p| p.checked_add(1)).filter(|&p| p <= PART);
        Packed {
            at,
            info: kind | result << RESULT | part.unwrap_or(0),
        }
    }

    /// The entry, for a trace whose rule tried last leads along `path`.
    fn unpack(self, path: u32) -> Step {
        let result = match (self.info >> RESULT) & 0b11 {
            0 => StepResult::Matched,
            1 => StepResult::NotMatched,
            _ => StepResult::Error,
        };
        let part = (self.info & PART).checked_sub(1);
        match self.info & KIND {
            ALONG => Step::Along {
                path,
                step: self.at,
                result,
                part,
            },
            FALLBACK => Step::Fallback { path },
            EXCLUDED => Step::Excluded {
                first: self.at,
                end: self.info & !KIND,
            },
            _ => Step::Rule {
                rule: self.at,
                result,
                part,
            },
        }
    }
}

/// The entries of `packed`, unpacked: those along a path, on the path of
/// the rule tried last.
pub(crate) fn unpacked<'s>(
    bundle: &'s Compiled,
    packed: &'s [Packed],
) -> impl Iterator<Item = Step> + 's {
    let mut path = 0;
    packed.iter().map(move |p| {
        let step = p.unpack(path);
        if let Step::Rule { rule, .. } = step {
            let rule = bundle.rules.get(rule as usize);
            path = rule.and_then(|r| r.path).map_or(0, |p| p as u32);
        }
        step
    })
}

/// The trace as evaluation keeps it: inline up to 15 entries, so that a
/// decision allocates nothing for most traces (the reference pack's longest
/// is 15 entries), and the trace is 128 bytes, which the compiler moves
/// without a call to `memcpy`.
pub(crate) type Steps = smallvec::SmallVec<[Packed; 15]>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace entry stays small: the inline trace is moved with the verdict.
    #[test]
    fn an_entry_takes_8_bytes_and_unpacks_as_packed() {
        assert_eq!(size_of::<Packed>(), 8);
        let results = [
            StepResult::Matched,
            StepResult::NotMatched,
            StepResult::Error,
        ];
        for (result, part) in results.into_iter().zip([None, Some(0), Some(PART - 1)]) {
            let rule = Packed::rule(7, result, part).unpack(3);
            let along = Packed::along(9, result, part).unpack(3);
            let rule_back = matches!(rule, Step::Rule { rule: 7, result: r, part: p } if r == result && p == part);
            let along_back = matches!(along, Step::Along { path: 3, step: 9, result: r, part: p } if r == result && p == part);
            assert!(rule_back && along_back, "{rule:?} {along:?}");
        }
        let excluded = Packed::excluded(5, (1 << 30) - 1).unpack(0);
        assert!(matches!(excluded, Step::Excluded { first: 5, end } if end == (1 << 30) - 1));
        assert!(matches!(
            Packed::fallback().unpack(2),
            Step::Fallback { path: 2 }
        ));
    }
}
