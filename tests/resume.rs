//! A run killed with SIGKILL at random points resumes to exactly the bytes of an
//! uninterrupted run: nothing duplicated, nothing lost, no temporary files left behind.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PIPELINE: &str = "name: r\ndocuments: [documents/*]\noutput: out\n\
     tag: {experiment: e, taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]}\n\
     dedupe: {name: d, documents: {attribute_name: dup, key: $.text}}\n\
     mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup, op: exists}, {rule: short, attribute: e__whitespace_tokenizer_v1__length, op: lt, value: 100}]}\n";

fn setup_with(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    // More shards than threads, so a kill lands between units as well as inside them.
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        for k in 0..3 {
            std::fs::copy(
                e.path(),
                docs.join(format!("{k}_{}", e.file_name().to_string_lossy())),
            )
            .unwrap();
        }
    }
    std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
    dir
}

fn run(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", "p.yaml", "--threads", "2"])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Files under `root` (run state included), temporary files left out.
fn count_files(root: &Path) -> usize {
    walk_dirs(root)
        .into_iter()
        .chain(std::iter::once(root.to_path_buf()))
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.flatten())
        .filter(|e| e.path().is_file() && !e.file_name().to_string_lossy().contains(".loam-tmp."))
        .count()
}

/// Starts `loam run p.yaml` in `dir` and kills it (SIGKILL) once `at` files exist under its
/// output, asserting that the kill landed mid-run: the process was still running and had
/// written part of its state, but not the manifest, which a run writes last.
fn run_and_kill(dir: &Path, at: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", "p.yaml", "--threads", "2"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = dir.join("out");
    let deadline = Instant::now() + Duration::from_secs(300);
    while count_files(&out) < at {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {at} files existed: no kill mid-run");
        }
        assert!(Instant::now() < deadline, "no progress to {at} files");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the kill at {at} files"
    );
    let _ = child.kill(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by SIGKILL, not ended by itself"
    );
    let manifests: Vec<_> = snapshot(&out, false)
        .into_keys()
        .filter(|k| k.ends_with("manifest.json"))
        .collect();
    assert!(
        manifests.is_empty(),
        "killed after the manifest: {manifests:?}"
    );
}

#[test]
fn killed_runs_resume_to_identical_bytes() {
    killed_runs_resume(PIPELINE);
}

/// Without a dedup stage the mix tags as it reads (one read per shard, two markers per unit):
/// a kill anywhere, between the two markers included, resumes to the same bytes.
#[test]
fn a_killed_one_read_run_resumes_to_identical_bytes() {
    let one_read = PIPELINE
        .replace(
            "dedupe: {name: d, documents: {attribute_name: dup, key: $.text}}\n",
            "",
        )
        .replace("{rule: dup, attribute: dup, op: exists}, ", "");
    assert!(!one_read.contains("dedupe"), "{one_read}");
    killed_runs_resume(&one_read);
}

