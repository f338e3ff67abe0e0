//! `loam run`'s own pipeline config: read → tag → dedupe → mix in one file.

use loam_mixes::rules::{validate_rules, Rule};
use loam_pipeline::config::{index, join, Problems, Validate};
use serde::{Deserialize, Serialize};

/// A staged pipeline. Paths are relative to the working directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Pipeline name (used in messages).
    pub name: String,
    /// Input document shards: files, directories, or globs (`*` within a directory, `**`
    /// across).
    pub documents: Vec<String>,
    /// Output root: `attributes/`, run state and the mix are written under it.
    pub output: String,
    /// Start from raw web shards: `documents` are WARC/WET files, converted first into
    /// `<output>/documents/`.
    #[serde(default)]
    pub warc: Option<WarcStage>,
    /// Tagging stage.
    #[serde(default)]
    pub tag: Option<TagStage>,
    /// Dedup stage: one section, or a list of sections run in order (each its own
    /// attribute directory), e.g. documents then paragraphs.
    #[serde(default)]
    pub dedupe: Option<DedupeStages>,
    /// The mix.
    pub mix: MixStage,
    /// Tokenize the finished mix into training arrays (docs/tokens.md): a dolma `tokens`
    /// config without `documents` and `destination` (the mix's documents, written to
    /// `<output>/tokens/<mix>/<version>-<content id>/`).
    #[serde(default)]
    pub tokens: Option<serde_json::Value>,
}

impl PipelineConfig {
    /// The dedupe sections in order (none without `dedupe`).
    pub fn dedupe_sections(&self) -> &[DedupeStage] {
        self.dedupe.as_ref().map_or(&[], DedupeStages::sections)
    }
}

/// The `tokens` section as a dolma tokens config over `documents`, into `destination`.
pub fn tokens_config(
    section: &serde_json::Value,
    documents: &str,
    destination: &str,
) -> Result<loam_tokens::TokensConfig, Vec<loam_pipeline::config::ConfigProblem>> {
    let mut v = section.clone();
    let Some(o) = v.as_object_mut() else {
        return Err(vec![loam_pipeline::config::ConfigProblem {
            path: "tokens".into(),
            message: "expected a mapping (a dolma tokens config without documents and destination)"
                .into(),
        }]);
    };
    for k in ["documents", "destination"] {
        if o.contains_key(k) {
            return Err(vec![loam_pipeline::config::ConfigProblem {
                path: format!("tokens.{k}"),
                message: "set by the pipeline: the mix's documents, written under <output>/tokens/"
                    .into(),
            }]);
        }
    }
    o.insert("documents".into(), serde_json::json!([documents]));
    o.insert("destination".into(), serde_json::json!(destination));
    loam_pipeline::config::from_value_validated::<loam_tokens::TokensConfig>(&v).map_err(|ps| {
        ps.into_iter()
            .map(|mut p| {
                p.path = if p.path.is_empty() {
                    "tokens".into()
                } else {
                    format!("tokens.{}", p.path)
                };
                p
            })
            .collect()
    })
}

/// WARC/WET → Dolma documents (as `loam warc` does).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarcStage {
    /// `source` of the documents.
    #[serde(default = "default_source")]
    pub source_name: String,
    /// Main text (boilerplate removed) or all visible text.
    #[serde(default)]
    pub extraction: loam_extract::config::Extraction,
    /// Records with a larger payload are skipped (counted).
    #[serde(default = "default_max_payload")]
    pub max_payload_size_bytes: u64,
}

fn default_source() -> String {
    "common-crawl".into()
}

fn default_max_payload() -> u64 {
    loam_extract::config::DEFAULT_MAX_PAYLOAD_BYTES
}

/// Taggers to run; attributes go to `<output>/attributes/<experiment>/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagStage {
    /// Experiment name: the first part of every attribute key.
    pub experiment: String,
    /// Tagger names (dolma's, e.g. `gopher_v1`).
    #[serde(default)]
    pub taggers: Vec<String>,
    /// Reproduce dolma 1.2.1's tagger bugs (PII URL regex, `doc_frac`, `c4_v2` offsets), only
    /// to rebuild a mix published from dolma's attributes. Default false: correct values.
    #[serde(default)]
    pub dolma_bugs: bool,
    /// fastText classifiers (any supervised `.bin`/`.ftz`) run as taggers.
    #[serde(default)]
    pub classifiers: Vec<ClassifierSpec>,
    /// Expensive taggers or classifiers (by name) to run only on documents that
    /// `mix.drop`'s rules on the other taggers' signals keep: a document such a rule drops
    /// is never sent to them, and its attribute record names them under `not_evaluated`
    /// with the rule (no score is made up). What the mix keeps does not change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<String>,
    /// Options of individual taggers by name: the URL taggers' list files
    /// (`{blocklist_hosts_porn_v1: {lists: [porn.txt]}}`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tagger_options: std::collections::BTreeMap<String, loam_filters::registry::TaggerOptions>,
}

