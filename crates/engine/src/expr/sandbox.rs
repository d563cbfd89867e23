//! The sandbox every expression runs in, and the allow-list it is held to.
//!
//! Two lines of defence. The first is the allow-list, checked on every node
//! of an expression's syntax tree when the bundle loads: an expression may
//! use literals, ticket fields, named conditions and sets, the operators in
//! [`OPERATORS`], `if` … `else`, and the pure functions in [`FUNCTIONS`];
//! anything else (`sleep`, `Fn`, a loop, an assignment, …) fails to load at
//! its `file:line:col`. The second is the engine itself: it has only the
//! packages those functions come from (no `sleep`, `exit` or `parse_json`),
//! the keywords that reach functions by name (`Fn`, `call`, `curry`, `eval`,
//! …) are switched off in its tokenizer, and its limits are always finite.

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicMapPackage, BasicStringPackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{ASTNode, Engine, Expr, FnCallExpr, Module, OptimizationLevel, Position, Stmt};

use crate::load::limits as bounds;
use crate::load::raw::Limits;

/// The operators an expression may use (`in` is a call to `contains`).
pub(crate) const OPERATORS: &[&str] = &[
    "==", "!=", "<", "<=", ">", ">=", "!", "+", "-", "*", "/", "%",
];

/// The functions an expression may call, as `f(x)` or `x.f()`: pure, and
/// each bounded by the size limits.
pub(crate) const FUNCTIONS: &[&str] = &[
    "contains",
    "starts_with",
    "ends_with",
    "len",
    "is_empty",
    "to_lower",
    "to_upper",
];

/// Keywords that reach a function by name, evaluate code, or print: switched
/// off in the engine's tokenizer, and reported as not allowed.
const KEYWORDS_OFF: &[&str] = &[
    "Fn",
    "call",
    "curry",
    "eval",
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "import",
    "export",
];

/// Statements and keywords rhai has but expressions may not use, with what
/// to call them in a message.
const STATEMENTS: &[(&str, &str)] = &[
    ("while", "a `while` loop"),
    ("loop", "a `loop`"),
    ("for", "a `for` loop"),
    ("do", "a `do` loop"),
    ("let", "`let`"),
    ("const", "`const`"),
    ("fn", "a function definition"),
    ("switch", "`switch`"),
    ("return", "`return`"),
    ("throw", "`throw`"),
    ("try", "`try`"),
    ("catch", "`catch`"),
    ("break", "`break`"),
    ("continue", "`continue`"),
    ("this", "`this`"),
    ("global", "`global`"),
];

/// What an author reads about the sandbox when an expression steps out of it.
pub(crate) const HELP: &str = concat!(
    "an expression may use fields, named conditions and sets, literals, ",
    "== != < <= > >= + - * / % ! && || ?? in, `if … else`, and the functions ",
    "contains, starts_with, ends_with, len, is_empty, to_lower and to_upper ",
    "(docs/authoring.md, \"Expressions\")"
);

/// The engine for a bundle with these (already checked) limits: expressions
/// only, no loops, no functions, no I/O, strict variables, bounded work and data.
pub(crate) fn engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    // The packages the allowed functions and operators come from, in the
    // order the standard package combines them; nothing that sleeps, exits,
    // prints, reads the clock or parses.
    let mut lib = Module::new();
    ArithmeticPackage::init(&mut lib);
    BasicStringPackage::init(&mut lib);
    LogicPackage::init(&mut lib);
    BasicArrayPackage::init(&mut lib);
    BasicMapPackage::init(&mut lib);
    MoreStringPackage::init(&mut lib);
    lib.register_lazy_functions();
    lib.build_index();
    engine.register_global_module(lib.into());
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
    for symbol in KEYWORDS_OFF {
        engine.disable_symbol(*symbol);
    }
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_allow_looping(false)
        .set_allow_statement_expression(false)
        .set_allow_shadowing(false)
        .set_allow_if_expression(true)
        .set_allow_switch_expression(false)
        .set_optimization_level(OptimizationLevel::None)
        .set_max_operations(limits.get(bounds::OPERATIONS))
        .set_max_expr_depths(limits.size(bounds::DEPTH))
        .set_max_string_size(limits.size(bounds::STRING))
        .set_max_array_size(limits.size(bounds::ARRAY))
        .set_max_map_size(limits.size(bounds::MAP))
        .set_max_variables(256);
    engine
}

/// Whether `name` (an id) is a keyword of rhai, which an expression cannot
/// use as a variable: `if`, `true`, `in`, `fn`, `call`, …
pub(crate) fn is_keyword(engine: &Engine, name: &str) -> bool {
    let mut scope = rhai::Scope::new();
    scope.push_dynamic(name.to_owned(), rhai::Dynamic::UNIT);
    let ast = engine.compile_expression_with_scope(&scope, name);
    let variable = ast.as_ref().is_ok_and(
        |ast| matches!(ast.statements(), [Stmt::Expr(e)] if matches!(**e, Expr::Variable(..))),
    );
    !variable
}

/// Why one node of an expression's syntax tree is outside the allow-list,
/// and where; `None` for a node that is allowed.
pub(crate) fn refusal(node: &ASTNode) -> Option<(String, Position)> {
    match node {
        ASTNode::Stmt(stmt) => statement(stmt),
        ASTNode::Expr(expr) => expression(expr),
        // `ASTNode` is non-exhaustive: what this version does not know is refused.
        #[allow(unreachable_patterns)]
        _ => Some(("this syntax".to_owned(), Position::NONE)),
    }
    .map(|(what, position)| (format!("{what} is not allowed in an expression"), position))
}

