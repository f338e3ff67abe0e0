//! `loam tokens -c CONFIG`: a dolma `tokens` config → token arrays (docs/tokens.md), one
//! resumable unit per part, and a manifest in the destination.

use crate::dolma::{units_error, usage};
use crate::dolma_cli::ConfigSource;
use crate::error::{Error, Result};
use crate::outcome::{self as ui, Failure, Outcome, StageLine};
use crate::run::RunOptions;
use loam_manifests::{
    fingerprint, HashAlgorithms, InputFile, Manifest, MixRecord, ModelFile, OutputFile,
    StageCounts, TokensRecord, MANIFEST_VERSION,
};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{storage_for, write_atomic, Storage};
use loam_pipeline::units::{Made, Unit, Units};
use loam_tokens::run::{find_token, part_base, parts, remove_stale, Job, PartSummary};
use loam_tokens::{Dtype, OutputFormat, Tokenizer, TokenizerSpec, TokensConfig, TokensError};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// `loam tokens -c CONFIG` (and dolma's flags).
pub fn tokens(source: &ConfigSource, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let (cfg, raw) = source.load::<TokensConfig>()?;
    let label = source.label();
    let path = label.as_path();
    crate::checks::warn_ignored(path, &raw);
    let bytes = source.bytes()?;
    tokens_config(path, &bytes, &cfg, opts, started, None)
}

fn tokenizer_of(cfg: &TokensConfig) -> Result<(Tokenizer, Option<u32>)> {
    let name = cfg.tokenizer_name().unwrap_or_default().to_string();
    let t = cfg.tokenizer.as_ref();
    let mut spec = TokenizerSpec {
        name_or_path: name,
        bos: t.and_then(|t| t.bos_token_id).map(|v| v as u32),
        eos: t.and_then(|t| t.eos_token_id).map(|v| v as u32),
        segment: t.is_some_and(|t| t.segment_before_tokenization),
        encode_special_tokens: t.is_some_and(|t| t.encode_special_tokens),
    };
    let legacy = t.is_none();
    if legacy {
        // dolma's deprecated `tokenizer_name_or_path`: EOS is the vocabulary's last id.
        spec.eos = Some(0);
    }
    let mut tok = Tokenizer::load(&spec).map_err(usage)?;
    if legacy {
        tok.eos = Some(tok.vocab_size.saturating_sub(1) as u32);
    }
    let pad = t.and_then(|t| t.pad_token_id).map(|v| v as u32).or(tok.eos);
    Ok((tok, pad))
}

fn dtype_of(cfg: &TokensConfig, tok: &Tokenizer) -> Result<Dtype> {
    let dtype = match &cfg.dtype {
        Some(d) => Dtype::parse(d)
            .ok_or_else(|| usage(format!("dtype: {d:?} is not a numpy unsigned type")))?,
        None => Dtype::for_vocab(tok.vocab_size),
    };
    let top = tok.vocab_size.saturating_sub(1);
    if top > dtype.max() {
        return Err(usage(format!(
            "dtype {} cannot hold the ids of tokenizer {} ({} ids): use {} or leave dtype out",
            dtype.name(),
            tok.name,
            tok.vocab_size,
            Dtype::for_vocab(tok.vocab_size).name()
        )));
    }
    for (name, id) in [("bos_token_id", tok.bos), ("eos_token_id", tok.eos)] {
        if let Some(id) = id {
            if id as u64 > dtype.max() {
                return Err(usage(format!(
                    "tokenizer.{name} {id} does not fit {}",
                    dtype.name()
                )));
            }
        }
    }
    if cfg.output_format == OutputFormat::Megatron
        && dtype == Dtype::Uint32
        && top > i32::MAX as u64
    {
        return Err(usage("Megatron's int32 arrays cannot hold this vocabulary"));
    }
    Ok(dtype)
}

/// The one tokens key loam does not act on that the shared dolma-key check does not know
/// (`debug`, `work_dir`, … are named where the config is loaded).
fn note_refresh(cfg: &TokensConfig) {
    if cfg.tokenizer.as_ref().is_some_and(|t| t.refresh != 0) {
        eprintln!(
            "note: tokenizer.refresh is ignored (dolma's workaround for a Python memory leak)"
        );
    }
}

