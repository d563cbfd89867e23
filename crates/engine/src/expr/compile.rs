//! Compile: every rhai expression of a bundle is parsed, checked against the
//! ticket schema and optimised once, when the bundle loads; evaluation only
//! runs the compiled ASTs.

use std::collections::HashMap;
use std::sync::Arc;

use rhai::{AST, ASTNode, Dynamic, Engine, Expr, OptimizationLevel, Position, Scope, Stmt};

use crate::diagnostic::{Code, Loc, Problem, byte_offset, closest, did_you_mean, lowercase_first};
use crate::expr::chain::Chain;
use crate::expr::typecheck::Types;
use crate::load::raw::{Limits, Text};
use crate::load::source::SourceFile;
use crate::schema::{Node, Schema};

/// A compiled condition and what it depends on.
#[derive(Debug)]
pub(crate) struct Expression {
    pub source: Arc<str>,
    pub ast: AST,
    /// Schema fields the expression refers to, directly.
    pub reads: Vec<usize>,
    /// Named conditions the expression refers to, directly.
    pub conditions: Vec<usize>,
    /// Named sets the expression refers to.
    pub sets: Vec<usize>,
    /// Compiles to the constant `true`.
    pub always: bool,
    /// The same expression for native evaluation, when it has that form.
    pub native: Option<crate::expr::native::Program>,
    pub loc: Loc,
}

/// The sandbox every expression runs in: expressions only, no loops, no
/// functions, no I/O, strict variables, bounded work and data.
pub(crate) fn engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    // Arithmetic, logic, strings and arrays; nothing that prints, reads or sleeps.
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    // `x in list` calls `contains(list, x)`. rhai's generic version dispatches
    // `==` through the function table for every element; string membership is
    // the common case in policies, so it gets a direct comparison.
    engine.register_fn(
        "contains",
        |list: &mut rhai::Array, item: rhai::ImmutableString| {
            list.iter().any(|x| {
                x.read_lock::<rhai::ImmutableString>()
                    .is_some_and(|s| *s == item)
            })
        },
    );
    for symbol in ["eval", "print", "debug", "import", "export"] {
        engine.disable_symbol(symbol);
    }
    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_allow_looping(false)
        .set_allow_statement_expression(false)
        .set_allow_shadowing(false)
        .set_allow_if_expression(true)
        .set_allow_switch_expression(true)
        .set_optimization_level(OptimizationLevel::None)
        .set_max_operations(limits.max_operations.unwrap_or(10_000))
        .set_max_expr_depths(limits.max_expression_depth.unwrap_or(32))
        .set_max_string_size(limits.max_string_size.unwrap_or(4_096))
        .set_max_array_size(limits.max_array_size.unwrap_or(1_024))
        .set_max_map_size(limits.max_map_size.unwrap_or(256))
        .set_max_variables(256);
    engine
}

use rhai::packages::Package;

/// What names an expression may use, and how to compile it.
pub(crate) struct Compiler<'a> {
    pub engine: &'a Engine,
    pub schema: &'a Schema,
    /// Ticket roots, then conditions (as variables), then sets (as constants).
    pub scope: Scope<'static>,
    pub conditions: HashMap<Arc<str>, usize>,
    pub sets: HashMap<Arc<str>, usize>,
    set_values: &'a [(Arc<str>, Vec<Arc<str>>)],
}

