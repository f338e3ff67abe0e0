//! The native fastText engine (`loam_filters::ftinfer`) against fastText's C++ code (the
//! `fasttext` crate): the same labels in the same order, probabilities within 1e-6 (in
//! practice equal), on every paragraph and whole text of a few hundred real documents, on
//! adversarial text, and on models trained here with every loss, quantized or not.
//!
//! The language-ID model is `$LOAM_MODELS_DIR/lid.176.ftz`, else the workspace's `models/`
//! (`scripts/fetch-models.sh`); without it those tests print why and pass.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fasttext::{Args, FastText, LossName, ModelName};
use flate2::read::GzDecoder;
use loam_filters::ftinfer::{Model, Prediction, Scratch};
use loam_filters::langid::{fasttext_input, FETCH_SCRIPT, MODELS_DIR_ENV, MODEL_FILE};
use loam_filters::pytext::split_paragraphs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const TOLERANCE: f32 = 1e-6;

/// The language-ID model; absent, the test fails unless `LOAM_SKIP_MODELS=1`.
fn lid_model() -> Option<PathBuf> {
    let p = match std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join(MODEL_FILE),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models")
            .join(MODEL_FILE),
    };
    if p.is_file() {
        Some(p)
    } else if std::env::var("LOAM_SKIP_MODELS").as_deref() == Ok("1") {
        println!(
            "SKIPPED: model {} is absent (LOAM_SKIP_MODELS=1)",
            p.display()
        );
        None
    } else {
        panic!(
            "model {} is absent: run {FETCH_SCRIPT}, or set LOAM_SKIP_MODELS=1 to skip",
            p.display()
        );
    }
}

/// Texts of the sample: each document whole, then each of its paragraphs.
fn sample_texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fasttext-sample/documents.jsonl.gz");
    let f = std::fs::File::open(&path).unwrap();
    let mut out = Vec::new();
    for line in BufReader::new(GzDecoder::new(f)).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let text = v["text"].as_str().unwrap().to_string();
        for p in split_paragraphs(&text, true) {
            out.push(p.text.to_string());
        }
        out.push(text);
    }
    out
}

/// Adversarial lines (raw: some are not preprocessed like dolma's).
fn adversarial() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "\n",
        " ",
        "   \t \r \x0b \x0c  ",
        "\u{3000}\u{00a0}\u{2028}",
        "a",
        "é",
        "<",
        ">",
        "<>",
        "</s>",
        "</s> after eos",
        "before </s> after",
        "__label__en",
        "__label__en hello world",
        "__label__xx__label__ word",
        "word\nsecond line is ignored",
        "\nleading newline",
        "trailing spaces   ",
        "tab\tseparated\twords",
        "carriage\rreturn",
        "English words, Русский текст, 中文字符, العربية, ελληνικά, עברית, हिन्दी, 日本語のテキスト",
        "🙂🙃 emoji 👩‍👩‍👧‍👦 family ZWJ \u{200d} \u{feff}",
        "combining e\u{301} a\u{308}\u{301}\u{302} and \u{fffd}\u{fffd}",
        "\u{10ffff}\u{e000} private use",
        "\x01\x02\x03\x1b[0m control \x7f chars",
        "supercalifragilisticexpialidociousantidisestablishmentarianism",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(100_000));
    v.push("日本".repeat(50_000));
    // A 10 MB line of varied words.
    let words = [
        "the", "quick", "brown", "Fuchs", "springt", "über", "le", "chien", "паук", "猫",
    ];
    let mut big = String::with_capacity(10_000_100);
    let mut i = 0usize;
    while big.len() < 10_000_000 {
        big.push_str(words[i % words.len()]);
        big.push_str(if i.is_multiple_of(7) { "  " } else { " " });
        i = i.wrapping_mul(31).wrapping_add(17) % 1_000_003;
    }
    v.push(big);
    v
}

struct Stats {
    lines: usize,
    max_diff: f32,
}

