//! Render: a verdict's two renderings whole, the [`Decision`] value and its
//! JSON. A verdict decided in atom mode (`atoms`) keeps where the decision
//! ended and the ticket's atoms, not its trace: rendering it finds the
//! trace from those first (`replay`).

use crate::engine::evaluate::decide;
use crate::engine::verdict::{Trace, Verdict};
use crate::model::decision::Decision;

impl<'a> Verdict<'a> {
    /// The decision, with its trace, as [`Bundle::decide`](crate::Bundle::decide) returns it.
    pub fn decision(&self) -> Decision {
        match self.traced() {
            Some(traced) => traced.decision_kept(),
            None => self.decision_kept(),
        }
    }

    /// Writes the decision's JSON to `out`: the same bytes as
    /// `serde_json::to_writer(out, &self.decision())`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self.traced() {
            Some(traced) => traced.write_kept(out),
            None => self.write_kept(out),
        }
    }

    /// The same verdict with its trace, for one decided in atom mode.
    fn traced(&self) -> Option<Verdict<'a>> {
        let (atoms, word) = self.atoms?;
        let trace = atoms.replay.trace(word, self.rule, self.path(), self.step);
        let Some((steps, conditions)) = trace else {
            // Atom mode takes only tickets the walk answers, alike.
            let Trace { bundle, ticket, .. } = self.trace;
            return decide(bundle, None, None, self.json, ticket, true).ok();
        };
        Some(Verdict {
            trace: self.trace,
            json: self.json,
            conditions,
            steps,
            atoms: None,
            ..*self
        })
    }
}