impl<'a> Compiler<'a> {
    pub fn new(
        engine: &'a Engine,
        schema: &'a Schema,
        conditions: &[Arc<str>],
        sets: &'a [(Arc<str>, Vec<Arc<str>>)],
    ) -> Self {
        let mut scope = Scope::new();
        for (name, _) in schema.roots() {
            scope.push_dynamic(name.to_string(), Dynamic::UNIT);
        }
        for name in conditions {
            scope.push_dynamic(name.to_string(), Dynamic::FALSE);
        }
        for (name, members) in sets {
            let array: rhai::Array = members
                .iter()
                .map(|m| Dynamic::from(m.to_string()))
                .collect();
            scope.push_constant(name.to_string(), array);
        }
        Compiler {
            engine,
            schema,
            scope,
            conditions: conditions
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            sets: sets
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (n.clone(), i))
                .collect(),
            set_values: sets,
        }
    }

    /// The expression that is always true, for a rule or step without `when`.
    pub fn always(&self, loc: Loc) -> Expression {
        Expression {
            source: "true".into(),
            ast: AST::empty(),
            reads: Vec::new(),
            conditions: Vec::new(),
            sets: Vec::new(),
            always: true,
            native: None,
            loc,
        }
    }

    /// Compiles `text` from `file`; problems are located in the YAML file.
    pub fn compile(&self, file: &SourceFile, text: &Text) -> Result<Expression, Vec<Problem>> {
        let place = Place::of(file, text).map_err(|p| vec![p])?;
        let source = text.value.as_str();
        let ast = self
            .engine
            .compile_expression_with_scope(&self.scope, source)
            .map_err(|error| {
                let (kind, position) = (error.0, error.1);
                let message = match &*kind {
                    rhai::ParseErrorType::VariableUndefined(name) => {
                        format!("undefined variable `{name}`")
                    }
                    other => lowercase_first(&other.to_string()),
                };
                let mut problem =
                    Problem::error(Code::Expression, message, Some(place.at(position)));
                if let rhai::ParseErrorType::VariableUndefined(name) = &*kind {
                    let names = self.scope.iter_raw().map(|(n, _, _)| n);
                    problem.help = did_you_mean(name, names).or_else(|| {
                        Some(
                            "conditions may use ticket fields, named sets and named conditions"
                                .to_owned(),
                        )
                    });
                }
                vec![problem]
            })?;

        let mut uses = Refs::default();
        let mut problems = Vec::new();
        let types = Types {
            schema: self.schema,
            sets: self.set_values,
        };
        ast.walk(&mut |path: &[ASTNode]| {
            self.visit(path, &place, &mut uses, &mut problems);
            if let Some(ASTNode::Expr(Expr::FnCall(call, position))) = path.last() {
                types.check_call(call, *position, &|p| place.at(p), &mut problems);
            }
            true
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        let ast = self
            .engine
            .optimize_ast(&self.scope, ast, OptimizationLevel::Simple);
        let always = matches!(
            ast.statements(),
            [Stmt::Expr(e)] if matches!(**e, Expr::BoolConstant(true, _))
        );
        uses.reads.sort_unstable();
        uses.reads.dedup();
        uses.conditions.sort_unstable();
        uses.conditions.dedup();
        uses.sets.sort_unstable();
        uses.sets.dedup();
        let native =
            crate::expr::native::Program::lower(&ast, self.schema, &self.conditions, self.engine);
        Ok(Expression {
            source: source.into(),
            ast,
            reads: uses.reads,
            conditions: uses.conditions,
            sets: uses.sets,
            always,
            native,
            loc: place.start(),
        })
    }

    /// Records what a variable reference reads, and checks property chains
    /// against the schema so a misspelt field fails at load, not per ticket.
    fn visit(&self, path: &[ASTNode], place: &Place, uses: &mut Refs, problems: &mut Vec<Problem>) {
        let Some(ASTNode::Expr(Expr::Variable(var, _, _))) = path.last() else {
            return;
        };
        let name = var.1.as_str();
        if let Some(&index) = self.conditions.get(name) {
            uses.conditions.push(index);
            return;
        }
        if let Some(&index) = self.sets.get(name) {
            uses.sets.push(index);
            return;
        }
        let Some(root) = self.schema.node(&[name]) else {
            return;
        };
        let mut chain = Vec::new();
        if let Some(ASTNode::Expr(Expr::Dot(dot, flags, _))) = path.iter().rev().nth(1)
            && let Some(dotted) = Chain::of(dot, *flags).filter(|c| c.variable == name)
        {
            chain = dotted.properties;
        }
        let mut node = root;
        let mut walked = name.to_owned();
        for (property, position) in chain {
            match node {
                Node::Leaf(_) => break,
                Node::Object(children) => match node.child(property) {
                    Some(child) => {
                        node = child;
                        walked = format!("{walked}.{property}");
                    }
                    None => {
                        let mut problem = Problem::error(
                            Code::UnknownField,
                            format!("the ticket schema has no field `{walked}.{property}`"),
                            Some(place.at(position)),
                        );
                        problem.help = closest(property, children.iter().map(|(n, _)| &**n))
                            .map(|near| format!("did you mean `{walked}.{near}`?"));
                        problems.push(problem);
                        return;
                    }
                },
            }
        }
        node.leaves(&mut uses.reads);
    }
}

#[derive(Default)]
struct Refs {
    reads: Vec<usize>,
    conditions: Vec<usize>,
    sets: Vec<usize>,
}

/// Where an expression's text starts in its YAML file, and how its lines map.
struct Place {
    file: Arc<str>,
    text: Arc<str>,
    line: usize,
    column: usize,
    len: usize,
    offset: usize,
}

impl Place {
    fn of(file: &SourceFile, text: &Text) -> Result<Place, Problem> {
        let loc = crate::load::source::locate(file, &text.referenced);
        let source = &file.text;
        let rest = source.get(loc.offset..).unwrap_or_default();
        let quoted = rest.starts_with('"') || rest.starts_with('\'');
        let header = block_header(source, loc.offset);
        let multi_line = text.value.trim_end().contains('\n');
        let problem = |message: &str, help: &str| {
            Problem::error(Code::ExpressionStyle, message.to_owned(), Some(loc.clone()))
                .with_help(help.to_owned())
        };
        match header {
            Some('>') => {
                return Err(problem(
                    "a folded scalar (`>`) cannot hold an expression",
                    concat!(
                        "write the expression on one line, or use a literal block (`|`) ",
                        "so errors point at the right line"
                    ),
                ));
            }
            Some(_) => {}
            None if multi_line || !rest.starts_with(text.value.as_str()) && !quoted => {
                return Err(problem(
                    "an expression spread over several lines needs a literal block (`|`)",
                    "start the value with `|` on the key's line and indent the expression below it",
                ));
            }
            None => {}
        }
        let (column, offset) = if quoted {
            (loc.column + 1, loc.offset + 1)
        } else {
            (loc.column, loc.offset)
        };
        Ok(Place {
            file: file.display.clone(),
            text: file.text.clone(),
            line: loc.line,
            column,
            len: text.value.trim_end().len(),
            offset,
        })
    }

    fn start(&self) -> Loc {
        Loc {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            offset: self.offset,
            len: self.len,
        }
    }

    /// The file location of a position inside the expression.
    fn at(&self, position: Position) -> Loc {
        let (Some(line), Some(column)) = (position.line(), position.position()) else {
            return self.start();
        };
        let line = self.line + line - 1;
        let column = self.column + column - 1;
        let offset = byte_offset(&self.text, line, column);
        let rest = self.text.get(offset..).unwrap_or_default();
        // Underline a whole string literal, or a whole word.
        let len = match rest.strip_prefix('"') {
            Some(inner) => inner.find('"').map_or(1, |end| end + 2),
            None => rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .map_or(1, |word| word.len().max(1)),
        };
        Loc {
            file: self.file.clone(),
            line,
            column,
            offset,
            len,
        }
    }
}

/// The indicator (`|` or `>`) of the block scalar whose content starts at
/// `offset`, if the value is a block scalar.
fn block_header(text: &str, offset: usize) -> Option<char> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n')?;
    if !before[line_start + 1..].trim().is_empty() {
        return None;
    }
    let previous = before[..line_start].lines().next_back()?;
    let token = previous.split_whitespace().next_back()?;
    token.chars().next().filter(|c| *c == '|' || *c == '>')
}
