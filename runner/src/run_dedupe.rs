//! The `dedupe:` stage of `loam run`: one section compiled onto the dedup engine the dolma
//! front end (`loam dedupe -c`) uses — exact keys ([`loam_dedup::exact`]), a Bloom filter
//! ([`loam_dedup::engine`], the job built from the section as the dolma config it is) or
//! MinHash ([`loam_dedup::minhash`], signatures as resumable units of their own).

use crate::dolma::units_error;
use crate::error::{Error, Result};
use crate::outcome::{self as ui, Failure, StageLine};
use crate::phases::{PhaseInfo, Section, Step};
use crate::pipeline_config::{default_filter_file, DedupeKind, DedupeStage};
use crate::run::{incomplete, RunOptions, Shard, Stage};
use loam_dedup::engine::{self, Job, Mode};
use loam_dedup::exact::{dedupe_documents, DedupKey, DedupUnit, Keep, ShardKeys};
use loam_manifests::{fingerprint, FileDigest, ModelFile, RuleCounts};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::runstate::RunState;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::Storage;
use loam_pipeline::units::{Made, Unit, Units};
use loam_pipeline::writer::WrittenShard;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// What a dedupe unit's marker keeps. Fields added after the exact stage are left out when
/// zero, so its markers read the same.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DedupInfo {
    /// The input read, and its digest: a changed input redoes the stage.
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    input_digest: Option<FileDigest>,
    pub(crate) documents: u64,
    pub(crate) text_bytes: u64,
    /// Documents marked (whole-document modes), or with a duplicate span (paragraphs).
    duplicates: u64,
    /// Text bytes of the documents marked whole.
    duplicate_text_bytes: u64,
    /// Duplicate paragraph spans written.
    #[serde(default, skip_serializing_if = "is_zero")]
    duplicate_spans: u64,
    /// Code points under them.
    #[serde(default, skip_serializing_if = "is_zero")]
    duplicate_chars: u64,
    /// A named Bloom filter file that existed before the stage ran (an input of every
    /// decision), as the stage left it (recorded in the manifest's `models`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<(String, FileDigest)>,
    /// MinHash: clusters of more than one document in the whole stage (kept so a rerun's
    /// summary and manifest say the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clusters: Option<u64>,
    /// MinHash verification's counts (the whole stage's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verify: Option<loam_dedup::lsh::VerifyCounts>,
    /// Partitioned MinHash: the files the marks read besides the input (component map,
    /// signature and verification files); a changed one redoes the unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    read: Vec<(String, FileDigest)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl DedupInfo {
    fn new(scan: &loam_pipeline::shard::ScanReport) -> DedupInfo {
        DedupInfo {
            input: Some(scan.path.clone()),
            input_digest: scan.digest.clone(),
            documents: scan.documents,
            text_bytes: scan.text_bytes,
            ..Default::default()
        }
    }

    /// A Bloom filter (or exact key set) unit's counts, from its shard's outcome; `filter`:
    /// the filter file's record when it existed before the stage.
    fn of(rep: &engine::ShardOutcome, filter: Option<(String, FileDigest)>) -> DedupInfo {
        DedupInfo {
            duplicates: rep.duplicate_documents,
            duplicate_text_bytes: rep.duplicate_document_bytes,
            duplicate_spans: rep.duplicate_spans,
            duplicate_chars: rep.duplicate_chars,
            filter,
            ..DedupInfo::new(&rep.scan)
        }
    }
}

/// The engine a section compiles to.
enum Engine {
    Exact(DedupKey, loam_dedup::exact::Keep),
    /// `owned`: the filter is the run's own (no `bloom_filter.file`), made fresh each time.
    Bloom {
        job: Job,
        owned: bool,
    },
    MinHash(loam_dedup::config::MinHashConfig),
    Substring(loam_dedup::substr::SubstringConfig),
}

