//! Partitioned MinHash (`dedupe.minhash.partitions`): the phases split over 1, 4 and 16
//! `--rank/--world` tasks give the attribute and mix bytes of the one-process MinHash; a
//! partial run resumes; `verify` removes banding's false positives; bad keys are refused.

use crate::common::*;
use crate::helpers::text_lines;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Real documents (the tagger sample, 147 web pages) with planted near-duplicates: for
/// every third document of 100 words or more, a close copy (one word in 80 replaced: exact
/// Jaccard of 5-gram shingles about 0.88) and a loose one (one word in 12: about 0.45);
/// every tenth document exactly. Written round-robin into 8 shards so copies land in other
/// shards. Returns the ids of the close and of the loose copies.
pub(crate) fn corpus(dir: &Path) -> (Vec<String>, Vec<String>) {
    let src = repo().join("tests/fixtures/tagger-sample/documents/sample.jsonl.gz");
    let docs: Vec<Value> = text_lines(&src)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mutate = |text: &str, every: usize, tag: &str| -> String {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| {
                if i % every == every / 2 {
                    format!("{tag}{i}")
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut all = Vec::new();
    let (mut close, mut loose) = (Vec::new(), Vec::new());
    for (k, d) in docs.iter().enumerate() {
        all.push(d.clone());
        let text = d["text"].as_str().unwrap();
        if text.split_whitespace().count() >= 100 && k % 3 == 0 {
            let id = format!("close-{k}");
            all.push(
                json!({"id": id, "text": mutate(text, 80, "plantedclose"), "source": "planted"}),
            );
            close.push(id);
            let id = format!("loose-{k}");
            all.push(
                json!({"id": id, "text": mutate(text, 12, "plantedloose"), "source": "planted"}),
            );
            loose.push(id);
        }
        if k % 10 == 0 {
            all.push(json!({"id": format!("exact-{k}"), "text": text, "source": "planted"}));
        }
    }
    let out = dir.join("documents");
    std::fs::create_dir_all(&out).unwrap();
    let mut shards = vec![String::new(); 8];
    for (i, d) in all.iter().enumerate() {
        shards[i % 8].push_str(&serde_json::to_string(d).unwrap());
        shards[i % 8].push('\n');
    }
    for (i, s) in shards.iter().enumerate() {
        std::fs::write(out.join(format!("shard-{i:02}.jsonl")), s).unwrap();
    }
    (close, loose)
}

fn pipeline(dir: &Path, minhash: &str) {
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: near\n  minhash: {minhash}\nmix:\n  name: m\n  version: v1\n  drop: [{{rule: near, attribute: near_dup, op: exists}}]\n"
        ),
    )
    .unwrap();
}

const BASE: &str = "attribute_name: near_dup, ngram_length: 5, num_bands: 16, rows_per_band: 4";

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = loam(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The attribute files and the mix (documents, ledgers, indexes; not the manifest, which
/// records the config).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    section_outputs(dir, "near")
}

/// The attribute files of section `name` and the mix `out/m` (not its manifest).
pub(crate) fn section_outputs(dir: &Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for (k, v) in snapshot(&dir.join("out/attributes").join(name), true) {
        all.insert(format!("attributes/{k}"), v);
    }
    for (k, v) in snapshot(&version_dir(&dir.join("out/m"), "v1"), true) {
        if !k.ends_with("manifest.json") {
            all.insert(format!("mix/{k}"), v);
        }
    }
    all
}

/// Every phase, one task array after another, then the final plain run.
pub(crate) fn run_as_tasks(dir: &Path, world: usize, phases: &[&str]) {
    let w = world.to_string();
    for phase in phases {
        for r in 0..world {
            let r = r.to_string();
            ok(
                dir,
                &[
                    "--threads",
                    "1",
                    "run",
                    "p.yaml",
                    "--stage",
                    "dedupe",
                    "--phase",
                    phase,
                    "--rank",
                    &r,
                    "--world",
                    &w,
                ],
            );
        }
    }
    ok(dir, &["run", "p.yaml"]);
}

/// `id → score` of the marked documents.
fn marks(dir: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for f in crate::helpers::files_under(&dir.join("out/attributes/near"), ".jsonl") {
        for l in text_lines(&f) {
            let v: Value = serde_json::from_str(&l).unwrap();
            if let Some(s) = v["attributes"]["near_dup"].as_array() {
                out.insert(
                    v["id"].as_str().unwrap().to_string(),
                    s[0][2].as_f64().unwrap(),
                );
            }
        }
    }
    out
}

/// At least 90% of the close planted copies are marked.
fn assert_most_marked(close: &[String], found: &BTreeMap<String, f64>) {
    let hits = close.iter().filter(|id| found.contains_key(*id)).count();
    assert!(
        hits * 10 >= close.len() * 9,
        "{hits} of {} close copies",
        close.len()
    );
}

const PHASES: [&str; 6] = [
    "signatures",
    "bands",
    "partitions",
    "merge-1",
    "merge-2",
    "marks",
];

#[test]
fn minhash_tasks_1_4_16_give_the_one_process_bytes() {
    let base = tempfile::tempdir().unwrap();
    let (close, _) = corpus(base.path());
    pipeline(base.path(), &format!("{{{BASE}}}"));
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());
    let found = marks(base.path());
    assert_most_marked(&close, &found);
    for world in [1, 4, 16] {
        let d = tempfile::tempdir().unwrap();
        corpus(d.path());
        pipeline(d.path(), &format!("{{{BASE}, partitions: 4}}"));
        if world == 1 {
            // One plain run makes every phase in order.
            let out = ok(d.path(), &["run", "p.yaml"]);
            assert!(out.contains("clusters"), "{out}");
        } else {
            run_as_tasks(d.path(), world, &PHASES);
        }
        let got = outputs(d.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (k, v) in &want {
            assert!(got[k] == *v, "{world} task(s): {k} differs");
        }
        // A rerun finds every unit done.
        let out = ok(d.path(), &["run", "p.yaml"]);
        assert!(outputs(d.path()) == want, "{out}");
    }
}

#[test]
fn minhash_tasks_resume_after_a_partial_run() {
    let base = tempfile::tempdir().unwrap();
    corpus(base.path());
    pipeline(base.path(), &format!("{{{BASE}}}"));
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());

    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    pipeline(d.path(), &format!("{{{BASE}, partitions: 4}}"));
    // Two of four tasks sign their shards, then the bands are asked for: refused.
    for r in ["0", "2"] {
        ok(
            d.path(),
            &[
                "run",
                "p.yaml",
                "--stage",
                "dedupe",
                "--phase",
                "signatures",
                "--rank",
                r,
                "--world",
                "4",
            ],
        );
    }
    let o = loam(
        d.path(),
        &[
            "run", "p.yaml", "--stage", "dedupe", "--phase", "bands", "--rank", "0", "--world", "4",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("`signatures` is not complete"),
        "{}",
        text(&o)
    );
    // A task without --phase runs its share of the first phase not complete, and stops.
    ok(
        d.path(),
        &[
            "run", "p.yaml", "--stage", "dedupe", "--rank", "1", "--world", "4",
        ],
    );
    assert!(!d
        .path()
        .join("out/attributes/near/.loam/minhash-lsh/bands")
        .exists());
    // Lose a done unit's file: the rerun makes it again, and finishes the rest.
    let sigs = crate::helpers::walk(
        &d.path().join("out/attributes/near/.loam/minhash"),
        ".sig",
        true,
    );
    // Ranks 0 and 2 signed shards 0, 2, 4, 6; rank 1 (no --phase) shards 1 and 5.
    assert_eq!(sigs.len(), 6, "{sigs:?}");
    std::fs::remove_file(&sigs[0]).unwrap();
    let out = ok(d.path(), &["run", "p.yaml"]);
    assert!(out.contains("clusters"), "{out}");
    assert!(outputs(d.path()) == want, "resumed run differs");
    // A changed component file upstream of done marks makes them again, the same.
    let map = d
        .path()
        .join("out/attributes/near/.loam/minhash-lsh/cc/r2/00000.cc");
    assert!(map.exists());
    std::fs::write(&map, b"garbage").unwrap();
    ok(d.path(), &["run", "p.yaml"]);
    assert!(
        outputs(d.path()) == want,
        "rerun after a damaged map differs"
    );
}

#[test]
fn minhash_verify_removes_false_positives() {
    // 32 bands of 2 rows: a pair at similarity 0.45 is a candidate almost surely.
    let loose_cfg = "attribute_name: near_dup, ngram_length: 5, num_bands: 32, rows_per_band: 2";
    let plain = tempfile::tempdir().unwrap();
    let (close, loose) = corpus(plain.path());
    pipeline(plain.path(), &format!("{{{loose_cfg}}}"));
    ok(plain.path(), &["run", "p.yaml"]);
    let unverified = marks(plain.path());
    let fp = loose
        .iter()
        .filter(|id| unverified.contains_key(*id))
        .count();
    assert!(
        fp * 2 > loose.len(),
        "only {fp} of {} loose copies marked",
        loose.len()
    );

    let one = tempfile::tempdir().unwrap();
    corpus(one.path());
    let v = "verify: {threshold: 0.8, max_cluster: 50}";
    pipeline(one.path(), &format!("{{{loose_cfg}, {v}}}"));
    let out = ok(one.path(), &["run", "p.yaml"]);
    assert!(out.contains("verified"), "{out}");
    let verified = marks(one.path());
    // A loose copy stays marked only where its exact Jaccard is above the threshold (a
    // document whose words are mostly not space-separated is changed less).
    let left = loose.iter().filter(|id| verified.contains_key(*id)).count();
    assert!(left * 5 < fp, "{left} of {fp} false positives left");
    let kept = close.iter().filter(|id| verified.contains_key(*id)).count();
    assert!(
        kept * 10 >= close.len() * 9,
        "{kept} of {} close copies marked",
        close.len()
    );
    for (id, s) in &verified {
        assert!(*s >= 0.8, "{id}: {s}");
    }
    let m: Value = serde_json::from_slice(
        &std::fs::read(version_dir(&one.path().join("out/m"), "v1").join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(
        m.to_string()
            .contains("candidates below the threshold kept"),
        "{m}"
    );

    // The same verified marks with partitions, over 4 tasks.
    let tasks = tempfile::tempdir().unwrap();
    corpus(tasks.path());
    pipeline(
        tasks.path(),
        &format!("{{{loose_cfg}, {v}, partitions: 4}}"),
    );
    let mut phases = PHASES.to_vec();
    phases.insert(5, "verify");
    run_as_tasks(tasks.path(), 4, &phases);
    assert!(outputs(tasks.path()) == outputs(one.path()));
}

#[test]
fn minhash_tasks_refuse_bad_config() {
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    for (minhash, field) in [
        ("partitions: 0", "dedupe.minhash.partitions"),
        (
            "verify: {threshold: 1.5}",
            "dedupe.minhash.verify.threshold",
        ),
        (
            "verify: {threshold: 0.8, max_cluster: 1}",
            "dedupe.minhash.verify.max_cluster",
        ),
        ("verify: {threshold: 0.8, cap: 3}", "cap"),
        ("partition: 4", "partition"),
        ("shingle: tokens", "dedupe.minhash.tokenizer"),
        ("tokenizer: t.json", "dedupe.minhash.tokenizer"),
        (
            "keep: {by: '$.a[0]', order: latest}",
            "dedupe.minhash.keep.by",
        ),
    ] {
        pipeline(d.path(), &format!("{{{BASE}, {minhash}}}"));
        let o = loam(d.path(), &["run", "p.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{minhash}: {}", text(&o));
        assert!(text(&o).contains(field), "{minhash}: {}", text(&o));
        assert!(!d.path().join("out").exists(), "{minhash}: wrote output");
    }
    pipeline(d.path(), &format!("{{{BASE}, partitions: 4}}"));
    let o = loam(
        d.path(),
        &["run", "p.yaml", "--stage", "mix", "--phase", "bands"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--phase needs --stage dedupe"),
        "{}",
        text(&o)
    );
    let o = loam(
        d.path(),
        &["run", "p.yaml", "--stage", "dedupe", "--phase", "merge-0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn annotated_clusters_are_the_same_in_one_process_and_as_tasks() {
    let cfg = format!("{{{BASE}, annotate_clusters: true}}");
    let base = tempfile::tempdir().unwrap();
    corpus(base.path());
    pipeline(base.path(), &cfg);
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());
    // Every marked document is in an annotated cluster of two or more, and each cluster's
    // id names a member that is not marked (its survivor), with as many members as its size.
    let mut members: BTreeMap<u64, (u64, usize, usize)> = BTreeMap::new();
    let mut files = crate::helpers::files_under(&base.path().join("out/attributes/near"), ".jsonl");
    files.sort();
    for (shard, f) in files.iter().enumerate() {
        for (line, l) in text_lines(f).iter().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap();
            let a = &v["attributes"];
            let marked = a["near_dup"].is_array();
            match a["near_dup__cluster_id"].as_array() {
                Some(c) => {
                    let id = c[0][2].as_u64().unwrap();
                    let size = a["near_dup__cluster_size"][0][2].as_u64().unwrap();
                    let e = members.entry(id).or_insert((size, 0, 0));
                    assert_eq!(e.0, size);
                    e.1 += 1;
                    let node = ((shard as u64) << 32) | line as u64;
                    if node == id {
                        assert!(!marked, "the survivor {id} is marked");
                        e.2 += 1;
                    }
                }
                None => assert!(!marked, "{l}"),
            }
        }
    }
    assert!(members.len() >= 10, "{}", members.len());
    for (id, (size, n, survivors)) in &members {
        assert_eq!((*size as usize, *survivors), (*n, 1), "cluster {id}");
        assert!(*size >= 2);
    }
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    pipeline(
        d.path(),
        &format!("{{{BASE}, annotate_clusters: true, partitions: 4}}"),
    );
    run_as_tasks(d.path(), 4, &PHASES);
    assert!(outputs(d.path()) == want);
}

/// Gives every document of the corpus a `metadata.crawl` number from its id (every seventh
/// none), for a keep policy to choose by.
fn add_crawl_numbers(dir: &Path) -> BTreeMap<String, Option<u64>> {
    let mut crawl = BTreeMap::new();
    for f in crate::helpers::files_under(&dir.join("documents"), ".jsonl") {
        let mut out = String::new();
        for l in text_lines(&f) {
            let mut v: Value = serde_json::from_str(&l).unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            let h = id
                .bytes()
                .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
            let c = (h % 7 != 0).then_some(h % 50);
            if let Some(c) = c {
                v["metadata"] = json!({ "crawl": c });
            }
            crawl.insert(id, c);
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
        std::fs::write(&f, out).unwrap();
    }
    crawl
}

/// Per annotated cluster (by id), its members `(node, id, marked)` in node order.
fn clusters(dir: &Path) -> BTreeMap<u64, Vec<(u64, String, bool)>> {
    let mut out: BTreeMap<u64, Vec<(u64, String, bool)>> = BTreeMap::new();
    let mut files = crate::helpers::files_under(&dir.join("out/attributes/near"), ".jsonl");
    files.sort();
    for (shard, f) in files.iter().enumerate() {
        for (line, l) in text_lines(f).iter().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap();
            let a = &v["attributes"];
            if let Some(c) = a["near_dup__cluster_id"].as_array() {
                out.entry(c[0][2].as_u64().unwrap()).or_default().push((
                    ((shard as u64) << 32) | line as u64,
                    v["id"].as_str().unwrap().to_string(),
                    a["near_dup"].is_array(),
                ));
            } else {
                assert!(!a["near_dup"].is_array(), "{l}");
            }
        }
    }
    out
}

#[test]
fn minhash_keep_policy_chooses_survivors_the_same_in_one_process_and_as_tasks() {
    let keep = "keep: {by: $.metadata.crawl, order: latest}";
    for verify in ["", ", verify: {threshold: 0.6}"] {
        let cfg = format!("{BASE}, annotate_clusters: true, {keep}{verify}");
        let base = tempfile::tempdir().unwrap();
        corpus(base.path());
        let crawl = add_crawl_numbers(base.path());
        pipeline(base.path(), &format!("{{{cfg}}}"));
        ok(base.path(), &["run", "p.yaml"]);
        let want = outputs(base.path());
        // The member the policy prefers — the greatest crawl number, members without one
        // last, ties to the first in canonical order — survives every cluster; without
        // verification it is the only one.
        let found = clusters(base.path());
        assert!(found.len() >= 10, "{}", found.len());
        let mut not_first = 0;
        for (id, members) in &found {
            let best = members
                .iter()
                .min_by_key(|(node, i, _)| (std::cmp::Reverse(crawl[i].map(|c| c + 1)), *node))
                .unwrap();
            assert!(!best.2, "cluster {id}: the preferred {} is marked", best.1);
            if verify.is_empty() {
                assert_eq!(
                    members.iter().filter(|m| !m.2).count(),
                    1,
                    "cluster {id}: {members:?}"
                );
            }
            not_first += usize::from(best.0 != members[0].0);
        }
        // The policy matters: in some clusters the survivor is not the first copy.
        assert!(not_first >= 3, "{not_first}");
        let d = tempfile::tempdir().unwrap();
        corpus(d.path());
        add_crawl_numbers(d.path());
        pipeline(d.path(), &format!("{{{cfg}, partitions: 4}}"));
        let resolve = if verify.is_empty() {
            "survivors"
        } else {
            "verify"
        };
        let mut phases = PHASES.to_vec();
        phases.insert(5, resolve);
        run_as_tasks(d.path(), 4, &phases);
        let got = outputs(d.path());
        for (k, v) in &want {
            assert!(got[k] == *v, "{verify}: {k} differs as tasks");
        }
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn token_shingles_find_the_planted_copies_in_one_process_and_as_tasks() {
    let tok = |dir: &Path| {
        let gz = repo().join("tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz");
        let mut json = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(gz).unwrap()),
            &mut json,
        )
        .unwrap();
        std::fs::write(dir.join("tok.json"), json).unwrap();
    };
    let cfg = "attribute_name: near_dup, shingle: tokens, tokenizer: tok.json, ngram_length: 5, num_bands: 16, rows_per_band: 4";
    let base = tempfile::tempdir().unwrap();
    let (close, _) = corpus(base.path());
    tok(base.path());
    pipeline(base.path(), &format!("{{{cfg}}}"));
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());
    let found = marks(base.path());
    assert_most_marked(&close, &found);
    // Token shingles are not word shingles: the scores differ from `shingle: words`.
    let words = tempfile::tempdir().unwrap();
    corpus(words.path());
    pipeline(words.path(), &format!("{{{BASE}}}"));
    ok(words.path(), &["run", "p.yaml"]);
    assert_ne!(marks(words.path()), found);
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    tok(d.path());
    pipeline(d.path(), &format!("{{{cfg}, partitions: 4}}"));
    run_as_tasks(d.path(), 4, &PHASES);
    assert!(outputs(d.path()) == want);
    // A tokenizer that cannot be loaded: exit 2 naming the field.
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    pipeline(d.path(), &format!("{{{cfg}}}"));
    let o = loam(d.path(), &["run", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("dedupe.minhash.tokenizer"),
        "{}",
        text(&o)
    );
}
