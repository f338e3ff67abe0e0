//! Exact document dedup by a key (`$.text`, `$.id`, `$.metadata.url`, …).
//!
//! Three phases keep the survivor deterministic whatever the thread count: (1) shards are
//! hashed in parallel; (2) keys are checked and inserted sequentially in canonical order
//! (sorted shard path, then line), so the first copy in that order survives; (3) attribute
//! files are written in parallel. A duplicate gets `[[0, len(text) in code points, 1.0]]`
//! under the configured attribute name, and the record's `duplicate_of` names the file (below
//! `documents/` when it is under one) and line of the copy that survived (what `loam explain` shows); a first occurrence gets no
//! attribute.
//!
//! A keep policy ([`Keep::By`]) chooses the survivor by a field instead (Dolma 3 kept the
//! copy with the latest crawl date): the copy whose field is greatest (`latest`) or least
//! (`earliest`) survives, ties going to the first in canonical order, and `duplicate_of`
//! says which policy kept it.

use loam_pipeline::document::{AttributeRecord, Document, KeptCopy, Span};
use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::shard::{scan, ScanReport};
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// What one task of each phase of exact dedup as tasks holds, per unit of input, over
/// `parts` hash ranges: `(phase, bytes, per what)` (keep values come on top of the keys).
pub fn memory_coefficients(parts: usize) -> Vec<(&'static str, f64, String)> {
    vec![
        (
            "keys",
            20.0,
            "document of its shard (plus its keep value)".into(),
        ),
        (
            "survivors",
            28.0,
            format!(
                "document in its hash range (1/{} of the corpus's)",
                parts.max(1)
            ),
        ),
        ("marks", 16.0, "document of its shard".into()),
    ]
}

/// Which copy of a duplicated key survives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Keep {
    /// The first in canonical order (sorted shard path, then line): dolma's rule.
    #[default]
    First,
    /// The copy whose `field` is greatest (`latest: true`) or least; a copy without the
    /// field never wins over one with it; ties go to the first in canonical order.
    By {
        /// The field, as a key path (`$.metadata.warc_date`).
        field: DedupKey,
        /// Greatest wins (else least).
        latest: bool,
    },
}

impl Keep {
    /// What `duplicate_of.kept_by` says: `latest $.metadata.warc_date`.
    pub fn describe(&self) -> Option<String> {
        match self {
            Keep::First => None,
            Keep::By { field, latest } => Some(format!(
                "{} {}",
                if *latest { "latest" } else { "earliest" },
                field.path()
            )),
        }
    }
}

/// A keep policy's value of one document: absent, a number, or a string (ISO 8601 dates
/// compare as strings); numbers sort before strings.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortValue {
    /// The document has no such field, or it is neither a number nor a string.
    Missing,
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
}

impl SortValue {
    /// The value of `field` in `doc`.
    pub fn of(doc: &Document, field: &DedupKey) -> SortValue {
        let v = match field {
            DedupKey::Text => return SortValue::Text(doc.text.clone()),
            DedupKey::Id => return SortValue::Text(doc.id.clone()),
            DedupKey::Field(parts) => field_value(doc, parts),
        };
        match v {
            Some(Value::Number(n)) => n.as_f64().map_or(SortValue::Missing, SortValue::Number),
            Some(Value::String(s)) => SortValue::Text(s.clone()),
            _ => SortValue::Missing,
        }
    }

    /// Whether `self` wins over `other` under the policy (strictly: ties keep the first).
    pub fn beats(&self, other: &SortValue, latest: bool) -> bool {
        match (self, other) {
            (SortValue::Missing, _) => false,
            (_, SortValue::Missing) => true,
            (a, b) => match a.partial_cmp(b) {
                Some(std::cmp::Ordering::Greater) => latest,
                Some(std::cmp::Ordering::Less) => !latest,
                _ => false,
            },
        }
    }

    /// The policy's preference as an order: `Less` when `self` is preferred, `Equal` on a
    /// tie (which the caller breaks by canonical order).
    pub fn preference(&self, other: &SortValue, latest: bool) -> std::cmp::Ordering {
        if self.beats(other, latest) {
            std::cmp::Ordering::Less
        } else if other.beats(self, latest) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }

