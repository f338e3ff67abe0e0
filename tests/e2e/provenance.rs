//! Provenance commands on a `loam run` mix: `manifest verify`/`diff`, `reproduce`,
//! `explain` and `sample`.

use crate::common::*;
use crate::helpers::*;

use serde_json::Value;

#[test]
fn manifest_verify_reproduce_and_diff() {
    let dir = workdir();
    write_config(dir.path(), 100);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v1 = version_dir(&dir.path().join("out/m"), "v1");
    let v1s = v1.to_str().unwrap();
    let o = loam(dir.path(), &["manifest", "verify", v1s]);
    assert!(o.status.success(), "{}", text(&o));
    // Reproduce into a fresh directory: byte-identical.
    let o = loam(
        dir.path(),
        &["reproduce", v1s, "--output", "rebuilt", "--threads", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("byte-identical"));
    // A second version with a stricter rule, then diff from the ledgers.
    let cfg = std::fs::read_to_string(dir.path().join("pipeline.yaml"))
        .unwrap()
        .replace("version: v1", "version: v2")
        .replace("value: 100", "value: 200");
    std::fs::write(dir.path().join("v2.yaml"), cfg).unwrap();
    let o = loam(dir.path(), &["run", "v2.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v2 = version_dir(&dir.path().join("out/m"), "v2");
    let o = loam(dir.path(), &["manifest", "diff", v1s, v2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let moved = out
        .lines()
        .find(|l| l.starts_with("kept") && l.contains("dropped:short"))
        .unwrap_or_else(|| panic!("no kept → dropped:short row in\n{out}"));
    let n: u64 = moved.split_whitespace().last().unwrap().parse().unwrap();
    assert!(n > 0);
    // Tampering is caught.
    let shard = v1.join("documents/cc_misc.jsonl.gz");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes.push(b'x');
    std::fs::write(&shard, bytes).unwrap();
    std::fs::write(v1.join("documents/stray.jsonl"), b"{}").unwrap();
    let o = loam(dir.path(), &["manifest", "verify", v1s]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("CHANGED") && out.contains("cc_misc.jsonl.gz"),
        "{out}"
    );
    assert!(
        out.contains("EXTRA") && out.contains("stray.jsonl"),
        "{out}"
    );
}

#[test]
fn explain_and_sample_tell_why() {
    let dir = workdir();
    write_config(dir.path(), 100);
    // Find a short document (dropped by `short`) and a long one (kept) from the source.
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(dir.path().join("documents/cc2019.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut s)
    .unwrap();
    let docs: Vec<Value> = s
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let words = |d: &Value| d["text"].as_str().unwrap().split_whitespace().count();
    let (short_line, short) = docs
        .iter()
        .enumerate()
        .find(|(_, d)| words(d) < 20)
        .unwrap();
    let (long_line, long) = docs
        .iter()
        .enumerate()
        .find(|(_, d)| words(d) > 2000)
        .unwrap();
    // A copy of the long one under another id, in a shard that sorts after it.
    let mut copy = long.clone();
    copy["id"] = Value::from("copy-of-long");
    std::fs::write(
        dir.path().join("documents/zz_copy.jsonl"),
        format!("{copy}\n"),
    )
    .unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    let vs = v.to_str().unwrap();
    let o = loam(dir.path(), &["explain", vs, short["id"].as_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("cc2019.jsonl.gz:{}", short_line + 1)),
        "{out}"
    );
    assert!(out.contains("dropped by rule `short`"), "{out}");
    // The value is the tagger's (dolma's whitespace tokenizer), below the threshold.
    let value: f64 = out
        .split("dropped by rule `short`: value ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {out}"));
    assert!(value < 100.0, "{out}");
    assert!(out.contains("vs threshold 100"), "{out}");
    assert!(out.contains("FIRES"), "{out}");
    assert!(out.contains("exp__char_length_v1__length"), "{out}");
    let o = loam(dir.path(), &["explain", vs, long["id"].as_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("decision   kept"));
    // The copy: a duplicate, and explain names the survivor, where it is, and its fate.
    let o = loam(dir.path(), &["explain", vs, "copy-of-long"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("duplicate by rule `duplicate`"), "{out}");
    let kept = out
        .lines()
        .find(|l| l.starts_with("kept copy"))
        .unwrap_or_else(|| panic!("no kept copy in {out}"));
    assert!(kept.contains(long["id"].as_str().unwrap()), "{kept}");
    assert!(
        kept.contains(&format!(
            "cc2019.jsonl.gz:{}; kept in the mix",
            long_line + 1
        )),
        "{kept}"
    );
    // An unknown id: a clear message, exit 2, and near ids.
    let o = loam(dir.path(), &["explain", vs, "no-such-document"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not in mix"));
    // Sample: deterministic for a seed, plain text when piped, spans marked.
    let a = loam(
        dir.path(),
        &["sample", vs, "--rule", "short", "-n", "3", "--seed", "5"],
    );
    let b = loam(
        dir.path(),
        &["sample", vs, "--rule", "short", "-n", "3", "--seed", "5"],
    );
    assert!(a.status.success(), "{}", text(&a));
    assert_eq!(a.stdout, b.stdout);
    let out = String::from_utf8_lossy(&a.stdout);
    assert!(out.starts_with("3 of "), "{out}");
    assert!(!out.contains('\x1b'), "no terminal colors when piped");
    assert_eq!(out.matches("── ").count(), 3, "{out}");
    let o = loam(dir.path(), &["sample", vs, "--rule", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("short"));
}

#[test]
fn explain_without_a_manifest_reads_attributes() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*.gz]\nexperiment: lens\ntaggers: [char_length_v1]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(dir.path().join("documents/cc_misc.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut s)
    .unwrap();
    let third: Value = serde_json::from_str(s.lines().nth(2).unwrap()).unwrap();
    let o = loam(dir.path(), &["explain", ".", third["id"].as_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no manifest"));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("cc_misc.jsonl.gz:3"), "{out}");
    assert!(out.contains("lens__char_length_v1__length"), "{out}");
}

/// A document of the quickstart sample with fewer than 50 words (`too_few_words` drops it).
fn a_short_quickstart_document() -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(repo().join("examples/quickstart/documents/cc2019.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut s)
    .unwrap();
    s.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|d| d["text"].as_str().unwrap().split_whitespace().count() < 20)
        .map(|d| d["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// The quickstart run in `dir` (with the repository's `examples/` linked in); its mix dir.
fn quickstart_in(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::symlink(repo().join("examples"), dir.join("examples")).unwrap();
    let o = loam(dir, &["run", "examples/quickstart.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    version_dir(&dir.join("out/quickstart/quickstart"), "v1")
}

#[test]
fn verify_explain_sample_and_reproduce_work_from_any_directory() {
    let base = tempfile::tempdir().unwrap();
    let mix = quickstart_in(&base.path().join("run"));
    let ms = mix.to_str().unwrap();
    let elsewhere = std::path::Path::new("/");
    let id = a_short_quickstart_document();
    let check = |ms: &str| {
        let o = loam(elsewhere, &["manifest", "verify", ms]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("MISSING"),
            "{}",
            text(&o)
        );
        // explain reads the run's attribute files, listed relative to the run's directory.
        let o = loam(elsewhere, &["explain", ms, &id]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("dropped by rule `too_few_words`"), "{out}");
        assert!(
            out.contains("quickstart__whitespace_tokenizer_v1__length"),
            "{out}"
        );
        let o = loam(
            elsewhere,
            &["sample", ms, "--rule", "too_few_words", "-n", "1"],
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    check(ms);
    let m: Value =
        serde_json::from_slice(&std::fs::read(mix.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["run"]["root"], "../../../..", "{}", m["run"]);
    // Rebuilt from elsewhere: byte-identical (the rerun reads the run's relative inputs).
    let again = base.path().join("again");
    let o = loam(
        elsewhere,
        &["reproduce", ms, "--output", again.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The whole tree moved: still found, from the manifest's own place.
    let moved = base.path().join("moved");
    std::fs::rename(base.path().join("run"), &moved).unwrap();
    let mix = version_dir(&moved.join("out/quickstart/quickstart"), "v1");
    check(mix.to_str().unwrap());
    // Without the recorded root, and from elsewhere, the inputs are missing...
    let o = loam(
        elsewhere,
        &[
            "manifest",
            "verify",
            mix.to_str().unwrap(),
            "--root",
            "/nonexistent",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("MISSING"),
        "{}",
        text(&o)
    );
    // ... and `--root` names where they are.
    let o = loam(
        elsewhere,
        &[
            "manifest",
            "verify",
            mix.to_str().unwrap(),
            "--root",
            moved.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_content_id_does_not_depend_on_the_working_directory() {
    let base = tempfile::tempdir().unwrap();
    let a = quickstart_in(&base.path().join("a"));
    let b = quickstart_in(&base.path().join("b/deeper/still"));
    assert_eq!(a.file_name(), b.file_name());
}
