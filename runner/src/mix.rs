//! `loam mix -c CONFIG`: runs dolma mixer configs (`docs/mix.md`), with loam's per-stream
//! sampling and token budgets, and writes the provenance dolma does not: a decision ledger
//! per input and, last, a `manifest.json` in the manifest directory.

use crate::dolma::{units_error, usage};
use crate::dolma_cli::ConfigSource;
use crate::error::{Context, Error, Result};
use crate::outcome::{self as ui, Failure, Outcome, StageLine};
use crate::run::RunOptions;
use loam_manifests::{
    fingerprint, FileDigest, HashAlgorithms, InputFile, Manifest, MixRecord, OutputFile,
    RuleCounts, SamplingRecord, StageCounts, MANIFEST_VERSION,
};
use loam_mixes::config::{MixerConfig, StreamConfig};
use loam_mixes::dolma_mix::{
    common_dir, ledger_paths, mix_unit_with, plan, provenance_name, stream_labels, stream_sampling,
    BucketsMode, CompiledStream, LedgerFiles, MixCounts, MixOptions, OutputUnit,
};
use loam_mixes::mix::{index_path, AttributeInput, Sampling};
use loam_mixes::shuffle::{
    remove_scratch, write_bucket, BucketJob, Shuffle, SpoolInfo, SORT_MEMORY_BYTES,
};
use loam_pipeline::config::index;
use loam_pipeline::executor::Executor;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{storage_for, write_atomic, Storage};
use loam_pipeline::units::{Made, Unit, Units};
use loam_pipeline::writer::WrittenShard;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// The `label` of every mix `loam mix -c` writes (`loam run` uses the config's version).
pub const DOLMA_MIX_LABEL: &str = "dolma-mix";

/// A file a unit wrote, as its completion marker keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileRecord {
    path: String,
    records: u64,
    digest: FileDigest,
}

impl From<&WrittenShard> for FileRecord {
    fn from(s: &WrittenShard) -> Self {
        FileRecord {
            path: s.path.clone(),
            records: s.records,
            digest: s.digest.clone(),
        }
    }
}

/// One input's ledger and id index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LedgerRecord {
    ledger: FileRecord,
    index: FileRecord,
}

impl From<&LedgerFiles> for LedgerRecord {
    fn from(l: &LedgerFiles) -> Self {
        LedgerRecord {
            ledger: (&l.ledger).into(),
            index: (&l.index).into(),
        }
    }
}

/// A [`Sampling`] as a marker keeps it: the threshold's bits, since serde_json's default
/// float parsing may be one unit in the last place off, and a budget's threshold sits just
/// above one document's draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct ExactSampling {
    whole: u32,
    frac_bits: u64,
    seed: u64,
}

impl From<Sampling> for ExactSampling {
    fn from(s: Sampling) -> Self {
        ExactSampling {
            whole: s.whole,
            frac_bits: s.frac.to_bits(),
            seed: s.seed,
        }
    }
}

impl From<ExactSampling> for Sampling {
    fn from(s: ExactSampling) -> Self {
        Sampling {
            whole: s.whole,
            frac: f64::from_bits(s.frac_bits),
            seed: s.seed,
        }
    }
}

/// What a unit's completion marker records (`info`), so a skipped unit still contributes
/// its counts, input digests and ledgers to the summary and the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct UnitInfo {
    counts: MixCounts,
    inputs: Vec<AttributeInput>,
    attributes: Vec<AttributeInput>,
    ledgers: Vec<LedgerRecord>,
    sampling: Option<ExactSampling>,
    /// The fingerprint of the quality-bucket plan the unit placed its documents by.
    #[serde(skip_serializing_if = "Option::is_none")]
    buckets_plan: Option<String>,
    /// The shuffle spool the unit wrote instead of an output (`global_shuffle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    spool: Option<SpoolInfo>,
}

/// What one output shard of a stream's `global_shuffle` (pass 2) holds; kept in its marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct ShuffleInfo {
    documents: u64,
    text_bytes: u64,
    tokens: u64,
    /// The fingerprint of the stream's pass-1 results it was made from ([`pass1_id`]).
    pass1: String,
}

/// The fingerprint of a shuffled stream's pass-1 results (every unit's summary, in plan
/// order, spools included): the spools' contents follow from them, so an output shard made
/// from other results is made again.
fn pass1_id<'a>(infos: impl Iterator<Item = &'a UnitInfo>) -> String {
    fingerprint(&Value::Array(
        infos
            .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
            .collect(),
    ))
}

/// A shuffled stream's pass 2: its summary row, its manifest stage, its output shards.
struct Shuffled {
    stream: usize,
    line: StageLine,
    counts: StageCounts,
    files: Vec<OutputFile>,
}

/// A unit's results, from this run or from its marker.
struct UnitResult {
    info: UnitInfo,
    output: Option<FileRecord>,
}

/// The fingerprint of a stream's outputs: its normalized config (defaults filled, runtime
/// keys left out; the sampling keys only when given). The data is not in it: each done unit
/// is checked against the inputs it read (paths as planned now, sizes and checksums as they
/// are now), so a changed input makes its unit run again instead of a refusal that blames
/// the config.
fn stream_fingerprint(cfg: &MixerConfig, si: usize) -> String {
    let stream = serde_json::to_value(&cfg.streams[si]).unwrap_or(Value::Null);
    fingerprint(&json!({
        "stage": "mix", "loam": loam_pipeline::VERSION, "shuffle": cfg.shuffle,
        "stream": stream,
    }))
}

/// Whether the ledgers a done unit's marker lists are the ones this run would write
/// (whether they are intact is checked with the unit's other files).
fn ledgers_present(info: &UnitInfo, want: &[String]) -> bool {
    info.ledgers.len() == want.len()
        && info
            .ledgers
            .iter()
            .zip(want)
            .all(|(l, w)| l.ledger.path == *w && l.index.path == index_path(w))
}

