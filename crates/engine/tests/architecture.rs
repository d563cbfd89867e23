//! The engine's architecture, checked on its own sources (std only):
//!
//! - (a) layers import downwards only: `diagnostic < schema < load < expr <
//!   model < link < engine < tools` (the first folder under `src/`);
//! - (b) no cycle between files (`crate::`, `super::`, `self::` and
//!   child-module paths; a `mod x;` declaration is not an edge);
//! - (c) no function longer than 100 lines;
//! - (d) no name the reference policy declares appears in any crate's Rust
//!   sources (the names are read from `policies/*.yaml`).
//!
//! Each scanner is a function of a directory; the `fixture_*` tests run them
//! on small trees with one violation of each kind, so every rule is shown to
//! fail when it should.
//!
//! The scanner is a lexer, not a parser: comments and literals are blanked,
//! `#[cfg(test)] mod … { … }` blocks are skipped for (a) and (b) (unit tests
//! may reach anywhere), and inline `mod x { … }` blocks other than those are
//! treated as part of their file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use crate::common::root;

/// The engine's layers, lowest first: a file may refer to its own layer and
/// those before it in this list.
const LAYERS: [&str; 8] = [
    "diagnostic",
    "schema",
    "load",
    "expr",
    "model",
    "link",
    "engine",
    "tools",
];

/// The longest a function may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 100;

/// Names shorter than this are not checked by (d): too likely to be ordinary
/// words (`azure`, `gold`, `none`, `dap`, `A`).
const MIN_NAME_CHARS: usize = 6;

/// Names the reference pack declares that are also ordinary words, and that
/// the code cannot avoid: each is here because it clashes, and says why.
/// (Only the plain word is allowed: `issue.severity` or `service_health`
/// still count.)
const GENERIC_NAMES: [&str; 7] = [
    // The `triage-service` crate and `triage serve` are named for what they
    // are (an HTTP service), not for the ticket field.
    "service",
    // The engine's own concept: the bundle's `role_field` says where the
    // requester's role is, and every decision reports `requester.allowed`.
    "requester",
    // HTTP status codes, and the status of a reload or a health check.
    "status",
    // The summary of a batch run, of an audit, of a bundle's problems.
    "summary",
    // A problem's severity (error or warning).
    "severity",
    // The lowered native program of a condition (`expr::native::Program`).
    "program",
    // HTTP 503 (`StatusCode::SERVICE_UNAVAILABLE`), not the issue type.
    "service_unavailable",
];

fn engine_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

// ---------------------------------------------------------------------------
// Lexing: blank comments (and literals), then split into tokens.

fn is_ident_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// Where the raw string starting at `i` (`r"…"`, `r#"…"#`, `br"…"`) ends, if
/// one starts there.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    if c[i] != 'r' {
        return None;
    }
    let free = |at: usize| at == 0 || !is_ident_char(c[at - 1]);
    if !(free(i) || (i > 0 && c[i - 1] == 'b' && free(i - 1))) {
        return None;
    }
    let mut j = i + 1;
    while c.get(j) == Some(&'#') {
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    let hashes = j - i - 1;
    let mut k = j + 1;
    while k < c.len() {
        if c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#')) {
            return Some(k + 1 + hashes);
        }
        k += 1;
    }
    Some(c.len())
}

/// Where the char literal starting at `i` ends, if `i` starts one (rather
/// than a lifetime or a label).
fn char_end(c: &[char], i: usize) -> Option<usize> {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 3;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        Some((j + 1).min(c.len()))
    } else if c.get(i + 2) == Some(&'\'') {
        Some(i + 3)
    } else {
        None
    }
}

/// `source` with every comment blanked and, unless `keep_literals`, every
/// string and char literal too; newlines stay, so line numbers still hold.
fn blank(source: &str, keep_literals: bool) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let emit = |out: &mut String, part: &[char], keep: bool| {
        out.extend(
            part.iter()
                .map(|&ch| if keep || ch == '\n' { ch } else { ' ' }),
        );
    };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let end = if c[i] == '/' && next == Some('/') {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            emit(&mut out, &c[i..end], false);
            end
        } else if c[i] == '/' && next == Some('*') {
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let end = j.min(c.len());
            emit(&mut out, &c[i..end], false);
            end
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(c.len());
            emit(&mut out, &c[i..end], keep_literals);
            end
        } else if let Some(end) = raw_string_end(&c, i) {
            emit(&mut out, &c[i..end], keep_literals);
            end
        } else if let Some(end) = (c[i] == '\'').then(|| char_end(&c, i)).flatten() {
            emit(&mut out, &c[i..end], keep_literals);
            end
        } else {
            out.push(c[i]);
            i + 1
        };
        i = end;
    }
    out
}

