//! Object-store tests against a real S3-compatible server (SeaweedFS, which checks request
//! signatures). `scripts/test.sh` starts it with `scripts/s3-server.sh` and exports its
//! endpoint and credentials; without them these tests fail (set `LOAM_SKIP_S3=1` to skip).
//! The fault test starts and stops servers of its own with the same script.

use loam_pipeline::layout;
use loam_pipeline::reader::DocumentReader;
use loam_pipeline::storage::{read_all, storage_for, write_atomic, Storage};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct S3 {
    bucket: String,
}

/// The server from the environment; `None` when the tests are skipped on purpose.
fn s3() -> Option<S3> {
    if std::env::var("LOAM_SKIP_S3").as_deref() == Ok("1") {
        eprintln!("LOAM_SKIP_S3=1: object-store test skipped");
        return None;
    }
    let missing: Vec<&str> = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "LOAM_S3_BUCKET",
    ]
    .into_iter()
    .filter(|v| std::env::var(v).map_or(true, |s| s.is_empty()))
    .collect();
    assert!(
        missing.is_empty(),
        "object-store tests need a running S3 server, and {missing:?} are not set: run them via \
         scripts/test.sh (it starts SeaweedFS with scripts/s3-server.sh), or \
         `eval \"$(scripts/s3-server.sh start DIR)\"` first; set LOAM_SKIP_S3=1 to skip them"
    );
    Some(S3 {
        bucket: std::env::var("LOAM_S3_BUCKET").unwrap(),
    })
}

/// A prefix no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t{}-{nanos}-{name}", std::process::id())
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn put(s: &dyn Storage, loc: &str, bytes: &[u8]) {
    write_atomic(s, loc, bytes).unwrap_or_else(|e| panic!("put {loc}: {e}"));
}

fn quickstart_files() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(repo().join("examples/quickstart/documents"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn lists_sorted_with_globs() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("list"));
    let st = storage_for(&root).unwrap();
    for name in [
        "docs/b.jsonl.gz",
        "docs/a.jsonl.gz",
        "docs/sub/c.jsonl",
        "docs/.loam/tag/x.json",
        "docsX/z.jsonl.gz",
    ] {
        put(st, &format!("{root}/{name}"), name.as_bytes());
    }
    let names = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|p| p[root.len() + 1..].to_string())
            .collect()
    };
    let listed = st.list(&format!("{root}/docs")).unwrap();
    assert_eq!(
        names(listed.iter().map(|o| o.path.clone()).collect()),
        ["docs/a.jsonl.gz", "docs/b.jsonl.gz", "docs/sub/c.jsonl"]
    );
    assert_eq!(listed[0].size, "docs/a.jsonl.gz".len() as u64);
    let got = layout::expand(st, &[format!("{root}/docs/*.jsonl.gz")]).unwrap();
    assert_eq!(names(got), ["docs/a.jsonl.gz", "docs/b.jsonl.gz"]);
    let got = layout::expand(st, &[format!("{root}/docs/**/*.jsonl")]).unwrap();
    assert_eq!(names(got), ["docs/sub/c.jsonl"]);
    let got = layout::expand(st, &[format!("{root}/docs*/*.gz")]).unwrap();
    assert_eq!(
        names(got),
        ["docs/a.jsonl.gz", "docs/b.jsonl.gz", "docsX/z.jsonl.gz"]
    );
    // A single object lists as itself; a missing prefix lists nothing; no match is an error.
    assert_eq!(
        st.list(&format!("{root}/docs/a.jsonl.gz")).unwrap().len(),
        1
    );
    assert!(st.list(&format!("{root}/nothing")).unwrap().is_empty());
    assert!(matches!(
        layout::expand(st, &[format!("{root}/nothing/*.gz")]),
        Err(layout::LayoutError::NoMatch { .. })
    ));

    // More keys than one ListObjectsV2 page (1000), written out of order: still sorted.
    let many = format!("{root}/many");
    let mut keys: Vec<String> = (0..1010)
        .map(|i| format!("{:05}", (i * 7919) % 1010))
        .collect();
    std::thread::scope(|sc| {
        for part in keys.chunks(253) {
            let many = &many;
            sc.spawn(move || {
                for k in part {
                    put(st, &format!("{many}/{k}.jsonl"), b"x");
                }
            });
        }
    });
    keys.sort();
    let listed: Vec<String> = st
        .list(&many)
        .unwrap()
        .into_iter()
        .map(|o| {
            o.path[many.len() + 1..]
                .trim_end_matches(".jsonl")
                .to_string()
        })
        .collect();
    assert_eq!(listed, keys);
}

