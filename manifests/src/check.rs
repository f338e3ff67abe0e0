//! Reading a manifest back and checking files against it: finding `manifest.json` in a mix
//! directory, parsing it with errors that name the file, recomputing checksums (one
//! [`Check`] per file; [`Finding`]s `MISSING` / `CHANGED` / `UNREADABLE` / `EXTRA`, printed
//! as `loam manifest verify` prints them), and the per-stage table of `loam manifest diff`.
//!
//! This crate sits below the storage layer: the caller passes a [`ManifestStore`] (local
//! disk, object stores) through which every byte is read.

use crate::{digest_reader, FileDigest, Manifest};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An error of the storage behind a [`ManifestStore`], kept whole (its message and sources).
pub type StoreError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where manifests and the files they list are read: local disk or an object store.
pub trait ManifestStore: Sync {
    /// Whether a location is not on local disk (an object store, `s3://…`).
    fn is_remote(&self, loc: &str) -> bool;
    /// The whole file.
    fn read(&self, loc: &str) -> Result<Vec<u8>, StoreError>;
    /// The file's size, `None` when it does not exist.
    fn size(&self, loc: &str) -> Result<Option<u64>, StoreError>;
    /// A stream of the file's bytes.
    fn open(&self, loc: &str) -> Result<Box<dyn Read + Send + '_>, StoreError>;
    /// Every file under a prefix (ending in `/`), as full locations.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

/// The first 12 characters of a content id, as loam prints it (all of it when shorter: a
/// manifest read from disk may hold anything).
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The first 16 characters of a SHA-256 hex digest (all of it when shorter).
pub fn short_sha(sha: &str) -> &str {
    sha.get(..16).unwrap_or(sha)
}

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (missing, permissions, network).
    #[error("{file}: cannot read manifest: {source}")]
    Unreadable {
        /// The manifest file.
        file: String,
        /// What the storage said.
        source: StoreError,
    },
    /// The file is not a loam manifest (bad JSON, unknown or missing fields).
    #[error("{file}: not a loam manifest: {source}")]
    NotAManifest {
        /// The manifest file.
        file: String,
        /// Where and why it failed to parse (line and column).
        source: serde_json::Error,
    },
}

/// The manifest file of a mix given as its directory or as the file itself: on local disk
/// a directory's `manifest.json`; in an object store (no directories) any location not
/// ending in `.json` is taken as the directory.
pub fn manifest_file(path: &Path, remote: bool) -> String {
    let loc = path.to_string_lossy();
    if remote {
        if loc.ends_with(".json") {
            loc.to_string()
        } else {
            format!("{}/manifest.json", loc.trim_end_matches('/'))
        }
    } else if path.is_dir() {
        path.join("manifest.json").to_string_lossy().to_string()
    } else {
        loc.to_string()
    }
}

/// The directory of a manifest file (`/` or `.` for one at the root or without a directory).
pub fn directory_of(file: &str) -> PathBuf {
    match file.rsplit_once('/') {
        Some((d, _)) if !d.is_empty() => PathBuf::from(d),
        Some(_) => PathBuf::from("/"),
        None => PathBuf::from("."),
    }
}

/// Parses a manifest's bytes; errors name `file`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Manifest, LoadError> {
    serde_json::from_slice(bytes).map_err(|source| LoadError::NotAManifest {
        file: file.to_string(),
        source,
    })
}

/// Finds and parses `manifest.json` in a mix directory (or the file itself), on local disk
/// or in an object store (`s3://bucket/mixes/name/version`). Returns it with its directory.
pub fn load(path: &Path, store: &dyn ManifestStore) -> Result<(Manifest, PathBuf), LoadError> {
    let file = manifest_file(path, store.is_remote(&path.to_string_lossy()));
    let bytes = store.read(&file).map_err(|source| LoadError::Unreadable {
        file: file.clone(),
        source,
    })?;
    let m = parse(&file, &bytes)?;
    Ok((m, directory_of(&file)))
}

/// One checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Same size and SHA-256 as the manifest says.
    Ok,
    /// Not there.
    Missing,
    /// There, with other bytes.
    Changed {
        /// What it is now.
        found: FileDigest,
    },
    /// It exists but could not be read (permissions, network, credentials).
    Unreadable {
        /// What the storage said.
        error: String,
    },
}

