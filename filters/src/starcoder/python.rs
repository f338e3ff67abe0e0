//! Python's share of dolma's `code_starcoder_taggers_v2`: the length of the natural-language
//! text of a Python file as BigCode's `get_text_python` extracts it (dolma 1.2.1
//! `taggers/code/starcoder.py`, run on CPython 3.11):
//!
//! ```python
//! docstrings = "\n".join(get_docstrings(source))   # "" when ast.parse fails
//! comments = get_comments(source, clean=True)      # "" when tokenize raises
//! output = (docstrings + "\n" + comments).strip()
//! ```
//!
//! - **Comments** are the `COMMENT` tokens of the pure-Python `tokenize` module of CPython 3.11
//!   (`generate_tokens` over `io.StringIO(source).readline`: lines end at `\n` only),
//!   concatenated without separators (`untokenize` in compatibility mode), every `#` then
//!   removed. The tokenizer is ported here state for state: strings (single, triple, continued
//!   with a backslash), the line-start rules (a blank or comment-only line; indentation), the
//!   bracket level (which may go negative), and the three errors that make `tokenize` raise and
//!   dolma keep no comment at all: `EOF in multi-line string`, `EOF in multi-line statement`
//!   and `unindent does not match any outer indentation level`.
//! - **Docstrings** are `ast.get_docstring` (first statement an expression that is a `str`
//!   constant, cleaned by `inspect.cleandoc`) of every `Module`, `ClassDef` and `FunctionDef`
//!   (not `AsyncFunctionDef`) found by `ast.walk`, sorted by node kind then name (stable, in
//!   `ast.walk`'s breadth-first order) and joined with `\n`; empty ones are skipped. They exist
//!   only when CPython 3.11's `ast.parse` accepts the file: the parse is `rustpython-parser`'s
//!   (Python 3.11 grammar) on the text with CPython's newline translation, plus the limits of
//!   CPython's tokenizer and compiler that it does not have: NUL characters, more than 200
//!   nested brackets, 100 indentation levels, a leading byte-order mark, 3.12-only syntax (`type` aliases and type
//!   parameters) and expressions too deep for CPython's AST construction (bounded here from
//!   the tokens, see [`DEPTH_LIMIT`]).

use super::pygments::is_w as is_word;
use crate::pytext::{is_py_space, py_strip, utf8_len};
use rustpython_parser::ast::{self, Constant, ExceptHandler, Expr, Stmt};
use rustpython_parser::Parse;
use std::collections::VecDeque;

/// CPython 3.11 raises `RecursionError` ("maximum recursion depth exceeded during ast
/// construction") at an AST depth of about 3,000 (1,000 frames × 3, less the caller's own
/// stack) and the parser a `MemoryError` beyond 6,000 rule frames. The tokens give an upper
/// bound of an expression's depth (operators, keywords and brackets since the last comma);
/// above this bound the file is taken as one CPython cannot parse, which also keeps the
/// recursive Rust parser far from the end of a 2 MiB thread stack.
pub const DEPTH_LIMIT: usize = 2900;

/// The comments `tokenize` yields, and what the AST side needs from the same tokens.
#[derive(Debug, Default)]
struct Tokens {
    /// The `COMMENT` tokens concatenated, `#` removed; `None` when `tokenize` raised.
    comments: Option<String>,
    /// `tokenize` raised `IndentationError`: CPython's own tokenizer raises it too.
    indentation_error: bool,
    /// The deepest bracket nesting seen.
    max_brackets: i64,
    /// The deepest indentation stack seen (`indents` without its initial 0).
    max_indents: usize,
    /// The largest expression depth bound seen (see [`DEPTH_LIMIT`]).
    depth_bound: usize,
    /// A string (or `(`) starts a statement somewhere: only then can a body's first statement
    /// be a docstring, and only then does the parse matter.
    docstring_candidate: bool,
    /// CPython's tokenizer raises `TabError`: an indentation whose order differs with tabs
    /// of 8 and of 1 column (the pure-Python `tokenize` does not check it).
    tab_error: bool,
    /// Statement lines whose indentation holds a tab or form feed: `(start, end, column)` of
    /// the leading whitespace, in bytes; the parser is given `column` spaces instead
    /// (`rustpython-parser` refuses a tab after spaces, which CPython accepts).
    indent_edits: Vec<(usize, usize, usize)>,
}

