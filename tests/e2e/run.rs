//! `loam run`: the quickstart, determinism across thread counts, refusals to overwrite,
//! bad shards, sampling and token budgets, and a pipeline that starts from WARC files.

use crate::common::*;
use crate::helpers::*;

use std::io::Write;
use std::path::Path;
use std::process::Command;

#[test]
fn quickstart_runs_and_reruns_identically() {
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir_all(examples.join("quickstart/documents")).unwrap();
    std::fs::copy(
        repo().join("examples/quickstart.yaml"),
        examples.join("quickstart.yaml"),
    )
    .unwrap();
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(
            e.path(),
            examples.join("quickstart/documents").join(e.file_name()),
        )
        .unwrap();
    }
    let o = loam(dir.path(), &["run", "examples/quickstart.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("duplicate"), "{stdout}");
    let manifest =
        version_dir(&dir.path().join("out/quickstart/quickstart"), "v1").join("manifest.json");
    let first = manifest_without_run(&std::fs::read(&manifest).unwrap());
    let bytes1 = std::fs::read(&manifest).unwrap();
    // Counts add up: what the mix kept plus what each rule dropped is what came in.
    let mix = first["stages"].as_array().unwrap().last().unwrap().clone();
    let dropped: u64 = mix["by_rule"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["documents_dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(
        mix["documents_in"].as_u64().unwrap(),
        mix["documents_out"].as_u64().unwrap() + dropped
    );
    assert_eq!(mix["documents_in"].as_u64().unwrap(), 327);
    let count = |kind: &str| -> u64 {
        first["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| o["documents"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(count("documents"), mix["documents_out"].as_u64().unwrap());
    // The ledger has one row per input document.
    assert_eq!(count("ledger"), 327);
    // Every output checksum in the manifest matches the file on disk.
    for out in first["outputs"].as_array().unwrap() {
        let p = manifest
            .parent()
            .unwrap()
            .join(out["path"].as_str().unwrap());
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len() as u64, out["bytes"].as_u64().unwrap());
        let d = loam_sha256(&bytes);
        assert_eq!(d, out["sha256"].as_str().unwrap());
    }
    // Rerun: everything is skipped, and the manifest differs only in `run`.
    let o2 = loam(dir.path(), &["run", "examples/quickstart.yaml"]);
    assert!(o2.status.success(), "{}", text(&o2));
    assert!(
        String::from_utf8_lossy(&o2.stdout).contains("0/3"),
        "{}",
        text(&o2)
    );
    assert_eq!(
        first,
        manifest_without_run(&std::fs::read(&manifest).unwrap())
    );
    let bytes2 = std::fs::read(&manifest).unwrap();
    // Outside the run object, the bytes are identical too.
    let strip = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).to_string();
        s[..s.find("\"run\"").unwrap()].to_string()
    };
    assert_eq!(strip(&bytes1), strip(&bytes2));
}

fn loam_sha256(bytes: &[u8]) -> String {
    // sha256 via the system tool keeps this test independent of loam's own hashing.
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let a = workdir();
    let b = workdir();
    write_config(a.path(), 100);
    write_config(b.path(), 100);
    let oa = loam(a.path(), &["run", "pipeline.yaml", "--threads", "1"]);
    assert!(oa.status.success(), "{}", text(&oa));
    let ob = loam(b.path(), &["run", "pipeline.yaml", "--threads", "2"]);
    assert!(ob.status.success(), "{}", text(&ob));
    let mut ta = tree(&a.path().join("out"));
    let mut tb = tree(&b.path().join("out"));
    let va = version_dir(&a.path().join("out/m"), "v1");
    let vb = version_dir(&b.path().join("out/m"), "v1");
    assert_eq!(va.file_name(), vb.file_name());
    let ma = manifest_without_run(&std::fs::read(va.join("manifest.json")).unwrap());
    let mb = manifest_without_run(&std::fs::read(vb.join("manifest.json")).unwrap());
    assert_eq!(ma, mb);
    let key = format!(
        "m/{}/manifest.json",
        va.file_name().unwrap().to_string_lossy()
    );
    ta.remove(&key);
    tb.remove(&key);
    assert!(ta.len() > 9, "{:?}", ta.keys().collect::<Vec<_>>());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb[k] == *v,
            "{k} differs between --threads 1 and --threads 2"
        );
    }
}

