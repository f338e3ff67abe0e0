//! Which parts of a document a jq program (or a JSONPath filter,
//! [`jsonpath_filter_needs`]) can observe, so the mixer converts and reads only those.
//!
//! Converting a whole document (its text, every attribute's spans) to a jq value costs more
//! than running typical filters on it, which read a few attributes
//! (`.attributes.NAME | …`). The analysis walks the program's syntax tree tracking whether
//! each sub-filter's input may be the document itself. The document may only be indexed by
//! literal keys: `.attributes.NAME…` needs that attribute, `.FIELD…` that top-level field,
//! whole. Anything that could observe the document as a value — a bare `.` passed to an
//! operator or a function, `..`, `keys`, a computed key, an assignment, a definition, a
//! `reduce` on it, binding it to a variable — makes the analysis give up ([`needs`] returns
//! `None`), and the whole document is converted as before. Where it succeeds, the program
//! sees, at every path it can reach, the same values as on the whole document, so its
//! results and its errors are the same.

use jaq_syn::filter::{BinaryOp, Filter, KeyVal};
use jaq_syn::path::Part as PathPart;
use jaq_syn::string::Part as StrPart;
use jaq_syn::Spanned;
use std::collections::BTreeSet;

/// The parts of a document a set of jq programs reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Top-level fields read (whole), other than `attributes`.
    pub fields: BTreeSet<String>,
    /// Attributes read (whole), by name under `attributes`.
    pub attributes: BTreeSet<String>,
}

impl Needs {
    /// What all of `programs` read together; `None` when one of them may read more than
    /// named parts (or does not parse).
    pub fn of_all<'a>(programs: impl IntoIterator<Item = &'a str>) -> Option<Needs> {
        let mut all = Needs::default();
        for p in programs {
            let n = needs(p)?;
            all.fields.extend(n.fields);
            all.attributes.extend(n.attributes);
        }
        Some(all)
    }
}

/// The named parts of the document that `source` reads, or `None` when it may observe
/// more (see the module's documentation).
pub fn needs(source: &str) -> Option<Needs> {
    let (main, errs) = jaq_parse::parse(source, jaq_parse::main());
    if !errs.is_empty() {
        return None;
    }
    let main = main?;
    if !main.defs.is_empty() {
        return None;
    }
    let mut n = Needs::default();
    // Its output is observed (truthiness, or the selected value): never the document.
    value(&main.body, true, &mut n).ok()?;
    Some(n)
}

/// The analysis gave up.
struct Opaque;

