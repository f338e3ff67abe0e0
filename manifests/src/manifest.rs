//! The provenance manifest written last, atomically, beside every output.

use crate::FileDigest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the manifest layout; bumped on any incompatible change.
pub const MANIFEST_VERSION: u32 = 1;

/// A run's provenance record. Everything except [`Manifest::run`] is a pure function of the
/// inputs, the config and the tool version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// Which mix this is.
    pub mix: MixRecord,
    /// Algorithms behind every hash in this file.
    pub hashes: HashAlgorithms,
    /// The normalized config and its fingerprint.
    pub config: ConfigRecord,
    /// Every input file read, sorted by path.
    pub inputs: Vec<InputFile>,
    /// Model files used, sorted by path.
    #[serde(default)]
    pub models: Vec<ModelFile>,
    /// Every output file written, sorted by path.
    pub outputs: Vec<OutputFile>,
    /// Per-stage counts, in pipeline order.
    pub stages: Vec<StageCounts>,
    /// Ids of mixes this one was derived from.
    #[serde(default)]
    pub parents: Vec<String>,
    /// The configs of the stages that made the mix's attribute files, when the mix was made
    /// by a recipe of dolma configs (`loam run tag.yaml dedupe.yaml mix.yaml`), in run
    /// order; `config` is then the mixer config. Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipe: Vec<RecipeStage>,
    /// What ran but may not do what was meant: a rule or filter that dropped nothing, an
    /// attribute it reads that no document had. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The tokenizer and arrays, when this manifest describes token arrays (`loam tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokensRecord>,
    /// The only part that changes between identical runs.
    pub run: RunInfo,
}

/// How a mix was tokenized (`loam tokens`): what a trainer must know to read the arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensRecord {
    /// The tokenizer as the config named it (a path or a bundled encoding).
    pub tokenizer: String,
    /// SHA-256 of the tokenizer file (of `tiktoken:<name>` for bundled encodings).
    pub tokenizer_sha256: String,
    /// Ids in the vocabulary, added tokens included.
    pub vocab_size: u64,
    /// Prepended to each document.
    pub bos_token_id: Option<u32>,
    /// Appended to each document.
    pub eos_token_id: Option<u32>,
    /// Padding id (not written into the arrays).
    pub pad_token_id: Option<u32>,
    /// Array element type (`uint16`, `uint32`, …).
    pub dtype: String,
    /// `npy` (dolma/OLMo) or `megatron`.
    pub format: String,
    /// Tokens per file bound.
    pub max_size: u64,
    /// Shuffle seed.
    pub seed: u64,
    /// Documents tokenized paragraph by paragraph.
    pub segment_before_tokenization: bool,
    /// Documents written.
    pub documents: u64,
    /// Tokens written.
    pub tokens: u64,
    /// Documents skipped because their text is empty after stripping whitespace.
    pub empty_documents: u64,
    /// Documents longer than `max_size`, each alone in its own file.
    pub oversized_documents: u64,
}

/// Identity of a mix version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixRecord {
    /// Mix name.
    pub name: String,
    /// The user's version label.
    pub label: String,
    /// Content id: fingerprint of the normalized config, the input checksums and the tool
    /// version. The mix lives in `<output>/<name>/<label>-<content_id[..12]>/`.
    pub content_id: String,
    /// Sampling applied after the rules, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<SamplingRecord>,
    /// Quality buckets and their per-bucket rates (`mix.buckets`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<BucketsRecord>,
}

/// What `mix.buckets` did: the breakpoints of each group, and per bucket the documents and
/// tokens before, the target and what was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketsRecord {
    /// The score attribute.
    pub score: String,
    /// What documents are grouped by (`field:<path>` or `attribute:<name>`), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// What the quantiles and targets weigh: `tokens` or `documents`.
    pub weight: String,
    /// How tokens were counted (the mix's tokenizer).
    pub tokenizer: String,
    /// The cut points, as fractions of each group's weight (`k/count`, or the percentiles
    /// over 100).
    pub cuts: Vec<f64>,
    /// Copies per document of each bucket.
    pub rates: Vec<f64>,
    /// Seed of the extra-copy draws.
    pub seed: u64,
    /// The reservoir the breakpoints were computed from, when `sample` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<BucketSampleRecord>,
    /// Documents that passed every rule but had no score (dropped, rule
    /// `bucket:missing-score`).
    pub missing_score: u64,
    /// Per group (`all` without grouping).
    pub groups: BTreeMap<String, BucketGroupRecord>,
}

/// The seeded reservoir of `mix.buckets.sample`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSampleRecord {
    /// Largest sample per group.
    pub size: u64,
    /// Seed of the reservoir's hash.
    pub seed: u64,
}

/// One group's buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketGroupRecord {
    /// Documents the breakpoints were computed from (all, or the reservoir's).
    pub sampled: u64,
    /// Breakpoint `k` is the first document of bucket `k + 1` in (score, id, file, line)
    /// order; `null` when no document reaches that cut (the buckets above it are empty).
    pub breakpoints: Vec<Option<BreakpointRecord>>,
    /// Per bucket, lowest first.
    pub buckets: Vec<BucketRecord>,
}

