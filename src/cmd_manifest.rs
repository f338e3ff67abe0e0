//! `loam manifest verify|diff` and `loam reproduce`: checking a mix against its manifest,
//! comparing two mixes from their ledgers, and rebuilding a mix from its manifest.

use crate::UsageError;
use anyhow::{Context, Result};
use loam_manifests::check::{self, short_id, short_sha, Check, CheckItem, Finding};
use loam_manifests::Manifest;
use loam_report::mixdir::{DecisionMoves, Store};
use loam_runner::run::{run_pipeline, RunOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Whether a location is not on local disk (an object store, `s3://…`), as the storage
/// layer routes it.
pub fn is_remote(loc: &str) -> bool {
    loam_report::mixdir::is_remote(loc)
}

/// Finds and parses `manifest.json` in a mix directory (or the file itself), on local disk or
/// in an object store (`s3://bucket/mixes/name/version`). Returns it with its directory.
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf)> {
    loam_report::mixdir::load_manifest(path).map_err(|e| usage(e.to_string()))
}

/// The directory a manifest's relative input paths are read from: `--root`, else the
/// run's recorded working directory (when it exists), else the current directory (`None`).
pub fn input_root(m: &Manifest, dir: &Path, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(r) = given {
        return Some(r.to_path_buf());
    }
    match is_remote(&dir.to_string_lossy()) {
        true => None,
        false => m.run.input_root(dir),
    }
}