/// Recomputes the checksum of a file on local disk or in an object store.
pub fn check_file(path: &Path, want: &FileDigest, store: &dyn ManifestStore) -> Check {
    let loc = path.to_string_lossy();
    match store.size(&loc) {
        Ok(Some(_)) => {}
        Ok(None) => return Check::Missing,
        Err(e) => {
            return Check::Unreadable {
                error: e.to_string(),
            }
        }
    }
    let digest = store.open(&loc).map_err(|e| e.to_string()).and_then(|r| {
        digest_reader(std::io::BufReader::with_capacity(1 << 20, r))
            .map_err(|e| format!("{loc}: {e}"))
    });
    match digest {
        Ok(d) if d == *want => Check::Ok,
        Ok(d) => Check::Changed { found: d },
        Err(error) => Check::Unreadable { error },
    }
}

/// A file to check: what it is (`output`, `input (documents)`, `model`), where, and the
/// digest the manifest records.
#[derive(Debug, Clone)]
pub struct CheckItem {
    /// What the file is to the mix, as printed.
    pub what: String,
    /// Where it is.
    pub path: PathBuf,
    /// Its size and SHA-256 in the manifest.
    pub want: FileDigest,
}

/// Checks files on `threads` threads (0: one per core); results in the items' order.
pub fn check_files(items: &[CheckItem], store: &dyn ManifestStore, threads: usize) -> Vec<Check> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let threads = threads.min(items.len()).max(1);
    let check = |i: &CheckItem| check_file(&i.path, &i.want, store);
    if threads == 1 {
        return items.iter().map(check).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Check)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, check(item)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, c)| c).collect()
}

/// What is wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum Problem {
    /// Listed, not there.
    Missing,
    /// Listed, with other bytes now.
    Changed {
        /// The manifest's digest.
        want: FileDigest,
        /// Today's.
        found: FileDigest,
    },
    /// Listed, there, not readable.
    Unreadable {
        /// What the storage said.
        error: String,
    },
    /// In the mix directory, not listed.
    Extra,
    /// A derived file (a trace index) that no longer describes what it was built from.
    Stale {
        /// Why.
        reason: String,
    },
}

/// One file that does not match the manifest; `Display` is the line `loam manifest verify`
/// prints (`MISSING  output  out/mix/…`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What the file is to the mix (`output`, `input (documents)`, `model`).
    pub what: String,
    /// Where it is, as printed.
    pub path: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
}

impl Finding {
    /// The finding for a checked item, `None` when it matched.
    pub fn of(item: &CheckItem, check: &Check) -> Option<Finding> {
        let problem = match check {
            Check::Ok => return None,
            Check::Missing => Problem::Missing,
            Check::Changed { found } => Problem::Changed {
                want: item.want.clone(),
                found: found.clone(),
            },
            Check::Unreadable { error } => Problem::Unreadable {
                error: error.clone(),
            },
        };
        Some(Finding {
            what: item.what.clone(),
            path: item.path.display().to_string(),
            problem,
        })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, path) = (&self.what, &self.path);
        match &self.problem {
            Problem::Missing => write!(f, "MISSING  {what}  {path}"),
            Problem::Unreadable { error } => write!(f, "UNREADABLE  {what}  {path}  ({error})"),
            Problem::Changed { want, found } => write!(
                f,
                "CHANGED  {what}  {path}  (manifest: {} bytes sha256 {}, now: {} bytes sha256 {})",
                want.bytes,
                short_sha(&want.sha256),
                found.bytes,
                short_sha(&found.sha256)
            ),
            Problem::Extra => write!(f, "EXTRA    {what}  {path}"),
            Problem::Stale { reason } => write!(f, "STALE    {what}  {path}  ({reason})"),
        }
    }
}

