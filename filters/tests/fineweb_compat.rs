//! Same numbers as datatrove: loam's `fineweb_quality_v1` over every document of the tagger
//! sample (`tests/fixtures/tagger-sample/documents/*.jsonl.gz`, real web documents) and the
//! FineWeb edge cases (`tests/fixtures/fineweb-sample/documents/edge.jsonl.gz`), compared with
//! the values datatrove 0.10.1's `FineWebQualityFilter.filter()` computes for them
//! (`tests/fixtures/fineweb-sample/expected.jsonl`, made with datatrove's own code by
//! `scripts/make-fineweb-goldens.sh`; see the fixture's README). No Python at test time.
//!
//! For every document:
//! - the tagger emits exactly `line_punct_ratio`, `short_line_ratio` and `char_dup_ratio`, one
//!   span each over the whole text, each within 1e-4 of datatrove's value (loam rounds to 5
//!   decimals);
//! - the unrounded [`loam_filters::fineweb::ratios`] are bit-identical to datatrove's floats;
//! - datatrove's verdict at its default thresholds (the first rule that drops the document, or
//!   "keep") is what those thresholds give on loam's ratios. `list_ratio` is not a loam signal:
//!   a document datatrove drops for it must pass loam's three rules;
//! - documents datatrove drops as "empty" (no non-blank line) get loam's documented values
//!   `0, 1, 0`, which datatrove's thresholds drop too.
//!
//! And the filter's parameters as datatrove sets them (`fineweb-sample/filter.json`): loam's
//! [`TERMINAL_PUNCTUATION`] is every one of datatrove's stop characters, [`SHORT_LINE_LENGTH`]
//! its `short_line_length`, and the thresholds used above its defaults.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_filters::fineweb::{ratios, SHORT_LINE_LENGTH, TERMINAL_PUNCTUATION};
use loam_filters::registry::build;
use loam_pipeline::document::Document;
use loam_pipeline::tagger::{Signals, Tagger};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const SIGNALS: [&str; 3] = ["line_punct_ratio", "short_line_ratio", "char_dup_ratio"];
const TOLERANCE: f64 = 1e-4;

/// datatrove 0.10.1's defaults: `line_punct_thr`, `short_line_thr`, `char_duplicates_ratio`.
const LINE_PUNCT_THR: f64 = 0.12;
const SHORT_LINE_THR: f64 = 0.67;
const CHAR_DUP_THR: f64 = 0.01;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

#[derive(Debug)]
struct Expected {
    file: String,
    id: String,
    verdict: String,
    /// `line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`; `None` for "empty".
    ratios: Option<[f64; 3]>,
}

fn expected() -> Vec<Expected> {
    let path = fixtures().join("fineweb-sample/expected.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("expected.jsonl line");
            let s = |k: &str| {
                v[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {l}"))
                    .to_string()
            };
            let ratios = if v["line_punct_ratio"].is_null() {
                for k in SIGNALS.iter().chain(&["list_ratio"]) {
                    assert!(v[*k].is_null(), "{l}: {k} without the others");
                }
                None
            } else {
                assert!(v["list_ratio"].is_f64(), "{l}: list_ratio");
                Some(SIGNALS.map(|k| number(l, k)))
            };
            Expected {
                file: s("file"),
                id: s("id"),
                verdict: s("verdict"),
                ratios,
            }
        })
        .collect()
}

/// The float at `"key": ` in a line of `expected.jsonl`, parsed with `str::parse` (correctly
/// rounded: Python's `repr` of the float round-trips bit for bit; serde_json without its
/// `float_roundtrip` feature can be one ulp off on 17-digit numbers).
fn number(line: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    let (_, rest) = line
        .split_once(&pat)
        .unwrap_or_else(|| panic!("{key} in {line}"));
    let value = rest.split([',', '}']).next().unwrap_or(rest);
    value
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{key} in {line}: {e}"))
}

fn documents(rel: &str) -> Vec<Document> {
    let path = fixtures().join(rel);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(flate2::read::MultiGzDecoder::new(f))
        .lines()
        .map(|l| Document::from_json(&l.expect("gzip line")).expect("document"))
        .collect()
}

/// Every document file the golden must cover, relative to `tests/fixtures`, sorted.
fn document_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(fixtures().join("tagger-sample/documents"))
        .expect("tagger-sample/documents")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl.gz"))
        .map(|n| format!("tagger-sample/documents/{n}"))
        .collect();
    files.sort();
    files.push("fineweb-sample/documents/edge.jsonl.gz".to_string());
    files
}

/// The first of datatrove's three line rules that drops the document, in `filter()`'s order.
fn verdict([punct, short, dup]: [f64; 3]) -> &'static str {
    if punct < LINE_PUNCT_THR {
        "line_punct_ratio"
    } else if short > SHORT_LINE_THR {
        "short_line_ratio"
    } else if dup > CHAR_DUP_THR {
        "char_dup_ratio"
    } else {
        "keep"
    }
}