/// Visits `f`, whose input is the document when `root`; whether its output may be the
/// document.
fn visit(f: &Spanned<Filter>, root: bool, n: &mut Needs) -> Result<bool, Opaque> {
    match &f.0 {
        Filter::Id => Ok(root),
        Filter::Num(_) | Filter::Var(_) => Ok(false),
        Filter::Str(s) => {
            if let Some(fmt) = &s.fmt {
                // Applied to each interpolated value, not to the input.
                value(fmt, false, n)?;
            }
            for p in &s.parts {
                if let StrPart::Fun(g) = p {
                    value(g, root, n)?;
                }
            }
            Ok(false)
        }
        Filter::Array(g) => {
            if let Some(g) = g {
                value(g, root, n)?;
            }
            Ok(false)
        }
        Filter::Object(kvs) => {
            for kv in kvs {
                match kv {
                    KeyVal::Filter(k, v) => {
                        value(k, root, n)?;
                        value(v, root, n)?;
                    }
                    KeyVal::Str(k, v) => {
                        for p in &k.parts {
                            if let StrPart::Fun(g) = p {
                                value(g, root, n)?;
                            }
                        }
                        match v {
                            Some(v) => value(v, root, n)?,
                            // `{a}` is `{a: .a}`, `{$x}` a variable: give up on the document.
                            None if root => return Err(Opaque),
                            None => {}
                        }
                    }
                }
            }
            Ok(false)
        }
        Filter::Path(head, parts) => {
            // Index expressions are evaluated on the path's input, not on the head's output.
            for (part, _) in parts {
                match part {
                    PathPart::Index(i) => value(i, root, n)?,
                    PathPart::Range(a, b) => {
                        for x in [a, b].into_iter().flatten() {
                            value(x, root, n)?;
                        }
                    }
                }
            }
            if root && matches!(head.0, Filter::Id) {
                let first = parts.first().and_then(|p| literal_key(&p.0));
                match first.ok_or(Opaque)? {
                    "attributes" => {
                        let name = parts.get(1).and_then(|p| literal_key(&p.0));
                        n.attributes.insert(name.ok_or(Opaque)?.to_string());
                    }
                    k => {
                        n.fields.insert(k.to_string());
                    }
                }
                return Ok(false);
            }
            value(head, root, n)?;
            Ok(false)
        }
        Filter::Ite(branches, otherwise) => {
            let mut out = false;
            for (cond, then) in branches {
                value(cond, root, n)?;
                out |= visit(then, root, n)?;
            }
            out |= match otherwise {
                Some(e) => visit(e, root, n)?,
                None => root, // `if c then x end` passes its input through
            };
            Ok(out)
        }
        Filter::Fold(_, fold) => {
            if root {
                return Err(Opaque);
            }
            for g in [&fold.xs, &fold.init, &fold.f] {
                value(g, false, n)?;
            }
            Ok(false)
        }
        Filter::TryCatch(body, catch) => {
            let out = visit(body, root, n)?;
            if let Some(c) = catch {
                // Its input is the error, whose values come from non-document parts.
                value(c, false, n)?;
            }
            Ok(out)
        }
        Filter::Try(body) => visit(body, root, n),
        Filter::Neg(g) => {
            value(g, root, n)?;
            Ok(false)
        }
        Filter::Recurse => match root {
            true => Err(Opaque),
            false => Ok(false),
        },
        Filter::Call(name, args) => {
            if root {
                // Builtins that ignore their input; every other call sees the document.
                let ignores = matches!(name.as_str(), "null" | "true" | "false" | "empty");
                return match args.is_empty() && ignores {
                    true => Ok(false),
                    false => Err(Opaque),
                };
            }
            for a in args {
                visit(a, false, n)?;
            }
            Ok(false)
        }
        Filter::Binary(a, op, b) => match op {
            BinaryOp::Pipe(None) => {
                let a_root = visit(a, root, n)?;
                visit(b, a_root, n)
            }
            BinaryOp::Pipe(Some(_)) => {
                // `a as $x | b`: `$x` must not hold the document; `b` reads the input.
                value(a, root, n)?;
                visit(b, root, n)
            }
            BinaryOp::Comma => Ok(visit(a, root, n)? | visit(b, root, n)?),
            BinaryOp::Alt | BinaryOp::Or | BinaryOp::And | BinaryOp::Math(_) | BinaryOp::Ord(_) => {
                value(a, root, n)?;
                value(b, root, n)?;
                Ok(false)
            }
            BinaryOp::Assign(_) => Err(Opaque),
        },
    }
}

/// Visits `f` where its output is used as a value: it must not be the document.
fn value(f: &Spanned<Filter>, root: bool, n: &mut Needs) -> Result<(), Opaque> {
    match visit(f, root, n)? {
        true => Err(Opaque),
        false => Ok(()),
    }
}

/// The key of `.name`, `."name"` or `.["name"]`.
fn literal_key(p: &PathPart<Spanned<Filter>>) -> Option<&str> {
    let PathPart::Index((Filter::Str(s), _)) = p else {
        return None;
    };
    match (&s.fmt, s.parts.as_slice()) {
        (None, [StrPart::Str(k)]) => Some(k),
        _ => None,
    }
}

