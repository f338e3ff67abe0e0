//! The pipeline file's `dedupe:` section with dolma's keys (Bloom filter documents,
//! paragraphs, n-grams; MinHash) runs the engine `loam dedupe -c` runs: the same attribute
//! bytes for the equivalent dolma config, resumable, the same bytes at any thread count.

use crate::common::*;
use crate::helpers::text_lines;
use serde_json::Value;
use std::path::Path;

/// A pipeline over the recipe corpus (157 real documents in two shards) with this
/// `dedupe:` section and mix drop rules, writing under `output`.
fn pipeline(dir: &Path, file: &str, output: &str, dedupe: &str, drop: &str) {
    let text = format!(
        "name: d\ndocuments: [corpus/documents/*.gz]\noutput: {output}\ndedupe:\n{dedupe}\nmix:\n  name: m\n  version: v1\n  drop: {drop}\n"
    );
    std::fs::write(dir.join(file), text).unwrap();
}

const PARAS: &str = "  name: dedupe_paras
  paragraphs:
    attribute_name: bff_duplicate_paragraph_spans
  bloom_filter:
    estimated_doc_count: 100000
    desired_false_positive_rate: 0.0001";

const DOCS: &str = "  name: dedupe_docs
  documents:
    attribute_name: bff_duplicate_docs
    key: $.text
  bloom_filter:
    file: bloom/docs.bin
    read_only: false
    estimated_doc_count: 10000
    desired_false_positive_rate: 0.0001";

const SHARDS: [&str; 2] = ["edge.jsonl.gz", "sample.jsonl.gz"];

fn run(dir: &Path, args: &[&str]) -> String {
    let o = loam(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The summary row of the dedupe stage.
/// The dedupe stage's row of the summary, after the rest of a long label (the indented
/// lines below the row), so the row's figures still end it.
fn dedupe_row(stdout: &str) -> String {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("dedupe ("));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no dedupe row in\n{stdout}"))
        .to_string();
    let rest: Vec<&str> = lines
        .take_while(|l| l.starts_with("    ") && !l.trim().is_empty())
        .map(str::trim)
        .collect();
    match rest.is_empty() {
        true => first,
        false => format!("{} | {first}", rest.join(" ")),
    }
}

fn assert_same_attributes(a: &Path, b: &Path) {
    for s in SHARDS {
        let (x, y) = (std::fs::read(a.join(s)), std::fs::read(b.join(s)));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x == y, "{s}: {} and {} differ", a.display(), b.display());
    }
}