    /// Appends the file form: a tag byte (0 missing, 1 number, 2 string), then the f64's
    /// little-endian bytes, or the string's length (u64) and bytes.
    pub fn write_to(&self, b: &mut Vec<u8>) {
        match self {
            SortValue::Missing => b.push(0),
            SortValue::Number(x) => {
                b.push(1);
                b.extend_from_slice(&x.to_le_bytes());
            }
            SortValue::Text(t) => {
                b.push(2);
                b.extend_from_slice(&(t.len() as u64).to_le_bytes());
                b.extend_from_slice(t.as_bytes());
            }
        }
    }

    /// Reads the file form from the front of `r`, advancing it; `None` when it is not one.
    pub fn read_from(r: &mut &[u8]) -> Option<SortValue> {
        let (&tag, rest) = r.split_first()?;
        *r = rest;
        match tag {
            0 => Some(SortValue::Missing),
            1 => {
                let (x, rest) = r.split_first_chunk::<8>()?;
                *r = rest;
                Some(SortValue::Number(f64::from_le_bytes(*x)))
            }
            2 => {
                let (l, rest) = r.split_first_chunk::<8>()?;
                let l = usize::try_from(u64::from_le_bytes(*l)).ok()?;
                if rest.len() < l {
                    return None;
                }
                let (t, rest) = rest.split_at(l);
                *r = rest;
                Some(SortValue::Text(std::str::from_utf8(t).ok()?.to_string()))
            }
            _ => None,
        }
    }
}

/// The value at a path of object keys in a document's fields (`["metadata", "url"]`).
fn field_value<'a>(doc: &'a Document, parts: &[String]) -> Option<&'a Value> {
    let mut cur = doc.fields.get(parts.first()?);
    for k in parts.iter().skip(1) {
        cur = cur?.get(k);
    }
    cur
}

/// Which part of a document identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupKey {
    /// The text.
    Text,
    /// The id.
    Id,
    /// A field reached by a path of object keys (`$.metadata.url` → `["metadata", "url"]`).
    Field(Vec<String>),
}

/// A key selector that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unsupported dedup key `{0}`: use a simple path such as `$.text`, `$.id` or `$.metadata.url`"
)]
pub struct BadKey(pub String);

impl DedupKey {
    /// Parses dolma's key syntax, a simple JSONPath (`$.metadata.url`).
    pub fn parse(s: &str) -> Result<DedupKey, BadKey> {
        let body = s.strip_prefix("$.").unwrap_or(s);
        let parts: Vec<String> = body.split('.').map(str::to_string).collect();
        if body.is_empty()
            || parts
                .iter()
                .any(|p| p.is_empty() || p.contains(['[', ']', '*', '?', '@', '$']))
        {
            return Err(BadKey(s.to_string()));
        }
        Ok(match parts.as_slice() {
            [one] if one == "text" => DedupKey::Text,
            [one] if one == "id" => DedupKey::Id,
            _ => DedupKey::Field(parts),
        })
    }

    /// The key as written in configs: `$.text`, `$.metadata.url`.
    pub fn path(&self) -> String {
        match self {
            DedupKey::Text => "$.text".into(),
            DedupKey::Id => "$.id".into(),
            DedupKey::Field(parts) => format!("$.{}", parts.join(".")),
        }
    }

    /// The key's value for a document, or an error naming what is missing.
    pub fn extract<'a>(&self, doc: &'a Document) -> Result<Cow<'a, str>, String> {
        match self {
            DedupKey::Text => Ok(Cow::Borrowed(&doc.text)),
            DedupKey::Id => Ok(Cow::Borrowed(&doc.id)),
            DedupKey::Field(parts) => match field_value(doc, parts) {
                Some(Value::String(s)) => Ok(Cow::Borrowed(s)),
                Some(other) => Err(format!(
                    "dedup key `$.{}` is {}, not a string",
                    parts.join("."),
                    loam_pipeline::document::json_type(other)
                )),
                None => Err(format!("dedup key `$.{}` is missing", parts.join("."))),
            },
        }
    }
}

