//! `loam mix -c` (dolma mixer configs): dolma's expected output, manifests and ledgers,
//! reproduce, `--manifest-dir`, failures, sampling and budgets.

use crate::common::*;
use crate::helpers::*;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Documents of a gzip JSON-lines file, without `metadata.provenance`, keyed by id.
fn docs_by_id(path: &Path) -> BTreeMap<String, Value> {
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("provenance");
            }
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

#[test]
fn dolma_mixer_config_runs_through_the_binary() {
    // dolma's own test layout: configs name `tests/data/...` relative to the repo root.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &repo().join("tests/fixtures/dolma/data"),
        &dir.path().join("tests/data"),
    );
    std::fs::copy(
        repo().join("tests/fixtures/dolma/config/mixer.json"),
        dir.path().join("mixer.json"),
    )
    .unwrap();
    let o = loam(dir.path(), &["mix", "-c", "mixer.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let out_dir = dir.path().join("tests/work/output/mixer");
    let mut got = BTreeMap::new();
    for e in std::fs::read_dir(&out_dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.to_string_lossy().ends_with(".gz") {
            got.extend(docs_by_id(&p));
        }
    }
    let want = docs_by_id(&dir.path().join("tests/data/expected/mixer.json.gz"));
    assert!(!want.is_empty());
    assert_eq!(got, want, "loam mix differs from dolma's expected output");
}

/// dolma's test layout in a fresh directory (`tests/data/…`) with dolma's `mixer.json`.
fn dolma_mix_workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &repo().join("tests/fixtures/dolma/data"),
        &dir.path().join("tests/data"),
    );
    std::fs::copy(
        repo().join("tests/fixtures/dolma/config/mixer.json"),
        dir.path().join("mixer.json"),
    )
    .unwrap();
    dir
}

/// Every row of the ledgers a manifest lists.
fn dolma_mix_ledger_rows(mdir: &Path) -> Vec<loam_mixes::ledger::LedgerRow> {
    let m: Value =
        serde_json::from_slice(&std::fs::read(mdir.join("manifest.json")).unwrap()).unwrap();
    let mut rows = Vec::new();
    for o in m["outputs"].as_array().unwrap() {
        if o["kind"] == "ledger" {
            let p = mdir.join(o["path"].as_str().unwrap());
            loam_mixes::ledger::read_ledger(&p, |r| rows.push(r)).unwrap();
        }
    }
    rows
}