#[derive(Clone, Debug)]
struct Token {
    text: String,
    line: usize,
}

impl Token {
    fn is(&self, text: &str) -> bool {
        self.text == text
    }

    fn is_ident(&self) -> bool {
        self.text
            .chars()
            .next()
            .is_some_and(|ch| ch.is_alphabetic() || ch == '_')
    }
}

/// Identifiers (and numbers), `::`, and single punctuation characters.
fn tokenize(blanked: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (n, line) in blanked.lines().enumerate() {
        let c: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < c.len() {
            let start = i;
            if is_ident_char(c[i]) {
                while i < c.len() && is_ident_char(c[i]) {
                    i += 1;
                }
            } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
                i += 2;
            } else if c[i].is_whitespace() {
                i += 1;
                continue;
            } else {
                i += 1;
            }
            tokens.push(Token {
                text: c[start..i].iter().collect(),
                line: n + 1,
            });
        }
    }
    tokens
}

/// The index of the token closing the bracket opened at `open`.
fn closing(tokens: &[Token], open: usize) -> usize {
    let (open_text, close_text) = match tokens[open].text.as_str() {
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        _ => ("{", "}"),
    };
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is(open_text) {
            depth += 1;
        } else if token.is(close_text) {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len() - 1
}

/// The `#[cfg(test)] mod name { … }` blocks: token index ranges, from the
/// attribute to the closing brace.
fn test_modules(tokens: &[Token]) -> Vec<(usize, usize)> {
    const CFG_TEST: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut spans = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let is_cfg_test = CFG_TEST
            .iter()
            .enumerate()
            .all(|(k, text)| tokens.get(i + k).is_some_and(|t| t.is(text)));
        if !is_cfg_test {
            i += 1;
            continue;
        }
        let mut j = i + CFG_TEST.len();
        // Other attributes, then an optional visibility.
        while tokens.get(j).is_some_and(|t| t.is("#")) && j + 1 < tokens.len() {
            j = closing(tokens, j + 1) + 1;
        }
        if tokens.get(j).is_some_and(|t| t.is("pub")) {
            j += 1;
            if tokens.get(j).is_some_and(|t| t.is("(")) {
                j = closing(tokens, j) + 1;
            }
        }
        let is_block = tokens.get(j).is_some_and(|t| t.is("mod"))
            && tokens.get(j + 2).is_some_and(|t| t.is("{"));
        if is_block {
            let end = closing(tokens, j + 2);
            spans.push((i, end));
            i = end + 1;
        } else {
            i = j;
        }
    }
    spans
}

/// The tokens without `#[cfg(test)] mod name { … }` blocks.
fn without_test_modules(tokens: Vec<Token>) -> Vec<Token> {
    let spans = test_modules(&tokens);
    tokens
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !spans.iter().any(|(start, end)| (start..=end).contains(&i)))
        .map(|(_, token)| token)
        .collect()
}

/// The lines of `source` inside `#[cfg(test)] mod name { … }` blocks.
fn test_module_lines(source: &str) -> Vec<(usize, usize)> {
    let tokens = tokenize(&blank(source, false));
    test_modules(&tokens)
        .into_iter()
        .map(|(start, end)| (tokens[start].line, tokens[end].line))
        .collect()
}

// ---------------------------------------------------------------------------
// The crate's files and the paths they write.

/// A path as written in a file: its segments (`crate`, `super`, …), the name
/// it is brought in as (for `use … as x`), and its line.
#[derive(Clone, Debug)]
struct Reference {
    path: Vec<String>,
    alias: Option<String>,
    line: usize,
}

impl Reference {
    fn written(&self) -> String {
        self.path.join("::")
    }
}

