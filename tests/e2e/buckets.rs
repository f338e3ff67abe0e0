//! `mix.buckets` in `loam run`: token-weighted quality buckets per group and per-bucket rates,
//! checked against a computation of their own from the attribute files, across thread counts,
//! and their config errors.

use crate::common::*;
use crate::helpers::*;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const SCORE: &str = "exp__random_number_v1__random";

/// A pipeline over the quickstart shards with `buckets` (lines indented four spaces) as the
/// mix's `buckets:` section.
fn config(buckets: &str) -> String {
    format!(
        r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [random_number_v1, whitespace_tokenizer_v1]
mix:
  name: m
  version: v1
  seed: 5
  drop:
    - {{rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: 20}}
  buckets:
{buckets}"#
    )
}

const BUCKETS: &str = "    score: exp__random_number_v1__random
    group: {field: metadata.content_type}
    count: 5
    rates: [0, 0.5, 1, 2.5, 7]
";

fn run(dir: &Path, cfg: &str, threads: &str) -> std::process::Output {
    std::fs::write(dir.join("p.yaml"), cfg).unwrap();
    loam(dir, &["run", "p.yaml", "--threads", threads])
}

/// `loam run` of [`BUCKETS`] on two threads: the mix's version directory and manifest.
fn run_buckets(dir: &Path) -> (std::path::PathBuf, Value) {
    let o = run(dir, &config(BUCKETS), "2");
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.join("out/m"), "v1");
    let m = serde_json::from_slice(&std::fs::read(v.join("manifest.json")).unwrap()).unwrap();
    (v, m)
}

/// One eligible document as computed here from the document and attribute files.
#[derive(Debug, Clone)]
struct Doc {
    group: String,
    score: f64,
    id: String,
    file: String,
    line: u64,
    tokens: u64,
}

/// Every document that passes `short` (at least 20 whitespace tokens), from the input
/// shards and the tag stage's attribute files.
fn eligible(dir: &Path) -> Vec<Doc> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let docs = text_lines(&dir.join("documents").join(&name));
        let attrs = text_lines(&dir.join("out/attributes/exp").join(&name));
        assert_eq!(docs.len(), attrs.len());
        for (i, (d, a)) in docs.iter().zip(&attrs).enumerate() {
            let d: Value = serde_json::from_str(d).unwrap();
            let a: Value = serde_json::from_str(a).unwrap();
            // The mix's rule `short`, on the tagger's value.
            let length = a["attributes"]["exp__whitespace_tokenizer_v1__length"][0][2].as_f64();
            if length.unwrap() < 20.0 {
                continue;
            }
            // The mix's token counter: whitespace-separated tokens.
            let tokens = d["text"].as_str().unwrap().split_whitespace().count() as u64;
            let group = match &d["metadata"]["content_type"] {
                Value::String(s) => s.clone(),
                _ => "(none)".to_string(),
            };
            out.push(Doc {
                group,
                score: a["attributes"][SCORE][0][2].as_f64().unwrap(),
                id: d["id"].as_str().unwrap().to_string(),
                file: name.clone(),
                line: i as u64 + 1,
                tokens,
            });
        }
    }
    out
}

/// The breakpoints as the docs define them: each group sorted by (score, id, file, line);
/// breakpoint k is the first document whose preceding tokens reach k/5 of the group's.
fn independent_breakpoints(docs: &[Doc]) -> BTreeMap<String, (Vec<Value>, Vec<Vec<&Doc>>)> {
    let mut groups: BTreeMap<String, Vec<&Doc>> = BTreeMap::new();
    for d in docs {
        groups.entry(d.group.clone()).or_default().push(d);
    }
    let mut out = BTreeMap::new();
    for (g, mut v) in groups {
        v.sort_by(|a, b| {
            a.score
                .total_cmp(&b.score)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.file.cmp(&b.file))
                .then_with(|| a.line.cmp(&b.line))
        });
        let total: u64 = v.iter().map(|d| d.tokens).sum();
        let mut bps = Vec::new();
        let mut buckets: Vec<Vec<&Doc>> = vec![Vec::new(); 5];
        let mut before = 0u64;
        let mut k = 0usize;
        for d in &v {
            while k < 4 && before as f64 >= (k + 1) as f64 / 5.0 * total as f64 {
                k += 1;
                bps.push(serde_json::json!({
                    "score": d.score, "id": d.id, "file": d.file, "line": d.line
                }));
            }
            buckets[k].push(d);
            before += d.tokens;
        }
        while bps.len() < 4 {
            bps.push(Value::Null);
        }
        out.insert(g, (bps, buckets));
    }
    out
}