/// Compares one line; `line` is exactly what both engines see.
fn compare_line(
    cpp: &FastText,
    native: &Model,
    line: &str,
    k: i32,
    s: &mut Scratch,
    out: &mut Vec<Prediction>,
    stats: &mut Stats,
) {
    let theirs = cpp.predict(line, k, 0.0).unwrap();
    let kk = if k < 0 { None } else { Some(k as usize) };
    native.predict(line.as_bytes(), kk, 0.0, s, out);
    let short: String = line.chars().take(80).collect();
    assert_eq!(
        out.len(),
        theirs.len(),
        "k={k} {short:?}: {} predictions, fastText {}",
        out.len(),
        theirs.len()
    );
    for (a, b) in out.iter().zip(&theirs) {
        assert_eq!(native.labels()[a.label], b.label, "k={k} {short:?}");
        let d = (a.prob - b.prob).abs();
        assert!(d <= TOLERANCE, "k={k} {short:?}: {} vs {}", a.prob, b.prob);
        stats.max_diff = stats.max_diff.max(d);
    }
    // One label alone gives the value `k = -1` gives it.
    if k < 0 {
        for label in [0, native.labels().len() / 2, native.labels().len() - 1] {
            let want = theirs
                .iter()
                .find(|p| p.label == native.labels()[label])
                .map(|p| p.prob);
            let got = native.predict_label(line.as_bytes(), label, 0.0, s);
            match (got, want) {
                (Some(g), Some(w)) => {
                    assert!(
                        (g - w).abs() <= TOLERANCE,
                        "{short:?} label {label}: {g} vs {w}"
                    );
                    stats.max_diff = stats.max_diff.max((g - w).abs());
                }
                (None, None) => {}
                _ => panic!("{short:?} label {label}: {got:?} vs {want:?}"),
            }
        }
    }
    stats.lines += 1;
}

fn load_cpp(path: &Path) -> FastText {
    let mut ft = FastText::new();
    ft.load_model(path.to_str().unwrap()).unwrap();
    ft
}

#[test]
fn lid176_equals_fasttext_on_real_paragraphs() {
    let Some(path) = lid_model() else { return };
    let cpp = load_cpp(&path);
    let native = Model::load(&path).unwrap();
    assert_eq!(native.labels().len(), 176);
    let (mut s, mut out) = (Scratch::default(), Vec::new());
    let mut stats = Stats {
        lines: 0,
        max_diff: 0.0,
    };
    let texts = sample_texts();
    assert!(texts.len() > 1000, "{} texts", texts.len());
    for t in &texts {
        let line = fasttext_input(t);
        for k in [-1, 1, 3] {
            compare_line(&cpp, &native, &line, k, &mut s, &mut out, &mut stats);
        }
    }
    println!(
        "lid.176: {} texts x (k=-1, 1, 3), max |p - fastText| = {:e}",
        texts.len(),
        stats.max_diff
    );
}

#[test]
fn lid176_equals_fasttext_on_adversarial_text() {
    let Some(path) = lid_model() else { return };
    let cpp = load_cpp(&path);
    let native = Model::load(&path).unwrap();
    let (mut s, mut out) = (Scratch::default(), Vec::new());
    let mut stats = Stats {
        lines: 0,
        max_diff: 0.0,
    };
    for t in adversarial() {
        // Raw, as a caller could pass it, and as the taggers preprocess it.
        for line in [t.clone(), format!("{t}\n"), fasttext_input(&t)] {
            for k in [-1, 1, 2] {
                compare_line(&cpp, &native, &line, k, &mut s, &mut out, &mut stats);
            }
        }
    }
    println!(
        "adversarial: {} comparisons, max |p - fastText| = {:e}",
        stats.lines, stats.max_diff
    );
}

/// Trains a small model with `loss` on the sample, optionally quantized. Labels: whether the
/// first letter is ASCII (a made-up but learnable task), or, with `qout` (which needs at
/// least 256 output rows), 300 labels in turn and a quantized output matrix too.
fn train(
    dir: &Path,
    loss: LossName,
    ngrams: i32,
    (quantize, qout): (bool, bool),
    name: &str,
) -> PathBuf {
    let input = dir.join(format!("{name}.txt"));
    let mut data = String::new();
    for (i, t) in sample_texts().iter().enumerate().take(3000) {
        let line = fasttext_input(t);
        let label = match line.chars().find(|c| c.is_alphabetic()) {
            _ if qout => format!("l{}", i % 300),
            Some(c) if c.is_ascii() => ["ascii", "a2", "a3"][i % 3].to_string(),
            Some(_) => "other".to_string(),
            None => "none".to_string(),
        };
        data.push_str(&format!("__label__{label} {line}"));
    }
    std::fs::write(&input, data).unwrap();
    let mut args = Args::new();
    args.set_input(input.to_str().unwrap()).unwrap();
    args.set_model(ModelName::SUP);
    args.set_loss(loss);
    args.set_epoch(3);
    args.set_dim(10);
    args.set_word_ngrams(ngrams);
    args.set_bucket(50_000);
    args.set_minn(2);
    args.set_maxn(4);
    args.set_thread(1);
    args.set_verbose(0);
    let mut ft = FastText::new();
    ft.train(&args).unwrap();
    if quantize {
        let mut q = Args::new();
        q.set_qnorm(true);
        q.set_qout(qout);
        q.set_cutoff(2000);
        q.set_retrain(false);
        q.set_dsub(2);
        ft.quantize(&q).unwrap();
    }
    let out = dir.join(format!("{name}.{}", if quantize { "ftz" } else { "bin" }));
    ft.save_model(out.to_str().unwrap()).unwrap();
    out
}

