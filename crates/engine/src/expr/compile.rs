//! Compile: every rhai expression of a bundle is parsed, checked against the
//! ticket schema and optimised once, when the bundle loads; evaluation only
//! runs the compiled ASTs.

use std::collections::HashMap;
use std::sync::Arc;

use rhai::{AST, ASTNode, Dynamic, Engine, Expr, OptimizationLevel, Position, Scope, Stmt};

use crate::diagnostic::{
    Code, Loc, Problem, byte_offset_from, closest, did_you_mean, lowercase_first, plain_type_names,
};
use crate::expr::chain::Chain;
use crate::expr::hints;
use crate::expr::sandbox;
use crate::expr::scan::scan;
use crate::expr::typecheck::{Known, Types};
use crate::load::raw::Text;
use crate::load::source::SourceFile;
use crate::load::text::hidden_in;
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
    /// Ticket roots (top-level names, as indices into `Schema::roots`) the
    /// expression refers to: with `conditions`, every variable rhai needs
    /// to run it.
    pub roots: Vec<usize>,
    /// Compiles to the constant `true`.
    pub always: bool,
    /// The same expression for native evaluation, when it has that form.
    pub native: Option<crate::expr::native::Program>,
    /// The operands of a top-level `&&` or `||` as written, when the native
    /// form has that shape: what a trace names as the part that decided.
    pub parts: Option<Box<[Arc<str>]>>,
    pub loc: Loc,
}

/// What names an expression may use, and how to compile it.
pub(crate) struct Compiler<'a> {
    pub engine: &'a Engine,
    pub schema: &'a Schema,
    pub conditions: HashMap<Arc<str>, usize>,
    pub sets: HashMap<Arc<str>, usize>,
    set_values: &'a [(Arc<str>, Vec<Arc<str>>)],
    /// Each set's members, shared by every native program that uses it.
    set_lists: Vec<Arc<[Arc<str>]>>,
    /// What the type checks of the bundle's expressions learn once.
    known: Known,
    /// Every name an expression may use: ticket roots, then conditions, then
    /// sets (for suggestions).
    names: Vec<Arc<str>>,
    /// Where each member of each set is written, for problems with a member.
    set_locs: Vec<Vec<Loc>>,
}

impl<'a> Compiler<'a> {
    pub fn new(
        engine: &'a Engine,
        schema: &'a Schema,
        conditions: &[Arc<str>],
        sets: &'a [(Arc<str>, Vec<Arc<str>>)],
    ) -> Self {
        let set_lists = sets
            .iter()
            .map(|(_, members)| members.iter().cloned().collect())
            .collect();
        let roots = schema.roots().iter().map(|(name, _)| name.clone());
        let names = roots
            .chain(conditions.iter().cloned())
            .chain(sets.iter().map(|(name, _)| name.clone()))
            .collect();
        Compiler {
            engine,
            schema,
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
            set_lists,
            known: Known::default(),
            names,
            set_locs: Vec::new(),
        }
    }

    /// The compiler, told where each member of each set is written.
    pub fn with_set_locations(self, set_locs: Vec<Vec<Loc>>) -> Self {
        Compiler { set_locs, ..self }
    }