/// What happened to one shard.
#[derive(Debug, Clone)]
pub struct ShardDedup {
    /// The input scan (first pass).
    pub scan: ScanReport,
    /// Documents marked duplicate.
    pub duplicates: u64,
    /// Text bytes of those documents.
    pub duplicate_text_bytes: u64,
    /// The attribute file, when published.
    pub output: Option<WrittenShard>,
}

impl ShardDedup {
    /// Nothing marked yet, after the read `scan`.
    fn new(scan: ScanReport) -> ShardDedup {
        ShardDedup {
            scan,
            duplicates: 0,
            duplicate_text_bytes: 0,
            output: None,
        }
    }
}

/// One unit of work: an input shard and its attribute file.
#[derive(Debug, Clone)]
pub struct DedupUnit {
    /// Document shard.
    pub input: String,
    /// Attribute file to write.
    pub output: String,
}

/// One shard's keys (and keep values), collected by a pass that reads the shard anyway —
/// `loam run`'s tag stage — so that [`dedupe_documents`] need not read it for them.
#[derive(Debug, Default)]
pub struct ShardKeys {
    hashes: Vec<u128>,
    values: Vec<SortValue>,
    /// A document had no key (or a text of 4 GiB): the shard is read again, and that read
    /// reports it.
    failed: bool,
    /// The marks' other inputs, when the same read wrote a file with every document's id.
    listed: Option<Listed>,
}

/// What writing a shard's marks needs besides its flags, without reading the shard again:
/// a file of one JSON line per document whose `id` is the document's (the tag stage's
/// attribute file), and each document's text length in characters and bytes.
#[derive(Debug, Default)]
struct Listed {
    ids: String,
    chars: Vec<u32>,
    bytes: Vec<u32>,
}

impl ShardKeys {
    /// Keys and lengths, and `ids`, the file the same read writes with each document's id
    /// in order (an attribute file): the marks read it instead of the shard.
    pub fn with_ids_in(ids: &str) -> ShardKeys {
        ShardKeys {
            listed: Some(Listed {
                ids: ids.to_string(),
                ..Listed::default()
            }),
            ..ShardKeys::default()
        }
    }

    /// Adds the next document's key; one without is left to the shard's own read, which
    /// reports it.
    pub fn add(&mut self, doc: &Document, key: &DedupKey, keep: &Keep) {
        if self.push(doc, key, keep).is_err() {
            self.failed = true;
        }
    }

    /// Adds the next document's key (and keep value, and lengths when listed), or says why
    /// it has none.
    fn push(&mut self, doc: &Document, key: &DedupKey, keep: &Keep) -> Result<(), String> {
        let k = key.extract(doc)?;
        self.hashes.push(xxhash_rust::xxh3::xxh3_128(k.as_bytes()));
        if let Keep::By { field, .. } = keep {
            self.values.push(SortValue::of(doc, field));
        }
        if let Some(l) = self.listed.as_mut() {
            let chars = u32::try_from(doc.text.chars().count());
            match (chars, u32::try_from(doc.text.len())) {
                (Ok(c), Ok(b)) => {
                    l.chars.push(c);
                    l.bytes.push(b);
                }
                _ => self.failed = true,
            }
        }
        Ok(())
    }
}

