//! Compile, second half: the expressions most policies are made of
//! (comparisons, `in`, `!`, `&&` and `||` over ticket fields, named conditions
//! and literals) are lowered to a small tree that runs on the validated ticket
//! directly, without a rhai scope or the maps a scope needs; building those
//! was most of a decision's cost.
//!
//! rhai stays the language and the reference. An expression is lowered only if
//! every node is in the subset, and at run time the tree answers only where its
//! answer is certain to be rhai's: operands of the same type, booleans where
//! booleans are needed, sizes within the sandbox limits. Anywhere else it gives
//! up, and the caller runs the rhai AST, so errors keep rhai's wording.

use std::collections::HashMap;
use std::sync::Arc;

use crate::expr::bound::Op;
use crate::expr::chain::Chain;
use crate::expr::evaluated::Evaluated;
use crate::expr::flat::Flat;
pub(crate) use crate::expr::term::{Cmp, Term};
use crate::schema::{Kind, Node as Layout, Schema, Slot, Ticket, name};
use rhai::{AST, Dynamic, Engine, Expr, Stmt, Token};

/// The rhai operations counted for each lowered node when judging whether an
/// expression could reach the operation limit; one that could stays with
/// rhai, which reports the limit. Random conditions take at most 2 a node (the
/// property test in `tests/native.rs` fails at 1); 4 leaves a margin.
const OPERATIONS_PER_NODE: u64 = 4;

/// The deepest tree that is lowered. rhai's parser already holds an
/// expression to `max_expression_depth` (at most 128), and the text scan
/// before it to the same; this keeps the lowering and the evaluation of the
/// tree, both recursive, bounded on their own: a deeper tree stays with rhai.
const MAX_TERM_DEPTH: usize = 2 * crate::load::limits::DEPTH.max as usize;

#[derive(Debug)]
pub(crate) struct Program {
    root: Term,
    /// The same tree bound to the schema, as flat tests: what runs.
    flat: Flat,
    limits: SizeLimits,
}

/// The sandbox's size limits (0 for none): a longer ticket value stays with rhai.
#[derive(Debug, Clone, Copy)]
struct SizeLimits {
    max_string: usize,
    max_array: usize,
}

/// What a run reads: the ticket, its schema, and the named conditions
/// evaluated so far.
pub(crate) struct Inputs<'a> {
    pub ticket: &'a Ticket<'a>,
    pub schema: &'a Schema,
    pub conditions: &'a Evaluated,
}

struct Machine<'a> {
    inputs: &'a Inputs<'a>,
    limits: SizeLimits,
}

/// A value as rhai would see it, borrowed.
enum Val<'a> {
    Unit,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    /// A list field's items, as places among its declared values.
    Items(&'a [u32], &'a Kind),
    Consts(&'a [Arc<str>]),
}

impl Program {
    /// The native form of `ast`, if every node of it has one.
    pub fn lower(ast: &AST, names: &Names, engine: &Engine) -> Option<Program> {
        let max_operations = engine.max_operations();
        let lowering = names;
        // The statement the expression sits in counts too.
        let mut nodes = 1;
        let root = match ast.statements() {
            [Stmt::Expr(expr)] => lowering.expr(expr, &mut nodes, 0)?,
            // A call at the top is a statement of its own kind.
            [Stmt::FnCall(call, _)] => lowering.call(call, &mut nodes, 0)?,
            _ => return None,
        };
        if max_operations > 0 && nodes * OPERATIONS_PER_NODE > max_operations {
            return None;
        }
        let limits = SizeLimits {
            max_string: engine.max_string_size(),
            max_array: engine.max_array_size(),
        };
        let bound = crate::expr::bound::bind(&root, names.schema, limits.max_string);
        Some(Program {
            root,
            flat: Flat::of(bound, names.schema, limits.max_array)?,
            limits,
        })
    }

    /// The flat tests as atom mode reads them (see [`Flat::view`]).
    pub fn view(&self) -> Option<crate::expr::flat::View> {
        self.flat.view()
    }

    /// The lowered tree.
    pub fn term(&self) -> &Term {
        &self.root
    }