impl Engine {
    fn build(dcfg: &DedupeStage, out_root: &str, inputs: Vec<String>) -> Result<Engine> {
        Ok(match dcfg.kind() {
            DedupeKind::Exact => {
                let key = dcfg.documents.as_ref().map_or("$.text", |d| d.key.as_str());
                let keep = match &dcfg.documents {
                    Some(d) => d.keep().map_err(|e| Error::Usage(e.to_string()))?,
                    None => loam_dedup::exact::Keep::First,
                };
                Engine::Exact(
                    DedupKey::parse(key).map_err(|e| Error::Usage(e.to_string()))?,
                    keep,
                )
            }
            DedupeKind::Bloom if dcfg.bloom_filter.is_none() => {
                // Paragraphs without a Bloom filter: the same engine over an exact key set.
                let mut job = Job::exact_from_config(&dcfg.dolma_config(inputs, String::new()))
                    .map_err(|e| Error::Usage(format!("dedupe: {e}")))?;
                job.dolma_bugs = dcfg.dolma_bugs;
                Engine::Bloom { job, owned: false }
            }
            DedupeKind::Bloom => {
                let file = dcfg.bloom_filter.as_ref().and_then(|b| b.file.clone());
                let owned = file.is_none();
                let file = file.unwrap_or_else(|| default_filter_file(out_root, &dcfg.name));
                let mut job = Job::from_config(&dcfg.dolma_config(inputs, file))
                    .map_err(|e| Error::Usage(format!("dedupe: {e}")))?;
                job.dolma_bugs = dcfg.dolma_bugs;
                Engine::Bloom { job, owned }
            }
            DedupeKind::MinHash => match &dcfg.minhash {
                Some(m) => Engine::MinHash(m.clone()),
                None => return Err(Error::Usage("dedupe.minhash: missing".into())),
            },
            DedupeKind::Substring => match &dcfg.substring {
                Some(c) => Engine::Substring(c.clone()),
                None => return Err(Error::Usage("dedupe.substring: missing".into())),
            },
        })
    }

    /// The summary row's label.
    fn describe(&self, dcfg: &DedupeStage) -> String {
        match self {
            // The exact stage's label as it always was.
            Engine::Exact(_, keep) => {
                let mut label = format!(
                    "dedupe ({} by {}",
                    dcfg.name,
                    dcfg.documents.as_ref().map_or("$.text", |d| d.key.as_str())
                );
                if let loam_dedup::exact::Keep::By { field, latest } = keep {
                    let order = if *latest { "latest" } else { "earliest" };
                    label.push_str(&format!(", keep {order} {}", field.path()));
                }
                label + ")"
            }
            Engine::Bloom { job, .. } => {
                let what = match &job.mode {
                    Mode::Documents { .. } => format!(
                        "documents by {}",
                        dcfg.documents.as_ref().map_or("$.text", |d| d.key.as_str())
                    ),
                    Mode::Paragraphs { ngrams: None, .. } => "paragraphs".into(),
                    Mode::Paragraphs {
                        ngrams: Some(n), ..
                    } => format!(
                        "paragraphs by {}-grams (stride {}, overlap >= {})",
                        n.length, n.stride, n.overlap_threshold
                    ),
                };
                let set = match job.key_set {
                    loam_dedup::engine::KeySet::Bloom => "Bloom filter",
                    loam_dedup::engine::KeySet::Exact => "exact",
                };
                format!("dedupe ({}: {what}, {set})", dcfg.name)
            }
            Engine::MinHash(m) => format!(
                "dedupe ({}: MinHash {}x{} over {}-grams)",
                dcfg.name, m.num_bands, m.rows_per_band, m.ngram_length
            ),
            Engine::Substring(c) => format!(
                "dedupe ({}: repeated substrings of >= {} bytes)",
                dcfg.name, c.min_length
            ),
        }
    }

    fn whole_documents(&self) -> bool {
        !matches!(
            self,
            Engine::Bloom {
                job: Job {
                    mode: Mode::Paragraphs { .. },
                    ..
                },
                ..
            } | Engine::Substring(_)
        )
    }
}

/// Empties the run's own filter (no `bloom_filter.file`): it starts empty every time the
/// stage (or its split check) runs.
pub(crate) fn fresh_own_filter(job: &Job) -> std::result::Result<(), String> {
    remove_if_present(&job.filter_file)?;
    remove_if_present(&engine::pending_filter_path(&job.filter_file))?;
    match job.filter_file.parent() {
        Some(d) => std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display())),
        None => Ok(()),
    }
}