/// Reads one path (or `use` tree) from `tokens[*pos]`, the segments before it
/// being `prefix`; pushes every complete path.
/// The line is that of the path's last segment (in a group over several
/// lines, the line of the item).
fn read_tree(
    tokens: &[Token],
    pos: &mut usize,
    prefix: Vec<String>,
    line: usize,
    out: &mut Vec<Reference>,
) {
    let mut path = prefix;
    let mut line = line;
    while let Some(token) = tokens.get(*pos) {
        if token.is("{") {
            *pos += 1;
            while tokens.get(*pos).is_some_and(|t| !t.is("}")) {
                read_tree(tokens, pos, path.clone(), line, out);
                if tokens.get(*pos).is_some_and(|t| t.is(",")) {
                    *pos += 1;
                } else {
                    break;
                }
            }
            *pos += 1;
            return;
        }
        if token.is("*") {
            *pos += 1;
            break;
        }
        if !token.is_ident() {
            break;
        }
        path.push(token.text.clone());
        line = token.line;
        *pos += 1;
        if tokens.get(*pos).is_some_and(|t| t.is("::")) {
            *pos += 1;
            continue;
        }
        break;
    }
    let mut alias = None;
    if tokens.get(*pos).is_some_and(|t| t.is("as")) {
        alias = tokens.get(*pos + 1).map(|t| t.text.clone());
        *pos += 2;
    }
    if !path.is_empty() {
        out.push(Reference { path, alias, line });
    }
}

/// Every path in `tokens` that starts at `crate`, `super`, `self` or one of
/// the file's own child modules (`children`), with `use` groups expanded.
fn references(tokens: &[Token], children: &BTreeSet<String>) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let starts = (matches!(token.text.as_str(), "crate" | "super" | "self")
            || children.contains(&token.text))
            && tokens.get(i + 1).is_some_and(|t| t.is("::"))
            && (i == 0 || !(tokens[i - 1].is("::") || tokens[i - 1].is(".")));
        if starts {
            let mut pos = i;
            read_tree(tokens, &mut pos, Vec::new(), token.line, &mut out);
            i = pos.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The modules a file declares out of line: `mod x;`.
fn child_modules(tokens: &[Token]) -> BTreeSet<String> {
    tokens
        .windows(3)
        .filter(|w| w[0].is("mod") && w[1].is_ident() && w[2].is(";"))
        .map(|w| w[1].text.clone())
        .collect()
}

struct SourceFile {
    /// The path under `src/`, with `/` separators.
    rel: String,
    /// The module path: `link/ticket.rs` is `[link, ticket]`, `link/mod.rs`
    /// is `[link]`, `lib.rs` is `[]`.
    module: Vec<String>,
    children: BTreeSet<String>,
    references: Vec<Reference>,
}

struct Crate {
    files: Vec<SourceFile>,
    /// Module path → index in `files`.
    by_module: BTreeMap<Vec<String>, usize>,
    /// What `lib.rs` re-exports at the crate root: name → module path.
    reexports: BTreeMap<String, Vec<String>>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let files: Vec<SourceFile> = paths
            .iter()
            .map(|path| {
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let mut module: Vec<String> = rel
                    .trim_end_matches(".rs")
                    .split('/')
                    .map(String::from)
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                let text = std::fs::read_to_string(path).unwrap();
                let tokens = without_test_modules(tokenize(&blank(&text, false)));
                let children = child_modules(&tokens);
                let references = references(&tokens, &children);
                SourceFile {
                    rel,
                    module,
                    children,
                    references,
                }
            })
            .collect();
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let mut reexports = BTreeMap::new();
        if let Some(lib) = files.iter().find(|f| f.module.is_empty()) {
            for r in &lib.references {
                let name = r
                    .alias
                    .clone()
                    .or_else(|| r.path.last().cloned())
                    .unwrap_or_default();
                let target: Vec<String> = r
                    .path
                    .iter()
                    .filter(|s| !matches!(s.as_str(), "crate" | "self"))
                    .cloned()
                    .collect();
                reexports.insert(name, target);
            }
        }
        Crate {
            files,
            by_module,
            reexports,
        }
    }

    /// The absolute module path (without `crate`) a reference in `file`
    /// names; a name the root re-exports is followed to where it lives.
    fn resolve(&self, file: &SourceFile, path: &[String]) -> Option<Vec<String>> {
        let (mut absolute, rest) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (file.module.clone(), &path[1..]),
            "super" => {
                let mut absolute = file.module.clone();
                let supers = path.iter().take_while(|s| *s == "super").count();
                for _ in 0..supers {
                    absolute.pop()?;
                }
                (absolute, &path[supers..])
            }
            _ if file.children.contains(&path[0]) => (file.module.clone(), path),
            _ => return None,
        };
        absolute.extend(rest.iter().filter(|s| *s != "self").cloned());
        for _ in 0..4 {
            let Some(first) = absolute.first() else {
                break;
            };
            if LAYERS.contains(&first.as_str()) {
                break;
            }
            let Some(target) = self.reexports.get(first) else {
                break;
            };
            absolute = target.iter().chain(&absolute[1..]).cloned().collect();
        }
        Some(absolute)
    }

    /// The file holding the longest prefix of `absolute` (not `lib.rs`).
    fn file_of(&self, absolute: &[String]) -> Option<usize> {
        (1..=absolute.len())
            .rev()
            .find_map(|k| self.by_module.get(&absolute[..k]).copied())
    }
}

