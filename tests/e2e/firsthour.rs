//! A new user's first hour (issue 21): no silent no-ops in rules and filters, dolma keys
//! loam ignores are named, `dryrun` writes nothing, `mix -c` keeps its manifest out of a
//! `documents` folder, a failed mix's leftovers do not block a corrected rerun, `validate`
//! checks what `run` checks, and the example dolma configs run.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A loam pipeline file over the quickstart documents with these drop rules.
fn pipeline(dir: &Path, rules: &str) {
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: t\ndocuments: [documents/*]\noutput: out\ntag:\n  experiment: q\n  taggers: [gopher_v1]\nmix:\n  name: m\n  version: v1\n  drop:\n{rules}"
        ),
    )
    .unwrap();
}

#[test]
fn misspelled_signal_is_an_error_naming_the_closest() {
    let dir = workdir();
    pipeline(
        dir.path(),
        "    - {rule: sym, attribute: q__gopher_v1__symbol_to_word_ratios, op: gt, value: 0.1}\n",
    );
    for args in [&["validate", "-c", "p.yaml"][..], &["run", "p.yaml"][..]] {
        let o = loam(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let e = stderr(&o);
        assert!(e.contains("mix.drop[0].attribute"), "{e}");
        assert!(e.contains("did you mean `symbol_to_word_ratio`?"), "{e}");
    }
    assert!(!dir.path().join("out").exists());

    // The same check on a dolma mixer filter, in `validate` and `mix -c`.
    std::fs::write(
        dir.path().join("m.yaml"),
        "streams:\n  - name: s\n    documents: [documents/*]\n    attributes: [q]\n    output: {path: mixed}\n    filter:\n      syntax: jq\n      exclude: ['.attributes.q__gopher_v1__word_cnt[0][2] < 50']\n",
    )
    .unwrap();
    for args in [
        &["validate", "-c", "m.yaml"][..],
        &["mix", "-c", "m.yaml"][..],
    ] {
        let o = loam(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let e = stderr(&o);
        assert!(e.contains("streams[0].filter.exclude[0]"), "{e}");
        assert!(e.contains("did you mean `word_count`?"), "{e}");
    }
    assert!(!dir.path().join("mixed").exists());
}

#[test]
fn rules_that_drop_nothing_are_listed_in_order_and_warned() {
    let dir = workdir();
    pipeline(
        dir.path(),
        "    - {rule: zzz_short, attribute: q__gopher_v1__word_count, op: lt, value: 50}\n    - {rule: aaa_never, attribute: q__gopher_v1__word_count, op: lt, value: 0}\n",
    );
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    // Config order, the zero row included.
    let (a, b) = (out.find("- zzz_short"), out.find("- aaa_never"));
    assert!(a.is_some() && b.is_some() && a < b, "{out}");
    assert!(
        out.contains("warning: rule `aaa_never` dropped nothing"),
        "{out}"
    );
    assert!(!out.contains("rule `zzz_short` dropped nothing"), "{out}");
    let m: Value = serde_json::from_slice(
        &std::fs::read(version_dir(&dir.path().join("out/m"), "v1").join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["warnings"].as_array().map(Vec::len), Some(1), "{m}");

    // A dolma filter on an attribute no document has: kept everything, now said so.
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*]\nexperiment: q\ntaggers: [char_length_v1]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "streams:\n  - name: s\n    documents: [documents/*]\n    attributes: [q]\n    output: {path: mixed/documents}\n    filter:\n      exclude: ['$.attributes[?(@.from_an_old_run && @.from_an_old_run[0][2] > 0.5)]']\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["run", "tag.yaml", "m.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.contains("attribute `from_an_old_run` was absent in every document"),
        "{out}"
    );
    assert!(out.contains("filter.exclude[0] dropped nothing"), "{out}");
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mixed/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["warnings"].as_array().map(Vec::len), Some(2), "{m}");
}

#[test]
fn dryrun_writes_nothing_and_ignored_keys_are_named() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*]\nexperiment: q\ntaggers: [char_length_v1]\ndryrun: true\ndebug: true\nwork_dir: {input: /tmp/x}\nprofile: {enable: true}\n",
    )
    .unwrap();
    let before = snapshot(dir.path(), false);
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("nothing written"), "{e}");
    for k in [
        "`debug` is ignored",
        "`work_dir` is ignored",
        "`profile` is ignored",
    ] {
        assert_eq!(e.matches(k).count(), 1, "{k}: {e}");
    }
    assert_eq!(before, snapshot(dir.path(), false), "a dry run wrote files");
    // A dry run still checks its inputs.
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [nowhere/*]\ntaggers: [char_length_v1]\ndryrun: true\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A mixer config, and a recipe where one config says dryrun: nothing written either.
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*]\nexperiment: q\ntaggers: [char_length_v1]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "streams:\n  - name: s\n    documents: [documents/*]\n    attributes: [q]\n    output: {path: mixed/documents}\n    filter: {exclude: ['$.attributes.q__char_length_v1__length']}\ndryrun: true\n",
    )
    .unwrap();
    let before = snapshot(dir.path(), false);
    for args in [
        &["mix", "-c", "m.yaml"][..],
        &["run", "tag.yaml", "m.yaml"][..],
    ] {
        let o = loam(dir.path(), args);
        assert!(o.status.success(), "{}", text(&o));
        assert!(stderr(&o).contains("nothing written"), "{}", text(&o));
        assert_eq!(before, snapshot(dir.path(), false), "{args:?} wrote files");
    }
}

#[test]
fn validate_rejects_what_run_rejects() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*]\ntaggers: [gopher_v3]\ntagger_modules: [my.taggers]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "tag.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("taggers[0]") && e.contains("gopher_v3"), "{e}");
    assert!(e.contains("tagger_modules"), "{e}");
    // Globs matching nothing pass without --check-inputs, fail with it.
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [nowhere/documents/*]\ntaggers: [gopher_v1]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["validate", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(
        dir.path(),
        &["validate", "-c", "tag.yaml", "--check-inputs"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("nowhere/documents/*"), "{}", text(&o));
}

#[test]
fn mix_keeps_its_files_out_of_a_documents_folder_and_reclaims_failed_units() {
    let dir = workdir();
    // First attempt: a jq program that fails at run time (`error`): no output, and only
    // `started` markers are left.
    let cfg = |exclude: &str| {
        format!(
            "streams:\n  - name: s\n    documents: [documents/*]\n    output: {{path: mixed/documents}}\n    filter:\n      syntax: jq\n      exclude: ['{exclude}']\n"
        )
    };
    std::fs::write(dir.path().join("m.yaml"), cfg("error(\"boom\")")).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "m.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The corrected config runs without --overwrite.
    std::fs::write(dir.path().join("m.yaml"), cfg(".metadata == null")).unwrap();
    let o = loam(dir.path(), &["mix", "-c", "m.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let docs: Vec<String> = std::fs::read_dir(dir.path().join("mixed/documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(!docs.is_empty());
    assert!(
        docs.iter().all(|n| n.ends_with(".jsonl.gz")),
        "not only documents in documents/: {docs:?}"
    );
    for f in ["manifest.json", "ledger", ".loam"] {
        assert!(dir.path().join("mixed").join(f).exists(), "{f}");
    }
    let o = loam(dir.path(), &["manifest", "verify", "mixed"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn example_dolma_configs_run_as_a_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data/quickstart");
    std::fs::create_dir_all(&data).unwrap();
    crate::helpers::copy_tree(
        &repo().join("examples/quickstart/documents"),
        &data.join("documents"),
    );
    let ex = dir.path().join("examples/dolma");
    std::fs::create_dir_all(&ex).unwrap();
    for c in ["tag.yaml", "dedupe.yaml", "mix.yaml"] {
        std::fs::copy(repo().join("examples/dolma").join(c), ex.join(c)).unwrap();
        let p = format!("examples/dolma/{c}");
        let o = loam(dir.path(), &["validate", "-c", &p, "--check-inputs"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let args = [
        "run",
        "examples/dolma/tag.yaml",
        "examples/dolma/dedupe.yaml",
        "examples/dolma/mix.yaml",
    ];
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("out/dolma-quickstart");
    assert!(out.join("manifest.json").is_file(), "{}", text(&o));
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let kept: u64 = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "documents")
        .filter_map(|o| o["documents"].as_u64())
        .sum();
    assert!(kept > 0 && kept < 327, "kept {kept}");
    assert!(!out.join("documents/manifest.json").exists());
    // Rerun: nothing to do, same manifest.
    let o = loam(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let again: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mix"], again["mix"]);
}

#[test]
fn shell_completions_and_tagger_signals() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_loam()"),
        ("zsh", "#compdef loam"),
        ("fish", "complete -c loam"),
    ] {
        let o = loam(dir.path(), &["completions", shell]);
        assert!(o.status.success(), "{}", text(&o));
        let s = stdout(&o);
        assert!(s.contains(marker) && s.contains("taggers"), "{shell}: {s}");
    }
    let o = loam(dir.path(), &["taggers", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    let gopher = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gopher_v1")
        .unwrap();
    assert!(gopher["signals"]
        .as_array()
        .unwrap()
        .contains(&Value::from("symbol_to_word_ratio")));
    let lid = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ft_lang_id_en_doc_v2")
        .unwrap();
    assert_eq!(lid["resources"][0], "lid.176.ftz");
    let o = loam(dir.path(), &["taggers"]);
    assert!(stdout(&o).contains("word_count"), "{}", text(&o));
    assert!(stdout(&o).lines().all(|l| l.chars().count() <= 100));
}

#[test]
fn progress_is_logged_when_stderr_is_not_a_terminal() {
    let dir = crate::common::workdir();
    let cfg = crate::helpers::write_config(dir.path(), 20);
    // Every progress report gets a line at this interval; the tests' stderr is a pipe.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", cfg.to_str().unwrap()])
        .env("LOAM_PROGRESS_SECS", "0.000001")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", crate::common::text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("loam: tag: ") && l.contains("MB/s")),
        "{}",
        crate::common::text(&o)
    );
    // The input's size is known from the listing: % of it and an ETA; the tag stage's last
    // line has every byte read.
    let total: u64 = std::fs::read_dir(dir.path().join("documents"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let last = err.lines().rfind(|l| l.starts_with("loam: tag: ")).unwrap();
    let mb = format!("{:.1}", total as f64 / 1e6);
    assert!(
        last.contains(&format!("100%  {mb}/{mb} MB read")) && last.contains("ETA 0s"),
        "{last}\n{}",
        crate::common::text(&o)
    );
    // The mix knows the text and documents the tag stage counted.
    assert!(
        err.lines()
            .any(|l| l.starts_with("loam: mix: ") && l.contains("MB of text") && l.contains("/"))
            && err.lines().any(|l| l.starts_with("loam: mix: 100%")),
        "{}",
        crate::common::text(&o)
    );
    // None with 0 (the run made again, so progress is reported).
    let quiet = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["--overwrite", "run", cfg.to_str().unwrap()])
        .env("LOAM_PROGRESS_SECS", "0")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", crate::common::text(&quiet));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("loam: tag: "));
}