#[test]
fn changed_config_is_refused_unless_overwrite() {
    let dir = workdir();
    write_config(dir.path(), 100);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    write_config(dir.path(), 200);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different config"), "{err}");
    assert!(err.contains("--overwrite"), "{err}");
    let o = loam(dir.path(), &["run", "pipeline.yaml", "--overwrite"]);
    assert!(o.status.success(), "{}", text(&o));
    // Back to the first config: refused again, since the outputs now carry the second one.
    write_config(dir.path(), 100);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn foreign_outputs_are_not_overwritten() {
    let dir = workdir();
    write_config(dir.path(), 100);
    let attr = dir.path().join("out/attributes/exp/cc_misc.jsonl.gz");
    std::fs::create_dir_all(attr.parent().unwrap()).unwrap();
    std::fs::write(&attr, b"made by someone else").unwrap();
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not made by loam"));
    assert_eq!(std::fs::read(&attr).unwrap(), b"made by someone else");
}

#[test]
fn bad_shards_fail_loudly_and_the_others_finish() {
    let dir = workdir();
    let docs = dir.path().join("documents");
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let good_line =
        |id: &str| format!("{{\"id\":\"{id}\",\"text\":\"a perfectly fine document {id}\"}}\n");
    let mut many = String::new();
    for i in 0..3000 {
        many.push_str(&good_line(&format!("n{i}")));
    }
    let full = gz(many.as_bytes());
    std::fs::write(docs.join("z_truncated.jsonl.gz"), &full[..full.len() / 2]).unwrap();
    let z = zstd::encode_all(many.as_bytes(), 3).unwrap();
    std::fs::write(docs.join("z_truncated.jsonl.zst"), &z[..z.len() / 2]).unwrap();
    std::fs::write(docs.join("z_empty.jsonl"), b"").unwrap();
    let mut bad = good_line("ok").into_bytes();
    bad.extend_from_slice(b"{\"id\": 7, \"text\": \"numeric id\"}\n");
    bad.extend_from_slice(b"this is not json\n");
    bad.extend_from_slice(b"{\"id\":\"x\",\"text\":\"\xc3\x28\"}\n");
    bad.extend_from_slice(b"{\"id\":\"no text\"}\n");
    std::fs::write(docs.join("z_badlines.jsonl"), &bad).unwrap();
    write_config(dir.path(), 10);
    let o = loam(dir.path(), &["run", "pipeline.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "z_truncated.jsonl.gz: gzip stream is corrupt or truncated",
        "z_truncated.jsonl.zst: zstd stream is corrupt or truncated",
        "z_empty.jsonl: empty file",
        "z_badlines.jsonl:2: field `id` must be a string",
        "z_badlines.jsonl:3: not a JSON object",
        "z_badlines.jsonl:4: invalid UTF-8",
        "z_badlines.jsonl:5: missing field `text`",
        "4 shard(s) failed",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    // The good shards went all the way through; the bad ones left nothing behind.
    let out = dir.path().join("out");
    let v = version_dir(&out.join("m"), "v1");
    assert!(v.join("documents/cc2019.jsonl.gz").exists());
    assert!(v.join("ledger/cc2019.jsonl.gz.parquet").exists());
    assert!(!out.join("attributes/exp/z_badlines.jsonl").exists());
    assert!(
        !v.join("manifest.json").exists(),
        "no manifest for an incomplete mix"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no manifest written"), "{stdout}");
}

#[test]
fn sampling_and_token_budgets_are_seeded_and_thread_independent() {
    let mut kept_by_threads = Vec::new();
    for threads in ["1", "2"] {
        let dir = workdir();
        let cfg = PIPELINE.replace("THRESHOLD", "10").replace(
            "  drop:",
            "  sample: {max_tokens: 100000}\n  seed: 42\n  drop:",
        );
        std::fs::write(dir.path().join("p.yaml"), cfg).unwrap();
        let o = loam(dir.path(), &["run", "p.yaml", "--threads", threads]);
        assert!(o.status.success(), "{}", text(&o));
        let v = version_dir(&dir.path().join("out/m"), "v1");
        let m = manifest_without_run(&std::fs::read(v.join("manifest.json")).unwrap());
        let s = &m["mix"]["sampling"];
        assert_eq!(s["target_tokens"], 100000);
        let tokens = outputs_sum(&m["outputs"], "tokens");
        // Within sampling error of the budget (documents are large, so allow 15%).
        assert!(
            (85_000..=115_000).contains(&tokens),
            "{tokens} tokens for a 100000 budget"
        );
        let mix = m["stages"].as_array().unwrap().last().unwrap();
        assert!(
            mix["by_rule"]["sample"]["documents_dropped"]
                .as_u64()
                .unwrap()
                > 0
        );
        kept_by_threads.push((tree(&v.join("documents")), m["outputs"].clone()));
    }
    assert!(
        kept_by_threads[0] == kept_by_threads[1],
        "sampling depends on threads"
    );
    // The same budget in tiktoken cl100k_base tokens (OLMo 2's vocabulary): the manifest
    // counts BPE tokens, so fewer documents meet it.
    let whitespace_docs = outputs_sum(&kept_by_threads[0].1, "documents");
    let dir = workdir();
    let cfg = PIPELINE.replace("THRESHOLD", "10").replace(
        "  drop:",
        "  sample: {max_tokens: 100000}\n  seed: 42\n  tokenizer: cl100k_base\n  drop:",
    );
    std::fs::write(dir.path().join("p.yaml"), cfg).unwrap();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    let m = manifest_without_run(&std::fs::read(v.join("manifest.json")).unwrap());
    assert_eq!(m["config"]["normalized"]["mix"]["tokenizer"], "cl100k_base");
    let tokens = outputs_sum(&m["outputs"], "tokens");
    assert!(
        (85_000..=115_000).contains(&tokens),
        "{tokens} cl100k_base tokens for a 100000 budget"
    );
    let bpe_docs = outputs_sum(&m["outputs"], "documents");
    assert!(
        bpe_docs < whitespace_docs,
        "{bpe_docs} documents for BPE tokens, {whitespace_docs} for words"
    );
    // An unknown tokenizer is a config error naming the field.
    let cfg = PIPELINE
        .replace("THRESHOLD", "10")
        .replace("  drop:", "  tokenizer: gpt5\n  drop:");
    std::fs::write(dir.path().join("bad.yaml"), cfg).unwrap();
    let o = loam(dir.path(), &["run", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("tokenizer"),
        "{}",
        text(&o)
    );
}

#[test]
fn pipeline_can_start_from_warc() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &repo().join("tests/fixtures/warc"),
        &dir.path().join("warc"),
    );
    std::fs::remove_file(dir.path().join("warc/README.md")).unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: w\ndocuments: [warc/*]\noutput: out\nwarc: {extraction: main}\n\
         tag: {experiment: e, taggers: [whitespace_tokenizer_v1]}\n\
         mix: {name: m, version: v1, drop: [{rule: short, attribute: e__whitespace_tokenizer_v1__length, op: lt, value: 30}]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    let m = manifest_without_run(&std::fs::read(v.join("manifest.json")).unwrap());
    let roles: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "warc").count(),
        3,
        "{roles:?}"
    );
    assert!(roles.contains(&"documents"));
    // dolma's sample WARC has 22 HTML responses with main text.
    let docs: u64 = m["stages"][0]["documents_out"].as_u64().unwrap();
    assert!(docs >= 22, "{docs}");
    // Rerun: every unit, WARC conversion included, is already done.
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0/3"),
        "{}",
        text(&o)
    );
}

/// Every JSON line of a JSONL file (plain, `.gz` or `.zst`).
fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    text_lines(path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every kept document of a mix, in file order.
fn mix_documents(version: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(version.join("documents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().flat_map(|f| json_lines(f)).collect()
}

#[test]
fn gated_taggers_skip_only_documents_a_cheap_rule_drops() {
    let pipeline = |gate: &str| {
        format!(
            r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]
  {gate}
mix:
  name: m
  version: v1
  drop:
    - {{rule: symbols, attribute: exp__gopher_v1__symbol_to_word_ratio, op: gt, value: 0.1}}
    - {{rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: 100}}
"#
        )
    };
    let plain = workdir();
    let gated = workdir();
    std::fs::write(plain.path().join("p.yaml"), pipeline("")).unwrap();
    std::fs::write(gated.path().join("p.yaml"), pipeline("gate: [gopher_v1]")).unwrap();
    let o = loam(plain.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = loam(gated.path(), &["run", "p.yaml", "--threads", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(summary.contains("gated gopher_v1: run on"), "{summary}");

    // The mix keeps the same documents, byte for byte.
    let vp = version_dir(&plain.path().join("out/m"), "v1");
    let vg = version_dir(&gated.path().join("out/m"), "v1");
    let (kp, kg) = (mix_documents(&vp), mix_documents(&vg));
    assert!(!kp.is_empty());
    assert_eq!(kp, kg);

    // Attribute records: a skipped document has no gopher signal and names the rule; every
    // other record equals the ungated run's.
    let attrs = |d: &Path| {
        let mut files: Vec<_> = std::fs::read_dir(d.join("out/attributes/exp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files.iter().flat_map(|f| json_lines(f)).collect::<Vec<_>>()
    };
    let (ap, ag) = (attrs(plain.path()), attrs(gated.path()));
    assert_eq!(ap.len(), ag.len());
    let mut skipped = Vec::new();
    for (p, g) in ap.iter().zip(&ag) {
        assert_eq!(p["id"], g["id"]);
        match g.get("not_evaluated") {
            Some(ne) => {
                assert_eq!(ne["gopher_v1"], "short", "{g}");
                let words = p["attributes"]["exp__whitespace_tokenizer_v1__length"][0][2]
                    .as_f64()
                    .unwrap();
                assert!(words < 100.0, "{p}");
                let keys: Vec<&String> = g["attributes"].as_object().unwrap().keys().collect();
                assert!(keys.iter().all(|k| !k.contains("gopher_v1")), "{g}");
                skipped.push(g["id"].as_str().unwrap().to_string());
            }
            None => assert_eq!(p, g),
        }
    }
    assert!(
        !skipped.is_empty() && skipped.len() < ag.len(),
        "{} of {} skipped",
        skipped.len(),
        ag.len()
    );

    // explain says the gated tagger was not evaluated, and why.
    let o = loam(
        gated.path(),
        &["explain", vg.to_str().unwrap(), skipped[0].as_str()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("gopher_v1: not evaluated (gated; rule `short` drops the document)"),
        "{out}"
    );
    assert!(out.contains("by rule `short`"), "{out}");

    // A gate naming an unlisted tagger, or with no rule in front of it, is a config error.
    for (gate, drop, want) in [
        ("gate: [c4_v1]", "", "not one of tag.taggers"),
        (
            "gate: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]",
            "",
            "nothing could be skipped",
        ),
    ] {
        let d = workdir();
        std::fs::write(d.path().join("p.yaml"), pipeline(gate) + drop).unwrap();
        let o = loam(d.path(), &["run", "p.yaml"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(want), "{}", text(&o));
        assert!(!d.path().join("out").exists());
    }
}

#[test]
fn pipeline_file_takes_a_dolma_jq_filter() {
    let pipeline = |mix: &str| {
        format!(
            r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [whitespace_tokenizer_v1]
mix:
  name: m
  version: v1
  {mix}
"#
        )
    };
    let rules = workdir();
    let jq = workdir();
    std::fs::write(
        rules.path().join("p.yaml"),
        pipeline(
            "drop: [{rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: 100}]",
        ),
    )
    .unwrap();
    let exclude = ".attributes.exp__whitespace_tokenizer_v1__length[0][2] < 100";
    std::fs::write(
        jq.path().join("p.yaml"),
        pipeline(&format!("filter: {{syntax: jq, exclude: ['{exclude}']}}")),
    )
    .unwrap();
    for d in [&rules, &jq] {
        let o = loam(d.path(), &["run", "p.yaml"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let vr = version_dir(&rules.path().join("out/m"), "v1");
    let vj = version_dir(&jq.path().join("out/m"), "v1");
    let kept = mix_documents(&vr);
    assert!(!kept.is_empty());
    assert_eq!(kept, mix_documents(&vj));
    // The same documents dropped, counted under the filter's rule name.
    let by_rule = |v: &Path| {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(v.join("manifest.json")).unwrap()).unwrap();
        m["stages"].as_array().unwrap().last().unwrap()["by_rule"].clone()
    };
    let (br, bj) = (by_rule(&vr), by_rule(&vj));
    let name = format!("filter.exclude[0] {exclude}");
    assert!(
        br["short"]["documents_dropped"].as_u64().unwrap() > 0,
        "{br}"
    );
    assert_eq!(
        br["short"]["documents_dropped"], bj[&name]["documents_dropped"],
        "{br} {bj}"
    );
    // `sample` finds the documents the filter pattern dropped, by its rule name.
    let o = loam(
        jq.path(),
        &["sample", vj.to_str().unwrap(), "--rule", &name, "-n", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("removed by `{name}`")), "{out}");
    // … and by its short name, the part before the pattern.
    let o = loam(
        jq.path(),
        &[
            "sample",
            vj.to_str().unwrap(),
            "--rule",
            "filter.exclude[0]",
            "-n",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("removed by `{name}`")),
        "{}",
        text(&o)
    );

    // A broken expression is a config error naming the field.
    std::fs::write(
        jq.path().join("bad.yaml"),
        pipeline("filter: {syntax: jq, exclude: ['.attributes | (']}"),
    )
    .unwrap();
    let o = loam(jq.path(), &["run", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("mix.filter.exclude[0]"), "{}", text(&o));
}
