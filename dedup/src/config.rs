//! Typed config for `loam dedupe`, accepting Ai2 dolma 1.2.1's `dolma dedupe` config files.
//!
//! dolma has two readers of this config and both shapes load here:
//! - the Python CLI (`python/dolma/cli/deduper.py`: `DeduperConfig`, `DedupeConfig`,
//!   `DocumentDedupeConfig`, `ParagraphDedupeConfig`, `NgramDedupeConfig`, `BloomFilterConfig`;
//!   `WorkDirConfig`, `CompressionConfig` from `python/dolma/cli/shared.py`), which takes YAML
//!   or JSON through OmegaConf, fills in defaults, rejects unknown keys, and then hands a JSON
//!   dict to
//! - the Rust deduper (`src/deduper.rs`, module `deduper_config`; `BloomFilterConfig` in
//!   `src/bloom_filter.rs`; `WorkDirConfig`, `CompressionConfig` in `src/shard.rs`), which is
//!   what dolma's own JSON test configs target: it requires some keys the Python side defaults
//!   and takes `null` for every `Option`.
//!
//! The key names are the same on both sides; where they differ in optionality the more lenient
//! one wins and the default is the one dolma applies. Unknown keys are rejected (OmegaConf does;
//! dolma's Rust serde structs would ignore them).
//!
//! Naming: dolma calls the whole file `DeduperConfig` and its `dedupe` section `DedupeConfig`;
//! here the whole file is [`DedupeConfig`] and the section is [`DedupeSection`].

pub use loam_pipeline::config::dolma::WorkDirConfig;
use loam_pipeline::config::{index, omega, Problems, Validate};
use serde::{Deserialize, Serialize};

fn default_processes() -> usize {
    1
}

fn default_num_partitions() -> u64 {
    1
}

fn default_document_dir() -> String {
    "documents".to_string()
}

fn default_paragraph_separator() -> String {
    "\n".to_string()
}

fn default_overlap_threshold() -> f32 {
    1.0
}

/// Config of `dolma dedupe` (Python `DeduperConfig`, `python/dolma/cli/deduper.py`; Rust
/// `deduper_config::DeduperConfig`, `src/deduper.rs`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// Document paths or globs, all local or all `s3://` (Python `documents: List[str] = []`;
    /// Rust `documents: Vec<String>`, required). Attributes go to the same path with
    /// `/<dedupe.document_dir>/` replaced by `/attributes/<name>/`.
    #[serde(default, deserialize_with = "omega::req")]
    pub documents: Vec<String>,
    /// Scratch directories (Python `work_dir: WorkDirConfig = WorkDirConfig()`, temporary
    /// directories when absent; Rust `work_dir: WorkDirConfig`, both paths required).
    #[serde(default)]
    pub work_dir: WorkDirConfig,
    /// What to deduplicate and how (Python `dedupe: DedupeConfig`, required; Rust
    /// `dedupe: DedupeConfig`).
    pub dedupe: DedupeSection,
    /// The Bloom filter (Python `bloom_filter: BloomFilterConfig`, required; Rust
    /// `bloom_filter: BloomFilterConfig`, `src/bloom_filter.rs`). loam requires it except for
    /// the loam-only `dedupe.minhash` mode.
    #[serde(default)]
    pub bloom_filter: Option<BloomFilterConfig>,
    /// Worker threads (Python `processes: int = 1`; Rust `processes: usize`, required).
    #[serde(default = "default_processes", deserialize_with = "omega::req")]
    pub processes: usize,
    /// Input/output compression, inferred from file extensions where absent (Python
    /// `compression: CompressionConfig = CompressionConfig()`; Rust
    /// `compression: Option<CompressionConfig>`).
    #[serde(default, deserialize_with = "omega::null_or_default")]
    pub compression: CompressionConfig,
    /// Only print the config and exit (Python only: `dryrun: bool = False`).
    #[serde(default, deserialize_with = "omega::req")]
    pub dryrun: bool,
    /// Inputs live on a mounted S3 FUSE volume: outputs are written in place, without the
    /// `.tmp` + rename dance (Python `is_s3_volume: bool = False`; Rust
    /// `is_s3_volume: Option<bool>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub is_s3_volume: bool,
}

