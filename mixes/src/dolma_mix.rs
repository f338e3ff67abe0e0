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

use crate::align::AlignedAttributes;
use crate::config::{CompressionConfig, MixerConfig, StreamConfig};
use crate::filter::{Decision, DocFilter, DocView, ExprError};
use crate::mix::AttributeInput;
use crate::replace::{apply, Edit, SpanReplacer};
use loam_manifests::RuleCounts;
use loam_pipeline::config::{index, join};
use loam_pipeline::executor::Progress;
use loam_pipeline::format::{Compression, Format};
use loam_pipeline::layout;
use loam_pipeline::reader::{DocumentReader, LineReader};
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use loam_pipeline::Document;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
                .map_err(|e| PlanError::Invalid {
                    field: field.clone(),
                    message: e.to_string(),
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
}

impl CompiledStream {
    /// Compiles a stream whose field path is `at` (`streams[0]`); every bad expression is
    /// reported.
    pub fn new(s: &StreamConfig, at: &str) -> Result<CompiledStream, Vec<ExprError>> {
        let mut errs = Vec::new();
        let filter = DocFilter::new(s.filter.as_ref(), &join(at, "filter"))
            .map_err(|e| errs.extend(e))
            .ok();
        let mut replacers = Vec::new();
        for (k, r) in s.span_replacement.iter().enumerate() {
            match SpanReplacer::new(k, r, &index(&join(at, "span_replacement"), k)) {
                Ok(r) => replacers.push(r),
                Err(e) => errs.extend(e),
            }
        }
        match filter {
            Some(filter) if errs.is_empty() => Ok(CompiledStream {
                filter,
                replacers,
                discard_fields: s.output.discard_fields.clone(),
                min_text_length: s.output.min_text_length,
                has_attributes: !s.attributes.is_empty(),
            }),
            _ => Err(errs),
        }
    }
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
}

/// Document counts of one output shard (or a whole stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MixCounts {
    /// Documents read.
    pub documents: u64,
    /// Their text bytes.
    pub text_bytes: u64,
    /// Documents written.
    pub kept: u64,
    /// Text bytes written (after span replacement).
    pub kept_text_bytes: u64,
    /// Written documents whose text span replacement changed.
    pub edited: u64,
    /// Selected spans skipped because they start inside a span of another replacer and
    /// reach past it (dolma's rule: their tail stays in the text).
    pub overlapping_spans: u64,
    /// Drops by deciding rule (`filter.include`, `filter.exclude[i] <expr>`,
    /// `output.min_text_length`).
    pub dropped: BTreeMap<String, RuleCounts>,
}

impl MixCounts {
    /// Adds another shard's counts.
    pub fn add(&mut self, o: &MixCounts) {
        self.documents += o.documents;
        self.text_bytes += o.text_bytes;
        self.kept += o.kept;
        self.kept_text_bytes += o.kept_text_bytes;
        self.edited += o.edited;
        self.overlapping_spans += o.overlapping_spans;
        for (k, v) in &o.dropped {
            let c = self.dropped.entry(k.clone()).or_default();
            c.documents_dropped += v.documents_dropped;
            c.text_bytes_dropped += v.text_bytes_dropped;
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
                },
            );
        }
    }
}

/// How an input file is named in `metadata.provenance`.
pub fn provenance_name(path: &str) -> &str {
    match layout::relative_to_documents(path) {
        Ok(rel) => rel,
        Err(_) => path.rsplit('/').next().unwrap_or(path),
    }
}

struct Rules {
    include: String,
    exclude: Vec<String>,
}

/// Mixes one output shard. Nothing is published if anything failed; an output that would
/// hold no documents is not created (dolma writes an empty file).
pub fn mix_unit(
    storage: &dyn Storage,
    unit: &OutputUnit,
    stream: &CompiledStream,
    progress: &dyn Progress,
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
    let rules = Rules {
        include: "filter.include".to_string(),
        exclude: (0..)
            .map_while(|i| match &stream.filter {
                DocFilter::AllowAll => None,
                DocFilter::JsonPath { exclude, .. } => exclude.get(i).map(|p| p.source()),
                DocFilter::Jq { exclude, .. } => exclude.get(i).map(|p| p.source()),
            })
            .enumerate()
            .map(|(i, s)| format!("filter.exclude[{i}] {s}"))
            .collect(),
    };
    let mut writer: Option<JsonlWriter> = None;
    for input in &unit.inputs {
        if !mix_input(
            storage,
            unit,
            input,
            stream,
            &rules,
            &mut writer,
            &mut rep,
            progress,
        ) {
            return rep;
        }
    }
    if let Some(w) = writer {
        match w.finish() {
            Ok(s) => rep.output = Some(s),
            Err(e) => rep.scan.record(e.to_string(), true),
        }
    }
    rep
}

