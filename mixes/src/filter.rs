//! Filter and selector expressions of dolma mixer configs: JSONPath and jq, with dolma
//! 1.2.1's semantics (`src/filters.rs` in allenai/dolma at v1.2.1).
//!
//! Both languages run on the crates, at the versions, dolma 1.2.1 locks: `jsonpath-rust`
//! 0.3.5 (whose non-standard behaviour configs rely on: `$.metadata[?(@.length < 10000)]`
//! tests the `metadata` object itself rather than its members) and jaq 1.2 (`jaq-core`,
//! `jaq-std`, `jaq-interpret` 1.2.1, `jaq-parse` 1.0.2, `jaq-syn` 1.1.0).
//!
//! Unlike dolma, which parses each JSONPath pattern again for every document and every
//! pattern (`JsonPathFinder::from_str` in `JsonPathFilter::should_keep`) and deep-copies the
//! document for each, expressions here are parsed and checked once, when the config is
//! loaded, and evaluated on a borrowed document. jq programs hold reference-counted values
//! that cannot cross threads, so each worker thread compiles a program once, the first time
//! it needs it, and keeps it ([`JqProgram`]).
//!
//! Matching, as dolma does it:
//! - JSONPath: a pattern matches when it finds anything (`find() != null`).
//! - jq, `include`: matches when the program yields at least one value and every value is
//!   truthy; `exclude`: matches when any value is truthy (`JqDocFilter::should_keep`).
//! - jq truthiness is dolma's, not jq's (`JqDocFilter::evaluate_match`): `false`, `null`, `0`,
//!   `0.0`, `""`, `[]` and `{}` are false. A number read from the document that is not an
//!   integer (jaq's `Num`, e.g. a score `0.0`) is *always* true, because dolma's conversion
//!   keeps such numbers as decimal strings and its truthiness test falls through to `true`
//!   for them; numbers computed by the program (`.x[0][2] * 1`) follow the rules above.
//! - Any jq runtime error fails the document (dolma fails the whole output shard).

use jaq_interpret::{Ctx, Filter, FilterT, ParseCtx, RcIter, Val};
use jsonpath_rust::JsonPathInst;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::str::FromStr;

use crate::config::{FilterConfig, FilterSyntax};
use crate::jq_needs::Needs;

/// The attribute names an expression reads, found in its text: `.attributes.NAME`,
/// `.attributes?.NAME`, `.attributes["NAME"]` (jq and JSONPath), and `@.NAME` inside a
/// JSONPath filter over `attributes` (`$.attributes[?(@.NAME …)]`). A textual scan, so a
/// name built at run time (`.attributes[$k]`) is not found; used only to warn and to check
/// names against what taggers write, never to decide.
pub fn referenced_attributes(source: &str) -> Vec<String> {
    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        s.get(..end).unwrap_or("")
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !n.is_empty() && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    };
    for (i, _) in source.match_indices("attributes") {
        let Some(rest) = source.get(i + "attributes".len()..) else {
            continue;
        };
        let rest = rest.strip_prefix('?').unwrap_or(rest);
        if let Some(r) = rest.strip_prefix('.') {
            push(ident(r));
        } else if let Some(r) = rest.strip_prefix('[') {
            let r = r.trim_start();
            let quoted = r
                .strip_prefix('"')
                .map(|t| (t, '"'))
                .or_else(|| r.strip_prefix('\'').map(|t| (t, '\'')));
            if let Some((t, q)) = quoted {
                if let Some((name, _)) = t.split_once(q) {
                    push(name);
                }
            } else if let Some(body) = r.strip_prefix("?(") {
                for tail in body.split("@.").skip(1) {
                    push(ident(tail));
                }
            }
        }
    }
    out
}

/// An expression that does not parse or compile, located in the config and in itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: invalid {language} expression {expr:?}{}: {message}", at_char(*.position))]
pub struct ExprError {
    /// Field path in the config, e.g. `streams[0].filter.exclude[2]`.
    pub field: String,
    /// `JSONPath` or `jq`.
    pub language: &'static str,
    /// The expression.
    pub expr: String,
    /// 0-based character offset of the problem in the expression, when known.
    pub position: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ExprError {
    /// The message without the field path (for reports that print the path apart).
    pub fn describe(&self) -> String {
        format!(
            "invalid {} expression {:?}{}: {}",
            self.language,
            self.expr,
            at_char(self.position),
            self.message
        )
    }
}

fn at_char(p: Option<usize>) -> String {
    match p {
        Some(p) => format!(" at character {}", p + 1),
        None => String::new(),
    }
}

/// A compiled JSONPath pattern.
#[derive(Clone)]
pub struct JsonPath {
    source: String,
    inst: JsonPathInst,
}

impl std::fmt::Debug for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonPath({:?})", self.source)
    }
}

