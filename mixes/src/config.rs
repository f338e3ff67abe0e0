//! Typed config for `loam mix`, accepting Ai2 dolma 1.2.1's `dolma mix` config files.
//!
//! dolma has two readers of this config and both shapes load here:
//! - the Python CLI (`python/dolma/cli/mixer.py`: `MixerConfig`, `StreamConfig`,
//!   `StreamOutputConfig`, `FilterConfig`, `SpanReplacementConfig`; `WorkDirConfig`,
//!   `CompressionConfig` from `python/dolma/cli/shared.py`), which takes YAML or JSON through
//!   OmegaConf, fills in defaults, rejects unknown keys, checks a few things and hands a JSON
//!   dict to
//! - the Rust mixer (`src/mixer.rs`, module `mixer_config`; `StreamConfig` and friends in
//!   `src/shard.rs`, module `shard_config`), which is what dolma's own JSON test configs
//!   target: it requires some keys the Python side defaults and takes `null` for every
//!   `Option`.
//!
//! The key names are the same on both sides; where they differ in optionality the more lenient
//! one wins and the default is the one dolma applies. Unknown keys are rejected (OmegaConf does;
//! dolma's Rust serde structs would ignore them).

pub use loam_pipeline::config::dolma::WorkDirConfig;
use loam_pipeline::config::{index, join, omega, Problems, Validate};
use serde::{Deserialize, Serialize};

fn default_processes() -> usize {
    1
}

fn default_true() -> bool {
    true
}

/// dolma's default `max_size_in_bytes`: 2 GiB (`2 * 2**30`, `python/dolma/cli/mixer.py`).
pub const DEFAULT_MAX_SIZE_IN_BYTES: u64 = 2 * (1 << 30);

fn default_max_size_in_bytes() -> u64 {
    DEFAULT_MAX_SIZE_IN_BYTES
}

/// Config of `dolma mix` (Python `MixerConfig`, `python/dolma/cli/mixer.py`; Rust
/// `mixer_config::MixerConfig`, `src/mixer.rs`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MixerConfig {
    /// The streams to mix, each written separately (Python `streams: List[StreamConfig] = []`;
    /// Rust `streams: Vec<StreamConfig>`, required).
    #[serde(default)]
    pub streams: Vec<StreamConfig>,
    /// Scratch directories (Python `work_dir: WorkDirConfig = WorkDirConfig()`, temporary
    /// directories when absent; Rust `work_dir: WorkDirConfig`, both paths required).
    #[serde(default)]
    pub work_dir: WorkDirConfig,
    /// Worker threads (Python `processes: int = 1`; Rust `processes: usize`, required).
    #[serde(default = "default_processes", deserialize_with = "omega::req")]
    pub processes: usize,
    /// Despite the name, nothing is shuffled: `true` packs the inputs of a stream, in glob
    /// order, into outputs of about `max_size_in_bytes` named `<path>/<name>-NNNN.json[l]<ext>`
    /// (`Shard::split_streams`); `false` writes one output per input at
    /// `<path>/documents/<part of the input path after /documents/>`
    /// (`Shard::split_streams_unshuffled`) (Python `shuffle: bool = True`; Rust
    /// `#[serde(default = "shuffle_default")] shuffle: bool`, true).
    #[serde(default = "default_true", deserialize_with = "omega::req")]
    pub shuffle: bool,
    /// Only print the config and exit (Python only: `dryrun: bool = False`).
    #[serde(default, deserialize_with = "omega::req")]
    pub dryrun: bool,
}