/// Operators of `token.EXACT_TOKEN_TYPES` (3.11), longest first where one is a prefix of
/// another, as `tokenize`'s reverse-sorted alternation tries them.
const OPERATORS: [&str; 47] = [
    "**=", "...", "//=", "<<=", ">>=", "!=", "%=", "&=", "**", "*=", "+=", "-=", "->", "//", "/=",
    ":=", "<<", "<=", "==", ">=", ">>", "@=", "^=", "|=", "%", "&", "(", ")", "*", "+", ",", "-",
    ".", "/", ":", ";", "<", "=", ">", "@", "[", "]", "^", "{", "|", "}", "~",
];

/// The byte length of the operator at the start of `rest`, or 0.
fn operator_len(rest: &str) -> usize {
    // Most tokens are names: a byte that starts no operator answers at once.
    match rest.as_bytes().first() {
        Some(b'!' | b'%' | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/')
        | Some(b':' | b';' | b'<' | b'=' | b'>' | b'@' | b'[' | b']' | b'^' | b'{' | b'|')
        | Some(b'}' | b'~') => OPERATORS
            .iter()
            .find(|op| rest.starts_with(**op))
            .map_or(0, |op| op.len()),
        _ => 0,
    }
}

/// Whether `p` (the characters before a quote) is one of `tokenize`'s string prefixes: the
/// empty string and every case and order of `b`, `r`, `u`, `f`, `br`, `fr`.
fn is_string_prefix(p: &str) -> bool {
    let lower = |i: usize| p.as_bytes().get(i).map(u8::to_ascii_lowercase);
    match p.len() {
        0 => true,
        1 => matches!(lower(0), Some(b'b' | b'r' | b'u' | b'f')),
        2 => matches!(
            (lower(0), lower(1)),
            (Some(b'b'), Some(b'r'))
                | (Some(b'r'), Some(b'b'))
                | (Some(b'f'), Some(b'r'))
                | (Some(b'r'), Some(b'f'))
        ),
        _ => false,
    }
}

/// The length of a string prefix followed by a quote at the start of `s`: `(prefix length,
/// quote)`; prefixes are at most 2 ASCII letters.
fn string_start(s: &str) -> Option<(usize, u8)> {
    let b = s.as_bytes();
    for plen in 0..=2usize {
        let &q = b.get(plen)?;
        if q == b'\'' || q == b'"' {
            let prefix = s.get(..plen)?;
            return is_string_prefix(prefix).then_some((plen, q));
        }
        if !q.is_ascii_alphabetic() {
            return None;
        }
    }
    None
}

/// `endpats`: the end (exclusive) of a string whose opening quotes came before `s` — the
/// first `q` (`qqq` when `triple`) not escaped by a backslash — or `None`, also at a
/// backslash before `\n`, which the patterns' `\\.` does not match. (For a single-quoted
/// string continued on a later line, newlines are content.)
fn string_end(s: &str, q: u8, triple: bool) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let next = *b.get(i + 1)?;
                if next == b'\n' {
                    return None;
                }
                i += 1 + utf8_len(next);
            }
            c if c == q && !triple => return Some(i + 1),
            c if c == q && b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) => {
                return Some(i + 3)
            }
            _ => i += 1,
        }
    }
    None
}

/// `ContStr` after the prefix: `q[^\n q\\]*(?:\\.[^\n q\\]*)*(?:q|\\\r?\n)` on `s` (which
/// starts at the quote). `Some((end, continued))`.
fn cont_str(s: &str, q: u8) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\n' => return None,
            b'\\' => {
                let next = *b.get(i + 1)?;
                if next == b'\n' {
                    return Some((i + 2, true));
                }
                if next == b'\r' && b.get(i + 2) == Some(&b'\n') {
                    return Some((i + 3, true));
                }
                i += 1 + utf8_len(next);
            }
            c if c == q => return Some((i + 1, false)),
            _ => i += 1,
        }
    }
    None
}

