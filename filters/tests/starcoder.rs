//! The parts of `code_starcoder_taggers_v2` against the values their Python originals give
//! (`tests/fixtures/tagger-starcoder/`): Pygments 2.21.0's comment sizes for Java and
//! JavaScript, and BeautifulSoup 4.15.0's text length and `filter_html` score, on real files,
//! hand-written edge cases and mutated text. The whole tagger against `dolma tag` is
//! `dolma_compat_2::code_starcoder_matches_dolma`.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_filters::starcoder::{bs4, pygments};
use serde_json::Value;
use std::path::PathBuf;

fn cases(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/tagger-starcoder")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("case json"))
        .collect()
}

#[test]
fn pygments_comment_sizes_match() {
    let all = cases("pygments-cases.jsonl");
    let mut failures = Vec::new();
    for c in &all {
        let text = c["text"].as_str().unwrap();
        let lang = match c["lang"].as_str().unwrap() {
            "java" => pygments::PygLang::Java,
            "javascript" => pygments::PygLang::JavaScript,
            other => panic!("language {other}"),
        };
        let want = c["comment_size"].as_u64().unwrap() as usize;
        let got = pygments::comment_size(text, lang);
        if got != want {
            failures.push(format!("{}: {got} vs Pygments {want}", c["source"]));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(all.len() > 100, "{} cases", all.len());
}

#[test]
fn beautifulsoup_text_lengths_and_scores_match() {
    let all = cases("bs4-cases.jsonl");
    let mut failures = Vec::new();
    for c in &all {
        let html = c["html"].as_str().unwrap();
        let len = bs4::bs4_text_len(html).ok();
        let want_len = c["text_len"].as_u64().map(|n| n as usize);
        let score = bs4::filter_html(html);
        let want = c["filter_html"].as_f64().unwrap();
        // The same division of the same integers; the margin only absorbs serde_json's
        // float parsing, which is not always correctly rounded.
        if len != want_len || (score - want).abs() > 1e-15 * want.abs().max(1.0) {
            failures.push(format!(
                "{}: {len:?}/{score} vs Python {want_len:?}/{want}",
                c["source"]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(all.len() > 100, "{} cases", all.len());
}
