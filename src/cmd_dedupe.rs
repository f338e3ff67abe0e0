//! `loam dedupe -c CONFIG`: dolma deduper configs.

use crate::dolma_cmds::{check_all, derived, load, state_for, usage};
use crate::run::RunOptions;
use crate::ui::{self, Failure, Outcome, StageLine};
use anyhow::Result;
use loam_dedup::config::DedupeConfig;
use loam_dedup::exact::{dedupe_documents, DedupKey, DedupUnit};
use loam_manifests::{fingerprint, RuleCounts};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::runstate::{RunState, UnitStatus};
use loam_pipeline::storage::{storage_for, Storage};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// `loam dedupe -c CONFIG` with a dolma deduper config (document dedup).
pub fn dedupe(path: &Path, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let (cfg, raw) = load::<DedupeConfig>(path)?;
    let d = &cfg.dedupe;
    if d.paragraphs.is_some() {
        return Err(usage(
            "dedupe.paragraphs: paragraph and n-gram dedup are not in this build yet (documents only)",
        ));
    }
    if d.skip_empty || d.min_length > 0 || d.min_words > 0 || d.num_partitions > 1 {
        return Err(usage(
            "dedupe: skip_empty, min_length, min_words and partitions are not in this build yet; remove them to dedupe every document",
        ));
    }
    let Some(docs_cfg) = &d.documents else {
        return Err(usage("dedupe.documents: missing"));
    };
    let key = DedupKey::parse(&docs_cfg.key).map_err(usage)?;
    let name = d
        .effective_name()
        .unwrap_or(docs_cfg.attribute_name.as_str())
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
    let exec = Executor::new(opts.threads)?;
    let mut failures = Vec::new();
    let (mut docs, mut bytes, mut dups, mut dup_bytes) = (0u64, 0u64, 0u64, 0u64);
    let all_done = st.iter().all(|s| matches!(s, UnitStatus::Done(_)));
    let ran = if all_done { 0 } else { units.len() };
    if all_done {
        for s in &st {
            if let UnitStatus::Done(m) = s {
                let g = |k: &str| m.info.get(k).and_then(Value::as_u64).unwrap_or(0);
                docs += g("documents");
                bytes += g("text_bytes");
                dups += g("duplicates");
                dup_bytes += g("duplicate_text_bytes");
            }
        }
    } else {
        for (s, o) in states.iter().zip(&outputs) {
            s.start(o)?;
        }
        let bar = ui::stage_bar("dedupe");
        let reps = dedupe_documents(storage, &units, &key, &docs_cfg.attribute_name, &exec, &bar);
        bar.finish_and_clear();
        for (k, rep) in reps.into_iter().enumerate() {
            match (&rep.output, rep.scan.failed()) {
                (Some(o), false) => {
                    let info = json!({
                        "documents": rep.scan.documents, "text_bytes": rep.scan.text_bytes,
                        "duplicates": rep.duplicates, "duplicate_text_bytes": rep.duplicate_text_bytes,
                    });
                    states[k].done(&outputs[k], Some(o), info)?;
                    docs += rep.scan.documents;
                    bytes += rep.scan.text_bytes;
                    dups += rep.duplicates;
                    dup_bytes += rep.duplicate_text_bytes;
                }
                _ => failures.push(Failure::new(
                    "dedupe",
                    &units[k].input,
                    ui::scan_errors(&rep.scan),
                )),
            }
        }
    }
    let mut by_rule = BTreeMap::new();
    by_rule.insert(
        docs_cfg.attribute_name.clone(),
        RuleCounts {
            documents_dropped: dups,
            text_bytes_dropped: dup_bytes,
        },
    );
    Ok(Outcome {
        title: format!("loam dedupe ({})", path.display()),
        shards: inputs.len(),
        stages: vec![StageLine::new(
            format!("dedupe {name} by {}", docs_cfg.key),
            docs,
            docs - dups,
            bytes,
            bytes - dup_bytes,
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
