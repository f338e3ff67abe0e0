//! `loam dedupe -c CONFIG` and `loam dedupe plan -c CONFIG`: dolma deduper configs.

use crate::dolma::{derived, load, lock_outputs, units_error, usage, StageRun};
use crate::dolma_cli::ConfigSource;
use crate::error::Result;
use crate::outcome::{self as ui, Failure, Outcome, StageLine};
use crate::run::RunOptions;
use loam_dedup::bloom::{BloomFilter, REGIONS};
use loam_dedup::config::DedupeConfig;
use loam_dedup::engine::{self, Job, Mode};
use loam_dedup::exact::DedupUnit;
use loam_dedup::minhash::{sign_shard, MinHasher, Signatures};
use loam_manifests::{fingerprint, RuleCounts};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::lock::OutputLock;
use loam_pipeline::runstate::RunState;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::write_atomic;
use loam_pipeline::storage::{storage_for, Storage};
use loam_pipeline::units::{Made, Unit, Units};
use loam_pipeline::writer::WrittenShard;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What a dedupe unit's marker keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct DedupeUnitInfo {
    /// The input read, and its digest: a changed input redoes the stage.
    input: Option<String>,
    input_digest: Option<loam_manifests::FileDigest>,
    documents: u64,
    text_bytes: u64,
    duplicate_documents: u64,
    duplicate_document_bytes: u64,
    duplicate_spans: u64,
    duplicate_chars: u64,
}

impl DedupeUnitInfo {
    /// The input's part, from its scan.
    fn new(scan: &ScanReport) -> DedupeUnitInfo {
        DedupeUnitInfo {
            input: Some(scan.path.clone()),
            input_digest: scan.digest.clone(),
            documents: scan.documents,
            text_bytes: scan.text_bytes,
            ..Default::default()
        }
    }

    /// A Bloom filter (or exact key set) unit's counts, from its shard's outcome.
    fn of(rep: &engine::ShardOutcome) -> DedupeUnitInfo {
        DedupeUnitInfo {
            duplicate_documents: rep.duplicate_documents,
            duplicate_document_bytes: rep.duplicate_document_bytes,
            duplicate_spans: rep.duplicate_spans,
            duplicate_chars: rep.duplicate_chars,
            ..DedupeUnitInfo::new(&rep.scan)
        }
    }

    fn add(&mut self, o: &DedupeUnitInfo) {
        self.documents += o.documents;
        self.text_bytes += o.text_bytes;
        self.duplicate_documents += o.duplicate_documents;
        self.duplicate_document_bytes += o.duplicate_document_bytes;
        self.duplicate_spans += o.duplicate_spans;
        self.duplicate_chars += o.duplicate_chars;
    }
}

/// A done unit whose attribute file or input changed since makes the stage run again.
fn verify(done: &mut Units<DedupeUnitInfo>, storage: &dyn Storage, exec: &Executor) -> Vec<String> {
    let mut changed = done.verify_outputs(storage, exec, loam_pipeline::units::Part::default());
    // Markers of older versions name no input: trusted as before (redoing against a
    // published filter would be wrong).
    changed.extend(done.verify_inputs(storage, exec, |d| {
        Some(match (&d.input, &d.input_digest) {
            (Some(p), Some(g)) => vec![(p.clone(), g.clone())],
            _ => Vec::new(),
        })
    }));
    changed
}

/// The stage's totals over its done units, and a failure per failed unit.
fn tally(
    units: &[DedupUnit],
    results: Vec<Unit<DedupeUnitInfo>>,
) -> (Vec<Failure>, DedupeUnitInfo) {
    let mut failures = Vec::new();
    let mut total = DedupeUnitInfo::default();
    for (u, r) in units.iter().zip(results) {
        match r {
            Unit::Done { info, .. } => total.add(&info),
            Unit::Failed(e) => failures.push(Failure::new("dedupe", &u.input, e)),
            Unit::Skipped => {}
        }
    }
    (failures, total)
}

fn job_of(cfg: &DedupeConfig) -> Result<Job> {
    Job::from_config(cfg).map_err(usage)
}

