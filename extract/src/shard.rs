//! One WARC/WET file → one Dolma document file, with a report of everything that happened.

use crate::record::{convert, Options, Skip, WarcInfo};
use crate::warc::{Item, WarcReader};
use loam_pipeline::storage::Storage;
use loam_pipeline::{Document, JsonlWriter, WrittenShard};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::BufReader;

/// At most this many malformed records are described per file; all are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 10;

/// What happened to one input file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The input.
    pub path: String,
    /// Records read, by `WARC-Type`.
    pub records: BTreeMap<String, u64>,
    /// Documents written.
    pub documents: u64,
    /// UTF-8 bytes of their text.
    pub text_bytes: u64,
    /// Records skipped, by reason ([`Skip::name`]): normal filtering, not errors.
    pub skipped: BTreeMap<String, u64>,
    /// Malformed records, by kind: data lost, so the file counts as failed.
    pub malformed: BTreeMap<String, u64>,
    /// The first [`MAX_REPORTED_PROBLEMS`] malformed records, with offsets.
    pub problems: Vec<String>,
    /// An error that stopped the file before its end (I/O, broken compression, writing).
    pub fatal: Option<String>,
    /// The published output.
    pub output: Option<WrittenShard>,
}

impl FileReport {
    /// True when any record was lost or the file could not be read to its end.
    pub fn failed(&self) -> bool {
        self.fatal.is_some() || !self.malformed.is_empty()
    }

    fn problem(&mut self, kind: &str, message: String) {
        *self.malformed.entry(kind.to_string()).or_default() += 1;
        if self.problems.len() < MAX_REPORTED_PROBLEMS {
            self.problems.push(format!("{}: {message}", self.path));
        }
    }

    /// The counts as JSON (kept in run-state markers and replayed on reruns).
    pub fn info(&self) -> Value {
        json!({
            "documents": self.documents,
            "text_bytes": self.text_bytes,
            "records": self.records,
            "skipped": self.skipped,
            "malformed": self.malformed,
            "problems": self.problems,
        })
    }

    /// A report rebuilt from [`FileReport::info`].
    pub fn from_info(path: &str, v: &Value) -> FileReport {
        let map = |k: &str| -> BTreeMap<String, u64> {
            v.get(k)
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default()
        };
        FileReport {
            path: path.to_string(),
            records: map("records"),
            documents: v.get("documents").and_then(Value::as_u64).unwrap_or(0),
            text_bytes: v.get("text_bytes").and_then(Value::as_u64).unwrap_or(0),
            skipped: map("skipped"),
            malformed: map("malformed"),
            problems: v
                .get("problems")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            fatal: None,
            output: None,
        }
    }
}

/// Taggers run around extraction: `pre` sees the document (empty text) and the decoded
/// HTML, `post` the extracted document. Each returns whether to keep the document; an
/// `Err` stops the file.
pub trait Hooks: Sync {
    /// Before extraction.
    fn pre(&self, _doc: &mut Document, _html: &str) -> Result<bool, String> {
        Ok(true)
    }
    /// After extraction.
    fn post(&self, _doc: &mut Document) -> Result<bool, String> {
        Ok(true)
    }
}

/// No taggers.
pub struct NoHooks;
impl Hooks for NoHooks {}