#[test]
fn trained_models_equal_fasttext_for_every_loss() {
    let dir = tempfile::tempdir().unwrap();
    let texts = sample_texts();
    let mut extra = adversarial();
    extra.truncate(extra.len() - 1); // the 10 MB line is covered above
    for (loss, lname) in [
        (LossName::SOFTMAX, "softmax"),
        (LossName::HS, "hs"),
        (LossName::OVA, "ova"),
        (LossName::NS, "ns"),
    ] {
        for (ngrams, quant) in [
            (2, (false, false)),
            (1, (true, false)),
            (2, (true, false)),
            (2, (true, true)),
        ] {
            let name = format!("{lname}-{ngrams}-{quant:?}");
            let path = train(dir.path(), loss, ngrams, quant, &name);
            let cpp = load_cpp(&path);
            let native = Model::load(&path).unwrap();
            let (mut s, mut out) = (Scratch::default(), Vec::new());
            let mut stats = Stats {
                lines: 0,
                max_diff: 0.0,
            };
            for t in texts.iter().step_by(3).chain(&extra) {
                let line = fasttext_input(t);
                for k in [-1, 1, 2] {
                    compare_line(&cpp, &native, &line, k, &mut s, &mut out, &mut stats);
                }
            }
            println!(
                "{name}: {} comparisons, max |p - fastText| = {:e}",
                stats.lines, stats.max_diff
            );
        }
    }
}

#[test]
fn truncated_and_corrupt_models_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = train(dir.path(), LossName::HS, 2, (true, false), "small");
    let bytes = std::fs::read(&path).unwrap();
    assert!(Model::from_bytes(&bytes).is_ok());
    // Every prefix is an error, never a panic; so is every single flipped byte in the header
    // and dictionary parts (or a model that still predicts).
    for len in (0..bytes.len()).step_by(bytes.len() / 2000 + 1) {
        assert!(Model::from_bytes(&bytes[..len]).is_err(), "prefix {len}");
    }
    let mut s = Scratch::default();
    let mut out = Vec::new();
    for i in (0..bytes.len().min(4000)).step_by(3) {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= x;
            if let Ok(m) = Model::from_bytes(&b) {
                m.predict(b"some text here\n", None, 0.0, &mut s, &mut out);
            }
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Model::from_bytes(&longer).is_err());
    let err = Model::load(&dir.path().join("absent.ftz")).unwrap_err();
    assert!(err.to_string().contains("absent.ftz"), "{err}");
}

/// `loam train-classifier`'s models (trained by fastText's C++ code), used as a tagger on the
/// native engine: every label's probability equals fastText's, plain and quantized.
#[cfg(feature = "train")]
#[test]
fn train_classifier_models_tag_like_fasttext() {
    use loam_filters::classifier::{train, FastTextClassifier, Granularity, TrainOptions};
    use loam_pipeline::document::{Document, Span};
    use loam_pipeline::tagger::{Signals, Tagger};
    let dir = tempfile::tempdir().unwrap();
    let texts = sample_texts();
    let input = dir.path().join("train.jsonl");
    let mut lines = String::new();
    for (i, t) in texts.iter().enumerate().step_by(4) {
        let label = if t.is_ascii() { "ascii" } else { "other" };
        let labels = if i % 5 == 0 {
            vec![label, "fifth"]
        } else {
            vec![label]
        };
        lines.push_str(&serde_json::json!({"text": t, "label": labels}).to_string());
        lines.push('\n');
    }
    std::fs::write(&input, lines).unwrap();
    for quantize in [false, true] {
        let out = dir.path().join(format!("model-{quantize}.bin"));
        let opts = TrainOptions {
            epoch: 2,
            dim: 16,
            bucket: 20_000,
            quantize,
            ..TrainOptions::default()
        };
        train(std::slice::from_ref(&input), &out, &opts).unwrap();
        let cpp = load_cpp(&out);
        let tagger = FastTextClassifier::new("q", &out, Granularity::Document).unwrap();
        let mut signals = Signals::default();
        let mut n = 0;
        for t in texts.iter().step_by(7) {
            signals.clear();
            tagger
                .tag(&Document::new("d", t.as_str()), &mut signals)
                .unwrap();
            let theirs = cpp.predict(&fasttext_input(t), -1, 0.0).unwrap();
            let ours: Vec<(String, f64)> = signals
                .iter()
                .map(|(k, v)| (k.clone(), v[0].score))
                .collect();
            let want: Vec<(String, f64)> = theirs
                .iter()
                .map(|p| {
                    let l = p.label.replace("__label__", "");
                    (l, Span::new(0, 0, f64::from(p.prob)).score)
                })
                .collect();
            assert_eq!(ours, want, "{}", t.chars().take(60).collect::<String>());
            n += 1;
        }
        println!("train-classifier quantize={quantize}: {n} documents tagged as fastText");
    }
}
