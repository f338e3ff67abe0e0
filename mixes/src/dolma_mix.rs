//! Running a dolma mixer config: plan the output shards of each stream, then stream each
//! shard's inputs through attribute merge, filter, span replacement and output cleanup into
//! one atomically written file. dolma 1.2.1's `Shard::split_streams`,
//! `Shard::split_streams_unshuffled` and `Shard::process` (`src/shard.rs` of allenai/dolma at
//! v1.2.1), reimplemented.
//!
//! Per document, as dolma does it:
//! 1. the attribute files' `attributes` objects are merged in config order (a later file's
//!    key wins) into the document's own `attributes` object, or become it; with no attribute
//!    files configured the document is left as it is;
//! 2. the stream's filter decides ([`crate::filter`]);
//! 3. span replacements rewrite `text` ([`crate::replace`]);
//! 4. `discard_fields` are removed; a document whose `text`, trimmed, is shorter than
//!    `min_text_length` bytes is dropped;
//! 5. `metadata` becomes an object if it is not one, and `metadata.provenance` is set to
//!    `<file>:<line>` (line 1-based), where `<file>` is the input's path below its
//!    `documents/` directory — dolma's basename when the file sits directly in `documents/`,
//!    and unambiguous when inputs in different sub-directories share a name (dolma's
//!    basename is not); outside a `documents/` directory it is the basename, as in dolma.
//!
//! Loud where dolma is silent: every attribute file must exist, have exactly as many lines
//! as its document file, and carry the same id on every line; each problem is an error that
//! names both files and the line. A bad document line fails the output shard, as in dolma,
//! but every bad line is reported.
//!
//! Beyond dolma ([`mix_unit_with`], [`MixOptions`]): after step 4, a stream's sampling
//! ([`crate::mix::Sampling`], from `sample_rate` or a `max_tokens` budget) writes each document
//! 0, 1 or more times, drawn from (seed, input name, id, line) only; and a ledger per input
//! ([`crate::ledger`]) records every document's decision (`kept`, `edited`, `dropped` with the
//! filter expression or `output.min_text_length`, `sampled_out`).

use crate::align::{check_line, AlignedAttributes, AttrRead};
use crate::buckets::{bucket_rule, BucketDoc, BucketsConfig, Plan, MISSING_SCORE_RULE};
use crate::config::{
    CompressionConfig, FilterConfig, MixerConfig, SpanReplacementConfig, StreamConfig,
};
use crate::filter::{Decision, DocFilter, DocView, ExprError};
use crate::index::IndexBuilder;
use crate::ledger::{Decision as LedgerDecision, LedgerRow, LedgerWriter};
use crate::mix::{index_path, AttributeInput, Sampling};
use crate::replace::{apply, apply_dolma, Edit, SpanReplacer};
use crate::rules::{first_match, Op, Rule};
use crate::shuffle::{Shuffle, SpoolInfo, SpoolWriter};
use loam_manifests::RuleCounts;
use loam_pipeline::config::{index, join};
use loam_pipeline::executor::Progress;
use loam_pipeline::format::{Compression, Format};
use loam_pipeline::layout;
use loam_pipeline::reader::{DocumentReader, LineReader, ReadError};
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::Storage;
use loam_pipeline::tagger::{DocTagger, Signals, Tagged};
use loam_pipeline::writer::{DocumentWriter, JsonlWriter, WrittenShard};
use loam_pipeline::Document;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A problem planning the outputs of a config (before any data is read).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Listing or path mapping failed.
    #[error("{field}: {source}")]
    Layout {
        /// Config field, e.g. `streams[0].documents[1]`.
        field: String,
        /// What failed.
        #[source]
        source: layout::LayoutError,
    },
    /// An input or output that cannot be used as configured.
    #[error("{field}: {message}")]
    Invalid {
        /// Config field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A document file and the attribute files aligned with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFiles {
    /// Document file.
    pub documents: String,
    /// Its size in bytes (what dolma packs by).
    pub size: u64,
    /// One attribute file per configured attribute name, in config order.
    pub attributes: Vec<String>,
}

/// One output file and the inputs written into it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputUnit {
    /// Index of the stream in the config.
    pub stream: usize,
    /// Output file.
    pub output: String,
    /// Inputs, in the order their documents are written.
    pub inputs: Vec<InputFiles>,
}

/// Lists each stream's inputs (patterns in config order, each pattern's matches sorted) and
/// groups them into outputs as dolma does.
///
/// With `shuffle: true` (dolma's default, which shuffles nothing), inputs are packed in order:
/// an output takes inputs until adding the next one would bring the summed *input file* sizes
/// above `max_size_in_bytes`; an input is never split, so an output holds at least one input.
/// Outputs are named `<output.path>/<name>-NNNN.jsonl<ext>`, `NNNN` counting from 0000. dolma
/// names the last output of a stream `.json<ext>` and the others `.jsonl<ext>`; loam names them
/// all `.jsonl<ext>` (same contents; a name does not change when inputs are added).
///
/// With `shuffle: false`, each input is one output at `<output.path>/documents/<path of the
/// input below its documents/ directory>`.
pub fn plan(storage: &dyn Storage, cfg: &MixerConfig) -> Result<Vec<OutputUnit>, PlanError> {
    let mut units = Vec::new();
    for (si, s) in cfg.streams.iter().enumerate() {
        let at = index("streams", si);
        let inputs = list_inputs(storage, s, &at)?;
        let ext = s.compression.output_extension();
        let base = s.output.path.trim_end_matches('/');
        if cfg.shuffle {
            let mut groups: Vec<Vec<InputFiles>> = Vec::new();
            let mut current: Vec<InputFiles> = Vec::new();
            let mut size = 0u64;
            for input in inputs {
                if !current.is_empty() && size + input.size > s.output.max_size_in_bytes {
                    groups.push(std::mem::take(&mut current));
                    size = 0;
                }
                size += input.size;
                current.push(input);
            }
            if !current.is_empty() {
                groups.push(current);
            }
            for (k, g) in groups.into_iter().enumerate() {
                units.push(OutputUnit {
                    stream: si,
                    output: format!("{base}/{}-{k:04}.jsonl{ext}", s.name),
                    inputs: g,
                });
            }
        } else {
            for input in inputs {
                let rel = layout::relative_to_documents(&input.documents).map_err(|e| {
                    PlanError::Layout {
                        field: join(&at, "documents"),
                        source: e,
                    }
                })?;
                let output = format!("{base}/documents/{rel}");
                check_output_compression(&output, &s.compression, &at)?;
                units.push(OutputUnit {
                    stream: si,
                    output,
                    inputs: vec![input],
                });
            }
        }
    }
    // Two streams (or patterns) must not write the same file.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &units {
        if let Some(prev) = seen.insert(u.output.as_str(), u.stream) {
            return Err(PlanError::Invalid {
                field: index("streams", u.stream),
                message: format!(
                    "output {} is also written by streams[{prev}]; give the streams different names or output paths",
                    u.output
                ),
            });
        }
    }
    Ok(units)
}

/// dolma's names for packed outputs: the last output of each stream `…-NNNN.json<ext>`
/// instead of `.jsonl<ext>` (`--dolma-bugs`, so a rebuilt dolma mix has dolma's file names;
/// the name of that file changes when inputs are added, which is why loam does not do it by
/// default). Outputs of `shuffle: false` streams keep their inputs' names.
pub fn dolma_output_names(cfg: &MixerConfig, units: &mut [OutputUnit]) {
    if !cfg.shuffle {
        return;
    }
    for si in 0..cfg.streams.len() {
        if let Some(last) = units.iter_mut().rfind(|u| u.stream == si) {
            if let Some(i) = last.output.rfind(".jsonl") {
                last.output.replace_range(i..i + ".jsonl".len(), ".json");
            }
        }
    }
}

/// The deepest directory that holds every path in `paths` (compared by `/`-separated
/// components; `.` components and repeated slashes are ignored): `out` for `out/a` and
/// `out/b`, `s3://bucket/x` for `s3://bucket/x/a` and `s3://bucket/x/b`, the path itself for
/// one path. `None` when they share nothing but the file-system root or the current
/// directory.
pub fn common_dir<S: AsRef<str>>(paths: &[S]) -> Option<String> {
    fn parts(p: &str) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(rest) = p.strip_prefix("s3://") {
            out.push("s3:/");
            out.extend(rest.split('/').filter(|c| !c.is_empty() && *c != "."));
            return out;
        }
        if p.starts_with('/') {
            out.push("");
        }
        out.extend(p.split('/').filter(|c| !c.is_empty() && *c != "."));
        out
    }
    let mut common: Option<Vec<&str>> = None;
    for p in paths {
        let ps = parts(p.as_ref());
        common = Some(match common {
            None => ps,
            Some(c) => c
                .iter()
                .zip(&ps)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let c = common?;
    match c.as_slice() {
        [] | [""] | ["s3:/"] => None,
        ["s3:/", rest @ ..] => Some(format!("s3://{}", rest.join("/"))),
        _ => Some(c.join("/")),
    }
}

/// A name per stream that tells the streams apart, for ledger directories and manifest
/// stages: the stream's name, `<name>@<index>` when several streams share it, `stream@<index>`
/// when it is not usable as a relative path (empty, or with `.`/`..` components).
pub fn stream_labels(cfg: &MixerConfig) -> Vec<String> {
    cfg.streams
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let shared = cfg
                .streams
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.name == s.name);
            let clean = layout::contained_name(&s.name).is_ok();
            if clean && !shared {
                s.name.clone()
            } else if clean {
                format!("{}@{i}", s.name)
            } else {
                format!("stream@{i}")
            }
        })
        .collect()
}