fn layer_rank(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == name)
}

// ---------------------------------------------------------------------------
// (a) Layers import downwards only.

/// Every reference from a layer to a layer above it, as `src/file:line: …`.
fn upward_imports(src: &Path) -> Vec<String> {
    let krate = Crate::read(src);
    let mut violations = Vec::new();
    for file in krate.files.iter().filter(|f| !f.module.is_empty()) {
        let layer = &file.module[0];
        let Some(rank) = layer_rank(layer) else {
            violations.push(format!(
                "src/{}: not in a layer folder ({})",
                file.rel,
                LAYERS.join(", ")
            ));
            continue;
        };
        for r in &file.references {
            let Some(absolute) = krate.resolve(file, &r.path) else {
                continue;
            };
            let Some(target) = absolute.first() else {
                continue;
            };
            if layer_rank(target).is_some_and(|t| t > rank) {
                violations.push(format!(
                    "src/{}:{}: layer `{layer}` refers to `{}`, in the higher layer `{target}`",
                    file.rel,
                    r.line,
                    r.written()
                ));
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// (b) No cycle between files.

/// The file graph: `src/from` → `src/to` → the first line of `from` that
/// refers to `to`.
fn file_graph(src: &Path) -> BTreeMap<String, BTreeMap<String, usize>> {
    let krate = Crate::read(src);
    let mut graph: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for file in krate.files.iter().filter(|f| !f.module.is_empty()) {
        let edges = graph.entry(file.rel.clone()).or_default();
        for r in &file.references {
            let target = krate
                .resolve(file, &r.path)
                .and_then(|absolute| krate.file_of(&absolute));
            if let Some(target) = target.map(|t| &krate.files[t])
                && target.rel != file.rel
                && !target.module.is_empty()
            {
                let line = edges.entry(target.rel.clone()).or_insert(r.line);
                *line = (*line).min(r.line);
            }
        }
    }
    graph
}

/// The files reachable from `start` (itself excluded unless on a cycle).
fn reachable(graph: &BTreeMap<String, BTreeMap<String, usize>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&str> = graph[start].keys().map(String::as_str).collect();
    while let Some(node) = queue.pop_front() {
        if seen.insert(node.to_string()) {
            queue.extend(
                graph
                    .get(node)
                    .into_iter()
                    .flat_map(|e| e.keys().map(String::as_str)),
            );
        }
    }
    seen
}

/// One report per set of files that reach each other: a shortest cycle
/// through its first file, `a.rs:line -> b.rs:line -> a.rs`, and every edge
/// inside the set.
fn cycles(src: &Path) -> Vec<String> {
    let graph = file_graph(src);
    let reach: BTreeMap<&str, BTreeSet<String>> = graph
        .keys()
        .map(|node| (node.as_str(), reachable(&graph, node)))
        .collect();
    let mut done = BTreeSet::new();
    let mut reports = Vec::new();
    for (&node, from_node) in &reach {
        if done.contains(node) || !from_node.contains(node) {
            continue;
        }
        let component: BTreeSet<&str> = from_node
            .iter()
            .map(String::as_str)
            .filter(|other| reach[other].contains(node))
            .collect();
        done.extend(component.iter().copied());
        // Breadth first from `node` back to itself, inside the component.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([node]);
        'search: while let Some(at) = queue.pop_front() {
            for next in graph[at].keys().map(String::as_str) {
                if !component.contains(next) || parent.contains_key(next) {
                    continue;
                }
                parent.insert(next, at);
                if next == node {
                    break 'search;
                }
                queue.push_back(next);
            }
        }
        let mut cycle = vec![node];
        let mut at = parent[node];
        while at != node {
            cycle.push(at);
            at = parent[at];
        }
        cycle.push(node);
        cycle.reverse();
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("src/{}:{}", w[0], graph[w[0]][w[1]]))
            .chain(std::iter::once(format!("src/{node}")))
            .collect();
        let mut edges: Vec<(&str, usize, &str)> = component
            .iter()
            .flat_map(|from| {
                graph[*from]
                    .iter()
                    .filter(|(to, _)| component.contains(to.as_str()))
                    .map(move |(to, line)| (*from, *line, to.as_str()))
            })
            .collect();
        edges.sort();
        let edges: Vec<String> = edges
            .iter()
            .map(|(from, line, to)| format!("    src/{from}:{line} -> src/{to}"))
            .collect();
        reports.push(format!(
            "cycle: {}\n  all edges among these files:\n{}",
            steps.join(" -> "),
            edges.join("\n")
        ));
    }
    reports
}

// ---------------------------------------------------------------------------
// (c) No long function.

/// Every function (with a body) in `src` longer than `max` lines, as
/// `src/file:line: fn name is N lines`.
fn long_functions(src: &Path, max: usize) -> Vec<String> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let mut found = Vec::new();
    for path in paths {
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let tokens = tokenize(&blank(&std::fs::read_to_string(&path).unwrap(), false));
        for (i, name) in function_names(&tokens) {
            let mut depth = 0i32;
            let mut body = None;
            for (j, token) in tokens.iter().enumerate().skip(i + 2) {
                match token.text.as_str() {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth -= 1,
                    "{" if depth == 0 => {
                        body = Some(j);
                        break;
                    }
                    ";" if depth == 0 => break,
                    _ => {}
                }
            }
            let Some(open) = body else {
                continue;
            };
            let lines = tokens[closing(&tokens, open)].line - tokens[i].line + 1;
            if lines > max {
                found.push(format!(
                    "src/{rel}:{}: fn {name} is {lines} lines",
                    tokens[i].line
                ));
            }
        }
    }
    found
}

/// `(index of the fn token, name)` of every `fn name`.
fn function_names(tokens: &[Token]) -> Vec<(usize, String)> {
    tokens
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0].is("fn") && w[1].is_ident())
        .map(|(i, w)| (i, w[1].text.clone()))
        .collect()
}

