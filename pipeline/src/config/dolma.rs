//! Pieces every dolma command's config shares: the `work_dir` section (dolma's
//! `WorkDirConfig`, `python/dolma/cli/shared.py`), the merge of command-line flags over a
//! config file, and OmegaConf's interpolations (`${oc.env:HOME}`), resolved as dolma's CLI
//! resolves them (`om.resolve`, `python/dolma/cli/__init__.py`) before the typed config is
//! read.

use super::{index, join, omega, ConfigProblem};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// Scratch directories (dolma `WorkDirConfig`: Python `input`/`output: Optional[str] = None`;
/// the Rust side requires both). dolma stages `s3://` inputs and outputs there; loam streams
/// from object stores and accepts the section without using it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkDirConfig {
    /// Input scratch directory.
    #[serde(default, deserialize_with = "omega::opt")]
    pub input: Option<String>,
    /// Output scratch directory.
    #[serde(default, deserialize_with = "omega::opt")]
    pub output: Option<String>,
}

/// Merges `over` into `base` as OmegaConf's `merge` does for dolma's command-line flags over
/// its config file: mappings merge key by key, recursively; anything else (a list, a scalar,
/// null) replaces what was there.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// How deep interpolations may nest (a node that refers to itself stops here).
const MAX_DEPTH: usize = 32;

/// Resolves every OmegaConf interpolation in a dolma config tree, as `om.resolve` does:
///
/// - `${oc.env:VAR}` is the environment variable (an error when unset); `${oc.env:VAR,default}`
///   falls back to the default, converted to a string as Python's `str()` does (`null` stays
///   null);
/// - `${a.b[0]}` / `${a.b.0}` is the value of another key of the config;
/// - `${d.processes:}` / `${d.processes:N}` is dolma's resolver: the CPU count less N, at
///   least 1;
/// - a string that is one interpolation takes the value's type; in a longer string each value
///   is written out as Python's `str()` writes it;
/// - `\${` is a literal `${`, and `\\${…}` a backslash before an interpolation.
///
/// Other resolvers are problems at the field holding them, as is an unset variable without a
/// default.
pub fn resolve_interpolations(tree: &Value) -> Result<Value, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let out = walk(tree, tree, "", &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn walk(root: &Value, v: &Value, path: &str, problems: &mut Vec<ConfigProblem>) -> Value {
    match v {
        Value::String(s) => match resolve_string(root, s, 0) {
            Ok(r) => r,
            Err(message) => {
                problems.push(ConfigProblem {
                    path: path.to_string(),
                    message: format!("interpolation in {s:?}: {message}"),
                });
                v.clone()
            }
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| walk(root, item, &index(path, i), problems))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, item)| (k.clone(), walk(root, item, &join(path, k), problems)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// A piece of a string: text, or an interpolation's inside (between `${` and `}`).
enum Piece {
    Text(String),
    Interp(String),
}

/// Splits a string into text and interpolations; `None` when it has no interpolation.
fn pieces(s: &str) -> Result<Option<Vec<Piece>>, String> {
    if !s.contains("${") {
        return Ok(None);
    }
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        if b[i..].starts_with(br"\\${") {
            text.push('\\');
            i += 2;
            continue;
        }
        if b[i..].starts_with(br"\${") {
            text.push_str("${");
            i += 3;
            continue;
        }
        if b[i..].starts_with(b"${") {
            let end = closing(s, i + 2)?;
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Interp(
                s.get(i + 2..end).unwrap_or_default().to_string(),
            ));
            any = true;
            i = end + 1;
            continue;
        }
        // Whole UTF-8 characters: `i` only ever stops at ASCII bytes or character starts.
        match s.get(i..).and_then(|r| r.chars().next()) {
            Some(ch) => {
                text.push(ch);
                i += ch.len_utf8();
            }
            None => i += 1,
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(if any { Some(out) } else { Some(vec_text(out)) })
}

/// A string whose only `${` were escaped: one text piece.
fn vec_text(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut s = String::new();
    for p in pieces {
        if let Piece::Text(t) = p {
            s.push_str(&t);
        }
    }
    vec![Piece::Text(s)]
}

/// Walks `s` from byte `from`, skipping quoted strings (with `\` escapes) and nested
/// `${…}`, and calls `at(i, byte)` on each byte at the top level until it returns true.
/// Returns where it stopped (`None`: the end) and whether a quote was left open.
fn scan_top_level(
    s: &str,
    from: usize,
    mut at: impl FnMut(usize, u8) -> bool,
) -> (Option<usize>, bool) {
    let b = s.as_bytes();
    let (mut depth, mut quote, mut i) = (0usize, None::<u8>, from);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'}' if depth > 0 => depth -= 1,
                _ if depth == 0 && at(i, c) => return (Some(i), false),
                _ => {}
            },
        }
        i += 1;
    }
    (None, quote.is_some())
}