/// Where each input's ledger goes under the manifest directory `dir`, per unit (one path per
/// input, in the unit's order): `<dir>/ledger/<stream>/<rel>.parquet`, `<rel>` being the
/// input's path below `documents/` (its `metadata.provenance` name). A stream name used by
/// several streams becomes `<name>@<index>` for each of them; when two inputs of a stream
/// share that name, their paths below the inputs' deepest common directory are used.
pub fn ledger_paths(cfg: &MixerConfig, units: &[OutputUnit], dir: &str) -> Vec<Vec<String>> {
    let dir = dir.trim_end_matches('/');
    let stream_dirs = stream_labels(cfg);
    // Per stream: does the provenance name tell its inputs apart?
    let mut names: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); cfg.streams.len()];
    let mut unique = vec![true; cfg.streams.len()];
    let mut inputs: Vec<Vec<&str>> = vec![Vec::new(); cfg.streams.len()];
    for u in units {
        for i in &u.inputs {
            if let (Some(n), Some(ok)) = (names.get_mut(u.stream), unique.get_mut(u.stream)) {
                *ok &= n.insert(provenance_name(&i.documents));
            }
            if let Some(v) = inputs.get_mut(u.stream) {
                v.push(i.documents.as_str());
            }
        }
    }
    let bases: Vec<Option<String>> = inputs
        .iter()
        .map(|v| {
            let dirs: Vec<&str> = v
                .iter()
                .map(|p| p.rsplit_once('/').map_or(".", |(d, _)| d))
                .collect();
            common_dir(&dirs)
        })
        .collect();
    units
        .iter()
        .map(|u| {
            let sd = stream_dirs.get(u.stream).map_or("stream", String::as_str);
            u.inputs
                .iter()
                .map(|i| {
                    let p = i.documents.as_str();
                    let rel = match (unique.get(u.stream), bases.get(u.stream)) {
                        (Some(false), Some(Some(base))) => p
                            .strip_prefix(base.as_str())
                            .map_or(p, |r| r.trim_start_matches('/')),
                        (Some(false), _) => p.strip_prefix("s3://").unwrap_or(p),
                        _ => provenance_name(p),
                    };
                    // No way out of `ledger/<stream>/`.
                    let rel: Vec<&str> = rel
                        .split('/')
                        .filter(|c| !c.is_empty() && *c != ".")
                        .map(|c| if c == ".." { "__" } else { c })
                        .collect();
                    format!("{dir}/ledger/{sd}/{}.parquet", rel.join("/"))
                })
                .collect()
        })
        .collect()
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "",
        Compression::Gzip => "gz",
        Compression::Zstd => "zst",
    }
}

/// dolma writes `compression.output` whatever the file is called; loam's writers follow the
/// name, so the two must agree.
fn check_output_compression(
    output: &str,
    c: &CompressionConfig,
    at: &str,
) -> Result<(), PlanError> {
    let Some(want) = c.output.as_deref() else {
        return Ok(());
    };
    match Format::from_path(output) {
        Ok(Format::Jsonl(got)) if compression_name(got) == want => Ok(()),
        _ => Err(PlanError::Invalid {
            field: join(at, "compression.output"),
            message: format!(
                "{want:?} does not match the output name {output} (with shuffle: false outputs keep their input's name)"
            ),
        }),
    }
}

fn list_inputs(
    storage: &dyn Storage,
    s: &StreamConfig,
    at: &str,
) -> Result<Vec<InputFiles>, PlanError> {
    let mut out: Vec<InputFiles> = Vec::new();
    let mut first_pattern: BTreeMap<String, usize> = BTreeMap::new();
    for (pi, pattern) in s.documents.iter().enumerate() {
        let field = index(&join(at, "documents"), pi);
        let files = layout::expand(storage, std::slice::from_ref(pattern)).map_err(|e| {
            PlanError::Layout {
                field: field.clone(),
                source: e,
            }
        })?;
        for f in files {
            if let Some(prev) = first_pattern.insert(f.clone(), pi) {
                // dolma would mix this file twice.
                return Err(PlanError::Invalid {
                    field,
                    message: format!(
                        "{f} is also matched by documents[{prev}]; it would be mixed twice"
                    ),
                });
            }
            let fmt = Format::from_path(&f).map_err(|e| PlanError::Invalid {
                field: field.clone(),
                message: e.to_string(),
            })?;
            if let (Some(want), Format::Jsonl(got)) = (s.compression.input.as_deref(), fmt) {
                if compression_name(got) != want {
                    return Err(PlanError::Invalid {
                        field: join(at, "compression.input"),
                        message: format!(
                            "{want:?} does not match {f}; loam reads each file as its name says"
                        ),
                    });
                }
            }
            let size = storage
                .size(&f)
                .map_err(|e| PlanError::Layout {
                    field: field.clone(),
                    source: layout::LayoutError::Storage(e),
                })?
                .unwrap_or(0);
            let attributes = s
                .attributes
                .iter()
                .map(|name| layout::attribute_path(&f, name))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| PlanError::Layout {
                    field: field.clone(),
                    source: e,
                })?;
            out.push(InputFiles {
                documents: f,
                size,
                attributes,
            });
        }
    }
    Ok(out)
}

/// A stream's expressions, compiled once per run.
#[derive(Debug, Clone)]
pub struct CompiledStream {
    /// The document filter.
    pub filter: DocFilter,
    /// Span replacements, in config order.
    pub replacers: Vec<SpanReplacer>,
    /// Top-level fields removed before writing.
    pub discard_fields: Vec<String>,
    /// Minimum trimmed text length in bytes.
    pub min_text_length: u64,
    /// Whether attribute files are merged (an `attributes` key is then always present).
    pub has_attributes: bool,
    /// How tokens are counted (budgets, manifest).
    pub tokenizer: crate::tokens::Tokenizer,
    /// The attributes the filter and span replacements read
    /// ([`crate::filter::referenced_attributes`]), counted per document so that one no
    /// document has is reported.
    pub attribute_refs: Vec<String>,
    /// Structured drop rules (loam's pipeline file), before the filter: the first that
    /// fires drops the document, its value and threshold in the ledger.
    pub rules: Vec<Rule>,
    /// Attributes that mark duplicates: an `exists` rule on one records `duplicate`.
    pub duplicate_attributes: Vec<String>,
    /// What a kept document looks like when written.
    pub shape: Shape,
    /// The parts of a document its jq programs read, when they read only named parts
    /// ([`crate::jq_needs`]): documents are converted to jq values only there.
    pub jq_needs: Option<crate::jq_needs::Needs>,
}

impl CompiledStream {
    /// The attributes (of the attribute files) whose values the stream reads — its rules'
    /// attributes, its jq programs' and JSONPath filters' ([`crate::jq_needs`]) and its span
    /// selectors' (`$.attributes.NAME…`) — when it reads no others and attributes are not
    /// written out (`discard_fields: [attributes]`, or loam's pipeline file, which writes
    /// documents as read). Anything added that reads merged attribute values in the mix must
    /// name them here. The other attributes are then read over without building their values
    /// (only their names are kept). `None`: all.
    pub fn attribute_values(&self) -> Option<BTreeSet<String>> {
        let written =
            self.shape == Shape::Dolma && !self.discard_fields.iter().any(|f| f == "attributes");
        if written {
            return None;
        }
        let mut out: BTreeSet<String> = self.jq_needs.as_ref()?.attributes.clone();
        if let DocFilter::JsonPath { include, exclude } = &self.filter {
            for p in include.iter().chain(exclude) {
                out.extend(crate::jq_needs::jsonpath_filter_needs(p.source())?);
            }
        }
        for r in &self.replacers {
            if let Some(p) = r.jsonpath_source() {
                out.extend(crate::jq_needs::jsonpath_path_needs(p)?);
            }
        }
        out.extend(self.rules.iter().map(|r| r.attribute.clone()));
        Some(out)
    }
}

/// What the jq programs of a filter and span replacements read together.
fn jq_needs(filter: &DocFilter, replacers: &[SpanReplacer]) -> Option<crate::jq_needs::Needs> {
    let sources = filter
        .jq_sources()
        .into_iter()
        .chain(replacers.iter().flat_map(SpanReplacer::jq_sources));
    crate::jq_needs::Needs::of_all(sources)
}

/// What a kept document looks like when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// As dolma's mixer writes it: the attribute files merged into its `attributes`
    /// object, `metadata.provenance` set to `<file>:<line>`.
    #[default]
    Dolma,
    /// As it was read, span replacements applied (loam's pipeline file): the rules, filter
    /// and span selectors see the attribute files' attributes alone under `attributes`,
    /// which is then put back as it was.
    AsRead,
}