/// Removes a file, a missing one being fine.
fn remove_if_present(path: &std::path::Path) -> std::result::Result<(), String> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("removing {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Keys and keep policy of a section that is exact document dedup in one process: what the
/// tag stage can collect as it reads each shard ([`ShardKeys`]), so that the dedupe stage
/// need not read the shards for them. `None` for any other section (or a bad key, which the
/// stage itself reports).
pub(crate) fn early_keys(dcfg: &DedupeStage) -> Option<(DedupKey, Keep)> {
    if dcfg.kind() != DedupeKind::Exact
        || dcfg
            .documents
            .as_ref()
            .is_some_and(|d| d.partitions.is_some())
    {
        return None;
    }
    match Engine::build(dcfg, "", Vec::new()) {
        Ok(Engine::Exact(key, keep)) => Some((key, keep)),
        _ => None,
    }
}

/// Runs the `dedupe:` section over the shards that are still live (`rels`: their names
/// under `documents/`); returns the stage's fingerprint (an input of the mix's). `pre`: keys
/// the tag stage collected per shard ([`early_keys`]), or empty.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dedupe_stage(
    storage: &dyn Storage,
    dcfg: &DedupeStage,
    pre: Vec<Option<(ScanReport, ShardKeys)>>,
    shards: &mut [Shard],
    rels: &[String],
    out_root: &str,
    exec: &Executor,
    opts: RunOptions,
    failures: &mut Vec<Failure>,
    stage_lines: &mut Vec<StageLine>,
    models: &mut Vec<ModelFile>,
) -> Result<String> {
    let version = loam_pipeline::VERSION;
    let live: Vec<usize> = (0..shards.len()).filter(|&i| !shards[i].failed).collect();
    let dedupe_fp = fingerprint(&json!({
        "stage": "dedupe", "loam": version, "config": dcfg,
        "inputs": live.iter().map(|&i| &rels[i]).collect::<Vec<_>>(),
    }));
    // The config alone: a refusal then says whether the config or the input set changed.
    let config_fp = fingerprint(&json!({"stage": "dedupe", "loam": version, "config": dcfg}));
    let dir = format!("{out_root}/attributes/{}", dcfg.name);
    let state = RunState::new(storage, &dir, "dedupe", &dedupe_fp, opts.overwrite)
        .with_config_fingerprint(&config_fp);
    let units: Vec<DedupUnit> = live
        .iter()
        .map(|&i| DedupUnit {
            input: shards[i].input.clone(),
            output: format!("{dir}/{}", layout::attribute_rel(&rels[i])),
        })
        .collect();
    let engine = Engine::build(
        dcfg,
        out_root,
        units.iter().map(|u| u.input.clone()).collect(),
    )?;
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let mut done_units = Units::<DedupInfo>::check(state, outputs).map_err(units_error)?;
    let was_done = done_units.all_done();
    let mut changed =
        done_units.verify_outputs(storage, exec, loam_pipeline::units::Part::default());
    changed.extend(done_units.verify_inputs(storage, exec, |d| {
        let mut v = vec![(d.input.clone()?, d.input_digest.clone()?)];
        v.extend(d.read.iter().cloned());
        Some(v)
    }));
    if let Engine::Bloom { job, owned: false } = &engine {
        if was_done && !changed.is_empty() && !job.read_only && job.filter_file.exists() {
            // The user's filter already holds this run's keys: redone against it, every
            // document would be its own duplicate.
            return Err(Error::Usage(format!(
                "{} changed since the dedupe stage wrote its attributes, and its Bloom filter {} (dedupe.bloom_filter.file) already holds this run's keys, so the stage cannot be redone against it; restore the file, or delete the filter (and, if it held keys of earlier corpora, rebuild it from them) and rerun",
                changed.join(", "),
                job.filter_file.display()
            )));
        }
    }
    let all_done = done_units.all_done();
    if !all_done && !opts.part.runs(Stage::Dedupe) {
        return Err(incomplete("dedupe", done_units.pending()));
    }
    let mut ran = 0;
    let mut signature_line = None;
    let phased = !all_done
        && match &engine {
            Engine::MinHash(m) => m.partitions.is_some(),
            Engine::Exact(..) => dcfg
                .documents
                .as_ref()
                .is_some_and(|d| d.partitions.is_some()),
            Engine::Substring(_) => true,
            // Split when asked, or to continue a split under way (its files are kept); one
            // process otherwise: the keys stay in memory, no plan files.
            Engine::Bloom { .. } => crate::bloom_tasks::split(storage, &dir, &opts.part),
        };
    if phased {
        // Phases of resumable units that tasks share; the marks are this stage's units.
        let sec = || Section {
            storage,
            units: &units,
            dir: &dir,
            name: &dcfg.name,
            rels: live.iter().map(|&i| rels[i].clone()).collect(),
            exec,
            overwrite: opts.overwrite,
            part: opts.part.units,
            only: opts.part.phase,
        };
        let ready = match &engine {
            Engine::MinHash(m) => {
                let tasks = crate::minhash_tasks::Tasks::new(sec(), m)?;
                match tasks.advance()? {
                    crate::minhash_tasks::Progress::Ready(r) => Phased::MinHash(tasks, r),
                    crate::minhash_tasks::Progress::Waiting { failed } => {
                        waiting(failed, opts, shards, &live, failures);
                        return Ok(dedupe_fp);
                    }
                }
            }
            Engine::Exact(key, keep) => {
                let parts = dcfg.documents.as_ref().and_then(|d| d.partitions);
                let tasks = crate::exact_tasks::Tasks {
                    sec: sec(),
                    key,
                    keep,
                    attribute: dcfg.attribute_name(),
                    parts: parts.unwrap_or(1).max(1),
                };
                match tasks.advance()? {
                    Step::Done(first) => Phased::Exact(tasks, first),
                    Step::Waiting { failed } => {
                        waiting(failed, opts, shards, &live, failures);
                        return Ok(dedupe_fp);
                    }
                }
            }
            Engine::Substring(c) => {
                let tasks = crate::substr_tasks::Tasks { sec: sec(), c };
                match tasks.advance()? {
                    Step::Done(first) => Phased::Substring(tasks, first),
                    Step::Waiting { failed } => {
                        waiting(failed, opts, shards, &live, failures);
                        return Ok(dedupe_fp);
                    }
                }
            }
            Engine::Bloom { job, owned } => {
                let tasks = crate::bloom_tasks::Tasks {
                    sec: sec(),
                    job,
                    owned: *owned,
                    stage_fp: &dedupe_fp,
                };
                match tasks.advance()? {
                    Step::Done(first) => {
                        // A named filter that existed before is read by every decision.
                        let filter = match !*owned && job.filter_file.exists() {
                            true => filter_record(job).map_err(Error::Usage)?,
                            false => None,
                        };
                        Phased::Bloom(tasks, first, filter)
                    }
                    Step::Waiting { failed } => {
                        waiting(failed, opts, shards, &live, failures);
                        return Ok(dedupe_fp);
                    }
                }
            }
        };
        let (ran, results) = ready.marks(&done_units);
        if let (Phased::Bloom(t, ..), true) = (
            &ready,
            results.iter().all(|u| matches!(u, Unit::Done { .. })),
        ) {
            // The stage is complete: publish the filter (another task may just have).
            crate::bloom_tasks::publish_filter(t.job)?;
        }
        return finish(
            dcfg,
            &engine,
            shards,
            &live,
            results,
            ran,
            None,
            units.len(),
            failures,
            stage_lines,
            models,
            dedupe_fp,
        );
    }
    // Dedupe is one global decision: with several tasks, task 0 makes it; the others only
    // report what is known.
    let results = if all_done || opts.part.units.rank != 0 {
        if let (true, Engine::Bloom { job, .. }) = (all_done, &engine) {
            // A run killed after its markers but before publishing the filter left only that.
            engine::commit_filter(job).map_err(|e| Error::Usage(e.to_string()))?;
        }
        done_units.collect(Vec::new())
    } else {
        // First occurrence depends on every earlier shard: redo the stage as a whole.
        ran = units.len();
        let signed = match &engine {
            Engine::MinHash(m) => {
                let roots = vec![dir.clone(); units.len()];
                let mh = crate::minhash_tasks::minhasher(m)?;
                let (plans, line) =
                    crate::dedupe::signatures(storage, &units, &roots, m, &mh, opts, exec)?;
                signature_line = Some(line);
                Some((plans, mh))
            }
            _ => None,
        };
        let bar = crate::progress::stage_bar("dedupe")
            .with_totals(crate::run::counted_totals(shards, live.iter().copied()));
        let results = done_units.run_all(|| match &engine {
            Engine::Exact(key, keep) => {
                let attribute = dcfg.attribute_name();
                let mut pre = pre;
                let pre = live
                    .iter()
                    .map(|&i| pre.get_mut(i).and_then(Option::take))
                    .collect();
                let reps = dedupe_documents(storage, &units, key, keep, attribute, exec, &bar, pre);
                Ok(reps
                    .into_iter()
                    .map(|rep| match (rep.output, rep.scan.failed()) {
                        (Some(o), false) => Ok(Made {
                            output: Some(o),
                            info: DedupInfo {
                                duplicates: rep.duplicates,
                                duplicate_text_bytes: rep.duplicate_text_bytes,
                                ..DedupInfo::new(&rep.scan)
                            },
                        }),
                        _ => Err(ui::scan_errors(&rep.scan)),
                    })
                    .collect())
            }
            Engine::Bloom { job, owned } => {
                if *owned {
                    fresh_own_filter(job)?;
                }
                // A named filter that already exists is read by every decision.
                let read = job.filter_file.exists();
                for w in job.warnings() {
                    eprintln!("warning: {w}");
                }
                let out =
                    engine::run(storage, &units, job, exec, &bar).map_err(|e| e.to_string())?;
                let filter = match read {
                    true => filter_record(job)?,
                    false => None,
                };
                for w in &out.warnings {
                    eprintln!("warning: {w}");
                }
                Ok(out
                    .shards
                    .into_iter()
                    .map(|rep| {
                        let info = DedupInfo::of(&rep, filter.clone());
                        ui::made(rep.output, &rep.scan, || info)
                    })
                    .collect())
            }
            Engine::Substring(_) => {
                Err("internal error: substring dedup runs as phases".to_string())
            }
            Engine::MinHash(m) => {
                let (plans, mh) = match signed {
                    Some(s) => s,
                    None => return Err("internal error: MinHash without signatures".into()),
                };
                let out = loam_dedup::minhash::mark(
                    storage,
                    &units,
                    plans,
                    m,
                    &mh,
                    &m.attribute_name,
                    exec,
                );
                for w in &out.warnings {
                    eprintln!("warning: {w}");
                }
                let clusters = Some(out.clusters);
                let verify = out.verify;
                Ok(out
                    .shards
                    .into_iter()
                    .map(|rep| {
                        ui::made(rep.output, &rep.scan, || DedupInfo {
                            duplicates: rep.duplicates,
                            duplicate_text_bytes: rep.duplicate_bytes,
                            clusters,
                            verify,
                            ..DedupInfo::new(&rep.scan)
                        })
                    })
                    .collect())
            }
        })?;
        bar.finish_and_clear();
        if let Engine::Bloom { job, .. } = &engine {
            // Only a complete stage publishes its filter: after a failure the rerun redoes
            // every shard and must start from the filter as it was.
            if results.iter().all(|u| matches!(u, Unit::Done { .. })) {
                engine::commit_filter(job).map_err(|e| Error::Usage(e.to_string()))?;
            } else {
                let _ = std::fs::remove_file(engine::pending_filter_path(&job.filter_file));
            }
        }
        results
    };
    finish(
        dcfg,
        &engine,
        shards,
        &live,
        results,
        ran,
        signature_line,
        units.len(),
        failures,
        stage_lines,
        models,
        dedupe_fp,
    )
}