/// The config as the fingerprint and the manifest record it: without the keys that only
/// say how to run (they never change the arrays).
fn normalized(cfg: &TokensConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(cfg).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["processes", "debug", "work_dir", "dryrun"] {
            o.remove(k);
        }
    }
    v
}

/// Runs a tokens config.
pub fn tokens_config(
    path: &Path,
    config_bytes: &[u8],
    cfg: &TokensConfig,
    opts: RunOptions,
    started: Instant,
    parent: Option<&str>,
) -> Result<Outcome> {
    note_refresh(cfg);
    let (tok, pad) = tokenizer_of(cfg)?;
    let dtype = dtype_of(cfg, &tok)?;
    let dest = cfg
        .destination
        .clone()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let out_storage: &dyn Storage = storage_for(&dest)?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(usage)?;
    let groups = parts(&inputs, cfg.files_per_part());
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        cfg.processes.max(1)
    };
    if cfg.dryrun {
        // dolma prints the config and exits; loam also says what would be written.
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        println!(
            "dryrun: {} input file(s) in {} part(s) → {dest} ({} {}, tokenizer {} with {} ids); nothing written",
            inputs.len(),
            groups.len(),
            match cfg.output_format {
                OutputFormat::Npy => "npy",
                OutputFormat::Megatron => "megatron",
            },
            dtype.name(),
            tok.name,
            tok.vocab_size
        );
        return Ok(Outcome {
            title: format!("loam tokens ({}) dryrun", path.display()),
            shards: inputs.len(),
            stages: Vec::new(),
            failures: Vec::new(),
            manifest: None,
            elapsed: started.elapsed(),
            started,
            threads,
            warnings: Vec::new(),
        });
    }
    // One run per destination at a time (tasks of one run share it).
    let _lock = crate::dolma::lock_outputs(std::slice::from_ref(&dest), opts)?;
    let exec = Executor::new(threads)?;
    let normalized = normalized(cfg);
    let fp = fingerprint(&json!({
        "stage": "tokens", "loam": loam_pipeline::VERSION, "config": normalized,
        "tokenizer_sha256": tok.sha256, "dtype": dtype.name(), "eos": tok.eos, "bos": tok.bos,
    }));
    let bases: Vec<String> = (0..groups.len())
        .map(|k| part_base(&dest, k, groups.len()))
        .collect();
    let state = RunState::new(out_storage, &dest, "tokens", &fp, opts.overwrite);
    let mut units = Units::<PartSummary>::check(state, bases.clone()).map_err(units_error)?;
    // A part is done only if it read the files it would read now, unchanged, and its files
    // are all still there as written.
    units.redo_if(|i, _, info| {
        let mut read: Vec<&str> = info.inputs.iter().map(|f| f.path.as_str()).collect();
        read.sort_unstable();
        let mut want: Vec<&str> = groups[i].iter().map(String::as_str).collect();
        want.sort_unstable();
        read != want
    });
    units.verify_inputs(storage, &exec, |s| {
        Some(
            s.inputs
                .iter()
                .map(|f| (f.path.clone(), f.digest.clone()))
                .collect(),
        )
    });
    units.verify_inputs(out_storage, &exec, |s| {
        Some(
            s.files
                .iter()
                .map(|f| (f.path.clone(), f.digest.clone()))
                .collect(),
        )
    });
    let todo = units.todo(opts.part.units);
    let job = Job {
        storage,
        tokenizer: &tok,
        dtype,
        format: cfg.output_format,
        max_size: cfg.max_size,
        batch_size: cfg.batch_size,
        ring_size: cfg.ring_size,
        seed: cfg.seed,
        sample_ring_prop: cfg.sample_ring_prop,
        fields: &cfg.fields,
        exec: &exec,
    };
    let bar = crate::progress::unit_bar(
        "tokens",
        storage,
        &exec,
        groups.len(),
        &todo,
        |k| groups[k].iter().map(String::as_str).collect(),
        Default::default(),
    );
    let done = units.run(&exec, &todo, |k| {
        let base = &units.outputs()[k];
        let summary = job
            .tokenize_part(k, &groups[k], base)
            .map_err(|e| e.to_string())?;
        remove_stale(
            out_storage,
            base,
            summary.files.len() / files_per_array(cfg),
        )
        .map_err(|e| e.to_string())?;
        loam_pipeline::executor::Progress::advance(&bar, summary.documents, summary.text_bytes);
        bar.done(k, summary.text_bytes);
        Ok(Made {
            output: None,
            info: summary,
        })
    });
    bar.finish_and_clear();
    let mut failures = Vec::new();
    let mut total = PartSummary::default();
    let mut ran = 0;
    for (k, u) in done.iter().enumerate() {
        match u {
            Unit::Done { info, ran: r, .. } => {
                ran += usize::from(*r);
                total.documents += info.documents;
                total.tokens += info.tokens;
                total.text_bytes += info.text_bytes;
                total.empty += info.empty;
                total.oversized += info.oversized;
                total.files.extend(info.files.iter().cloned());
                total.inputs.extend(info.inputs.iter().cloned());
            }
            Unit::Failed(e) => failures.push(Failure::new("tokens", &bases[k], e.clone())),
            Unit::Skipped => {}
        }
    }
    let mut line = StageLine::pass_through(
        loam_manifests::StageKind::Tokens,
        format!("tokens ({} tokens, {})", total.tokens, dtype.name()),
        total.documents + total.empty,
        total.text_bytes,
        ran,
        groups.len(),
    );
    line.docs_out = total.documents;
    if total.empty > 0 {
        line.by_rule.insert(
            "empty text (skipped, as dolma)".into(),
            loam_manifests::RuleCounts {
                documents_dropped: total.empty,
                ..Default::default()
            },
        );
    }
    let mut outcome = Outcome {
        title: format!("loam tokens ({})", path.display()),
        shards: inputs.len(),
        stages: vec![line],
        failures,
        manifest: None,
        elapsed: started.elapsed(),
        started,
        threads,
        warnings: Vec::new(),
    };
    if total.oversized > 0 {
        eprintln!(
            "note: {} document(s) longer than max_size ({} tokens) were each written alone into a file of their own",
            total.oversized, cfg.max_size
        );
    }
    // A task of several (--world) leaves the manifest to the final run, as `loam run` does.
    if outcome.failures.is_empty() && opts.part.units.world == 1 && units_all_done(&done) {
        let mut manifest = build_manifest(
            path,
            config_bytes,
            normalized,
            cfg,
            &tok,
            pad,
            dtype,
            &dest,
            &total,
            started,
            threads,
        );
        // The mix these arrays were made from, when a pipeline or recipe made both.
        manifest.parents = parent.map(str::to_string).into_iter().collect();
        let mpath = format!("{dest}/manifest.json");
        write_atomic(out_storage, &mpath, manifest.to_json().as_bytes())?;
        outcome.manifest = Some(mpath);
    }
    Ok(outcome)
}