impl CompiledStream {
    /// Compiles a stream whose field path is `at` (`streams[0]`); every bad expression is
    /// reported.
    pub fn new(s: &StreamConfig, at: &str) -> Result<CompiledStream, Vec<ExprError>> {
        let (filter, replacers, attribute_refs) =
            compile(s.filter.as_ref(), &s.span_replacement, at)?;
        Ok(CompiledStream {
            discard_fields: s.output.discard_fields.clone(),
            min_text_length: s.output.min_text_length,
            has_attributes: !s.attributes.is_empty(),
            tokenizer: s.tokenizer.unwrap_or_default(),
            attribute_refs,
            rules: Vec::new(),
            duplicate_attributes: Vec::new(),
            shape: Shape::Dolma,
            jq_needs: jq_needs(&filter, &replacers),
            filter,
            replacers,
        })
    }

    /// The mix of loam's pipeline file (field path `at`, `mix`): structured `rules`, then a
    /// dolma `filter` and `span_replacement`s; documents written as read ([`Shape::AsRead`]).
    pub fn as_read(
        rules: &[Rule],
        duplicate_attributes: &[String],
        filter: Option<&FilterConfig>,
        span_replacement: &[SpanReplacementConfig],
        tokenizer: crate::tokens::Tokenizer,
        at: &str,
    ) -> Result<CompiledStream, Vec<ExprError>> {
        let (filter, replacers, attribute_refs) = compile(filter, span_replacement, at)?;
        Ok(CompiledStream {
            discard_fields: Vec::new(),
            min_text_length: 0,
            has_attributes: true,
            tokenizer,
            attribute_refs,
            rules: rules.to_vec(),
            duplicate_attributes: duplicate_attributes.to_vec(),
            shape: Shape::AsRead,
            jq_needs: jq_needs(&filter, &replacers),
            filter,
            replacers,
        })
    }
}

/// A filter and span replacements under field path `at`, compiled, with the attributes
/// they read.
#[allow(clippy::type_complexity)]
fn compile(
    filter: Option<&FilterConfig>,
    span_replacement: &[SpanReplacementConfig],
    at: &str,
) -> Result<(DocFilter, Vec<SpanReplacer>, Vec<String>), Vec<ExprError>> {
    let mut errs = Vec::new();
    let compiled = DocFilter::new(filter, &join(at, "filter"))
        .map_err(|e| errs.extend(e))
        .ok();
    let mut replacers = Vec::new();
    for (k, r) in span_replacement.iter().enumerate() {
        match SpanReplacer::new(k, r, &index(&join(at, "span_replacement"), k)) {
            Ok(r) => replacers.push(r),
            Err(e) => errs.extend(e),
        }
    }
    match compiled {
        Some(f) if errs.is_empty() => {
            let mut refs: Vec<String> = filter
                .iter()
                .flat_map(|f| f.include.iter().chain(&f.exclude))
                .chain(span_replacement.iter().map(|r| &r.span))
                .flat_map(|e| crate::filter::referenced_attributes(e))
                .collect();
            refs.sort();
            refs.dedup();
            Ok((f, replacers, refs))
        }
        _ => Err(errs),
    }
}

/// What [`mix_unit_with`] does beyond dolma: sampling, counting passes and the ledger.
#[derive(Debug, Clone, Default)]
pub struct MixOptions {
    /// Sampling of the documents that pass the filter and `output.min_text_length`
    /// ([`stream_sampling`] for a stream's `sample_rate`).
    pub sampling: Option<Sampling>,
    /// Count only: nothing is written (no output, no ledger). With `sampling`, each eligible
    /// document's draw and whitespace tokens are collected in [`UnitReport::draws`], what a
    /// token budget is computed from ([`Sampling::for_budget`]).
    pub dry_run: bool,
    /// One ledger file per input of the unit, in the unit's input order (its id index goes
    /// beside it, [`index_path`]); empty: no ledger.
    pub ledgers: Vec<String>,
    /// Tokens of each of the unit's eligible documents, in order, from the counting pass
    /// ([`UnitReport::draws`]): taken instead of counting again, which for a BPE costs as
    /// much as the rest of the mix. A unit whose eligible documents are not as many fails:
    /// its inputs changed between the passes, and the budget was computed from other data.
    pub counted: Option<std::sync::Arc<[u32]>>,
    /// What a document's sampling draw is made from.
    pub draw_key: DrawKey,
    /// Kept documents go to a shuffle spool at the unit's output path instead of an output
    /// shard (pass 1 of [`crate::shuffle`]); the string names the input in shuffle keys.
    pub spool: Option<(String, Shuffle)>,
    /// Quality buckets ([`crate::buckets`]): in a dry run, each eligible document's group,
    /// score and key are collected ([`UnitReport::bucket_docs`]; `sampling` gives the
    /// draws); in the mix pass each document's copies come from its bucket in the plan
    /// (`sampling` is not used). A document without the score is dropped
    /// ([`crate::buckets::MISSING_SCORE_RULE`]).
    pub buckets: Option<BucketsMode>,
    /// `--dolma-bugs`: a selected span of length zero goes through dolma's rewrite loop
    /// ([`crate::replace::apply_dolma`]) instead of being ignored.
    pub dolma_bugs: bool,
}

/// The two passes of quality buckets.
#[derive(Debug, Clone)]
pub enum BucketsMode {
    /// The counting pass: collect [`crate::buckets::BucketDoc`]s.
    Count(std::sync::Arc<BucketsConfig>),
    /// The mix pass: place each document by the plan.
    Apply(std::sync::Arc<Plan>),
}

impl BucketsMode {
    fn config(&self) -> &BucketsConfig {
        match self {
            BucketsMode::Count(c) => c,
            BucketsMode::Apply(p) => &p.config,
        }
    }
}

/// What a document's sampling draw is made from, with its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawKey {
    /// The input's name in `metadata.provenance` and the id ([`sampling_key`]): dolma
    /// mixer configs.
    #[default]
    ProvenanceAndId,
    /// The id alone: loam's pipeline file.
    Id,
}

/// The sampling of a stream with a fixed `sample_rate`: `None` without one (a `max_tokens`
/// budget needs a counting pass first: [`MixOptions::dry_run`], [`Sampling::for_budget`]).
pub fn stream_sampling(s: &StreamConfig) -> Option<Sampling> {
    s.sample_rate
        .map(|r| Sampling::from_rate(r, s.seed.unwrap_or(0)))
}

/// The key a document's sampling draw is made from, with its line: the input's name in
/// `metadata.provenance` (its path below `documents/`) and the document id. The draw depends
/// on nothing else (never on threads or on where the corpus sits).
pub fn sampling_key(provenance: &str, id: &str) -> String {
    format!("{provenance}\0{id}")
}

/// A ledger written for one input, with its id index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFiles {
    /// The Parquet ledger (records = rows = input documents).
    pub ledger: WrittenShard,
    /// Its id index.
    pub index: WrittenShard,
}

/// What happened to one output shard.
#[derive(Debug, Clone, Default)]
pub struct UnitReport {
    /// Problems (each naming file and line); any one means nothing was published.
    pub scan: ScanReport,
    /// Digests of the document files read in full, in order.
    pub inputs: Vec<AttributeInput>,
    /// Digests of the attribute files read in full.
    pub attributes: Vec<AttributeInput>,
    /// Counts.
    pub counts: MixCounts,
    /// The output, when anything was kept and nothing failed.
    pub output: Option<WrittenShard>,
    /// (draw, whitespace tokens) of each eligible document, collected in dry runs with
    /// sampling.
    pub draws: Vec<(f64, u64)>,
    /// The ledgers written, one per input, when [`MixOptions::ledgers`] named them.
    pub ledgers: Vec<LedgerFiles>,
    /// The shuffle spool written instead of an output ([`MixOptions::spool`]).
    pub spool: Option<SpoolInfo>,
    /// Each eligible document's bucket key, in order, collected in dry runs with
    /// [`BucketsMode::Count`].
    pub bucket_docs: Vec<BucketDoc>,
    /// The attribute file tagged as the unit was read ([`mix_unit_tagging`]).
    pub tagged: Option<WrittenShard>,
    /// Documents its gated taggers were not run on.
    pub not_evaluated: u64,
}

