//! `loam trace`: counts against a scan of the mix's text and of its token arrays (random
//! spans, spans across document boundaries), located documents hold the span and name their
//! file, line and source, the same index bytes for any thread count or task split, and a
//! corrupt index is an error naming the file.

use crate::common::{chromium, dump_dom, loam, repo, text, version_dir};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A pipeline mix of the quickstart documents, tokenized with the GPT-NeoX test tokenizer;
/// returns the work directory and the mix directory.
fn mix_with_tokens() -> (tempfile::TempDir, PathBuf) {
    let dir = crate::common::workdir();
    let tok = dir.path().join("gpt-neo.json");
    std::fs::write(
        &tok,
        gunzip(&repo().join("tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz")),
    )
    .unwrap();
    let cfg = crate::helpers::write_config(dir.path(), 20);
    let base = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "{base}tokens:\n  tokenizer: {{name_or_path: {}, eos_token_id: 50279, pad_token_id: 1}}\n",
            tok.display()
        ),
    )
    .unwrap();
    let o = loam(dir.path(), &["run", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mix = version_dir(&dir.path().join("out/m"), "v1");
    (dir, mix)
}

/// The mix's documents in file order: (file relative to the mix, line, id, text).
fn mix_documents(mix: &Path) -> Vec<(String, u64, String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(mix.join("documents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.to_string_lossy().to_string();
        let bytes = if name.ends_with(".gz") {
            gunzip(&f)
        } else if name.ends_with(".zst") {
            zstd::decode_all(std::fs::File::open(&f).unwrap()).unwrap()
        } else {
            std::fs::read(&f).unwrap()
        };
        let rel = format!("documents/{}", f.file_name().unwrap().to_string_lossy());
        for (i, line) in String::from_utf8(bytes).unwrap().lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            out.push((
                rel.clone(),
                i as u64 + 1,
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn count_in<T: PartialEq>(hay: &[T], q: &[T]) -> u64 {
    if q.is_empty() || q.len() > hay.len() {
        return 0;
    }
    hay.windows(q.len()).filter(|w| *w == q).count() as u64
}

fn trace_json(dir: &Path, mix: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["trace", mix.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let o = loam(dir, &all);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A char-boundary substring of `t` of about `len` bytes starting near `at`.
fn piece(t: &str, at: usize, len: usize) -> &str {
    let mut a = at.min(t.len());
    while !t.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (a + len).min(t.len());
    while !t.is_char_boundary(b) {
        b -= 1;
    }
    &t[a..b]
}

#[test]
fn text_index_counts_equal_a_scan_and_hits_hold_the_span_with_provenance() {
    let (dir, mix) = mix_with_tokens();
    let idx = dir.path().join("text-index");
    let o = loam(
        dir.path(),
        &[
            "trace",
            "build",
            mix.to_str().unwrap(),
            "--text",
            "--index",
            idx.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let docs = mix_documents(&mix);
    let by_id: BTreeMap<&str, &(String, u64, String, String)> =
        docs.iter().map(|d| (d.2.as_str(), d)).collect();
    let mut rng = Rng(0x7ace_2026);
    let mut nonzero = 0;
    for round in 0..40 {
        let q = if round % 4 == 3 {
            // Across the boundary of two consecutive documents of one file: only an
            // occurrence inside some document may count.
            let i = rng.below(docs.len() - 1);
            let (a, b) = (&docs[i].3, &docs[i + 1].3);
            format!(
                "{}{}",
                piece(a, a.len().saturating_sub(12), 12),
                piece(b, 0, 12)
            )
        } else {
            let d = &docs[rng.below(docs.len())].3;
            let len = [3, 8, 30, 120][round % 4];
            piece(d, rng.below(d.len()), len).to_string()
        };
        if q.is_empty() {
            continue;
        }
        let want: u64 = docs
            .iter()
            .map(|d| count_in(d.3.as_bytes(), q.as_bytes()))
            .sum();
        let a = trace_json(
            dir.path(),
            &mix,
            &["--index", idx.to_str().unwrap(), "--text", &q, "--count"],
        );
        assert_eq!(a["count"].as_u64(), Some(want), "{q:?}");
        nonzero += usize::from(want > 0);
        if want == 0 || q.len() < 8 {
            continue;
        }
        let a = trace_json(
            dir.path(),
            &mix,
            &[
                "--index",
                idx.to_str().unwrap(),
                "--text",
                &q,
                "--max-docs",
                "3",
                "--min-len",
                "1",
            ],
        );
        let spans = a["spans"].as_array().unwrap();
        // The whole query occurs: it is the one longest span.
        assert_eq!(spans[0]["text"].as_str(), Some(q.as_str()), "{a}");
        assert_eq!(spans[0]["count"].as_u64(), Some(want));
        for h in spans[0]["documents"].as_array().unwrap() {
            let d = by_id[h["id"].as_str().unwrap()];
            assert!(d.3.contains(&q), "{} does not hold {q:?}", d.2);
            assert_eq!(h["file"].as_str(), Some(d.0.as_str()));
            assert_eq!(h["line"].as_u64(), Some(d.1));
            assert_eq!(h["matched"].as_str(), Some(q.as_str()));
            let ledger = &h["ledger"][0];
            assert_eq!(ledger["decision"], "kept", "{h}");
            assert!(
                ledger["source"].as_str().unwrap().contains("documents/"),
                "{h}"
            );
            assert!(ledger["line"].as_u64().unwrap() >= 1);
        }
    }
    assert!(nonzero >= 20, "{nonzero}");
    // The HTML page highlights the span and lists its document.
    let (d, q) = (&docs[0], piece(&docs[0].3, 0, 40).to_string());
    let page = dir.path().join("trace.html");
    let o = loam(
        dir.path(),
        &[
            "trace",
            mix.to_str().unwrap(),
            "--index",
            idx.to_str().unwrap(),
            "--text",
            &q,
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<mark>") && html.contains(&d.2), "{html}");
    // As a browser builds it: the query's span marked in the text, and each document hit
    // listed with its id and its own marked context.
    if let Some(bin) = chromium() {
        let dom = dump_dom(bin, &page, dir.path());
        let marks: Vec<&str> = dom
            .split("<mark>")
            .skip(1)
            .filter_map(|m| m.split("</mark>").next())
            .collect();
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        assert!(marks.len() >= 2, "{dom}");
        assert!(marks.iter().all(|m| *m == esc(&q)), "{marks:?} vs {q:?}");
        assert!(dom.contains(&format!("<li><b>{}</b>", esc(&d.2))), "{dom}");
    }
}

/// Every document's tokens from the arrays' `.npy`/`.csv.gz` pairs.
fn array_documents(tokens: &Path) -> Vec<Vec<u16>> {
    let mut out = Vec::new();
    let mut metas: Vec<PathBuf> = std::fs::read_dir(tokens)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".csv.gz"))
        .collect();
    metas.sort();
    for meta in metas {
        let npy = PathBuf::from(meta.to_string_lossy().replace(".csv.gz", ".npy"));
        let toks: Vec<u16> = std::fs::read(&npy)
            .unwrap()
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        for line in String::from_utf8(gunzip(&meta)).unwrap().split("\r\n") {
            let mut f = line.split(',');
            let (Some(a), Some(b)) = (f.next(), f.next()) else {
                continue;
            };
            let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else {
                continue;
            };
            out.push(toks[a..b].to_vec());
        }
    }
    out
}

#[test]
fn token_index_counts_equal_a_scan_of_the_arrays() {
    let (dir, mix) = mix_with_tokens();
    let o = loam(dir.path(), &["trace", "build", mix.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("tokens indexed"),
        "{}",
        text(&o)
    );
    // The index lives beside the mix (out/trace/m/<version>), which still verifies.
    let version = mix.file_name().unwrap().to_string_lossy().to_string();
    assert!(dir
        .path()
        .join("out/trace/m")
        .join(&version)
        .join("trace.json")
        .is_file());
    let v = loam(dir.path(), &["manifest", "verify", mix.to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
    let arrays = array_documents(&dir.path().join("out/tokens/m").join(version));
    let docs = mix_documents(&mix);
    let mut rng = Rng(99);
    let (mut nonzero, mut located) = (0, 0);
    for round in 0..24 {
        let q = if round % 3 == 0 {
            // A whole document: its tokens are the array's, but for EOS.
            docs[rng.below(docs.len())].3.trim().to_string()
        } else if round % 3 == 2 {
            let i = rng.below(docs.len() - 1);
            let (a, b) = (&docs[i].3, &docs[i + 1].3);
            format!(
                "{}{}",
                piece(a, a.len().saturating_sub(20), 20),
                piece(b, 0, 20)
            )
        } else {
            let d = &docs[rng.below(docs.len())].3;
            piece(d, rng.below(d.len() / 2 + 1), [40, 200][round % 2]).to_string()
        };
        if q.trim().is_empty() {
            continue;
        }
        let a = trace_json(dir.path(), &mix, &["--text", &q, "--min-len", "2"]);
        let ids: Vec<u16> = a["query_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u16)
            .collect();
        let want: u64 = arrays.iter().map(|d| count_in(d, &ids)).sum();
        assert_eq!(a["count"].as_u64(), Some(want), "{q:?} {ids:?}");
        if round % 3 == 0 {
            assert!(want >= 1, "{q:?}");
        }
        nonzero += usize::from(want > 0);
        // Every span's documents hold its text.
        for s in a["spans"].as_array().unwrap() {
            let t = s["text"].as_str().unwrap();
            for h in s["documents"].as_array().unwrap() {
                let d = docs
                    .iter()
                    .find(|d| d.2 == h["id"].as_str().unwrap())
                    .unwrap();
                assert!(d.3.contains(t), "{} does not hold {t:?}", d.2);
                assert!(h["ledger"][0]["line"].as_u64().unwrap() >= 1, "{h}");
                located += 1;
            }
        }
    }
    assert!(nonzero >= 8 && located >= 30, "{nonzero} {located}");
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_index_bytes_for_any_threads_or_task_split_and_corruption_is_named() {
    let (dir, mix) = mix_with_tokens();
    let m = mix.to_str().unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec!["trace", "build", m, "--text"];
        args.extend_from_slice(extra);
        let o = loam(dir.path(), &args);
        assert!(o.status.success(), "{}", text(&o));
    };
    let (one, two, split) = (
        dir.path().join("i1"),
        dir.path().join("i2"),
        dir.path().join("i3"),
    );
    build(&["-j", "1", "--index", one.to_str().unwrap()]);
    build(&["-j", "2", "--index", two.to_str().unwrap()]);
    build(&[
        "--index",
        split.to_str().unwrap(),
        "--rank",
        "1",
        "--world",
        "2",
    ]);
    build(&[
        "--index",
        split.to_str().unwrap(),
        "--rank",
        "0",
        "--world",
        "2",
    ]);
    assert!(!split.join("trace.json").exists());
    build(&["--index", split.to_str().unwrap()]);
    let a = files(&one);
    assert!(a.len() >= 3, "{:?}", a.keys());
    assert_eq!(a, files(&two));
    assert_eq!(a, files(&split));
    // No index: a usage error. A truncated or corrupt shard: exit 1 naming the file.
    let o = loam(dir.path(), &["trace", m, "--text", "the"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("trace build"),
        "{}",
        text(&o)
    );
    let shard = one.join("shard-00000.trace");
    let bytes = std::fs::read(&shard).unwrap();
    let query = || {
        loam(
            dir.path(),
            &[
                "trace",
                m,
                "--index",
                one.to_str().unwrap(),
                "--text",
                "the",
            ],
        )
    };
    let good = query();
    assert!(good.status.success(), "{}", text(&good));
    let named = |o: &std::process::Output| {
        let err = String::from_utf8_lossy(&o.stderr);
        err.contains("shard-00000.trace") && err.contains("corrupt")
    };
    // Truncated, or a damaged header or document table (read by every query): exit 1.
    let flip = |k: usize| {
        let mut b = bytes.clone();
        b[k] ^= 0x40;
        b
    };
    for bad in [bytes[..bytes.len() - 7].to_vec(), flip(20), flip(70)] {
        std::fs::write(&shard, &bad).unwrap();
        let o = query();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(named(&o), "{}", text(&o));
    }
    // A damaged byte elsewhere: a query that reads its block fails naming the file, one
    // that does not gives the same answer; `loam manifest verify` finds it either way.
    std::fs::write(&shard, flip(bytes.len() / 2)).unwrap();
    let o = query();
    assert!(
        (o.status.code() == Some(1) && named(&o)) || o.stdout == good.stdout,
        "{}",
        text(&o)
    );
    let v = loam(dir.path(), &["manifest", "verify", one.to_str().unwrap()]);
    assert!(!v.status.success(), "{}", text(&v));
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("shard-00000.trace")
            || String::from_utf8_lossy(&v.stderr).contains("shard-00000.trace"),
        "{}",
        text(&v)
    );
    // A rebuild replaces the bad shard and keeps the others.
    let o = loam(
        dir.path(),
        &[
            "trace",
            "build",
            m,
            "--text",
            "--index",
            one.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(files(&one), files(&two));
}

#[test]
fn manifest_verify_checks_the_trace_index_with_its_mix() {
    let (dir, mix) = mix_with_tokens();
    let m = mix.to_str().unwrap();
    let o = loam(dir.path(), &["trace", "build", m]);
    assert!(o.status.success(), "{}", text(&o));
    let index = loam_index_dir(&mix);
    assert!(index.join("trace.json").is_file(), "{}", index.display());
    let verify = |target: &Path| {
        loam(
            dir.path(),
            &["manifest", "verify", target.to_str().unwrap()],
        )
    };
    // The mix and the index beside it, then the index alone.
    let o = verify(&mix);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("index file(s) match"), "{out}");
    let o = verify(&index);
    assert!(o.status.success(), "{}", text(&o));
    let j = {
        let o = loam(
            dir.path(),
            &["--json", "manifest", "verify", mix.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(j["ok"], true, "{j}");
    assert!(j["trace_index"]["checked"].as_u64().unwrap() >= 1, "{j}");
    // A changed shard: CHANGED, exit 1, for the mix and for the index.
    let shard = index.join("shard-00000.trace");
    let good = std::fs::read(&shard).unwrap();
    let mut bad = good.clone();
    let k = bad.len() / 2;
    bad[k] ^= 0x01;
    std::fs::write(&shard, &bad).unwrap();
    for target in [&mix, &index] {
        let o = verify(target);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            out.contains("CHANGED  trace index") && out.contains("shard-00000.trace"),
            "{out}"
        );
    }
    std::fs::write(&shard, &good).unwrap();
    // A file the index does not list; a missing shard.
    std::fs::write(index.join("shard-99999.trace"), b"x").unwrap();
    let o = verify(&index);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("EXTRA    trace index"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(index.join("shard-99999.trace")).unwrap();
    std::fs::rename(&shard, dir.path().join("moved.trace")).unwrap();
    let o = verify(&index);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("MISSING  trace index"),
        "{}",
        text(&o)
    );
    std::fs::rename(dir.path().join("moved.trace"), &shard).unwrap();
    assert!(verify(&index).status.success());
    // An index that no longer describes its mix: STALE.
    let json = index.join("trace.json");
    let info = std::fs::read_to_string(&json).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&info).unwrap();
    v["mix_content_id"] = serde_json::Value::String("0".repeat(64));
    std::fs::write(&json, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = verify(&mix);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("STALE    trace index") && out.contains("rebuild"),
        "{out}"
    );
}

/// Where `loam trace build MIX` puts the index of a pipeline's mix.
fn loam_index_dir(mix: &Path) -> PathBuf {
    let version = mix.file_name().unwrap();
    let name = mix.parent().unwrap().file_name().unwrap();
    mix.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("trace")
        .join(name)
        .join(version)
}

#[test]
fn files_larger_than_a_shard_are_split_at_document_boundaries_with_the_same_answers() {
    let (dir, mix) = mix_with_tokens();
    let m = mix.to_str().unwrap();
    let build = |index: &Path, extra: &[&str]| {
        let mut args = vec![
            "trace",
            "build",
            m,
            "--text",
            "--index",
            index.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = loam(dir.path(), &args);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let (one, two, split) = (
        dir.path().join("s1"),
        dir.path().join("s2"),
        dir.path().join("s3"),
    );
    let small = ["--max-symbols", "3000"];
    build(&one, &[&small[..], &["-j", "1"]].concat());
    build(&two, &[&small[..], &["-j", "2"]].concat());
    build(
        &split,
        &[&small[..], &["--rank", "1", "--world", "2"]].concat(),
    );
    build(
        &split,
        &[&small[..], &["--rank", "0", "--world", "2"]].concat(),
    );
    build(&split, &small);
    let a = files(&one);
    assert_eq!(a, files(&two));
    assert_eq!(a, files(&split));
    let docs = mix_documents(&mix);
    let doc_files: std::collections::BTreeSet<&str> = docs.iter().map(|d| d.0.as_str()).collect();
    let shards = a.keys().filter(|k| k.ends_with(".trace")).count();
    assert!(
        shards > 2 * doc_files.len(),
        "{} shards for {} files",
        shards,
        doc_files.len()
    );
    // No shard holds more than 3000 bytes of text unless one document alone does.
    let info: serde_json::Value = serde_json::from_slice(&a["trace.json"]).unwrap();
    let longest = docs.iter().map(|d| d.3.len() as u64).max().unwrap();
    for s in info["shards"].as_array().unwrap() {
        let n = s["symbols"].as_u64().unwrap();
        assert!(n <= 3000 || (s["documents"] == 1 && n <= longest), "{s}");
    }
    let mut rng = Rng(0x5b11_7000);
    let mut nonzero = 0;
    for round in 0..30 {
        let d = &docs[rng.below(docs.len())].3;
        let q = piece(d, rng.below(d.len()), [4, 10, 40][round % 3]).to_string();
        if q.is_empty() {
            continue;
        }
        let want: u64 = docs
            .iter()
            .map(|d| count_in(d.3.as_bytes(), q.as_bytes()))
            .sum();
        let got = trace_json(
            dir.path(),
            &mix,
            &["--index", one.to_str().unwrap(), "--text", &q, "--count"],
        );
        assert_eq!(got["count"].as_u64(), Some(want), "{q:?}");
        nonzero += usize::from(want > 0);
        if want > 0 && q.len() >= 10 {
            let a = trace_json(
                dir.path(),
                &mix,
                &[
                    "--index",
                    one.to_str().unwrap(),
                    "--text",
                    &q,
                    "--min-len",
                    "1",
                ],
            );
            for h in a["spans"][0]["documents"].as_array().unwrap() {
                let d = docs
                    .iter()
                    .find(|d| d.2 == h["id"].as_str().unwrap())
                    .unwrap();
                assert!(d.3.contains(&q) && h["line"].as_u64() == Some(d.1), "{h}");
            }
        }
    }
    assert!(nonzero >= 20, "{nonzero}");
    // A rerun keeps every piece; another shard size rebuilds and leaves no old piece behind.
    let out = build(&one, &small);
    assert!(out.contains(", 0 built, "), "{out}");
    assert_eq!(files(&one), a);
    build(&one, &[]);
    let whole = dir.path().join("whole");
    build(&whole, &[]);
    assert_eq!(files(&one), files(&whole));
    let o = loam(dir.path(), &["manifest", "verify", one.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}
