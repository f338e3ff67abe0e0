//! Commands that take dolma's own config files: `tag`, `dedupe`, `mix`, and `validate`.

use crate::dolma_cli::ConfigSource;
use crate::error::{Context, Error, Result};
use crate::outcome::{self as ui, Failure, Outcome, StageLine};
use crate::run::RunOptions;
use crate::Kind;
use loam_dedup::config::DedupeConfig;
use loam_filters::config::TagConfig;
use loam_manifests::fingerprint;
use loam_mixes::config::MixerConfig;
use loam_pipeline::config::{self, ConfigErrors, Validate};
use loam_pipeline::executor::Executor;
use loam_pipeline::layout;
use loam_pipeline::lock::{LockError, LockMode, OutputLock};
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{storage_for, Storage};
use loam_pipeline::tagger::{tag_shard, Tagger};
use loam_pipeline::units::{Made, Unit, Units, UnitsError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

pub(crate) fn usage(e: impl std::fmt::Display) -> Error {
    Error::Usage(e.to_string())
}

/// A path problem from a config is a usage error (exit 2); a store that cannot be listed
/// (unreachable, access denied) is a runtime error (exit 1).
pub(crate) fn layout_error(e: layout::LayoutError) -> Error {
    match e {
        layout::LayoutError::Storage(_) => Error::from(e),
        _ => usage(e),
    }
}

/// Loads a dolma config file as dolma's CLI does: interpolations resolved, then the typed
/// config read and checked.
pub(crate) fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<(T, Value)> {
    ConfigSource::file(path).load()
}

/// Where dolma puts a derived file: the document path with its `documents` directory
/// replaced by `attributes/<name>`.
pub(crate) fn derived(path: &str, name: &str) -> Result<String> {
    layout::attribute_path(path, name).map_err(usage)
}

/// Takes the lock of every output root (`<root>/.loam/lock`), shared by the tasks of a
/// cluster run (world > 1), exclusive otherwise. Another run holding one is a usage error
/// (exit 2) naming its host and pid; hold the result until the command's work is done.
pub(crate) fn lock_outputs(roots: &[String], opts: RunOptions) -> Result<OutputLock> {
    let part = opts.part.units;
    let (mode, note) = if part.world > 1 {
        (
            LockMode::Shared,
            format!("task {}/{}", part.rank, part.world),
        )
    } else {
        (LockMode::Exclusive, String::new())
    };
    let lock = loam_pipeline::lock::lock_outputs(roots, mode, &note).map_err(|e| match e {
        LockError::Held { .. } => usage(e),
        LockError::Storage(_) => Error::from(e),
    })?;
    for r in lock.unlocked() {
        eprintln!(
            "warning: {r}: its file system does not support flock, so no other run is kept out of it"
        );
    }
    Ok(lock)
}

/// The directory locked for a Bloom filter file (its parent, `.` for a bare name): the
/// filter is rewritten at the end of every dedupe run, so two runs sharing it would lose
/// each other's keys.
pub(crate) fn filter_lock_root(file: &str) -> String {
    match Path::new(file).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    }
}

/// What one tag summary keeps per unit (its marker's `info`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TagUnitInfo {
    /// The input read, and its digest: a changed input is tagged again.
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    input_digest: Option<loam_manifests::FileDigest>,
    documents: u64,
    text_bytes: u64,
}

/// A stage (or several) of a dolma config, run: summary rows, failures, and the model
/// files it used (for a recipe's manifest).
pub struct StageRun {
    /// Summary rows.
    pub lines: Vec<StageLine>,
    /// Failed units.
    pub failures: Vec<Failure>,
    /// Input shards.
    pub shards: usize,
    /// Worker threads.
    pub threads: usize,
    /// Model files read, with checksums.
    pub models: Vec<loam_manifests::ModelFile>,
}

impl StageRun {
    /// Nothing run (a dry run).
    pub fn empty() -> Self {
        StageRun {
            lines: Vec::new(),
            failures: Vec::new(),
            shards: 0,
            threads: 0,
            models: Vec::new(),
        }
    }

