//! `loam run tag.yaml dedupe_docs.yaml dedupe_paras.yaml mix.yaml`: a dolma recipe — any
//! number of tagger and deduper configs and one mixer config (optionally a `warc` config
//! first) — run as one pipeline. Each config is recognized by its keys and runs through the
//! same code as `loam tag|dedupe|mix -c`, so every stage writes exactly what that command
//! writes, where the config says; the mix's manifest then also records the earlier stages'
//! configs, counts and models.

use crate::dolma::{guess_kind, usage, StageRun};
use crate::error::{Context, Error, Result};
use crate::mix::Prior;
use crate::outcome::{self as ui, Outcome, StageLine};
use crate::run::{RunOptions, Stage};
use crate::Kind;
use loam_dedup::config::DedupeConfig;
use loam_filters::config::TagConfig;
use loam_manifests::{RecipeStage, RecipeStageKind, StageCounts};
use loam_mixes::config::MixerConfig;
use loam_pipeline::config;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

/// One config of a recipe, loaded and checked.
enum Step {
    Tag(Box<TagConfig>),
    Dedupe(Box<DedupeConfig>, Value),
}

/// A recipe's configs, in run order.
pub struct Recipe {
    steps: Vec<(PathBuf, Step, Vec<u8>, Value)>,
    mix: (PathBuf, MixerConfig),
    /// A `tokens` config, run last on the mix's documents.
    tokens: Option<(PathBuf, loam_tokens::TokensConfig, Vec<u8>)>,
}

impl Recipe {
    /// Loads and checks every config (see [`load`]).
    pub fn load(paths: &[PathBuf]) -> Result<Recipe> {
        load(paths)
    }
    /// The mixer config.
    pub fn mixer(&self) -> &MixerConfig {
        &self.mix.1
    }
    /// Whether the recipe has a stage of this kind.
    pub fn has(&self, kind: Kind) -> bool {
        self.steps.iter().any(|(_, s, _, _)| {
            matches!(
                (s, kind),
                (Step::Tag(_), Kind::Tag) | (Step::Dedupe(..), Kind::Dedupe)
            )
        })
    }
}

/// Loads and checks every config before any data is touched: a problem in the last one
/// stops the run before the first one writes.
fn load(paths: &[PathBuf]) -> Result<Recipe> {
    let mut tags = Vec::new();
    let mut dedupes = Vec::new();
    let mut mix: Option<(PathBuf, MixerConfig)> = None;
    let mut tokens: Option<(PathBuf, loam_tokens::TokensConfig, Vec<u8>)> = None;
    for p in paths {
        let v = config::read_value(p).map_err(usage)?;
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        match guess_kind(&v) {
            Some(Kind::Tag) => {
                let (cfg, raw) = crate::dolma::load::<TagConfig>(p)?;
                crate::checks::warn_ignored(p, &raw);
                let norm = normalized(raw, TagConfig::runtime_keys());
                tags.push((p.clone(), Step::Tag(Box::new(cfg)), bytes, norm));
            }
            Some(Kind::Dedupe) => {
                let (cfg, raw) = crate::dolma::load::<DedupeConfig>(p)?;
                crate::checks::warn_ignored(p, &raw);
                let norm = normalized(raw.clone(), DedupeConfig::runtime_keys());
                dedupes.push((p.clone(), Step::Dedupe(Box::new(cfg), raw), bytes, norm));
            }
            Some(Kind::Mix) => {
                if let Some((first, _)) = &mix {
                    return Err(usage(format!(
                        "{}: a recipe has one mixer config, and {} is one too; run separate mixes with separate `loam run`s",
                        p.display(),
                        first.display()
                    )));
                }
                let (cfg, raw) = crate::dolma::load::<MixerConfig>(p)?;
                crate::checks::mix_attributes(p, &cfg)?;
                crate::checks::warn_ignored(p, &raw);
                mix = Some((p.clone(), cfg));
            }
            Some(Kind::Tokens) => {
                if let Some((first, ..)) = &tokens {
                    return Err(usage(format!(
                        "{}: a recipe has one tokens config, and {} is one too",
                        p.display(),
                        first.display()
                    )));
                }
                let (cfg, raw) = crate::dolma::load::<loam_tokens::TokensConfig>(p)?;
                crate::checks::warn_ignored(p, &raw);
                tokens = Some((p.clone(), cfg, bytes));
            }
            Some(Kind::Pipeline) => {
                return Err(usage(format!(
                    "{}: a loam pipeline file runs on its own (`loam run {}`), not in a recipe of dolma configs",
                    p.display(),
                    p.display()
                )))
            }
            Some(Kind::Warc) => {
                return Err(usage(format!(
                    "{}: run a warc config with `loam warc -c` first; a recipe takes tagger, deduper and mixer configs",
                    p.display()
                )))
            }
            None => {
                return Err(usage(format!(
                    "{}: not a dolma tagger (`taggers`), deduper (`dedupe`) or mixer (`streams`) config",
                    p.display()
                )))
            }
        }
    }
    let mix = mix.ok_or_else(|| {
        usage("a recipe needs one mixer config (with `streams`); its manifest covers the whole run")
    })?;
    // Stages run in dolma's order whatever the order on the command line: taggers, then
    // dedupers (each in the order given), then the mixer.
    tags.extend(dedupes);
    Ok(Recipe {
        steps: tags,
        mix,
        tokens,
    })
}

