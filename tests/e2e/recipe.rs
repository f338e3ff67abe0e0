//! `loam run tag.yaml dedupe_docs.yaml dedupe_paras.yaml mix.yaml`: a dolma recipe run as one
//! pipeline writes what the separate `loam tag|dedupe|mix -c` commands write, dolma's bytes
//! with `--dolma-bugs`, the same bytes at any thread count, task split or kill point, and one
//! manifest that verifies and explains.

use crate::common::*;
use crate::helpers::files_under;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run_recipe(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&RECIPE);
    loam(dir, &args)
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn ids(jsonl: &[u8]) -> Vec<String> {
    strings(jsonl, "id")
}

/// Each line's string field `key`.
fn strings(jsonl: &[u8], key: &str) -> Vec<String> {
    jsonl
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<Value>(l).unwrap()[key]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn a_recipe_writes_what_the_separate_commands_write_and_dolmas_bytes_on_request() {
    let a = recipe_dir();
    let o = run_recipe(a.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    for stage in [
        "tag quality",
        "dedupe dedupe_docs",
        "dedupe dedupe_paras",
        "mix web",
    ] {
        assert!(
            out.contains(stage),
            "{stage} missing from the summary:\n{out}"
        );
    }

    // The same configs, one command each.
    let b = recipe_dir();
    for args in [
        ["tag", "-c", "tag.yaml"],
        ["dedupe", "-c", "dedupe_docs.yaml"],
        ["dedupe", "-c", "dedupe_paras.yaml"],
        ["mix", "-c", "mix.yaml"],
    ] {
        let o = loam(b.path(), &args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    let (wa, wb) = (recipe_outputs(a.path()), recipe_outputs(b.path()));
    assert_eq!(wa.keys().collect::<Vec<_>>(), wb.keys().collect::<Vec<_>>());
    for (k, v) in &wa {
        if k.ends_with("manifest.json") {
            continue;
        }
        assert!(
            wb[k] == *v,
            "{k} differs between the recipe and the separate commands"
        );
    }
    // One manifest: the mix's inputs and outputs as `loam mix -c` records them, plus the
    // earlier stages' configs and counts.
    let ma: Value = serde_json::from_slice(&wa["out/web/manifest.json"]).unwrap();
    let mb: Value = serde_json::from_slice(&wb["out/web/manifest.json"]).unwrap();
    for k in ["inputs", "outputs", "mix", "config"] {
        assert_eq!(ma[k], mb[k], "manifest {k}");
    }
    assert!(mb.get("recipe").is_none());
    let kinds: Vec<(&str, &str)> = ma["recipe"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["config"]["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("tag", "tag.yaml"),
            ("dedupe", "dedupe_docs.yaml"),
            ("dedupe", "dedupe_paras.yaml")
        ]
    );
    let stages: Vec<&str> = ma["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert!(stages[0].starts_with("tag:quality"), "{stages:?}");
    assert!(stages[1].starts_with("dedupe:dedupe_docs"), "{stages:?}");
    assert!(stages[2].starts_with("dedupe:dedupe_paras"), "{stages:?}");
    assert_eq!(&stages[3..], ["mix:web", "edit:web"]);

    // verify accepts it; explain says why a duplicate and a short document left.
    let o = loam(a.path(), &["manifest", "verify", "out/web"]);
    assert!(o.status.success(), "{}", text(&o));
    let docs = gunzip(&a.path().join("corpus/documents/sample.jsonl.gz"));
    let kept = ids(&gunzip(&a.path().join("out/web/web-0000.jsonl.gz")));
    let dropped: Vec<String> = ids(&docs)
        .into_iter()
        .filter(|i| !kept.contains(i))
        .collect();
    assert!(!dropped.is_empty());
    for id in &dropped {
        let o = loam(a.path(), &["explain", "out/web", id]);
        assert!(o.status.success(), "{}", text(&o));
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(t.contains("dropped by rule `filter.exclude["), "{id}: {t}");
    }

    // dolma 1.2.1 ran the same four configs (`dolma -c … tag|dedupe|mix`; dedupe with one
    // process, so its first occurrences are canonical): with --dolma-bugs loam writes its
    // bytes; without, it keeps the same documents.
    let golden = gunzip(&repo().join("tests/fixtures/recipe/dolma-1.2.1-output/web-0000.json.gz"));
    assert_eq!(ids(&golden), kept, "the documents dolma keeps");
    let c = recipe_dir();
    let o = run_recipe(c.path(), &["--dolma-bugs"]);
    assert!(o.status.success(), "{}", text(&o));
    // dolma's file name too: a stream's last output is `….json.gz`.
    assert!(!c.path().join("out/web/web-0000.jsonl.gz").exists());
    assert!(
        gunzip(&c.path().join("out/web/web-0000.json.gz")) == golden,
        "--dolma-bugs: not dolma's bytes"
    );
    let o = loam(c.path(), &["manifest", "verify", "out/web"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        c.path(),
        &["reproduce", "out/web/manifest.json", "--output", "again"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("byte-identical"), "{}", text(&o));
    let m: Value =
        serde_json::from_slice(&std::fs::read(c.path().join("out/web/manifest.json")).unwrap())
            .unwrap();
    assert!(m["recipe"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["dolma_bugs"] == true));
}

#[test]
fn a_recipe_gives_the_same_bytes_at_any_thread_count_task_split_or_kill() {
    let one = recipe_dir();
    let o = run_recipe(one.path(), &["--threads", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    let want = recipe_outputs(one.path());
    assert!(want.contains_key("out/web/manifest.json"));
    let without_manifest = |w: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        w.iter()
            .filter(|(k, _)| !k.ends_with("manifest.json"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };

    let two = recipe_dir();
    let t0 = Instant::now();
    let o = run_recipe(two.path(), &["--threads", "2"]);
    let full = t0.elapsed();
    assert!(o.status.success(), "{}", text(&o));
    assert!(recipe_outputs(two.path()) == want, "1 vs 2 threads");

    // Cluster tasks: each stage split over two ranks, then a final run writes the manifest.
    let split = recipe_dir();
    for stage in ["tag", "dedupe", "mix"] {
        for rank in ["0", "1"] {
            let o = run_recipe(
                split.path(),
                &["--stage", stage, "--rank", rank, "--world", "2"],
            );
            assert!(o.status.success(), "{stage} rank {rank}: {}", text(&o));
        }
    }
    assert!(!split.path().join("out/web/manifest.json").exists());
    assert!(without_manifest(&recipe_outputs(split.path())) == without_manifest(&want));
    let o = run_recipe(split.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let got = recipe_outputs(split.path());
    assert!(got == want, "split over tasks");

    // Killed at fixed fractions of an uninterrupted run, then resumed.
    for frac in [0.2, 0.5, 0.8] {
        let dir = recipe_dir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_loam"))
            .arg("run")
            .args(RECIPE)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let o = run_recipe(dir.path(), &[]);
        assert!(
            o.status.success(),
            "resume after a kill at {frac}: {}",
            text(&o)
        );
        let got = recipe_outputs(dir.path());
        let stray: Vec<&String> = got.keys().filter(|k| k.contains(".loam-tmp.")).collect();
        assert!(stray.is_empty(), "temporary files left: {stray:?}");
        let differ: Vec<&String> = want
            .keys()
            .chain(got.keys())
            .filter(|k| want.get(*k) != got.get(*k))
            .collect();
        assert!(differ.is_empty(), "kill at {frac}: {differ:?}");
    }
}

#[test]
fn a_recipe_is_checked_whole_before_it_writes() {
    let dir = recipe_dir();
    let cases: [(&[&str], &str); 4] = [
        (&["tag.yaml", "dedupe_docs.yaml"], "needs one mixer config"),
        (&["tag.yaml", "mix.yaml", "mix.yaml"], "one mixer config"),
        (&["tag.yaml", "nothing.yaml", "mix.yaml"], "nothing.yaml"),
        (&["tag.yaml", "odd.yaml", "mix.yaml"], "not a dolma tagger"),
    ];
    std::fs::write(dir.path().join("odd.yaml"), "hello: 1\n").unwrap();
    for (configs, want) in cases {
        let mut args = vec!["run"];
        args.extend_from_slice(configs);
        let o = loam(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{configs:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{configs:?}: {}", text(&o));
        assert!(
            !dir.path().join("corpus/attributes").exists(),
            "{configs:?} wrote"
        );
    }
    // A bad filter in the last config stops the run before the first one writes.
    let mix = std::fs::read_to_string(dir.path().join("mix.yaml")).unwrap();
    std::fs::write(dir.path().join("mix.yaml"), mix.replace("< 50\"", "< \"")).unwrap();
    let o = run_recipe(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!dir.path().join("corpus/attributes").exists());
}

/// Every `*.parquet` ledger under `dir`, in path order: (id, line, decision, rule, copies)
/// per row (the file column names a location, which differs between the front ends).
fn ledger_decisions(dir: &Path) -> Vec<String> {
    let files = files_under(dir, ".parquet");
    assert!(!files.is_empty(), "no ledger under {}", dir.display());
    let mut rows = Vec::new();
    for f in files {
        loam_mixes::ledger::read_ledger(&f, |r| {
            rows.push(format!(
                "{} {} {:?} {:?} {}",
                r.id, r.line, r.decision, r.rule, r.copies
            ))
        })
        .unwrap();
    }
    rows
}

/// (id, text) of every document in the `.jsonl.gz` files under `dir`, in path order.
fn id_texts(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in files_under(dir, ".gz") {
        for l in gunzip(&f).split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_slice(l).unwrap();
            out.push((
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn the_recipe_as_a_pipeline_file_keeps_and_edits_the_same_documents() {
    // One engine per stage: the dolma recipe (tag, Bloom document and paragraph dedup, a jq
    // filter with span replacement) and the same steps in loam's pipeline file keep the same
    // documents with the same texts, and ledger the same decisions under the same rule names.
    let d = recipe_dir();
    let o = run_recipe(d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let mix = loam_pipeline::config::read_value(&d.path().join("mix.yaml")).unwrap();
    let stream = &mix["streams"][0];
    let pipeline = serde_json::json!({
        "name": "same",
        "documents": ["corpus/documents/*.gz"],
        "output": "pout",
        "tag": {"experiment": "quality",
                "taggers": ["gopher_v1", "c4_v1", "char_length_v1", "pii_regex_with_counts_fast_v2"]},
        "dedupe": [
            {"name": "dedupe_docs",
             "documents": {"attribute_name": "bff_duplicate_docs", "key": "$.text"},
             "bloom_filter": {"estimated_doc_count": 10000, "desired_false_positive_rate": 0.0001}},
            {"name": "dedupe_paras",
             "paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"},
             "bloom_filter": {"estimated_doc_count": 100000, "desired_false_positive_rate": 0.0001}},
        ],
        "mix": {"name": "web", "version": "v1",
                "filter": stream["filter"], "span_replacement": stream["span_replacement"]},
    });
    // JSON is YAML.
    std::fs::write(d.path().join("same.yaml"), pipeline.to_string()).unwrap();
    let o = loam(d.path(), &["run", "same.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let mix_dir = version_dir(&d.path().join("pout/web"), "v1");
    let (a, b) = (
        id_texts(&d.path().join("out/web")),
        id_texts(&mix_dir.join("documents")),
    );
    assert!(a.len() > 100, "{} documents kept", a.len());
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the front ends kept different documents or texts");
    let (la, lb) = (
        ledger_decisions(&d.path().join("out/web/ledger")),
        ledger_decisions(&mix_dir.join("ledger")),
    );
    assert_eq!(la.len(), 157);
    assert_eq!(la, lb);
    for want in ["Edited", "filter.exclude[0]", "filter.exclude[1]"] {
        assert!(la.iter().any(|r| r.contains(want)), "no `{want}` row");
    }
    // Both manifests count the edits alike, in a stage of kind `edit`.
    let stage = |path: &Path| -> Value {
        let m: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        m["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "edit")
            .unwrap_or_else(|| panic!("no edit stage in {}", path.display()))
            .clone()
    };
    let (ea, eb) = (
        stage(&d.path().join("out/web/manifest.json")),
        stage(&mix_dir.join("manifest.json")),
    );
    for k in [
        "documents_in",
        "documents_out",
        "text_bytes_in",
        "text_bytes_out",
        "by_rule",
    ] {
        assert_eq!(ea[k], eb[k], "edit stage {k}");
    }
    assert!(ea["documents_out"].as_u64().unwrap() > 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("edit (span replacement"), "{out}");
}

/// The published recipes in `recipes/` (Dolma v1.6, v1.7) run on the bundled sample with their
/// stand-in resources: each exits 0, its manifest verifies, and every tagger, deduper and
/// filter acted (the mix keeps some documents and drops some).
#[test]
fn published_recipes_run_on_the_sample() {
    for version in ["1_6", "1_7"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        crate::common::copy_quickstart_documents(&d.join("data"), 1);
        let folder = crate::common::repo().join(format!("recipes/dolma-v{version}"));
        let mut configs: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path().to_string_lossy().to_string())
            .filter(|p| p.ends_with(".yaml"))
            .collect();
        configs.sort();
        assert!(configs.len() >= 4, "{configs:?}");
        let mut args = vec!["run".to_string()];
        args.extend(configs);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
            .args(&args)
            .current_dir(d)
            .env("LOAM_RECIPE_DATA", d.join("data"))
            .env(
                "LOAM_RECIPE_RESOURCES",
                crate::common::repo().join("recipes/stand-in"),
            )
            .output()
            .unwrap();
        assert!(o.status.success(), "v{version}: {}", text(&o));
        let mix = d.join(format!("data/v{version}"));
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(mix.join("manifest.json")).unwrap()).unwrap();
        let stages = m["stages"].as_array().unwrap();
        let last = stages.last().unwrap();
        let (kept, read) = (
            last["documents_out"].as_u64().unwrap(),
            last["documents_in"].as_u64().unwrap(),
        );
        assert!(kept > 0 && kept < read, "v{version}: {last}");
        // Every earlier stage (taggers, dedupers) is recorded with its config.
        assert_eq!(m["recipe"].as_array().unwrap().len(), args.len() - 2, "{m}");
        let o = loam(d, &["manifest", "verify", &mix.to_string_lossy()]);
        assert!(o.status.success(), "v{version}: {}", text(&o));
    }
}

/// `recipes/dolma3/` (a loam pipeline file) runs on the sample from a directory holding the
/// repository's `recipes/`, its steps drop and edit documents, its manifest verifies, and 1
/// and 2 threads give the same documents.
#[test]
fn dolma3_recipe_runs_on_the_sample_with_the_same_bytes_for_any_thread_count() {
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Two copies of the sample: Dolma 3's heuristics drop two thirds of it (as they did of
        // Dolma 3's pool), and exact dedup still has copies of the survivors to remove.
        crate::common::copy_quickstart_documents(&d.join("data/recipes"), 2);
        std::os::unix::fs::symlink(crate::common::repo().join("recipes"), d.join("recipes"))
            .unwrap();
        let o = loam(
            d,
            &["run", "-j", threads, "--json", "recipes/dolma3/dolma3.yaml"],
        );
        assert!(o.status.success(), "{}", text(&o));
        let out = d.join("data/recipes/dolma3/dolma3");
        let mix = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("v1-"))
            .unwrap();
        let m: Value =
            serde_json::from_slice(&std::fs::read(mix.join("manifest.json")).unwrap()).unwrap();
        let mix_stage = m["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "mix")
            .unwrap()
            .clone();
        let (kept, read) = (
            mix_stage["documents_out"].as_u64().unwrap(),
            mix_stage["documents_in"].as_u64().unwrap(),
        );
        assert!(kept > 0 && kept < read, "{mix_stage}");
        // Each step of the recipe removes something from the sample (a URL list, datamap-rs's
        // heuristics, English, MADLAD, exact dedup keeping the latest copy, the bottom buckets).
        for rule in [
            "url_domains",
            "datamap_heuristics",
            "not_english",
            "madlad_too_few_sentences",
            "exact_duplicate",
            "bucket:all/0",
        ] {
            let n = mix_stage["by_rule"][rule]["documents_dropped"].as_u64();
            assert!(n.is_some_and(|n| n > 0), "{rule}: {mix_stage}");
        }
        // datamap-rs's line modifiers edited documents; the top buckets were upsampled.
        let edit = m["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "edit")
            .unwrap();
        assert!(edit["by_rule"].as_object().unwrap().len() >= 3, "{edit}");
        let buckets = &m["mix"]["buckets"];
        assert!(buckets.is_object(), "{m}");
        let o = loam(d, &["manifest", "verify", &mix.to_string_lossy()]);
        assert!(o.status.success(), "{}", text(&o));
        let mut docs = BTreeMap::new();
        for f in files_under(&mix.join("documents"), "") {
            docs.insert(
                f.strip_prefix(&mix).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            );
        }
        assert!(!docs.is_empty());
        outputs.push(docs);
    }
    assert_eq!(outputs[0], outputs[1], "1 and 2 threads differ");
}

/// dolma's paragraph dedupe marks the empty paragraph after an ASCII text's final newline as
/// a zero-length span `[n, n]`, and dolma's mixer then deletes that newline (and would apply
/// no later span): `--dolma-bugs` writes those bytes (`scripts/make-recipe-zero-length-goldens.sh`
/// ran dolma 1.2.1 on these documents with the recipe's configs); without it loam keeps the
/// same documents.
#[test]
fn dolma_bugs_recipe_handles_zero_length_spans_as_dolma_does() {
    let fx = repo().join("tests/fixtures/recipe/zero-length");
    let golden = gunzip(&fx.join("dolma-1.2.1-output/web-0000.json.gz"));
    // The case is exercised: some kept texts lost their final newline in dolma's mix.
    let source = gunzip(&fx.join("documents/zero.jsonl.gz"));
    let texts = |b: &[u8]| strings(b, "text");
    let lost = texts(&source).iter().filter(|t| t.ends_with('\n')).count()
        - texts(&golden).iter().filter(|t| t.ends_with('\n')).count();
    assert!(lost > 0, "no zero-length span in the goldens");
    for bugs in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        for c in RECIPE {
            std::fs::copy(
                repo().join("tests/fixtures/recipe").join(c),
                dir.path().join(c),
            )
            .unwrap();
        }
        let docs = dir.path().join("corpus/documents");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(
            fx.join("documents/zero.jsonl.gz"),
            docs.join("zero.jsonl.gz"),
        )
        .unwrap();
        let o = run_recipe(dir.path(), if bugs { &["--dolma-bugs"] } else { &[] });
        assert!(o.status.success(), "{}", text(&o));
        if bugs {
            let ours = gunzip(&dir.path().join("out/web/web-0000.json.gz"));
            assert!(ours == golden, "--dolma-bugs: not dolma's bytes");
            // The manifest records the mode: reproduce gives the same bytes.
            let o = loam(
                dir.path(),
                &["reproduce", "out/web/manifest.json", "--output", "again"],
            );
            assert!(text(&o).contains("byte-identical"), "{}", text(&o));
        } else {
            let ours = gunzip(&dir.path().join("out/web/web-0000.jsonl.gz"));
            assert_eq!(ids(&ours), ids(&golden), "the documents dolma keeps");
        }
    }
}
