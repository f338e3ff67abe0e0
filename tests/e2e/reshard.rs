//! `loam reshard`: a group's shards hold exactly its inputs' lines in order, within the size
//! and line limits; the same bytes for any thread count; a rerun needs `--overwrite`; a bad
//! line fails the run naming its file and line, and no `reshard.json` is written.

use crate::common::*;
use crate::helpers::{files_under, text_lines};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The 147 real pages of the tagger sample in four files of three directories (one plain).
fn input(dir: &Path) -> Vec<String> {
    let src = repo().join("tests/fixtures/tagger-sample/documents/sample.jsonl.gz");
    let lines = text_lines(&src);
    let root = dir.join("in");
    for (name, range) in [
        ("a/part-0.jsonl.gz", 0..40),
        ("a/part-1.jsonl", 40..50),
        ("b/c/x.jsonl.gz", 50..120),
        ("top.jsonl.gz", 120..lines.len()),
    ] {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut body = String::new();
        for l in &lines[range] {
            body.push_str(l);
            body.push('\n');
        }
        if name.ends_with(".gz") {
            let mut e = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::default(),
            );
            e.write_all(body.as_bytes()).unwrap();
            e.finish().unwrap();
        } else {
            std::fs::write(&p, body).unwrap();
        }
    }
    lines
}

/// Lines of the files under `root` whose path (relative, `/`-separated) passes `keep`, in
/// sorted path order.
fn lines_under(root: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut files: Vec<(String, std::path::PathBuf)> = ["jsonl.gz", "jsonl"]
        .iter()
        .flat_map(|e| files_under(root, e))
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, p)
        })
        .filter(|(rel, _)| rel.ends_with(".jsonl.gz") || rel.ends_with(".jsonl"))
        .filter(|(rel, _)| keep(rel))
        .collect();
    files.sort();
    files.dedup();
    files.iter().flat_map(|(_, p)| text_lines(p)).collect()
}

fn group(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = loam(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn reshard_keeps_every_line_in_order_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let all = input(dir.path());
    // Run state and manifests beside documents are not documents: left alone.
    std::fs::create_dir_all(dir.path().join("in/a/.loam/mix")).unwrap();
    std::fs::write(dir.path().join("in/a/.loam/mix/part-0.jsonl.gz.json"), "{}").unwrap();
    std::fs::write(dir.path().join("in/manifest.json"), "{}").unwrap();
    let out = ok(
        dir.path(),
        &[
            "--threads",
            "2",
            "reshard",
            "in",
            "out",
            "--max-size",
            "60K",
        ],
    );
    assert!(
        out.contains("147 document(s) of 4 file(s) in 3 group(s)"),
        "{out}"
    );
    let (inp, outp) = (dir.path().join("in"), dir.path().join("out"));
    // Per group (directory), the shards hold the inputs' lines, in order.
    for g in ["", "a", "b/c"] {
        let want = lines_under(&inp, |r| group(r) == g);
        let got = lines_under(&outp, |r| group(r) == g);
        assert!(!want.is_empty());
        assert!(
            want == got,
            "group {g:?}: {} vs {} lines",
            want.len(),
            got.len()
        );
    }
    // Every shard within 60,000 bytes, unless it is one longer line.
    let shards: Vec<_> = files_under(&outp, "jsonl.gz");
    assert!(shards.len() > 4, "{}", shards.len());
    for s in &shards {
        let lines = text_lines(s);
        let size: usize = lines.iter().map(|l| l.len() + 1).sum();
        assert!(size <= 60_000 || lines.len() == 1, "{s:?}: {size} bytes");
        assert!(s
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("shard-"));
    }
    // reshard.json: every output with its size and checksum; inputs the same.
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outp.join("reshard.json")).unwrap()).unwrap();
    assert_eq!(rec["documents"], 147);
    assert_eq!(rec["outputs"].as_array().unwrap().len(), shards.len());
    for o in rec["outputs"].as_array().unwrap() {
        let bytes = std::fs::read(outp.join(o["path"].as_str().unwrap())).unwrap();
        assert_eq!(o["bytes"], bytes.len() as u64);
        assert_eq!(
            o["sha256"].as_str().unwrap(),
            loam_manifests::digest_bytes(&bytes).sha256
        );
    }
    // One thread: the same bytes. A rerun over the output needs --overwrite.
    ok(
        dir.path(),
        &[
            "--threads",
            "1",
            "reshard",
            "in",
            "out1",
            "--max-size",
            "60K",
        ],
    );
    let snap = |d: &str| snapshot(&dir.path().join(d), true);
    assert!(snap("out") == snap("out1"));
    let o = loam(dir.path(), &["reshard", "in", "out1", "--max-size", "60K"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--overwrite"), "{}", text(&o));
    ok(
        dir.path(),
        &["--overwrite", "reshard", "in", "out1", "--max-size", "60K"],
    );
    assert!(snap("out") == snap("out1"));
    // Flat, by lines: every document in sorted-path order, ten to a shard.
    ok(
        dir.path(),
        &[
            "reshard",
            "in",
            "flat",
            "--flat",
            "--max-lines",
            "10",
            "--extension",
            "jsonl",
        ],
    );
    let flat = dir.path().join("flat");
    let got = lines_under(&flat, |_| true);
    assert_eq!(got, lines_under(&inp, |_| true));
    assert_eq!(got.len(), all.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for s in files_under(&flat, "jsonl") {
        assert_eq!(s.parent().unwrap(), flat);
        names.insert(
            s.file_name().unwrap().to_string_lossy().to_string(),
            text_lines(&s).len(),
        );
    }
    assert_eq!(names.len(), 15);
    assert!(names.values().all(|&n| n <= 10));
}

#[test]
fn reshard_refuses_bad_lines_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    input(dir.path());
    let plain = dir.path().join("in/a/part-1.jsonl");
    let mut body = std::fs::read_to_string(&plain).unwrap();
    body.push_str("{\"id\": \"x\", \"no_text\": 1}\n");
    std::fs::write(&plain, body).unwrap();
    let o = loam(dir.path(), &["reshard", "in", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("part-1.jsonl:11"), "{err}");
    assert!(!dir.path().join("out/reshard.json").exists());
    // Bad options: exit 2.
    for args in [
        vec!["reshard", "in", "o2", "--max-size", "0"],
        vec!["reshard", "in", "o2", "--extension", "parquet"],
        vec!["reshard", "in", "in/o2"],
        vec!["reshard", "nothing-here", "o2"],
    ] {
        let o = loam(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}
