//! `datamap_v1` (Dolma 3's line-level cleaning, datamap-rs's steps) through `loam tag` and
//! `loam mix`: the mix's texts are datamap-rs's (goldens from scripts/make-datamap-goldens.sh),
//! and each line step removes exactly the lines its rule defines.

use crate::common::{loam, repo, text};
use crate::helpers::{copy_tree, files_under, text_lines};
use serde_json::Value;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    repo().join("tests/fixtures/datamap")
}

fn jsonl(path: &Path) -> Vec<Value> {
    text_lines(path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The mix's documents, in output order.
fn mixed(dir: &Path) -> Vec<Value> {
    files_under(dir, ".gz")
        .iter()
        .flat_map(|f| jsonl(f))
        .collect()
}

/// Dolma 3's line cleaning as a loam tag config and mix config (the configs of
/// tests/fixtures/datamap/dolma3/, meant for `recipes/dolma3/`) gives, on 302 documents, the
/// texts datamap-rs gives with Dolma 3's own config, and drops the same documents.
#[test]
fn datamap_v1_through_the_mix_gives_datamap_rs_texts() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &fixtures().join("documents"),
        &dir.path().join("data/documents"),
    );
    for f in ["tag.yaml", "mix.yaml"] {
        std::fs::copy(fixtures().join("dolma3").join(f), dir.path().join(f)).unwrap();
    }
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
            .args(args)
            .env("LOAM_RECIPE_DATA", dir.path().join("data"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    run(&["tag", "-c", "tag.yaml"]);
    run(&["mix", "-c", "mix.yaml"]);
    let got: Vec<(String, String)> = mixed(&dir.path().join("data/dolma3_lines/documents"))
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(fixtures().join("expected/dolma3"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut total = 0;
    for f in names {
        for e in jsonl(&f) {
            total += 1;
            if e["step"] == "final" {
                want.push((
                    e["id"].as_str().unwrap().to_string(),
                    e["text"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(total, 302);
    assert_eq!(want.len(), 75);
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    let differ: Vec<_> = want
        .iter()
        .zip(&got_sorted)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.clone())
        .collect();
    assert_eq!(got_sorted.len(), want.len(), "kept documents");
    assert!(differ.is_empty(), "texts differ: {differ:?}");
}

/// Upper-case and digit ratios, and a regex, each as the only step: the spans cover exactly
/// the lines the rule defines (a line with its following line break, or its preceding one
/// after the last kept line), and the mix's text is the kept lines joined by `\n`.
#[test]
fn line_steps_remove_exactly_the_lines_their_rules_define() {
    type Rule = fn(&str) -> bool;
    let rules: [(&str, &str, Rule); 3] = [
        (
            "{name: ratio_line_modifier, label: removed, kwargs: {upper_bound: 0.2, check: uppercase}}",
            "upper",
            |l| {
                let n = l.chars().count();
                n > 0 && l.chars().filter(|c| c.is_uppercase()).count() as f32 / n as f32 > 0.2
            },
        ),
        (
            "{name: ratio_line_modifier, label: removed, kwargs: {upper_bound: 0.1, check: numeric}}",
            "digits",
            |l| {
                let n = l.chars().count();
                n > 0 && l.chars().filter(|c| c.is_ascii_digit()).count() as f32 / n as f32 > 0.1
            },
        ),
        (
            "{name: regex_line_modifier, label: removed, kwargs: {regex: 'the'}}",
            "regex",
            |l| l.to_lowercase().contains("the"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("documents"), &dir.path().join("documents"));
    let docs: Vec<Value> = ["cc2019", "trafilatura", "warc"]
        .iter()
        .flat_map(|f| jsonl(&dir.path().join(format!("documents/{f}.jsonl.gz"))))
        .collect();
    let (mut lines_removed, mut lines_total) = (0usize, 0usize);
    for (step, exp, rule) in rules {
        std::fs::write(
            dir.path().join("tag.yaml"),
            format!(
                "documents: [documents/cc2019.jsonl.gz, documents/trafilatura.jsonl.gz, documents/warc.jsonl.gz]\nexperiment: {exp}\ntaggers: [datamap_v1]\ntagger_options:\n  datamap_v1:\n    steps: [{step}]\n"
            ),
        )
        .unwrap();
        let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
        assert!(o.status.success(), "{}", text(&o));
        let attrs: Vec<Value> = ["cc2019", "trafilatura", "warc"]
            .iter()
            .flat_map(|f| jsonl(&dir.path().join(format!("attributes/{exp}/{f}.jsonl.gz"))))
            .collect();
        assert_eq!(attrs.len(), docs.len());
        let key = format!("{exp}__datamap_v1__removed");
        for (d, a) in docs.iter().zip(&attrs) {
            let t = d["text"].as_str().unwrap();
            let lines: Vec<&str> = t.split('\n').collect();
            let keep: Vec<bool> = lines.iter().map(|l| !rule(l)).collect();
            lines_total += lines.len();
            lines_removed += keep.iter().filter(|k| !**k).count();
            // The spans the rule defines, in code points.
            let last_kept = keep.iter().rposition(|k| *k);
            let mut want = Vec::new();
            let mut pos = 0usize;
            for (i, l) in lines.iter().enumerate() {
                let n = l.chars().count();
                if !keep[i] {
                    let (s, e) = match last_kept {
                        Some(k) if i > k => (pos - 1, pos + n),
                        _ if i + 1 < lines.len() => (pos, pos + n + 1),
                        _ => (pos, pos + n),
                    };
                    if e > s {
                        want.push(serde_json::json!([s, e, 1.0]));
                    }
                }
                pos += n + 1;
            }
            // The regex step drops a document it would leave without lines (no spans then).
            let dropped = exp == "regex" && last_kept.is_none();
            if dropped {
                want.clear();
            }
            assert_eq!(
                a["attributes"][&key],
                Value::Array(want),
                "{exp} {}",
                d["id"]
            );
            let expect_kept = if dropped { 0.0 } else { 1.0 };
            assert_eq!(
                a["attributes"][format!("{exp}__datamap_v1__kept")][0][2],
                serde_json::json!(expect_kept),
                "{exp} {}",
                d["id"]
            );
        }
    }
    assert!(
        lines_removed > 1000 && lines_removed < lines_total / 2,
        "{lines_removed} of {lines_total}"
    );
}

/// A misspelt kwarg from Dolma 3's own config is refused with its field path and what
/// datamap-rs did with it; so is a step name datamap_v1 does not know.
#[test]
fn datamap_v1_config_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("documents"), &dir.path().join("documents"));
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/edge.jsonl.gz]\ntaggers: [datamap_v1]\ntagger_options:\n  datamap_v1:\n    steps:\n      - {name: regex_line_modifier, label: c, kwargs: {regex_string: x}}\n      - {name: page_len_filter, label: p, kwargs: {length_type: words}}\n      - {name: word_removal_ratio_filter, label: r}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    for want in [
        "tagger_options.datamap_v1.steps[0].kwargs.regex_string",
        "datamap-rs reads `regex`",
        "tagger_options.datamap_v1.steps[1].kwargs.length_type",
        "tagger_options.datamap_v1.steps[2].kwargs.word_count_field",
    ] {
        assert!(err.contains(want), "{want} not in {err}");
    }
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/edge.jsonl.gz]\ntaggers: [datamap_v1]\ntagger_options:\n  datamap_v1:\n    steps: [{name: fancy_filter, label: f}]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("tagger_options.datamap_v1.steps[0].name"),
        "{}",
        text(&o)
    );
}
