//! Precision and recall of MinHash LSH, with and without exact-Jaccard verification, against
//! exact Jaccard on a labelled sample: the 147 real web documents of
//! `tests/fixtures/tagger-sample` with planted near-duplicates at several similarities.
//! The figures are those of `docs/dedup.md` (`cargo test --release -p loam-dedup --test
//! lsh_eval -- --nocapture` prints them).

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_dedup::config::{MinHashConfig, MinHashVerify, ShingleKind};
use loam_dedup::lsh::{self, BandFile, Node};
use loam_dedup::minhash::{MinHasher, Signatures};
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// The sample's texts, then planted copies: for every second document of 100 words or more,
/// one copy per rate, every `rate`-th word replaced.
fn sample() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/tagger-sample/documents/sample.jsonl.gz");
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("fixture"))
        .read_to_string(&mut s)
        .expect("gzip");
    let originals: Vec<String> = s
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["text"].as_str().expect("text").to_string()
        })
        .collect();
    let mut all = originals.clone();
    for (k, t) in originals.iter().enumerate() {
        if k % 2 != 0 || t.split_whitespace().count() < 100 {
            continue;
        }
        for rate in [200, 80, 40, 20, 12, 6] {
            let copy: Vec<String> = t
                .split(' ')
                .enumerate()
                .map(|(i, w)| match i % rate == rate / 2 {
                    true => format!("planted{rate}x{i}"),
                    false => w.to_string(),
                })
                .collect();
            all.push(copy.join(" "));
        }
    }
    all
}

struct Scores {
    doc_precision: f64,
    doc_recall: f64,
    pair_precision: f64,
    marked: usize,
}

/// Marks (node → survivor) of LSH, with `verify` or without (every member but the root).
fn lsh_marks(texts: &[String], cfg: &MinHashConfig, sets: &[Vec<u64>]) -> HashMap<usize, usize> {
    let mh = MinHasher::new(cfg);
    let sigs = Signatures {
        ids: (0..texts.len()).map(|i| i.to_string()).collect(),
        chars: vec![0; texts.len()],
        bytes: vec![0; texts.len()],
        sigs: texts.iter().map(|t| mh.signature(t)).collect(),
        keep: Vec::new(),
    };
    let parts = 4;
    let bands = BandFile::of_shard(0, &sigs, &mh, parts).expect("bands");
    let mut files: Vec<Vec<(Node, Node)>> = bands
        .parts
        .iter()
        .map(|p| lsh::components(lsh::bucket_edges(p)))
        .collect();
    while files.len() > 1 {
        files = files
            .chunks(2)
            .map(|c| lsh::components(c.iter().flatten().copied()))
            .collect();
    }
    let map = files.pop().unwrap_or_default();
    match &cfg.verify {
        None => map.iter().map(|&(n, r)| (n as usize, r as usize)).collect(),
        Some(v) => {
            let mut out = HashMap::new();
            for c in lsh::clusters_of(&map) {
                let found = lsh::verify_cluster(
                    &c,
                    |n| sets[n as usize].as_slice(),
                    v.threshold,
                    v.max_cluster,
                );
                for d in found.verdicts {
                    out.insert(d.node as usize, d.survivor as usize);
                }
            }
            out
        }
    }
}

fn score(
    marks: &HashMap<usize, usize>,
    sets: &[Vec<u64>],
    truth: &HashSet<usize>,
    t: f64,
) -> Scores {
    let tp = marks.keys().filter(|n| truth.contains(n)).count();
    let good_pairs = marks
        .iter()
        .filter(|(&n, &s)| lsh::jaccard(&sets[n], &sets[s]) >= t)
        .count();
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    Scores {
        doc_precision: ratio(tp, marks.len()),
        doc_recall: ratio(tp, truth.len()),
        pair_precision: ratio(good_pairs, marks.len()),
        marked: marks.len(),
    }
}

#[test]
fn verification_gives_exact_precision_on_planted_near_duplicates() {
    let texts = sample();
    let base = MinHashConfig {
        attribute_name: "near".into(),
        shingle: ShingleKind::Words,
        ngram_length: 5,
        num_bands: 20,
        rows_per_band: 10,
        seed: 0,
        partitions: Some(4),
        verify: None,
        annotate_clusters: false,
        keep: None,
        tokenizer: None,
    };
    let mh = MinHasher::new(&base);
    let sets: Vec<Vec<u64>> = texts.iter().map(|t| mh.shingles(t)).collect();
    let t = 0.8;
    // Ground truth: a document is a near-duplicate when an earlier one is at J >= t.
    let mut truth = HashSet::new();
    let mut pairs = 0;
    for j in 0..texts.len() {
        for i in 0..j {
            if lsh::jaccard(&sets[i], &sets[j]) >= t {
                pairs += 1;
                truth.insert(j);
            }
        }
    }
    println!(
        "{} documents ({} planted), {pairs} pairs at J >= {t}, {} near-duplicate documents",
        texts.len(),
        texts.len() - 147,
        truth.len()
    );
    println!("| bands x rows | verify | marked | doc precision | doc recall | pair precision |");
    let mut verified_recall = 0.0;
    for (bands, rows) in [(20, 10), (16, 4), (32, 2)] {
        for verify in [false, true] {
            let cfg = MinHashConfig {
                num_bands: bands,
                rows_per_band: rows,
                verify: verify.then_some(MinHashVerify {
                    threshold: t,
                    max_cluster: 1000,
                }),
                ..base.clone()
            };
            let s = score(&lsh_marks(&texts, &cfg, &sets), &sets, &truth, t);
            println!(
                "| {bands} x {rows} | {} | {} | {:.3} | {:.3} | {:.3} |",
                if verify { "0.8" } else { "-" },
                s.marked,
                s.doc_precision,
                s.doc_recall,
                s.pair_precision
            );
            if verify {
                assert_eq!(s.pair_precision, 1.0, "{bands} x {rows}");
                assert_eq!(s.doc_precision, 1.0, "{bands} x {rows}");
                if (bands, rows) == (20, 10) {
                    verified_recall = s.doc_recall;
                }
            }
        }
    }
    assert!(verified_recall > 0.9, "recall {verified_recall}");
}
