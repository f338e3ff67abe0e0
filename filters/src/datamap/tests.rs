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
    let mut files: Vec<_> = std::fs::read_dir(dir.join("documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let (mut docs, mut kept, mut bad) = (0, 0, Vec::new());
    for f in files {
        let input = read_jsonl_gz(&dir.join("documents").join(&f));
        let expected = read_jsonl_gz(&dir.join(format!("expected/{name}")).join(&f));
        assert_eq!(input.len(), expected.len(), "{f}");
        for (i, (d, e)) in input.iter().zip(&expected).enumerate() {
            let text = d["text"].as_str().unwrap();
            let s = run(&t, text);
            let got = apply_signals(text, &s, &lines);
            let want = (e["step"] == "final").then(|| e["text"].as_str().unwrap().to_string());
            docs += 1;
            kept += usize::from(want.is_some());
            if got != want {
                bad.push(format!(
                    "{f}:{i} ({}): expected {:?}, got {:?}",
                    d["id"],
                    want.as_deref().map(|w| &w[..w.len().min(300)]),
                    got.as_deref().map(|w| &w[..w.floor_char_boundary(300)])
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

/// Dolma 3's line cleaning (datamap-rs's own config) on 302 real and edge documents gives
/// datamap-rs's texts exactly.
#[test]
fn dolma3_steps_give_datamap_rs_texts() {
    let (docs, kept) = golden("dolma3");
    assert_eq!((docs, kept), (302, 173));
}

/// Every kwarg of every ported step gives datamap-rs's texts exactly.
#[test]
fn every_kwarg_gives_datamap_rs_texts() {
    let (docs, kept) = golden("kwargs");
    assert_eq!((docs, kept), (302, 259));
}