/// The end of `Number` at the start of `s` (`tokenize`'s `Imagnumber|Floatnumber|Intnumber`),
/// or 0.
fn number_len(s: &str) -> usize {
    use regex::Regex;
    use std::sync::OnceLock;
    // A constant pattern (the tests run it): compiling cannot fail.
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let exponent = r"[eE][-+]?[0-9](?:_?[0-9])*";
        let point = format!(r"(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:{exponent})?");
        let expfloat = format!(r"[0-9](?:_?[0-9])*{exponent}");
        let float = format!("(?:{point}|{expfloat})");
        let imag = format!(r"(?:[0-9](?:_?[0-9])*[jJ]|{float}[jJ])");
        let int = r"(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|(?:0(?:_?0)*|[1-9](?:_?[0-9])*))";
        Regex::new(&format!("^(?:{imag}|{float}|{int})")).ok()
    });
    re.as_ref().and_then(|re| re.find(s)).map_or(0, |m| m.end())
}

/// Tracks the expression depth bound: per open bracket, the operators and keywords since
/// the last comma at that level.
#[derive(Default)]
struct DepthBound {
    levels: Vec<usize>,
    max: usize,
}

impl DepthBound {
    fn reset(&mut self) {
        self.levels.clear();
    }
    fn current(&mut self) -> &mut usize {
        if self.levels.is_empty() {
            self.levels.push(0);
        }
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }
    fn bump(&mut self) {
        *self.current() += 1;
        let sum: usize = self.levels.iter().sum();
        self.max = self.max.max(sum);
    }
    fn op(&mut self, op: &str) {
        match op {
            "(" | "[" | "{" => {
                self.bump();
                self.levels.push(0);
            }
            ")" | "]" | "}" => {
                if self.levels.len() > 1 {
                    self.levels.pop();
                }
            }
            "," | ";" => *self.current() = 0,
            "=" | ":" => {}
            _ => self.bump(),
        }
    }
    fn name(&mut self, name: &str) {
        // `and`/`or` and comparisons build flat nodes; names and literals are leaves.
        if matches!(
            name,
            "not" | "lambda" | "if" | "else" | "await" | "yield" | "for" | "async" | "from"
        ) {
            self.bump();
        }
    }
}

