//! Helpers shared by the end-to-end tests (each test file uses a subset).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `loam` binary in `dir`.
pub fn loam(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run loam")
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Copies the bundled quickstart shards into `dir/documents/`, `copies` times each
/// (copy `k` prefixed `k_` when `copies > 1`).
pub fn copy_quickstart_documents(dir: &Path, copies: usize) {
    let docs = dir.join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        for k in 0..copies {
            let name = e.file_name().to_string_lossy().to_string();
            let name = if copies > 1 {
                format!("{k}_{name}")
            } else {
                name
            };
            std::fs::copy(e.path(), docs.join(name)).unwrap();
        }
    }
}

/// A temporary work directory holding the quickstart shards under `documents/`.
pub fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart_documents(dir.path(), 1);
    dir
}

/// The one version directory `<root>/<label>-<content id>/`.
pub fn version_dir(root: &Path, label: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{label}-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

/// A manifest without its `run` object (the only part that differs between runs).
pub fn manifest_without_run(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let run = v.as_object_mut().unwrap().remove("run");
    assert!(run.is_some(), "manifest has a run object");
    v
}

/// The paths of a manifest's document outputs, in its order.
pub fn document_outputs(manifest: &serde_json::Value) -> Vec<&str> {
    manifest["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "documents")
        .map(|o| o["path"].as_str().unwrap())
        .collect()
}

/// A number summed over a manifest's `outputs` (`documents`, `tokens`, …).
pub fn outputs_sum(outputs: &serde_json::Value, field: &str) -> u64 {
    outputs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o[field].as_u64())
        .sum()
}

/// Every file under `root` (relative path → bytes), manifests without their `run` object;
/// with `skip_state`, run state and logs (`.loam`) are left out.
pub fn snapshot(root: &Path, skip_state: bool) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, skip: bool, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
            if skip && rel.contains(".loam") {
                continue;
            }
            if p.is_dir() {
                walk(base, &p, skip, out);
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            if rel.ends_with("manifest.json") {
                bytes = serde_json::to_vec(&manifest_without_run(&bytes)).unwrap();
            }
            out.insert(rel, bytes);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, skip_state, &mut out);
    out
}

/// The dolma recipe of `tests/fixtures/recipe/` (tagger, two deduper and a mixer config).
pub const RECIPE: [&str; 4] = [
    "tag.yaml",
    "dedupe_docs.yaml",
    "dedupe_paras.yaml",
    "mix.yaml",
];

/// A work directory with the recipe's configs and 157 real documents in two shards under
/// `corpus/documents/`.
pub fn recipe_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fx = repo().join("tests/fixtures/recipe");
    for c in RECIPE {
        std::fs::copy(fx.join(c), dir.path().join(c)).unwrap();
    }
    let docs = dir.path().join("corpus/documents");
    std::fs::create_dir_all(&docs).unwrap();
    for f in ["sample.jsonl.gz", "edge.jsonl.gz"] {
        std::fs::copy(
            repo()
                .join("tests/fixtures/tagger-sample/documents")
                .join(f),
            docs.join(f),
        )
        .unwrap();
    }
    dir
}

/// Everything a recipe wrote: attributes, Bloom filters, the mix (manifests without their
/// `run` object; run state left out).
pub fn recipe_outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for sub in ["corpus/attributes", "bloom", "out"] {
        for (k, v) in snapshot(&dir.join(sub), true) {
            all.insert(format!("{sub}/{k}"), v);
        }
    }
    all
}

/// Debian's Chromium, which the HTML pages are rendered in (`scripts/test.sh` installs it).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `None` when the browser tests are skipped; panics when Chromium is missing otherwise.
pub fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var("LOAM_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("LOAM_SKIP_BROWSER=1: skipping the headless-browser checks");
        return None;
    }
    panic!(
        "{CHROMIUM} not found: the report test renders the page in headless Chromium. \
         Run scripts/test.sh (it installs Debian's chromium), or \
         `apt-get install -y --no-install-recommends chromium`; \
         set LOAM_SKIP_BROWSER=1 to skip these checks."
    );
}

pub fn browser(bin: &str, profile: &Path, args: &[String]) -> Output {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args);
    c.output().expect("start chromium")
}

/// The DOM after scripts ran.
pub fn dump_dom(bin: &str, html: &Path, work: &Path) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let o = browser(
        bin,
        profile.path(),
        &[
            "--window-size=1400,2000".into(),
            "--dump-dom".into(),
            format!("file://{}", html.display()),
        ],
    );
    assert!(o.status.success(), "chromium --dump-dom: {}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}
