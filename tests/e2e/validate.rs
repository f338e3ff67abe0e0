//! `loam validate -c`: config errors name every field; dolma's configs validate.

use crate::common::*;

#[test]
fn config_errors_name_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        r#"
name: t
documents: [documents/*]
output: out
outptu: typo
tag:
  experiment: exp
  taggers: [char_length_v1, no_such_tagger]
mix:
  name: m
  version: v1
  drop:
    - {rule: a, attribute: exp__char_length_v1__length, op: lt}
    - {rule: b, attribute: nothing_makes_this, op: exists, extra: 1}
"#,
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for path in ["outptu", "mix.drop[1].extra"] {
        assert!(err.contains(path), "missing `{path}` in:\n{err}");
    }
    // Structural problems first; once fixed, the semantic ones are all listed together.
    std::fs::write(
        &p,
        r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [char_length_v1, no_such_tagger]
mix:
  name: m
  version: v1
  drop:
    - {rule: a, attribute: exp__char_length_v1__length, op: lt}
    - {rule: b, attribute: nothing_makes_this, op: exists}
"#,
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for path in [
        "tag.taggers[1]",
        "mix.drop[0].value",
        "mix.drop[1].attribute",
    ] {
        assert!(err.contains(path), "missing `{path}` in:\n{err}");
    }
    // `run` reports the same problems without touching data.
    let o = loam(dir.path(), &["run", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn dolma_configs_validate() {
    let fixtures = repo().join("tests/fixtures/dolma/config");
    for name in [
        "dedupe-by-url.json",
        "dedupe-paragraphs.json",
        "dedupe-paragraph-ngrams.json",
        "mixer.json",
        "email-spans.json",
        "filter-by-spans.json",
    ] {
        let o = loam(&fixtures, &["validate", "-c", name]);
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mix.json");
    std::fs::write(
        &p,
        r#"{"streams":[{"name":"s","documents":["d/*.gz"],"output":{"path":"o","max_size_in_bytes":1},"attributes":["a"],"filter":{"include":[],"exclud":[]}}],"processes":1}"#,
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "mix.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("streams[0].filter.exclud"),
        "{}",
        text(&o)
    );
}

/// A pipeline with a partitioned MinHash: `validate` states each phase's memory per task
/// before any work, from the config (bands × rows, partitions).
#[test]
fn validate_states_minhash_memory_per_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\n\
         dedupe: {name: fuzzy, minhash: {attribute_name: near, num_bands: 20, rows_per_band: 10, partitions: 8}}\n\
         mix: {name: m, version: v1, drop: [{rule: near, attribute: near, op: exists}]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    // 8 partitions: signatures, bands, partitions, 3 merge rounds, marks.
    assert!(out.contains("8 partition(s), 7 phases"), "{out}");
    // 200 hash functions: 8 × 200 + 64 bytes per document of a shard.
    assert!(out.contains("1664 B per document of its shard"), "{out}");
    // 20 bands × 48 bytes / 8 partitions per document of the corpus.
    assert!(out.contains("120 B per document of the corpus"), "{out}");
}

#[test]
fn validate_states_substring_memory_per_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\n\
         dedupe: {name: sub, substring: {attribute_name: rep, partitions: 6}}\n\
         mix: {name: m, version: v1, span_replacement: [{span: $.attributes.rep, min_score: 0.5, replacement: \"\"}]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("6 key range(s), 3 phases"), "{out}");
    assert!(out.contains("34 B per text byte of its shard"), "{out}");
    assert!(out.contains("1/6 of the corpus's"), "{out}");
}

#[test]
fn dedupe_plan_states_memory_per_task_of_a_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\n\
         dedupe:\n\
         \x20 - {name: exact, documents: {attribute_name: dup, partitions: 4}}\n\
         \x20 - {name: fuzzy, minhash: {attribute_name: near, num_bands: 20, rows_per_band: 10, partitions: 8, keep: {by: $.date, order: latest}}}\n\
         \x20 - {name: whole, minhash: {attribute_name: near2}}\n\
         mix: {name: m, version: v1, drop: [{rule: near, attribute: near, op: exists}]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["dedupe", "plan", "-c", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("4 hash range(s), 3 phases"), "{out}");
    assert!(
        out.contains("28 B per document in its hash range (1/4"),
        "{out}"
    );
    // With a keep policy the clusters are resolved by a survivors phase: 8 phases.
    assert!(out.contains("8 partition(s), 8 phases"), "{out}");
    assert!(
        out.contains("dedupe[2]") && out.contains("one process"),
        "{out}"
    );
    // `loam validate -c` says the same before any work; nothing is written.
    let v = loam(dir.path(), &["validate", "-c", "p.yaml"]);
    assert!(
        String::from_utf8_lossy(&v.stdout).contains(&*out),
        "{}",
        text(&v)
    );
    assert!(!dir.path().join("out").exists());
    // A bad pipeline file: exit 2 naming the field.
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\n\
         dedupe: {name: f, minhash: {attribute_name: near, partitions: 0}}\n\
         mix: {name: m, version: v1}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["dedupe", "plan", "-c", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("partitions"), "{}", text(&o));
}
