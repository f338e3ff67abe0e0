//! The engine's guarantees: deterministic survivor whatever the threads, partitions that add
//! up to the single task, read-only filters, bad input, and the dolma bugs loam fixes.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_dedup::config::DedupeConfig;
use loam_dedup::engine::{self, Job, Outcome};
use loam_dedup::exact::DedupUnit;
use loam_pipeline::config::{from_value_validated, parse_text};
use loam_pipeline::executor::{CountingProgress, Executor};
use loam_pipeline::storage::storage_for;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Corpus {
    dir: tempfile::TempDir,
    shards: Vec<String>,
}

fn corpus(shards: &[&[Value]]) -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    let mut paths = Vec::new();
    for (i, lines) in shards.iter().enumerate() {
        let p = docs.join(format!("{i:03}.jsonl"));
        let body: String = lines.iter().map(|l| l.to_string() + "\n").collect();
        std::fs::write(&p, body).unwrap();
        paths.push(p.to_str().unwrap().to_string());
    }
    Corpus { dir, shards: paths }
}

fn doc(id: &str, text: &str) -> Value {
    json!({"id": id, "text": text})
}

fn job(c: &Corpus, dedupe_yaml: &str, filter: &str) -> Job {
    let text = format!(
        "documents: [{}/documents/*.jsonl]\ndedupe:\n{dedupe_yaml}\nbloom_filter: {{file: {}, read_only: false, estimated_doc_count: 1000, desired_false_positive_rate: 0.001}}\n",
        c.dir.path().display(),
        c.dir.path().join(filter).display()
    );
    let v = parse_text(&text, Some(Path::new("d.yaml"))).unwrap();
    let cfg: DedupeConfig = from_value_validated(&v).unwrap();
    Job::from_config(&cfg).unwrap()
}

fn run(c: &Corpus, job: &Job, out_name: &str, threads: usize) -> (Outcome, Vec<String>) {
    let units: Vec<DedupUnit> = c
        .shards
        .iter()
        .map(|s| DedupUnit {
            input: s.clone(),
            output: s.replace("/documents/", &format!("/attributes/{out_name}/")),
        })
        .collect();
    let exec = Executor::new(threads).unwrap();
    let o = engine::run(
        storage_for(&c.shards[0]).unwrap(),
        &units,
        job,
        &exec,
        &CountingProgress::default(),
    )
    .unwrap();
    engine::commit_filter(job).unwrap();
    let outs = units
        .iter()
        .map(|u| std::fs::read_to_string(&u.output).unwrap_or_default())
        .collect();
    (o, outs)
}

fn lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Many keys, a tiny filter (so false positives happen), several shards.
fn busy_corpus() -> Corpus {
    let mut shards: Vec<Vec<Value>> = Vec::new();
    for s in 0..5 {
        let mut v = Vec::new();
        for i in 0..400 {
            let n = (i * 7 + s * 13) % 300;
            v.push(doc(
                &format!("{s}-{i}"),
                &format!("para {n}\nshared line {}\nunique {s} {i}", n % 17),
            ));
        }
        shards.push(v);
    }
    let refs: Vec<&[Value]> = shards.iter().map(|v| v.as_slice()).collect();
    corpus(&refs)
}

#[test]
fn threads_do_not_change_a_byte_even_with_false_positives() {
    let c = busy_corpus();
    for mode in [
        "  documents: {attribute_name: d, key: $.text}",
        "  paragraphs: {attribute_name: p}",
        "  paragraphs: {attribute_name: p, by_ngram: {ngram_length: 2, stride: 1, overlap_threshold: 0.5}}",
    ] {
        let mut outs = Vec::new();
        for (t, threads) in [1, 2, 3].iter().enumerate() {
            let mut j = job(&c, mode, &format!("f{t}.bin"));
            // 8 KiB for ~8,000 keys: plenty of false positives
            j.plan = loam_dedup::bloom::BloomPlan::new(8192, 8000, 0.0);
            let (o, out) = run(&c, &j, &format!("t{t}"), *threads);
            assert!(o.stats.keys_present > 0);
            outs.push(out);
            let f = std::fs::read(c.dir.path().join(format!("f{t}.bin"))).unwrap();
            outs.push(vec![format!("{:x}", xxhash_rust::xxh3::xxh3_128(&f))]);
        }
        assert_eq!(outs[0], outs[2], "{mode}");
        assert_eq!(outs[0], outs[4], "{mode}");
        assert_eq!(outs[1], outs[3], "filter file, {mode}");
    }
}

