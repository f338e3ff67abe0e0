//! Exactness of the fast byte-level BPE: `FastBpe` must give the ids of `tokenizers` 0.19.1
//! `encode(text, false)` (what dolma writes) on real documents in many languages and on
//! adversarial strings, for the tokenizer shapes it accepts, and decline the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_tokens::fastbpe::FastBpe;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/tokens")
        .join(name)
}

fn tokenizer_json(name: &str) -> String {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(fixture(&format!("{name}.json.gz"))).unwrap(),
    )
    .read_to_string(&mut s)
    .unwrap();
    s
}

/// The `text` of every fixture document (and of the bundled quickstart sample), raw and
/// stripped.
fn documents() -> Vec<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        fixture("documents"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/documents"),
    ] {
        files.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
    }
    files.sort();
    let mut texts = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".gz"))
    {
        let reader = BufReader::new(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(f).unwrap(),
        ));
        for line in reader.lines() {
            let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
            let t = v["text"].as_str().unwrap().to_string();
            texts.push(t.trim().to_string());
            texts.push(t);
        }
    }
    assert!(texts.len() > 200, "{} texts", texts.len());
    texts
}

fn sample_corpus(_per_file: usize) -> Vec<String> {
    let mut t = adversarial();
    t.extend(documents());
    t
}

fn neo_json() -> Value {
    serde_json::from_str(&tokenizer_json("gpt-neo-test-tokenizer")).unwrap()
}

fn check(name: &str, json: &str, texts: &[String]) {
    let (hf, fast) = load_pair(json);
    assert_eq!(compare(name, &hf, &fast, texts), 0, "{name}: mismatches");
}

#[test]
fn gpt_neo_full_corpus() {
    let json = tokenizer_json("gpt-neo-test-tokenizer");
    let mut texts = adversarial();
    texts.extend(documents());
    check("gpt-neo", &json, &texts);
}

#[test]
fn cl100k_style_full_corpus() {
    let json = tokenizer_json("cl100k-style-tokenizer");
    let mut texts = adversarial();
    texts.extend(documents());
    check("cl100k-style", &json, &texts);
}

#[test]
fn llama_sentencepiece_is_unsupported() {
    let json = tokenizer_json("llama-test-tokenizer");
    assert!(FastBpe::from_json(&json).unwrap().is_none());
}

#[test]
fn unsupported_shapes_return_none() {
    let base = neo_json();
    let mut cases = Vec::new();
    let mut v = base.clone();
    v["normalizer"] = json!({"type": "Lowercase"});
    cases.push(v);
    let mut v = base.clone();
    v["model"]["dropout"] = json!(0.1);
    cases.push(v);
    let mut v = base.clone();
    v["model"]["byte_fallback"] = json!(true);
    cases.push(v);
    let mut v = base.clone();
    v["truncation"] =
        json!({"max_length": 5, "strategy": "LongestFirst", "stride": 0, "direction": "Right"});
    cases.push(v);
    let mut v = base.clone();
    v["added_tokens"][1]["single_word"] = json!(true);
    cases.push(v);
    let mut v = base.clone();
    v["pre_tokenizer"] = json!({"type": "Whitespace"});
    cases.push(v);
    let mut v = base.clone();
    v["pre_tokenizer"] = Value::Null;
    cases.push(v);
    for c in cases {
        assert!(
            FastBpe::from_json(&c.to_string()).unwrap().is_none(),
            "{c:?}"
        );
    }
    assert!(FastBpe::from_json("{not json").is_err());
}