/// Marks exact duplicates across all `units` (in the given order, which must be canonical)
/// and writes one attribute file per unit. Shards that fail to read are reported and
/// excluded; their documents never claim a key. Each unit's keys come from `pre` where
/// given (one entry per unit, or none): the read of the shard that collected them (its
/// [`ScanReport`]) stands for the first pass's. A unit without them, or whose read or keys
/// failed, is read as usual.
#[allow(clippy::too_many_arguments)]
pub fn dedupe_documents(
    storage: &dyn Storage,
    units: &[DedupUnit],
    key: &DedupKey,
    keep: &Keep,
    attribute: &str,
    exec: &Executor,
    progress: &dyn Progress,
    pre: Vec<Option<(ScanReport, ShardKeys)>>,
) -> Vec<ShardDedup> {
    let pre: Vec<std::sync::Mutex<Option<(ScanReport, ShardKeys)>>> =
        pre.into_iter().map(std::sync::Mutex::new).collect();
    let work: Vec<(usize, &DedupUnit)> = units.iter().enumerate().collect();
    // Phase 1: hash keys (and read the keep policy's values) in parallel.
    let hashed: Vec<(ScanReport, ShardKeys)> = exec.map(&work, |&(i, u)| {
        let given = pre
            .get(i)
            .and_then(|m| m.lock().ok().and_then(|mut g| g.take()));
        if let Some((rep, keys)) = given {
            if !rep.failed() && !keys.failed && keys.hashes.len() as u64 == rep.documents {
                progress.advance(rep.documents, rep.text_bytes);
                return (rep, keys);
            }
        }
        let mut keys = ShardKeys::default();
        let rep = scan(storage, &u.input, |line, doc| {
            keys.push(doc, key, keep)
                .map_err(|e| format!("{}:{line}: {e}", u.input))?;
            progress.advance(1, doc.text.len() as u64);
            Ok(())
        });
        (rep, keys)
    });
    // Phase 2, in canonical order: the survivor of each key — the first copy, or the one the
    // keep policy prefers (ties to the first) — then each duplicate's flag: where its
    // survivor is.
    let mut seen: HashMap<u128, (usize, u64)> = HashMap::new();
    if let Keep::By { latest, .. } = keep {
        let mut best: HashMap<u128, (usize, u64, &SortValue)> = HashMap::new();
        for (i, (scan, keys)) in hashed.iter().enumerate() {
            if scan.failed() {
                continue;
            }
            for (line, (h, v)) in keys.hashes.iter().zip(&keys.values).enumerate() {
                let here = (i, line as u64 + 1, v);
                best.entry(*h)
                    .and_modify(|cur| {
                        if v.beats(cur.2, *latest) {
                            *cur = here;
                        }
                    })
                    .or_insert(here);
            }
        }
        seen = best.into_iter().map(|(h, (u, l, _))| (h, (u, l))).collect();
    }
    let mut dup_flags: Vec<Vec<Option<(usize, u64)>>> = Vec::with_capacity(units.len());
    for (i, (scan, keys)) in hashed.iter().enumerate() {
        let mut flags = vec![None; keys.hashes.len()];
        if !scan.failed() {
            for (line, h) in keys.hashes.iter().enumerate() {
                let here = (i, line as u64 + 1);
                match seen.entry(*h) {
                    std::collections::hash_map::Entry::Occupied(o) => {
                        if *o.get() != here {
                            flags[line] = Some(*o.get());
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(here);
                    }
                }
            }
        }
        dup_flags.push(flags);
    }
    let kept_by = keep.describe();
    // Phase 3: write attributes in parallel.
    exec.map(&work, |(i, u)| {
        let (scan, keys) = &hashed[*i];
        let first = scan.clone();
        if first.failed() {
            return ShardDedup::new(first);
        }
        let flags = &dup_flags[*i];
        let kept_by = kept_by.as_deref();
        match &keys.listed {
            None => write_marks(storage, units, u, flags, attribute, kept_by, first),
            Some(l) => write_marks_listed(storage, units, u, flags, attribute, kept_by, first, l),
        }
    })
}

/// One document's attribute record, counted in `out` when it is a duplicate.
#[allow(clippy::too_many_arguments)]
fn mark(
    units: &[DedupUnit],
    flag: Option<(usize, u64)>,
    attribute: &str,
    kept_by: Option<&str>,
    id: String,
    chars: usize,
    bytes: u64,
    out: &mut ShardDedup,
) -> AttributeRecord {
    let mut rec = AttributeRecord::new(id);
    if let Some((kept_unit, kept_line)) = flag {
        rec.attributes
            .insert(attribute.to_string(), vec![Span::new(0, chars, 1.0)]);
        // Named below `documents/` (like the attribute files themselves), so the
        // attributes do not depend on where the corpus is stored (local or s3://).
        let kept_input = units.get(kept_unit).map_or("", |u| u.input.as_str());
        let file = loam_pipeline::layout::relative_to_documents(kept_input).unwrap_or(kept_input);
        rec.duplicate_of.insert(
            attribute.to_string(),
            KeptCopy {
                file: file.to_string(),
                line: kept_line,
                kept_by: kept_by.map(str::to_string),
            },
        );
        out.duplicates += 1;
        out.duplicate_text_bytes += bytes;
    }
    rec
}

/// [`write_marks`] from a file of the documents' ids and their lengths ([`Listed`]) instead
/// of the shard: the same attribute file.
#[allow(clippy::too_many_arguments)]
fn write_marks_listed(
    storage: &dyn Storage,
    units: &[DedupUnit],
    unit: &DedupUnit,
    flags: &[Option<(usize, u64)>],
    attribute: &str,
    kept_by: Option<&str>,
    first: ScanReport,
    listed: &Listed,
) -> ShardDedup {
    #[derive(serde::Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
    }
    let mut out = ShardDedup::new(first);
    let level = loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL;
    let opened = JsonlWriter::with_gzip_level(storage, &unit.output, level)
        .map_err(|e| e.to_string())
        .and_then(|w| {
            let r = loam_pipeline::reader::LineReader::open(storage, &listed.ids);
            r.map(|r| (w, r)).map_err(|e| e.to_string())
        });
    let (mut writer, mut reader) = match opened {
        Ok(x) => x,
        Err(e) => {
            out.scan.record(e, true);
            return out;
        }
    };
    let mut n = 0usize;
    let mut problem = None;
    while let Some(item) = reader.next_line() {
        let made = item.map_err(|e| e.to_string()).and_then(|(line, text)| {
            let id = serde_json::from_str::<IdOnly>(text)
                .map_err(|e| format!("{}:{line}: {e}", listed.ids))?
                .id
                .into_owned();
            let (Some(&chars), Some(&bytes)) = (listed.chars.get(n), listed.bytes.get(n)) else {
                return Err(format!("{}: more lines than {}", listed.ids, unit.input));
            };
            let flag = flags.get(n).copied().flatten();
            let rec = mark(
                units,
                flag,
                attribute,
                kept_by,
                id,
                chars as usize,
                bytes.into(),
                &mut out,
            );
            writer.write(&rec).map_err(|e| e.to_string())
        });
        if let Err(e) = made {
            problem = Some(e);
            break;
        }
        n += 1;
    }
    if problem.is_none() && (n != flags.len() || n != listed.chars.len()) {
        problem = Some(format!(
            "{}: not one line per document of {}",
            listed.ids, unit.input
        ));
    }
    publish(writer, problem, out)
}