/// Runs CPython 3.11's pure-Python `tokenize.generate_tokens` over `text`.
// Every offset sliced at is the start or end of an ASCII byte or of a whole character.
#[allow(clippy::string_slice)]
fn tokenize(text: &str) -> Tokens {
    let mut out = Tokens::default();
    let mut comments = String::new();
    let mut depth = DepthBound::default();
    let mut parenlev: i64 = 0;
    let mut continued = false;
    let mut indents: Vec<usize> = vec![0];
    // CPython's tokenizer also measures indentation with tabs of 1 column.
    let mut alt_indents: Vec<usize> = vec![0];
    let mut next_start = 0usize;
    // The next token starts a statement: the first of a logical line, or the one after a
    // compound statement's `:` on the same line.
    let mut opens = false;
    // Open `elif` chains: (column, length).
    let mut elifs: Vec<(usize, usize)> = Vec::new();
    // A string continued over lines: its quote, triple or not, and (single-quoted) whether
    // it needs a backslash at each line end.
    let mut contstr: Option<(u8, bool)> = None;
    let mut lines = text.split_inclusive('\n');
    loop {
        let line = lines.next().unwrap_or("");
        let line_start = next_start;
        next_start += line.len();
        let b = line.as_bytes();
        let max = b.len();
        let mut pos = 0usize;
        if let Some((q, triple)) = contstr {
            if line.is_empty() {
                return out; // TokenError: EOF in multi-line string
            }
            let end = string_end(line, q, triple);
            if let Some(end) = end {
                pos = end;
                contstr = None;
            } else if !triple && !line.ends_with("\\\n") && !line.ends_with("\\\r\n") {
                // ERRORTOKEN: the string and this whole line.
                contstr = None;
                continue;
            } else {
                continue;
            }
        } else if parenlev == 0 && !continued {
            if line.is_empty() {
                break;
            }
            let mut column = 0usize;
            let mut alt = 0usize;
            let mut plain = true;
            while pos < max {
                match b[pos] {
                    b' ' => {
                        column += 1;
                        alt += 1;
                    }
                    b'\t' => {
                        column = (column / 8 + 1) * 8;
                        alt += 1;
                        plain = false;
                    }
                    b'\x0c' => {
                        column = 0;
                        alt = 0;
                        plain = false;
                    }
                    _ => break,
                }
                pos += 1;
            }
            if pos == max {
                break;
            }
            if !plain {
                // Also a comment-only or blank line: CPython ignores its indentation, the
                // Rust parser's lexer does not.
                out.indent_edits
                    .push((line_start, line_start + pos, column));
            }
            opens = true;
            match b[pos] {
                b'#' => {
                    comments.push_str(line[pos..].trim_end_matches(['\r', '\n']));
                    continue;
                }
                b'\r' | b'\n' => continue,
                _ => {}
            }
            let top = *indents.last().unwrap_or(&0);
            let alt_top = *alt_indents.last().unwrap_or(&0);
            if column == top {
                out.tab_error |= alt != alt_top;
            } else if column > top {
                out.tab_error |= alt <= alt_top;
                indents.push(column);
                alt_indents.push(alt);
                out.max_indents = out.max_indents.max(indents.len() - 1);
            }
            while column < *indents.last().unwrap_or(&0) {
                if !indents.contains(&column) {
                    out.indentation_error = true;
                    return out;
                }
                indents.pop();
                alt_indents.pop();
                if column == *indents.last().unwrap_or(&0) {
                    out.tab_error |= alt != *alt_indents.last().unwrap_or(&0);
                }
            }
            // An `elif` nests an `If` in the previous one's `orelse`: a chain is as deep as
            // it is long, on top of the chains it sits in.
            elifs.retain(|&(c, _)| c <= column);
            let word = line[pos..].split(|ch: char| !is_word(ch)).next();
            let is_elif = word == Some("elif");
            match elifs.last_mut() {
                Some((c, n)) if *c == column => *n = if is_elif { *n + 1 } else { 0 },
                _ if is_elif => elifs.push((column, 1)),
                _ => {}
            }
            let chained: usize = elifs.iter().map(|&(_, n)| n).sum();
            out.depth_bound = out.depth_bound.max(chained);
        } else {
            if line.is_empty() {
                return out; // TokenError: EOF in multi-line statement
            }
            continued = false;
        }

        while pos < max {
            // PseudoToken = Whitespace group(PseudoExtras, Number, Funny, ContStr, Name)
            let mut start = pos;
            while start < max && matches!(b[start], b' ' | b'\x0c' | b'\t') {
                start += 1;
            }
            let rest = &line[start..];
            if rest.is_empty() {
                pos = max; // `\Z`
                continue;
            }
            let c = b[start];
            if c == b'\\' && (rest.starts_with("\\\n") || rest.starts_with("\\\r\n")) {
                continued = true;
                pos = max;
                continue;
            }
            if c == b'#' {
                let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
                comments.push_str(&rest[..end]);
                pos = start + end;
                continue;
            }
            let string = string_start(rest);
            if let Some((plen, q)) = string {
                let qs = rest.as_bytes();
                if qs.get(plen + 1) == Some(&q) && qs.get(plen + 2) == Some(&q) {
                    out.docstring_candidate |= opens;
                    opens = false;
                    // Triple: its end on this line, or a string continued.
                    let body = start + plen + 3;
                    match string_end(&line[body..], q, true) {
                        Some(end) => {
                            pos = body + end;
                            continue;
                        }
                        None => {
                            contstr = Some((q, true));
                            break;
                        }
                    }
                }
            }
            // `Number` starts with a digit, or `.` and a digit.
            let numeric = c.is_ascii_digit()
                || c == b'.' && rest.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
            let n = if numeric { number_len(rest) } else { 0 };
            if n > 0 {
                opens = false;
                pos = start + n;
                continue;
            }
            if c == b'\n' || rest.starts_with("\r\n") {
                opens = false;
                if parenlev == 0 {
                    depth.reset();
                }
                pos = max;
                continue;
            }
            let o = operator_len(rest);
            if o > 0 {
                let op = &rest[..o];
                match op {
                    "(" | "[" | "{" => {
                        parenlev += 1;
                        out.max_brackets = out.max_brackets.max(parenlev);
                    }
                    ")" | "]" | "}" => parenlev -= 1,
                    _ => {}
                }
                depth.op(op);
                out.docstring_candidate |= opens && op == "(";
                opens = op == ":" && parenlev == 0;
                pos = start + o;
                continue;
            }
            if let Some((plen, q)) = string {
                if let Some((end, cont)) = cont_str(&rest[plen..], q) {
                    out.docstring_candidate |= opens;
                    opens = false;
                    if cont {
                        contstr = Some((q, false));
                        break;
                    }
                    pos = start + plen + end;
                    continue;
                }
            }
            let name_len: usize = rest
                .char_indices()
                .find(|&(_, ch)| !is_word(ch))
                .map_or(rest.len(), |(i, _)| i);
            if name_len > 0 {
                opens = false;
                depth.name(&rest[..name_len]);
                pos = start + name_len;
                continue;
            }
            // ERRORTOKEN: one character at `pos` (which may be the whitespace before).
            opens = false;
            pos += line[pos..].chars().next().map_or(1, char::len_utf8);
        }
        out.depth_bound = out.depth_bound.max(depth.max);
    }
    out.depth_bound = out.depth_bound.max(depth.max);
    comments.retain(|ch| ch != '#');
    out.comments = Some(comments);
    out
}