/// Variants of the GPT-NeoX file exercise options the shipped files do not use.
#[test]
fn gpt_neo_variants() {
    let texts = sample_corpus(120);
    let base = neo_json();

    let mut v = base.clone();
    v["pre_tokenizer"]["add_prefix_space"] = json!(true);
    check("add_prefix_space", &v.to_string(), &texts);

    let mut v = base.clone();
    v["model"]["ignore_merges"] = json!(true);
    check("ignore_merges", &v.to_string(), &texts);

    let mut v = base.clone();
    v["normalizer"] = Value::Null;
    check("no-normalizer", &v.to_string(), &texts);

    let mut v = base.clone();
    v["normalizer"] = json!({"type": "NFKC"});
    check("nfkc", &v.to_string(), &texts);

    let mut v = base.clone();
    v["normalizer"] =
        json!({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "NFKD"}]});
    check("nfd-nfkd", &v.to_string(), &texts);

    // lstrip/rstrip on a raw and a normalized token, plus extra added tokens.
    let mut v = base.clone();
    let added = v["added_tokens"].as_array_mut().unwrap();
    for t in added.iter_mut() {
        if t["content"] == "<|endoftext|>" {
            t["lstrip"] = json!(true);
        }
        if t["content"] == "<|padding|>" {
            t["rstrip"] = json!(true);
        }
        if t["content"] == "|||IP_ADDRESS|||" {
            t["lstrip"] = json!(true);
            t["rstrip"] = json!(true);
        }
    }
    added.push(json!({"id": 50277, "content": "e\u{301}x", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}));
    added.push(json!({"id": 50278, "content": "the", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}));
    added.push(json!({"id": 50279, "content": "ing ", "single_word": false, "lstrip": true, "rstrip": false, "normalized": true, "special": false}));
    let mut t2 = texts.clone();
    t2.push("ABC <|endoftext|>  \t<|padding|>   x  |||IP_ADDRESS|||  z".into());
    t2.push("éx e\u{301}x the thing  ing  ".into());
    check("strip-flags", &v.to_string(), &t2);

    // Split behaviours before a regex ByteLevel.
    for behavior in [
        "Removed",
        "Isolated",
        "MergedWithPrevious",
        "MergedWithNext",
        "Contiguous",
    ] {
        for invert in [false, true] {
            for pattern in [
                json!({"Regex": "\\s+"}),
                json!({"String": "e"}),
                json!({"Regex": "x*"}),
            ] {
                let mut v = base.clone();
                let bl = v["pre_tokenizer"].clone();
                v["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [
                    {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert}, bl]});
                let name = format!("split-{behavior}-{invert}-{pattern}");
                check(&name, &v.to_string(), &texts[..texts.len().min(400)]);
            }
        }
    }
}

/// Several threads encoding with one shared instance give the single-thread ids.
#[test]
fn shared_across_threads() {
    let json = tokenizer_json("gpt-neo-test-tokenizer");
    let (hf, fast) = load_pair(&json);
    let texts = sample_corpus(40);
    let want: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| hf.encode(t.as_str(), false).unwrap().get_ids().to_vec())
        .collect();
    std::thread::scope(|s| {
        for k in 0..3 {
            let (fast, texts, want) = (&fast, &texts, &want);
            s.spawn(move || {
                let mut out = Vec::new();
                for (i, t) in texts.iter().enumerate().skip(k) {
                    out.clear();
                    fast.encode(t, &mut out);
                    assert_eq!(out, want[i], "thread {k} text {i}");
                }
            });
        }
    });
}

pub fn adversarial() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        " \t \n ",
        "\r\n",
        "a\r\nb\r\n",
        "\0",
        "a\0b",
        "<|endoftext|>",
        " <|endoftext|>",
        "<|endoftext|> ",
        "a<|endoftext|>b",
        "<|endoftext|><|endoftext|>",
        "<|endoftext|",
        "|endoftext|>",
        "<|padding|>x",
        "x |||IP_ADDRESS||| y",
        "|||IP_ADDRESS|||",
        "it's",
        "IT'S",
        "it’s",
        "it'S",
        "'s",
        "''s",
        "they'll've",
        "I'm",
        "'d'd'd",
        "1234567890",
        "3.14159",
        "१२३",
        "٣٤٥",
        "Ⅻ",
        "½",
        "😀😃😄",
        "👨‍👩‍👧‍👦",
        "🏳️‍🌈",
        "日本語のテキスト",
        "中文文本测试",
        "한국어 텍스트",
        "עברית טקסט",
        "العربية نص",
        "Ελληνικά",
        "Русский текст",
        "ไทย",
        "हिन्दी",
        "e\u{301}",
        "Å",
        "A\u{30A}",
        "\u{212B}",
        "ﬁ",
        "Ｆｕｌｌ",
        "ḱṷṓn",
        "\u{1100}\u{1161}\u{11A8}",
        "a\u{301}\u{302}\u{303}",
        "\u{301}",
        " \u{301}",
        "[MASKED]",
        "x [MASKED] y",
        "xyzzy plugh",
        "axyzzy plughb",
        "   leading",
        "trailing   ",
        "  both  ",
        "a  b   c    d",
        "a \u{a0} b",
        "\u{3000}x\u{3000}",
        "\u{2028}\u{2029}\u{85}",
        "\u{feff}bom",
        "\u{200b}zw",
        "ﷺ",
        "\u{fdfa}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(10_000));
    v.push("x".repeat(10_001) + " y");
    v.push("é".repeat(5_000));
    v.push("語".repeat(4_000));
    v.push("1".repeat(9_999));
    v.push(" ".repeat(10_000));
    v.push("ab".repeat(5_000));
    v.push("!?".repeat(3_000));
    v.push("\n".repeat(1_000) + "x");
    v.push("😀".repeat(2_500));
    let ws: String = (0..40).map(|i| " ".repeat(i) + "w").collect();
    v.push(ws);
    v
}