/// A name after `@.` in a JSONPath filter: ASCII letters, digits and `_`, not starting with
/// a digit.
fn ident(s: &str) -> Option<(&str, &str)> {
    name_with(s, |c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name in a `$.` path: also `-` (jsonpath-rust reads `$.attributes.a-b` as key `a-b`).
fn segment(s: &str) -> Option<(&str, &str)> {
    name_with(s, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn name_with(s: &str, ok: impl Fn(char) -> bool) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !ok(c)).unwrap_or(s.len());
    let first = s.chars().next()?;
    (end > 0 && !first.is_ascii_digit()).then(|| s.split_at(end))
}

/// Skips `(.NAME | [DIGITS])*`, names read by `name`.
fn tail(mut s: &str, name: fn(&str) -> Option<(&str, &str)>) -> &str {
    loop {
        if let Some((_, r)) = s.strip_prefix('.').and_then(name) {
            s = r;
        } else if let Some(r) = s.strip_prefix('[') {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            match r.get(end..).and_then(|x| x.strip_prefix(']')) {
                Some(x) if end > 0 => s = x,
                _ => return s,
            }
        } else {
            return s;
        }
    }
}

/// The attributes a literal JSONPath path reads (a span selector's or a filter's):
/// `$.attributes.NAME…` reads NAME, a path of literal segments outside `attributes`
/// (`$.metadata.url`) none; anything else — `$.attributes` alone, `*`, `..`, a filter,
/// quotes — `None`.
pub fn jsonpath_path_needs(source: &str) -> Option<BTreeSet<String>> {
    let (first, rest) = segment(source.trim().strip_prefix("$.")?)?;
    if first != "attributes" {
        return tail(rest, segment).is_empty().then(BTreeSet::new);
    }
    let (name, r) = segment(rest.strip_prefix('.')?)?;
    tail(r, segment)
        .is_empty()
        .then(|| BTreeSet::from([name.to_string()]))
}

/// The attributes a dolma JSONPath *filter* pattern can observe, when it observes only named
/// ones: a literal path ([`jsonpath_path_needs`]) or `$.attributes[?(COND)]` whose
/// condition refers to the document only through `@.NAME…` (numbers, comparisons, `&&`,
/// `||`, `!` and parentheses around them). A filter only asks whether the pattern finds
/// anything, and `[?(…)]` on an object tests the object itself, so other attributes cannot
/// change the answer. Anything else (`*`, `..`, quotes, `$` in the condition, `@` alone or
/// bracketed): `None`.
pub fn jsonpath_filter_needs(source: &str) -> Option<BTreeSet<String>> {
    if let Some(n) = jsonpath_path_needs(source) {
        return Some(n);
    }
    let mut body = source
        .trim()
        .strip_prefix("$.attributes[?(")?
        .strip_suffix(")]")?;
    let mut names = BTreeSet::new();
    while let Some(c) = body.chars().next() {
        if let Some(r) = body.strip_prefix("@.") {
            let (name, r) = ident(r)?;
            names.insert(name.to_string());
            body = tail(r, ident);
        } else if c.is_ascii_digit() || " \t()!<>=&|.+-eE".contains(c) {
            body = body.get(1..).unwrap_or_default();
        } else if let Some(r) = ["true", "false", "null"]
            .iter()
            .find_map(|w| body.strip_prefix(w))
        {
            body = r;
        } else {
            return None;
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn named_parts_are_found() {
        let n = needs(r#"(.attributes.a | if type == "array" and length > 0 then .[0][2] < 100 else false end)"#).unwrap();
        assert_eq!(n.attributes, set(&["a"]));
        assert!(n.fields.is_empty());
        let n = needs(
            r#".attributes["b c"][0][2] > 0.5 and (.text | length) > 10 or .metadata.url == null"#,
        )
        .unwrap();
        assert_eq!(n.attributes, set(&["b c"]));
        assert_eq!(n.fields, set(&["metadata", "text"]));
        let n = needs(r#".attributes?.x // [] | map(.[2]) | add > 1"#).unwrap();
        assert_eq!(n.attributes, set(&["x"]));
        let n = needs(r#"if .attributes.a then true else .attributes.b | length > 0 end"#).unwrap();
        assert_eq!(n.attributes, set(&["a", "b"]));
        let n = needs(r#".attributes.a as $a | $a[0] | try (.[5] | tostring) catch "x""#).unwrap();
        assert_eq!(n.attributes, set(&["a"]));
        let n = needs(r#"[.attributes.a[] | select(.[2] > 0.5)] | length > 0"#).unwrap();
        assert_eq!(n.attributes, set(&["a"]));
        // `.` piped on is still the document, indexed by a name.
        let n = needs("(.) | .text | length").unwrap();
        assert_eq!(n.fields, set(&["text"]));
        let n = needs(r#"false, null, empty"#).unwrap();
        assert!(n.attributes.is_empty() && n.fields.is_empty());
    }

    #[test]
    fn anything_that_may_see_the_document_gives_up() {
        for p in [
            ".",
            "length > 3",
            "keys | length",
            ".attributes | length",
            ".attributes[.k]",
            ".[\"a\" + \"b\"]",
            "..",
            "tostring | contains(\"x\")",
            ". as $d | $d.text",
            "select(.attributes.a)",
            "if .attributes.a then . else false end",
            "if .attributes.a then 1 end",
            "{text}",
            ".text = \"x\"",
            "reduce .attributes.a[] as $s (0; . + $s[2])",
            "def f: .; f.text",
            "has(\"text\")",
            "not",
            ".attributes.a, .",
            "\"\\(.)\"",
            "@json | length > 2",
            "[paths] | length",
            "getpath([\"text\"])",
            "to_entries | length",
            "input_filename",
            "this is not jq (",
        ] {
            assert_eq!(needs(p), None, "{p}");
        }
    }

    #[test]
    fn jsonpath_filters_that_name_their_attributes() {
        let j = jsonpath_filter_needs;
        assert_eq!(
            j("$.attributes[?(@.bff_dup && @.bff_dup[0] && @.bff_dup[0][2] >= 1.0)]"),
            Some(set(&["bff_dup"]))
        );
        assert_eq!(
            j("$.attributes[?(@.a[0][2] < 0.5 || !(@.b_2[0][2] > 1e-3))]"),
            Some(set(&["a", "b_2"]))
        );
        assert_eq!(j(" $.attributes.x[0][2] "), Some(set(&["x"])));
        assert_eq!(j("$.attributes.a-b"), Some(set(&["a-b"])));
        // Paths (span selectors) alone: a filter's condition is not one.
        let p = jsonpath_path_needs;
        assert_eq!(p("$.attributes.a-b[0]"), Some(set(&["a-b"])));
        assert_eq!(p("$.metadata.url"), Some(set(&[])));
        assert_eq!(p("$.attributes[?(@.a)]"), None);
        assert_eq!(p("$.attributes"), None);
        assert_eq!(j("$.metadata.url"), Some(set(&[])));
        for p in [
            "$.attributes",
            "$.attributes[?(@)]",
            "$.attributes[?(@['a'])]",
            "$.attributes[?(@.a > $.b)]",
            "$.attributes.*",
            "$..a",
            "$.attributes[?(@.a)][0]",
            "$.attributes[*]",
            "$.metadata[?(@.a)]",
            "$.attributes[?(@.a == 'x')]",
        ] {
            assert_eq!(j(p), None, "{p}");
        }
    }

    #[test]
    fn programs_together() {
        let n = Needs::of_all([".attributes.a", ".text | length > 1", ".attributes.b"]).unwrap();
        assert_eq!(n.attributes, set(&["a", "b"]));
        assert_eq!(n.fields, set(&["text"]));
        assert_eq!(Needs::of_all([".attributes.a", "."]), None);
    }
}
