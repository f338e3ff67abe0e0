//! dolma-compatible document and paragraph dedup over a Bloom filter, deterministic whatever
//! the thread count.
//!
//! Three phases:
//! 1. **Keys** (parallel over shards): each shard is read once; every document, paragraph or
//!    sampled n-gram becomes a 128-bit key hash, and a compact plan of what to write (spans,
//!    which keys they depend on) is kept. Keys outside this task's partition are dropped.
//! 2. **Check and insert** (parallel over the filter's regions): keys are bucketed by region
//!    (a hash range, see [`crate::bloom`]) keeping canonical order — sorted shard path, then
//!    line, then position in the document — and each region is walked in that order. Regions
//!    share no bits, so the first copy in canonical order survives and false positives are
//!    the same whatever the threads.
//! 3. **Write** (parallel over shards): attribute files in dolma's format, atomically.
//!
//! Memory: 16 bytes per key plus a few bytes per paragraph, and the filter.

use crate::bloom::{key_hash, region_of, BloomError, BloomFilter, BloomPlan, REGIONS};
use crate::config::{DedupeConfig, DedupeMode};
use crate::exact::{DedupKey, DedupUnit};
use crate::text::{paragraphs, words};
use loam_pipeline::document::KeptCopy;
use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::shard::{scan, ScanReport};
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// n-gram overlap settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Ngrams {
    /// Words per n-gram (> 0).
    pub length: usize,
    /// Minimum distance between sampled n-gram starts (0 and 1: every n-gram).
    pub stride: usize,
    /// Fraction of duplicate n-grams (compared in `f32`, as dolma) that marks a paragraph.
    pub overlap_threshold: f32,
    /// Skip paragraphs with fewer than two sampled n-grams instead of hashing them whole.
    pub skip_short_paragraphs: bool,
}

/// What is deduplicated.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Whole documents by a key.
    Documents {
        /// The key.
        key: DedupKey,
    },
    /// Paragraphs of the text.
    Paragraphs {
        /// Separator (non-empty).
        separator: String,
        /// n-gram overlap instead of whole paragraphs.
        ngrams: Option<Ngrams>,
    },
}

/// Where a job's keys are looked up: the first copy in canonical order survives in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySet {
    /// A Bloom filter file sized up front (dolma's): fixed memory, a planned rate of false
    /// positives, and keys of earlier runs kept in the file.
    Bloom,
    /// Every key of the run held (16 bytes each, and a 4-byte index while they are sorted)
    /// and compared: no false positives, no file, nothing to size.
    Exact,
}

/// A dedupe job, built from a dolma config.
#[derive(Debug, Clone)]
pub struct Job {
    /// Mode.
    pub mode: Mode,
    /// Attribute key written (partition suffix included).
    pub attribute: String,
    /// Skip keys that are empty after trimming whitespace.
    pub skip_empty: bool,
    /// Minimum key length in code points.
    pub min_length: u64,
    /// Minimum words (dolma's tokenizer).
    pub min_words: u64,
    /// Partitions of the key space.
    pub num_partitions: u32,
    /// This task's partition.
    pub partition_index: u32,
    /// Filter sizing for a new filter.
    pub plan: BloomPlan,
    /// Filter file (loaded when it exists, saved unless read-only).
    pub filter_file: PathBuf,
    /// Check only, never insert.
    pub read_only: bool,
    /// Reproduce dolma 1.2.1's bugs (for byte-for-byte comparison with its outputs; not in
    /// the config): document spans `[0, key bytes]`, `min_words > 0` disabling dedup and
    /// `skip_empty`, the n-gram stride also sampling the second n-gram, paragraph ends
    /// adding 1 for any separator and comparing code points with bytes, `f32` scores.
    pub dolma_bugs: bool,
    /// Where keys are looked up (`plan`, `filter_file` and `read_only` are the Bloom
    /// filter's).
    pub key_set: KeySet,
}

impl Job {
    /// Builds the job; errors are usage errors (messages name the config field).
    pub fn from_config(cfg: &DedupeConfig) -> Result<Job, String> {
        let bf = cfg
            .bloom_filter
            .as_ref()
            .ok_or("bloom_filter: missing (required unless dedupe.minhash)")?;
        let mut job = Self::keys_of(cfg)?;
        job.plan = BloomPlan::new(
            bf.size_in_bytes,
            bf.estimated_doc_count,
            bf.desired_false_positive_rate,
        );
        job.filter_file = PathBuf::from(&bf.file);
        job.read_only = bf.read_only;
        job.key_set = KeySet::Bloom;
        Ok(job)
    }

    /// The job with an exact key set ([`KeySet::Exact`]); the config's `bloom_filter` is
    /// not used.
    pub fn exact_from_config(cfg: &DedupeConfig) -> Result<Job, String> {
        Self::keys_of(cfg)
    }