#[test]
fn buckets_match_an_independent_computation_and_meet_their_targets() {
    let dir = workdir();
    let (v, m) = run_buckets(dir.path());
    let rec = &m["mix"]["buckets"];
    assert_eq!(rec["weight"], "tokens");
    assert_eq!(rec["missing_score"], 0);
    let docs = eligible(dir.path());
    let mine = independent_breakpoints(&docs);
    let groups = rec["groups"].as_object().unwrap();
    assert_eq!(
        groups.keys().collect::<Vec<_>>(),
        mine.keys().collect::<Vec<_>>()
    );
    assert!(groups.len() >= 3, "{groups:?}");
    // The bucket of each (id, file) as computed here.
    let mut bucket_of: BTreeMap<(String, String), (String, usize, u64)> = BTreeMap::new();
    for (g, (bps, buckets)) in &mine {
        let r = &groups[g];
        assert_eq!(r["breakpoints"].as_array().unwrap(), bps, "group {g}");
        for (k, b) in buckets.iter().enumerate() {
            let rb = &r["buckets"][k];
            assert_eq!(rb["documents"], b.len() as u64, "{g}/{k}");
            assert_eq!(
                rb["tokens"],
                b.iter().map(|d| d.tokens).sum::<u64>(),
                "{g}/{k}"
            );
            for d in b {
                bucket_of.insert((d.id.clone(), d.file.clone()), (g.clone(), k, d.tokens));
            }
        }
    }
    // What was written, per bucket, counted from the output shards.
    let mut written: BTreeMap<(String, usize), (u64, u64)> = BTreeMap::new();
    for e in std::fs::read_dir(v.join("documents")).unwrap() {
        let p = e.unwrap().path();
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        for l in text_lines(&p) {
            let d: Value = serde_json::from_str(&l).unwrap();
            let id = d["id"].as_str().unwrap().to_string();
            let (g, k, t) = bucket_of[&(id, file.clone())].clone();
            let w = written.entry((g, k)).or_default();
            w.0 += 1;
            w.1 += t;
        }
    }
    let rates = [0.0, 0.5, 1.0, 2.5, 7.0];
    let mut upsampled = false;
    for (g, (_, buckets)) in &mine {
        for (k, b) in buckets.iter().enumerate() {
            let tokens: u64 = b.iter().map(|d| d.tokens).sum();
            let largest = b.iter().map(|d| d.tokens).max().unwrap_or(0);
            let target = (rates[k] * tokens as f64).round() as u64;
            let rb = &groups[g]["buckets"][k];
            assert_eq!(rb["target"], target, "{g}/{k}");
            let (docs_after, tokens_after) =
                written.get(&(g.clone(), k)).copied().unwrap_or((0, 0));
            assert_eq!(rb["tokens_after"], tokens_after, "{g}/{k}");
            assert_eq!(rb["documents_after"], docs_after, "{g}/{k}");
            // At least the target, and short of it plus one document.
            assert!(
                tokens_after >= target && (tokens_after == target || tokens_after < target + largest),
                "{g}/{k}: {tokens_after} written for a target of {target} (largest document {largest})"
            );
            if k == 0 {
                assert_eq!(tokens_after, 0);
            }
            upsampled |= k == 4 && docs_after > b.len() as u64;
        }
    }
    assert!(upsampled, "the top buckets were written 7 times");
    // Rate-0 drops are counted under their bucket's rule.
    let body = serde_json::to_string(&m).unwrap();
    assert!(body.contains("bucket:text/html/0"), "{body}");
}

