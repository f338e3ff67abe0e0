//! `loam manifest verify|diff` and `loam reproduce`: checking a mix against its manifest,
//! comparing two mixes from their ledgers, and rebuilding a mix from its manifest.

use crate::run::{run_pipeline, RunOptions};
use crate::UsageError;
use anyhow::{Context, Result};
use loam_manifests::{FileDigest, Manifest};
use loam_mixes::ledger::{read_ledger, Decision};
use loam_pipeline::executor::Executor;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Whether a location is not on local disk (an object store, `s3://…`), as the storage
/// layer routes it.
pub fn is_remote(loc: &str) -> bool {
    use loam_pipeline::storage::Storage;
    loam_pipeline::AnyStorage.local_path(loc).is_none()
}

/// Finds and parses `manifest.json` in a mix directory (or the file itself), on local disk or
/// in an object store (`s3://bucket/mixes/name/version`). Returns it with its directory.
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf)> {
    let loc = path.to_string_lossy();
    let file = if is_remote(&loc) {
        if loc.ends_with(".json") {
            loc.to_string()
        } else {
            format!("{}/manifest.json", loc.trim_end_matches('/'))
        }
    } else if path.is_dir() {
        path.join("manifest.json").to_string_lossy().to_string()
    } else {
        loc.to_string()
    };
    let bytes = loam_pipeline::storage::storage_for(&file)
        .and_then(|s| loam_pipeline::storage::read_all(s, &file))
        .map_err(|e| usage(format!("{file}: cannot read manifest: {e}")))?;
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| usage(format!("{file}: not a loam manifest: {e}")))?;
    let dir = match file.rsplit_once('/') {
        Some((d, _)) if !d.is_empty() => PathBuf::from(d),
        Some(_) => PathBuf::from("/"),
        None => PathBuf::from("."),
    };
    Ok((m, dir))
}

/// One checked file.
#[derive(Debug)]
enum Check {
    Ok,
    Missing,
    Changed {
        found: FileDigest,
    },
    /// It exists but could not be read (permissions, network, credentials).
    Unreadable {
        error: String,
    },
}

/// Recomputes the checksum of a file on local disk or in an object store.
fn check_file(path: &Path, want: &FileDigest) -> Check {
    let loc = path.to_string_lossy();
    let storage = match loam_pipeline::storage::storage_for(&loc) {
        Ok(s) => s,
        Err(e) => {
            return Check::Unreadable {
                error: e.to_string(),
            }
        }
    };
    match storage.size(&loc) {
        Ok(Some(_)) => {}
        Ok(None) => return Check::Missing,
        Err(e) => {
            return Check::Unreadable {
                error: e.to_string(),
            }
        }
    }
    let digest = storage.open(&loc).map_err(|e| e.to_string()).and_then(|r| {
        loam_manifests::digest_reader(std::io::BufReader::with_capacity(1 << 20, r))
            .map_err(|e| format!("{loc}: {e}"))
    });
    match digest {
        Ok(d) if d == *want => Check::Ok,
        Ok(d) => Check::Changed { found: d },
        Err(error) => Check::Unreadable { error },
    }
}

/// The files under a mix directory (local or in an object store), relative to it, without
/// loam's own bookkeeping (`.loam…` names at any depth).
fn files_under(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let loc = dir.to_string_lossy();
    if !is_remote(&loc) {
        walk(dir, dir, &mut out);
        return Ok(out);
    }
    let prefix = format!("{}/", loc.trim_end_matches('/'));
    let storage = loam_pipeline::storage::storage_for(&prefix)?;
    for o in storage.list(&prefix)? {
        if let Some(rel) = o.path.strip_prefix(&prefix) {
            if !rel.split('/').any(|c| c.starts_with(".loam")) {
                out.insert(rel.to_string());
            }
        }
    }
    Ok(out)
}

fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with(".loam") {
            continue;
        }
        if p.is_dir() {
            walk(&p, base, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.insert(rel.to_string_lossy().to_string());
        }
    }
}

