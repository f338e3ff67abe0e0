//! The fuzz targets (`fuzz/targets.rs`) run briefly on every change, on stable: seeds made
//! from real files (the bundled shards, a Parquet file, dolma attribute files, the example
//! configs), each mutated by a seeded generator (bit flips, byte runs, truncation,
//! duplication, splicing) — compressed inputs both as bytes and through their decompressed
//! text. Any panic fails the test and saves the input under `target/fuzz-smoke/` for
//! `cargo fuzz run <target> <file>`. The coverage-guided runs are `scripts/fuzz.sh` (nightly).

#[allow(clippy::all)]
#[path = "../fuzz/targets.rs"]
mod targets;

mod common;
use common::repo;
use std::io::{Read, Write};
use std::path::PathBuf;

/// xorshift64*: a fixed sequence for a fixed seed, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that parsers treat specially.
const INTERESTING: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"${",
    b"*",
    b"..",
    b"&a",
    b"!!binary",
    b"\t",
];

/// One to four mutations of `data` (`other` for splicing).
fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(d.len() + 1);
        match rng.below(7) {
            0 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] = rng.next() as u8;
            }
            2 => d.truncate(at),
            3 => {
                let s = INTERESTING[rng.below(INTERESTING.len())];
                d.splice(at..at, s.iter().copied());
            }
            4 if !d.is_empty() => {
                // Duplicate a run.
                let len = 1 + rng.below(64.min(d.len()));
                let from = rng.below(d.len() - len + 1);
                let run: Vec<u8> = d[from..from + len].to_vec();
                d.splice(at..at, run);
            }
            5 if !d.is_empty() => {
                let len = rng.below(64.min(d.len() - at.min(d.len())) + 1);
                let end = (at + len).min(d.len());
                d.drain(at.min(d.len())..end);
            }
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let len = rng.below(256.min(other.len() - from) + 1);
                d.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => {}
        }
    }
    d
}