impl JsonPath {
    /// Parses a pattern; `field` locates it in the config for errors.
    pub fn new(source: &str, field: &str) -> Result<JsonPath, ExprError> {
        match JsonPathInst::from_str(source) {
            Ok(inst) => Ok(JsonPath {
                source: source.to_string(),
                inst,
            }),
            Err(message) => Err(ExprError {
                field: field.to_string(),
                language: "JSONPath",
                expr: source.to_string(),
                position: pest_position(&message),
                message: compact(&message),
            }),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the pattern finds anything in `doc` (dolma: `finder.find() != Value::Null`).
    pub fn matches(&self, doc: &Value) -> bool {
        !self.inst.find_slice(doc).is_empty()
    }

    /// dolma's `JsonPathSelector::select`: nothing found is `null`, one value is itself,
    /// several are an array of them.
    pub fn select<'a>(&'a self, doc: &'a Value) -> Selected<'a> {
        let mut found = self.inst.find_slice(doc);
        match found.len() {
            0 => Selected::Null,
            1 => match found.pop() {
                Some(jsonpath_rust::JsonPtr::Slice(v)) => Selected::Borrowed(v),
                Some(jsonpath_rust::JsonPtr::NewValue(v)) => Selected::Owned(v),
                None => Selected::Null,
            },
            _ => Selected::Owned(Value::Array(found.into_iter().map(|p| p.clone()).collect())),
        }
    }
}

/// What a selector found.
#[derive(Debug)]
pub enum Selected<'a> {
    /// Nothing (dolma's `null`).
    Null,
    /// A value of the document.
    Borrowed(&'a Value),
    /// A value made by the expression.
    Owned(Value),
}

impl Selected<'_> {
    /// The value (`null` when nothing was found).
    pub fn value(&self) -> &Value {
        match self {
            Selected::Null => &Value::Null,
            Selected::Borrowed(v) => v,
            Selected::Owned(v) => v,
        }
    }
}

/// pest errors read `  --> 1:13` (line:column, 1-based).
fn pest_position(message: &str) -> Option<usize> {
    let (_, rest) = message.split_once("--> ")?;
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ':'))?;
    let (line, col) = rest.get(..end)?.split_once(':')?;
    if line != "1" {
        return None;
    }
    col.parse::<usize>().ok()?.checked_sub(1)
}

/// One line for multi-line parser messages.
fn compact(message: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in message.lines() {
        let t = l.trim();
        // pest's code excerpt: `|`, `1 | $.a[`, `^---`
        if t.is_empty() || t.starts_with("-->") || t.starts_with('|') || t.starts_with('^') {
            continue;
        }
        if t.split_once(" | ")
            .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        out.push(t.trim_start_matches("= "));
    }
    out.join("; ")
}

/// A jq program: checked when the config is loaded, compiled once per worker thread.
#[derive(Debug, Clone)]
pub struct JqProgram {
    source: String,
}

thread_local! {
    static JQ_CACHE: RefCell<HashMap<String, Rc<Filter>>> = RefCell::new(HashMap::new());
}

fn jq_context() -> ParseCtx {
    let mut defs = ParseCtx::new(Vec::new());
    defs.insert_natives(jaq_core::core());
    defs.insert_defs(jaq_std::std());
    defs
}