#[test]
fn bloom_paragraph_and_document_dedup_in_a_pipeline_file_write_what_loam_dedupe_writes() {
    let dir = recipe_dir();
    let d = dir.path();
    // The dolma configs, one command each.
    run(d, &["dedupe", "-c", "dedupe_paras.yaml"]);
    run(d, &["dedupe", "-c", "dedupe_docs.yaml"]);
    std::fs::rename(d.join("bloom/docs.bin"), d.join("dolma-docs.bin")).unwrap();

    // Paragraphs, with the run's own filter (no bloom_filter.file).
    pipeline(d, "paras.yaml", "out-p", PARAS, "[]");
    let out = run(d, &["run", "paras.yaml"]);
    let row = dedupe_row(&out);
    assert!(row.trim_end().ends_with("2/2"), "{row}");
    assert!(row.contains("duplicate paragraphs in"), "{row}");
    let want = d.join("corpus/attributes/dedupe_paras");
    let got = d.join("out-p/attributes/dedupe_paras");
    assert_same_attributes(&want, &got);
    let marked: usize = SHARDS
        .iter()
        .flat_map(|s| text_lines(&got.join(s)))
        .map(|l| serde_json::from_str::<Value>(&l).unwrap())
        .filter_map(|v| {
            v["attributes"]["bff_duplicate_paragraph_spans"]
                .as_array()
                .map(Vec::len)
        })
        .sum();
    assert!(marked > 100, "{marked} duplicate paragraph spans");
    assert!(d.join("out-p/.loam/dedupe/dedupe_paras.bloom").is_file());

    // Documents, into a named filter file; the mix drops what it marks as duplicates.
    pipeline(
        d,
        "docs.yaml",
        "out-d",
        DOCS,
        "[{rule: dup, attribute: bff_duplicate_docs, op: exists}]",
    );
    let out = run(d, &["run", "docs.yaml"]);
    assert_same_attributes(
        &d.join("corpus/attributes/dedupe_docs"),
        &d.join("out-d/attributes/dedupe_docs"),
    );
    assert_eq!(
        std::fs::read(d.join("bloom/docs.bin")).unwrap(),
        std::fs::read(d.join("dolma-docs.bin")).unwrap(),
        "the filter file differs from loam dedupe -c's"
    );
    let m: Value = serde_json::from_slice(
        &std::fs::read(version_dir(&d.join("out-d/m"), "v1").join("manifest.json")).unwrap(),
    )
    .unwrap();
    let stages = m["stages"].as_array().unwrap();
    let dd = stages
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("dedupe ("))
        .unwrap();
    assert_eq!(dd["documents_in"], 157, "{dd}");
    assert_eq!(dd["documents_out"], 151, "{dd}");
    let mix = stages
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("mix"))
        .unwrap();
    assert_eq!(
        mix["by_rule"]["dup"]["documents_dropped"], 6,
        "{mix}\n{out}"
    );
    assert_eq!(mix["documents_out"], 151, "{mix}");
}

#[test]
fn a_bloom_dedupe_stage_resumes_and_does_not_depend_on_threads() {
    let dir = recipe_dir();
    let d = dir.path();
    let ngrams = PARAS.replace(
        "attribute_name: bff_duplicate_paragraph_spans",
        "attribute_name: ngram_dups\n    by_ngram: {ngram_length: 4, stride: 2, overlap_threshold: 0.5}",
    );
    // The same pipeline file in another directory, at two threads.
    let other = recipe_dir();
    pipeline(d, "p1.yaml", "out1", &ngrams, "[]");
    pipeline(other.path(), "p1.yaml", "out1", &ngrams, "[]");
    run(d, &["run", "--threads", "1", "p1.yaml"]);
    run(other.path(), &["run", "--threads", "2", "p1.yaml"]);
    let a = snapshot(&d.join("out1"), true);
    let b = snapshot(&other.path().join("out1"), true);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(b[k] == *v, "{k} differs between 1 and 2 threads");
    }
    // Split over two cluster tasks (task 0 makes the one global decision), then a plain
    // run that finds every unit done and writes the manifest: the same bytes.
    let split = recipe_dir();
    pipeline(split.path(), "p1.yaml", "out1", &ngrams, "[]");
    for rank in ["1", "0"] {
        let args = ["run", "--stage", "dedupe", "--rank", rank, "--world", "2"];
        run(split.path(), &[&args[..], &["p1.yaml"]].concat());
    }
    let row = dedupe_row(&run(split.path(), &["run", "p1.yaml"]));
    assert!(row.trim_end().ends_with("0/2"), "{row}");
    assert_eq!(snapshot(&split.path().join("out1"), true), a);

    let attrs = d.join("out1/attributes/dedupe_paras");
    let before: Vec<Vec<u8>> = SHARDS
        .iter()
        .map(|s| std::fs::read(attrs.join(s)).unwrap())
        .collect();

    // A rerun finds every unit done.
    let row = dedupe_row(&run(d, &["run", "p1.yaml"]));
    assert!(row.trim_end().ends_with("0/2"), "{row}");

    // A lost attribute file makes the stage run again from a fresh filter of its own:
    // the same bytes (against the filter the first run filled, everything would be marked).
    std::fs::remove_file(attrs.join(SHARDS[0])).unwrap();
    let row = dedupe_row(&run(d, &["run", "p1.yaml"]));
    assert!(row.trim_end().ends_with("2/2"), "{row}");
    for (s, want) in SHARDS.iter().zip(&before) {
        assert!(
            std::fs::read(attrs.join(s)).unwrap() == *want,
            "{s} changed on rerun"
        );
    }
    assert_eq!(snapshot(&d.join("out1"), true), a);
}