fn files_per_array(cfg: &TokensConfig) -> usize {
    match cfg.output_format {
        OutputFormat::Npy => 2,
        OutputFormat::Megatron => 3,
    }
}

fn units_all_done(done: &[Unit<PartSummary>]) -> bool {
    done.iter().all(|u| matches!(u, Unit::Done { .. }))
}

fn relative(dest: &str, p: &str) -> String {
    p.strip_prefix(dest)
        .map(|r| r.trim_start_matches('/').to_string())
        .unwrap_or_else(|| p.to_string())
}

#[allow(clippy::too_many_arguments)]
fn build_manifest(
    path: &Path,
    config_bytes: &[u8],
    normalized: serde_json::Value,
    cfg: &TokensConfig,
    tok: &Tokenizer,
    pad: Option<u32>,
    dtype: Dtype,
    dest: &str,
    total: &PartSummary,
    started: Instant,
    threads: usize,
) -> Manifest {
    let mut inputs: BTreeMap<String, InputFile> = BTreeMap::new();
    for f in &total.inputs {
        inputs.insert(
            f.path.clone(),
            InputFile {
                path: f.path.clone(),
                role: loam_manifests::InputRole::Documents,
                digest: f.digest.clone(),
                lines: f.lines,
            },
        );
    }
    let mut outputs: Vec<OutputFile> = total
        .files
        .iter()
        .map(|f| OutputFile {
            path: relative(dest, &f.path),
            kind: f.kind,
            documents: f.documents,
            tokens: Some(f.tokens),
            digest: f.digest.clone(),
        })
        .collect();
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let content_id = fingerprint(&json!({
        "loam": loam_pipeline::VERSION,
        "inputs": inputs.values().map(|f| &f.digest.sha256).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(|f| [&f.path, &f.digest.sha256]).collect::<Vec<_>>(),
    }));
    let models = tok
        .file
        .as_ref()
        .map(|f| ModelFile {
            path: f.display().to_string(),
            used_by: "tokenizer".into(),
            digest: loam_manifests::FileDigest {
                bytes: tok.bytes,
                sha256: tok.sha256.clone(),
            },
        })
        .into_iter()
        .collect();
    let name = Path::new(dest)
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "tokens".into());
    Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: ui::tool_info(),
        mix: MixRecord {
            name,
            label: "tokens".into(),
            content_id,
            sampling: None,
            buckets: None,
        },
        hashes: HashAlgorithms::default(),
        config: ui::config_record(path, config_bytes, normalized),
        inputs: inputs.into_values().collect(),
        models,
        outputs,
        stages: vec![StageCounts {
            stage: "tokens".into(),
            kind: Some(loam_manifests::StageKind::Tokens),
            documents_in: total.documents + total.empty,
            documents_out: total.documents,
            text_bytes_in: total.text_bytes,
            text_bytes_out: total.text_bytes,
            by_rule: BTreeMap::new(),
        }],
        parents: Vec::new(),
        recipe: Vec::new(),
        warnings: Vec::new(),
        tokens: Some(TokensRecord {
            tokenizer: tok.name.clone(),
            tokenizer_sha256: tok.sha256.clone(),
            vocab_size: tok.vocab_size,
            bos_token_id: tok.bos,
            eos_token_id: tok.eos,
            pad_token_id: pad,
            dtype: dtype.name().into(),
            format: match cfg.output_format {
                OutputFormat::Npy => "npy".into(),
                OutputFormat::Megatron => "megatron".into(),
            },
            max_size: cfg.max_size,
            seed: cfg.seed,
            segment_before_tokenization: tok.segment,
            documents: total.documents,
            tokens: total.tokens,
            empty_documents: total.empty,
            oversized_documents: total.oversized,
        }),
        run: ui::RunMeta {
            started_at: ui::now_rfc3339(),
            duration_secs: started.elapsed().as_secs_f64(),
            threads,
        }
        .info(dest),
    }
}

/// `loam explain --token FILE:OFFSET`: the document holding a token of an array, with its
/// source; returns its id so the caller can print the mix's decisions on it.
pub fn explain_token(spec: &str) -> Result<loam_tokens::write::Row> {
    let (file, offset) = spec
        .rsplit_once(':')
        .and_then(|(f, o)| Some((f, o.parse::<u64>().ok()?)))
        .ok_or_else(|| {
            usage(format!(
                "--token {spec:?}: expected FILE:OFFSET (a token index)"
            ))
        })?;
    let storage = storage_for(file)?;
    let row = find_token(storage, file, offset).map_err(|e| match e {
        TokensError::Storage(_) | TokensError::Format(_) => usage(e),
        other => Error::from(other),
    })?;
    println!(
        "token {offset} of {file} is token {} of document {} (tokens {}..{} of the file), read from {} line {}",
        offset - row.start,
        row.id,
        row.start,
        row.end,
        row.src,
        row.loc
    );
    Ok(row)
}
