//! Render: a verdict's two renderings whole, the [`Decision`] value and its
//! JSON. A verdict decided in atom mode (`atoms`) keeps where the decision
//! ended, not its trace: rendering it runs the walk again for the trace,
//! which takes every ticket atom mode takes and decides it the same.

use crate::engine::evaluate::decide;
use crate::engine::verdict::Verdict;
use crate::model::decision::Decision;

impl<'a> Verdict<'a> {
    /// The decision, with its trace, as [`Bundle::decide`](crate::Bundle::decide) returns it.
    pub fn decision(&self) -> Decision {
        match self.walked() {
            Some(walked) => walked.decision_kept(),
            None => self.decision_kept(),
        }
    }

    /// Writes the decision's JSON to `out`: the same bytes as
    /// `serde_json::to_writer(out, &self.decision())`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self.walked() {
            Some(walked) => walked.write_kept(out),
            None => self.write_kept(out),
        }
    }

    /// The same verdict with its trace, for one decided in atom mode.
    fn walked(&self) -> Option<Verdict<'a>> {
        let (trace, json) = (self.trace, self.json);
        let walk = || decide(trace.bundle, None, None, json, trace.ticket, true).ok();
        self.atoms.then(walk).flatten()
    }
}
