//! The state the section phases share while a bundle is linked.

use super::declarations::Declared;
use super::guards::Guards;
use super::registry::Builder;
use crate::diagnostic::{Loc, Problem};
use crate::expr::compile::Compiler;
use crate::model::Condition;
use crate::schema::Schema;

/// The state the section phases share: the problems so far, the ticket
/// schema, the compiler, the declarations (whose registries record what is
/// used), and the compiled named conditions.
pub(super) struct Linker<'a> {
    /// Where problems about the bundle as a whole point: the manifest's name.
    pub manifest: Loc,
    pub b: Builder<'a>,
    pub schema: &'a Schema,
    pub compiler: &'a Compiler<'a>,
    pub declared: Declared<'a>,
    pub guards: Guards,
}

impl Linker<'_> {
    /// A warning for each declaration nothing uses.
    pub(super) fn unused(&mut self) -> Vec<Problem> {
        let uses = self.guards.used();
        let declared = &mut self.declared;
        for (registry, used) in [
            (&mut declared.conditions, &uses.conditions),
            (&mut declared.sets, &uses.sets),
        ] {
            for (index, &u) in used.iter().enumerate() {
                if u {
                    registry.used[index] = true;
                }
            }
        }
        let mut warnings = Vec::new();
        for registry in declared.registries() {
            registry.unused(&mut warnings);
        }
        warnings
    }

    pub(super) fn conditions(&mut self) -> Vec<Condition> {
        let exprs = std::mem::take(&mut self.guards.exprs);
        let names = &self.declared.conditions;
        let named = exprs.into_iter().enumerate();
        named
            .filter_map(|(i, expr)| {
                let name = names.id(i);
                expr.map(|expr| Condition { name, expr })
            })
            .collect()
    }
}