/// `path` relative to the directory `base`: below it when it is there, else with `..`
/// (local paths, made absolute from the current directory), else as given.
pub fn relative_to(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix(base).and_then(|r| r.strip_prefix('/')) {
        return rest.to_string();
    }
    if base.contains("://") || path.contains("://") {
        return path.to_string();
    }
    let abs = |p: &str| -> Vec<String> {
        let p = Path::new(p);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out: Vec<String> = Vec::new();
        for c in full.components() {
            match c {
                std::path::Component::Normal(s) => out.push(s.to_string_lossy().to_string()),
                std::path::Component::ParentDir => {
                    out.pop();
                }
                _ => {}
            }
        }
        out
    };
    let (b, p) = (abs(base), abs(path));
    let common = b.iter().zip(&p).take_while(|(x, y)| x == y).count();
    let mut rel: Vec<String> = vec!["..".to_string(); b.len() - common];
    rel.extend(p[common..].iter().cloned());
    rel.join("/")
}

/// The name of an input in the content id: its path below `documents/` (or below
/// `attributes/`, for attribute files), else its file name.
fn content_name(path: &str) -> &str {
    match path.rsplit_once("/attributes/") {
        Some((_, rest)) => rest,
        None => provenance_name(path),
    }
}

/// The config as far as it decides the mix's content: where inputs are read and outputs
/// written does not (the inputs enter the content id by name and checksum).
fn content_config(normalized: &Value) -> Value {
    let mut v = normalized.clone();
    if let Some(Value::Array(streams)) = v.get_mut("streams") {
        for s in streams {
            if let Some(m) = s.as_object_mut() {
                m.remove("documents");
                if let Some(Value::Object(o)) = m.get_mut("output") {
                    o.remove("path");
                }
            }
        }
    }
    v
}

/// The fingerprint of a bucket plan (its breakpoints, rates and per-bucket sampling): a done
/// unit placed by another plan is made again.
fn plan_fingerprint(plan: &loam_mixes::buckets::Plan) -> String {
    let record = plan.record(&BTreeMap::new(), &BTreeMap::new(), "");
    fingerprint(&serde_json::to_value(record).unwrap_or(Value::Null))
}

/// The manifest's `mix.sampling` for the one stream that samples.
fn sampling_record(s: &StreamConfig, sampling: &Sampling, c: &MixCounts) -> SamplingRecord {
    SamplingRecord {
        rate: sampling.rate(),
        seed: s.seed.unwrap_or(0),
        target_tokens: s.max_tokens,
        eligible_tokens: c.eligible_tokens,
    }
}

/// `loam mix -c CONFIG [--manifest-dir DIR]` (and dolma's flags) with a dolma mixer config.
pub fn mix(
    source: &ConfigSource,
    manifest_dir: Option<&str>,
    dolma_bugs: bool,
    opts: RunOptions,
) -> Result<Outcome> {
    // Loading validates everything, filter and span expressions included.
    let (cfg, raw) = source.load::<MixerConfig>()?;
    let label = source.label();
    crate::checks::mix_attributes(&label, &cfg)?;
    crate::checks::warn_ignored(&label, &raw);
    let prior = Prior {
        dolma_bugs,
        ..Prior::default()
    };
    mix_config(source, &cfg, manifest_dir, opts, prior)
}

/// What a recipe's earlier stages add to the mix's manifest.
#[derive(Default)]
pub struct Prior {
    /// Their configs, in run order.
    pub recipe: Vec<loam_manifests::RecipeStage>,
    /// Their counts, in run order (before the mix's own stages).
    pub stages: Vec<StageCounts>,
    /// The models they used.
    pub models: Vec<loam_manifests::ModelFile>,
    /// When the recipe started (the manifest's `run` covers every stage).
    pub started: Option<(Instant, String)>,
    /// Name outputs as dolma 1.2.1 does (`--dolma-bugs`).
    pub dolma_bugs: bool,
}