#[test]
fn streams_gz_and_zst_shards() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("read"));
    let st = storage_for(&root).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in quickstart_files() {
        let loc = format!("{root}/documents/{name}");
        put(st, &loc, &bytes);
        let local = dir.path().join(&name);
        std::fs::write(&local, &bytes).unwrap();
        let read = |s: &dyn Storage, p: &str| {
            let mut r = DocumentReader::open(s, p).unwrap();
            let mut docs = Vec::new();
            while let Some(d) = r.next_document() {
                docs.push(d.unwrap());
            }
            (docs, r.finish().unwrap())
        };
        let (remote, rd) = read(st, &loc);
        let (here, ld) = read(st, local.to_str().unwrap());
        assert!(!remote.is_empty());
        assert_eq!(remote, here, "{name}");
        assert_eq!(rd, ld, "{name}: digest of the stored bytes");
    }
    assert!(st
        .list(&format!("{root}/documents"))
        .unwrap()
        .iter()
        .any(|o| o.path.ends_with(".zst")));

    // Streaming, not a whole download: read the start of a 30 MiB object, replace the
    // object, and read on. Later chunks are fetched only now and are pinned to the first
    // version's ETag, so the read fails instead of splicing two versions together.
    let big = format!("{root}/big.bin");
    let data: Vec<u8> = (0..30u32 << 20).map(|i| (i % 251) as u8).collect();
    put(st, &big, &data);
    let mut r = st.open(&big).unwrap();
    let mut head = vec![0; 1000];
    r.read_exact(&mut head).unwrap();
    assert_eq!(head, data[..1000]);
    put(st, &big, b"replaced");
    let mut rest = Vec::new();
    let e = r
        .read_to_end(&mut rest)
        .expect_err("read of a replaced object fails");
    assert!(
        e.to_string().contains("changed while it was being read"),
        "{e}"
    );
    assert!(1000 + rest.len() < data.len());
    // Random access (Parquet footers, column chunks).
    put(st, &big, &data);
    assert_eq!(
        st.read_range(&big, 12345, 100).unwrap(),
        data[12345..12445].to_vec()
    );
    // A missing object is an error naming it.
    let e = st.open(&format!("{root}/nope.jsonl")).err().unwrap();
    assert!(e.to_string().contains("nope.jsonl"), "{e}");
}

#[test]
fn writes_are_atomic() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("write"));
    let st = storage_for(&root).unwrap();
    // Large: a multipart upload (parts of 16 MiB) that is invisible until completed.
    let big = format!("{root}/out/big.bin");
    let data: Vec<u8> = (0..40u32 << 20).map(|i| (i % 253) as u8).collect();
    let mut w = st.create(&big).unwrap();
    for chunk in data.chunks(1 << 20) {
        w.write_all(chunk).unwrap();
    }
    assert_eq!(st.size(&big).unwrap(), None, "visible before commit");
    assert!(st.list(&format!("{root}/out")).unwrap().is_empty());
    w.commit().unwrap();
    assert_eq!(st.size(&big).unwrap(), Some(data.len() as u64));
    assert!(read_all(st, &big).unwrap() == data, "content after commit");

    // Abandoned writes, small (never sent) and large (upload started, then aborted).
    for (name, len) in [("small.bin", 1000usize), ("large.bin", 20 << 20)] {
        let loc = format!("{root}/abandoned/{name}");
        let mut w = st.create(&loc).unwrap();
        w.write_all(&data[..len]).unwrap();
        drop(w);
        assert_eq!(st.size(&loc).unwrap(), None, "{name}");
    }
    assert!(st.list(&format!("{root}/abandoned")).unwrap().is_empty());

    // Small: one PUT at commit.
    let small = format!("{root}/out/small.json");
    let mut w = st.create(&small).unwrap();
    w.write_all(b"{}").unwrap();
    assert_eq!(st.size(&small).unwrap(), None);
    w.commit().unwrap();
    assert_eq!(read_all(st, &small).unwrap(), b"{}");
    st.delete(&small).unwrap();
    st.delete(&small).unwrap();
    assert_eq!(st.size(&small).unwrap(), None);
}

const PIPELINE: &str = r#"
name: s3test
documents: [DOCS]
output: OUT
tag:
  experiment: exp
  taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]