/// Publishes a shard's marks, unless there was a `problem` (then nothing is).
fn publish(writer: JsonlWriter, problem: Option<String>, mut out: ShardDedup) -> ShardDedup {
    if let Some(e) = problem {
        out.scan.record(e, true);
        return out;
    }
    match writer.finish() {
        Ok(s) => out.output = Some(s),
        Err(e) => out.scan.record(e.to_string(), true),
    }
    out
}

/// Writes one shard's attribute file from its flags (per line: the survivor's unit and
/// 1-based line, for a duplicate), rescanning the shard; what every exact front end shares.
pub fn write_marks(
    storage: &dyn Storage,
    units: &[DedupUnit],
    unit: &DedupUnit,
    flags: &[Option<(usize, u64)>],
    attribute: &str,
    kept_by: Option<&str>,
    first: ScanReport,
) -> ShardDedup {
    let mut out = ShardDedup::new(first);
    let mut writer = match JsonlWriter::with_gzip_level(
        storage,
        &unit.output,
        loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL,
    ) {
        Ok(w) => w,
        Err(e) => {
            out.scan.record(e.to_string(), true);
            return out;
        }
    };
    let mut n = 0usize;
    let rescan = scan(storage, &unit.input, |line, doc| {
        let flag = flags.get(n).copied().flatten();
        // Characters only where a span needs them.
        let chars = flag.map_or(0, |_| doc.text.chars().count());
        let bytes = doc.text.len() as u64;
        let rec = mark(
            units,
            flag,
            attribute,
            kept_by,
            doc.id.clone(),
            chars,
            bytes,
            &mut out,
        );
        n += 1;
        writer
            .write(&rec)
            .map_err(|e| format!("{}:{line}: {e}", unit.input))
    });
    // The file changed between passes or failed now: publish nothing.
    let problem = (rescan.failed() || n != flags.len()).then(|| {
        rescan
            .fatal
            .clone()
            .or_else(|| rescan.errors.first().cloned())
            .unwrap_or_else(|| format!("{}: changed while being deduplicated", unit.input))
    });
    publish(writer, problem, out)
}