fn statement(stmt: &Stmt) -> Option<(String, Position)> {
    let what = match stmt {
        // An `if` expression is a statement block holding an `if`.
        Stmt::Noop(_) | Stmt::Expr(_) | Stmt::Block(_) | Stmt::If(..) => return None,
        Stmt::FnCall(call, position) => return call_refusal(call, *position),
        Stmt::Var(..) => "`let`",
        Stmt::Assignment(..) => "an assignment",
        Stmt::While(..) | Stmt::Do(..) | Stmt::For(..) => "a loop",
        Stmt::Switch(..) => "`switch`",
        Stmt::TryCatch(..) => "`try`",
        Stmt::BreakLoop(..) => "`break`",
        Stmt::Return(..) => "`return`",
        _ => "this statement",
    };
    Some((what.to_owned(), stmt.position()))
}

fn expression(expr: &Expr) -> Option<(String, Position)> {
    let what = match expr {
        Expr::DynamicConstant(..)
        | Expr::BoolConstant(..)
        | Expr::IntegerConstant(..)
        | Expr::FloatConstant(..)
        | Expr::CharConstant(..)
        | Expr::StringConstant(..)
        | Expr::Unit(..)
        | Expr::Array(..)
        | Expr::Map(..)
        | Expr::Variable(..)
        | Expr::Property(..)
        | Expr::Dot(..)
        | Expr::Index(..)
        | Expr::And(..)
        | Expr::Or(..)
        | Expr::Coalesce(..)
        // Statements inside (an `if`) are checked one by one.
        | Expr::Stmt(..) => return None,
        Expr::FnCall(call, position) | Expr::MethodCall(call, position) => {
            return call_refusal(call, *position);
        }
        Expr::InterpolatedString(..) => "string interpolation",
        _ => "this expression",
    };
    Some((what.to_owned(), expr.position()))
}

fn call_refusal(call: &FnCallExpr, position: Position) -> Option<(String, Position)> {
    let name = call.name.as_str();
    if FUNCTIONS.contains(&name) || OPERATORS.contains(&name) {
        return None;
    }
    let what = match call.op_token {
        Some(_) => format!("the operator `{name}`"),
        None => format!("the function `{name}`"),
    };
    Some((what, position))
}

/// The not-allowed keyword, statement or symbol at the start of `rest` (the
/// source where a parse error points), if that is what rhai refused: the
/// problem's message and help. `unexpected` says the parser found the text
/// where a value should start.
pub(crate) fn refused_word(rest: &str, unexpected: bool) -> Option<(String, &'static str)> {
    let word: &str = rest
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    let what = if KEYWORDS_OFF.contains(&word) {
        format!("`{word}`")
    } else if let Some((_, what)) = STATEMENTS.iter().find(|(w, _)| *w == word) {
        (*what).to_owned()
    } else {
        let symbol: String = rest.chars().take(2).collect();
        let assignment = ["+=", "-=", "*=", "/=", "%="].contains(&symbol.as_str())
            || symbol.starts_with('=') && !symbol.starts_with("==");
        if assignment {
            let operator = if symbol.starts_with('=') {
                "="
            } else {
                &symbol
            };
            return Some((
                format!("an assignment (`{operator}`) is not allowed in an expression"),
                "an expression cannot change anything; to compare two values, write `==`",
            ));
        }
        match symbol.chars().next() {
            // In rhai, `|x| …` is a closure; a `|` where a value should start is one.
            Some('|') if !symbol.starts_with("||") => "a closure".to_owned(),
            Some('{') if unexpected => "a statement block (`{ … }`)".to_owned(),
            _ => return None,
        }
    };
    Some((format!("{what} is not allowed in an expression"), HELP))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second line of defence, on its own: what the allow-list refuses
    /// is also missing from, or switched off in, the engine.
    #[test]
    fn the_engine_has_no_sleep_and_no_function_pointers() {
        let engine = engine(&Limits::default());
        for (script, error) in [
            ("sleep(1)", "Function not found: sleep (i64)"),
            ("exit(true)", "Function not found: exit (bool)"),
            (
                "parse_json(\"1\")",
                "Function not found: parse_json (&str | ImmutableString | String)",
            ),
        ] {
            let result = engine.eval_expression::<rhai::Dynamic>(script);
            let message = result.map(|_| ()).unwrap_err().to_string();
            assert!(message.starts_with(error), "{script}: {message}");
        }
        for script in [
            "Fn(\"sleep\")",
            "call(1, 1)",
            "curry(1, 1)",
            "eval(\"1\")",
            "print(1)",
        ] {
            let message = engine.compile_expression(script).unwrap_err().to_string();
            assert!(message.contains("is disabled"), "{script}: {message}");
        }
    }

    #[test]
    fn keywords_are_not_variables() {
        let engine = engine(&Limits::default());
        for name in [
            "if", "true", "in", "fn", "call", "print", "let", "this", "switch",
        ] {
            assert!(is_keyword(&engine, name), "{name}");
        }
        for name in ["a", "sleep", "technical", "len", "x_1"] {
            assert!(!is_keyword(&engine, name), "{name}");
        }
    }

    #[test]
    fn the_engine_limits_are_never_unlimited() {
        let engine = engine(&Limits::default());
        assert_eq!(engine.max_operations(), bounds::OPERATIONS.default);
        assert_eq!(engine.max_expr_depth(), 32);
        assert_eq!(engine.max_string_size(), 4_096);
        assert_eq!(engine.max_array_size(), 1_024);
        assert_eq!(engine.max_map_size(), 256);
    }
}
