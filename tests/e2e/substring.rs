//! Exact-substring dedup (`dedupe.substring`): on real web pages with planted passages, the
//! spans are the definition's (every later copy of a repeated window of `min_length` bytes,
//! computed here independently), planted copies go while their first copy and the rest of
//! each document stay, 1, 4 and 16 tasks and any number of key ranges give the same bytes,
//! a document left too short is dropped by a rule, and bad keys are refused.

use crate::common::*;
use crate::helpers::{ok, text_lines};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

const N: usize = 64;

/// A planted copy: the document it went into, the passage, and the text it went into.
struct Planted {
    id: String,
    passage: String,
    host: String,
}

/// The tagger sample's 147 pages, plus for every fifth page a new document: a 200-character
/// passage of the page spliced in at a line start of a text of its own (seeded draws of the
/// sample's words, so nothing else in it repeats); and for every seventh page a short document
/// that is mostly a copy of its start. Round-robin into 6 shards, so copies land in other
/// shards, before and after their first copy in canonical order. Returns every document, the
/// shards, and the planted passages with their host texts.
fn corpus(dir: &Path) -> (Vec<Value>, Vec<Vec<Value>>, Vec<Planted>) {
    let src = repo().join("tests/fixtures/tagger-sample/documents/sample.jsonl.gz");
    let docs: Vec<Value> = text_lines(&src)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut vocab: Vec<&str> = docs
        .iter()
        .flat_map(|d| d["text"].as_str().unwrap().split_whitespace())
        // Short words only: a long one (a URL) could repeat a page's passage by itself.
        .filter(|w| w.len() < 16)
        .collect();
    vocab.sort_unstable();
    vocab.dedup();
    let mut x: u64 = 0x5eed;
    let mut host = || {
        let mut t = String::new();
        for i in 0..120 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t.push_str(vocab[(x % vocab.len() as u64) as usize]);
            t.push(if i % 15 == 14 { '\n' } else { ' ' });
        }
        t
    };
    let mut all = Vec::new();
    let mut planted = Vec::new();
    for (k, d) in docs.iter().enumerate() {
        all.push(d.clone());
        let text = d["text"].as_str().unwrap();
        let chars: Vec<char> = text.chars().collect();
        if k % 5 == 0 && chars.len() > 600 {
            let passage: String = chars[chars.len() / 3..chars.len() / 3 + 200]
                .iter()
                .collect();
            let h = host();
            let at = h.find('\n').map_or(0, |i| i + 1);
            let (a, b) = h.split_at(at);
            let id = format!("planted-{k}");
            all.push(json!({"id": id, "text": format!("{a}{passage}\n{b}"), "source": "planted"}));
            planted.push(Planted {
                id,
                passage,
                host: h.clone(),
            });
        }
        if k % 7 == 0 && chars.len() > 300 {
            let head: String = chars[..200].iter().collect();
            all.push(
                json!({"id": format!("short-{k}"), "text": format!("{head} end."), "source": "planted"}),
            );
        }
    }
    let out = dir.join("documents");
    std::fs::create_dir_all(&out).unwrap();
    let mut shards: Vec<Vec<Value>> = vec![Vec::new(); 6];
    for (i, d) in all.iter().enumerate() {
        shards[i % 6].push(d.clone());
    }
    for (i, s) in shards.iter().enumerate() {
        let body: String = s.iter().map(|d| format!("{d}\n")).collect();
        std::fs::write(out.join(format!("shard-{i:02}.jsonl")), body).unwrap();
    }
    (all, shards, planted)
}