/// The `dedupe` section (Python `DedupeConfig`, `python/dolma/cli/deduper.py`; Rust
/// `deduper_config::DedupeConfig`, `src/deduper.rs`).
///
/// `documents` and `paragraphs` are exclusive. They stay two keys because that is dolma's
/// shape; [`DedupeSection::mode`] gives the one in force as an enum, and validation reports
/// a section with neither or both.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeSection {
    /// Attribute file name: outputs go to `attributes/<name>/` (with `_<partition_index>`
    /// appended when `num_partitions > 1`). Python `name: str` may be left out, falling back to
    /// the `attribute_name` of the mode in force; Rust requires it. See
    /// [`DedupeSection::effective_name`].
    #[serde(default, deserialize_with = "omega::opt")]
    pub name: Option<String>,
    /// Whole-document dedupe on a JSONPath key (Python
    /// `documents: Optional[DocumentDedupeConfig] = None`; Rust `Option`).
    #[serde(default)]
    pub documents: Option<DocumentDedupeConfig>,
    /// Paragraph dedupe (Python `paragraphs: Optional[ParagraphDedupeConfig] = None`; Rust
    /// `Option`).
    #[serde(default)]
    pub paragraphs: Option<ParagraphDedupeConfig>,
    /// **loam only** (dolma has no near-duplicate dedup and rejects this key): MinHash
    /// near-duplicate documents, see [`MinHashConfig`]. Exclusive with `documents` and
    /// `paragraphs`; needs no `bloom_filter`.
    #[serde(default)]
    pub minhash: Option<MinHashConfig>,
    /// Skip documents/paragraphs that are empty after trimming whitespace (Python
    /// `skip_empty: Optional[bool] = False`; Rust `Option<bool>`, `unwrap_or(false)`). Not
    /// consulted when `min_words > 0` (an `else if` chain, `src/deduper.rs:261-276,339-352`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub skip_empty: bool,
    /// Minimum length: of the document key in UTF-8 bytes, of a paragraph in chars (Python
    /// `min_length: Optional[int] = 0`; Rust `Option<usize>`). For documents it is not
    /// consulted when `min_words > 0`.
    #[serde(default, deserialize_with = "omega::or_default")]
    pub min_length: u64,
    /// Minimum number of Unicode words (UAX #29, `src/wimbd/tokens.rs`) (Python
    /// `min_words: Optional[int] = 0`; Rust `Option<usize>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub min_words: u64,
    /// Number of partitions of the hash space (Python `num_partitions: Optional[int] = 1`; Rust
    /// `Option<u64>`, `unwrap_or(1)`).
    #[serde(
        default = "default_num_partitions",
        deserialize_with = "omega::u64_or::<_, 1>"
    )]
    pub num_partitions: u64,
    /// Partition processed by this run, in `0..num_partitions` (Python
    /// `partition_index: Optional[int] = 0`; Rust `Option<u64>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub partition_index: u64,
    /// Partition whole files by a hash of their path instead of keys (Python
    /// `file_partition: Optional[bool] = False`; Rust `Option<bool>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub file_partition: bool,
    /// Path component replaced by `attributes/<name>` (Python
    /// `document_dir: Optional[str] = "documents"`; Rust `Option<String>`).
    #[serde(
        default = "default_document_dir",
        deserialize_with = "document_dir_or_default"
    )]
    pub document_dir: String,
}

/// Whole-document dedupe (Python `DocumentDedupeConfig`; Rust
/// `deduper_config::DocumentDedupeConfig`). Both keys are required on both sides.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDedupeConfig {
    /// Attribute set to `[[0, len(key), 1]]` on duplicates (`attribute_name: str`).
    #[serde(deserialize_with = "omega::req")]
    pub attribute_name: String,
    /// JSONPath of the string field to dedupe on, e.g. `$.metadata.url` (`key: str`).
    #[serde(deserialize_with = "omega::req")]
    pub key: String,
}

/// Paragraph dedupe (Python `ParagraphDedupeConfig`; Rust
/// `deduper_config::ParagraphDedupeConfig`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParagraphDedupeConfig {
    /// Attribute holding `[start, end, score]` spans of duplicate paragraphs
    /// (`attribute_name: str`, required).
    #[serde(deserialize_with = "omega::req")]
    pub attribute_name: String,
    /// Dedupe by n-gram overlap instead of whole paragraphs (Python
    /// `by_ngram: Optional[NgramDedupeConfig] = None`; Rust `Option`). An `ngram_length` of 0
    /// means whole paragraphs too (`src/deduper.rs:355`).
    #[serde(default)]
    pub by_ngram: Option<NgramDedupeConfig>,
    /// Separator the `text` is split on (Python `paragraph_separator: Optional[str] = "\n"`;
    /// Rust `Option<String>`, `unwrap_or("\n")`).
    #[serde(
        default = "default_paragraph_separator",
        deserialize_with = "paragraph_separator_or_default"
    )]
    pub paragraph_separator: String,
}

fn default_minhash_ngram() -> usize {
    5
}
fn default_bands() -> usize {
    20
}
fn default_rows() -> usize {
    10
}

/// What MinHash shingles are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShingleKind {
    /// n-grams of words (dolma's tokenizer, lowercased).
    #[default]
    Words,
    /// n-grams of characters (lowercased, whitespace runs collapsed to one space).
    Chars,
    /// n-grams of a tokenizer's token ids (`tokenizer`), of the text as it is.
    Tokens,
}

/// **loam only**: MinHash near-duplicate documents (`dedupe.minhash`). Documents whose
/// signatures share a band are linked; each connected component keeps its first document in
/// canonical order (sorted path, then line), or the one `keep` prefers, and the others get
/// `[[0, len(text), estimated Jaccard with the survivor]]` under `attribute_name`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MinHashConfig {
    /// Attribute set on near-duplicates.
    #[serde(deserialize_with = "omega::req")]
    pub attribute_name: String,
    /// `words` (default), `chars`, or `tokens` (of `tokenizer`).
    #[serde(default)]
    pub shingle: ShingleKind,
    /// With `shingle: tokens`: a `tokenizer.json` path, a tiktoken encoding name, or a
    /// Hugging Face model in the local cache (as `tokens.tokenizer.name_or_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// Words or characters per shingle (default 5).
    #[serde(default = "default_minhash_ngram", deserialize_with = "omega::req")]
    pub ngram_length: usize,
    /// Bands (default 20).
    #[serde(default = "default_bands", deserialize_with = "omega::req")]
    pub num_bands: usize,
    /// Rows per band (default 10); `num_bands × rows_per_band` hash functions. The
    /// similarity at which a pair becomes a candidate with probability 1/2 is about
    /// `(1/num_bands)^(1/rows_per_band)` (0.74 for 20 × 10).
    #[serde(default = "default_rows", deserialize_with = "omega::req")]
    pub rows_per_band: usize,
    /// Seed of the hash functions (default 0); part of the output's identity.
    #[serde(default, deserialize_with = "omega::or_default")]
    pub seed: u64,
    /// Runs MinHash as phases of resumable units over `partitions` hash-range partitions of
    /// the band buckets (`loam_dedup::lsh`), so `--rank/--world` tasks share every phase and
    /// no task holds every edge; unset: one process. The marks are the same bytes either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<usize>,
    /// Exact-Jaccard verification of the candidates inside each cluster (removes banding's
    /// false positives); unset: every cluster member but the first is marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<MinHashVerify>,
    /// Also annotate every document of a cluster of two or more, its survivor included:
    /// `<attribute_name>__cluster_id` (the cluster's first member in canonical order:
    /// `shard index · 2³² + line`; its survivor unless `keep` or `verify` chose others) and
    /// `<attribute_name>__cluster_size`, as datatrove's annotate mode; a mix may then keep
    /// everything and choose by cluster itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub annotate_clusters: bool,
    /// Which member of a cluster survives: the one whose field is latest (or earliest), ties
    /// and members without the field going to the first in canonical order; unset, the first
    /// in canonical order. With `verify`, members are verified in this order of preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<KeepPolicy>,
}

