//! The first look at an expression's text, before rhai parses it: one pass
//! with no recursion that measures how deeply the expression nests, so no
//! input reaches a recursive parser, optimiser or evaluator deeper than the
//! bundle's `max_expression_depth`, and that collects the names it uses, so
//! its compile scope holds those names rather than every name in the bundle.
//!
//! Depth counts brackets (`(`, `[`, `{`, `#{`, and `${` in a back-tick
//! string), prefix operators (`!`, `-`, `+`) and links of a chain (`a.b`,
//! `x[0]`), each where it nests inside the others. rhai's parser spends at
//! least one level on each of them, so an expression within rhai's limit is
//! within this one too. String and character literals and comments are
//! skipped; stray closing brackets never lower the depth below zero.

/// Where the depth first went past the limit: a line and column (from 1, in
/// characters) inside the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `(`, `[` or `{`.
    Bracket,
    /// A back-tick string: its text is not code.
    Backtick,
    /// `${ … }` inside a back-tick string: code until its `}`.
    Interpolation,
}

/// An open frame and the depth to return to when it closes.
struct Open {
    frame: Frame,
    base: usize,
    extra: usize,
}

/// The scanner's position in the text.
struct Cursor<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    line: usize,
    column: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.at + ahead).copied().unwrap_or(0)
    }

    /// Moves past one character (of any width).
    fn bump(&mut self) {
        let Some(c) = self
            .text
            .get(self.at..)
            .and_then(|rest| rest.chars().next())
        else {
            self.at = self.bytes.len();
            return;
        };
        self.at += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
    }

    /// Moves past a quoted literal whose opening `quote` is under the cursor.
    fn literal(&mut self, quote: u8) {
        self.bump();
        while self.at < self.bytes.len() {
            match self.peek(0) {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                c if c == quote => {
                    self.bump();
                    return;
                }
                _ => self.bump(),
            }
        }
    }

    /// Moves past a comment under the cursor (`//` to the end of the line,
    /// or `/* … */`, which rhai lets nest).
    fn comment(&mut self) {
        if self.peek(1) == b'/' {
            while self.at < self.bytes.len() && self.peek(0) != b'\n' {
                self.bump();
            }
            return;
        }
        let mut open = 0usize;
        while self.at < self.bytes.len() {
            match (self.peek(0), self.peek(1)) {
                (b'/', b'*') => {
                    open += 1;
                    self.bump();
                    self.bump();
                }
                (b'*', b'/') => {
                    open -= 1;
                    self.bump();
                    self.bump();
                    if open == 0 {
                        return;
                    }
                }
                _ => self.bump(),
            }
        }
    }

    /// The word (identifier, keyword or number) under the cursor, moved past.
    fn word(&mut self) -> &'t str {
        let start = self.at;
        let number = self.peek(0).is_ascii_digit();
        loop {
            let c = self.peek(0);
            let decimal_point = number && c == b'.' && self.peek(1).is_ascii_digit();
            if !(c.is_ascii_alphanumeric() || c == b'_' || decimal_point) {
                break;
            }
            self.bump();
        }
        self.text.get(start..self.at).unwrap_or_default()
    }
}

/// Scans `text`: the names it uses (identifiers outside literals and
/// comments, each as often as written), or where it first nests deeper than
/// `max_depth`.
pub(crate) fn scan(text: &str, max_depth: usize) -> Result<Vec<&str>, TooDeep> {
    let mut scanner = Scanner {
        cursor: Cursor {
            text,
            bytes: text.as_bytes(),
            at: 0,
            line: 1,
            column: 1,
        },
        names: Vec::new(),
        stack: Vec::new(),
        base: 0,
        extra: 0,
        operand: false,
    };
    while scanner.cursor.at < scanner.cursor.bytes.len() {
        let here = TooDeep {
            line: scanner.cursor.line,
            column: scanner.cursor.column,
        };
        if scanner
            .stack
            .last()
            .is_some_and(|o| o.frame == Frame::Backtick)
        {
            scanner.in_backtick();
        } else {
            scanner.in_code();
        }
        if scanner.base + scanner.extra > max_depth {
            return Err(here);
        }
    }
    Ok(scanner.names)
}

/// The scan so far.
struct Scanner<'t> {
    cursor: Cursor<'t>,
    names: Vec<&'t str>,
    stack: Vec<Open>,
    /// The depth of the innermost open frame.
    base: usize,
    /// The prefix operators and chain links on top of `base`.
    extra: usize,
    /// Whether the last thing was a value (so `-` is binary, `[` an index).
    operand: bool,
}