/// The files a verification checks: every output (under the manifest's directory `dir`),
/// and unless `outputs_only` every input and model (relative ones under `root`, the run's
/// working directory; `None`: the current directory).
pub fn verify_items(
    m: &Manifest,
    dir: &Path,
    root: Option<&Path>,
    outputs_only: bool,
) -> Vec<CheckItem> {
    let mut items: Vec<CheckItem> = m
        .outputs
        .iter()
        .map(|o| CheckItem {
            what: "output".into(),
            path: dir.join(&o.path),
            want: o.digest.clone(),
        })
        .collect();
    if !outputs_only {
        for i in &m.inputs {
            items.push(CheckItem {
                what: format!("input ({})", i.role),
                path: crate::resolve_path(root, &i.path),
                want: i.digest.clone(),
            });
        }
        for md in &m.models {
            items.push(CheckItem {
                what: "model".into(),
                path: crate::resolve_path(root, &md.path),
                want: md.digest.clone(),
            });
        }
    }
    items
}

/// The files under a mix directory (local or in an object store), relative to it, without
/// loam's own bookkeeping (`.loam…` names at any depth).
pub fn files_under(dir: &Path, store: &dyn ManifestStore) -> Result<BTreeSet<String>, StoreError> {
    let mut out = BTreeSet::new();
    let loc = dir.to_string_lossy();
    if !store.is_remote(&loc) {
        walk(dir, dir, &mut out);
        return Ok(out);
    }
    let prefix = format!("{}/", loc.trim_end_matches('/'));
    for path in store.list(&prefix)? {
        if let Some(rel) = path.strip_prefix(&prefix) {
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

/// The result of checking a mix against its manifest; `Display` is what `loam manifest
/// verify` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// The manifest file.
    pub manifest: PathBuf,
    /// The mix's name.
    pub name: String,
    /// The mix's label.
    pub label: String,
    /// The mix's content id.
    pub content_id: String,
    /// Files checked.
    pub checked: usize,
    /// Files that do not match, in the order checked, then files not listed.
    pub findings: Vec<Finding>,
}

impl Verification {
    /// Whether every file matched and nothing extra is in the mix directory.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.findings {
            writeln!(f, "{x}")?;
        }
        if self.ok() {
            writeln!(
                f,
                "ok: {} file(s) match {} (mix {} {}, content id {})",
                self.checked,
                self.manifest.display(),
                self.name,
                self.label,
                short_id(&self.content_id)
            )
        } else {
            writeln!(
                f,
                "{} difference(s) among {} checked file(s)",
                self.findings.len(),
                self.checked
            )
        }
    }
}

/// An error of [`verify`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The manifest could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The mix directory in an object store could not be listed.
    #[error(transparent)]
    List(StoreError),
}

/// `loam manifest verify DIR`: recomputes every checksum (on `threads` threads) and looks
/// for files in the mix directory the manifest does not list. Relative inputs are read
/// under `root` when given, else under the run's recorded working directory
/// ([`crate::RunInfo::input_root`]), else under the current directory.
pub fn verify(
    path: &Path,
    outputs_only: bool,
    store: &dyn ManifestStore,
    threads: usize,
    root: Option<&Path>,
) -> Result<Verification, VerifyError> {
    let (m, dir) = load(path, store)?;
    let recorded = match store.is_remote(&dir.to_string_lossy()) {
        true => None,
        false => m.run.input_root(&dir),
    };
    let root = root.map(Path::to_path_buf).or(recorded);
    let items = verify_items(&m, &dir, root.as_deref(), outputs_only);
    let checks = check_files(&items, store, threads);
    let mut findings: Vec<Finding> = items
        .iter()
        .zip(&checks)
        .filter_map(|(i, c)| Finding::of(i, c))
        .collect();
    let listed: BTreeSet<String> = m.outputs.iter().map(|o| o.path.clone()).collect();
    let mut present = files_under(&dir, store).map_err(VerifyError::List)?;
    present.remove("manifest.json");
    for extra in present.difference(&listed) {
        findings.push(Finding {
            what: "output".into(),
            path: dir.join(extra).display().to_string(),
            problem: Problem::Extra,
        });
    }
    Ok(Verification {
        manifest: dir.join("manifest.json"),
        name: m.mix.name.clone(),
        label: m.mix.label.clone(),
        content_id: m.mix.content_id.clone(),
        checked: items.len(),
        findings,
    })
}

/// The first part of `loam manifest diff A B`: the two mixes and, per stage and rule, the
/// documents out (or dropped or edited) in each; `Display` prints it as a table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageDiff {
    /// `(name, label, content id)` of A and of B.
    pub mixes: [(String, String, String); 2],
    /// `(stage / rule, A, B)`, stages in the order met (A's first).
    pub rows: Vec<(String, i64, i64)>,
}