/// A fastText classifier used as a tagger: keys `<experiment>__<name>__<label>`.
pub use loam_filters::classifier::ClassifierSpec;

impl TagStage {
    /// The rules of `drop` that can run at tag time: those on an ungated tagger's or
    /// classifier's signals (empty when nothing is gated).
    pub fn gate_rules(&self, drop: &[Rule]) -> Vec<Rule> {
        if self.gate.is_empty() {
            return Vec::new();
        }
        let ungated: Vec<String> = self
            .taggers
            .iter()
            .chain(self.classifiers.iter().map(|c| &c.name))
            .filter(|n| !self.gate.contains(n))
            .map(|n| format!("{}__{n}__", self.experiment))
            .collect();
        drop.iter()
            .filter(|r| ungated.iter().any(|p| r.attribute.starts_with(p.as_str())))
            .cloned()
            .collect()
    }

    /// The dolma bugs to reproduce.
    pub fn bugs(&self) -> loam_filters::registry::DolmaBugs {
        if self.dolma_bugs {
            loam_filters::registry::DolmaBugs::all()
        } else {
            loam_filters::registry::DolmaBugs::default()
        }
    }
}

/// `dedupe:` as written: one section (a mapping, normalized as it always was) or a list.
#[derive(Debug, Clone)]
pub enum DedupeStages {
    /// `dedupe: {name, …}`.
    One(Box<DedupeStage>),
    /// `dedupe: [{name, …}, …]`, run in order.
    Many(Vec<DedupeStage>),
}

impl DedupeStages {
    /// The sections in order.
    pub fn sections(&self) -> &[DedupeStage] {
        match self {
            DedupeStages::One(s) => std::slice::from_ref(s.as_ref()),
            DedupeStages::Many(v) => v,
        }
    }

    /// The field path of section `i`.
    pub fn path(&self, i: usize) -> String {
        match self {
            DedupeStages::One(_) => "dedupe".into(),
            DedupeStages::Many(_) => index("dedupe", i),
        }
    }
}

