//! Precision and recall of MinHash candidate pairs against exact Jaccard similarity, on a
//! sample of real near-duplicates (many extractors' outputs of the same web pages).
//!
//! cargo run --release -p loam-dedup --example minhash_eval -- \
//!     /work/shared/data/web/aeb_extractor_outputs.jsonl.gz [SAMPLE] [THRESHOLD]

// An example program: a panic with a message is enough error handling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_dedup::config::{MinHashConfig, ShingleKind};
use loam_dedup::minhash::{shingles, Clusters, MinHasher};
use loam_pipeline::shard::read_documents;
use loam_pipeline::storage::storage_for;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("path to a JSONL shard");
    let sample: usize = args.get(2).map_or(2000, |s| s.parse().unwrap());
    let t: f64 = args.get(3).map_or(0.8, |s| s.parse().unwrap());
    let mut docs = read_documents(storage_for(path).unwrap(), path).unwrap();
    // A deterministic sample: order by a hash of the id.
    docs.sort_by_key(|d| xxhash_rust::xxh3::xxh3_64(d.id.as_bytes()));
    docs.truncate(sample);
    docs.retain(|d| !d.text.trim().is_empty());
    let n = docs.len();
    for (kind, len) in [(ShingleKind::Words, 5), (ShingleKind::Chars, 10)] {
        let sh: Vec<Vec<u64>> = docs
            .par_iter()
            .map(|d| shingles(&d.text, kind, len))
            .collect();
        let truth: HashSet<(u32, u32)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let sh = &sh;
                (i + 1..n).filter_map(move |j| {
                    (jaccard(&sh[i], &sh[j]) >= t).then_some((i as u32, j as u32))
                })
            })
            .collect();
        // documents that have an earlier document at similarity >= t
        let true_dups: HashSet<u32> = truth.iter().map(|&(_, j)| j).collect();
        println!(
            "\n{kind:?} {len}-grams, {n} documents, {} pairs with Jaccard >= {t}, {} documents with an earlier one",
            truth.len(),
            true_dups.len()
        );
        println!("bands x rows | pair precision | pair recall | doc precision | doc recall");
        for (b, r) in [(20, 10), (32, 8), (16, 8), (50, 5), (10, 20)] {
            let cfg = MinHashConfig {
                attribute_name: "x".into(),
                shingle: kind,
                ngram_length: len,
                num_bands: b,
                rows_per_band: r,
                seed: 0,
                partitions: None,
                verify: None,
                annotate_clusters: false,
                keep: None,
                tokenizer: None,
            };
            let mh = MinHasher::new(&cfg);
            let sigs: Vec<Vec<u64>> = sh.par_iter().map(|s| mh.signature_of(s)).collect();
            let mut buckets: HashMap<u64, Vec<u32>> = HashMap::new();
            for (i, s) in sigs.iter().enumerate() {
                for k in mh.bands(s) {
                    buckets.entry(k).or_default().push(i as u32);
                }
            }
            let mut cand: HashSet<(u32, u32)> = HashSet::new();
            let mut cl = Clusters::new(n);
            for v in buckets.values() {
                for x in 0..v.len() {
                    cl.union(v[0], v[x]);
                    for y in x + 1..v.len() {
                        cand.insert((v[x].min(v[y]), v[x].max(v[y])));
                    }
                }
            }
            let tp = cand.intersection(&truth).count();
            let marked: HashSet<u32> = (0..n as u32).filter(|&i| cl.find(i) != i).collect();
            let dtp = marked.intersection(&true_dups).count();
            println!(
                "{b:>5} x {r:<4} | {:>14.3} | {:>11.3} | {:>13.3} | {:>10.3}   ({} candidate pairs, {} marked)",
                tp as f64 / cand.len().max(1) as f64,
                tp as f64 / truth.len().max(1) as f64,
                dtp as f64 / marked.len().max(1) as f64,
                dtp as f64 / true_dups.len().max(1) as f64,
                cand.len(),
                marked.len()
            );
        }
    }
}