/// Runs a loaded dolma mixer config; `prior` holds what a recipe's earlier stages ran.
pub fn mix_config(
    source: &ConfigSource,
    cfg: &MixerConfig,
    manifest_dir: Option<&str>,
    opts: RunOptions,
    prior: Prior,
) -> Result<Outcome> {
    let (started, started_at) = prior
        .started
        .clone()
        .unwrap_or_else(|| (Instant::now(), ui::now_rfc3339()));
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        cfg.processes
    };
    let label = source.label();
    let path = label.as_path();
    if cfg.dryrun {
        // dolma prints the config and exits; loam also checks that every input exists.
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        let mut n = 0;
        for (i, s) in cfg.streams.iter().enumerate() {
            let field = format!("{}.documents", index("streams", i));
            n += crate::checks::check_inputs(path, &field, &s.documents)?;
        }
        crate::checks::say_dry_run(path, n);
        return Ok(Outcome {
            warnings: Vec::new(),
            title: format!("loam mix ({}, dry run)", path.display()),
            shards: 0,
            stages: Vec::new(),
            failures: Vec::new(),
            manifest: None,
            elapsed: started.elapsed(),
            started,
            threads,
        });
    }
    let config_bytes = source.bytes()?;
    let streams: Vec<CompiledStream> = cfg
        .streams
        .iter()
        .enumerate()
        .map(|(i, s)| CompiledStream::new(s, &index("streams", i)))
        .collect::<Result<_, _>>()
        .map_err(|errs| {
            usage(
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
    let first = cfg
        .streams
        .first()
        .and_then(|s| s.documents.first())
        .map_or(".", |s| s.as_str());
    let storage: &dyn Storage = storage_for(first)?;
    let mut units = plan(storage, cfg).map_err(|e| match e {
        // A store that cannot be listed is a runtime problem (exit 1), not the config's.
        loam_mixes::dolma_mix::PlanError::Layout {
            source: loam_pipeline::layout::LayoutError::Storage(_),
            ..
        } => Error::from(e),
        _ => usage(e),
    })?;
    let dolma_bugs = prior.dolma_bugs;
    if dolma_bugs {
        loam_mixes::dolma_mix::dolma_output_names(cfg, &mut units);
    }
    // loam's `global_shuffle`: each input of a shuffled stream is a unit of its own that
    // writes a spool (pass 1); the stream's output shards are made from all of them (pass 2).
    let shuffles: Vec<Option<Shuffle>> = cfg
        .streams
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let inputs = units
                .iter()
                .filter(|u| u.stream == si)
                .map(|u| u.inputs.len())
                .sum();
            s.global_shuffle
                .map(|g| g.resolve(s.seed.unwrap_or(0), inputs))
        })
        .collect();
    if shuffles.iter().any(Option::is_some) {
        units = units
            .into_iter()
            .flat_map(|u| match shuffles[u.stream] {
                None => vec![u],
                Some(_) => u
                    .inputs
                    .into_iter()
                    .map(|i| OutputUnit {
                        stream: u.stream,
                        output: String::new(),
                        inputs: vec![i],
                    })
                    .collect(),
            })
            .collect();
    }
    let labels = stream_labels(cfg);

    // Where the manifest and the ledgers go.
    let mdir = match manifest_dir {
        Some(d) if !d.trim_end_matches('/').is_empty() => d.trim_end_matches('/').to_string(),
        Some(_) => return Err(usage("--manifest-dir: empty path")),
        None => {
            let outs: Vec<&str> = cfg.streams.iter().map(|s| s.output.path.as_str()).collect();
            let common = common_dir(&outs).ok_or_else(|| {
                usage(format!(
                    "the streams' output paths ({}) share no directory to put the manifest and ledgers in; give --manifest-dir DIR",
                    outs.join(", ")
                ))
            })?;
            outside_documents(&common)
        }
    };
    // One run at a time in each stream's output directory and the manifest's; a folder of
    // documents gets no lock file of its own (the next stage would glob it): the manifest
    // directory's lock covers it.
    let mut roots: Vec<String> = cfg
        .streams
        .iter()
        .map(|s| s.output.path.clone())
        .filter(|p| !in_documents_folder(&format!("{}/x", p.trim_end_matches('/'))))
        .collect();
    roots.push(mdir.clone());
    roots.sort();
    roots.dedup();
    let _lock = crate::dolma::lock_outputs(&roots, opts)?;
    let manifest_path = format!("{mdir}/manifest.json");
    let ledgers = ledger_paths(cfg, &units, &mdir);
    // A shuffled unit's spool is scratch under the manifest directory, named as its ledger
    // (`<stream>/<rel>`); `<rel>` keys its documents' places in the order. Its marker is kept
    // by its ledger, the unit's lasting output.
    let scratch = format!("{mdir}/.loam/shuffle-scratch");
    let mut spool_names: Vec<Option<String>> = vec![None; units.len()];
    for (i, u) in units.iter_mut().enumerate() {
        let (Some(_), Some(l)) = (shuffles[u.stream], ledgers[i].first()) else {
            continue;
        };
        let rel = l
            .strip_prefix(&format!("{mdir}/ledger/"))
            .and_then(|r| r.strip_suffix(".parquet"))
            .unwrap_or(l);
        u.output = format!("{scratch}/spools/{rel}.spool");
        let name = rel
            .strip_prefix(&format!("{}/", labels[u.stream]))
            .unwrap_or(rel);
        spool_names[i] = Some(name.to_string());
    }
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    {
        let outs: BTreeSet<&str> = outputs.iter().map(String::as_str).collect();
        let ledger_dir = format!("{mdir}/ledger/");
        let clash = outputs
            .iter()
            .find(|o| o.starts_with(&ledger_dir) || **o == manifest_path)
            .cloned()
            .or_else(|| {
                ledgers.iter().flatten().find_map(|l| {
                    let idx = index_path(l);
                    (outs.contains(l.as_str()) || outs.contains(idx.as_str())).then(|| l.clone())
                })
            });
        if let Some(c) = clash {
            return Err(usage(format!(
                "{c}: an output would collide with the manifest or the ledgers in {mdir}; give another --manifest-dir"
            )));
        }
    }

    let fps: Vec<String> = (0..cfg.streams.len())
        .map(|si| stream_fingerprint(cfg, si))
        .collect();
    // Markers beside each output, except in a `documents` folder, which the next stage
    // globs: there they go under the manifest directory.
    let states: Vec<RunState> = units
        .iter()
        .map(
            |u| match shuffles[u.stream].is_some() || in_documents_folder(&u.output) {
                true => RunState::new(storage, &mdir, "mix", &fps[u.stream], opts.overwrite),
                false => RunState::beside_outputs(storage, "mix", &fps[u.stream], opts.overwrite),
            },
        )
        .collect();
    let keys: Vec<String> = units
        .iter()
        .enumerate()
        .map(
            |(i, u)| match (spool_names[i].is_some(), ledgers[i].first()) {
                (true, Some(l)) => l.clone(),
                _ => u.output.clone(),
            },
        )
        .collect();
    let mut done = Units::<UnitInfo>::check_each(states, keys).map_err(units_error)?;
    // A done unit whose ledgers are missing (made before loam wrote them, or for another
    // manifest directory) is made again: same bytes, and its ledgers.
    done.redo_if(|i, _, info| !ledgers_present(info, &ledgers[i]));
    // A unit whose planned inputs are not the ones it read (inputs added, removed, or
    // packed otherwise since) is made again.
    done.redo_if(|i, _, info| {
        !info
            .inputs
            .iter()
            .map(|f| f.path.as_str())
            .eq(units[i].inputs.iter().map(|f| f.documents.as_str()))
    });
    let exec = Executor::new(threads)?;
    // Outputs, ledgers and every input read are checked against what the markers recorded:
    // anything changed since makes its unit run again.
    done.verify_outputs(storage, &exec, opts.part.units);
    done.verify_inputs(storage, &exec, |info| {
        let read = info.inputs.iter().chain(&info.attributes);
        let written = info.ledgers.iter().flat_map(|l| [&l.ledger, &l.index]);
        Some(
            read.map(|f| (f.path.clone(), f.digest.clone()))
                .chain(written.map(|f| (f.path.clone(), f.digest.clone())))
                .collect(),
        )
    });
    let mut failures: Vec<Failure> = Vec::new();

    // A dry run of one stream's units, in parallel (a token budget's or its buckets'
    // counting pass): each unit's report, or `None` when one failed (named in `failures`).
    let counting_pass = |si: usize,
                         buckets: Option<BucketsMode>,
                         label: &str,
                         failures: &mut Vec<Failure>|
     -> Option<Vec<(usize, loam_mixes::dolma_mix::UnitReport)>> {
        let mine: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].stream == si)
            .collect();
        let count = MixOptions {
            sampling: Some(Sampling::from_rate(1.0, cfg.streams[si].seed.unwrap_or(0))),
            dry_run: true,
            buckets,
            ..Default::default()
        };
        let bar = crate::progress::stage_bar(label);
        let reps = exec.map(&mine, |&i| {
            loam_pipeline::units::contain(|| {
                let r = mix_unit_with(storage, &units[i], &streams[si], &count, &bar);
                match r.scan.failed() {
                    true => Err(ui::scan_errors(&r.scan)),
                    false => Ok(r),
                }
            })
        });
        bar.finish_and_clear();
        let mut out = Vec::with_capacity(mine.len());
        let mut ok = true;
        for (k, r) in reps.into_iter().enumerate() {
            match r {
                Ok(r) => out.push((mine[k], r)),
                Err(e) => {
                    ok = false;
                    failures.push(Failure::new(label, &units[mine[k]].output, e));
                }
            }
        }
        ok.then_some(out)
    };

    // Sampling per stream: a fixed rate, or the rate a token budget needs, from a counting
    // pass over the stream's eligible documents (or from the markers when every unit is
    // done).
    let mut samplings: Vec<Option<Sampling>> = cfg.streams.iter().map(stream_sampling).collect();
    let mut blocked = vec![false; cfg.streams.len()];
    // A BPE's counts from the counting pass, per unit, so the mix pass does not encode again.
    let mut counted: Vec<Option<std::sync::Arc<[u32]>>> = vec![None; units.len()];
    for (si, s) in cfg.streams.iter().enumerate() {
        let Some(target) = s.max_tokens else { continue };
        let mine: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].stream == si)
            .collect();
        let recorded = mine
            .iter()
            .find_map(|&i| done.done(i).and_then(|(_, info)| info.sampling))
            .map(Sampling::from);
        let all_done = mine.iter().all(|&i| done.done(i).is_some());
        if let (true, Some(r)) = (all_done, recorded) {
            samplings[si] = Some(r);
            continue;
        }
        let seed = s.seed.unwrap_or(0);
        let Some(reps) = counting_pass(si, None, "mix (token budget)", &mut failures) else {
            blocked[si] = true;
            continue;
        };
        let mut draws: Vec<(f64, u64)> = Vec::new();
        for (i, r) in reps {
            counted[i] = streams[si].tokenizer.keep_counts(&r.draws).map(Into::into);
            draws.extend(r.draws);
        }
        samplings[si] = Some(Sampling::for_budget(target, &mut draws, seed));
    }
    // Quality buckets (a stream's `buckets`, loam only): a counting pass collects every
    // eligible document's group, score and tokens; the plan computed from all of them in
    // sorted order is the same whatever the thread count, and every unit places its
    // documents by it.
    let mut plans: Vec<Option<std::sync::Arc<loam_mixes::buckets::Plan>>> =
        vec![None; cfg.streams.len()];
    for (si, s) in cfg.streams.iter().enumerate() {
        let Some(bc) = &s.buckets else { continue };
        let mode = BucketsMode::Count(std::sync::Arc::new(bc.clone()));
        let Some(reps) = counting_pass(si, Some(mode), "mix (buckets)", &mut failures) else {
            blocked[si] = true;
            continue;
        };
        let mut docs = Vec::new();
        for (i, r) in reps {
            counted[i] = streams[si].tokenizer.keep_counts(&r.draws).map(Into::into);
            docs.extend(r.bucket_docs);
        }
        let plan = loam_mixes::buckets::Plan::compute(bc, s.seed.unwrap_or(0), docs);
        plans[si] = Some(std::sync::Arc::new(plan));
    }
    let plan_ids: Vec<Option<String>> = plans
        .iter()
        .map(|p| p.as_ref().map(|p| plan_fingerprint(p)))
        .collect();

    // A done unit sampled otherwise than this run would sample (a budget's rate computed
    // from inputs that changed without changing size) is made again.
    done.redo_if(|i, _, info| {
        info.sampling.map(Sampling::from) != samplings[units[i].stream]
            || info.buckets_plan != plan_ids[units[i].stream]
    });
    // `global_shuffle`, pass 2: one unit per output shard of each shuffled stream.
    let bucket_units: Vec<(usize, u32, String)> = shuffles
        .iter()
        .enumerate()
        .filter_map(|(si, sh)| Some((si, (*sh)?)))
        .flat_map(|(si, sh)| {
            let s = &cfg.streams[si];
            let base = s.output.path.trim_end_matches('/');
            let ext = s.compression.output_extension();
            (0..sh.buckets).map(move |b| (si, b, format!("{base}/{}-{b:05}.jsonl{ext}", s.name)))
        })
        .collect();
    let bucket_states: Vec<RunState> = bucket_units
        .iter()
        .map(|(si, _, _)| RunState::new(storage, &mdir, "shuffle", &fps[*si], opts.overwrite))
        .collect();
    let mut buckets = Units::<ShuffleInfo>::check_each(
        bucket_states,
        bucket_units.iter().map(|(_, _, o)| o.clone()).collect(),
    )
    .map_err(units_error)?;
    buckets.verify_outputs(storage, &exec, loam_pipeline::units::Part::default());
    for (si, sh) in shuffles.iter().enumerate() {
        if sh.is_none() {
            continue;
        }
        // A stream's output shards stand only when they were made from the pass-1 results
        // the markers hold now; else they are all made again. Any to make needs every
        // spool: a done unit whose spool is gone is made again (same bytes).
        let mine: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].stream == si)
            .collect();
        let infos: Option<Vec<&UnitInfo>> =
            mine.iter().map(|&i| done.done(i).map(|d| d.1)).collect();
        let current = infos.map(|v| pass1_id(v.into_iter()));
        let of_stream: Vec<usize> = (0..bucket_units.len())
            .filter(|&b| bucket_units[b].0 == si)
            .collect();
        let standing = current.as_ref().is_some_and(|c| {
            of_stream
                .iter()
                .all(|&b| buckets.done(b).is_none_or(|(_, info)| info.pass1 == *c))
        });
        if !standing {
            buckets.redo_if(|b, _, _| bucket_units[b].0 == si);
        }
        if of_stream.iter().any(|&b| buckets.done(b).is_none()) {
            done.redo_if(|i, _, info| {
                units[i].stream == si
                    && info.spool.as_ref().is_some_and(|sp| {
                        sp.path != units[i].output
                            || !matches!(storage.size(&sp.path), Ok(Some(n)) if n == sp.bytes)
                    })
            });
        }
    }
    let todo: Vec<usize> = done
        .todo(opts.part.units)
        .into_iter()
        .filter(|&i| !blocked[units[i].stream])
        .collect();
    if !todo.is_empty() || !failures.is_empty() {
        // The manifest describes a complete mix: an old one goes before anything changes.
        storage
            .delete(&manifest_path)
            .with_context(|| format!("removing the previous {manifest_path}"))?;
    }
    let bar = crate::progress::unit_bar(
        "mix",
        storage,
        &exec,
        units.len(),
        &todo,
        |i| {
            units[i]
                .inputs
                .iter()
                .flat_map(|f| std::iter::once(&f.documents).chain(&f.attributes))
                .map(String::as_str)
                .collect()
        },
        Default::default(),
    );
    let results = done.run(&exec, &todo, |i| {
        let u = &units[i];
        let mo = MixOptions {
            sampling: samplings[u.stream],
            dry_run: false,
            ledgers: ledgers[i].clone(),
            counted: counted[i].clone(),
            buckets: plans[u.stream].clone().map(BucketsMode::Apply),
            spool: spool_names[i].clone().zip(shuffles[u.stream]),
            dolma_bugs,
            ..Default::default()
        };
        let rep = mix_unit_with(storage, u, &streams[u.stream], &mo, &bar);
        bar.done(i, rep.counts.text_bytes);
        if rep.scan.failed() {
            return Err(ui::scan_errors(&rep.scan));
        }
        let info = UnitInfo {
            counts: rep.counts.clone(),
            inputs: rep.inputs.clone(),
            attributes: rep.attributes.clone(),
            ledgers: rep.ledgers.iter().map(LedgerRecord::from).collect(),
            sampling: samplings[u.stream].map(ExactSampling::from),
            buckets_plan: plan_ids[u.stream].clone(),
            spool: rep.spool.clone(),
        };
        if spool_names[i].is_some() {
            // A spool unit's marker is kept by its ledger, its lasting output.
            let output = rep.ledgers.first().map(|l| l.ledger.clone());
            return Ok(Made { output, info });
        }
        if rep.output.is_none() {
            // Nothing kept: leave no stale file from an earlier run behind.
            if let Ok(Some(_)) = storage.size(&u.output) {
                storage.delete(&u.output).map_err(|e| e.to_string())?;
            }
        }
        Ok(Made {
            output: rep.output,
            info,
        })
    });
    bar.finish_and_clear();

    // Every unit's results, in plan order: this run's, or its marker's.
    let mut finished: BTreeMap<usize, UnitResult> = BTreeMap::new();
    let mut ran = vec![0usize; cfg.streams.len()];
    let mut total = vec![0usize; cfg.streams.len()];
    for u in &units {
        total[u.stream] += 1;
    }
    for &i in &todo {
        ran[units[i].stream] += 1;
    }
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Unit::Done { marker, info, .. } => {
                let output = marker.digest.filter(|_| spool_names[i].is_none());
                let output = output.map(|d| FileRecord {
                    path: units[i].output.clone(),
                    records: marker.records,
                    digest: d,
                });
                finished.insert(i, UnitResult { info, output });
            }
            Unit::Failed(e) => {
                // A spool is scratch: the input names the unit.
                let name = match (&spool_names[i], units[i].inputs.first()) {
                    (Some(_), Some(input)) => &input.documents,
                    _ => &units[i].output,
                };
                failures.push(Failure::new("mix", name, e));
            }
            Unit::Skipped => {}
        }
    }
    let done = finished;
    let mut per_stream: Vec<MixCounts> = vec![MixCounts::default(); cfg.streams.len()];
    for (&i, r) in &done {
        per_stream[units[i].stream].add(&r.info.counts);
    }

    // ---- `global_shuffle`, pass 2: each output shard from every spool of its stream ----
    // Only when every unit of the stream is done (a cluster task with its share of the
    // units leaves it to the final run, which finds them all done).
    let ready: Vec<bool> = (0..cfg.streams.len())
        .map(|si| {
            shuffles[si].is_some()
                && opts.part.units.world <= 1
                && (0..units.len())
                    .filter(|&i| units[i].stream == si)
                    .all(|i| done.contains_key(&i))
        })
        .collect();
    let pass1: Vec<String> = (0..cfg.streams.len())
        .map(|si| match ready[si] {
            true => pass1_id(
                done.iter()
                    .filter(|(&i, _)| units[i].stream == si)
                    .map(|(_, r)| &r.info),
            ),
            false => String::new(),
        })
        .collect();
    // Spools in canonical input order: the order equal keys keep.
    let spools: Vec<Vec<SpoolInfo>> = (0..cfg.streams.len())
        .map(|si| {
            done.iter()
                .filter(|(&i, _)| units[i].stream == si)
                .filter_map(|(_, r)| r.info.spool.clone())
                .collect()
        })
        .collect();
    let bucket_todo: Vec<usize> = buckets
        .todo(loam_pipeline::units::Part::default())
        .into_iter()
        .filter(|&b| ready[bucket_units[b].0])
        .collect();
    let mut shuffled: Vec<Shuffled> = Vec::new();
    let mut shuffles_complete = true;
    if ready.iter().any(|&r| r) {
        let bar = crate::progress::stage_bar("shuffle");
        let results = buckets.run(&exec, &bucket_todo, |b| {
            let (si, bucket, ref output) = bucket_units[b];
            let runs = format!("{scratch}/runs/{}", labels[si]);
            let job = BucketJob {
                shuffle: shuffles[si].ok_or("not a shuffled stream")?,
                bucket,
                spools: &spools[si],
                output,
                scratch: &runs,
                memory: SORT_MEMORY_BYTES,
            };
            let rep = write_bucket(storage, &job, &bar).map_err(|e| e.to_string())?;
            let info = ShuffleInfo {
                documents: rep.documents,
                text_bytes: rep.text_bytes,
                tokens: rep.tokens,
                pass1: pass1[si].clone(),
            };
            Ok(Made {
                output: rep.output,
                info,
            })
        });
        bar.finish_and_clear();
        let mut per: BTreeMap<usize, (u64, u64, usize, Vec<OutputFile>)> = BTreeMap::new();
        for (b, u) in results.into_iter().enumerate() {
            let (si, _, ref out) = bucket_units[b];
            if !ready[si] {
                continue;
            }
            let (marker, info) = match u {
                Unit::Done { marker, info, .. } => (marker, info),
                Unit::Failed(e) => {
                    failures.push(Failure::new("shuffle", out, e));
                    continue;
                }
                Unit::Skipped => continue,
            };
            let e = per.entry(si).or_default();
            e.0 += info.documents;
            e.1 += info.text_bytes;
            e.2 += 1;
            if let Some(d) = marker.digest {
                e.3.push(OutputFile {
                    path: relative_to(&mdir, out),
                    kind: loam_manifests::OutputKind::Documents,
                    documents: marker.records,
                    tokens: Some(info.tokens),
                    digest: d,
                });
            }
        }
        for (si, (docs, bytes, written, files)) in per {
            let Some(sh) = shuffles[si] else { continue };
            let n = bucket_units.iter().filter(|u| u.0 == si).count();
            shuffles_complete &= written == n;
            let ran = bucket_todo
                .iter()
                .filter(|&&b| bucket_units[b].0 == si)
                .count();
            let (label, n_shards, seed) = (&labels[si], sh.buckets, sh.seed);
            let line = StageLine::pass_through(
                loam_manifests::StageKind::Shuffle,
                format!("shuffle {label} ({n_shards} shards, seed {seed})"),
                docs,
                bytes,
                ran,
                n,
            );
            // The manifest names stages `<kind>:<stream>`, as the mix's own.
            let counts = StageCounts {
                stage: format!("shuffle:{label} ({n_shards} shards, seed {seed})"),
                ..line.counts()
            };
            shuffled.push(Shuffled {
                stream: si,
                line,
                counts,
                files,
            });
        }
    }
    shuffles_complete &= (0..cfg.streams.len()).all(|si| shuffles[si].is_none() || ready[si])
        && shuffled.len() == shuffles.iter().filter(|s| s.is_some()).count();
    if shuffles_complete && shuffles.iter().any(Option::is_some) {
        remove_scratch(storage, &scratch)
            .with_context(|| format!("removing the shuffle's scratch files in {scratch}"))?;
    }
    let stages = cfg
        .streams
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let c = &per_stream[si];
            let mut by_rule = c.dropped.clone();
            if c.edited > 0 {
                // Edited documents are kept: shown with no drops.
                by_rule.insert(
                    format!("span_replacement (edited {} docs)", c.edited),
                    Default::default(),
                );
            }
            if c.clamped_spans > 0 {
                by_rule.insert(
                    format!(
                        "span_replacement: {} span(s) ending past their text, cut at its end (dolma 1.2.1's paragraph dedupe writes them; its mixer reads them so)",
                        c.clamped_spans
                    ),
                    Default::default(),
                );
            }
            if c.overlapping_spans > 0 {
                by_rule.insert(
                    format!(
                        "span_replacement: {} span(s) skipped, overlapping another replacer's span (dolma's rule; tail kept)",
                        c.overlapping_spans
                    ),
                    Default::default(),
                );
            }
            let name = match &samplings[si] {
                Some(x) => format!("mix {} (sample rate {:.6})", s.name, x.rate()),
                None => format!("mix {}", s.name),
            };
            StageLine::new(
                loam_manifests::StageKind::Mix,
                name,
                c.documents,
                c.kept,
                c.text_bytes,
                c.kept_text_bytes,
                by_rule,
                ran[si],
                total[si],
            )
            .with_order(filter_rule_names(s))
        })
        .collect::<Vec<_>>();
    // A shuffled stream's shuffle follows its mix.
    let stages = stages
        .into_iter()
        .enumerate()
        .flat_map(|(si, line)| {
            let extra: Vec<StageLine> = shuffled
                .iter()
                .filter(|x| x.stream == si)
                .map(|x| x.line.clone())
                .collect();
            std::iter::once(line).chain(extra)
        })
        .collect();
    // Only over the whole mix: a cluster task's share says nothing about a filter.
    let mut warnings = match done.len() == units.len() {
        true => filter_warnings(cfg, &per_stream),
        false => Vec::new(),
    };
    if done.len() == units.len() {
        // Files named like a stream's outputs that this run did not write (an earlier run
        // had more outputs): a glob over the output directory would read them too.
        let mut ours: BTreeSet<&str> = units
            .iter()
            .enumerate()
            .filter(|(i, _)| spool_names[*i].is_none())
            .map(|(_, u)| u.output.as_str())
            .collect();
        ours.extend(bucket_units.iter().map(|(_, _, o)| o.as_str()));
        for (si, s) in cfg.streams.iter().enumerate() {
            if cfg.shuffle || shuffles[si].is_some() {
                warnings.extend(stray_outputs(storage, s, &ours));
            }
        }
    }

    // ---- manifest: only for a complete mix, written last ----
    // A cluster task (one stage of a recipe) leaves the manifest to the final run.
    let complete = failures.is_empty() && done.len() == units.len() && shuffles_complete;
    let manifest = if complete && opts.part.stage.is_none() {
        // The bucketed stream's breakpoints, rates, and tokens per bucket before and after.
        let buckets = plans.iter().enumerate().find_map(|(si, p)| {
            let plan = p.as_ref()?;
            let c = &per_stream[si];
            Some(plan.record(&c.buckets, &c.dropped, streams[si].tokenizer.name()))
        });
        let m = build_manifest(
            path,
            &config_bytes,
            cfg,
            &units,
            &done,
            &per_stream,
            &samplings,
            buckets,
            &shuffled,
            &labels,
            &mdir,
            prior,
            &warnings,
            ui::RunMeta {
                started_at,
                duration_secs: started.elapsed().as_secs_f64(),
                threads: exec.threads(),
            },
        );
        write_atomic(storage, &manifest_path, m.to_json().as_bytes())?;
        Some(manifest_path)
    } else {
        None
    };
    Ok(Outcome {
        warnings,
        title: format!("loam mix ({})", path.display()),
        shards: units.iter().map(|u| u.inputs.len()).sum(),
        stages,
        failures,
        manifest,
        elapsed: started.elapsed(),
        started,
        threads: exec.threads(),
    })
}