/// `dedupe.documents.keep` and `dedupe.minhash.keep`: keep the copy whose field is latest (or earliest), e.g. the
/// latest crawl as Dolma 3 did: `{by: $.metadata.warc_date, order: latest}`. Ties, and
/// copies without the field, go to the first in canonical order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepPolicy {
    /// The field compared (a key path like `documents.key`); numbers compare as numbers,
    /// strings as strings (so ISO 8601 dates by time).
    pub by: String,
    /// `latest` (greatest wins) or `earliest` (least wins).
    pub order: KeepOrder,
}

/// Which end of `keep.by` wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepOrder {
    /// The greatest value.
    Latest,
    /// The least value.
    Earliest,
}

impl KeepPolicy {
    /// The exact dedup kernel's policy.
    pub fn keep(&self) -> Result<crate::exact::Keep, crate::exact::BadKey> {
        Ok(crate::exact::Keep::By {
            field: crate::exact::DedupKey::parse(&self.by)?,
            latest: self.order == KeepOrder::Latest,
        })
    }
}

fn default_max_cluster() -> usize {
    1000
}

/// `dedupe.minhash.verify`: exact Jaccard of the shingle sets inside each cluster. In
/// canonical order, a member is a near-duplicate of the first kept member whose exact
/// Jaccard with it is at least `threshold` (so every reported pair is above it), else kept.
/// A cluster's members past the first `max_cluster` are compared with its first member only
/// (bounded work); how many were is counted (`capped`) in the summary and manifest.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MinHashVerify {
    /// Exact Jaccard similarity (0 < t <= 1) a pair needs.
    #[serde(deserialize_with = "omega::req")]
    pub threshold: f64,
    /// Members of a cluster verified pairwise (default 1000, at least 2).
    #[serde(default = "default_max_cluster", deserialize_with = "omega::req")]
    pub max_cluster: usize,
}

impl MinHashConfig {
    /// The problems of the loam-only MinHash keys, as (field under `at`, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.ngram_length == 0 {
            p.push(("ngram_length", "must be at least 1".to_string()));
        }
        if self.num_bands == 0
            || self.rows_per_band == 0
            || self.num_bands.saturating_mul(self.rows_per_band) > 4096
        {
            p.push((
                "num_bands",
                "num_bands and rows_per_band must be at least 1, with at most 4096 hash functions in all"
                    .to_string(),
            ));
        }
        if let Some(n) = self.partitions {
            if n == 0 || n > 65536 {
                p.push(("partitions", format!("must be from 1 to 65536, not {n}")));
            }
        }
        if let Some(v) = &self.verify {
            if v.threshold.is_nan() || v.threshold <= 0.0 || v.threshold > 1.0 {
                p.push((
                    "verify.threshold",
                    format!("must be above 0 and at most 1, not {}", v.threshold),
                ));
            }
            if v.max_cluster < 2 {
                p.push((
                    "verify.max_cluster",
                    format!("must be at least 2, not {}", v.max_cluster),
                ));
            }
        }
        match (self.shingle, &self.tokenizer) {
            (ShingleKind::Tokens, None) => p.push((
                "tokenizer",
                "shingle: tokens needs a tokenizer (a tokenizer.json path or a tiktoken name)"
                    .to_string(),
            )),
            (ShingleKind::Words | ShingleKind::Chars, Some(_)) => {
                p.push(("tokenizer", "is only read with shingle: tokens".to_string()))
            }
            _ => {}
        }
        if let Some(k) = &self.keep {
            if let Err(e) = k.keep() {
                p.push(("keep.by", e.to_string()));
            }
        }
        p
    }
}

/// N-gram overlap dedupe of paragraphs (Python `NgramDedupeConfig`; Rust
/// `deduper_config::NgramDedupeConfig`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NgramDedupeConfig {
    /// Unicode words per n-gram; 0 means whole-paragraph dedupe (Python
    /// `ngram_length: int = 0`; Rust `ngram_length: usize`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub ngram_length: usize,
    /// Minimum distance in words between the starts of hashed n-grams; 0 hashes every n-gram
    /// (Python `stride: int = 0`; Rust `stride: usize`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub stride: usize,
    /// A paragraph is a duplicate when the fraction of its n-grams already seen is `>=` this
    /// (Python `overlap_threshold: float = 1.0`; Rust `overlap_threshold: f32`, required: the
    /// comparison is done in `f32`).
    #[serde(default = "default_overlap_threshold", deserialize_with = "omega::req")]
    pub overlap_threshold: f32,
    /// Paragraphs with fewer than two n-grams are skipped instead of being hashed whole
    /// (Python `skip_short_paragraphs: bool = False`; Rust `Option<bool>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub skip_short_paragraphs: bool,
}

