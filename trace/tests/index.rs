//! The index against brute force: counts of random spans (spans across document boundaries
//! included, which must not match), located documents, maximal spans; corrupt files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_trace::build::{Kind, ShardInfo, TraceInfo, TRACE_JSON};
use loam_trace::sa::suffix_array;
use loam_trace::shard::{self, DocMeta, Shard, ShardMeta};
use loam_trace::{Index, TraceError};
use std::path::Path;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random documents over a small alphabet (so spans repeat), some duplicated.
fn documents(rng: &mut Rng, count: usize, alpha: u32) -> Vec<Vec<u32>> {
    let mut docs: Vec<Vec<u32>> = Vec::new();
    for _ in 0..count {
        if !docs.is_empty() && rng.below(5) == 0 {
            let d = docs[rng.below(docs.len())].clone();
            docs.push(d);
            continue;
        }
        let n = rng.below(60);
        docs.push(
            (0..n)
                .map(|_| 1 + rng.below(alpha as usize) as u32)
                .collect(),
        );
    }
    docs
}

/// Writes one shard of `docs` and returns its path.
fn write_shard(dir: &Path, k: usize, docs: &[Vec<u32>], width: usize) -> std::path::PathBuf {
    let mut symbols = Vec::new();
    let mut starts = vec![0u64];
    for d in docs {
        symbols.extend_from_slice(d);
        starts.push(symbols.len() as u64);
    }
    let sa = suffix_array(&symbols, &starts);
    let meta = ShardMeta {
        source: format!("documents/{k}.jsonl.gz"),
        source_sha256: "0".repeat(64),
        documents: (0..docs.len())
            .map(|i| DocMeta {
                id: format!("{k}-{i}"),
                src: format!("documents/{k}.jsonl.gz"),
                line: i as u64 + 1,
            })
            .collect(),
        part: None,
    };
    let path = dir.join(format!("shard-{k:05}.trace"));
    shard::write(&path, width, &symbols, &starts, &sa, &meta).unwrap();
    path
}

fn occurrences(doc: &[u32], q: &[u32]) -> u64 {
    if q.is_empty() || q.len() > doc.len() {
        return 0;
    }
    doc.windows(q.len()).filter(|w| *w == q).count() as u64
}

/// An index directory of several text shards (bytes 'a'..), with its trace.json.
fn index_dir(dir: &Path, shards: &[Vec<Vec<u32>>]) {
    let mut infos = Vec::new();
    for (k, docs) in shards.iter().enumerate() {
        let p = write_shard(dir, k, docs, 1);
        let s = Shard::open(&p).unwrap();
        infos.push(ShardInfo {
            index: p.file_name().unwrap().to_string_lossy().to_string(),
            source: s.meta.source.clone(),
            documents: s.documents() as u64,
            symbols: s.len() as u64,
            digest: loam_manifests::digest_bytes(&std::fs::read(&p).unwrap()),
        });
    }
    let info = TraceInfo {
        format: "loam-trace".into(),
        version: shard::VERSION,
        kind: Kind::Text,
        mix: dir.display().to_string(),
        mix_content_id: "x".into(),
        tokens: None,
        tokenizer: None,
        shards: infos,
    };
    std::fs::write(dir.join(TRACE_JSON), serde_json::to_vec(&info).unwrap()).unwrap();
}

#[test]
fn counts_equal_a_scan_and_never_cross_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for (round, width) in [(0usize, 1usize), (1, 2), (2, 4)] {
        let alpha = [3u32, 200, 70_000][round].min(if width == 1 { 255 } else { u32::MAX });
        let docs = documents(&mut rng, 80, alpha);
        let path = write_shard(dir.path(), round, &docs, width);
        let shard = Shard::open(&path).unwrap();
        let flat: Vec<u32> = docs.concat();
        let mut across = 0;
        for _ in 0..3000 {
            // A span of the concatenation (it may straddle documents), or random symbols.
            let q: Vec<u32> = if rng.below(4) > 0 && !flat.is_empty() {
                let a = rng.below(flat.len());
                let l = 1 + rng.below(12);
                flat[a..(a + l).min(flat.len())].to_vec()
            } else {
                (0..1 + rng.below(4))
                    .map(|_| 1 + rng.below(alpha as usize) as u32)
                    .collect()
            };
            let want: u64 = docs.iter().map(|d| occurrences(d, &q)).sum();
            let in_flat = occurrences(&flat, &q);
            if in_flat > want {
                across += 1;
            }
            let rows = shard.find(&q).unwrap();
            assert_eq!(rows.len() as u64, want, "width {width} q {q:?}");
            // Every row is an occurrence inside one document.
            for row in rows {
                let p = shard.suffix(row).unwrap();
                let d = shard.document_of(p).unwrap();
                let off = p - shard.start(d).unwrap() as usize;
                assert_eq!(&docs[d][off..off + q.len()], &q[..]);
            }
        }
        assert!(
            across > 50,
            "too few spans across boundaries tested: {across}"
        );
    }
}

