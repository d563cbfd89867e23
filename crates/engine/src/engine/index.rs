//! The rule index: which rules a ticket can match, found without trying the
//! others. A rule whose condition starts with an equality or membership test
//! on a ticket field (`field == "x"`, `field in [..]`, `field in set`,
//! `"x" in list_field`, directly or as the first operand of a top-level `&&`,
//! through named conditions too) is *keyed* on that field: when the ticket's
//! value is not among the values the test accepts, the test is false, so the
//! rule's condition is, and the rule cannot decide. Only the keyed rules whose
//! key accepts the ticket's value and the rules without a key are tried, in
//! rule order, so the first rule that matches is the one a walk of every rule
//! finds. Per field, each value lists the positions of the rules it lets
//! through (a sparse bitset: a dense one per value would cost every value of
//! a per-customer field an eighth of a byte a rule).

use std::collections::HashMap;
use std::sync::Arc;

use crate::expr::native::{Cmp, Term};
use crate::model::decision::{Counts, Excluded, Named, Reads, StepKind, StepResult, TraceStep};
use crate::model::{Compiled, Condition, Needs, Rule};
use crate::schema::{Kind, Slot, Ticket, name};

/// Below this many keyed rules the index is not built: trying a handful of
/// rules costs less than looking them up, and their trace says more.
pub(crate) const MIN_KEYED_RULES: usize = 32;

/// The named conditions a key is looked for through, at most.
const MAX_KEY_DEPTH: usize = 8;

/// The rule index of a bundle (empty when it has too few keyed rules).
#[derive(Debug, Default)]
pub(crate) struct RuleIndex {
    keys: Vec<Key>,
    /// The rules without a key, tried for every ticket.
    open: Vec<u32>,
    /// The sandbox's size limits: a longer value is not looked up (its rules
    /// are all tried, and rhai says what it says of them).
    max_string: usize,
    max_array: usize,
}

/// The rules keyed on one field.
#[derive(Debug)]
struct Key {
    field: usize,
    /// Whether the field holds a list (the rule tests `"x" in field`).
    list: bool,
    /// For each value, the rules whose test it passes, in rule order.
    by_value: HashMap<Arc<str>, Vec<u32>, foldhash::fast::FixedState>,
    /// Every rule keyed on the field: those tried when the value cannot be looked up.
    all: Vec<u32>,
    /// How many rules keyed on the field come before each position.
    before: Vec<u32>,
}

/// A rule's key: the field, whether it is a list, and the values its test accepts.
struct RuleKey<'a> {
    field: usize,
    list: bool,
    values: Vec<&'a str>,
}

impl RuleIndex {
    /// The index of `bundle`'s rules, or an empty one when fewer than
    /// [`MIN_KEYED_RULES`] have a key.
    pub fn build(bundle: &Compiled) -> RuleIndex {
        let keys: Vec<Option<RuleKey>> = bundle.rules.iter().map(|r| key_of(bundle, r)).collect();
        if keys.iter().flatten().count() < MIN_KEYED_RULES {
            return RuleIndex::default();
        }
        let mut index = RuleIndex {
            max_string: bundle.engine.max_string_size(),
            max_array: bundle.engine.max_array_size(),
            ..RuleIndex::default()
        };
        for (position, key) in keys.iter().enumerate() {
            let position = position as u32;
            let Some(key) = key else {
                index.open.push(position);
                continue;
            };
            let slot = index.key_slot(key, bundle.rules.len());
            for value in &key.values {
                let rules = slot.by_value.entry(Arc::from(*value)).or_default();
                // `x in ["a", "a"]` lists the rule once.
                if rules.last() != Some(&position) {
                    rules.push(position);
                }
            }
            slot.all.push(position);
            slot.before[position as usize + 1] = 1;
        }
        for key in &mut index.keys {
            // From "keyed here" marks to counts of those before each position.
            let mut sum = 0;
            for count in &mut key.before {
                sum += *count;
                *count = sum;
            }
        }
        index.keys.sort_by_key(|k| k.field);
        index
    }

    fn key_slot(&mut self, key: &RuleKey, rules: usize) -> &mut Key {
        let at = match self.keys.iter().position(|k| k.field == key.field) {
            Some(at) => at,
            None => {
                self.keys.push(Key {
                    field: key.field,
                    list: key.list,
                    by_value: HashMap::default(),
                    all: Vec::new(),
                    before: vec![0; rules + 1],
                });
                self.keys.len() - 1
            }
        };
        &mut self.keys[at]
    }