/// Document counts of one output shard (or a whole stream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MixCounts {
    /// Documents read.
    pub documents: u64,
    /// Their text bytes.
    pub text_bytes: u64,
    /// Document copies written (more than the documents kept when upsampled).
    pub kept: u64,
    /// Text bytes written (after span replacement, every copy).
    pub kept_text_bytes: u64,
    /// Whitespace tokens written (after span replacement, every copy).
    pub kept_tokens: u64,
    /// Documents the filter passed (span replacement runs on them).
    pub passed_filter: u64,
    /// Documents the filter passed whose text span replacement changed.
    pub edited: u64,
    /// Text bytes of the edited documents before span replacement.
    pub edited_text_bytes_in: u64,
    /// Text bytes of the edited documents after span replacement.
    pub edited_text_bytes_out: u64,
    /// Documents that passed the filter and `output.min_text_length` (what sampling draws
    /// from).
    pub eligible: u64,
    /// Their whitespace tokens (after span replacement).
    pub eligible_tokens: u64,
    /// Selected spans skipped because they start inside a span of another replacer and
    /// reach past it (dolma's rule: their tail stays in the text).
    pub overlapping_spans: u64,
    /// Selected spans that ended past the text, cut at its end (dolma 1.2.1's paragraph
    /// dedupe writes them for non-ASCII texts; its mixer reads them so).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clamped_spans: u64,
    /// Drops by deciding rule (`filter.include`, `filter.exclude[i] <expr>`,
    /// `output.min_text_length`, `sample`).
    pub dropped: BTreeMap<String, RuleCounts>,
    /// Edited documents by span replacer (`span_replacement[k] <selector>`, as the ledger's
    /// `rule` names them): a document several replacers changed counts under each.
    pub edited_by: BTreeMap<String, u64>,
    /// Documents whose attributes were looked at for `attributes_seen` (0 in counts of
    /// older versions, which did not count them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attributes_counted: u64,
    /// Per attribute the filter or span replacements read
    /// ([`CompiledStream::attribute_refs`]), the documents that had it (zeros included).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes_seen: BTreeMap<String, u64>,
    /// Per structured rule ([`CompiledStream::rules`]), the documents that had its
    /// attribute (zeros included): a rule whose attribute no document had is a no-op.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules_seen: BTreeMap<String, u64>,
    /// Quality buckets ([`BucketsMode::Apply`]): per group, per bucket, [document copies,
    /// tokens] written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub buckets: BTreeMap<String, Vec<[u64; 2]>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MixCounts {
    /// Adds another shard's counts.
    pub fn add(&mut self, o: &MixCounts) {
        self.documents += o.documents;
        self.text_bytes += o.text_bytes;
        self.kept += o.kept;
        self.kept_text_bytes += o.kept_text_bytes;
        self.kept_tokens += o.kept_tokens;
        self.passed_filter += o.passed_filter;
        self.edited += o.edited;
        self.edited_text_bytes_in += o.edited_text_bytes_in;
        self.edited_text_bytes_out += o.edited_text_bytes_out;
        self.eligible += o.eligible;
        self.eligible_tokens += o.eligible_tokens;
        self.overlapping_spans += o.overlapping_spans;
        self.clamped_spans += o.clamped_spans;
        for (k, v) in &o.dropped {
            let c = self.dropped.entry(k.clone()).or_default();
            c.documents_dropped += v.documents_dropped;
            c.text_bytes_dropped += v.text_bytes_dropped;
        }
        for (k, v) in &o.edited_by {
            *self.edited_by.entry(k.clone()).or_default() += v;
        }
        self.attributes_counted += o.attributes_counted;
        for (k, v) in &o.attributes_seen {
            *self.attributes_seen.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.rules_seen {
            *self.rules_seen.entry(k.clone()).or_default() += v;
        }
        for (g, v) in &o.buckets {
            let mine = self.buckets.entry(g.clone()).or_default();
            if mine.len() < v.len() {
                mine.resize(v.len(), [0, 0]);
            }
            for (m, x) in mine.iter_mut().zip(v) {
                m[0] += x[0];
                m[1] += x[1];
            }
        }
    }

    fn drop(&mut self, rule: &str, bytes: u64) {
        if let Some(c) = self.dropped.get_mut(rule) {
            c.documents_dropped += 1;
            c.text_bytes_dropped += bytes;
        } else {
            self.dropped.insert(
                rule.to_string(),
                RuleCounts {
                    documents_dropped: 1,
                    text_bytes_dropped: bytes,
                    ..Default::default()
                },
            );
        }
    }
}

/// The rule name of documents dropped by `output.min_text_length`.
pub const MIN_TEXT_LENGTH_RULE: &str = "output.min_text_length";
/// The rule name of documents dropped by sampling or a token budget.
pub const SAMPLE_RULE: &str = "sample";
pub use crate::filter::INCLUDE_RULE;

/// How an input file is named in `metadata.provenance`.
pub fn provenance_name(path: &str) -> &str {
    match layout::relative_to_documents(path) {
        Ok(rel) => rel,
        Err(_) => path.rsplit('/').next().unwrap_or(path),
    }
}

/// Rule names of a stream, as counts and ledgers name them.
struct Rules {
    include: String,
    exclude: Vec<String>,
    /// `span_replacement[k] <selector>`, by replacer.
    replacers: Vec<String>,
}

impl Rules {
    fn new(stream: &CompiledStream) -> Rules {
        Rules {
            include: INCLUDE_RULE.to_string(),
            exclude: stream.filter.exclude_rules(),
            replacers: stream
                .replacers
                .iter()
                .map(|r| format!("span_replacement[{}] {}", r.index, r.source()))
                .collect(),
        }
    }
}

/// Mixes one output shard with sampling and a ledger per input ([`MixOptions`]). With the
/// default options it mixes as dolma does (no sampling, no ledger), except that an output
/// that would hold no documents is not created (dolma writes an empty file). Nothing is
/// published if anything failed (a ledger is published when its input is done, before the
/// shard's output; a failed shard leaves no manifest, and its rerun rewrites them).
pub fn mix_unit_with(
    storage: &dyn Storage,
    unit: &OutputUnit,
    stream: &CompiledStream,
    opts: &MixOptions,
    progress: &dyn Progress,
) -> UnitReport {
    mix_unit_blocks(storage, unit, stream, opts, progress, Blocking::default())
}

/// [`mix_unit_with`], each input cut into blocks as `blocking` says (the bytes written do
/// not depend on it).
pub fn mix_unit_blocks(
    storage: &dyn Storage,
    unit: &OutputUnit,
    stream: &CompiledStream,
    opts: &MixOptions,
    progress: &dyn Progress,
    blocking: Blocking,
) -> UnitReport {
    mix_unit_inner(storage, unit, stream, opts, progress, blocking, None)
}

/// Tagging done by the mix as it reads ([`mix_unit_tagging`]).
#[derive(Clone, Copy)]
pub struct InlineTagging<'a> {
    /// The tag stage's per-document step.
    pub tagger: &'a DocTagger<'a>,
    /// The attribute file it writes: the tag stage's output for this input.
    pub output: &'a str,
}

/// [`mix_unit_with`] for a unit of one input that is tagged as it is read: each document is
/// tagged, its attribute line written to `tagging.output` (the bytes the tag stage writes)
/// and taken as the unit's first attribute line, before its other attribute files' lines. One
/// read of the input instead of two: what `loam run` does when no dedup stands between its
/// tag and mix stages. The report's [`UnitReport::tagged`] is the attribute file, and its
/// [`UnitReport::attributes`] lists it first, as a mix that read it would.
pub fn mix_unit_tagging(
    storage: &dyn Storage,
    unit: &OutputUnit,
    stream: &CompiledStream,
    opts: &MixOptions,
    progress: &dyn Progress,
    tagging: InlineTagging<'_>,
) -> UnitReport {
    mix_unit_inner(
        storage,
        unit,
        stream,
        opts,
        progress,
        Blocking::default(),
        Some(tagging),
    )
}

fn mix_unit_inner(
    storage: &dyn Storage,
    unit: &OutputUnit,
    stream: &CompiledStream,
    opts: &MixOptions,
    progress: &dyn Progress,
    blocking: Blocking,
    tagging: Option<InlineTagging<'_>>,
) -> UnitReport {
    let mut rep = UnitReport {
        scan: ScanReport {
            path: unit
                .inputs
                .first()
                .map(|i| i.documents.clone())
                .unwrap_or_default(),
            ..Default::default()
        },
        ..Default::default()
    };
    if !opts.ledgers.is_empty() && opts.ledgers.len() != unit.inputs.len() {
        rep.scan.record(
            format!(
                "{}: {} ledger path(s) for {} input(s)",
                unit.output,
                opts.ledgers.len(),
                unit.inputs.len()
            ),
            true,
        );
        return rep;
    }
    if tagging.is_some() && (unit.inputs.len() != 1 || opts.dry_run) {
        rep.scan.record(
            format!(
                "{}: tagging while mixing needs one input and a mix that writes",
                unit.output
            ),
            true,
        );
        return rep;
    }
    // Quality buckets read their group and score attributes by config: all values then.
    let wanted = match opts.buckets {
        Some(_) => None,
        None => stream.attribute_values(),
    };
    let ctx = Ctx {
        storage,
        unit,
        stream,
        wanted,
        rules: Rules::new(stream),
        opts,
        progress,
        blocking,
        tagging,
    };
    let mut writer: Option<Sink> = None;
    for (k, input) in unit.inputs.iter().enumerate() {
        if !mix_input(&ctx, k, input, &mut writer, &mut rep) {
            return rep;
        }
    }
    let counted = opts.counted.as_deref();
    if let Err(e) = crate::tokens::check_counted(counted, rep.counts.eligible, &unit.output) {
        rep.scan.record(e, true);
        return rep;
    }
    match writer.map(Sink::finish) {
        None => {}
        Some(Ok(Finished::Shard(s))) => rep.output = Some(s),
        Some(Ok(Finished::Spool(s))) => rep.spool = Some(s),
        Some(Err(e)) => rep.scan.record(e, true),
    }
    rep
}

/// Where a unit's kept documents go.
enum Sink {
    /// JSON lines, written as serialized on the workers.
    Lines(Box<JsonlWriter>),
    /// Another format (Parquet): each line is read back into a document.
    Documents(DocumentWriter),
    /// A shuffle spool: each copy under its key.
    Spool(Box<SpoolWriter>, Shuffle),
}

enum Finished {
    Shard(WrittenShard),
    Spool(SpoolInfo),
}