impl Default for NgramDedupeConfig {
    fn default() -> Self {
        NgramDedupeConfig {
            ngram_length: 0,
            stride: 0,
            overlap_threshold: default_overlap_threshold(),
            skip_short_paragraphs: false,
        }
    }
}

/// The Bloom filter (Python `BloomFilterConfig`, `python/dolma/cli/deduper.py`; Rust
/// `BloomFilterConfig`, `src/bloom_filter.rs:274`).
///
/// Sizing: `size_in_bytes` when non-zero, else the smallest power-of-two number of bytes
/// (at least 1 MiB) reaching `desired_false_positive_rate` for `estimated_doc_count` elements
/// (`BloomFilter::suggest_size_in_bytes`). The number of hash functions always comes from
/// `estimated_doc_count` (`optimal_number_of_hashers`), so dolma panics creating a new filter
/// when it is 0, even with `size_in_bytes` set; a filter loaded from an existing `file` keeps
/// its own size and hashers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BloomFilterConfig {
    /// Filter file: loaded when it exists, (re)written at the end of every run, even a
    /// read-only one (`file: str`, required on both sides).
    #[serde(deserialize_with = "omega::req")]
    pub file: String,
    /// Only look up, never insert (`read_only: bool`, required on both sides).
    #[serde(deserialize_with = "omega::req")]
    pub read_only: bool,
    /// Filter size in bytes, 0 to derive it (Python `size_in_bytes: int = 0`; Rust
    /// `size_in_bytes: usize`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub size_in_bytes: u64,
    /// Expected number of insertions (Python `estimated_doc_count: int = 0`; Rust
    /// `estimated_doc_count: usize`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub estimated_doc_count: u64,
    /// Target false-positive rate when deriving the size (Python
    /// `desired_false_positive_rate: float = 0`; Rust `desired_false_positive_rate: f64`,
    /// required).
    #[serde(default, deserialize_with = "omega::req")]
    pub desired_false_positive_rate: f64,
}

/// Compression of inputs and outputs (Python `CompressionConfig`, `python/dolma/cli/shared.py`;
/// Rust `shard_config::CompressionConfig`, `src/shard.rs`). dolma knows `gz` and `zst`; any
/// other value, `""` included, means uncompressed (`MultiStream::new`, `src/io.rs:136`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionConfig {
    /// Input compression; inferred from each file's extension when absent
    /// (`input: Optional[str] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub input: Option<String>,
    /// Output compression; the input's when absent (`output: Optional[str] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub output: Option<String>,
}

/// The dedupe mode in force (see [`DedupeSection::mode`]).
#[derive(Debug, Clone, Copy)]
pub enum DedupeMode<'a> {
    /// Whole documents, by key.
    Documents(&'a DocumentDedupeConfig),
    /// Paragraphs, whole or by n-gram overlap.
    Paragraphs(&'a ParagraphDedupeConfig),
    /// MinHash near-duplicate documents (loam only).
    MinHash(&'a MinHashConfig),
}

impl<'a> DedupeMode<'a> {
    /// The configured attribute name (before any partition suffix).
    pub fn attribute_name(&self) -> &'a str {
        match self {
            DedupeMode::Documents(d) => &d.attribute_name,
            DedupeMode::Paragraphs(p) => &p.attribute_name,
            DedupeMode::MinHash(m) => &m.attribute_name,
        }
    }
}

impl DedupeSection {
    /// The mode dolma runs: `documents` when given, else `paragraphs` (the Python CLI's order,
    /// `python/dolma/cli/deduper.py`, `run`). `None` when neither is given.
    pub fn mode(&self) -> Option<DedupeMode<'_>> {
        match (&self.documents, &self.paragraphs) {
            (Some(d), _) => Some(DedupeMode::Documents(d)),
            (None, Some(p)) => Some(DedupeMode::Paragraphs(p)),
            (None, None) => self.minhash.as_ref().map(DedupeMode::MinHash),
        }
    }

    /// `name`, or when it is absent or empty the mode's `attribute_name` (Python
    /// `try_name = try_name or cfg["attribute_name"]`).
    pub fn effective_name(&self) -> Option<&str> {
        match self.name.as_deref() {
            Some(n) if !n.is_empty() => Some(n),
            _ => self.mode().map(|m| m.attribute_name()),
        }
    }

    /// Suffix dolma appends to the attribute directory and attribute names when partitioned:
    /// `_<partition_index>` if `num_partitions > 1` (`src/deduper.rs:130,250,472`).
    pub fn partition_suffix(&self) -> String {
        if self.num_partitions > 1 {
            format!("_{}", self.partition_index)
        } else {
            String::new()
        }
    }
}

impl DedupeConfig {
    /// Top-level keys that do not change the bytes written, left out of config fingerprints.
    pub fn runtime_keys() -> &'static [&'static str] {
        &["processes", "work_dir", "dryrun", "is_s3_volume"]
    }
}

/// Python `fnmatch.fnmatch(name, pattern)` on POSIX: `*`, `?`, `[seq]`, `[!seq]`, whole-name
/// match, case-sensitive; an unclosed `[` is literal.
fn fnmatch(name: &str, pattern: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    fnmatch_chars(&name, &pattern)
}