/// One stream (Python `StreamConfig`; Rust `shard_config::StreamConfig`, `src/shard.rs:534`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Stream name, the prefix of its output files (`name: str`, required on both sides).
    #[serde(deserialize_with = "omega::req")]
    pub name: String,
    /// Document paths or globs, all local or all `s3://` (Python `documents: List[str] = []`;
    /// Rust `documents: Vec<String>`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub documents: Vec<String>,
    /// Attribute sets merged into each document, read from the document path with
    /// `/documents/` replaced by `/attributes/<name>/` (Python `attributes: List[str] = []`;
    /// Rust `attributes: Vec<String>`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub attributes: Vec<String>,
    /// Which documents to keep (Python `filter: Optional[FilterConfig] = None`; Rust
    /// `Option<FilterConfig>`); all of them when absent.
    #[serde(default)]
    pub filter: Option<FilterConfig>,
    /// Span replacements applied to kept documents (Python
    /// `span_replacement: List[SpanReplacementConfig] = []`; Rust
    /// `Option<Vec<SpanReplacementConfig>>`).
    #[serde(default, deserialize_with = "omega::null_or_default")]
    pub span_replacement: Vec<SpanReplacementConfig>,
    /// Where and how to write (Python `output: StreamOutputConfig`, whose `path` is required;
    /// Rust `output: StreamOutputConfig`, required).
    pub output: StreamOutputConfig,
    /// Input/output compression (Python `compression: CompressionConfig =
    /// CompressionConfig()`; Rust `compression: Option<CompressionConfig>`).
    #[serde(default, deserialize_with = "omega::null_or_default")]
    pub compression: CompressionConfig,
    /// loam only (dolma has no sampling): expected copies of each document that passes the
    /// filter and `output.min_text_length`. Below 1 downsamples; above 1 upsamples by
    /// repetition (every document `floor(rate)` times, plus once more for a seeded share of
    /// `rate - floor(rate)`). Absent: every document once, as dolma writes it.
    #[serde(
        default,
        deserialize_with = "omega::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_rate: Option<f64>,
    /// loam only: a budget of whitespace tokens (of the text as written, after span
    /// replacement) for the stream. A counting pass adds up the tokens of the documents that
    /// pass the filter and `output.min_text_length`, and the rate that meets the budget is
    /// computed from them (above 1 when the budget exceeds them). Excludes `sample_rate`.
    #[serde(
        default,
        deserialize_with = "omega::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_tokens: Option<u64>,
    /// loam only: how this stream's tokens are counted, for `max_tokens` and the manifest's
    /// token counts: `whitespace` (the default) or a tiktoken BPE (`cl100k_base`,
    /// `o200k_base`, `p50k_base`, `r50k_base`; [`crate::tokens`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<crate::tokens::Tokenizer>,
    /// loam only: seed of the sampling draws (0 when absent). A document's draw depends only
    /// on the seed, its input file (path below `documents/`), its line and its id.
    #[serde(
        default,
        deserialize_with = "omega::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub seed: Option<u64>,
    /// loam only: quality buckets ([`crate::buckets`], the same section as `mix.buckets` of
    /// loam's pipeline file): the documents that pass the filter and `min_text_length` are
    /// split per group into buckets by token-weighted quantiles of a score, and each bucket
    /// is written at its own rate. Excludes `sample_rate` and `max_tokens`; at most one
    /// stream of a config has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<crate::buckets::BucketsConfig>,
    /// loam only: a global shuffle of the stream ([`crate::shuffle`], the section
    /// `mix.shuffle` of loam's pipeline file): each input is read once into a spool, and
    /// the stream's kept documents, with their sampling copies, are written to `shards`
    /// outputs `<output.path>/<name>-NNNNN.jsonl<ext>` in a seeded pseudo-random order
    /// instead of packed by `max_size_in_bytes`. `seed` defaults to the stream's `seed`,
    /// `shards` to one per input. dolma's top-level `shuffle` shuffles nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_shuffle: Option<crate::shuffle::ShuffleSpec>,
}

impl StreamConfig {
    /// Whether the stream samples (`sample_rate`, `max_tokens` or `buckets` given).
    pub fn samples(&self) -> bool {
        self.sample_rate.is_some() || self.max_tokens.is_some() || self.buckets.is_some()
    }
}

/// Output of a stream (Python `StreamOutputConfig`; Rust `shard_config::StreamOutputConfig`,
/// `src/shard.rs:564`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOutputConfig {
    /// Output directory, local or `s3://` (`path: str`, required on both sides).
    #[serde(deserialize_with = "omega::req")]
    pub path: String,
    /// Approximate output file size: inputs are grouped until their summed *input* file sizes
    /// exceed it, so a file never splits and 0 means one output per input (Python
    /// `max_size_in_bytes: int = 2 * 2**30`; Rust `max_size_in_bytes: usize`, required).
    #[serde(default = "default_max_size_in_bytes", deserialize_with = "omega::req")]
    pub max_size_in_bytes: u64,
    /// Top-level fields removed from written documents (Python
    /// `discard_fields: List[str] = []`; Rust `Option<Vec<String>>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub discard_fields: Vec<String>,
    /// Documents whose `text`, after span replacement and trimmed, has fewer UTF-8 bytes than
    /// this are dropped (Python `min_text_length: Optional[int] = 0`; Rust `Option<usize>`).
    #[serde(default, deserialize_with = "omega::or_default")]
    pub min_text_length: u64,
}

/// Expression language of filters and span selectors. dolma's Python CLI takes the strings
/// `jsonpath` and `jq` and rejects others; its Rust side treats a missing one as `jsonpath`
/// (`DocFilter::new`, `Selector::new`, `src/filters.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterSyntax {
    /// JSONPath (`jsonpath_rust`): a pattern matches when it finds anything.
    #[default]
    Jsonpath,
    /// jq (`jaq`): a pattern matches when every result is truthy.
    Jq,
}