    /// The scope to compile an expression that mentions `names` in: only the
    /// ticket roots, conditions and sets among them (roots first, then
    /// conditions, then sets, as evaluation sees them), so that compiling
    /// costs the size of the expression, not of the bundle.
    fn scope(&self, names: &[&str]) -> Scope<'static> {
        let mut unique: Vec<&str> = names.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut scope = Scope::new();
        for &name in &unique {
            if self.schema.node(&[name]).is_some() {
                scope.push_dynamic(name.to_owned(), Dynamic::UNIT);
            }
        }
        for &name in &unique {
            if self.conditions.contains_key(name) {
                scope.push_dynamic(name.to_owned(), Dynamic::FALSE);
            }
        }
        // A set is a variable, not a constant: inlined, its members would be
        // copied into every expression that names it.
        for &name in &unique {
            if self.sets.contains_key(name) {
                scope.push_dynamic(name.to_owned(), Dynamic::UNIT);
            }
        }
        scope
    }

    fn names_for_lowering(&self) -> crate::expr::native::Names<'_> {
        crate::expr::native::Names {
            schema: self.schema,
            conditions: &self.conditions,
            sets: &self.sets,
            set_lists: &self.set_lists,
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
            roots: Vec::new(),
            always: true,
            native: None,
            parts: None,
            loc,
        }
    }

    /// Compiles `text` from `file`; problems are located in the YAML file.
    pub fn compile(&self, file: &SourceFile, text: &Text) -> Result<Expression, Vec<Problem>> {
        let place = Place::of(file, text).map_err(|p| vec![p])?;
        let source = text.value.as_str();
        if let Some(problem) = hidden_in("the expression", source, &place.start()) {
            return Err(vec![problem]);
        }
        // Measured before rhai's recursive parser sees it.
        let max_depth = self.engine.max_expr_depth();
        let names = scan(source, max_depth).map_err(|at| {
            let problem = Problem::error(
                Code::TooDeep,
                format!("the expression nests deeper than `max_expression_depth` ({max_depth})"),
                Some(place.at_line(at.line, at.column)),
            );
            vec![problem.with_help(too_deep_help())]
        })?;
        let scope = self.scope(&names);
        let ast = self
            .engine
            .compile_expression_with_scope(&scope, source)
            .map_err(|error| vec![self.parse_problem(&place, &error)])?;

        let mut uses = Refs::default();
        let mut problems = Vec::new();
        let types = Types {
            schema: self.schema,
            sets: self.set_values,
            set_index: &self.sets,
            known: &self.known,
            set_locs: &self.set_locs,
        };
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(node) = path.last()
                && let Some((message, position)) = sandbox::refusal(node)
            {
                let problem = Problem::error(Code::NotAllowed, message, Some(place.at(position)));
                problems.push(problem.with_help(sandbox::HELP));
            }
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
            .optimize_ast(&scope, ast, OptimizationLevel::Simple);
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
        uses.roots.sort_unstable();
        uses.roots.dedup();
        let native =
            crate::expr::native::Program::lower(&ast, &self.names_for_lowering(), self.engine);
        let parts = native.as_ref().and_then(|program| program.parts(source));
        Ok(Expression {
            source: source.into(),
            ast,
            reads: uses.reads,
            conditions: uses.conditions,
            sets: uses.sets,
            roots: uses.roots,
            always,
            native,
            parts,
            loc: place.start(),
        })
    }

    /// A parse error as a located problem, in this project's words where a
    /// keyword or statement outside the sandbox is the cause.
    fn parse_problem(&self, place: &Place, error: &rhai::ParseError) -> Problem {
        let (kind, position) = (&error.0, error.1);
        let at = place.at(position);
        let rest = place.text.get(at.offset..).unwrap_or_default();
        let unexpected = matches!(
            &**kind,
            rhai::ParseErrorType::BadInput(rhai::LexError::UnexpectedInput(_))
        );
        if let Some((message, help)) = sandbox::refused_word(rest, unexpected) {
            return Problem::error(Code::NotAllowed, message, Some(at)).with_help(help);
        }
        let word = rest.split(|c: char| !c.is_ascii_alphanumeric()).next();
        if let Some((message, help)) = word.and_then(hints::word_operator) {
            return Problem::error(Code::Expression, message, Some(at)).with_help(help);
        }
        match &**kind {
            rhai::ParseErrorType::VariableUndefined(name) => {
                let message =
                    format!("`{name}` is not a ticket field, a named set or a named condition");
                let mut problem = Problem::error(Code::Expression, message, Some(at));
                problem.help = did_you_mean(name, self.names.iter().map(|n| &**n))
                    .or_else(|| Some(hints::unquoted_value(self.schema, name)));
                problem
            }
            rhai::ParseErrorType::MismatchedType(expected, found)
                if expected == "a boolean expression" && found == "a string" =>
            {
                let source = place.text.get(place.offset..).unwrap_or_default();
                let offset = at.offset.saturating_sub(place.offset);
                let (message, help) = hints::bare_text(source, offset);
                Problem::error(Code::Expression, message, Some(at)).with_help(help)
            }
            rhai::ParseErrorType::ExprTooDeep => {
                let max_depth = self.engine.max_expr_depth();
                let message = format!(
                    "the expression nests deeper than `max_expression_depth` ({max_depth})"
                );
                Problem::error(Code::TooDeep, message, Some(at)).with_help(too_deep_help())
            }
            other => match hints::parse_error(other) {
                Some((message, help)) => {
                    Problem::error(Code::Expression, message, Some(at)).with_help(help)
                }
                None => Problem::error(
                    Code::Expression,
                    lowercase_first(&plain_type_names(&other.to_string())),
                    Some(at),
                ),
            },
        }
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
        let Some((position, (_, root))) =
            (self.schema.roots().iter().enumerate()).find(|(_, (root, _))| &**root == name)
        else {
            return;
        };
        uses.roots.push(position);
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

/// What to do about an expression that nests too deeply.
fn too_deep_help() -> String {
    format!(
        "split it into named conditions, or raise `limits.max_expression_depth` in {} (at most {})",
        crate::load::source::MANIFEST,
        crate::load::limits::DEPTH.max
    )
}

#[derive(Default)]
struct Refs {
    reads: Vec<usize>,
    conditions: Vec<usize>,
    sets: Vec<usize>,
    roots: Vec<usize>,
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
        self.at_line(line, column)
    }

    /// The file location of a line and column (from 1) inside the expression.
    fn at_line(&self, line: usize, column: usize) -> Loc {
        let line = self.line + line - 1;
        let column = self.column + column - 1;
        let offset = byte_offset_from(&self.text, self.offset, self.line, line, column);
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
