//! Attribute files read in step with their document file.
//!
//! Loud where dolma is silent: a missing attribute file, one with fewer or more lines than
//! the document file, a line whose id differs, or a line that is not an attribute record is
//! an error naming both files and the line.

use crate::mix::AttributeInput;
use loam_pipeline::reader::{LineReader, ReadError};
use loam_pipeline::storage::Storage;
use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct AttrLine {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    attributes: Value,
}

/// Short description of a JSON value for messages.
fn kind(v: &Value) -> &'static str {
    loam_pipeline::document::json_type(v)
}

/// One attribute file's line for one document, as read; [`check_line`] interprets it.
#[derive(Debug)]
pub enum AttrRead {
    /// The line's number and text.
    Line(u64, String),
    /// The file ended before this document.
    Ended,
    /// Reading failed.
    Failed(ReadError),
}

impl AttrRead {
    fn from_reader(r: &mut LineReader) -> AttrRead {
        match r.next_line() {
            None => AttrRead::Ended,
            Some(Err(e)) => AttrRead::Failed(e),
            Some(Ok((l, text))) => AttrRead::Line(l, text.to_string()),
        }
    }
}

/// An attribute line: only `attributes` becomes a value; `id` is borrowed when it is a string
/// without escapes.
#[derive(Deserialize)]
struct AttrLineFast<'a> {
    #[serde(default, borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    attributes: Value,
}

/// An attribute line whose `attributes` keeps the values of `wanted` attributes only; the
/// others are read over (checked as strictly, not built: [`Checked`]) and kept as names with a `null` value, so
/// presence checks still see them. Any irregularity (a duplicate key, `attributes` neither
/// an object nor null) is an error, and the caller falls back to the general form.
struct WantedLine<'w>(&'w BTreeSet<String>);

/// What [`WantedLine`] reads: the id and the attributes.
type Lean = (Option<String>, Map<String, Value>);

impl<'de> DeserializeSeed<'de> for WantedLine<'_> {
    type Value = Lean;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Lean, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WantedLine<'_> {
    type Value = Lean;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attribute record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Lean, A::Error> {
        let (mut id, mut attrs) = (None, None);
        while let Some(k) = a.next_key::<std::borrow::Cow<'de, str>>()? {
            match k.as_ref() {
                "id" if id.is_none() => id = Some(a.next_value::<String>()?),
                "attributes" if attrs.is_none() => attrs = Some(a.next_value_seed(Wanted(self.0))?),
                "id" | "attributes" => return Err(A::Error::custom("duplicate key")),
                _ => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((id, attrs.unwrap_or_default()))
    }
}

/// The `attributes` object of a [`WantedLine`].
struct Wanted<'w>(&'w BTreeSet<String>);

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = Map<String, Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = Map<String, Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attributes object")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Map::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = a.next_key::<String>()? {
            let v = match self.0.contains(&k) {
                true => a.next_value::<Value>()?,
                false => {
                    a.next_value::<Checked>()?;
                    Value::Null
                }
            };
            m.insert(k, v);
        }
        Ok(m)
    }
}