/// Document filter of a stream (Python `FilterConfig`; Rust `shard_config::FilterConfig`,
/// `src/shard.rs:578`). A document is kept when `include` is empty or one of its patterns
/// matches, and none of the `exclude` patterns matches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Keep patterns (Python `include: List[str] = []`; Rust `include: Vec<String>`,
    /// required).
    #[serde(default, deserialize_with = "omega::req")]
    pub include: Vec<String>,
    /// Drop patterns (Python `exclude: List[str] = []`; Rust `exclude: Vec<String>`,
    /// required).
    #[serde(default, deserialize_with = "omega::req")]
    pub exclude: Vec<String>,
    /// Pattern syntax (Python `syntax: str = "jsonpath"`; Rust `Option<String>`).
    #[serde(default, deserialize_with = "omega::null_or_default")]
    pub syntax: FilterSyntax,
}

/// A span replacement (Python `SpanReplacementConfig`; Rust
/// `shard_config::SpanReplacementConfig`, `src/shard.rs:585`): every `[start, end, score]`
/// span found by `span` with `min_score <= score < max_score` is replaced.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpanReplacementConfig {
    /// Selector of an attribute holding `[start, end, score]` spans, offsets in chars
    /// (`span: str`, required on both sides).
    #[serde(deserialize_with = "omega::req")]
    pub span: String,
    /// Inclusive lower bound on the span score; no bound when absent
    /// (`min_score: Optional[float] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub min_score: Option<f64>,
    /// *Exclusive* upper bound on the span score (`score < max_score`,
    /// `src/shard.rs:658`); no bound when absent (`max_score: Optional[float] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub max_score: Option<f64>,
    /// Replacement text: `{}` stands for the replaced text; a leading `$` makes the rest a jq
    /// selector on the document (`Replacement::new`, `src/shard.rs:612`); empty removes the
    /// span (Python `replacement: str = ""`; Rust `replacement: String`, required).
    #[serde(default, deserialize_with = "omega::req")]
    pub replacement: String,
    /// Syntax of `span` (Python `syntax: str = "jsonpath"`; Rust `Option<String>`).
    #[serde(default, deserialize_with = "omega::null_or_default")]
    pub syntax: FilterSyntax,
}

/// Compression of a stream (Python `CompressionConfig`, `python/dolma/cli/shared.py`; Rust
/// `shard_config::CompressionConfig`, `src/shard.rs:549`). dolma knows `gz` and `zst`; any
/// other value means uncompressed (`MultiStream::new`, `src/io.rs:136`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionConfig {
    /// Compression of documents and attributes; from each file's extension when absent
    /// (`input: Optional[str] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub input: Option<String>,
    /// Output compression and extension: absent means `.gz`, `""` means none, any other
    /// value `.<value>` (`Shard::get_output_extension`, `src/shard.rs:509`)
    /// (`output: Optional[str] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub output: Option<String>,
}

impl MixerConfig {
    /// Every attribute the filters and span replacements read, with the field that reads
    /// it (`streams[0].filter.exclude[1]`), in config order.
    pub fn attribute_refs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, s) in self.streams.iter().enumerate() {
            let at = index("streams", i);
            if let Some(f) = &s.filter {
                for (kind, list) in [("include", &f.include), ("exclude", &f.exclude)] {
                    for (j, e) in list.iter().enumerate() {
                        let field = index(&join(&join(&at, "filter"), kind), j);
                        for a in crate::filter::referenced_attributes(e) {
                            out.push((field.clone(), a));
                        }
                    }
                }
            }
            for (j, r) in s.span_replacement.iter().enumerate() {
                let field = join(&index(&join(&at, "span_replacement"), j), "span");
                for a in crate::filter::referenced_attributes(&r.span) {
                    out.push((field.clone(), a));
                }
            }
        }
        out
    }

    /// Top-level keys that do not change the bytes written, left out of config fingerprints.
    pub fn runtime_keys() -> &'static [&'static str] {
        &["processes", "work_dir", "dryrun"]
    }
}

