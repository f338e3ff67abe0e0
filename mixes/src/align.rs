//! Attribute files read in step with their document file.
//!
//! Loud where dolma is silent: a missing attribute file, one with fewer or more lines than
//! the document file, a line whose id differs, or a line that is not an attribute record is
//! an error naming both files and the line.

use crate::mix::AttributeInput;
use loam_pipeline::reader::LineReader;
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
        let doc_path = &self.doc_path;
        for r in self.readers.iter_mut() {
            let apath = r.path().to_string();
            let (aline, text) = match r.next_line() {
                None => {
                    return Err(format!(
                        "{apath} has fewer lines than {doc_path} (ends before line {line})"
                    ))
                }
                Some(Err(e)) => return Err(format!("{e} (attributes for {doc_path}:{line})")),
                Some(Ok(x)) => x,
            };
            let parsed: AttrLine = serde_json::from_str(text)
                .map_err(|e| format!("{apath}:{aline}: not an attribute record: {e}"))?;
            if parsed.id.as_str() != Some(id) {
                return Err(format!(
                    "{apath}:{aline}: id {} does not match id {id:?} at {doc_path}:{line}",
                    parsed.id
                ));
            }
            match parsed.attributes {
                Value::Object(m) => out.push(m),
                Value::Null => out.push(Map::new()),
                other => {
                    return Err(format!(
                        "{apath}:{aline}: `attributes` is {}, not an object (document {doc_path}:{line})",
                        kind(&other)
                    ))
                }
            }
        }
        Ok(())
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
