//! `loam slurm submit|status`: a pipeline as chained Slurm job arrays.
//!
//! One array per stage (tag → dedupe → mix), each task running
//! `loam run PIPELINE --stage S --rank $SLURM_ARRAY_TASK_ID --world N` on its deterministic
//! share of units, chained with `afterok`; a last one-task job runs `loam run PIPELINE`, which
//! finds every unit done and writes the manifest. A pipeline with no dedup between tag and
//! mix is one array (`tag-mix`: `loam run PIPELINE --rank … --world N`, each task tagging
//! its shards as it mixes them, one read each) before that job. A partitioned MinHash dedupe
//! (`dedupe.minhash.partitions`) is one array per phase (`--phase`: signatures, bands,
//! partitions, `⌈log₂ P⌉` merge rounds, verify, marks) instead of the one-task dedupe job. Completion markers make a resubmission skip
//! finished units, and the bytes are those of a single-machine run.
//!
//! `loam slurm trace MIX` builds a trace index the same way: `loam trace build` as an array
//! (each task its share of the shards), then one task that writes `trace.json`.

use crate::UsageError;
use anyhow::{Context, Result};
use loam_runner::pipeline_config::PipelineConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Options of `loam slurm submit`.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// Tasks per array.
    pub tasks: usize,
    /// Worker threads per task (also `--cpus-per-task`).
    pub threads: usize,
    /// Slurm partition.
    pub partition: Option<String>,
    /// Memory per task, e.g. `4G`.
    pub mem: Option<String>,
    /// Time limit per task, e.g. `02:00:00`.
    pub time: Option<String>,
}

/// Job ids of one submission, kept in `<output>/.loam/slurm/jobs.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Jobs {
    stages: Vec<(String, String)>,
}

fn state_dir(cfg: &PipelineConfig) -> PathBuf {
    PathBuf::from(cfg.output.trim_end_matches('/'))
        .join(".loam")
        .join("slurm")
}

/// What a submission runs: loam's pipeline file, or a dolma recipe.
enum Target {
    Pipeline(Box<PipelineConfig>),
    /// A recipe's stages (those it has) and where its state goes (beside its manifest).
    Recipe {
        stages: Vec<&'static str>,
        dir: PathBuf,
    },
}

impl Target {
    fn load(configs: &[PathBuf]) -> Result<Target> {
        if let [one] = configs {
            if loam_runner::dolma::is_pipeline_file(one)? {
                return Ok(Target::Pipeline(Box::new(load(one)?)));
            }
        }
        let r = loam_runner::recipe::Recipe::load(configs)?;
        let outs: Vec<&str> = r
            .mixer()
            .streams
            .iter()
            .map(|s| s.output.path.as_str())
            .collect();
        let mdir = loam_mixes::dolma_mix::common_dir(&outs).ok_or_else(|| {
            usage("slurm: the mixer's output paths share no directory for the job state")
        })?;
        if mdir.contains("://") {
            return Err(usage(
                "slurm: the mix's output must be on a file system the nodes share (job logs and state live there)",
            ));
        }
        let mut stages = Vec::new();
        if r.has(loam_runner::Kind::Tag) {
            stages.push("tag");
        }
        if r.has(loam_runner::Kind::Dedupe) {
            stages.push("dedupe");
        }
        Ok(Target::Recipe {
            stages,
            dir: PathBuf::from(mdir).join(".loam").join("slurm"),
        })
    }