// ---------------------------------------------------------------------------
// (d) No policy name in the code.

/// The sections whose keys are names a policy declares.
const DECLARING_SECTIONS: [&str; 6] = ["roles", "actions", "outcomes", "vehicles", "paths", "sets"];

/// The items of a flow list `[a, b, "c"]` at the start of `text`.
fn flow_items(text: &str) -> Vec<String> {
    let Some(inner) = text.trim_start().strip_prefix('[') else {
        return Vec::new();
    };
    let inner = inner.split(']').next().unwrap_or_default();
    inner
        .split(',')
        .map(|item| {
            item.trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string()
        })
        .filter(|item| !item.is_empty())
        .collect()
}

/// The names the YAML files in `dir` declare: the keys of `roles:`,
/// `actions:`, `outcomes:`, `vehicles:`, `paths:` and `sets:` (and the
/// members of each set: `values_from` makes them enum values), the keys of
/// `ticket: fields:` (and each segment of a dotted one), and every item of a
/// `values:` list. Name → where it is declared.
fn policy_names(dir: &Path) -> BTreeMap<String, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut names = BTreeMap::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut add = |name: &str, what: &str| {
            names
                .entry(name.to_string())
                .or_insert_with(|| format!("{file}: {what}"));
        };
        let mut stack: Vec<(usize, String)> = Vec::new();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let body = line.split(" #").next().unwrap_or_default().trim();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            let parents: Vec<&str> = stack.iter().map(|(_, key)| key.as_str()).collect();
            // `values: [..]` anywhere on the line (also inside `{ … }`).
            for (at, _) in body.match_indices("values:") {
                if at == 0 || !is_ident_char(body[..at].chars().last().unwrap_or(' ')) {
                    for value in flow_items(&body[at + "values:".len()..]) {
                        add(&value, "an enum value");
                    }
                }
            }
            if let Some(item) = body.strip_prefix("- ") {
                if parents.last() == Some(&"values") {
                    add(item.trim(), "an enum value");
                }
                continue;
            }
            let Some((key, value)) = body.split_once(':') else {
                continue;
            };
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            match parents.as_slice() {
                [section] if DECLARING_SECTIONS.contains(section) => {
                    add(key, &format!("a key of `{section}:`"));
                    if *section == "sets" {
                        for member in flow_items(value) {
                            add(&member, &format!("a member of set `{key}`"));
                        }
                    }
                }
                ["ticket", "fields"] => {
                    add(key, "a ticket field");
                    for segment in key.split('.').filter(|_| key.contains('.')) {
                        add(segment, &format!("a segment of ticket field `{key}`"));
                    }
                }
                _ => {}
            }
            stack.push((indent, key.to_string()));
        }
    }
    names.retain(|name, _| {
        name.chars().count() >= MIN_NAME_CHARS && !GENERIC_NAMES.contains(&name.as_str())
    });
    names
}

