//! The ticket schema a bundle declares, and references to its fields.

use std::sync::Arc;

use super::registry::{Builder, Registry, identifier};
use crate::diagnostic::{Loc, Problem, did_you_mean};
use crate::load::raw::{self, Text};
use crate::model::{Constraint, Piece, Template};
use crate::schema::{FieldDef, Kind, Schema, check_value};

pub(super) fn field_ref(b: &mut Builder, schema: &Schema, path: &str, loc: Loc) -> Option<usize> {
    match schema.index.get(path) {
        Some(&i) => Some(i),
        None => {
            let mut problem = Problem::error(
                "unknown-field",
                format!("the ticket schema has no field `{path}`"),
                Some(loc),
            );
            problem.help = did_you_mean(path, schema.fields.iter().map(|f| &*f.path));
            b.problems.push(problem);
            None
        }
    }
}

/// Splits `{field.path}` placeholders out of a message.
pub(super) fn template(
    b: &mut Builder,
    schema: &Schema,
    file: usize,
    text: &Text,
) -> Option<Template> {
    let mut pieces = Vec::new();
    let mut rest = text.value.as_str();
    let mut ok = true;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        pieces.push(Piece::Text(rest[..open].to_owned()));
        let path = &rest[open + 1..open + close];
        match field_ref(b, schema, path, b.at(file, text)) {
            Some(i) => pieces.push(Piece::Field(i)),
            None => ok = false,
        }
        rest = &rest[open + close + 1..];
    }
    pieces.push(Piece::Text(rest.to_owned()));
    ok.then_some(Template(pieces))
}