impl Serialize for DedupeStages {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DedupeStages::One(x) => x.serialize(s),
            DedupeStages::Many(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for DedupeStages {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Not `untagged`: the section's own errors keep their field paths.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DedupeStages;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a dedupe section (a mapping) or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                DedupeStage::deserialize(serde::de::value::MapAccessDeserializer::new(a))
                    .map(|s| DedupeStages::One(Box::new(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<DedupeStage>::deserialize(serde::de::value::SeqAccessDeserializer::new(a))
                    .map(DedupeStages::Many)
            }
        }
        d.deserialize_any(V)
    }
}

/// Dedup; marks go to `<output>/attributes/<name>/`. Exactly one of `documents`,
/// `paragraphs`, `minhash` and `substring`, with dolma's keys and meanings (`loam_dedup::config`):
/// `documents` alone is exact dedup (each duplicate names its survivor); with
/// `bloom_filter`, `documents` and `paragraphs` run through the Bloom-filter engine of
/// `loam dedupe -c` ([`loam_dedup::engine`]); `paragraphs` alone runs through the same engine
/// over an exact key set ([`loam_dedup::engine::KeySet::Exact`]); `minhash` through
/// [`loam_dedup::minhash`].
/// Keys a section does not use are left out of the normalized config, so existing pipeline
/// files keep their fingerprints and content ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeStage {
    /// Attribute directory name.
    pub name: String,
    /// Document-level dedup, as in dolma's `dedupe.documents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<DocumentDedupe>,
    /// Paragraph dedup, whole paragraphs or by n-gram overlap (dolma's `dedupe.paragraphs`):
    /// against `bloom_filter` when given (dolma's way), else against every key of the run
    /// (exact: no false positives, 20 bytes per key in memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paragraphs: Option<loam_dedup::config::ParagraphDedupeConfig>,
    /// MinHash near-duplicate documents (`loam dedupe -c`'s `dedupe.minhash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minhash: Option<loam_dedup::config::MinHashConfig>,
    /// Exact-substring dedup over suffix arrays ([`loam_dedup::substr`]): every later copy
    /// of a passage of at least `min_length` bytes marked as spans, for the mix's
    /// `span_replacement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substring: Option<loam_dedup::substr::SubstringConfig>,
    /// The Bloom filter (dolma's top-level `bloom_filter`, here inside the section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_filter: Option<BloomFilterSpec>,
    /// Bloom filter dedup: skip keys that are empty after trimming whitespace.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_empty: bool,
    /// Bloom filter dedup: minimum key length (dolma's `dedupe.min_length`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_length: u64,
    /// Bloom filter dedup: minimum words (dolma's `dedupe.min_words`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_words: u64,
    /// Bloom filter dedup: write dolma 1.2.1's bytes where loam fixes its dedupe bugs
    /// (docs/dedup.md), as `loam dedupe -c --dolma-bugs` does, to rebuild a published mix.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dolma_bugs: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `dedupe.bloom_filter`: dolma's `bloom_filter` keys. `file` may be left out: the filter
/// is then the run's own, `<output>/.loam/dedupe/<name>.bloom`, made fresh whenever the
/// stage runs (kept afterwards, so a later run can check against it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BloomFilterSpec {
    /// Filter file: loaded when it exists, written when the stage completes (unless
    /// `read_only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Only look keys up, never insert.
    #[serde(default)]
    pub read_only: bool,
    /// Filter size in bytes; 0 to derive it from the two keys below.
    #[serde(default)]
    pub size_in_bytes: u64,
    /// Expected number of keys (documents, paragraphs or n-grams).
    #[serde(default)]
    pub estimated_doc_count: u64,
    /// Target false-positive rate when deriving the size.
    #[serde(default)]
    pub desired_false_positive_rate: f64,
}

/// Where a section's own Bloom filter goes when `bloom_filter.file` is left out.
pub fn default_filter_file(output: &str, name: &str) -> String {
    format!("{}/.loam/dedupe/{name}.bloom", output.trim_end_matches('/'))
}

/// How a dedupe section runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupeKind {
    /// Exact document keys ([`loam_dedup::exact`]).
    Exact,
    /// Documents or paragraphs against a Bloom filter ([`loam_dedup::engine`]).
    Bloom,
    /// MinHash near-duplicates ([`loam_dedup::minhash`]).
    MinHash,
    /// Repeated substrings ([`loam_dedup::substr`]).
    Substring,
}

impl DedupeStage {
    /// Which engine runs this section.
    pub fn kind(&self) -> DedupeKind {
        if self.substring.is_some() {
            DedupeKind::Substring
        } else if self.minhash.is_some() {
            DedupeKind::MinHash
        } else if self.bloom_filter.is_some() || self.paragraphs.is_some() {
            DedupeKind::Bloom
        } else {
            DedupeKind::Exact
        }
    }

    /// The attribute the section writes.
    pub fn attribute_name(&self) -> &str {
        match (
            &self.documents,
            &self.paragraphs,
            &self.minhash,
            &self.substring,
        ) {
            (Some(d), _, _, _) => &d.attribute_name,
            (None, Some(p), _, _) => &p.attribute_name,
            (None, None, Some(m), _) => &m.attribute_name,
            (None, None, None, Some(c)) => &c.attribute_name,
            (None, None, None, None) => "",
        }
    }

    /// Attributes that mark a whole document as a duplicate (what the mix's `exists`
    /// rules record as `duplicate`); paragraph marks are spans, not whole documents.
    pub fn duplicate_attributes(&self) -> Vec<String> {
        if self.substring.is_some() {
            return Vec::new();
        }
        match self.paragraphs {
            Some(_) if self.documents.is_none() => Vec::new(),
            _ => vec![self.attribute_name().to_string()],
        }
    }