/// Files directly in a stream's output directory named like its outputs
/// (`<name>-<digits>.json…`) that are not among `ours`, as warnings.
fn stray_outputs(storage: &dyn Storage, s: &StreamConfig, ours: &BTreeSet<&str>) -> Vec<String> {
    let dir = s.output.path.trim_end_matches('/');
    let Ok(listed) = storage.list(dir) else {
        return Vec::new();
    };
    let like_ours = |file: &str| {
        file.strip_prefix(&format!("{}-", s.name))
            .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
            .is_some_and(|tail| {
                tail.starts_with(".json") && file.len() > s.name.len() + 1 + tail.len()
            })
    };
    listed
        .iter()
        .filter_map(|o| {
            let (parent, file) = o.path.rsplit_once('/')?;
            (parent == dir && like_ours(file) && !ours.contains(o.path.as_str())).then(|| {
                format!(
                    "stream `{}`: {} is named like this stream's outputs but this run did not write it (left by an earlier run with more outputs?); a glob over {dir} reads it too",
                    s.name, o.path
                )
            })
        })
        .collect()
}

/// The default manifest directory for outputs under `common`: `common` itself, or, when it
/// is a `documents` folder (dolma's usual `output.path: …/documents`), its parent, so that
/// `manifest.json`, `ledger/` and `.loam/` sit beside `documents/` rather than among the
/// documents the next stage's `documents/*` glob reads.
fn outside_documents(common: &str) -> String {
    let trimmed = common.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, "documents")) if !parent.is_empty() && !parent.ends_with(":/") => {
            parent.to_string()
        }
        Some(("", "documents")) => "/".to_string(),
        None if trimmed == "documents" => ".".to_string(),
        _ => common.to_string(),
    }
}

