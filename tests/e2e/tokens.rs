//! `loam tokens -c`: dolma's `tokens` output, checked against what dolma 1.2.1 wrote for the
//! same documents and tokenizer files (scripts/make-tokens-goldens.sh), deterministic for any
//! thread count; Megatron's format read back from its definition; `explain --token`.

use crate::common::{loam, repo, text};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An empty work directory (the tokens fixtures bring their own documents).
fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/tokens")
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// One of the fixture tokenizers, unpacked as `dir/<name>.json`.
fn tokenizer_file(dir: &Path, name: &str) -> PathBuf {
    let tok = dir.join(format!("{name}.json"));
    std::fs::write(
        &tok,
        gunzip(&fixture().join(format!("{name}-test-tokenizer.json.gz"))),
    )
    .unwrap();
    tok
}

/// A tokenizer file and the documents, in `dir`.
fn setup(dir: &Path, tokenizer: &str) -> PathBuf {
    let tok = tokenizer_file(dir, tokenizer);
    let docs = dir.join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    for f in ["a.jsonl.gz", "b.jsonl.gz"] {
        std::fs::copy(fixture().join("documents").join(f), docs.join(f)).unwrap();
    }
    tok
}

#[allow(clippy::too_many_arguments)]
fn config(
    dir: &Path,
    name: &str,
    tok: &Path,
    bos: &str,
    eos: u32,
    seg: bool,
    extra: &str,
) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            "documents: [documents/*.jsonl.gz]\ndestination: out-{name}\ntokenizer:\n  name_or_path: {}\n  bos_token_id: {bos}\n  eos_token_id: {eos}\n  pad_token_id: 1\n  segment_before_tokenization: {seg}\nprocesses: 1\n{extra}",
            tok.display()
        ),
    )
    .unwrap();
    p
}

/// Rows (`start,end,id,src,loc`) of a `.csv.gz`.
fn rows(path: &Path) -> Vec<(u64, u64, String, String, u64)> {
    let text = String::from_utf8(gunzip(path)).unwrap();
    let mut out = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        // Ids with commas are quoted: split the numeric ends off, the src has no comma here.
        let (start, rest) = line.split_once(',').unwrap();
        let (end, rest) = rest.split_once(',').unwrap();
        let (rest, loc) = rest.rsplit_once(',').unwrap();
        let (id, src) = rest.rsplit_once(',').unwrap();
        let id = if id.starts_with('"') {
            id[1..id.len() - 1].replace("\"\"", "\"")
        } else {
            id.to_string()
        };
        out.push((
            start.parse().unwrap(),
            end.parse().unwrap(),
            id,
            src.to_string(),
            loc.parse().unwrap(),
        ));
    }
    out
}

fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Every document's tokens, by id, from an output directory's `.npy`/`.csv.gz` pairs.
fn by_id(dir: &Path) -> BTreeMap<String, (Vec<u16>, String, u64)> {
    let mut out = BTreeMap::new();
    let mut metas: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".csv.gz"))
        .collect();
    metas.sort();
    for meta in metas {
        let npy = PathBuf::from(meta.to_string_lossy().replace(".csv.gz", ".npy"));
        let tokens = u16s(&std::fs::read(&npy).unwrap());
        for (start, end, id, src, loc) in rows(&meta) {
            let name = Path::new(&src)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let prev = out.insert(
                id.clone(),
                (tokens[start as usize..end as usize].to_vec(), name, loc),
            );
            assert!(prev.is_none(), "id {id} twice");
        }
    }
    out
}