    /// The section as the dolma deduper config `loam dedupe -c` would run over `documents`,
    /// with the Bloom filter in `filter_file`: what the engine's job is built from.
    pub fn dolma_config(
        &self,
        documents: Vec<String>,
        filter_file: String,
    ) -> loam_dedup::config::DedupeConfig {
        use loam_dedup::config as dc;
        dc::DedupeConfig {
            documents,
            work_dir: Default::default(),
            dedupe: dc::DedupeSection {
                name: Some(self.name.clone()),
                documents: self.documents.as_ref().map(|d| dc::DocumentDedupeConfig {
                    attribute_name: d.attribute_name.clone(),
                    key: d.key.clone(),
                }),
                paragraphs: self.paragraphs.clone(),
                minhash: self.minhash.clone(),
                skip_empty: self.skip_empty,
                min_length: self.min_length,
                min_words: self.min_words,
                num_partitions: 1,
                partition_index: 0,
                file_partition: false,
                document_dir: "documents".into(),
            },
            bloom_filter: self.bloom_filter.as_ref().map(|b| dc::BloomFilterConfig {
                file: filter_file,
                read_only: b.read_only,
                size_in_bytes: b.size_in_bytes,
                estimated_doc_count: b.estimated_doc_count,
                desired_false_positive_rate: b.desired_false_positive_rate,
            }),
            processes: 1,
            compression: Default::default(),
            dryrun: false,
            is_s3_volume: false,
        }
    }

    /// Reports each key only Bloom filter dedup takes that the section sets, with `message`.
    fn bloom_only_keys(&self, at: &str, message: &str, p: &mut Problems) {
        for (set, key) in [
            (self.skip_empty, "skip_empty"),
            (self.min_length > 0, "min_length"),
            (self.min_words > 0, "min_words"),
            (self.dolma_bugs, "dolma_bugs"),
        ] {
            if set {
                p.push(join(at, key), message);
            }
        }
    }

    /// Checks the section at field path `at` (`dedupe`, or `dedupe[i]` in a list).
    fn validate(&self, at: &str, output: &str, p: &mut Problems) {
        check_name(&self.name, &join(at, "name"), p);
        let modes = [
            self.documents.is_some(),
            self.paragraphs.is_some(),
            self.minhash.is_some(),
            self.substring.is_some(),
        ];
        if modes.iter().filter(|m| **m).count() != 1 {
            p.push(
                at,
                "set exactly one of `documents`, `paragraphs`, `minhash` and `substring`",
            );
            // Which engine, and so which other keys apply, is unknown.
            return;
        }
        if self.attribute_name().is_empty() {
            let field = match (&self.documents, &self.paragraphs) {
                (Some(_), _) => "documents.attribute_name",
                (None, Some(_)) => "paragraphs.attribute_name",
                _ if self.minhash.is_some() => "minhash.attribute_name",
                _ => "substring.attribute_name",
            };
            p.push(join(at, field), "empty");
        }
        if let Some(c) = &self.substring {
            for problem in c.problems() {
                match problem.split_once(": ") {
                    Some((key, msg)) if key != "attribute_name" => {
                        p.push(join(at, &format!("substring.{key}")), msg)
                    }
                    _ => {}
                }
            }
            let none = "applies to Bloom filter dedup only (substring dedup uses none)";
            if self.bloom_filter.is_some() {
                p.push(join(at, "bloom_filter"), none);
            }
            self.bloom_only_keys(at, none, p);
            return;
        }
        if let Some(d) = &self.documents {
            if let Err(e) = loam_dedup::exact::DedupKey::parse(&d.key) {
                p.push(join(at, "documents.key"), e.to_string());
            }
            if d.partitions == Some(0) {
                p.push(join(at, "documents.partitions"), "must be at least 1");
            }
            if d.partitions.is_some() && self.kind() != DedupeKind::Exact {
                p.push(
                    join(at, "documents.partitions"),
                    "needs exact document dedup (no bloom_filter): a Bloom filter splits with --rank/--world as it is",
                );
            }
            if let Some(k) = &d.keep {
                if let Err(e) = loam_dedup::exact::DedupKey::parse(&k.by) {
                    p.push(join(at, "documents.keep.by"), e.to_string());
                }
                if self.kind() != DedupeKind::Exact {
                    p.push(
                        join(at, "documents.keep"),
                        "needs exact document dedup (no bloom_filter): a Bloom filter keeps the first copy it sees",
                    );
                }
            }
        }
        match (self.kind(), &self.bloom_filter) {
            (DedupeKind::MinHash, Some(_)) => p.push(
                join(at, "bloom_filter"),
                "MinHash dedup uses no Bloom filter",
            ),
            (DedupeKind::MinHash, None) if self.dolma_bugs => p.push(
                join(at, "dolma_bugs"),
                "applies to Bloom filter dedup only (dolma has no MinHash)",
            ),
            (DedupeKind::Exact, _) => self.bloom_only_keys(
                at,
                "applies to Bloom filter dedup only: add bloom_filter to the section",
                p,
            ),
            _ => {}
        }
        if let Some(b) = &self.bloom_filter {
            if b.file.is_none() && b.read_only {
                p.push(
                    join(at, "bloom_filter.read_only"),
                    "a read-only filter needs `file` (the run's own filter starts empty)",
                );
            }
            if b.file.is_none() && output.contains("://") {
                p.push(
                    join(at, "bloom_filter.file"),
                    "required when the output is in an object store (the filter is a local file)",
                );
            }
        }
        // The rest as `loam dedupe -c` checks it, with the section's field paths.
        let engine_checks = match self.kind() {
            DedupeKind::Exact => false,
            DedupeKind::Bloom => true,
            DedupeKind::MinHash => true,
            DedupeKind::Substring => false,
        };
        if !engine_checks {
            return;
        }
        let file = self
            .bloom_filter
            .as_ref()
            .and_then(|b| b.file.clone())
            .unwrap_or_else(|| "filter".into());
        let dolma = self.dolma_config(vec!["documents/*".into()], file);
        let mut inner = Problems::default();
        Validate::validate(&dolma, &mut inner);
        for problem in inner.into_vec() {
            let path = problem.path;
            // Checked above with this section's own messages, or not a key of it.
            // Paragraphs without a Bloom filter run over an exact key set.
            let exact = self.bloom_filter.is_none() && path == "bloom_filter";
            if exact
                || path == "dedupe"
                || path == "dedupe.name"
                || path == "dedupe.documents.key"
                || path.starts_with("documents")
            {
                continue;
            }
            // dolma's `dedupe.x` and top-level `bloom_filter.x` are this section's `x` and
            // `bloom_filter.x`.
            let path = match (
                path.strip_prefix("dedupe."),
                path.starts_with("bloom_filter"),
            ) {
                (Some(rest), _) => join(at, rest),
                (None, true) => join(at, &path),
                (None, false) => path,
            };
            p.push(path, problem.message);
        }
    }
}