    /// The command's outcome.
    pub fn outcome(self, title: String, started: Instant) -> Outcome {
        Outcome {
            warnings: Vec::new(),
            title,
            shards: self.shards,
            stages: self.lines,
            failures: self.failures,
            manifest: None,
            elapsed: started.elapsed(),
            started,
            threads: self.threads,
        }
    }
}

/// A refusal is a usage error (exit 2); storage trouble is an I/O error (exit 1).
pub(crate) fn units_error(e: UnitsError) -> Error {
    match e {
        UnitsError::Refused(_) => usage(e),
        UnitsError::Storage(_) => Error::from(e),
    }
}

/// `loam tag -c CONFIG` (and dolma's flags) with a dolma tagger config.
pub fn tag(source: &ConfigSource, dolma_bugs: bool, opts: RunOptions) -> Result<Outcome> {
    let started = Instant::now();
    let (cfg, raw) = source.load::<TagConfig>()?;
    let label = source.label();
    let path = label.as_path();
    crate::checks::warn_ignored(path, &raw);
    if cfg.dryrun {
        // dolma prints the config and exits; loam also checks that every input exists.
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        let n = crate::checks::check_inputs(path, "documents", &cfg.documents)?;
        crate::checks::say_dry_run(path, n);
        return Ok(
            StageRun::empty().outcome(format!("loam tag ({}, dry run)", path.display()), started)
        );
    }
    let run = tag_config(&cfg, dolma_bugs, opts)?;
    Ok(run.outcome(format!("loam tag ({})", path.display()), started))
}