    /// Whether the bundle has an index.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The rules `values` can match, in rule order; `None` without an index.
    pub fn candidates<'i>(
        &'i self,
        bundle: &Compiled,
        ticket: &Ticket<'_>,
    ) -> Option<Candidates<'i>> {
        if self.is_empty() {
            return None;
        }
        let mut heads: Vec<&'i [u32]> = vec![&self.open];
        for key in &self.keys {
            let kind = &bundle.schema.fields[key.field].kind;
            self.lists(key, &ticket.slots[key.field], kind, &mut heads);
        }
        heads.retain(|h| !h.is_empty());
        Some(Candidates { heads, last: None })
    }

    /// The lists of rules keyed on `key` that `value` lets through.
    fn lists<'i>(&'i self, key: &'i Key, slot: &Slot, kind: &Kind, heads: &mut Vec<&'i [u32]>) {
        let within = |len: usize, max: usize| max == 0 || len <= max;
        let look_up = |s: &str| key.by_value.get(s).map_or(&[][..], Vec::as_slice);
        let text = slot.as_str(kind);
        match (key.list, slot, text) {
            (false, _, Some(s)) if within(s.len(), self.max_string) => heads.push(look_up(s)),
            (true, Slot::List(codes), _) if within(codes.len(), self.max_array) => {
                heads.extend(codes.iter().map(|&c| look_up(name(kind, c))));
            }
            // Absent, or past a limit: every rule keyed on it is tried.
            _ => heads.push(&key.all),
        }
    }

    /// The trace entry for the rules from `first` up to `end` (not
    /// included), none of which the index let through.
    pub fn excluded(
        &self,
        bundle: &Compiled,
        ticket: &Ticket<'_>,
        first: usize,
        end: usize,
    ) -> TraceStep {
        let (schema, rules) = (&bundle.schema, &bundle.rules);
        let (mut reads, mut by, mut defaulted) = (Vec::new(), Vec::new(), Vec::new());
        for key in &self.keys {
            let count = key.before[end] - key.before[first];
            if count == 0 {
                continue;
            }
            let field = &schema.fields[key.field];
            reads.push((
                field.path.clone(),
                ticket.slots[key.field].value(&field.kind),
            ));
            by.push((field.path.clone(), count as usize));
            if ticket.defaulted[key.field] {
                defaulted.push(field.path.clone());
            }
        }
        reads.sort_by(|a, b| a.0.cmp(&b.0));
        by.sort_by(|a, b| a.0.cmp(&b.0));
        defaulted.sort();
        TraceStep {
            kind: StepKind::Excluded,
            id: rules[first].id.clone(),
            path: None,
            result: StepResult::NotMatched,
            reads: Reads(reads),
            defaulted,
            conditions: Named::default(),
            decided_by: None,
            excluded: Some(Excluded {
                rules: end - first,
                last: rules[end - 1].id.clone(),
                by: Counts(by),
            }),
        }
    }
}

/// The rules a ticket can match, in rule order: a merge of sorted lists.
pub(crate) struct Candidates<'i> {
    heads: Vec<&'i [u32]>,
    last: Option<u32>,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            let (at, _) = (self.heads.iter().enumerate())
                .filter_map(|(i, h)| Some((i, *h.first()?)))
                .min_by_key(|&(_, first)| first)?;
            let (&position, rest) = self.heads[at].split_first()?;
            self.heads[at] = rest;
            // A list of ticket values may name one value twice.
            if self.last != Some(position) {
                self.last = Some(position);
                return Some(position as usize);
            }
        }
    }
}

/// The key of `rule`, if its condition has one and it is safe to skip: the
/// condition and every named condition it needs run natively, so a rule
/// left out is one whose condition is false, not one rhai might fail on.
fn key_of<'b>(bundle: &'b Compiled, rule: &'b Rule) -> Option<RuleKey<'b>> {
    let Needs::Listed(needs) = &rule.guard.needs else {
        return None;
    };
    let conditions = &bundle.conditions;
    if !needs.iter().all(|&c| conditions[c].expr.native.is_some()) {
        return None;
    }
    let term = rule.guard.expr.native.as_ref()?.term();
    key_in(term, bundle, conditions, 0)
}

/// The test `term` starts with, when it is an equality or membership test
/// on a field.
fn key_in<'b>(
    term: &'b Term,
    bundle: &'b Compiled,
    conditions: &'b [Condition],
    depth: usize,
) -> Option<RuleKey<'b>> {
    if depth > MAX_KEY_DEPTH {
        return None;
    }
    let kind = |field: usize| &bundle.schema.fields[field].kind;
    let scalar = |field: usize| matches!(kind(field), Kind::String | Kind::Enum(_));
    let key = |field, list, values| {
        Some(RuleKey {
            field,
            list,
            values,
        })
    };
    match term {
        Term::And(operands) => key_in(operands.first()?, bundle, conditions, depth + 1),
        Term::Condition(c) => {
            let term = conditions.get(*c)?.expr.native.as_ref()?.term();
            key_in(term, bundle, conditions, depth + 1)
        }
        Term::Compare(Cmp::Eq, pair) => match &**pair {
            (Term::Field(f), Term::Str(s)) | (Term::Str(s), Term::Field(f)) if scalar(*f) => {
                key(*f, false, vec![&**s])
            }
            _ => None,
        },
        Term::In(pair) => match &**pair {
            (Term::Field(f), Term::List(items)) if scalar(*f) => {
                key(*f, false, items.iter().map(|s| &**s).collect())
            }
            (Term::Str(s), Term::Field(f)) if matches!(kind(*f), Kind::List(_)) => {
                key(*f, true, vec![&**s])
            }
            _ => None,
        },
        _ => None,
    }
}
