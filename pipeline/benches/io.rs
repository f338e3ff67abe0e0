//! Reading hot paths: JSON document parse, and whole-shard reads through loam's reader
//! (gzip / zstd / plain decompression, line splitting, content digest, parse).
//!
//!   cargo bench -p loam-pipeline --bench io
//!
//! Data: the quickstart's real Common Crawl documents (`examples/quickstart/documents/`),
//! written once to a temporary folder in each codec.

// Benchmark setup: a panic on missing data is the right failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loam_pipeline::reader::{DocumentReader, LineReader};
use loam_pipeline::{Document, LocalStorage};
use std::hint::black_box;
use std::io::Write;

fn sample_lines() -> Vec<String> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/documents"
    );
    let mut lines = Vec::new();
    for f in ["cc2019.jsonl.gz", "cc_misc.jsonl.gz", "warc_main.jsonl.zst"] {
        let path = format!("{dir}/{f}");
        let mut r = LineReader::open(&LocalStorage, &path).expect("quickstart sample");
        while let Some(line) = r.next_line() {
            lines.push(line.expect("valid line").1.to_string());
        }
    }
    lines
}

fn benches(c: &mut Criterion) {
    let lines = sample_lines();
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let bytes = body.len() as u64;

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("Document::from_json", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(Document::from_json(black_box(l)).unwrap());
            }
        })
    });
    g.bench_function("Document::to_json", |b| {
        let docs: Vec<Document> = lines
            .iter()
            .map(|l| Document::from_json(l).unwrap())
            .collect();
        b.iter(|| {
            for d in &docs {
                black_box(d.to_json());
            }
        })
    });
    g.finish();

    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("s.jsonl");
    std::fs::write(&plain, &body).unwrap();
    let gz = tmp.path().join("s.jsonl.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::new(6),
    );
    e.write_all(body.as_bytes()).unwrap();
    e.finish().unwrap();
    let zst = tmp.path().join("s.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(body.as_bytes(), 3).unwrap()).unwrap();

    // Decompressed bytes per second (the input's size once decoded).
    let mut g = c.benchmark_group("read lines (decompress + split + digest)");
    g.throughput(Throughput::Bytes(bytes));
    for (name, path) in [("plain", &plain), ("gzip", &gz), ("zstd", &zst)] {
        let p = path.to_str().unwrap().to_string();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut r = LineReader::open(&LocalStorage, &p).unwrap();
                let mut n = 0usize;
                while let Some(l) = r.next_line() {
                    n += l.unwrap().1.len();
                }
                black_box(r.finish().unwrap());
                n
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read documents (decompress + parse)");
    g.throughput(Throughput::Bytes(bytes));
    let p = gz.to_str().unwrap().to_string();
    g.bench_function("gzip", |b| {
        b.iter(|| {
            let r = DocumentReader::open(&LocalStorage, &p).unwrap();
            r.map(|d| d.unwrap().1.text.len()).sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(io, benches);
criterion_main!(io);