/// `GlobalAdmin` → `global_admin`; `GLOBAL_ADMIN` → `global_admin`.
fn snake(word: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for ch in word.chars() {
        if ch.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
        previous = Some(ch);
    }
    out
}

/// Every place a name of `names` appears in the `.rs` files under `dirs`
/// (comments aside): as an identifier, inside one (`is_premier`,
/// `GlobalAdminRole`), or in a string.
fn policy_names_in_code(dirs: &[PathBuf], names: &BTreeMap<String, String>) -> Vec<String> {
    let mut paths = Vec::new();
    for dir in dirs {
        rust_files(dir, &mut paths);
    }
    policy_names_in_files(&paths, names)
}

/// Every place a name of `names` appears in the files `paths`, Rust or the
/// web assets a crate builds in (their `//` and `/* */` comments aside).
fn policy_names_in_files(paths: &[PathBuf], names: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths {
        let source = std::fs::read_to_string(path).unwrap();
        let tests = test_module_lines(&source);
        let text = blank(&source, true);
        for (n, line) in text.lines().enumerate() {
            if tests
                .iter()
                .any(|(start, end)| (start..=end).contains(&&(n + 1)))
            {
                continue;
            }
            let mut hits = BTreeSet::new();
            for word in line
                .split(|c: char| !is_ident_char(c))
                .filter(|w| !w.is_empty())
            {
                let snake = snake(word);
                let parts: Vec<&str> = snake.split('_').filter(|p| !p.is_empty()).collect();
                for start in 0..parts.len() {
                    for end in start + 1..=parts.len() {
                        let candidate = parts[start..end].join("_");
                        if names.contains_key(&candidate) {
                            hits.insert(candidate);
                        }
                    }
                }
            }
            let lower = line.to_lowercase();
            for name in names.keys().filter(|name| name.contains('.')) {
                let bounded = lower.match_indices(name.as_str()).any(|(at, _)| {
                    let before = lower[..at].chars().last();
                    let after = lower[at + name.len()..].chars().next();
                    !before.is_some_and(|c| is_ident_char(c) || c == '.')
                        && !after.is_some_and(|c| is_ident_char(c) || c == '.')
                });
                if bounded {
                    hits.insert(name.clone());
                }
            }
            for hit in hits {
                found.push(format!(
                    "{}:{}: `{hit}` ({})",
                    path.display(),
                    n + 1,
                    names[&hit]
                ));
            }
        }
    }
    found
}

/// The Rust source folders of every crate in the workspace.
fn workspace_sources() -> Vec<PathBuf> {
    let root = root();
    let mut dirs = vec![root.join("src")];
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    crates.sort();
    dirs.extend(crates);
    dirs
}

// ---------------------------------------------------------------------------
// The rules, on the engine's sources.

#[test]
fn layers_import_downwards_only() {
    let src = engine_src();
    for layer in LAYERS {
        assert!(src.join(layer).is_dir(), "no layer folder src/{layer}");
    }
    let violations = upward_imports(&src);
    assert!(
        violations.is_empty(),
        "{} references to a higher layer (order: {}):\n{}",
        violations.len(),
        LAYERS.join(" < "),
        violations.join("\n")
    );
}

