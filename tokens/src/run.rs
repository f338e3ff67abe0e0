//! Tokenizing one part: a ring of input files read round-robin, batches tokenized in
//! parallel and shuffled with a seeded generator, written into files of at most
//! `max_size` tokens.

use crate::config::{FieldsSection, OutputFormat};
use crate::tokenizer::{Dtype, Tokenizer};
use crate::write::{PartFile, Row, WrittenFile};
use crate::TokensError;
use loam_manifests::FileDigest;
use loam_pipeline::executor::Executor;
use loam_pipeline::format::Format;
use loam_pipeline::reader::{DocumentReader, LineReader};
use loam_pipeline::storage::Storage;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Input files grouped into parts of `per_part` consecutive files (inputs sorted).
pub fn parts(inputs: &[String], per_part: usize) -> Vec<Vec<String>> {
    inputs.chunks(per_part.max(1)).map(<[_]>::to_vec).collect()
}

/// `<destination>/part-<k>`, with dolma's digit count (`ceil(log10(parts + 1))`).
pub fn part_base(destination: &str, k: usize, parts: usize) -> String {
    let mut digits = 1;
    while 10usize.pow(digits) < parts + 1 {
        digits += 1;
    }
    format!(
        "{}/part-{k:0width$}",
        destination.trim_end_matches('/'),
        width = digits as usize
    )
}

/// `<part base>-<m>` with five digits, as dolma numbers a process's files.
pub fn file_base(part_base: &str, m: usize) -> String {
    format!("{part_base}-{m:05}")
}

/// Settings shared by every part.
pub struct Job<'a> {
    /// Where inputs and outputs live.
    pub storage: &'a dyn Storage,
    /// The tokenizer.
    pub tokenizer: &'a Tokenizer,
    /// Array element type.
    pub dtype: Dtype,
    /// `npy` or `megatron`.
    pub format: OutputFormat,
    /// Tokens per file (exclusive bound, as dolma's writer).
    pub max_size: u64,
    /// Documents per shuffled batch.
    pub batch_size: usize,
    /// Files read at once.
    pub ring_size: usize,
    /// Shuffle seed.
    pub seed: u64,
    /// Choose files in proportion to their size instead of round-robin.
    pub sample_ring_prop: bool,
    /// Field names.
    pub fields: &'a FieldsSection,
    /// Thread pool (batches are tokenized on it).
    pub exec: &'a Executor,
}

/// An input file read by a part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputRead {
    /// Its path.
    pub path: String,
    /// Size and checksum of its stored bytes.
    pub digest: FileDigest,
    /// Lines (rows) read.
    pub lines: u64,
}

/// What one part made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartSummary {
    /// Files written, in order.
    pub files: Vec<WrittenFile>,
    /// Files read.
    pub inputs: Vec<InputRead>,
    /// Documents written.
    pub documents: u64,
    /// Tokens written.
    pub tokens: u64,
    /// Bytes of text tokenized.
    pub text_bytes: u64,
    /// Documents whose text is empty after stripping whitespace (dolma skips them without a
    /// word; loam counts them).
    pub empty: u64,
    /// Documents longer than `max_size` tokens, each written alone into its own file.
    pub oversized: u64,
}

enum Source {
    Lines(LineReader),
    Docs(Box<DocumentReader>),
}

struct Open {
    path: String,
    source: Source,
    size: u64,
    /// dolma's id for files without ids: sha256 of the path.
    path_hash: Option<String>,
}

/// A document (line, id, text), or a bad line's message and whether reading must stop.
type NextDoc = Option<Result<(u64, String, String), (String, bool)>>;

struct Doc {
    input: usize,
    loc: u64,
    id: String,
    text: String,
}

fn field<'v>(v: &'v serde_json::Value, dotted: &str) -> Option<&'v serde_json::Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

/// splitmix64: a small, well-mixed generator; the shuffle must be the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by rejection so no value is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

