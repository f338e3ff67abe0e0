//! `loam run`: the staged pipeline (tag → dedupe → mix) with resumable units, a summary
//! table and the provenance manifest.

use crate::dolma::units_error;
use crate::error::{Context, Error, Result};
use crate::outcome::{self as ui, Failure, Outcome, StageLine};
use crate::pipeline_config::{PipelineConfig, SampleSpec};
use loam_dedup::exact::{DedupKey, Keep, ShardKeys};
use loam_manifests::{
    fingerprint, FileDigest, HashAlgorithms, InputFile, Manifest, ModelFile, OutputFile,
    RuleCounts, MANIFEST_VERSION,
};
use loam_mixes::dolma_mix::BucketsMode;
use loam_mixes::dolma_mix::InlineTagging;
use loam_mixes::mix::mix_shard_tagging;
use loam_mixes::mix::{mix_shard, AttributeInput, MixOutput, MixSpec, MixUnit, Sampling};
use loam_mixes::shuffle::{
    remove_scratch, write_bucket, BucketJob, Shuffle, SpoolInfo, SORT_MEMORY_BYTES,
};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::runstate::RunState;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::{storage_for, write_atomic, Storage};
use loam_pipeline::tagger::{tag_shard_gated, DocTagger, Gated, Tagger};
use loam_pipeline::units::{contain, Made, Ran, Unit, Units};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Options shared by every data command.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Replace outputs made by another config.
    pub overwrite: bool,
    /// Which part of a pipeline this process runs (cluster tasks).
    pub part: Part,
}

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// WARC/WET → documents.
    Warc,
    /// Taggers.
    Tag,
    /// Dedup (every section of `dedupe`).
    Dedupe,
    /// The mix.
    Mix,
}

/// The share of a pipeline one process runs: every stage (the default), or one stage's
/// units split over tasks ([`loam_pipeline::units::Part`]). Units are whole shards and
/// deterministic, so any split gives the same bytes; a final run without `--stage` finds
/// every unit done and writes the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Part {
    /// Only this stage, or all of them.
    pub stage: Option<Stage>,
    /// This task's share of the stage's units.
    pub units: loam_pipeline::units::Part,
    /// Only this phase of a partitioned MinHash dedupe (`--phase`; needs `--stage dedupe`).
    pub phase: Option<crate::phases::Phase>,
}

impl Part {
    /// Whether this process does `stage`'s work (otherwise it only reads its results).
    pub fn runs(&self, stage: Stage) -> bool {
        self.stage.is_none_or(|s| s == stage)
    }
}

/// Whether `loam run` tags each shard as its mix reads it (one read of the shard): a tag
/// section, no warc or dedupe section, and no `sample.max_tokens` or `buckets` (which count
/// every document before the mix). Then a task of a cluster run (`--rank/--world` without
/// `--stage`) makes both stages of its shards, and `loam slurm submit` runs one array.
pub fn tags_while_mixing(cfg: &PipelineConfig) -> bool {
    cfg.warc.is_none() && tags_while_mixing_after_warc(cfg)
}

/// [`tags_while_mixing`] for the shards a warc section wrote (in one process).
fn tags_while_mixing_after_warc(cfg: &PipelineConfig) -> bool {
    cfg.tag.is_some()
        && cfg.dedupe_sections().is_empty()
        && matches!(cfg.mix.sample, None | Some(SampleSpec::Rate(_)))
        && cfg.mix.buckets.is_none()
}