fn fnmatch_chars(name: &[char], pat: &[char]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some('*') => {
            let rest = &pat[pat.iter().take_while(|c| **c == '*').count()..];
            (0..=name.len()).any(|i| fnmatch_chars(&name[i..], rest))
        }
        Some('?') => !name.is_empty() && fnmatch_chars(&name[1..], &pat[1..]),
        Some('[') => match char_class(&pat[1..]) {
            Some((negate, items, rest)) => match name.first() {
                Some(c) => {
                    let hit = items.iter().any(|(lo, hi)| lo <= c && c <= hi);
                    hit != negate && fnmatch_chars(&name[1..], rest)
                }
                None => false,
            },
            None => name.first() == Some(&'[') && fnmatch_chars(&name[1..], &pat[1..]),
        },
        Some(c) => name.first() == Some(c) && fnmatch_chars(&name[1..], &pat[1..]),
    }
}

type CharClass<'a> = (bool, Vec<(char, char)>, &'a [char]);

/// Parses a `[...]` body (after the `[`): negation, ranges, a leading `]` as a literal.
fn char_class(p: &[char]) -> Option<CharClass<'_>> {
    let mut i = 0;
    let negate = p.first() == Some(&'!');
    if negate {
        i += 1;
    }
    let start = i;
    let mut items = Vec::new();
    while i < p.len() {
        if p[i] == ']' && i > start {
            return Some((negate, items, &p[i + 1..]));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            items.push((p[i], p[i + 2]));
            i += 3;
        } else {
            items.push((p[i], p[i]));
            i += 1;
        }
    }
    None
}

impl Validate for DedupeConfig {
    fn validate(&self, problems: &mut Problems) {
        let d = &self.dedupe;
        // `DeduperCli.run`: "At least one document must be specified".
        if self.documents.is_empty() {
            problems.push("documents", "no document paths given");
        }
        // `find_objects_matching_patterns` (`src/shard.rs:821`): "Cannot mix S3 and local paths".
        let s3 = self
            .documents
            .iter()
            .filter(|p| p.starts_with("s3://"))
            .count();
        if s3 != 0 && s3 != self.documents.len() {
            problems.push("documents", "cannot mix s3:// and local paths");
        }
        // `DeduperCli.run` raises DolmaConfigError unless a `/`-separated component of each
        // path, used as an fnmatch pattern, matches `document_dir`; the Rust side would panic
        // ("Attribute would be written to document location!").
        for (i, doc) in self.documents.iter().enumerate() {
            if !doc.split('/').any(|part| fnmatch(&d.document_dir, part)) {
                problems.push(
                    index("documents", i),
                    format!(
                        "path does not contain the document directory `/{}/` (dedupe.document_dir)",
                        d.document_dir
                    ),
                );
            }
        }
        // `src/deduper.rs:29`: "Must dedupe either paragraphs or documents" (the Python CLI
        // silently drops `paragraphs` when both are given; the Rust deduper refuses).
        let modes = [
            d.documents.is_some(),
            d.paragraphs.is_some(),
            d.minhash.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        match modes {
            0 => problems.push(
                "dedupe",
                "neither `documents` nor `paragraphs` is configured; dolma needs exactly one",
            ),
            1 => {}
            _ if d.minhash.is_some() => problems.push(
                "dedupe",
                "`minhash` (loam only) cannot be combined with `documents` or `paragraphs`",
            ),
            _ => problems.push(
                "dedupe",
                "both `documents` and `paragraphs` are configured; dolma needs exactly one",
            ),
        }
        if let Some(m) = &d.minhash {
            for (field, msg) in m.problems() {
                let field = match field {
                    "num_bands" => "dedupe.minhash".to_string(),
                    f => format!("dedupe.minhash.{f}"),
                };
                problems.push(field, msg);
            }
            if d.num_partitions > 1 {
                problems.push(
                    "dedupe.num_partitions",
                    "minhash runs as one task (clusters span partitions)",
                );
            }
        }
        // The attribute directory `attributes/<name>/` must stay under its root.
        if let Some(name) = d.effective_name() {
            let field = match (d.name.as_deref(), d.mode()) {
                (Some(n), _) if !n.is_empty() => "dedupe.name",
                (_, Some(DedupeMode::Documents(_))) => "dedupe.documents.attribute_name",
                (_, Some(DedupeMode::Paragraphs(_))) => "dedupe.paragraphs.attribute_name",
                _ => "dedupe.minhash.attribute_name",
            };
            if let Err(e) = loam_pipeline::layout::contained_name(name) {
                problems.push(field, e.to_string());
            }
        }
        if let Some(docs) = &d.documents {
            // `JsonPathFinder::from_str(.., "")` fails and dolma unwraps it.
            if docs.key.trim().is_empty() {
                problems.push("dedupe.documents.key", "empty JSONPath key");
            }
        }
        if let Some(ngram) = d.paragraphs.as_ref().and_then(|p| p.by_ngram.as_ref()) {
            // Above 1 nothing is ever flagged, below 0 every paragraph is.
            let t = ngram.overlap_threshold;
            if t.is_nan() || !(0.0..=1.0).contains(&t) {
                problems.push(
                    "dedupe.paragraphs.by_ngram.overlap_threshold",
                    format!("{t} is outside [0, 1]"),
                );
            }
        }
        // `hash % num_partitions` (`src/deduper.rs:106`) divides by zero; an index outside the
        // partitions matches no key, so nothing would be deduplicated.
        if d.num_partitions == 0 {
            problems.push("dedupe.num_partitions", "must be at least 1");
        } else if d.partition_index >= d.num_partitions {
            problems.push(
                "dedupe.partition_index",
                format!(
                    "{} is not below num_partitions ({})",
                    d.partition_index, d.num_partitions
                ),
            );
        }
        let Some(bf) = &self.bloom_filter else {
            if d.minhash.is_none() {
                problems.push("bloom_filter", "missing (required unless dedupe.minhash)");
            }
            return;
        };
        // `Path::new("").parent()` is `None`; dolma unwraps it writing the filter.
        if bf.file.trim().is_empty() {
            problems.push("bloom_filter.file", "empty path");
        }
        // `DeduperCli.run`: "Either bloom_filter.size_in_bytes or bloom_filter.estimated_doc_count
        // and bloom_filter.desired_false_positive_rate must be specified".
        let fpr = bf.desired_false_positive_rate;
        if bf.size_in_bytes == 0 {
            if bf.estimated_doc_count == 0 || fpr.is_nan() || fpr <= 0.0 {
                problems.push(
                    "bloom_filter",
                    "set size_in_bytes, or both estimated_doc_count and desired_false_positive_rate",
                );
            } else if fpr >= 1.0 {
                problems.push(
                    "bloom_filter.desired_false_positive_rate",
                    format!("{fpr} is outside (0, 1)"),
                );
            }
        }
        // `ThreadPool::new(0)` panics.
        if self.processes == 0 {
            problems.push("processes", "must be at least 1");
        }
    }
}

/// `document_dir` deserializer: OmegaConf scalar coercion ([`omega`]), null means `"documents"`
/// (`src/deduper.rs:138`).
fn document_dir_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(omega::opt(d)?.unwrap_or_else(default_document_dir))
}

