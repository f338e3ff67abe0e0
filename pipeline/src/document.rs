//! The Dolma document and attribute records.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One Dolma document: `id` and `text` are required strings; every other top-level field
/// (`source`, `added`, `created`, `metadata`, and anything else) is kept as is.
///
/// Serialized with keys in sorted order, as dolma's Rust mixer writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document id; unique within a source by convention, not checked.
    pub id: String,
    /// The document text.
    pub text: String,
    /// All other top-level fields, unchanged.
    pub fields: Map<String, Value>,
}

impl Document {
    /// A document with only `id` and `text`.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            text: text.into(),
            fields: Map::new(),
        }
    }

    /// The `source` field, when it is a string.
    pub fn source(&self) -> Option<&str> {
        self.fields.get("source").and_then(Value::as_str)
    }

    /// The `metadata` object, when present.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.fields.get("metadata").and_then(Value::as_object)
    }
}

/// Why a line is not a valid Dolma document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The line is not valid JSON, or not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// No `id` field.
    #[error("missing field `id`")]
    MissingId,
    /// `id` is present but not a string.
    #[error("field `id` must be a string, found {0}")]
    IdNotString(&'static str),
    /// No `text` field.
    #[error("missing field `text`")]
    MissingText,
    /// `text` is present but not a string.
    #[error("field `text` must be a string, found {0}")]
    TextNotString(&'static str),
}

/// JSON type name for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Intermediate form: `id`/`text` kept as values so their type errors can be named.
struct RawDocument {
    id: Option<Value>,
    text: Option<Value>,
    fields: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RawDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDocument;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDocument, A::Error> {
                let mut raw = RawDocument {
                    id: None,
                    text: None,
                    fields: Map::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => raw.id = Some(map.next_value()?),
                        "text" => raw.text = Some(map.next_value()?),
                        _ => {
                            let v: Value = map.next_value()?;
                            raw.fields.insert(key, v);
                        }
                    }
                }
                Ok(raw)
            }
        }
        d.deserialize_map(V)
    }
}

impl Document {
    /// Parses one JSON line. The caller has already checked UTF-8.
    pub fn from_json(line: &str) -> Result<Document, DocumentError> {
        let raw: RawDocument =
            serde_json::from_str(line).map_err(|e| DocumentError::NotJson(e.to_string()))?;
        let id = match raw.id {
            None => return Err(DocumentError::MissingId),
            Some(Value::String(s)) => s,
            Some(other) => return Err(DocumentError::IdNotString(json_type(&other))),
        };
        let text = match raw.text {
            None => return Err(DocumentError::MissingText),
            Some(Value::String(s)) => s,
            Some(other) => return Err(DocumentError::TextNotString(json_type(&other))),
        };
        Ok(Document {
            id,
            text,
            fields: raw.fields,
        })
    }

    /// Serializes to one JSON line (no trailing newline), keys sorted.
    pub fn to_json(&self) -> String {
        // Serializing strings and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        enum F<'a> {
            Str(&'a str),
            Val(&'a Value),
        }
        let mut entries: Vec<(&str, F)> = Vec::with_capacity(self.fields.len() + 2);
        entries.push(("id", F::Str(&self.id)));
        entries.push(("text", F::Str(&self.text)));
        for (k, v) in &self.fields {
            entries.push((k.as_str(), F::Val(v)));
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            match v {
                F::Str(x) => m.serialize_entry(k, x)?,
                F::Val(x) => m.serialize_entry(k, x)?,
            }
        }
        m.end()
    }
}

/// A span of a document's text with a score: `[start, end, score]`, offsets in Unicode code
/// points (not bytes), `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// First code point.
    pub start: usize,
    /// One past the last code point.
    pub end: usize,
    /// The signal's value for this span.
    pub score: f64,
}

impl Span {
    /// A span; the score is rounded to 5 decimals as dolma does.
    pub fn new(start: usize, end: usize, score: f64) -> Self {
        Span {
            start,
            end,
            score: round5(score),
        }
    }
}

/// Rounds to 5 decimals, as dolma's taggers do (`round(x, 5)`), half to even on exact ties
/// like Python.
pub fn round5(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // A tiny negative rounds to -0.0, as Python's `round` does: dolma writes `-0.0` (a
    // `not_en` of `1 - 1.0000001`, say), and so does loam, byte for byte.
    let scaled = x * 1e5;
    // Python rounds x's exact decimal value. The product above is off by at most half an ulp,
    // which can only matter next to a half-way point (0.003125 is a hair above it: Python
    // gives 0.00313, the product 312.5 exactly): there, round the exact value as Python does
    // (Rust's fixed-precision formatting is exact, ties to even).
    let frac = scaled.abs().fract();
    if (frac - 0.5).abs() <= scaled.abs() * 4.0 * f64::EPSILON {
        if let Ok(y) = format!("{x:.5}").parse::<f64>() {
            return y;
        }
    }
    scaled.round_ties_even() / 1e5
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.start)?;
        t.serialize_element(&self.end)?;
        t.serialize_element(&self.score)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Value> = Vec::deserialize(d)?;
        let bad = || de::Error::custom("a span must be [start, end, score]");
        if v.len() != 3 {
            return Err(bad());
        }
        let start = v[0].as_u64().ok_or_else(bad)? as usize;
        let end = v[1].as_u64().ok_or_else(bad)? as usize;
        let score = v[2].as_f64().ok_or_else(bad)?;
        if end < start {
            return Err(de::Error::custom(format!(
                "span end {end} is before its start {start}"
            )));
        }
        Ok(Span { start, end, score })
    }
}

