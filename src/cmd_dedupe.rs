//! `loam dedupe -c CONFIG` and `loam dedupe plan -c CONFIG`: dolma deduper configs.

use crate::dolma_cmds::{check_all, derived, load, state_for, usage};
use crate::run::RunOptions;
use crate::ui::{self, Failure, Outcome, StageLine};
use anyhow::Result;
use loam_dedup::bloom::{BloomFilter, REGIONS};
use loam_dedup::config::DedupeConfig;
use loam_dedup::engine::{self, Job, Mode};
use loam_dedup::exact::DedupUnit;
use loam_manifests::{fingerprint, RuleCounts};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::runstate::{RunState, UnitStatus};
use loam_pipeline::storage::{storage_for, Storage};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

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
    let inputs = layout::expand(storage, &cfg.documents).map_err(usage)?;
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

/// `loam dedupe -c CONFIG` with a dolma deduper config.
pub fn dedupe(path: &Path, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let (cfg, raw) = load::<DedupeConfig>(path)?;
    if cfg.dedupe.minhash.is_some() {
        return minhash(path, &cfg, raw, opts, started);
    }
    let job = job_of(&cfg)?;
    let d = &cfg.dedupe;
    let name = d
        .effective_name()
        .unwrap_or(job.attribute.as_str())
        .to_string()
        + &d.partition_suffix();
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(usage)?;
    let units: Vec<DedupUnit> = inputs
        .iter()
        .map(|p| {
            Ok(DedupUnit {
                input: p.clone(),
                output: derived(p, &name)?,
            })
        })
        .collect::<Result<_>>()?;
    let mut normalized = raw.clone();
    if let Value::Object(m) = &mut normalized {
        for k in DedupeConfig::runtime_keys() {
            m.remove(*k);
        }
    }
    let fp = fingerprint(&json!({
        "stage": "dedupe", "loam": loam_pipeline::VERSION, "config": normalized, "inputs": inputs,
    }));
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let states: Vec<RunState> = outputs
        .iter()
        .map(|o| state_for(storage, o, "dedupe", &fp, opts.overwrite))
        .collect();
    let st = check_all(&states, &outputs)?;
    // `--threads` wins; else the config's `processes`.
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        cfg.processes
    };
    let exec = Executor::new(threads)?;
    let whole_documents = matches!(job.mode, Mode::Documents { .. });
    let mut failures = Vec::new();
    let (mut docs, mut bytes, mut dups, mut dup_bytes, mut spans) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let all_done = st.iter().all(|s| matches!(s, UnitStatus::Done(_)));
    let ran = if all_done { 0 } else { units.len() };
    if all_done {
        // A run killed after its markers but before publishing the filter left only that.
        if engine::commit_filter(&job).map_err(usage)? {
            eprintln!(
                "dedupe: published {} from the interrupted run that wrote these attributes",
                job.filter_file.display()
            );
        }
        for s in &st {
            if let UnitStatus::Done(m) = s {
                let g = |k: &str| m.info.get(k).and_then(Value::as_u64).unwrap_or(0);
                docs += g("documents");
                bytes += g("text_bytes");
                dups += g("duplicate_documents");
                dup_bytes += g("duplicate_document_bytes");
                spans += g("duplicate_spans");
            }
        }
    } else {
        for w in job.warnings() {
            eprintln!("warning: {w}");
        }
        for (s, o) in states.iter().zip(&outputs) {
            s.start(o)?;
        }
        let bar = ui::stage_bar("dedupe");
        let out = engine::run(storage, &units, &job, &exec, &bar).map_err(usage)?;
        bar.finish_and_clear();
        for w in &out.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "dedupe: {} keys checked ({} present, {} skipped, {} in other partitions); filter {:.1} MiB, {} hashes, {} keys, false-positive rate now {:.2e}",
            out.keys,
            out.keys_present,
            out.keys_skipped,
            out.keys_other_partitions,
            out.filter_bytes as f64 / 1048576.0,
            out.filter_hashes,
            out.filter_keys,
            out.filter_fp_rate
        );
        for (k, rep) in out.shards.into_iter().enumerate() {
            match (&rep.output, rep.scan.failed()) {
                (Some(o), false) => {
                    let info = json!({
                        "documents": rep.scan.documents, "text_bytes": rep.scan.text_bytes,
                        "duplicate_documents": rep.duplicate_documents,
                        "duplicate_document_bytes": rep.duplicate_document_bytes,
                        "duplicate_spans": rep.duplicate_spans,
                        "duplicate_chars": rep.duplicate_chars,
                    });
                    states[k].done(&outputs[k], Some(o), info)?;
                    docs += rep.scan.documents;
                    bytes += rep.scan.text_bytes;
                    dups += rep.duplicate_documents;
                    dup_bytes += rep.duplicate_document_bytes;
                    spans += rep.duplicate_spans;
                }
                _ => failures.push(Failure::new(
                    "dedupe",
                    &units[k].input,
                    ui::scan_errors(&rep.scan),
                )),
            }
        }
        // Only a complete run publishes its filter: after a failure the rerun redoes every
        // shard and must start from the filter as it was.
        if failures.is_empty() {
            engine::commit_filter(&job).map_err(usage)?;
        } else {
            let _ = std::fs::remove_file(engine::pending_filter_path(&job.filter_file));
        }
    }
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
    Ok(Outcome {
        title: format!("loam dedupe ({})", path.display()),
        shards: inputs.len(),
        stages: vec![StageLine::new(
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
        manifest: None,
        elapsed: started.elapsed(),
        threads: exec.threads(),
    })
}

/// The loam-only `dedupe.minhash` mode.
fn minhash(
    path: &Path,
    cfg: &DedupeConfig,
    raw: Value,
    opts: RunOptions,
    started: Instant,
) -> Result<Outcome> {
    let Some(m) = &cfg.dedupe.minhash else {
        return Err(usage("dedupe.minhash: missing"));
    };
    let name = cfg
        .dedupe
        .effective_name()
        .unwrap_or(m.attribute_name.as_str())
        .to_string();
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(usage)?;
    let units: Vec<DedupUnit> = inputs
        .iter()
        .map(|p| {
            Ok(DedupUnit {
                input: p.clone(),
                output: derived(p, &name)?,
            })
        })
        .collect::<Result<_>>()?;
    let mut normalized = raw;
    if let Value::Object(o) = &mut normalized {
        for k in DedupeConfig::runtime_keys() {
            o.remove(*k);
        }
    }
    let fp = fingerprint(&json!({
        "stage": "dedupe", "loam": loam_pipeline::VERSION, "config": normalized, "inputs": inputs,
    }));
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let states: Vec<RunState> = outputs
        .iter()
        .map(|o| state_for(storage, o, "dedupe", &fp, opts.overwrite))
        .collect();
    check_all(&states, &outputs)?;
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        cfg.processes
    };
    let exec = Executor::new(threads)?;
    for (s, o) in states.iter().zip(&outputs) {
        s.start(o)?;
    }
    let bar = ui::stage_bar("dedupe");
    let out = loam_dedup::minhash::run(storage, &units, m, &m.attribute_name, &exec, &bar);
    bar.finish_and_clear();
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    let (mut docs, mut bytes, mut dups, mut dup_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for (k, rep) in out.shards.into_iter().enumerate() {
        match (&rep.output, rep.scan.failed()) {
            (Some(o), false) => {
                let info = json!({
                    "documents": rep.scan.documents, "text_bytes": rep.scan.text_bytes,
                    "duplicate_documents": rep.duplicates, "duplicate_document_bytes": rep.duplicate_bytes,
                });
                states[k].done(&outputs[k], Some(o), info)?;
                docs += rep.scan.documents;
                bytes += rep.scan.text_bytes;
                dups += rep.duplicates;
                dup_bytes += rep.duplicate_bytes;
            }
            _ => failures.push(Failure::new(
                "dedupe",
                &units[k].input,
                ui::scan_errors(&rep.scan),
            )),
        }
    }
    let mut by_rule = BTreeMap::new();
    by_rule.insert(
        m.attribute_name.clone(),
        RuleCounts {
            documents_dropped: dups,
            text_bytes_dropped: dup_bytes,
            ..Default::default()
        },
    );
    Ok(Outcome {
        title: format!("loam dedupe ({})", path.display()),
        shards: inputs.len(),
        stages: vec![StageLine::new(
            format!(
                "dedupe {name}: MinHash near-duplicates ({} clusters)",
                out.clusters
            ),
            docs,
            docs - dups,
            bytes,
            bytes - dup_bytes,
            by_rule,
            units.len(),
            units.len(),
        )],
        failures,
        manifest: None,
        elapsed: started.elapsed(),
        threads: exec.threads(),
    })
}