#[test]
fn a_named_filter_that_holds_the_runs_keys_is_not_redone_against() {
    let dir = recipe_dir();
    let d = dir.path();
    pipeline(d, "docs.yaml", "out", DOCS, "[]");
    run(d, &["run", "docs.yaml"]);
    std::fs::remove_file(d.join("out/attributes/dedupe_docs").join(SHARDS[1])).unwrap();
    let o = loam(d, &["run", "docs.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bloom/docs.bin"),
        "the refusal names the filter: {}",
        text(&o)
    );

    // Checked read-only against that filter (a new corpus against an old one's keys),
    // every document is a duplicate, and the filter is an input in the manifest.
    let ro = DOCS
        .replace("read_only: false", "read_only: true")
        .replace("name: dedupe_docs", "name: seen_before");
    pipeline(d, "ro.yaml", "out-ro", &ro, "[]");
    let filter = std::fs::read(d.join("bloom/docs.bin")).unwrap();
    run(d, &["run", "ro.yaml"]);
    assert_eq!(std::fs::read(d.join("bloom/docs.bin")).unwrap(), filter);
    let m: Value = serde_json::from_slice(
        &std::fs::read(version_dir(&d.join("out-ro/m"), "v1").join("manifest.json")).unwrap(),
    )
    .unwrap();
    let models = m["models"].as_array().unwrap();
    assert!(
        models
            .iter()
            .any(|f| f["path"] == "bloom/docs.bin" && f["bytes"] == filter.len() as u64),
        "{models:?}"
    );
    let dd = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("dedupe ("))
        .unwrap()
        .clone();
    assert_eq!(dd["documents_out"], 0, "{dd}");
    let v = version_dir(&d.join("out-ro/m"), "v1");
    let o = loam(d, &["manifest", "verify", v.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    // A writable named filter that existed before: recorded as the stage left it (with
    // this run's keys), so the manifest verifies right after the run.
    let more = DOCS.replace("name: dedupe_docs", "name: again");
    pipeline(d, "more.yaml", "out-more", &more, "[]");
    run(d, &["run", "more.yaml"]);
    let v = version_dir(&d.join("out-more/m"), "v1");
    let o = loam(d, &["manifest", "verify", v.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let m: Value =
        serde_json::from_slice(&std::fs::read(v.join("manifest.json")).unwrap()).unwrap();
    assert!(
        m["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "bloom/docs.bin"),
        "{}",
        m["models"]
    );
}

#[test]
fn minhash_in_a_pipeline_file_writes_what_loam_dedupe_writes() {
    let dir = recipe_dir();
    let d = dir.path();
    std::fs::write(
        d.join("minhash.yaml"),
        "documents: [corpus/documents/*.gz]\ndedupe:\n  name: near\n  minhash: {attribute_name: near_dup, ngram_length: 3, num_bands: 16, rows_per_band: 4}\n",
    )
    .unwrap();
    run(d, &["dedupe", "-c", "minhash.yaml"]);
    pipeline(
        d,
        "p.yaml",
        "out",
        "  name: near\n  minhash: {attribute_name: near_dup, ngram_length: 3, num_bands: 16, rows_per_band: 4}",
        "[{rule: near, attribute: near_dup, op: exists}]",
    );
    let row = dedupe_row(&run(d, &["run", "p.yaml"]));
    assert!(row.contains("MinHash"), "{row}");
    assert_same_attributes(
        &d.join("corpus/attributes/near"),
        &d.join("out/attributes/near"),
    );
    let manifest = || {
        manifest_without_run(
            &std::fs::read(version_dir(&d.join("out/m"), "v1").join("manifest.json")).unwrap(),
        )
    };
    let first = manifest();
    let row = dedupe_row(&run(d, &["run", "p.yaml"]));
    assert!(row.trim_end().ends_with("0/2"), "{row}");
    assert!(row.contains("clusters"), "{row}");
    assert_eq!(manifest(), first, "a rerun's manifest differs");
}

#[test]
fn bad_dedupe_sections_exit_2_naming_the_field() {
    let dir = recipe_dir();
    let d = dir.path();
    for (section, field) in [
        (
            PARAS.replace("estimated_doc_count", "estimated_docs"),
            "dedupe.bloom_filter",
        ),
        (
            "  name: p\n  paragraphs: {attribute_name: a, by_ngram: {ngram_length: 3, overlap_threshold: 2}}".to_string(),
            "dedupe.paragraphs.by_ngram.overlap_threshold",
        ),
        (
            PARAS.replace("desired_false_positive_rate: 0.0001", "size_in_bytes: 0"),
            "dedupe.bloom_filter",
        ),
        (
            "  name: x\n  documents: {attribute_name: a}\n  min_words: 3".to_string(),
            "dedupe.min_words",
        ),
        (
            format!("{PARAS}\n  documents: {{attribute_name: a}}"),
            "dedupe",
        ),
        (
            PARAS.replace("attribute_name: bff", "overlap: 1\n    attribute_name: bff"),
            "dedupe.paragraphs",
        ),
        (
            PARAS.replace("name: dedupe_paras", "name: ../up"),
            "dedupe.name",
        ),
    ] {
        pipeline(d, "bad.yaml", "out", &section, "[]");
        let o = loam(d, &["run", "bad.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{section}\n{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(field),
            "{field} not named for\n{section}\n{}",
            text(&o)
        );
        assert!(!d.join("out").exists(), "{section}: wrote output");
    }
}

#[test]
fn documents_then_paragraphs_as_a_list_of_sections_in_one_pipeline_file() {
    let dir = recipe_dir();
    let d = dir.path();
    run(d, &["dedupe", "-c", "dedupe_docs.yaml"]);
    run(d, &["dedupe", "-c", "dedupe_paras.yaml"]);
    // Both sections with the run's own filters, as a list.
    let list = format!(
        "  -{}\n  -{}",
        DOCS.replace("    file: bloom/docs.bin\n", "")
            .replace("\n  ", "\n    ")
            .trim_start_matches(' ')
            .replacen("name", " name", 1),
        PARAS
            .replace("\n  ", "\n    ")
            .trim_start_matches(' ')
            .replacen("name", " name", 1),
    );
    pipeline(
        d,
        "both.yaml",
        "out",
        &list,
        "[{rule: dup, attribute: bff_duplicate_docs, op: exists}]",
    );
    let out = run(d, &["run", "both.yaml"]);
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("dedupe (")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].starts_with("dedupe (dedupe_docs"), "{out}");
    assert!(rows[1].starts_with("dedupe (dedupe_paras"), "{out}");
    for name in ["dedupe_docs", "dedupe_paras"] {
        assert_same_attributes(
            &d.join("corpus/attributes").join(name),
            &d.join("out/attributes").join(name),
        );
    }
    let m: Value = serde_json::from_slice(
        &std::fs::read(version_dir(&d.join("out/m"), "v1").join("manifest.json")).unwrap(),
    )
    .unwrap();
    let inputs: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] == "attributes")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(inputs.len(), 4, "{inputs:?}");
    let mix = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("mix"))
        .unwrap()
        .clone();
    assert_eq!(mix["documents_out"], 151, "{mix}");
    let row = dedupe_row(&run(d, &["run", "both.yaml"]));
    assert!(row.trim_end().ends_with("0/2"), "{row}");
}

