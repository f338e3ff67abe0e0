//! Bloom filter dedup split over `--rank/--world` tasks (phases `keys`, `filter`, `marks`):
//! documents into a named filter file, paragraphs and n-grams into the run's own filter or
//! an exact key set, all give the one-process attribute, mix and filter bytes, phase by phase
//! (tasks started without `--phase` leave the section to task 0), and a damaged plan file is
//! remade rather than trusted. The exact key set
//! marks what a Bloom filter without false positives marks.

use crate::common::*;
use crate::helpers::{assert_same, ok};
use std::collections::BTreeMap;
use std::path::Path;

const DOCS: &str = "{attribute_name: dup, key: $.text}\n  bloom_filter: {file: bloom/docs.bin, read_only: false, estimated_doc_count: 10000, desired_false_positive_rate: 0.0001}";
const PARAS: &str = "{attribute_name: dup}\n  bloom_filter: {estimated_doc_count: 100000, desired_false_positive_rate: 0.0001}";
const EXACT_PARAS: &str = "{attribute_name: dup}";
const EXACT_NGRAMS: &str =
    "{attribute_name: dup, by_ngram: {ngram_length: 6, stride: 3, overlap_threshold: 0.5}}";
const NGRAMS: &str = "{attribute_name: dup, by_ngram: {ngram_length: 6, stride: 3, overlap_threshold: 0.5}}\n  bloom_filter: {estimated_doc_count: 100000, desired_false_positive_rate: 0.0001}";

/// `what` is `documents` or `paragraphs`, `section` its value.
fn pipeline(dir: &Path, what: &str, section: &str) {
    let drop = match what {
        "documents" => "[{rule: dup, attribute: dup, op: exists}]",
        _ => "[]",
    };
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: bl\n  {what}: {section}\nmix:\n  name: m\n  version: v1\n  drop: {drop}\n"
        ),
    )
    .unwrap();
}

/// Attributes, mix and the named filter file (when there is one).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = crate::minhash_tasks::section_outputs(dir, "bl");
    if let Ok(b) = std::fs::read(dir.join("bloom/docs.bin")) {
        all.insert("filter".into(), b);
    }
    all
}

fn fresh(what: &str, section: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    crate::minhash_tasks::corpus(d.path());
    pipeline(d.path(), what, section);
    d
}

#[test]
fn bloom_tasks_give_the_one_process_bytes() {
    for (what, section) in [
        ("documents", DOCS),
        ("paragraphs", PARAS),
        ("paragraphs", NGRAMS),
        ("paragraphs", EXACT_PARAS),
        ("paragraphs", EXACT_NGRAMS),
    ] {
        let base = fresh(what, section);
        let out = ok(base.path(), &["run", "p.yaml"]);
        let want = outputs(base.path());
        // Something is marked, so equal bytes say something.
        let marked = crate::helpers::files_under(&base.path().join("out/attributes/bl"), ".jsonl")
            .iter()
            .flat_map(|f| crate::helpers::text_lines(f))
            .filter(|l| l.contains("\"dup\":[["))
            .count();
        assert!(marked >= 10, "{section}: {marked} marked\n{out}");
        for world in [2usize, 3] {
            let d = fresh(what, section);
            crate::minhash_tasks::run_as_tasks(d.path(), world, &["keys", "filter", "marks"]);
            assert!(
                d.path()
                    .join("out/attributes/bl/.loam/bloom/present.bits")
                    .is_file(),
                "the split ran"
            );
            assert_same(
                &want,
                &outputs(d.path()),
                &format!("{section}, {world} tasks"),
            );
            // A rerun finds every unit done.
            ok(d.path(), &["run", "p.yaml"]);
            assert_same(&want, &outputs(d.path()), &format!("{section}, rerun"));
        }
    }
}

