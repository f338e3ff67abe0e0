//! A 4-task pipeline on a real single-node Slurm (started by `scripts/test.sh` through
//! `scripts/slurm-up.sh`) gives the bytes of a local run; a resubmission skips every unit.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn setup() -> tempfile::TempDir {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    for e in std::fs::read_dir(repo.join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        for k in 0..2 {
            std::fs::copy(
                e.path(),
                docs.join(format!("{k}_{}", e.file_name().to_string_lossy())),
            )
            .unwrap();
        }
    }
    std::fs::write(dir.path().join("p.yaml"), PIPELINE).unwrap();
    dir
}

/// Tag, exact document dedup, mix.
const PIPELINE: &str = "name: s\ndocuments: [documents/*]\noutput: out\n\
     tag: {experiment: e, taggers: [char_length_v1, whitespace_tokenizer_v1]}\n\
     dedupe: {name: d, documents: {attribute_name: dup, key: $.text}}\n\
     mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup, op: exists}, {rule: short, attribute: e__whitespace_tokenizer_v1__length, op: lt, value: 100}]}\n";

/// The quickstart shards (twice) under `pipeline`, run locally, and the same submitted to
/// Slurm in `tasks` tasks: (local dir, cluster dir, what `submit` printed).
fn local_and_submitted(
    pipeline: &str,
    tasks: &str,
) -> (tempfile::TempDir, tempfile::TempDir, String) {
    let make = || {
        let dir = setup();
        std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
        dir
    };
    let local = make();
    let o = loam(local.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let cluster = make();
    let o = loam(
        cluster.path(),
        &[
            "--threads",
            "1",
            "slurm",
            "submit",
            "p.yaml",
            "--tasks",
            tasks,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    (local, cluster, out)
}

fn wait_for(dir: &Path) {
    wait_for_configs(dir, &["p.yaml"]);
}

fn wait_for_configs(dir: &Path, configs: &[&str]) {
    let t0 = Instant::now();
    loop {
        let mut args = vec!["slurm", "status"];
        args.extend_from_slice(configs);
        let o = loam(dir, &args);
        let s = String::from_utf8_lossy(&o.stdout).to_string();
        if s.lines().all(|l| l.contains("not in queue")) && !s.is_empty() {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "Slurm jobs still queued:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Fails, with the jobs' logs under `logs`, when the cluster's outputs are not the local
/// run's.
fn assert_same(
    want: &std::collections::BTreeMap<String, Vec<u8>>,
    got: &std::collections::BTreeMap<String, Vec<u8>>,
    logs: &std::path::Path,
) {
    if want == got {
        return;
    }
    let mut msg = String::new();
    for e in std::fs::read_dir(logs).into_iter().flatten().flatten() {
        msg.push_str(&format!(
            "--- {}\n{}\n",
            e.path().display(),
            std::fs::read_to_string(e.path()).unwrap_or_default()
        ));
    }
    panic!(
        "Slurm output differs from the local run\nlocal: {:?}\nslurm: {:?}\n{msg}",
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
}

/// Whether a Slurm cluster is there (a test without one fails unless skipping is asked for).
fn have_slurm() -> bool {
    if std::env::var("LOAM_SLURM").as_deref() != Ok("1") {
        if std::env::var("LOAM_SKIP_SLURM").as_deref() == Ok("1") {
            eprintln!("SKIPPED: LOAM_SKIP_SLURM=1");
            return false;
        }
        panic!("no Slurm cluster: run the tests through scripts/test.sh (it starts one), or set LOAM_SKIP_SLURM=1");
    }
    true
}

/// A dolma recipe as chained job arrays: the bytes of a local `loam run` of it.
#[test]
fn slurm_job_arrays_run_a_dolma_recipe() {
    if !have_slurm() {
        return;
    }
    let local = recipe_dir();
    let mut args = vec!["run"];
    args.extend_from_slice(&RECIPE);
    let o = loam(local.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let cluster = recipe_dir();
    let mut args = vec!["--threads", "1", "slurm", "submit", "--tasks", "2"];
    args.extend_from_slice(&RECIPE);
    let o = loam(cluster.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    // The Bloom dedupe configs as phases: keys, one check-and-insert, marks.
    for stage in [
        "tag",
        "dedupe-keys",
        "dedupe-filter",
        "dedupe-marks",
        "mix",
        "finalize",
    ] {
        assert!(out.contains(stage), "{out}");
    }
    wait_for_configs(cluster.path(), &RECIPE);
    let plans = cluster
        .path()
        .join("corpus/attributes/dedupe_paras/.loam/bloom/plans");
    assert_eq!(std::fs::read_dir(&plans).map(|d| d.count()).unwrap_or(0), 2);
    let want = recipe_outputs(local.path());
    let got = recipe_outputs(cluster.path());
    assert!(want.contains_key("out/web/manifest.json"));
    assert_same(
        &want,
        &got,
        &cluster.path().join("out/web/.loam/slurm/logs"),
    );
}

#[test]
fn slurm_job_arrays_give_the_local_bytes() {
    if !have_slurm() {
        return;
    }
    let (local, cluster, _) = local_and_submitted(PIPELINE, "4");
    wait_for(cluster.path());
    let want = snapshot(&local.path().join("out"), true);
    let got = snapshot(&cluster.path().join("out"), true);
    assert!(
        want.keys().any(|k| k.ends_with("manifest.json")),
        "{:?}",
        want.keys().collect::<Vec<_>>()
    );
    assert_same(&want, &got, &cluster.path().join("out/.loam/slurm/logs"));
    // Resubmitting skips every finished unit and changes nothing.
    let o = loam(
        cluster.path(),
        &["slurm", "submit", "p.yaml", "--tasks", "4"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for(cluster.path());
    assert!(snapshot(&cluster.path().join("out"), true) == want);
    let tag_log = std::fs::read_to_string(cluster.path().join("out/.loam/slurm/logs/tag-0.log"))
        .unwrap_or_default();
    assert!(
        tag_log.contains("0/6"),
        "rerun tag task did work:\n{tag_log}"
    );
}

/// A pipeline with no dedup between tag and mix is one job array whose tasks tag and mix
/// their shards in one read (`tag-mix`), then the final run: the bytes of a local run.
#[test]
fn slurm_tags_and_mixes_in_one_array_without_dedup() {
    if !have_slurm() {
        return;
    }
    let (local, cluster, out) = local_and_submitted(
        "name: s\ndocuments: [documents/*]\noutput: out\n\
         tag: {experiment: e, taggers: [char_length_v1, whitespace_tokenizer_v1]}\n\
         mix: {name: m, version: v1, drop: [{rule: short, attribute: e__whitespace_tokenizer_v1__length, op: lt, value: 100}]}\n",
        "3",
    );
    let arrays: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" job "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(arrays, ["tag-mix", "finalize"], "{out}");
    wait_for(cluster.path());
    let want = snapshot(&local.path().join("out"), true);
    assert!(want.keys().any(|k| k.ends_with("manifest.json")));
    assert_same(
        &want,
        &snapshot(&cluster.path().join("out"), true),
        &cluster.path().join("out/.loam/slurm/logs"),
    );
}

/// A partitioned MinHash dedupe (`dedupe.minhash.partitions: 4`) as one job array per phase
/// (signatures, bands, partitions, merge-1, merge-2, marks) of 4 tasks: the bytes of a local
/// run.
#[test]
fn slurm_dedup_tasks_give_the_local_bytes() {
    if !have_slurm() {
        return;
    }
    let (local, cluster, out) = local_and_submitted(
        "name: s\ndocuments: [documents/*]\noutput: out\n\
         dedupe:\n\
         - {name: exact, documents: {attribute_name: dup, partitions: 2}}\n\
         - {name: near, minhash: {attribute_name: near_dup, num_bands: 16, rows_per_band: 4, partitions: 4}}\n\
         - {name: sub, substring: {attribute_name: repeated, min_length: 64, partitions: 3}}\n\
         - {name: paras, paragraphs: {attribute_name: para_dup}}\n\
         mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup, op: exists}, {rule: near, attribute: near_dup, op: exists}], \
         span_replacement: [{span: $.attributes.repeated, min_score: 0.5, replacement: ''}]}\n",
        "4",
    );
    for phase in [
        "dedupe-keys",
        "dedupe-survivors",
        "dedupe-filter",
        "dedupe-signatures",
        "dedupe-bands",
        "dedupe-partitions",
        "dedupe-merge-1",
        "dedupe-merge-2",
        "dedupe-suffixes",
        "dedupe-matches",
        "dedupe-marks",
    ] {
        assert!(out.contains(phase), "{out}");
    }
    wait_for(cluster.path());
    let want = snapshot(&local.path().join("out"), true);
    let got = snapshot(&cluster.path().join("out"), true);
    assert!(want.keys().any(|k| k.ends_with("manifest.json")));
    assert_same(&want, &got, &cluster.path().join("out/.loam/slurm/logs"));
}

/// Waits until Slurm no longer lists any of the jobs `submit` printed (`<stage> job <id>`).
fn wait_for_jobs(printed: &str) {
    let ids: Vec<&str> = printed
        .lines()
        .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "job").nth(1))
        .collect();
    assert!(!ids.is_empty(), "{printed}");
    let t0 = Instant::now();
    loop {
        let queued = ids.iter().any(|id| {
            std::process::Command::new("squeue")
                .args(["-h", "-j", id])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
                .unwrap_or(false)
        });
        if !queued {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "Slurm jobs still queued: {ids:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `loam slurm trace`: a trace index built by a 3-task job array and a final task is the
/// index a local build makes (shards split small so every task has some), byte for byte.
#[test]
fn slurm_trace_build_gives_the_local_index() {
    if !have_slurm() {
        return;
    }
    let dir = setup();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mix = version_dir(&dir.path().join("out/m"), "v1");
    let m = mix.to_str().unwrap();
    let o = loam(
        dir.path(),
        &[
            "trace",
            "build",
            m,
            "--text",
            "--index",
            "local",
            "--max-symbols",
            "20000",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = loam(
        dir.path(),
        &[
            "--threads",
            "1",
            "slurm",
            "trace",
            m,
            "--text",
            "--index",
            "cluster",
            "--max-symbols",
            "20000",
            "--tasks",
            "3",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for_jobs(&String::from_utf8_lossy(&o.stdout));
    let want = snapshot(&dir.path().join("local"), true);
    assert!(want.len() >= 4, "{:?}", want.keys().collect::<Vec<_>>());
    let got = snapshot(&dir.path().join("cluster"), true);
    // trace.json names its own directory nowhere but in `mix`: the shards and it are equal.
    assert_same(&want, &got, &dir.path().join(".slurm-cluster/logs"));
    // The array built every shard: the final task kept them all.
    let last = std::fs::read_to_string(dir.path().join(".slurm-cluster/logs/trace-index-0.log"))
        .unwrap_or_default();
    assert!(last.contains(", 0 built, "), "{last}");
    let v = loam(dir.path(), &["manifest", "verify", "cluster"]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