#[test]
fn the_first_copy_in_canonical_order_survives() {
    let c = corpus(&[
        &[doc("a1", "x"), doc("a2", "y"), doc("a3", "x")],
        &[doc("b1", "y"), doc("b2", "z")],
    ]);
    let j = job(
        &c,
        "  documents: {attribute_name: dup, key: $.text}",
        "f.bin",
    );
    let (o, out) = run(&c, &j, "d", 2);
    assert_eq!(
        out[0],
        "{\"attributes\":{},\"id\":\"a1\"}\n{\"attributes\":{},\"id\":\"a2\"}\n{\"attributes\":{\"dup\":[[0,1,1]]},\"id\":\"a3\"}\n"
    );
    assert_eq!(
        out[1],
        "{\"attributes\":{\"dup\":[[0,1,1]]},\"id\":\"b1\"}\n{\"attributes\":{},\"id\":\"b2\"}\n"
    );
    assert_eq!(o.stats.keys, 5);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
}

fn spans_by_line(outs: &[String], attr_prefix: &str) -> Vec<Vec<BTreeSet<String>>> {
    outs.iter()
        .map(|o| {
            lines(o)
                .iter()
                .map(|l| {
                    let mut set = BTreeSet::new();
                    for (k, v) in l["attributes"].as_object().unwrap() {
                        assert!(k.starts_with(attr_prefix));
                        for s in v.as_array().unwrap() {
                            set.insert(s.to_string());
                        }
                    }
                    set
                })
                .collect()
        })
        .collect()
}

#[test]
fn four_partitions_add_up_to_one_task() {
    let c = busy_corpus();
    for mode in [
        "  documents: {attribute_name: d, key: $.text}",
        "  paragraphs: {attribute_name: p}",
    ] {
        let single = job(&c, mode, "single.bin");
        let (_, out1) = run(&c, &single, "single", 2);
        let want = spans_by_line(&out1, "");
        let mut union: Option<Vec<Vec<BTreeSet<String>>>> = None;
        let mut names = BTreeSet::new();
        for p in 0..4 {
            let m = format!("{mode}\n  num_partitions: 4\n  partition_index: {p}");
            let j = job(&c, &m, &format!("part{p}.bin"));
            names.insert(j.attribute.clone());
            let (o, out) = run(&c, &j, &format!("part{p}"), 2);
            assert!(o.stats.keys_other_partitions > 0);
            let got = spans_by_line(&out, "");
            union = Some(match union {
                None => got,
                Some(mut u) => {
                    for (us, gs) in u.iter_mut().zip(got) {
                        for (a, b) in us.iter_mut().zip(gs) {
                            a.extend(b);
                        }
                    }
                    u
                }
            });
        }
        assert_eq!(names.len(), 4);
        assert_eq!(union.unwrap(), want, "{mode}");
    }
}

#[test]
fn read_only_checks_a_prebuilt_filter_without_inserting() {
    let train = corpus(&[&[doc("t1", "secret test question"), doc("t2", "other")]]);
    let j = job(
        &train,
        "  documents: {attribute_name: d, key: $.text}",
        "f.bin",
    );
    run(&train, &j, "d", 1);
    let filter: PathBuf = train.dir.path().join("f.bin");
    let before = std::fs::read(&filter).unwrap();
    let data = corpus(&[&[
        doc("x1", "secret test question"),
        doc("x2", "new"),
        doc("x3", "new"),
    ]]);
    let mut j = job(
        &data,
        "  documents: {attribute_name: d, key: $.text}",
        "unused.bin",
    );
    j.filter_file = filter.clone();
    j.read_only = true;
    let (_, out) = run(&data, &j, "d", 2);
    let l = lines(&out[0]);
    assert_eq!(l[0]["attributes"]["d"], json!([[0, 20, 1]]));
    // a copy inside the checked data is not a hit: nothing is inserted
    assert_eq!(l[2]["attributes"], json!({}));
    assert_eq!(std::fs::read(&filter).unwrap(), before);
}

#[test]
fn a_bad_key_names_file_and_line() {
    let c = corpus(&[&[
        json!({"id": "1", "text": "a", "metadata": {"url": "u"}}),
        json!({"id": "2", "text": "b", "metadata": {"url": 7}}),
    ]]);
    let j = job(
        &c,
        "  documents: {attribute_name: d, key: $.metadata.url}",
        "f.bin",
    );
    let (o, out) = run(&c, &j, "d", 1);
    let fatal = o.shards[0].scan.fatal.clone().unwrap();
    assert!(
        fatal.ends_with("000.jsonl:2: dedup key `$.metadata.url` is a number, not a string"),
        "{fatal}"
    );
    assert!(o.shards[0].output.is_none());
    assert_eq!(out[0], "");
    let c = corpus(&[&[json!({"id": "1", "text": "a"})]]);
    let j = job(
        &c,
        "  documents: {attribute_name: d, key: $.metadata.url}",
        "f.bin",
    );
    let (o, _) = run(&c, &j, "d", 1);
    assert!(o.shards[0]
        .scan
        .fatal
        .as_deref()
        .unwrap()
        .contains("000.jsonl:1: dedup key `$.metadata.url` is missing"));
}