fn compile_jq(source: &str, field: &str) -> Result<Filter, ExprError> {
    let err = |position: Option<usize>, message: String| ExprError {
        field: field.to_string(),
        language: "jq",
        expr: source.to_string(),
        position,
        message,
    };
    let (main, errs) = jaq_parse::parse(source, jaq_parse::main());
    if let Some(e) = errs.first() {
        // chumsky's own message lists expected tokens in hash order; sort them.
        let mut message = match e.found() {
            Some(t) => format!("unexpected `{t}`"),
            None => "unexpected end of input".to_string(),
        };
        let mut expected: Vec<String> = e
            .expected()
            .map(|t| match t {
                Some(t) => format!("`{t}`"),
                None => "end of input".to_string(),
            })
            .collect();
        expected.sort();
        expected.dedup();
        if !expected.is_empty() {
            message.push_str(&format!(", expected {}", expected.join(" ")));
        }
        if errs.len() > 1 {
            message.push_str(&format!(" ({} more problem(s) after it)", errs.len() - 1));
        }
        return Err(err(Some(e.span().start), message));
    }
    let Some(main) = main else {
        return Err(err(None, "no program".into()));
    };
    let mut defs = jq_context();
    let filter = defs.compile(main);
    if let Some((e, span)) = defs.errs.first() {
        let name = source
            .chars()
            .skip(span.start)
            .take(span.end.saturating_sub(span.start))
            .collect::<String>();
        return Err(err(Some(span.start), format!("{e} `{name}`")));
    }
    Ok(filter)
}

impl JqProgram {
    /// Parses and compiles `source` to check it; `field` locates it in the config.
    pub fn new(source: &str, field: &str) -> Result<JqProgram, ExprError> {
        compile_jq(source, field)?;
        Ok(JqProgram {
            source: source.to_string(),
        })
    }

    /// The program as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    fn with_filter<T>(&self, f: impl FnOnce(&Filter) -> T) -> T {
        let filter = JQ_CACHE.with(|c| {
            if let Some(f) = c.borrow().get(&self.source) {
                return f.clone();
            }
            // Checked in `new`; a failure here cannot happen, an empty filter is harmless.
            let compiled = Rc::new(compile_jq(&self.source, "").unwrap_or_default());
            c.borrow_mut().insert(self.source.clone(), compiled.clone());
            compiled
        });
        f(&filter)
    }

    /// Every value the program yields on `input`, or its first error.
    pub fn run(&self, input: &Val) -> Result<Vec<Val>, String> {
        self.with_filter(|filter| {
            let inputs = RcIter::new(core::iter::empty());
            let mut out = Vec::new();
            let mut first_err = None;
            for r in filter.run((Ctx::new(Vec::new(), &inputs), input.clone())) {
                match r {
                    Ok(v) => out.push(v),
                    // dolma collects all results, then fails on the first error.
                    Err(e) => {
                        if first_err.is_none() {
                            first_err = Some(jq_error_text(&e));
                        }
                    }
                }
            }
            match first_err {
                Some(e) => Err(e),
                None => Ok(out),
            }
        })
    }

    /// dolma's `JqSelector::select`: no value is `null`, one is itself, several an array.
    pub fn select(&self, input: &Val) -> Result<Value, String> {
        let mut out = self.run(input)?;
        Ok(match out.len() {
            0 => Value::Null,
            1 => out.pop().map(Value::from).unwrap_or(Value::Null),
            _ => Value::Array(out.into_iter().map(Value::from).collect()),
        })
    }
}

fn jq_error_text(e: &jaq_interpret::Error) -> String {
    match e {
        // Its `Display` panics; it never escapes `run`.
        jaq_interpret::Error::TailCall(_) => "internal jq error".into(),
        e => e.to_string(),
    }
}

/// Converts a document to a jq value exactly as dolma does (`Val::from(serde_json::Value)`:
/// integers that fit a machine integer become `Int`, every other number a decimal string
/// `Num`), without consuming the document.
pub fn to_val(v: &Value) -> Val {
    to_val_with(v, &mut Vec::new())
}

/// [`to_val`], sharing the decimal string of each distinct non-integer number among its
/// occurrences in the document (`nums`: bits → string): span scores repeat (every paragraph
/// span of a dedup attribute scores 1.0), and formatting each one again is most of the
/// conversion. The values are the same; only the `Rc`s are shared.
fn to_val_with(v: &Value, nums: &mut Vec<(u64, Rc<String>)>) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Val::Int(i as isize),
            None => match n.as_f64().filter(|_| n.is_f64()).map(f64::to_bits) {
                Some(bits) => match nums.iter().find(|(b, _)| *b == bits) {
                    Some((_, s)) => Val::Num(s.clone()),
                    None => {
                        let s = Rc::new(n.to_string());
                        if nums.len() < 16 {
                            nums.push((bits, s.clone()));
                        }
                        Val::Num(s)
                    }
                },
                None => Val::Num(Rc::new(n.to_string())),
            },
        },
        Value::String(s) => Val::str(s.clone()),
        Value::Array(a) => Val::arr(a.iter().map(|x| to_val_with(x, nums)).collect()),
        Value::Object(o) => Val::obj(
            o.iter()
                .map(|(k, v)| (Rc::new(k.clone()), to_val_with(v, nums)))
                .collect(),
        ),
    }
}