#[test]
fn no_cycle_between_files() {
    let graph = file_graph(&engine_src());
    // The scanner sees the crate: most files refer to others.
    let edges: usize = graph.values().map(BTreeMap::len).sum();
    assert!(
        edges > 50,
        "only {edges} edges between files: is the scanner broken?"
    );
    // Every crate of the workspace, not only the engine.
    let cycles: Vec<String> = workspace_sources()
        .iter()
        .flat_map(|src| {
            let name = src.parent().unwrap().display().to_string();
            cycles(src).into_iter().map(move |c| format!("{name}: {c}"))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "{} cycles between files:\n{}",
        cycles.len(),
        cycles.join("\n")
    );
}

#[test]
fn no_function_is_longer_than_100_lines() {
    let long = long_functions(&engine_src(), MAX_FN_LINES);
    assert!(
        long.is_empty(),
        "{} functions over {MAX_FN_LINES} lines:\n{}",
        long.len(),
        long.join("\n")
    );
}

/// The web assets (`.html`, `.js`, `.css`) under every crate's `assets/`.
fn workspace_assets() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path().join("assets");
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let web = ["html", "js", "css"];
            if path
                .extension()
                .is_some_and(|e| web.iter().any(|w| e == *w))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_name_the_reference_policy_declares_appears_in_the_web_assets() {
    let names = policy_names(&root().join("policies"));
    let assets = workspace_assets();
    assert!(!assets.is_empty(), "the workbench's assets are found");
    let found = policy_names_in_files(&assets, &names);
    assert!(
        found.is_empty(),
        "{} names the policy declares appear in web assets:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn no_name_the_reference_policy_declares_appears_in_the_code() {
    let names = policy_names(&root().join("policies"));
    // The reader sees the pack: a role, an outcome, a vehicle, a field
    // segment and an enum value, whatever the pack's current wording.
    assert!(
        names.len() > 40,
        "only {} names read from policies/: {names:?}",
        names.len()
    );
    let found = policy_names_in_code(&workspace_sources(), &names);
    assert!(
        found.is_empty(),
        "{} names the policy declares appear in Rust sources:\n{}",
        found.len(),
        found.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Each rule fails when it should: fixtures with one violation of each kind.

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn fixture_upward_imports_are_found_with_file_line_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "lib.rs",
                "mod diagnostic;\nmod schema;\nmod load;\nmod engine;\npub use engine::Bundle;\n",
            ),
            (
                "schema/mod.rs",
                "use crate::{diagnostic::Loc,\n    tools::suite::Run};\n\
                 // crate::engine::Bundle in a comment\n\
                 const S: &str = \"crate::engine::Bundle\";\n\
                 #[cfg(test)]\nmod tests {\n    use crate::tools::Anything;\n}\n",
            ),
            (
                "load/raw.rs",
                "fn f() -> super::super::link::Linker { todo!() }\n",
            ),
            (
                "load/mod.rs",
                "mod raw;\nuse crate::diagnostic::Loc;\nuse crate::load::raw::X;\n",
            ),
            ("expr/mod.rs", "fn f(b: &crate::Bundle) {}\n"),
            ("tools/mod.rs", "use crate::engine::Bundle;\n"),
            ("engine/mod.rs", "pub struct Bundle;\n"),
            ("extra.rs", "\n"),
        ],
    );
    let found = upward_imports(dir.path());
    assert_eq!(
        found,
        [
            "src/expr/mod.rs:1: layer `expr` refers to `crate::Bundle`, in the higher layer `engine`",
            "src/extra.rs: not in a layer folder (diagnostic, schema, load, expr, model, link, engine, tools)",
            "src/load/raw.rs:1: layer `load` refers to `super::super::link::Linker`, in the higher layer `link`",
            "src/schema/mod.rs:2: layer `schema` refers to `crate::tools::suite::Run`, in the higher layer `tools`",
        ],
        "{found:#?}"
    );
}