#[test]
fn tokens_equal_dolma_for_every_document() {
    for (case, tokenizer, bos, eos, seg) in [
        ("neo-eos", "gpt-neo", "null", 50279, false),
        ("neo-bos-segment", "gpt-neo", "50279", 50279, true),
        ("llama-segment", "llama", "1", 2, true),
    ] {
        let dir = workdir();
        let tok = setup(dir.path(), tokenizer);
        let cfg = config(dir.path(), case, &tok, bos, eos, seg, "dtype: uint16\n");
        let o = loam(dir.path(), &["tokens", "-c", cfg.to_str().unwrap()]);
        assert!(o.status.success(), "{case}: {}", text(&o));
        let ours = by_id(&dir.path().join(format!("out-{case}")));
        let dolma = by_id(&fixture().join("dolma-1.2.1").join(case));
        assert_eq!(ours.len(), 114, "{case}: documents written");
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            dolma.keys().collect::<Vec<_>>(),
            "{case}: the same documents"
        );
        for (id, (t, src, loc)) in &dolma {
            let (u, usrc, uloc) = &ours[id];
            assert_eq!((usrc, uloc), (src, loc), "{case}: {id}: source and line");
            assert!(
                t == u,
                "{case}: {id}: tokens differ from dolma's ({} vs {} tokens)",
                u.len(),
                t.len()
            );
        }
        // The two empty documents are counted, not dropped silently.
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("empty text"),
            "{case}: {}",
            text(&o)
        );
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("out-{case}/manifest.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(m["tokens"]["empty_documents"], 2, "{case}");
        assert_eq!(m["tokens"]["documents"], 114, "{case}");
        assert_eq!(m["tokens"]["dtype"], "uint16", "{case}");
        assert_eq!(m["models"][0]["used_by"], "tokenizer", "{case}");
        let v = loam(dir.path(), &["manifest", "verify", &format!("out-{case}")]);
        assert!(v.status.success(), "{case}: {}", text(&v));
    }
}

/// Every file of an output directory except run state.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !p.ends_with("manifest.json") {
            out.insert(
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
    out
}

