//! Dedup hot paths: key hashing, Bloom filter check-and-insert and lookup, MinHash shingles
//! and signatures.
//!
//!   cargo bench -p loam-dedup --bench dedup
//!
//! Data: the quickstart's Common Crawl documents (`examples/quickstart/documents/`).

// Benchmark setup: a panic on missing data is the right failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loam_dedup::bloom::{key_hash, BloomFilter, BloomPlan};
use loam_dedup::config::MinHashConfig;
use loam_dedup::minhash::MinHasher;
use loam_pipeline::reader::DocumentReader;
use loam_pipeline::LocalStorage;
use std::hint::black_box;

fn texts() -> Vec<String> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/documents"
    );
    ["cc2019.jsonl.gz", "cc_misc.jsonl.gz", "warc_main.jsonl.zst"]
        .iter()
        .flat_map(|f| {
            DocumentReader::open(&LocalStorage, &format!("{dir}/{f}"))
                .expect("quickstart sample")
                .map(|d| d.expect("valid document").1.text)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let texts = texts();
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    // Paragraph-sized keys, as paragraph dedup hashes them.
    let paras: Vec<&str> = texts.iter().flat_map(|t| t.split('\n')).collect();

    let mut g = c.benchmark_group("bloom");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("key_hash (documents)", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            for t in &texts {
                black_box(key_hash(&[t.as_str()], &mut buf));
            }
        })
    });
    const N: u64 = 1_000_000;
    let hashes: Vec<u128> = (0..N)
        .map(|i| key_hash(&[&i.to_string()], &mut Vec::new()))
        .collect();
    g.throughput(Throughput::Elements(N));
    // 1M keys at a 1e-6 false-positive rate: about 3.6 MB, 20 hashes.
    let plan = BloomPlan::new(0, N, 1e-6);
    g.bench_function("check_and_insert 1M keys", |b| {
        b.iter_with_setup(
            || BloomFilter::new(&plan),
            |f| {
                for &h in &hashes {
                    black_box(f.check_and_insert(h));
                }
                f
            },
        )
    });
    let full = BloomFilter::new(&plan);
    for &h in &hashes {
        full.check_and_insert(h);
    }
    g.bench_function("contains 1M keys (all present)", |b| {
        b.iter(|| hashes.iter().filter(|&&h| full.contains(h)).count())
    });
    g.throughput(Throughput::Elements(paras.len() as u64));
    g.bench_function("key_hash + check_and_insert (paragraphs)", |b| {
        b.iter_with_setup(
            || BloomFilter::new(&plan),
            |f| {
                let mut buf = Vec::new();
                for p in &paras {
                    black_box(f.check_and_insert(key_hash(&[p], &mut buf)));
                }
                f
            },
        )
    });
    g.finish();

    let mut g = c.benchmark_group("minhash");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for (bands, rows) in [(14usize, 8usize), (20, 10)] {
        let cfg: MinHashConfig = serde_json::from_value(serde_json::json!({
            "attribute_name": "near_dup", "shingle": "words", "ngram_length": 5,
            "num_bands": bands, "rows_per_band": rows, "seed": 0
        }))
        .expect("minhash config");
        let h = MinHasher::new(&cfg);
        g.bench_function(format!("signature {bands}x{rows}, word 5-grams"), |b| {
            b.iter(|| {
                for t in &texts {
                    black_box(h.bands(&h.signature(black_box(t))));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(dedup, benches);
criterion_main!(dedup);