/// dolma's truthiness of a jq result (`JqDocFilter::evaluate_match`).
pub fn truthy(v: &Val) -> bool {
    match v {
        Val::Bool(b) => *b,
        Val::Null => false,
        Val::Int(i) => *i != 0,
        Val::Float(f) => *f != 0.0,
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a) => !a.is_empty(),
        Val::Obj(o) => !o.is_empty(),
        // `_ => Ok(true)`: big or non-integer numbers read from the document.
        Val::Num(_) => true,
    }
}

/// One selector, in either language (span selectors, jq replacements).
#[derive(Debug, Clone)]
pub enum Selector {
    /// JSONPath.
    JsonPath(JsonPath),
    /// jq.
    Jq(JqProgram),
}

impl Selector {
    /// Compiles `source` in `syntax`.
    pub fn new(source: &str, syntax: FilterSyntax, field: &str) -> Result<Selector, ExprError> {
        Ok(match syntax {
            FilterSyntax::Jsonpath => Selector::JsonPath(JsonPath::new(source, field)?),
            FilterSyntax::Jq => Selector::Jq(JqProgram::new(source, field)?),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        match self {
            Selector::JsonPath(p) => p.source(),
            Selector::Jq(p) => p.source(),
        }
    }
}

/// What a filter decided about one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Kept.
    Keep,
    /// `include` patterns were given and none matched.
    NoInclude,
    /// This `exclude` pattern (index) matched.
    Excluded(usize),
}

/// A stream's document filter, compiled.
#[derive(Debug, Clone)]
pub enum DocFilter {
    /// No filter: keep everything.
    AllowAll,
    /// JSONPath patterns.
    JsonPath {
        /// Keep patterns.
        include: Vec<JsonPath>,
        /// Drop patterns.
        exclude: Vec<JsonPath>,
    },
    /// jq programs.
    Jq {
        /// Keep programs.
        include: Vec<JqProgram>,
        /// Drop programs.
        exclude: Vec<JqProgram>,
    },
}

/// A document as each language needs it; the jq form is made once, on first use.
pub struct DocView<'a> {
    /// The document, attributes merged.
    pub json: &'a Value,
    jq: Option<Val>,
    needs: Option<&'a Needs>,
}

impl<'a> DocView<'a> {
    /// A view of `json`.
    pub fn new(json: &'a Value) -> Self {
        DocView {
            json,
            jq: None,
            needs: None,
        }
    }

    /// A view of `json` whose jq form holds only what `needs` names (every jq program run
    /// on it must read no more: [`crate::jq_needs`]); the whole document when `None`.
    pub fn with_needs(json: &'a Value, needs: Option<&'a Needs>) -> Self {
        DocView {
            json,
            jq: None,
            needs,
        }
    }

    /// The jq value of the document.
    pub fn jq(&mut self) -> &Val {
        let (json, needs) = (self.json, self.needs);
        self.jq.get_or_insert_with(|| match needs {
            Some(n) => project(json, n),
            None => to_val(json),
        })
    }
}

/// The jq value of the parts of `doc` that `n` names: the same values at those paths as
/// [`to_val`] of the whole document, without converting its text or other attributes.
fn project(doc: &Value, n: &Needs) -> Val {
    let Value::Object(o) = doc else {
        return to_val(doc);
    };
    let mut nums = Vec::new();
    let mut out: Vec<(Rc<String>, Val)> = Vec::new();
    for k in &n.fields {
        if let Some(v) = o.get(k) {
            out.push((Rc::new(k.clone()), to_val_with(v, &mut nums)));
        }
    }
    if !n.attributes.is_empty() {
        match o.get("attributes") {
            Some(Value::Object(a)) => {
                let picked = n
                    .attributes
                    .iter()
                    .filter_map(|k| Some((Rc::new(k.clone()), to_val_with(a.get(k)?, &mut nums))))
                    .collect();
                out.push((Rc::new("attributes".to_string()), Val::obj(picked)));
            }
            Some(other) => out.push((Rc::new("attributes".into()), to_val_with(other, &mut nums))),
            None => {}
        }
    }
    Val::obj(out.into_iter().collect())
}

