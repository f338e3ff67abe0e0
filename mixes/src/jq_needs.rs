//! Which parts of a document a jq program can observe, so the mixer converts only those to
//! jq values.
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
    fn programs_together() {
        let n = Needs::of_all([".attributes.a", ".text | length > 1", ".attributes.b"]).unwrap();
        assert_eq!(n.attributes, set(&["a", "b"]));
        assert_eq!(n.fields, set(&["text"]));
        assert_eq!(Needs::of_all([".attributes.a", "."]), None);
    }
}