impl Sink {
    fn create(ctx: &Ctx<'_>) -> Result<Sink, String> {
        let path = ctx.unit.output.as_str();
        if let Some((_, shuffle)) = &ctx.opts.spool {
            return SpoolWriter::create(ctx.storage, path, *shuffle)
                .map(|w| Sink::Spool(Box::new(w), *shuffle))
                .map_err(|e| e.to_string());
        }
        match Format::from_path(path) {
            Ok(Format::Parquet) => DocumentWriter::create(ctx.storage, path)
                .map(Sink::Documents)
                .map_err(|e| e.to_string()),
            _ => JsonlWriter::create(ctx.storage, path)
                .map(|w| Sink::Lines(Box::new(w)))
                .map_err(|e| e.to_string()),
        }
    }

    /// Writes `copies` copies of a document, serialized as `line` (newline included).
    fn write(
        &mut self,
        ctx: &Ctx<'_>,
        line: &[u8],
        at: (u64, Option<&str>),
        copies: u32,
        tokens: u64,
    ) -> Result<(), String> {
        let json = line.strip_suffix(b"\n").unwrap_or(line);
        match self {
            Sink::Lines(w) => {
                for _ in 0..copies {
                    w.write_line(line).map_err(|e| e.to_string())?;
                }
            }
            Sink::Documents(w) => {
                let doc = std::str::from_utf8(json)
                    .map_err(|e| e.to_string())
                    .and_then(|t| Document::from_json(t).map_err(|e| e.to_string()))?;
                for _ in 0..copies {
                    w.write(&doc).map_err(|e| e.to_string())?;
                }
            }
            Sink::Spool(w, shuffle) => {
                let name = ctx.opts.spool.as_ref().map_or("", |s| s.0.as_str());
                let id = at.1.unwrap_or("");
                for copy in 0..copies {
                    let key = shuffle.key(name, id, at.0, copy);
                    w.push_line(key, tokens, id, json)
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Finished, String> {
        match self {
            Sink::Lines(w) => w.finish().map(Finished::Shard).map_err(|e| e.to_string()),
            Sink::Documents(w) => w.finish().map(Finished::Shard).map_err(|e| e.to_string()),
            Sink::Spool(w, _) => w.finish().map(Finished::Spool).map_err(|e| e.to_string()),
        }
    }
}

/// What every input of a unit shares.
struct Ctx<'a> {
    storage: &'a dyn Storage,
    unit: &'a OutputUnit,
    stream: &'a CompiledStream,
    /// [`CompiledStream::attribute_values`].
    wanted: Option<BTreeSet<String>>,
    rules: Rules,
    opts: &'a MixOptions,
    progress: &'a dyn Progress,
    blocking: Blocking,
    tagging: Option<InlineTagging<'a>>,
}

/// An input's ledger while it is being written.
struct OpenLedger {
    path: String,
    writer: LedgerWriter,
    index: IndexBuilder,
    rows: u32,
}

/// How an input is cut into blocks of lines: a block's documents are processed in
/// parallel, then written in order, while the next block is read and the previous one is
/// compressed. Output bytes, counts, sampling draws and ledger rows never depend on it (each
/// document's fate depends only on its own lines); memory is about three blocks per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocking {
    /// Most documents in a block.
    pub max_lines: usize,
    /// A block ends after the document line that brings its document lines (text of
    /// Parquet rows) to this many bytes.
    pub max_bytes: usize,
    /// False: the same blocks, processed one document after another on the calling thread.
    pub parallel: bool,
}

impl Default for Blocking {
    fn default() -> Self {
        Blocking {
            max_lines: 2048,
            max_bytes: 4 << 20,
            parallel: true,
        }
    }
}

/// A document as read: its line, the same line of each attribute file, or why not.
enum RawItem {
    /// A document (a JSON line not parsed yet, or a Parquet row) and each attribute file's
    /// line for it.
    Doc {
        line: u64,
        doc: RawDoc,
        attrs: Vec<AttrRead>,
    },
    /// A bad document line (reading goes on; the attribute files were advanced past it).
    Bad(ReadError),
    /// Reading cannot go on.
    Fatal(ReadError),
}

enum RawDoc {
    Json(String),
    Parsed(Document),
}

/// What became of one [`RawItem`], computed on any thread, committed in order. Not boxed:
/// a document's outcome is moved once, and a box would cost an allocation per document.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    /// A bad document line (not fatal).
    Bad(ReadError),
    /// A fatal read error.
    Fatal(ReadError),
    /// The attribute lines do not fit the document (fatal).
    Misaligned(String),
    /// A document that was processed (or failed to be).
    Doc {
        line: u64,
        text_bytes: u64,
        id: Option<String>,
        result: Result<Processed, DocError>,
        /// Its attribute line, when the mix tags ([`InlineTagging`]).
        tagged: Option<(Vec<u8>, Tagged)>,
    },
}

/// Reads an input's documents and attribute lines a block at a time.
struct BlockReader<'a> {
    docs: DocumentReader,
    aligned: AlignedAttributes,
    blocking: Blocking,
    /// The last document line seen.
    doc_lines: u64,
    done: bool,
    _ctx: std::marker::PhantomData<&'a ()>,
}

impl BlockReader<'_> {
    fn read_block(&mut self) -> Vec<RawItem> {
        let mut items: Vec<RawItem> = Vec::new();
        if self.done {
            return items;
        }
        let mut bytes = 0usize;
        // Documents that advance the attribute files (all but a fatal error).
        let mut advancing = 0usize;
        while items.len() < self.blocking.max_lines && bytes < self.blocking.max_bytes {
            let item = match &mut self.docs {
                DocumentReader::Jsonl(r) => match r.next_line() {
                    None => None,
                    Some(Ok((line, text))) => {
                        bytes += text.len();
                        Some(Ok((line, RawDoc::Json(text.to_string()))))
                    }
                    Some(Err(e)) => Some(Err(e)),
                },
                DocumentReader::Parquet(_) => match self.docs.next_document() {
                    None => None,
                    Some(Ok((line, d))) => {
                        bytes += d.text.len();
                        Some(Ok((line, RawDoc::Parsed(d))))
                    }
                    Some(Err(e)) => Some(Err(e)),
                },
            };
            match item {
                None => {
                    self.done = true;
                    break;
                }
                Some(Ok((line, doc))) => {
                    self.doc_lines = line;
                    advancing += 1;
                    items.push(RawItem::Doc {
                        line,
                        doc,
                        attrs: Vec::new(),
                    });
                }
                Some(Err(e)) if e.is_fatal() => {
                    self.done = true;
                    items.push(RawItem::Fatal(e));
                    break;
                }
                Some(Err(e)) => {
                    // As before: a bad line with a number skips that line of every
                    // attribute file, so later lines are still checked.
                    match e.line() {
                        Some(line) => {
                            self.doc_lines = line;
                            advancing += 1;
                            items.push(RawItem::Bad(e));
                        }
                        None => items.push(RawItem::Fatal(e)),
                    }
                }
            }
        }
        if advancing > 0 && !self.aligned.paths().is_empty() {
            let per_file = self.aligned.read_lines(advancing, self.blocking.parallel);
            let mut files: Vec<std::vec::IntoIter<AttrRead>> =
                per_file.into_iter().map(Vec::into_iter).collect();
            for item in items.iter_mut() {
                match item {
                    RawItem::Doc { attrs, .. } => {
                        attrs.extend(files.iter_mut().filter_map(Iterator::next));
                    }
                    RawItem::Bad(_) => {
                        for f in files.iter_mut() {
                            f.next();
                        }
                    }
                    RawItem::Fatal(_) => {}
                }
            }
        }
        items
    }
}