#[test]
fn empty_documents_and_paragraphs_as_configured() {
    let docs: &[Value] = &[doc("1", ""), doc("2", "a\n\nb\n\n\nc"), doc("3", "   ")];
    let c = corpus(&[docs]);
    let (_, out) = run(
        &c,
        &job(&c, "  paragraphs: {attribute_name: p}", "f1.bin"),
        "p1",
        1,
    );
    let l = lines(&out[0]);
    // empty text: no attribute at all (as dolma)
    assert_eq!(l[0]["attributes"], json!({}));
    // the 2nd, 3rd empty paragraphs are duplicates of the first
    assert_eq!(l[1]["attributes"]["p"], json!([[5, 6, 1], [6, 7, 1]]));
    let (_, out) = run(
        &c,
        &job(
            &c,
            "  paragraphs: {attribute_name: p}\n  skip_empty: true",
            "f2.bin",
        ),
        "p2",
        1,
    );
    let l = lines(&out[0]);
    assert_eq!(l[1]["attributes"]["p"], json!([]));
    assert_eq!(l[2]["attributes"]["p"], json!([]));
    // documents mode: skipped documents get an empty list, as dolma
    let (_, out) = run(
        &c,
        &job(
            &c,
            "  documents: {attribute_name: d, key: $.text}\n  skip_empty: true",
            "f3.bin",
        ),
        "d",
        1,
    );
    let l = lines(&out[0]);
    assert_eq!(l[0]["attributes"], json!({"d": []}));
    assert_eq!(l[2]["attributes"], json!({"d": []}));
}

#[test]
fn min_words_dedupes_where_dolma_marks_nothing() {
    let c = corpus(&[&[
        doc("1", "one two three"),
        doc("2", "one two three"),
        doc("3", "one"),
        doc("4", "one"),
    ]]);
    let m = "  documents: {attribute_name: d, key: $.text}\n  min_words: 2";
    let (o, out) = run(&c, &job(&c, m, "f1.bin"), "a", 1);
    let l = lines(&out[0]);
    assert_eq!(l[1]["attributes"], json!({"d": [[0, 13, 1]]}));
    assert_eq!(l[3]["attributes"], json!({"d": []}));
    assert_eq!(o.stats.keys_skipped, 2);
    let mut j = job(&c, m, "f2.bin");
    j.dolma_bugs = true;
    let (o, out) = run(&c, &j, "b", 1);
    assert_eq!(
        lines(&out[0])
            .iter()
            .map(|l| l["attributes"].clone())
            .collect::<Vec<_>>(),
        [json!({}), json!({}), json!({"d": []}), json!({"d": []})]
    );
    assert!(
        o.warnings[0].contains("nothing was marked"),
        "{:?}",
        o.warnings
    );
}

#[test]
fn min_length_counts_code_points_not_bytes() {
    let c = corpus(&[&[doc("1", "éé"), doc("2", "éé")]]);
    let m = "  documents: {attribute_name: d, key: $.text}\n  min_length: 3";
    let (_, out) = run(&c, &job(&c, m, "f1.bin"), "a", 1);
    assert_eq!(lines(&out[0])[1]["attributes"], json!({"d": []}));
    let mut j = job(&c, m, "f2.bin");
    j.dolma_bugs = true;
    let (_, out) = run(&c, &j, "b", 1);
    // dolma: 4 bytes >= 3, and the span is the key's 4 bytes of a 2-code-point text
    assert_eq!(lines(&out[0])[1]["attributes"], json!({"d": [[0, 4, 1]]}));
}

