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
    let listed = document_outputs(&m);
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

/// A dolma mixer config with two streams over the same inputs: `web` shuffled globally
/// (loam's `global_shuffle`), `plain` packed as dolma packs.
fn dolma_shuffle_config(shuffle: &str) -> String {
    format!(
        "streams:
  - name: web
    documents: [documents/*.jsonl.gz]
    output: {{path: out/web, max_size_in_bytes: 300000}}
    filter: {{exclude: [\"$@.text[?(@.length < 400)]\"]}}
    sample_rate: 1.5
    seed: 3
    global_shuffle: {shuffle}
  - name: plain
    documents: [documents/*.jsonl.gz]
    output: {{path: out/plain, max_size_in_bytes: 300000}}
    filter: {{exclude: [\"$@.text[?(@.length < 400)]\"]}}
    sample_rate: 1.5
    seed: 3
"
    )
}

/// The decompressed lines of a stream's output files, by file name.
fn stream_lines(dir: &Path) -> BTreeMap<String, Vec<String>> {
    use std::io::Read;
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".gz") {
            continue;
        }
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&std::fs::read(&p).unwrap()[..])
            .read_to_string(&mut s)
            .unwrap();
        out.insert(name, s.lines().map(str::to_string).collect());
    }
    out
}

#[test]
fn a_dolma_mixer_stream_with_global_shuffle_is_a_seeded_permutation_of_the_packed_stream() {
    let run = |shuffle: &str, args: &[&[&str]]| {
        let dir = tempfile::tempdir().unwrap();
        copy_quickstart_documents(dir.path(), 2);
        std::fs::write(dir.path().join("mix.yaml"), dolma_shuffle_config(shuffle)).unwrap();
        for a in args {
            let o = loam(dir.path(), a);
            assert!(o.status.success(), "{a:?}: {}", text(&o));
        }
        dir
    };
    let a = run("{shards: 3, seed: 7}", &[&["mix", "-c", "mix.yaml"]]);
    let web = stream_lines(&a.path().join("out/web"));
    let plain = stream_lines(&a.path().join("out/plain"));
    assert_eq!(
        web.keys().collect::<Vec<_>>(),
        [
            "web-00000.jsonl.gz",
            "web-00001.jsonl.gz",
            "web-00002.jsonl.gz"
        ]
    );
    // The same documents and copies as the packed stream, in another order.
    assert_eq!(multiset(&web), multiset(&plain));
    assert!(in_order(&web) != in_order(&plain));
    assert!(in_order(&web).len() > 300, "{}", in_order(&web).len());
    // Same decisions: the ledgers are the packed stream's, byte for byte.
    for f in ["0_cc2019.jsonl.gz.parquet", "1_cc_misc.jsonl.gz.parquet"] {
        let l = |s: &str| std::fs::read(a.path().join("out/ledger").join(s).join(f)).unwrap();
        assert!(l("web") == l("plain"), "{f}");
    }
    // The manifest lists the shuffled shards and a shuffle stage; verify accepts it, and
    // the scratch spools are gone.
    let m: Value =
        serde_json::from_slice(&std::fs::read(a.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let docs: Vec<&str> = document_outputs(&m)
        .into_iter()
        .filter(|p| p.starts_with("web/"))
        .collect();
    assert_eq!(
        docs,
        [
            "web/web-00000.jsonl.gz",
            "web/web-00001.jsonl.gz",
            "web/web-00002.jsonl.gz"
        ]
    );
    let stages: Vec<&str> = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages[1], "shuffle:web (3 shards, seed 7)", "{stages:?}");
    let o = loam(a.path(), &["manifest", "verify", "out"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!a.path().join("out/.loam/shuffle-scratch").exists());
    let want = snapshot(&a.path().join("out"), false);

    // Two threads, and two cluster tasks then the final run: the same bytes.
    let b = run(
        "{shards: 3, seed: 7}",
        &[&["mix", "-c", "mix.yaml", "--threads", "2"]],
    );
    assert!(snapshot(&b.path().join("out"), false) == want);
    let c = run(
        "{shards: 3, seed: 7}",
        &[
            &[
                "run", "mix.yaml", "--stage", "mix", "--rank", "0", "--world", "2",
            ],
            &[
                "run", "mix.yaml", "--stage", "mix", "--rank", "1", "--world", "2",
            ],
        ],
    );
    assert!(!c.path().join("out/web/web-00000.jsonl.gz").exists());
    assert!(!c.path().join("out/manifest.json").exists());
    let o = loam(c.path(), &["run", "mix.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(snapshot(&c.path().join("out"), false) == want);

    // A lost shard: the units are made again for their spools, only that shard is written
    // again, and the bytes are the same.
    std::fs::remove_file(a.path().join("out/web/web-00001.jsonl.gz")).unwrap();
    let o = loam(a.path(), &["mix", "-c", "mix.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("shuffle web")).unwrap();
    let next = out
        .lines()
        .skip_while(|l| !l.starts_with("shuffle web"))
        .nth(1);
    assert!(
        line.ends_with("1/3") || next.is_some_and(|n| n.ends_with("1/3")),
        "{out}"
    );
    assert!(snapshot(&a.path().join("out"), false) == want);

    // A changed input: every shard of the stream is made again from it.
    let doc = a.path().join("documents/0_cc2019.jsonl.gz");
    let mut lines = text_lines(&doc);
    lines.truncate(lines.len() / 2);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, (lines.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(&doc, gz.finish().unwrap()).unwrap();
    let o = loam(a.path(), &["mix", "-c", "mix.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let again = stream_lines(&a.path().join("out/web"));
    assert_eq!(
        multiset(&again),
        multiset(&stream_lines(&a.path().join("out/plain")))
    );
    assert!(multiset(&again).len() < multiset(&web).len());

    // Another seed, another order of the same documents.
    let d = run("{shards: 3, seed: 8}", &[&["mix", "-c", "mix.yaml"]]);
    let other = stream_lines(&d.path().join("out/web"));
    assert_eq!(multiset(&other), multiset(&web));
    assert!(in_order(&other) != in_order(&web));

    // Fewer shards over the same output directory: the earlier run's third shard is named
    // in a warning (a glob would read it too).
    std::fs::write(
        d.path().join("mix.yaml"),
        dolma_shuffle_config("{shards: 2, seed: 8}"),
    )
    .unwrap();
    let o = loam(d.path(), &["mix", "-c", "mix.yaml", "--overwrite"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o).replace("\n    ", " ");
    assert!(
        out.contains("out/web/web-00002.jsonl.gz is named like this stream's outputs"),
        "{out}"
    );
    assert!(!out.contains("web-00001.jsonl.gz is named"), "{out}");

    // Its config errors name the field.
    for (shuffle, field) in [
        ("{shards: 0}", "streams[0].global_shuffle.shards"),
        ("{shards: 2, sed: 1}", "streams[0].global_shuffle"),
    ] {
        std::fs::write(d.path().join("mix.yaml"), dolma_shuffle_config(shuffle)).unwrap();
        let o = loam(d.path(), &["mix", "-c", "mix.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{shuffle}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(field), "{shuffle}: no `{field}` in\n{err}");
    }
}