    /// The expression's value and, when its top level is `&&` or `||`, the
    /// index of the operand that decided: the first false one of a `&&`, the
    /// first true one of a `||` (none when every operand was needed). The
    /// value is the one `eval` gives; `None` where only rhai can say.
    #[inline(always)]
    pub fn eval_deciding(&self, inputs: &Inputs<'_>) -> Option<(bool, Option<u32>)> {
        let (ticket, conditions) = (inputs.ticket, inputs.conditions);
        let other = |op: &Op| self.run(inputs, |bound| op.eval(bound));
        self.flat.eval_deciding(ticket, conditions, &other)
    }

    /// Runs a bound tree with the general evaluator for its other terms
    /// (set up only for the tests the flat form leaves to the tree).
    fn run<T>(
        &self,
        inputs: &Inputs<'_>,
        with: impl FnOnce(&crate::expr::bound::Inputs<'_>) -> T,
    ) -> T {
        let machine = Machine {
            inputs,
            limits: self.limits,
        };
        let general = |term: &Term| boolean(term, &machine);
        let bound = crate::expr::bound::Inputs {
            ticket: inputs.ticket,
            conditions: inputs.conditions,
            max_array: self.limits.max_array,
            general: &general,
        };
        with(&bound)
    }

    /// The operands of a top-level `&&` or `||` as `source` writes them,
    /// trimmed; `None` for any other expression, or when the text does not
    /// split into as many operands as the tree has.
    pub fn parts(&self, source: &str) -> Option<Box<[Arc<str>]>> {
        let (operands, op) = match &self.root {
            Term::And(operands) => (operands.len(), b"&&"),
            Term::Or(operands) => (operands.len(), b"||"),
            _ => return None,
        };
        let parts = split_top(source, op)?;
        (parts.len() == operands && parts.iter().all(|p| !p.is_empty()))
            .then(|| parts.into_iter().map(Arc::from).collect())
    }
}

/// `source` split at each `op` outside brackets, string literals and line
/// comments, each part trimmed.
fn split_top<'s>(source: &'s str, op: &[u8]) -> Option<Vec<&'s str>> {
    let bytes = source.as_bytes();
    let (mut depth, mut start, mut i) = (0i64, 0, 0);
    let mut quote: Option<u8> = None;
    let mut parts = Vec::new();
    while let Some(&c) = bytes.get(i) {
        match (quote, c) {
            (Some(_), b'\\') => i += 1,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'`' | b'\'') => quote = Some(c),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b'/') if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            }
            (None, _) if depth == 0 && bytes[i..].starts_with(op) => {
                parts.push(source.get(start..i)?.trim());
                i += op.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(source.get(start..)?.trim());
    Some(parts)
}

/// The names an expression may use, as lowering reads them.
pub(crate) struct Names<'a> {
    pub schema: &'a Schema,
    pub conditions: &'a HashMap<Arc<str>, usize>,
    pub sets: &'a HashMap<Arc<str>, usize>,
    /// Each set's members, by index.
    pub set_lists: &'a [Arc<[Arc<str>]>],
}