dedupe:
  name: dd
  documents: {attribute_name: dup, key: $.text}
mix:
  name: m
  version: v1
  drop:
    - {rule: duplicate, attribute: dup, op: exists}
    - {rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: 50}
    - {rule: symbols, attribute: exp__gopher_v1__symbol_to_word_ratio, op: gt, value: 0.1}
"#;

fn write_config(dir: &Path, name: &str, docs: &str, out: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, PIPELINE.replace("DOCS", docs).replace("OUT", out)).unwrap();
    p
}

fn loam(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loam"));
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run loam")
}

/// Every output under `root` (relative name → bytes), without run-state markers.
fn tree(st: &dyn Storage, root: &str) -> BTreeMap<String, Vec<u8>> {
    st.list(root)
        .unwrap()
        .into_iter()
        .map(|o| {
            let rel = o.path[root.len()..].trim_start_matches('/').to_string();
            (rel, read_all(st, &o.path).unwrap())
        })
        .collect()
}

/// A manifest without its `run` object, with `from` replaced by `to` in every string.
fn manifest_sans_run(bytes: &[u8], from: &str, to: &str) -> Value {
    let text = String::from_utf8(bytes.to_vec()).unwrap().replace(from, to);
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("run");
    v
}

/// Ledger rows with the input file's root removed (the one column naming a location).
fn ledger_rows(bytes: &[u8], root: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ledger.parquet");
    std::fs::write(&f, bytes).unwrap();
    let mut rows = Vec::new();
    loam_mixes::ledger::read_ledger(&f, |mut r| {
        r.file = r.file.trim_start_matches(root).to_string();
        rows.push(format!("{r:?}"));
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e} ({} bytes, starting {:?}, ending {:?})",
            bytes.len(),
            &bytes[..bytes.len().min(8)],
            &bytes[bytes.len().saturating_sub(8)..]
        )
    });
    rows
}