    /// What the keys are (mode, attribute, skips, partitions), with an exact key set.
    fn keys_of(cfg: &DedupeConfig) -> Result<Job, String> {
        let d = &cfg.dedupe;
        let (mode, attr) = match d.mode() {
            None => return Err("dedupe: set `documents` or `paragraphs`".into()),
            Some(DedupeMode::Documents(doc)) => (
                Mode::Documents {
                    key: DedupKey::parse(&doc.key)
                        .map_err(|e| format!("dedupe.documents.key: {e}"))?,
                },
                doc.attribute_name.clone(),
            ),
            Some(DedupeMode::MinHash(_)) => {
                return Err(
                    "dedupe.minhash: not a Bloom filter job (see loam_dedup::minhash)".into(),
                )
            }
            Some(DedupeMode::Paragraphs(p)) => {
                if p.paragraph_separator.is_empty() {
                    return Err("dedupe.paragraphs.paragraph_separator: empty".into());
                }
                let ngrams = p
                    .by_ngram
                    .as_ref()
                    .filter(|n| n.ngram_length > 0)
                    .map(|n| Ngrams {
                        length: n.ngram_length,
                        stride: n.stride,
                        overlap_threshold: n.overlap_threshold,
                        skip_short_paragraphs: n.skip_short_paragraphs,
                    });
                (
                    Mode::Paragraphs {
                        separator: p.paragraph_separator.clone(),
                        ngrams,
                    },
                    p.attribute_name.clone(),
                )
            }
        };
        if d.num_partitions > REGIONS as u64 {
            return Err(format!(
                "dedupe.num_partitions: at most {REGIONS} (the filter's hash ranges)"
            ));
        }
        if d.file_partition {
            return Err("dedupe.file_partition: not supported; use hash-range partitions (num_partitions, partition_index)".into());
        }
        if d.num_partitions > 1
            && matches!(
                &mode,
                Mode::Paragraphs {
                    ngrams: Some(_),
                    ..
                }
            )
        {
            return Err("dedupe.num_partitions: n-gram overlap needs every n-gram of a paragraph in one task, so partitions cannot reproduce the single-task result; run it unpartitioned".into());
        }
        let attribute = if d.num_partitions > 1 {
            format!("{attr}_{}", d.partition_index)
        } else {
            attr
        };
        Ok(Job {
            mode,
            attribute,
            skip_empty: d.skip_empty,
            min_length: d.min_length,
            min_words: d.min_words,
            num_partitions: d.num_partitions.max(1) as u32,
            partition_index: d.partition_index as u32,
            plan: BloomPlan::new(0, 0, 0.0),
            filter_file: PathBuf::new(),
            read_only: false,
            dolma_bugs: false,
            key_set: KeySet::Exact,
        })
    }

    /// Warnings about a config that would mark nothing, or surprise a dolma user, before any
    /// work.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let exists = self.key_set == KeySet::Bloom && self.filter_file.exists();
        if self.key_set == KeySet::Bloom && self.read_only && !exists {
            w.push(format!(
                "bloom_filter.read_only is true but {} does not exist: the filter is empty and nothing will be marked (dolma silently does the same, dolma issue 174)",
                self.filter_file.display()
            ));
        }
        if !self.read_only && exists {
            w.push(format!(
                "bloom_filter.file {} exists and keeps its keys: anything seen by the run that wrote it is marked as a duplicate here, including every key if these are the same documents; delete it for a fresh run",
                self.filter_file.display()
            ));
        }
        if self.min_words > 0 {
            w.push("dedupe.min_words > 0: dolma 1.2.1 then dedupes nothing at all (every document or paragraph with enough words skips the Bloom filter); loam applies min_words as a minimum and dedupes the rest".into());
        }
        if let Mode::Documents { key: DedupKey::Id } = &self.mode {
            w.push("dedupe.documents.key is $.id: ids are usually unique, so nothing may be marked; use $.text for content dedup or dedupe.paragraphs".into());
        }
        if let Mode::Paragraphs {
            ngrams: Some(n), ..
        } = &self.mode
        {
            if n.overlap_threshold == 0.0 {
                w.push("dedupe.paragraphs.by_ngram.overlap_threshold is 0: every paragraph gets a span, duplicate or not".into());
            }
        }
        w
    }
}

/// What happened to one shard.
#[derive(Debug, Clone)]
pub struct ShardOutcome {
    /// The input scan.
    pub scan: ScanReport,
    /// Documents with at least one duplicate span.
    pub duplicate_documents: u64,
    /// Duplicate spans written.
    pub duplicate_spans: u64,
    /// Code points under duplicate spans.
    pub duplicate_chars: u64,
    /// Text bytes of documents marked whole (documents mode).
    pub duplicate_document_bytes: u64,
    /// The attribute file, when published.
    pub output: Option<WrittenShard>,
}

/// What the check-and-insert found, and the filter after it; displayed as the line
/// `loam dedupe` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckStats {
    /// Keys checked against the filter (this partition's).
    pub keys: u64,
    /// Keys found present.
    pub keys_present: u64,
    /// Keys left out: skipped by skip_empty/min_length/min_words.
    pub keys_skipped: u64,
    /// Keys left to other partitions.
    pub keys_other_partitions: u64,
    /// The Bloom filter after the check; none for an exact key set.
    pub filter: Option<FilterState>,
}