/// The index of the `}` closing an interpolation whose inside starts at `from` (nested
/// `${…}` and quoted strings skipped).
fn closing(s: &str, from: usize) -> Result<usize, String> {
    scan_top_level(s, from, |_, c| c == b'}')
        .0
        .ok_or_else(|| "no closing `}`".into())
}

fn resolve_string(root: &Value, s: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("interpolations nest too deep (a key that refers to itself?)".into());
    }
    let Some(parts) = pieces(s)? else {
        return Ok(Value::String(s.to_string()));
    };
    if let [Piece::Interp(inner)] = parts.as_slice() {
        return interpolation(root, inner, depth);
    }
    let mut out = String::new();
    for p in parts {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Interp(inner) => out.push_str(&py_str(&interpolation(root, &inner, depth)?)?),
        }
    }
    Ok(Value::String(out))
}

/// Python's `str()` of a scalar.
fn py_str(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => omega::number_to_py(n),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => {
            return Err("a list or mapping cannot be part of a longer string".into())
        }
    })
}

/// One interpolation's inside: a resolver call (`name:args`) or a key of the config.
fn interpolation(root: &Value, inner: &str, depth: usize) -> Result<Value, String> {
    let inner = inner.trim();
    let resolver = inner.split_once(':').filter(|(name, _)| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    });
    let Some((name, args)) = resolver else {
        return node(root, inner, depth);
    };
    let args = split_args(args)?
        .into_iter()
        .map(|a| argument(root, a, depth))
        .collect::<Result<Vec<_>, _>>()?;
    match (name, args.as_slice()) {
        ("oc.env", [Value::String(var)]) => std::env::var(var)
            .map(Value::String)
            .map_err(|_| format!("environment variable `{var}` is not set (and no default)")),
        ("oc.env", [Value::String(var), default]) => match std::env::var(var) {
            Ok(v) => Ok(Value::String(v)),
            Err(_) if default.is_null() => Ok(Value::Null),
            Err(_) => py_str(default).map(Value::String),
        },
        ("oc.env", _) => Err("oc.env takes a variable name and an optional default".into()),
        ("d.processes", []) | ("d.processes", [Value::Null]) => Ok(processes(0)),
        ("d.processes", [Value::Number(n)]) if n.is_i64() => Ok(processes(n.as_i64().unwrap_or(0))),
        ("d.processes", _) => Err("d.processes takes an optional integer".into()),
        _ => Err(format!(
            "the resolver `{name}` is not supported (loam resolves oc.env, d.processes and references to other keys)"
        )),
    }
}

/// dolma's `d.processes` resolver: `max(1, cpu_count() - n)`.
fn processes(n: i64) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get()) as i64;
    Value::Number(Number::from((cpus - n).max(1)))
}

/// Splits resolver arguments at top-level commas (not inside quotes or nested `${…}`).
fn split_args(s: &str) -> Result<Vec<&str>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut commas = Vec::new();
    let (_, open_quote) = scan_top_level(s, 0, |i, c| {
        if c == b',' {
            commas.push(i);
        }
        false
    });
    if open_quote {
        return Err("unterminated quote in a resolver argument".into());
    }
    let mut out = Vec::new();
    let mut start = 0;
    for i in commas {
        out.push(s.get(start..i).unwrap_or_default());
        start = i + 1;
    }
    out.push(s.get(start..).unwrap_or_default());
    Ok(out)
}

/// One resolver argument as OmegaConf's grammar reads it: a quoted string, an
/// interpolation, `null`, a bool, an int, a float, or an unquoted string.
fn argument(root: &Value, a: &str, depth: usize) -> Result<Value, String> {
    let a = a.trim();
    let quoted = ["'", "\""].into_iter().find_map(|q| {
        let inner = a.strip_prefix(q)?.strip_suffix(q)?;
        Some((q, inner))
    });
    if let Some((q, inner)) = quoted {
        let inner = inner.replace(&format!("\\{q}"), q);
        return match resolve_string(root, &inner, depth + 1)? {
            Value::String(s) => Ok(Value::String(s)),
            other => py_str(&other).map(Value::String),
        };
    }
    if a.contains("${") {
        return resolve_string(root, a, depth + 1);
    }
    let lower = a.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => {
            let plain = a.replace('_', "");
            if let Ok(i) = plain.parse::<i64>() {
                Value::Number(Number::from(i))
            } else if let Some(f) = plain
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(Number::from_f64)
            {
                Value::Number(f)
            } else {
                Value::String(a.to_string())
            }
        }
    })
}

