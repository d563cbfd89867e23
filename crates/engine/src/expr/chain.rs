//! The one walk of a dotted field read (`customer.admin_relationship`) in a
//! rhai AST, shared by the compiler, the type check and the native lowering.

use rhai::{ASTFlags, BinaryExpr, Expr, Position};

use crate::schema::{Node, Schema};

/// A dot chain: `a.b.c` parses as `Dot(Variable a, Dot(Property b, Property c))`.
pub(crate) struct Chain<'e> {
    pub variable: &'e str,
    /// The properties after the variable, up to the first thing that is not one.
    pub properties: Vec<(&'e str, Position)>,
    /// Nothing but properties follow the variable.
    pub whole: bool,
    /// Some link is `?.`.
    pub elvis: bool,
}

impl<'e> Chain<'e> {
    /// The chain of `dot` (with its `flags`), if it starts at a variable.
    pub fn of(dot: &'e BinaryExpr, flags: ASTFlags) -> Option<Chain<'e>> {
        let Expr::Variable(var, _, _) = &dot.lhs else {
            return None;
        };
        let mut chain = Chain {
            variable: var.1.as_str(),
            properties: Vec::new(),
            whole: false,
            elvis: flags.contains(ASTFlags::NEGATED),
        };
        let mut rest = &dot.rhs;
        loop {
            match rest {
                Expr::Property(property, position) => {
                    chain.properties.push((property.2.as_str(), *position));
                    chain.whole = true;
                    return Some(chain);
                }
                Expr::Dot(inner, flags, _) => {
                    chain.elvis |= flags.contains(ASTFlags::NEGATED);
                    let Expr::Property(property, position) = &inner.lhs else {
                        return Some(chain);
                    };
                    chain.properties.push((property.2.as_str(), *position));
                    rest = &inner.rhs;
                }
                _ => return Some(chain),
            }
        }
    }

    /// The schema field a whole chain names, if it names a field (not a group).
    pub fn field(&self, schema: &Schema) -> Option<usize> {
        if !self.whole {
            return None;
        }
        let segments: Vec<&str> = std::iter::once(self.variable)
            .chain(self.properties.iter().map(|(p, _)| *p))
            .collect();
        match schema.node(&segments)? {
            Node::Leaf(index) => Some(*index),
            Node::Object(_) => None,
        }
    }
}