/// A Bloom filter after a check.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterState {
    /// Its size in bytes.
    pub bytes: u64,
    /// Hash functions.
    pub hashes: u32,
    /// Keys it holds.
    pub keys: u64,
    /// Its false-positive rate now.
    pub fp_rate: f64,
}

impl CheckStats {
    /// The counts of `keys` checked against `filter` (none: an exact key set).
    pub(crate) fn of(
        filter: Option<&BloomFilter>,
        keys: u64,
        present: u64,
        skipped: u64,
        other: u64,
    ) -> Self {
        CheckStats {
            keys,
            keys_present: present,
            keys_skipped: skipped,
            keys_other_partitions: other,
            filter: filter.map(|f| FilterState {
                bytes: f.size_bytes(),
                hashes: f.hashes(),
                keys: f.inserted(),
                fp_rate: f.current_fp_rate(),
            }),
        }
    }
}

impl std::fmt::Display for CheckStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} keys checked ({} present, {} skipped, {} in other partitions); ",
            self.keys, self.keys_present, self.keys_skipped, self.keys_other_partitions,
        )?;
        match &self.filter {
            Some(s) => write!(
                f,
                "filter {:.1} MiB, {} hashes, {} keys, false-positive rate now {:.2e}",
                s.bytes as f64 / 1048576.0,
                s.hashes,
                s.keys,
                s.fp_rate
            ),
            None => f.write_str("exact key set"),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// Per unit, in order.
    pub shards: Vec<ShardOutcome>,
    /// The keys and the filter.
    pub stats: CheckStats,
    /// Warnings found while running (a run that marked nothing says why).
    pub warnings: Vec<String>,
}

