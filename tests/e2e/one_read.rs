//! `loam run` with no dedup stage tags each shard as its mix reads it: one read of the shard
//! instead of two. Every file must be the one the two stages write when run apart (`--stage
//! tag`, then the rest), for any thread count, with gated taggers, after a lost file or a run
//! killed between the two markers; and a bad line still fails its shard, loudly.

use crate::common::*;
use crate::helpers::*;

use std::collections::BTreeMap;
use std::path::Path;

const PIPELINE: &str = r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]
  GATE
mix:
  name: m
  version: v1
  drop:
    - {rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: 60}
    - {rule: symbols, attribute: exp__gopher_v1__symbol_to_word_ratio, op: gt, value: 0.1}
  span_replacement:
    - {span: "$.attributes.exp__char_length_v1__length", min_score: 30000, replacement: "[long]"}
"#;

/// A work directory with the quickstart shards and the pipeline (`gate`: its `tag.gate` line).
fn setup(gate: &str) -> tempfile::TempDir {
    let dir = workdir();
    std::fs::write(dir.path().join("p.yaml"), PIPELINE.replace("GATE", gate)).unwrap();
    dir
}

/// Every file under `out/` (relative path → bytes), the manifest without its `run` object.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = tree(&dir.join("out"));
    for (k, v) in out.iter_mut() {
        if k.ends_with("manifest.json") {
            *v = serde_json::to_vec(&manifest_without_run(v)).unwrap();
        }
    }
    out
}

/// The outputs of the two stages run apart.
fn apart(gate: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = setup(gate);
    ok(dir.path(), &["run", "p.yaml", "--stage", "tag"]);
    ok(dir.path(), &["run", "p.yaml"]);
    outputs(dir.path())
}

#[test]
fn one_read_writes_what_the_two_stages_write_apart() {
    for gate in ["", "gate: [gopher_v1]"] {
        let want = apart(gate);
        assert!(
            want.keys().any(|k| k.starts_with("attributes/exp/"))
                && want.keys().any(|k| k.contains("/ledger/")),
            "{:?}",
            want.keys().collect::<Vec<_>>()
        );
        for threads in ["1", "2"] {
            let dir = setup(gate);
            let out = ok(dir.path(), &["run", "p.yaml", "--threads", threads]);
            assert_same(
                &want,
                &outputs(dir.path()),
                &format!("{gate:?}, {threads} thread(s)"),
            );
            // The summary still has the tag stage's row, before the mix's.
            let tag = out.find("tag (char_length_v1").expect(&out);
            let mix = out.find("mix (m/").expect(&out);
            assert!(tag < mix, "{out}");
            if !gate.is_empty() {
                assert!(out.contains("gated gopher_v1: run on"), "{out}");
            }
        }
    }
}

#[test]
fn lost_files_and_a_kill_between_the_markers_are_made_again_to_the_same_bytes() {
    let want = apart("");
    let dir = setup("");
    ok(dir.path(), &["run", "p.yaml"]);
    let out = dir.path().join("out");
    let v = version_dir(&out.join("m"), "v1");
    // A lost attribute file: its shard is tagged alone (its mix is done).
    std::fs::remove_file(out.join("attributes/exp/cc_misc.jsonl.gz")).unwrap();
    // A run killed after the tag's marker and before the mix's: the mix alone.
    std::fs::remove_file(v.join(".loam/mix/documents/cc2019.jsonl.gz.json")).unwrap();
    std::fs::remove_file(v.join("documents/cc2019.jsonl.gz")).unwrap();
    // Both lost: the one read again.
    std::fs::remove_file(out.join("attributes/exp/warc_main.jsonl.zst")).unwrap();
    std::fs::remove_file(v.join("documents/warc_main.jsonl.zst")).unwrap();
    std::fs::remove_file(v.join("manifest.json")).unwrap();
    let o = ok(dir.path(), &["run", "p.yaml"]);
    assert!(o.contains("manifest:"), "{o}");
    assert_same(&want, &outputs(dir.path()), "remade");
}

#[test]
fn a_bad_line_fails_its_shard_in_the_one_read_and_names_it() {
    let dir = setup("");
    let mut bad = b"{\"id\":\"a\",\"text\":\"a perfectly fine document\"}\n".to_vec();
    bad.extend_from_slice(b"this is not json\n");
    bad.extend_from_slice(b"{\"id\":\"b\",\"text\":\"another fine document\"}\n");
    std::fs::write(dir.path().join("documents/z_bad.jsonl"), &bad).unwrap();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("z_bad.jsonl:2: not a JSON object"), "{err}");
    assert!(err.contains("1 shard(s) failed"), "{err}");
    let out = dir.path().join("out");
    assert!(!out.join("attributes/exp/z_bad.jsonl").exists());
    let v = version_dir(&out.join("m"), "v1");
    assert!(!v.join("documents/z_bad.jsonl").exists());
    assert!(v.join("documents/cc2019.jsonl.gz").exists());
    assert!(
        !v.join("manifest.json").exists(),
        "no manifest for an incomplete mix"
    );
    // Fixed, the rerun finishes it (the good shards' attribute files are kept).
    std::fs::write(
        dir.path().join("documents/z_bad.jsonl"),
        b"{\"id\":\"a\",\"text\":\"a perfectly fine document\"}\n",
    )
    .unwrap();
    let o = ok(dir.path(), &["run", "p.yaml"]);
    assert!(o.contains("manifest:"), "{o}");
}