/// Whether an output path lies in (or below) a folder named `documents`.
fn in_documents_folder(output: &str) -> bool {
    let dir = output.rsplit_once('/').map_or("", |(d, _)| d);
    dir.split('/').any(|c| c == "documents")
}

/// A stream's filter rules as counts name them, in config order: `filter.include` (when
/// there are include patterns), then `filter.exclude[i] <expr>`.
fn filter_rule_names(s: &StreamConfig) -> Vec<String> {
    let Some(f) = &s.filter else {
        return Vec::new();
    };
    let include = (!f.include.is_empty()).then(|| loam_mixes::dolma_mix::INCLUDE_RULE.to_string());
    include
        .into_iter()
        .chain(
            f.exclude
                .iter()
                .enumerate()
                .map(|(i, e)| format!("filter.exclude[{i}] {e}")),
        )
        .collect()
}

/// A warning per exclude pattern that dropped nothing and per attribute the filter or span
/// replacements read that no document had (skipped for counts replayed from markers of
/// versions that did not count attributes).
fn filter_warnings(cfg: &MixerConfig, per_stream: &[MixCounts]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, c) in cfg.streams.iter().zip(per_stream) {
        if c.documents == 0 {
            continue;
        }
        if c.attributes_counted == c.documents {
            for (a, n) in &c.attributes_seen {
                if *n == 0 {
                    out.push(format!(
                        "stream `{}`: attribute `{a}` was absent in every document ({}); the filters reading it never saw it",
                        s.name, c.documents
                    ));
                }
            }
        }
        if let Some(f) = &s.filter {
            for (i, e) in f.exclude.iter().enumerate() {
                let name = format!("filter.exclude[{i}] {e}");
                if c.dropped
                    .get(&name)
                    .is_none_or(|r| r.documents_dropped == 0)
                {
                    out.push(format!(
                        "stream `{}`: filter.exclude[{i}] dropped nothing (of {} documents)",
                        s.name, c.documents
                    ));
                }
            }
        }
    }
    out
}

