//! Validate (expressions): comparisons and `in` tests checked against the
//! ticket schema when a bundle loads, so `issue.type == "passwrd_reset"` is a
//! located error with a suggestion rather than a rule that silently never matches.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rhai::{Expr, FnCallExpr, Position};

use crate::diagnostic::{Code, Problem, closest};
use crate::expr::chain::Chain;
use crate::schema::{Kind, Node, Schema};

/// The most values a hint lists.
const MAX_VALUES_SHOWN: usize = 20;

/// What an operand is, as far as the schema can tell.
enum Operand<'e> {
    Field(usize),
    Text(&'e str, Position),
    Number,
    Bool,
    /// Literal strings of an array literal.
    Strings(Vec<(&'e str, Position)>),
    /// A named set (its index), at a position.
    Set(usize, Position),
    Unknown,
}

/// The schema and named sets an expression is checked against.
pub(crate) struct Types<'a> {
    pub schema: &'a Schema,
    pub sets: &'a [(Arc<str>, Vec<Arc<str>>)],
    /// Each set's index in `sets`, by name.
    pub set_index: &'a HashMap<Arc<str>, usize>,
    /// What the checks of a bundle's expressions learn once.
    pub known: &'a Known,
    /// Where each member of each set is written, when known.
    pub set_locs: &'a [Vec<crate::diagnostic::Loc>],
}

/// What the checks of one bundle's expressions share, so that each costs
/// the size of its expression: each enum or list field's values as a hash
/// set, and the pairs of set and field already found to agree (a set of
/// 50,000 members used by 5,000 expressions is checked once, not 5,000 times).
#[derive(Default)]
pub(crate) struct Known {
    values: RefCell<HashMap<usize, HashSet<Arc<str>>>>,
    agreeing: RefCell<HashSet<(usize, usize)>>,
}

impl Known {
    /// Whether `text` is one of field `index`'s `values`.
    fn is_value(&self, index: usize, values: &[Arc<str>], text: &str) -> bool {
        let mut cache = self.values.borrow_mut();
        let set = cache
            .entry(index)
            .or_insert_with(|| values.iter().cloned().collect());
        set.contains(text)
    }
}

impl Types<'_> {
    /// Problems with one function call (operators are calls in rhai's AST);
    /// `at` turns a position in the expression into a location in the file.
    pub fn check_call(
        &self,
        call: &FnCallExpr,
        position: Position,
        at: &dyn Fn(Position) -> crate::diagnostic::Loc,
        problems: &mut Vec<Problem>,
    ) {
        let args: Vec<Operand> = call.args.iter().map(|a| self.operand(a)).collect();
        match (call.name.as_str(), args.as_slice()) {
            ("==" | "!=" | "<" | ">" | "<=" | ">=", [a, b]) => {
                for (field, other) in [(a, b), (b, a)] {
                    if let Operand::Field(index) = field {
                        self.compare(*index, other, position, at, problems);
                    }
                }
            }
            // `x in list` is `contains(list, x)`.
            ("contains", [container, item]) if self.never_member(container, item) => {
                problems.push(self.membership_mismatch(container, item, at(position)));
            }
            ("contains", [container, item]) => match (container, item) {
                (Operand::Field(list), Operand::Text(text, at_text)) => {
                    if let Kind::List(values) = &self.schema.fields[*list].kind {
                        self.member(*list, values, text, &|| at(*at_text), problems);
                    }
                }
                (Operand::Strings(members), Operand::Field(index)) => {
                    if let Kind::Enum(values) = &self.schema.fields[*index].kind {
                        for (text, at_text) in members {
                            self.member(*index, values, text, &|| at(*at_text), problems);
                        }
                    }
                }
                (Operand::Set(set, at_set), Operand::Field(index)) => {
                    if let Kind::Enum(values) = &self.schema.fields[*index].kind
                        && !self.known.agreeing.borrow().contains(&(*set, *index))
                    {
                        let locs = self.set_locs.get(*set);
                        for (i, text) in self.sets[*set].1.iter().enumerate() {
                            // A member's mistake is reported where the member is
                            // written, once however often the set is used.
                            let written = locs.and_then(|l| l.get(i));
                            let place = || written.cloned().unwrap_or_else(|| at(*at_set));
                            self.member(*index, values, text, &place, problems);
                        }
                        if locs.is_some() {
                            self.known.agreeing.borrow_mut().insert((*set, *index));
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Whether `item in container` can never be true for the types of its
    /// operands: a list, number or flag field looked up among texts, a number
    /// or flag looked up in a list field, anything in a number or a flag.
    fn never_member(&self, container: &Operand, item: &Operand) -> bool {
        let kind = |index: &usize| &self.schema.fields[*index].kind;
        match (container, item) {
            (Operand::Strings(_) | Operand::Set(..), Operand::Field(index)) => {
                matches!(kind(index), Kind::List(_) | Kind::Integer | Kind::Bool)
            }
            (Operand::Field(index), Operand::Number | Operand::Bool) => {
                matches!(kind(index), Kind::List(_))
            }
            (Operand::Field(index), _) => matches!(kind(index), Kind::Integer | Kind::Bool),
            _ => false,
        }
    }

    /// The error of an `in` test that [`never_member`](Self::never_member) finds.
    fn membership_mismatch(
        &self,
        container: &Operand,
        item: &Operand,
        loc: crate::diagnostic::Loc,
    ) -> Problem {
        let field = |index: &usize| &self.schema.fields[*index];
        let (message, help) = match (container, item) {
            (Operand::Field(list), _) if matches!(field(list).kind, Kind::List(_)) => (
                format!(
                    "`{}` is {} and is tested for holding a number or true or false",
                    field(list).path,
                    field(list).kind.describe()
                ),
                format!(
                    "test it for one of its own values: `\"value\" in {}`",
                    field(list).path
                ),
            ),
            (Operand::Field(index), _) => (
                format!(
                    "`{}` is {} and cannot hold other values",
                    field(index).path,
                    field(index).kind.describe()
                ),
                format!("compare it with `==`: `{} == value`", field(index).path),
            ),
            (_, Operand::Field(index)) if matches!(field(index).kind, Kind::List(_)) => {
                let path = &field(index).path;
                let tests: Vec<String> = match container {
                    Operand::Strings(texts) if !texts.is_empty() => texts
                        .iter()
                        .map(|(text, _)| format!("\"{text}\" in {path}"))
                        .collect(),
                    _ => vec![format!("\"value\" in {path}")],
                };
                (
                    format!(
                        "`{path}` is {}, and a list is never a member of a list of texts",
                        field(index).kind.describe()
                    ),
                    format!(
                        "to test whether the list holds a value, write `{}`",
                        tests.join(" || ")
                    ),
                )
            }
            (_, Operand::Field(index)) => (
                format!(
                    "`{}` is {} and is looked up in a list of texts",
                    field(index).path,
                    field(index).kind.describe()
                ),
                "such a test is never true; compare the field with one of its own values"
                    .to_owned(),
            ),
            _ => (String::new(), String::new()),
        };
        Problem::error(Code::TypeMismatch, message, Some(loc)).with_help(help)
    }

    fn compare(
        &self,
        index: usize,
        other: &Operand,
        position: Position,
        at: &dyn Fn(Position) -> crate::diagnostic::Loc,
        problems: &mut Vec<Problem>,
    ) {
        let field = &self.schema.fields[index];
        let kind = &field.kind;
        let textual = matches!(kind, Kind::String | Kind::Enum(_) | Kind::Timestamp);
        let mismatch = match other {
            Operand::Text(text, at_text) => {
                if let Kind::Enum(values) = kind {
                    self.member(index, values, text, &|| at(*at_text), problems);
                }
                (!textual).then_some("a text")
            }
            Operand::Number => (*kind != Kind::Integer).then_some("a number"),
            Operand::Bool => (*kind != Kind::Bool).then_some("true or false"),
            Operand::Field(other_index) => {
                let other_kind = &self.schema.fields[*other_index].kind;
                let disjoint = match (kind, other_kind) {
                    (Kind::Enum(a), Kind::Enum(b)) => !a.iter().any(|v| b.contains(v)),
                    (a, b) => std::mem::discriminant(a) != std::mem::discriminant(b),
                };
                // Report a pair of fields once, from its left operand.
                (disjoint && index < *other_index).then_some("a field of another type")
            }
            Operand::Strings(_) | Operand::Set(..) | Operand::Unknown => None,
        };
        if let Some(what) = mismatch {
            problems.push(
                Problem::error(
                    Code::TypeMismatch,
                    format!(
                        "`{}` is {} and is compared with {what}",
                        field.path,
                        kind.describe()
                    ),
                    Some(at(position)),
                )
                .with_help(
                    "such a comparison is never true; compare the field with one of its own values",
                ),
            );
        }
    }

    fn member(
        &self,
        index: usize,
        values: &[Arc<str>],
        text: &str,
        place: &dyn Fn() -> crate::diagnostic::Loc,
        problems: &mut Vec<Problem>,
    ) {
        if self.known.is_value(index, values, text) {
            return;
        }
        let path = &self.schema.fields[index].path;
        let mut problem = Problem::error(
            Code::UnknownValue,
            format!("`{text}` is not a value of `{path}`"),
            Some(place()),
        );
        problem.help = Some(match closest(text, values.iter().map(|v| &**v)) {
            Some(near) => format!("did you mean `{near}`?"),
            None if values.len() > MAX_VALUES_SHOWN => format!(
                "`{path}` is one of {}, … ({} values)",
                values[..MAX_VALUES_SHOWN].join(", "),
                values.len()
            ),
            None => format!("`{path}` is one of {}", values.join(", ")),
        });
        problems.push(problem);
    }

    fn operand<'e>(&self, expr: &'e Expr) -> Operand<'e> {
        match expr {
            Expr::StringConstant(s, position) => Operand::Text(s.as_str(), *position),
            Expr::IntegerConstant(..) | Expr::FloatConstant(..) => Operand::Number,
            Expr::BoolConstant(..) => Operand::Bool,
            Expr::Array(items, _) => {
                let strings: Vec<(&str, Position)> = items
                    .iter()
                    .filter_map(|item| match item {
                        Expr::StringConstant(s, p) => Some((s.as_str(), *p)),
                        _ => None,
                    })
                    .collect();
                if strings.len() == items.len() {
                    Operand::Strings(strings)
                } else {
                    Operand::Unknown
                }
            }
            Expr::Variable(var, _, position) => {
                if let Some(&set) = self.set_index.get(var.1.as_str()) {
                    return Operand::Set(set, *position);
                }
                match self.schema.node(&[var.1.as_str()]) {
                    Some(Node::Leaf(index)) => Operand::Field(*index),
                    _ => Operand::Unknown,
                }
            }
            // `?.` makes no difference to the types compared.
            Expr::Dot(dot, flags, _) => Chain::of(dot, *flags)
                .and_then(|chain| chain.field(self.schema))
                .map_or(Operand::Unknown, Operand::Field),
            _ => Operand::Unknown,
        }
    }
}