/// `inspect.cleandoc` (CPython 3.11).
fn cleandoc(doc: &str) -> String {
    let expanded = expand_tabs(doc);
    let mut lines: Vec<&str> = expanded.split('\n').collect();
    let mut margin = usize::MAX;
    for line in lines.iter().skip(1) {
        let content = line.trim_start_matches(is_py_space).chars().count();
        if content > 0 {
            margin = margin.min(line.chars().count() - content);
        }
    }
    if let Some(first) = lines.first_mut() {
        *first = first.trim_start_matches(is_py_space);
    }
    if margin < usize::MAX {
        for line in lines.iter_mut().skip(1) {
            *line = line
                .char_indices()
                .nth(margin)
                .map_or("", |(i, _)| line.get(i..).unwrap_or(""));
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let lead = lines.iter().take_while(|l| l.is_empty()).count();
    lines[lead..].join("\n")
}

/// `str.expandtabs()`: tab stops every 8 columns, the column reset by `\n` and `\r`.
fn expand_tabs(s: &str) -> String {
    if !s.contains('\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut col = 0usize;
    for ch in s.chars() {
        match ch {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(ch);
                col = 0;
            }
            _ => {
                out.push(ch);
                col += 1;
            }
        }
    }
    out
}

/// `ast.get_docstring(node)` of a body.
fn docstring(body: &[Stmt]) -> Option<String> {
    let Some(Stmt::Expr(e)) = body.first() else {
        return None;
    };
    match e.value.as_ref() {
        Expr::Constant(c) => match &c.value {
            Constant::Str(s) => Some(cleandoc(s)),
            _ => None,
        },
        _ => None,
    }
}

/// The node kinds of `NODE_TYPES`, in the order their names sort.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Class,
    Function,
    Module,
}

/// A node of `ast.walk`'s queue that can hold statements.
enum Node<'a> {
    Stmt(&'a Stmt),
    Handler(&'a ExceptHandler),
    Case(&'a ast::MatchCase),
}

/// The docstrings `get_docstrings` returns, in its order; `None` when the tree uses syntax
/// CPython 3.11 rejects.
fn docstrings(module: &[Stmt]) -> Option<Vec<String>> {
    let mut found: Vec<(Kind, Option<&str>, String)> = Vec::new();
    if let Some(d) = docstring(module) {
        found.push((Kind::Module, None, d));
    }
    let mut queue: VecDeque<Node<'_>> = module.iter().map(Node::Stmt).collect();
    while let Some(node) = queue.pop_front() {
        let s = match node {
            Node::Handler(ExceptHandler::ExceptHandler(h)) => {
                queue.extend(h.body.iter().map(Node::Stmt));
                continue;
            }
            Node::Case(c) => {
                queue.extend(c.body.iter().map(Node::Stmt));
                continue;
            }
            Node::Stmt(s) => s,
        };
        match s {
            Stmt::FunctionDef(f) => {
                if !f.type_params.is_empty() {
                    return None;
                }
                if let Some(d) = docstring(&f.body) {
                    found.push((Kind::Function, Some(f.name.as_str()), d));
                }
                queue.extend(f.body.iter().map(Node::Stmt));
            }
            Stmt::AsyncFunctionDef(f) => {
                if !f.type_params.is_empty() {
                    return None;
                }
                queue.extend(f.body.iter().map(Node::Stmt));
            }
            Stmt::ClassDef(c) => {
                if !c.type_params.is_empty() {
                    return None;
                }
                if let Some(d) = docstring(&c.body) {
                    found.push((Kind::Class, Some(c.name.as_str()), d));
                }
                queue.extend(c.body.iter().map(Node::Stmt));
            }
            Stmt::TypeAlias(_) => return None,
            Stmt::For(x) => {
                queue.extend(x.body.iter().chain(&x.orelse).map(Node::Stmt));
            }
            Stmt::AsyncFor(x) => {
                queue.extend(x.body.iter().chain(&x.orelse).map(Node::Stmt));
            }
            Stmt::While(x) => {
                queue.extend(x.body.iter().chain(&x.orelse).map(Node::Stmt));
            }
            Stmt::If(x) => {
                queue.extend(x.body.iter().chain(&x.orelse).map(Node::Stmt));
            }
            Stmt::With(x) => queue.extend(x.body.iter().map(Node::Stmt)),
            Stmt::AsyncWith(x) => queue.extend(x.body.iter().map(Node::Stmt)),
            Stmt::Match(x) => queue.extend(x.cases.iter().map(Node::Case)),
            Stmt::Try(x) => {
                queue.extend(x.body.iter().map(Node::Stmt));
                queue.extend(x.handlers.iter().map(Node::Handler));
                queue.extend(x.orelse.iter().chain(&x.finalbody).map(Node::Stmt));
            }
            Stmt::TryStar(x) => {
                queue.extend(x.body.iter().map(Node::Stmt));
                queue.extend(x.handlers.iter().map(Node::Handler));
                queue.extend(x.orelse.iter().chain(&x.finalbody).map(Node::Stmt));
            }
            _ => {}
        }
    }
    // `sorted(..., key=(kind name, node name))`: stable, `None` only for the one module.
    found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    Some(
        found
            .into_iter()
            .map(|(_, _, d)| d)
            .filter(|d| !d.is_empty())
            .collect(),
    )
}

/// Whether CPython's `ast.parse` would reject the file before or beyond what the grammar
/// says (see the module docs).
fn cpython_limits_exceeded(text: &str, tokens: &Tokens) -> bool {
    text.contains('\0')
        // CPython: "invalid non-printable character U+FEFF"; the Rust parser skips it.
        || text.starts_with('\u{feff}')
        || tokens.indentation_error
        || tokens.tab_error
        || tokens.max_brackets > 200
        || tokens.max_indents >= 100
        || tokens.depth_bound > DEPTH_LIMIT
}

/// `source` with each edited indentation replaced by its column in spaces.
// The edits are byte ranges of ASCII whitespace at line starts.
#[allow(clippy::string_slice)]
fn respace(source: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut at = 0;
    for &(start, end, column) in edits {
        out.push_str(&source[at..start]);
        out.extend(std::iter::repeat_n(' ', column));
        at = end;
    }
    out.push_str(&source[at..]);
    out
}

/// `len(get_text_python(text))` in characters.
pub fn natural_text_len(text: &str) -> usize {
    let tokens = tokenize(text);
    // CPython translates `\r\n` and `\r` to `\n` before tokenizing a `str` source: its
    // lines (and so its indentation) are those of the translated text.
    let translated;
    let (source, lines) = if text.contains('\r') {
        let t = text.replace("\r\n", "\n").replace('\r', "\n");
        let lines = tokenize(&t);
        translated = t;
        (translated.as_str(), Some(lines))
    } else {
        (text, None)
    };
    let lines = lines.as_ref().unwrap_or(&tokens);
    let docs = if !lines.docstring_candidate || cpython_limits_exceeded(source, lines) {
        None
    } else {
        let respaced;
        let source = if lines.indent_edits.is_empty() {
            source
        } else {
            respaced = respace(source, &lines.indent_edits);
            respaced.as_str()
        };
        // A panic inside the parser on some input is a file it cannot parse, not a failed
        // shard.
        std::panic::catch_unwind(|| ast::Suite::parse(source, "<string>").ok())
            .ok()
            .flatten()
            .and_then(|suite| docstrings(&suite))
    };
    let mut output = docs.map(|d| d.join("\n")).unwrap_or_default();
    output.push('\n');
    output.push_str(tokens.comments.as_deref().unwrap_or(""));
    py_strip(&output).chars().count()
}

/// `get_nl_ratio(text, "python")`: [`natural_text_len`] over the text's length in characters;
/// `None` for an empty text (Python divides by zero).
pub fn nl_ratio(text: &str) -> Option<f64> {
    let len = text.chars().count();
    (len > 0).then(|| natural_text_len(text) as f64 / len as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Snippets and CPython 3.11's `len(get_text_python(src))` for them (dolma 1.2.1's
    /// `starcoder.py`, run in the dolma venv).
    const CASES: &[(&str, &str, usize)] = &[
        ("a module docstring and comments", "\"\"\"Module doc.\"\"\"\n# one\nx = 1  # two #2\n", 22),
        ("a hash inside strings is not a comment", "s = '#no' + \"#no\" + '''#no'''\n# yes\n", 3),
        ("cleandoc strips the margin", "def f():\n    \"\"\"First.\n\n        Indented.\n    Back.\n    \"\"\"\n", 27),
        ("async defs give no docstring", "async def f():\n    \"\"\"Not counted.\"\"\"\n    def g():\n        \"\"\"Counted.\"\"\"\n", 8),
        ("bytes and f-strings are not docstrings", "def f():\n    b\"\"\"bytes\"\"\"\nclass C:\n    f\"\"\"{x}\"\"\"\n", 0),
        ("a syntax error keeps comments only", "print \"py2\"  # comment\n\"\"\"doc\"\"\"\n", 7),
        ("an unterminated string drops the comments", "# c\nx = \"\"\"open\n", 0),
        ("an unclosed bracket drops the comments", "# c\nx = (1,\n", 0),
        ("a stray closing bracket too", "# c\nx = 1)\n", 0),
        ("a bad dedent too", "if x:\n        y = 1  # c\n    z = 2\n", 0),
        ("an unterminated quote is an error token", "x = 'abc  # still a comment\n", 15),
        ("a continued single-quoted string", "x = 'a\\\n# inside'  # outside\n", 7),
        ("tabs after spaces parse in CPython", "def f():\n    \"\"\"Doc.\"\"\"\n    if x:\n    \t    return 1\n", 4),
        ("inconsistent tabs are a TabError", "def f():\n    \"\"\"Doc.\"\"\"\n    if x:\n\treturn 1\n", 0),
        ("CRLF and CR newlines", "def f():\r\n    \"\"\"A\r\n    b\"\"\"\r\n# c\rx = 1\r", 12),
        ("a NUL character fails the parse", "\"\"\"doc\"\"\"\n# c\nx = \"\\0\"\u{0}\n", 1),
        ("whitespace docstrings strip into the next", "class A:\n    \"\"\"\n        \n  \"\"\"\nclass B:\n    \"\"\"  b  \"\"\"\n", 1),
        ("sorted by kind then name", "def b():\n    \"\"\"B\"\"\"\ndef a():\n    \"\"\"  A\"\"\"\nclass Z:\n    \"\"\"Z\"\"\"\n", 5),
        ("a docstring after a one-line compound statement's colon", "def f(): \"one line\"\n", 8),
        ("and before a semicolon", "class A: \"\"\"doc\"\"\"; x = 1\n", 3),
        ("a parenthesized docstring", "(\"paren\" \"thesized\")\nx = 1\n", 13),
        ("a docstring after a backslash continuation", "\\\n\"\"\"after a continuation\"\"\"\n", 20),
        ("a string after a semicolon is none", "x = 1; \"not a docstring\"\n", 0),
        ("annotations are none", "def f(a: \"ann\") -> \"ret\": pass\n", 0),
        ("type aliases are 3.12", "\"\"\"d\"\"\"\ntype X = int\n", 0),
        ("comment-only file", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n", 42),
        ("form feed and backslash continuation", "\u{c}\"\"\"d\"\"\"\nx = 1 + \\\n    2  # c\n", 4),
        ("a BOM is a syntax error", "\u{feff}\"\"\"d\"\"\"\n# c\n", 1),
        ("escapes are evaluated", "def f():\n    \"\"\"\\t\\x41\\N{BULLET}\\\n  z\"\"\"\n", 5),
    ];

    #[test]
    fn snippets_match_cpython() {
        for (name, src, want) in CASES {
            assert_eq!(natural_text_len(src), *want, "{name}");
        }
    }

    #[test]
    fn cpython_limits_match() {
        let brackets =
            |n: usize| format!("\"\"\"d\"\"\"\nx = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(natural_text_len(&brackets(200)), 1);
        assert_eq!(natural_text_len(&brackets(201)), 0);
        let nested = |n: usize| {
            let mut s = String::from("\"\"\"d\"\"\"\n");
            for i in 0..n {
                s.push_str(&format!("{}if 1:\n", " ".repeat(i)));
            }
            s.push_str(&format!("{}pass\n", " ".repeat(n)));
            s
        };
        assert_eq!(natural_text_len(&nested(99)), 1);
        assert_eq!(natural_text_len(&nested(100)), 0);
        let sum = format!("\"\"\"d\"\"\"\nx = {}\n", vec!["1"; 3100].join("+"));
        assert_eq!(natural_text_len(&sum), 0);
        let list = format!("\"\"\"d\"\"\"\nx = [{}]\n", vec!["1+1"; 5000].join(","));
        assert_eq!(natural_text_len(&list), 1);
    }

    #[test]
    fn ratios_divide_by_the_length_in_characters() {
        assert_eq!(nl_ratio(""), None);
        assert_eq!(nl_ratio("# é\n"), Some(1.0 / 4.0));
    }

    #[test]
    fn deep_expressions_do_not_overflow_a_small_stack() {
        // Inputs CPython refuses, on a thread with rayon's default 2 MiB stack.
        let inputs = [
            "not ".repeat(200_000) + "x",
            "a".to_string() + &".b".repeat(200_000),
            "-".repeat(200_000) + "1",
            "lambda:".repeat(100_000) + "1",
            "if x:\n  pass\n".to_string() + &"elif x:\n  pass\n".repeat(100_000),
        ];
        let h = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                inputs
                    .iter()
                    .map(|s| natural_text_len(s))
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(h.join().unwrap(), vec![0; 5]);
    }
}