#[test]
fn pipeline_on_bucket_matches_local_run() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("pipeline"));
    let st = storage_for(&root).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("documents")).unwrap();
    for (name, bytes) in quickstart_files() {
        std::fs::write(dir.path().join("documents").join(&name), &bytes).unwrap();
        put(st, &format!("{root}/documents/{name}"), &bytes);
    }
    let local_cfg = write_config(dir.path(), "local.yaml", "documents/*", "out");
    let remote_cfg = write_config(
        dir.path(),
        "s3.yaml",
        &format!("{root}/documents/*"),
        &format!("{root}/out"),
    );
    let o = loam(dir.path(), &[], &["run", local_cfg.to_str().unwrap()]);
    assert!(o.status.success(), "local run: {}", text(&o));
    let t = Instant::now();
    let o = loam(dir.path(), &[], &["run", remote_cfg.to_str().unwrap()]);
    assert!(o.status.success(), "s3 run: {}", text(&o));
    eprintln!("pipeline on the bucket: {:.2} s", t.elapsed().as_secs_f64());

    let local = tree(
        &loam_pipeline::LocalStorage,
        dir.path().join("out").to_str().unwrap(),
    );
    let remote = tree(st, &format!("{root}/out"));
    assert_eq!(
        local.keys().collect::<Vec<_>>(),
        remote.keys().collect::<Vec<_>>(),
        "the same outputs"
    );
    let mut shards = 0;
    for (name, bytes) in &local {
        let theirs = &remote[name];
        if name.ends_with("manifest.json") {
            // Input paths differ by their root only; the config file's path and checksum,
            // and the ledgers' digests (they name input files), differ by construction.
            let mut a = manifest_sans_run(bytes, "__none__", "");
            let mut b = manifest_sans_run(theirs, &format!("{root}/"), "");
            for m in [&mut a, &mut b] {
                m.as_object_mut().unwrap().remove("config");
                for o in m["outputs"].as_array_mut().unwrap() {
                    if o["kind"] == "ledger" {
                        o.as_object_mut().unwrap().remove("sha256");
                        o.as_object_mut().unwrap().remove("bytes");
                    }
                }
            }
            for (k, v) in a.as_object().unwrap() {
                assert_eq!(*v, b[k], "{name}: `{k}` differs");
            }
            assert_eq!(a, b, "{name}");
        } else if name.contains("/ledger/") && name.ends_with(".parquet") {
            assert_eq!(
                ledger_rows(bytes, ""),
                ledger_rows(theirs, &format!("{root}/")),
                "{name}"
            );
        } else {
            assert!(bytes == theirs, "{name} differs");
            shards += usize::from(name.contains("/documents/"));
        }
    }
    assert!(shards >= 3, "mix shards compared: {shards}");

    // A rerun skips every unit and changes nothing.
    let o = loam(dir.path(), &[], &["run", remote_cfg.to_str().unwrap()]);
    assert!(o.status.success(), "s3 rerun: {}", text(&o));
    let again = tree(st, &format!("{root}/out"));
    for (name, bytes) in &remote {
        if !name.ends_with("manifest.json") {
            assert!(again[name] == *bytes, "{name} changed on rerun");
        }
    }

    // The mix in the bucket checks out against its manifest: its outputs and its inputs (in
    // the bucket too) are re-read and re-hashed there, not reported missing.
    let manifest = remote
        .keys()
        .find(|k| k.ends_with("/manifest.json"))
        .expect("a manifest in the bucket")
        .clone();
    let rel_dir = manifest.trim_end_matches("/manifest.json").to_string();
    let mix_dir = format!("{root}/out/{rel_dir}");
    let o = loam(dir.path(), &[], &["manifest", "verify", &mix_dir]);
    assert!(o.status.success(), "verify in the bucket: {}", text(&o));
    assert!(text(&o).contains("ok: "), "{}", text(&o));
    // Ledgers are read from the bucket as well: the same decisions as the local run's mix.
    let local_mix = dir.path().join("out").join(&rel_dir);
    let o = loam(
        dir.path(),
        &[],
        &["manifest", "diff", local_mix.to_str().unwrap(), &mix_dir],
    );
    assert!(o.status.success(), "diff local/bucket: {}", text(&o));
    assert!(
        text(&o).contains("no document changed its decision"),
        "{}",
        text(&o)
    );
    // Reproduced from the manifest in the bucket (inputs read there) into a local directory.
    let rep = dir.path().join("reproduced");
    let o = loam(
        dir.path(),
        &[],
        &[
            "reproduce",
            &format!("{mix_dir}/manifest.json"),
            "--output",
            rep.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "reproduce from the bucket: {}",
        text(&o)
    );
    assert!(text(&o).contains("reproduced: "), "{}", text(&o));
    // `loam explain` on the mix in the bucket: id index, ledger and document read there.
    let (_, gz) = &quickstart_files()[0];
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(flate2::read::GzDecoder::new(&gz[..])),
        &mut first,
    )
    .unwrap();
    let id = serde_json::from_str::<Value>(&first).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = loam(dir.path(), &[], &["explain", &mix_dir, &id]);
    assert!(o.status.success(), "explain in the bucket: {}", text(&o));
    assert!(text(&o).contains("decision"), "{}", text(&o));
    // `loam sample` and `loam report` read the same mix there; the report equals the local
    // mix's report but for the paths it names.
    let o = loam(
        dir.path(),
        &[],
        &["sample", &mix_dir, "--rule", "short", "-n", "2"],
    );
    assert!(o.status.success(), "sample in the bucket: {}", text(&o));
    assert!(text(&o).contains("removed by `short`"), "{}", text(&o));
    let html = |mix: &str, name: &str| {
        let out = dir.path().join(name);
        let o = loam(
            dir.path(),
            &[],
            &["report", mix, "-o", out.to_str().unwrap()],
        );
        assert!(o.status.success(), "report on {mix}: {}", text(&o));
        std::fs::read_to_string(out).unwrap()
    };
    let remote_html = html(&mix_dir, "remote.html");
    assert!(!remote_html.contains("not found"), "every listed file read");
    let local_html = html(local_mix.to_str().unwrap(), "local.html");
    let strip = |h: &str, root: &str| h.replace(root, "ROOT");
    let funnel = |h: &str| h.split("<h2").nth(1).unwrap_or("").to_string();
    assert_eq!(
        funnel(&strip(&remote_html, &format!("{root}/out"))),
        funnel(&strip(
            &local_html,
            &dir.path().join("out").to_string_lossy()
        )),
        "the reports' funnels differ"
    );

    // A changed output object and a changed input object are each named; exit non-zero.
    let shard = remote
        .keys()
        .find(|k| k.starts_with(&rel_dir) && k.contains("/documents/"))
        .expect("a mix shard")
        .clone();
    put(st, &format!("{root}/out/{shard}"), b"tampered\n");
    let (input, _) = &quickstart_files()[0];
    put(st, &format!("{root}/documents/{input}"), b"{}\n");
    let o = loam(dir.path(), &[], &["manifest", "verify", &mix_dir]);
    assert!(!o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(&format!("CHANGED  output  {root}/out/{shard}")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "CHANGED  input (documents)  {root}/documents/{input}"
        )),
        "{t}"
    );
}

