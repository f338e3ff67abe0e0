//! Attribute files read in step with their document file.
//!
//! Loud where dolma is silent: a missing attribute file, one with fewer or more lines than
//! the document file, a line whose id differs, or a line that is not an attribute record is
//! an error naming both files and the line.

use crate::mix::AttributeInput;
use loam_pipeline::reader::{LineReader, ReadError};
use loam_pipeline::storage::Storage;
use serde::Deserialize;
use serde_json::{Map, Value};

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

/// Checks `read`, the line of attribute file `apath` for document `id` at `doc_path:line`,
/// and appends its attributes object to `out`. Every problem is an error naming both files
/// and the line.
pub fn check_line(
    doc_path: &str,
    apath: &str,
    id: &str,
    line: u64,
    read: AttrRead,
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
    // The borrowed form first; anything else (an `id` that is not a plain string, a
    // mismatch, a bad line) goes through the general form, whose messages say what is wrong.
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
            check_line(&self.doc_path, r.path(), id, line, read, out)?;
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
