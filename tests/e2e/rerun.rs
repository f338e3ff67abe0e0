//! A rerun trusts no completion marker blindly: a changed input, or an output, ledger or
//! attribute file changed since its unit committed, is made again, so the final manifest
//! always describes the bytes on disk (issue 19's first two defects, for every command).

use crate::common::*;
use crate::helpers::{files_under, text_lines, walk, write_config};
use std::io::Write;
use std::path::Path;

/// Flips one byte in the middle of `p` (same size).
fn flip(p: &Path) {
    let mut b = std::fs::read(p).unwrap();
    let k = b.len() / 2;
    b[k] ^= 0x20;
    std::fs::write(p, b).unwrap();
}

fn verify_ok(dir: &Path, mix: &Path) {
    let o = loam(dir, &["manifest", "verify", mix.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn loam_run_redoes_what_changed_since_its_markers() {
    let dir = workdir();
    write_config(dir.path(), 10);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v1 = version_dir(&dir.path().join("out/m"), "v1");
    let want = snapshot(&v1, true);

    // An output shard changed in place, a ledger deleted, an attribute file changed with its
    // size kept: each is made again, byte for byte, and the manifest verifies.
    let shard = files_under(&v1.join("documents"), ".gz").remove(0);
    flip(&shard);
    let ledger = files_under(&v1.join("ledger"), ".parquet").remove(0);
    std::fs::remove_file(&ledger).unwrap();
    let attr = files_under(&dir.path().join("out/attributes/exp"), ".gz").remove(0);
    flip(&attr);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(snapshot(&v1, true) == want, "the mix after repair");
    verify_ok(dir.path(), &v1);
    let summary = String::from_utf8_lossy(&o.stdout).to_string();
    let line = |p: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(p))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("tag").ends_with("1/3"), "{summary}");
    assert!(line("dedupe").ends_with("0/3"), "{summary}");
    assert!(!line("mix").ends_with("0/3"), "{summary}");

    // An input that gained a document: tagged, deduplicated and mixed again, under a new
    // content id that a fresh run also gives.
    let input = files_under(&dir.path().join("documents"), ".gz").remove(0);
    let before = text_lines(&input).len();
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(
            b"{\"id\": \"appended-1\", \"text\": \"a new document with enough words to pass the length rule of this test pipeline\"}\n",
        )
        .unwrap();
        f.write_all(&gz.finish().unwrap()).unwrap();
    }
    assert_eq!(text_lines(&input).len(), before + 1);
    let o = loam(dir.path(), &["run", "pipeline.yaml", "--overwrite"]);
    assert!(o.status.success(), "{}", text(&o));
    let fresh = tempfile::tempdir().unwrap();
    copy_tree_of(
        &dir.path().join("documents"),
        &fresh.path().join("documents"),
    );
    write_config(fresh.path(), 10);
    let o = loam(fresh.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let fresh_v1 = version_dir(&fresh.path().join("out/m"), "v1");
    let name = fresh_v1.file_name().unwrap();
    let rerun_v1 = dir.path().join("out/m").join(name);
    assert!(
        rerun_v1.exists(),
        "the rerun did not write the fresh run's content id {name:?}"
    );
    assert!(snapshot(&rerun_v1, true) == snapshot(&fresh_v1, true));
    verify_ok(dir.path(), &rerun_v1);
}

fn copy_tree_of(src: &Path, dst: &Path) {
    crate::helpers::copy_tree(src, dst);
}

#[test]
fn dolma_commands_redo_what_changed_since_their_markers() {
    let dir = recipe_dir();
    let mut args = vec!["run"];
    args.extend_from_slice(&RECIPE);
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let want = recipe_outputs(dir.path());
    // A tag output and the mix's ledger changed behind loam's back: made again.
    flip(&dir.path().join("corpus/attributes/quality/sample.jsonl.gz"));
    std::fs::remove_file(files_under(&dir.path().join("out/web/ledger"), ".parquet").remove(0))
        .unwrap();
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(recipe_outputs(dir.path()) == want, "repaired outputs");
    verify_ok(dir.path(), &dir.path().join("out/web"));
    // A dedupe output changed: its published Bloom filter already holds the run's keys, so
    // the stage cannot be redone against it; loam says so and writes nothing.
    flip(
        &dir.path()
            .join("corpus/attributes/dedupe_paras/edge.jsonl.gz"),
    );
    let o = loam(dir.path(), &args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bloom/paras.bin already holds"),
        "{}",
        text(&o)
    );
    // Without the filter the stage is made again from scratch: the same bytes as before.
    std::fs::remove_file(dir.path().join("bloom/paras.bin")).unwrap();
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(recipe_outputs(dir.path()) == want, "rebuilt dedupe");

    // An input that gained a document: its tag unit runs again, and both dedupe stages,
    // once their filters are gone (they hold the old keys).
    let input = dir.path().join("corpus/documents/edge.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"id\": \"x\", \"text\": \"one\"}\n")
        .unwrap();
    let extra = gz.finish().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    f.write_all(&extra).unwrap();
    drop(f);
    let o = loam(dir.path(), &args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("edge.jsonl.gz"), "{}", text(&o));
    std::fs::remove_dir_all(dir.path().join("bloom")).unwrap();
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let line = |p: &str| {
        out.lines()
            .find(|l| l.starts_with(p))
            .unwrap_or("")
            .to_string()
    };
    // (its tag unit ran again in the refused run, before the dedupe stage refused)
    assert!(line("dedupe dedupe_docs").ends_with("2/2"), "{out}");
    assert!(line("dedupe dedupe_paras").ends_with("2/2"), "{out}");
    assert_eq!(
        text_lines(&dir.path().join("corpus/attributes/quality/edge.jsonl.gz")).len(),
        text_lines(&input).len()
    );
    verify_ok(dir.path(), &dir.path().join("out/web"));
}

#[test]
fn minhash_signatures_are_resumable_units() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("near.yaml"),
        "documents: [documents/*]\ndedupe:\n  name: near\n  minhash: {attribute_name: near_dup, num_bands: 20, rows_per_band: 5}\n",
    )
    .unwrap();
    let run = |want_sigs: &str| {
        let o = loam(dir.path(), &["dedupe", "-c", "near.yaml"]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let sigs = out
            .lines()
            .find(|l| l.starts_with("dedupe signatures (MinHash)"))
            .unwrap_or("")
            .to_string();
        assert!(sigs.ends_with(want_sigs), "want {want_sigs}: {out}");
        out
    };
    let attrs = || {
        files_under(&dir.path().join("attributes/near"), "")
            .iter()
            .map(|f| (f.clone(), std::fs::read(f).unwrap()))
            .collect::<Vec<_>>()
    };
    let out = run("3/3");
    // (a long stage label continues on the next line)
    assert!(
        out.contains("MinHash") && out.contains("near-duplicates"),
        "{out}"
    );
    let want = attrs();
    assert_eq!(want.len(), 3);
    let sig_files = walk(
        &dir.path().join("attributes/near/.loam/minhash"),
        ".sig",
        true,
    );
    assert_eq!(sig_files.len(), 3, "{sig_files:?}");

    // An attribute file lost: the marks are made again from the signatures on disk, not
    // from the shards; the same bytes.
    std::fs::remove_file(&want[0].0).unwrap();
    run("0/3");
    assert!(attrs() == want);

    // A damaged and a missing signature file are made again (only those two).
    std::fs::remove_file(&want[1].0).unwrap();
    flip(&sig_files[0]);
    std::fs::remove_file(&sig_files[1]).unwrap();
    run("2/3");
    assert!(attrs() == want);
    // Everything done: nothing runs.
    let o = loam(dir.path(), &["dedupe", "-c", "near.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(attrs() == want);
}