pub(super) fn build_schema(
    b: &mut Builder,
    file: usize,
    raw: &raw::TicketSchema,
    sets: &mut Registry,
    set_values: &[(Arc<str>, Vec<Arc<str>>)],
    roles: &[Arc<str>],
) -> Option<Schema> {
    let before = b.problems.len();
    let mut fields = Vec::new();
    for (path, field) in &raw.fields.0 {
        let loc = b.at(file, path);
        for segment in path.value.split('.') {
            identifier(&mut b.problems, segment, &loc, "field");
        }
        let kind_loc = b.at(file, &field.kind);
        let listed = || -> Vec<Arc<str>> {
            field
                .values
                .iter()
                .flatten()
                .map(|v| v.value.as_str().into())
                .collect()
        };
        let mut from_sets = |b: &mut Builder| -> Vec<Arc<str>> {
            let mut out: Vec<Arc<str>> = Vec::new();
            for name in field.values_from.iter().flatten() {
                if let Some(i) = sets.resolve(&name.value, &b.at(file, name), &mut b.problems) {
                    for v in &set_values[i].1 {
                        if !out.contains(v) {
                            out.push(v.clone());
                        }
                    }
                }
            }
            out
        };
        let kind = match field.kind.value.as_str() {
            "string" => Some(Kind::String),
            "bool" => Some(Kind::Bool),
            "integer" => Some(Kind::Integer),
            "timestamp" => Some(Kind::Timestamp),
            "role" => Some(Kind::Enum(roles.to_vec())),
            kind @ ("enum" | "list") => {
                let values = match (&field.values, &field.values_from) {
                    (Some(_), None) => listed(),
                    (None, Some(_)) => from_sets(b),
                    _ => {
                        b.problems.push(
                            Problem::error("bad-field", format!("field `{}` needs exactly one of `values` and `values_from`", path.value), Some(kind_loc.clone()))
                                .with_help(format!("a field of type `{kind}` lists its allowed values, or names the sets that hold them")),
                        );
                        Vec::new()
                    }
                };
                Some(if kind == "enum" {
                    Kind::Enum(values)
                } else {
                    Kind::List(values)
                })
            }
            other => {
                let mut problem = Problem::error(
                    "bad-field",
                    format!("unknown field type `{other}`"),
                    Some(kind_loc.clone()),
                );
                let kinds = crate::schema::FIELD_TYPES;
                problem.help = did_you_mean(other, kinds)
                    .or_else(|| Some(format!("field types: {}", kinds.join(", "))));
                b.problems.push(problem);
                None
            }
        };
        let Some(kind) = kind else { continue };
        if (!matches!(kind, Kind::Enum(_) | Kind::List(_)) || field.kind.value == "role")
            && (field.values.is_some() || field.values_from.is_some())
        {
            b.problems.push(Problem::error(
                "bad-field",
                format!(
                    "field `{}` of type `{}` takes no `values`",
                    path.value, field.kind.value
                ),
                Some(kind_loc.clone()),
            ));
        }
        let default = field.default.as_ref().map(|d| d.value.clone());
        if let Some(spanned) = &field.default {
            if let Err(message) = check_value(&kind, &spanned.value) {
                let mut problem = Problem::error(
                    "bad-default",
                    format!(
                        "the default of `{}` must be {}",
                        path.value,
                        kind.describe()
                    ),
                    Some(b.at_spanned(file, spanned)),
                );
                // The check's own hint (`did you mean …`), if it has one.
                problem.help = message.split_once("; ").map(|(_, hint)| hint.to_owned());
                b.problems.push(problem);
            }
            if field.required {
                b.problems.push(Problem::error(
                    "bad-default",
                    format!("required field `{}` cannot have a default", path.value),
                    Some(b.at_spanned(file, spanned)),
                ));
            }
        }
        let mask = field.mask.as_ref().is_some_and(|m| m.value);
        if let (true, Some(problem)) = (mask, crate::schema::unmaskable(&path.value, &kind)) {
            let at = field.mask.as_ref().map(|m| b.at_spanned(file, m));
            b.problems.push(Problem::error("bad-mask", problem, at));
        }
        fields.push((
            loc,
            FieldDef {
                path: path.value.as_str().into(),
                kind,
                required: field.required,
                default,
                description: field.description.as_deref().map(|d| d.trim().to_owned()),
                mask,
            },
        ));
    }
    let find = |b: &mut Builder,
                text: &Text,
                what: &str,
                fits: &dyn Fn(&FieldDef) -> bool,
                need: &str|
     -> Option<usize> {
        let loc = b.at(file, text);
        match fields.iter().position(|(_, f)| *f.path == *text.value) {
            Some(i) if fits(&fields[i].1) => Some(i),
            Some(_) => {
                b.problems.push(Problem::error(
                    "bad-schema",
                    format!("the {what} field `{}` must be {need}", text.value),
                    Some(loc),
                ));
                None
            }
            None => {
                let mut problem = Problem::error(
                    "unknown-field",
                    format!("the {what} field `{}` is not declared", text.value),
                    Some(loc),
                );
                problem.help = did_you_mean(&text.value, fields.iter().map(|(_, f)| &*f.path));
                b.problems.push(problem);
                None
            }
        }
    };
    let id_field = find(
        b,
        &raw.id_field,
        "ticket id",
        &|f| f.kind == Kind::String && f.required,
        "a required string",
    );
    let role_field = find(
        b,
        &raw.role_field,
        "requester role",
        &|f| f.kind == Kind::Enum(roles.to_vec()) && f.required,
        "a required field of type `role`",
    );
    let (id_field, role_field) = (id_field?, role_field?);
    if b.problems.len() > before {
        return None;
    }
    let locs: Vec<Loc> = fields.iter().map(|(l, _)| l.clone()).collect();
    match Schema::new(
        fields.into_iter().map(|(_, f)| f).collect(),
        id_field,
        role_field,
    ) {
        Ok(schema) => Some(schema),
        Err((index, message)) => {
            b.problems.push(Problem::error(
                "bad-schema",
                message,
                Some(locs[index].clone()),
            ));
            None
        }
    }
}

impl super::Linker<'_> {
    /// The ticket's constraints: checks across fields, each with the field it
    /// is about and the message a rejected ticket gets.
    pub(super) fn constraints(&mut self) -> Vec<Constraint> {
        let Some((file, raw)) = self.declared.ticket else {
            return Vec::new();
        };
        let mut constraints = Vec::new();
        for c in &raw.value.constraints {
            let b = &mut self.b;
            let field_loc = b.at(file, &c.field);
            let field = field_ref(b, self.schema, &c.field.value, field_loc);
            let expected = template(b, self.schema, file, &c.expected);
            let message = template(b, self.schema, file, &c.message);
            let expr = super::guards::compile(b, self.compiler, file, &c.check);
            if let (Some(field), Some(expected), Some(message), Some(expr)) =
                (field, expected, message, expr)
            {
                constraints.push(Constraint {
                    id: c.id.value.as_str().into(),
                    guard: self.guards.guard(self.schema, expr),
                    field,
                    expected,
                    message,
                });
            }
        }
        constraints
    }
}