/// The manifest of a complete `loam mix -c` run: `loam run`'s [`Manifest`], with
/// `mix.label` [`DOLMA_MIX_LABEL`], a `mix:<stream>` stage per stream (and an
/// `edit:<stream>` stage for streams with span replacements), and output paths relative to
/// the manifest directory.
#[allow(clippy::too_many_arguments)]
fn build_manifest(
    config_path: &Path,
    config_bytes: &[u8],
    cfg: &MixerConfig,
    units: &[OutputUnit],
    done: &BTreeMap<usize, UnitResult>,
    per_stream: &[MixCounts],
    samplings: &[Option<Sampling>],
    buckets: Option<loam_manifests::BucketsRecord>,
    shuffled: &[Shuffled],
    labels: &[String],
    mdir: &str,
    prior: Prior,
    warnings: &[String],
    meta: ui::RunMeta,
) -> Manifest {
    let mut normalized = serde_json::to_value(cfg).unwrap_or(Value::Null);
    if let Some(o) = normalized.as_object_mut() {
        for k in MixerConfig::runtime_keys() {
            o.remove(*k);
        }
    }
    // Inputs: every document and attribute file, with its checksum and line count.
    let mut inputs: BTreeMap<String, InputFile> = BTreeMap::new();
    let mut content_inputs: Vec<Value> = Vec::new();
    for (&i, r) in done {
        let stream = units[i].stream;
        for (role, files) in [
            (loam_manifests::InputRole::Documents, &r.info.inputs),
            (loam_manifests::InputRole::Attributes, &r.info.attributes),
        ] {
            for f in files {
                content_inputs.push(json!([
                    stream,
                    role.as_str(),
                    content_name(&f.path),
                    f.digest.sha256
                ]));
                inputs.insert(
                    f.path.clone(),
                    InputFile {
                        path: f.path.clone(),
                        role,
                        digest: f.digest.clone(),
                        lines: f.lines,
                    },
                );
            }
        }
    }
    let content_id = fingerprint(&json!({
        "config": content_config(&normalized), "loam": loam_pipeline::VERSION,
        "inputs": content_inputs,
    }));
    // Outputs: document shards, ledgers, id indexes.
    let mut outputs: Vec<OutputFile> = Vec::new();
    for r in done.values() {
        if let Some(o) = &r.output {
            outputs.push(OutputFile {
                path: relative_to(mdir, &o.path),
                kind: loam_manifests::OutputKind::Documents,
                documents: o.records,
                tokens: Some(r.info.counts.kept_tokens),
                digest: o.digest.clone(),
            });
        }
        for l in &r.info.ledgers {
            for (kind, f) in [
                (loam_manifests::OutputKind::Ledger, &l.ledger),
                (loam_manifests::OutputKind::Index, &l.index),
            ] {
                outputs.push(OutputFile {
                    path: relative_to(mdir, &f.path),
                    kind,
                    documents: f.records,
                    tokens: None,
                    digest: f.digest.clone(),
                });
            }
        }
    }
    // A shuffled stream's documents are its shuffled shards.
    outputs.extend(shuffled.iter().flat_map(|x| x.files.iter().cloned()));
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut stages = Vec::new();
    for (si, s) in cfg.streams.iter().enumerate() {
        let c = &per_stream[si];
        let label = &labels[si];
        let stage = match &samplings[si] {
            Some(x) => match s.max_tokens {
                Some(t) => format!(
                    "mix:{label} (sample rate {} for max_tokens {t} of {} eligible tokens, seed {})",
                    x.rate(),
                    c.eligible_tokens,
                    x.seed
                ),
                None => format!("mix:{label} (sample rate {}, seed {})", x.rate(), x.seed),
            },
            None => format!("mix:{label}"),
        };
        stages.push(StageCounts {
            stage,
            kind: Some(loam_manifests::StageKind::Mix),
            documents_in: c.documents,
            documents_out: c.kept,
            text_bytes_in: c.text_bytes,
            text_bytes_out: c.kept_text_bytes,
            by_rule: c.dropped.clone(),
        });
        if !s.span_replacement.is_empty() {
            // Span replacement removes no document: this stage counts the documents it ran
            // on (those the filter passed) and, out, those whose text it changed, with their
            // text bytes before and after; by replacer, the documents each changed (one
            // changed by several counts under each, as its ledger row names them all).
            let by_rule = c
                .edited_by
                .iter()
                .map(|(r, &n)| {
                    let counts = RuleCounts {
                        documents_edited: n,
                        ..Default::default()
                    };
                    (r.clone(), counts)
                })
                .collect();
            stages.push(StageCounts {
                stage: format!("edit:{label}"),
                kind: Some(loam_manifests::StageKind::Edit),
                documents_in: c.passed_filter,
                documents_out: c.edited,
                text_bytes_in: c.edited_text_bytes_in,
                text_bytes_out: c.edited_text_bytes_out,
                by_rule,
            });
        }
        stages.extend(
            shuffled
                .iter()
                .filter(|x| x.stream == si)
                .map(|x| x.counts.clone()),
        );
    }
    let sampled: Vec<usize> = (0..cfg.streams.len())
        .filter(|&si| samplings[si].is_some())
        .collect();
    let sampling = match sampled.as_slice() {
        [si] => samplings[*si]
            .as_ref()
            .map(|x| sampling_record(&cfg.streams[*si], x, &per_stream[*si])),
        _ => None,
    };
    let mut models = prior.models;
    models.sort_by(|a, b| (&a.path, &a.used_by).cmp(&(&b.path, &b.used_by)));
    models.dedup();
    let stages: Vec<StageCounts> = prior.stages.into_iter().chain(stages).collect();
    let name = config_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| cfg.streams.first().map(|s| s.name.clone()))
        .unwrap_or_else(|| "mix".into());
    Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: ui::tool_info(),
        mix: MixRecord {
            name,
            label: DOLMA_MIX_LABEL.into(),
            content_id,
            sampling,
            buckets,
        },
        hashes: HashAlgorithms::default(),
        config: ui::config_record(config_path, config_bytes, normalized),
        inputs: inputs.into_values().collect(),
        models,
        outputs,
        stages,
        parents: Vec::new(),
        recipe: prior.recipe,
        warnings: warnings.to_vec(),
        tokens: None,
        run: meta.info(mdir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_goes_beside_a_documents_folder() {
        assert_eq!(outside_documents("out/mixed/documents"), "out/mixed");
        assert_eq!(outside_documents("out/mixed/documents/"), "out/mixed");
        assert_eq!(outside_documents("s3://b/x/documents"), "s3://b/x");
        assert_eq!(outside_documents("documents"), ".");
        assert_eq!(outside_documents("/documents"), "/");
        assert_eq!(outside_documents("out/mixed"), "out/mixed");
        assert!(in_documents_folder("out/m/documents/a-0000.json.gz"));
        assert!(in_documents_folder("out/m/documents/sub/a.json.gz"));
        assert!(!in_documents_folder("out/m/a-0000.json.gz"));
    }

    #[test]
    fn relative_paths_from_the_manifest_directory() {
        assert_eq!(relative_to("out", "out/a/x.gz"), "a/x.gz");
        assert_eq!(relative_to("out/", "out/x.gz"), "x.gz");
        assert_eq!(relative_to("/m/p", "/m/q/x.gz"), "../q/x.gz");
        assert_eq!(relative_to("/m/p", "/x.gz"), "../../x.gz");
        assert_eq!(relative_to("s3://b/m", "s3://b/m/x.gz"), "x.gz");
        assert_eq!(relative_to("s3://b/m", "s3://b/o/x.gz"), "s3://b/o/x.gz");
    }

    #[test]
    fn content_config_leaves_out_locations() {
        let v = json!({"streams": [{"name": "s", "documents": ["a"], "output": {"path": "o", "max_size_in_bytes": 1}}], "shuffle": true});
        assert_eq!(
            content_config(&v),
            json!({"streams": [{"name": "s", "output": {"max_size_in_bytes": 1}}], "shuffle": true})
        );
        assert_eq!(content_name("/d/attributes/pii/a/0.gz"), "pii/a/0.gz");
        assert_eq!(content_name("/d/documents/a/0.gz"), "a/0.gz");
    }
}