/// A dolma mixer stream with `global_shuffle`, its outputs and manifest in the bucket: the
/// spools are written to and read back from the bucket (ranged reads), removed once the
/// shards are written, and the shards are the local run's bytes.
#[test]
fn a_global_shuffle_into_a_bucket_writes_the_local_shards() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("shuffle"));
    let st = storage_for(&root).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("documents")).unwrap();
    for (name, bytes) in quickstart_files() {
        std::fs::write(dir.path().join("documents").join(&name), &bytes).unwrap();
    }
    let config = |out: &str| {
        format!(
            "streams:\n  - name: web\n    documents: [documents/*.jsonl.gz]\n    \
             output: {{path: {out}/web}}\n    filter: {{exclude: [\"$@.text[?(@.length < 200)]\"]}}\n    \
             sample_rate: 1.5\n    seed: 3\n    global_shuffle: {{shards: 3, seed: 7}}\n"
        )
    };
    std::fs::write(dir.path().join("local.yaml"), config("out")).unwrap();
    std::fs::write(dir.path().join("s3.yaml"), config(&root)).unwrap();
    let o = loam(dir.path(), &[], &["mix", "-c", "local.yaml"]);
    assert!(o.status.success(), "local run: {}", text(&o));
    let o = loam(
        dir.path(),
        &[],
        &["mix", "-c", "s3.yaml", "--manifest-dir", &root],
    );
    assert!(o.status.success(), "s3 run: {}", text(&o));
    let remote = tree(st, &root);
    assert!(
        !remote.keys().any(|k| k.contains("shuffle-scratch")),
        "scratch left in the bucket: {:?}",
        remote.keys().collect::<Vec<_>>()
    );
    for b in 0..3 {
        let name = format!("web/web-{b:05}.jsonl.gz");
        let local = std::fs::read(dir.path().join("out").join(&name)).unwrap();
        assert!(remote.get(&name) == Some(&local), "{name} differs");
    }
    let o = loam(dir.path(), &[], &["manifest", "verify", &root]);
    assert!(o.status.success(), "verify: {}", text(&o));
    // A rerun skips every unit.
    let o = loam(
        dir.path(),
        &[],
        &["mix", "-c", "s3.yaml", "--manifest-dir", &root],
    );
    assert!(o.status.success(), "s3 rerun: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let shuffle = out.lines().find(|l| l.starts_with("shuffle web")).unwrap();
    assert!(shuffle.ends_with("0/3"), "{out}");
}

#[test]
fn wrong_secret_fails_with_a_clear_message() {
    let Some(s3) = s3() else { return };
    let root = format!("s3://{}/{}", s3.bucket, unique("auth"));
    let st = storage_for(&root).unwrap();
    for (name, bytes) in quickstart_files() {
        put(st, &format!("{root}/documents/{name}"), &bytes);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "s3.yaml",
        &format!("{root}/documents/*"),
        &format!("{root}/out"),
    );
    let o = loam(
        dir.path(),
        &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
        &["run", cfg.to_str().unwrap()],
    );
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains(&format!("{root}/documents")),
        "names the location: {t}"
    );
    assert!(
        t.contains("rejected the credentials or the request signature"),
        "says why: {t}"
    );
    // Nothing was written.
    assert!(st.list(&format!("{root}/out")).unwrap().is_empty());
}

/// A private SeaweedFS started (and stopped) with the project's script.
struct Server {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Server {
    fn start(bucket: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("bash")
            .arg(repo().join("scripts/s3-server.sh"))
            .arg("start")
            .arg(dir.path())
            .env("LOAM_S3_BUCKET", bucket)
            .env_remove("LOAM_S3_PORT")
            .output()
            .unwrap();
        assert!(o.status.success(), "start server: {}", text(&o));
        let env = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Server { dir, env }
    }