/// Processes one input (the unit's `k`th) into the shard's writer. Returns false when the
/// shard failed.
fn mix_input(
    ctx: &Ctx<'_>,
    k: usize,
    input: &InputFiles,
    writer: &mut Option<Sink>,
    rep: &mut UnitReport,
) -> bool {
    let storage = ctx.storage;
    let doc_path = input.documents.as_str();
    let aligned = match AlignedAttributes::open(storage, doc_path, &input.attributes) {
        Ok(x) => x,
        Err(e) => {
            rep.scan.record(e, true);
            return false;
        }
    };
    let docs = match DocumentReader::open(storage, doc_path) {
        Ok(r) => r,
        Err(e) => {
            rep.scan.record(e.to_string(), true);
            return false;
        }
    };
    let mut tag_writer = match ctx.tagging {
        None => None,
        Some(t) => match JsonlWriter::with_gzip_level(
            storage,
            t.output,
            loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL,
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        },
    };
    let mut ledger = match ctx.opts.ledgers.get(k).filter(|_| !ctx.opts.dry_run) {
        None => None,
        Some(path) => match LedgerWriter::create(storage, path) {
            Ok(w) => Some(OpenLedger {
                path: path.clone(),
                writer: w,
                index: IndexBuilder::default(),
                rows: 0,
            }),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        },
    };
    let mut reader = BlockReader {
        docs,
        aligned,
        blocking: ctx.blocking,
        doc_lines: 0,
        done: false,
        _ctx: std::marker::PhantomData,
    };
    let ictx = InputCtx {
        ctx,
        input,
        attr_paths: reader.aligned.paths(),
        provenance: provenance_name(doc_path),
        want_id: ledger.is_some() || ctx.opts.spool.is_some(),
    };
    // A three-stage pipeline over blocks: block b+1 is read while block b is processed (its
    // documents in parallel) and block b-1 is written; each step ends when all three do.
    let mut raw = reader.read_block();
    let mut pending: Option<Vec<Outcome>> = None;
    loop {
        let cur = std::mem::take(&mut raw);
        let done = pending.take();
        if cur.is_empty() && done.is_none() {
            break;
        }
        let commit = || match done {
            Some(b) => commit_block(&ictx, b, writer, &mut tag_writer, &mut ledger, rep),
            None => true,
        };
        let (ok, (next, processed)) = if ctx.blocking.parallel {
            rayon::join(commit, || {
                rayon::join(|| reader.read_block(), || process_block(&ictx, cur))
            })
        } else {
            let ok = commit();
            (ok, (reader.read_block(), process_block(&ictx, cur)))
        };
        if !ok {
            return false;
        }
        raw = next;
        if !processed.is_empty() {
            pending = Some(processed);
        }
    }
    let BlockReader {
        docs,
        aligned,
        doc_lines,
        ..
    } = reader;
    let digest = match docs.finish() {
        Ok(d) => d,
        Err(e) => {
            rep.scan.record(e.to_string(), true);
            return false;
        }
    };
    rep.inputs.push(AttributeInput {
        path: doc_path.to_string(),
        lines: doc_lines,
        digest,
    });
    if let Some(w) = tag_writer.filter(|_| !rep.scan.failed()) {
        // Published as the tag stage publishes it: whole, once every line is in.
        match w.finish() {
            Ok(s) => {
                rep.attributes.push(AttributeInput {
                    path: s.path.clone(),
                    lines: s.records,
                    digest: s.digest.clone(),
                });
                rep.tagged = Some(s);
            }
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        }
    }
    match aligned.finish(doc_lines) {
        Ok(a) => rep.attributes.extend(a),
        Err(e) => {
            rep.scan.record(e, true);
            return false;
        }
    }
    if rep.scan.failed() {
        return false;
    }
    if let Some(l) = ledger {
        let ledger = match l.writer.finish() {
            Ok(s) => s,
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        };
        match l.index.write(storage, &index_path(&l.path)) {
            Ok(index) => rep.ledgers.push(LedgerFiles { ledger, index }),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        }
    }
    true
}

/// What the documents of one input share.
struct InputCtx<'a> {
    ctx: &'a Ctx<'a>,
    input: &'a InputFiles,
    attr_paths: Vec<String>,
    provenance: &'a str,
    want_id: bool,
}

/// Each document of a block, parsed, merged with its attributes and decided; in order.
fn process_block(ic: &InputCtx<'_>, block: Vec<RawItem>) -> Vec<Outcome> {
    if ic.ctx.blocking.parallel && block.len() > 1 {
        use rayon::prelude::*;
        block
            .into_par_iter()
            .with_max_len(16)
            .map_init(
                || (Vec::new(), Signals::default()),
                |(edits, signals), item| process_item(ic, item, edits, signals),
            )
            .collect()
    } else {
        let (mut edits, mut signals) = (Vec::new(), Signals::default());
        block
            .into_iter()
            .map(|item| process_item(ic, item, &mut edits, &mut signals))
            .collect()
    }
}

fn process_item(
    ic: &InputCtx<'_>,
    item: RawItem,
    edits: &mut Vec<Edit>,
    signals: &mut Signals,
) -> Outcome {
    let doc_path = ic.input.documents.as_str();
    let (line, doc, attrs) = match item {
        RawItem::Bad(e) => return Outcome::Bad(e),
        RawItem::Fatal(e) => return Outcome::Fatal(e),
        RawItem::Doc { line, doc, attrs } => (line, doc, attrs),
    };
    let doc = match doc {
        RawDoc::Parsed(d) => d,
        RawDoc::Json(text) => match Document::from_json(&text) {
            Ok(d) => d,
            Err(error) => {
                return Outcome::Bad(ReadError::Document {
                    path: doc_path.to_string(),
                    line,
                    error,
                })
            }
        },
    };
    let text_bytes = doc.text.len() as u64;
    let id = ic.want_id.then(|| doc.id.clone());
    let mut maps: Vec<Map<String, Value>> = Vec::with_capacity(attrs.len() + 1);
    let wanted = ic.ctx.wanted.as_ref();
    // Tagged here: its line is the first attribute line, read back as the mix reads a file's.
    let tagged = match ic.ctx.tagging {
        None => None,
        Some(t) => {
            let mut buf = Vec::with_capacity(512);
            match t.tagger.tag_line(&doc, signals, &mut buf) {
                Ok(tg) => {
                    let json = buf.strip_suffix(b"\n").unwrap_or(&buf);
                    let text = String::from_utf8_lossy(json).into_owned();
                    let read = AttrRead::Line(line, text);
                    if let Err(e) =
                        check_line(doc_path, t.output, &doc.id, line, read, wanted, &mut maps)
                    {
                        return Outcome::Misaligned(e);
                    }
                    Some((buf, tg))
                }
                Err(e) => {
                    return Outcome::Doc {
                        line,
                        text_bytes,
                        id,
                        result: Err(DocError::Plain(e.to_string())),
                        tagged: None,
                    }
                }
            }
        }
    };
    // Attribute lines first: their problems name both files.
    for (read, apath) in attrs.into_iter().zip(&ic.attr_paths) {
        if let Err(e) = check_line(doc_path, apath, &doc.id, line, read, wanted, &mut maps) {
            return Outcome::Misaligned(e);
        }
    }
    let result = process_document(doc, maps, ic.ctx, edits, ic.provenance, line);
    Outcome::Doc {
        line,
        text_bytes,
        id,
        result,
        tagged,
    }
}

/// Records a block's outcomes in order: problems, counts, output lines, ledger rows.
/// Returns false when the shard failed.
fn commit_block(
    ic: &InputCtx<'_>,
    block: Vec<Outcome>,
    writer: &mut Option<Sink>,
    tag_writer: &mut Option<JsonlWriter>,
    ledger: &mut Option<OpenLedger>,
    rep: &mut UnitReport,
) -> bool {
    let ctx = ic.ctx;
    let doc_path = ic.input.documents.as_str();
    for outcome in block {
        let (line, text_bytes, id, result, tagged) = match outcome {
            Outcome::Bad(e) => {
                rep.scan.record(e.to_string(), false);
                continue;
            }
            Outcome::Fatal(e) => {
                rep.scan.record(e.to_string(), true);
                return false;
            }
            Outcome::Misaligned(e) => {
                rep.scan.record(e, true);
                return false;
            }
            Outcome::Doc {
                line,
                text_bytes,
                id,
                result,
                tagged,
            } => (line, text_bytes, id, result, tagged),
        };
        if rep.scan.failed() {
            // Bad document lines before: keep checking alignment, write nothing.
            continue;
        }
        if let (Some(w), Some((bytes, t))) = (tag_writer.as_mut(), &tagged) {
            if let Err(e) = w.write_line(bytes) {
                rep.scan.record(e.to_string(), true);
                return false;
            }
            rep.not_evaluated += u64::from(t.not_evaluated);
        }
        ctx.progress.advance(1, text_bytes);
        let p = match result {
            Ok(p) => p,
            Err(DocError::Plain(e)) => {
                rep.scan.record(format!("{doc_path}:{line}: {e}"), true);
                return false;
            }
            Err(DocError::Span(e, merged_attrs)) => {
                let place = locate(ctx.storage, ic.input, line, &e, merged_attrs.as_ref());
                rep.scan
                    .record(format!("{doc_path}:{line}: {e}{place}"), true);
                return false;
            }
        };
        let fate = p.count(ctx, text_bytes, rep);
        if let Some(bytes) = &fate.write {
            if writer.is_none() {
                match Sink::create(ctx) {
                    Ok(w) => *writer = Some(w),
                    Err(e) => {
                        rep.scan.record(e, true);
                        return false;
                    }
                }
            }
            if let Some(w) = writer.as_mut() {
                let at = (line, id.as_deref());
                if let Err(e) = w.write(ctx, bytes, at, fate.copies, fate.tokens) {
                    rep.scan.record(e, true);
                    return false;
                }
            }
        }
        if let (Some(l), Some(id)) = (ledger.as_mut(), id) {
            l.index.push(&id, l.rows);
            l.rows = l.rows.saturating_add(1);
            let row = LedgerRow {
                id,
                file: doc_path.to_string(),
                line,
                decision: fate.decision,
                rule: fate.rule,
                value: fate.value,
                threshold: fate.threshold,
                copies: fate.copies,
            };
            if let Err(e) = l.writer.push(row) {
                rep.scan.record(e.to_string(), true);
                return false;
            }
        }
    }
    true
}

enum DocError {
    Plain(String),
    Span(crate::replace::SpanError, Option<Value>),
}

/// What happened to one document: its ledger row's decision, and what to write.
struct Fate {
    /// The document as a JSON line (newline included) to write `copies` times (`None` when
    /// dropped, or in a dry run).
    write: Option<Vec<u8>>,
    copies: u32,
    /// Tokens of one copy (set when counted, [`Processed::count`]).
    tokens: u64,
    decision: LedgerDecision,
    rule: Option<String>,
    value: Option<f64>,
    threshold: Option<f64>,
}