/// Reads `input`, writes documents to `output` (atomically, format by extension), and
/// reports. A malformed record is counted and skipped; a broken stream ends the file but
/// keeps the documents before it (they are correct; the report says what was lost).
pub fn process_file(
    storage: &dyn Storage,
    input: &str,
    output: &str,
    opts: &Options,
    hooks: &dyn Hooks,
    mut progress: impl FnMut(u64),
) -> FileReport {
    let mut rep = FileReport {
        path: input.to_string(),
        ..Default::default()
    };
    let file_name = input.rsplit('/').next().unwrap_or(input).to_string();
    let reader = match storage.open(input) {
        Ok(r) => r,
        Err(e) => {
            rep.fatal = Some(e.to_string());
            return rep;
        }
    };
    // Cap record bodies a little above the payload cap so the HTTP envelope fits; larger
    // records are drained, never held.
    let body_cap = opts.max_payload_bytes.saturating_add(256 * 1024);
    let mut warc = match WarcReader::new(BufReader::with_capacity(256 * 1024, reader), body_cap) {
        Ok(w) => w,
        Err(e) => {
            rep.fatal = Some(format!("{input}: {e}"));
            return rep;
        }
    };
    let mut writer = match JsonlWriter::create(storage, output) {
        Ok(w) => w,
        Err(e) => {
            rep.fatal = Some(e.to_string());
            return rep;
        }
    };
    let mut info = WarcInfo::default();
    while let Some(item) = warc.next_item() {
        let rec = match item {
            Ok(Item::Record(r)) => r,
            Ok(Item::Problem(p)) => {
                rep.problem(p.kind.name(), p.to_string());
                continue;
            }
            Err(e) => {
                // A gzip stream cut short is a truncated last record; anything else is a
                // corrupt stream. Both end the file; documents so far are kept.
                let kind = if e.source.kind() == std::io::ErrorKind::UnexpectedEof {
                    "truncated"
                } else {
                    "corrupt_stream"
                };
                rep.problem(kind, format!("{kind} {e}"));
                break;
            }
        };
        let kind = rec.kind();
        *rep.records.entry(kind.clone()).or_default() += 1;
        match kind.as_str() {
            "warcinfo" => {
                info = WarcInfo::from_record(&rec);
                continue;
            }
            "response" | "resource" | "conversion" => {}
            _ => continue,
        }
        let conv = match convert(&rec, &info, &file_name, opts) {
            Ok(c) => c,
            Err(s) => {
                *rep.skipped.entry(s.name().to_string()).or_default() += 1;
                continue;
            }
        };
        let mut doc = conv.doc;
        let keep = hooks.pre(&mut doc, &conv.html).and_then(|k| {
            if k {
                hooks.post(&mut doc)
            } else {
                Ok(false)
            }
        });
        match keep {
            Ok(true) => {}
            Ok(false) => {
                *rep.skipped
                    .entry(Skip::TaggerSkip.name().to_string())
                    .or_default() += 1;
                continue;
            }
            Err(e) => {
                rep.fatal = Some(format!("{input}: record at offset {}: {e}", rec.offset));
                return rep;
            }
        }
        if let Err(e) = writer.write(&doc) {
            rep.fatal = Some(e.to_string());
            return rep;
        }
        rep.documents += 1;
        rep.text_bytes += doc.text.len() as u64;
        progress(1);
    }
    match writer.finish() {
        Ok(w) => rep.output = Some(w),
        Err(e) => rep.fatal = Some(e.to_string()),
    }
    rep
}

/// dolma's output name for an input: extensions `.gz` and `.warc` dropped, `.jsonl.gz`
/// added (`sample.warc.gz` → `sample.jsonl.gz`, `x.warc.wet.gz` → `x.wet.jsonl.gz`).
pub fn output_name(file_name: &str) -> String {
    if file_name.ends_with(".jsonl.gz") {
        return file_name.to_string();
    }
    let (stem, ext) = match file_name
        .find('.')
        .and_then(|i| file_name.split_at_checked(i))
    {
        Some((stem, ext)) if !stem.is_empty() => (stem, ext),
        _ => (file_name, ""),
    };
    format!(
        "{stem}{}.jsonl.gz",
        ext.replace(".gz", "").replace(".warc", "")
    )
}

#[cfg(test)]
mod tests {
    use super::output_name;

    #[test]
    fn names_like_dolma() {
        assert_eq!(output_name("sample-0000.warc.gz"), "sample-0000.jsonl.gz");
        assert_eq!(
            output_name("whirlwind.warc.wet.gz"),
            "whirlwind.wet.jsonl.gz"
        );
        assert_eq!(output_name("a.warc"), "a.jsonl.gz");
    }
}
