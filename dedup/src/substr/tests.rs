use super::*;
use std::collections::{BTreeSet, HashSet};

fn cfg(n: usize) -> SubstringConfig {
    SubstringConfig {
        attribute_name: "sub".into(),
        min_length: n,
        merge_gap: 0,
        snap: Snap::None,
        partitions: None,
    }
}

/// The definition, directly: every position whose `n` bytes occurred at an earlier
/// position (canonical order), as `(shard, pos)`.
fn naive(shards: &[Vec<(String, String)>], n: usize) -> BTreeSet<(u32, u32)> {
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut out = BTreeSet::new();
    for (k, docs) in shards.iter().enumerate() {
        let mut base = 0usize;
        for (_, t) in docs {
            let b = t.as_bytes();
            for g in 0..b.len().saturating_sub(n - 1) {
                if !seen.insert(&b[g..g + n]) {
                    out.insert((k as u32, (base + g) as u32));
                }
            }
            base += b.len();
        }
    }
    out
}

fn rng(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn random_shards(seed: u64) -> Vec<Vec<(String, String)>> {
    let mut next = rng(seed);
    let words = ["ab", "ba", "a", "b", "é", "\n", " ", "abba", "z"];
    let mut pool: Vec<String> = Vec::new();
    let shards = 1 + next() % 4;
    (0..shards)
        .map(|k| {
            (0..next() % 6)
                .map(|d| {
                    let mut t = String::new();
                    for _ in 0..next() % 40 {
                        t.push_str(words[(next() % words.len() as u64) as usize]);
                    }
                    // Plant earlier passages, whole or in part.
                    if !pool.is_empty() && next().is_multiple_of(2) {
                        let p = &pool[(next() % pool.len() as u64) as usize];
                        let tail: String = p.chars().skip(p.chars().count() / 3).collect();
                        t.insert_str(0, &tail);
                    }
                    pool.push(t.clone());
                    (format!("{k}-{d}"), t)
                })
                .collect()
        })
        .collect()
}

fn files(shards: &[Vec<(String, String)>]) -> Vec<Vec<u8>> {
    shards
        .iter()
        .map(|d| build_suffix_file(d, "in").unwrap())
        .collect()
}

#[test]
fn matches_are_the_definition_for_any_number_of_ranges() {
    for seed in 1..120u64 {
        let shards = random_shards(seed);
        let bytes = files(&shards);
        let views: Vec<SuffixView> = bytes
            .iter()
            .map(|b| SuffixView::new(b, "f").unwrap())
            .collect();
        for n in [1usize, 3, 8] {
            let want = naive(&shards, n);
            for parts in [1usize, 2, 5, 16] {
                let mut got = BTreeSet::new();
                for p in 0..parts {
                    for (k, f, l) in matches(&views, n, parts, p) {
                        for x in f..=l {
                            assert!(got.insert((k, x)), "seed {seed}: {x:?} in two ranges");
                        }
                    }
                }
                assert_eq!(got, want, "seed {seed}, n {n}, {parts} ranges");
            }
        }
    }
}

#[test]
fn the_first_copy_stays_and_later_copies_go() {
    let passage = "The quick brown fox jumps over the lazy dog near the river bank today.";
    let a = vec![("a".to_string(), format!("Intro one. {passage} Outro one."))];
    let b = vec![
        ("b".to_string(), format!("Start two. {passage} End two.")),
        (
            "c".to_string(),
            "Nothing shared here at all, friend.".to_string(),
        ),
    ];
    let bytes = files(&[a, b]);
    let views: Vec<SuffixView> = bytes
        .iter()
        .map(|b| SuffixView::new(b, "f").unwrap())
        .collect();
    let c = cfg(20);
    let all = matches(&views, c.min_length, 1, 0);
    assert!(all.iter().all(|&(k, _, _)| k == 1), "{all:?}");
    let starts: Vec<(u32, u32)> = all.iter().map(|&(_, f, l)| (f, l)).collect();
    let first = spans_of_shard(&views[0], "f", &[], &c).unwrap();
    assert_eq!(first.spans, 0);
    let second = spans_of_shard(&views[1], "f", &starts, &c).unwrap();
    assert_eq!((second.documents_edited, second.spans), (1, 1));
    let rec = &second.records[0]["attributes"];
    let span = &rec["sub"][0];
    let t = format!("Start two. {passage} End two.");
    let (s, e) = (
        span[0].as_u64().unwrap() as usize,
        span[1].as_u64().unwrap() as usize,
    );
    // The shared bytes: the passage with what happens to surround it in both copies.
    assert_eq!(t.get(s..e), Some(format!(". {passage} ").as_str()));
    assert_eq!(
        rec["sub__kept_chars"][0][2].as_f64().unwrap() as usize,
        t.len() - (e - s)
    );
    assert_eq!(second.records[1]["attributes"], json!({}));
}

#[test]
fn spans_are_in_code_points_and_never_cut_one() {
    let t = "ééééé shared passage ééé".as_bytes();
    // A window starting inside the first é's second byte.
    let r = ranges(t, &[(1, 1)], 12, 0, Snap::None);
    assert_eq!(r, vec![(2, 13)]);
    let shared = "ßß shared text ßß".to_string();
    let docs = vec![
        ("x".to_string(), shared.clone()),
        ("y".to_string(), format!("ññ{shared}")),
    ];
    let bytes = build_suffix_file(&docs, "in").unwrap();
    let v = SuffixView::new(&bytes, "f").unwrap();
    let m: Vec<(u32, u32)> = matches(&[v], 8, 1, 0)
        .into_iter()
        .map(|(_, f, l)| (f, l))
        .collect();
    let out = spans_of_shard(&v, "f", &m, &cfg(8)).unwrap();
    let span = &out.records[1]["attributes"]["sub"][0];
    assert_eq!(
        (span[0].as_u64(), span[1].as_u64()),
        (Some(2), Some(2 + shared.chars().count() as u64))
    );
}

#[test]
fn gaps_merge_and_lines_snap() {
    let t = b"line one\nline two\nline three";
    let r = |runs: &[(usize, usize)], n, gap, snap| ranges(t, runs, n, gap, snap);
    assert_eq!(
        r(&[(0, 0), (12, 12)], 4, 0, Snap::None),
        vec![(0, 4), (12, 16)]
    );
    assert_eq!(r(&[(0, 0), (12, 12)], 4, 8, Snap::None), vec![(0, 16)]);
    // A run of starts: windows from its first to past its last.
    assert_eq!(r(&[(0, 5)], 4, 0, Snap::None), vec![(0, 9)]);
    // From inside line one to inside line three: only line two is whole.
    assert_eq!(r(&[(3, 3)], 20, 0, Snap::Line), vec![(9, 18)]);
    // Through the end of the text: the last line counts as whole.
    assert_eq!(r(&[(9, 9)], 19, 0, Snap::Line), vec![(9, 28)]);
    assert_eq!(r(&[(2, 2)], 4, 0, Snap::Line), vec![]);
    // Sentences and paragraphs.
    let t = b"One here. Two there! Three?\nFour.\n\nFive five. Six.";
    let r = |runs: &[(usize, usize)], n, snap| ranges(t, runs, n, 0, snap);
    assert_eq!(r(&[(2, 2)], 20, Snap::Sentence), vec![(10, 21)]); // "Two there! "
    assert_eq!(r(&[(0, 0)], 30, Snap::Sentence), vec![(0, 28)]); // through "Three?\n"
    assert_eq!(r(&[(0, 0)], 40, Snap::Paragraph), vec![(0, 35)]); // through the blank line
    assert_eq!(r(&[(1, 1)], 40, Snap::Paragraph), vec![]);
    assert_eq!(r(&[(30, 30)], 20, Snap::Paragraph), vec![(35, 50)]); // the last, to the end
}

#[test]
fn runs_compact_in_any_order_and_size() {
    let mut next = rng(7);
    let mut want: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut r = Runs::default();
    for _ in 0..20_000 {
        let x = ((next() % 3) as u32, (next() % 5_000) as u32);
        if want.insert(x) {
            r.push(x);
        }
        if next().is_multiple_of(1000) {
            r.compact();
        }
    }
    let runs = r.finish();
    let got: BTreeSet<(u32, u32)> = runs
        .iter()
        .flat_map(|&(k, f, l)| (f..=l).map(move |p| (k, p)))
        .collect();
    assert_eq!(got, want);
    // Maximal: no two runs touch.
    for w in runs.windows(2) {
        assert!(w[0].0 != w[1].0 || w[0].2 + 1 < w[1].1, "{w:?}");
    }
}

#[test]
fn damaged_files_are_named() {
    let docs = vec![("a".to_string(), "some text".to_string())];
    let mut b = build_suffix_file(&docs, "in").unwrap();
    let last = b.len() - 9;
    b[last] ^= 1;
    let e = SuffixView::new(&b, "shard.sfx").unwrap_err().to_string();
    assert!(e.contains("shard.sfx") && e.contains("checksum"), "{e}");
    let m = match_file(2, &[(0, 1, 1), (1, 5, 9)]);
    assert_eq!(match_runs(&m, "m", 2, 1).unwrap(), vec![(5, 9)]);
    let e = match_runs(&m, "m.ssm", 3, 1).unwrap_err().to_string();
    assert!(e.contains("m.ssm") && e.contains("2 shards"), "{e}");
}

#[test]
fn a_config_rejects_unknown_keys_and_silly_values() {
    let e = serde_json::from_value::<SubstringConfig>(json!({"attribute_name": "s", "min_len": 5}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("min_len"), "{e}");
    let c: SubstringConfig = serde_json::from_value(json!({"attribute_name": "s"})).unwrap();
    assert_eq!((c.min_length, c.parts()), (200, 1));
    assert!(c.problems().is_empty());
    let c: SubstringConfig =
        serde_json::from_value(json!({"attribute_name": "", "min_length": 3, "partitions": 0}))
            .unwrap();
    assert_eq!(c.problems().len(), 3);
}