/// One line of an attribute file: the document's id and its signals, keyed
/// `<experiment>__<tagger>__<signal>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AttributeRecord {
    /// The id of the document on the same line of the document file.
    pub id: String,
    /// Signals by full attribute name.
    pub attributes: BTreeMap<String, Vec<Span>>,
    /// Where the surviving copy is, for a document that loam's exact dedup marked as a
    /// duplicate, keyed by the dedup attribute's name. Not part of dolma's format (its mixer
    /// reads only `id` and `attributes`); written only when set, so dolma-compatible files
    /// stay byte-identical.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duplicate_of: BTreeMap<String, KeptCopy>,
    /// Taggers not run on this document because a drop rule on cheaper signals already
    /// removes it (`tag.gate` in loam's pipeline file), each with that rule's name. Such a
    /// tagger wrote no signal here (never a made-up score). Written only when set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_evaluated: BTreeMap<String, String>,
}

/// The copy of a duplicate that survived: its document file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptCopy {
    /// Document file: its path below `documents/` (as attribute files are named), or the
    /// whole path for an input outside a `documents/` folder.
    pub file: String,
    /// 1-based line in that file.
    pub line: u64,
    /// Why this copy was kept when a keep policy chose it (`latest $.metadata.warc_date`);
    /// absent under the default (the first copy in canonical order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_by: Option<String>,
}

impl AttributeRecord {
    /// An empty record for a document.
    pub fn new(id: impl Into<String>) -> Self {
        AttributeRecord {
            id: id.into(),
            attributes: BTreeMap::new(),
            duplicate_of: BTreeMap::new(),
            not_evaluated: BTreeMap::new(),
        }
    }
}

/// The full attribute name dolma uses: `<experiment>__<tagger>__<signal>`.
pub fn attribute_key(experiment: &str, tagger: &str, signal: &str) -> String {
    format!("{experiment}__{tagger}__{signal}")
}

/// dolma's `make_variable_name`: every character but ASCII letters, digits and `_` becomes
/// `_` (dolma applies it to the experiment, tagger and signal names of attribute keys, and to
/// a tagger's folder name: `dolma17-quality` writes `dolma17_quality__dolma17_quality__…`).
pub fn dolma_variable_name(s: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if s.chars().all(ok) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '_' }).collect())
}

/// Converts a byte offset within `text` to a code-point offset. A `byte` that is not a char
/// boundary (inside a code point, or past the end) counts the code points starting before it.
pub fn char_offset(text: &str, byte: usize) -> usize {
    match text.get(..byte) {
        Some(prefix) => prefix.chars().count(),
        // Count UTF-8 lead bytes (anything but a `10xxxxxx` continuation byte).
        None => text.bytes().take(byte).filter(|b| b & 0xc0 != 0x80).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields_and_sorts_keys() {
        let line = r#"{"text":"hi","zeta":1,"id":"a","metadata":{"b":1,"a":2},"source":"s"}"#;
        let d = Document::from_json(line).unwrap();
        assert_eq!(d.source(), Some("s"));
        assert_eq!(
            d.to_json(),
            r#"{"id":"a","metadata":{"a":2,"b":1},"source":"s","text":"hi","zeta":1}"#
        );
    }

    #[test]
    fn names_bad_id_and_text() {
        assert_eq!(
            Document::from_json(r#"{"id":3,"text":"x"}"#),
            Err(DocumentError::IdNotString("a number"))
        );
        assert_eq!(
            Document::from_json(r#"{"text":"x"}"#),
            Err(DocumentError::MissingId)
        );
        assert_eq!(
            Document::from_json(r#"{"id":"x"}"#),
            Err(DocumentError::MissingText)
        );
        assert!(matches!(
            Document::from_json("[1,2]"),
            Err(DocumentError::NotJson(_))
        ));
        assert!(matches!(
            Document::from_json(r#"{"id":"x","text":"\ud800"}"#),
            Err(DocumentError::NotJson(_))
        ));
    }

    #[test]
    fn spans_round_and_serialize() {
        let r = AttributeRecord {
            id: "a".into(),
            attributes: [(
                attribute_key("exp", "t", "s"),
                vec![Span::new(0, 3, 0.123456789)],
            )]
            .into_iter()
            .collect(),
            duplicate_of: BTreeMap::new(),
            not_evaluated: BTreeMap::new(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"id":"a","attributes":{"exp__t__s":[[0,3,0.12346]]}}"#
        );
        assert_eq!(round5(2.5e-6), 0.0);
        assert!(round5(-1e-9) == 0.0 && round5(-1e-9).is_sign_negative());
        // Python's round(x, 5), checked in CPython 3.11, half-way points included.
        for (x, want) in [
            (0.003125, 0.00313),
            (0.000015, 0.00002),
            (1.000005, 1.00001),
            (0.125, 0.125),
            (2.5e-6, 0.0),
            (0.123456, 0.12346),
            (4686.0, 4686.0),
            (-0.003125, -0.00313),
        ] {
            assert_eq!(round5(x), want, "{x}");
        }
        assert_eq!(serde_json::to_string(&round5(-1e-9)).unwrap(), "-0.0");
    }
}