#[test]
fn same_bytes_for_any_thread_count_split_at_max_size_and_resumed() {
    let dir = workdir();
    let tok = setup(dir.path(), "gpt-neo");
    // Small files, small batches, one file per part: many parts and many files per part.
    let extra = "max_size: 20000\nbatch_size: 7\nfiles_per_process: 1\n";
    let cfg = config(dir.path(), "t", &tok, "null", 50279, false, extra);
    let c = cfg.to_str().unwrap();
    let one = loam(dir.path(), &["--threads", "1", "tokens", "-c", c]);
    assert!(one.status.success(), "{}", text(&one));
    let out = dir.path().join("out-t");
    let a = files(&out);
    assert!(a.contains_key("part-1-00001.npy"), "{:?}", a.keys());
    // Files hold fewer than max_size tokens (dolma's bound), except a document alone.
    for (name, bytes) in &a {
        if name.ends_with(".npy") {
            assert!(
                bytes.len() / 2 < 20000,
                "{name}: {} tokens",
                bytes.len() / 2
            );
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
    let two = loam(dir.path(), &["--threads", "2", "tokens", "-c", c]);
    assert!(two.status.success(), "{}", text(&two));
    assert!(a == files(&out), "1 and 2 threads wrote different bytes");
    let manifest = std::fs::read(out.join("manifest.json")).unwrap();
    // A deleted array is noticed and its part made again, to the same bytes.
    std::fs::remove_file(out.join("part-0-00000.npy")).unwrap();
    let again = loam(dir.path(), &["tokens", "-c", c]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(a == files(&out), "the rebuilt part differs");
    let m2 = std::fs::read(out.join("manifest.json")).unwrap();
    assert_eq!(
        crate::common::manifest_without_run(&manifest),
        crate::common::manifest_without_run(&m2)
    );
}

#[test]
fn megatron_index_reads_back_as_its_definition_says() {
    let dir = workdir();
    let tok = setup(dir.path(), "gpt-neo");
    let cfg = config(
        dir.path(),
        "meg",
        &tok,
        "null",
        50279,
        false,
        "output_format: megatron\n",
    );
    let o = loam(dir.path(), &["tokens", "-c", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("out-meg");
    let idx = std::fs::read(out.join("part-0-00000.idx")).unwrap();
    let bin = u16s(&std::fs::read(out.join("part-0-00000.bin")).unwrap());
    // MMIDIDX\0\0, version 1, dtype code 8 (uint16), sequence count, document count.
    assert_eq!(&idx[..9], b"MMIDIDX\x00\x00");
    let u64_at = |o: usize| u64::from_le_bytes(idx[o..o + 8].try_into().unwrap());
    assert_eq!(u64_at(9), 1);
    assert_eq!(idx[17], 8);
    let n = u64_at(18) as usize;
    assert_eq!(u64_at(26) as usize, n + 1);
    let sizes: Vec<usize> = (0..n)
        .map(|i| i32::from_le_bytes(idx[34 + 4 * i..38 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let ptr0 = 34 + 4 * n;
    let pointers: Vec<usize> = (0..n).map(|i| u64_at(ptr0 + 8 * i) as usize).collect();
    let doc0 = ptr0 + 8 * n;
    let docs: Vec<u64> = (0..=n).map(|i| u64_at(doc0 + 8 * i)).collect();
    assert_eq!(idx.len(), doc0 + 8 * (n + 1));
    assert_eq!(docs, (0..=n as u64).collect::<Vec<_>>());
    // Sequences, read through the index, equal the documents dolma tokenized.
    let dolma = by_id(&fixture().join("dolma-1.2.1/neo-eos"));
    let meta = rows(&out.join("part-0-00000.csv.gz"));
    assert_eq!(meta.len(), n);
    for (i, (_, _, id, _, _)) in meta.iter().enumerate() {
        let seq = &bin[pointers[i] / 2..pointers[i] / 2 + sizes[i]];
        assert_eq!(seq, dolma[id].0.as_slice(), "{id}");
    }
    assert_eq!(sizes.iter().sum::<usize>(), bin.len());
}

#[test]
fn explain_token_names_the_document_and_its_source() {
    let dir = workdir();
    let tok = setup(dir.path(), "gpt-neo");
    let cfg = config(dir.path(), "x", &tok, "null", 50279, false, "");
    let o = loam(dir.path(), &["tokens", "-c", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let meta = rows(&dir.path().join("out-x/part-0-00000.csv.gz"));
    let (start, end, id, src, loc) = &meta[meta.len() / 2];
    let offset = (start + end) / 2;
    // No mix manifest here: the dolma tree of the input documents.
    let e = loam(
        dir.path(),
        &[
            "explain",
            "documents",
            "--token",
            &format!("out-x/part-0-00000.npy:{offset}"),
        ],
    );
    let out = String::from_utf8_lossy(&e.stdout).to_string();
    assert!(out.contains(&format!("document {id}")), "{}", text(&e));
    assert!(out.contains(&format!("{src} line {loc}")), "{}", text(&e));
    let past = loam(
        dir.path(),
        &[
            "explain",
            "documents",
            "--token",
            "out-x/part-0-00000.npy:999999999",
        ],
    );
    assert_eq!(past.status.code(), Some(2), "{}", text(&past));
}

#[test]
fn bad_tokenizers_and_dtypes_are_config_errors_naming_them() {
    let dir = workdir();
    let tok = setup(dir.path(), "gpt-neo");
    let missing = config(
        dir.path(),
        "m",
        Path::new("nope/tokenizer.json"),
        "null",
        1,
        false,
        "",
    );
    let o = loam(dir.path(), &["tokens", "-c", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nope/tokenizer.json"),
        "{}",
        text(&o)
    );
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, b"{\"model\": 3").unwrap();
    let c = config(dir.path(), "c", &corrupt, "null", 1, false, "");
    let o = loam(dir.path(), &["tokens", "-c", c.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("corrupt.json"),
        "{}",
        text(&o)
    );
    // A uint8 array cannot hold a 50k vocabulary: refused, never wrapped.
    let small = config(
        dir.path(),
        "s",
        &tok,
        "null",
        50279,
        false,
        "dtype: uint8\n",
    );
    let o = loam(dir.path(), &["tokens", "-c", small.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("uint8"),
        "{}",
        text(&o)
    );
    assert!(!dir.path().join("out-s").exists());
    // A line without text is a bad line, named with its file and line, exit 1.
    std::fs::write(
        dir.path().join("documents/c.jsonl"),
        "{\"id\": \"x\", \"text\": \"fine\"}\n{\"id\": \"y\"}\n",
    )
    .unwrap();
    let b = config(dir.path(), "b", &tok, "null", 50279, false, "");
    std::fs::write(
        &b,
        std::fs::read_to_string(&b)
            .unwrap()
            .replace("documents/*.jsonl.gz", "documents/*.jsonl*"),
    )
    .unwrap();
    let o = loam(dir.path(), &["tokens", "-c", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("c.jsonl:2: no text field"),
        "{}",
        text(&o)
    );
}

/// Documents of the mix, by id, and their texts.
fn mix_ids(documents: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(documents).unwrap() {
        let p = e.unwrap().path();
        let name = p.to_string_lossy().to_string();
        let bytes = if name.ends_with(".gz") {
            gunzip(&p)
        } else if name.ends_with(".zst") {
            zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap()
        } else if name.ends_with(".jsonl") {
            std::fs::read(&p).unwrap()
        } else {
            continue;
        };
        for line in String::from_utf8(bytes).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            out.insert(
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

#[test]
fn pipeline_file_tokenizes_the_finished_mix_and_traces_tokens_to_decisions() {
    let dir = crate::common::workdir();
    let tok = tokenizer_file(dir.path(), "gpt-neo");
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
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("tokens ("),
        "{}",
        text(&o)
    );
    let mix = crate::common::version_dir(&dir.path().join("out/m"), "v1");
    let version = mix.file_name().unwrap().to_string_lossy().to_string();
    let tokens = dir.path().join("out/tokens/m").join(&version);
    let arrays = by_id(&tokens);
    // Every document of the mix, and only those, is in the arrays, each ending in EOS.
    let kept = mix_ids(&mix.join("documents"));
    assert_eq!(
        arrays.keys().collect::<Vec<_>>(),
        kept.iter()
            .filter(|(_, t)| !t.trim().is_empty())
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    );
    assert!(arrays.values().all(|(t, _, _)| t.last() == Some(&50279)));
    // The mix still verifies (the arrays live beside it, not in it) and so do the arrays.
    let v = loam(dir.path(), &["manifest", "verify", mix.to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
    let v = loam(
        dir.path(),
        &["manifest", "verify", tokens.to_str().unwrap()],
    );
    assert!(v.status.success(), "{}", text(&v));
    let tm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tokens.join("manifest.json")).unwrap()).unwrap();
    let mm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mix.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(tm["parents"][0], mm["mix"]["content_id"]);
    // A token of the arrays leads to its document's decisions in the mix.
    let meta = rows(&tokens.join("part-0-00000.csv.gz"));
    let (start, _, id, _, _) = &meta[0];
    let e = loam(
        dir.path(),
        &[
            "explain",
            mix.to_str().unwrap(),
            "--token",
            &format!("{}:{}", tokens.join("part-0-00000.npy").display(), start),
        ],
    );
    assert!(e.status.success(), "{}", text(&e));
    let out = String::from_utf8_lossy(&e.stdout);
    assert!(out.contains(&format!("document   {id}")), "{}", text(&e));
    assert!(out.contains("decision"), "{}", text(&e));
    // Adding the tokens section did not change the mix's identity: a rerun without it finds
    // the same version done.
    std::fs::write(&cfg, &base).unwrap();
    let again = loam(dir.path(), &["run", cfg.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        crate::common::version_dir(&dir.path().join("out/m"), "v1"),
        mix
    );
}

#[test]
fn a_recipe_ends_with_its_tokens_config() {
    let dir = crate::common::recipe_dir();
    let tok = tokenizer_file(dir.path(), "llama");
    std::fs::write(
        dir.path().join("tokens.yaml"),
        format!(
            "documents: [out/web/*.gz]\ndestination: out/tokens\ntokenizer:\n  name_or_path: {}\n  bos_token_id: 1\n  eos_token_id: 2\n",
            tok.display()
        ),
    )
    .unwrap();
    let mut args = vec!["run"];
    args.extend(crate::common::RECIPE);
    args.push("tokens.yaml");
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("out/tokens/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["tokens"]["bos_token_id"], 1);
    assert_eq!(m["parents"].as_array().map(Vec::len), Some(1));
    let arrays = by_id(&dir.path().join("out/tokens"));
    let kept = mix_ids(&dir.path().join("out/web"));
    assert_eq!(arrays.len(), kept.len());
    assert!(arrays
        .values()
        .all(|(t, _, _)| t.first() == Some(&1) && t.last() == Some(&2)));
}

#[test]
fn tasks_sharing_the_parts_write_the_same_arrays() {
    let dir = workdir();
    let tok = setup(dir.path(), "gpt-neo");
    let extra = "max_size: 30000\nfiles_per_process: 1\n";
    let cfg = config(dir.path(), "w", &tok, "null", 50279, false, extra);
    let c = cfg.to_str().unwrap();
    let one = loam(dir.path(), &["tokens", "-c", c]);
    assert!(one.status.success(), "{}", text(&one));
    let out = dir.path().join("out-w");
    let whole = files(&out);
    std::fs::remove_dir_all(&out).unwrap();
    for rank in ["1", "0"] {
        let t = loam(
            dir.path(),
            &["tokens", "-c", c, "--rank", rank, "--world", "2"],
        );
        assert!(t.status.success(), "{}", text(&t));
        // No manifest until every part is done and a final run writes it.
        assert!(!out.join("manifest.json").exists());
    }
    let last = loam(dir.path(), &["tokens", "-c", c]);
    assert!(last.status.success(), "{}", text(&last));
    assert!(
        String::from_utf8_lossy(&last.stdout).contains("0/2"),
        "{}",
        text(&last)
    );
    assert!(whole == files(&out), "tasks wrote different arrays");
    assert!(out.join("manifest.json").exists());
}

#[test]
fn bundled_tiktoken_encodings_pick_their_dtype() {
    let dir = workdir();
    setup(dir.path(), "gpt-neo");
    let write = |name: &str, extra: &str| {
        let p = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &p,
            format!(
                "documents: [documents/*.jsonl.gz]\ndestination: out-{name}\ntokenizer:\n  name_or_path: cl100k_base\n  eos_token_id: 100257\n  pad_token_id: 100277\n{extra}"
            ),
        )
        .unwrap();
        p
    };
    // dolma's default dtype cannot hold cl100k's ids: refused, naming the right one.
    let small = write("small", "dtype: uint16\n");
    let o = loam(dir.path(), &["tokens", "-c", small.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("uint32"),
        "{}",
        text(&o)
    );
    let auto = write("auto", "");
    let o = loam(dir.path(), &["tokens", "-c", auto.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("out-auto");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["tokens"]["dtype"], "uint32");
    assert_eq!(m["tokens"]["vocab_size"], 100_277);
    let ids: Vec<u32> = std::fs::read(out.join("part-0-00000.npy"))
        .unwrap()
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(ids.len() as u64, m["tokens"]["tokens"].as_u64().unwrap());
    let meta = rows(&out.join("part-0-00000.csv.gz"));
    assert_eq!(meta.len(), 114);
    for (start, end, id, _, _) in &meta {
        let doc = &ids[*start as usize..*end as usize];
        assert_eq!(doc.last(), Some(&100_257), "{id}: ends with EOS");
        assert!(
            doc[..doc.len() - 1].iter().all(|&t| t < 100_257),
            "{id}: ordinary ids"
        );
    }
}