#[test]
fn a_bad_shard_publishes_neither_its_marks_nor_the_filter() {
    let dir = recipe_dir();
    let d = dir.path();
    let good = std::fs::read(d.join("corpus/documents").join(SHARDS[1])).unwrap();
    // Truncated gzip: the shard fails, the other is marked, the named filter is not
    // published (a rerun must start from the filter as it was).
    std::fs::write(
        d.join("corpus/documents").join(SHARDS[1]),
        &good[..good.len() / 2],
    )
    .unwrap();
    pipeline(d, "docs.yaml", "out", DOCS, "[]");
    let o = loam(d, &["run", "docs.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(SHARDS[1]), "{}", text(&o));
    assert!(!d.join("bloom/docs.bin").exists());
    assert!(!d.join("bloom/docs.bin.pending").exists());
    assert!(!d
        .join("out/attributes/dedupe_docs")
        .join(SHARDS[1])
        .exists());

    // Fixed, the rerun writes what loam dedupe -c writes on the good shards.
    std::fs::write(d.join("corpus/documents").join(SHARDS[1]), &good).unwrap();
    run(d, &["run", "docs.yaml"]);
    std::fs::rename(d.join("bloom/docs.bin"), d.join("pipeline-docs.bin")).unwrap();
    run(d, &["dedupe", "-c", "dedupe_docs.yaml"]);
    assert_same_attributes(
        &d.join("corpus/attributes/dedupe_docs"),
        &d.join("out/attributes/dedupe_docs"),
    );
    assert_eq!(
        std::fs::read(d.join("bloom/docs.bin")).unwrap(),
        std::fs::read(d.join("pipeline-docs.bin")).unwrap()
    );
}

/// A document: id, text, crawl date.
type Dated = (&'static str, &'static str, Option<&'static str>);

/// Copies of four texts over three shards, with crawl dates (some missing, one tie).
const DATED: [(&str, &[Dated]); 3] = [
    (
        "a.jsonl",
        &[
            ("a1", "alpha", Some("2019-01-01T00:00:00Z")),
            ("a2", "beta", Some("2023-05-01T00:00:00Z")),
            ("a3", "gamma", Some("2020-01-01T00:00:00Z")),
        ],
    ),
    (
        "b.jsonl",
        &[
            ("b1", "alpha", Some("2024-02-01T00:00:00Z")),
            ("b2", "beta", Some("2023-05-01T00:00:00Z")),
            ("b3", "delta", None),
        ],
    ),
    (
        "c.jsonl",
        &[
            ("c1", "alpha", Some("2021-06-01T00:00:00Z")),
            ("c2", "gamma", None),
            ("c3", "delta", Some("2010-01-01T00:00:00Z")),
        ],
    ),
];

fn dated_corpus(dir: &Path, order: &str) {
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    for (file, docs) in DATED {
        let lines: Vec<String> = docs
            .iter()
            .map(|(id, text, date)| {
                let mut d =
                    serde_json::json!({"id": id, "text": format!("{text} text of the document")});
                if let Some(date) = date {
                    d["metadata"] = serde_json::json!({"warc_date": date});
                }
                d.to_string() + "\n"
            })
            .collect();
        std::fs::write(dir.join("documents").join(file), lines.concat()).unwrap();
    }
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: k\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: dd\n  documents:\n    attribute_name: dup\n    keep: {{by: $.metadata.warc_date, order: {order}}}\nmix:\n  name: m\n  version: v1\n  drop: [{{rule: dup, attribute: dup, op: exists}}]\n"
        ),
    )
    .unwrap();
}

fn mixed_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    let v1 = version_dir(&dir.join("out/m"), "v1");
    for f in crate::helpers::files_under(&v1.join("documents"), "") {
        for l in text_lines(&f) {
            let v: Value = serde_json::from_str(&l).unwrap();
            ids.push(v["id"].as_str().unwrap().to_string());
        }
    }
    ids.sort();
    ids
}

