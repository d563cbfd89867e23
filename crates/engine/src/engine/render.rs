//! Render: a verdict's two renderings whole, the [`Decision`] value and its
//! JSON. A verdict decided in atom mode (`atoms`) keeps where the decision
//! ended and the ticket's atoms, not its trace: rendering it finds the
//! trace from those first (`replay`), and lends it to the rendering.

use crate::engine::evaluate::Deciding;
use crate::engine::packed::Steps;
use crate::engine::verdict::{Kept, Trace, Verdict, Walked};
use crate::expr::evaluated::Evaluated;
use crate::model::decision::Decision;

impl Verdict<'_> {
    /// The decision, with its trace, as [`Bundle::decide`](crate::Bundle::decide) returns it.
    pub fn decision(&self) -> Decision {
        self.traced(|verdict| verdict.decision_kept())
    }

    /// Writes the decision's JSON to `out`: the same bytes as
    /// `serde_json::to_writer(out, &self.decision())`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.traced(|verdict| verdict.write_kept(out))
    }

    /// Writes the decision's JSON with the keys of every object sorted by
    /// their bytes to `out`: the same bytes as `serde_json::to_writer` of
    /// `self.decision()` through a `Value` whose objects are sorted.
    pub fn write_sorted_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.traced(|verdict| verdict.write_kept_sorted(out))
    }

    /// `then` of this verdict with its trace.
    fn traced<R>(&self, then: impl FnOnce(&Verdict<'_>) -> R) -> R {
        let Kept::Atoms(atoms, word) = self.kept else {
            return then(self);
        };
        let trace = atoms.replay.trace(word, self.rule, self.path(), self.step);
        let walked = match trace {
            Some((steps, conditions)) => Walked { steps, conditions },
            // Atom mode takes only tickets whose trace it finds; the walk's
            // is the same.
            None => self.walked_again(),
        };
        then(&Verdict {
            kept: Kept::Lent(&walked.steps, &walked.conditions),
            ..*self
        })
    }

    /// The trace the walk leaves for this verdict's ticket.
    fn walked_again(&self) -> Walked {
        let Trace { bundle, ticket, .. } = self.trace;
        let walk = Deciding {
            bundle,
            index: None,
            indexed: false,
            atoms: None,
            json: self.json,
            native: true,
        };
        match walk.walk(ticket) {
            Ok((walked, _)) => walked,
            // Unreachable: atom mode took the ticket, which the walk decides.
            Err(_) => Walked {
                steps: Steps::new(),
                conditions: Evaluated::new(0),
            },
        }
    }
}