impl Fate {
    fn dropped(decision: LedgerDecision, rule: &str) -> Fate {
        Fate {
            write: None,
            copies: 0,
            tokens: 0,
            decision,
            rule: Some(rule.to_string()),
            value: None,
            threshold: None,
        }
    }
}

/// One document's way through the rules, as far as it could be decided on its own: what
/// the unit's counts get from it is added in order ([`Processed::count`]), because a budget's
/// token counts are taken by the document's rank among the unit's eligible documents.
struct Processed {
    fate: Fate,
    /// The rule that dropped it before sampling (filter or `min_text_length`).
    dropped: bool,
    passed_filter: bool,
    overlapping: u64,
    /// Spans that ended past the text, cut at its end.
    clamped: u64,
    /// Text bytes before and after span replacement, and the replacers that changed it.
    edited: Option<(u64, u64, Vec<usize>)>,
    /// For a document that passed the filter and `min_text_length`.
    eligible: Option<Eligible>,
    /// Which of the stream's `attribute_refs` the document had.
    present: Vec<bool>,
    /// Which of the stream's structured rules' attributes the document had.
    rules_present: Vec<bool>,
}

struct Eligible {
    /// Tokens, unless they are to be taken from the counting pass.
    tokens: Option<u64>,
    /// Sampling draw and copies, when the stream samples.
    draw: f64,
    copies: u32,
    kept_bytes: u64,
    /// Its bucket key, in a bucket counting pass (tokens filled in by [`Processed::count`]).
    bucket_doc: Option<BucketDoc>,
    /// Its group and bucket, in a bucket mix pass.
    placed: Option<(String, usize)>,
}

impl Processed {
    /// Adds the document to the unit's counts (and draws) and completes its fate.
    fn count(self, ctx: &Ctx<'_>, text_bytes: u64, rep: &mut UnitReport) -> Fate {
        let Processed {
            mut fate,
            dropped,
            passed_filter,
            overlapping,
            clamped,
            edited,
            eligible,
            present,
            rules_present,
        } = self;
        let c = &mut rep.counts;
        c.documents += 1;
        c.attributes_counted += 1;
        for (a, had) in ctx.stream.attribute_refs.iter().zip(present) {
            *c.attributes_seen.entry(a.clone()).or_default() += u64::from(had);
        }
        for (r, had) in ctx.stream.rules.iter().zip(rules_present) {
            if let Some(n) = c.rules_seen.get_mut(&r.rule) {
                *n += u64::from(had);
            } else {
                c.rules_seen.insert(r.rule.clone(), u64::from(had));
            }
        }
        c.text_bytes += text_bytes;
        if passed_filter {
            c.passed_filter += 1;
        }
        c.overlapping_spans += overlapping;
        c.clamped_spans += clamped;
        if let Some((bytes_in, bytes_out, replacers)) = edited {
            c.edited += 1;
            c.edited_text_bytes_in += bytes_in;
            c.edited_text_bytes_out += bytes_out;
            for k in replacers {
                if let Some(n) = ctx.rules.replacers.get(k) {
                    *c.edited_by.entry(n.clone()).or_default() += 1;
                }
            }
        }
        if dropped {
            if let Some(rule) = &fate.rule {
                c.drop(rule, text_bytes);
            }
            return fate;
        }
        let Some(e) = eligible else {
            return fate;
        };
        let tokens = match e.tokens {
            Some(t) => t,
            // From the counting pass, by rank. A unit with more eligible documents than
            // counts fails (`check_counted`) and publishes nothing, counts included.
            None => ctx
                .opts
                .counted
                .as_deref()
                .and_then(|c| {
                    usize::try_from(rep.counts.eligible)
                        .ok()
                        .and_then(|i| c.get(i))
                })
                .map_or(0, |&t| u64::from(t)),
        };
        let c = &mut rep.counts;
        c.eligible += 1;
        c.eligible_tokens += tokens;
        if ctx.opts.dry_run && ctx.opts.sampling.is_some() {
            rep.draws.push((e.draw, tokens));
        }
        if let Some(mut d) = e.bucket_doc {
            d.tokens = tokens;
            rep.bucket_docs.push(d);
        }
        let c = &mut rep.counts;
        if let Some((g, k)) = e.placed {
            let v = c.buckets.entry(g).or_default();
            if v.len() <= k {
                v.resize(k + 1, [0, 0]);
            }
            v[k][0] += u64::from(e.copies);
            v[k][1] += tokens * u64::from(e.copies);
        }
        if e.copies == 0 {
            c.drop(fate.rule.as_deref().unwrap_or(SAMPLE_RULE), text_bytes);
            return fate;
        }
        c.kept += u64::from(e.copies);
        c.kept_text_bytes += e.kept_bytes * u64::from(e.copies);
        c.kept_tokens += tokens * u64::from(e.copies);
        fate.copies = e.copies;
        fate.tokens = tokens;
        fate
    }
}