#[test]
fn bloom_tasks_without_phases_and_a_damaged_plan() {
    let base = fresh("documents", DOCS);
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());

    // Tasks started without --phase: task 0 makes the section whole, in one round.
    let d = fresh("documents", DOCS);
    for r in ["1", "0"] {
        ok(
            d.path(),
            &[
                "run", "p.yaml", "--stage", "dedupe", "--rank", r, "--world", "2",
            ],
        );
    }
    let attrs = crate::helpers::files_under(&d.path().join("out/attributes/bl"), ".jsonl");
    assert_eq!(attrs.len(), 8, "the tasks wrote every attribute file");
    assert!(!d.path().join("out/attributes/bl/.loam/bloom").exists());
    ok(d.path(), &["run", "p.yaml"]);
    assert_same(&want, &outputs(d.path()), "tasks without --phase");

    // A plan file damaged between the phases is remade, not read.
    let d = fresh("documents", DOCS);
    let phase = |p: &str, r: &str| {
        ok(
            d.path(),
            &[
                "run", "p.yaml", "--stage", "dedupe", "--phase", p, "--rank", r, "--world", "2",
            ],
        )
    };
    phase("keys", "0");
    phase("keys", "1");
    phase("filter", "0");
    let plans = crate::helpers::files_under(
        &d.path().join("out/attributes/bl/.loam/bloom/plans"),
        ".plan",
    );
    assert_eq!(plans.len(), 8, "one plan per shard");
    let b = std::fs::read(&plans[0]).unwrap();
    std::fs::write(&plans[0], &b[..b.len() / 2]).unwrap();
    // A plain run continues the split: the damaged plan is made again (the same bytes, so
    // the check that read it stands).
    let out = ok(d.path(), &["run", "p.yaml"]);
    assert!(out.contains("Bloom keys: 1 unit(s) made here"), "{out}");
    assert!(!out.contains("Bloom filter: 1 unit(s) made here"), "{out}");
    assert_eq!(std::fs::read(&plans[0]).unwrap(), b, "the plan was remade");
    assert_same(&want, &outputs(d.path()), "after a damaged plan");
}

#[test]
fn an_exact_key_set_marks_what_a_bloom_filter_without_false_positives_marks() {
    for (exact, bloom) in [(EXACT_PARAS, PARAS), (EXACT_NGRAMS, NGRAMS)] {
        let e = fresh("paragraphs", exact);
        let out = ok(e.path(), &["run", "p.yaml"]);
        assert!(out.contains("exact;"), "{out}");
        assert!(
            !e.path().join("out/.loam/dedupe/bl.bloom").exists(),
            "no filter file"
        );
        // A filter sized for a false-positive rate of 1e-4 over ~2,000 keys: on these keys
        // it has none, so its marks are the exact ones.
        let b = fresh("paragraphs", bloom);
        ok(b.path(), &["run", "p.yaml"]);
        // The exact key set also names each duplicate's kept copy, which a Bloom filter
        // cannot: the rest is the same.
        let (mut x, y) = (outputs(e.path()), outputs(b.path()));
        for (k, v) in x.iter_mut().filter(|(k, _)| k.starts_with("attributes/")) {
            let lines = String::from_utf8(v.clone()).unwrap();
            let mut plain = String::new();
            for l in lines.lines() {
                let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
                r.as_object_mut().unwrap().remove("duplicate_spans_of");
                plain.push_str(&serde_json::to_string(&r).unwrap());
                plain.push('\n');
            }
            assert!(plain.len() <= v.len(), "{k}");
            *v = plain.into_bytes();
        }
        assert_same(&y, &x, exact);
    }
}