/// The rule name of a document no `include` pattern matched, in counts and ledgers.
pub const INCLUDE_RULE: &str = "filter.include";

impl DocFilter {
    /// The rule names of the `exclude` patterns, in counts and ledgers:
    /// `filter.exclude[i] <pattern>`.
    pub fn exclude_rules(&self) -> Vec<String> {
        let sources: Vec<&str> = match self {
            DocFilter::AllowAll => Vec::new(),
            DocFilter::JsonPath { exclude, .. } => exclude.iter().map(JsonPath::source).collect(),
            DocFilter::Jq { exclude, .. } => exclude.iter().map(JqProgram::source).collect(),
        };
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| format!("filter.exclude[{i}] {s}"))
            .collect()
    }

    /// Compiles a stream's filter; every bad expression is reported, each with its field path
    /// under `at` (e.g. `streams[0].filter`).
    pub fn new(cfg: Option<&FilterConfig>, at: &str) -> Result<DocFilter, Vec<ExprError>> {
        let Some(cfg) = cfg else {
            return Ok(DocFilter::AllowAll);
        };
        let mut errs = Vec::new();
        fn all<T>(
            list: &[String],
            at: &str,
            key: &str,
            errs: &mut Vec<ExprError>,
            f: impl Fn(&str, &str) -> Result<T, ExprError>,
        ) -> Vec<T> {
            let mut out = Vec::new();
            for (i, s) in list.iter().enumerate() {
                match f(s, &format!("{at}.{key}[{i}]")) {
                    Ok(x) => out.push(x),
                    Err(e) => errs.push(e),
                }
            }
            out
        }
        let f = match cfg.syntax {
            FilterSyntax::Jsonpath => DocFilter::JsonPath {
                include: all(&cfg.include, at, "include", &mut errs, JsonPath::new),
                exclude: all(&cfg.exclude, at, "exclude", &mut errs, JsonPath::new),
            },
            FilterSyntax::Jq => DocFilter::Jq {
                include: all(&cfg.include, at, "include", &mut errs, JqProgram::new),
                exclude: all(&cfg.exclude, at, "exclude", &mut errs, JqProgram::new),
            },
        };
        if errs.is_empty() {
            Ok(f)
        } else {
            Err(errs)
        }
    }

    /// Decides about one document, evaluating patterns in dolma's order (includes until one
    /// matches, then excludes until one matches), so its jq errors surface where dolma's do.
    pub fn decide(&self, doc: &mut DocView) -> Result<Decision, String> {
        match self {
            DocFilter::AllowAll => Ok(Decision::Keep),
            DocFilter::JsonPath { include, exclude } => {
                if !include.is_empty() && !include.iter().any(|p| p.matches(doc.json)) {
                    return Ok(Decision::NoInclude);
                }
                Ok(match exclude.iter().position(|p| p.matches(doc.json)) {
                    Some(i) => Decision::Excluded(i),
                    None => Decision::Keep,
                })
            }
            DocFilter::Jq { include, exclude } => {
                if !include.is_empty() {
                    let mut any = false;
                    for (i, p) in include.iter().enumerate() {
                        let out = p
                            .run(doc.jq())
                            .map_err(|e| format!("filter.include[{i}] `{}`: {e}", p.source()))?;
                        if !out.is_empty() && out.iter().all(truthy) {
                            any = true;
                            break;
                        }
                    }
                    if !any {
                        return Ok(Decision::NoInclude);
                    }
                }
                for (i, p) in exclude.iter().enumerate() {
                    let out = p
                        .run(doc.jq())
                        .map_err(|e| format!("filter.exclude[{i}] `{}`: {e}", p.source()))?;
                    if out.iter().any(truthy) {
                        return Ok(Decision::Excluded(i));
                    }
                }
                Ok(Decision::Keep)
            }
        }
    }

    /// The jq programs it runs on documents (none for JSONPath).
    pub fn jq_sources(&self) -> Vec<&str> {
        match self {
            DocFilter::Jq { include, exclude } => include
                .iter()
                .chain(exclude)
                .map(JqProgram::source)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The expression of an exclude pattern, for reports.
    pub fn exclude_source(&self, i: usize) -> &str {
        match self {
            DocFilter::AllowAll => "",
            DocFilter::JsonPath { exclude, .. } => exclude.get(i).map_or("", |p| p.source()),
            DocFilter::Jq { exclude, .. } => exclude.get(i).map_or("", |p| p.source()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_referenced_attributes() {
        use super::referenced_attributes as r;
        assert_eq!(
            r("$.attributes.exp__gopher_v1__word_count[0][2]"),
            ["exp__gopher_v1__word_count"]
        );
        assert_eq!(
            r("$@.attributes[?(@.a && @.a[0] && @.b[0][2] >= 1.0)]"),
            ["a", "b"]
        );
        assert_eq!(r(".attributes?.x?.y"), ["x"]);
        assert_eq!(
            r(r#".attributes["q"] | length > 0 and .attributes.z"#),
            ["q", "z"]
        );
        assert!(r("$.metadata.length").is_empty());
    }

    use super::*;
    use serde_json::json;

    /// Programs that read named parts give the same results and the same errors on the
    /// projected document as on the whole one.
    #[test]
    fn projected_documents_answer_like_whole_ones() {
        let docs = [
            json!({"id": "1", "text": "a b c", "metadata": {"url": "http://x", "n": 3},
                   "attributes": {"a": [[0, 5, 0.25], [5, 9, 1.0]], "b": [[0, 5, 120]],
                                  "c": [], "d": null, "e": "str", "f": [[0, 1, 1e300]]}}),
            json!({"id": "2", "text": "", "attributes": {"a": [[0, 1, 0.5]]}}),
            json!({"id": "3", "text": "x", "attributes": null}),
            json!({"id": "4", "text": "xy", "metadata": null}),
            json!({"id": "5", "text": "long text here", "attributes": {"a": {"k": [1, 2]}}}),
        ];
        let programs = [
            r#"(.attributes.a | if type == "array" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] < 0.5 else false end)"#,
            ".attributes.b[0][2] > 100",
            ".attributes.a[1][2] == 1",
            ".attributes.a.k",
            ".attributes.e + 1",
            ".attributes.d // \"none\"",
            ".attributes.f[0][2] > 1",
            ".attributes.c | length == 0",
            "(.text | length) > 3 and .metadata.url != null",
            ".metadata.n * 2",
            "[.attributes.a[]? | select(.[2] > 0.3)] | length",
            ".attributes.zz",
            ".attributes?.a?[0]?",
            "try (.attributes.a | .[\"x\"]) catch .",
            "\"\\(.attributes.b)\" | length",
            ".id | tonumber > 2",
        ];
        for p in programs {
            let n = crate::jq_needs::needs(p).unwrap_or_else(|| panic!("{p}: not analyzed"));
            let prog = JqProgram::new(p, "t").unwrap();
            for d in &docs {
                let whole = prog.run(&to_val(d)).map(|v| format!("{v:?}"));
                let part = prog.run(&project(d, &n)).map(|v| format!("{v:?}"));
                assert_eq!(whole, part, "{p} on {d}");
            }
        }
    }

    /// JSONPath filters that name their attributes find the same on a document whose other
    /// attributes are `null` (the mixer's lean reading) as on the whole one.
    #[test]
    fn jsonpath_filters_match_lean_documents_like_whole_ones() {
        let docs = [
            json!({"text": "t", "attributes": {"a": [[0, 5, 0.75]], "b": [[0, 5, 1]],
                   "z": {"a": [[0, 1, 1.0]], "b": 1}, "y": [[0, 5, 2.0]]}}),
            json!({"text": "t", "attributes": {"b": [[0, 5, 0.25]], "z": {"a": 1}}}),
            json!({"text": "t", "attributes": {"a": [], "z": [[0, 1, 9]]}}),
            json!({"text": "t", "attributes": {"a": null, "b": "x"}}),
            json!({"text": "t", "metadata": {"url": "u"}, "attributes": {"z": {"a": [1]}}}),
        ];
        let patterns = [
            "$.attributes[?(@.a && @.a[0] && @.a[0][2] >= 0.5)]",
            "$.attributes[?(@.a[0][2] < 0.5 || @.b[0][2] == 1)]",
            "$.attributes[?(@.b)]",
            "$.attributes[?(!@.a)]",
            "$.attributes.a[0][2]",
            "$.attributes.a",
            "$.metadata.url",
        ];
        for p in patterns {
            let names = crate::jq_needs::jsonpath_filter_needs(p)
                .unwrap_or_else(|| panic!("{p}: not analyzed"));
            let path = JsonPath::new(p, "t").unwrap();
            for d in &docs {
                let mut lean = d.clone();
                if let Some(Value::Object(a)) = lean.get_mut("attributes") {
                    for (k, v) in a.iter_mut() {
                        if !names.contains(k) {
                            *v = Value::Null;
                        }
                    }
                }
                assert_eq!(path.matches(d), path.matches(&lean), "{p} on {d}");
            }
        }
    }

    fn jsonpath(include: &[&str], exclude: &[&str]) -> DocFilter {
        let cfg = FilterConfig {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            syntax: FilterSyntax::Jsonpath,
        };
        DocFilter::new(Some(&cfg), "f").unwrap()
    }

    fn jq(include: &[&str], exclude: &[&str]) -> DocFilter {
        let cfg = FilterConfig {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            syntax: FilterSyntax::Jq,
        };
        DocFilter::new(Some(&cfg), "f").unwrap()
    }

    fn keep(f: &DocFilter, doc: &Value) -> Result<bool, String> {
        f.decide(&mut DocView::new(doc))
            .map(|d| d == Decision::Keep)
    }

    #[test]
    fn jsonpath_filters_an_object_like_dolma() {
        // jsonpath-rust 0.3: a filter on an object tests the object itself.
        let f = jsonpath(
            &["$.metadata[?(@.length < 10000)]"],
            &["$.metadata[?(@.length < 500)]"],
        );
        assert!(keep(&f, &json!({"metadata": {"length": 5000}})).unwrap());
        assert!(!keep(&f, &json!({"metadata": {"length": 20000}})).unwrap());
        assert!(!keep(&f, &json!({"metadata": {"length": 100}})).unwrap());
        assert!(!keep(&f, &json!({"metadata": {}})).unwrap());
    }

    #[test]
    fn dolma_jsonpath_tests() {
        // `test_jsonpath_allow`, `test_jsonpath_exclude` (dolma src/filters.rs)
        let f = jsonpath(&["$..foo"], &[]);
        assert!(keep(&f, &json!({"foo": "bar", "baz": "qux"})).unwrap());
        let f = jsonpath(
            &[],
            &["$@.attributes[?(@.value1 && @.value1[0] && @.value1[0][2] >= 1.0)]"],
        );
        let doc = json!({"attributes": {"value1": [[0, 30, 1.0], [30, 45, 0.5]],
                                        "value2": [[45, 60, 0.0], [60, 75, 0.5]]}});
        assert!(!keep(&f, &doc).unwrap());
        let doc = json!({"attributes": {"value1": [[0, 30, 1], [30, 45, 0]],
                                        "value2": [[45, 60, 0], [60, 75, 0]]}});
        assert!(keep(&f, &doc).unwrap());
    }

    #[test]
    fn dolma_jq_tests() {
        let doc = json!({"attributes": {"foo": "bar", "baz": "qux"}});
        assert!(keep(
            &jq(&[".attributes.foo"], &[r#".attributes.baz == "quac""#]),
            &doc
        )
        .unwrap());
        assert!(!keep(
            &jq(&[".attributes.foo"], &[r#".attributes.baz == "qux""#]),
            &doc
        )
        .unwrap());
        let doc = json!({"attributes": {"foo": [1.0, 2.0, 3.0], "baz": [4.0, 5.0]}});
        assert!(keep(&jq(&[".attributes.foo | length >= 3"], &[]), &doc).unwrap());
        assert!(keep(&jq(&[".attributes.foo | add >= 6"], &[]), &doc).unwrap());
        let doc = json!({"attributes": {"foo": [1.0, 2.0, 1.0]}});
        assert!(!keep(&jq(&[".attributes.foo | add >= 6"], &[]), &doc).unwrap());
        // `test_jq_multiple_conditions`
        let f = jq(
            &["(.attributes.dedupe_para_ngrams_13_1 | length == 0) or ((.attributes.dedupe_para_ngrams_13_1 | map(.[2] * (.[1] - .[0])) | add) / (.text | length) <= 0.3)"],
            &[
                ".attributes.paloma_documents != null",
                "(.attributes.paloma_paragraphs | length) > 0",
                ".attributes.cc_multi_bin__cc_multi_bin__hq[0][-1] <= 0.01",
            ],
        );
        let doc = json!({"attributes": {"cc_multi_bin__cc_multi_bin__hq": [[0, 1533, 0.00564]],
                                        "dedupe_para_ngrams_13_1": [], "paloma_paragraphs": []}});
        assert!(!keep(&f, &doc).unwrap());
        // `test_jq_missing_attr`: an evaluation error is an error
        let f = jq(&[".attributes.b.b != null"], &[]);
        let doc = json!({"text": "test", "id": "0", "attributes": {"a": [[0, 3, 1]]}});
        assert!(keep(&f, &doc).is_err(), "{:?}", keep(&f, &doc));
    }

    #[test]
    fn dolma_truthiness() {
        let doc = json!({"a": 0.0, "b": 0, "c": "", "d": [], "e": {}, "f": 0.5});
        for (expr, want) in [
            (".a", true), // a document float stays a decimal string: always true
            (".a * 1", false),
            (".b", false),
            (".c", false),
            (".d", false),
            (".e", false),
            (".f", true),
            (".missing", false),
            ("empty", false),
            ("(true, false)", false), // include: every value must be true
        ] {
            assert_eq!(keep(&jq(&[expr], &[]), &doc).unwrap(), want, "{expr}");
        }
        // exclude: any true value drops
        assert!(!keep(&jq(&[], &["(true, false)"]), &doc).unwrap());
        assert!(keep(&jq(&[], &["empty"]), &doc).unwrap());
    }

    #[test]
    fn errors_point_into_the_expression() {
        let cfg = FilterConfig {
            include: vec!["$.ok".into()],
            exclude: vec![
                "$.a".into(),
                "$.b".into(),
                "$.metadata[?(@.length <)]".into(),
            ],
            syntax: FilterSyntax::Jsonpath,
        };
        let errs = DocFilter::new(Some(&cfg), "streams[0].filter").unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "streams[0].filter.exclude[2]");
        assert!(errs[0].position.is_some(), "{errs:?}");
        let text = errs[0].to_string();
        assert!(
            text.starts_with("streams[0].filter.exclude[2]: invalid JSONPath"),
            "{text}"
        );

        let cfg = FilterConfig {
            include: vec![".x | sum".into(), ".a | (".into()],
            exclude: vec![],
            syntax: FilterSyntax::Jq,
        };
        let errs = DocFilter::new(Some(&cfg), "streams[1].filter").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].field, "streams[1].filter.include[0]");
        assert_eq!(errs[0].position, Some(5), "{errs:?}");
        assert!(errs[0].message.contains("sum"), "{errs:?}");
        assert_eq!(errs[1].field, "streams[1].filter.include[1]");
        assert!(errs[1].position.is_some(), "{errs:?}");
    }

    #[test]
    fn selectors_return_null_one_or_many() {
        let doc = json!({"attributes": {"foo": [1, 2, 3], "baz": "qux"}});
        let p = JsonPath::new("$.attributes.foo", "s").unwrap();
        assert_eq!(p.select(&doc).value(), &json!([1, 2, 3]));
        let p = JsonPath::new("$.attributes.nope", "s").unwrap();
        assert_eq!(p.select(&doc).value(), &Value::Null);
        let p = JqProgram::new(".attributes?.nope?.baz?", "s").unwrap();
        assert_eq!(p.select(&to_val(&doc)).unwrap(), Value::Null);
        let p = JqProgram::new(".attributes.foo[]", "s").unwrap();
        assert_eq!(p.select(&to_val(&doc)).unwrap(), json!([1, 2, 3]));
    }

    #[test]
    fn programs_are_usable_from_any_thread() {
        let f = jq(&[".a > 1"], &[]);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| assert!(keep(&f, &json!({"a": 2})).unwrap()));
            }
        });
    }
}