/// Which key identifies a document and where duplicates are marked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDedupe {
    /// Attribute key set on duplicates.
    pub attribute_name: String,
    /// Key path, e.g. `$.text`, `$.id`, `$.metadata.url`.
    #[serde(default = "default_key")]
    pub key: String,
    /// Which copy of a duplicated key survives; left out, the first in canonical order
    /// (sorted shard path, then line), as dolma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<KeepPolicy>,
    /// Exact dedup as phases over this many hash ranges (`--rank/--world` tasks share them;
    /// no task holds every key); the same marks as one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<usize>,
}

pub use loam_dedup::config::{KeepOrder, KeepPolicy};

impl DocumentDedupe {
    /// The keep policy for the exact dedup kernel.
    pub fn keep(&self) -> Result<loam_dedup::exact::Keep, loam_dedup::exact::BadKey> {
        match &self.keep {
            None => Ok(loam_dedup::exact::Keep::First),
            Some(k) => k.keep(),
        }
    }
}

fn default_key() -> String {
    "$.text".into()
}

/// The mix: written to `<output>/<name>/<version>/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixStage {
    /// Mix name.
    pub name: String,
    /// Version label.
    pub version: String,
    /// Drop rules; the first that fires decides.
    #[serde(default)]
    pub drop: Vec<Rule>,
    /// A dolma mixer filter after the rules: `{include, exclude, syntax: jsonpath|jq}` on
    /// the document with every attribute under `attributes`, exactly as in a dolma mixer
    /// config; its drops are counted under `filter.include` and `filter.exclude[i] <pattern>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<loam_mixes::config::FilterConfig>,
    /// Span replacements after the rules and filter, exactly as in a dolma mixer config
    /// (`[{span: $.attributes.<name>, min_score, replacement}]`): e.g. duplicate paragraphs
    /// marked by `dedupe.paragraphs` removed, or PII spans masked. An edited document's
    /// ledger row says `edited` and names the replacements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub span_replacement: Vec<loam_mixes::config::SpanReplacementConfig>,
    /// Sampling of the documents that pass every rule.
    #[serde(default)]
    pub sample: Option<SampleSpec>,
    /// Seed for sampling draws.
    #[serde(default)]
    pub seed: u64,
    /// Content ids of mixes this one derives from (recorded in the manifest).
    #[serde(default)]
    pub parents: Vec<String>,
    /// A global shuffle of the kept documents over fixed output shards; off when absent
    /// (then each input shard gives one output shard, documents in input order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<ShuffleSpec>,
    /// How tokens are counted for `sample: {max_tokens}` and the manifest: `whitespace`
    /// (default) or a tiktoken BPE (`cl100k_base`, `o200k_base`, `p50k_base`, `r50k_base`).
    /// Left out of the normalized config when default, so older mixes keep their ids.
    #[serde(
        default,
        skip_serializing_if = "loam_mixes::tokens::Tokenizer::is_whitespace"
    )]
    pub tokenizer: loam_mixes::tokens::Tokenizer,
    /// Quality buckets (docs/mix.md): the documents that pass every rule split per group by
    /// token-weighted quantiles of a score, each bucket written at its own rate. Not with
    /// `sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<loam_mixes::buckets::BucketsConfig>,
}