/// `paragraph_separator` deserializer: OmegaConf scalar coercion ([`omega`]), null means `"\n"`
/// (`src/deduper.rs:322`).
fn paragraph_separator_or_default<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<String, D::Error> {
    Ok(omega::opt(d)?.unwrap_or_else(default_paragraph_separator))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loam_pipeline::config::{from_value_validated, parse_text, ConfigProblem};
    use std::path::Path;

    fn load(text: &str, file: &str) -> Result<DedupeConfig, Vec<ConfigProblem>> {
        let value = parse_text(text, Some(Path::new(file))).expect("config text parses");
        from_value_validated::<DedupeConfig>(&value)
    }

    fn paths(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    /// Structural errors come in the order serde meets them (map keys sorted).
    fn sorted_paths(problems: &[ConfigProblem]) -> Vec<&str> {
        let mut p = paths(problems);
        p.sort_unstable();
        p
    }

    #[test]
    fn dolma_fixture_dedupe_by_url() {
        let c = load(
            include_str!("../../tests/fixtures/dolma/config/dedupe-by-url.json"),
            "dedupe-by-url.json",
        )
        .unwrap();
        assert_eq!(
            c.documents,
            ["tests/data/provided/deduper/documents/000.json.gz"]
        );
        assert_eq!(
            c.work_dir.input.as_deref(),
            Some("tests/work/temp/dedupe-url/input")
        );
        assert_eq!(c.dedupe.name.as_deref(), Some("dedupe_by_url"));
        let Some(DedupeMode::Documents(d)) = c.dedupe.mode() else {
            panic!("documents mode expected");
        };
        assert_eq!(d.attribute_name, "bff_duplicate_url");
        assert_eq!(d.key, "$.metadata.url");
        assert_eq!(c.bloom_filter.as_ref().unwrap().size_in_bytes, 0);
        assert!(!c.bloom_filter.as_ref().unwrap().read_only);
        assert_eq!(c.bloom_filter.as_ref().unwrap().estimated_doc_count, 1000);
        assert_eq!(
            c.bloom_filter.as_ref().unwrap().desired_false_positive_rate,
            0.001
        );
        assert_eq!(c.processes, 1);
        // defaults of the keys the fixture leaves out
        assert_eq!(c.dedupe.num_partitions, 1);
        assert_eq!(c.dedupe.partition_index, 0);
        assert_eq!(c.dedupe.document_dir, "documents");
        assert!(!c.dedupe.skip_empty && !c.dedupe.file_partition && !c.is_s3_volume);
        assert_eq!((c.dedupe.min_length, c.dedupe.min_words), (0, 0));
        assert!(c.compression.input.is_none() && c.compression.output.is_none());
        assert_eq!(c.dedupe.partition_suffix(), "");
    }

    #[test]
    fn dolma_fixture_dedupe_paragraphs() {
        let c = load(
            include_str!("../../tests/fixtures/dolma/config/dedupe-paragraphs.json"),
            "dedupe-paragraphs.json",
        )
        .unwrap();
        assert_eq!(
            c.documents,
            ["tests/data/provided/deduper/doc*/000.json.gz"]
        );
        let Some(DedupeMode::Paragraphs(p)) = c.dedupe.mode() else {
            panic!("paragraphs mode expected");
        };
        assert_eq!(p.attribute_name, "bff_duplicate_paragraph_spans");
        assert!(p.by_ngram.is_none());
        assert_eq!(p.paragraph_separator, "\n");
        assert_eq!(c.dedupe.effective_name(), Some("dedupe_paragraphs"));
        assert_eq!(
            c.bloom_filter.as_ref().unwrap().file,
            "tests/work/para_bloom_filter.bin"
        );
    }

    #[test]
    fn dolma_fixture_dedupe_paragraph_ngrams() {
        let c = load(
            include_str!("../../tests/fixtures/dolma/config/dedupe-paragraph-ngrams.json"),
            "dedupe-paragraph-ngrams.json",
        )
        .unwrap();
        let p = c.dedupe.paragraphs.as_ref().unwrap();
        let n = p.by_ngram.as_ref().unwrap();
        assert_eq!((n.ngram_length, n.stride), (6, 3));
        assert_eq!(n.overlap_threshold, 0.5);
        assert!(!n.skip_short_paragraphs);
        assert_eq!(c.dedupe.name.as_deref(), Some("dedupe_paragraph_ngrams"));
    }

    #[test]
    fn dolma_fixture_filepath_good_and_bad() {
        let c = load(
            include_str!("../../tests/fixtures/dolma/config/filepath-good.json"),
            "filepath-good.json",
        )
        .unwrap();
        assert_eq!(c.dedupe.document_dir, "pathnotd0cumentz");
        // dolma's test expects this one to fail: the path has no `documents` directory
        let errs = load(
            include_str!("../../tests/fixtures/dolma/config/filepath-bad.json"),
            "filepath-bad.json",
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["documents[0]"], "{errs:?}");
        assert!(errs[0].message.contains("/documents/"), "{errs:?}");
    }

    /// dolma's `configs/dolma-v1_5/para_dedupe/c4.yaml` and the decontamination configs, as
    /// the Python CLI reads them (no `work_dir`, `1e-06` that PyYAML reads as a string).
    const REALISTIC_YAML: &str = r#"
documents:
  - s3://ai2-llm/pretraining-data/sources/c4/v0/documents/train/*.gz

dedupe:
  name: dedupe_paragraphs
  paragraphs:
    attribute_name: bff_duplicate_paragraph_spans
    by_ngram:
      ngram_length: 13
      stride: 5
      overlap_threshold: 0.5
      skip_short_paragraphs: true
  skip_empty: true
  min_words: 3

bloom_filter:
  file: /tmp/c4.bloom
  read_only: false
  estimated_doc_count: 30_000_000_000
  desired_false_positive_rate: "1e-06"

processes: 188
"#;

    #[test]
    fn realistic_yaml_parses() {
        let c = load(REALISTIC_YAML, "dedupe.yaml").unwrap();
        let n = c
            .dedupe
            .paragraphs
            .as_ref()
            .unwrap()
            .by_ngram
            .as_ref()
            .unwrap();
        assert_eq!((n.ngram_length, n.stride), (13, 5));
        assert!(n.skip_short_paragraphs);
        assert!(c.dedupe.skip_empty);
        assert_eq!(c.dedupe.min_words, 3);
        assert_eq!(
            c.bloom_filter.as_ref().unwrap().estimated_doc_count,
            30_000_000_000
        );
        assert_eq!(
            c.bloom_filter.as_ref().unwrap().desired_false_positive_rate,
            1e-6
        );
        assert_eq!(c.bloom_filter.as_ref().unwrap().size_in_bytes, 0);
        assert_eq!(c.processes, 188);
        assert!(c.work_dir.input.is_none());
    }

    #[test]
    fn python_shape_name_falls_back_to_attribute_name() {
        let c = load(
            "documents: [s3://b/documents/*.gz]\ndedupe: {documents: {attribute_name: dup_url, key: $.metadata.url}}\nbloom_filter: {file: f.bin, read_only: true, size_in_bytes: 1048576, estimated_doc_count: 10}\n",
            "d.yaml",
        )
        .unwrap();
        assert!(c.dedupe.name.is_none());
        assert_eq!(c.dedupe.effective_name(), Some("dup_url"));
        assert_eq!(
            c.bloom_filter.as_ref().unwrap().desired_false_positive_rate,
            0.0
        );
    }

    #[test]
    fn rust_shape_nulls_mean_defaults() {
        let c = load(
            r#"{"documents": ["data/documents/a.jsonl.zst"],
                "work_dir": {"input": "w/i", "output": "w/o"},
                "dedupe": {"name": "n", "paragraphs": {"attribute_name": "p", "by_ngram": null,
                           "paragraph_separator": null},
                           "min_length": null, "min_words": null, "skip_empty": null,
                           "num_partitions": null, "partition_index": null,
                           "file_partition": null, "document_dir": null},
                "bloom_filter": {"file": "b.bin", "size_in_bytes": 0, "read_only": false,
                                 "estimated_doc_count": 5, "desired_false_positive_rate": 0.01},
                "processes": 2, "is_s3_volume": null, "compression": null}"#,
            "d.json",
        )
        .unwrap();
        assert_eq!(c.dedupe.num_partitions, 1);
        assert_eq!(c.dedupe.document_dir, "documents");
        let p = c.dedupe.paragraphs.as_ref().unwrap();
        assert_eq!(p.paragraph_separator, "\n");
        assert!(p.by_ngram.is_none());
        assert!(!c.is_s3_volume);
        // partitioned runs suffix the attribute names
        let c = load(
            r#"{"documents": ["data/documents/a.gz"],
                "dedupe": {"name": "n", "documents": {"attribute_name": "a", "key": "$.id"},
                           "num_partitions": 4, "partition_index": 3},
                "bloom_filter": {"file": "b.bin", "read_only": false, "size_in_bytes": 1024,
                                 "estimated_doc_count": 1, "desired_false_positive_rate": 0}}"#,
            "d.json",
        )
        .unwrap();
        assert_eq!(c.dedupe.partition_suffix(), "_3");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        // `threshold` is what dolma's docs/deduplication.md calls `overlap_threshold`; dolma
        // itself rejects it.
        let errs = load(
            "documents: [a/documents/x.gz]\ndedupe:\n  paragraphs:\n    attribute_name: p\n    by_ngram: {ngram_length: 5, threshold: 0.3}\nbloom_filter: {file: f, read_only: false, estimated_doc_count: 1, desired_false_positive_rate: 0.1, sizeinbytes: 3}\n",
            "d.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "bloom_filter.sizeinbytes",
                "dedupe.paragraphs.by_ngram.threshold"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn missing_required_fields_are_reported_with_their_path() {
        let errs = load(
            "documents: [a/documents/x.gz]\ndedupe: {documents: {attribute_name: a}}\nbloom_filter: {file: f}\n",
            "d.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            ["bloom_filter.read_only", "dedupe.documents.key"],
            "{errs:?}"
        );
        // (the engine's `from_value` stops at the first missing top-level field)
        let errs = load("documents: [a/documents/x.gz]\n", "d.yaml").unwrap_err();
        assert_eq!(paths(&errs), ["dedupe"], "{errs:?}");
    }

    #[test]
    fn wrong_types_are_reported_with_their_path() {
        let errs = load(
            "documents: [a/documents/x.gz]\ndedupe: {paragraphs: {attribute_name: p}, min_length: -1}\nbloom_filter: {file: f, read_only: maybe, size_in_bytes: 1e3}\nprocesses: [1]\n",
            "d.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "bloom_filter.read_only",
                "bloom_filter.size_in_bytes",
                "dedupe.min_length",
                "processes"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn semantic_problems_are_reported_together() {
        let errs = load(
            r#"
documents: [s3://b/documents/a.gz, local/documents/b.gz]
dedupe:
  name: x
  num_partitions: 0
bloom_filter: {file: f.bin, read_only: false, estimated_doc_count: 100}
processes: 0
"#,
            "d.yaml",
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "documents",
                "dedupe",
                "dedupe.num_partitions",
                "bloom_filter",
                "processes"
            ],
            "{errs:?}"
        );
        let errs = load(
            r#"
documents: [data/documents/a.gz]
dedupe:
  documents: {attribute_name: a, key: " "}
  paragraphs:
    attribute_name: p
    by_ngram: {ngram_length: 3, overlap_threshold: 1.5}
  num_partitions: 2
  partition_index: 2
bloom_filter: {file: "", read_only: false, estimated_doc_count: 100, desired_false_positive_rate: 1}
"#,
            "d.yaml",
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "dedupe",
                "dedupe.documents.key",
                "dedupe.paragraphs.by_ngram.overlap_threshold",
                "dedupe.partition_index",
                "bloom_filter.file",
                "bloom_filter.desired_false_positive_rate"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn zero_ngram_length_is_whole_paragraph_mode_not_an_error() {
        let c = load(
            "documents: [a/documents/x.gz]\ndedupe: {paragraphs: {attribute_name: p, by_ngram: {}}}\nbloom_filter: {file: f, read_only: false, size_in_bytes: 1024, estimated_doc_count: 1}\n",
            "d.yaml",
        )
        .unwrap();
        let n = c.dedupe.paragraphs.unwrap().by_ngram.unwrap();
        assert_eq!(n.ngram_length, 0);
        assert_eq!(n.overlap_threshold, 1.0);
    }

    #[test]
    fn fnmatch_matches_like_python() {
        assert!(fnmatch("documents", "documents"));
        assert!(fnmatch("documents", "doc*"));
        assert!(fnmatch("documents", "*"));
        assert!(fnmatch("documents", "d?cuments"));
        assert!(fnmatch("documents", "[cd]ocuments"));
        assert!(fnmatch("documents", "[!x]ocuments"));
        assert!(fnmatch("documents", "[a-e]ocument[s]"));
        assert!(!fnmatch("documents", "pathnotd0cumentz"));
        assert!(!fnmatch("documents", "documents2"));
        assert!(!fnmatch("documents", "[!d]ocuments"));
        assert!(fnmatch("[x", "[x"));
        assert!(!fnmatch("documents", "Documents"));
    }

    #[test]
    fn omegaconf_interpolations_resolve_before_the_typed_config() {
        // dolma's `configs/dolma-v1_6/decontamination/step2-run-decontamination/*_para.yaml`
        std::env::set_var("LOAM_TEST_DEDUPE_HOME", "/home/u");
        let text = r#"
documents:
  - s3://ai2-llm/pretraining-data/sources/olmo-mix/v1_5r2/documents/books/*.gz
dedupe:
  name: paloma_paragraphs
  paragraphs:
    attribute_name: paloma_paragraphs_bff_duplicates
  skip_empty: true
bloom_filter:
  read_only: true
  estimated_doc_count: 2336120
  # size_in_bytes: 104857600  # 100 MB; smaller causes too many FPs
  desired_false_positive_rate: 1e-15
  file: ${oc.env:LOAM_TEST_DEDUPE_HOME}/perplexity/filters/paloma_paragraphs.bin
processes: 94
"#;
        let raw = parse_text(text, Some(Path::new("d.yaml"))).unwrap();
        let resolved = loam_pipeline::config::dolma::resolve_interpolations(&raw).unwrap();
        let c = from_value_validated::<DedupeConfig>(&resolved).unwrap();
        let file = c.bloom_filter.map(|b| b.file);
        assert_eq!(
            file.as_deref(),
            Some("/home/u/perplexity/filters/paloma_paragraphs.bin")
        );
    }

    #[test]
    fn runtime_keys_are_top_level_fields() {
        let c = load(REALISTIC_YAML, "dedupe.yaml").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        for k in DedupeConfig::runtime_keys() {
            assert!(v.get(k).is_some(), "{k}");
        }
        let back: DedupeConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.dedupe.effective_name(), Some("dedupe_paragraphs"));
    }
}