/// Errors that stop a run before or after the units.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The filter file.
    #[error(transparent)]
    Bloom(#[from] BloomError),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DocPlan {
    /// `{"name": []}`: skipped or in another partition.
    Empty,
    /// `{}`.
    Nothing,
    /// A whole-document key; `[[0, chars, 1]]` when present.
    Key { key: u32, chars: u64, bytes: u64 },
    /// Paragraph spans `paras[first..first+n]`.
    Paras { first: u32, n: u32 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ParaKind {
    /// Whole paragraph; span `[s, e, 1]` when present.
    Whole { key: u32 },
    /// n-grams `keys[first..first+n]` of `sampled` sampled (n < sampled out of partition).
    Ngrams { first: u32, n: u32, sampled: u32 },
    /// Short paragraph hashed whole in n-gram mode; score 1.0 or 0.0.
    Short { key: u32 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ParaPlan {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) kind: ParaKind,
}

/// What phase 1 keeps of a shard: its keys and what to write once they are checked.
pub(crate) struct ShardPlan {
    pub(crate) scan: ScanReport,
    pub(crate) ids: Vec<String>,
    pub(crate) docs: Vec<DocPlan>,
    pub(crate) paras: Vec<ParaPlan>,
    pub(crate) keys: Vec<u128>,
    pub(crate) skipped: u64,
    pub(crate) other: u64,
}

struct Planner<'a> {
    job: &'a Job,
    buf: Vec<u8>,
    plan: ShardPlan,
}

impl Planner<'_> {
    /// Adds a key if it is in this partition; returns its index.
    fn key(&mut self, parts: &[&str]) -> Option<u32> {
        let h = key_hash(parts, &mut self.buf);
        if self.job.num_partitions > 1
            && region_of(h) % self.job.num_partitions != self.job.partition_index
        {
            self.plan.other += 1;
            return None;
        }
        self.plan.keys.push(h);
        Some((self.plan.keys.len() - 1) as u32)
    }

    /// skip_empty / min_length (code points) / min_words, all applied (dolma skips the
    /// filter entirely when min_words > 0).
    fn skip(&self, s: &str, chars: usize) -> bool {
        let j = self.job;
        if j.dolma_bugs && j.min_words > 0 {
            // dolma: an else-if chain where enough words means "skip the filter" too.
            return true;
        }
        (j.skip_empty && s.trim().is_empty())
            || (chars as u64) < j.min_length
            || (j.min_words > 0
                && (words(s).take(j.min_words as usize).count() as u64) < j.min_words)
    }

    fn document(&mut self, key: &str, text_chars: u64, text_bytes: u64) -> DocPlan {
        let key_chars = key.chars().count();
        let j = self.job;
        if j.dolma_bugs {
            let few_words = || (words(key).count() as u64) < j.min_words;
            let skipped = if j.min_words > 0 {
                if !few_words() {
                    return DocPlan::Nothing; // dolma never checks the filter here
                }
                true
            } else {
                (key.len() as u64) < j.min_length || (j.skip_empty && key.trim().is_empty())
            };
            if skipped {
                self.plan.skipped += 1;
                return DocPlan::Empty;
            }
            return match self.key(&[key]) {
                Some(k) => DocPlan::Key {
                    key: k,
                    chars: key.len() as u64,
                    bytes: text_bytes,
                },
                None => DocPlan::Empty,
            };
        }
        if self.skip(key, key_chars) {
            self.plan.skipped += 1;
            return DocPlan::Empty;
        }
        match self.key(&[key]) {
            Some(k) => DocPlan::Key {
                key: k,
                chars: text_chars,
                bytes: text_bytes,
            },
            None => DocPlan::Empty,
        }
    }

    fn paragraphs(&mut self, text: &str, separator: &str, ngrams: Option<&Ngrams>) -> DocPlan {
        if text.is_empty() {
            return DocPlan::Nothing;
        }
        let first = self.plan.paras.len() as u32;
        let mut dolma_offset = 0usize;
        for mut p in paragraphs(text, separator) {
            if self.job.dolma_bugs {
                p.start = dolma_offset;
                dolma_offset += p.chars;
                if dolma_offset < text.len() - 1 {
                    dolma_offset += 1;
                }
                p.end = dolma_offset;
            }
            if self.skip(p.text, p.chars) {
                self.plan.skipped += 1;
                continue;
            }
            let kind = match ngrams {
                None => self.key(&[p.text]).map(|key| ParaKind::Whole { key }),
                Some(n) => self.ngrams(p.text, n),
            };
            if let Some(kind) = kind {
                self.plan.paras.push(ParaPlan {
                    start: p.start as u32,
                    end: p.end as u32,
                    kind,
                });
            }
        }
        DocPlan::Paras {
            first,
            n: self.plan.paras.len() as u32 - first,
        }
    }

    /// Samples n-grams every `stride` words from the first (dolma also samples the second:
    /// its "last start" is 0 for both the first n-gram and "none yet").
    fn ngrams(&mut self, text: &str, n: &Ngrams) -> Option<ParaKind> {
        let mut window: VecDeque<&str> = VecDeque::with_capacity(n.length);
        let mut parts: Vec<&str> = Vec::with_capacity(n.length);
        let first = self.plan.keys.len() as u32;
        let mut sampled = 0u32;
        let mut next_start = 0usize;
        for (i, w) in words(text).enumerate() {
            window.push_back(w);
            if window.len() == n.length {
                let start = i + 1 - n.length;
                if start >= next_start {
                    next_start = start + n.stride.max(1);
                    if self.job.dolma_bugs && start == 0 {
                        next_start = 1; // dolma: "last start == 0" also means "none yet"
                    }
                    sampled += 1;
                    parts.clear();
                    parts.extend(window.iter().copied());
                    let parts_owned = std::mem::take(&mut parts);
                    let _ = self.key(&parts_owned);
                    parts = parts_owned;
                }
                window.pop_front();
            }
        }
        if sampled < 2 {
            // Judged whole; the one n-gram sampled (if any) stays in the filter, as in dolma.
            if n.skip_short_paragraphs {
                return None;
            }
            return self.key(&[text]).map(|key| ParaKind::Short { key });
        }
        Some(ParaKind::Ngrams {
            first,
            n: self.plan.keys.len() as u32 - first,
            sampled,
        })
    }
}

pub(crate) fn plan_shard(
    storage: &dyn Storage,
    unit: &DedupUnit,
    job: &Job,
    progress: &dyn Progress,
) -> ShardPlan {
    let mut p = Planner {
        job,
        buf: Vec::with_capacity(256),
        plan: ShardPlan {
            scan: ScanReport::default(),
            ids: Vec::new(),
            docs: Vec::new(),
            paras: Vec::new(),
            keys: Vec::new(),
            skipped: 0,
            other: 0,
        },
    };
    let rep = scan(storage, &unit.input, |line, doc| {
        let d = match &job.mode {
            Mode::Documents { key } => {
                let k = key
                    .extract(doc)
                    .map_err(|e| format!("{}:{line}: {e}", unit.input))?;
                let chars = doc.text.chars().count() as u64;
                p.document(&k, chars, doc.text.len() as u64)
            }
            Mode::Paragraphs { separator, ngrams } => {
                if doc.text.len() > u32::MAX as usize {
                    return Err(format!("{}:{line}: text longer than 4 GiB", unit.input));
                }
                p.paragraphs(&doc.text, separator, ngrams.as_ref())
            }
        };
        p.plan.ids.push(doc.id.clone());
        p.plan.docs.push(d);
        progress.advance(1, doc.text.len() as u64);
        Ok(())
    });
    p.plan.scan = rep;
    p.plan
}

/// A bit set written concurrently.
pub(crate) struct Flags(pub(crate) Vec<AtomicU64>);

impl Flags {
    fn new(n: usize) -> Flags {
        Flags((0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }
    fn set(&self, i: usize) {
        self.0[i / 64].fetch_or(1 << (i % 64), Ordering::Relaxed);
    }
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)) != 0
    }
    /// Bits set.
    pub(crate) fn count(&self) -> u64 {
        self.0
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }
}

