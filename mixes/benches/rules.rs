//! Mix rule evaluation: loam's structured drop rules (`first_match`) and dolma's JSONPath
//! filters, on attribute maps shaped like the tag stage's output.
//!
//!   cargo bench -p loam-mixes --bench rules

// Benchmark setup: a panic on missing data is the right failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loam_mixes::filter::JsonPath;
use loam_mixes::rules::{first_match, Op, Rule};
use serde_json::{json, Map, Value};
use std::hint::black_box;

fn attributes(i: u64) -> Map<String, Value> {
    let x = (i % 97) as f64 / 97.0;
    let len = 500 + (i % 3000) as usize;
    let mut m = Map::new();
    let span = |v: f64| json!([[0, len, v]]);
    m.insert("e__char_length_v1__length".into(), span(len as f64));
    m.insert(
        "e__whitespace_tokenizer_v1__length".into(),
        span((len / 6) as f64),
    );
    m.insert("e__gopher_v1__word_count".into(), span((len / 6) as f64));
    m.insert("e__gopher_v1__symbol_to_word_ratio".into(), span(x * 0.12));
    m.insert(
        "e__gopher_v1__fraction_of_characters_in_duplicate_lines".into(),
        span(x * 0.25),
    );
    m.insert(
        "e__gopher_v1__fraction_of_words_with_alpha_character".into(),
        span(1.0 - x * 0.3),
    );
    m.insert(
        "e__ft_lang_id_en_paragraph_with_doc_score_v2__doc_en".into(),
        span(1.0 - x),
    );
    if i.is_multiple_of(10) {
        m.insert("duplicate_text".into(), span(1.0));
    }
    m
}

fn rule(name: &str, attribute: &str, op: Op, value: Option<f64>) -> Rule {
    Rule {
        rule: name.into(),
        attribute: attribute.into(),
        op,
        value,
    }
}

fn benches(c: &mut Criterion) {
    const N: u64 = 10_000;
    let docs: Vec<Map<String, Value>> = (0..N).map(attributes).collect();
    let rules = vec![
        rule("duplicate", "duplicate_text", Op::Exists, None),
        rule("short", "e__char_length_v1__length", Op::Lt, Some(100.0)),
        rule(
            "few_words",
            "e__whitespace_tokenizer_v1__length",
            Op::Lt,
            Some(50.0),
        ),
        rule(
            "symbols",
            "e__gopher_v1__symbol_to_word_ratio",
            Op::Gt,
            Some(0.1),
        ),
        rule(
            "dup_lines",
            "e__gopher_v1__fraction_of_characters_in_duplicate_lines",
            Op::Gt,
            Some(0.2),
        ),
        rule(
            "alpha",
            "e__gopher_v1__fraction_of_words_with_alpha_character",
            Op::Lt,
            Some(0.8),
        ),
        rule(
            "not_english",
            "e__ft_lang_id_en_paragraph_with_doc_score_v2__doc_en",
            Op::Lt,
            Some(0.5),
        ),
    ];
    let mut g = c.benchmark_group("mix rules");
    g.throughput(Throughput::Elements(N));
    g.bench_function("first_match, 7 structured rules", |b| {
        b.iter(|| {
            docs.iter()
                .filter(|a| first_match(&rules, black_box(a)).is_some())
                .count()
        })
    });
    let paths: Vec<JsonPath> = [
        "$.attributes[?(@.e__char_length_v1__length && @.e__char_length_v1__length[0] && @.e__char_length_v1__length[0][2] < 100)]",
        "$.attributes[?(@.e__whitespace_tokenizer_v1__length && @.e__whitespace_tokenizer_v1__length[0] && @.e__whitespace_tokenizer_v1__length[0][2] < 50)]",
        "$.attributes[?(@.e__gopher_v1__symbol_to_word_ratio && @.e__gopher_v1__symbol_to_word_ratio[0] && @.e__gopher_v1__symbol_to_word_ratio[0][2] > 0.1)]",
        "$.attributes[?(@.e__gopher_v1__fraction_of_characters_in_duplicate_lines && @.e__gopher_v1__fraction_of_characters_in_duplicate_lines[0] && @.e__gopher_v1__fraction_of_characters_in_duplicate_lines[0][2] > 0.2)]",
    ]
    .iter()
    .map(|p| JsonPath::new(p, "exclude").expect("valid JSONPath"))
    .collect();
    let wrapped: Vec<Value> = docs
        .iter()
        .map(|a| json!({"id": "x", "text": "", "attributes": a}))
        .collect();
    g.bench_function("dolma JSONPath exclude, 4 filters", |b| {
        b.iter(|| {
            wrapped
                .iter()
                .filter(|d| paths.iter().any(|p| p.matches(black_box(d))))
                .count()
        })
    });
    g.finish();
}

criterion_group!(mix_rules, benches);
criterion_main!(mix_rules);