/// Processes one input into the shard's writer. Returns false when the shard failed.
#[allow(clippy::too_many_arguments)]
fn mix_input(
    storage: &dyn Storage,
    unit: &OutputUnit,
    input: &InputFiles,
    stream: &CompiledStream,
    rules: &Rules,
    writer: &mut Option<JsonlWriter>,
    rep: &mut UnitReport,
    progress: &dyn Progress,
) -> bool {
    let doc_path = input.documents.as_str();
    let mut aligned = match AlignedAttributes::open(storage, doc_path, &input.attributes) {
        Ok(x) => x,
        Err(e) => {
            rep.scan.record(e, true);
            return false;
        }
    };
    let mut docs = match DocumentReader::open(storage, doc_path) {
        Ok(r) => r,
        Err(e) => {
            rep.scan.record(e.to_string(), true);
            return false;
        }
    };
    let provenance = provenance_name(doc_path);
    let mut edits: Vec<Edit> = Vec::new();
    let mut attrs_buf: Vec<Map<String, Value>> = Vec::with_capacity(input.attributes.len());
    let mut doc_lines = 0u64;
    while let Some(item) = docs.next_document() {
        let (line, doc) = match item {
            Ok(x) => x,
            Err(e) => {
                let fatal = e.is_fatal();
                let line = e.line();
                rep.scan.record(e.to_string(), fatal);
                if fatal {
                    return false;
                }
                // Keep the attribute files aligned so later lines are still checked.
                if let Some(line) = line {
                    doc_lines = line;
                    aligned.skip();
                }
                continue;
            }
        };
        doc_lines = line;
        // Attribute lines first: their problems name both files.
        attrs_buf.clear();
        if let Err(e) = aligned.next(&doc.id, line, &mut attrs_buf) {
            rep.scan.record(e, true);
            return false;
        }
        if rep.scan.failed() {
            // Bad document lines before: keep checking alignment, write nothing.
            continue;
        }
        progress.advance(1, doc.text.len() as u64);
        match process_document(
            doc,
            &mut attrs_buf,
            stream,
            rules,
            &mut edits,
            provenance,
            line,
            rep,
        ) {
            Ok(None) => {}
            Ok(Some(value)) => {
                if writer.is_none() {
                    match JsonlWriter::create(storage, &unit.output) {
                        Ok(w) => *writer = Some(w),
                        Err(e) => {
                            rep.scan.record(e.to_string(), true);
                            return false;
                        }
                    }
                }
                if let Some(w) = writer.as_mut() {
                    if let Err(e) = w.write(&value) {
                        rep.scan.record(e.to_string(), true);
                        return false;
                    }
                }
            }
            Err(DocError::Plain(e)) => {
                rep.scan.record(format!("{doc_path}:{line}: {e}"), true);
                return false;
            }
            Err(DocError::Span(e, merged_attrs)) => {
                let place = locate(storage, input, line, &e, merged_attrs.as_ref());
                rep.scan
                    .record(format!("{doc_path}:{line}: {e}{place}"), true);
                return false;
            }
        }
    }
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
    match aligned.finish(doc_lines) {
        Ok(a) => rep.attributes.extend(a),
        Err(e) => {
            rep.scan.record(e, true);
            return false;
        }
    }
    !rep.scan.failed()
}

enum DocError {
    Plain(String),
    Span(crate::replace::SpanError, Option<Value>),
}

/// Steps 1–5 of the module doc for one document: `Some(document)` to write, `None` when
/// dropped.
#[allow(clippy::too_many_arguments)]
fn process_document(
    doc: Document,
    attrs: &mut Vec<Map<String, Value>>,
    stream: &CompiledStream,
    rules: &Rules,
    edits: &mut Vec<Edit>,
    provenance: &str,
    line: u64,
    rep: &mut UnitReport,
) -> Result<Option<Value>, DocError> {
    let text_bytes = doc.text.len() as u64;
    rep.counts.documents += 1;
    rep.counts.text_bytes += text_bytes;
    let Document { id, text, fields } = doc;
    let mut map = fields;
    map.insert("id".into(), Value::String(id));
    map.insert("text".into(), Value::String(text));
    if stream.has_attributes {
        match map.get_mut("attributes") {
            Some(Value::Object(existing)) => {
                for a in attrs.drain(..) {
                    existing.extend(a);
                }
            }
            _ => {
                let mut parts = attrs.drain(..);
                let mut merged = parts.next().unwrap_or_default();
                for a in parts {
                    merged.extend(a);
                }
                map.insert("attributes".into(), Value::Object(merged));
            }
        }
    }
    let mut value = Value::Object(map);
    let mut view = DocView::new(&value);
    match stream.filter.decide(&mut view).map_err(DocError::Plain)? {
        Decision::Keep => {}
        Decision::NoInclude => {
            rep.counts.drop(&rules.include, text_bytes);
            return Ok(None);
        }
        Decision::Excluded(i) => {
            rep.counts.drop(&rules.exclude[i], text_bytes);
            return Ok(None);
        }
    }
    if !stream.replacers.is_empty() {
        edits.clear();
        let json: &Value = view.json;
        let text = json.get("text").and_then(Value::as_str).unwrap_or("");
        let mut n_chars: Option<usize> = None;
        let mut chars = || *n_chars.get_or_insert_with(|| text.chars().count());
        for r in &stream.replacers {
            if let Err(e) = r.collect(&mut view, &mut chars, edits) {
                return Err(DocError::Span(e, value.get("attributes").cloned()));
            }
        }
        if !edits.is_empty() {
            let applied = apply(text, edits);
            rep.counts.overlapping_spans += applied.overlapping;
            let new_text = applied.text;
            drop(view);
            if let Some(t) = value.get_mut("text") {
                if t.as_str() != Some(new_text.as_str()) {
                    rep.counts.edited += 1;
                }
                *t = Value::String(new_text);
            }
        }
    }
    let Value::Object(map) = &mut value else {
        return Ok(None);
    };
    for f in &stream.discard_fields {
        map.remove(f);
    }
    let kept_bytes = map.get("text").and_then(Value::as_str).map_or(0, str::len) as u64;
    let trimmed = map
        .get("text")
        .and_then(Value::as_str)
        .map_or(0, |t| t.trim().len()) as u64;
    if trimmed < stream.min_text_length {
        rep.counts.drop("output.min_text_length", text_bytes);
        return Ok(None);
    }
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
    rep.counts.kept += 1;
    rep.counts.kept_text_bytes += kept_bytes;
    Ok(Some(value))
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
