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
    /// Exact document dedup stage.
    #[serde(default)]
    pub dedupe: Option<DedupeStage>,
    /// The mix.
    pub mix: MixStage,
    /// Tokenize the finished mix into training arrays (docs/tokens.md): a dolma `tokens`
    /// config without `documents` and `destination` (the mix's documents, written to
    /// `<output>/tokens/<mix>/<version>-<content id>/`).
    #[serde(default)]
    pub tokens: Option<serde_json::Value>,
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

/// Exact document dedup; marks go to `<output>/attributes/<name>/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeStage {
    /// Attribute directory name.
    pub name: String,
    /// Document-level dedup, as in dolma's `dedupe.documents`.
    pub documents: DocumentDedupe,
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

/// Largest `mix.shuffle.shards`: output names have five digits.
pub const MAX_SHUFFLE_SHARDS: u32 = 100_000;

/// `mix.shuffle`: the kept documents, with their sampling copies, are written to `shards`
/// output shards `documents/shuffled-NNNNN.jsonl.gz` in a seeded pseudo-random order that
/// depends only on the seed and each copy's (input file, id, line, copy index).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShuffleSpec {
    /// Output shards; default: one per input shard of the mix. A shard holds about
    /// 1/`shards` of the mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// Seed of the order; default `mix.seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

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
        if let Some(d) = &self.dedupe {
            check_name(&d.name, "dedupe.name", p);
            if let Some(t) = &self.tag {
                if t.experiment == d.name {
                    p.push(
                        "dedupe.name",
                        "must differ from tag.experiment (both are attribute directories)",
                    );
                }
            }
            if d.documents.attribute_name.is_empty() {
                p.push("dedupe.documents.attribute_name", "empty");
            }
            if let Err(e) = loam_dedup::exact::DedupKey::parse(&d.documents.key) {
                p.push("dedupe.documents.key", e.to_string());
            }
            produced.push(d.documents.attribute_name.clone());
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
        if let Some(ShuffleSpec {
            shards: Some(n), ..
        }) = self.mix.shuffle
        {
            if !(1..=MAX_SHUFFLE_SHARDS).contains(&n) {
                p.push(
                    "mix.shuffle.shards",
                    format!("must be between 1 and {MAX_SHUFFLE_SHARDS}"),
                );
            }
        }
        for (i, r) in self.mix.drop.iter().enumerate() {
            let ok = produced.iter().any(|x| {
                r.attribute == *x || (x.ends_with("__") && r.attribute.starts_with(x.as_str()))
            });
            if let Some(m) = ok
                .then(|| crate::checks::attribute_problem(&r.attribute))
                .flatten()
            {
                p.push(join(&index("mix.drop", i), "attribute"), m);
            } else if !r.attribute.is_empty() && !ok {
                p.push(
                    join(&index("mix.drop", i), "attribute"),
                    format!(
                        "`{}` is not produced by this pipeline (expected `<experiment>__<tagger>__<signal>` for a listed tagger, or the dedupe attribute)",
                        r.attribute
                    ),
                );
            }
        }
    }
}