#[test]
fn index_counts_locates_and_finds_maximal_spans() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(42);
    let shards: Vec<Vec<Vec<u32>>> = (0..3)
        .map(|_| {
            documents(&mut rng, 30, 4)
                .into_iter()
                .map(|d| d.into_iter().map(|s| s + u32::from(b'a') - 1).collect())
                .collect()
        })
        .collect();
    index_dir(dir.path(), &shards);
    let index = Index::open(dir.path()).unwrap();
    let all: Vec<&Vec<u32>> = shards.iter().flatten().collect();
    for _ in 0..500 {
        let q: Vec<u32> = (0..1 + rng.below(8))
            .map(|_| u32::from(b'a') + rng.below(4) as u32)
            .collect();
        let want: u64 = all.iter().map(|d| occurrences(d, &q)).sum();
        assert_eq!(index.count(&q).unwrap(), want, "{q:?}");
        let hits = index.locate(&q, 3).unwrap();
        let holding = all.iter().filter(|d| occurrences(d, &q) > 0).count();
        assert_eq!(hits.len(), holding.min(3), "{q:?}");
        for h in &hits {
            let (k, i) = h.id.split_once('-').unwrap();
            let d = &shards[k.parse::<usize>().unwrap()][i.parse::<usize>().unwrap()];
            assert!(occurrences(d, &q) > 0, "{} does not hold {q:?}", h.id);
            assert_eq!(
                h.matched.as_bytes(),
                q.iter().map(|&s| s as u8).collect::<Vec<_>>()
            );
            assert_eq!(h.line, i.parse::<u64>().unwrap() + 1);
        }
        // Maximal spans: each occurs, and neither extension does.
        let long: Vec<u32> = (0..20)
            .map(|_| u32::from(b'a') + rng.below(4) as u32)
            .collect();
        let spans = index.spans(&long, 1, 1).unwrap();
        let occurs = |s: &[u32]| all.iter().any(|d| occurrences(d, s) > 0);
        for s in &spans {
            assert!(occurs(&long[s.start..s.end]));
            assert_eq!(
                s.count,
                all.iter()
                    .map(|d| occurrences(d, &long[s.start..s.end]))
                    .sum::<u64>()
            );
            if s.start > 0 {
                assert!(!occurs(&long[s.start - 1..s.end]));
            }
            if s.end < long.len() {
                assert!(!occurs(&long[s.start..s.end + 1]));
            }
        }
        // Every occurring single symbol is covered by some span.
        for (i, &c) in long.iter().enumerate() {
            if occurs(&[c]) {
                assert!(spans.iter().any(|s| s.start <= i && i < s.end));
            }
        }
        assert!(spans
            .windows(2)
            .all(|w| w[0].end - w[0].start >= w[1].end - w[1].start));
    }
}

#[test]
fn corrupt_and_truncated_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let docs = documents(&mut rng, 20, 50);
    let path = write_shard(dir.path(), 0, &docs, 2);
    let good = std::fs::read(&path).unwrap();
    let name = path.display().to_string();
    let check = |bytes: &[u8], what: &str| {
        std::fs::write(&path, bytes).unwrap();
        match Shard::open(&path) {
            Err(TraceError::Corrupt { path, message }) => {
                assert_eq!(path, name);
                assert!(message.contains(what), "{message}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{what}: opened"),
        }
    };
    check(&good[..good.len() - 1], "truncated");
    check(&good[..30], "truncated");
    let mut flip = good.clone();
    flip[100] ^= 1;
    check(&flip, "checksum");
    let mut magic = good.clone();
    magic[0] = b'X';
    check(&magic, "magic");
    let mut head = good.clone();
    head[20] ^= 1;
    check(&head, "header checksum");
    check(&[], "truncated");
    // A damaged block of a large file: opening reads only the header, the tables and the
    // metadata head; the first read of the block is the error, naming the file.
    let big = dir.path().join("big");
    std::fs::create_dir_all(&big).unwrap();
    let long: Vec<Vec<u32>> = vec![(0..300_000u64)
        .map(|i| 1 + (i * 7919 % 251) as u32)
        .collect()];
    let big_path = write_shard(&big, 0, &long, 1);
    let big_good = std::fs::read(&big_path).unwrap();
    let s = Shard::open(&big_path).unwrap();
    s.check_all().unwrap();
    let q = &long[0][100..110];
    assert_eq!(s.find(q).unwrap().len() as u64, occurrences(&long[0], q));
    drop(s);
    let mut flip = big_good.clone();
    let at = big_good.len() / 2;
    flip[at] ^= 0x10;
    std::fs::write(&big_path, &flip).unwrap();
    let s = Shard::open(&big_path).unwrap();
    match s.check_all() {
        Err(TraceError::Corrupt { path: p, message }) => {
            assert_eq!(p, big_path.display().to_string());
            assert!(message.contains("checksum mismatch"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let s = Shard::open(&big_path).unwrap();
    let rows = (0..s.len()).map(|i| s.suffix(i)).find(|r| r.is_err());
    assert!(
        matches!(rows, Some(Err(TraceError::Corrupt { .. }))),
        "{rows:?}"
    );
    // An index directory naming a missing shard is an error naming the file.
    std::fs::write(&path, &good).unwrap();
    index_dir(
        dir.path(),
        &[docs
            .iter()
            .map(|d| d.iter().map(|&s| s % 200 + 1).collect())
            .collect()],
    );
    std::fs::remove_file(&path).unwrap();
    let e = Index::open(dir.path()).err().unwrap();
    assert!(e.to_string().contains("shard-00000.trace"), "{e}");
}