#[test]
fn a_dolma_mixer_config_with_buckets_places_every_document_as_the_pipeline_does() {
    let dir = workdir();
    let (_, m) = run_buckets(dir.path());
    // The same attribute files where dolma's layout looks for them.
    let attrs = dir.path().join("attributes/exp");
    std::fs::create_dir_all(&attrs).unwrap();
    for e in std::fs::read_dir(dir.path().join("out/attributes/exp")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), attrs.join(e.file_name())).unwrap();
        }
    }
    // The pipeline's rule `short` as a jq filter, and its buckets as the stream's.
    let buckets: String = BUCKETS
        .lines()
        .map(|l| format!("      {}\n", l.trim_start()))
        .collect();
    let mixer = format!(
        r#"streams:
  - name: s
    documents: [documents/*]
    attributes: [exp]
    seed: 5
    filter:
      syntax: jq
      exclude: [".attributes.exp__whitespace_tokenizer_v1__length[0][2] < 20"]
    buckets:
{buckets}    output: {{path: dmix, max_size_in_bytes: 0}}
"#
    );
    std::fs::write(dir.path().join("mix.yaml"), mixer).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "mix.yaml", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let dm: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dmix/manifest.json")).unwrap())
            .unwrap();
    let (a, b) = (&m["mix"]["buckets"], &dm["mix"]["buckets"]);
    assert!(a["groups"].as_object().is_some_and(|g| g.len() >= 3), "{a}");
    assert_eq!(a["cuts"], b["cuts"]);
    // The same breakpoints, and the same documents, tokens and targets per bucket. Which
    // documents of a fractional rate get the extra copy differs: a dolma config's draws are
    // keyed by the input's name and the id, the pipeline file's by the id.
    let docs = eligible(dir.path());
    let mine = independent_breakpoints(&docs);
    for (g, (_, buckets)) in &mine {
        let (ga, gb) = (&a["groups"][g], &b["groups"][g]);
        assert_eq!(ga["breakpoints"], gb["breakpoints"], "{g}");
        for (k, docs) in buckets.iter().enumerate() {
            let (x, y) = (&ga["buckets"][k], &gb["buckets"][k]);
            for f in ["documents", "tokens", "target", "rate"] {
                assert_eq!(x[f], y[f], "{g}/{k} {f}");
            }
            let target = y["target"].as_u64().unwrap();
            let after = y["tokens_after"].as_u64().unwrap();
            let largest = docs.iter().map(|d| d.tokens).max().unwrap_or(0);
            assert!(
                after >= target && (after == target || after < target + largest),
                "{g}/{k}: {after} written for a target of {target}"
            );
        }
    }
    // What the manifest says was written is what the output holds.
    let mut written = 0u64;
    for e in std::fs::read_dir(dir.path().join("dmix")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("s-") {
            written += text_lines(&p).len() as u64;
        }
    }
    let said: u64 = b["groups"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|g| g["buckets"].as_array().unwrap())
        .map(|x| x["documents_after"].as_u64().unwrap())
        .sum();
    assert_eq!(written, said);
    assert!(
        said > mine
            .values()
            .map(|(_, b)| b.iter().map(Vec::len).sum::<usize>() as u64)
            .sum::<u64>()
            / 2
    );
}

#[test]
fn a_mix_partitioned_by_bucket_puts_each_document_in_its_bucket_directory() {
    let dir = workdir();
    let o = run(
        dir.path(),
        &config(&format!("{BUCKETS}    field: metadata.bucket\n")),
        "2",
    );
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    let o = loam(
        dir.path(),
        &[
            "reshard",
            v.join("documents").to_str().unwrap(),
            "parts",
            "--partition-by",
            "metadata.bucket",
            "--max-lines",
            "7",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The bucket of every eligible document, computed here from the attribute files.
    let docs = eligible(dir.path());
    let mine = independent_breakpoints(&docs);
    let mut bucket_of: BTreeMap<String, String> = BTreeMap::new();
    for (g, (_, buckets)) in &mine {
        for (k, b) in buckets.iter().enumerate() {
            for d in b {
                bucket_of.insert(d.id.clone(), format!("{g}/{k}"));
            }
        }
    }
    // Every shard under parts/<group>/<k>/ holds only that bucket's documents, at most 7.
    let mut seen = 0usize;
    let mut dirs = std::collections::BTreeSet::new();
    let mut stack = vec![dir.path().join("parts")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.file_name().unwrap() == "reshard.json" {
                continue;
            }
            let rel = p
                .parent()
                .unwrap()
                .strip_prefix(dir.path().join("parts"))
                .unwrap();
            let rel = rel.to_str().unwrap().to_string();
            let lines = text_lines(&p);
            assert!(!lines.is_empty() && lines.len() <= 7, "{}", p.display());
            for l in lines {
                let d: Value = serde_json::from_str(&l).unwrap();
                assert_eq!(d["metadata"]["bucket"], rel.as_str());
                assert_eq!(bucket_of[d["id"].as_str().unwrap()], rel, "{l}");
                seen += 1;
            }
            dirs.insert(rel);
        }
    }
    let written: usize = std::fs::read_dir(v.join("documents"))
        .unwrap()
        .map(|e| text_lines(&e.unwrap().path()).len())
        .sum();
    assert_eq!(seen, written);
    // Buckets at rate 0 write nothing; the others have their directory.
    assert!(dirs.len() >= 8, "{dirs:?}");
    assert!(dirs.iter().all(|d| !d.ends_with("/0")), "{dirs:?}");
}

#[test]
fn buckets_are_the_same_bytes_for_one_and_two_threads() {
    let a = workdir();
    let b = workdir();
    let cfg = config(&format!(
        "{BUCKETS}    weight: documents\n    sample: {{size: 50, seed: 2}}\n"
    ));
    let oa = run(a.path(), &cfg, "1");
    assert!(oa.status.success(), "{}", text(&oa));
    let ob = run(b.path(), &cfg, "2");
    assert!(ob.status.success(), "{}", text(&ob));
    let ta = snapshot(&a.path().join("out"), false);
    let tb = snapshot(&b.path().join("out"), false);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb[k] == *v,
            "{k} differs between --threads 1 and --threads 2"
        );
    }
    let va = version_dir(&a.path().join("out/m"), "v1");
    let m: Value =
        serde_json::from_slice(&std::fs::read(va.join("manifest.json")).unwrap()).unwrap();
    let rec = &m["mix"]["buckets"];
    assert_eq!(rec["sample"]["size"], 50);
    assert_eq!(rec["groups"]["text/html"]["sampled"], 50);
}

#[test]
fn bad_bucket_configs_are_refused_naming_the_field() {
    let dir = workdir();
    for (buckets, field, says) in [
        (
            format!("{BUCKETS}    cout: 3\n"),
            "mix.buckets.cout",
            "unknown field",
        ),
        (
            BUCKETS.replace("[0, 0.5, 1, 2.5, 7]", "[0, 1, 7]"),
            "mix.buckets.rates",
            "3 rate(s) for 5 bucket(s)",
        ),
        (
            BUCKETS.replace(SCORE, "exp__quality__score"),
            "mix.buckets.score",
            "not produced by this pipeline",
        ),
        (
            BUCKETS.replace("count: 5", "count: 5\n    percentiles: [40, 80]"),
            "mix.buckets",
            "not both",
        ),
    ] {
        let o = run(dir.path(), &config(&buckets), "1");
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{field}: ")) && err.contains(says),
            "{field}: {err}"
        );
        assert!(!dir.path().join("out/m").exists());
    }
}
