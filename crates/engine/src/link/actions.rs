//! The action a rule or fallback names: fixed, or chosen by an enum field.

use std::sync::Arc;

use super::linker::Linker;
use super::registry::{Builder, Parsed, Registry};
use super::ticket::field_ref;
use crate::diagnostic::{Code, Problem};
use crate::load::raw::ActionRef;
use crate::model::{ActionDef, ActionSel, Described};
use crate::schema::{Kind, Schema};

pub(super) fn action_sel(
    b: &mut Builder,
    schema: &Schema,
    actions: &mut Registry,
    file: usize,
    action: &serde_saphyr::Spanned<ActionRef>,
) -> Option<ActionSel> {
    let loc = b.at_spanned(file, action);
    match &action.value {
        ActionRef::Fixed(name) => actions
            .resolve(name, &loc, &mut b.problems)
            .map(ActionSel::Fixed),
        ActionRef::ByField(by) => {
            let field = field_ref(b, schema, &by.by, loc.clone())?;
            let Some(values) = schema.fields[field]
                .kind
                .values()
                .filter(|_| matches!(schema.fields[field].kind, Kind::Enum(_)))
            else {
                b.problems.push(Problem::error(
                    Code::BadAction,
                    format!(
                        "an action can be chosen by an enum field only, and `{}` is not one",
                        by.by
                    ),
                    Some(loc),
                ));
                return None;
            };
            let mut cases = Vec::new();
            let mut ok = true;
            for (value, name) in &by.cases {
                if !values.iter().any(|v| **v == **value) {
                    b.problems.push(Problem::error(
                        Code::BadAction,
                        format!("`{value}` is not a value of `{}`", by.by),
                        Some(loc.clone()),
                    ));
                    ok = false;
                }
                match actions.resolve(name, &loc, &mut b.problems) {
                    Some(i) => cases.push((Arc::<str>::from(value.as_str()), i)),
                    None => ok = false,
                }
            }
            let missing: Vec<&str> = values
                .iter()
                .filter(|v| !by.cases.contains_key(&***v))
                .map(|v| &**v)
                .collect();
            if !missing.is_empty() {
                b.problems.push(
                    Problem::error(
                        Code::BadAction,
                        format!(
                            "no action for `{}` = {}",
                            by.by,
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Some(loc),
                    )
                    .with_help("give every value of the field a case"),
                );
                ok = false;
            }
            ok.then_some(ActionSel::ByField { field, cases })
        }
    }
}

impl Linker<'_> {
    /// Each action with the roles that may take it, sorted, so decisions list
    /// them in a stable order.
    pub(super) fn actions(&mut self, parsed: &Parsed) -> Vec<ActionDef> {
        let mut defs = Vec::new();
        for (file, content) in parsed {
            for (name, action) in &content.actions.0 {
                let mut allowed: Vec<Arc<str>> = action
                    .roles
                    .iter()
                    .filter_map(|r| {
                        let loc = self.b.at(*file, r);
                        let roles = &mut self.declared.roles;
                        let index = roles.resolve(&r.value, &loc, &mut self.b.problems)?;
                        Some(roles.id(index))
                    })
                    .collect();
                allowed.sort();
                allowed.dedup();
                defs.push(ActionDef {
                    id: name.value.as_str().into(),
                    info: Described::new(&name.value, &action.title, action.description.as_deref()),
                    roles: allowed,
                });
            }
        }
        defs
    }
}