fn check(tagger: &dyn Tagger, doc: &Document, exp: &Expected) -> Result<(), String> {
    let mut s = Signals::default();
    tagger.tag(doc, &mut s).map_err(|e| e.to_string())?;
    let n = doc.text.chars().count();
    let mut got = BTreeMap::new();
    for (k, spans) in s.iter() {
        match spans.as_slice() {
            [sp] if sp.start == 0 && sp.end == n => got.insert(k.as_str(), sp.score),
            _ => return Err(format!("{k}: spans {spans:?}, want one [0, {n}]")),
        };
    }
    let mut want: Vec<&str> = SIGNALS.to_vec();
    want.sort_unstable();
    if got.keys().copied().collect::<Vec<_>>() != want {
        return Err(format!("signals {:?}, want {SIGNALS:?}", got.keys()));
    }
    let tagged = SIGNALS.map(|k| got[k]);
    let (p, sh, d) = ratios(&doc.text);
    let raw = [p, sh, d];
    let Some(theirs) = exp.ratios else {
        // datatrove: "empty". loam's documented values, dropped by datatrove's thresholds.
        if exp.verdict != "empty" || tagged != [0.0, 1.0, 0.0] || verdict(raw) == "keep" {
            return Err(format!(
                "empty text: loam {tagged:?}, verdict {}",
                exp.verdict
            ));
        }
        return Ok(());
    };
    let mut errs = Vec::new();
    for (i, k) in SIGNALS.iter().enumerate() {
        if (tagged[i] - theirs[i]).abs() > TOLERANCE {
            errs.push(format!("{k}: loam {} datatrove {}", tagged[i], theirs[i]));
        }
        if raw[i].to_bits() != theirs[i].to_bits() {
            errs.push(format!(
                "{k} unrounded: loam {:?} datatrove {:?}",
                raw[i], theirs[i]
            ));
        }
    }
    let want = match exp.verdict.as_str() {
        "list_ratio" => "keep", // the rule after loam's three
        v => v,
    };
    if verdict(raw) != want {
        errs.push(format!(
            "verdict: loam's ratios give {}, datatrove {}",
            verdict(raw),
            exp.verdict
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

#[test]
fn fineweb_quality_v1_matches_datatrove() {
    let exp = expected();
    let mut by_file: BTreeMap<&str, Vec<&Expected>> = BTreeMap::new();
    for e in &exp {
        by_file.entry(e.file.as_str()).or_default().push(e);
    }
    let files = document_files();
    let mut want: Vec<&str> = files.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(
        by_file.keys().copied().collect::<Vec<_>>(),
        want,
        "expected.jsonl must cover exactly these files (rerun scripts/make-fineweb-goldens.sh)"
    );
    let tagger = build("fineweb_quality_v1").expect("fineweb_quality_v1");
    let mut failures = Vec::new();
    let mut verdicts = BTreeMap::<&str, usize>::new();
    let mut worst = 0f64;
    for file in &files {
        let docs = documents(file);
        let exp = &by_file[file.as_str()];
        assert_eq!(docs.len(), exp.len(), "{file}: document count");
        for (doc, e) in docs.iter().zip(exp.iter()) {
            assert_eq!(doc.id, e.id, "{file}: document order");
            *verdicts.entry(e.verdict.as_str()).or_default() += 1;
            if let Err(msg) = check(tagger.as_ref(), doc, e) {
                failures.push(format!("{file} {}: {msg}", e.id));
            }
            if let Some(theirs) = e.ratios {
                let (p, s, d) = ratios(&doc.text);
                for (a, b) in [p, s, d].iter().zip(theirs) {
                    worst = worst.max((loam_pipeline::document::round5(*a) - b).abs());
                }
            }
        }
    }
    let compared: usize = verdicts.values().sum();
    println!("{compared} documents; datatrove verdicts {verdicts:?}; largest |tagged - datatrove| {worst:e}");
    assert!(
        failures.is_empty(),
        "{} of {compared} documents differ from datatrove:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(compared > 150, "compared only {compared}");
    // Every outcome of filter() occurs, so each rule and its comparison is exercised.
    for v in [
        "keep",
        "empty",
        "line_punct_ratio",
        "short_line_ratio",
        "char_dup_ratio",
        "list_ratio",
    ] {
        assert!(
            verdicts.contains_key(v),
            "no document with verdict {v}: {verdicts:?}"
        );
    }
}

#[test]
fn parameters_match_datatrove() {
    let path = fixtures().join("fineweb-sample/filter.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("filter.json");
    assert_eq!(v["datatrove"], "0.10.1");
    let stop: Vec<char> = v["stop_chars"]
        .as_array()
        .expect("stop_chars")
        .iter()
        .map(|c| {
            let hex = c
                .as_str()
                .and_then(|c| c.strip_prefix("U+"))
                .expect("U+XXXX");
            char::from_u32(u32::from_str_radix(hex, 16).expect("hex")).expect("code point")
        })
        .collect();
    assert_eq!(stop, TERMINAL_PUNCTUATION, "stop characters");
    assert_eq!(v["short_line_length"], SHORT_LINE_LENGTH as u64);
    assert_eq!(v["line_punct_thr"].as_f64(), Some(LINE_PUNCT_THR));
    assert_eq!(v["line_punct_exclude_zero"], false);
    assert_eq!(v["short_line_thr"].as_f64(), Some(SHORT_LINE_THR));
    assert_eq!(v["char_duplicates_ratio"].as_f64(), Some(CHAR_DUP_THR));
}
