//! Ticket constraints: checks across fields, each with the field it is about
//! and the message a rejected ticket gets.

use super::guards::compile;
use super::linker::Linker;
use super::registry::Registry;
use super::ticket::{field_ref, template};
use crate::model::Constraint;

impl Linker<'_> {
    /// The ticket's constraints: checks across fields, each with the field it
    /// is about and the message a rejected ticket gets.
    pub(super) fn constraints(&mut self) -> Vec<Constraint> {
        let Some((file, raw)) = self.declared.ticket else {
            return Vec::new();
        };
        let mut constraints = Vec::new();
        let mut ids = Registry::new("constraint");
        for c in &raw.value.constraints {
            let b = &mut self.b;
            let loc = b.at(file, &c.id);
            ids.declare(&c.id.value, loc, &mut b.problems);
            let field_loc = b.at(file, &c.field);
            let field = field_ref(b, self.schema, &c.field.value, field_loc);
            let expected = template(b, self.schema, file, &c.expected);
            let message = template(b, self.schema, file, &c.message);
            let expr = compile(b, self.compiler, file, &c.check);
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