/// Opens the filter named by the job: loads the file when it exists, else a new one.
pub fn open_filter(job: &Job) -> Result<BloomFilter, BloomError> {
    if job.filter_file.exists() {
        BloomFilter::load(&job.filter_file, !job.read_only)
    } else {
        Ok(BloomFilter::new(&job.plan))
    }
}

/// Where [`run`] saves the updated filter until [`commit_filter`] moves it into place.
pub fn pending_filter_path(filter_file: &Path) -> PathBuf {
    let mut s = filter_file.as_os_str().to_owned();
    s.push(".pending");
    PathBuf::from(s)
}

/// Publishes the filter a completed run saved at [`pending_filter_path`] (a rename); returns
/// whether there was one. Call it once every attribute file and its completion marker is
/// written: a run killed before that reruns from the old filter and so marks the same
/// duplicates (had the new filter been in place, every key would look seen); a run killed
/// after that finds its markers done and only this rename left to do.
pub fn commit_filter(job: &Job) -> Result<bool, BloomError> {
    let pending = pending_filter_path(&job.filter_file);
    if job.read_only || !pending.exists() {
        return Ok(false);
    }
    std::fs::rename(&pending, &job.filter_file).map_err(|source| BloomError::Io {
        path: job.filter_file.clone(),
        source,
    })?;
    Ok(true)
}

/// Runs the job over `units` (in canonical order: sorted input paths) and writes one
/// attribute file per unit. Shards that fail to read are reported and publish nothing; their
/// keys never enter the filter. The updated filter (unless read-only) is saved beside the old
/// one ([`pending_filter_path`]); the caller publishes it with [`commit_filter`] once the
/// outputs are recorded as done, and only if every shard succeeded.
pub fn run(
    storage: &dyn Storage,
    units: &[DedupUnit],
    job: &Job,
    exec: &Executor,
    progress: &dyn Progress,
) -> Result<Outcome, EngineError> {
    let filter = open_key_set(job)?;
    // Phase 1.
    let mut plans: Vec<ShardPlan> = exec.map(units, |u| plan_shard(storage, u, job, progress));
    // Phase 2: canonical order within each region.
    let mut offsets = Vec::with_capacity(plans.len());
    let mut all: Vec<u128> = Vec::new();
    for p in plans.iter_mut() {
        offsets.push(all.len());
        if !p.scan.failed() {
            all.append(&mut p.keys);
        }
        p.keys = Vec::new();
    }
    let keys = all.len() as u64;
    let (present, firsts) = check_all(filter.as_ref(), all, job, exec)?;
    let keys_present = present.count();
    // An exact key set knows each duplicate's first copy: find where each one is.
    let survivors = firsts.map(|pairs| {
        let mut found = Located::new(&pairs);
        for (s, p) in plans.iter().enumerate() {
            if !p.scan.failed() {
                found.shard(s as u32, offsets[s] as u64, p);
            }
        }
        found.survivors(pairs)
    });
    // Phase 3.
    let work: Vec<usize> = (0..units.len()).collect();
    let shards = exec.map(&work, |&i| {
        let hit = |k: u32| present.get(offsets[i] + k as usize);
        let kept = |k: u32| {
            let s = survivors.as_ref()?;
            s.get(offsets[i] as u64 + u64::from(k))
        };
        write_shard(storage, units, i, &plans[i], &hit, &kept, job)
    });
    let keys_skipped = plans.iter().map(|p| p.skipped).sum();
    let keys_other_partitions = plans.iter().map(|p| p.other).sum();
    let mut warnings = Vec::new();
    let marked: u64 = shards.iter().map(|s| s.duplicate_spans).sum();
    if marked == 0 {
        let docs: u64 = shards.iter().map(|s| s.scan.documents).sum();
        let why = if keys == 0 && keys_skipped > 0 {
            format!("all {keys_skipped} keys were skipped by skip_empty/min_length/min_words")
        } else if keys == 0 {
            "no keys at all (no documents, or all in other partitions)".to_string()
        } else if job.read_only && keys_present == 0 {
            format!("none of the {keys} keys is in the read-only filter")
        } else if keys_present == 0 {
            format!("each of the {keys} keys occurs once")
        } else {
            format!("{keys_present} keys were seen before, but no paragraph reached the overlap threshold")
        };
        warnings.push(format!(
            "nothing was marked as a duplicate in {docs} documents: {why}"
        ));
    }
    warnings.extend(filter.as_ref().and_then(|f| overfull(f, job)));
    Ok(Outcome {
        shards,
        stats: CheckStats::of(
            filter.as_ref(),
            keys,
            keys_present,
            keys_skipped,
            keys_other_partitions,
        ),
        warnings,
    })
}

/// The job's Bloom filter, opened ([`open_filter`]); none for an exact key set.
pub(crate) fn open_key_set(job: &Job) -> Result<Option<BloomFilter>, BloomError> {
    match job.key_set {
        KeySet::Bloom => open_filter(job).map(Some),
        KeySet::Exact => Ok(None),
    }
}

