//! `loam stat`: dolma's `stat` (analyzer) — same config keys, same `summaries.jsonl.gz`.

mod common;
use common::*;

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

fn summaries(dir: &Path) -> Vec<Value> {
    let f = std::fs::File::open(dir.join("summaries.jsonl.gz")).unwrap();
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Counts of spans per attribute name in dolma attribute files, the way dolma's analyzer
/// counts them (an empty span list counts once).
fn spans_per_attribute(files: &[PathBuf]) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for f in files {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        for l in s.lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            for (k, spans) in v["attributes"].as_object().unwrap() {
                let n = spans.as_array().unwrap().len().max(1) as u64;
                *out.entry(k.clone()).or_default() += n;
            }
        }
    }
    out
}

#[test]
fn dolma_attribute_files_give_dolma_summaries() {
    let work = tempfile::tempdir().unwrap();
    let attrs = repo().join("tests/fixtures/dolma/data/provided/attributes");
    // dolma-made attribute files: two from dolma's test data and two written by dolma's own
    // taggers. (`pii/` and `toxicity/` there are hand-made jq fixtures, nested objects and
    // bare numbers rather than spans: dolma's analyzer cannot read them either.)
    let tagged = repo().join("tests/fixtures/tagger-sample/expected");
    let files: Vec<PathBuf> = vec![
        attrs.join("duplicate_paragraphs/000.json.gz"),
        attrs.join("sample/000.json.gz"),
        tagged.join("gopher_v1/sample.jsonl.gz"),
        tagged.join("c4_v1/edge.jsonl.gz"),
        tagged.join("c4_v1/sample.jsonl.gz"),
    ];
    // dolma's config file form, with its optional keys.
    let cfg = work.path().join("stat.yaml");
    std::fs::write(
        &cfg,
        format!(
            "attributes:\n  - {a}/duplicate_paragraphs/000.json.gz\n  - {a}/sample/*.gz\n  - {t}/gopher_v1/sample.jsonl.gz\n  - {t}/c4_v1\nreport: {}/report\nbins: 20\nprocesses: 2\nseed: 0\ndebug: false\n",
            work.path().display(),
            a = attrs.display(),
            t = tagged.display()
        ),
    )
    .unwrap();
    let o = loam(work.path(), &["stat", "-c", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let got = summaries(&work.path().join("report"));
    let want = spans_per_attribute(&files);
    let names: Vec<&str> = got.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name");
    assert_eq!(
        got.len(),
        want.len() * 2,
        "a score and a length summary per attribute"
    );
    for s in &got {
        let name = s["name"].as_str().unwrap();
        let (attr, kind) = name.rsplit_once('/').unwrap();
        assert!(kind == "score" || kind == "length", "{name}");
        let counts: Vec<u64> = s["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().expect("integer counts"))
            .collect();
        let bins = s["bins"].as_array().unwrap();
        assert!(counts.len() <= 20, "{name}: at most `bins` bins");
        assert_eq!(bins.len(), counts.len() + 1, "{name}: bins are edges");
        assert_eq!(
            counts.iter().sum::<u64>(),
            want[attr],
            "{name}: every span counted"
        );
        let edges: Vec<f64> = bins.iter().map(|b| b.as_f64().unwrap()).collect();
        assert!(
            edges.windows(2).all(|w| w[0] < w[1]),
            "{name}: increasing edges"
        );
    }
    // The flag form gives the same file; without `report`, nothing is written.
    let o = loam(
        work.path(),
        &[
            "stat",
            "--attributes",
            &format!("{}/duplicate_paragraphs/000.json.gz", attrs.display()),
            &format!("{}/sample/000.json.gz", attrs.display()),
            &format!("{}/gopher_v1/sample.jsonl.gz", tagged.display()),
            &format!("{}/c4_v1", tagged.display()),
            "--bins",
            "20",
            "--report",
            "flags",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(work.path().join("flags/summaries.jsonl.gz")).unwrap(),
        std::fs::read(work.path().join("report/summaries.jsonl.gz")).unwrap()
    );
}

#[test]
fn values_follow_dolmas_fixed_buckets() {
    // dolma: few distinct values → the buckets themselves plus the last one's upper edge
    // (mantissa + 1e-5, scaled by the exponent); many → numpy's equal-width histogram.
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("a.jsonl");
    let lines = [
        r#"{"id":"1","attributes":{"e__t__x":[[0,10,1.0]],"e__t__y":[]}}"#,
        r#"{"id":"2","attributes":{"e__t__x":[[0,10,2.0],[10,14,2.0]]}}"#,
        r#"{"id":"3","attributes":{"e__t__x":[[0,3,0.0]],"e__ft__label__en":[[0,3,1.00002]]}}"#,
    ];
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let o = loam(
        work.path(),
        &["stat", "--attributes", "a.jsonl", "--report", "r"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let got = summaries(&work.path().join("r"));
    let by: std::collections::BTreeMap<&str, &Value> = got
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s))
        .collect();
    let x = by["e__t__x/score"];
    assert_eq!(x["counts"], serde_json::json!([1, 1, 2]));
    assert_eq!(x["bins"], serde_json::json!([0.0, 1.0, 2.0, 2.00004]));
    let xl = by["e__t__x/length"];
    assert_eq!(xl["counts"], serde_json::json!([1, 1, 2]));
    assert_eq!(xl["bins"], serde_json::json!([3.0, 4.0, 10.0, 10.00016]));
    // Empty span list: one zero score of length zero.
    assert_eq!(by["e__t__y/score"]["counts"], serde_json::json!([1]));
    // fastText labels are capped at 1.0.
    assert_eq!(
        by["e__ft__label__en/score"]["bins"][0],
        serde_json::json!(1.0)
    );

    // Many values, 4 bins: the file's summary is numpy.histogram(range(100), bins=4) (25
    // each, edges 0, 24.75, 49.5, 74.25, 99); dolma then re-adds the lower edges into fresh
    // buckets for the merged summary, so the edges come back bucketed (24.75 → 24.74976)
    // with the last bucket's upper edge (74.25 → 74.25024).
    let many: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"id":"{i}","attributes":{{"e__t__z":[[0,1,{i}]]}}}}"#))
        .collect();
    std::fs::write(work.path().join("b.jsonl"), many.join("\n") + "\n").unwrap();
    let o = loam(
        work.path(),
        &[
            "stat",
            "--attributes",
            "b.jsonl",
            "--bins",
            "4",
            "--report",
            "r2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let got = summaries(&work.path().join("r2"));
    let z = got.iter().find(|s| s["name"] == "e__t__z/score").unwrap();
    assert_eq!(z["counts"], serde_json::json!([25, 25, 25, 25]));
    assert_eq!(
        z["bins"],
        serde_json::json!([0.0, 24.74976, 49.49952, 74.24896, 74.25024])
    );
}

#[test]
fn bad_input_is_named() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("bad.jsonl"),
        "{\"id\":\"1\",\"attributes\":{}}\nnot json\n",
    )
    .unwrap();
    let o = loam(work.path(), &["stat", "--attributes", "bad.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad.jsonl:2"),
        "{}",
        text(&o)
    );
    // A file that is not made of span lists is named with its line.
    let pii = repo().join("tests/fixtures/dolma/data/provided/attributes/pii/000.json.gz");
    let o = loam(
        work.path(),
        &["stat", "--attributes", pii.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("000.json.gz:3"),
        "{}",
        text(&o)
    );
    let o = loam(work.path(), &["stat"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = loam(work.path(), &["stat", "--attributes", "nothing/*.gz"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = loam(
        work.path(),
        &["stat", "--attributes", "bad.jsonl", "--regex", "a.*b"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `loam stat` against what dolma 1.2.1's analyzer wrote for the same five dolma-made
/// attribute files (`scripts/make-stat-golden.sh`): every summary's counts, bins, total and
/// sum equal, integer sums as integers. The one difference: loam sorts summaries by name;
/// dolma writes them in the order its summary files are listed.
#[test]
fn summaries_equal_dolmas_own() {
    let work = tempfile::tempdir().unwrap();
    let a = repo().join("tests/fixtures/dolma/data/provided/attributes");
    let t = repo().join("tests/fixtures/tagger-sample/expected");
    let o = loam(
        work.path(),
        &[
            "stat",
            "--attributes",
            &format!("{}/duplicate_paragraphs/000.json.gz", a.display()),
            &format!("{}/sample/000.json.gz", a.display()),
            &format!("{}/gopher_v1/sample.jsonl.gz", t.display()),
            &format!("{}/c4_v1", t.display()),
            "--bins",
            "20",
            "--report",
            "r",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut dolma = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(repo().join("tests/fixtures/stat/dolma-1.2.1-summaries.jsonl.gz"))
            .unwrap(),
    )
    .read_to_string(&mut dolma)
    .unwrap();
    let mut want: Vec<&str> = dolma.lines().collect();
    want.sort_by_key(|l| serde_json::from_str::<Value>(l).unwrap()["name"].to_string());
    let mut ours = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(work.path().join("r/summaries.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut ours)
    .unwrap();
    let got: Vec<&str> = ours.lines().collect();
    assert_eq!(got.len(), want.len());
    assert!(got.len() >= 50, "{}", got.len());
    for (g, w) in got.iter().zip(&want) {
        // Line for line, the same JSON text (key order, integer and float forms included).
        assert_eq!(g, w);
    }
}