/// When any config of the recipe says `dryrun: true`: every config is checked (done by
/// [`load`]) and every config's `documents` must match files; nothing runs or is written.
fn dry_run(recipe: &Recipe, started: Instant) -> Result<Option<Outcome>> {
    let (mix_path, mix) = &recipe.mix;
    let any = mix.dryrun
        || recipe.steps.iter().any(|(_, s, _, _)| match s {
            Step::Tag(c) => c.dryrun,
            Step::Dedupe(c, _) => c.dryrun,
        });
    if !any {
        return Ok(None);
    }
    for (path, step, _, _) in &recipe.steps {
        let docs = match step {
            Step::Tag(c) => &c.documents,
            Step::Dedupe(c, _) => &c.documents,
        };
        let n = crate::checks::check_inputs(path, "documents", docs)?;
        crate::checks::say_dry_run(path, n);
    }
    let mut n = 0;
    for (i, s) in mix.streams.iter().enumerate() {
        let field = format!("{}.documents", config::index("streams", i));
        n += crate::checks::check_inputs(mix_path, &field, &s.documents)?;
    }
    crate::checks::say_dry_run(mix_path, n);
    Ok(Some(
        StageRun::empty().outcome("loam run (recipe, dry run)".into(), started),
    ))
}

fn normalized(mut v: Value, runtime: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for k in runtime {
            m.remove(*k);
        }
    }
    v
}

fn counts(kind: &str, l: &StageLine) -> StageCounts {
    let rest = l.name.strip_prefix(kind).unwrap_or(&l.name).trim_start();
    StageCounts {
        stage: format!("{kind}:{rest}"),
        kind: Some(l.kind),
        documents_in: l.docs_in,
        documents_out: l.docs_out,
        text_bytes_in: l.bytes_in,
        text_bytes_out: l.bytes_out,
        by_rule: l.by_rule.clone(),
    }
}