/// Phase 2 over either key set: `all` (every shard's keys, canonical order) against `filter`
/// ([`check_keys`], the updated filter then saved at [`pending_filter_path`] unless
/// read-only) or, without one, against each other ([`exact_keys`], which also gives each
/// duplicate key's first copy: `(duplicate, first)` indices, by duplicate).
pub(crate) fn check_all(
    filter: Option<&BloomFilter>,
    all: Vec<u128>,
    job: &Job,
    exec: &Executor,
) -> Result<(Flags, Option<FirstCopies>), BloomError> {
    let Some(f) = filter else {
        let (present, firsts) = exact_keys(all, exec);
        return Ok((present, Some(firsts)));
    };
    let present = check_keys(f, all, job.read_only, exec);
    if !job.read_only {
        f.save(&pending_filter_path(&job.filter_file))?;
    }
    Ok((present, None))
}

/// `(duplicate, first copy)` key indices, sorted by duplicate ([`exact_keys`]).
pub(crate) type FirstCopies = Vec<(u32, u32)>;

/// Where a duplicate key's kept copy is: its shard (index in the run's canonical order),
/// 1-based line, and the span its key covers, in the units of the attribute spans (the whole
/// text for a document key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptAt {
    pub(crate) shard: u32,
    pub(crate) line: u64,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// Places by key index among every key of the run, sorted: each duplicate key's kept copy
/// (keys that are sampled n-grams have no single place and are left out), or each first
/// copy's own place while they are found.
pub(crate) struct Survivors(pub(crate) Vec<(u64, KeptAt)>);

impl Survivors {
    /// The place of key `global`, if it has one.
    pub(crate) fn get(&self, global: u64) -> Option<KeptAt> {
        let i = self.0.binary_search_by_key(&global, |p| p.0).ok()?;
        self.0.get(i).map(|p| p.1)
    }
}

/// Finds, shard by shard in canonical order, where the first copies named by
/// [`exact_keys`] are.
pub(crate) struct Located {
    /// The first copies wanted, sorted, without repeats.
    need: Vec<u64>,
    /// Those found so far, in the same order (shards come in canonical order and keys are
    /// numbered in reading order).
    found: Vec<(u64, KeptAt)>,
}

impl Located {
    pub(crate) fn new(pairs: &[(u32, u32)]) -> Located {
        let mut need: Vec<u64> = pairs.iter().map(|p| u64::from(p.1)).collect();
        need.sort_unstable();
        need.dedup();
        Located {
            need,
            found: Vec::new(),
        }
    }

    /// Looks through shard `shard`'s plan, whose keys are numbered from `offset`.
    pub(crate) fn shard(&mut self, shard: u32, offset: u64, plan: &ShardPlan) {
        let mut at = |key: u32, line: u64, start: u32, end: u32| {
            let g = offset + u64::from(key);
            if self.need.binary_search(&g).is_ok() {
                let kept = KeptAt {
                    shard,
                    line,
                    start,
                    end,
                };
                self.found.push((g, kept));
            }
        };
        for (i, d) in plan.docs.iter().enumerate() {
            let line = i as u64 + 1;
            match *d {
                DocPlan::Key { key, chars, .. } => {
                    at(key, line, 0, u32::try_from(chars).unwrap_or(u32::MAX))
                }
                DocPlan::Paras { first, n } => {
                    let paras = plan.paras.get(first as usize..(first + n) as usize);
                    for q in paras.unwrap_or_default() {
                        match q.kind {
                            ParaKind::Whole { key } | ParaKind::Short { key } => {
                                at(key, line, q.start, q.end)
                            }
                            ParaKind::Ngrams { .. } => {}
                        }
                    }
                }
                DocPlan::Empty | DocPlan::Nothing => {}
            }
        }
    }

    /// Each duplicate of `pairs` with the place of its first copy.
    pub(crate) fn survivors(mut self, pairs: Vec<(u32, u32)>) -> Survivors {
        // Keys are found in increasing order, but keep the lookup safe if they are not.
        self.found.sort_unstable_by_key(|f| f.0);
        let found = Survivors(self.found);
        Survivors(
            pairs
                .into_iter()
                .filter_map(|(dup, first)| Some((u64::from(dup), found.get(u64::from(first))?)))
                .collect(),
        )
    }
}

/// The warning for a filter that now holds more keys than it was sized for.
pub(crate) fn overfull(filter: &BloomFilter, job: &Job) -> Option<String> {
    (filter.inserted() > job.plan.expected_keys && job.plan.expected_keys > 0 && !job.read_only)
        .then(|| format!(
            "the filter holds {} keys, more than bloom_filter.estimated_doc_count ({}): its false-positive rate is now {:.3e} (planned {:.3e}); raise estimated_doc_count (it counts keys: documents, paragraphs or n-grams)",
            filter.inserted(),
            job.plan.expected_keys,
            filter.current_fp_rate(),
            job.plan.expected_fp_rate
        ))
}