impl StageDiff {
    /// Compares the stage counts of two manifests.
    pub fn new(a: &Manifest, b: &Manifest) -> StageDiff {
        let mut stages: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (which, m) in [(0, a), (1, b)] {
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
        let rows = order
            .into_iter()
            .map(|k| {
                let (x, y) = stages.get(&k).copied().unwrap_or_default();
                (k, x, y)
            })
            .collect();
        let mix = |m: &Manifest| {
            (
                m.mix.name.clone(),
                m.mix.label.clone(),
                m.mix.content_id.clone(),
            )
        };
        StageDiff {
            mixes: [mix(a), mix(b)],
            rows,
        }
    }
}

impl fmt::Display for StageDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [(na, la, ia), (nb, lb, ib)] = &self.mixes;
        writeln!(
            f,
            "A: {na} {la} ({})\nB: {nb} {lb} ({})",
            short_id(ia),
            short_id(ib)
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<48} {:>12} {:>12} {:>10}",
            "stage / rule (documents)", "A", "B", "B - A"
        )?;
        for (k, x, y) in &self.rows {
            writeln!(f, "{:<48} {:>12} {:>12} {:>+10}", k, x, y, y - x)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_never_panic() {
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id(""), "");
        // Not a char boundary at 12: the whole id rather than a panic.
        assert_eq!(short_id("aéééééé"), "aéééééé");
        assert_eq!(short_id("éééééééé"), "éééééé");
        assert_eq!(short_sha("12ab"), "12ab");
    }

    #[test]
    fn a_short_content_id_prints() {
        let v = Verification {
            manifest: PathBuf::from("out/mix/manifest.json"),
            name: "mix".into(),
            label: "v1".into(),
            content_id: "abc".into(),
            checked: 2,
            findings: Vec::new(),
        };
        assert_eq!(
            v.to_string(),
            "ok: 2 file(s) match out/mix/manifest.json (mix mix v1, content id abc)\n"
        );
        let changed = Finding {
            what: "output".into(),
            path: "out/mix/a.jsonl.gz".into(),
            problem: Problem::Changed {
                want: FileDigest {
                    bytes: 1,
                    sha256: "12".into(),
                },
                found: FileDigest {
                    bytes: 2,
                    sha256: "0123456789abcdef0123".into(),
                },
            },
        };
        assert_eq!(
            changed.to_string(),
            "CHANGED  output  out/mix/a.jsonl.gz  (manifest: 1 bytes sha256 12, now: 2 bytes sha256 0123456789abcdef)"
        );
    }

    #[test]
    fn manifest_locations() {
        assert_eq!(
            manifest_file(Path::new("s3://b/mixes/m/"), true),
            "s3://b/mixes/m/manifest.json"
        );
        assert_eq!(
            manifest_file(Path::new("s3://b/m.json"), true),
            "s3://b/m.json"
        );
        assert_eq!(
            directory_of("s3://b/mixes/m/manifest.json"),
            PathBuf::from("s3://b/mixes/m")
        );
        assert_eq!(directory_of("/manifest.json"), PathBuf::from("/"));
        assert_eq!(directory_of("manifest.json"), PathBuf::from("."));
    }

    /// Local disk only.
    struct Local;

    impl ManifestStore for Local {
        fn is_remote(&self, _: &str) -> bool {
            false
        }
        fn read(&self, loc: &str) -> Result<Vec<u8>, StoreError> {
            Ok(std::fs::read(loc)?)
        }
        fn size(&self, loc: &str) -> Result<Option<u64>, StoreError> {
            Ok(std::fs::metadata(loc).ok().map(|m| m.len()))
        }
        fn open(&self, loc: &str) -> Result<Box<dyn Read + Send + '_>, StoreError> {
            Ok(Box::new(std::fs::File::open(loc)?))
        }
        fn list(&self, _: &str) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_manifest_from_disk_with_a_short_content_id_verifies_and_diffs() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"{\"id\":\"a\",\"text\":\"x\"}\n";
        std::fs::write(dir.path().join("a.jsonl"), data).unwrap();
        std::fs::write(dir.path().join("stray.txt"), b"").unwrap();
        let digest = crate::digest_bytes(data);
        let m = serde_json::json!({
            "manifest_version": 1,
            "tool": {"name": "loam", "version": "0.1.0", "git_commit": null},
            "mix": {"name": "m", "label": "v1", "content_id": "abc"},
            "hashes": {"content": "sha256", "fingerprint": "xxh3-128(canonical-json)"},
            "config": {"path": "c.yaml", "sha256": "", "fingerprint": "f", "normalized": {}},
            "inputs": [],
            "outputs": [{"path": "a.jsonl", "kind": "documents", "documents": 1,
                "bytes": digest.bytes, "sha256": digest.sha256}],
            "stages": [],
            "run": {"started_at": "", "duration_secs": 0.0, "host": "", "threads": 1}
        });
        std::fs::write(dir.path().join("manifest.json"), m.to_string()).unwrap();
        let v = verify(dir.path(), false, &Local, 2, None).unwrap();
        assert_eq!(v.checked, 1);
        let extra = format!(
            "EXTRA    output  {}",
            dir.path().join("stray.txt").display()
        );
        assert_eq!(
            v.to_string(),
            format!("{extra}\n1 difference(s) among 1 checked file(s)\n")
        );
        std::fs::remove_file(dir.path().join("stray.txt")).unwrap();
        let v = verify(dir.path(), false, &Local, 0, None).unwrap();
        assert!(v.ok());
        assert!(
            v.to_string().ends_with("(mix m v1, content id abc)\n"),
            "{v}"
        );
        let (m, _) = load(dir.path(), &Local).unwrap();
        let d = StageDiff::new(&m, &m).to_string();
        assert!(d.starts_with("A: m v1 (abc)\nB: m v1 (abc)\n"), "{d}");
    }

    #[test]
    fn parse_errors_name_the_file() {
        let e = parse("x/manifest.json", b"{}").map(|_| ()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x/manifest.json: not a loam manifest: "),
            "{e}"
        );
    }
}