/// Each duplicate paragraph an exact key set marks names its kept copy: a paragraph earlier
/// in canonical order (file, line, then position) that holds the same text; `loam
/// explain` shows them. n-gram spans, which no single copy explains, name none.
#[test]
fn an_exact_key_set_names_each_duplicate_paragraphs_kept_copy() {
    let e = fresh("paragraphs", EXACT_PARAS);
    ok(e.path(), &["run", "p.yaml"]);
    let texts = |file: &str| -> Vec<String> {
        crate::helpers::text_lines(&e.path().join("documents").join(file))
            .iter()
            .map(|l| {
                let d: serde_json::Value = serde_json::from_str(l).unwrap();
                d["text"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let chars = |t: &str, [a, b]: [u64; 2]| -> String {
        t.chars().skip(a as usize).take((b - a) as usize).collect()
    };
    let pair = |v: &serde_json::Value| [v[0].as_u64().unwrap(), v[1].as_u64().unwrap()];
    let (mut named, mut example) = (0, None);
    for f in crate::helpers::files_under(&e.path().join("out/attributes/bl"), ".jsonl") {
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let own = texts(&file);
        for (i, l) in crate::helpers::text_lines(&f).iter().enumerate() {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            let marked = r["attributes"]["dup"].as_array().unwrap();
            let kept = r["duplicate_spans_of"]["dup"].as_array();
            // Every whole-paragraph duplicate names its copy, in span order.
            assert_eq!(kept.map_or(0, Vec::len), marked.len(), "{file}:{}", i + 1);
            for k in kept.into_iter().flatten() {
                let span = pair(&k["span"]);
                let (kf, kl) = (k["file"].as_str().unwrap(), k["line"].as_u64().unwrap());
                let kept_span = pair(&k["kept_span"]);
                let earlier = (kf, kl, kept_span[0]) < (file.as_str(), i as u64 + 1, span[0]);
                assert!(earlier, "{k} is not earlier");
                let kept_text = chars(&texts(kf)[kl as usize - 1], kept_span);
                let text = chars(&own[i], span);
                assert_eq!(
                    kept_text.trim_end_matches('\n'),
                    text.trim_end_matches('\n')
                );
                named += 1;
                example.get_or_insert((r["id"].as_str().unwrap().to_string(), kf.to_string()));
            }
        }
    }
    assert!(named >= 10, "{named} duplicate spans named");
    // explain shows them for an edited document.
    let (id, kept_file) = example.unwrap();
    std::fs::write(
        e.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: bl\n  paragraphs: {attribute_name: dup}\nmix:\n  name: m2\n  version: v1\n  drop: []\n  span_replacement: [{span: $.attributes.dup, min_score: 0.5, replacement: ''}]\n",
    )
    .unwrap();
    ok(e.path(), &["run", "p.yaml"]);
    let mix = version_dir(&e.path().join("out/m2"), "v1");
    let out = ok(e.path(), &["explain", mix.to_str().unwrap(), &id]);
    assert!(out.contains("edited by rule"), "{out}");
    assert!(out.contains("kept copies of its duplicate spans"), "{out}");
    assert!(out.contains(&format!("documents/{kept_file}:")), "{out}");
    // n-grams: none named.
    let g = fresh("paragraphs", EXACT_NGRAMS);
    ok(g.path(), &["run", "p.yaml"]);
    for f in crate::helpers::files_under(&g.path().join("out/attributes/bl"), ".jsonl") {
        for l in crate::helpers::text_lines(&f) {
            let r: serde_json::Value = serde_json::from_str(&l).unwrap();
            let spans = r["attributes"]["dup"].as_array().unwrap();
            let named = r["duplicate_spans_of"]["dup"]
                .as_array()
                .map_or(0, Vec::len);
            let whole = spans.iter().filter(|s| s[2].as_f64() == Some(1.0)).count();
            assert!(named <= whole, "{l}");
        }
    }
}

#[test]
fn a_dolma_recipe_runs_its_bloom_dedupe_as_phases() {
    // `loam run tag.yaml dedupe_docs.yaml dedupe_paras.yaml mix.yaml`: the dolma configs'
    // Bloom dedupe split with --phase gives the one-process attributes, filters and mix.
    let run = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&RECIPE);
        ok(dir, &args)
    };
    let one = recipe_dir();
    run(one.path(), &[]);
    let want = recipe_outputs(one.path());
    let split = recipe_dir();
    run(split.path(), &["--stage", "tag"]);
    for phase in ["keys", "filter", "marks"] {
        for rank in ["0", "1"] {
            run(
                split.path(),
                &[
                    "--stage", "dedupe", "--phase", phase, "--rank", rank, "--world", "2",
                ],
            );
        }
    }
    let plans = crate::helpers::files_under(
        &split
            .path()
            .join("corpus/attributes/dedupe_paras/.loam/bloom/plans"),
        ".plan",
    );
    assert_eq!(plans.len(), 2, "the paragraph section ran as phases");
    run(split.path(), &[]);
    assert_same(&want, &recipe_outputs(split.path()), "recipe as phases");
}
