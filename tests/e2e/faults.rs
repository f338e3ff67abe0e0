//! Fault injection: what a bad day does to a run, and what loam must make of it — identical
//! bytes after the rerun, or a loud, accurate refusal; never a silent difference.
//!
//! The fault classes and where each is tested:
//!
//! | fault | test |
//! |---|---|
//! | killed (SIGKILL) mid-run, at points spread over its progress | `tests/resume.rs` |
//! | torn writes: truncated outputs and markers, a dead run's temporary files | here |
//! | disk full (ENOSPC, a real tmpfs) | here |
//! | outputs, ledgers, attribute files changed between runs | `rerun.rs` |
//! | inputs changed between runs | `rerun.rs`, `reliability.rs` (fixed bad shard) |
//! | a concurrent run on the same output or Bloom filter | `reliability.rs`, `tests/warc.rs` |
//! | the object store gone mid-run, resumed from its partial state | `tests/s3.rs` |
//! | corrupt bytes in every reader (fuzzing) | `tests/fuzz.rs`, `fuzz/` |

use crate::common::*;
use crate::helpers::{assert_same, files_under, walk};
use std::path::Path;
use std::process::Command;

/// Three copies of the quickstart shards and a pipeline over them: tag, exact dedup,
/// mix with rules.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart_documents(dir.path(), 3);
    std::fs::write(
        dir.path().join("p.yaml"),
        crate::helpers::PIPELINE.replace("THRESHOLD", "50"),
    )
    .unwrap();
    dir
}

/// Cuts `p` to half its length, as a write torn by a crash on a file system without atomic
/// rename would leave it.
fn tear(p: &Path) {
    let b = std::fs::read(p).unwrap();
    std::fs::write(p, &b[..b.len() / 2]).unwrap();
}

/// Files of a run's output, run state included, minus the lock (gone when a run ends).
fn state(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(out, false)
}

#[test]
fn torn_writes_are_redone_or_refused_never_trusted() {
    let reference = setup();
    let o = loam(reference.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let want = state(&reference.path().join("out"));

    let dir = setup();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("out");
    // A mix shard and an attribute file torn, and a dead run's half-written temporary file
    // beside the mix shards: the shards are made again, the temporary file swept.
    let v1 = version_dir(&out.join("m"), "v1");
    let shard = files_under(&v1.join("documents"), ".gz").remove(0);
    tear(&shard);
    let attr = files_under(&out.join("attributes/exp"), ".gz").remove(0);
    tear(&attr);
    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let tmp = shard.with_file_name(format!(".loam-tmp.{dead}.0.part"));
    std::fs::write(&tmp, b"half a shard").unwrap();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!tmp.exists(), "a dead run's temporary file is swept");
    assert_same(&want, &state(&out), "after torn outputs");

    // Torn completion markers cannot be trusted, nor can what they describe: a refusal
    // naming each one (markers are written whole, so something else changed them), then
    // `--overwrite` remakes the same bytes.
    let markers: Vec<_> = walk(&out, ".json", true)
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == ".loam"))
        .collect();
    assert!(markers.len() >= 9, "{markers:?}");
    for m in &markers[..3] {
        tear(m);
    }
    let o = loam(dir.path(), &["run", "p.yaml"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    for m in &markers[..3] {
        let name = m
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            t.contains(&format!("{name}: unreadable completion marker")),
            "{name}: {t}"
        );
    }
    assert!(t.contains("--overwrite"), "says what to do: {t}");
    let o = loam(dir.path(), &["run", "p.yaml", "--overwrite"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_same(&want, &state(&out), "after torn markers");
    let o = loam(dir.path(), &["manifest", "verify", v1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Runs `loam run p.yaml` in `dir` with its `out` on a private tmpfs of `bytes` bytes (a
/// user and mount namespace: no root needed, nothing left mounted), then copies what the
/// run left there into `saved`. Returns the run's output.
fn run_on_small_disk(dir: &Path, bytes: u64, saved: &Path) -> std::process::Output {
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::create_dir_all(saved).unwrap();
    let script = r#"set -u
mount -t tmpfs -o size="$SIZE" tmpfs out || { echo "tmpfs: mount failed" >&2; exit 97; }
"$LOAM" run p.yaml
rc=$?
cp -a out/. "$SAVED"/ || exit 98
exit $rc"#;
    let o = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .current_dir(dir)
        .env("SIZE", bytes.to_string())
        .env("LOAM", env!("CARGO_BIN_EXE_loam"))
        .env("SAVED", saved)
        .output()
        .expect("unshare (util-linux) runs");
    let code = o.status.code();
    assert!(
        code != Some(97) && code != Some(98),
        "the tmpfs could not be set up (unprivileged user namespaces off?): {}",
        text(&o)
    );
    o
}

#[test]
fn a_full_disk_fails_loudly_and_the_rerun_resumes_to_identical_bytes() {
    let reference = setup();
    let o = loam(reference.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let want = state(&reference.path().join("out"));
    let total: u64 = want.values().map(|v| v.len() as u64).sum();

    // A disk with room for about half the run's output.
    let dir = setup();
    let saved = tempfile::tempdir().unwrap();
    let o = run_on_small_disk(dir.path(), (total / 2).max(64 * 1024), saved.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "a full disk is a failed run: {t}");
    assert!(t.contains("No space left on device"), "says why: {t}");
    assert!(
        t.contains("/out/") || t.contains("out/"),
        "names the file: {t}"
    );
    assert!(!t.contains("panicked"), "an error, not a panic: {t}");
    let left = snapshot(saved.path(), false);
    assert!(
        !left.keys().any(|k| k.ends_with("manifest.json")),
        "no manifest after a failed run: {:?}",
        left.keys().collect::<Vec<_>>()
    );
    assert!(!left.is_empty(), "the disk filled mid-run, after some work");
    let stray: Vec<&String> = left.keys().filter(|k| k.contains(".loam-tmp.")).collect();
    assert!(
        stray.is_empty(),
        "a failed unit removes its temporary files: {stray:?}"
    );

    // Room again: the partial state moved to a real disk, the rerun finishes the same bytes.
    let out = dir.path().join("out");
    std::fs::remove_dir_all(&out).unwrap();
    crate::helpers::copy_tree(saved.path(), &out);
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let got = state(&out);
    let stray: Vec<&String> = got.keys().filter(|k| k.contains(".loam-tmp.")).collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
    assert_same(&want, &got, "after a full disk");
}