    fn stop(&self) {
        let o = Command::new("bash")
            .arg(repo().join("scripts/s3-server.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "stop server: {}", text(&o));
    }

    /// Starts the stopped server again on the data it had stored (new ports, so a new
    /// endpoint in its environment).
    fn restart(&mut self) {
        let o = Command::new("bash")
            .arg(repo().join("scripts/s3-server.sh"))
            .arg("restart")
            .arg(self.dir.path())
            .env_remove("LOAM_S3_PORT")
            .output()
            .unwrap();
        assert!(o.status.success(), "restart server: {}", text(&o));
        self.env = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    fn var(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not exported by s3-server.sh"))
    }

    fn env(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Give up quickly on a dead server (the default retries for three minutes).
        v.extend([
            ("LOAM_S3_MAX_RETRIES", "1"),
            ("LOAM_S3_RETRY_TIMEOUT_SECS", "5"),
        ]);
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.dir.path().join("pid").exists() {
            self.stop();
        }
    }
}

/// Many small shards, so that a run lasts long enough to be interrupted.
fn many_shards(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut lines = Vec::new();
    for (name, bytes) in quickstart_files() {
        let mut text = String::new();
        if name.ends_with(".gz") {
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
        } else {
            zstd::stream::read::Decoder::new(&bytes[..])
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
        }
        lines.extend(text.lines().map(str::to_string));
    }
    (0..n)
        .map(|i| {
            let chunk: Vec<&String> = lines.iter().skip(i).step_by(n).collect();
            let body: String = chunk.iter().map(|l| format!("{l}\n")).collect();
            (format!("part-{i:04}.jsonl"), body.into_bytes())
        })
        .collect()
}

/// Uploads the shards with the private server's credentials, by signed `curl` PUTs (this
/// process's storage client is bound to the suite's server).
fn upload(server: &Server, bucket: &str, prefix: &str, files: &[(String, Vec<u8>)]) {
    let (ep, key, secret) = (
        server.var("AWS_ENDPOINT_URL"),
        server.var("AWS_ACCESS_KEY_ID"),
        server.var("AWS_SECRET_ACCESS_KEY"),
    );
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let f = tmp.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let o = Command::new("curl")
            .args(["-sSf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{key}:{secret}"))
            .arg("-T")
            .arg(&f)
            .arg(format!("{ep}/{bucket}/{prefix}/documents/{name}"))
            .output()
            .unwrap();
        assert!(o.status.success(), "upload {name}: {}", text(&o));
    }
}

/// Every output under `loc` on a private server. Storage clients are built once per process
/// from its environment, so a child process (this test binary, running `dump_tree_helper`)
/// reads the tree with the private server's environment.
fn outputs_of(server: &Server, loc: &str) -> BTreeMap<String, Vec<u8>> {
    // Run a tiny helper: this test binary itself, in a mode that dumps a tree.
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dump_tree_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(server.env())
        .env("LOAM_DUMP_TREE", loc)
        .output()
        .unwrap();
    assert!(o.status.success(), "dump {loc}: {}", text(&o));
    let out: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(std::env::temp_dir().join(dump_name(loc))).unwrap())
            .unwrap();
    let _ = std::fs::remove_file(std::env::temp_dir().join(dump_name(loc)));
    out.into_iter().map(|(k, v)| (k, v.into_bytes())).collect()
}

fn dump_name(loc: &str) -> String {
    format!(
        "loam-s3-dump-{:x}.json",
        loc.bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
    )
}

/// Not a test of its own: `outputs_of` runs it in a child process, whose storage client is
/// configured for the private server (clients are built once per process). Ignored, so a
/// plain `cargo test` does not count it as a passing test; run without `LOAM_DUMP_TREE` it
/// fails rather than pass having done nothing.
#[test]
#[ignore = "helper that outputs_of runs in a child process, not a test"]
fn dump_tree_helper() {
    let loc = std::env::var("LOAM_DUMP_TREE")
        .expect("dump_tree_helper is run by outputs_of with LOAM_DUMP_TREE set; it is not a test");
    let st = storage_for(&loc).unwrap();
    let t: BTreeMap<String, String> = tree(st, &loc)
        .into_iter()
        .map(|(k, v)| {
            // Text outputs as they are; binary ones (gzip, Parquet) as a digest.
            let s = match String::from_utf8(v.clone()) {
                Ok(s) => s,
                Err(_) => format!("sha256:{}", loam_manifests::digest_bytes(&v).sha256),
            };
            (k, s)
        })
        .collect();
    std::fs::write(
        std::env::temp_dir().join(dump_name(&loc)),
        serde_json::to_vec(&t).unwrap(),
    )
    .unwrap();
}

#[test]
fn server_stopped_mid_run_fails_loudly_then_rerun_completes_identically() {
    if s3().is_none() {
        return;
    }
    let bucket = "fault-bucket";
    let prefix = "corpus";
    let root = format!("s3://{bucket}/{prefix}");
    let files = many_shards(120);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "s3.yaml",
        &format!("{root}/documents/*"),
        &format!("{root}/out"),
    );
    let cfg = cfg.to_str().unwrap();