impl MixStage {
    /// The mix as the mix engine runs it: `drop` rules (those on `duplicate_attributes`
    /// record duplicates), `filter` and `span_replacement`, compiled.
    pub fn compiled(
        &self,
        duplicate_attributes: &[String],
    ) -> Result<loam_mixes::dolma_mix::CompiledStream, Vec<loam_mixes::filter::ExprError>> {
        loam_mixes::dolma_mix::CompiledStream::as_read(
            &self.drop,
            duplicate_attributes,
            self.filter.as_ref(),
            &self.span_replacement,
            self.tokenizer,
            "mix",
        )
    }
}

pub use loam_mixes::shuffle::ShuffleSpec;

/// How to sample after the rules: a fixed rate, or a whitespace-token budget from which
/// the rate is computed (the result lands within sampling error of the budget).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SampleSpec {
    /// Expected copies per document: < 1 downsamples, > 1 upsamples by repetition.
    Rate(f64),
    /// Target whitespace tokens for the mix.
    MaxTokens(u64),
}

/// A name that becomes one directory or file name under `output`: it must pass the check
/// every command uses ([`loam_pipeline::layout::contained_name`]) and, being one component
/// here, use only a portable set of characters.
fn check_name(s: &str, path: &str, problems: &mut Problems) {
    if let Err(e) = loam_pipeline::layout::contained_name(s) {
        problems.push(path, e.to_string());
    } else if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        problems.push(
            path,
            format!("`{s}` is not a usable name (letters, digits, `_`, `-`, `.`)"),
        );
    }
}