#[test]
fn dolma_mix_writes_a_manifest_and_ledgers_that_verify_explain_and_diff() {
    let dir = dolma_mix_workdir();
    let o = loam(dir.path(), &["mix", "-c", "mixer.json", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let mdir = dir.path().join("tests/work/output/mixer");
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("manifest: tests/work/output/mixer/manifest.json"),
        "{}",
        text(&o)
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(mdir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mix"]["name"], "mixer");
    assert_eq!(m["mix"]["label"], "dolma-mix");
    assert_eq!(m["mix"]["content_id"].as_str().unwrap().len(), 32);
    assert_eq!(m["config"]["path"], "mixer.json");
    assert!(m["config"]["normalized"].get("processes").is_none());
    let roles: Vec<(&str, &str, u64)> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap(),
                i["role"].as_str().unwrap(),
                i["lines"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (
                "tests/data/provided/attributes/pii/000.json.gz",
                "attributes",
                10
            ),
            (
                "tests/data/provided/attributes/toxicity/000.json.gz",
                "attributes",
                10
            ),
            ("tests/data/provided/documents/000.json.gz", "documents", 10),
        ]
    );
    let kinds: Vec<(&str, &str)> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap(), o["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ledger/mixer-test/000.json.gz.idx", "index"),
            ("ledger/mixer-test/000.json.gz.parquet", "ledger"),
            ("mixer-test-0000.jsonl.gz", "documents"),
        ]
    );
    let docs = &m["outputs"][2];
    assert_eq!(docs["documents"], 6);
    assert!(docs["tokens"].as_u64().unwrap() > 0);
    let stage = &m["stages"][0];
    assert_eq!(stage["stage"], "mix:mixer-test");
    assert_eq!(
        (
            stage["documents_in"].as_u64(),
            stage["documents_out"].as_u64()
        ),
        (Some(10), Some(6))
    );
    assert_eq!(
        stage["by_rule"]["filter.exclude[2] $.attributes[?(@.toxicity > 0.8)]"]
            ["documents_dropped"],
        1
    );

    // one ledger row per input document
    let rows = dolma_mix_ledger_rows(&mdir);
    assert_eq!(rows.len(), 10);

    // verify passes
    let o = loam(
        dir.path(),
        &["manifest", "verify", "tests/work/output/mixer"],
    );
    assert!(o.status.success(), "{}", text(&o));

    // explain names the expression that dropped a document
    let toxic = rows
        .iter()
        .find(|r| {
            r.rule
                .as_deref()
                .is_some_and(|x| x.starts_with("filter.exclude[2]"))
        })
        .unwrap();
    let o = loam(
        dir.path(),
        &["explain", "tests/work/output/mixer", &toxic.id],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("dropped by rule `filter.exclude[2] $.attributes[?(@.toxicity > 0.8)]`"),
        "{out}"
    );
    assert!(
        out.contains("tests/data/provided/documents/000.json.gz:"),
        "{out}"
    );

    // diff against a mix whose exclude threshold changed
    let cfg = std::fs::read_to_string(dir.path().join("mixer.json"))
        .unwrap()
        .replace("tests/work/output/mixer", "tests/work/output/mixer2")
        .replace("@.toxicity > 0.8", "@.toxicity > 0.1");
    std::fs::write(dir.path().join("mixer2.json"), cfg).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "mixer2.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        dir.path(),
        &[
            "manifest",
            "diff",
            "tests/work/output/mixer",
            "tests/work/output/mixer2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines().any(|l| l.starts_with("kept")
            && l.contains("dropped:filter.exclude[2] $.attributes[?(@.toxicity > 0.1)]")),
        "{out}"
    );

    // (reproduce: `dolma_mix_reproduce_is_byte_identical_or_reports_each_shard`)

    // a changed output byte fails verify
    let shard = mdir.join("mixer-test-0000.jsonl.gz");
    let mut bytes = std::fs::read(&shard).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&shard, bytes).unwrap();
    let o = loam(
        dir.path(),
        &["manifest", "verify", "tests/work/output/mixer"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("CHANGED  output"),
        "{}",
        text(&o)
    );
}

/// Two streams under one manifest directory: dolma's mixer test (filters) and its
/// email-spans test (span replacement).
const DOLMA_TWO_STREAMS: &str = r#"{"streams": [
  {"name": "mixer-test", "documents": ["tests/data/provided/documents/*.gz"],
   "attributes": ["pii", "toxicity"],
   "filter": {"include": ["$.metadata[?(@.length < 10000)]"],
              "exclude": ["$.metadata[?(@.length < 500)]", "$.attributes[?(@.toxicity > 0.8)]"]},
   "output": {"path": "tests/work/output/mix/filtered", "max_size_in_bytes": 100000}},
  {"name": "email-spans", "documents": ["tests/data/provided/documents/*.json.gz"],
   "attributes": ["pii"],
   "span_replacement": [
     {"span": "$.attributes.pii.email", "min_score": 0.5, "replacement": "[B-EMAIL]{}[E-EMAIL]"},
     {"span": "$.attributes.pii.company_name", "min_score": 0.5, "replacement": ""}],
   "output": {"path": "tests/work/output/mix/edited", "max_size_in_bytes": 100000}}],
 "processes": 1}"#;

