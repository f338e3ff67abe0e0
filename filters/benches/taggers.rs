//! Every built-in tagger (`loam_filters::registry::build`) on real documents.
//!
//!   cargo bench -p loam-filters --bench taggers [-- NAME]
//!
//! Data: the quickstart's Common Crawl documents (`examples/quickstart/documents/`).
//! fastText language taggers need `lid.176.ftz` (`scripts/fetch-models.sh models`, or
//! `LOAM_MODELS_DIR`); without it they are skipped with a note.

// Benchmark setup: a panic on missing data is the right failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loam_filters::registry;
use loam_pipeline::reader::DocumentReader;
use loam_pipeline::tagger::Signals;
use loam_pipeline::{Document, LocalStorage};
use std::hint::black_box;

fn sample() -> Vec<Document> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/documents"
    );
    ["cc2019.jsonl.gz", "cc_misc.jsonl.gz", "warc_main.jsonl.zst"]
        .iter()
        .flat_map(|f| {
            DocumentReader::open(&LocalStorage, &format!("{dir}/{f}"))
                .expect("quickstart sample")
                .map(|d| d.expect("valid document").1)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    if std::env::var_os("LOAM_MODELS_DIR").is_none() {
        // The workspace's models/ folder, wherever cargo runs the bench from.
        let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
        std::env::set_var("LOAM_MODELS_DIR", models);
    }
    let docs = sample();
    let bytes: u64 = docs.iter().map(|d| d.text.len() as u64).sum();
    let mut g = c.benchmark_group("tagger");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for name in registry::names() {
        let tagger = match registry::build(name) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        g.bench_function(name, |b| {
            let mut out = Signals::default();
            b.iter(|| {
                for d in &docs {
                    out.clear();
                    tagger.tag(black_box(d), &mut out).unwrap();
                }
                black_box(&out);
            })
        });
    }
    g.finish();
    langid_vs_raw_predict(c, &docs, bytes);
}

/// Language ID on the same paragraphs: fastText's C++ `predict` (k=-1 as dolma calls it, and
/// k=1), loam's native engine (all labels, and the one `en` label the English taggers
/// write), and the paragraph tagger (preprocessing, spans, document score included).
fn langid_vs_raw_predict(c: &mut Criterion, docs: &[Document], bytes: u64) {
    let name = "ft_lang_id_en_paragraph_with_doc_score_v2";
    let Ok(tagger) = registry::build(name) else {
        eprintln!("skipping the raw-predict comparison: no fastText model");
        return;
    };
    let dir = std::env::var("LOAM_MODELS_DIR").unwrap_or_default();
    let mut model = fasttext::FastText::new();
    if model.load_model(&format!("{dir}/lid.176.ftz")).is_err() {
        eprintln!("skipping the raw-predict comparison: cannot load lid.176.ftz");
        return;
    }
    let lines: Vec<String> = docs
        .iter()
        .flat_map(|d| d.text.split('\n'))
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("{p}\n"))
        .collect();
    let mut g = c.benchmark_group("langid vs raw fastText");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("fastText predict(k=-1) per paragraph", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(model.predict(black_box(l), -1, 0.0).unwrap());
            }
        })
    });
    let native =
        loam_filters::ftinfer::Model::load(std::path::Path::new(&format!("{dir}/lid.176.ftz")))
            .unwrap();
    let en = native.label_index("__label__en").unwrap();
    let mut scratch = loam_filters::ftinfer::Scratch::default();
    let mut preds = Vec::new();
    g.bench_function("native predict(k=-1) per paragraph", |b| {
        b.iter(|| {
            for l in &lines {
                native.predict(black_box(l.as_bytes()), None, 0.0, &mut scratch, &mut preds);
                black_box(&preds);
            }
        })
    });
    g.bench_function("fastText predict(k=1) per paragraph", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(model.predict(black_box(l), 1, 0.0).unwrap());
            }
        })
    });
    g.bench_function("native predict_label(en) per paragraph", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(native.predict_label(black_box(l.as_bytes()), en, 0.0, &mut scratch));
            }
        })
    });
    g.bench_function(name, |b| {
        let mut out = Signals::default();
        b.iter(|| {
            for d in docs {
                out.clear();
                tagger.tag(black_box(d), &mut out).unwrap();
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(taggers, benches);
criterion_main!(taggers);