/// One config value that differs between two manifests: its path (`mix.drop[1].value`), and
/// the value in A and in B (`None` where absent).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigChange {
    /// Field path.
    pub path: String,
    /// A's value.
    pub a: Option<serde_json::Value>,
    /// B's value.
    pub b: Option<serde_json::Value>,
}

/// The config values that differ between two manifests' normalized configs (and their
/// recipes' earlier configs, as `recipe[i].…`), leaf by leaf in path order; what `loam
/// manifest diff` shows first. A list that changed length is compared item by item.
pub fn config_changes(a: &Manifest, b: &Manifest) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    diff_values(
        "",
        Some(&a.config.normalized),
        Some(&b.config.normalized),
        &mut out,
    );
    let n = a.recipe.len().max(b.recipe.len());
    for i in 0..n {
        let va = a.recipe.get(i).map(|r| &r.config.normalized);
        let vb = b.recipe.get(i).map(|r| &r.config.normalized);
        diff_values(&format!("recipe[{i}]"), va, vb, &mut out);
    }
    out
}

fn diff_values(
    path: &str,
    a: Option<&serde_json::Value>,
    b: Option<&serde_json::Value>,
    out: &mut Vec<ConfigChange>,
) {
    use serde_json::Value;
    let key = |k: &str| match path.is_empty() {
        true => k.to_string(),
        false => format!("{path}.{k}"),
    };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff_values(&key(k), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                diff_values(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (x, y) if x != y => out.push(ConfigChange {
            path: path.to_string(),
            a: x.cloned(),
            b: y.cloned(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod config_diff_tests {
    use super::*;

    #[test]
    fn changed_added_and_removed_leaves_are_listed_by_path() {
        let a = serde_json::json!({"mix": {"drop": [{"rule": "short", "value": 50}], "seed": 1}});
        let b = serde_json::json!({"mix": {"drop": [{"rule": "short", "value": 80}, {"rule": "x"}], "sample": {"rate": 0.5}, "seed": 1}});
        let mut out = Vec::new();
        diff_values("", Some(&a), Some(&b), &mut out);
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["mix.drop[0].value", "mix.drop[1]", "mix.sample"]);
        assert_eq!(out[0].a, Some(serde_json::json!(50)));
        assert_eq!(out[0].b, Some(serde_json::json!(80)));
        assert_eq!(out[1].a, None);
    }
}