impl Scanner<'_> {
    fn open(&mut self, frame: Frame) {
        self.stack.push(Open {
            frame,
            base: self.base,
            extra: self.extra,
        });
        (self.base, self.extra) = (self.base + self.extra + 1, 0);
        self.operand = false;
    }

    /// Closes the innermost frame, if it is `kind` (or any but a back-tick
    /// string, for `None`); what it enclosed is a value.
    fn close(&mut self, kind: Option<Frame>) {
        let top = self.stack.last().map(|o| o.frame);
        let fits = match kind {
            Some(kind) => top == Some(kind),
            None => top.is_some_and(|f| f != Frame::Backtick),
        };
        if fits && let Some(open) = self.stack.pop() {
            (self.base, self.extra) = (open.base, open.extra);
        }
        self.operand = true;
    }

    /// One step inside a back-tick string: text, an escape, `${`, or its end.
    fn in_backtick(&mut self) {
        let cursor = &mut self.cursor;
        match (cursor.peek(0), cursor.peek(1)) {
            (b'\\', _) => {
                cursor.bump();
                cursor.bump();
            }
            (b'`', _) => {
                cursor.bump();
                self.close(Some(Frame::Backtick));
            }
            (b'$', b'{') => {
                cursor.bump();
                cursor.bump();
                self.open(Frame::Interpolation);
            }
            _ => cursor.bump(),
        }
    }

    /// One step of code: a token, a literal, a comment or white space.
    fn in_code(&mut self) {
        let cursor = &mut self.cursor;
        let c = cursor.peek(0);
        match c {
            b'"' | b'\'' => {
                cursor.literal(c);
                self.operand = true;
            }
            b'/' if matches!(cursor.peek(1), b'/' | b'*') => cursor.comment(),
            b'`' => {
                cursor.bump();
                self.open(Frame::Backtick);
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let word = cursor.word();
                if !word.starts_with(|c: char| c.is_ascii_digit()) {
                    self.names.push(word);
                }
                self.operand = true;
            }
            b'(' | b'[' | b'{' => {
                // An index is a link of a chain; a call's parentheses are
                // only a bracket.
                if c == b'[' && self.operand {
                    self.extra += 1;
                }
                cursor.bump();
                self.open(Frame::Bracket);
            }
            b')' | b']' | b'}' => {
                cursor.bump();
                self.close(None);
            }
            b'.' if cursor.peek(1) == b'.' => {
                // A range: a binary operator.
                cursor.bump();
                cursor.bump();
                (self.extra, self.operand) = (0, false);
            }
            b'.' | b'?' if c == b'.' || cursor.peek(1) == b'.' => {
                // `.` or `?.`: a link of a chain.
                if c == b'?' {
                    cursor.bump();
                }
                cursor.bump();
                self.extra += 1;
                self.operand = false;
            }
            // `?[`: the `[` that follows is an index.
            b'?' if cursor.peek(1) == b'[' => cursor.bump(),
            b'!' | b'-' | b'+' if !self.operand && cursor.peek(1) != b'=' => {
                cursor.bump();
                self.extra += 1;
            }
            c if c.is_ascii_whitespace() => cursor.bump(),
            // Any other operator or separator ends a chain.
            _ => {
                cursor.bump();
                (self.extra, self.operand) = (0, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str) -> usize {
        (0..200)
            .find(|&d| scan(text, d).is_ok())
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn depth_counts_brackets_prefixes_and_chains() {
        assert_eq!(depth("a == b"), 0);
        assert_eq!(depth("(a == b)"), 1);
        assert_eq!(depth("((a)) || (b)"), 2);
        assert_eq!(depth("!!!a && b"), 3);
        assert_eq!(depth("!(!(a))"), 4);
        assert_eq!(depth("a.b.c == -1"), 2);
        assert_eq!(depth("x[0][1]"), 3);
        assert_eq!(depth("s.to_lower().len() > 0"), 3);
        assert_eq!(depth("#{a: [1, [2]]}"), 3);
        assert_eq!(depth("if a { b } else { c }"), 1);
        assert_eq!(depth("a - -b"), 1);
        assert_eq!(depth("a != b"), 0);
    }

    #[test]
    fn literals_and_comments_are_not_code() {
        assert_eq!(depth(r#""((((" == s && '(' != c"#), 0);
        assert_eq!(depth("a /* ((( /* ((( */ */ // (((\n == b"), 0);
        assert_eq!(depth(r#""\"((" == s"#), 0);
        // Text in a back-tick string is not code; `${ … }` in it is.
        assert_eq!(depth("`(((` == s"), 1);
        assert_eq!(depth("`${(a)}` == s"), 3);
        // A stray closer in a string cannot hide the brackets after it.
        assert_eq!(depth("`)))` + (((a)))"), 3);
    }

    #[test]
    fn names_are_the_identifiers_outside_literals() {
        let names = scan(r#"a.b == "c" && d in e // f"#, 32).unwrap();
        assert_eq!(names, ["a", "b", "d", "in", "e"]);
    }

    #[test]
    fn the_place_is_where_the_limit_is_passed() {
        let text = "((\n((x))))";
        assert_eq!(scan(text, 3), Err(TooDeep { line: 2, column: 2 }));
    }

    #[test]
    fn unterminated_and_unbalanced_text_ends_the_scan() {
        for text in ["\"abc", "/* a", "`abc ${ (", ")))", "'", "a.", "?"] {
            assert!(scan(text, 4).is_ok(), "{text}");
        }
    }
}