/// Steps 1–5 of the module doc for one document, with sampling after step 4; what it adds
/// to the counts is returned, not added (see [`Processed`]).
fn process_document(
    doc: Document,
    attrs: Vec<Map<String, Value>>,
    ctx: &Ctx<'_>,
    edits: &mut Vec<Edit>,
    provenance: &str,
    line: u64,
) -> Result<Processed, DocError> {
    let (stream, rules) = (ctx.stream, &ctx.rules);
    let text_bytes = doc.text.len() as u64;
    let mut p = Processed {
        fate: Fate::dropped(LedgerDecision::Dropped, ""),
        dropped: true,
        passed_filter: false,
        overlapping: 0,
        clamped: 0,
        edited: None,
        eligible: None,
        present: Vec::new(),
        rules_present: Vec::new(),
    };
    let Document { id, text, fields } = doc;
    let mut map = fields;
    map.insert("id".into(), Value::String(id));
    map.insert("text".into(), Value::String(text));
    // `AsRead`: the document's own `attributes` is set aside, and put back before writing.
    let mut own_attributes: Option<Option<Value>> = None;
    if stream.shape == Shape::AsRead {
        own_attributes = Some(map.remove("attributes"));
        let mut parts = attrs.into_iter();
        let mut merged = parts.next().unwrap_or_default();
        for a in parts {
            merged.extend(a);
        }
        map.insert("attributes".into(), Value::Object(merged));
    } else if stream.has_attributes {
        match map.get_mut("attributes") {
            Some(Value::Object(existing)) => {
                for a in attrs {
                    existing.extend(a);
                }
            }
            _ => {
                let mut parts = attrs.into_iter();
                let mut merged = parts.next().unwrap_or_default();
                for a in parts {
                    merged.extend(a);
                }
                map.insert("attributes".into(), Value::Object(merged));
            }
        }
    }
    let attributes = map.get("attributes").and_then(Value::as_object);
    // Quality buckets: the group and score, read before the attributes are set aside.
    let scored = ctx
        .opts
        .buckets
        .as_ref()
        .map(|b| b.config().extract(&map, attributes));
    p.present = stream
        .attribute_refs
        .iter()
        .map(|a| attributes.is_some_and(|m| m.contains_key(a)))
        .collect();
    if !stream.rules.is_empty() {
        let empty = Map::new();
        let attributes = attributes.unwrap_or(&empty);
        p.rules_present = stream
            .rules
            .iter()
            .map(|r| attributes.contains_key(&r.attribute))
            .collect();
        if let Some(d) = first_match(&stream.rules, attributes) {
            let dup =
                d.rule.op == Op::Exists && stream.duplicate_attributes.contains(&d.rule.attribute);
            let decision = match dup {
                true => LedgerDecision::Duplicate,
                false => LedgerDecision::Dropped,
            };
            let mut f = Fate::dropped(decision, &d.rule.rule);
            f.value = d.value;
            f.threshold = d.rule.value;
            p.fate = f;
            return Ok(p);
        }
    }
    let mut value = Value::Object(map);
    let mut view = DocView::with_needs(&value, stream.jq_needs.as_ref());
    match stream.filter.decide(&mut view).map_err(DocError::Plain)? {
        Decision::Keep => {}
        Decision::NoInclude => {
            p.fate = Fate::dropped(LedgerDecision::Dropped, &rules.include);
            return Ok(p);
        }
        Decision::Excluded(i) => {
            p.fate = Fate::dropped(LedgerDecision::Dropped, &rules.exclude[i]);
            return Ok(p);
        }
    }
    p.passed_filter = true;
    let mut edited_by: Option<String> = None;
    if !stream.replacers.is_empty() {
        edits.clear();
        let json: &Value = view.json;
        let text = json.get("text").and_then(Value::as_str).unwrap_or("");
        let mut n_chars: Option<usize> = None;
        let mut chars = || *n_chars.get_or_insert_with(|| text.chars().count());
        for r in &stream.replacers {
            match r.collect_with(&mut view, &mut chars, edits, ctx.opts.dolma_bugs) {
                Ok(clamped) => p.clamped += clamped,
                Err(e) => return Err(DocError::Span(e, value.get("attributes").cloned())),
            }
        }
        if !edits.is_empty() {
            let applied = match edits.iter().any(|e| e.start == e.end) {
                true => apply_dolma(text, edits),
                false => apply(text, edits),
            };
            p.overlapping = applied.overlapping;
            let new_text = applied.text;
            drop(view);
            if let Some(t) = value.get_mut("text") {
                if t.as_str() != Some(new_text.as_str()) {
                    p.edited = Some((text_bytes, new_text.len() as u64, applied.replacers.clone()));
                    let names: Vec<&str> = applied
                        .replacers
                        .iter()
                        .filter_map(|&k| rules.replacers.get(k).map(String::as_str))
                        .collect();
                    edited_by = Some(names.join("; "));
                }
                *t = Value::String(new_text);
            }
        }
    }
    let Value::Object(map) = &mut value else {
        // Unreachable: the document was made an object above.
        p.fate = Fate::dropped(LedgerDecision::Dropped, "not an object");
        return Ok(p);
    };
    for f in &stream.discard_fields {
        map.remove(f);
    }
    if let Some(own) = own_attributes {
        match own {
            Some(a) => map.insert("attributes".into(), a),
            None => map.remove("attributes"),
        };
    }
    let text = map.get("text").and_then(Value::as_str).unwrap_or("");
    let kept_bytes = text.len() as u64;
    let trimmed = text.trim().len() as u64;
    if trimmed < stream.min_text_length {
        let mut f = Fate::dropped(LedgerDecision::Dropped, MIN_TEXT_LENGTH_RULE);
        f.value = Some(trimmed as f64);
        f.threshold = Some(stream.min_text_length as f64);
        p.fate = f;
        return Ok(p);
    }
    let scored = match scored {
        Some(None) => {
            p.fate = Fate::dropped(LedgerDecision::Dropped, MISSING_SCORE_RULE);
            return Ok(p);
        }
        Some(Some(x)) => Some(x),
        None => None,
    };
    p.dropped = false;
    // Tokens: counted here, or taken from the counting pass in order (`Processed::count`).
    let tokens = match ctx.opts.counted {
        Some(_) => None,
        None => Some(stream.tokenizer.count(text)),
    };
    let id = map.get("id").and_then(Value::as_str).unwrap_or("");
    let draw_with = |s: &Sampling| match ctx.opts.draw_key {
        DrawKey::ProvenanceAndId => s.copies(&sampling_key(provenance, id), line),
        DrawKey::Id => s.copies(id, line),
    };
    let mut bucket_doc = None;
    let mut placed = None;
    let (copies, draw) = match (&ctx.opts.buckets, scored) {
        (Some(BucketsMode::Apply(plan)), Some((group, score))) => {
            let pl = plan
                .place(&group, score, id, provenance, line)
                .map_err(|e| DocError::Plain(e.to_string()))?;
            let (copies, draw) = draw_with(&pl.sampling);
            placed = Some((group, pl.bucket, pl.rate, pl.sampling.frac, score));
            (copies, draw)
        }
        (_, scored) => {
            let (copies, draw) = ctx.opts.sampling.as_ref().map_or((1, 0.0), draw_with);
            if let Some((group, score)) = scored {
                bucket_doc = Some(BucketDoc {
                    group,
                    score,
                    id: id.to_string(),
                    file: provenance.to_string(),
                    line,
                    tokens: 0,
                    draw,
                });
            }
            (copies, draw)
        }
    };
    p.eligible = Some(Eligible {
        tokens,
        draw,
        copies,
        kept_bytes,
        bucket_doc,
        placed: placed.as_ref().map(|p| (p.0.clone(), p.1)),
    });
    if copies == 0 {
        let mut f = Fate::dropped(LedgerDecision::SampledOut, SAMPLE_RULE);
        f.value = Some(draw);
        f.threshold = ctx.opts.sampling.map(|s| s.frac);
        if let Some((group, k, rate, frac, score)) = placed {
            // A bucket's rate decided: 0 drops it (value: its score), a fraction draws.
            f.rule = Some(bucket_rule(&group, k));
            (f.decision, f.value, f.threshold) = match rate == 0.0 {
                true => (LedgerDecision::Dropped, Some(score), None),
                false => (LedgerDecision::SampledOut, Some(draw), Some(frac)),
            };
        }
        p.fate = f;
        return Ok(p);
    }
    let (decision, rule) = match edited_by {
        Some(r) => (LedgerDecision::Edited, Some(r)),
        None => (LedgerDecision::Kept, None),
    };
    p.fate = Fate {
        write: None,
        copies,
        tokens: 0,
        decision,
        rule,
        value: None,
        threshold: None,
    };
    if ctx.opts.dry_run {
        return Ok(p);
    }
    if stream.shape == Shape::Dolma {
        stamp_provenance(map, provenance, line);
    }
    if let (Some(BucketsMode::Apply(plan)), Some((group, k, ..))) = (&ctx.opts.buckets, &placed) {
        if let Some(field) = &plan.config.field {
            loam_pipeline::config::set_dotted(map, field, Value::String(format!("{group}/{k}")));
        }
    }
    // Serialized here, on the worker, exactly as `JsonlWriter::write` would.
    let mut bytes = Vec::with_capacity(kept_bytes as usize + 512);
    serde_json::to_writer(&mut bytes, &value).map_err(|e| DocError::Plain(e.to_string()))?;
    bytes.push(b'\n');
    p.fate.write = Some(bytes);
    Ok(p)
}

/// Sets `metadata.provenance` to `<file>:<line>` (`metadata` becomes an object first).
fn stamp_provenance(map: &mut Map<String, Value>, provenance: &str, line: u64) {
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(m) = meta {
        m.insert(
            "provenance".into(),
            Value::String(format!("{provenance}:{line}")),
        );
    }
}

/// Error path only: names the attribute file (and line) that holds the spans a replacer
/// choked on, by finding the attribute key whose value holds them and reading that line of
/// each attribute file again.
fn locate(
    storage: &dyn Storage,
    input: &InputFiles,
    line: u64,
    e: &crate::replace::SpanError,
    attributes: Option<&Value>,
) -> String {
    let (Some(sel), Some(Value::Object(attrs))) = (&e.selected, attributes) else {
        return String::new();
    };
    fn contains(v: &Value, target: &Value, depth: usize) -> bool {
        v == target
            || (depth > 0
                && match v {
                    Value::Object(m) => m.values().any(|x| contains(x, target, depth - 1)),
                    _ => false,
                })
    }
    let Some(key) = attrs
        .iter()
        .find(|(_, v)| contains(v, sel, 3))
        .map(|(k, _)| k.clone())
    else {
        return String::new();
    };
    let mut found = None;
    for a in &input.attributes {
        let Ok(mut r) = LineReader::open(storage, a) else {
            continue;
        };
        while let Some(Ok((l, text))) = r.next_line() {
            if l == line {
                if let Ok(p) = serde_json::from_str::<Value>(text) {
                    if p.get("attributes").and_then(|x| x.get(&key)).is_some() {
                        found = Some(a.clone());
                    }
                }
                break;
            }
        }
    }
    match found {
        Some(a) => format!(" (attribute `{key}` at {a}:{line})"),
        None => format!(" (attribute `{key}` of the document itself)"),
    }
}

#[cfg(test)]
mod attribute_values_tests {
    use super::*;
    use crate::config::{FilterConfig, FilterSyntax, SpanReplacementConfig};
    use crate::rules::{Op, Rule};

    fn stream(syntax: FilterSyntax, exclude: &str, span: &str) -> CompiledStream {
        let filter = FilterConfig {
            include: Vec::new(),
            exclude: vec![exclude.to_string()],
            syntax,
        };
        let spans = [SpanReplacementConfig {
            span: span.to_string(),
            min_score: None,
            max_score: None,
            replacement: String::new(),
            syntax: FilterSyntax::Jsonpath,
        }];
        let rules = [Rule {
            rule: "r".into(),
            attribute: "x".into(),
            op: Op::Exists,
            value: None,
        }];
        let tok = crate::tokens::Tokenizer::default();
        CompiledStream::as_read(&rules, &[], Some(&filter), &spans, tok, "mix").unwrap()
    }

    #[test]
    fn only_what_rules_programs_and_selectors_read() {
        let s = stream(
            FilterSyntax::Jq,
            ".attributes.a[0][2] > 1",
            "$.attributes.b",
        );
        let want: BTreeSet<String> = ["a", "b", "x"].map(String::from).into();
        assert_eq!(s.attribute_values(), Some(want.clone()));
        let s = stream(
            FilterSyntax::Jsonpath,
            "$.attributes[?(@.a[0][2] > 1)]",
            "$.attributes.b",
        );
        assert_eq!(s.attribute_values(), Some(want));
        for s in [
            stream(FilterSyntax::Jsonpath, "$.attributes.*", "$.attributes.b"),
            stream(FilterSyntax::Jq, "length > 1", "$.attributes.b"),
            stream(FilterSyntax::Jq, ".attributes.a", "$.attributes[?(@.b)]"),
        ] {
            assert_eq!(s.attribute_values(), None);
        }
        // dolma's shape writes the attributes out unless they are discarded.
        let mut s = stream(FilterSyntax::Jq, ".attributes.a", "$.attributes.b");
        s.shape = Shape::Dolma;
        assert_eq!(s.attribute_values(), None);
        s.discard_fields = vec!["attributes".into()];
        assert!(s.attribute_values().is_some());
    }
}