/// The first document of a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakpointRecord {
    /// Its score.
    pub score: f64,
    /// Its id.
    pub id: String,
    /// Its input file (the path below `documents/`, as `metadata.provenance` names it).
    pub file: String,
    /// Its line (1-based).
    pub line: u64,
}

/// One bucket, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketRecord {
    /// Lowest score in the bucket (absent when it is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// Highest score in the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_score: Option<f64>,
    /// Documents in the bucket.
    pub documents: u64,
    /// Their tokens.
    pub tokens: u64,
    /// Copies per document.
    pub rate: f64,
    /// `rate ×` the bucket's weight (tokens or documents), rounded: what is written is at
    /// least this and less than this plus one document.
    pub target: u64,
    /// Document copies written.
    pub documents_after: u64,
    /// Tokens written.
    pub tokens_after: u64,
}

/// The sampling a mix used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRecord {
    /// Expected copies per eligible document.
    pub rate: f64,
    /// Seed of the draws.
    pub seed: u64,
    /// The token budget the rate was computed from, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tokens: Option<u64>,
    /// Whitespace tokens of the documents that passed every rule.
    pub eligible_tokens: u64,
}

/// Tool identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    /// Always `loam`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from, when known.
    pub git_commit: Option<String>,
}

/// Hash algorithm names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashAlgorithms {
    /// File contents.
    pub content: String,
    /// Config fingerprints.
    pub fingerprint: String,
}

impl Default for HashAlgorithms {
    fn default() -> Self {
        HashAlgorithms {
            content: crate::CONTENT_HASH.into(),
            fingerprint: crate::FINGERPRINT_HASH.into(),
        }
    }
}

/// The config as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRecord {
    /// Path of the config file as given.
    pub path: String,
    /// SHA-256 of the config file's bytes.
    pub sha256: String,
    /// Fingerprint of the normalized config (runtime-only keys removed).
    pub fingerprint: String,
    /// The normalized config.
    pub normalized: serde_json::Value,
}

/// One earlier stage of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeStage {
    /// What the config is.
    pub kind: RecipeStageKind,
    /// The config as run.
    pub config: ConfigRecord,
    /// Whether dolma 1.2.1's bugs were reproduced (`--dolma-bugs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dolma_bugs: bool,
}

/// The kind of a recipe stage's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipeStageKind {
    /// A dolma `warc` config.
    Warc,
    /// A dolma tagger config.
    Tag,
    /// A dolma deduper config.
    Dedupe,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Path as listed.
    pub path: String,
    /// What it was read as.
    pub role: InputRole,
    /// Size and checksum.
    #[serde(flatten)]
    pub digest: FileDigest,
    /// Lines (documents) read.
    pub lines: u64,
}

/// One model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Path as configured.
    pub path: String,
    /// Which tagger used it.
    pub used_by: String,
    /// Size and checksum.
    #[serde(flatten)]
    pub digest: FileDigest,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Path relative to the manifest's directory.
    pub path: String,
    /// What it holds.
    pub kind: OutputKind,
    /// Documents (lines) in it.
    pub documents: u64,
    /// Whitespace tokens of the documents' text, for document shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Size and checksum.
    #[serde(flatten)]
    pub digest: FileDigest,
}

/// Counts for one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StageCounts {
    /// The stage's label, for people: `tag (gopher_v1, …)`, `mix:web`.
    pub stage: String,
    /// What kind of stage it is; absent in manifests of versions before 0.x that wrote only
    /// the label ([`StageCounts::kind`] reads it from the label then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StageKind>,
    /// Documents that entered the stage.
    pub documents_in: u64,
    /// Documents that left it.
    pub documents_out: u64,
    /// Text bytes (UTF-8) in.
    pub text_bytes_in: u64,
    /// Text bytes out.
    pub text_bytes_out: u64,
    /// Documents removed or edited, by rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_rule: BTreeMap<String, RuleCounts>,
}

impl StageCounts {
    /// The stage's kind: the recorded one, or for older manifests the one its label starts
    /// with (`tag (…)`, `tag:…`; `dedup:` and `dedupe` alike).
    pub fn kind(&self) -> Option<StageKind> {
        self.kind.or_else(|| {
            let head = self
                .stage
                .split([' ', ':'])
                .next()
                .unwrap_or(self.stage.as_str());
            StageKind::ALL
                .into_iter()
                .find(|k| k.as_str() == head || (head == "dedup" && *k == StageKind::Dedupe))
        })
    }
}

/// What a stage of a manifest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    /// WARC/WET records to documents.
    Warc,
    /// Taggers wrote attribute files.
    Tag,
    /// Duplicates marked (exact, Bloom filter or MinHash).
    Dedupe,
    /// MinHash signatures computed (per shard, before the dedupe decision).
    Signatures,
    /// Documents kept or dropped.
    Mix,
    /// Kept documents' texts changed by span replacement.
    Edit,
    /// Kept documents written in a seeded global order.
    Shuffle,
    /// Documents tokenized into training arrays.
    Tokens,
}

