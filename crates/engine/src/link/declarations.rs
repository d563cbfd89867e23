//! Declarations: every id of every kind, collected from all files before any
//! reference is resolved, so references work whatever the file order.

use std::sync::Arc;

use serde_saphyr::Spanned;

use super::registry::{Builder, Parsed, Registry, declare, prose};
use super::ticket::build_schema;
use crate::diagnostic::{Code, Loc, Problem};
use crate::load::raw::{self, Text};
use crate::load::source::{Sources, locate};
use crate::load::text::hidden_in;
use crate::model::{Described, OutcomeDef};
use crate::schema::Schema;

/// What the bundle declares, by kind.
pub(super) struct Declared<'p> {
    pub roles: Registry,
    pub actions: Registry,
    pub outcomes: Registry,
    pub vehicles: Registry,
    pub sets: Registry,
    pub conditions: Registry,
    pub paths: Registry,
    /// Each declared outcome: whether it escalates, and how it reads.
    pub outcome_defs: Vec<(bool, Described)>,
    pub role_defs: Vec<Described>,
    pub vehicle_defs: Vec<Described>,
    /// Each set's name and members, in declaration order.
    pub set_values: Vec<(Arc<str>, Vec<Arc<str>>)>,
    /// Where each member of each set is written, in the same order.
    pub set_locs: Vec<Vec<Loc>>,
    /// Each named condition's file and text, in declaration order.
    pub condition_defs: Vec<(usize, &'p Text)>,
    /// The one ticket schema and its file.
    pub ticket: Option<(usize, &'p Spanned<raw::TicketSchema>)>,
}

impl<'p> Declared<'p> {
    /// Declares every id of every file.
    pub(super) fn collect(b: &mut Builder, parsed: &'p Parsed) -> Declared<'p> {
        let mut d = Declared {
            roles: Registry::new("role"),
            actions: Registry::new("action"),
            outcomes: Registry::new("outcome"),
            vehicles: Registry::new("vehicle"),
            sets: Registry::new("set"),
            conditions: Registry::new("condition"),
            paths: Registry::new("path"),
            outcome_defs: Vec::new(),
            role_defs: Vec::new(),
            vehicle_defs: Vec::new(),
            set_values: Vec::new(),
            set_locs: Vec::new(),
            condition_defs: Vec::new(),
            ticket: None,
        };
        for (file, content) in parsed {
            d.file(b, *file, content);
        }
        d.role_defs = role_defs(parsed, &d.roles);
        d.vehicle_defs = vehicle_defs(parsed);
        d
    }

    fn file(&mut self, b: &mut Builder, file: usize, content: &'p raw::Document) {
        declare(b, file, &mut self.roles, &content.roles);
        declare(b, file, &mut self.actions, &content.actions);
        for (name, o) in &content.outcomes.0 {
            let loc = b.at(file, name);
            prose(b, "outcome", &name.value, o, &loc);
            if self.outcomes.declare(&name.value, loc, &mut b.problems) {
                let info = Described::new(&name.value, &o.title, Some(&o.description));
                self.outcome_defs.push((o.escalates, info));
            }
        }
        declare(b, file, &mut self.vehicles, &content.vehicles);
        for (name, members) in &content.sets.0 {
            let mut locs = Vec::new();
            for member in members {
                let what = format!("a member of set `{}`", name.value);
                let loc = b.at(file, member);
                b.problems.extend(hidden_in(&what, &member.value, &loc));
                locs.push(loc);
            }
            if self.named(b, file, name, Named::Set) {
                let members = members.iter().map(|m| m.value.as_str().into()).collect();
                self.set_values.push((name.value.as_str().into(), members));
                self.set_locs.push(locs);
            }
        }
        for (name, expr) in &content.conditions.0 {
            if self.named(b, file, name, Named::Condition) {
                self.condition_defs.push((file, expr));
            }
        }
        declare(b, file, &mut self.paths, &content.paths);
        if let Some(schema) = &content.ticket {
            self.ticket_at(b, file, schema);
        }
    }

    /// Declares a set or condition name, which expressions use as a variable.
    fn named(&mut self, b: &mut Builder, file: usize, name: &Text, kind: Named) -> bool {
        let loc = b.at(file, name);
        let registry = match kind {
            Named::Set => &mut self.sets,
            Named::Condition => &mut self.conditions,
        };
        registry.declare(&name.value, loc, &mut b.problems)
    }

    fn ticket_at(&mut self, b: &mut Builder, file: usize, schema: &'p Spanned<raw::TicketSchema>) {
        let loc = b.at_spanned(file, schema);
        match &self.ticket {
            Some((first_file, first)) => {
                let first = b.at_spanned(*first_file, first);
                b.problems.push(
                    Problem::error(Code::DuplicateSchema, "a second `ticket` schema", Some(loc))
                        .with_help(format!(
                            "a bundle has one ticket schema; the first is at {first}"
                        )),
                );
            }
            None => self.ticket = Some((file, schema)),
        }
    }

    /// The ticket schema, or `None` with the problems that prevent it.
    pub(super) fn ticket_schema(&mut self, b: &mut Builder, sources: &Sources) -> Option<Schema> {
        let Some((file, raw)) = self.ticket else {
            let loc = locate(&sources.manifest_file, &sources.manifest.name.referenced);
            let message = "the bundle declares no ticket schema";
            b.problems.push(
                Problem::error(Code::NoSchema, message, Some(loc)).with_help(concat!(
                    "add a `ticket:` section with `id_field`, `role_field` and `fields` ",
                    "to one of the listed files"
                )),
            );
            return None;
        };
        let role_ids = self.roles.ids();
        build_schema(
            b,
            file,
            &raw.value,
            &mut self.sets,
            &self.set_values,
            &role_ids,
        )
    }

    /// The declared outcomes, in declaration order.
    pub(super) fn outcomes(&mut self) -> Vec<OutcomeDef> {
        let defs = std::mem::take(&mut self.outcome_defs).into_iter();
        defs.enumerate()
            .map(|(i, (escalates, info))| OutcomeDef {
                id: self.outcomes.id(i),
                info,
                escalates,
            })
            .collect()
    }

    /// Every registry, in the order unused declarations are reported.
    pub(super) fn registries(&self) -> [&Registry; 7] {
        [
            &self.roles,
            &self.actions,
            &self.outcomes,
            &self.vehicles,
            &self.sets,
            &self.conditions,
            &self.paths,
        ]
    }
}

/// The kinds of names that expressions use as variables.
enum Named {
    Set,
    Condition,
}

fn role_defs(parsed: &Parsed, roles: &Registry) -> Vec<Described> {
    parsed
        .iter()
        .flat_map(|(_, c)| c.roles.0.iter())
        .filter(|(name, _)| roles.index.contains_key(name.value.as_str()))
        .map(|(name, r)| Described::new(&name.value, &r.title, r.description.as_deref()))
        .collect()
}

fn vehicle_defs(parsed: &Parsed) -> Vec<Described> {
    parsed
        .iter()
        .flat_map(|(_, c)| c.vehicles.0.iter())
        .map(|(name, v)| Described {
            fee: v.fee.as_deref().map(|f| f.trim().to_owned()),
            covers: v.covers.as_deref().map(|c| c.trim().to_owned()),
            ..Described::new(&name.value, &v.title, Some(&v.description))
        })
        .collect()
}