fn describe(job: &Job) -> String {
    match &job.mode {
        Mode::Documents { key } => format!("documents by {key:?}"),
        Mode::Paragraphs { ngrams: None, .. } => "paragraphs".into(),
        Mode::Paragraphs {
            ngrams: Some(n), ..
        } => format!(
            "paragraphs by {}-grams (stride {}, overlap >= {})",
            n.length, n.stride, n.overlap_threshold
        ),
    }
}

/// `loam dedupe plan -c CONFIG`: the filter's memory and expected false-positive rate, the
/// inputs and outputs, and any warning, before any work.
pub fn plan(path: &Path) -> Result<()> {
    // A pipeline file: what one task of each phase of its partitioned sections holds.
    if crate::dolma::is_pipeline_file(path)? {
        let v = loam_pipeline::config::read_value(path).map_err(usage)?;
        let c: crate::pipeline_config::PipelineConfig = crate::dolma::check(path, &v)?;
        match &c.dedupe {
            Some(d) => crate::dolma::print_task_memory(d),
            None => println!("{}: no dedupe section", path.display()),
        }
        return Ok(());
    }
    let (cfg, _raw) = load::<DedupeConfig>(path)?;
    if let Some(m) = &cfg.dedupe.minhash {
        let k = m.num_bands * m.rows_per_band;
        println!(
            "mode: MinHash near-duplicates ({:?} {}-grams, {} bands x {} rows)",
            m.shingle, m.ngram_length, m.num_bands, m.rows_per_band
        );
        println!(
            "memory: {} bytes of signature per document, plus {} band keys",
            8 * k,
            m.num_bands
        );
        println!(
            "candidate at 50% odds from similarity {:.2}",
            (1.0 / m.num_bands as f64).powf(1.0 / m.rows_per_band as f64)
        );
        return Ok(());
    }
    let job = job_of(&cfg)?;
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(crate::dolma::layout_error)?;
    let name =
        cfg.dedupe.effective_name().unwrap_or("").to_string() + &cfg.dedupe.partition_suffix();
    println!("mode: {}", describe(&job));
    println!("attribute: {} (attributes/{name}/…)", job.attribute);
    println!("inputs: {} shard(s)", inputs.len());
    println!(
        "partition: {} of {} (hash ranges of {} filter regions)",
        job.partition_index, job.num_partitions, REGIONS
    );
    let p = &job.plan;
    if job.filter_file.exists() {
        let f = BloomFilter::load(&job.filter_file, false).map_err(usage)?;
        println!(
            "bloom filter: {} (existing, loaded with mmap{})",
            job.filter_file.display(),
            if job.read_only { ", read-only" } else { "" }
        );
        println!(
            "memory: {} bytes ({:.1} MiB)",
            f.size_bytes(),
            f.size_bytes() as f64 / 1048576.0
        );
        println!("hash functions: {}", f.hashes());
        println!("keys held: {}", f.inserted());
        println!("false-positive rate now: {:.3e}", f.current_fp_rate());
    } else {
        println!(
            "bloom filter: {} (new{})",
            job.filter_file.display(),
            if job.read_only {
                ", read-only: stays empty"
            } else {
                ""
            }
        );
        println!(
            "memory: {} bytes ({:.1} MiB)",
            p.size_bytes,
            p.size_bytes as f64 / 1048576.0
        );
        println!("hash functions: {}", p.hashes);
        println!("expected keys: {}", p.expected_keys);
        println!("expected false-positive rate: {:.3e}", p.expected_fp_rate);
    }
    for w in job.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// `loam dedupe -c CONFIG` (and dolma's flags) with a dolma deduper config.
pub fn dedupe(source: &ConfigSource, dolma_bugs: bool, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let (cfg, raw) = source.load::<DedupeConfig>()?;
    let label = source.label();
    let path = label.as_path();
    crate::checks::warn_ignored(path, &raw);
    if cfg.dryrun {
        // dolma prints the config and exits; loam also checks that every input exists.
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        let n = crate::checks::check_inputs(path, "documents", &cfg.documents)?;
        crate::checks::say_dry_run(path, n);
        return Ok(crate::dolma::StageRun::empty().outcome(
            format!("loam dedupe ({}, dry run)", path.display()),
            started,
        ));
    }
    let run = dedupe_config(&cfg, raw, dolma_bugs, opts)?;
    Ok(run.outcome(format!("loam dedupe ({})", path.display()), started))
}

/// What both engines of a dolma deduper config start from.
struct Setup {
    /// Where the inputs are.
    storage: &'static dyn Storage,
    /// The inputs, as the config lists them.
    inputs: Vec<String>,
    /// One unit per input, writing `attributes/<name>/…` beside it.
    units: Vec<DedupUnit>,
    /// The output roots (each input's `attributes/<name>`).
    roots: Vec<String>,
    /// The lock of every output root, held while this lives.
    lock: OutputLock,
    /// The config without its runtime keys: what fingerprints hash.
    normalized: Value,
}

/// Lists the inputs, maps each to its attribute file under `name`, locks the output roots
/// and normalizes the config.
fn setup(cfg: &DedupeConfig, raw: Value, name: &str, opts: RunOptions) -> Result<Setup> {
    let storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(crate::dolma::layout_error)?;
    let units: Vec<DedupUnit> = inputs
        .iter()
        .map(|p| {
            Ok(DedupUnit {
                input: p.clone(),
                output: derived(p, name)?,
            })
        })
        .collect::<Result<_>>()?;
    let roots: Vec<String> = inputs
        .iter()
        .map(|p| layout::attribute_root(p, name).map_err(usage))
        .collect::<Result<_>>()?;
    // Two runs sharing one Bloom filter under different attribute names would lose each
    // other's keys: the filter's directory is locked with the attribute roots.
    let mut locked = roots.clone();
    if let Some(bf) = &cfg.bloom_filter {
        locked.push(crate::dolma::filter_lock_root(&bf.file));
    }
    let lock = lock_outputs(&locked, opts)?;
    let mut normalized = raw;
    if let Value::Object(m) = &mut normalized {
        for k in DedupeConfig::runtime_keys() {
            m.remove(*k);
        }
    }
    Ok(Setup {
        storage,
        inputs,
        units,
        roots,
        lock,
        normalized,
    })
}

/// The thread pool: `--threads` wins; else the config's `processes`.
fn executor(cfg: &DedupeConfig, opts: RunOptions) -> Result<Executor> {
    let threads = match opts.threads {
        0 => cfg.processes,
        n => n,
    };
    Ok(Executor::new(threads)?)
}

/// Runs a loaded dolma deduper config (`raw`: the config as read, for the fingerprint);
/// `dolma_bugs` writes dolma 1.2.1's bytes where loam fixes its dedupe bugs.
pub fn dedupe_config(
    cfg: &DedupeConfig,
    raw: Value,
    dolma_bugs: bool,
    opts: RunOptions,
) -> Result<StageRun> {
    if cfg.dedupe.minhash.is_some() {
        return minhash(cfg, raw, opts);
    }
    let mut job = job_of(cfg)?;
    job.dolma_bugs = dolma_bugs;
    let d = &cfg.dedupe;
    let name = d
        .effective_name()
        .unwrap_or(job.attribute.as_str())
        .to_string()
        + &d.partition_suffix();
    let Setup {
        storage,
        inputs,
        units,
        roots,
        lock: _lock,
        normalized,
    } = setup(cfg, raw, &name, opts)?;
    let mut fp_input = json!({
        "stage": "dedupe", "loam": loam_pipeline::VERSION, "config": normalized, "inputs": inputs,
    });
    // Only when on, so fingerprints of existing runs stay valid.
    if dolma_bugs {
        fp_input["dolma_bugs"] = json!(true);
    }
    let fp = fingerprint(&fp_input);
    // The config alone: a refusal then says whether the config or the input set changed.
    if let Value::Object(m) = &mut fp_input {
        m.remove("inputs");
    }
    let config_fp = fingerprint(&fp_input);
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let state = RunState::beside_outputs(storage, "dedupe", &fp, opts.overwrite)
        .with_config_fingerprint(&config_fp);
    let mut done = Units::<DedupeUnitInfo>::check(state, outputs).map_err(units_error)?;
    let exec = executor(cfg, opts)?;
    let was_done = done.all_done();
    let changed = verify(&mut done, storage, &exec);
    if was_done && !changed.is_empty() && !job.read_only && job.filter_file.exists() {
        // The published filter already holds every key of this run: made again against it,
        // every document would be its own duplicate. Only the user can say what to do.
        return Err(usage(format!(
            "{} changed since this dedupe wrote its attributes, and its Bloom filter {} already holds this run's keys, so the stage cannot be redone against it; restore the file, or delete the filter (and, if it held keys of earlier corpora, rebuild it from them) and rerun",
            changed.join(", "),
            job.filter_file.display()
        )));
    }
    let whole_documents = matches!(job.mode, Mode::Documents { .. });
    let all_done = done.all_done();
    let mut ran = if all_done { 0 } else { units.len() };
    // Phases that tasks share need one attribute root for their files (one documents
    // folder); otherwise task 0 makes the one global decision.
    let split_dir = match roots.first() {
        Some(r) if roots.iter().all(|x| x == r) => Some(r.clone()),
        _ => None,
    }
    .filter(|d| !all_done && crate::bloom_tasks::split(storage, d, &opts.part));
    let mut failures = Vec::new();
    let results = if let Some(dir) = split_dir {
        let tasks = crate::bloom_tasks::Tasks {
            sec: crate::phases::Section {
                storage,
                units: &units,
                dir: &dir,
                name: &name,
                rels: inputs.clone(),
                exec: &exec,
                overwrite: opts.overwrite,
                part: opts.part.units,
                only: opts.part.phase,
            },
            job: &job,
            owned: false,
            stage_fp: &fp,
        };
        match tasks.advance()? {
            crate::phases::Step::Done(first) => {
                let (n, results) = tasks.sec.marks(&done, "bloom marks", |k, bar| {
                    let (rep, _) = tasks.mark(&first, k)?;
                    bar.advance(rep.scan.documents, rep.scan.text_bytes);
                    let info = DedupeUnitInfo::of(&rep);
                    ui::made(rep.output, &rep.scan, || info)
                });
                ran = n;
                if results.iter().all(|u| matches!(u, Unit::Done { .. })) {
                    crate::bloom_tasks::publish_filter(&job)?;
                }
                results
            }
            crate::phases::Step::Waiting { failed } => {
                ran = 0;
                for (what, e) in failed {
                    failures.push(Failure::new("dedupe", &what, e));
                }
                done.collect(Vec::new())
            }
        }
    } else if all_done {
        // A run killed after its markers but before publishing the filter left only that.
        if engine::commit_filter(&job).map_err(usage)? {
            eprintln!(
                "dedupe: published {} from the interrupted run that wrote these attributes",
                job.filter_file.display()
            );
        }
        done.collect(Vec::new())
    } else if opts.part.units.rank != 0 {
        // One global decision: with several tasks, task 0 makes it.
        done.collect(Vec::new())
    } else {
        for w in job.warnings() {
            eprintln!("warning: {w}");
        }
        let bar = crate::progress::stage_bar("dedupe");
        let results = done.run_all(|| {
            let out = engine::run(storage, &units, &job, &exec, &bar).map_err(|e| e.to_string())?;
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!("dedupe: {}", out.stats);
            Ok(out
                .shards
                .into_iter()
                .map(|rep| {
                    let info = DedupeUnitInfo::of(&rep);
                    ui::made(rep.output, &rep.scan, || info)
                })
                .collect())
        })?;
        bar.finish_and_clear();
        // Only a complete run publishes its filter: after a failure the rerun redoes every
        // shard and must start from the filter as it was.
        if results.iter().all(|u| matches!(u, Unit::Done { .. })) {
            engine::commit_filter(&job).map_err(usage)?;
        } else {
            let _ = std::fs::remove_file(engine::pending_filter_path(&job.filter_file));
        }
        results
    };
    let (unit_failures, c) = tally(&units, results);
    failures.extend(unit_failures);
    let (docs, bytes, dups, dup_bytes, spans) = (
        c.documents,
        c.text_bytes,
        c.duplicate_documents,
        c.duplicate_document_bytes,
        c.duplicate_spans,
    );
    let mut by_rule = BTreeMap::new();
    by_rule.insert(
        job.attribute.clone(),
        RuleCounts {
            documents_dropped: if whole_documents { dups } else { 0 },
            text_bytes_dropped: if whole_documents { dup_bytes } else { 0 },
            ..Default::default()
        },
    );
    let (docs_out, bytes_out) = if whole_documents {
        (docs - dups, bytes - dup_bytes)
    } else {
        (docs, bytes)
    };
    Ok(StageRun {
        shards: inputs.len(),
        models: Vec::new(),
        lines: vec![StageLine::new(
            loam_manifests::StageKind::Dedupe,
            format!(
                "dedupe {name}: {} ({spans} duplicate spans)",
                describe(&job)
            ),
            docs,
            docs_out,
            bytes,
            bytes_out,
            by_rule,
            ran,
            units.len(),
        )],
        failures,
        threads: exec.threads(),
    })
}

/// What a signature unit's marker keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct SignatureInfo {
    input: String,
    input_digest: Option<loam_manifests::FileDigest>,
    documents: u64,
    text_bytes: u64,
}

