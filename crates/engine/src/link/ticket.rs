//! The ticket schema a bundle declares, and references to its fields.

use std::sync::Arc;

use super::registry::{Builder, Registry, id_problem, prose};
use crate::diagnostic::{Code, Loc, Problem, did_you_mean, shortened};
use crate::load::raw::{self, Text};
use crate::load::text::hidden_in;
use crate::model::{Piece, Template};
use crate::schema::{FieldDef, Kind, Schema, check_value};

pub(super) fn field_ref(b: &mut Builder, schema: &Schema, path: &str, loc: Loc) -> Option<usize> {
    match schema.index.get(path) {
        Some(&i) => Some(i),
        None => {
            let mut problem = Problem::error(
                Code::UnknownField,
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
    b.problems.extend(hidden_in(
        "the constraint text",
        &text.value,
        &b.at(file, text),
    ));
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

/// The most segments a field's path may have (`a.b.c` has three).
const MAX_SEGMENTS: usize = 8;

/// What declaring a field needs besides the field: where it is, the sets an
/// enum can take its values from, and the declared roles.
struct Context<'a> {
    file: usize,
    sets: &'a mut Registry,
    set_values: &'a [(Arc<str>, Vec<Arc<str>>)],
    roles: &'a [Arc<str>],
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
    let mut cx = Context {
        file,
        sets,
        set_values,
        roles,
    };
    let fields: Vec<(Loc, FieldDef)> = (raw.fields.0.iter())
        .filter_map(|(path, field)| declare_field(b, &mut cx, path, field))
        .collect();
    let id_field = find(b, file, &fields, &raw.id_field, Special::Id);
    let role_field = find(b, file, &fields, &raw.role_field, Special::Role(roles));
    let (id_field, role_field) = (id_field?, role_field?);
    if b.problems.len() > before {
        return None;
    }
    let (locs, fields): (Vec<Loc>, Vec<FieldDef>) = fields.into_iter().unzip();
    match Schema::new(fields, id_field, role_field) {
        Ok(schema) => Some(schema),
        Err((index, message)) => {
            let loc = Some(locs[index].clone());
            b.problems
                .push(Problem::error(Code::BadSchema, message, loc));
            None
        }
    }
}

/// One field of the schema, with where it is declared.
fn declare_field(
    b: &mut Builder,
    cx: &mut Context,
    path: &Text,
    field: &raw::Field,
) -> Option<(Loc, FieldDef)> {
    let loc = b.at(cx.file, path);
    let segments = path.value.split('.');
    if segments.clone().count() > MAX_SEGMENTS {
        let message = format!(
            "field `{}` has more than {MAX_SEGMENTS} segments",
            shortened(&path.value, 64)
        );
        let help = "group a ticket's fields at most that deep";
        b.problems
            .push(Problem::error(Code::BadId, message, Some(loc.clone())).with_help(help));
    } else {
        for segment in segments {
            b.problems.extend(id_problem("field", segment, &loc));
        }
    }
    prose(b, "field", &path.value, field, &loc);
    let kind = kind(b, cx, path, field)?;
    let kind_loc = b.at(cx.file, &field.kind);
    if (!matches!(kind, Kind::Enum(_) | Kind::List(_)) || field.kind.value == "role")
        && (field.values.is_some() || field.values_from.is_some())
    {
        b.problems.push(Problem::error(
            Code::BadField,
            format!(
                "field `{}` of type `{}` takes no `values`",
                path.value, field.kind.value
            ),
            Some(kind_loc),
        ));
    }
    check_default(b, cx.file, path, field, &kind);
    let mask = field.mask.as_ref().is_some_and(|m| m.value);
    if let (true, Some(problem)) = (mask, crate::schema::unmaskable(&path.value, &kind)) {
        let at = field.mask.as_ref().map(|m| b.at_spanned(cx.file, m));
        b.problems.push(Problem::error(Code::BadMask, problem, at));
    }
    let def = FieldDef {
        path: path.value.as_str().into(),
        kind,
        required: field.required,
        default: field.default.as_ref().map(|d| d.value.clone()),
        description: field.description.as_deref().map(|d| d.trim().to_owned()),
        mask,
    };
    Some((loc, def))
}

/// The field's type, from its `type` and, for enums and lists, its values.
fn kind(b: &mut Builder, cx: &mut Context, path: &Text, field: &raw::Field) -> Option<Kind> {
    let kind_loc = b.at(cx.file, &field.kind);
    Some(match field.kind.value.as_str() {
        "string" => Kind::String,
        "bool" => Kind::Bool,
        "integer" => Kind::Integer,
        "timestamp" => Kind::Timestamp,
        "role" => Kind::Enum(cx.roles.to_vec()),
        kind @ ("enum" | "list") => {
            let values = match (&field.values, &field.values_from) {
                (Some(listed), None) => {
                    for value in listed {
                        let what = format!("a value of field `{}`", path.value);
                        let loc = b.at(cx.file, value);
                        b.problems.extend(hidden_in(&what, &value.value, &loc));
                    }
                    listed.iter().map(|v| v.value.as_str().into()).collect()
                }
                (None, Some(names)) => from_sets(b, cx, names),
                _ => {
                    let message = format!(
                        "field `{}` needs exactly one of `values` and `values_from`",
                        path.value
                    );
                    let help = format!(
                        "a field of type `{kind}` lists its allowed values, {}",
                        "or names the sets that hold them"
                    );
                    let problem = Problem::error(Code::BadField, message, Some(kind_loc));
                    b.problems.push(problem.with_help(help));
                    Vec::new()
                }
            };
            match kind {
                "enum" => Kind::Enum(values),
                _ => Kind::List(values),
            }
        }
        other => {
            let mut problem = Problem::error(
                Code::BadField,
                format!("unknown field type `{other}`"),
                Some(kind_loc),
            );
            let kinds = crate::schema::FIELD_TYPES;
            problem.help = did_you_mean(other, kinds)
                .or_else(|| Some(format!("field types: {}", kinds.join(", "))));
            b.problems.push(problem);
            return None;
        }
    })
}

/// The members of the named sets, each once, in order.
fn from_sets(b: &mut Builder, cx: &mut Context, names: &[Text]) -> Vec<Arc<str>> {
    let mut out: Vec<Arc<str>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for name in names {
        let loc = b.at(cx.file, name);
        if let Some(i) = cx.sets.resolve(&name.value, &loc, &mut b.problems) {
            for v in &cx.set_values[i].1 {
                if seen.insert(v.clone()) {
                    out.push(v.clone());
                }
            }
        }
    }
    out
}

/// A default must be a value of the field's type, and only an optional
/// field can have one.
fn check_default(b: &mut Builder, file: usize, path: &Text, field: &raw::Field, kind: &Kind) {
    let Some(spanned) = &field.default else {
        return;
    };
    if let Err(message) = check_value(kind, &spanned.value) {
        let mut problem = Problem::error(
            Code::BadDefault,
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
            Code::BadDefault,
            format!("required field `{}` cannot have a default", path.value),
            Some(b.at_spanned(file, spanned)),
        ));
    }
}

/// The two fields the schema names for a purpose of their own.
enum Special<'a> {
    /// The ticket id: a required string.
    Id,
    /// The requester's role: a required field of type `role`.
    Role(&'a [Arc<str>]),
}

/// The index of the id or role field `text` names, if it is one that fits.
fn find(
    b: &mut Builder,
    file: usize,
    fields: &[(Loc, FieldDef)],
    text: &Text,
    special: Special,
) -> Option<usize> {
    let (what, need) = match special {
        Special::Id => ("ticket id", "a required string"),
        Special::Role(_) => ("requester role", "a required field of type `role`"),
    };
    let fits = |f: &FieldDef| match &special {
        Special::Id => f.kind == Kind::String && f.required,
        Special::Role(roles) => f.kind == Kind::Enum(roles.to_vec()) && f.required,
    };
    let loc = b.at(file, text);
    match fields.iter().position(|(_, f)| *f.path == *text.value) {
        Some(i) if fits(&fields[i].1) => Some(i),
        Some(_) => {
            b.problems.push(Problem::error(
                Code::BadSchema,
                format!("the {what} field `{}` must be {need}", text.value),
                Some(loc),
            ));
            None
        }
        None => {
            let mut problem = Problem::error(
                Code::UnknownField,
                format!("the {what} field `{}` is not declared", text.value),
                Some(loc),
            );
            problem.help = did_you_mean(&text.value, fields.iter().map(|(_, f)| &*f.path));
            b.problems.push(problem);
            None
        }
    }
}
