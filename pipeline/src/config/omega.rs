//! OmegaConf-compatible scalar coercion for typed configs.
//!
//! Why this exists: dolma's Python CLI does not read its YAML configs strictly. It loads them
//! with PyYAML (YAML 1.1) and merges them into OmegaConf structured configs, whose typed nodes
//! convert scalars (`omegaconf/nodes.py`): a string such as `"1_000_000_000"` in an `int` field
//! becomes the int `1000000000`. dolma's own example configs rely on this (e.g.
//! `docs/examples/wikipedia-mixer.yaml`), so a strict serde reader would reject files that
//! `dolma` accepts.
//!
//! The conversions, per field type:
//! - an `int` field takes an int or a string `int()` accepts (`"1_000_000_000"`);
//! - a `float` field takes an int, a float or a string `float()` accepts (PyYAML reads `1e-06`
//!   as a string);
//! - a `bool` field takes a bool, an int (`!= 0`) or one of `yes/y/on/true/no/n/off/false` (any
//!   case);
//! - a `str` field takes any scalar (`str(value)`).
//!
//! Lists and mappings are never coerced. The dolma Rust binary reads JSON strictly; everything
//! it accepts is accepted here too.
//!
//! Use the functions here as serde field deserializers:
//!
//! ```
//! use loam_pipeline::config::omega;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Example {
//!     #[serde(deserialize_with = "omega::req")]
//!     max_size_in_bytes: u64,
//!     #[serde(default, deserialize_with = "omega::opt")]
//!     name: Option<String>,
//! }
//!
//! let e: Example =
//!     serde_json::from_str(r#"{"max_size_in_bytes": "1_000_000_000", "name": 7}"#).unwrap();
//! assert_eq!(e.max_size_in_bytes, 1_000_000_000);
//! assert_eq!(e.name.as_deref(), Some("7"));
//! ```

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::{Number, Value};

/// A scalar type with OmegaConf's conversions.
pub trait Scalar: Sized {
    /// Converts a parsed scalar; `Err` carries the message.
    fn convert(v: &Value) -> Result<Self, String>;
}

fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

/// Python `int(s)` for base 10: surrounding whitespace, one sign, digits with single
/// underscores between them.
fn py_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let v: i128 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python `float(s)`: like Rust's parser, plus underscores between digits.
fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let b = t.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let ok =
                i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit();
            if !ok {
                return None;
            }
        }
    }
    t.replace('_', "").parse().ok()
}

/// Python `repr(float)`: shortest round-trip digits, scientific notation outside
/// `1e-4 <= |x| < 1e16`.
fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