/// `documents.keep`: the copy with the latest (or earliest) field survives wherever it is;
/// ties and copies without the field go to the first in canonical order; the same at any
/// thread count; `loam explain` names the kept copy and the policy.
#[test]
fn a_keep_policy_keeps_the_latest_copy_wherever_it_is() {
    let mut snaps = Vec::new();
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        dated_corpus(dir.path(), "latest");
        let out = run(dir.path(), &["run", "p.yaml", "--threads", threads]);
        // The row's label names the policy (wrapped onto a second line in the table).
        assert!(out.contains("latest $.metadata.warc_date)"), "{out}");
        // alpha: b1 is the latest; beta: a2 and b2 tie, the first wins; gamma: c2 has no
        // date, so a3; delta: c3 has a date, b3 none.
        assert_eq!(mixed_ids(dir.path()), ["a2", "a3", "b1", "c3"]);
        snaps.push(snapshot(&dir.path().join("out"), true));
        if threads == "1" {
            let v1 = version_dir(&dir.path().join("out/m"), "v1");
            let o = loam(dir.path(), &["explain", v1.to_str().unwrap(), "a1"]);
            let t = text(&o);
            assert!(o.status.success(), "{t}");
            assert!(t.contains("kept copy  b1"), "{t}");
            assert!(t.contains("kept by    latest $.metadata.warc_date"), "{t}");
        }
    }
    assert!(snaps[0] == snaps[1], "--threads 1 and 2 differ");

    let dir = tempfile::tempdir().unwrap();
    dated_corpus(dir.path(), "earliest");
    run(dir.path(), &["run", "p.yaml"]);
    assert_eq!(mixed_ids(dir.path()), ["a1", "a2", "a3", "c3"]);

    // A Bloom filter keeps the first copy it sees: a keep policy with one is refused.
    let y = std::fs::read_to_string(dir.path().join("p.yaml"))
        .unwrap()
        .replace(
        "\nmix:",
        "\n  bloom_filter: {estimated_doc_count: 1000, desired_false_positive_rate: 0.001}\nmix:",
    );
    std::fs::write(dir.path().join("q.yaml"), y).unwrap();
    let o = loam(dir.path(), &["run", "q.yaml"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("dedupe.documents.keep"), "{t}");
}