/// Compares both engines on every text (raw and trimmed); returns mismatch count.
pub fn compare(name: &str, hf: &Tokenizer, fast: &FastBpe, texts: &[String]) -> usize {
    let mut mismatches = 0;
    let mut compared = 0;
    let mut out = Vec::new();
    for t in texts {
        let trimmed = t.trim();
        let variants: &[&str] = if trimmed.len() == t.len() {
            &[t.as_str()]
        } else {
            &[t.as_str(), trimmed]
        };
        for s in variants {
            let want = hf.encode(*s, false).unwrap().get_ids().to_vec();
            out.clear();
            fast.encode(s, &mut out);
            compared += 1;
            if out != want {
                mismatches += 1;
                if mismatches <= 5 {
                    let first = want
                        .iter()
                        .zip(&out)
                        .position(|(a, b)| a != b)
                        .unwrap_or(want.len().min(out.len()));
                    let lo = first.saturating_sub(3);
                    eprintln!(
                        "[{name}] MISMATCH at token {first}: hf={:?} fast={:?} text={:?}",
                        &want[lo..(first + 5).min(want.len())],
                        &out[lo..(first + 5).min(out.len())],
                        s.chars().take(200).collect::<String>()
                    );
                }
            }
        }
    }
    eprintln!(
        "[{name}] compared {compared} strings ({} texts), mismatches {mismatches}",
        texts.len()
    );
    mismatches
}

pub fn load_pair(json: &str) -> (Tokenizer, FastBpe) {
    let hf: Tokenizer = json.parse().unwrap();
    let fast = FastBpe::from_json(json)
        .unwrap()
        .expect("tokenizer should be supported");
    (hf, fast)
}

/// The vocabulary size the fast path reads from the file (no `tokenizers` instance built) is
/// `tokenizers`' own `get_vocab_size(true)`, and a query-time load decodes like a full one.
#[test]
fn vocab_size_from_the_file_is_the_libraries_and_lazy_loads_decode_alike() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "gpt-neo-test-tokenizer",
        "cl100k-style-tokenizer",
        "llama-test-tokenizer",
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, tokenizer_json(name)).unwrap();
        let hf = Tokenizer::from_file(&path).unwrap();
        let spec = loam_tokens::TokenizerSpec {
            name_or_path: path.to_string_lossy().into_owned(),
            bos: None,
            eos: Some(0),
            segment: false,
            encode_special_tokens: false,
        };
        let eager = loam_tokens::Tokenizer::load(&spec).unwrap();
        let lazy = loam_tokens::Tokenizer::load_for_queries(&spec).unwrap();
        let want = hf.get_vocab_size(true) as u64;
        assert_eq!(eager.vocab_size, want, "{name}");
        assert_eq!(lazy.vocab_size, want, "{name}");
        let mut ids = Vec::new();
        eager
            .encode_ordinary("It was the best of times, Ünïcödé", &mut ids)
            .unwrap();
        assert_eq!(eager.decode(&ids).unwrap(), lazy.decode(&ids).unwrap());
    }
}