fn integer(v: &Value) -> Result<i128, String> {
    let bad = || format!("expected an integer, found {}", found(v));
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .ok_or_else(bad),
        Value::String(s) => py_int(s).ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl Scalar for i64 {
    fn convert(v: &Value) -> Result<Self, String> {
        let i = integer(v)?;
        i64::try_from(i).map_err(|_| format!("integer {i} is out of range"))
    }
}

impl Scalar for u64 {
    fn convert(v: &Value) -> Result<Self, String> {
        let i = integer(v)?;
        u64::try_from(i).map_err(|_| format!("expected a non-negative integer, found {i}"))
    }
}

impl Scalar for usize {
    fn convert(v: &Value) -> Result<Self, String> {
        let i = integer(v)?;
        usize::try_from(i).map_err(|_| format!("expected a non-negative integer, found {i}"))
    }
}

impl Scalar for f64 {
    fn convert(v: &Value) -> Result<Self, String> {
        let bad = || format!("expected a number, found {}", found(v));
        match v {
            Value::Number(n) => n.as_f64().ok_or_else(bad),
            Value::String(s) => py_float(s).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl Scalar for f32 {
    fn convert(v: &Value) -> Result<Self, String> {
        // dolma's Rust side stores some fields as `f32` (serde_json rounds the decimal to f32).
        f64::convert(v).map(|x| x as f32)
    }
}

impl Scalar for bool {
    fn convert(v: &Value) -> Result<Self, String> {
        let bad = || format!("expected a boolean, found {}", found(v));
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Ok(i != 0),
                (_, Some(u)) => Ok(u != 0),
                _ => Err(bad()),
            },
            Value::String(s) => {
                if let Some(i) = py_int(s) {
                    return Ok(i != 0);
                }
                match s.to_ascii_lowercase().as_str() {
                    "yes" | "y" | "on" | "true" => Ok(true),
                    "no" | "n" | "off" | "false" => Ok(false),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl Scalar for String {
    fn convert(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(true) => Ok("True".to_string()),
            Value::Bool(false) => Ok("False".to_string()),
            Value::Number(n) => Ok(number_to_py(n)),
            _ => Err(format!("expected a string, found {}", found(v))),
        }
    }
}

pub(crate) fn number_to_py(n: &Number) -> String {
    if n.is_f64() {
        py_float_repr(n.as_f64().unwrap_or(f64::NAN))
    } else {
        n.to_string()
    }
}

impl Scalar for Vec<String> {
    fn convert(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| String::convert(item).map_err(|e| format!("[{i}]: {e}")))
                .collect(),
            _ => Err(format!("expected a list of strings, found {}", found(v))),
        }
    }
}

/// A value that must not be null.
pub fn req<'de, D: Deserializer<'de>, T: Scalar>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    T::convert(&v).map_err(D::Error::custom)
}

/// An optional value: null means `None`.
pub fn opt<'de, D: Deserializer<'de>, T: Scalar>(d: D) -> Result<Option<T>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => T::convert(&v).map(Some).map_err(D::Error::custom),
    }
}

/// A value whose null means its default (a Rust `Option` that dolma unwraps with a default).
pub fn or_default<'de, D: Deserializer<'de>, T: Scalar + Default>(d: D) -> Result<T, D::Error> {
    Ok(opt(d)?.unwrap_or_default())
}

/// An unsigned integer whose null means `N` (a Rust `Option<u64>` unwrapped with `N`).
pub fn u64_or<'de, D: Deserializer<'de>, const N: u64>(d: D) -> Result<u64, D::Error> {
    Ok(opt(d)?.unwrap_or(N))
}

/// A value whose null means its default, for structs, enums and lists of structs (a Rust
/// `Option<T>` that dolma unwraps with a default). The value itself is deserialized as is,
/// without scalar coercion.
pub fn null_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn conv<T: Scalar>(v: Value) -> Result<T, String> {
        T::convert(&v)
    }

    #[test]
    fn integers_accept_python_int_strings() {
        assert_eq!(conv::<u64>(json!("1_000_000_000")), Ok(1_000_000_000));
        assert_eq!(conv::<i64>(json!(" -12 ")), Ok(-12));
        assert_eq!(conv::<usize>(json!(3)), Ok(3));
        assert!(conv::<u64>(json!("1__0")).is_err());
        assert!(conv::<u64>(json!("_1")).is_err());
        assert!(conv::<u64>(json!(1.5)).is_err());
        assert!(conv::<u64>(json!(-1)).is_err());
        assert!(conv::<i64>(json!(true)).is_err());
    }

    #[test]
    fn floats_accept_ints_and_python_float_strings() {
        assert_eq!(conv::<f64>(json!("1e-06")), Ok(1e-6));
        assert_eq!(conv::<f64>(json!("1_0.5")), Ok(10.5));
        assert_eq!(conv::<f64>(json!(2)), Ok(2.0));
        assert_eq!(conv::<f32>(json!(0.1)), Ok(0.1_f32));
        assert!(conv::<f64>(json!("1_.5")).is_err());
        assert!(conv::<f64>(json!(false)).is_err());
    }

    #[test]
    fn booleans_accept_ints_and_yaml_words() {
        assert_eq!(conv::<bool>(json!("Yes")), Ok(true));
        assert_eq!(conv::<bool>(json!("off")), Ok(false));
        assert_eq!(conv::<bool>(json!(2)), Ok(true));
        assert_eq!(conv::<bool>(json!("0")), Ok(false));
        assert!(conv::<bool>(json!("maybe")).is_err());
    }

    #[test]
    fn strings_take_any_scalar_as_python_str() {
        assert_eq!(conv::<String>(json!(true)).as_deref(), Ok("True"));
        assert_eq!(conv::<String>(json!(1)).as_deref(), Ok("1"));
        assert_eq!(conv::<String>(json!(1.0)).as_deref(), Ok("1.0"));
        assert_eq!(conv::<String>(json!(1e-6)).as_deref(), Ok("1e-06"));
        assert_eq!(conv::<String>(json!(1e16)).as_deref(), Ok("1e+16"));
        assert!(conv::<String>(json!(null)).is_err());
        assert_eq!(
            conv::<Vec<String>>(json!(["a", 1])),
            Ok(vec!["a".to_string(), "1".to_string()])
        );
        assert_eq!(
            conv::<Vec<String>>(json!(["a", []])),
            Err("[1]: expected a string, found a list".to_string())
        );
    }

    #[test]
    fn field_deserializers_handle_null() {
        #[derive(Deserialize)]
        struct S {
            #[serde(default, deserialize_with = "opt")]
            a: Option<u64>,
            #[serde(default, deserialize_with = "or_default")]
            b: String,
            #[serde(default, deserialize_with = "u64_or::<_, 7>")]
            c: u64,
            #[serde(default, deserialize_with = "null_or_default")]
            d: Vec<u32>,
        }
        let s: S = serde_json::from_value(json!({"a": null, "b": null, "c": null, "d": null}))
            .expect("nulls load");
        assert_eq!((s.a, s.b.as_str(), s.c, s.d.len()), (None, "", 7, 0));

        #[derive(Debug, Deserialize)]
        struct R {
            #[serde(deserialize_with = "req")]
            #[allow(dead_code)]
            a: u64,
        }
        assert!(serde_json::from_value::<R>(json!({"a": null})).is_err());
    }
}