    // Reference: an uninterrupted run.
    let reference = {
        let server = Server::start(bucket);
        upload(&server, bucket, prefix, &files);
        let o = loam(dir.path(), &server.env(), &["run", "-j", "1", cfg]);
        assert!(o.status.success(), "reference run: {}", text(&o));
        outputs_of(&server, &format!("{root}/out"))
    };
    assert!(reference.keys().any(|k| k.ends_with("manifest.json")));

    // Stopped mid-run: the run fails, non-zero, naming the location.
    let mut server = Server::start(bucket);
    {
        upload(&server, bucket, prefix, &files);
        let mut child = Command::new(env!("CARGO_BIN_EXE_loam"))
            .args(["run", "-j", "1", cfg])
            .current_dir(dir.path())
            .envs(server.env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the run is writing (its first tag markers land), then stop the server.
        let t = Instant::now();
        let ep = server.var("AWS_ENDPOINT_URL");
        loop {
            let o = Command::new("curl")
                .args([
                    "-sf",
                    "-o",
                    "/dev/null",
                    "--aws-sigv4",
                    "aws:amz:us-east-1:s3",
                ])
                .arg("--user")
                .arg(format!(
                    "{}:{}",
                    server.var("AWS_ACCESS_KEY_ID"),
                    server.var("AWS_SECRET_ACCESS_KEY")
                ))
                .arg(format!(
                    "{ep}/{bucket}/{prefix}/out/attributes/exp/part-0010.jsonl"
                ))
                .output()
                .unwrap();
            if o.status.success() {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                let o = child.wait_with_output().unwrap();
                panic!(
                    "the run ended before the server could be stopped: {}",
                    text(&o)
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "run never started writing"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server.stop();
        let stopped = Instant::now();
        let o = child.wait_with_output().unwrap();
        let t = text(&o);
        eprintln!(
            "run failed {:.1} s after the server stopped:\n{}",
            stopped.elapsed().as_secs_f64(),
            t.chars().take(3000).collect::<String>()
        );
        assert!(
            !o.status.success(),
            "a run that lost its store must fail: {t}"
        );
        assert!(t.contains(&format!("{root}/")), "names the location: {t}");
        assert!(
            !t.contains("panicked"),
            "fails with an error, not a panic: {t}"
        );
    }

    // The server restarted on what it had stored when it stopped (inputs, the units the
    // run finished, its markers): the rerun resumes from that partial remote state — the
    // tag units done before the stop are not redone — and ends with the reference bytes.
    server.restart();
    let o = loam(dir.path(), &server.env(), &["run", "-j", "1", cfg]);
    assert!(o.status.success(), "rerun: {}", text(&o));
    let summary = String::from_utf8_lossy(&o.stdout).to_string();
    let tag_row = summary
        .lines()
        .find(|l| l.starts_with("tag"))
        .unwrap_or_else(|| panic!("no tag row: {summary}"));
    let (ran, units) = tag_row
        .split_whitespace()
        .last()
        .and_then(|c| c.split_once('/'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()))
        .unwrap_or_else(|| panic!("no units column: {tag_row}"));
    assert_eq!(units, files.len(), "{tag_row}");
    assert!(
        ran < units,
        "the tag units finished before the stop are kept, not redone: {tag_row}"
    );
    let again = outputs_of(&server, &format!("{root}/out"));
    assert_eq!(
        reference.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &reference {
        if name.ends_with("manifest.json") {
            let (a, b) = (
                manifest_sans_run(bytes, "", ""),
                manifest_sans_run(&again[name], "", ""),
            );
            for (k, v) in a.as_object().unwrap() {
                assert_eq!(*v, b[k], "{name}: `{k}` differs");
            }
            assert_eq!(a, b, "{name}");
        } else {
            assert!(again[name] == *bytes, "{name} differs");
        }
    }
}