fn pipeline(dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: sub\n  substring: {{attribute_name: rep, min_length: {N}{extra}}}\nmix:\n  name: m\n  version: v1\n  drop: [{{rule: too_short_after_dedup, attribute: rep__kept_chars, op: lt, value: 100}}]\n  span_replacement: [{{span: $.attributes.rep, min_score: 0.5, replacement: \"\"}}]\n"
        ),
    )
    .unwrap();
}

/// The definition, computed here: per document (canonical order: shards, then lines), the
/// byte ranges of windows of `N` bytes seen at an earlier position, merged, shrunk to whole
/// code points, in code points.
fn expected(shards: &[Vec<Value>]) -> BTreeMap<String, Vec<(usize, usize)>> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = BTreeMap::new();
    for s in shards {
        for d in s {
            let t = d["text"].as_str().unwrap().as_bytes();
            let mut ranges: Vec<(usize, usize)> = Vec::new();
            for g in 0..t.len().saturating_sub(N - 1) {
                if !seen.insert(t[g..g + N].to_vec()) {
                    match ranges.last_mut() {
                        Some(r) if g <= r.1 => r.1 = g + N,
                        _ => ranges.push((g, g + N)),
                    }
                }
            }
            let cont = |b: u8| (b & 0xC0) == 0x80;
            let cp = |b: usize| t[..b].iter().filter(|&&c| !cont(c)).count();
            let spans: Vec<(usize, usize)> = ranges
                .into_iter()
                .filter_map(|(mut a, mut e)| {
                    while a < e && cont(t[a]) {
                        a += 1;
                    }
                    while e > a && e < t.len() && cont(t[e]) {
                        e -= 1;
                    }
                    (a < e).then(|| (cp(a), cp(e)))
                })
                .collect();
            if !spans.is_empty() {
                out.insert(d["id"].as_str().unwrap().to_string(), spans);
            }
        }
    }
    out
}

fn spans(dir: &Path) -> BTreeMap<String, Vec<(usize, usize)>> {
    let mut out = BTreeMap::new();
    for f in crate::helpers::files_under(&dir.join("out/attributes/sub"), ".jsonl") {
        for l in text_lines(&f) {
            let v: Value = serde_json::from_str(&l).unwrap();
            if let Some(s) = v["attributes"]["rep"].as_array() {
                let s = s
                    .iter()
                    .map(|x| {
                        (
                            x[0].as_u64().unwrap() as usize,
                            x[1].as_u64().unwrap() as usize,
                        )
                    })
                    .collect();
                out.insert(v["id"].as_str().unwrap().to_string(), s);
            }
        }
    }
    out
}