/// A phased section whose phases are done: what its marks need.
enum Phased<'a> {
    MinHash(
        crate::minhash_tasks::Tasks<'a>,
        Box<crate::minhash_tasks::Ready>,
    ),
    Exact(crate::exact_tasks::Tasks<'a>, Vec<Option<PhaseInfo>>),
    Substring(crate::substr_tasks::Tasks<'a>, Vec<Option<PhaseInfo>>),
    /// With the filter file's record when it existed before the stage.
    Bloom(
        crate::bloom_tasks::Tasks<'a>,
        Vec<Option<PhaseInfo>>,
        Option<(String, FileDigest)>,
    ),
}

impl Phased<'_> {
    fn sec(&self) -> &Section<'_> {
        match self {
            Phased::MinHash(t, _) => &t.sec,
            Phased::Exact(t, _) => &t.sec,
            Phased::Substring(t, _) => &t.sec,
            Phased::Bloom(t, ..) => &t.sec,
        }
    }

    /// Runs this task's share of the marks: how many it ran, and every unit's result.
    fn marks(&self, units: &Units<'_, DedupInfo>) -> (usize, Vec<Unit<DedupInfo>>) {
        let label = match self {
            Phased::MinHash(..) => "minhash marks",
            Phased::Exact(..) => "exact marks",
            Phased::Substring(..) => "substring marks",
            Phased::Bloom(..) => "bloom marks",
        };
        self.sec().marks(units, label, |k, bar| {
            let (output, info) = self.mark(k)?;
            bar.advance(info.documents, info.text_bytes);
            Ok(Made {
                output: Some(output),
                info,
            })
        })
    }

    fn mark(&self, k: usize) -> std::result::Result<(WrittenShard, DedupInfo), String> {
        // What every kind's marks record: the input as its first phase read it, its counts,
        // and the phase files read.
        let base = |input: Option<(String, FileDigest)>, documents, text_bytes, read| {
            let (input, input_digest) = input.map_or((None, None), |(p, d)| (Some(p), Some(d)));
            DedupInfo {
                input,
                input_digest,
                documents,
                text_bytes,
                read,
                ..Default::default()
            }
        };
        Ok(match self {
            Phased::MinHash(tasks, ready) => {
                let mk = tasks.mark(ready, k)?;
                let info = DedupInfo {
                    duplicates: mk.duplicates,
                    duplicate_text_bytes: mk.duplicate_bytes,
                    clusters: Some(ready.clusters),
                    verify: ready.verify_counts(),
                    ..base(mk.input, mk.documents, mk.text_bytes, mk.read)
                };
                (mk.output, info)
            }
            Phased::Exact(tasks, first) => {
                let (rep, read) = tasks.mark(first, k)?;
                match (rep.output, rep.scan.failed()) {
                    (Some(o), false) => {
                        let info = DedupInfo {
                            duplicates: rep.duplicates,
                            duplicate_text_bytes: rep.duplicate_text_bytes,
                            read,
                            ..DedupInfo::new(&rep.scan)
                        };
                        (o, info)
                    }
                    _ => return Err(ui::scan_errors(&rep.scan)),
                }
            }
            Phased::Bloom(tasks, first, filter) => {
                let (rep, read) = tasks.mark(first, k)?;
                let info = DedupInfo {
                    read,
                    ..DedupInfo::of(&rep, filter.clone())
                };
                match (rep.output, rep.scan.failed()) {
                    (Some(o), false) => (o, info),
                    _ => return Err(ui::scan_errors(&rep.scan)),
                }
            }
            Phased::Substring(tasks, first) => {
                let mk = tasks.mark(first, k)?;
                let info = DedupInfo {
                    duplicates: mk.edited,
                    duplicate_spans: mk.spans,
                    duplicate_chars: mk.chars,
                    ..base(mk.input, mk.documents, mk.text_bytes, mk.read)
                };
                (mk.output, info)
            }
        })
    }
}