impl Job<'_> {
    fn open(&self, path: &str) -> Result<Open, String> {
        let size = self
            .storage
            .size(path)
            .map_err(|e| e.to_string())?
            .unwrap_or(0);
        let source = match Format::from_path(path).map_err(|e| format!("{path}: {e}"))? {
            Format::Parquet => {
                if self.fields.text_field_name != "text"
                    || self.fields.id_field_name.as_deref() != Some("id")
                {
                    return Err(format!(
                        "{path}: Parquet inputs are read with their `id` and `text` columns; fields.* cannot rename them"
                    ));
                }
                Source::Docs(Box::new(
                    DocumentReader::open(self.storage, path).map_err(|e| e.to_string())?,
                ))
            }
            Format::Jsonl(_) => {
                Source::Lines(LineReader::open(self.storage, path).map_err(|e| e.to_string())?)
            }
        };
        let path_hash = self
            .fields
            .id_field_name
            .is_none()
            .then(|| loam_manifests::digest_bytes(path.as_bytes()).sha256);
        Ok(Open {
            path: path.to_string(),
            source,
            size,
            path_hash,
        })
    }

    /// The next document of an open file: `Ok(None)` at its end, `Err` for a bad line (the
    /// file goes on) or a fatal read error (`fatal` set).
    fn next_doc(&self, f: &mut Open) -> NextDoc {
        match &mut f.source {
            Source::Docs(r) => Some(match r.next_document()? {
                Ok((line, d)) => Ok((line, d.id, d.text)),
                Err(e) => Err((e.to_string(), e.is_fatal())),
            }),
            Source::Lines(r) => {
                let (line, text) = match r.next_line()? {
                    Ok(x) => x,
                    Err(e) => return Some(Err((e.to_string(), e.is_fatal()))),
                };
                let at = |m: String| Err((format!("{}:{line}: {m}", f.path), false));
                let v: serde_json::Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => return Some(at(format!("not a JSON object: {e}"))),
                };
                let name = &self.fields.text_field_name;
                let body = match field(&v, name) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(_) => return Some(at(format!("field {name:?} is not a string"))),
                    None => return Some(at(format!("no text field {name:?}"))),
                };
                let id = match (&self.fields.id_field_name, &f.path_hash) {
                    (Some(idf), _) => match field(&v, idf) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Number(n))
                            if self.fields.id_field_type == "int" =>
                        {
                            n.to_string()
                        }
                        Some(_) => {
                            return Some(at(format!(
                                "field {idf:?} is not a {}",
                                self.fields.id_field_type
                            )))
                        }
                        None => return Some(at(format!("no id field {idf:?}"))),
                    },
                    (None, Some(h)) => format!("{h}-{line}"),
                    (None, None) => format!("{line}"),
                };
                Some(Ok((line, id, body)))
            }
        }
    }

    fn finish(&self, f: Open) -> Result<InputRead, String> {
        let (lines, digest) = match f.source {
            Source::Lines(r) => {
                let n = r.lines_read();
                (n, r.finish().map_err(|e| e.to_string())?)
            }
            Source::Docs(r) => {
                let digest = r.finish().map_err(|e| e.to_string())?;
                (0, digest)
            }
        };
        Ok(InputRead {
            path: f.path,
            digest,
            lines,
        })
    }

    /// Tokenizes part `k` (files `files`) into `<base>-00000.npy`, … Bad lines are collected
    /// (file and line) and fail the part after it was read through, so one run reports them
    /// all; nothing is committed for a failed part.
    pub fn tokenize_part(
        &self,
        k: usize,
        files: &[String],
        base: &str,
    ) -> Result<PartSummary, TokensError> {
        let mut pending: VecDeque<&String> = files.iter().collect();
        let mut ring: Vec<Open> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut summary = PartSummary::default();
        let mut out: Option<PartFile> = None;
        let mut file_no = 0usize;
        let mut paths: Vec<String> = Vec::new();
        let mut batch_no = 0u64;
        let mut refill = |ring: &mut Vec<Open>, errors: &mut Vec<String>| {
            while ring.len() < self.ring_size {
                let Some(p) = pending.pop_front() else { break };
                match self.open(p) {
                    Ok(f) => ring.push(f),
                    Err(e) => errors.push(e),
                }
            }
        };
        refill(&mut ring, &mut errors);
        loop {
            let mut batch: Vec<Doc> = Vec::new();
            let mut rng = Rng(xxhash_rust::xxh3::xxh3_64(
                format!("loam-tokens/{}/{k}/{batch_no}", self.seed).as_bytes(),
            ));
            let mut i = 0usize;
            while batch.len() < self.batch_size && !ring.is_empty() {
                let j = if self.sample_ring_prop {
                    let total: u64 = ring.iter().map(|f| f.size.max(1)).sum();
                    let mut x = rng.below(total);
                    ring.iter()
                        .position(|f| {
                            let s = f.size.max(1);
                            if x < s {
                                true
                            } else {
                                x -= s;
                                false
                            }
                        })
                        .unwrap_or(0)
                } else {
                    i % ring.len()
                };
                i += 1;
                match self.next_doc(&mut ring[j]) {
                    Some(Ok((loc, id, text))) => {
                        let stripped = loam_filters::pytext::py_strip(&text);
                        if stripped.is_empty() {
                            summary.empty += 1;
                            continue;
                        }
                        let input = paths.iter().position(|p| *p == ring[j].path);
                        let input = input.unwrap_or_else(|| {
                            paths.push(ring[j].path.clone());
                            paths.len() - 1
                        });
                        let text = if stripped.len() == text.len() {
                            text
                        } else {
                            stripped.to_string()
                        };
                        batch.push(Doc {
                            input,
                            loc,
                            id,
                            text,
                        });
                    }
                    Some(Err((e, fatal))) => {
                        errors.push(e);
                        if fatal {
                            ring.remove(j);
                            refill(&mut ring, &mut errors);
                        }
                    }
                    None => {
                        let f = ring.remove(j);
                        match self.finish(f) {
                            Ok(r) => summary.inputs.push(r),
                            Err(e) => errors.push(e),
                        }
                        refill(&mut ring, &mut errors);
                    }
                }
            }
            if batch.is_empty() {
                break;
            }
            batch_no += 1;
            let encoded = self.exec.map(&batch, |d| {
                let mut ids = Vec::with_capacity(d.text.len() / 3 + 2);
                self.tokenizer.encode(&d.text, &mut ids).map(|_| ids)
            });
            let mut order: Vec<usize> = (0..batch.len()).collect();
            shuffle(&mut order, &mut rng);
            if !errors.is_empty() {
                // Keep reading to report every bad line, but write nothing.
                continue;
            }
            for &o in &order {
                let d = &batch[o];
                let ids = match &encoded[o] {
                    Ok(ids) => ids,
                    Err(e) => {
                        errors.push(format!("{}:{}: tokenizer: {e}", paths[d.input], d.loc));
                        continue;
                    }
                };
                if let Some(&bad) = ids.iter().find(|&&t| t as u64 > self.dtype.max()) {
                    return Err(TokensError::Format(format!(
                        "{}:{}: token id {bad} does not fit {}",
                        paths[d.input],
                        d.loc,
                        self.dtype.name()
                    )));
                }
                let n = ids.len() as u64;
                let full = out
                    .as_ref()
                    .is_some_and(|f| !f.is_empty() && f.len() + n >= self.max_size);
                if full {
                    if let Some(f) = out.take() {
                        summary.files.extend(f.finish(self.storage)?);
                    }
                }
                if out.is_none() {
                    out = Some(PartFile::create(
                        self.storage,
                        &file_base(base, file_no),
                        self.format,
                        self.dtype,
                    )?);
                    file_no += 1;
                }
                if n >= self.max_size {
                    summary.oversized += 1;
                }
                if let Some(f) = out.as_mut() {
                    f.push(ids, &d.id, &paths[d.input], d.loc)?;
                }
                summary.documents += 1;
                summary.tokens += n;
                summary.text_bytes += d.text.len() as u64;
            }
        }
        if !errors.is_empty() {
            return Err(TokensError::Input(errors));
        }
        if let Some(f) = out.take() {
            summary.files.extend(f.finish(self.storage)?);
        }
        summary.inputs.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(summary)
    }
}