/// Exact dedup as tasks (`documents.partitions` in loam's pipeline file): (1) per shard, a
/// key file — each line's key hash (and keep value) in the partition `hash · P / 2¹²⁸` of it;
/// (2) per partition, every shard's part of it grouped by key: each duplicate and its
/// survivor, as `(node, survivor)` with nodes `shard << 32 | line` (canonical order); (3) per
/// shard, its marks ([`write_marks`]). Survivors are the one-process run's, so the attribute
/// files are byte-identical whatever the partitions and tasks; no task holds every key.
pub mod tasks {
    use super::*;

    const KEY_MAGIC: &[u8; 8] = b"LOAMXK01";

    /// A key file that is damaged or not what it should be.
    #[derive(Debug, thiserror::Error)]
    #[error("{path}: not a valid exact-dedup key file: {reason}")]
    pub struct KeyFileError {
        /// The file.
        pub path: String,
        /// What is wrong.
        pub reason: String,
    }

    fn part_of(h: u128, parts: usize) -> usize {
        (((h >> 64) * parts as u128) >> 64) as usize
    }

    /// One shard's key file: per partition, `(hash, line, keep value)` in line order.
    pub fn key_file(
        storage: &dyn Storage,
        input: &str,
        key: &DedupKey,
        keep: &Keep,
        parts: usize,
        progress: &dyn Progress,
    ) -> (ScanReport, Vec<u8>) {
        let parts = parts.max(1);
        let mut by_part: Vec<Vec<(u128, u32, SortValue)>> = vec![Vec::new(); parts];
        let mut n = 0u32;
        let rep = scan(storage, input, |line, doc| {
            if n == u32::MAX {
                return Err(format!(
                    "{input}:{line}: more than 2^32 - 1 documents in one shard; split it"
                ));
            }
            let k = key
                .extract(doc)
                .map_err(|e| format!("{input}:{line}: {e}"))?;
            let h = xxhash_rust::xxh3::xxh3_128(k.as_bytes());
            let v = match keep {
                Keep::By { field, .. } => SortValue::of(doc, field),
                Keep::First => SortValue::Missing,
            };
            by_part[part_of(h, parts)].push((h, n, v));
            n += 1;
            progress.advance(1, doc.text.len() as u64);
            Ok(())
        });
        let mut b = Vec::new();
        b.extend_from_slice(KEY_MAGIC);
        b.extend_from_slice(&(parts as u64).to_le_bytes());
        b.extend_from_slice(&u64::from(n).to_le_bytes());
        for part in &by_part {
            b.extend_from_slice(&(part.len() as u64).to_le_bytes());
            for (h, line, v) in part {
                b.extend_from_slice(&h.to_le_bytes());
                b.extend_from_slice(&line.to_le_bytes());
                v.write_to(&mut b);
            }
        }
        let check = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(&check.to_le_bytes());
        (rep, b)
    }