/// `id → text` of the mix.
fn mixed(dir: &Path) -> BTreeMap<String, String> {
    let root = version_dir(&dir.join("out/m"), "v1").join("documents");
    let mut out = BTreeMap::new();
    for f in crate::helpers::files_under(&root, ".jsonl") {
        for l in text_lines(&f) {
            let v: Value = serde_json::from_str(&l).unwrap();
            out.insert(
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::minhash_tasks::section_outputs(dir, "sub")
}

#[test]
fn substring_spans_are_the_definition_and_planted_copies_go() {
    let d = tempfile::tempdir().unwrap();
    let (_, shards, planted) = corpus(d.path());
    pipeline(d.path(), "");
    let out = ok(d.path(), &["run", "p.yaml"]);
    assert!(out.contains("repeated passages"), "{out}");
    let want = expected(&shards);
    let got = spans(d.path());
    assert_eq!(got.len(), want.len());
    for (id, w) in &want {
        assert_eq!(got.get(id), Some(w), "{id}");
    }
    let mix = mixed(d.path());
    assert!(planted.len() >= 20, "{}", planted.len());
    let (mut later, mut kept_one) = (0, 0);
    for p in &planted {
        // At most one copy stays: the first in canonical order, the planted one or its
        // page's (none when that page already repeats part of it from earlier text).
        let copies = mix.values().filter(|t| t.contains(&p.passage)).count();
        assert!(copies <= 1, "{}: {copies} copies of its passage left", p.id);
        kept_one += copies;
        let Some(t) = mix.get(&p.id) else {
            panic!("{} dropped", p.id)
        };
        if !t.contains(&p.passage) {
            // The planted copy was the later one: it went, and its own text stayed (give or
            // take the few bytes around the passage that its page shares by chance).
            later += 1;
            assert!(t.len() <= p.host.len() + 1, "{}: {t:?}", p.id);
            assert!(t.len() + 4 >= p.host.len(), "{}: {t:?}", p.id);
            for line in p.host.lines().skip(1) {
                assert!(t.contains(line), "{}: lost {line:?}", p.id);
            }
        }
    }
    assert!(later * 2 >= planted.len(), "{later} of {}", planted.len());
    assert!(
        kept_one * 5 >= planted.len() * 4,
        "{kept_one} of {}",
        planted.len()
    );
    // Short documents that were mostly a copy are dropped by the rule, and the ledger says so.
    let short: Vec<&String> = want
        .keys()
        .filter(|id| id.starts_with("short-") && !mix.contains_key(*id))
        .collect();
    assert!(!short.is_empty());
    let v1 = version_dir(&d.path().join("out/m"), "v1");
    let why = ok(d.path(), &["explain", v1.to_str().unwrap(), short[0]]);
    assert!(why.contains("too_short_after_dedup"), "{why}");
}

#[test]
fn substring_tasks_and_ranges_give_the_same_bytes() {
    let base = tempfile::tempdir().unwrap();
    corpus(base.path());
    pipeline(base.path(), "");
    ok(base.path(), &["run", "p.yaml"]);
    let want = outputs(base.path());
    for (world, parts) in [(1usize, 7usize), (4, 4), (16, 3)] {
        let d = tempfile::tempdir().unwrap();
        corpus(d.path());
        pipeline(d.path(), &format!(", partitions: {parts}"));
        if world == 1 {
            ok(d.path(), &["run", "p.yaml"]);
        } else {
            crate::minhash_tasks::run_as_tasks(d.path(), world, &["suffixes", "matches", "marks"]);
        }
        let got = outputs(d.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (k, v) in &want {
            assert!(got[k] == *v, "{world} task(s), {parts} ranges: {k} differs");
        }
    }
}

#[test]
fn substring_phases_resume_and_redo_what_changed() {
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    pipeline(d.path(), ", partitions: 2");
    // Matches before every suffix file is there: refused, naming the phase.
    ok(
        d.path(),
        &[
            "run", "p.yaml", "--stage", "dedupe", "--phase", "suffixes", "--rank", "0", "--world",
            "2",
        ],
    );
    let o = loam(
        d.path(),
        &[
            "run", "p.yaml", "--stage", "dedupe", "--phase", "matches", "--rank", "0", "--world",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("`suffixes` is not complete"),
        "{}",
        text(&o)
    );
    ok(d.path(), &["run", "p.yaml"]);
    let want = outputs(d.path());
    // A damaged match file is found and made again.
    let m = d
        .path()
        .join("out/attributes/sub/.loam/substring/matches/00001.ssm");
    let mut b = std::fs::read(&m).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0xff;
    std::fs::write(&m, b).unwrap();
    for f in crate::helpers::files_under(&d.path().join("out/attributes/sub"), ".jsonl.gz") {
        std::fs::remove_file(f).unwrap();
    }
    ok(d.path(), &["run", "p.yaml"]);
    assert!(outputs(d.path()) == want);
}

#[test]
fn bad_substring_keys_are_refused_with_their_paths() {
    let d = tempfile::tempdir().unwrap();
    corpus(d.path());
    for (extra, field) in [
        (", min_len: 5", "min_len"),
        (", snap: word", "snap"),
        (", partitions: 0", "dedupe.substring.partitions"),
    ] {
        pipeline(d.path(), extra);
        let o = loam(d.path(), &["run", "p.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{extra}: {}", text(&o));
        assert!(text(&o).contains(field), "{extra}: {}", text(&o));
    }
    std::fs::write(
        d.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: sub\n  substring: {attribute_name: rep, min_length: 4}\nmix: {name: m, version: v1}\n",
    )
    .unwrap();
    let o = loam(d.path(), &["run", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("dedupe.substring.min_length"),
        "{}",
        text(&o)
    );
}