fn killed_runs_resume(pipeline: &str) {
    let reference = setup_with(pipeline);
    let o = run(reference.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = snapshot(&reference.path().join("out"), false);
    let total = count_files(&reference.path().join("out"));
    // Kill points spread over the run by its progress (the files it has written), so each
    // lands mid-run however fast the machine is.
    for frac in [0.15, 0.4, 0.65, 0.9] {
        let dir = setup_with(pipeline);
        run_and_kill(dir.path(), ((total as f64 * frac) as usize).max(1));
        let o = run(dir.path());
        assert!(
            o.status.success(),
            "resume after a kill at {frac}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got = snapshot(&dir.path().join("out"), false);
        let stray: Vec<&String> = got.keys().filter(|k| k.contains(".loam-tmp.")).collect();
        assert!(stray.is_empty(), "temporary files left: {stray:?}");
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>(),
            "kill at {frac}"
        );
        for (k, v) in &want {
            assert!(got[k] == *v, "{k} differs after a kill at {frac}");
        }
    }
}

/// `loam run` with Bloom-filter paragraph dedup into a named filter file: killed at any
/// point, the rerun gives the bytes of an uninterrupted run, the filter included (published
/// only once every attribute file and marker is written).
#[test]
fn a_killed_pipeline_with_bloom_dedupe_resumes_to_identical_bytes() {
    let setup = || {
        let dir = tempfile::tempdir().unwrap();
        copy_quickstart_documents(dir.path(), 3);
        std::fs::write(
            dir.path().join("p.yaml"),
            "name: r\ndocuments: [documents/*]\noutput: out\n\
             dedupe:\n  name: d\n  paragraphs: {attribute_name: dup_paras, by_ngram: {ngram_length: 5, stride: 2, overlap_threshold: 0.5}}\n\
             \x20 bloom_filter: {file: filter.bin, estimated_doc_count: 100000, desired_false_positive_rate: 1.0e-6}\n\
             mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup_paras, op: exists}]}\n",
        )
        .unwrap();
        dir
    };
    let state = |d: &Path| {
        (
            snapshot(&d.join("out"), true),
            std::fs::read(d.join("filter.bin")).unwrap(),
        )
    };
    let reference = setup();
    let o = run(reference.path());
    assert!(o.status.success(), "{}", text(&o));
    let want = state(reference.path());
    let total = count_files(&reference.path().join("out"));
    for frac in [0.1, 0.3, 0.5, 0.7, 0.9] {
        let dir = setup();
        run_and_kill(dir.path(), ((total as f64 * frac) as usize).max(1));
        let o = run(dir.path());
        assert!(
            o.status.success(),
            "resume after a kill at {frac}: {}",
            text(&o)
        );
        let got = state(dir.path());
        assert!(got.1 == want.1, "the filter differs after a kill at {frac}");
        assert_eq!(
            want.0.keys().collect::<Vec<_>>(),
            got.0.keys().collect::<Vec<_>>(),
            "kill at {frac}"
        );
        for (k, v) in &want.0 {
            assert!(got.0[k] == *v, "{k} differs after a kill at {frac}");
        }
    }
}

/// `loam dedupe -c` with a saved Bloom filter: the filter is published only after every
/// attribute file and its marker, so a run killed on either side of that step resumes to the
/// same attributes and the same filter — never a filter that already holds the interrupted
/// run's keys (which would mark every document of the rerun as a duplicate).
#[test]
fn a_killed_dedupe_never_leaves_a_filter_ahead_of_its_attributes() {
    let setup = || {
        let dir = tempfile::tempdir().unwrap();
        copy_quickstart_documents(dir.path(), 2);
        std::fs::write(
            dir.path().join("d.yaml"),
            "documents: [documents/*]\n\
             dedupe: {name: dd, documents: {attribute_name: dup, key: $.text}}\n\
             bloom_filter: {file: filter.bin, read_only: false, estimated_doc_count: 10000, desired_false_positive_rate: 1.0e-6}\n",
        )
        .unwrap();
        dir
    };
    let attrs = |d: &Path| snapshot(&d.join("attributes"), true);
    let reference = setup();
    let o = loam(reference.path(), &["dedupe", "-c", "d.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let want_attrs = attrs(reference.path());
    let want_filter = std::fs::read(reference.path().join("filter.bin")).unwrap();
    assert!(!want_attrs.is_empty());
    assert!(
        !reference.path().join("filter.bin.pending").exists(),
        "published"
    );

    // A run stopped just before publishing: its new filter is still pending.
    let unpublished = || {
        let dir = setup();
        assert!(loam(dir.path(), &["dedupe", "-c", "d.yaml"])
            .status
            .success());
        std::fs::rename(
            dir.path().join("filter.bin"),
            dir.path().join("filter.bin.pending"),
        )
        .unwrap();
        dir
    };

    // Killed after the markers, before the filter was published: only the rename is left.
    let dir = unpublished();
    let o = loam(dir.path(), &["dedupe", "-c", "d.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("published"), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.path().join("filter.bin")).unwrap(),
        want_filter
    );
    assert_eq!(attrs(dir.path()), want_attrs);

    // Killed before the markers: the new filter is only pending, so the rerun starts from
    // the old (here: no) filter and marks exactly what an uninterrupted run marks.
    let dir = unpublished();
    std::fs::remove_dir_all(dir.path().join("attributes/dd")).unwrap();
    for e in walk_dirs(dir.path()) {
        if e.ends_with(".loam") {
            std::fs::remove_dir_all(&e).unwrap();
        }
    }
    let o = loam(dir.path(), &["dedupe", "-c", "d.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(attrs(dir.path()), want_attrs);
    assert_eq!(
        std::fs::read(dir.path().join("filter.bin")).unwrap(),
        want_filter
    );
    assert!(!dir.path().join("filter.bin.pending").exists());
}

/// Every directory under `root`, parents first.
fn walk_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    todo.push(e.path());
                    out.push(e.path());
                }
            }
        }
    }
    out
}