/// Phase 2 for an exact key set: bit `i` says whether key `i` (canonical order) occurred
/// before it, and each such key is paired with its first copy (`(duplicate, first)`, sorted
/// by duplicate). Sorting indices by (key, index) puts each key's copies together, first
/// copy first; 4 bytes per key beside the keys, 8 per duplicate.
pub(crate) fn exact_keys(all: Vec<u128>, exec: &Executor) -> (Flags, Vec<(u32, u32)>) {
    if all.len() > u32::MAX as usize {
        // u32 indices, as the Bloom check's.
        panic!("more than 2^32 keys in one task: use dedupe.num_partitions");
    }
    let present = Flags::new(all.len());
    let mut order: Vec<u32> = (0..all.len() as u32).collect();
    let key = |i: &u32| all.get(*i as usize).copied().unwrap_or_default();
    exec.install(|| {
        use rayon::prelude::*;
        order.par_sort_unstable_by_key(|i| (key(i), *i));
    });
    let mut firsts = Vec::new();
    let mut head = order.first().copied().unwrap_or(0);
    for w in order.windows(2) {
        if let [a, b] = w {
            if key(a) == key(b) {
                present.set(*b as usize);
                firsts.push((*b, head));
            } else {
                head = *b;
            }
        }
    }
    exec.install(|| {
        use rayon::prelude::*;
        firsts.par_sort_unstable();
    });
    (present, firsts)
}

/// Phase 2: checks `all` (every shard's keys, canonical order) against `filter`, inserting
/// them unless `read_only`; bit `i` says whether key `i` was present before it.
pub(crate) fn check_keys(
    filter: &BloomFilter,
    all: Vec<u128>,
    read_only: bool,
    exec: &Executor,
) -> Flags {
    let mut counts = vec![0usize; REGIONS as usize + 1];
    for &h in &all {
        counts[region_of(h) as usize + 1] += 1;
    }
    for r in 1..counts.len() {
        counts[r] += counts[r - 1];
    }
    if all.len() > u32::MAX as usize {
        // u32 indices: 4 billion keys per task; more needs partitions.
        panic!("more than 2^32 keys in one task: use dedupe.num_partitions");
    }
    // Keys laid out region by region (canonical order within each), so the walk below reads
    // memory sequentially and each region's bits stay in cache.
    let mut sorted_keys = vec![0u128; all.len()];
    let mut sorted_idx = vec![0u32; all.len()];
    {
        let mut next = counts.clone();
        for (i, &h) in all.iter().enumerate() {
            let r = region_of(h) as usize;
            sorted_keys[next[r]] = h;
            sorted_idx[next[r]] = i as u32;
            next[r] += 1;
        }
    }
    let present = Flags::new(all.len());
    drop(all);
    exec.install(|| {
        use rayon::prelude::*;
        (0..REGIONS as usize).into_par_iter().for_each(|r| {
            let span = counts[r]..counts[r + 1];
            for (&h, &i) in sorted_keys[span.clone()].iter().zip(&sorted_idx[span]) {
                let hit = if read_only {
                    filter.contains(h)
                } else {
                    filter.check_and_insert(h)
                };
                if hit {
                    present.set(i as usize);
                }
            }
        });
    });
    present
}

/// A span score: dolma writes whole-key duplicates as the integer `1` and overlap fractions
/// as floats.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Score {
    One,
    Float(f64),
}

struct OutSpan(u32, u32, Score);

impl Serialize for OutSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&self.1)?;
        match self.2 {
            Score::One => t.serialize_element(&1u8)?,
            Score::Float(f) => t.serialize_element(&f)?,
        }
        t.end()
    }
}

struct Spans<'a>(&'a [OutSpan]);

impl Serialize for Spans<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.0.len()))?;
        for x in self.0 {
            q.serialize_element(x)?;
        }
        q.end()
    }
}

/// `{"attributes":{…},"id":…}`: dolma's deduper writes keys sorted (serde_json's map). An
/// exact key set adds, between them, where each duplicate's kept copy is: `duplicate_of`
/// for a whole document (as `dedup::exact` writes it), `duplicate_spans_of` for paragraphs.
struct Record<'a> {
    attribute: Option<(&'a str, &'a [OutSpan])>,
    kept_document: Option<KeptCopy>,
    kept_spans: &'a [KeptSpan],
    id: &'a str,
}

/// A duplicate paragraph's span and its kept copy: the document file (below `documents/`),
/// 1-based line and span there.
#[derive(Serialize)]
struct KeptSpan {
    span: [u32; 2],
    file: String,
    line: u64,
    kept_span: [u32; 2],
}

struct Attrs<'a>(Option<(&'a str, &'a [OutSpan])>);

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.is_some() as usize))?;
        if let Some((k, v)) = self.0 {
            m.serialize_entry(k, &Spans(v))?;
        }
        m.end()
    }
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("attributes", &Attrs(self.attribute))?;
        let name = self.attribute.map_or("", |a| a.0);
        if let Some(k) = &self.kept_document {
            m.serialize_entry("duplicate_of", &One(name, k))?;
        }
        if !self.kept_spans.is_empty() {
            m.serialize_entry("duplicate_spans_of", &One(name, &self.kept_spans))?;
        }
        m.serialize_entry("id", self.id)?;
        m.end()
    }
}