/// `loam manifest verify DIR`: recomputes every checksum (relative inputs under `root`, or
/// the run's recorded working directory). DIR may also be a trace index (a directory holding
/// `trace.json`); a mix's trace index in its default place is verified with the mix. Returns
/// whether all matched.
pub fn verify(
    path: &Path,
    outputs_only: bool,
    threads: usize,
    json: bool,
    root: Option<&Path>,
) -> Result<bool> {
    let trace_index = |dir: &Path| -> Result<loam_trace::IndexVerification> {
        loam_trace::verify_index(dir, threads).map_err(|e| match e {
            loam_trace::TraceError::Usage(m) => usage(m),
            e => anyhow::Error::new(e),
        })
    };
    let local = !is_remote(&path.to_string_lossy());
    if local && path.join(loam_trace::build::TRACE_JSON).is_file() {
        let iv = trace_index(path)?;
        if json {
            let mut j = serde_json::to_value(&iv)?;
            j["ok"] = serde_json::Value::Bool(iv.ok());
            println!("{}", serde_json::to_string_pretty(&j)?);
        } else {
            print!("{iv}");
        }
        return Ok(iv.ok());
    }
    let v = check::verify(path, outputs_only, &Store, threads, root).map_err(|e| match e {
        check::VerifyError::Load(e) => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    // The index `loam trace build` puts beside a pipeline's mix, when there is one.
    let index = if local {
        let mix_dir = v.manifest.parent().unwrap_or(path);
        let dir = loam_trace::build::default_index_dir(mix_dir);
        match dir.join(loam_trace::build::TRACE_JSON).is_file() {
            true => Some(trace_index(&dir)?),
            false => None,
        }
    } else {
        None
    };
    let ok = v.ok() && index.as_ref().is_none_or(|i| i.ok());
    if json {
        let mut j = serde_json::to_value(&v)?;
        if let Some(i) = &index {
            j["trace_index"] = serde_json::to_value(i)?;
        }
        j["ok"] = serde_json::Value::Bool(ok);
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print!("{v}");
        if let Some(i) = &index {
            print!("{i}");
        }
    }
    Ok(ok)
}

/// `loam manifest diff A B`: per-stage and per-rule deltas, and how documents moved between
/// decisions, from the two mixes' manifests and ledgers (no text is read).
pub fn diff(a: &Path, b: &Path, json: bool) -> Result<()> {
    let (ma, da) = load_manifest(a)?;
    let (mb, db) = load_manifest(b)?;
    let stages = check::StageDiff::new(&ma, &mb);
    let moves = DecisionMoves::new(&ma, &da, &mb, &db).map_err(crate::cmd_report::error)?;
    let config = check::config_changes(&ma, &mb);
    if json {
        let j = serde_json::json!({
            "config": config,
            "mixes": stages.mixes.iter().map(|(name, label, id)| {
                serde_json::json!({"name": name, "label": label, "content_id": id})
            }).collect::<Vec<_>>(),
            "stages": stages.rows.iter().map(|(row, x, y)| {
                serde_json::json!({"row": row, "a": x, "b": y})
            }).collect::<Vec<_>>(),
            "moves": moves.moves.iter().map(|((from, to), n)| {
                serde_json::json!({"from": from, "to": to, "documents": n})
            }).collect::<Vec<_>>(),
            "only_a": moves.only_a,
            "only_b": moves.only_b,
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    // What changed in the configs first: it explains the counts below.
    let show = |v: &Option<serde_json::Value>| match v {
        Some(v) => v.to_string(),
        None => "(absent)".to_string(),
    };
    if config.is_empty() {
        println!("config: the same normalized config\n");
    } else {
        println!("config values that differ (A → B):");
        for c in &config {
            println!("  {}: {} → {}", c.path, show(&c.a), show(&c.b));
        }
        println!();
    }
    print!("{stages}");
    print!("{moves}");
    Ok(())
}

/// Checks the manifest's inputs (all of them, or those of one `role`) against their
/// checksums, printing each that is missing or changed. Missing inputs end it (a usage
/// error: nothing can be rerun from them); returns how many changed.
fn check_inputs(
    m: &Manifest,
    role: Option<&str>,
    root: Option<&Path>,
    threads: usize,
) -> Result<usize> {
    // Read from the current directory (`reproduce` runs in the run's); `root` names it.
    let items: Vec<CheckItem> = m
        .inputs
        .iter()
        .filter(|i| role.is_none_or(|r| i.role.as_str() == r))
        .map(|i| CheckItem {
            what: format!("input ({})", i.role),
            path: PathBuf::from(&i.path),
            want: i.digest.clone(),
        })
        .collect();
    let checks = check::check_files(&items, &Store, threads);
    let (mut missing, mut changed) = (0usize, 0usize);
    for (i, c) in items.iter().zip(&checks) {
        match c {
            Check::Ok => {}
            Check::Missing | Check::Unreadable { .. } => missing += 1,
            Check::Changed { .. } => changed += 1,
        }
        if let Some(f) = Finding::of(i, c) {
            println!("{f}");
        }
    }
    if missing > 0 {
        let relative = m
            .inputs
            .iter()
            .filter(|i| role.is_none_or(|r| i.role.as_str() == r))
            .any(|i| !i.path.starts_with('/') && !i.path.contains("://"));
        return Err(usage(format!(
            "{missing} input(s) of the manifest are missing or unreadable; nothing to rerun from{}",
            if relative {
                match root {
                    Some(r) => format!(
                        " (relative input paths are read from {}; give the directory the mix was made in with --root)",
                        r.display()
                    ),
                    None => " (relative input paths are read from the current directory: give the directory the mix was made in with --root)".to_string(),
                }
            } else {
                String::new()
            }
        )));
    }
    Ok(changed)
}

/// The output directory of a reproduction: `--output`, or `out/reproduce-<content id>`;
/// refused unless new or empty (a directory with done units would be skipped, not rerun).
fn fresh_output(m: &Manifest, output: Option<PathBuf>) -> Result<PathBuf> {
    let out = output
        .unwrap_or_else(|| PathBuf::from(format!("out/reproduce-{}", short_id(&m.mix.content_id))));
    if let Ok(mut rd) = std::fs::read_dir(&out) {
        if rd.next().is_some() {
            return Err(usage(format!(
                "{}: not empty; `loam reproduce` rebuilds into a new or empty directory (give --output DIR)",
                out.display()
            )));
        }
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok(out)
}

/// `loam reproduce MANIFEST`: checks the inputs, reruns the manifest's config on them into a
/// fresh directory and compares every output with the manifest's checksum. Returns whether
/// the result is byte-identical (changed inputs are reported, and the rerun still shows
/// which outputs they changed).
pub fn reproduce(
    path: &Path,
    output: Option<PathBuf>,
    root: Option<&Path>,
    mut opts: RunOptions,
) -> Result<bool> {
    // The rerun runs in the run's working directory (`--root`, or the one the manifest
    // records), where its relative inputs are; when that is not here, the paths given here
    // are made absolute first.
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let absolute = |p: &Path| match is_remote(&p.to_string_lossy()) {
        true => p.to_path_buf(),
        false => cwd.join(p),
    };
    let (m, dir) = load_manifest(path)?;
    let root = input_root(&m, &dir, root.map(absolute).as_deref());
    let here = std::fs::canonicalize(&cwd).unwrap_or_else(|_| cwd.clone());
    let moves = root
        .as_ref()
        .is_some_and(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()) != here);
    let (dir, output) = match moves {
        false => (dir, output),
        true => {
            let output = output.map(|o| absolute(&o)).unwrap_or_else(|| {
                cwd.join(format!("out/reproduce-{}", short_id(&m.mix.content_id)))
            });
            (absolute(&dir), Some(output))
        }
    };
    if let (true, Some(r)) = (moves, &root) {
        std::env::set_current_dir(r)
            .with_context(|| format!("entering the run's working directory {}", r.display()))?;
    }
    let dolma = m.mix.label == loam_runner::mix::DOLMA_MIX_LABEL;
    if m.tool.version != loam_pipeline::VERSION {
        println!(
            "note: made by loam {}, rerun by loam {}: outputs may differ",
            m.tool.version,
            loam_pipeline::VERSION
        );
    }
    // Inputs first: changed inputs cannot give the same bytes. `loam run` makes its own
    // attribute files; a dolma mix reads them as inputs.
    let role = if dolma { None } else { Some("documents") };
    let changed_inputs = check_inputs(&m, role, root.as_deref(), opts.threads)?;
    let out = fresh_output(&m, output)?;
    // (old output path, new output path), both relative to their manifest's directory, for
    // outputs that move; the rest keep their path.
    let mut moved: Vec<(String, String)> = Vec::new();
    let outcome = if dolma {
        let (cfg_path, moves) = dolma_reproduce_config(&m, &dir, &out)?;
        moved = moves;
        if opts.threads == 0 {
            opts.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
        let out_s = out.to_string_lossy().to_string();
        // A mix made with `--dolma-bugs` has dolma's output names (a stream's last output
        // `….json<ext>`); it is rebuilt with them, or its outputs would be reported missing.
        let dolma_names = m.outputs.iter().any(|o| {
            o.kind == loam_manifests::OutputKind::Documents
                && o.path
                    .rsplit('/')
                    .next()
                    .is_some_and(|f| f.contains(".json.") || f.ends_with(".json"))
        }) || m.recipe.iter().any(|r| r.dolma_bugs);
        loam_runner::mix::mix(
            &loam_runner::dolma_cli::ConfigSource::file(&cfg_path),
            Some(&out_s),
            dolma_names,
            opts,
        )?
    } else {
        let mut config = m.config.normalized.clone();
        let obj = config
            .as_object_mut()
            .ok_or_else(|| usage("manifest config is not an object"))?;
        obj.insert(
            "output".into(),
            serde_json::Value::String(out.to_string_lossy().to_string()),
        );
        let cfg_path = out.join("reproduce-config.json");
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&config)?)?;
        run_pipeline(&cfg_path, opts)?
    };
    crate::ui::print_outcome(&outcome);
    let Some(new_manifest) = outcome.manifest.clone() else {
        println!("the rerun did not complete (see above): nothing to compare");
        return Ok(false);
    };
    let (n, ndir) = load_manifest(Path::new(&new_manifest))?;
    let mut same = changed_inputs == 0;
    if n.mix.content_id != m.mix.content_id {
        same = false;
        println!(
            "content id differs: {} (manifest) vs {} (now) — config, inputs or loam version changed",
            m.mix.content_id, n.mix.content_id
        );
    }
    // Inputs the rerun read that the manifest does not list (a glob that matches more).
    let listed: BTreeSet<&str> = m.inputs.iter().map(|i| i.path.as_str()).collect();
    for i in n
        .inputs
        .iter()
        .filter(|i| role.is_none_or(|r| i.role.as_str() == r))
    {
        if !listed.contains(i.path.as_str()) {
            same = false;
            println!("NEW      input ({})  {}", i.role, i.path);
        }
    }
    let rename = |p: &str| -> String {
        moved
            .iter()
            .filter(|(old, _)| p.starts_with(&format!("{old}/")))
            .max_by_key(|(old, _)| old.len())
            .map_or_else(
                || p.to_string(),
                |(old, new)| format!("{new}{}", &p[old.len()..]),
            )
    };
    let old: BTreeMap<String, &loam_manifests::OutputFile> =
        m.outputs.iter().map(|o| (rename(&o.path), o)).collect();
    let new: BTreeMap<&str, &loam_manifests::OutputFile> =
        n.outputs.iter().map(|o| (o.path.as_str(), o)).collect();
    let mut differ = 0usize;
    for (p, o) in &old {
        match new.get(p.as_str()) {
            None => {
                differ += 1;
                println!("MISSING  {}  {p}", o.kind);
            }
            Some(o2) if o2.digest != o.digest => {
                differ += 1;
                println!(
                    "DIFFERS  {}  {p}  (manifest: {} documents, {} bytes, sha256 {}; now: {} documents, {} bytes, sha256 {})",
                    o.kind,
                    o.documents,
                    o.digest.bytes,
                    short_sha(&o.digest.sha256),
                    o2.documents,
                    o2.digest.bytes,
                    short_sha(&o2.digest.sha256)
                );
            }
            _ => {}
        }
    }
    for (p, o) in &new {
        if !old.contains_key(*p) {
            differ += 1;
            println!("EXTRA    {}  {p}", o.kind);
        }
    }
    if differ > 0 {
        same = false;
        println!(
            "{differ} of {} output file(s) differ from {} (rebuilt in {}; `loam manifest diff {} {}` shows how decisions moved)",
            old.len(),
            path.display(),
            ndir.display(),
            dir.display(),
            ndir.display()
        );
    } else if same {
        println!(
            "reproduced: {} output file(s) byte-identical to {}",
            old.len(),
            path.display()
        );
    } else {
        println!(
            "the {} output file(s) are byte-identical to {}, but not their inputs or content id (above)",
            old.len(),
            path.display()
        );
    }
    Ok(same)
}

/// The config a `loam mix -c` manifest records, made to write into `out`: every stream's
/// output directory at its place relative to the manifest directory `mdir`, under `out`
/// (a directory outside `mdir` — `--manifest-dir` elsewhere — becomes `out/output-<k>`);
/// the manifest and ledgers go to `out` itself. Written to
/// `out/.loam/reproduce/<mix name>.json` (a name `loam manifest verify` skips; its stem
/// names the mix). Returns its path and the output directories that moved, as (old, new)
/// paths relative to the manifest directories.
fn dolma_reproduce_config(
    m: &Manifest,
    mdir: &Path,
    out: &Path,
) -> Result<(PathBuf, Vec<(String, String)>)> {
    let mut config = m.config.normalized.clone();
    let streams = config
        .get_mut("streams")
        .and_then(|v| v.as_array_mut())
        .ok_or_else(|| usage("the manifest's config has no `streams`"))?;
    let mdir_s = mdir.to_string_lossy().to_string();
    let out_s = out.to_string_lossy().trim_end_matches('/').to_string();
    let mut moved: Vec<(String, String)> = Vec::new();
    let mut clean: Vec<String> = Vec::new();
    for (si, s) in streams.iter_mut().enumerate() {
        let o = s
            .get_mut("output")
            .and_then(|o| o.as_object_mut())
            .ok_or_else(|| {
                usage(format!(
                    "the manifest's config: streams[{si}] has no `output`"
                ))
            })?;
        let old = o
            .get("path")
            .and_then(|p| p.as_str())
            .ok_or_else(|| {
                usage(format!(
                    "the manifest's config: streams[{si}].output has no `path`"
                ))
            })?
            .trim_end_matches('/')
            .to_string();
        let rel = loam_runner::mix::relative_to(&mdir_s, &old);
        let inside =
            !rel.contains("://") && !rel.starts_with('/') && !rel.split('/').any(|c| c == "..");
        let new_rel = if inside {
            clean.push(rel.clone());
            rel
        } else {
            match moved.iter().find(|(o, _)| *o == rel) {
                Some((_, n)) => n.clone(),
                None => {
                    let n = format!("output-{}", moved.len());
                    moved.push((rel, n.clone()));
                    n
                }
            }
        };
        let new_path = if new_rel.is_empty() {
            out_s.clone()
        } else {
            format!("{out_s}/{new_rel}")
        };
        o.insert("path".into(), serde_json::Value::String(new_path));
    }
    if let Some(c) = clean.iter().find(|c| {
        moved
            .iter()
            .any(|(_, n)| c.split('/').next() == Some(n.as_str()))
    }) {
        return Err(usage(format!(
            "{c}: an output directory of the mix has the name loam gives the directories outside its manifest directory; cannot lay out the reproduction"
        )));
    }
    let rdir = out.join(".loam/reproduce");
    std::fs::create_dir_all(&rdir).with_context(|| format!("creating {}", rdir.display()))?;
    let name: String = m
        .mix
        .name
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let cfg_path = rdir.join(format!("{name}.json"));
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&config)?)
        .with_context(|| format!("writing {}", cfg_path.display()))?;
    Ok((cfg_path, moved))
}