/// The value of another key, `a.b[0]` or `a.b.0`, its own interpolations resolved.
fn node(root: &Value, key: &str, depth: usize) -> Result<Value, String> {
    if key.starts_with('.') {
        return Err(format!(
            "relative key `{key}` is not supported; write the key from the config's top"
        ));
    }
    let mut cur = root;
    for part in key.split('.') {
        let (name, indices) = match part.split_once('[') {
            Some((name, rest)) => (name, rest),
            None => (part, ""),
        };
        if !name.is_empty() {
            cur = match cur {
                Value::Object(m) => m.get(name),
                Value::Array(a) => name.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("the config has no key `{key}`"))?;
        }
        // `a[0][1]`: after the first `[`, `0]`, `1]`.
        for ix in indices.split('[').filter(|x| !x.is_empty()) {
            let i: usize = ix
                .strip_suffix(']')
                .and_then(|x| x.trim().parse().ok())
                .ok_or_else(|| format!("bad index in `{key}`"))?;
            cur = cur
                .get(i)
                .ok_or_else(|| format!("the config has no key `{key}`"))?;
        }
    }
    Ok(match cur {
        Value::String(s) => resolve_string(root, s, depth + 1)?,
        other => walk_plain(root, other, depth)?,
    })
}

/// A referenced list or mapping, with its own interpolations resolved.
fn walk_plain(root: &Value, v: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("interpolations nest too deep (a key that refers to itself?)".into());
    }
    Ok(match v {
        Value::String(s) => resolve_string(root, s, depth + 1)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| walk_plain(root, x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), walk_plain(root, x, depth + 1)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(v: Value) -> Result<Value, Vec<ConfigProblem>> {
        resolve_interpolations(&v)
    }

    #[test]
    fn env_with_and_without_default() {
        std::env::set_var("LOAM_TEST_INTERP_HOME", "/home/x");
        std::env::remove_var("LOAM_TEST_INTERP_UNSET");
        let v = resolve(json!({
            "documents": ["${oc.env:LOAM_TEST_INTERP_HOME}/wiki/documents/*.gz"],
            "a": "${oc.env:LOAM_TEST_INTERP_UNSET,/tmp/d}",
            "b": "${oc.env:LOAM_TEST_INTERP_UNSET,null}",
            "c": "${oc.env:LOAM_TEST_INTERP_UNSET,4}",
            "d": "${oc.env:LOAM_TEST_INTERP_UNSET,true}",
            "e": "${oc.env:LOAM_TEST_INTERP_UNSET,'a,b'}",
            "f": "x-${oc.env:LOAM_TEST_INTERP_UNSET,null}",
            "g": "${oc.env:LOAM_TEST_INTERP_UNSET,${oc.env:LOAM_TEST_INTERP_HOME}}",
            "h": "${oc.env:LOAM_TEST_INTERP_UNSET, 1.50}",
        }))
        .unwrap();
        assert_eq!(v["documents"][0], "/home/x/wiki/documents/*.gz");
        assert_eq!(v["a"], "/tmp/d");
        assert_eq!(v["b"], Value::Null);
        assert_eq!(v["c"], "4");
        assert_eq!(v["d"], "True");
        assert_eq!(v["e"], "a,b");
        assert_eq!(v["f"], "x-None");
        assert_eq!(v["g"], "/home/x");
        assert_eq!(v["h"], "1.5");
        let errs = resolve(json!({"s": [{"p": "${oc.env:LOAM_TEST_INTERP_UNSET}"}]})).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "s[0].p");
        assert!(
            errs[0].message.contains("LOAM_TEST_INTERP_UNSET"),
            "{errs:?}"
        );
    }

    #[test]
    fn escapes_keys_and_unsupported_resolvers() {
        let v = resolve(json!({
            "lit": "\\${oc.env:HOME}",
            "bs": "a\\\\${name}",
            "name": "exp",
            "n": {"k": [3, "${name}"]},
            "ref": "${n.k[1]}-${n.k.0}",
            "whole": "${n.k}",
            "plain": "$HOME {x}",
        }))
        .unwrap();
        assert_eq!(v["lit"], "${oc.env:HOME}");
        assert_eq!(v["bs"], "a\\exp");
        assert_eq!(v["ref"], "exp-3");
        assert_eq!(v["whole"], json!([3, "exp"]));
        assert_eq!(v["plain"], "$HOME {x}");
        let errs =
            resolve(json!({"p": "${d.procs:}", "q": "${missing.key}", "r": "${r}"})).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["p", "q", "r"], "{errs:?}");
        assert!(errs[0].message.contains("d.procs"), "{errs:?}");
        assert!(matches!(
            resolve(json!({"p": "${d.processes:}"})).unwrap()["p"],
            Value::Number(_)
        ));
    }

    #[test]
    fn flags_merge_over_the_file() {
        let mut base =
            json!({"taggers": ["a", "b"], "work_dir": {"input": "i", "output": "o"}, "x": 1});
        merge(
            &mut base,
            &json!({"taggers": ["c"], "work_dir": {"input": "j"}, "experiment": null}),
        );
        assert_eq!(
            base,
            json!({"taggers": ["c"], "work_dir": {"input": "j", "output": "o"}, "x": 1, "experiment": null})
        );
    }
}