/// Runs a dolma tagger config: every experiment's units, resumable, this task's share.
pub fn tag_config(cfg: &TagConfig, dolma_bugs: bool, opts: RunOptions) -> Result<StageRun> {
    let bugs = if dolma_bugs {
        loam_filters::registry::DolmaBugs::all()
    } else {
        loam_filters::registry::DolmaBugs::default()
    };
    if !cfg.tagger_modules.is_empty() {
        return Err(usage(
            "tagger_modules: loam cannot load Python tagger modules; use built-in taggers (`loam taggers`)",
        ));
    }
    let mut taggers: Vec<Box<dyn Tagger>> = cfg
        .taggers
        .iter()
        .map(|n| loam_filters::registry::build_full(n, bugs, cfg.tagger_options.get(n)))
        .collect::<Result<_, _>>()
        .map_err(usage)?;
    // Classifier models are part of the fingerprint: a retrained model changes the signals.
    let mut model_digests: BTreeMap<String, String> = BTreeMap::new();
    for c in &cfg.classifiers {
        taggers.push(Box::new(c.build().map_err(usage)?));
        let f = std::fs::File::open(&c.model)
            .with_context(|| format!("model {} of classifier {}", c.model, c.name))?;
        let digest = loam_manifests::digest_reader(std::io::BufReader::new(f))?;
        model_digests.insert(c.name.clone(), digest.sha256);
    }
    let models = model_files(&taggers)?;
    // dolma: one experiment for all taggers, or each tagger under its own name.
    let groups: Vec<(String, &[Box<dyn Tagger>])> = match &cfg.experiment {
        Some(e) => vec![(e.clone(), &taggers[..])],
        None => taggers
            .iter()
            // dolma's folder: the tagger's name as a variable name (`dolma17_quality`).
            .map(|t| {
                let name = loam_pipeline::document::dolma_variable_name(t.name()).into_owned();
                (name, std::slice::from_ref(t))
            })
            .collect(),
    };
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let inputs = layout::expand(storage, &cfg.documents).map_err(layout_error)?;
    // An input of no known format is refused before anything is written, naming it.
    for p in &inputs {
        loam_pipeline::format::Format::from_path(p).map_err(|e| usage(format!("input {e}")))?;
    }
    let roots: Vec<String> = match &cfg.destination {
        Some(dests) => dests.clone(),
        None => {
            let mut roots = Vec::new();
            for (experiment, _) in &groups {
                for p in &inputs {
                    roots.push(layout::attribute_root(p, experiment).map_err(usage)?);
                }
            }
            roots
        }
    };
    let _lock = lock_outputs(&roots, opts)?;
    let exec = Executor::new(opts.threads)?;
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (experiment, owned) in &groups {
        let names: Vec<&str> = owned.iter().map(|t| t.name()).collect();
        let classifiers: Vec<_> = cfg
            .classifiers
            .iter()
            .filter(|c| names.contains(&c.name.as_str()))
            .map(|c| json!({"spec": c, "sha256": model_digests.get(&c.name)}))
            .collect();
        let mut fp_input = json!({
            "stage": "tag", "loam": loam_pipeline::VERSION, "experiment": experiment,
            "taggers": names, "dolma_bugs": dolma_bugs,
        });
        // Only when there are classifiers, so fingerprints of existing runs stay valid.
        if !classifiers.is_empty() {
            fp_input["classifiers"] = json!(classifiers);
        }
        // A URL tagger's lists decide its signals: their checksums are part of the config
        // (only when there are any, for the same reason).
        let lists: Vec<_> = models
            .iter()
            .filter(|m| names.contains(&m.used_by.as_str()))
            .filter(|m| loam_filters::url::lookup(&m.used_by).is_some())
            .map(|m| json!({"tagger": m.used_by, "sha256": m.digest.sha256}))
            .collect();
        if !lists.is_empty() {
            fp_input["lists"] = json!(lists);
        }
        let fp = fingerprint(&fp_input);
        let outputs: Vec<String> = match &cfg.destination {
            None => inputs
                .iter()
                .map(|p| derived(p, experiment))
                .collect::<Result<_>>()?,
            Some(dests) => destinations(&cfg.documents, dests, &inputs, groups.len())?,
        };
        let state =
            RunState::beside_outputs(storage, "tag", &fp, opts.overwrite || cfg.ignore_existing);
        let mut units = Units::<TagUnitInfo>::check(state, outputs).map_err(units_error)?;
        units.verify_outputs(storage, &exec, opts.part.units);
        units.verify_inputs(storage, &exec, |t| {
            Some(vec![(t.input.clone()?, t.input_digest.clone()?)])
        });
        let todo = units.todo(opts.part.units);
        let bar = crate::progress::unit_bar(
            "tag",
            storage,
            &exec,
            inputs.len(),
            &todo,
            |i| vec![inputs[i].as_str()],
            Default::default(),
        );
        let done = units.run(&exec, &todo, |i| {
            let out = &units.outputs()[i];
            let rep = tag_shard(storage, &inputs[i], out, experiment, owned, &bar);
            bar.done(i, rep.scan.text_bytes);
            match (rep.output, rep.scan.failed()) {
                (Some(o), false) => Ok(Made {
                    output: Some(o),
                    info: TagUnitInfo {
                        input: Some(inputs[i].clone()),
                        input_digest: rep.scan.digest.clone(),
                        documents: rep.scan.documents,
                        text_bytes: rep.scan.text_bytes,
                    },
                }),
                _ => Err(ui::scan_errors(&rep.scan)),
            }
        });
        bar.finish_and_clear();
        let (mut docs, mut bytes) = (0u64, 0u64);
        for (i, u) in done.iter().enumerate() {
            match u {
                Unit::Done { info, .. } => {
                    docs += info.documents;
                    bytes += info.text_bytes;
                }
                Unit::Failed(e) => failures.push(Failure::new("tag", &inputs[i], e.clone())),
                Unit::Skipped => {}
            }
        }
        lines.push(StageLine::pass_through(
            loam_manifests::StageKind::Tag,
            format!("tag {experiment} ({})", names.join(", ")),
            docs,
            bytes,
            todo.len(),
            inputs.len(),
        ));
    }
    Ok(StageRun {
        lines,
        failures,
        shards: inputs.len(),
        threads: exec.threads(),
        models,
    })
}

/// The model files taggers read, with their checksums (for manifests).
pub(crate) fn model_files(taggers: &[Box<dyn Tagger>]) -> Result<Vec<loam_manifests::ModelFile>> {
    let mut models = Vec::new();
    for t in taggers {
        for m in t.models() {
            let f = std::fs::File::open(&m)
                .with_context(|| format!("model {} for {}", m.display(), t.name()))?;
            models.push(loam_manifests::ModelFile {
                path: m.display().to_string(),
                used_by: t.name().to_string(),
                digest: loam_manifests::digest_reader(std::io::BufReader::new(f))?,
            });
        }
    }
    Ok(models)
}