/// A section whose phases wait on other tasks (or failed): its failures recorded and, in a
/// whole run, its shards failed, so nothing after the stage reads marks that are not there.
fn waiting(
    failed: Vec<(String, String)>,
    opts: RunOptions,
    shards: &mut [Shard],
    live: &[usize],
    failures: &mut Vec<Failure>,
) {
    for (what, e) in failed {
        failures.push(Failure::new("dedupe", &what, e));
    }
    if opts.part.stage.is_none() {
        for &i in live {
            shards[i].failed = true;
        }
    }
}

/// Records a dedupe section's results on its shards, its models and its summary rows.
#[allow(clippy::too_many_arguments)]
fn finish(
    dcfg: &DedupeStage,
    engine: &Engine,
    shards: &mut [Shard],
    live: &[usize],
    results: Vec<Unit<DedupInfo>>,
    ran: usize,
    signature_line: Option<StageLine>,
    n_units: usize,
    failures: &mut Vec<Failure>,
    stage_lines: &mut Vec<StageLine>,
    models: &mut Vec<ModelFile>,
    dedupe_fp: String,
) -> Result<String> {
    for (k, u) in results.into_iter().enumerate() {
        let i = live[k];
        match u {
            Unit::Done { info, .. } => shards[i].dedup = Some(info),
            Unit::Failed(e) => {
                shards[i].failed = true;
                failures.push(Failure::new("dedupe", &shards[i].input, e));
            }
            Unit::Skipped => {}
        }
    }
    let infos: Vec<&DedupInfo> = shards.iter().filter_map(|s| s.dedup.as_ref()).collect();
    if let Some((path, digest)) = infos.iter().find_map(|d| d.filter.clone()) {
        models.push(ModelFile {
            path,
            used_by: format!("dedupe {} (Bloom filter)", dcfg.name),
            digest,
        });
    }
    let docs: u64 = infos.iter().map(|d| d.documents).sum();
    let bytes: u64 = infos.iter().map(|d| d.text_bytes).sum();
    let dups: u64 = infos.iter().map(|d| d.duplicates).sum();
    let dup_bytes: u64 = infos.iter().map(|d| d.duplicate_text_bytes).sum();
    let spans: u64 = infos.iter().map(|d| d.duplicate_spans).sum();
    let whole = engine.whole_documents();
    let mut by_rule = BTreeMap::new();
    if whole {
        by_rule.insert(
            dcfg.attribute_name().to_string(),
            RuleCounts {
                documents_dropped: dups,
                text_bytes_dropped: dup_bytes,
                ..Default::default()
            },
        );
    }
    let mut name = engine.describe(dcfg);
    if !whole {
        // Span marks drop no document: their counts go in the label.
        let what = match engine {
            Engine::Substring(_) => {
                let chars: u64 = infos.iter().map(|d| d.duplicate_chars).sum();
                format!("{spans} repeated passages ({chars} characters)")
            }
            _ => format!("{spans} duplicate paragraphs"),
        };
        name = format!(
            "{}; {what} in {dups} documents)",
            name.trim_end_matches(')')
        );
    }
    if let Some(n) = infos.iter().find_map(|d| d.clusters) {
        name = format!("{}; {n} clusters)", name.trim_end_matches(')'));
    }
    if let Some(v) = infos.iter().find_map(|d| d.verify) {
        name = format!(
            "{}; verified: {} candidates below the threshold kept, {} documents past max_cluster in {} clusters compared with the first only)",
            name.trim_end_matches(')'),
            v.rejected,
            v.capped,
            v.capped_clusters
        );
    }
    if let Engine::MinHash(_) = engine {
        // The same row whether the signatures were made now or before.
        stage_lines.push(signature_line.unwrap_or_else(|| {
            StageLine::pass_through(
                loam_manifests::StageKind::Signatures,
                "dedupe signatures (MinHash)".into(),
                docs,
                bytes,
                0,
                n_units,
            )
        }));
    }
    let (docs_out, bytes_out) = if whole {
        (docs - dups, bytes - dup_bytes)
    } else {
        (docs, bytes)
    };
    stage_lines.push(StageLine::new(
        loam_manifests::StageKind::Dedupe,
        name,
        docs,
        docs_out,
        bytes,
        bytes_out,
        by_rule,
        ran,
        n_units,
    ));
    Ok(dedupe_fp)
}