/// Runs a recipe of dolma configs as one pipeline.
pub fn run(
    paths: &[PathBuf],
    dolma_bugs: bool,
    manifest_dir: Option<&str>,
    opts: RunOptions,
) -> Result<Outcome> {
    let started = Instant::now();
    let started_at = ui::now_rfc3339();
    // Unlike a pipeline file without dedup (`run::tags_while_mixing`), a recipe's stages
    // cannot share a task's read.
    if opts.part.stage.is_none() && opts.part.units.world > 1 {
        return Err(Error::Usage(
            "--rank/--world need --stage for a dolma recipe: its tasks run one stage at a time"
                .into(),
        ));
    }
    let recipe = load(paths)?;
    if let Some(out) = dry_run(&recipe, started)? {
        return Ok(out);
    }
    let mut prior = Prior::default();
    let mut lines: Vec<StageLine> = Vec::new();
    let mut shards = 0;
    let mut threads = opts.threads;
    for (path, step, bytes, norm) in &recipe.steps {
        let (kind, stage, run): (RecipeStageKind, Stage, Option<StageRun>) = match step {
            Step::Tag(cfg) => (
                RecipeStageKind::Tag,
                Stage::Tag,
                match opts.part.runs(Stage::Tag) {
                    true => Some(crate::dolma::tag_config(cfg, dolma_bugs, opts)?),
                    false => None,
                },
            ),
            Step::Dedupe(cfg, raw) => (
                RecipeStageKind::Dedupe,
                Stage::Dedupe,
                match opts.part.runs(Stage::Dedupe) {
                    true => Some(crate::dedupe::dedupe_config(
                        cfg,
                        raw.clone(),
                        dolma_bugs,
                        opts,
                    )?),
                    false => None,
                },
            ),
        };
        prior.recipe.push(RecipeStage {
            kind,
            config: ui::config_record(path, bytes, norm.clone()),
            dolma_bugs,
        });
        let Some(run) = run else { continue };
        let label = match stage {
            Stage::Tag => "tag",
            _ => "dedupe",
        };
        prior
            .stages
            .extend(run.lines.iter().map(|l| counts(label, l)));
        prior.models.extend(run.models);
        shards = shards.max(run.shards);
        threads = run.threads;
        lines.extend(run.lines);
        if !run.failures.is_empty() {
            // A later stage would read this one's missing outputs: stop here, exit 1.
            return Ok(Outcome {
                warnings: Vec::new(),
                title: format!("loam run (recipe of {} configs)", paths.len()),
                shards,
                stages: lines,
                failures: run.failures,
                manifest: None,
                elapsed: started.elapsed(),
                started,
                threads,
            });
        }
    }
    if !opts.part.runs(Stage::Mix) {
        return Ok(Outcome {
            warnings: Vec::new(),
            title: format!("loam run (recipe of {} configs, one stage)", paths.len()),
            shards,
            stages: lines,
            failures: Vec::new(),
            manifest: None,
            elapsed: started.elapsed(),
            started,
            threads,
        });
    }
    prior.started = Some((started, started_at));
    prior.dolma_bugs = dolma_bugs;
    let (mix_path, mix_cfg) = &recipe.mix;
    let mut out = crate::mix::mix_config(
        &crate::dolma_cli::ConfigSource::file(mix_path),
        mix_cfg,
        manifest_dir,
        opts,
        prior,
    )?;
    lines.extend(out.stages);
    if let Some((tpath, tcfg, tbytes)) = &recipe.tokens {
        // Last, on the mix's documents, only when the mix is whole.
        if out.failures.is_empty() && out.manifest.is_some() && opts.part.stage.is_none() {
            let parent = out
                .manifest
                .as_deref()
                .and_then(|m| std::fs::read(m).ok())
                .and_then(|b| serde_json::from_slice::<loam_manifests::Manifest>(&b).ok())
                .map(|m| m.mix.content_id);
            let t = crate::tokens::tokens_config(
                tpath,
                tbytes,
                tcfg,
                opts,
                Instant::now(),
                parent.as_deref(),
            )?;
            lines.extend(t.stages);
            out.failures.extend(t.failures);
        }
    }
    out.stages = lines;
    out.title = format!("loam run (recipe of {} configs)", paths.len());
    out.shards = out.shards.max(shards);
    // A cluster task (one stage, a share of its units) leaves the manifest to the final run.
    if opts.part.stage.is_some() {
        out.title.push_str(", one stage");
    }
    Ok(out)
}