/// `loam manifest verify DIR`: recomputes every checksum. Returns whether all matched.
pub fn verify(path: &Path, outputs_only: bool, threads: usize) -> Result<bool> {
    let (m, dir) = load_manifest(path)?;
    let mut items: Vec<(String, PathBuf, FileDigest)> = Vec::new();
    for o in &m.outputs {
        items.push(("output".into(), dir.join(&o.path), o.digest.clone()));
    }
    if !outputs_only {
        for i in &m.inputs {
            items.push((
                format!("input ({})", i.role),
                PathBuf::from(&i.path),
                i.digest.clone(),
            ));
        }
        for md in &m.models {
            items.push(("model".into(), PathBuf::from(&md.path), md.digest.clone()));
        }
    }
    let exec = Executor::new(threads)?;
    let checks = exec.map(&items, |(_, p, d)| check_file(p, d));
    let mut problems = 0usize;
    for ((kind, p, want), c) in items.iter().zip(&checks) {
        match c {
            Check::Ok => {}
            Check::Missing => {
                problems += 1;
                println!("MISSING  {kind}  {}", p.display());
            }
            Check::Unreadable { error } => {
                problems += 1;
                println!("UNREADABLE  {kind}  {}  ({error})", p.display());
            }
            Check::Changed { found } => {
                problems += 1;
                println!(
                    "CHANGED  {kind}  {}  (manifest: {} bytes sha256 {}, now: {} bytes sha256 {})",
                    p.display(),
                    want.bytes,
                    &want.sha256[..16],
                    found.bytes,
                    &found.sha256[..16]
                );
            }
        }
    }
    // Files in the mix directory that the manifest does not list.
    let listed: BTreeSet<String> = m.outputs.iter().map(|o| o.path.clone()).collect();
    let mut present = files_under(&dir)?;
    present.remove("manifest.json");
    for extra in present.difference(&listed) {
        problems += 1;
        println!("EXTRA    output  {}", dir.join(extra).display());
    }
    let checked = items.len();
    if problems == 0 {
        println!(
            "ok: {checked} file(s) match {} (mix {} {}, content id {})",
            dir.join("manifest.json").display(),
            m.mix.name,
            m.mix.label,
            &m.mix.content_id[..12]
        );
        Ok(true)
    } else {
        println!("{problems} difference(s) among {checked} checked file(s)");
        Ok(false)
    }
}

/// A document's place: input file name and line.
type LedgerKey = (String, u64);
/// What the ledger says of it: decision, rule, id.
type LedgerEntry = (Decision, Option<String>, String);

fn ledger_decisions(m: &Manifest, dir: &Path) -> Result<HashMap<LedgerKey, LedgerEntry>> {
    let mut out = HashMap::new();
    let ledgers: Vec<&loam_manifests::OutputFile> =
        m.outputs.iter().filter(|o| o.kind == "ledger").collect();
    if ledgers.is_empty() {
        return Err(usage(format!(
            "{}: this mix has no ledger (made by dolma or an older loam); diff needs ledgers",
            dir.display()
        )));
    }
    for o in ledgers {
        let p = dir.join(&o.path);
        read_ledger(&p, |r| {
            let file = r.file.rsplit('/').next().unwrap_or(&r.file).to_string();
            out.insert((file, r.line), (r.decision, r.rule, r.id));
        })?;
    }
    Ok(out)
}

fn label(d: Decision, rule: &Option<String>) -> String {
    match (d, rule) {
        (Decision::Kept, _) => "kept".into(),
        (_, Some(r)) => format!("{}:{r}", d.as_str()),
        (_, None) => d.as_str().into(),
    }
}