/// The filter file's digest when it exists before the stage runs (it is read, and decides).
/// The filter file as this stage leaves it: unchanged when read-only, else the updated
/// filter waiting to be published (what `manifest verify` then finds at its path). It
/// follows from the filter as read and the inputs, so it names what the decisions read.
fn filter_record(job: &Job) -> std::result::Result<Option<(String, FileDigest)>, String> {
    let path = match job.read_only {
        true => job.filter_file.clone(),
        false => engine::pending_filter_path(&job.filter_file),
    };
    let f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let digest = loam_manifests::digest_reader(std::io::BufReader::new(f))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some((job.filter_file.display().to_string(), digest)))
}

#[cfg(test)]
mod tests {
    use crate::pipeline_config::{DedupeKind, PipelineConfig};
    use loam_dedup::engine::{Job, Mode};
    use loam_pipeline::config::{from_value_validated, parse_text, ConfigProblem};
    use std::path::Path;

    fn load(dedupe: &str) -> Result<PipelineConfig, Vec<ConfigProblem>> {
        let text = format!(
            "name: t\ndocuments: [d/*]\noutput: out\ndedupe:\n{dedupe}\nmix: {{name: m, version: v1}}\n"
        );
        let v = parse_text(&text, Some(Path::new("p.yaml"))).expect("parses");
        from_value_validated::<PipelineConfig>(&v)
    }