/// An earlier stage's results are needed but some of its units are not done.
pub(crate) fn incomplete(stage: &str, missing: usize) -> Error {
    Error::Usage(format!(
        "stage `{stage}` is not complete ({missing} unit(s) not done); run `loam run … --stage {stage}` (or without --stage) first"
    ))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TagInfo {
    input: String,
    input_digest: Option<FileDigest>,
    documents: u64,
    text_bytes: u64,
    /// Documents the gated taggers skipped (`tag.gate`).
    #[serde(default, skip_serializing_if = "is_zero")]
    not_evaluated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TagInfo {
    /// What a tag unit that read `input` records: the read, and the documents its gated
    /// taggers skipped.
    fn of(input: &str, scan: &ScanReport, not_evaluated: u64) -> TagInfo {
        TagInfo {
            input: input.to_string(),
            input_digest: scan.digest.clone(),
            documents: scan.documents,
            text_bytes: scan.text_bytes,
            not_evaluated,
        }
    }
}

/// A stage's taggers.
type Taggers = Vec<Box<dyn Tagger>>;

/// `tag.gate`: the mix's drop rules on ungated signals, run at tag time.
struct RuleGate {
    rules: Vec<loam_mixes::rules::Rule>,
}

impl loam_pipeline::tagger::Gate for RuleGate {
    fn drops(
        &self,
        attributes: &BTreeMap<String, Vec<loam_pipeline::document::Span>>,
    ) -> Option<String> {
        self.rules
            .iter()
            .find(|r| r.fires_on_spans(attributes.get(&r.attribute).map(Vec::as_slice)))
            .map(|r| r.rule.clone())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MixInfo {
    documents: u64,
    text_bytes: u64,
    eligible_tokens: u64,
    kept: u64,
    kept_text_bytes: u64,
    kept_tokens: u64,
    by_rule: BTreeMap<String, RuleCounts>,
    /// Documents that had each rule's attribute; absent in markers of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule_seen: Option<BTreeMap<String, u64>>,
    attributes: Vec<AttributeInput>,
    ledger: Option<(String, FileDigest, u64)>,
    index: Option<(String, FileDigest, u64)>,
    /// The shuffle spool written instead of an output shard (`mix.shuffle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spool: Option<SpoolInfo>,
    /// What `mix.span_replacement` did; absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edits: Option<loam_mixes::mix::Edits>,
    /// `mix.buckets`: per group, per bucket, [copies, tokens] written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    buckets: BTreeMap<String, Vec<[u64; 2]>>,
}

/// What a shuffle bucket (pass 2) wrote; kept in its marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ShuffleInfo {
    documents: u64,
    text_bytes: u64,
    tokens: u64,
}

/// One shard's path through the stages.
pub(crate) struct Shard {
    pub(crate) input: String,
    tag: Option<TagInfo>,
    pub(crate) dedup: Option<crate::run_dedupe::DedupInfo>,
    mix: Option<MixInfo>,
    mix_output: Option<(String, FileDigest, u64)>,
    pub(crate) failed: bool,
}

/// What one unit of the one-read pass made: its tag unit's result, and its mix unit's unless
/// the tag failed.
type TagAndMix = (Ran<TagInfo>, Option<Ran<MixInfo>>);

/// A tag stage left to the mix ([`InlineTagging`]): its taggers and its units.
struct TagPass<'a> {
    taggers: Taggers,
    gated: Taggers,
    gate: RuleGate,
    units: Units<'a, TagInfo>,
    todo: Vec<usize>,
    /// Where its summary row goes among the stages' (after a WARC stage's).
    line_at: usize,
}

/// Exact-dedup keys the tag stage collects for the dedupe stage: its key and keep policy,
/// and where each shard's keys go.
type EarlyKeys<'a> = (
    &'a (DedupKey, Keep),
    &'a Mutex<Option<(ScanReport, ShardKeys)>>,
);

/// Tags one shard alone: the tag stage's unit; with `keys`, also the shard's dedup keys.
#[allow(clippy::too_many_arguments)]
fn tag_one(
    storage: &dyn Storage,
    input: &str,
    output: &str,
    tcfg: &crate::pipeline_config::TagStage,
    taggers: &[Box<dyn Tagger>],
    gated: &[Box<dyn Tagger>],
    gate: &RuleGate,
    keys: Option<EarlyKeys<'_>>,
    bar: &crate::progress::UnitBar,
) -> std::result::Result<Made<TagInfo>, String> {
    let gated = (!gated.is_empty()).then_some(Gated {
        taggers: gated,
        gate,
    });
    let e = &tcfg.experiment;
    // The marks take the ids from this attribute file, not from the shard.
    let mut collected = keys.map(|_| ShardKeys::with_ids_in(output));
    let mut add = |doc: &loam_pipeline::Document| {
        if let (Some(c), Some(((key, keep), _))) = (collected.as_mut(), keys) {
            c.add(doc, key, keep);
        }
    };
    let visit = keys
        .is_some()
        .then_some(&mut add as &mut dyn FnMut(&loam_pipeline::Document));
    let rep = tag_shard_gated(storage, input, output, e, taggers, gated, visit, bar);
    if let (Some(c), Some((_, slot)), false) = (collected, keys, rep.scan.failed()) {
        if let Ok(mut s) = slot.lock() {
            *s = Some((rep.scan.clone(), c));
        }
    }
    let info = TagInfo::of(input, &rep.scan, rep.not_evaluated);
    match (rep.output, rep.scan.failed()) {
        (Some(o), false) => Ok(Made {
            output: Some(o),
            info,
        }),
        _ => Err(ui::scan_errors(&rep.scan)),
    }
}

/// The tag stage's units into the shards: infos, and failures (a failed shard is not mixed).
fn take_tag_results(
    shards: &mut [Shard],
    results: Vec<Unit<TagInfo>>,
    failures: &mut Vec<Failure>,
) {
    for (s, u) in shards.iter_mut().zip(results) {
        match u {
            Unit::Done { info, .. } => s.tag = Some(info),
            Unit::Failed(e) => {
                s.failed = true;
                failures.push(Failure::new("tag", &s.input, e));
            }
            Unit::Skipped => {}
        }
    }
}

/// The tag stage's summary row.
fn tag_stage_line(
    shards: &[Shard],
    taggers: &[Box<dyn Tagger>],
    gated: &[Box<dyn Tagger>],
    ran: usize,
) -> StageLine {
    let tags = || shards.iter().filter_map(|s| s.tag.as_ref());
    let docs: u64 = tags().map(|t| t.documents).sum();
    let bytes: u64 = tags().map(|t| t.text_bytes).sum();
    let names = |ts: &[Box<dyn Tagger>]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    let mut name = format!("tag ({}", names(taggers));
    if !gated.is_empty() {
        let skipped: u64 = tags().map(|t| t.not_evaluated).sum();
        name.push_str(&format!(
            "; gated {}: run on {} of {docs} documents",
            names(gated),
            docs - skipped
        ));
    }
    name.push(')');
    StageLine::pass_through(
        loam_manifests::StageKind::Tag,
        name,
        docs,
        bytes,
        ran,
        shards.len(),
    )
}

fn relative_names(inputs: &[String]) -> Result<Vec<String>> {
    let mut rels = Vec::with_capacity(inputs.len());
    for p in inputs {
        let rel = match layout::relative_to_documents(p) {
            Ok(r) => r.to_string(),
            Err(_) => p.rsplit('/').next().unwrap_or(p).to_string(),
        };
        rels.push(rel);
    }
    // Attribute files of Parquet inputs are `<stem>.jsonl.gz`: `a.parquet` and
    // `a.jsonl.gz` would share theirs.
    for names in [
        rels.clone(),
        rels.iter()
            .map(|r| layout::attribute_rel(r).into_owned())
            .collect(),
    ] {
        let mut sorted = names;
        sorted.sort();
        for w in sorted.windows(2) {
            if w[0] == w[1] {
                return Err(Error::Usage(format!(
                    "two inputs map to the same output name `{}`; put inputs under a `documents/` directory so their relative paths differ, or rename one",
                    w[0]
                )));
            }
        }
    }
    Ok(rels)
}

/// Every input must be a document shard of a known format: refused before any work, with
/// the input named (not an output path derived from it).
fn check_input_formats(inputs: &[String]) -> Result<()> {
    for p in inputs {
        loam_pipeline::format::Format::from_path(p)
            .map_err(|e| Error::Usage(format!("input {e}")))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WarcInfo {
    digest: Option<FileDigest>,
    records: u64,
    documents: u64,
    text_bytes: u64,
    skipped: BTreeMap<String, u64>,
}

/// Converts WARC/WET inputs into `<output>/documents/…` (units resumable like every stage);
/// returns the document shards and their relative names for the stages after it.
#[allow(clippy::too_many_arguments)]
fn warc_stage(
    storage: &dyn Storage,
    w: &crate::pipeline_config::WarcStage,
    inputs: &[String],
    rels: &[String],
    out_root: &str,
    exec: &Executor,
    opts: RunOptions,
    failures: &mut Vec<Failure>,
    stage_lines: &mut Vec<StageLine>,
    warc_inputs: &mut Vec<InputFile>,
) -> Result<(Vec<String>, Vec<String>)> {
    let dir = format!("{out_root}/documents");
    let fp = fingerprint(&json!({"stage": "warc", "loam": loam_pipeline::VERSION, "warc": w}));
    let state = RunState::new(storage, &dir, "warc", &fp, opts.overwrite);
    let out_rels: Vec<String> = rels
        .iter()
        .map(|r| match r.rsplit_once('/') {
            Some((d, f)) => format!("{d}/{}", loam_extract::shard::output_name(f)),
            None => loam_extract::shard::output_name(r),
        })
        .collect();
    let outputs: Vec<String> = out_rels.iter().map(|r| format!("{dir}/{r}")).collect();
    let mut units = Units::<WarcInfo>::check(state, outputs).map_err(units_error)?;
    units.verify_outputs(storage, exec, opts.part.units);
    if !opts.part.runs(Stage::Warc) && !units.all_done() {
        return Err(incomplete("warc", units.pending()));
    }
    let options = loam_extract::record::Options {
        source: w.source_name.clone(),
        mode: match w.extraction {
            loam_extract::config::Extraction::Main => loam_extract::Mode::Main,
            loam_extract::config::Extraction::Full => loam_extract::Mode::Full,
        },
        store_html: false,
        max_payload_bytes: w.max_payload_size_bytes,
    };
    let todo = units.todo(opts.part.units);
    let bar = crate::progress::stage_bar("warc");
    let results = units.run(exec, &todo, |i| {
        let rep = loam_extract::shard::process_file(
            storage,
            &inputs[i],
            &units.outputs()[i],
            &options,
            &loam_extract::shard::NoHooks,
            |n| loam_pipeline::executor::Progress::advance(&bar, n, 0),
        );
        if rep.failed() {
            let mut lines = rep.problems.clone();
            lines.extend(rep.fatal.clone());
            return Err(lines.join("\n"));
        }
        let digest = storage
            .open(&inputs[i])
            .ok()
            .and_then(|r| loam_manifests::digest_reader(std::io::BufReader::new(r)).ok());
        let info = WarcInfo {
            digest,
            records: rep.records.values().sum(),
            documents: rep.documents,
            text_bytes: rep.text_bytes,
            skipped: rep.skipped.clone(),
        };
        // An input without any HTML record gives no shard; later stages skip it.
        let output = rep.output.filter(|o| o.records > 0);
        Ok(Made { output, info })
    });
    bar.finish_and_clear();
    let (mut next_inputs, mut next_rels) = (Vec::new(), Vec::new());
    let (mut records, mut docs, mut bytes) = (0u64, 0u64, 0u64);
    let mut skipped: BTreeMap<String, RuleCounts> = BTreeMap::new();
    for (i, u) in results.into_iter().enumerate() {
        let (m, info) = match u {
            Unit::Done { marker, info, .. } => (marker, info),
            Unit::Failed(e) => {
                failures.push(Failure::new("warc", &inputs[i], e));
                continue;
            }
            Unit::Skipped => continue,
        };
        records += info.records;
        docs += info.documents;
        bytes += info.text_bytes;
        for (reason, n) in &info.skipped {
            skipped.entry(reason.clone()).or_default().documents_dropped += n;
        }
        if let Some(d) = info.digest.clone() {
            warc_inputs.push(InputFile {
                path: inputs[i].clone(),
                role: loam_manifests::InputRole::Warc,
                digest: d,
                lines: info.records,
            });
        }
        if m.digest.is_some() {
            next_inputs.push(units.outputs()[i].clone());
            next_rels.push(out_rels[i].clone());
        }
    }
    stage_lines.push(StageLine::new(
        loam_manifests::StageKind::Warc,
        format!(
            "warc (records → {} text)",
            match w.extraction {
                loam_extract::config::Extraction::Main => "main",
                loam_extract::config::Extraction::Full => "full",
            }
        ),
        records,
        docs,
        0,
        bytes,
        skipped,
        todo.len(),
        inputs.len(),
    ));
    Ok((next_inputs, next_rels))
}

/// The outcome of a run that stopped after one stage (a cluster task).
fn partial(
    name: &str,
    shards: &[Shard],
    stages: Vec<StageLine>,
    failures: Vec<Failure>,
    started: Instant,
    threads: usize,
) -> Outcome {
    Outcome {
        warnings: Vec::new(),
        title: format!("loam run {name} (one stage)"),
        shards: shards.len(),
        stages,
        failures,
        manifest: None,
        elapsed: started.elapsed(),
        started,
        threads,
    }
}

/// Runs a pipeline config. Returns whether every shard succeeded.
pub fn run_pipeline(config_path: &Path, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let started_at = ui::now_rfc3339();
    let (cfg, raw) = loam_pipeline::config::load::<PipelineConfig>(config_path)
        .map_err(|e| Error::Usage(e.to_string()))?;
    if opts.part.stage.is_none() && opts.part.units.world > 1 && !tags_while_mixing(&cfg) {
        return Err(Error::Usage(format!(
            "{}: --rank/--world without --stage runs a task's share of the tag and mix stages in one read, which needs a pipeline with a tag section and no warc or dedupe section, sample.max_tokens or buckets (those need every shard's results before the mix); run the stages one at a time with --stage",
            config_path.display()
        )));
    }
    let config_bytes =
        std::fs::read(config_path).with_context(|| format!("reading {}", config_path.display()))?;
    let storage: &dyn Storage = storage_for(&cfg.output)?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(crate::dolma::layout_error)?;
    let rels = relative_names(&inputs)?;
    if cfg.warc.is_none() {
        check_input_formats(&inputs)?;
    }
    let exec = Executor::new(opts.threads)?;
    let out_root = cfg.output.trim_end_matches('/').to_string();
    // One run at a time on this output (tasks of a cluster run share it), and on each named
    // Bloom filter's directory.
    let mut locked = vec![out_root.clone()];
    for d in cfg.dedupe.iter().flat_map(|d| d.sections()) {
        if let Some(file) = d.bloom_filter.as_ref().and_then(|b| b.file.as_deref()) {
            locked.push(crate::dolma::filter_lock_root(file));
        }
    }
    let _lock = crate::dolma::lock_outputs(&locked, opts)?;
    let mut failures: Vec<Failure> = Vec::new();
    let mut stage_lines: Vec<StageLine> = Vec::new();
    let mut warc_inputs: Vec<InputFile> = Vec::new();
    let (inputs, rels) = match &cfg.warc {
        None => (inputs, rels),
        Some(w) => {
            let converted = warc_stage(
                storage,
                w,
                &inputs,
                &rels,
                &out_root,
                &exec,
                opts,
                &mut failures,
                &mut stage_lines,
                &mut warc_inputs,
            )?;
            if opts.part.stage == Some(Stage::Warc) {
                return Ok(partial(
                    &cfg.name,
                    &[],
                    stage_lines,
                    failures,
                    started,
                    exec.threads(),
                ));
            }
            converted
        }
    };
    let mut shards: Vec<Shard> = inputs
        .iter()
        .map(|i| Shard {
            input: i.clone(),
            tag: None,
            dedup: None,
            mix: None,
            mix_output: None,
            failed: false,
        })
        .collect();
    let mut models: Vec<ModelFile> = Vec::new();
    let version = loam_pipeline::VERSION;

    // ---- tag ----
    let mut attr_dirs: Vec<(String, String)> = Vec::new(); // (stage name, attribute dir name)
    let mut tag_fp = String::new();
    // With no dedup between them, a whole run tags each shard as its mix reads it, and each
    // shard is read once; the files are those of the two stages run one after the other.
    let fuse = opts.part.stage.is_none() && tags_while_mixing_after_warc(&cfg);
    let mut deferred: Option<TagPass<'_>> = None;
    // Exact document dedup in this one process: the tag stage collects its keys as it reads,
    // and the dedupe stage need not read the shards for them.
    let early = match (
        cfg.tag.is_some(),
        cfg.dedupe_sections().first(),
        opts.part.stage,
        opts.part.units.world <= 1,
    ) {
        (true, Some(d), None, true) => crate::run_dedupe::early_keys(d),
        _ => None,
    };
    let pre_keys: Vec<Mutex<Option<(ScanReport, ShardKeys)>>> =
        shards.iter().map(|_| Mutex::new(None)).collect();
    if let Some(tcfg) = &cfg.tag {
        let mut taggers: Vec<Box<dyn Tagger>> = tcfg
            .taggers
            .iter()
            .map(|n| loam_filters::registry::build_full(n, tcfg.bugs(), tcfg.tagger_options.get(n)))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Usage(e.to_string()))?;
        for c in &tcfg.classifiers {
            let t = loam_filters::classifier::FastTextClassifier::new(
                &c.name,
                Path::new(&c.model),
                c.granularity,
            )
            .map_err(|e| Error::Usage(e.to_string()))?;
            taggers.push(Box::new(t));
        }
        for t in &taggers {
            for m in t.models() {
                let f = std::fs::File::open(&m)
                    .with_context(|| format!("model {} for {}", m.display(), t.name()))?;
                let digest = loam_manifests::digest_reader(std::io::BufReader::new(f))?;
                models.push(ModelFile {
                    path: m.display().to_string(),
                    used_by: t.name().to_string(),
                    digest,
                });
            }
        }
        // Gated taggers run last, behind the rules on the others' signals.
        let (gated, taggers): (Taggers, Taggers) = taggers
            .into_iter()
            .partition(|t| tcfg.gate.iter().any(|g| g == t.name()));
        let gate = RuleGate {
            rules: tcfg.gate_rules(&cfg.mix.drop),
        };
        let mut fp = json!({
            "stage": "tag", "loam": version, "experiment": tcfg.experiment,
            "taggers": tcfg.taggers, "dolma_bugs": tcfg.dolma_bugs,
            "classifiers": tcfg.classifiers,
            // A retrained model changes the signals: its checksum is part of the config.
            "models": models.iter().map(|m| &m.digest.sha256).collect::<Vec<_>>(),
        });
        if !gated.is_empty() {
            // Which documents the gated taggers see depends on the rules in front of them.
            fp["gate"] = json!({"taggers": tcfg.gate, "rules": gate.rules});
        }
        tag_fp = fingerprint(&fp);
        let dir = format!("{out_root}/attributes/{}", tcfg.experiment);
        let state = RunState::new(storage, &dir, "tag", &tag_fp, opts.overwrite);
        let outputs: Vec<String> = rels
            .iter()
            .map(|r| format!("{dir}/{}", layout::attribute_rel(r)))
            .collect();
        let mut units = Units::<TagInfo>::check(state, outputs).map_err(units_error)?;
        units.verify_outputs(storage, &exec, opts.part.units);
        // A changed input makes its unit run again (and so the mix's content id change).
        units.verify_inputs(storage, &exec, |t| {
            Some(vec![(t.input.clone(), t.input_digest.clone()?)])
        });
        if !opts.part.runs(Stage::Tag) && !units.all_done() {
            return Err(incomplete("tag", units.pending()));
        }
        let todo = units.todo(opts.part.units);
        attr_dirs.push(("tag".into(), tcfg.experiment.clone()));
        if fuse {
            // Tagged by the mix as it reads (one read of each shard); the done units' infos
            // now, so the mix's content id takes their recorded input checksums.
            for (s, u) in shards.iter_mut().zip(units.collect(Vec::new())) {
                if let Unit::Done { info, .. } = u {
                    s.tag = Some(info);
                }
            }
            deferred = Some(TagPass {
                taggers,
                gated,
                gate,
                units,
                todo,
                line_at: stage_lines.len(),
            });
        } else {
            let bar = crate::progress::unit_bar(
                "tag",
                storage,
                &exec,
                shards.len(),
                &todo,
                |i| vec![shards[i].input.as_str()],
                Default::default(),
            );
            let results = units.run(&exec, &todo, |i| {
                let out = &units.outputs()[i];
                let keys = early.as_ref().zip(pre_keys.get(i));
                let input = &shards[i].input;
                let made = tag_one(
                    storage, input, out, tcfg, &taggers, &gated, &gate, keys, &bar,
                );
                bar.done(i, made.as_ref().map_or(0, |m| m.info.text_bytes));
                made
            });
            bar.finish_and_clear();
            take_tag_results(&mut shards, results, &mut failures);
            stage_lines.push(tag_stage_line(&shards, &taggers, &gated, todo.len()));
        }
    }

    if opts.part.stage == Some(Stage::Tag) {
        return Ok(partial(
            &cfg.name,
            &shards,
            stage_lines,
            failures,
            started,
            exec.threads(),
        ));
    }

    // ---- dedupe ----
    let mut dedupe_fps: Vec<String> = Vec::new();
    let mut pre: Vec<Option<(ScanReport, ShardKeys)>> = pre_keys
        .into_iter()
        .map(|m| m.into_inner().ok().flatten())
        .collect();
    for dcfg in cfg.dedupe_sections() {
        let fp = crate::run_dedupe::dedupe_stage(
            storage,
            dcfg,
            std::mem::take(&mut pre),
            &mut shards,
            &rels,
            &out_root,
            &exec,
            opts,
            &mut failures,
            &mut stage_lines,
            &mut models,
        )?;
        dedupe_fps.push(fp);
        attr_dirs.push(("dedupe".into(), dcfg.name.clone()));
    }
    // One section keeps the fingerprint it always had; a list is the list's.
    let dedupe_fp = match dedupe_fps.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        many => fingerprint(&json!(many)),
    };

    if opts.part.stage == Some(Stage::Dedupe) {
        return Ok(partial(
            &cfg.name,
            &shards,
            stage_lines,
            failures,
            started,
            exec.threads(),
        ));
    }

    // ---- mix ----
    let mcfg = &cfg.mix;
    let live: Vec<usize> = (0..shards.len()).filter(|&i| !shards[i].failed).collect();
    // The content id covers the normalized config, every input's checksum and the tool
    // version: a different mix can never land in an existing version's directory.
    let digests = input_digests(storage, &shards, &live, &exec);
    let content_id = fingerprint(&json!({
        "config": content_config(&raw), "loam": version,
        "models": models.iter().map(|m| &m.digest.sha256).collect::<Vec<_>>(),
        "inputs": live.iter().zip(&digests).map(|(&i, d)| json!([rels[i], d])).collect::<Vec<_>>(),
    }));
    let version_dir = format!(
        "{}-{}",
        mcfg.version,
        content_id.get(..12).unwrap_or(&content_id)
    );
    let mix_root = format!("{out_root}/{}", mcfg.name);
    refuse_other_versions(
        storage,
        &mix_root,
        &mcfg.version,
        &version_dir,
        opts.overwrite,
    )?;
    let mix_dir = format!("{mix_root}/{version_dir}");
    // `mix.shuffle`: the seed defaults to `mix.seed`, the shard count to one per input.
    let shuffle = mcfg.shuffle.map(|s| s.resolve(mcfg.seed, live.len()));
    let mut mix_fp_value = json!({
        "stage": "mix", "loam": version, "mix": mcfg, "tag": tag_fp, "dedupe": dedupe_fp,
    });
    if let Some(sh) = shuffle {
        // Only when on: an unshuffled mix keeps the fingerprint it always had.
        mix_fp_value["shuffle"] = json!(sh);
    }
    let mix_fp = fingerprint(&mix_fp_value);
    let state = RunState::new(storage, &mix_dir, "mix", &mix_fp, opts.overwrite);
    // The shuffle's scratch area (spools, sorted runs): hidden like all run state, removed
    // once every output shard is written.
    let scratch = format!("{mix_dir}/.loam/shuffle-scratch");
    let units: Vec<MixUnit> = live
        .iter()
        .map(|&i| MixUnit {
            input: shards[i].input.clone(),
            attributes: attr_dirs
                .iter()
                .map(|(_, d)| {
                    format!(
                        "{out_root}/attributes/{d}/{}",
                        layout::attribute_rel(&rels[i])
                    )
                })
                .collect(),
            output: match shuffle {
                None => MixOutput::Shard(format!("{mix_dir}/documents/{}", rels[i])),
                Some(sh) => MixOutput::Spool {
                    path: format!("{scratch}/spools/{}.spool", rels[i]),
                    name: rels[i].clone(),
                    shuffle: sh,
                },
            },
            ledger: Some(format!("{mix_dir}/ledger/{}.parquet", rels[i])),
        })
        .collect();
    let dup_attrs: Vec<String> = cfg
        .dedupe_sections()
        .iter()
        .flat_map(|d| d.duplicate_attributes())
        .collect();
    let stream = mcfg.compiled(&dup_attrs).map_err(|errors| {
        Error::Usage(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let mut spec = MixSpec {
        stream: &stream,
        sampling: None,
        buckets: None,
    };
    // A unit's marker is keyed by its output shard, or, when shuffling, by its ledger (the
    // unit's lasting output; its spool is scratch).
    let outputs: Vec<String> = units
        .iter()
        .map(|u| match (&u.output, &u.ledger) {
            (MixOutput::Spool { .. }, Some(l)) => l.clone(),
            (MixOutput::Spool { path, .. }, None) => path.clone(),
            (MixOutput::Shard(p), _) => p.clone(),
        })
        .collect();
    // Pass 2 of the shuffle: one output shard per bucket, each with its own marker.
    let shuffle_fp = fingerprint(&json!({"stage": "shuffle", "mix": mix_fp}));
    let shuffle_state = RunState::new(storage, &mix_dir, "shuffle", &shuffle_fp, opts.overwrite);
    let bucket_outputs: Vec<String> = (0..shuffle.map_or(0, |s| s.buckets))
        .map(|b| format!("{mix_dir}/documents/{}", Shuffle::output_name(b)))
        .collect();
    let mut buckets =
        Units::<ShuffleInfo>::check(shuffle_state, bucket_outputs).map_err(units_error)?;
    buckets.verify_outputs(storage, &exec, loam_pipeline::units::Part::default());
    let shuffled = buckets.all_done();
    let mut mix_units = Units::<MixInfo>::check(state, outputs).map_err(units_error)?;
    mix_units.verify_outputs(storage, &exec, opts.part.units);
    // Ledgers and id indexes are outputs too: one missing or changed is made again.
    mix_units.verify_inputs(storage, &exec, |m| {
        Some(
            [&m.ledger, &m.index]
                .into_iter()
                .flatten()
                .map(|(p, d, _)| (p.clone(), d.clone()))
                .collect(),
        )
    });
    if !shuffled {
        // Pass 2 still needs every spool: a done unit whose spool is gone is done again.
        mix_units.redo_if(|_, _, info| {
            info.spool
                .as_ref()
                .is_some_and(|sp| !matches!(storage.size(&sp.path), Ok(Some(n)) if n == sp.bytes))
        });
    }
    if !opts.part.runs(Stage::Mix) && !mix_units.all_done() {
        return Err(incomplete("mix", mix_units.pending()));
    }
    let todo = mix_units.todo(opts.part.units);
    let mut sampling_record = None;
    let mut counted: Vec<Option<Vec<u32>>> = Vec::new();
    match mcfg.sample {
        None => {}
        Some(SampleSpec::Rate(rate)) => {
            spec.sampling = Some(Sampling::from_rate(rate, mcfg.seed));
        }
        Some(SampleSpec::MaxTokens(target)) => {
            // A counting pass collects each eligible document's draw and tokens; documents
            // are then taken in draw order until the budget is met.
            spec.sampling = Some(Sampling::from_rate(1.0, mcfg.seed));
            let counts = counting_pass(storage, &exec, &units, spec, "budget")?;
            // A BPE's counts are kept for the mix pass, which would otherwise encode again.
            counted = counts
                .iter()
                .map(|r| mcfg.tokenizer.keep_counts(&r.draws))
                .collect();
            let eligible: u64 = counts.iter().map(|r| r.eligible_tokens).sum();
            let mut draws: Vec<(f64, u64)> = counts.into_iter().flat_map(|r| r.draws).collect();
            let sampling = Sampling::for_budget(target, &mut draws, mcfg.seed);
            spec.sampling = Some(sampling);
            sampling_record = Some(loam_manifests::SamplingRecord {
                rate: sampling.rate(),
                seed: mcfg.seed,
                target_tokens: Some(target),
                eligible_tokens: eligible,
            });
        }
    }
    // `mix.buckets`: a counting pass collects every eligible document's group, score, key,
    // tokens and draw; the plan (breakpoints, per-bucket sampling) is the same whatever the
    // thread count or task, because it is computed from all of them in sorted order.
    let mut bucket_plan: Option<Arc<loam_mixes::buckets::Plan>> = None;
    if let Some(bc) = &mcfg.buckets {
        let count_mode = BucketsMode::Count(Arc::new(bc.clone()));
        let count_spec = MixSpec {
            stream: &stream,
            sampling: Some(Sampling::from_rate(1.0, mcfg.seed)),
            buckets: Some(&count_mode),
        };
        let counts = counting_pass(storage, &exec, &units, count_spec, "buckets")?;
        counted = counts
            .iter()
            .map(|r| mcfg.tokenizer.keep_counts(&r.draws))
            .collect();
        let docs = counts.into_iter().flat_map(|r| r.bucket_docs).collect();
        bucket_plan = Some(Arc::new(loam_mixes::buckets::Plan::compute(
            bc, mcfg.seed, docs,
        )));
    }
    let apply_mode = bucket_plan.clone().map(BucketsMode::Apply);
    spec.buckets = apply_mode.as_ref();
    let bar = crate::progress::unit_bar(
        "mix",
        storage,
        &exec,
        units.len(),
        &todo,
        |k| mix_files(&units[k]),
        counted_totals(&shards, todo.iter().map(|&k| live[k])),
    );
    let made =
        |k: usize, rep: loam_mixes::mix::MixReport| -> std::result::Result<Made<MixInfo>, String> {
            if rep.scan.failed() {
                return Err(ui::scan_errors(&rep.scan));
            }
            let info = MixInfo {
                documents: rep.scan.documents,
                text_bytes: rep.scan.text_bytes,
                eligible_tokens: rep.eligible_tokens,
                kept: rep.kept,
                kept_text_bytes: rep.kept_text_bytes,
                kept_tokens: rep.kept_tokens,
                by_rule: rep.by_rule.clone(),
                rule_seen: Some(rep.rule_seen.clone()),
                attributes: rep.attributes.clone(),
                ledger: rep
                    .ledger
                    .as_ref()
                    .map(|l| (l.path.clone(), l.digest.clone(), l.records)),
                index: rep
                    .index
                    .as_ref()
                    .map(|l| (l.path.clone(), l.digest.clone(), l.records)),
                spool: rep.spool.clone(),
                edits: (!mcfg.span_replacement.is_empty()).then(|| rep.edits.clone()),
                buckets: rep.buckets.clone(),
            };
            let output = match units[k].output {
                MixOutput::Shard(_) => rep.output,
                MixOutput::Spool { .. } => rep.ledger,
            };
            Ok(Made { output, info })
        };
    let mix_alone = |k: usize| {
        let known = counted.get(k).and_then(|c| c.as_deref());
        let rep = mix_shard(storage, &units[k], spec, false, known, &bar);
        bar.done(k, rep.scan.text_bytes);
        made(k, rep)
    };
    let (results, tag_results) = match &deferred {
        None => (mix_units.run(&exec, &todo, mix_alone), None),
        Some(tp) => {
            let tcfg = cfg.tag.as_ref().ok_or_else(|| {
                Error::Usage("internal error: a fused tag pass without a tag section".into())
            })?;
            let tagger = DocTagger::new(
                &tcfg.experiment,
                &tp.taggers,
                (!tp.gated.is_empty()).then_some(Gated {
                    taggers: &tp.gated,
                    gate: &tp.gate,
                }),
            );
            // A shard whose mix is done but whose attributes are not is tagged alone.
            let mixing: std::collections::BTreeSet<usize> = todo.iter().map(|&k| live[k]).collect();
            let tag_alone: Vec<usize> = tp
                .todo
                .iter()
                .copied()
                .filter(|i| !mixing.contains(i))
                .collect();
            let tagging: std::collections::BTreeSet<usize> = tp.todo.iter().copied().collect();
            // A shard whose tag is done is mixed alone; the others in one read.
            let (both, mix_only): (Vec<usize>, Vec<usize>) =
                todo.iter().partition(|&&k| tagging.contains(&live[k]));
            let mut mix_ran = mix_units.make(&exec, &mix_only, mix_alone);
            let mut tag_ran = tp.units.make(&exec, &tag_alone, |i| {
                let out = &tp.units.outputs()[i];
                let input = &shards[i].input;
                let (t, g) = (&tp.taggers, &tp.gated);
                tag_one(storage, input, out, tcfg, t, g, &tp.gate, None, &bar)
            });
            let ran: Vec<TagAndMix> = exec.map(&both, |&k| {
                let i = live[k];
                // Both stages' units: claimed first, then one read, then the tag's marker
                // before the mix's (a run killed between them redoes only the mix).
                let claimed = tp
                    .units
                    .claim(i)
                    .and_then(|()| mix_units.claim(k))
                    .map_err(|e| e.to_string());
                let read = claimed.and_then(|()| {
                    contain(|| {
                        let mut unit = units[k].clone();
                        // The tag stage's file is written here, not read.
                        unit.attributes.remove(0);
                        let t = InlineTagging {
                            tagger: &tagger,
                            output: &tp.units.outputs()[i],
                        };
                        let rep = mix_shard_tagging(storage, &unit, spec, t, &bar);
                        bar.done(k, rep.scan.text_bytes);
                        // The content id was made from the checksum read before: an input
                        // that changed since would be mixed under another input's name.
                        let before = digests.get(k).and_then(Option::as_ref);
                        if !rep.scan.failed() && rep.scan.digest.as_ref() != before {
                            return Err(format!(
                                "{}: changed while this run read it; rerun",
                                shards[i].input
                            ));
                        }
                        let tagged = rep.tagged.clone();
                        let info = TagInfo::of(&shards[i].input, &rep.scan, rep.not_evaluated);
                        let m = made(k, rep)?;
                        Ok((
                            Made {
                                output: tagged,
                                info,
                            },
                            m,
                        ))
                    })
                });
                // A failure fails the shard once, as its tag stage's (the stage that read
                // it first when they run apart): the mix unit stays claimed, for a rerun.
                match read {
                    Err(e) => ((i, Err(e)), None),
                    Ok((t, m)) => match tp.units.commit(i, t) {
                        Err(e) => ((i, Err(e.to_string())), None),
                        Ok(t) => {
                            let m = mix_units.commit(k, m).map_err(|e| e.to_string());
                            ((i, Ok(t)), Some((k, m)))
                        }
                    },
                }
            });
            for (t, m) in ran {
                tag_ran.push(t);
                mix_ran.extend(m);
            }
            (mix_units.collect(mix_ran), Some(tp.units.collect(tag_ran)))
        }
    };
    bar.finish_and_clear();
    if let (Some(tag_results), Some(tp)) = (tag_results, &deferred) {
        take_tag_results(&mut shards, tag_results, &mut failures);
        let line = tag_stage_line(&shards, &tp.taggers, &tp.gated, tp.todo.len());
        stage_lines.insert(tp.line_at.min(stage_lines.len()), line);
    }
    for (k, u) in results.into_iter().enumerate() {
        let i = live[k];
        match u {
            Unit::Done { marker, info, .. } => {
                if let (Some(d), None) = (&marker.digest, shuffle) {
                    shards[i].mix_output =
                        Some((mix_units.outputs()[k].clone(), d.clone(), marker.records));
                }
                shards[i].mix = Some(info);
            }
            Unit::Failed(e) => {
                shards[i].failed = true;
                failures.push(Failure::new("mix", &shards[i].input, e));
            }
            Unit::Skipped => {}
        }
    }
    if let (Some(SampleSpec::Rate(rate)), None) = (mcfg.sample, &sampling_record) {
        sampling_record = Some(loam_manifests::SamplingRecord {
            rate,
            seed: mcfg.seed,
            target_tokens: None,
            eligible_tokens: shards
                .iter()
                .filter_map(|s| s.mix.as_ref())
                .map(|m| m.eligible_tokens)
                .sum(),
        });
    }
    let infos: Vec<&MixInfo> = shards.iter().filter_map(|s| s.mix.as_ref()).collect();
    let mut by_rule: BTreeMap<String, RuleCounts> = BTreeMap::new();
    for inf in &infos {
        for (r, c) in &inf.by_rule {
            let e = by_rule.entry(r.clone()).or_default();
            e.documents_dropped += c.documents_dropped;
            e.text_bytes_dropped += c.text_bytes_dropped;
        }
    }
    let buckets_record = bucket_plan.as_ref().map(|plan| {
        let mut after = loam_mixes::dolma_mix::MixCounts::default();
        for inf in &infos {
            after.add(&loam_mixes::dolma_mix::MixCounts {
                buckets: inf.buckets.clone(),
                ..Default::default()
            });
        }
        plan.record(&after.buckets, &by_rule, mcfg.tokenizer.name())
    });
    // Only over the whole mix: a cluster task's share says nothing about a rule.
    let warnings = match infos.len() == units.len() {
        true => rule_warnings(&mcfg.drop, &infos, &by_rule),
        false => Vec::new(),
    };
    stage_lines.push(
        StageLine::new(
            loam_manifests::StageKind::Mix,
            format!("mix ({}/{})", mcfg.name, version_dir),
            infos.iter().map(|m| m.documents).sum(),
            infos.iter().map(|m| m.kept).sum(),
            infos.iter().map(|m| m.text_bytes).sum(),
            infos.iter().map(|m| m.kept_text_bytes).sum(),
            by_rule,
            todo.len(),
            units.len(),
        )
        .with_order(mcfg.drop.iter().map(|r| r.rule.clone()).collect()),
    );
    if !mcfg.span_replacement.is_empty() {
        // Span replacement removes no document: its row counts the documents it ran on and,
        // out, those whose text it changed (bytes before and after), by replacer — as the
        // `edit:` stage of `loam mix -c`.
        let mut e = loam_mixes::mix::Edits::default();
        for inf in &infos {
            if let Some(x) = &inf.edits {
                e.add(x);
            }
        }
        let by_replacer: BTreeMap<String, RuleCounts> = e
            .by_replacer
            .iter()
            .map(|(r, &n)| {
                let c = RuleCounts {
                    documents_edited: n,
                    ..Default::default()
                };
                (r.clone(), c)
            })
            .collect();
        // Replacements in config order (`span_replacement[10]` after `[9]`, not after `[1]`).
        let mut order: Vec<String> = by_replacer.keys().cloned().collect();
        order.sort_by_key(|r| {
            r.strip_prefix("span_replacement[")
                .and_then(|x| x.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        });
        stage_lines.push(
            StageLine::new(
                loam_manifests::StageKind::Edit,
                format!("edit (span replacement, {}/{})", mcfg.name, version_dir),
                e.passed,
                e.edited,
                e.bytes_in,
                e.bytes_out,
                by_replacer,
                todo.len(),
                units.len(),
            )
            .with_order(order),
        );
    }

    // ---- shuffle, pass 2: every bucket's copies, sorted by key, into its output shard ----
    let complete = shards.iter().all(|s| s.failed || s.mix.is_some());
    let mut shuffled_outputs: Vec<OutputFile> = Vec::new();
    let mut shuffle_complete = shuffle.is_none();
    // A cluster task that has only its share of the units leaves pass 2 to the final run,
    // which finds every unit done.
    if let (Some(sh), true) = (
        shuffle,
        failures.is_empty() && complete && opts.part.units.world <= 1,
    ) {
        // Canonical input order: the order equal keys keep.
        let spools: Vec<SpoolInfo> = shards
            .iter()
            .filter_map(|s| s.mix.as_ref()?.spool.clone())
            .collect();
        let runs_dir = format!("{scratch}/runs");
        let todo = buckets.todo(loam_pipeline::units::Part::default());
        let bar = crate::progress::stage_bar("shuffle");
        let results = buckets.run(&exec, &todo, |b| {
            let job = BucketJob {
                shuffle: sh,
                bucket: b as u32,
                spools: &spools,
                output: &buckets.outputs()[b],
                scratch: &runs_dir,
                memory: SORT_MEMORY_BYTES,
            };
            let rep = write_bucket(storage, &job, &bar).map_err(|e| e.to_string())?;
            let info = ShuffleInfo {
                documents: rep.documents,
                text_bytes: rep.text_bytes,
                tokens: rep.tokens,
            };
            Ok(Made {
                output: rep.output,
                info,
            })
        });
        bar.finish_and_clear();
        let (mut docs, mut bytes, mut written) = (0u64, 0u64, 0usize);
        for (b, u) in results.into_iter().enumerate() {
            let out = &buckets.outputs()[b];
            let (marker, info) = match u {
                Unit::Done { marker, info, .. } => (marker, info),
                Unit::Failed(e) => {
                    failures.push(Failure::new("shuffle", out, e));
                    continue;
                }
                Unit::Skipped => continue,
            };
            written += 1;
            docs += info.documents;
            bytes += info.text_bytes;
            if let Some(d) = marker.digest {
                shuffled_outputs.push(OutputFile {
                    path: out
                        .strip_prefix(&mix_dir)
                        .unwrap_or(out)
                        .trim_start_matches('/')
                        .to_string(),
                    kind: loam_manifests::OutputKind::Documents,
                    documents: marker.records,
                    tokens: Some(info.tokens),
                    digest: d,
                });
            }
        }
        shuffle_complete = written == buckets.len();
        if shuffle_complete {
            remove_scratch(storage, &scratch)
                .with_context(|| format!("removing the shuffle's scratch files in {scratch}"))?;
        }
        stage_lines.push(StageLine::pass_through(
            loam_manifests::StageKind::Shuffle,
            format!("shuffle ({} shards, seed {})", sh.buckets, sh.seed),
            docs,
            bytes,
            todo.len(),
            buckets.len(),
        ));
    }

    // ---- manifest: only for a complete mix ----
    let manifest_path = format!("{mix_dir}/manifest.json");
    let complete = complete && shuffle_complete;
    // A task of a cluster run (`--world` > 1) leaves it to the final run, as it leaves the
    // shuffle: the manifest is written once, by one process.
    let manifest = if failures.is_empty()
        && opts.part.stage.is_none()
        && opts.part.units.world <= 1
        && complete
    {
        let m = build_manifest(
            &cfg,
            config_path,
            &config_bytes,
            &raw,
            &shards,
            &mix_dir,
            &stage_lines,
            models,
            warc_inputs,
            shuffled_outputs,
            loam_manifests::MixRecord {
                name: mcfg.name.clone(),
                label: mcfg.version.clone(),
                content_id: content_id.clone(),
                sampling: sampling_record,
                buckets: buckets_record,
            },
            ui::RunMeta {
                started_at,
                duration_secs: started.elapsed().as_secs_f64(),
                threads: exec.threads(),
            },
            &warnings,
        );
        write_atomic(storage, &manifest_path, m.to_json().as_bytes())?;
        Some(manifest_path)
    } else {
        None
    };
    // ---- tokens: the finished mix into training arrays, with its own manifest ----
    if let (Some(section), Some(_)) = (&cfg.tokens, &manifest) {
        let dest = format!("{out_root}/tokens/{}/{version_dir}", mcfg.name);
        crate::checks::warn_ignored(config_path, section);
        let tcfg =
            crate::pipeline_config::tokens_config(section, &format!("{mix_dir}/documents"), &dest)
                .map_err(|ps| {
                    crate::dolma::usage(loam_pipeline::config::ConfigErrors {
                        file: Some(config_path.to_path_buf()),
                        problems: ps,
                    })
                })?;
        let t = crate::tokens::tokens_config(
            config_path,
            &config_bytes,
            &tcfg,
            opts,
            Instant::now(),
            Some(&content_id),
        )?;
        stage_lines.extend(t.stages);
        failures.extend(t.failures);
    }
    Ok(Outcome {
        warnings,
        title: format!("loam run {}", cfg.name),
        shards: shards.len(),
        stages: stage_lines,
        failures,
        manifest,
        elapsed: started.elapsed(),
        started,
        threads: exec.threads(),
    })
}

#[allow(clippy::too_many_arguments)]
fn build_manifest(
    cfg: &PipelineConfig,
    config_path: &Path,
    config_bytes: &[u8],
    raw: &serde_json::Value,
    shards: &[Shard],
    mix_dir: &str,
    stages: &[StageLine],
    mut models: Vec<ModelFile>,
    warc_inputs: Vec<InputFile>,
    shuffled: Vec<OutputFile>,
    mix: loam_manifests::MixRecord,
    meta: ui::RunMeta,
    warnings: &[String],
) -> Manifest {
    let mut inputs = warc_inputs;
    for s in shards {
        if let Some(t) = &s.tag {
            if let Some(d) = &t.input_digest {
                inputs.push(InputFile {
                    path: s.input.clone(),
                    role: loam_manifests::InputRole::Documents,
                    digest: d.clone(),
                    lines: t.documents,
                });
            }
        }
        if let Some(m) = &s.mix {
            for a in &m.attributes {
                inputs.push(InputFile {
                    path: a.path.clone(),
                    role: loam_manifests::InputRole::Attributes,
                    digest: a.digest.clone(),
                    lines: a.lines,
                });
            }
        }
    }
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut outputs: Vec<OutputFile> = shards
        .iter()
        .filter_map(|s| {
            let (path, digest, records) = s.mix_output.as_ref()?;
            Some(OutputFile {
                path: path
                    .strip_prefix(mix_dir)
                    .unwrap_or(path)
                    .trim_start_matches('/')
                    .to_string(),
                kind: loam_manifests::OutputKind::Documents,
                documents: *records,
                tokens: s.mix.as_ref().map(|m| m.kept_tokens),
                digest: digest.clone(),
            })
        })
        .collect();
    // A shuffled mix's document shards are the buckets, not one per input.
    outputs.extend(shuffled);
    for s in shards {
        let Some(m) = s.mix.as_ref() else { continue };
        for (kind, file) in [
            (loam_manifests::OutputKind::Ledger, &m.ledger),
            (loam_manifests::OutputKind::Index, &m.index),
        ] {
            if let Some((path, digest, rows)) = file {
                outputs.push(OutputFile {
                    path: path
                        .strip_prefix(mix_dir)
                        .unwrap_or(path)
                        .trim_start_matches('/')
                        .to_string(),
                    kind,
                    documents: *rows,
                    tokens: None,
                    digest: digest.clone(),
                });
            }
        }
    }
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    models.sort_by(|a, b| a.path.cmp(&b.path));
    Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: ui::tool_info(),
        mix,
        hashes: HashAlgorithms::default(),
        config: ui::config_record(config_path, config_bytes, raw.clone()),
        inputs,
        models,
        outputs,
        stages: stages.iter().map(StageLine::counts).collect(),
        parents: cfg.mix.parents.clone(),
        recipe: Vec::new(),
        warnings: warnings.to_vec(),
        tokens: None,
        run: meta.info(mix_dir),
    }
}

/// A warning per drop rule that dropped nothing: its attribute was in no document (a
/// misspelled or never-written name), or it never fired. Skipped when a replayed unit's
/// marker predates the attribute counts.
fn rule_warnings(
    rules: &[loam_mixes::rules::Rule],
    infos: &[&MixInfo],
    by_rule: &BTreeMap<String, RuleCounts>,
) -> Vec<String> {
    let docs: u64 = infos.iter().map(|m| m.documents).sum();
    let seen: Option<Vec<&BTreeMap<String, u64>>> =
        infos.iter().map(|m| m.rule_seen.as_ref()).collect();
    let mut out = Vec::new();
    for r in rules {
        if by_rule
            .get(&r.rule)
            .is_some_and(|c| c.documents_dropped > 0)
        {
            continue;
        }
        let had: Option<u64> = seen
            .as_ref()
            .map(|s| s.iter().filter_map(|m| m.get(&r.rule)).sum());
        out.push(match had {
            Some(0) => format!(
                "rule `{}`: attribute `{}` was absent in every document ({docs}); it dropped nothing",
                r.rule, r.attribute
            ),
            _ => format!(
                "rule `{}` dropped nothing (of {docs} documents)",
                r.rule
            ),
        });
    }
    out
}

/// Input checksums: from the tag stage when it ran (it read every byte), else computed.
fn input_digests(
    storage: &dyn Storage,
    shards: &[Shard],
    live: &[usize],
    exec: &Executor,
) -> Vec<Option<FileDigest>> {
    exec.map(live, |&i| {
        if let Some(d) = shards[i].tag.as_ref().and_then(|t| t.input_digest.clone()) {
            return Some(d);
        }
        let r = storage.open(&shards[i].input).ok()?;
        loam_manifests::digest_reader(std::io::BufReader::new(r)).ok()
    })
}

/// A version label names one mix: another content under the same label is refused.
fn refuse_other_versions(
    storage: &dyn Storage,
    mix_root: &str,
    label: &str,
    version_dir: &str,
    overwrite: bool,
) -> Result<()> {
    if overwrite {
        return Ok(());
    }
    let prefix = format!("{mix_root}/{label}-");
    let mut others: Vec<String> = storage
        .list(mix_root)?
        .into_iter()
        .filter_map(|o| {
            let rest = o.path.strip_prefix(&prefix)?;
            let (dir, file) = rest.split_once('/')?;
            (file == "manifest.json" && dir.len() == 12 && format!("{label}-{dir}") != version_dir)
                .then(|| format!("{label}-{dir}"))
        })
        .collect();
    others.sort();
    if let Some(o) = others.first() {
        return Err(Error::Usage(format!(
            "version `{label}` of this mix already exists as {mix_root}/{o} with different content (a different config, different inputs or another loam version: made by a different config); choose a new version label, or rerun with --overwrite to write {version_dir} beside it"
        )));
    }
    Ok(())
}

/// The config as far as it decides the mix's content: where inputs are read from and where
/// outputs go do not (the inputs themselves enter the content id by name and checksum).
fn content_config(raw: &serde_json::Value) -> serde_json::Value {
    let mut v = raw.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("output");
        m.remove("documents");
        // Tokenizing is after the mix: it never changes the mix's identity.
        m.remove("tokens");
    }
    v
}

/// The files a mix unit reads: its documents and their attributes (for the progress bar).
/// A dry run of the mix over every unit, in parallel (a token budget's or `mix.buckets`'
/// counting pass): each shard's report, or the first shard that could not be read.
fn counting_pass(
    storage: &dyn Storage,
    exec: &Executor,
    units: &[MixUnit],
    spec: MixSpec<'_>,
    label: &str,
) -> Result<Vec<loam_mixes::mix::MixReport>> {
    let bar = crate::progress::stage_bar(label);
    let counts = exec.map(units, |u| {
        loam_pipeline::units::contain(|| {
            let r = mix_shard(storage, u, spec, true, None, &bar);
            match r.scan.failed() {
                true => Err(format!("{}: {}", u.input, ui::scan_errors(&r.scan))),
                false => Ok(r),
            }
        })
    });
    bar.finish_and_clear();
    counts
        .into_iter()
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|e| Error::Failed(e.to_string()))
}

pub(crate) fn mix_files(u: &loam_mixes::mix::MixUnit) -> Vec<&str> {
    std::iter::once(u.input.as_str())
        .chain(u.attributes.iter().map(String::as_str))
        .collect()
}

/// What the tag stage counted in the shards `which` (documents and text bytes), the totals
/// of a later stage that reads them all; unknown unless every one was tagged.
pub(crate) fn counted_totals(
    shards: &[Shard],
    which: impl IntoIterator<Item = usize>,
) -> crate::progress::Totals {
    let mut docs = Some(0u64);
    let mut text = Some(0u64);
    for i in which {
        match shards.get(i).and_then(|s| s.tag.as_ref()) {
            Some(t) => {
                docs = docs.map(|d| d + t.documents);
                text = text.map(|b| b + t.text_bytes);
            }
            None => (docs, text) = (None, None),
        }
    }
    crate::progress::Totals {
        input_bytes: None,
        text_bytes: text.filter(|&t| t > 0),
        documents: docs.filter(|&d| d > 0),
    }
}
