use super::*;
use crate::testutil::spans;
use serde_json::json;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/datamap")
}

fn step(name: &str, label: &str, kwargs: Value) -> StepSpec {
    serde_json::from_value(json!({"name": name, "label": label, "kwargs": kwargs})).unwrap()
}

fn tagger(steps: &[StepSpec], bugs: DatamapBugs) -> DatamapV1 {
    DatamapV1::new(steps, bugs, "tagger_options.datamap_v1").unwrap()
}

fn run(t: &DatamapV1, text: &str) -> Signals {
    crate::testutil::run(t, text)
}

/// The line signals of `steps`: `(<label>, "")` and `(<label>_space, " ")`.
fn line_signals(steps: &[StepSpec]) -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    for s in steps.iter().filter(|s| s.name.is_modifier()) {
        v.push((s.label.clone(), ""));
        v.push((format!("{}{SPACE_SUFFIX}", s.label), " "));
    }
    v
}

/// What the mix makes of a document: `None` when `kept` is 0, else the text with the line
/// signals' spans replaced (spans must not overlap).
fn apply_signals(text: &str, s: &Signals, lines: &[(String, &'static str)]) -> Option<String> {
    let kept = spans(s, KEPT);
    assert_eq!(kept.len(), 1);
    if kept[0].2 < 1.0 {
        return None;
    }
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    for (name, rep) in lines {
        for (a, b, score) in spans(s, name) {
            assert_eq!(score, 1.0);
            edits.push((a, b, rep));
        }
    }
    edits.sort();
    for w in edits.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping spans {w:?}");
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    for (a, b, rep) in edits {
        assert!(a < b && b <= chars.len());
        out.extend(&chars[pos..a]);
        out.push_str(rep);
        pos = b;
    }
    out.extend(&chars[pos..]);
    Some(out)
}

/// loam's steps for a datamap-rs config: labels `s00`, `s01`, …, and the kwargs datamap-rs
/// ignores left out (it ran without them).
fn steps_of(datamap_config: &Path) -> Vec<StepSpec> {
    let v = loam_pipeline::config::read_value(datamap_config).unwrap();
    v["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut kw = s.get("kwargs").cloned().unwrap_or_else(|| json!({}));
            let m = kw.as_object_mut().unwrap();
            m.remove("regex_string");
            m.remove("max_length");
            // List and model files are relative to the fixtures folder (datamap-rs ran there).
            for key in ["banlist_file", "fast_text_file"] {
                if let Some(f) = m.get(key).and_then(Value::as_str) {
                    let abs = fixtures().join(f).to_string_lossy().into_owned();
                    m.insert(key.into(), json!(abs));
                }
            }
            // The golden script's unzipped test tokenizer: loam reads the fixture's .json.gz.
            if m.get("tokenizer_path").and_then(Value::as_str)
                == Some("$LOAM_GOLDEN_WORK/gpt-neo.json")
            {
                let tok = fixtures().join("../tokens/gpt-neo-test-tokenizer.json.gz");
                m.insert("tokenizer_path".into(), json!(tok.to_string_lossy()));
            }
            step(s["name"].as_str().unwrap(), &format!("s{i:02}"), kw)
        })
        .collect()
}

fn read_jsonl_gz(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
        &mut text,
    )
    .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn golden(name: &str) -> (usize, usize) {
    let dir = fixtures();
    let steps = steps_of(&dir.join(format!("configs/{name}.datamap.yaml")));
    let lines = line_signals(&steps);
    let t = tagger(&steps, DatamapBugs::all());
    let docs_dir = Some(dir.join(format!("documents-{name}")))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| dir.join("documents"));
    let mut files: Vec<_> = std::fs::read_dir(&docs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let (mut docs, mut kept, mut bad) = (0, 0, Vec::new());
    for f in files {
        let input = read_jsonl_gz(&docs_dir.join(&f));
        let expected = read_jsonl_gz(&dir.join(format!("expected/{name}")).join(&f));
        assert_eq!(input.len(), expected.len(), "{f}");
        for (i, (d, e)) in input.iter().zip(&expected).enumerate() {
            let text = d["text"].as_str().unwrap();
            let doc = Document::from_json(&d.to_string()).unwrap();
            let mut s = Signals::default();
            t.tag(&doc, &mut s).unwrap();
            // The step that dropped the document wrote why: a URL filter's nonzero value.
            if let Some(k) = e["step"].as_u64() {
                let k = k as usize;
                // A document filter that drops is the last filter with a value.
                if !steps[k].name.is_modifier() {
                    let last = steps.iter().rposition(|st| {
                        !st.name.is_modifier() && s.iter().any(|(name, _)| *name == st.label)
                    });
                    assert_eq!(last, Some(k), "{f}:{i}: dropped by step {k}");
                }
                if steps[k].name == StepName::UrlSubstringFilter {
                    let v = spans(&s, &steps[k].label);
                    assert!(v.len() == 1 && v[0].2 != 0.0, "{f}:{i}: step {k}: {v:?}");
                }
            }
            let got = apply_signals(text, &s, &lines);
            let want = (e["step"] == "final").then(|| e["text"].as_str().unwrap().to_string());
            docs += 1;
            kept += usize::from(want.is_some());
            if got != want {
                bad.push(format!(
                    "{f}:{i} ({}): expected {:?}, got {:?}",
                    d["id"],
                    want.as_deref()
                        .map(|w| w.chars().take(300).collect::<String>()),
                    got.as_deref()
                        .map(|w| w.chars().take(300).collect::<String>())
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {docs} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(5)].join("\n")
    );
    (docs, kept)
}

/// `url_substring_filter` in every mode, on real Common Crawl URLs and edge cases, with
/// datamap-rs's behaviours: the same documents kept, each dropped by the same step (three
/// that datamap-rs fails on — no host in a host mode — dropped too).
#[test]
fn url_filters_give_datamap_rs_verdicts() {
    let (docs, kept) = golden("urls");
    assert_eq!((docs, kept), (241, 106));
}

/// Dolma 3's line cleaning (datamap-rs's own config) on 302 real and edge documents gives
/// datamap-rs's texts exactly.
#[test]
fn dolma3_steps_give_datamap_rs_texts() {
    let (docs, kept) = golden("dolma3");
    assert_eq!((docs, kept), (302, 75));
}

/// Every kwarg of every ported step gives datamap-rs's texts exactly.
#[test]
fn every_kwarg_gives_datamap_rs_texts() {
    let (docs, kept) = golden("kwargs");
    assert_eq!((docs, kept), (302, 259));
}

/// With datamap-rs's byte counts off, the character definitions change some documents of the
/// sample (non-Latin pages): the switches matter on real data.
#[test]
fn character_definitions_differ_from_datamap_rs_bytes_on_real_pages() {
    let dir = fixtures();
    let steps = steps_of(&dir.join("configs/dolma3.datamap.yaml"));
    let lines = line_signals(&steps);
    let right = tagger(&steps, DatamapBugs::default());
    let bytes = tagger(&steps, DatamapBugs::all());
    let docs = read_jsonl_gz(&dir.join("documents/cc2019.jsonl.gz"));
    let differ = docs
        .iter()
        .filter(|d| {
            let t = d["text"].as_str().unwrap();
            apply_signals(t, &run(&right, t), &lines) != apply_signals(t, &run(&bytes, t), &lines)
        })
        .count();
    assert!(differ > 0 && differ < docs.len() / 2, "{differ}");
}

#[test]
fn later_steps_see_earlier_edits_and_spans_are_in_original_code_points() {
    let steps = [
        step(
            "substring_line_modifier",
            "cart",
            json!({"banlist": "items in cart"}),
        ),
        step(
            "ratio_line_modifier",
            "upper",
            json!({"upper_bound": 0.5, "check": "uppercase"}),
        ),
        step(
            "newline_removal_modifier",
            "nl",
            json!({"max_consecutive": 1}),
        ),
    ];
    let t = tagger(&steps, DatamapBugs::default());
    let lines = line_signals(&steps);
    // "é" is two bytes: offsets must be code points. The `\r` and the final `\n` go
    // (`str::lines`); " items in cart " becomes a space, then its line is removed whole by the
    // upper-case step, whose span absorbs the replacement; the newline run loses two.
    let text = "é un\r\nAB items in cart CD\n\n\nfin items in cart\n";
    let s = run(&t, text);
    assert_eq!(spans(&s, "cart"), vec![(4, 5, 1.0), (45, 46, 1.0)]);
    assert_eq!(spans(&s, "cart_space"), vec![(31, 45, 1.0)]);
    assert_eq!(spans(&s, "upper"), vec![(6, 26, 1.0)]);
    assert_eq!(spans(&s, "nl"), vec![(26, 28, 1.0)]);
    assert_eq!(apply_signals(text, &s, &lines).unwrap(), "é un\nfin ");
    // Kept lines keep their replacements.
    let text = "ok items in cart ok\nx";
    let s = run(&t, text);
    assert_eq!(spans(&s, "cart_space"), vec![(2, 17, 1.0)]);
    assert_eq!(apply_signals(text, &s, &lines).unwrap(), "ok ok\nx");
}

#[test]
fn filters_report_their_values_and_kept() {
    let steps = [
        step("word_count_adder", "wc", json!({})),
        step("line_len_modifier", "short", json!({"lower_bound": 3})),
        step(
            "word_removal_ratio_filter",
            "removed",
            json!({"upper_bound": 0.5}),
        ),
        step(
            "page_len_filter",
            "words",
            json!({"length_type": "word", "lower_bound": 4}),
        ),
        step("word_len_filter", "mean", json!({"upper_bound": 4.0})),
    ];
    let t = tagger(&steps, DatamapBugs::default());
    let s = run(&t, "one two three four\nfive six");
    assert_eq!(spans(&s, "wc"), vec![(0, 27, 6.0)]);
    assert_eq!(spans(&s, "short"), vec![(18, 27, 1.0)]);
    assert_eq!(spans(&s, "removed"), vec![(0, 27, 0.33333)]);
    assert_eq!(spans(&s, "words"), vec![(0, 27, 4.0)]);
    assert_eq!(spans(&s, "mean"), vec![(0, 27, 3.75)]);
    assert_eq!(spans(&s, KEPT), vec![(0, 27, 1.0)]);
    // A failing filter stops the steps after it.
    let s = run(&t, "one two three\nfive six");
    assert_eq!(spans(&s, "words"), vec![(0, 22, 3.0)]);
    assert_eq!(spans(&s, "mean"), vec![]);
    assert_eq!(spans(&s, KEPT), vec![(0, 22, 0.0)]);
    // Nothing but short lines: line_len_modifier drops the document.
    let s = run(&t, "a b\n\nc");
    assert_eq!(spans(&s, KEPT), vec![(0, 6, 0.0)]);
}

#[test]
fn datamap_bugs_count_bytes_where_datamap_rs_does() {
    // A Greek capitals line: 0.5 of its characters are upper case, far less of its bytes.
    let up = [step(
        "ratio_line_modifier",
        "up",
        json!({"upper_bound": 0.4, "check": "uppercase"}),
    )];
    let text = "ΑΒΓ δεζ\nkeep";
    assert_eq!(
        spans(&run(&tagger(&up, DatamapBugs::default()), text), "up"),
        vec![(0, 8, 1.0)]
    );
    let bugs = DatamapBugs {
        ratio_bytes: true,
        ..DatamapBugs::default()
    };
    assert_eq!(spans(&run(&tagger(&up, bugs), text), "up"), vec![]);
    // Mean word length: 3 characters, 6 bytes.
    let wl = [step("word_len_filter", "wl", json!({"upper_bound": 5.0}))];
    let text = "αβγ δεζ";
    assert_eq!(
        spans(&run(&tagger(&wl, DatamapBugs::default()), text), KEPT)[0].2,
        1.0
    );
    let bugs = DatamapBugs {
        word_len_bytes: true,
        ..DatamapBugs::default()
    };
    assert_eq!(spans(&run(&tagger(&wl, bugs), text), KEPT)[0].2, 0.0);
    // More words after an edit than before: datamap-rs's unsigned difference wraps.
    let rr = [
        step("word_count_adder", "wc", json!({})),
        step("substring_line_modifier", "x", json!({"banlist": "Q"})),
        step(
            "word_removal_ratio_filter",
            "r",
            json!({"upper_bound": 0.05}),
        ),
    ];
    let text = "aQb cQd efg";
    let s = run(&tagger(&rr, DatamapBugs::default()), text);
    assert_eq!(spans(&s, "r")[0].2, -0.66667);
    assert_eq!(spans(&s, KEPT)[0].2, 1.0);
    let bugs = DatamapBugs {
        removal_ratio_unsigned: true,
        ..DatamapBugs::default()
    };
    assert_eq!(spans(&run(&tagger(&rr, bugs), text), KEPT)[0].2, 0.0);
}

fn problems(steps: Value) -> Vec<String> {
    let steps: Vec<StepSpec> = serde_json::from_value(steps).unwrap();
    match DatamapV1::new(&steps, DatamapBugs::default(), "tagger_options.datamap_v1") {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn config_problems_name_their_field() {
    let p = problems(json!([
        {"name": "regex_line_modifier", "label": "a", "kwargs": {"regex_string": "x"}},
        {"name": "substring_line_modifier", "label": "b", "kwargs": {"banlist": "x", "max_length": 10}},
        {"name": "ratio_line_modifier", "label": "c", "kwargs": {"upper_bound": "high"}},
        {"name": "page_len_filter", "label": "d", "kwargs": {"length_type": "char", "lower_bound": 1.5}},
        {"name": "word_removal_ratio_filter", "label": "e"},
        {"name": "substring_line_modifier", "label": "f", "kwargs": {"banlist": "a*"}},
        {"name": "line_len_modifier", "label": "a"},
        {"name": "line_len_modifier", "label": "g__h"},
        {"name": "newline_removal_modifier", "label": "b_space"},
        {"name": "regex_line_modifier", "label": "i", "kwargs": {"regex": "("}},
    ]));
    let at = |i: usize, rest: &str| format!("tagger_options.datamap_v1.steps[{i}].{rest}");
    for (want, why) in [
        (at(0, "kwargs.regex_string"), "reads `regex`"),
        (at(1, "kwargs.max_length"), "reads `max_len`"),
        (at(2, "kwargs.upper_bound"), "invalid type"),
        (at(3, "kwargs.lower_bound"), "invalid type"),
        (
            at(4, "kwargs.word_count_field"),
            "no earlier `word_count_adder`",
        ),
        (at(5, "kwargs.banlist"), "empty string"),
        (at(6, "label"), "already writes"),
        (at(7, "label"), "without `__`"),
        (at(8, "label"), "already writes"),
        (at(9, "kwargs.regex"), "not a valid regex"),
    ] {
        assert!(
            p.iter()
                .any(|m| m.starts_with(&format!("{want}:")) && m.contains(why)),
            "{want} ({why}) not in {p:#?}"
        );
    }
    assert!(problems(json!([])).iter().any(|m| m.contains("no steps")));
    let p = problems(
        json!([{"name": "ratio_line_modifier", "label": "c", "kwargs": {"upper_bound": 0.5}}]),
    );
    assert_eq!(
        p,
        ["tagger_options.datamap_v1.steps[0].kwargs.check: missing required field `check`"]
    );
    assert!(serde_json::from_value::<StepSpec>(json!({"name": "x", "label": "y"})).is_err());
}

#[test]
fn awkward_texts_do_not_panic() {
    let steps = steps_of(&fixtures().join("configs/kwargs.datamap.yaml"));
    let lines = line_signals(&steps);
    for bugs in [DatamapBugs::default(), DatamapBugs::all()] {
        let t = tagger(&steps, bugs);
        for text in crate::testutil::bad_inputs() {
            let s = run(&t, &text);
            let _ = apply_signals(&text, &s, &lines);
        }
    }
}

/// `madlad400_sentences_v1` keeps exactly the documents datamap-rs's MADLAD-400 annotator and
/// rule filter keep with Dolma 3's rules 2 and 5 (`sentences >= 5`,
/// `frac_list_case_or_cursed < 0.2`), with datamap-rs's own cursed list, on 302 real and edge
/// documents (rules 2 and 5 do not count lengths, so bytes and characters agree).
#[test]
fn madlad_rules_2_and_5_give_datamap_rs_verdicts() {
    let dir = fixtures();
    let t = crate::madlad::Madlad400Sentences::load(&dir.join("banlists/madlad400_cursed.txt.gz"))
        .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let (mut docs, mut kept, mut bad) = (0, 0, Vec::new());
    for f in files {
        let input = read_jsonl_gz(&dir.join("documents").join(&f));
        let expected = read_jsonl_gz(&dir.join("expected/madlad").join(&f));
        assert_eq!(input.len(), expected.len(), "{f}");
        for (i, (d, e)) in input.iter().zip(&expected).enumerate() {
            let s = crate::testutil::run(&t, d["text"].as_str().unwrap());
            let sentences = spans(&s, "sentences")[0].2;
            let frac = spans(&s, "frac_list_case_or_cursed")[0].2;
            let got = sentences >= 5.0 && frac < 0.2;
            let want = e["step"] == "final";
            docs += 1;
            kept += usize::from(want);
            if got != want {
                bad.push(format!(
                    "{f}:{i}: sentences {sentences}, frac {frac}, datamap-rs kept {want}"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {docs} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!((docs, kept), (302, 176));
}

/// datamap-rs's Gopher-style document filters (symbol, bullet, ellipsis, alphabetic-word,
/// stop-word, MassiveWeb repetition) on 302 real and edge documents: the same documents kept,
/// each dropped by the same step.
#[test]
fn document_filters_give_datamap_rs_verdicts() {
    let (docs, kept) = golden("filters");
    assert_eq!(docs, 302);
    assert!(kept > 30 && kept < docs / 2, "{kept}");
}

/// datamap-rs's annotators (`gzip_annotator`, `ultrafineweb_annotator` whole and cut,
/// `token_count_annotator` with cl100k and p50k, before and after an edit) write the values
/// datamap-rs writes, on 302 real and edge documents.
#[test]
fn annotators_give_datamap_rs_values() {
    let (docs, kept) = golden("annotators");
    assert_eq!((docs, kept), (302, 302));
    let dir = fixtures();
    let steps = steps_of(&dir.join("configs/annotators.datamap.yaml"));
    let t = tagger(&steps, DatamapBugs::all());
    let mut compared = 0;
    for f in ["cc2019", "edge", "trafilatura", "warc"] {
        let input = read_jsonl_gz(&dir.join(format!("documents/{f}.jsonl.gz")));
        let expected = read_jsonl_gz(&dir.join(format!("expected/annotators/{f}.jsonl.gz")));
        for (i, (d, e)) in input.iter().zip(&expected).enumerate() {
            let s = run(&t, d["text"].as_str().unwrap());
            for st in &steps {
                let field = ["anno_field", "output_field"]
                    .iter()
                    .find_map(|k| st.kwargs.get(*k).and_then(Value::as_str));
                let Some(field) = field else {
                    continue;
                };
                let key = field.strip_prefix("loam_anno.").unwrap();
                // loam writes scores rounded to 5 decimals.
                let round = loam_pipeline::document::round5;
                if let Some(classes) = e["anno"][key].as_object() {
                    // One signal per label: `<label>_<class>`.
                    for (class, p) in classes {
                        let class = class.strip_prefix("__label__").unwrap();
                        let signal = format!("{}_{class}", st.label);
                        let got = spans(&s, &signal).first().map(|v| v.2);
                        assert_eq!(got, p.as_f64().map(round), "{f}:{i} {key} {class}");
                    }
                } else {
                    let want = e["anno"][key].as_f64().map(round);
                    let got = spans(&s, &st.label).first().map(|v| v.2);
                    assert_eq!(got, want, "{f}:{i} {key}");
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 6 * 302);
}

/// `token_count_annotator` counts as datamap-rs's `encode_with_special_tokens`: a special
/// token in the text is one token (the ids of "hello world" in cl100k are [15339, 1917]).
#[test]
fn token_counts_encode_special_tokens() {
    use super::TiktokenName::{Cl100k, P50k};
    assert_eq!(Cl100k.count("hello world"), 2);
    assert_eq!(Cl100k.count("<|endoftext|>"), 1);
    assert_eq!(P50k.count("<|endoftext|>"), 1);
    assert_eq!(Cl100k.count(""), 0);
    let mut problems = Problems::default();
    let steps: Vec<StepSpec> = serde_json::from_value(serde_json::json!([
        {"name": "token_count_annotator", "label": "a", "kwargs": {"text_field": "body", "tokenizer_name": "cl100k", "output_field": "n"}},
        {"name": "token_count_annotator", "label": "b", "kwargs": {"text_field": "text", "tokenizer_name": "o200k", "output_field": "n"}}
    ]))
    .unwrap();
    check(Some(&steps), "t", &mut problems);
    let msgs: Vec<String> = problems.into_vec().iter().map(|p| p.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].contains("text_field") && msgs[0].contains("only `text`"),
        "{msgs:?}"
    );
    assert!(msgs[1].contains("tokenizer_name"), "{msgs:?}");
}

/// MADLAD-400's rule 1 (document consistency): `madlad400_sentences_v1` with the option
/// `model` flags exactly the sentences datamap-rs's MADLAD annotator flags, with the document
/// language written by datamap-rs's `fasttext_annotator` (lid.176.ftz, k = 1; loam's top label
/// and probability are compared with it too), on the 302 documents of `documents/` and the
/// 101 many-language ones of the langid sample; datamap-rs's status (more than 20% flagged)
/// and its rule filter's decision (20% or more) follow from loam's `frac_language_mismatch`.
#[test]
fn madlad_rule_1_gives_datamap_rs_sentences() {
    let dir = fixtures();
    let docs_dir = dir.join("documents-madlad_rule1");
    let model = crate::langid::default_model_path();
    let t = crate::madlad::Madlad400Sentences::load(&dir.join("banlists/madlad400_cursed.txt.gz"))
        .unwrap()
        .with_language_model(&model)
        .unwrap();
    let lid = crate::langid::load_shared(&model).unwrap();
    let splitter = Regex::new(r"[.!?]+\s+").unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&docs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let (mut docs, mut checked, mut sentences, mut flagged, mut dropped) = (0, 0, 0, 0, 0);
    let mut bad = Vec::new();
    for f in files {
        let input = read_jsonl_gz(&docs_dir.join(&f));
        let expected = read_jsonl_gz(&dir.join("expected/madlad_rule1").join(&f));
        assert_eq!(input.len(), expected.len(), "{f}");
        for (i, (d, e)) in input.iter().zip(&expected).enumerate() {
            let text = d["text"].as_str().unwrap();
            docs += 1;
            if e["step"] != "final" {
                // datamap-rs's fastText annotator drops a text with a NUL (its C string fails).
                assert!(e["step"] == 0 && text.contains('\0'), "{f}:{i}: {e}");
                continue;
            }
            let anno = &e["anno"];
            // The document's language: loam's top label and probability, datamap-rs's field.
            let mut top = None;
            lid.for_each_raw(text, Some(1), |l, p| {
                top.get_or_insert((l.to_string(), p));
            });
            let (label, p) = top.unwrap();
            let want_lang = anno["lang"].as_object().unwrap();
            let want_p = want_lang.get(&label).and_then(Value::as_f64);
            if want_lang.len() != 1 || want_p.is_none_or(|w| (w - p).abs() > 1e-6) {
                bad.push(format!(
                    "{f}:{i}: document language {label} {p}, datamap-rs {want_lang:?}"
                ));
            }
            let s = crate::testutil::run(&t, text);
            let n = spans(&s, "sentences")[0].2 as usize;
            let status = anno["madlad_status"].as_str().unwrap();
            if status == "killed:too_short" {
                // datamap-rs does not run the rules on fewer than 5 sentences.
                assert!(n < 5, "{f}:{i}: {n} sentences");
                continue;
            }
            assert_eq!(
                Some(n as u64),
                anno["madlad"]["num_sentences"][0].as_u64(),
                "{f}:{i}"
            );
            // Sentence starts in code points (the splitter of both).
            let mut bounds: Vec<(usize, usize)> = Vec::new();
            let mut at = 0;
            for m in splitter.find_iter(text) {
                bounds.push((at, m.start()));
                at = m.end();
            }
            bounds.push((at, text.len()));
            let starts: Vec<usize> = bounds
                .into_iter()
                .filter(|&(a, b)| !text[a..b].trim().is_empty())
                .map(|(a, _)| text[..a].chars().count())
                .collect();
            assert_eq!(starts.len(), n, "{f}:{i}");
            let got: Vec<u64> = spans(&s, "language_mismatch")
                .iter()
                .map(|x| starts.iter().position(|&st| st == x.0).unwrap() as u64)
                .collect();
            let want: Vec<u64> = anno["madlad"]["rule.1"]
                .as_array()
                .map(|v| v.iter().map(|x| x.as_u64().unwrap()).collect())
                .unwrap_or_default();
            checked += 1;
            sentences += n;
            flagged += want.len();
            if got != want {
                bad.push(format!(
                    "{f}:{i} ({}): flagged {got:?}, datamap-rs {want:?}",
                    d["id"]
                ));
            }
            // The decisions: datamap-rs's annotator status (more than 20% flagged) and its rule
            // filter (`rules_to_remove: [[1]]`, 20% or more), from loam's fraction.
            let frac = spans(&s, "frac_language_mismatch")[0].2;
            let killed = status == "killed:too_many_sus_sentences";
            let dm_filter_drops = want.len() as f64 >= n as f64 * 0.2;
            dropped += usize::from(dm_filter_drops);
            if killed != (frac > 0.2) || dm_filter_drops != (frac >= 0.2) {
                bad.push(format!("{f}:{i}: frac {frac}, datamap-rs status {status}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    // Documents, documents with 5 sentences or more, their sentences, the flagged ones, the
    // documents the rule filter drops.
    assert_eq!(
        (docs, checked, sentences, flagged, dropped),
        (403, 295, 6824, 628, 47)
    );
}