#[test]
fn fixture_cycles_are_found_and_mod_declarations_are_not_edges() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("lib.rs", "mod link;\nmod load;\nmod model;\n"),
            // mod.rs uses its child, the child uses mod.rs's `Parsed`.
            (
                "link/mod.rs",
                "mod declarations;\nuse declarations::Declared;\npub struct Parsed;\n",
            ),
            (
                "link/declarations.rs",
                "pub struct Declared;\n\nfn f(p: &super::Parsed) {}\n",
            ),
            // Two sibling files through `crate::` paths.
            ("load/mod.rs", "pub mod a;\npub mod b;\n"),
            ("load/a.rs", "use crate::load::b::B;\npub struct A;\n"),
            (
                "load/b.rs",
                "pub struct B;\nfn f() -> crate::load::{a::A, self} { todo!() }\n",
            ),
            // `mod child;` and the child using the parent: no cycle.
            ("model/mod.rs", "pub mod child;\npub struct Model;\n"),
            (
                "model/child.rs",
                "use super::Model;\n#[cfg(test)]\nmod tests { use crate::model::child::*; use super::super::X; }\n",
            ),
        ],
    );
    let found = cycles(dir.path());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with(
            "cycle: src/link/declarations.rs:3 -> src/link/mod.rs:2 -> src/link/declarations.rs\n"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("cycle: src/load/a.rs:1 -> src/load/b.rs:2 -> src/load/a.rs\n"),
        "{}",
        found[1]
    );
    assert!(!found.concat().contains("model"), "{found:#?}");
}

#[test]
fn fixture_long_functions_are_found_and_braces_in_literals_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let body = |lines: usize| "    let x = 1;\n".repeat(lines);
    let text = format!(
        "fn exactly_100() {{\n{}}}\n\
         /// fn in_a_comment() {{\n\
         fn too_long<T: Fn() -> u8>(t: T) -> u8 {{\n    let s = \"}}}}\"; let c = '}}'; let r = r#\"}}\"#; // }}\n{}    t()\n}}\n\
         trait T {{ fn declared(&self); }}\n",
        body(98),
        body(97),
    );
    write(dir.path(), &[("lib.rs", &text)]);
    let found = long_functions(dir.path(), MAX_FN_LINES);
    assert_eq!(
        found,
        ["src/lib.rs:102: fn too_long is 101 lines"],
        "{found:#?}"
    );
    assert!(long_functions(dir.path(), 101).is_empty());
}

#[test]
fn fixture_policy_names_are_read_from_yaml_and_found_in_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "policy/roles.yaml",
                "# roles: not_a_name_in_a_comment\nroles:\n  night_shift_lead: { title: Night shift lead }\n  ops: { title: Too short }\n\
                 actions:\n  reboot_router:\n    title: Reboot\n    roles: [night_shift_lead]\n",
            ),
            (
                "policy/ticket.yaml",
                "ticket:\n  fields:\n    customer.loyalty_tier: { type: enum, values: [platinum_plus, gold] }\n    \
                 service: { type: string }\n    zone:\n      type: enum\n      values:\n        - antarctica\n",
            ),
            (
                "code/src/lib.rs",
                "// night_shift_lead, in a comment: allowed\n\
                 const ROLE: &str = \"night_shift_lead\";\n\
                 fn is_platinum_plus(service: &str) -> bool { service == \"gold\" }\n\
                 struct RebootRouterStep;\n\
                 fn read(t: &Ticket) { t.get(\"customer.loyalty_tier\"); t.get(\"zone\"); }\n\
                 fn antarctica_expedition() {}\n",
            ),
        ],
    );
    let names = policy_names(&dir.path().join("policy"));
    let keys: Vec<&str> = names.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "antarctica",
            "customer",
            "customer.loyalty_tier",
            "loyalty_tier",
            "night_shift_lead",
            "platinum_plus",
            "reboot_router",
            // `service` is generic (allowed); `ops`, `gold` and `zone` are
            // too short.
        ]
    );
    let found = policy_names_in_code(&[dir.path().join("code/src")], &names);
    let found: Vec<String> = found
        .iter()
        .map(|f| {
            f.rsplit_once("lib.rs:")
                .unwrap()
                .1
                .split(" (")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        found,
        [
            "2: `night_shift_lead`",
            "3: `platinum_plus`",
            "4: `reboot_router`",
            "5: `customer`",
            "5: `customer.loyalty_tier`",
            "5: `loyalty_tier`",
            "6: `antarctica`",
        ]
    );
}