/// Runs `target` on every seed and on `rounds` mutations of them; a panic saves the input
/// and fails with its path.
fn smoke(name: &str, target: fn(&[u8]), seeds: &[Vec<u8>], rounds: usize, seed: u64) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let run = |input: &[u8]| {
        let caught = std::panic::catch_unwind(|| target(input));
        if let Err(e) = caught {
            let dir = repo().join("target/fuzz-smoke");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{:016x}", xxhash_rust::xxh3::xxh3_64(input)));
            std::fs::write(&file, input).unwrap();
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{name} panicked ({msg}) on the input saved at {}",
                file.display()
            );
        }
    };
    for s in seeds {
        run(s);
    }
    let mut rng = Rng(seed);
    for _ in 0..rounds {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        run(&mutate(&mut rng, a, b));
    }
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The first `n` lines of a bundled shard, as plain JSONL.
fn lines_of(name: &str, n: usize) -> Vec<u8> {
    let bytes = read(repo().join("examples/quickstart/documents").join(name));
    let mut text = String::new();
    if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(&bytes[..])
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
    } else {
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
    }
    // Short documents keep each round fast: cut texts at 400 characters.
    let mut out = String::new();
    for line in text.lines().take(n) {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(t) = v["text"].as_str() {
            v["text"] = t.chars().take(400).collect::<String>().into();
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zst(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 1).unwrap()
}

/// `format` (an index of `targets::FORMATS`) and the file, as `targets::documents` takes them.
fn doc_input(format: u8, file: &[u8]) -> Vec<u8> {
    let mut v = vec![format];
    v.extend_from_slice(file);
    v
}

fn parquet_seed(jsonl: &[u8]) -> Vec<u8> {
    use loam_pipeline::storage::LocalStorage;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let path = path.to_str().unwrap();
    let mut w = loam_pipeline::writer::DocumentWriter::create(&LocalStorage, path).unwrap();
    for line in std::str::from_utf8(jsonl).unwrap().lines() {
        w.write(&loam_pipeline::Document::from_json(line).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    std::fs::read(path).unwrap()
}

#[test]
fn document_readers_survive_mutated_shards() {
    let plain = lines_of("cc_misc.jsonl.gz", 6);
    let other = lines_of("warc_main.jsonl.zst", 4);
    let parquet = parquet_seed(&plain);
    let mut seeds = vec![
        doc_input(0, &plain),
        doc_input(0, &other),
        doc_input(1, &gz(&plain)),
        doc_input(2, &zst(&other)),
        doc_input(3, &parquet),
        doc_input(4, &gz(&other)),
    ];
    // Mutated text, then compressed: the JSON and UTF-8 paths behind each decoder.
    let mut rng = Rng(7);
    for _ in 0..200 {
        let text = mutate(&mut rng, &plain, &other);
        seeds.push(match rng.below(3) {
            0 => doc_input(0, &text),
            1 => doc_input(1, &gz(&text)),
            _ => doc_input(2, &zst(&text)),
        });
    }
    smoke("documents", targets::documents, &seeds, 40_000, 1);
    // Parquet alone: its footer and pages mutated.
    smoke(
        "parquet",
        targets::documents,
        &[doc_input(3, &parquet)],
        10_000,
        2,
    );
}

#[test]
fn attribute_lines_survive_mutation() {
    let mut seeds = Vec::new();
    for name in ["sample", "pii", "toxicity"] {
        let bytes = read(repo().join(format!(
            "tests/fixtures/dolma/data/provided/attributes/{name}/000.json.gz"
        )));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines().take(3) {
            let id = serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_str()
                .unwrap_or("d")
                .to_string();
            seeds.push(format!("{id}\n{line}").into_bytes());
        }
    }
    smoke("attributes", targets::attributes, &seeds, 60_000, 3);
}

#[test]
fn dedup_files_survive_mutation() {
    // Files loam writes, from real documents, without their checksums (the target adds one).
    let text = {
        let mut t = String::new();
        flate2::read::MultiGzDecoder::new(
            &read(repo().join("tests/fixtures/tagger-sample/documents/sample.jsonl.gz"))[..],
        )
        .read_to_string(&mut t)
        .unwrap();
        t
    };
    let lines: Vec<&str> = text.lines().take(6).collect();
    let mut docs: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t: String = v["text"].as_str().unwrap().chars().take(300).collect();
            (v["id"].as_str().unwrap().to_string(), t)
        })
        .collect();
    // A repeat, so the match file has runs.
    docs.push(("again".into(), docs[0].1.clone()));
    let strip = |b: Vec<u8>| b[..b.len() - 8].to_vec();
    let with = |sel: u8, b: Vec<u8>| [vec![sel], strip(b)].concat();
    let sfx = loam_dedup::substr::build_suffix_file(&docs, "in").unwrap();
    let v = loam_dedup::substr::SuffixView::new(&sfx, "f").unwrap();
    let runs = loam_dedup::substr::matches(&[v], 8, 1, 0);
    assert!(!runs.is_empty());
    let ssm = loam_dedup::substr::match_file(1, &runs);
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("s.jsonl");
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&shard, body).unwrap();
    let storage = loam_pipeline::storage::storage_for(shard.to_str().unwrap()).unwrap();
    let (_, keys) = loam_dedup::exact::tasks::key_file(
        storage,
        shard.to_str().unwrap(),
        &loam_dedup::exact::DedupKey::Text,
        &loam_dedup::exact::Keep::First,
        4,
        &loam_pipeline::executor::CountingProgress::default(),
    );
    let job = |mode| loam_dedup::engine::Job {
        mode,
        attribute: "d".into(),
        skip_empty: true,
        min_length: 0,
        min_words: 0,
        num_partitions: 1,
        partition_index: 0,
        plan: loam_dedup::bloom::BloomPlan::new(0, 1000, 0.001),
        filter_file: dir.path().join("f.bloom"),
        read_only: false,
        dolma_bugs: false,
        key_set: loam_dedup::engine::KeySet::Bloom,
    };
    let unit = loam_dedup::exact::DedupUnit {
        input: shard.to_str().unwrap().into(),
        output: dir.path().join("a.jsonl").to_str().unwrap().into(),
    };
    let progress = loam_pipeline::executor::CountingProgress::default();
    let docs_job = job(loam_dedup::engine::Mode::Documents {
        key: loam_dedup::exact::DedupKey::Text,
    });
    let ngram_job = job(loam_dedup::engine::Mode::Paragraphs {
        separator: "\n".into(),
        ngrams: Some(loam_dedup::engine::Ngrams {
            length: 3,
            stride: 2,
            overlap_threshold: 0.5,
            skip_short_paragraphs: false,
        }),
    });
    let (_, docs_plan) = loam_dedup::bloom_tasks::plan_file(storage, &unit, &docs_job, &progress);
    let (_, ngram_plan) = loam_dedup::bloom_tasks::plan_file(storage, &unit, &ngram_job, &progress);
    assert_eq!(
        loam_dedup::bloom_tasks::validate_plan(&ngram_plan, "p").unwrap(),
        6
    );
    let exec = loam_pipeline::executor::Executor::new(1).unwrap();
    let plans = [(docs_plan.clone(), "a"), (ngram_plan.clone(), "b")];
    let mut load = |k: usize| {
        let (b, p) = &plans[k];
        Ok((b.clone(), p.to_string()))
    };
    let (bits, _) = loam_dedup::bloom_tasks::check(2, &mut load, &ngram_job, &exec).unwrap();
    let seeds = vec![
        with(0, sfx),
        with(1, ssm),
        with(2, keys),
        with(4, docs_plan),
        with(4, ngram_plan),
        with(5, bits),
    ];
    smoke("dedup_files", targets::dedup_files, &seeds, 30_000, 5);
}

