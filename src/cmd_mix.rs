//! `loam mix -c CONFIG`: runs dolma mixer configs (`docs/mix.md`).

use crate::dolma_cmds::{check_all, load, state_for, usage};
use crate::run::RunOptions;
use crate::ui::{self, Failure, Outcome, StageLine};
use anyhow::Result;
use loam_manifests::fingerprint;
use loam_mixes::config::MixerConfig;
use loam_mixes::dolma_mix::{mix_unit, plan, CompiledStream, MixCounts, OutputUnit};
use loam_pipeline::config::index;
use loam_pipeline::executor::Executor;
use loam_pipeline::runstate::{RunState, UnitStatus};
use loam_pipeline::storage::{storage_for, Storage};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

fn counts_to_json(c: &MixCounts) -> Value {
    json!({
        "documents": c.documents, "text_bytes": c.text_bytes, "kept": c.kept,
        "kept_text_bytes": c.kept_text_bytes, "edited": c.edited,
        "overlapping_spans": c.overlapping_spans, "dropped": c.dropped,
    })
}

fn counts_from_json(v: &Value) -> MixCounts {
    let g = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    MixCounts {
        documents: g("documents"),
        text_bytes: g("text_bytes"),
        kept: g("kept"),
        kept_text_bytes: g("kept_text_bytes"),
        edited: g("edited"),
        overlapping_spans: g("overlapping_spans"),
        dropped: v
            .get("dropped")
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default(),
    }
}

/// The fingerprint of a stream's outputs: its normalized config (defaults filled, runtime
/// keys left out) and its planned units with their input sizes.
fn stream_fingerprint(cfg: &MixerConfig, si: usize, units: &[OutputUnit]) -> String {
    let stream = serde_json::to_value(&cfg.streams[si]).unwrap_or(Value::Null);
    let plan: Vec<Value> = units
        .iter()
        .filter(|u| u.stream == si)
        .map(|u| {
            json!({
                "output": u.output,
                "inputs": u.inputs.iter().map(|i| json!([i.documents, i.size, i.attributes])).collect::<Vec<_>>(),
            })
        })
        .collect();
    fingerprint(&json!({
        "stage": "mix", "loam": loam_pipeline::VERSION, "shuffle": cfg.shuffle,
        "stream": stream, "plan": plan,
    }))
}

/// `loam mix -c CONFIG` with a dolma mixer config.
pub fn mix(path: &Path, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    // Loading validates everything, filter and span expressions included.
    let (cfg, _raw) = load::<MixerConfig>(path)?;
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        cfg.processes
    };
    if cfg.dryrun {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(Outcome {
            title: format!("loam mix ({}, dry run)", path.display()),
            shards: 0,
            stages: Vec::new(),
            failures: Vec::new(),
            manifest: None,
            elapsed: started.elapsed(),
            threads,
        });
    }
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
    let units = plan(storage, &cfg).map_err(usage)?;
    let fps: Vec<String> = (0..cfg.streams.len())
        .map(|si| stream_fingerprint(&cfg, si, &units))
        .collect();
    let outputs: Vec<String> = units.iter().map(|u| u.output.clone()).collect();
    let states: Vec<RunState> = units
        .iter()
        .map(|u| state_for(storage, &u.output, "mix", &fps[u.stream], opts.overwrite))
        .collect();
    let st = check_all(&states, &outputs)?;
    let todo: Vec<usize> = (0..units.len())
        .filter(|&i| matches!(st[i], UnitStatus::Todo))
        .collect();
    let exec = Executor::new(threads)?;
    let bar = ui::stage_bar("mix");
    let results = exec.map(&todo, |&i| -> Result<MixCounts, String> {
        let u = &units[i];
        states[i].start(&u.output).map_err(|e| e.to_string())?;
        let rep = mix_unit(storage, u, &streams[u.stream], &bar);
        if rep.scan.failed() {
            return Err(ui::scan_errors(&rep.scan));
        }
        if rep.output.is_none() {
            // Nothing kept: leave no stale file from an earlier run behind.
            if let Ok(Some(_)) = storage.size(&u.output) {
                storage.delete(&u.output).map_err(|e| e.to_string())?;
            }
        }
        let info = json!({
            "counts": counts_to_json(&rep.counts),
            "inputs": rep.inputs, "attributes": rep.attributes,
        });
        states[i]
            .done(&u.output, rep.output.as_ref(), info)
            .map_err(|e| e.to_string())?;
        Ok(rep.counts)
    });
    bar.finish_and_clear();
    let mut per_stream: Vec<MixCounts> = vec![MixCounts::default(); cfg.streams.len()];
    let mut ran = vec![0usize; cfg.streams.len()];
    let mut total = vec![0usize; cfg.streams.len()];
    let mut failures = Vec::new();
    for u in &units {
        total[u.stream] += 1;
    }
    for (k, r) in results.into_iter().enumerate() {
        let u = &units[todo[k]];
        ran[u.stream] += 1;
        match r {
            Ok(c) => per_stream[u.stream].add(&c),
            Err(e) => failures.push(Failure::new("mix", &u.output, e)),
        }
    }
    for (i, s) in st.iter().enumerate() {
        if let UnitStatus::Done(m) = s {
            let c = m
                .info
                .get("counts")
                .map(counts_from_json)
                .unwrap_or_default();
            per_stream[units[i].stream].add(&c);
        }
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
            if c.overlapping_spans > 0 {
                by_rule.insert(
                    format!(
                        "span_replacement: {} span(s) skipped, overlapping another replacer's span (dolma's rule; tail kept)",
                        c.overlapping_spans
                    ),
                    Default::default(),
                );
            }
            StageLine::new(
                format!("mix {}", s.name),
                c.documents,
                c.kept,
                c.text_bytes,
                c.kept_text_bytes,
                by_rule,
                ran[si],
                total[si],
            )
        })
        .collect();
    Ok(Outcome {
        title: format!("loam mix ({})", path.display()),
        shards: units.iter().map(|u| u.inputs.len()).sum(),
        stages,
        failures,
        manifest: None,
        elapsed: started.elapsed(),
        threads: exec.threads(),
    })
}