/// A JSON value read and checked as strictly as building a `Value` would (escapes in
/// strings included, which `IgnoredAny` passes over), without building it.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Checked, A::Error> {
        while a.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Checked, A::Error> {
        while a.next_key::<Checked>()?.is_some() {
            a.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// Checks `read`, the line of attribute file `apath` for document `id` at `doc_path:line`,
/// and appends its attributes object to `out`. Every problem is an error naming both files
/// and the line. With `wanted`, only those attributes get their values; the others are
/// `null` (see [`crate::dolma_mix::CompiledStream::attribute_values`]).
pub fn check_line(
    doc_path: &str,
    apath: &str,
    id: &str,
    line: u64,
    read: AttrRead,
    wanted: Option<&BTreeSet<String>>,
    out: &mut Vec<Map<String, Value>>,
) -> Result<(), String> {
    let (aline, text) = match read {
        AttrRead::Ended => {
            return Err(format!(
                "{apath} has fewer lines than {doc_path} (ends before line {line})"
            ))
        }
        AttrRead::Failed(e) => return Err(format!("{e} (attributes for {doc_path}:{line})")),
        AttrRead::Line(l, t) => (l, t),
    };
    // The lean or borrowed form first; anything else (an `id` that is not a plain string, a
    // mismatch, a bad line) goes through the general form, whose messages say what is wrong.
    if let Some(w) = wanted {
        let mut de = serde_json::Deserializer::from_str(&text);
        let lean = WantedLine(w)
            .deserialize(&mut de)
            .and_then(|l| de.end().map(|()| l));
        if let Ok((Some(got), attrs)) = lean {
            if got == id {
                out.push(attrs);
                return Ok(());
            }
        }
    }
    let attributes = match serde_json::from_str::<AttrLineFast>(&text) {
        Ok(f) if f.id.as_deref() == Some(id) => f.attributes,
        _ => {
            let parsed: AttrLine = serde_json::from_str(&text)
                .map_err(|e| format!("{apath}:{aline}: not an attribute record: {e}"))?;
            if parsed.id.as_str() != Some(id) {
                return Err(format!(
                    "{apath}:{aline}: id {} does not match id {id:?} at {doc_path}:{line}",
                    parsed.id
                ));
            }
            parsed.attributes
        }
    };
    match attributes {
        Value::Object(m) => out.push(m),
        Value::Null => out.push(Map::new()),
        other => {
            return Err(format!(
                "{apath}:{aline}: `attributes` is {}, not an object (document {doc_path}:{line})",
                kind(&other)
            ))
        }
    }
    Ok(())
}

/// The attribute files of one document file, advanced one line per document.
pub struct AlignedAttributes {
    doc_path: String,
    readers: Vec<LineReader>,
}

impl AlignedAttributes {
    /// Opens every attribute file of `doc_path`; a missing one is an error.
    pub fn open(storage: &dyn Storage, doc_path: &str, paths: &[String]) -> Result<Self, String> {
        let mut readers = Vec::with_capacity(paths.len());
        for a in paths {
            match storage.size(a) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(format!("{a}: attribute file for {doc_path} does not exist"))
                }
                Err(e) => return Err(format!("{e} (attributes for {doc_path})")),
            }
            readers.push(
                LineReader::open(storage, a)
                    .map_err(|e| format!("{e} (attribute file for {doc_path})"))?,
            );
        }
        Ok(AlignedAttributes {
            doc_path: doc_path.to_string(),
            readers,
        })
    }

    /// Reads the next line of every file for document `id` at `line`, appending each file's
    /// attributes object to `out` (in file order).
    pub fn next(
        &mut self,
        id: &str,
        line: u64,
        out: &mut Vec<Map<String, Value>>,
    ) -> Result<(), String> {
        for r in self.readers.iter_mut() {
            let read = AttrRead::from_reader(r);
            check_line(&self.doc_path, r.path(), id, line, read, None, out)?;
        }
        Ok(())
    }

    /// The attribute files, in order.
    pub fn paths(&self) -> Vec<String> {
        self.readers.iter().map(|r| r.path().to_string()).collect()
    }

    /// Reads the next `n` lines of every file as they are (one per document; see
    /// [`check_line`]), the files in parallel: `out[f][k]` is file `f`'s line for the `k`th
    /// document. Reading ahead like this changes nothing: each file advances one line per
    /// document, as [`AlignedAttributes::next`] and [`AlignedAttributes::skip`] do.
    pub fn read_lines(&mut self, n: usize, parallel: bool) -> Vec<Vec<AttrRead>> {
        let read = |r: &mut LineReader| (0..n).map(|_| AttrRead::from_reader(r)).collect();
        if parallel && self.readers.len() > 1 {
            use rayon::prelude::*;
            self.readers.par_iter_mut().map(read).collect()
        } else {
            self.readers.iter_mut().map(read).collect()
        }
    }

    /// Skips one line in every file (after a bad document line), keeping them aligned.
    pub fn skip(&mut self) {
        for r in self.readers.iter_mut() {
            let _ = r.next_line();
        }
    }

    /// After the last document (`doc_lines` lines): no file may have more lines. Returns
    /// each file's line count and digest.
    pub fn finish(self, doc_lines: u64) -> Result<Vec<AttributeInput>, String> {
        let doc_path = self.doc_path;
        let mut out = Vec::with_capacity(self.readers.len());
        for mut r in self.readers {
            let path = r.path().to_string();
            let lines = r.lines_read();
            if let Some(extra) = r.next_line() {
                let at = match extra {
                    Ok((l, _)) => l,
                    Err(_) => lines + 1,
                };
                return Err(format!(
                    "{path}:{at}: attribute file has more lines than {doc_path} ({doc_lines} lines)"
                ));
            }
            let digest = r.finish().map_err(|e| e.to_string())?;
            out.push(AttributeInput {
                path,
                lines,
                digest,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        text: &str,
        wanted: Option<&BTreeSet<String>>,
    ) -> Result<Vec<Map<String, Value>>, String> {
        let mut out = Vec::new();
        let read = AttrRead::Line(3, text.to_string());
        check_line("d.jsonl", "a.jsonl", "x", 3, read, wanted, &mut out).map(|()| out)
    }

    /// The lean read keeps the wanted attributes' values and every name; whatever it cannot
    /// read falls back to the general form, with the same outcome or message.
    #[test]
    fn wanted_attributes_keep_values_and_others_their_names() {
        let w: BTreeSet<String> = ["a".to_string(), "c".to_string()].into();
        let line = r#"{"id":"x","attributes":{"a":[[0,5,0.25]],"b":[[1,2,3]],"c\u0041":1,"c":{"k":[1]}},"extra":[1,{"z":2}]}"#;
        let all = check(line, None).unwrap();
        let lean = check(line, Some(&w)).unwrap();
        let (all, lean) = (&all[0], &lean[0]);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            lean.keys().collect::<Vec<_>>()
        );
        for (k, v) in lean {
            match w.contains(k) {
                true => assert_eq!(v, &all[k], "{k}"),
                false => assert_eq!(v, &Value::Null, "{k}"),
            }
        }
        for text in [
            r#"{"id":"x","attributes":null}"#,
            r#"{"id":"x"}"#,
            r#"{"id":"y","attributes":{}}"#,
            r#"{"id":"x","attributes":[1]}"#,
            r#"{"id":"x","attributes":{},"id":"x"}"#,
            r#"{"id":7,"attributes":{}}"#,
            r#"{"id":"x","attributes":{"a":[1,}}"#,
            r#"{"id":"x","attributes":{"b":"\u12"}}"#,
            r#"{"id":"x","attributes":{"b":["\x"]}}"#,
            r#"{"id":"x","attributes":{"b":{"k\q":1}}}"#,
            r#"{"id":"x","attributes":{"b":[01]}}"#,
            r#"{"id":"x","attributes":{}} trailing"#,
            "not json",
        ] {
            let (a, b) = (check(text, None), check(text, Some(&w)));
            assert_eq!(a.is_ok(), b.is_ok(), "{text}");
            match (a, b) {
                (Err(x), Err(y)) => assert_eq!(x, y, "{text}"),
                (Ok(x), Ok(y)) => assert_eq!(x, y, "{text}"),
                _ => unreachable!(),
            }
        }
    }
}