#[test]
fn config_loaders_survive_mutated_configs() {
    let mut seeds = Vec::new();
    for p in [
        "examples/quickstart.yaml",
        "examples/dolma/tag.yaml",
        "examples/dolma/dedupe.yaml",
        "examples/dolma/mix.yaml",
    ] {
        let mut v = vec![0u8];
        v.extend(read(repo().join(p)));
        seeds.push(v);
    }
    let json = serde_json::to_vec(
        &loam_pipeline::config::read_value(&repo().join("examples/dolma/mix.yaml")).unwrap(),
    )
    .unwrap();
    seeds.push([vec![1u8], json].concat());
    // Interpolations: env, defaults, key references (and so potential cycles).
    seeds.push(
        b"\0streams:\n  - name: ${oc.env:HOME,x}\n    documents: [${streams[0].name}/*]\n    output: {path: ${oc.env:NOPE,out}, max_size_in_bytes: ${d.processes:}}\nprocesses: ${streams.0.output.max_size_in_bytes}\n"
            .to_vec(),
    );
    smoke("configs", targets::configs, &seeds, 20_000, 4);
}

#[test]
fn code_taggers_survive_mutated_source() {
    // The starcoder fixture's files (every 8th, their first 3,000 characters), each under its
    // own extension.
    let bytes = read(repo().join("tests/fixtures/tagger-starcoder/documents/code.jsonl.gz"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut seeds = Vec::new();
    for line in text.lines().step_by(8) {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = doc["text"].as_str().unwrap();
        let end = t.char_indices().nth(3000).map_or(t.len(), |(i, _)| i);
        // The extension byte of `targets::code_taggers`: the kind the id starts with.
        let kind = doc["id"].as_str().unwrap().split('/').next().unwrap();
        let sel = ["py", "java", "js", "html"]
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0) as u8;
        seeds.push([vec![sel], t.as_bytes()[..end].to_vec()].concat());
    }
    smoke("code_taggers", targets::code_taggers, &seeds, 6_000, 6);
}

/// The harness itself: a target that panics on some mutation is caught and reported with
/// the saved input (a smoke run that could not fail would prove nothing).
#[test]
#[should_panic(expected = "on the input saved at")]
fn a_panicking_target_fails_the_smoke_run() {
    fn fragile(d: &[u8]) {
        assert!(!d.contains(&b'}') || d.len() > 5, "found it");
    }
    smoke("fragile", fragile, &[b"{\"a\": 1}".to_vec()], 10_000, 5);
}