    fn fields(dedupe: &str) -> Vec<String> {
        match load(dedupe) {
            Ok(_) => Vec::new(),
            Err(ps) => ps.into_iter().map(|p| p.path).collect(),
        }
    }

    #[test]
    fn an_exact_section_normalizes_as_it_always_did() {
        let c = load("  name: dd\n  documents: {attribute_name: dup}").unwrap();
        let ds = c.dedupe.unwrap();
        let d = &ds.sections()[0];
        assert_eq!(d.kind(), DedupeKind::Exact);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"name":"dd","documents":{"attribute_name":"dup","key":"$.text"}}"#
        );
        assert_eq!(
            serde_json::to_string(&ds).unwrap(),
            r#"{"name":"dd","documents":{"attribute_name":"dup","key":"$.text"}}"#
        );
        assert_eq!(d.duplicate_attributes(), vec!["dup".to_string()]);
    }

    #[test]
    fn a_bloom_section_compiles_to_the_engine_job_of_the_dolma_config() {
        let c = load(
            "  name: p\n  min_length: 3\n  paragraphs:\n    attribute_name: a\n    by_ngram: {ngram_length: 5, stride: 2, overlap_threshold: 0.5}\n  bloom_filter: {estimated_doc_count: 1000, desired_false_positive_rate: 0.01}",
        )
        .unwrap();
        let ds = c.dedupe.unwrap();
        let d = &ds.sections()[0];
        assert_eq!(d.kind(), DedupeKind::Bloom);
        assert!(d.duplicate_attributes().is_empty());
        let job = Job::from_config(&d.dolma_config(vec!["x".into()], "f.bin".into())).unwrap();
        assert_eq!(job.attribute, "a");
        assert_eq!(job.min_length, 3);
        assert_eq!(job.filter_file, Path::new("f.bin"));
        assert!(!job.read_only);
        match job.mode {
            Mode::Paragraphs {
                ngrams: Some(n),
                separator,
            } => {
                assert_eq!((n.length, n.stride, separator.as_str()), (5, 2, "\n"));
                assert_eq!(n.overlap_threshold, 0.5);
            }
            other => panic!("{other:?}"),
        }
        // The default filter lives with the run's state.
        assert_eq!(
            crate::pipeline_config::default_filter_file("out/", "p"),
            "out/.loam/dedupe/p.bloom"
        );
    }

    #[test]
    fn a_list_of_sections_runs_in_order_with_indexed_field_paths() {
        let docs = "  - name: d\n    documents: {attribute_name: dd}\n    bloom_filter: {estimated_doc_count: 10, desired_false_positive_rate: 0.01}";
        let paras = "  - name: p\n    paragraphs: {attribute_name: pp}\n    bloom_filter: {estimated_doc_count: 10, desired_false_positive_rate: 0.01}";
        let c = load(&format!("{docs}\n{paras}")).unwrap();
        let ds = c.dedupe.as_ref().unwrap();
        let names: Vec<&str> = ds.sections().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["d", "p"]);
        assert!(serde_json::to_value(ds).unwrap().is_array());
        // Paragraphs without a Bloom filter: an exact key set.
        assert!(fields(&format!(
            "{docs}\n  - name: p\n    paragraphs: {{attribute_name: pp}}"
        ))
        .is_empty());
        assert_eq!(
            fields(&format!(
                "{docs}\n{}",
                paras.replace("attribute_name: pp", "attribute_name: pp, bogus: 1")
            )),
            ["dedupe[1].paragraphs.bogus"]
        );
        assert_eq!(
            fields(&format!(
                "{docs}\n{}",
                docs.replace("attribute_name: dd", "attribute_name: x")
            )),
            ["dedupe[1].name"]
        );
        assert_eq!(
            fields(&format!(
                "{docs}\n{}",
                paras
                    .replace("attribute_name: pp", "attribute_name: dd")
                    .replace("- name: p", "- name: q")
            )),
            ["dedupe[1]"]
        );
        assert_eq!(fields("  []"), ["dedupe"]);
    }

    #[test]
    fn problems_name_the_sections_fields() {
        let bloom = "  bloom_filter: {estimated_doc_count: 10, desired_false_positive_rate: 0.01}";
        // An exact key set's paragraphs are checked as the Bloom filter's are.
        assert_eq!(
            fields("  name: p\n  paragraphs: {attribute_name: a, by_ngram: {ngram_length: 3, overlap_threshold: 2}}"),
            ["dedupe.paragraphs.by_ngram.overlap_threshold"]
        );
        assert_eq!(
            fields(&format!(
                "  name: p\n  paragraphs: {{attribute_name: a, by_ngram: {{ngram_length: 3, overlap_threshold: 2}}}}\n{bloom}"
            )),
            ["dedupe.paragraphs.by_ngram.overlap_threshold"]
        );
        assert_eq!(
            fields("  name: p\n  paragraphs: {attribute_name: a}\n  bloom_filter: {estimated_doc_count: 10}"),
            ["dedupe.bloom_filter"]
        );
        assert_eq!(
            fields(&format!(
                "  name: p\n  documents: {{attribute_name: a}}\n  minhash: {{attribute_name: b}}\n{bloom}"
            )),
            ["dedupe"]
        );
        assert_eq!(
            fields("  name: p\n  minhash: {attribute_name: b, num_bands: 0}"),
            ["dedupe.minhash"]
        );
        assert_eq!(
            fields("  name: p\n  documents: {attribute_name: a}\n  skip_empty: true"),
            ["dedupe.skip_empty"]
        );
        assert!(
            fields("  name: p\n  documents: {attribute_name: a}\n  num_partitions: 2")
                .iter()
                .all(|f| f.starts_with("dedupe"))
        );
        assert!(
            !fields("  name: p\n  documents: {attribute_name: a}\n  num_partitions: 2").is_empty()
        );
        assert!(fields(&format!(
            "  name: p\n  documents: {{attribute_name: a, key: $.metadata.url}}\n{bloom}"
        ))
        .is_empty());
    }
}
