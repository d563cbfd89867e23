//! The loaded, validated and compiled bundle: the one object evaluation needs.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::{BundleError, Problem};
use crate::engine::atoms::Atoms;
use crate::engine::evaluate::Deciding;
use crate::engine::fragments::Fragments;
use crate::engine::index::RuleIndex;
use crate::engine::verdict::Verdict;
use crate::expr::Expression;
use crate::load::PolicyFile;
use crate::model::decision::{Decision, PolicyRef, Rejection};
use crate::model::{Compiled, Described};
use crate::schema::Ticket;

/// A policy bundle ready to decide tickets. Cloning is cheap (one `Arc`), and
/// it is `Send + Sync`, so one bundle serves every thread.
#[derive(Clone)]
pub struct Bundle {
    pub(crate) inner: Arc<Compiled>,
    /// Whether lowered expressions run natively (see `native`); off only to
    /// check them against rhai.
    pub(crate) native: bool,
    /// The rule index (see `index`), built with the bundle.
    pub(crate) index: Arc<RuleIndex>,
    /// Whether decisions use the index; off for a trace of every rule tried.
    pub(crate) indexed: bool,
    /// The bundle's text as JSON, escaped once, for `Verdict::write_json`.
    pub(crate) json: Arc<Fragments>,
    /// The decision compiled to atom mode (see `atoms`), when the bundle
    /// fits, decides natively and has no rule index.
    pub(crate) atoms: Option<Arc<Atoms>>,
}