/// `loam manifest diff A B`: per-stage and per-rule deltas, and how documents moved between
/// decisions, from the two mixes' manifests and ledgers (no text is read).
pub fn diff(a: &Path, b: &Path) -> Result<()> {
    let (ma, da) = load_manifest(a)?;
    let (mb, db) = load_manifest(b)?;
    println!(
        "A: {} {} ({})\nB: {} {} ({})",
        ma.mix.name,
        ma.mix.label,
        &ma.mix.content_id[..12],
        mb.mix.name,
        mb.mix.label,
        &mb.mix.content_id[..12]
    );
    println!();
    println!(
        "{:<48} {:>12} {:>12} {:>10}",
        "stage / rule (documents)", "A", "B", "B - A"
    );
    let mut stages: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (which, m) in [(0, &ma), (1, &mb)] {
        for s in &m.stages {
            let key = s.stage.split(" (").next().unwrap_or(&s.stage).to_string();
            let mut rows = vec![(format!("{key}: out"), s.documents_out as i64)];
            for (r, c) in &s.by_rule {
                // A rule drops documents, or (a span replacer) edits them.
                let n = c.documents_dropped + c.documents_edited;
                rows.push((format!("{key}:   - {r}"), n as i64));
            }
            for (k, v) in rows {
                if !stages.contains_key(&k) {
                    order.push(k.clone());
                }
                let e = stages.entry(k).or_insert((0, 0));
                if which == 0 {
                    e.0 = v;
                } else {
                    e.1 = v;
                }
            }
        }
    }
    for k in &order {
        let (x, y) = stages[k];
        println!("{:<48} {:>12} {:>12} {:>+10}", k, x, y, y - x);
    }
    let la = ledger_decisions(&ma, &da)?;
    let lb = ledger_decisions(&mb, &db)?;
    let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
    let (mut only_a, mut only_b) = (0u64, 0u64);
    for (k, (d, r, _)) in &la {
        match lb.get(k) {
            Some((d2, r2, _)) => {
                let (x, y) = (label(*d, r), label(*d2, r2));
                if x != y {
                    *moves.entry((x, y)).or_default() += 1;
                }
            }
            None => only_a += 1,
        }
    }
    for k in lb.keys() {
        if !la.contains_key(k) {
            only_b += 1;
        }
    }
    println!();
    if moves.is_empty() {
        println!("no document changed its decision");
    } else {
        println!(
            "{:<36} {:<36} {:>10}",
            "decision in A", "decision in B", "documents"
        );
        for ((x, y), n) in &moves {
            println!("{x:<36} {y:<36} {n:>10}");
        }
    }
    if only_a + only_b > 0 {
        println!("documents only in A: {only_a}, only in B: {only_b}");
    }
    Ok(())
}

/// Checks the manifest's inputs (all of them, or those of one `role`) against their
/// checksums, printing each that is missing or changed. Missing inputs end it (a usage
/// error: nothing can be rerun from them); returns how many changed.
fn check_inputs(m: &Manifest, role: Option<&str>, threads: usize) -> Result<usize> {
    let inputs: Vec<&loam_manifests::InputFile> = m
        .inputs
        .iter()
        .filter(|i| role.is_none_or(|r| i.role == r))
        .collect();
    let exec = Executor::new(threads)?;
    let checks = exec.map(&inputs, |i| check_file(Path::new(&i.path), &i.digest));
    let (mut missing, mut changed) = (0usize, 0usize);
    for (i, c) in inputs.iter().zip(&checks) {
        match c {
            Check::Ok => {}
            Check::Missing => {
                missing += 1;
                println!("MISSING  input ({})  {}", i.role, i.path);
            }
            Check::Unreadable { error } => {
                missing += 1;
                println!("UNREADABLE  input ({})  {}  ({error})", i.role, i.path);
            }
            Check::Changed { found } => {
                changed += 1;
                println!(
                    "CHANGED  input ({})  {}  (manifest: {} bytes sha256 {}, now: {} bytes sha256 {})",
                    i.role,
                    i.path,
                    i.digest.bytes,
                    &i.digest.sha256[..16],
                    found.bytes,
                    &found.sha256[..16]
                );
            }
        }
    }
    if missing > 0 {
        let relative = inputs
            .iter()
            .any(|i| !i.path.starts_with('/') && !i.path.contains("://"));
        return Err(usage(format!(
            "{missing} input(s) of the manifest are missing or unreadable; nothing to rerun from{}",
            if relative {
                " (relative input paths are read from the directory the mix was made in: run `loam reproduce` there)"
            } else {
                ""
            }
        )));
    }
    Ok(changed)
}

/// The output directory of a reproduction: `--output`, or `out/reproduce-<content id>`;
/// refused unless new or empty (a directory with done units would be skipped, not rerun).
fn fresh_output(m: &Manifest, output: Option<PathBuf>) -> Result<PathBuf> {
    let out = output
        .unwrap_or_else(|| PathBuf::from(format!("out/reproduce-{}", &m.mix.content_id[..12])));
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
pub fn reproduce(path: &Path, output: Option<PathBuf>, mut opts: RunOptions) -> Result<bool> {
    let (m, dir) = load_manifest(path)?;
    let dolma = m.mix.label == crate::cmd_mix::DOLMA_MIX_LABEL;
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
    let changed_inputs = check_inputs(&m, role, opts.threads)?;
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
        crate::cmd_mix::mix(&cfg_path, Some(&out_s), opts)?
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
    outcome.print();
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
    for i in n.inputs.iter().filter(|i| role.is_none_or(|r| i.role == r)) {
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
                    &o.digest.sha256[..16],
                    o2.documents,
                    o2.digest.bytes,
                    &o2.digest.sha256[..16]
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
        let rel = crate::cmd_mix::relative_to(&mdir_s, &old);
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