impl CompressionConfig {
    /// Extension dolma appends to packed output names: `.gz` by default, none for `""`
    /// (`Shard::get_output_extension`, `src/shard.rs:509`).
    pub fn output_extension(&self) -> String {
        match self.output.as_deref() {
            None => ".gz".to_string(),
            Some("") => String::new(),
            Some(ext) => format!(".{ext}"),
        }
    }
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

impl Validate for MixerConfig {
    fn validate(&self, problems: &mut Problems) {
        // `MixerCli.run`: "No streams to mix".
        if self.streams.is_empty() {
            problems.push("streams", "no streams given");
        }
        for (i, s) in self.streams.iter().enumerate() {
            let at = index("streams", i);
            validate_stream(s, &at, problems);
            // Two streams writing the same files would clobber each other.
            if let Some(j) = self.streams[..i]
                .iter()
                .position(|o| o.name == s.name && o.output.path == s.output.path)
            {
                problems.push(
                    join(&at, "name"),
                    format!(
                        "same name and output.path as streams[{j}]; their output files would collide"
                    ),
                );
            }
        }
        // One buckets record per manifest.
        let bucketed: Vec<usize> = (0..self.streams.len())
            .filter(|&i| self.streams[i].buckets.is_some())
            .collect();
        if let [first, _, ..] = bucketed.as_slice() {
            for &i in &bucketed[1..] {
                problems.push(
                    join(&index("streams", i), "buckets"),
                    format!("streams[{first}] has buckets already: at most one stream per config has them"),
                );
            }
        }
        // `ThreadPool::new(0)` panics.
        if self.processes == 0 {
            problems.push("processes", "must be at least 1");
        }
    }
}

fn validate_stream(s: &StreamConfig, at: &str, problems: &mut Problems) {
    let docs = join(at, "documents");
    // `MixerCli.run`: "No documents to mix"; Rust indexes the first input and panics.
    if s.documents.is_empty() {
        problems.push(&docs, "no document paths given");
    }
    // `find_objects_matching_patterns` (`src/shard.rs:821`): "Cannot mix S3 and local paths".
    let s3 = s
        .documents
        .iter()
        .filter(|p| p.starts_with("s3://"))
        .count();
    if s3 != 0 && s3 != s.documents.len() {
        problems.push(&docs, "cannot mix s3:// and local paths");
    }
    // Attribute paths replace `/documents/` in each input path (`src/shard.rs:53`); without it
    // dolma reads the document file itself as the attribute file and fails.
    if !s.attributes.is_empty() {
        for (k, d) in s.documents.iter().enumerate() {
            if !d.contains("/documents/") && !has_glob(d) {
                problems.push(
                    index(&docs, k),
                    "no `/documents/` directory to derive attribute paths from",
                );
            }
        }
    }
    // The stream's name is part of its output files' and ledgers' paths; attribute names
    // are directories under `attributes/`: both must stay under their roots.
    if let Err(e) = loam_pipeline::layout::contained_name(&s.name) {
        problems.push(join(at, "name"), e.to_string());
    }
    for (k, a) in s.attributes.iter().enumerate() {
        if a.trim().is_empty() {
            problems.push(index(&join(at, "attributes"), k), "empty attribute name");
        } else if let Err(e) = loam_pipeline::layout::contained_name(a) {
            problems.push(index(&join(at, "attributes"), k), e.to_string());
        }
    }
    // `MixerCli.run`: "Either `filter` or `span_replacement` must be specified".
    if s.filter.is_none() && s.span_replacement.is_empty() {
        problems.push(
            at,
            "neither `filter` nor `span_replacement` is configured; dolma refuses a stream that \
             only copies",
        );
    }
    if let Some(f) = &s.filter {
        // `MixerCli.run`: "Either `include` or `exclude` must be specified for filter".
        if f.include.is_empty() && f.exclude.is_empty() {
            problems.push(
                join(at, "filter"),
                "neither `include` nor `exclude` has a pattern",
            );
        }
    }
    let spans = join(at, "span_replacement");
    for (k, r) in s.span_replacement.iter().enumerate() {
        let rat = index(&spans, k);
        if r.span.trim().is_empty() {
            problems.push(join(&rat, "span"), "empty selector");
        }
        match (r.min_score, r.max_score) {
            // `MixerCli.run`: "Either min_score or max_score must be specified".
            (None, None) => problems.push(
                &rat,
                "neither `min_score` nor `max_score` is set; dolma needs at least one",
            ),
            // `min_score <= score < max_score` can never hold.
            (Some(lo), Some(hi)) if lo >= hi => problems.push(
                join(&rat, "max_score"),
                format!("{hi} is not above min_score {lo} (max_score is exclusive); nothing would be replaced"),
            ),
            _ => {}
        }
    }
    // `"{path}/{name}-0000.json.gz"` would land at the file-system root.
    if s.output.path.trim().is_empty() {
        problems.push(join(at, "output.path"), "empty output path");
    }
    // dolma reads `text` after discarding fields and panics when it is gone.
    for (k, f) in s.output.discard_fields.iter().enumerate() {
        if f == "text" {
            problems.push(
                index(&join(at, "output.discard_fields"), k),
                "`text` cannot be discarded (dolma panics on it)",
            );
        }
    }
    // dolma names the file `.<value>` but writes anything other than gz/zst uncompressed
    // (`MultiStream::new`, `src/io.rs`).
    for (key, value) in [
        ("compression.input", &s.compression.input),
        ("compression.output", &s.compression.output),
    ] {
        if let Some(v) = value {
            if !matches!(v.as_str(), "gz" | "zst" | "") {
                problems.push(
                    join(at, key),
                    format!("{v:?}: expected \"gz\", \"zst\" or \"\" (none)"),
                );
            }
        }
    }
    validate_sampling(s, at, problems);
    // Filter and span expressions must parse and compile (dolma finds out per document).
    if let Err(errs) = crate::dolma_mix::CompiledStream::new(s, at) {
        for e in errs {
            problems.push(e.field.clone(), e.describe());
        }
    }
}

/// The largest `sample_rate` (as in `loam run`'s `mix.sample.rate`).
pub const MAX_SAMPLE_RATE: f64 = 1000.0;

fn validate_sampling(s: &StreamConfig, at: &str, problems: &mut Problems) {
    if let Some(r) = s.sample_rate {
        if !(r.is_finite() && r > 0.0 && r <= MAX_SAMPLE_RATE) {
            problems.push(
                join(at, "sample_rate"),
                format!("{r}: must be a number in (0, {MAX_SAMPLE_RATE}]"),
            );
        }
    }
    match (s.sample_rate, s.max_tokens) {
        (Some(_), Some(_)) => problems.push(
            join(at, "max_tokens"),
            "give either `sample_rate` or `max_tokens`, not both",
        ),
        (_, Some(0)) => problems.push(join(at, "max_tokens"), "must be at least 1"),
        _ => {}
    }
    if let Some(b) = &s.buckets {
        b.validate(&join(at, "buckets"), problems);
        if s.sample_rate.is_some() || s.max_tokens.is_some() {
            problems.push(
                join(at, "buckets"),
                "cannot be combined with `sample_rate` or `max_tokens` (the buckets' rates are the sampling)",
            );
        }
    }
    if s.seed.is_some() && !s.samples() && s.global_shuffle.is_none() {
        problems.push(
            join(at, "seed"),
            "has no effect without `sample_rate`, `max_tokens`, `buckets` or `global_shuffle`",
        );
    }
    if let Some(g) = &s.global_shuffle {
        g.check(&join(at, "global_shuffle"), problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loam_pipeline::config::{from_value_validated, parse_text, ConfigProblem};
    use std::path::Path;

    fn load(text: &str, file: &str) -> Result<MixerConfig, Vec<ConfigProblem>> {
        let value = parse_text(text, Some(Path::new(file))).expect("config text parses");
        from_value_validated::<MixerConfig>(&value)
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

    macro_rules! fixture {
        ($name:literal) => {
            load(
                include_str!(concat!("../../tests/fixtures/dolma/config/", $name)),
                $name,
            )
            .unwrap_or_else(|e| panic!("{}: {e:?}", $name))
        };
    }

    #[test]
    fn dolma_fixture_mixer() {
        let c = fixture!("mixer.json");
        assert_eq!(c.processes, 1);
        assert!(c.shuffle);
        assert_eq!(
            c.work_dir.output.as_deref(),
            Some("tests/work/temp/mixer/output")
        );
        let s = &c.streams[0];
        assert_eq!(s.name, "mixer-test");
        assert_eq!(s.documents, ["tests/data/provided/documents/*.gz"]);
        assert_eq!(s.attributes, ["pii", "toxicity"]);
        assert_eq!(s.output.path, "tests/work/output/mixer");
        assert_eq!(s.output.max_size_in_bytes, 100_000);
        assert!(s.output.discard_fields.is_empty());
        assert_eq!(s.output.min_text_length, 0);
        let f = s.filter.as_ref().unwrap();
        assert_eq!(f.include, ["$.metadata[?(@.length < 10000)]"]);
        assert_eq!(f.exclude.len(), 3);
        assert_eq!(f.syntax, FilterSyntax::Jsonpath);
        assert!(s.span_replacement.is_empty());
        assert_eq!(s.compression.output_extension(), ".gz");
    }

    #[test]
    fn dolma_fixture_span_replacements() {
        let c = fixture!("c4-cleaned.json");
        let s = &c.streams[0];
        assert_eq!(s.attributes, ["c4_rules"]);
        assert!(s.filter.is_none());
        assert_eq!(s.span_replacement.len(), 2);
        assert_eq!(
            s.span_replacement[1].span,
            "$.attributes.c4_rules__c4_v1__lines_with_too_few_words"
        );
        assert_eq!(s.span_replacement[0].min_score, Some(0.5));
        assert_eq!(s.span_replacement[0].max_score, None);
        assert_eq!(s.span_replacement[0].syntax, FilterSyntax::Jsonpath);

        let c = fixture!("email-spans.json");
        let r = &c.streams[0].span_replacement;
        assert_eq!(r[0].replacement, "[B-EMAIL]{}[E-EMAIL]");
        assert_eq!(r[1].replacement, "");

        let c = fixture!("paragraph-spans.json");
        assert_eq!(
            c.streams[0].span_replacement[0].span,
            "$.attributes.bff_duplicate_paragraph_spans"
        );
    }

    #[test]
    fn dolma_fixture_jq_span_replacements() {
        let c = fixture!("email-spans-jq.yaml");
        let s = &c.streams[0];
        assert_eq!(s.name, "email-spans-jq");
        assert_eq!(s.output.max_size_in_bytes, 100_000);
        let r = &s.span_replacement;
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].span, ".attributes?.pii?.email?");
        assert_eq!(r[0].syntax, FilterSyntax::Jq);
        assert_eq!((r[0].min_score, r[0].max_score), (Some(0.5), Some(0.9)));
        assert_eq!(r[0].replacement, "[B-EMAIL]{}[E-EMAIL]");
    }

    #[test]
    fn dolma_fixture_filter_by_spans() {
        let c = fixture!("filter-by-spans.json");
        let s = &c.streams[0];
        assert_eq!(
            s.output.discard_fields,
            ["attributes", "metadata", "added", "created"]
        );
        let f = s.filter.as_ref().unwrap();
        assert_eq!(
            f.include,
            ["$.attributes[?(@.sample__random_number_v1__random[0][2] < 0.5)]"]
        );
        assert_eq!(f.exclude.len(), 1);
    }

    #[test]
    fn dolma_fixture_mixer_validators() {
        let jq = fixture!("mixer-validator-jq.yaml");
        let jsonpath = fixture!("mixer-validator-jsonpath.yaml");
        for c in [&jq, &jsonpath] {
            assert_eq!(c.processes, 16);
            let s = &c.streams[0];
            assert_eq!(s.name, "cc_tiny_subset");
            assert_eq!(s.output.max_size_in_bytes, 4_294_967_296);
            assert_eq!(s.output.discard_fields, ["attributes"]);
            assert_eq!(s.span_replacement.len(), 3);
            assert_eq!(s.span_replacement[2].replacement, " |||IP_ADDRESS||| ");
            let f = s.filter.as_ref().unwrap();
            assert!(f.include.is_empty());
            assert_eq!(f.exclude.len(), 9);
        }
        assert_eq!(
            jq.streams[0].filter.as_ref().unwrap().syntax,
            FilterSyntax::Jq
        );
        assert_eq!(
            jsonpath.streams[0].filter.as_ref().unwrap().syntax,
            FilterSyntax::Jsonpath
        );
    }

    /// dolma's `configs/c4-replication/mixer.yaml` (YAML 1.1 `100_000_000`, unquoted
    /// JSONPath scalars) with `shuffle`, `compression` and the other documented keys.
    const REALISTIC_YAML: &str = r#"
streams:
  - name: dcnlp_beta_ai2

    documents:
      - s3://ai2-llm/experimental/dcnlp_beta_ai2/v0/documents/*.jsonl.gz

    output:
      path: s3://ai2-llm/experimental/dcnlp_beta_ai2/v1/documents

      # this should result in files around ~100MB.
      max_size_in_bytes: 100_000_000
      min_text_length: 1
      discard_fields:
        - attributes
        - metadata

    attributes:
      - c4_v2
      - ft_lang_id_en_doc_v2
    filter:
      exclude:
        # remove documents whose English score is less than 0.5 according to fasttext
        - $.attributes[?(@.ft_lang_id_en_doc_v2__ft_lang_id_en_doc_v2__en && @.ft_lang_id_en_doc_v2__ft_lang_id_en_doc_v2__en[0] && @.ft_lang_id_en_doc_v2__ft_lang_id_en_doc_v2__en[0][2] < 0.5)]

        # exclude documents that contain a curly brace
        - $.attributes[?(@.c4_v2__c4_v2__has_curly_brace && @.c4_v2__c4_v2__has_curly_brace[0] && @.c4_v2__c4_v2__has_curly_brace[0][2] > 0.5)]

    span_replacement:
      # remove lines that do not end in punctuation
      - span: $.attributes.c4_v2__c4_v2__lines_with_no_ending_punctuation
        min_score: 0.5
        replacement: ""
      - span: .attributes.c4_v2__c4_v2__lines_with_too_few_words
        syntax: jq
        min_score: 0.5
        max_score: 1.01
        replacement: "$.metadata.placeholder"

    compression:
      input: gz
      output: zst

work_dir:
  input: /tmp/mix/input
  output: /tmp/mix/output
shuffle: false
processes: 8
"#;

    #[test]
    fn realistic_yaml_parses() {
        let c = load(REALISTIC_YAML, "mixer.yaml").unwrap();
        assert!(!c.shuffle);
        assert_eq!(c.processes, 8);
        let s = &c.streams[0];
        assert_eq!(s.output.max_size_in_bytes, 100_000_000);
        assert_eq!(s.output.min_text_length, 1);
        assert_eq!(s.output.discard_fields, ["attributes", "metadata"]);
        let f = s.filter.as_ref().unwrap();
        assert!(f.include.is_empty());
        assert_eq!(f.exclude.len(), 2);
        assert!(f.exclude[1].starts_with("$.attributes[?(@.c4_v2__c4_v2__has_curly_brace"));
        assert_eq!(s.span_replacement[1].syntax, FilterSyntax::Jq);
        assert_eq!(s.span_replacement[1].max_score, Some(1.01));
        assert_eq!(s.compression.input.as_deref(), Some("gz"));
        assert_eq!(s.compression.output_extension(), ".zst");
    }

    #[test]
    fn python_defaults_and_rust_nulls() {
        // Python shape: keys the Rust mixer requires are defaulted
        let c = load(
            "streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {path: out}\n    filter: {include: [$.x]}\n",
            "m.yaml",
        )
        .unwrap();
        assert_eq!(c.processes, 1);
        assert!(c.shuffle && !c.dryrun);
        let s = &c.streams[0];
        assert_eq!(s.output.max_size_in_bytes, DEFAULT_MAX_SIZE_IN_BYTES);
        assert_eq!(s.output.max_size_in_bytes, 2_147_483_648);
        assert!(s.attributes.is_empty());
        assert!(s.filter.as_ref().unwrap().exclude.is_empty());
        // Rust shape: every Option may be null
        let c = load(
            r#"{"streams": [{"name": "s", "documents": ["a/documents/x.gz"], "attributes": [],
                 "filter": null,
                 "span_replacement": [{"span": "$.a", "min_score": null, "max_score": 0.3,
                                       "replacement": "", "syntax": null}],
                 "output": {"path": "o", "max_size_in_bytes": 1, "discard_fields": null,
                            "min_text_length": null},
                 "compression": null}],
                "processes": 1, "work_dir": {"input": "i", "output": "o"}}"#,
            "m.json",
        )
        .unwrap();
        let s = &c.streams[0];
        assert!(s.filter.is_none());
        assert_eq!(s.span_replacement[0].syntax, FilterSyntax::Jsonpath);
        assert!(s.output.discard_fields.is_empty());
        assert_eq!(s.compression.output_extension(), ".gz");
        // `span_replacement: null` is an empty list: with no filter, dolma refuses the stream
        let errs = load(
            r#"{"streams": [{"name": "s", "documents": ["a/documents/x.gz"], "span_replacement": null,
                 "output": {"path": "o"}}]}"#,
            "m.json",
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["streams[0]"], "{errs:?}");
    }

    #[test]
    fn stream_buckets_are_checked_and_one_stream_has_them() {
        let b = "{score: e__t__s, count: 2, rates: [0, 1]}";
        let ok = load(
            &format!("streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {{path: o}}\n    filter: {{exclude: [$.x]}}\n    seed: 3\n    buckets: {b}\n"),
            "m.yaml",
        )
        .unwrap();
        assert!(ok.streams[0].samples());
        let errs = load(
            &format!(
                "streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {{path: o}}\n    filter: {{exclude: [$.x]}}\n    sample_rate: 0.5\n    buckets: {b}\n  - name: t\n    documents: [a/documents/y.gz]\n    output: {{path: o}}\n    filter: {{exclude: [$.x]}}\n    buckets: {b}\n  - name: u\n    documents: [a/documents/z.gz]\n    output: {{path: o}}\n    filter: {{exclude: [$.x]}}\n    buckets: {b}\n"
            ),
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "streams[0].buckets",
                "streams[1].buckets",
                "streams[2].buckets"
            ],
            "{errs:?}"
        );
        let errs = load(
            "streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {path: o}\n    filter: {exclude: [$.x]}\n    buckets: {score: e__t__s, count: 2, rates: [1], colour: red}\n",
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            ["streams[0].buckets.colour"],
            "{errs:?}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let errs = load(
            "streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {path: o, max_size: 3}\n    filter: {includ: [$.x], exclude: [$.y]}\n    span_replacement:\n      - {span: $.a, min_score: 0.1, replace: x}\nprocesess: 2\n",
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "procesess",
                "streams[0].filter.includ",
                "streams[0].output.max_size",
                "streams[0].span_replacement[0].replace"
            ],
            "{errs:?}"
        );
        assert!(
            errs.iter().all(|e| e.message.contains("unknown field")),
            "{errs:?}"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_reported_with_their_path() {
        let errs = load(
            r#"
streams:
  - name: ok
    documents: a/documents/x.gz
    output: {path: o, max_size_in_bytes: big}
    filter: {exclude: [$.x], syntax: jmespath}
  - documents: [a/documents/y.gz]
    span_replacement: [{min_score: 0.5}]
    output: {max_size_in_bytes: 10}
shuffle: sometimes
"#,
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "shuffle",
                "streams[0].documents",
                "streams[0].filter.syntax",
                "streams[0].output.max_size_in_bytes",
                "streams[1].name",
                "streams[1].output.path",
                "streams[1].span_replacement[0].span"
            ],
            "{errs:?}"
        );
        let missing: Vec<&str> = errs
            .iter()
            .filter(|e| e.message.starts_with("missing required field"))
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(missing.len(), 3, "{errs:?}");
    }

    #[test]
    fn semantic_problems_are_reported_together() {
        let errs = load(
            r#"
streams:
  - name: a
    documents: []
    output: {path: out}
  - name: b
    documents: [s3://bucket/documents/x.gz, local/documents/y.gz, local/raw/z.gz]
    attributes: [pii, " "]
    filter: {include: [], exclude: []}
    span_replacement:
      - {span: $.attributes.pii, replacement: ""}
      - {span: $.attributes.pii, min_score: 0.5, max_score: 0.5}
    output: {path: ""}
  - name: a
    documents: [data/documents/x.gz]
    output: {path: out}
    filter: {exclude: [$.x]}
processes: 0
"#,
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "streams[0].documents",
                "streams[0]",
                "streams[1].documents",
                "streams[1].documents[2]",
                "streams[1].attributes[1]",
                "streams[1].filter",
                "streams[1].span_replacement[0]",
                "streams[1].span_replacement[1].max_score",
                "streams[1].output.path",
                "streams[2].name",
                "processes"
            ],
            "{errs:?}"
        );
        let errs = load("{}", "m.yaml").unwrap_err();
        assert_eq!(paths(&errs), ["streams"], "{errs:?}");
    }

    /// dolma's `docs/examples/wikipedia-mixer.yaml`, verbatim: `1_000_000_000` loads, the
    /// `${oc.env:HOME}` interpolations resolve (before the typed config is read).
    #[test]
    fn omegaconf_interpolations_resolve_before_the_typed_config() {
        let raw = parse_text(
            r#"
streams:
    - name: getting-started
      documents:
        - ${oc.env:HOME}/wikipedia/v0/documents/*.gz

      output:
        path: ${oc.env:HOME}/wikipedia/example0/documents
        max_size_in_bytes: 1_000_000_000
      attributes:
        - exp
        - bff_duplicate_paragraph_spans
      filter:
        include:
          - "$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 100000)]"
        exclude:
          - "$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 50)]"
          - "$.attributes[?(@.exp__ft_lang_id_en_paragraph_with_doc_score_v2__doc_en[0][2] <= 0.5)]"
          - "$@.attributes[?(@.bff_duplicate_paragraph_spans && @.bff_duplicate_paragraph_spans[0] && @.bff_duplicate_paragraph_spans[0][2] >= 1.0)]"

      span_replacement:
        - span: "$.attributes.exp__cld2_en_paragraph_with_doc_score_v2__not_en"
          min_score: 0.1
          replacement: ''

processes: 1
"#,
            Some(Path::new("wikipedia-mixer.yaml")),
        )
        .unwrap();
        if std::env::var_os("HOME").is_none() {
            std::env::set_var("HOME", "/root");
        }
        let home = std::env::var("HOME").unwrap();
        let resolved = loam_pipeline::config::dolma::resolve_interpolations(&raw).unwrap();
        let c = from_value_validated::<MixerConfig>(&resolved).unwrap();
        assert_eq!(
            c.streams[0].documents,
            [format!("{home}/wikipedia/v0/documents/*.gz")]
        );
        assert_eq!(
            c.streams[0].output.path,
            format!("{home}/wikipedia/example0/documents")
        );
        // once written out, it loads, `1_000_000_000` included
        let c = load(
            "streams:\n  - name: g\n    documents: [/home/u/wikipedia/v0/documents/*.gz]\n    output: {path: /home/u/out, max_size_in_bytes: 1_000_000_000}\n    filter: {exclude: [\"$.x\"]}\n    span_replacement: [{span: $.a, min_score: 0.1, replacement: '\\${literal}'}]\n",
            "m.yaml",
        )
        .unwrap();
        assert_eq!(c.streams[0].output.max_size_in_bytes, 1_000_000_000);
    }

    #[test]
    fn expressions_compressions_and_text_discard_are_checked() {
        let errs = load(
            "streams:\n  - name: s\n    documents: [a/documents/x.gz]\n    output: {path: o, discard_fields: [metadata, text]}\n    filter: {syntax: jq, exclude: [\".a | (\"]}\n    compression: {input: bz2, output: lz4}\n",
            "m.yaml",
        )
        .unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "streams[0].compression.input",
                "streams[0].compression.output",
                "streams[0].filter.exclude[0]",
                "streams[0].output.discard_fields[1]"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn runtime_keys_are_top_level_fields() {
        let c = load(REALISTIC_YAML, "mixer.yaml").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        for k in MixerConfig::runtime_keys() {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["streams"][0]["span_replacement"][1]["syntax"], "jq");
        let back: MixerConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.streams[0].name, "dcnlp_beta_ai2");
    }
}
