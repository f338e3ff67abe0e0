//! `mix.shuffle` in `loam run`: a seeded, thread-independent permutation of the mix, many
//! small shards over cluster tasks with resume, and its config errors.

use crate::common::*;
use crate::helpers::*;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `PIPELINE` (short-document threshold 10) with `extra` (lines indented two spaces) added to
/// the `mix:` block.
fn mix_config(extra: &str) -> String {
    PIPELINE
        .replace("THRESHOLD", "10")
        .replace("  drop:", &format!("{extra}  drop:"))
}

/// Runs `config` at `threads` in a fresh directory holding `copies` of the quickstart shards;
/// returns the directory and the mix's version directory.
fn run_mix(config: &str, copies: usize, threads: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart_documents(dir.path(), copies);
    std::fs::write(dir.path().join("p.yaml"), config).unwrap();
    let o = loam(dir.path(), &["run", "p.yaml", "--threads", threads]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    (dir, v)
}

/// The JSON lines of every document shard of a mix (decompressed), by file name.
fn mix_documents(version: &Path) -> BTreeMap<String, Vec<String>> {
    use std::io::Read;
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(version.join("documents")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let raw = std::fs::read(&p).unwrap();
        let mut s = String::new();
        if name.ends_with(".gz") {
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_string(&mut s)
                .unwrap();
        } else if name.ends_with(".zst") {
            s = String::from_utf8(zstd::stream::decode_all(&raw[..]).unwrap()).unwrap();
        } else {
            s = String::from_utf8(raw).unwrap();
        }
        out.insert(name, s.lines().map(str::to_string).collect());
    }
    out
}

/// All lines of a mix, sorted: its documents as a multiset.
fn multiset(docs: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = docs.values().flatten().cloned().collect();
    all.sort();
    all
}

/// All lines of a mix in file-name order, then line order.
fn in_order(docs: &BTreeMap<String, Vec<String>>) -> Vec<&String> {
    docs.values().flatten().collect()
}

#[test]
fn shuffle_is_a_seeded_thread_independent_permutation_of_the_mix() {
    let sample = "  sample: {rate: 1.5}\n  seed: 3\n";
    let plain_cfg = mix_config(sample);
    let shuffled_cfg = mix_config(&format!("{sample}  shuffle: {{shards: 3, seed: 7}}\n"));
    let (_p, vp) = run_mix(&plain_cfg, 1, "2");
    let (a, va) = run_mix(&shuffled_cfg, 1, "1");
    let (b, vb) = run_mix(&shuffled_cfg, 1, "2");

    // --threads 1 and --threads 2: the same bytes, run state included.
    assert_eq!(va.file_name(), vb.file_name());
    let ta = snapshot(&a.path().join("out"), false);
    let tb = snapshot(&b.path().join("out"), false);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb[k] == *v,
            "{k} differs between --threads 1 and --threads 2"
        );
    }

    // The shuffled shards hold exactly the unshuffled mix's documents, copies included.
    let plain = mix_documents(&vp);
    let shuffled = mix_documents(&va);
    assert_eq!(
        shuffled.keys().collect::<Vec<_>>(),
        [
            "shuffled-00000.jsonl.gz",
            "shuffled-00001.jsonl.gz",
            "shuffled-00002.jsonl.gz"
        ]
    );
    let all = multiset(&plain);
    assert!(all.len() > 300, "{}", all.len());
    assert!(all.windows(2).any(|w| w[0] == w[1]), "upsampled copies");
    assert_eq!(all, multiset(&shuffled));

    // The order is not the input order, and each shard mixes documents of every input
    // (three: 250, 40 and 37 documents before the rules; in input order, two changes).
    assert_ne!(in_order(&plain), in_order(&shuffled));
    let origin: BTreeMap<&str, &str> = plain
        .iter()
        .flat_map(|(f, ls)| ls.iter().map(move |l| (l.as_str(), f.as_str())))
        .collect();
    for (name, lines) in &shuffled {
        let from: Vec<&str> = lines.iter().map(|l| origin[l.as_str()]).collect();
        let inputs: std::collections::BTreeSet<&str> = from.iter().copied().collect();
        let switches = from.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(inputs.len(), 3, "{name}: documents of {inputs:?} only");
        assert!(
            switches * 4 > from.len(),
            "{name}: {switches} changes of input in {} documents",
            from.len()
        );
    }

    // Provenance: the ledgers are the unshuffled mix's, byte for byte; the manifest lists the
    // shuffled shards with their counts and tokens, and verifies; no scratch file is left.
    assert_eq!(
        snapshot(&vp.join("ledger"), false),
        snapshot(&va.join("ledger"), false)
    );
    let mp = manifest_without_run(&std::fs::read(vp.join("manifest.json")).unwrap());
    let ma = manifest_without_run(&std::fs::read(va.join("manifest.json")).unwrap());
    let docs_out = |m: &Value, key: &str| -> u64 {
        m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == "documents")
            .map(|o| o[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(docs_out(&ma, "documents"), all.len() as u64);
    assert_eq!(docs_out(&ma, "tokens"), docs_out(&mp, "tokens"));
    let stages = ma["stages"].as_array().unwrap();
    assert_eq!(
        stages[stages.len() - 2]["documents_out"],
        all.len() as u64,
        "{ma}"
    );
    assert_eq!(
        stages[stages.len() - 1]["stage"],
        "shuffle (3 shards, seed 7)"
    );
    assert_eq!(ma["config"]["normalized"]["mix"]["shuffle"]["seed"], 7);
    assert!(!va.join(".loam/shuffle-scratch").exists());
    let o = loam(a.path(), &["manifest", "verify", va.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        a.path(),
        &["explain", va.to_str().unwrap(), "cc_en_head-0091/9"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("decision   kept"));

    // Another seed: another order (and another mix), the same documents.
    let (_c, vc) = run_mix(&shuffled_cfg.replace("seed: 7", "seed: 8"), 1, "2");
    assert_ne!(vc.file_name(), va.file_name());
    let other = mix_documents(&vc);
    assert_eq!(all, multiset(&other));
    for (x, y) in other.values().zip(shuffled.values()) {
        assert_ne!(x, y, "a different seed gives a different order");
    }
    // The seed defaults to mix.seed.
    let (_d, vd) = run_mix(
        &mix_config(&format!("{sample}  shuffle: {{shards: 3}}\n")),
        1,
        "2",
    );
    let (_e, ve) = run_mix(&shuffled_cfg.replace("seed: 7", "seed: 3"), 1, "2");
    assert!(mix_documents(&vd) == mix_documents(&ve));

    // A rerun does nothing and changes nothing.
    let o = loam(a.path(), &["run", "p.yaml", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("shuffle"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with("0/3"), "{line}");
    assert!(snapshot(&a.path().join("out"), false) == ta);
}

#[test]
fn shuffle_into_many_small_shards_splits_over_tasks_and_resumes() {
    let cfg = mix_config("  sample: {rate: 2.5}\n  shuffle: {shards: 400}\n");
    let (a, va) = run_mix(&cfg, 1, "2");
    let want = snapshot(&a.path().join("out"), false);
    let docs = mix_documents(&va);
    // About two copies per bucket: most shards exist, empty buckets write no file.
    assert!((250..400).contains(&docs.len()), "{} shards", docs.len());
    assert!(docs
        .keys()
        .all(|k| k.starts_with("shuffled-") && k.ends_with(".jsonl.gz")));
    let m = manifest_without_run(&std::fs::read(va.join("manifest.json")).unwrap());
    let listed: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "documents")
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    let present: Vec<String> = docs.keys().map(|k| format!("documents/{k}")).collect();
    assert_eq!(listed, present);
    let copies: u64 = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "documents")
        .map(|o| o["documents"].as_u64().unwrap())
        .sum();
    assert_eq!(copies, docs.values().map(|d| d.len() as u64).sum::<u64>());
    assert!(copies > 500, "{copies}");
    let vs = va.to_str().unwrap();
    let o = loam(a.path(), &["manifest", "verify", vs]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        a.path(),
        &["reproduce", vs, "--output", "rebuilt", "--threads", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("byte-identical"));

    // Split over cluster tasks (three units, two tasks): pass 1 in two tasks leaves spools and no shard; the final
    // plain run shuffles, and the bytes are a single run's.
    let b = tempfile::tempdir().unwrap();
    copy_quickstart_documents(b.path(), 1);
    std::fs::write(b.path().join("p.yaml"), &cfg).unwrap();
    for args in [
        &["--stage", "tag"][..],
        &["--stage", "dedupe"],
        &["--stage", "mix", "--rank", "0", "--world", "2"],
        &["--stage", "mix", "--rank", "1", "--world", "2"],
    ] {
        let mut all = vec!["run", "p.yaml"];
        all.extend_from_slice(args);
        let o = loam(b.path(), &all);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    let vb = version_dir(&b.path().join("out/m"), "v1");
    assert!(!vb.join("documents").exists());
    assert!(!vb.join("manifest.json").exists());
    assert!(vb.join(".loam/shuffle-scratch/spools").is_dir());
    let o = loam(b.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(snapshot(&b.path().join("out"), false) == want);

    // A lost shard after the scratch files are gone: the units are redone for their spools,
    // only that bucket is written again, and the bytes are the same.
    let lost = docs.keys().nth(7).unwrap();
    std::fs::remove_file(va.join("documents").join(lost)).unwrap();
    let o = loam(a.path(), &["run", "p.yaml", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let shuffle_line = out.lines().find(|l| l.starts_with("shuffle")).unwrap();
    assert!(shuffle_line.ends_with("1/400"), "{out}");
    let mix_line = out.lines().find(|l| l.starts_with("mix")).unwrap();
    assert!(mix_line.ends_with("3/3"), "{out}");
    assert!(snapshot(&a.path().join("out"), false) == want);
    assert!(!va.join(".loam/shuffle-scratch").exists());
}

#[test]
fn shuffle_config_errors_name_the_field() {
    let dir = workdir();
    for (shuffle, path) in [
        ("{shards: 0}", "mix.shuffle.shards"),
        ("{shards: 100001}", "mix.shuffle.shards"),
        ("{shards: 4, sed: 1}", "mix.shuffle"),
        ("true", "mix.shuffle"),
    ] {
        std::fs::write(
            dir.path().join("p.yaml"),
            mix_config(&format!("  shuffle: {shuffle}\n")),
        )
        .unwrap();
        let o = loam(dir.path(), &["validate", "-c", "p.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{shuffle}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(path), "{shuffle}: no `{path}` in\n{err}");
    }
}