/// dolma's explicit `destination`: one directory per `documents` pattern; each file keeps
/// its path relative to the pattern's fixed prefix.
fn destinations(
    patterns: &[String],
    dests: &[String],
    inputs: &[String],
    groups: usize,
) -> Result<Vec<String>> {
    if dests.len() != patterns.len() {
        return Err(usage(format!(
            "destination: {} entries for {} documents patterns; give one per pattern",
            dests.len(),
            patterns.len()
        )));
    }
    if groups > 1 {
        return Err(usage(
            "destination: with several taggers and no experiment, each tagger needs its own directory; set `experiment` or drop `destination`",
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for p in inputs {
        let mut found = None;
        for (pat, dest) in patterns.iter().zip(dests) {
            let fixed = pat.split(['*', '?', '[', '{']).next().unwrap_or(pat);
            let base = fixed.rsplit_once('/').map_or("", |(b, _)| b);
            if let Some(rel) = p.strip_prefix(base) {
                found = Some(format!(
                    "{}/{}",
                    dest.trim_end_matches('/'),
                    rel.trim_start_matches('/')
                ));
                break;
            }
        }
        out.push(found.ok_or_else(|| usage(format!("{p}: matches no documents pattern")))?);
    }
    Ok(out)
}

pub(crate) fn guess_kind(v: &Value) -> Option<Kind> {
    let has = |k: &str| v.get(k).is_some();
    if has("mix") {
        Some(Kind::Pipeline)
    } else if has("streams") {
        Some(Kind::Mix)
    } else if has("taggers") {
        Some(Kind::Tag)
    } else if has("tokenizer") || has("tokenizer_name_or_path") {
        Some(Kind::Tokens)
    } else if has("dedupe") || has("bloom_filter") {
        Some(Kind::Dedupe)
    } else if has("source_name") || has("linearizer") || has("pre") || has("post") {
        Some(Kind::Warc)
    } else {
        None
    }
}

/// `v` (read from `path`) as a `T`, every problem a usage error naming the file and field.
pub(crate) fn check<T: DeserializeOwned + Validate>(path: &Path, v: &Value) -> Result<T> {
    config::from_value_validated::<T>(v).map_err(|problems| {
        usage(ConfigErrors {
            file: Some(path.to_path_buf()),
            problems,
        })
    })
}

/// Whether `path` is loam's own pipeline file (it has a `mix` section) rather than a dolma
/// config.
pub fn is_pipeline_file(path: &Path) -> Result<bool> {
    let v = config::read_value(path).map_err(usage)?;
    Ok(matches!(guess_kind(&v), Some(Kind::Pipeline) | None))
}

/// What one task of each phase of a pipeline file's partitioned dedupe sections holds (exact,
/// MinHash and substring sections as tasks), printed by `loam validate -c` and `loam dedupe
/// plan -c` before any work.
pub(crate) fn print_task_memory(d: &crate::pipeline_config::DedupeStages) {
    fn show<S: std::fmt::Display>(rows: Vec<(&'static str, f64, S)>) {
        for (phase, bytes, per) in rows {
            println!("  {phase:<20} {bytes:>8.0} B per {per}");
        }
    }
    for (i, stage) in d.sections().iter().enumerate() {
        let mut as_tasks = false;
        if let Some(p) = stage.documents.as_ref().and_then(|e| e.partitions) {
            as_tasks = true;
            println!(
                "{}: exact dedup as tasks over {p} hash range(s), 3 phases; memory per task:",
                d.path(i)
            );
            show(loam_dedup::exact::memory_coefficients(p));
        }
        if let Some(c) = &stage.substring {
            as_tasks = true;
            println!(
                "{}: substring dedup as tasks over {} key range(s), 3 phases; memory per task:",
                d.path(i),
                c.parts()
            );
            show(loam_dedup::substr::memory_coefficients(c.parts()));
        }
        if let Some((m, p)) = stage
            .minhash
            .as_ref()
            .and_then(|m| Some((m, m.partitions?)))
        {
            as_tasks = true;
            let k = (m.num_bands * m.rows_per_band) as u64;
            println!(
                "{}: MinHash as tasks over {p} partition(s), {} phases; memory per task:",
                d.path(i),
                crate::phases::Phase::minhash(m).len(),
            );
            show(loam_dedup::lsh::memory_coefficients(
                k,
                m.num_bands as u64,
                p as u64,
            ));
        }
        if stage.kind() == crate::pipeline_config::DedupeKind::Bloom {
            as_tasks = true;
            let exact = stage.bloom_filter.is_none();
            println!(
                "{}: {} in one process (the filter row's bytes plus the plans), or as 3 phases under --phase; memory per task:",
                d.path(i),
                match exact {
                    true => "paragraphs over an exact key set",
                    false => "Bloom filter dedup",
                }
            );
            show(loam_dedup::bloom_tasks::memory_coefficients(exact));
        }
        if !as_tasks {
            println!("{}: in one process", d.path(i));
        }
    }
}

/// `loam validate -c CONFIG`: parses and checks without touching data, with the checks the
/// commands that run make before they start (taggers and their models, attribute names);
/// `check_inputs` also requires every input path or glob to match files.
pub fn validate(path: &Path, kind: Option<Kind>, check_inputs: bool) -> Result<()> {
    let v = config::read_value(path).map_err(usage)?;
    let kind = kind.or_else(|| guess_kind(&v)).ok_or_else(|| {
        usage(format!(
            "{}: cannot tell which kind of config this is; pass --kind pipeline|tag|dedupe|mix|warc|tokens",
            path.display()
        ))
    })?;
    // dolma's configs are read as dolma's CLI reads them: interpolations resolved first.
    let v = match kind {
        Kind::Pipeline => v,
        _ => ConfigSource::file(path).value()?,
    };
    let inputs: Vec<(String, Vec<String>)> = match kind {
        Kind::Pipeline => {
            let c = check::<crate::pipeline_config::PipelineConfig>(path, &v)?;
            if let Some(t) = &c.tag {
                crate::checks::models_present(path, &t.taggers, &t.classifiers, &t.tagger_options)?;
            }
            if let Some(d) = &c.dedupe {
                print_task_memory(d);
            }
            vec![("documents".into(), c.documents)]
        }
        Kind::Tag => {
            let c = check::<TagConfig>(path, &v)?;
            crate::checks::models_present(path, &c.taggers, &c.classifiers, &c.tagger_options)?;
            vec![("documents".into(), c.documents)]
        }
        Kind::Dedupe => vec![(
            "documents".into(),
            check::<DedupeConfig>(path, &v)?.documents,
        )],
        Kind::Mix => {
            let c = check::<MixerConfig>(path, &v)?;
            crate::checks::mix_attributes(path, &c)?;
            c.streams
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        format!("{}.documents", config::index("streams", i)),
                        s.documents,
                    )
                })
                .collect()
        }
        Kind::Warc => {
            let c = check::<loam_extract::config::WarcConfig>(path, &v)?;
            // `loam warc` builds these taggers before any work; so does validate.
            let taggers: Vec<String> = c
                .pre
                .taggers
                .iter()
                .chain(&c.post.taggers)
                .cloned()
                .collect();
            for t in &taggers {
                loam_filters::registry::info(t).ok_or_else(|| {
                    usage(format!(
                        "{}: unknown tagger `{t}` in pre/post.taggers (`loam taggers` lists them)",
                        path.display()
                    ))
                })?;
            }
            crate::checks::models_present(path, &taggers, &[], &Default::default())?;
            vec![("documents".into(), c.documents)]
        }
        Kind::Tokens => vec![(
            "documents".into(),
            check::<loam_tokens::TokensConfig>(path, &v)?.documents,
        )],
    };
    if kind != Kind::Pipeline {
        crate::checks::warn_ignored(path, &v);
    }
    let mut found = None;
    if check_inputs {
        let mut n = 0;
        for (field, patterns) in &inputs {
            n += crate::checks::check_inputs(path, field, patterns)?;
        }
        found = Some(n);
    }
    match found {
        Some(n) => println!(
            "{}: valid {:?} config; its inputs match {n} file(s)",
            path.display(),
            kind
        ),
        None => println!("{}: valid {:?} config", path.display(), kind),
    }
    Ok(())
}