#[test]
fn dolma_mix_reproduce_is_byte_identical_or_reports_each_shard() {
    let dir = dolma_mix_workdir();
    std::fs::write(dir.path().join("two.json"), DOLMA_TWO_STREAMS).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "two.json", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let mdir = dir.path().join("tests/work/output/mix");
    let m: Value =
        serde_json::from_slice(&std::fs::read(mdir.join("manifest.json")).unwrap()).unwrap();

    // the edit stage counts, per span replacer, the documents it changed, as the ledger
    // rows name them
    let edit = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "edit:email-spans")
        .expect("an edit stage");
    let by_rule = edit["by_rule"].as_object().unwrap();
    let email = "span_replacement[0] $.attributes.pii.email";
    assert!(by_rule.contains_key(email), "{edit}");
    let rows = dolma_mix_ledger_rows(&mdir);
    for (rule, c) in by_rule {
        let n = rows
            .iter()
            .filter(|r| {
                r.decision == loam_mixes::ledger::Decision::Edited
                    && r.rule
                        .as_deref()
                        .is_some_and(|x| x.split("; ").any(|p| p == rule))
            })
            .count() as u64;
        assert!(n > 0);
        assert_eq!(c["documents_edited"].as_u64(), Some(n), "{rule}");
        assert_eq!(c["documents_dropped"], 0, "{rule}");
    }

    // reproduce into a fresh directory: the same bytes, in the same layout
    let o = loam(
        dir.path(),
        &[
            "reproduce",
            "tests/work/output/mix",
            "--output",
            "rebuilt",
            "--threads",
            "2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let listed = m["outputs"].as_array().unwrap().len();
    assert!(
        out.contains(&format!(
            "reproduced: {listed} output file(s) byte-identical"
        )),
        "{}",
        text(&o)
    );
    for f in m["outputs"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert_eq!(
            std::fs::read(mdir.join(p)).unwrap(),
            std::fs::read(dir.path().join("rebuilt").join(p)).unwrap(),
            "{p}"
        );
    }
    let o = loam(dir.path(), &["manifest", "verify", "rebuilt"]);
    assert!(o.status.success(), "{}", text(&o));
    // … only into a new or empty directory
    let o = loam(
        dir.path(),
        &["reproduce", "tests/work/output/mix", "--output", "rebuilt"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not empty"),
        "{}",
        text(&o)
    );

    // a manifest directory apart from the outputs: each output directory is rebuilt as
    // `output-<k>/`
    let o = loam(
        dir.path(),
        &["mix", "-c", "two.json", "--manifest-dir", "prov"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        dir.path(),
        &["reproduce", "prov/manifest.json", "--output", "rebuilt2"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("byte-identical"),
        "{}",
        text(&o)
    );
    for f in [
        "rebuilt2/output-0/mixer-test-0000.jsonl.gz",
        "rebuilt2/output-1/email-spans-0000.jsonl.gz",
        "rebuilt2/ledger/email-spans/000.json.gz.parquet",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }

    // a changed input: reported, rerun, and every output shard it changed named; exit 1
    let docs = dir.path().join("tests/data/provided/documents/000.json.gz");
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&docs).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    let changed: String = s
        .lines()
        .map(|l| {
            let mut d: Value = serde_json::from_str(l).unwrap();
            let t = format!("{} (changed)", d["text"].as_str().unwrap());
            d["text"] = Value::String(t);
            format!("{d}\n")
        })
        .collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(changed.as_bytes()).unwrap();
    std::fs::write(&docs, enc.finish().unwrap()).unwrap();
    let o = loam(
        dir.path(),
        &["reproduce", "tests/work/output/mix", "--output", "rebuilt3"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("CHANGED  input (documents)  tests/data/provided/documents/000.json.gz"),
        "{}",
        text(&o)
    );
    assert!(out.contains("content id differs"), "{}", text(&o));
    for shard in [
        "filtered/mixer-test-0000.jsonl.gz",
        "edited/email-spans-0000.jsonl.gz",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("DIFFERS  documents  ") && l.contains(shard)),
            "{shard}: {}",
            text(&o)
        );
    }
    assert!(
        out.contains("output file(s) differ from tests/work/output/mix"),
        "{}",
        text(&o)
    );
    // the decisions did not change (filters read metadata and attributes): no ledger differs
    assert!(!out.contains("DIFFERS  ledger"), "{}", text(&o));
}

#[test]
fn dolma_mix_manifest_dir_and_failures() {
    let dir = dolma_mix_workdir();
    // --manifest-dir elsewhere: outputs are listed relative to it
    let o = loam(
        dir.path(),
        &["mix", "-c", "mixer.json", "--manifest-dir", "prov/m1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("prov/m1/manifest.json")).unwrap())
            .unwrap();
    let docs = document_outputs(&m);
    assert_eq!(
        docs,
        ["../../tests/work/output/mixer/mixer-test-0000.jsonl.gz"]
    );
    assert!(dir
        .path()
        .join("prov/m1/ledger/mixer-test/000.json.gz.parquet")
        .exists());
    assert!(!dir
        .path()
        .join("tests/work/output/mixer/manifest.json")
        .exists());
    let o = loam(dir.path(), &["manifest", "verify", "prov/m1"]);
    assert!(o.status.success(), "{}", text(&o));
    // the same outputs, ledgers moved to the default place: units made again, same bytes
    let before = std::fs::read(
        dir.path()
            .join("tests/work/output/mixer/mixer-test-0000.jsonl.gz"),
    )
    .unwrap();
    let o = loam(dir.path(), &["mix", "-c", "mixer.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let mdir = dir.path().join("tests/work/output/mixer");
    assert_eq!(
        std::fs::read(mdir.join("mixer-test-0000.jsonl.gz")).unwrap(),
        before
    );
    assert_eq!(dolma_mix_ledger_rows(&mdir).len(), 10);
    let o = loam(
        dir.path(),
        &["manifest", "verify", "tests/work/output/mixer"],
    );
    assert!(o.status.success(), "{}", text(&o));

    // a failing run writes no manifest and exits 1: an attribute file one line short
    let attr = dir
        .path()
        .join("tests/data/provided/attributes/toxicity/000.json.gz");
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&attr).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    let short: String = s.lines().take(9).map(|l| format!("{l}\n")).collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(short.as_bytes()).unwrap();
    std::fs::write(&attr, enc.finish().unwrap()).unwrap();
    let cfg = std::fs::read_to_string(dir.path().join("mixer.json"))
        .unwrap()
        .replace("tests/work/output/mixer", "tests/work/output/failing");
    std::fs::write(dir.path().join("failing.json"), cfg).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "failing.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no manifest written"),
        "{}",
        text(&o)
    );
    assert!(!dir
        .path()
        .join("tests/work/output/failing/manifest.json")
        .exists());
    // … and a rerun of a complete mix that now fails removes its old manifest
    let o = loam(dir.path(), &["mix", "-c", "mixer.json", "--overwrite"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!mdir.join("manifest.json").exists());

    // streams without a common directory need --manifest-dir
    let two = r#"{"streams": [
        {"name": "a", "documents": ["tests/data/provided/documents/*.gz"], "filter": {"exclude": ["$.x"]}, "output": {"path": "a"}},
        {"name": "b", "documents": ["tests/data/provided/documents/*.gz"], "filter": {"exclude": ["$.x"]}, "output": {"path": "b"}}]}"#;
    std::fs::write(dir.path().join("two.json"), two).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "two.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--manifest-dir"),
        "{}",
        text(&o)
    );
    let o = loam(
        dir.path(),
        &["mix", "-c", "two.json", "--manifest-dir", "m"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(dir.path(), &["manifest", "verify", "m"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Three streams over six quickstart shards (two output shards each): a rate of 0.5, a rate
/// of 2.0, and a token budget.
const DOLMA_SAMPLING: &str = r#"
streams:
  - name: half
    documents: [documents/*]
    filter: {exclude: ["$.metadata[?(@.nothing == 1)]"]}
    output: {path: out/half, max_size_in_bytes: 300000}
    sample_rate: 0.5
    seed: 7
  - name: double
    documents: [documents/*]
    filter: {exclude: ["$.metadata[?(@.nothing == 1)]"]}
    output: {path: out/double, max_size_in_bytes: 300000}
    sample_rate: 2.0
  - name: budget
    documents: [documents/*]
    filter: {exclude: ["$.metadata[?(@.nothing == 1)]"]}
    output: {path: out/budget, max_size_in_bytes: 300000}
    max_tokens: 100000
    seed: 3
"#;

#[test]
fn dolma_mix_sampling_and_budgets_are_thread_independent() {
    let mut snaps = Vec::new();
    let mut dirs = Vec::new();
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        copy_quickstart_documents(dir.path(), 2);
        std::fs::write(dir.path().join("mix.yaml"), DOLMA_SAMPLING).unwrap();
        let o = loam(dir.path(), &["mix", "-c", "mix.yaml", "--threads", threads]);
        assert!(o.status.success(), "{}", text(&o));
        snaps.push(snapshot(&dir.path().join("out"), false));
        dirs.push(dir);
    }
    assert_eq!(
        snaps[0].keys().collect::<Vec<_>>(),
        snaps[1].keys().collect::<Vec<_>>()
    );
    for (k, v) in &snaps[0] {
        assert!(snaps[1][k] == *v, "{k} differs between --threads 1 and 2");
    }
    let out = dirs[0].path().join("out");
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mix"]["name"], "mix");
    assert!(m["mix"].get("sampling").is_none(), "three streams sample");
    let stage = |name: &str| -> &Value {
        m["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["stage"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("mix:{name} "))
            })
            .unwrap_or_else(|| panic!("no stage {name}"))
    };
    let n = stage("half")["documents_in"].as_u64().unwrap();
    assert!(n > 500, "{n} documents");
    // rate 0.5: within 5 standard deviations of n/2, the rest dropped by `sample`
    let half = stage("half");
    let kept = half["documents_out"].as_u64().unwrap();
    let sd = (n as f64 * 0.25).sqrt();
    assert!(
        (kept as f64 - n as f64 / 2.0).abs() < 5.0 * sd,
        "{kept} of {n}"
    );
    assert_eq!(
        half["by_rule"]["sample"]["documents_dropped"]
            .as_u64()
            .unwrap(),
        n - kept
    );
    assert!(half["stage"]
        .as_str()
        .unwrap()
        .contains("sample rate 0.5, seed 7"));
    // rate 2.0: every document twice
    assert_eq!(stage("double")["documents_out"].as_u64().unwrap(), 2 * n);
    // budget: the written tokens meet it, within one document
    let budget = stage("budget");
    assert!(
        budget["stage"]
            .as_str()
            .unwrap()
            .contains("max_tokens 100000"),
        "{budget}"
    );
    let tokens: u64 = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "documents" && o["path"].as_str().unwrap().starts_with("budget/"))
        .map(|o| o["tokens"].as_u64().unwrap())
        .sum();
    assert!((100_000..120_000).contains(&tokens), "{tokens} tokens");
    // one ledger row per input document, per stream
    let rows = dolma_mix_ledger_rows(&out);
    assert_eq!(rows.len() as u64, 3 * n);
    let copies: u64 = rows.iter().map(|r| u64::from(r.copies)).sum();
    let written: u64 = ["half", "double", "budget"]
        .iter()
        .map(|s| stage(s)["documents_out"].as_u64().unwrap())
        .sum();
    assert_eq!(copies, written);
    // explain on a sampled-out document
    let out_row = rows
        .iter()
        .find(|r| r.decision == loam_mixes::ledger::Decision::SampledOut)
        .unwrap();
    let o = loam(dirs[0].path(), &["explain", "out", &out_row.id]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("sampled_out by rule `sample`"),
        "{}",
        text(&o)
    );
    // an identical rerun skips every unit (the budget's rate from the markers) and writes
    // the same manifest
    let o = loam(dirs[0].path(), &["mix", "-c", "mix.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let skipped = stdout
        .lines()
        .filter(|l| l.starts_with("mix ") && l.ends_with(" 0/4"))
        .count();
    assert_eq!(skipped, 3, "{}", text(&o));
    assert!(snapshot(&out, false) == snaps[0]);
    let o = loam(dirs[0].path(), &["manifest", "verify", "out"]);
    assert!(o.status.success(), "{}", text(&o));
    // a lost output of the budget stream: the counting pass gives the same rate, only that
    // unit is made again, and the mix is the same
    std::fs::remove_file(out.join("budget/budget-0001.jsonl.gz")).unwrap();
    let o = loam(dirs[0].path(), &["mix", "-c", "mix.yaml", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("mix budget") && l.ends_with(" 1/4")),
        "{}",
        text(&o)
    );
    assert!(snapshot(&out, false) == snaps[0]);
}