impl Names<'_> {
    /// The tree of `expr`, which sits `depth` levels down.
    fn expr(&self, expr: &Expr, nodes: &mut u64, depth: usize) -> Option<Term> {
        *nodes += 1;
        if depth > MAX_TERM_DEPTH {
            return None;
        }
        let depth = depth + 1;
        Some(match expr {
            Expr::BoolConstant(b, _) => Term::Bool(*b),
            Expr::IntegerConstant(i, _) => Term::Int(*i),
            Expr::StringConstant(s, _) => Term::Str(s.as_str().into()),
            Expr::DynamicConstant(value, _) => constant(value)?,
            Expr::Array(items, _) => Term::List(
                items
                    .iter()
                    .map(|item| match item {
                        Expr::StringConstant(s, _) => Some(s.as_str().into()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            Expr::Variable(var, _, _) => {
                let name = var.1.as_str();
                match (self.conditions.get(name), self.sets.get(name)) {
                    (Some(&index), _) => Term::Condition(index),
                    (None, Some(&set)) => Term::List(self.set_lists.get(set)?.clone()),
                    (None, None) => leaf(self.schema.node(&[name])?)?,
                }
            }
            Expr::Dot(dot, flags, _) => self.field(dot, *flags, nodes)?,
            Expr::And(operands, _) => Term::And(self.all(operands, nodes, depth)?),
            Expr::Or(operands, _) => Term::Or(self.all(operands, nodes, depth)?),
            Expr::FnCall(call, _) => self.call(call, nodes, depth)?,
            _ => return None,
        })
    }

    fn call(&self, call: &rhai::FnCallExpr, nodes: &mut u64, depth: usize) -> Option<Term> {
        let expr = |e: &Expr, nodes: &mut u64| self.expr(e, nodes, depth);
        Some(match (call.name.as_str(), &call.args[..]) {
            ("!", [operand]) if call.op_token == Some(Token::Bang) => {
                Term::Not(Box::new(expr(operand, nodes)?))
            }
            ("contains", [list, item]) => {
                Term::In(Box::new((expr(item, nodes)?, expr(list, nodes)?)))
            }
            (name, [lhs, rhs]) if call.op_token.is_some() => {
                let cmp = match name {
                    "==" => Cmp::Eq,
                    "!=" => Cmp::Ne,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    ">=" => Cmp::Ge,
                    _ => return None,
                };
                Term::Compare(cmp, Box::new((expr(lhs, nodes)?, expr(rhs, nodes)?)))
            }
            _ => return None,
        })
    }

    fn all(&self, operands: &[Expr], nodes: &mut u64, depth: usize) -> Option<Box<[Term]>> {
        operands
            .iter()
            .map(|e| self.expr(e, nodes, depth))
            .collect()
    }

    /// A dot chain down to a leaf field; `?.` stays with rhai.
    fn field(
        &self,
        dot: &rhai::BinaryExpr,
        flags: rhai::ASTFlags,
        nodes: &mut u64,
    ) -> Option<Term> {
        let chain = Chain::of(dot, flags)?;
        if chain.elvis || self.conditions.contains_key(chain.variable) {
            return None;
        }
        // The variable, then each property.
        *nodes += 1 + chain.properties.len() as u64;
        chain.field(self.schema).map(Term::Field)
    }
}

fn leaf(node: &Layout) -> Option<Term> {
    match node {
        Layout::Leaf(index) => Some(Term::Field(*index)),
        Layout::Object(_) => None,
    }
}

/// A constant the optimiser folded in (an array of strings, say).
fn constant(value: &Dynamic) -> Option<Term> {
    if let Ok(b) = value.as_bool() {
        return Some(Term::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Some(Term::Int(i));
    }
    if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        return Some(Term::Str(s.as_str().into()));
    }
    let array = value.read_lock::<rhai::Array>()?;
    let items = array
        .iter()
        .map(|item| {
            item.read_lock::<rhai::ImmutableString>()
                .map(|s| s.as_str().into())
        })
        .collect::<Option<_>>()?;
    Some(Term::List(items))
}

fn eval<'a>(node: &'a Term, run: &Machine<'a>) -> Option<Val<'a>> {
    Some(match node {
        Term::Field(index) => {
            let kind = &run.inputs.schema.fields[*index].kind;
            field(&run.inputs.ticket.slots[*index], kind, run.limits)?
        }
        Term::Condition(index) => Val::Bool(run.inputs.conditions.get(*index)?),
        Term::Str(s) => Val::Str(s),
        Term::Int(i) => Val::Int(*i),
        Term::Bool(b) => Val::Bool(*b),
        Term::List(items) => Val::Consts(items),
        Term::Not(operand) => Val::Bool(!boolean(operand, run)?),
        Term::And(operands) => {
            for operand in operands {
                if !boolean(operand, run)? {
                    return Some(Val::Bool(false));
                }
            }
            Val::Bool(true)
        }
        Term::Or(operands) => {
            for operand in operands {
                if boolean(operand, run)? {
                    return Some(Val::Bool(true));
                }
            }
            Val::Bool(false)
        }
        Term::Compare(cmp, operands) => {
            let ordering = match (eval(&operands.0, run)?, eval(&operands.1, run)?) {
                (Val::Str(a), Val::Str(b)) => a.cmp(b),
                (Val::Int(a), Val::Int(b)) => a.cmp(&b),
                (Val::Bool(a), Val::Bool(b)) => a.cmp(&b),
                // rhai: `()` equals `()` and is not ordered.
                (Val::Unit, Val::Unit) => {
                    return Some(Val::Bool(matches!(cmp, Cmp::Eq)));
                }
                _ => return None,
            };
            Val::Bool(match cmp {
                Cmp::Eq => ordering.is_eq(),
                Cmp::Ne => ordering.is_ne(),
                Cmp::Lt => ordering.is_lt(),
                Cmp::Le => ordering.is_le(),
                Cmp::Gt => ordering.is_gt(),
                Cmp::Ge => ordering.is_ge(),
            })
        }
        Term::In(operands) => {
            let Val::Str(item) = eval(&operands.0, run)? else {
                return None;
            };
            Val::Bool(match eval(&operands.1, run)? {
                Val::Items(codes, kind) => codes.iter().any(|&c| name(kind, c) == item),
                Val::Consts(items) => items.iter().any(|v| **v == *item),
                _ => return None,
            })
        }
    })
}

fn boolean(node: &Term, run: &Machine<'_>) -> Option<bool> {
    match eval(node, run)? {
        Val::Bool(b) => Some(b),
        _ => None,
    }
}

/// A ticket value as `evaluate` hands it to rhai; `None` for a value past a
/// size limit.
fn field<'a>(slot: &'a Slot<'a>, kind: &'a Kind, limits: SizeLimits) -> Option<Val<'a>> {
    let within = |len: usize, max: usize| max == 0 || len <= max;
    let text = |s: &'a str| within(s.len(), limits.max_string).then_some(Val::Str(s));
    match slot {
        Slot::Null => Some(Val::Unit),
        Slot::Bool(b) => Some(Val::Bool(*b)),
        Slot::Int(i) => Some(Val::Int(*i)),
        Slot::Text(s) => text(s),
        Slot::Enum(code) => text(name(kind, *code)),
        Slot::List(codes) => {
            within(codes.len(), limits.max_array).then_some(Val::Items(codes, kind))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FieldDef, Kind};

    fn field(path: &str, kind: Kind) -> FieldDef {
        FieldDef {
            path: path.into(),
            kind,
            required: true,
            default: None,
            description: None,
            mask: false,
        }
    }

    /// The operands of a top-level `&&` or `||` are split where the operator
    /// stands outside brackets, strings and comments.
    #[test]
    fn the_text_splits_only_at_top_level_operators() {
        fn split<'s>(text: &'s str, op: &[u8]) -> Vec<&'s str> {
            split_top(text, op).unwrap()
        }
        assert_eq!(
            split("a && (b && c) && d == \"x && y\"", b"&&"),
            ["a", "(b && c)", "d == \"x && y\""]
        );
        assert_eq!(split("a || b && c\n", b"||"), ["a", "b && c"]);
        assert_eq!(
            split("a // x || y\n|| f(\"\\\"||\")", b"||"),
            ["a // x || y", "f(\"\\\"||\")"]
        );
        assert_eq!(split("é == \"ü\" && b", b"&&"), ["é == \"ü\"", "b"]);
    }

    /// The lowering and the evaluation of a tree are recursive; a tree deeper
    /// than `MAX_TERM_DEPTH` is not lowered, whatever let it through.
    #[test]
    fn a_tree_deeper_than_the_bound_stays_with_rhai() {
        let schema = Schema::new(
            vec![field("id", Kind::String), field("f", Kind::Bool)],
            0,
            0,
        )
        .unwrap();
        // An engine without the sandbox's depth limit.
        let mut engine = Engine::new_raw();
        engine
            .set_max_expr_depths(0)
            .set_optimization_level(rhai::OptimizationLevel::None);
        let lower = |k: usize| {
            let ast = engine
                .compile_expression_with_scope(
                    &{
                        let mut scope = rhai::Scope::new();
                        scope.push("f", false);
                        scope
                    },
                    format!("{}f", "!".repeat(k)),
                )
                .unwrap();
            let (conditions, sets) = (HashMap::new(), HashMap::new());
            let names = Names {
                schema: &schema,
                conditions: &conditions,
                sets: &sets,
                set_lists: &[],
            };
            Program::lower(&ast, &names, &engine)
        };
        assert!(lower(MAX_TERM_DEPTH).is_some());
        assert!(lower(MAX_TERM_DEPTH + 1).is_none());
    }
}
