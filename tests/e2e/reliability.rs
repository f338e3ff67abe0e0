//! Issue 19: Parquet input in every command, output paths that stay inside their root, one
//! run per output root.

use crate::common::{loam, text, workdir};
use crate::helpers::{text_lines, write_config};
use loam_pipeline::lock::{lock_outputs, LockMode};
use loam_pipeline::storage::LocalStorage;
use loam_pipeline::writer::DocumentWriter;
use loam_pipeline::Document;
use std::path::Path;

/// Writes `n` documents as a Parquet shard with loam's own writer.
fn write_parquet(path: &Path, n: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = DocumentWriter::create(&LocalStorage, path.to_str().unwrap()).unwrap();
    for i in 0..n {
        // Odd documents are long; even ones are short enough for the `short` rule.
        let text = if i % 2 == 1 {
            format!(
                "Parquet document number {i} talks about rivers, mountains and the weather \
                 in spring, with enough words to pass the length rule of the test pipeline."
            )
        } else if i == 0 {
            // A terminal escape in the text: `sample` must show it, not send it.
            "tiny \x1b[2J parquet document 0".to_string()
        } else {
            format!("tiny parquet document {i}")
        };
        let mut d = Document::new(format!("pq{i}"), text);
        d.fields
            .insert("source".into(), serde_json::json!("parquet-test"));
        w.write(&d).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn run_reads_parquet_input_and_names_its_attributes_jsonl_gz() {
    let dir = workdir();
    write_parquet(&dir.path().join("documents/b.parquet"), 7);
    write_config(dir.path(), 10);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = dir.path().join("out");
    for name in ["exp", "dd"] {
        let attrs = out.join(format!("attributes/{name}/b.jsonl.gz"));
        let lines = text_lines(&attrs);
        assert_eq!(lines.len(), 7, "{}", attrs.display());
        assert!(lines[0].contains("\"pq0\""), "{}", lines[0]);
    }
    let v = crate::common::version_dir(&out.join("m"), "v1");
    let mixed = loam_pipeline::shard::read_documents(
        &LocalStorage,
        v.join("documents/b.parquet").to_str().unwrap(),
    )
    .unwrap();
    assert_eq!(mixed.len(), 3, "the long ones");
    // explain and sample find the Parquet document's attributes through the same name.
    let vs = v.to_str().unwrap();
    let o = loam(dir.path(), &["explain", vs, "pq2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("b.parquet:3")
            && stdout.contains("dropped by rule `short`")
            && stdout.contains("exp__whitespace_tokenizer_v1__length"),
        "{stdout}"
    );
    let o = loam(dir.path(), &["sample", vs, "--rule", "short", "-n", "100"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("tiny parquet document 4"), "{stdout}");
    assert!(
        stdout.contains("tiny \\x1b[2J parquet") && !stdout.contains('\x1b'),
        "{stdout}"
    );
}

/// A dolma tree with one Parquet shard (and one JSON-lines shard) under `corpus/documents/`.
fn dolma_tree(dir: &Path) {
    write_parquet(&dir.join("corpus/documents/b.parquet"), 5);
    std::fs::copy(
        crate::common::repo().join("examples/quickstart/documents/cc_misc.jsonl.gz"),
        dir.join("corpus/documents/a.jsonl.gz"),
    )
    .unwrap();
}

const TAG: &str = "documents: [corpus/documents/*]\nexperiment: EXP\ntaggers: [char_length_v1]\n";
const DEDUPE: &str = "documents: [corpus/documents/*]\ndedupe:\n  name: NAME\n  documents: {attribute_name: dup, key: $.text}\nbloom_filter: {file: bloom.bin, read_only: false, estimated_doc_count: 1000, desired_false_positive_rate: 0.001}\n";
const MIX: &str = "streams:\n  - name: NAME\n    documents: [corpus/documents/*]\n    attributes: [exp, dd]\n    output: {path: mixed, max_size_in_bytes: 100000000}\n    filter:\n      syntax: jq\n      exclude: [\".attributes.dup != null\"]\n";

#[test]
fn dolma_commands_read_parquet_documents() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dolma_tree(d);
    std::fs::write(d.join("tag.yaml"), TAG.replace("EXP", "exp")).unwrap();
    std::fs::write(d.join("dedupe.yaml"), DEDUPE.replace("NAME", "dd")).unwrap();
    std::fs::write(d.join("mix.yaml"), MIX.replace("NAME", "web")).unwrap();
    for args in [
        ["tag", "-c", "tag.yaml"],
        ["dedupe", "-c", "dedupe.yaml"],
        ["mix", "-c", "mix.yaml"],
    ] {
        let o = loam(d, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    }
    for name in ["exp", "dd"] {
        let lines = text_lines(&d.join(format!("corpus/attributes/{name}/b.jsonl.gz")));
        assert_eq!(lines.len(), 5, "{name}");
        assert!(!d
            .join(format!("corpus/attributes/{name}/b.parquet"))
            .exists());
    }
    let mixed = text_lines(&d.join("mixed/web-0000.jsonl.gz"));
    assert!(mixed.iter().any(|l| l.contains("\"pq4\"")), "{mixed:?}");
}

#[test]
fn bad_inputs_are_named_not_their_outputs() {
    let dir = workdir();
    let docs = dir.path().join("documents");
    std::fs::write(
        docs.join("broken.parquet"),
        b"PAR1 this is not parquet at all PAR1",
    )
    .unwrap();
    write_config(dir.path(), 10);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("documents/broken.parquet: parquet:"), "{err}");
    assert!(!err.contains("attributes/exp/broken"), "{err}");

    std::fs::remove_file(docs.join("broken.parquet")).unwrap();
    std::fs::write(docs.join("notes.txt"), b"just text\n").unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml", "--overwrite"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unsupported file extension in") && err.contains("documents/notes.txt"),
        "{err}"
    );
    assert!(!err.contains("attributes/"), "{err}");

    // The same through a dolma tagger config.
    let d = tempfile::tempdir().unwrap();
    dolma_tree(d.path());
    std::fs::write(d.path().join("tag.yaml"), TAG.replace("EXP", "exp")).unwrap();
    std::fs::write(
        d.path().join("corpus/documents/c.parquet"),
        b"PAR1 not parquet either PAR1",
    )
    .unwrap();
    let o = loam(d.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("documents/c.parquet: parquet:"), "{err}");
    std::fs::remove_file(d.path().join("corpus/documents/c.parquet")).unwrap();
    std::fs::write(d.path().join("corpus/documents/c.txt"), b"x\n").unwrap();
    let o = loam(d.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unsupported file extension in") && err.contains("documents/c.txt"),
        "{err}"
    );
}

/// Every file below `root` (run state included), relative.
fn files(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = crate::helpers::walk(root, "", true)
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn names_that_leave_the_output_root_are_config_errors() {
    let outer = tempfile::tempdir().unwrap();
    let d = outer.path().join("work");
    std::fs::create_dir_all(&d).unwrap();
    dolma_tree(&d);
    let cases = [
        ("tag", TAG.replace("EXP", "../../../escaped"), "experiment"),
        ("tag", TAG.replace("EXP", "/tmp/abs"), "experiment"),
        (
            "dedupe",
            DEDUPE.replace("NAME", "../../escaped"),
            "dedupe.name",
        ),
        ("dedupe", DEDUPE.replace("NAME", "a//b"), "dedupe.name"),
        (
            "mix",
            MIX.replace("NAME", "../../escaped"),
            "streams[0].name",
        ),
        ("mix", MIX.replace("NAME", "x/./y"), "streams[0].name"),
    ];
    std::fs::write(d.join("c.yaml"), "").unwrap();
    let before = files(outer.path());
    for (cmd, cfg, field) in cases {
        std::fs::write(d.join("c.yaml"), &cfg).unwrap();
        let o = loam(&d, &[cmd, "-c", "c.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{cmd} {cfg}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(field) && err.contains("must stay inside"),
            "{cmd}: `{field}` not named in:\n{err}"
        );
        // `loam validate` says the same without running.
        let o = loam(&d, &["validate", "-c", "c.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
    assert_eq!(files(outer.path()), before, "nothing was written anywhere");

    // loam's pipeline file refuses the same names through the same check.
    let dir = workdir();
    let p = write_config(dir.path(), 10);
    let cfg = std::fs::read_to_string(&p)
        .unwrap()
        .replace("experiment: exp", "experiment: ../up");
    std::fs::write(&p, cfg).unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tag.experiment") && err.contains("must stay inside"),
        "{err}"
    );
}

#[test]
fn a_second_run_on_the_same_output_is_refused_naming_the_holder() {
    let dir = workdir();
    write_config(dir.path(), 10);
    let out = dir.path().join("out").to_string_lossy().to_string();
    // This test process holds the output, as a running `loam run` would.
    let held = lock_outputs(std::slice::from_ref(&out), LockMode::Exclusive, "").unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("in use by another loam run")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(
        !dir.path().join("out/attributes").exists(),
        "refused before any work"
    );
    // A cluster task is refused by a plain run's lock too.
    let o = loam(
        dir.path(),
        &[
            "run",
            "pipeline.yaml",
            "--stage",
            "tag",
            "--rank",
            "0",
            "--world",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    drop(held);

    // Tasks of one cluster run share the output: task 1 holding it does not stop task 0,
    // but a plain run is refused while either does.
    let task1 = lock_outputs(std::slice::from_ref(&out), LockMode::Shared, "task 1/2").unwrap();
    let o = loam(
        dir.path(),
        &[
            "run",
            "pipeline.yaml",
            "--stage",
            "tag",
            "--rank",
            "0",
            "--world",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("task 1/2"),
        "{}",
        text(&o)
    );
    drop(task1);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !dir.path().join("out/.loam/lock").exists(),
        "a run that ends removes its lock file"
    );

    // dolma commands lock their output directories too.
    let d = tempfile::tempdir().unwrap();
    dolma_tree(d.path());
    std::fs::write(d.path().join("tag.yaml"), TAG.replace("EXP", "exp")).unwrap();
    let root = d
        .path()
        .join("corpus/attributes/exp")
        .to_string_lossy()
        .to_string();
    let held = lock_outputs(&[root], LockMode::Exclusive, "").unwrap();
    let o = loam(d.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("pid {}", std::process::id())),
        "{}",
        text(&o)
    );
    drop(held);
    let o = loam(d.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Two dedupe runs with different attribute names (so different output roots) that share
    // one Bloom filter file would lose each other's keys: the filter's directory is locked.
    let filters = d.path().join("filters");
    let shared = DEDUPE.replace("NAME", "dd2").replace(
        "file: bloom.bin",
        &format!("file: {}/bloom.bin", filters.display()),
    );
    std::fs::write(d.path().join("dedupe.yaml"), shared).unwrap();
    let held = lock_outputs(
        &[filters.to_string_lossy().to_string()],
        LockMode::Exclusive,
        "",
    )
    .unwrap();
    let o = loam(d.path(), &["dedupe", "-c", "dedupe.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("filters"), "{}", text(&o));
    assert!(!d.path().join("corpus/attributes/dd2/a.jsonl.gz").exists());
    drop(held);
    let o = loam(d.path(), &["dedupe", "-c", "dedupe.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(filters.join("bloom.bin").exists());
}

#[test]
fn an_unreachable_object_store_is_a_runtime_error_and_hides_the_password() {
    // Port 9 on loopback: nothing listens, so every request is refused at once.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        crate::helpers::PIPELINE
            .replace("THRESHOLD", "10")
            .replace("[documents/*]", "[s3://bucket/documents/*]"),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", "pipeline.yaml"])
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://keyid:pa55word@127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "keyid")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("LOAM_S3_MAX_RETRIES", "0")
        .env("LOAM_S3_RETRY_TIMEOUT_SECS", "2")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let all = text(&o);
    assert!(!all.contains("pa55word"), "{all}");
    assert!(all.contains("s3://bucket/documents"), "{all}");
    // The store's message once (errors that carry their source's text print it once).
    assert_eq!(all.matches("error sending request").count(), 1, "{all}");
}

#[test]
fn a_fixed_bad_shard_is_reported_as_a_changed_input_set() {
    let dir = workdir();
    let bad = dir.path().join("documents/z_bad.jsonl");
    std::fs::write(&bad, b"{\"id\":\"z1\",\"text\":\"fine\"}\nnot json\n").unwrap();
    write_config(dir.path(), 10);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    std::fs::write(&bad, b"{\"id\":\"z1\",\"text\":\"fine\"}\n").unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("different set of input shards") && !err.contains("different config"),
        "{err}"
    );
    let o = loam(dir.path(), &["run", "pipeline.yaml", "--overwrite"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
