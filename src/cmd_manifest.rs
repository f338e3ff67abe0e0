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

/// Finds and parses `manifest.json` in a mix directory (or the file itself).
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf)> {
    let file = if path.is_dir() {
        path.join("manifest.json")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file)
        .map_err(|e| usage(format!("{}: cannot read manifest: {e}", file.display())))?;
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| usage(format!("{}: not a loam manifest: {e}", file.display())))?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((m, dir))
}

/// One checked file.
#[derive(Debug)]
enum Check {
    Ok,
    Missing,
    Changed { found: FileDigest },
}

fn check_file(path: &Path, want: &FileDigest) -> Check {
    let Ok(f) = std::fs::File::open(path) else {
        return Check::Missing;
    };
    match loam_manifests::digest_reader(std::io::BufReader::with_capacity(1 << 20, f)) {
        Ok(d) if d == *want => Check::Ok,
        Ok(d) => Check::Changed { found: d },
        Err(_) => Check::Missing,
    }
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
    let mut present = BTreeSet::new();
    walk(&dir, &dir, &mut present);
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
                rows.push((format!("{key}:   - {r}"), c.documents_dropped as i64));
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

/// `loam reproduce MANIFEST`: reruns the manifest's config on its inputs into a fresh
/// directory and compares every output. Returns whether the result is byte-identical.
pub fn reproduce(path: &Path, output: Option<PathBuf>, opts: RunOptions) -> Result<bool> {
    let (m, _dir) = load_manifest(path)?;
    if m.mix.label == crate::cmd_mix::DOLMA_MIX_LABEL {
        return Err(usage(format!(
            "{}: made by `loam mix -c` from a dolma mixer config ({}); `loam reproduce` reruns `loam run` pipelines only (`loam manifest verify` checks this mix's files and inputs)",
            path.display(),
            m.config.path
        )));
    }
    // Inputs first: changed inputs cannot give the same bytes.
    let docs: Vec<&loam_manifests::InputFile> =
        m.inputs.iter().filter(|i| i.role == "documents").collect();
    let exec = Executor::new(opts.threads)?;
    let checks = exec.map(&docs, |i| check_file(Path::new(&i.path), &i.digest));
    let mut bad = 0;
    for (i, c) in docs.iter().zip(&checks) {
        match c {
            Check::Ok => {}
            Check::Missing => {
                bad += 1;
                eprintln!("input missing: {}", i.path);
            }
            Check::Changed { .. } => {
                bad += 1;
                eprintln!("input changed since the manifest: {}", i.path);
            }
        }
    }
    if bad > 0 {
        return Err(usage(format!(
            "{bad} input(s) differ from the manifest; the mix cannot be reproduced byte for byte"
        )));
    }
    let out = output
        .unwrap_or_else(|| PathBuf::from(format!("out/reproduce-{}", &m.mix.content_id[..12])));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
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
    let outcome = run_pipeline(&cfg_path, opts)?;
    outcome.print();
    let Some(new_manifest) = outcome.manifest.clone() else {
        return Ok(false);
    };
    let (n, _) = load_manifest(Path::new(&new_manifest))?;
    let mut same = true;
    if n.mix.content_id != m.mix.content_id {
        same = false;
        println!(
            "content id differs: {} (manifest) vs {} (now) — config, inputs or loam version changed",
            m.mix.content_id, n.mix.content_id
        );
    }
    let old: BTreeMap<&str, &FileDigest> = m
        .outputs
        .iter()
        .map(|o| (o.path.as_str(), &o.digest))
        .collect();
    let new: BTreeMap<&str, &FileDigest> = n
        .outputs
        .iter()
        .map(|o| (o.path.as_str(), &o.digest))
        .collect();
    for (p, d) in &old {
        match new.get(p) {
            None => {
                same = false;
                println!("MISSING  {p}");
            }
            Some(d2) if d2 != d => {
                same = false;
                println!(
                    "DIFFERS  {p}  ({} vs {})",
                    &d.sha256[..16],
                    &d2.sha256[..16]
                );
            }
            _ => {}
        }
    }
    for p in new.keys() {
        if !old.contains_key(p) {
            same = false;
            println!("EXTRA    {p}");
        }
    }
    if same {
        println!(
            "reproduced: {} output file(s) byte-identical to {}",
            old.len(),
            path.display()
        );
    }
    Ok(same)
}