impl Validate for PipelineConfig {
    fn validate(&self, p: &mut Problems) {
        check_name(&self.name, "name", p);
        if let Some(t) = &self.tokens {
            if let Err(problems) = tokens_config(t, "documents", "tokens") {
                for problem in problems {
                    p.push(problem.path, problem.message);
                }
            }
        }
        if self.documents.is_empty() {
            p.push("documents", "no input documents given");
        }
        for (i, d) in self.documents.iter().enumerate() {
            if d.trim().is_empty() {
                p.push(index("documents", i), "empty path");
            }
        }
        if self.output.trim().is_empty() {
            p.push("output", "empty path");
        }
        let known = loam_filters::registry::names();
        let mut produced: Vec<String> = Vec::new();
        if let Some(t) = &self.tag {
            check_name(&t.experiment, "tag.experiment", p);
            if t.taggers.is_empty() && t.classifiers.is_empty() {
                p.push("tag.taggers", "no taggers or classifiers given");
            }
            for (i, c) in t.classifiers.iter().enumerate() {
                let at = index("tag.classifiers", i);
                check_name(&c.name, &join(&at, "name"), p);
                if known.contains(&c.name.as_str()) {
                    p.push(
                        join(&at, "name"),
                        "must differ from the built-in tagger names",
                    );
                }
                if c.model.trim().is_empty() {
                    p.push(join(&at, "model"), "empty path");
                }
                produced.push(format!("{}__{}__", t.experiment, c.name));
            }
            loam_filters::config::check_tagger_options(
                &t.taggers,
                &t.tagger_options,
                "tag.tagger_options",
                p,
            );
            for (i, name) in t.taggers.iter().enumerate() {
                if !known.contains(&name.as_str()) {
                    p.push(
                        index("tag.taggers", i),
                        format!("unknown tagger `{name}` (known: {})", known.join(", ")),
                    );
                }
                produced.push(format!("{}__{}__", t.experiment, name));
            }
        }
        if let Some(t) = &self.tag {
            for (i, g) in t.gate.iter().enumerate() {
                let listed = t.taggers.contains(g) || t.classifiers.iter().any(|c| &c.name == g);
                if !listed {
                    p.push(
                        index("tag.gate", i),
                        format!("`{g}` is not one of tag.taggers or tag.classifiers"),
                    );
                }
            }
            if !t.gate.is_empty() && t.gate_rules(&self.mix.drop).is_empty() {
                p.push(
                    "tag.gate",
                    "no rule of mix.drop is on an ungated tagger's signals, so nothing could be skipped",
                );
            }
        }
        if let Some(ds) = &self.dedupe {
            if ds.sections().is_empty() {
                p.push("dedupe", "an empty list: leave dedupe out instead");
            }
            for (i, d) in ds.sections().iter().enumerate() {
                let at = ds.path(i);
                d.validate(&at, &self.output, p);
                if let Some(t) = &self.tag {
                    if t.experiment == d.name {
                        p.push(
                            join(&at, "name"),
                            "must differ from tag.experiment (both are attribute directories)",
                        );
                    }
                }
                let earlier = &ds.sections()[..i];
                if earlier.iter().any(|e| e.name == d.name) {
                    p.push(
                        join(&at, "name"),
                        "used by an earlier section (each writes its own attribute directory)",
                    );
                }
                if !d.attribute_name().is_empty()
                    && earlier
                        .iter()
                        .any(|e| e.attribute_name() == d.attribute_name())
                {
                    p.push(at, "its attribute name is an earlier section's");
                }
                produced.push(d.attribute_name().to_string());
                if let Some(c) = &d.substring {
                    produced.push(format!("{}__kept_chars", c.attribute_name));
                }
                if let Some(m) = d.minhash.as_ref().filter(|m| m.annotate_clusters) {
                    produced.push(format!("{}__cluster_id", m.attribute_name));
                    produced.push(format!("{}__cluster_size", m.attribute_name));
                }
            }
        }
        check_name(&self.mix.name, "mix.name", p);
        check_name(&self.mix.version, "mix.version", p);
        validate_rules(&self.mix.drop, "mix.drop", p);
        if let Err(errors) = self.mix.compiled(&[]) {
            for e in errors {
                p.push(e.field.clone(), e.describe());
            }
        }
        match self.mix.sample {
            Some(SampleSpec::Rate(r)) if !(r.is_finite() && r > 0.0 && r <= 1000.0) => {
                p.push("mix.sample.rate", "must be a number in (0, 1000]")
            }
            Some(SampleSpec::MaxTokens(0)) => p.push("mix.sample.max_tokens", "must be positive"),
            _ => {}
        }
        if let Some(s) = &self.mix.shuffle {
            s.check("mix.shuffle", p);
        }
        let mut read: Vec<(String, String)> = self
            .mix
            .drop
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    join(&index("mix.drop", i), "attribute"),
                    r.attribute.clone(),
                )
            })
            .collect();
        if let Some(b) = &self.mix.buckets {
            b.validate("mix.buckets", p);
            if self.mix.sample.is_some() {
                p.push(
                    "mix.buckets",
                    "cannot be combined with mix.sample (the buckets' rates are the sampling)",
                );
            }
            read.extend(b.attributes("mix.buckets"));
        }
        for (at, attribute) in read {
            // A group attribute ending in `__` names a prefix (an argmax over its labels).
            let prefix = at.ends_with(".group.attribute") && attribute.ends_with("__");
            let ok = produced.iter().any(|x| {
                attribute == *x
                    || (x.ends_with("__") && attribute.starts_with(x.as_str()))
                    || (prefix && x.starts_with(attribute.as_str()))
            });
            if let Some(m) = (ok && !prefix)
                .then(|| crate::checks::attribute_problem(&attribute))
                .flatten()
            {
                p.push(at, m);
            } else if !attribute.is_empty() && !ok {
                p.push(
                    at,
                    format!(
                        "`{attribute}` is not produced by this pipeline (expected `<experiment>__<tagger>__<signal>` for a listed tagger, or the dedupe attribute)"
                    ),
                );
            }
        }
    }
}