/// `dolma_bugs: true` in a Bloom section writes what `loam dedupe -c --dolma-bugs` writes
/// (dolma 1.2.1's bytes, to rebuild a published mix); without it, loam's fixed spans.
#[test]
fn dolma_bugs_in_a_pipeline_dedupe_section_write_dolmas_bytes() {
    let dir = recipe_dir();
    let d = dir.path();
    run(d, &["dedupe", "-c", "dedupe_paras.yaml", "--dolma-bugs"]);
    pipeline(
        d,
        "bugs.yaml",
        "out-b",
        &format!("{PARAS}\n  dolma_bugs: true"),
        "[]",
    );
    run(d, &["run", "bugs.yaml"]);
    let want = d.join("corpus/attributes/dedupe_paras");
    assert_same_attributes(&want, &d.join("out-b/attributes/dedupe_paras"));
    // The fixes change these real documents' spans: the two modes really differ.
    pipeline(d, "fixed.yaml", "out-f", PARAS, "[]");
    run(d, &["run", "fixed.yaml"]);
    let fixed = d.join("out-f/attributes/dedupe_paras");
    assert!(
        SHARDS
            .iter()
            .any(|s| text_lines(&want.join(s)) != text_lines(&fixed.join(s))),
        "dolma's bytes and loam's are the same on this corpus: the test proves nothing"
    );
    // Exact dedup has no dolma bugs to reproduce: refused, naming the field.
    pipeline(
        d,
        "exact.yaml",
        "out-e",
        "  name: e\n  documents: {attribute_name: dup}\n  dolma_bugs: true",
        "[]",
    );
    let o = loam(d, &["run", "exact.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("dedupe.dolma_bugs"), "{}", text(&o));
}