/// MinHash phase 1 as resumable units, one per shard: its signatures in
/// `<attribute root>/.loam/minhash/<rel>.sig`, so a killed or repeated run reads them
/// instead of the shard. Returns each unit's (scan, signatures) for the marks (a failed
/// unit's scan carries its error) and the summary row.
pub(crate) fn signatures(
    storage: &dyn Storage,
    units: &[DedupUnit],
    roots: &[String],
    m: &loam_dedup::config::MinHashConfig,
    mh: &MinHasher,
    opts: RunOptions,
    exec: &Executor,
) -> Result<(Vec<(ScanReport, Signatures)>, StageLine)> {
    let outputs: Vec<String> = units
        .iter()
        .zip(roots)
        .map(|(u, root)| {
            let rel = u
                .output
                .strip_prefix(root.as_str())
                .unwrap_or(&u.output)
                .trim_start_matches('/');
            format!("{root}/.loam/minhash/{rel}.sig")
        })
        .collect();
    // The attribute's name (nor partitions, nor verification) does not change a signature.
    let params = crate::minhash_tasks::signature_params(m, mh);
    let fp = fingerprint(&json!({
        "stage": "minhash-signatures", "loam": loam_pipeline::VERSION, "minhash": params,
    }));
    let state = RunState::beside_outputs(storage, "minhash-signatures", &fp, opts.overwrite);
    let mut sig_units = Units::<SignatureInfo>::check(state, outputs).map_err(units_error)?;
    sig_units.verify_outputs(storage, exec, loam_pipeline::units::Part::default());
    sig_units.verify_inputs(storage, exec, |d| {
        Some(vec![(d.input.clone(), d.input_digest.clone()?)])
    });
    let todo = sig_units.todo(loam_pipeline::units::Part::default());
    let bar = crate::progress::stage_bar("minhash");
    let results = sig_units.run(exec, &todo, |i| {
        let (scan, sigs) = sign_shard(storage, &units[i].input, mh, &bar);
        if scan.failed() {
            return Err(ui::scan_errors(&scan));
        }
        let bytes = sigs.to_bytes();
        let path = &sig_units.outputs()[i];
        write_atomic(storage, path, &bytes).map_err(|e| e.to_string())?;
        Ok(Made {
            output: Some(WrittenShard {
                path: path.clone(),
                records: sigs.len() as u64,
                digest: loam_manifests::digest_bytes(&bytes),
            }),
            info: SignatureInfo {
                input: scan.path.clone(),
                input_digest: scan.digest.clone(),
                documents: scan.documents,
                text_bytes: scan.text_bytes,
            },
        })
    });
    bar.finish_and_clear();
    let (mut docs, mut text) = (0, 0);
    let plans = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let failed = |msg: String| {
                let mut scan = ScanReport {
                    path: units[i].input.clone(),
                    ..Default::default()
                };
                scan.record(msg, true);
                (scan, Signatures::default())
            };
            let info = match r {
                Unit::Done { info, .. } => info,
                Unit::Failed(e) => return failed(e),
                Unit::Skipped => return failed("signatures not made".into()),
            };
            let path = &sig_units.outputs()[i];
            let read = storage
                .open(path)
                .map_err(|e| e.to_string())
                .and_then(|mut f| {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut b)
                        .map_err(|e| format!("{path}: {e}"))?;
                    Signatures::from_bytes(&b, path).map_err(|e| e.to_string())
                });
            match read {
                Ok(sigs) => {
                    docs += info.documents;
                    text += info.text_bytes;
                    let scan = ScanReport {
                        path: info.input,
                        documents: info.documents,
                        text_bytes: info.text_bytes,
                        digest: info.input_digest,
                        ..Default::default()
                    };
                    (scan, sigs)
                }
                Err(e) => failed(e),
            }
        })
        .collect();
    let line = StageLine::pass_through(
        loam_manifests::StageKind::Signatures,
        "dedupe signatures (MinHash)".into(),
        docs,
        text,
        todo.len(),
        units.len(),
    );
    Ok((plans, line))
}