/// What [`Bundle::write_decision`] wrote: the decision's outcome and
/// vehicle, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written<'a> {
    /// The outcome id.
    pub outcome: &'a Arc<str>,
    /// The vehicle id, if a path step chose one.
    pub vehicle: Option<&'a Arc<str>>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl Bundle {
    fn new(compiled: Compiled) -> Bundle {
        let index = RuleIndex::build(&compiled);
        // Atom mode keeps no trace of rules an index leaves out.
        let atoms = match index.is_empty() {
            true => Atoms::build(&compiled).map(Arc::new),
            false => None,
        };
        Bundle {
            index: Arc::new(index),
            json: Arc::new(Fragments::of(&compiled)),
            atoms,
            inner: Arc::new(compiled),
            native: true,
            indexed: true,
        }
    }

    /// Loads the bundle in `dir`: `bundle.yaml` and the files it lists.
    ///
    /// Each must be a regular file that resolves, symbolic links followed,
    /// inside `dir`, of at most [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES),
    /// and all of them together at most
    /// [`MAX_BUNDLE_BYTES`](crate::MAX_BUNDLE_BYTES); anything else is
    /// refused without being read.
    pub fn load(dir: impl AsRef<Path>) -> Result<Bundle, BundleError> {
        let sources = crate::load::source::collect_dir(dir.as_ref())?;
        crate::link::build(sources).map(Bundle::new)
    }

    /// Loads a bundle from files in memory; one of them must be `bundle.yaml`.
    /// The same size caps hold as for [`Bundle::load`].
    pub fn from_files(files: &[PolicyFile]) -> Result<Bundle, BundleError> {
        let sources = crate::load::source::collect_files(files)?;
        crate::link::build(sources).map(Bundle::new)
    }

    /// Decides one ticket.
    pub fn decide(&self, ticket: &Value) -> Result<Decision, Rejection> {
        let ticket = self.ticket(ticket)?;
        match self.deciding(&ticket) {
            Some(deciding) => deciding.decide_then(&ticket, |verdict| verdict.decision()),
            None => Err(self.foreign(&ticket)),
        }
    }

    /// `ticket` checked against the bundle's ticket schema and laid out for
    /// [`Bundle::decide_ticket`], or its rejection (every problem with it).
    pub fn ticket<'a>(&'a self, ticket: &'a Value) -> Result<Ticket<'a>, Rejection> {
        crate::engine::evaluate::check(&self.inner, ticket)
    }

    /// The JSON ticket in `bytes`, read straight into the bundle's layout
    /// and checked as it is read, without a `serde_json::Value` in between.
    /// `None` when the bytes are not a valid ticket, or not one this reader
    /// takes (a key written with escapes, an object of more than 64 names):
    /// read them with [`parse_ticket`](crate::parse_ticket) and decide the
    /// value, which words every problem. Where this reader gives a ticket,
    /// its decision is the value's, byte for byte.
    pub fn read_ticket<'a>(&'a self, bytes: &'a [u8]) -> Option<Ticket<'a>> {
        let (schema, digest) = (&self.inner.schema, &*self.inner.policy.digest);
        crate::schema::read(schema, digest, bytes)
    }

    /// Decides a ticket read by this bundle (or one with the same digest):
    /// the decision as evaluation leaves it, to render with
    /// [`Verdict::decision`] or write with [`Verdict::write_json`].
    pub fn decide_ticket<'a>(&'a self, ticket: &'a Ticket<'a>) -> Result<Verdict<'a>, Rejection> {
        match self.deciding(ticket) {
            Some(deciding) => deciding.decide(ticket, || self.walk_verdict(ticket)),
            None => Err(self.foreign(ticket)),
        }
    }

    /// `ticket`'s verdict by the walk, for one atom mode does not take;
    /// not inlined, so that what only the walk reads is read there.
    #[inline(never)]
    fn walk_verdict<'a>(&'a self, ticket: &'a Ticket<'a>) -> Result<Verdict<'a>, Rejection> {
        match self.deciding(ticket) {
            Some(deciding) => deciding.walk_verdict(ticket),
            None => Err(self.foreign(ticket)),
        }
    }

    /// The rejection of a ticket another bundle read.
    #[cold]
    fn foreign(&self, ticket: &Ticket<'_>) -> Rejection {
        Rejection::unreadable(
            self.policy(),
            format!("a ticket read by bundle `{}`", self.inner.policy.digest),
            format!("one read by bundle `{}`", ticket.digest),
            "a ticket is decided by the bundle that read it",
        )
    }

    /// What deciding `ticket` reads; `None` for a ticket another bundle read.
    #[inline(always)]
    fn deciding(&self, ticket: &Ticket<'_>) -> Option<Deciding<'_>> {
        let digest = &*self.inner.policy.digest;
        // A ticket this bundle read borrows its digest: the same text, unread.
        let same = std::ptr::eq(ticket.digest, digest) || ticket.digest == digest;
        if !same {
            return None;
        }
        Some(Deciding {
            bundle: &self.inner,
            index: Some(&*self.index),
            indexed: self.indexed,
            atoms: self.atoms.as_deref(),
            json: &self.json,
            native: self.native,
        })
    }

    /// The short way whole: the JSON ticket in `bytes` read straight
    /// ([`Bundle::read_ticket`]), decided, and its decision's JSON appended
    /// to `out` ([`Verdict::write_json`]); its outcome and vehicle are
    /// returned. `None`, with `out` as it was, for bytes the short reader
    /// does not take or a ticket the bundle refuses: those go the long way
    /// ([`parse_ticket`](crate::parse_ticket) and [`Bundle::decide`]), which
    /// words the answer.
    pub fn write_decision(&self, bytes: &[u8], out: &mut Vec<u8>) -> Option<Written<'_>> {
        self.write_decisions(bytes, out, None)
    }

    /// [`Bundle::write_decision`], and the same decision's JSON with the
    /// keys of every object sorted ([`Verdict::write_sorted_json`]), as a
    /// record's canonical encoding holds it, appended to `sorted`.
    pub fn write_decision_sorted(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        sorted: &mut Vec<u8>,
    ) -> Option<Written<'_>> {
        self.write_decisions(bytes, out, Some(sorted))
    }

    fn write_decisions(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        mut sorted: Option<&mut Vec<u8>>,
    ) -> Option<Written<'_>> {
        let ticket = self.read_ticket(bytes)?;
        let inner = &*self.inner;
        let written = |verdict: &Verdict<'_>| {
            let (start, sorted_start) = (out.len(), sorted.as_ref().map_or(0, |s| s.len()));
            let sorted_failed = match sorted.as_deref_mut() {
                Some(sorted) => verdict.write_sorted_json(sorted).is_err(),
                None => false,
            };
            if sorted_failed || verdict.write_json(out).is_err() {
                out.truncate(start);
                sorted.iter_mut().for_each(|s| s.truncate(sorted_start));
                return None;
            }
            Some(Written {
                outcome: &inner.outcomes[verdict.outcome].id,
                vehicle: verdict.vehicle_index().map(|v| &inner.vehicles[v].id),
            })
        };
        self.deciding(&ticket)?.decide_then(&ticket, written).ok()?
    }

    /// The same bundle deciding without its rule index: every rule before the
    /// deciding one is tried and has its own trace entry, where the indexed
    /// bundle writes one `excluded` entry for each run of rules the index
    /// left out. Its decisions are otherwise the same; it is what
    /// `--explain` uses, so an explanation lists every rule tried.
    pub fn linear(&self) -> Bundle {
        Bundle {
            indexed: false,
            ..self.clone()
        }
    }

    /// Whether the bundle has a rule index: at least
    /// 32 rules whose conditions start with an equality or membership test
    /// on a ticket field.
    pub fn is_indexed(&self) -> bool {
        !self.index.is_empty()
    }

    /// How many expressions a decision evaluates at most, when every
    /// expression of the bundle has a native form; `None` when one is run
    /// by rhai alone. With a bound, a decision's time is bounded by the
    /// bundle's size: no loop, call or string built that only the operation
    /// limit would stop (rhai answers only where a native form gives up on
    /// a ticket, for the same plain comparisons). A service can then decide
    /// in place rather than on a thread of its own.
    pub fn native_bound(&self) -> Option<usize> {
        let all = expressions(&self.inner);
        all.iter().all(|e| e.native.is_some()).then_some(all.len())
    }

    /// The same bundle with every expression run by rhai, even those that
    /// have a native form. Its decisions are the same, byte for byte; it
    /// exists so that can be checked, and costs several times more a ticket.
    pub fn interpreted(&self) -> Bundle {
        Bundle {
            native: false,
            atoms: None,
            ..self.clone()
        }
    }

    /// Whether decisions of read tickets are compiled ahead (atom mode): the
    /// bundle's every expression is made of at most 64 distinct tests of
    /// enum, boolean and list fields, through named conditions too, and it
    /// decides natively and has no rule index.
    pub fn has_atoms(&self) -> bool {
        self.atoms.is_some()
    }

    /// The same bundle deciding every ticket by the walk, without atom mode.
    /// Its decisions are the same, byte for byte; it exists so that can be
    /// checked.
    pub fn walking(&self) -> Bundle {
        Bundle {
            atoms: None,
            ..self.clone()
        }
    }

    /// Decides a ticket of any serialisable type (it goes through the same
    /// validation as JSON does).
    pub fn decide_typed<T: Serialize>(&self, ticket: &T) -> Result<Decision, Rejection> {
        match serde_json::to_value(ticket) {
            Ok(value) => self.decide(&value),
            Err(error) => Err(crate::engine::evaluate::unserialisable(
                &self.inner,
                &error.to_string(),
            )),
        }
    }

    /// A copy compiled anew from the same files (so the same digest), for a
    /// thread of its own: the ids, names and constants a decision clones are
    /// then reference-counted per thread, not bounced between cores. Files
    /// that compiled once compile again; if they ever did not, the copy is
    /// this bundle, shared.
    pub fn thread_copy(&self) -> Bundle {
        match Bundle::from_files(self.files()) {
            Ok(copy) => Bundle {
                native: self.native,
                indexed: self.indexed,
                atoms: self.atoms.as_ref().and(copy.atoms),
                ..copy
            },
            Err(_) => self.clone(),
        }
    }

    /// The bundle's name, version and digest.
    pub fn policy(&self) -> &PolicyRef {
        &self.inner.policy
    }

    /// Problems worth a look that do not stop the bundle from loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.inner.warnings
    }

    /// The boundary rule ids, in evaluation order.
    pub fn rule_ids(&self) -> Vec<Arc<str>> {
        self.inner.rules.iter().map(|r| r.id.clone()).collect()
    }

    /// The ticket fields declared `mask: true`, by dotted path: what a
    /// decision log must never write in clear.
    pub fn masked_fields(&self) -> Vec<Arc<str>> {
        let fields = self.inner.schema.fields.iter();
        fields.filter(|f| f.mask).map(|f| f.path.clone()).collect()
    }

    /// The declared vehicles.
    pub fn vehicles(&self) -> &[Described] {
        &self.inner.vehicles
    }

    /// Everything the bundle declares, for people and tools.
    pub fn catalog(&self) -> crate::engine::catalog::Catalog {
        crate::engine::catalog::Catalog::of(&self.inner)
    }

    /// The manifest and every file it lists, exactly as loaded (the bytes the
    /// digest covers): enough to rebuild the same bundle with `from_files`.
    pub fn files(&self) -> &[PolicyFile] {
        &self.inner.files
    }

    /// Each file's display name and text, for rendering diagnostics.
    pub fn sources(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.inner.sources.clone()
    }

    /// Every path step as `(path, step)`, in order.
    pub fn path_steps(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.inner
            .paths
            .iter()
            .flat_map(|p| p.steps.iter().map(|s| (p.id.clone(), s.id.clone())))
            .collect()
    }
}

/// Every expression of the bundle that can be evaluated: its conditions,
/// then its constraints', rules' and path steps' guards (not those that
/// always hold).
fn expressions(b: &Compiled) -> Vec<&Expression> {
    let guards = b.constraints.iter().map(|c| &c.guard);
    let guards = guards.chain(b.rules.iter().map(|r| &r.guard));
    let guards = guards.chain(
        b.paths
            .iter()
            .flat_map(|p| p.steps.iter().map(|s| &s.guard)),
    );
    b.conditions
        .iter()
        .map(|c| &c.expr)
        .chain(guards.map(|g| &g.expr))
        .filter(|e| !e.always)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Bundle>();
    }

    /// A pack whose conditions fall back to rhai still decides, only slower;
    /// this keeps the shipped one fast.
    #[test]
    fn every_condition_of_the_shipped_pack_runs_natively() {
        let bundle = Bundle::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies")).unwrap();
        let all = expressions(&bundle.inner);
        assert_eq!(bundle.native_bound(), Some(all.len()));
        assert!(all.len() > 10);
        for expr in all {
            assert!(expr.native.is_some(), "{} stays with rhai", expr.source);
        }
    }
}