/// A work directory with every quickstart shard twice (every document has a copy).
/// `documents`: the pipeline's `dedupe.documents` section.
fn setup_dedup(documents: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart_documents(dir.path(), 2);
    let plain = "  documents: {attribute_name: dup, key: $.text}";
    assert!(crate::helpers::PIPELINE.contains(plain));
    let cfg = crate::helpers::PIPELINE
        .replace("THRESHOLD", "60")
        .replace(plain, &format!("  documents: {documents}"));
    std::fs::write(dir.path().join("p.yaml"), cfg).unwrap();
    dir
}

/// With exact document dedup, a whole run reads each shard twice, not four times: the tag
/// stage collects the dedup keys and lengths, and the marks take the ids from its attribute
/// file. The files are those of the stages run one by one (each reading the shards itself).
#[test]
fn exact_dedup_takes_its_keys_and_ids_from_the_tag_read() {
    for dedupe in [
        "{attribute_name: dup, key: $.text}",
        "{attribute_name: dup, key: $.text, keep: {by: $.metadata.warc_date, order: latest}}",
    ] {
        let apart = setup_dedup(dedupe);
        for stage in ["tag", "dedupe", "mix"] {
            ok(apart.path(), &["run", "p.yaml", "--stage", stage]);
        }
        ok(apart.path(), &["run", "p.yaml"]);
        let want = outputs(apart.path());
        let marks = want
            .iter()
            .filter(|(k, _)| k.starts_with("attributes/dd/") && !k.contains(".loam"))
            .map(|(k, _)| text_lines(&apart.path().join("out").join(k)).join("\n"))
            .collect::<String>();
        assert!(marks.contains("duplicate_of"), "no duplicate marked");
        for threads in ["1", "2"] {
            let one = setup_dedup(dedupe);
            ok(one.path(), &["run", "p.yaml", "--threads", threads]);
            assert_same(
                &want,
                &outputs(one.path()),
                &format!("{dedupe}, {threads} thread(s)"),
            );
        }
    }
}

/// A dedup key some documents lack: the error the dedupe stage gives when it reads the
/// shards itself.
#[test]
fn a_missing_dedup_key_is_reported_as_when_the_stage_reads_the_shards() {
    let dedupe = "{attribute_name: dup, key: $.metadata.content_type}";
    let apart = setup_dedup(dedupe);
    ok(apart.path(), &["run", "p.yaml", "--stage", "tag"]);
    let want = loam(apart.path(), &["run", "p.yaml", "--stage", "dedupe"]);
    let one = setup_dedup(dedupe);
    let got = loam(one.path(), &["run", "p.yaml"]);
    assert_eq!(got.status.code(), Some(1), "{}", text(&got));
    assert_eq!(want.status.code(), Some(1), "{}", text(&want));
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(err.contains("cc_misc.jsonl.gz:1:"), "{err}");
    let lines = |o: &std::process::Output| {
        let mut v: Vec<String> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.contains("cc_misc"))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(lines(&want), lines(&got));
}

/// A cluster task of such a pipeline (`--rank/--world` without `--stage`, what `loam slurm
/// submit` runs) tags and mixes its own shards in one read; no task writes the manifest, the
/// final run does, and the files are those of the stages run apart. A pipeline with dedup, or
/// a dolma recipe, needs `--stage` for its tasks: a usage error, nothing written.
#[test]
fn cluster_tasks_tag_and_mix_their_shards_in_one_read() {
    let want = apart("");
    let dir = setup("");
    for rank in ["1", "0"] {
        let out = ok(
            dir.path(),
            &["run", "p.yaml", "--rank", rank, "--world", "2"],
        );
        assert!(!out.contains("manifest:"), "{out}");
    }
    let mix = version_dir(&dir.path().join("out/m"), "v1");
    assert!(!mix.join("manifest.json").exists());
    // The final run finds every unit done: it only writes the manifest.
    let last = ok(dir.path(), &["run", "p.yaml"]);
    assert!(last.contains("manifest:"), "{last}");
    assert_same(&want, &outputs(dir.path()), "two tasks, then the final run");

    let dedup = setup_dedup("{attribute_name: dup, key: $.text}");
    let o = loam(
        dedup.path(),
        &["run", "p.yaml", "--rank", "0", "--world", "2"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--stage"), "{}", text(&o));
    assert!(!dedup.path().join("out").exists());

    let recipe = recipe_dir();
    let o = loam(
        recipe.path(),
        &["run", "tag.yaml", "mix.yaml", "--rank", "0", "--world", "2"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("need --stage"), "{}", text(&o));
}