/// Deletes files of an earlier run of this part numbered from `from` on (a rerun that makes
/// fewer files must not leave old ones beside the new).
pub fn remove_stale(storage: &dyn Storage, base: &str, from: usize) -> Result<(), TokensError> {
    let mut m = from;
    loop {
        let b = file_base(base, m);
        let mut any = false;
        for ext in ["npy", "bin", "idx", "csv.gz"] {
            let p = format!("{b}.{ext}");
            if storage.size(&p).map_err(TokensError::Storage)?.is_some() {
                storage.delete(&p).map_err(TokensError::Storage)?;
                any = true;
            }
        }
        if !any {
            return Ok(());
        }
        m += 1;
    }
}

/// The document holding token `offset` of an array file: its metadata row, found in the
/// `.csv.gz` beside it.
pub fn find_token(storage: &dyn Storage, array: &str, offset: u64) -> Result<Row, TokensError> {
    let stem = array
        .strip_suffix(".npy")
        .or_else(|| array.strip_suffix(".bin"))
        .ok_or_else(|| TokensError::Format(format!("{array}: not a .npy or .bin token array")))?;
    let meta = format!("{stem}.csv.gz");
    let bytes = loam_pipeline::storage::read_all(storage, &meta).map_err(TokensError::Storage)?;
    let rows =
        crate::write::read_rows(&bytes).map_err(|e| TokensError::Format(format!("{meta}: {e}")))?;
    rows.into_iter()
        .find(|r| r.start <= offset && offset < r.end)
        .ok_or_else(|| {
            TokensError::Format(format!(
                "{array}: no document holds token {offset} (see {meta})"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_dolma() {
        assert_eq!(part_base("out", 0, 1), "out/part-0");
        assert_eq!(part_base("out/", 3, 10), "out/part-03");
        assert_eq!(file_base("out/part-0", 2), "out/part-0-00002");
    }

    #[test]
    fn shuffle_is_a_permutation_and_seeded() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        shuffle(&mut a, &mut Rng(7));
        shuffle(&mut b, &mut Rng(7));
        assert_eq!(a, b);
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_ne!(a, (0..100).collect::<Vec<_>>());
    }
}