    fn dir(&self) -> PathBuf {
        match self {
            Target::Pipeline(cfg) => state_dir(cfg),
            Target::Recipe { dir, .. } => dir.clone(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Target::Pipeline(cfg) => &cfg.name,
            Target::Recipe { .. } => "recipe",
        }
    }
}

fn load(config: &Path) -> Result<PipelineConfig> {
    let (cfg, _) =
        loam_pipeline::config::load::<PipelineConfig>(config).map_err(|e| usage(e.to_string()))?;
    if cfg.output.contains("://") {
        return Err(usage(
            "slurm: the pipeline's output must be on a file system the nodes share (job logs and state live there)",
        ));
    }
    Ok(cfg)
}

/// The phases of the pipeline's partitioned exact, MinHash and substring sections and its
/// Bloom filter (or exact paragraph) sections (their union, in order), with each phase's unit
/// count when it does not have one per shard.
fn dedupe_phases(cfg: &PipelineConfig) -> Vec<(loam_runner::phases::Phase, Option<usize>)> {
    use loam_runner::phases::Phase;
    let mut out: Vec<(Phase, Option<usize>)> = Vec::new();
    for d in cfg.dedupe_sections() {
        let phases: Vec<(Phase, Option<usize>)> = match (&d.minhash, &d.substring, &d.documents) {
            (Some(m), _, _) if m.partitions.is_some() => Phase::minhash(m),
            (_, Some(c), _) => Phase::substring(c),
            (_, _, Some(x)) if d.bloom_filter.is_none() && x.partitions.is_some() => {
                Phase::exact(x.partitions.unwrap_or(1))
            }
            _ if d.kind() == loam_runner::pipeline_config::DedupeKind::Bloom => Phase::bloom(),
            _ => continue,
        };
        for (p, units) in phases {
            match out.iter_mut().find(|(q, _)| *q == p) {
                Some((_, u)) => {
                    *u = match (*u, units) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    }
                }
                None => out.push((p, units)),
            }
        }
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

fn sbatch(script: &Path, after: Option<&str>) -> Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(j) = after {
        cmd.arg(format!("--dependency=afterok:{j}"));
    }
    cmd.arg(script);
    let out = cmd
        .output()
        .map_err(|e| usage(format!("cannot run sbatch (is Slurm installed?): {e}")))?;
    if !out.status.success() {
        return Err(anyhow::anyhow!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(anyhow::anyhow!(
            "sbatch printed no job id: {:?}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(id)
}

/// A batch script's first lines: an array of `n` tasks, its log files, the options.
fn script_head(name: &str, n: usize, log: &Path, cwd: &Path, opts: &SubmitOptions) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={name}\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", n - 1));
    s.push_str(&format!("#SBATCH --output={}\n", log.display()));
    s.push_str(&format!("#SBATCH --chdir={}\n", cwd.display()));
    s.push_str("#SBATCH --ntasks=1\n");
    if opts.threads > 0 {
        s.push_str(&format!("#SBATCH --cpus-per-task={}\n", opts.threads));
    }
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(m) = &opts.mem {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    if let Some(t) = &opts.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s
}

/// `loam slurm trace MIX …`: `loam trace build` as a job array (task `i` of `n` builds the
/// shards `k ≡ i (mod n)`), then one task that finds every shard built and writes
/// `trace.json`: the bytes of a local build. Scripts and logs go beside the index, in
/// `.slurm-<index name>/`. Prints the job ids.
pub fn submit_trace(b: &crate::cmd_trace::BuildArgs, opts: &SubmitOptions) -> Result<()> {
    if opts.tasks == 0 {
        return Err(usage("--tasks must be at least 1"));
    }
    let exe = std::env::current_exe().context("locating the loam binary")?;
    let cwd = std::env::current_dir()?;
    let index = b
        .index
        .clone()
        .unwrap_or_else(|| loam_trace::build::default_index_dir(&b.mix));
    let index = cwd.join(index);
    let name = index
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "index".into());
    let dir = index.with_file_name(format!(".slurm-{name}"));
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut args = vec![
        shell_quote(&exe.to_string_lossy()),
        "--threads".into(),
        opts.threads.to_string(),
        "trace".into(),
        "build".into(),
        shell_quote(&b.mix.to_string_lossy()),
        "--index".into(),
        shell_quote(&index.to_string_lossy()),
    ];
    if let Some(t) = &b.tokens {
        args.extend(["--tokens".into(), shell_quote(&t.to_string_lossy())]);
    }
    if b.text {
        args.push("--text".into());
    }
    if let Some(m) = b.max_symbols {
        if m == 0 {
            return Err(usage("--max-symbols must be at least 1"));
        }
        args.extend(["--max-symbols".into(), m.to_string()]);
    }
    let base = format!("exec {}", args.join(" "));
    let mut prev: Option<String> = None;
    for (stage, n) in [("trace-build", opts.tasks), ("trace-index", 1)] {
        let mut s = script_head(
            &format!("loam-{stage}"),
            n,
            &dir.join("logs").join(format!("{stage}-%a.log")),
            &cwd,
            opts,
        );
        if stage == "trace-build" {
            s.push_str(&format!(
                "{base} --rank \"$SLURM_ARRAY_TASK_ID\" --world {n}\n"
            ));
        } else {
            s.push_str(&format!("{base}\n"));
        }
        let script = dir.join(format!("{stage}.sbatch"));
        std::fs::write(&script, s)?;
        let id = sbatch(&script, prev.as_deref())?;
        println!("{stage:<11} job {id}  ({n} task(s))");
        prev = Some(id);
    }
    println!("logs in {}", dir.join("logs").display());
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Writes the batch scripts and submits them, chained. Prints and returns the job ids.
pub fn submit(configs: &[PathBuf], opts: &SubmitOptions) -> Result<()> {
    if opts.tasks == 0 {
        return Err(usage("--tasks must be at least 1"));
    }
    let target = Target::load(configs)?;
    let exe = std::env::current_exe().context("locating the loam binary")?;
    let cwd = std::env::current_dir()?;
    let dir = cwd.join(target.dir());
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut stages: Vec<(String, usize)> = Vec::new();
    let has = |s: &str| match &target {
        Target::Pipeline(cfg) => match s {
            "warc" => cfg.warc.is_some(),
            "tag" => cfg.tag.is_some(),
            _ => cfg.dedupe.is_some(),
        },
        Target::Recipe { stages, .. } => stages.contains(&s),
    };
    // A pipeline with no dedup between tag and mix: one array whose tasks tag and mix their
    // shards in one read (`loam run` without --stage), then the manifest.
    let fused =
        matches!(&target, Target::Pipeline(cfg) if loam_runner::run::tags_while_mixing(cfg));
    if fused {
        stages.push(("tag-mix".into(), opts.tasks));
    }
    if has("warc") {
        stages.push(("warc".into(), opts.tasks));
    }
    if has("tag") && !fused {
        stages.push(("tag".into(), opts.tasks));
    }
    let phases = match &target {
        Target::Pipeline(cfg) => dedupe_phases(cfg),
        // A recipe's dolma dedupe configs run Bloom filter dedup: its phases (a MinHash
        // config, or documents in several folders, is made whole by task 0 of the first).
        Target::Recipe { .. } if has("dedupe") => loam_runner::phases::Phase::bloom(),
        Target::Recipe { .. } => Vec::new(),
    };
    if !phases.is_empty() {
        // Phased sections: one array per phase, each task its share of the phase's units
        // (other dedupe sections are made by task 0 of the first array).
        for (phase, units) in &phases {
            let n = units.map_or(opts.tasks, |u| u.clamp(1, opts.tasks));
            stages.push((format!("dedupe-{}", phase.name()), n));
        }
    } else if has("dedupe") {
        // One global decision (first copy in canonical order): one task.
        stages.push(("dedupe".into(), 1));
    }
    if !fused {
        stages.push(("mix".into(), opts.tasks));
    }
    stages.push(("finalize".into(), 1));
    let mut jobs = Jobs::default();
    let mut prev: Option<String> = None;
    for (stage, n) in stages {
        let stage = stage.as_str();
        let mut s = script_head(
            &format!("loam-{}-{stage}", target.name()),
            n,
            &dir.join("logs").join(format!("{stage}-%a.log")),
            &cwd,
            opts,
        );
        let base = format!(
            "exec {} --threads {} run {}",
            shell_quote(&exe.to_string_lossy()),
            opts.threads,
            // As given: tasks start in this directory, and the manifest records the paths.
            configs
                .iter()
                .map(|c| shell_quote(&c.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if stage == "finalize" {
            s.push_str(&format!("{base}\n"));
        } else if stage == "tag-mix" {
            s.push_str(&format!(
                "{base} --rank \"$SLURM_ARRAY_TASK_ID\" --world {n}\n"
            ));
        } else if let Some(phase) = stage.strip_prefix("dedupe-") {
            s.push_str(&format!(
                "{base} --stage dedupe --phase {phase} --rank \"$SLURM_ARRAY_TASK_ID\" --world {n}\n"
            ));
        } else {
            s.push_str(&format!(
                "{base} --stage {stage} --rank \"$SLURM_ARRAY_TASK_ID\" --world {n}\n"
            ));
        }
        let script = dir.join(format!("{stage}.sbatch"));
        std::fs::write(&script, s)?;
        let id = sbatch(&script, prev.as_deref())?;
        println!("{stage:<9} job {id}  ({n} task(s))");
        jobs.stages.push((stage.to_string(), id.clone()));
        prev = Some(id);
    }
    std::fs::write(dir.join("jobs.json"), serde_json::to_vec_pretty(&jobs)?)?;
    println!(
        "logs in {}; follow with `loam slurm status {}`",
        dir.join("logs").display(),
        configs
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn squeue_states(job: &str) -> Vec<String> {
    Command::new("squeue")
        .args(["-h", "-j", job, "-o", "%T"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn count_done(dir: &Path) -> usize {
    fn walk(d: &Path, n: &mut usize) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else if std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v["state"] == "done")
            {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

/// Prints each stage's queue state and completed units (from completion markers). Returns
/// whether the whole submission has left the queue.
pub fn status(configs: &[PathBuf]) -> Result<bool> {
    let target = Target::load(configs)?;
    let dir = target.dir();
    let jobs: Jobs = match std::fs::read(dir.join("jobs.json")) {
        Ok(b) => serde_json::from_slice(&b)?,
        Err(_) => {
            return Err(usage(format!(
                "no submission recorded in {} (run `loam slurm submit` first)",
                dir.display()
            )))
        }
    };
    let mut finished = true;
    for (stage, id) in &jobs.stages {
        let states = squeue_states(id);
        let queue = if states.is_empty() {
            "not in queue (finished or failed)".to_string()
        } else {
            finished = false;
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for s in &states {
                *counts.entry(s.as_str()).or_default() += 1;
            }
            counts
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Target::Pipeline(cfg) = &target else {
            // A recipe's units are counted by `loam run` itself (its summary).
            println!("{stage:<9} job {id:<8} {queue}");
            continue;
        };
        let out = PathBuf::from(cfg.output.trim_end_matches('/'));
        let markers = match stage.as_str() {
            "tag" => cfg
                .tag
                .as_ref()
                .map(|t| out.join("attributes").join(&t.experiment).join(".loam/tag")),
            // Sections run in order: the stage is done when its last one is.
            "dedupe" | "dedupe-marks" => cfg
                .dedupe_sections()
                .last()
                .map(|d| out.join("attributes").join(&d.name).join(".loam/dedupe")),
            _ => None,
        };
        let done = match (stage.as_str(), markers) {
            (_, Some(m)) => format!("{} unit(s) done", count_done(&m)),
            ("mix" | "tag-mix", None) => {
                let root = out.join(&cfg.mix.name);
                let mut n = 0;
                if let Ok(rd) = std::fs::read_dir(&root) {
                    for e in rd.flatten() {
                        let name = e.file_name().to_string_lossy().to_string();
                        if name.starts_with(&format!("{}-", cfg.mix.version)) {
                            n += count_done(&e.path().join(".loam/mix"));
                        }
                    }
                }
                format!("{n} unit(s) done")
            }
            _ => String::new(),
        };
        println!("{stage:<9} job {id:<8} {queue:<36} {done}");
    }
    Ok(finished)
}