/// The loam-only `dedupe.minhash` mode.
fn minhash(cfg: &DedupeConfig, raw: Value, opts: RunOptions) -> Result<StageRun> {
    let Some(m) = &cfg.dedupe.minhash else {
        return Err(usage("dedupe.minhash: missing"));
    };
    if m.partitions.is_some() {
        return Err(usage(
            "dedupe.minhash.partitions: runs as phases of `loam run` tasks; put this MinHash in a pipeline file's `dedupe:` section (or leave partitions unset here)",
        ));
    }
    let name = cfg
        .dedupe
        .effective_name()
        .unwrap_or(m.attribute_name.as_str())
        .to_string();
    let Setup {
        storage,
        inputs,
        units,
        roots,
        lock: _lock,
        normalized,
    } = setup(cfg, raw, &name, opts)?;
    let fp = fingerprint(&json!({
        "stage": "dedupe", "loam": loam_pipeline::VERSION, "config": normalized, "inputs": inputs,
    }));
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let state = RunState::beside_outputs(storage, "dedupe", &fp, opts.overwrite);
    let mut done = Units::<DedupeUnitInfo>::check(state, outputs).map_err(units_error)?;
    let exec = executor(cfg, opts)?;
    verify(&mut done, storage, &exec);
    let ran = if done.all_done() { 0 } else { units.len() };
    let mut clusters = None;
    let mut lines = Vec::new();
    // Clusters span shards: the stage is made as a whole, by task 0, unless already done;
    // the signatures before it are resumable units of their own.
    let results = if done.all_done() || opts.part.units.rank != 0 {
        done.collect(Vec::new())
    } else {
        let mh = crate::minhash_tasks::minhasher(m)?;
        let (plans, line) = signatures(storage, &units, &roots, m, &mh, opts, &exec)?;
        lines.push(line);
        let bar = crate::progress::stage_bar("dedupe");
        let results = done.run_all(|| {
            let out =
                loam_dedup::minhash::mark(storage, &units, plans, m, &mh, &m.attribute_name, &exec);
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            clusters = Some(out.clusters);
            Ok(out
                .shards
                .into_iter()
                .map(|rep| {
                    ui::made(rep.output, &rep.scan, || DedupeUnitInfo {
                        duplicate_documents: rep.duplicates,
                        duplicate_document_bytes: rep.duplicate_bytes,
                        ..DedupeUnitInfo::new(&rep.scan)
                    })
                })
                .collect())
        })?;
        bar.finish_and_clear();
        results
    };
    let (failures, c) = tally(&units, results);
    let (docs, bytes, dups, dup_bytes) = (
        c.documents,
        c.text_bytes,
        c.duplicate_documents,
        c.duplicate_document_bytes,
    );
    let mut by_rule = BTreeMap::new();
    by_rule.insert(
        m.attribute_name.clone(),
        RuleCounts {
            documents_dropped: dups,
            text_bytes_dropped: dup_bytes,
            ..Default::default()
        },
    );
    lines.push(StageLine::new(
        loam_manifests::StageKind::Dedupe,
        match clusters {
            Some(n) => format!("dedupe {name}: MinHash near-duplicates ({n} clusters)"),
            None => format!("dedupe {name}: MinHash near-duplicates"),
        },
        docs,
        docs - dups,
        bytes,
        bytes - dup_bytes,
        by_rule,
        ran,
        units.len(),
    ));
    Ok(StageRun {
        shards: inputs.len(),
        models: Vec::new(),
        lines,
        failures,
        threads: exec.threads(),
    })
}