    /// The lines of a key file (the shard's documents).
    pub fn key_file_lines(b: &[u8], path: &str) -> Result<u64, KeyFileError> {
        let bad = |reason: &str| KeyFileError {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let body = crate::minhash::checked_body(b, KEY_MAGIC).map_err(bad)?;
        body.get(8..16)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .ok_or_else(|| bad("truncated"))
    }

    /// Partition `part` of a key file made with `parts` partitions, for shard `shard`:
    /// `(hash, node, keep value)`.
    fn read_part(
        b: &[u8],
        path: &str,
        parts: usize,
        part: usize,
        shard: usize,
    ) -> Result<Vec<(u128, u64, SortValue)>, KeyFileError> {
        let bad = |reason: &str| KeyFileError {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let mut r = crate::minhash::checked_body(b, KEY_MAGIC).map_err(bad)?;
        fn take<'b>(r: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
            if r.len() < n {
                return None;
            }
            let (a, rest) = r.split_at(n);
            *r = rest;
            Some(a)
        }
        let word = |x: &[u8]| u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
        let truncated = || bad("truncated");
        let have = word(take(&mut r, 8).ok_or_else(truncated)?) as usize;
        if have != parts {
            return Err(bad(&format!("{have} partitions, the config has {parts}")));
        }
        take(&mut r, 8).ok_or_else(truncated)?;
        let mut out = Vec::new();
        for p in 0..parts {
            let len = word(take(&mut r, 8).ok_or_else(truncated)?) as usize;
            for _ in 0..len {
                let h = take(&mut r, 16).ok_or_else(truncated)?;
                let h = u128::from_le_bytes(h.try_into().unwrap_or([0; 16]));
                let line = take(&mut r, 4).ok_or_else(truncated)?;
                let line = u32::from_le_bytes(line.try_into().unwrap_or([0; 4]));
                let v = SortValue::read_from(&mut r).ok_or_else(|| bad("bad keep value"))?;
                if p == part {
                    out.push((h, (shard as u64) << 32 | u64::from(line), v));
                }
            }
            if p == part {
                break;
            }
        }
        Ok(out)
    }

    /// Partition `part`: from every shard's key file (`(bytes, path)`, canonical order),
    /// each duplicate and its survivor `(node, survivor)`, sorted by node.
    pub fn survivors(
        files: &[(&[u8], &str)],
        parts: usize,
        part: usize,
        keep: &Keep,
    ) -> Result<Vec<(u64, u64)>, KeyFileError> {
        let mut all = Vec::new();
        for (k, (b, path)) in files.iter().enumerate() {
            all.extend(read_part(b, path, parts, part, k)?);
        }
        // By key, then canonical order.
        all.sort_unstable_by_key(|a| (a.0, a.1));
        let mut out = Vec::new();
        let mut i = 0;
        while i < all.len() {
            let mut e = i + 1;
            while e < all.len() && all[e].0 == all[i].0 {
                e += 1;
            }
            if e - i > 1 {
                let mut best = i;
                if let Keep::By { latest, .. } = keep {
                    for j in i + 1..e {
                        if all[j].2.beats(&all[best].2, *latest) {
                            best = j;
                        }
                    }
                }
                let survivor = all[best].1;
                out.extend((i..e).filter(|&j| j != best).map(|j| (all[j].1, survivor)));
            }
            i = e;
        }
        out.sort_unstable();
        Ok(out)
    }

    /// One shard's flags for [`write_marks`] from its `(node, survivor)` pairs (any order),
    /// its number of lines and the stage's number of shards; a pair naming a line or shard
    /// that is not there is an error (a survivors file that does not belong to these inputs).
    pub fn flags(
        pairs: &[(u64, u64)],
        lines: u64,
        shards: usize,
    ) -> Result<Vec<Option<(usize, u64)>>, String> {
        let mut flags = vec![None; lines as usize];
        for &(node, survivor) in pairs {
            let line = (node & 0xffff_ffff) as usize;
            let shard = (survivor >> 32) as usize;
            match flags.get_mut(line) {
                Some(f) if shard < shards => {
                    *f = Some((shard, (survivor & 0xffff_ffff) + 1));
                }
                _ => {
                    return Err(format!(
                        "a survivors entry names line {line} (of {lines}) and shard {shard} (of {shards})"
                    ))
                }
            }
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(DedupKey::parse("$.text").unwrap(), DedupKey::Text);
        assert_eq!(DedupKey::parse("$.id").unwrap(), DedupKey::Id);
        assert_eq!(
            DedupKey::parse("$.metadata.url").unwrap(),
            DedupKey::Field(vec!["metadata".into(), "url".into()])
        );
        assert!(DedupKey::parse("$.a[0]").is_err());
        assert!(DedupKey::parse("$.").is_err());
    }
}