impl StageKind {
    /// Every kind, in pipeline order.
    pub const ALL: [StageKind; 8] = [
        StageKind::Warc,
        StageKind::Tag,
        StageKind::Dedupe,
        StageKind::Signatures,
        StageKind::Mix,
        StageKind::Edit,
        StageKind::Shuffle,
        StageKind::Tokens,
    ];

    /// The name in manifests and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Warc => "warc",
            StageKind::Tag => "tag",
            StageKind::Dedupe => "dedupe",
            StageKind::Signatures => "signatures",
            StageKind::Mix => "mix",
            StageKind::Edit => "edit",
            StageKind::Shuffle => "shuffle",
            StageKind::Tokens => "tokens",
        }
    }
}

/// What an input file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputRole {
    /// Documents.
    Documents,
    /// A dolma attribute file aligned with a document file.
    Attributes,
    /// A WARC/WET file converted to documents.
    Warc,
}

impl InputRole {
    /// The name in manifests (`loam manifest verify --role`).
    pub fn as_str(self) -> &'static str {
        match self {
            InputRole::Documents => "documents",
            InputRole::Attributes => "attributes",
            InputRole::Warc => "warc",
        }
    }
}

impl std::fmt::Display for InputRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an output file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// Mixed documents.
    Documents,
    /// A decision ledger (Parquet, one row per input document).
    Ledger,
    /// A ledger's id index.
    Index,
    /// A token array (`.npy` or Megatron `.bin`).
    Tokens,
    /// The token array's per-document rows (`.csv.gz`).
    TokenMetadata,
    /// A Megatron `.idx` file.
    TokenIndex,
}

impl OutputKind {
    /// The name in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Documents => "documents",
            OutputKind::Ledger => "ledger",
            OutputKind::Index => "index",
            OutputKind::Tokens => "tokens",
            OutputKind::TokenMetadata => "token-metadata",
            OutputKind::TokenIndex => "token-index",
        }
    }
}

impl std::fmt::Display for OutputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one rule did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleCounts {
    /// Documents it dropped.
    pub documents_dropped: u64,
    /// Text bytes it dropped.
    pub text_bytes_dropped: u64,
    /// Documents whose text it changed and kept (span replacers of `loam mix -c`, in the
    /// `edit:<stream>` stage); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub documents_edited: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The run-specific part: excluded from reproducibility comparisons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time in seconds.
    pub duration_secs: f64,
    /// Host name.
    pub host: String,
    /// Worker threads used.
    pub threads: usize,
    /// The directory the run started in (absolute), which relative input, model and
    /// config paths are relative to; absent in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The same directory relative to the manifest's own directory (`../../..`), so that a
    /// tree moved as a whole still resolves; absent for a manifest in an object store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

impl RunInfo {
    /// The directory relative inputs are read from, for a manifest found in `manifest_dir`
    /// on local disk: the recorded `root` from there, else the recorded `working_dir`,
    /// when it exists; `None` (the current directory) for older manifests.
    pub fn input_root(&self, manifest_dir: &std::path::Path) -> Option<std::path::PathBuf> {
        let from_manifest = self
            .root
            .as_ref()
            .map(|r| manifest_dir.join(r))
            .filter(|p| p.is_dir());
        from_manifest
            .or_else(|| {
                self.working_dir
                    .as_ref()
                    .map(std::path::PathBuf::from)
                    .filter(|p| p.is_dir())
            })
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
    }
}

/// Where a path a manifest lists relative to its run's working directory is, read from
/// `root` (see [`RunInfo::input_root`]): absolute paths and object-store URLs as they are.
pub fn resolve_path(root: Option<&std::path::Path>, listed: &str) -> std::path::PathBuf {
    match root {
        Some(r) if !listed.starts_with('/') && !listed.contains("://") => r.join(listed),
        _ => std::path::PathBuf::from(listed),
    }
}

/// The path that leads from directory `from` to directory `to`, both absolute (`../..`,
/// or `.` when they are the same).
pub fn relative_path(from: &std::path::Path, to: &std::path::Path) -> Option<String> {
    use std::path::Component;
    if !from.is_absolute() || !to.is_absolute() {
        return None;
    }
    let normal = |p: &std::path::Path| -> Option<Vec<std::ffi::OsString>> {
        let mut out = Vec::new();
        for c in p.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => out.push(n.to_os_string()),
                Component::ParentDir => {
                    out.pop()?;
                }
                Component::Prefix(_) => return None,
            }
        }
        Some(out)
    };
    let (a, b) = (normal(from)?, normal(to)?);
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    for n in &b[common..] {
        parts.push(n.to_str()?.to_string());
    }
    Some(match parts.is_empty() {
        true => ".".to_string(),
        false => parts.join("/"),
    })
}

impl Manifest {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
