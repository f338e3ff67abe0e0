//! dolma's deduper goldens (`tests/fixtures/dolma/`, copied from dolma's `tests/`), and the
//! bytes dolma 1.2.1 itself writes for them (`data/dolma-1.2.1-output/`, made by running
//! `dolma -c tests/config/<name>.json dedupe` on the same inputs). Every place loam
//! deliberately differs is pinned here and listed in `docs/dedup.md`.

use loam_dedup::config::DedupeConfig;
use loam_dedup::engine::{self, Job, Outcome};
use loam_dedup::exact::DedupUnit;
use loam_pipeline::config::from_value_validated;
use loam_pipeline::document::Document;
use loam_pipeline::executor::{CountingProgress, Executor};
use loam_pipeline::storage::storage_for;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/dolma");

fn gunzip(path: &Path) -> String {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn lines(path: &Path) -> Vec<Value> {
    gunzip(path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Run {
    outcome: Outcome,
    output: PathBuf,
    _dir: tempfile::TempDir,
}

/// Runs a dolma fixture config (with `edit` applied to its JSON) on dolma's input.
fn run_fixture(config: &str, threads: usize, edit: impl FnOnce(&mut Value)) -> Run {
    run_fixture_with(config, threads, edit, false)
}

fn run_fixture_with(
    config: &str,
    threads: usize,
    edit: impl FnOnce(&mut Value),
    dolma_bugs: bool,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("deduper/documents");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(
        format!("{FIX}/data/provided/deduper/documents/000.json.gz"),
        docs.join("000.json.gz"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIX}/config/{config}.json")).unwrap(),
    )
    .unwrap();
    v["documents"] = serde_json::json!([docs.join("000.json.gz").to_str().unwrap()]);
    v["bloom_filter"]["file"] = dir.path().join("filter.bin").to_str().unwrap().into();
    edit(&mut v);
    let cfg: DedupeConfig = from_value_validated(&v).unwrap();
    let mut job = Job::from_config(&cfg).unwrap();
    job.dolma_bugs = dolma_bugs;
    let name = cfg.dedupe.effective_name().unwrap().to_string() + &cfg.dedupe.partition_suffix();
    let input = docs.join("000.json.gz").to_str().unwrap().to_string();
    let output = dir
        .path()
        .join(format!("deduper/attributes/{name}/000.json.gz"));
    let units = [DedupUnit {
        input: input.clone(),
        output: output.to_str().unwrap().to_string(),
    }];
    let storage = storage_for(&input).unwrap();
    let exec = Executor::new(threads).unwrap();
    let outcome = engine::run(storage, &units, &job, &exec, &CountingProgress::default()).unwrap();
    assert!(
        outcome.shards[0].output.is_some(),
        "{:?}",
        outcome.shards[0].scan
    );
    Run {
        outcome,
        output,
        _dir: dir,
    }
}

fn documents() -> Vec<Document> {
    gunzip(Path::new(&format!(
        "{FIX}/data/provided/deduper/documents/000.json.gz"
    )))
    .lines()
    .map(|l| Document::from_json(l).unwrap())
    .collect()
}

#[test]
fn dedupe_by_url_matches_dolma_except_span_in_code_points_of_the_text() {
    let r = run_fixture("dedupe-by-url", 1, |_| {});
    let ours = gunzip(&r.output);
    let dolma = gunzip(Path::new(&format!(
        "{FIX}/data/dolma-1.2.1-output/dedupe-by-url.json.gz"
    )));
    let docs = documents();
    // dolma writes [0, len(key) in bytes, 1]: the URL's byte length, used as a span of the
    // text. loam marks the whole text in code points.
    let n = docs[1].text.chars().count();
    let fixed = dolma.replace(
        r#"{"bff_duplicate_url":[[0,44,1]]}"#,
        &format!(r#"{{"bff_duplicate_url":[[0,{n},1]]}}"#),
    );
    assert_ne!(fixed, dolma);
    assert_eq!(ours, fixed);
    // and the golden, semantically, on everything but that span's end
    let exp = lines(Path::new(&format!(
        "{FIX}/data/expected/dedupe-by-url.json.gz"
    )));
    let got: Vec<Value> = ours
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exp.len(), got.len());
    for (i, (e, g)) in exp.iter().zip(&got).enumerate() {
        if i == 1 {
            assert_eq!(
                e["attributes"]["bff_duplicate_url"],
                serde_json::json!([[0, 44, 1]])
            );
            assert_eq!(
                g["attributes"]["bff_duplicate_url"],
                serde_json::json!([[0, n, 1]])
            );
        } else {
            assert_eq!(e, g, "line {}", i + 1);
        }
    }
    assert_eq!(r.outcome.shards[0].duplicate_documents, 1);
}

#[test]
fn dedupe_paragraphs_matches_dolma_bytes() {
    let r = run_fixture("dedupe-paragraphs", 1, |_| {});
    let ours = gunzip(&r.output);
    let dolma = gunzip(Path::new(&format!(
        "{FIX}/data/dolma-1.2.1-output/dedupe-paragraphs.json.gz"
    )));
    assert_eq!(ours, dolma);
    let exp = lines(Path::new(&format!(
        "{FIX}/data/expected/dedupe-paragraphs.json.gz"
    )));
    let got: Vec<Value> = ours
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exp, got);
}

#[test]
fn dedupe_paragraph_ngrams_matches_the_golden() {
    let r = run_fixture("dedupe-paragraph-ngrams", 1, |_| {});
    std::fs::copy(&r.output, "/tmp/ours-ngrams.json.gz").unwrap();
    let ours = gunzip(&r.output);
    let exp = lines(Path::new(&format!(
        "{FIX}/data/expected/dedupe-paragraph-ngrams.json.gz"
    )));
    let got: Vec<Value> = ours
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exp, got);
}

/// With `dolma_bugs`, loam writes exactly the bytes dolma 1.2.1 writes: the engine is the
/// same algorithm, and the fixes below are the only differences.
#[test]
fn with_dolma_bugs_the_bytes_are_dolmas() {
    for cfg in ["dedupe-by-url", "dedupe-paragraphs", "dedupe-paragraph-ngrams"] {
        let r = run_fixture_with(cfg, 1, |_| {}, true);
        let ours = gunzip(&r.output);
        let dolma = gunzip(Path::new(&format!(
            "{FIX}/data/dolma-1.2.1-output/{cfg}.json.gz"
        )));
        assert_eq!(ours, dolma, "{cfg}");
    }
}