#[test]
fn multi_character_separators_and_stride() {
    let c = corpus(&[&[
        doc("1", "ü ü ü\n\nsecond"),
        doc("2", "x\n\nü ü ü"),
        doc("3", "w1 w2 w3 w4 w5 w6 w7"),
        doc("4", "w1 w2 w3 w4 w5 w6 w7"),
    ]]);
    let (_, out) = run(
        &c,
        &job(
            &c,
            "  paragraphs: {attribute_name: p, paragraph_separator: \"\\n\\n\"}",
            "f1.bin",
        ),
        "a",
        1,
    );
    assert_eq!(lines(&out[0])[1]["attributes"]["p"], json!([[3, 8, 1]]));
    let mut j = job(
        &c,
        "  paragraphs: {attribute_name: p, paragraph_separator: \"\\n\\n\"}",
        "f2.bin",
    );
    j.dolma_bugs = true;
    let (_, out) = run(&c, &j, "b", 1);
    // dolma adds 1 for a 2-character separator (and 1 past the last paragraph here)
    assert_eq!(lines(&out[0])[1]["attributes"]["p"], json!([[2, 8, 1]]));
    // stride 3 over 7 words with 2-grams: starts 0, 3 (loam); 0, 1, 4 (dolma)
    let ng = "  paragraphs: {attribute_name: p, by_ngram: {ngram_length: 2, stride: 3, overlap_threshold: 0.1}}";
    let (o, _) = run(&c, &job(&c, ng, "f3.bin"), "c", 1);
    let mut j = job(&c, ng, "f4.bin");
    j.dolma_bugs = true;
    let (od, _) = run(&c, &j, "d", 1);
    // docs 1, 2 have short paragraphs (one key each, plus the n-gram sampled); 3, 4 the n-grams
    assert_eq!(od.stats.keys - o.stats.keys, 2);
}

#[test]
fn configs_that_would_mark_nothing_warn() {
    let c = corpus(&[&[doc("1", "a"), doc("2", "b")]]);
    let mut j = job(
        &c,
        "  documents: {attribute_name: d, key: $.text}",
        "missing.bin",
    );
    j.read_only = true;
    assert!(
        j.warnings()[0].contains("does not exist"),
        "{:?}",
        j.warnings()
    );
    let (o, _) = run(&c, &j, "a", 1);
    assert!(
        o.warnings[0].contains("none of the 2 keys is in the read-only filter"),
        "{:?}",
        o.warnings
    );
    let j = job(&c, "  documents: {attribute_name: d, key: $.id}", "f.bin");
    assert!(j.warnings().iter().any(|w| w.contains("$.id")));
    let (o, _) = run(&c, &j, "b", 1);
    assert!(
        o.warnings[0].contains("each of the 2 keys occurs once"),
        "{:?}",
        o.warnings
    );
    let j = job(
        &c,
        "  documents: {attribute_name: d, key: $.text}\n  min_length: 5",
        "g.bin",
    );
    let (o, _) = run(&c, &j, "c", 1);
    assert!(
        o.warnings[0].contains("all 2 keys were skipped"),
        "{:?}",
        o.warnings
    );
    // an existing filter with insertion: everything seen before is a duplicate
    let j = job(&c, "  documents: {attribute_name: d, key: $.id}", "f.bin");
    assert!(j
        .warnings()
        .iter()
        .any(|w| w.contains("exists and keeps its keys")));
}

#[test]
fn minhash_clusters_are_deterministic_and_keep_the_first() {
    let base = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door";
    let c = corpus(&[
        &[
            doc(
                "a",
                "an unrelated text about cooking pasta with tomatoes and basil in a small kitchen",
            ),
            doc("b", &format!("{base} today")),
        ],
        &[doc("c", &format!("{base} tonight")), doc("d", base)],
    ]);
    let cfg = loam_dedup::config::MinHashConfig {
        attribute_name: "near".into(),
        shingle: loam_dedup::config::ShingleKind::Words,
        ngram_length: 3,
        num_bands: 20,
        rows_per_band: 5,
        seed: 0,
        partitions: None,
        verify: None,
        annotate_clusters: false,
        keep: None,
        tokenizer: None,
    };
    let mut outs = Vec::new();
    for (t, threads) in [1usize, 2].iter().enumerate() {
        let units: Vec<DedupUnit> = c
            .shards
            .iter()
            .map(|s| DedupUnit {
                input: s.clone(),
                output: s.replace("/documents/", &format!("/attributes/mh{t}/")),
            })
            .collect();
        let o = loam_dedup::minhash::run(
            storage_for(&c.shards[0]).unwrap(),
            &units,
            &cfg,
            &loam_dedup::minhash::MinHasher::new(&cfg),
            "near",
            &Executor::new(*threads).unwrap(),
            &CountingProgress::default(),
        );
        assert_eq!(o.clusters, 1);
        outs.push(
            units
                .iter()
                .map(|u| std::fs::read_to_string(&u.output).unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(outs[0], outs[1]);
    let l0 = lines(&outs[0][0]);
    let l1 = lines(&outs[0][1]);
    assert_eq!(l0[0]["attributes"], json!({}));
    // "b" is first in canonical order: it survives, "c" and "d" are marked
    assert_eq!(l0[1]["attributes"], json!({}));
    assert!(l1[0]["attributes"]["near"][0][2].as_f64().unwrap() > 0.5);
    assert_eq!(
        l1[1]["attributes"]["near"][0][1],
        json!(base.chars().count())
    );
}