/// `{name: value}`.
struct One<'a, V>(&'a str, &'a V);

impl<V: Serialize> Serialize for One<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// Rounds to 5 decimals (loam's scores; dolma writes the `f32` fraction widened to `f64`).
fn round5(x: f64) -> f64 {
    loam_pipeline::document::round5(x)
}

/// Phase 3: shard `i`'s attribute file; `hit(k)` says whether its key `k` was present and
/// `kept(k)` where the kept copy of a present key is (an exact key set; never for a Bloom
/// filter, which cannot say).
pub(crate) fn write_shard(
    storage: &dyn Storage,
    units: &[DedupUnit],
    i: usize,
    plan: &ShardPlan,
    hit: &dyn Fn(u32) -> bool,
    kept: &dyn Fn(u32) -> Option<KeptAt>,
    job: &Job,
) -> ShardOutcome {
    let mut out = ShardOutcome {
        scan: plan.scan.clone(),
        duplicate_documents: 0,
        duplicate_spans: 0,
        duplicate_chars: 0,
        duplicate_document_bytes: 0,
        output: None,
    };
    let Some(unit) = units.get(i) else {
        let why = format!("internal error: no unit {i} of {}", units.len());
        out.scan.record(why, true);
        return out;
    };
    // Kept copies are named below `documents/`, as attribute files are, so the attributes
    // do not depend on where the corpus is stored.
    let file = |shard: u32| {
        let input = units.get(shard as usize).map_or("", |u| u.input.as_str());
        loam_pipeline::layout::relative_to_documents(input)
            .unwrap_or(input)
            .to_string()
    };
    let named = |key: u32, p: &ParaPlan| {
        kept(key).map(|k| KeptSpan {
            span: [p.start, p.end],
            file: file(k.shard),
            line: k.line,
            kept_span: [k.start, k.end],
        })
    };
    if plan.scan.failed() {
        return out;
    }
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
    let name = job.attribute.as_str();
    let mut spans: Vec<OutSpan> = Vec::new();
    let mut kept_spans: Vec<KeptSpan> = Vec::new();
    for (id, d) in plan.ids.iter().zip(&plan.docs) {
        spans.clear();
        kept_spans.clear();
        let mut kept_document = None;
        let attribute = match *d {
            DocPlan::Nothing => None,
            DocPlan::Empty => Some((name, &spans[..])),
            DocPlan::Key { key, chars, bytes } => {
                if hit(key) {
                    out.duplicate_document_bytes += bytes;
                    spans.push(OutSpan(0, chars as u32, Score::One));
                    kept_document = kept(key).map(|k| KeptCopy {
                        file: file(k.shard),
                        line: k.line,
                        kept_by: None,
                    });
                    Some((name, &spans[..]))
                } else {
                    None
                }
            }
            DocPlan::Paras { first, n } => {
                let t = match &job.mode {
                    Mode::Paragraphs {
                        ngrams: Some(g), ..
                    } => g.overlap_threshold,
                    _ => 1.0,
                };
                for p in &plan.paras[first as usize..(first + n) as usize] {
                    match p.kind {
                        ParaKind::Whole { key } => {
                            if hit(key) {
                                spans.push(OutSpan(p.start, p.end, Score::One));
                                kept_spans.extend(named(key, p));
                            }
                        }
                        ParaKind::Short { key } => {
                            let score: f32 = if hit(key) { 1.0 } else { 0.0 };
                            if score >= t {
                                spans.push(OutSpan(p.start, p.end, Score::Float(score as f64)));
                                kept_spans.extend(named(key, p));
                            }
                        }
                        ParaKind::Ngrams { first, n, sampled } => {
                            let dups = (first..first + n).filter(|&k| hit(k)).count() as u32;
                            let frac = dups as f32 / sampled as f32;
                            if frac >= t {
                                let score = if job.dolma_bugs {
                                    frac as f64
                                } else {
                                    round5(dups as f64 / sampled as f64)
                                };
                                spans.push(OutSpan(p.start, p.end, Score::Float(score)));
                            }
                        }
                    }
                }
                Some((name, &spans[..]))
            }
        };
        let mut marked = 0;
        for s in spans.iter().filter(|s| s.2 != Score::Float(0.0)) {
            marked += 1;
            out.duplicate_chars += (s.1 - s.0) as u64;
        }
        if marked > 0 {
            out.duplicate_documents += 1;
            out.duplicate_spans += marked;
        }
        let record = Record {
            attribute,
            kept_document,
            kept_spans: &kept_spans,
            id,
        };
        if let Err(e) = writer.write(&record) {
            out.scan.record(e.to_string(), true);
            return out;
        }
    }
    match writer.finish() {
        Ok(s) => out.output = Some(s),
        Err(e) => out.scan.record(e.to_string(), true),
    }
    out
}
