//! The named conditions' values known so far in one decision: each is
//! evaluated at most once a ticket, and the trace shows the value it had.
//! A bundle of at most 64 conditions keeps them as two bit masks, so a
//! decision allocates nothing for them; a larger one keeps a list.

/// The values of a bundle's named conditions, by index, for those evaluated.
#[derive(Clone, Debug)]
pub(crate) enum Evaluated {
    /// Bit `c` of `known`: condition `c` was evaluated; of `value`: it was true.
    Bits { known: u64, value: u64 },
    /// One entry a condition, for bundles of more than 64.
    Many(Vec<Option<bool>>),
}

impl Evaluated {
    /// None known yet, for a bundle of `count` conditions.
    pub fn new(count: usize) -> Evaluated {
        match count <= 64 {
            true => Evaluated::Bits { known: 0, value: 0 },
            false => Evaluated::Many(vec![None; count]),
        }
    }

    /// Condition `c`'s value, if it was evaluated.
    #[inline]
    pub fn get(&self, c: usize) -> Option<bool> {
        match self {
            Evaluated::Bits { known, value } => {
                let bit = 1u64.checked_shl(u32::try_from(c).ok()?)?;
                (known & bit != 0).then_some(value & bit != 0)
            }
            Evaluated::Many(values) => *values.get(c)?,
        }
    }

    /// Whether condition `c` was evaluated.
    #[inline]
    pub fn has(&self, c: usize) -> bool {
        self.get(c).is_some()
    }

    /// Whether every condition of `bits` (bit `c` for condition `c`) was
    /// evaluated; always false for a bundle of more than 64.
    #[inline]
    pub fn has_all(&self, bits: u64) -> bool {
        matches!(self, Evaluated::Bits { known, .. } if known & bits == bits)
    }

    /// Records condition `c`'s value (one outside the bundle is ignored).
    #[inline]
    pub fn set(&mut self, c: usize, to: bool) {
        match self {
            Evaluated::Bits { known, value } => {
                let bit = u32::try_from(c).ok().and_then(|c| 1u64.checked_shl(c));
                if let Some(bit) = bit {
                    *known |= bit;
                    *value = (*value & !bit) | if to { bit } else { 0 };
                }
            }
            Evaluated::Many(values) => {
                if let Some(slot) = values.get_mut(c) {
                    *slot = Some(to);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both forms answer alike: unknown until set, then the value set.
    #[test]
    fn bits_and_list_agree() {
        for count in [3, 64, 65, 130] {
            let mut known = Evaluated::new(count);
            assert_eq!(matches!(known, Evaluated::Bits { .. }), count <= 64);
            for c in 0..count {
                assert_eq!(known.get(c), None);
                known.set(c, c % 3 == 0);
            }
            for c in 0..count {
                assert_eq!(known.get(c), Some(c % 3 == 0), "{count} conditions, {c}");
            }
            known.set(1, true);
            assert_eq!(known.get(1), Some(true));
            assert_eq!(known.has_all(0b111), count <= 64);
            assert_eq!(known.get(count + 64), None);
        }
    }
}
