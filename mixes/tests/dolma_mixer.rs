//! `loam mix` on dolma mixer configs: dolma 1.2.1's goldens, loud failures where dolma is
//! silent, and thread-count independence. Runs the library the command is made of
//! (`plan` → `CompiledStream` → `mix_unit_with` on the executor), as `src/cmd_mix.rs` does.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_mixes::config::MixerConfig;
use loam_mixes::dolma_mix::{plan, CompiledStream, UnitReport};
use loam_mixes::tokens::Tokenizer;
use loam_pipeline::config::{from_value_validated, index, parse_text, ConfigProblem};
use loam_pipeline::executor::{CountingProgress, Executor};
use loam_pipeline::reader::LineReader;
use loam_pipeline::storage::LocalStorage;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dolma")
}

fn parse(text: &str, name: &str) -> Result<MixerConfig, Vec<ConfigProblem>> {
    let v = parse_text(text, Some(Path::new(name))).expect("config parses");
    from_value_validated::<MixerConfig>(&v)
}

/// A dolma test config with its `tests/data/…` inputs pointed at the fixtures and its output
/// in `out`.
fn dolma_config(name: &str, out: &Path) -> MixerConfig {
    let text = std::fs::read_to_string(fixtures().join("config").join(name)).unwrap();
    let mut cfg = parse(&text, name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let data = fixtures().join("data");
    for s in &mut cfg.streams {
        for d in &mut s.documents {
            *d = d.replacen("tests/data", data.to_str().unwrap(), 1);
        }
        s.output.path = out.join(&s.name).display().to_string();
    }
    cfg
}

fn run(cfg: &MixerConfig, threads: usize) -> Vec<(String, UnitReport)> {
    // The default options: dolma's mixer.
    run_with(cfg, threads, |_, _| MixOptions::default())
}

fn lines(path: &str) -> Vec<String> {
    let mut r = LineReader::open(&LocalStorage, path).unwrap();
    let mut out = Vec::new();
    while let Some(l) = r.next_line() {
        out.push(l.unwrap().1.to_string());
    }
    out
}

/// dolma's `checkAndRemoveProvenance`: drop `metadata.provenance`, then `metadata` if empty.
fn without_provenance(line: &str) -> Value {
    let mut v: Value = serde_json::from_str(line).unwrap();
    if let Some(Value::Object(m)) = v.get_mut("metadata") {
        m.remove("provenance");
        if m.is_empty() {
            v.as_object_mut().unwrap().remove("metadata");
        }
    }
    v
}

const GOLDENS: [(&str, &str, &str); 5] = [
    ("mixer.json", "mixer", "mixer"),
    ("email-spans.json", "email-spans", "email-spans"),
    ("email-spans-jq.yaml", "email-spans-jq", "email-spans-jq"),
    ("filter-by-spans.json", "filter-by-spans", "filter-by-spans"),
    (
        "paragraph-spans.json",
        "remove-paragraphs",
        "paragraph-spans",
    ),
];

#[test]
fn dolma_mixer_goldens() {
    for (config, expected, dolma_out) in GOLDENS {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = dolma_config(config, tmp.path());
        let reps = run(&cfg, 1);
        assert_eq!(reps.len(), 1, "{config}");
        let (output, rep) = &reps[0];
        assert!(!rep.scan.failed(), "{config}: {:?}", rep.scan);
        assert!(output.ends_with("-0000.jsonl.gz"), "{output}");
        let got = lines(output);

        // dolma's own golden, up to key order and provenance
        let exp = fixtures().join(format!("data/expected/{expected}.json.gz"));
        let want: Vec<Value> = lines(exp.to_str().unwrap())
            .iter()
            .map(|l| without_provenance(l))
            .collect();
        let got_v: Vec<Value> = got.iter().map(|l| without_provenance(l)).collect();
        assert_eq!(got_v, want, "{config} vs data/expected/{expected}.json.gz");

        // what dolma 1.2.1 actually writes for it: the same bytes once decompressed,
        // provenance and key order included
        let d = fixtures().join(format!("data/dolma-1.2.1-output/mix-{dolma_out}.json.gz"));
        assert_eq!(got, lines(d.to_str().unwrap()), "{config} vs dolma 1.2.1");
        let first: Value = serde_json::from_str(&got[0]).unwrap();
        assert!(first["metadata"]["provenance"]
            .as_str()
            .unwrap()
            .starts_with("000.json.gz:"));
    }
}

#[test]
fn drop_counts_name_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = dolma_config("mixer.json", tmp.path());
    let reps = run(&cfg, 1);
    let c = &reps[0].1.counts;
    assert_eq!((c.documents, c.kept), (10, 6));
    let rules: Vec<(&str, u64)> = c
        .dropped
        .iter()
        .map(|(k, v)| (k.as_str(), v.documents_dropped))
        .collect();
    assert_eq!(
        rules,
        [
            ("filter.exclude[0] $.metadata[?(@.length < 500)]", 1),
            (
                "filter.exclude[1] $.attributes[?(@.pii.too_much_pii == true)]",
                1
            ),
            ("filter.exclude[2] $.attributes[?(@.toxicity > 0.8)]", 1),
            ("filter.include", 1)
        ]
    );
    let reps = run(&dolma_config("email-spans.json", tmp.path()), 1);
    assert_eq!(reps[0].1.counts.edited, 3);
}

// ---------------------------------------------------------------- loud where dolma is silent

struct Data {
    dir: tempfile::TempDir,
}

impl Data {
    fn new() -> Data {
        Data {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn root(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
    fn docs(&self, rel: &str, texts: &[(&str, &str)]) -> String {
        let body: String = texts
            .iter()
            .map(|(id, t)| {
                format!(
                    "{}\n",
                    serde_json::json!({"id": id, "text": t, "source": "s"})
                )
            })
            .collect();
        self.write(rel, &body)
    }
    fn config(&self, stream: &str) -> MixerConfig {
        let text = format!(
            "streams:\n  - name: s\n    documents: [{root}/documents/*.jsonl]\n    output: {{path: {root}/out}}\n{stream}",
            root = self.root()
        );
        parse(&text, "m.yaml").unwrap_or_else(|e| panic!("{e:?}"))
    }
}

fn failure(cfg: &MixerConfig) -> String {
    let reps = run(cfg, 1);
    let rep = &reps[0].1;
    assert!(rep.scan.failed(), "expected a failure");
    assert!(rep.output.is_none());
    assert!(!Path::new(&reps[0].0).exists(), "nothing published");
    let mut all = rep.scan.errors.join("\n");
    if let Some(f) = &rep.scan.fatal {
        all.push('\n');
        all.push_str(f);
    }
    all
}

const FILTER: &str = "    attributes: [t]\n    filter: {exclude: [\"$.attributes[?(@.t__x__y && @.t__x__y[0][2] > 0.5)]\"]}\n";

fn attr(id: &str, score: f64) -> String {
    format!(
        "{}\n",
        serde_json::json!({"id": id, "attributes": {"t__x__y": [[0, 1, score]]}})
    )
}

#[test]
fn missing_attribute_file_is_an_error() {
    let d = Data::new();
    let doc = d.docs("documents/a.jsonl", &[("1", "one"), ("2", "two")]);
    let err = failure(&d.config(FILTER));
    let attr = format!("{}/attributes/t/a.jsonl", d.root());
    assert!(err.contains(&attr) && err.contains(&doc), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn short_and_long_attribute_files_are_errors() {
    let d = Data::new();
    let doc = d.docs(
        "documents/a.jsonl",
        &[("1", "one"), ("2", "two"), ("3", "three")],
    );
    let a = d.write("attributes/t/a.jsonl", &(attr("1", 0.1) + &attr("2", 0.9)));
    let err = failure(&d.config(FILTER));
    assert!(
        err.contains(&a) && err.contains(&doc) && err.contains("line 3"),
        "{err}"
    );
    assert!(err.contains("fewer lines"), "{err}");

    let a = d.write(
        "attributes/t/a.jsonl",
        &(attr("1", 0.1) + &attr("2", 0.9) + &attr("3", 0.1) + &attr("4", 0.1)),
    );
    let err = failure(&d.config(FILTER));
    assert!(
        err.contains(&format!("{a}:4")) && err.contains(&doc),
        "{err}"
    );
    assert!(err.contains("more lines"), "{err}");
}

#[test]
fn id_mismatch_is_an_error() {
    let d = Data::new();
    let doc = d.docs("documents/a.jsonl", &[("1", "one"), ("2", "two")]);
    let a = d.write("attributes/t/a.jsonl", &(attr("1", 0.1) + &attr("X", 0.9)));
    let err = failure(&d.config(FILTER));
    assert!(
        err.contains(&format!("{a}:2")) && err.contains(&format!("{doc}:2")),
        "{err}"
    );
    assert!(err.contains("does not match"), "{err}");
}

#[test]
fn malformed_spans_name_file_and_line() {
    let d = Data::new();
    let doc = d.docs("documents/a.jsonl", &[("1", "hello"), ("2", "world")]);
    let repl = "    attributes: [t]\n    span_replacement: [{span: $.attributes.t__x__y, min_score: 0.5, replacement: ''}]\n";
    for (bad, what) in [
        (r#"[[0, 2]]"#, "not [start, end, score]"),
        (r#"[[0, "2", 1.0]]"#, "not [start, end, score]"),
        (r#"[[7, 9, 1.0]]"#, "out of range"),
        (r#"[[3, 1, 1.0]]"#, "out of range"),
        (
            r#"[[0, 3, 1.0], [2, 5, 1.0]]"#,
            "overlap without one containing the other",
        ),
        (r#""oops""#, "not an array"),
    ] {
        let a = d.write(
            "attributes/t/a.jsonl",
            &format!(
                "{}\n{{\"id\": \"2\", \"attributes\": {{\"t__x__y\": {bad}}}}}\n",
                serde_json::json!({"id": "1", "attributes": {}})
            ),
        );
        let err = failure(&d.config(repl));
        assert!(err.contains(&format!("{doc}:2")), "{bad}: {err}");
        assert!(err.contains(&format!("{a}:2")), "{bad}: {err}");
        assert!(err.contains(what), "{bad}: {err}");
        assert!(err.contains("span_replacement[0]"), "{bad}: {err}");
    }
}

#[test]
fn overlapping_spans_of_two_replacers_follow_dolma_and_are_counted() {
    let d = Data::new();
    d.docs("documents/a.jsonl", &[("1", "mail a@b.c 555-1234 end")]);
    // e-mail [5, 14) and phone [13, 19): dolma applies the e-mail, skips the phone span
    d.write(
        "attributes/t/a.jsonl",
        &format!(
            "{}\n",
            serde_json::json!({"id": "1", "attributes": {"e": [[5, 14, 1.0]], "p": [[13, 19, 1.0]]}})
        ),
    );
    let cfg = d.config(
        "    attributes: [t]\n    span_replacement:\n      - {span: $.attributes.e, min_score: 0.5, replacement: '<E>'}\n      - {span: $.attributes.p, min_score: 0.5, replacement: '<P>'}\n",
    );
    let reps = run(&cfg, 1);
    let rep = &reps[0].1;
    assert!(!rep.scan.failed(), "{:?}", rep.scan);
    assert_eq!(rep.counts.overlapping_spans, 1);
    let v: Value = serde_json::from_str(&lines(&reps[0].0)[0]).unwrap();
    assert_eq!(v["text"], "mail <E>-1234 end");
}

#[test]
fn invalid_expressions_are_config_errors_pointing_into_them() {
    let errs = parse(
        "streams:\n  - name: s\n    documents: [x/documents/a.jsonl]\n    output: {path: o}\n    filter:\n      include: [\"$.a\"]\n      exclude: [\"$.b\", \"$.c\", \"$.metadata[?(@.length <)]\"]\n  - name: t\n    documents: [x/documents/a.jsonl]\n    output: {path: o2}\n    filter: {syntax: jq, include: [\".x | sum\"]}\n    span_replacement: [{span: \".a[\", syntax: jq, min_score: 0.5, replacement: \"$.meta |\"}]\n",
        "m.yaml",
    )
    .unwrap_err();
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "streams[0].filter.exclude[2]",
            "streams[1].filter.include[0]",
            "streams[1].span_replacement[0].span",
            "streams[1].span_replacement[0].replacement"
        ],
        "{errs:?}"
    );
    assert!(
        errs.iter().all(|e| e.message.contains(" at character ")),
        "{errs:?}"
    );
    assert!(errs[1].message.contains("at character 6"), "{errs:?}");
}

// ---------------------------------------------------------------- determinism

#[test]
fn thread_count_does_not_change_a_byte() {
    let d = Data::new();
    for f in 0..7 {
        let docs: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("f{f}-{i}"),
                    format!(
                        "document {i} of file {f} with some words {}",
                        "x ".repeat(i)
                    ),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = docs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        d.docs(&format!("documents/{f:02}.jsonl"), &refs);
        let attrs: String = (0..40)
            .map(|i| attr(&format!("f{f}-{i}"), (i % 10) as f64 / 10.0))
            .collect();
        d.write(&format!("attributes/t/{f:02}.jsonl"), &attrs);
    }
    let stream = format!(
        "{FILTER}    span_replacement: [{{span: $.attributes.t__x__y, min_score: 0.3, replacement: '<{{}}>'}}]\n"
    );
    let mut cfg = d.config(&stream);
    cfg.streams[0].output.max_size_in_bytes = 6000;
    let mut outs = Vec::new();
    for (threads, sub) in [(1, "one"), (2, "two"), (3, "three")] {
        cfg.streams[0].output.path = format!("{}/{sub}", d.root());
        let reps = run(&cfg, threads);
        assert!(reps.len() >= 3, "several shards: {}", reps.len());
        let files: Vec<(String, Vec<u8>)> = reps
            .iter()
            .map(|(o, r)| {
                assert!(!r.scan.failed(), "{:?}", r.scan);
                let name = o.rsplit('/').next().unwrap().to_string();
                (name, std::fs::read(o).unwrap())
            })
            .collect();
        outs.push(files);
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    // documents keep input order within a shard, provenance is path:line
    let first = lines(&format!("{}/one/s-0000.jsonl.gz", d.root()));
    let v: Value = serde_json::from_str(&first[0]).unwrap();
    assert_eq!(v["metadata"]["provenance"], "00.jsonl:1");
    assert_eq!(v["text"], "document 0 of file 0 with some words ");
    let v: Value = serde_json::from_str(&first[3]).unwrap();
    assert_eq!(v["metadata"]["provenance"], "00.jsonl:4");
    assert_eq!(
        v["text"],
        format!("<d>ocument 3 of file 0 with some words {}", "x ".repeat(3))
    );
}

#[test]
fn packing_follows_input_sizes_and_names_every_shard_jsonl() {
    let d = Data::new();
    for f in 0..5 {
        d.write(
            &format!("documents/{f}.jsonl"),
            &format!(
                "{}\n",
                serde_json::json!({"id": f.to_string(), "text": "y".repeat(100)})
            ),
        );
    }
    let mut cfg = d.config("    filter: {exclude: [$.nothing]}\n");
    let size = std::fs::metadata(format!("{}/documents/0.jsonl", d.root()))
        .unwrap()
        .len();
    // two inputs fit, a third would exceed
    cfg.streams[0].output.max_size_in_bytes = 2 * size + 1;
    let units = plan(&LocalStorage, &cfg).unwrap();
    let shape: Vec<(String, usize)> = units
        .iter()
        .map(|u| {
            (
                u.output.rsplit('/').next().unwrap().to_string(),
                u.inputs.len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("s-0000.jsonl.gz".to_string(), 2),
            ("s-0001.jsonl.gz".to_string(), 2),
            ("s-0002.jsonl.gz".to_string(), 1)
        ]
    );
    cfg.streams[0].output.max_size_in_bytes = 0;
    assert_eq!(plan(&LocalStorage, &cfg).unwrap().len(), 5);
    // shuffle: false keeps each input's path below documents/
    cfg.shuffle = false;
    let units = plan(&LocalStorage, &cfg).unwrap();
    assert_eq!(
        units[0].output,
        format!("{}/out/documents/0.jsonl", d.root())
    );
}

#[test]
fn provenance_keeps_subdirectories_apart() {
    let d = Data::new();
    d.docs("documents/a/000.jsonl", &[("1", "one")]);
    d.docs("documents/b/000.jsonl", &[("2", "two")]);
    let text = format!(
        "streams:\n  - name: s\n    documents: [{root}/documents/*/*.jsonl]\n    output: {{path: {root}/out}}\n    filter: {{exclude: [$.nothing]}}\n",
        root = d.root()
    );
    let cfg = parse(&text, "m.yaml").unwrap();
    let reps = run(&cfg, 1);
    let got: Vec<String> = lines(&reps[0].0)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["metadata"]["provenance"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(got, ["a/000.jsonl:1", "b/000.jsonl:1"]);
}

// ---------------------------------------------------------------- sampling, budgets, ledgers
// (loam only: dolma has neither)

use loam_mixes::dolma_mix::{
    common_dir, ledger_paths, mix_unit_with, sampling_key, stream_labels, stream_sampling,
    MixCounts, MixOptions,
};
use loam_mixes::ledger::{read_ledger, Decision as LedgerDecision, LedgerRow};
use loam_mixes::mix::Sampling;
use std::sync::Arc;

/// Runs every unit with `opts(unit index, stream index)`; returns (output, report) per unit.
fn run_with(
    cfg: &MixerConfig,
    threads: usize,
    opts: impl Fn(usize, usize) -> MixOptions + Sync,
) -> Vec<(String, UnitReport)> {
    let units = plan(&LocalStorage, cfg).expect("plan");
    let streams: Vec<CompiledStream> = cfg
        .streams
        .iter()
        .enumerate()
        .map(|(i, s)| CompiledStream::new(s, &index("streams", i)).expect("compiles"))
        .collect();
    let exec = Executor::new(threads).unwrap();
    let progress = CountingProgress::default();
    let idx: Vec<usize> = (0..units.len()).collect();
    let reps = exec.map(&idx, |&i| {
        let u = &units[i];
        mix_unit_with(
            &LocalStorage,
            u,
            &streams[u.stream],
            &opts(i, u.stream),
            &progress,
        )
    });
    units.into_iter().map(|u| u.output).zip(reps).collect()
}

/// Eight input files of 250 documents each (texts of 1 to 40 words), with an attribute
/// `t__x__y` scored 0.0 … 0.9 by line.
fn sampling_data() -> Data {
    let d = Data::new();
    for f in 0..8 {
        let docs: Vec<(String, String)> = (0..250)
            .map(|i| {
                (
                    format!("f{f}-{i}"),
                    format!("doc {i} file {f}{}", " w".repeat((i * 7 + f) % 38)),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = docs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        d.docs(&format!("documents/{f:02}.jsonl"), &refs);
        let attrs: String = (0..250)
            .map(|i| attr(&format!("f{f}-{i}"), (i % 10) as f64 / 10.0))
            .collect();
        d.write(&format!("attributes/t/{f:02}.jsonl"), &attrs);
    }
    d
}

/// Output file name → bytes, for every unit; and the summed counts.
fn outputs(reps: &[(String, UnitReport)]) -> (Vec<(String, Vec<u8>)>, MixCounts) {
    let mut total = MixCounts::default();
    let files = reps
        .iter()
        .map(|(o, r)| {
            assert!(!r.scan.failed(), "{:?}", r.scan);
            total.add(&r.counts);
            let bytes = std::fs::read(o).unwrap_or_default();
            (o.rsplit('/').next().unwrap().to_string(), bytes)
        })
        .collect();
    (files, total)
}

#[test]
fn sampling_keys_are_validated_with_their_field_path() {
    let errs = parse(
        "streams:\n  - {name: a, documents: [x/documents/a.jsonl], output: {path: o}, filter: {exclude: [$.x]}, sample_rate: 0}\n  - {name: b, documents: [x/documents/a.jsonl], output: {path: o2}, filter: {exclude: [$.x]}, sample_rate: 1001}\n  - {name: c, documents: [x/documents/a.jsonl], output: {path: o3}, filter: {exclude: [$.x]}, sample_rate: 0.5, max_tokens: 10}\n  - {name: d, documents: [x/documents/a.jsonl], output: {path: o4}, filter: {exclude: [$.x]}, max_tokens: 0}\n  - {name: e, documents: [x/documents/a.jsonl], output: {path: o5}, filter: {exclude: [$.x]}, seed: 3}\n",
        "m.yaml",
    )
    .unwrap_err();
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "streams[0].sample_rate",
            "streams[1].sample_rate",
            "streams[2].max_tokens",
            "streams[3].max_tokens",
            "streams[4].seed"
        ],
        "{errs:?}"
    );
    // wrong types and unknown keys name the field too; deny_unknown_fields stays
    let errs = parse(
        "streams:\n  - {name: a, documents: [x/documents/a.jsonl], output: {path: o}, filter: {exclude: [$.x]}, sample_rate: lots, seeed: 1}\n",
        "m.yaml",
    )
    .unwrap_err();
    let mut paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["streams[0].sample_rate", "streams[0].seeed"],
        "{errs:?}"
    );
    // OmegaConf-style lenient scalars, as every other key
    let c = parse(
        "streams:\n  - {name: a, documents: [x/documents/a.jsonl], output: {path: o}, filter: {exclude: [$.x]}, max_tokens: '1_000', seed: '7'}\n",
        "m.yaml",
    )
    .unwrap();
    assert_eq!(
        (c.streams[0].max_tokens, c.streams[0].seed),
        (Some(1000), Some(7))
    );
    // absent keys stay out of the serialized config (and so out of fingerprints)
    let c = parse(
        "streams:\n  - {name: a, documents: [x/documents/a.jsonl], output: {path: o}, filter: {exclude: [$.x]}}\n",
        "m.yaml",
    )
    .unwrap();
    let v = serde_json::to_value(&c.streams[0]).unwrap();
    for k in ["sample_rate", "max_tokens", "seed"] {
        assert!(v.get(k).is_none(), "{k}");
    }
}

#[test]
fn sample_rates_are_seeded_thread_independent_and_near_the_rate() {
    let d = sampling_data();
    let mut cfg = d.config(FILTER);
    cfg.streams[0].output.max_size_in_bytes = 20_000;
    let eligible = {
        let reps = run(&cfg, 1);
        let (_, c) = outputs(&reps);
        assert_eq!(c.documents, 2000);
        c.eligible
    };
    assert_eq!(eligible, 1200, "scores 0.6 … 0.9 are excluded");
    for (rate, seed) in [(0.5, 11u64), (2.0, 0), (1.25, 5)] {
        cfg.streams[0].sample_rate = Some(rate);
        cfg.streams[0].seed = Some(seed);
        let sampling = stream_sampling(&cfg.streams[0]);
        assert_eq!(sampling, Some(Sampling::from_rate(rate, seed)));
        let mut runs = Vec::new();
        for (threads, sub) in [(1, "one"), (2, "two")] {
            cfg.streams[0].output.path = format!("{}/r{rate}-{sub}", d.root());
            let reps = run_with(&cfg, threads, |_, _| MixOptions {
                sampling,
                ..Default::default()
            });
            assert!(reps.len() >= 3, "several shards: {}", reps.len());
            runs.push(outputs(&reps));
        }
        assert_eq!(
            runs[0].0, runs[1].0,
            "rate {rate}: --threads 1 and 2 differ"
        );
        let c = &runs[0].1;
        assert_eq!(c.eligible, eligible);
        // binomial sampling error: 1200 draws, p = frac; 5 standard deviations
        let frac = rate - rate.floor();
        let want = eligible as f64 * rate;
        let sd = (eligible as f64 * frac * (1.0 - frac)).sqrt();
        assert!(
            (c.kept as f64 - want).abs() <= 5.0 * sd,
            "rate {rate}: {} copies, expected {want} ± {}",
            c.kept,
            5.0 * sd
        );
        let sampled_out = c.dropped.get("sample").map_or(0, |r| r.documents_dropped);
        if rate < 1.0 {
            assert_eq!(c.kept + sampled_out, eligible);
            assert!(sampled_out > 0);
        } else {
            assert_eq!(sampled_out, 0);
        }
        if rate == 2.0 {
            // every eligible document exactly twice, the copies side by side
            assert_eq!(c.kept, 2 * eligible);
            let first = lines(&format!("{}/r2-one/s-0000.jsonl.gz", d.root()));
            assert_eq!(first[0], first[1]);
            assert_ne!(first[1], first[2]);
        }
    }
    // another seed draws other documents
    cfg.streams[0].sample_rate = Some(0.5);
    let pick = |seed: u64, sub: &str| {
        let mut c = cfg.clone();
        c.streams[0].seed = Some(seed);
        c.streams[0].output.path = format!("{}/{sub}", d.root());
        let s = stream_sampling(&c.streams[0]);
        let reps = run_with(&c, 2, |_, _| MixOptions {
            sampling: s,
            ..Default::default()
        });
        outputs(&reps).0
    };
    assert_ne!(pick(1, "seed1"), pick(2, "seed2"));
}

#[test]
fn token_budgets_are_met_from_the_eligible_tokens() {
    // Whitespace tokens, and a named BPE (what OLMo 2's tokenizer counts).
    let mut whitespace_total = 0;
    for tokenizer in [Tokenizer::Whitespace, Tokenizer::Cl100kBase] {
        let total = token_budgets_with(tokenizer);
        if tokenizer == Tokenizer::Whitespace {
            whitespace_total = total;
        } else {
            // BPE pieces are more than words.
            assert!(total > whitespace_total, "{total} vs {whitespace_total}");
        }
    }
}

/// Runs budgets of a third and of twice the eligible tokens counted by `tokenizer`; returns
/// the eligible tokens.
fn token_budgets_with(tokenizer: Tokenizer) -> u64 {
    let d = sampling_data();
    let mut cfg = d.config(FILTER);
    cfg.streams[0].output.max_size_in_bytes = 20_000;
    cfg.streams[0].tokenizer = Some(tokenizer);
    let seed = 4;
    // The counting pass: every eligible document's draw and tokens.
    let count = |cfg: &MixerConfig, threads: usize| {
        let reps = run_with(cfg, threads, |_, _| MixOptions {
            sampling: Some(Sampling::from_rate(1.0, seed)),
            dry_run: true,
            ..Default::default()
        });
        for (o, r) in &reps {
            assert!(!r.scan.failed(), "{:?}", r.scan);
            assert!(!Path::new(o).exists(), "a dry run writes nothing");
        }
        let eligible: u64 = reps.iter().map(|r| r.1.counts.eligible_tokens).sum();
        // Each unit's counts, in order: what the mix pass may take instead of counting again.
        let per_unit: Vec<Arc<[u32]>> = reps
            .iter()
            .map(|r| r.1.draws.iter().map(|d| d.1 as u32).collect())
            .collect();
        let draws: Vec<(f64, u64)> = reps.into_iter().flat_map(|r| r.1.draws).collect();
        (eligible, draws, per_unit)
    };
    let (eligible, draws, per_unit) = count(&cfg, 1);
    assert_eq!(draws.len(), 1200);
    assert_eq!(draws.iter().map(|d| d.1).sum::<u64>(), eligible);
    assert_eq!(count(&cfg, 2).1, draws, "draws do not depend on threads");
    assert!(per_unit.len() >= 2, "several units: {}", per_unit.len());
    let longest = draws.iter().map(|d| d.1).max().unwrap();
    for (target, sub) in [(eligible / 3, "third"), (eligible * 2 + 1234, "more")] {
        cfg.streams[0].max_tokens = Some(target);
        let sampling = Sampling::for_budget(target, &mut draws.clone(), seed);
        let mut runs = Vec::new();
        for threads in [1, 2] {
            cfg.streams[0].output.path = format!("{}/{sub}-{threads}", d.root());
            let reps = run_with(&cfg, threads, |_, _| MixOptions {
                sampling: Some(sampling),
                ..Default::default()
            });
            runs.push(outputs(&reps));
        }
        assert_eq!(
            runs[0].0, runs[1].0,
            "budget {target}: --threads 1 and 2 differ"
        );
        // Taking the counting pass's counts gives the same mix and the same counts.
        cfg.streams[0].output.path = format!("{}/{sub}-counted", d.root());
        let reps = run_with(&cfg, 2, |i, _| MixOptions {
            sampling: Some(sampling),
            counted: Some(per_unit[i].clone()),
            ..Default::default()
        });
        let counted = outputs(&reps);
        assert_eq!(
            counted.0, runs[0].0,
            "budget {target}: counted vs recounted"
        );
        assert_eq!(counted.1.kept_tokens, runs[0].1.kept_tokens);
        assert_eq!(counted.1.eligible_tokens, runs[0].1.eligible_tokens);
        // Counts that do not fit the documents (inputs changed between the passes): the
        // unit fails and publishes nothing.
        let mut off = per_unit[0].to_vec();
        off.push(1);
        let off: Arc<[u32]> = off.into();
        cfg.streams[0].output.path = format!("{}/{sub}-changed", d.root());
        let reps = run_with(&cfg, 1, |i, _| MixOptions {
            sampling: Some(sampling),
            counted: Some(if i == 0 {
                off.clone()
            } else {
                per_unit[i].clone()
            }),
            ..Default::default()
        });
        let (o, r) = &reps[0];
        assert!(r.scan.failed(), "{:?}", r.scan);
        assert!(
            format!("{:?}", r.scan).contains("token-counting pass"),
            "{:?}",
            r.scan
        );
        assert!(!Path::new(o).exists(), "nothing published");
        let c = &runs[0].1;
        assert!(
            c.kept_tokens >= target && c.kept_tokens < target + longest,
            "budget {target}: {} tokens written",
            c.kept_tokens
        );
        // the tokens counted are those written
        let written: u64 = runs[0]
            .0
            .iter()
            .map(|(name, _)| {
                lines(&format!("{}/{sub}-1/{name}", d.root()))
                    .iter()
                    .map(|l| {
                        let v: Value = serde_json::from_str(l).unwrap();
                        tokenizer.count(v["text"].as_str().unwrap())
                    })
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(written, c.kept_tokens);
    }
    eligible
}

#[test]
fn goldens_are_unchanged_with_ledgers_and_a_rate_of_one() {
    for (config, _, dolma_out) in GOLDENS {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = dolma_config(config, tmp.path());
        cfg.streams[0].sample_rate = Some(1.0);
        let units = plan(&LocalStorage, &cfg).unwrap();
        let ledgers = ledger_paths(&cfg, &units, tmp.path().to_str().unwrap());
        let sampling = stream_sampling(&cfg.streams[0]);
        let reps = run_with(&cfg, 1, |i, _| MixOptions {
            sampling,
            dry_run: false,
            ledgers: ledgers[i].clone(),
            counted: None,
            ..Default::default()
        });
        let (output, rep) = &reps[0];
        assert!(!rep.scan.failed(), "{config}: {:?}", rep.scan);
        let d = fixtures().join(format!("data/dolma-1.2.1-output/mix-{dolma_out}.json.gz"));
        assert_eq!(lines(output), lines(d.to_str().unwrap()), "{config}");
        assert_eq!(rep.ledgers.len(), 1);
        assert_eq!(rep.ledgers[0].ledger.records, rep.counts.documents);
    }
}

fn ledger_rows(path: &str) -> Vec<LedgerRow> {
    let mut rows = Vec::new();
    read_ledger(Path::new(path), |r| rows.push(r)).unwrap();
    rows
}

#[test]
fn ledgers_hold_a_row_per_input_document_and_the_deciding_rule() {
    // filters: dolma's mixer test
    let tmp = tempfile::tempdir().unwrap();
    let cfg = dolma_config("mixer.json", tmp.path());
    let units = plan(&LocalStorage, &cfg).unwrap();
    let dir = tmp.path().to_str().unwrap();
    let ledgers = ledger_paths(&cfg, &units, dir);
    assert_eq!(
        ledgers,
        [[format!("{dir}/ledger/mixer-test/000.json.gz.parquet")]]
    );
    let reps = run_with(&cfg, 1, |i, _| MixOptions {
        ledgers: ledgers[i].clone(),
        ..Default::default()
    });
    let rep = &reps[0].1;
    assert_eq!(
        rep.ledgers[0].index.path,
        format!("{dir}/ledger/mixer-test/000.json.gz.idx")
    );
    let rows = ledger_rows(&ledgers[0][0]);
    assert_eq!(rows.len(), 10);
    assert_eq!(rows.len() as u64, rep.counts.documents);
    let input = &units[0].inputs[0].documents;
    for (k, r) in rows.iter().enumerate() {
        assert_eq!((&r.file, r.line), (input, k as u64 + 1));
    }
    let kept = rows
        .iter()
        .filter(|r| r.decision == LedgerDecision::Kept)
        .count() as u64;
    assert_eq!(kept, rep.counts.kept);
    for (rule, c) in &rep.counts.dropped {
        let n = rows
            .iter()
            .filter(|r| r.decision == LedgerDecision::Dropped && r.rule.as_deref() == Some(rule))
            .count() as u64;
        assert_eq!(n, c.documents_dropped, "{rule}");
    }
    let toxic = rows
        .iter()
        .find(|r| r.rule.as_deref() == Some("filter.exclude[2] $.attributes[?(@.toxicity > 0.8)]"))
        .expect("a row names the exclude expression");
    assert_eq!(toxic.copies, 0);

    // span replacement: edited rows name the selector
    let cfg = dolma_config("email-spans.json", tmp.path());
    let units = plan(&LocalStorage, &cfg).unwrap();
    let ledgers = ledger_paths(&cfg, &units, dir);
    let reps = run_with(&cfg, 1, |i, _| MixOptions {
        ledgers: ledgers[i].clone(),
        ..Default::default()
    });
    let rows = ledger_rows(&ledgers[0][0]);
    let edited: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| r.decision == LedgerDecision::Edited)
        .collect();
    assert_eq!(edited.len() as u64, reps[0].1.counts.edited);
    assert_eq!(edited.len(), 3);
    assert!(
        edited.iter().all(|r| {
            r.copies == 1
                && r.rule.as_deref().is_some_and(|x| {
                    x.starts_with("span_replacement[") && x.contains("$.attributes.")
                })
        }),
        "{edited:?}"
    );
    // per replacer: the documents each changed, as the edited rows name them
    let by = &reps[0].1.counts.edited_by;
    assert!(!by.is_empty());
    for (name, n) in by {
        let rows_naming = edited
            .iter()
            .filter(|r| {
                r.rule
                    .as_deref()
                    .is_some_and(|x| x.split("; ").any(|p| p == name))
            })
            .count() as u64;
        assert_eq!(rows_naming, *n, "{name}");
    }
    assert!(by.values().sum::<u64>() >= reps[0].1.counts.edited);

    // min_text_length and sampling: value and threshold
    let d = Data::new();
    d.docs(
        "documents/a.jsonl",
        &(0..200)
            .map(|i| {
                (
                    format!("{i}"),
                    if i % 4 == 0 { " x " } else { "some words here" },
                )
            })
            .collect::<Vec<_>>()
            .iter()
            .map(|(a, b)| (a.as_str(), *b))
            .collect::<Vec<_>>(),
    );
    let mut cfg = d.config("    filter: {exclude: [$.nothing]}\n");
    cfg.streams[0].output.min_text_length = 2;
    cfg.streams[0].sample_rate = Some(0.5);
    let units = plan(&LocalStorage, &cfg).unwrap();
    let ledgers = ledger_paths(&cfg, &units, d.root());
    let sampling = stream_sampling(&cfg.streams[0]);
    let reps = run_with(&cfg, 1, |i, _| MixOptions {
        sampling,
        dry_run: false,
        ledgers: ledgers[i].clone(),
        counted: None,
        ..Default::default()
    });
    let c = &reps[0].1.counts;
    let rows = ledger_rows(&ledgers[0][0]);
    assert_eq!(rows.len(), 200);
    let short: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| r.rule.as_deref() == Some("output.min_text_length"))
        .collect();
    assert_eq!(short.len(), 50);
    assert!(short
        .iter()
        .all(|r| r.value == Some(1.0) && r.threshold == Some(2.0)));
    let out: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| r.decision == LedgerDecision::SampledOut)
        .collect();
    assert_eq!(out.len() as u64, c.dropped["sample"].documents_dropped);
    let s = sampling.unwrap();
    for r in &rows {
        if r.line % 4 == 1 {
            continue; // the short ones
        }
        let (copies, draw) = s.copies(&sampling_key("a.jsonl", &r.id), r.line);
        assert_eq!(r.copies, copies, "{r:?}");
        if copies == 0 {
            assert_eq!(r.rule.as_deref(), Some("sample"));
            assert_eq!((r.value, r.threshold), (Some(draw), Some(0.5)));
        }
    }
    assert_eq!(
        rows.iter().map(|r| u64::from(r.copies)).sum::<u64>(),
        c.kept
    );
}

#[test]
fn manifest_directory_and_ledger_names() {
    assert_eq!(common_dir(&["out/a", "out/b/"]).as_deref(), Some("out"));
    assert_eq!(
        common_dir(&["./out/a", "out/a/b"]).as_deref(),
        Some("out/a")
    );
    assert_eq!(common_dir(&["/x/y/a", "/x/y/b"]).as_deref(), Some("/x/y"));
    assert_eq!(
        common_dir(&["s3://b/m/a", "s3://b/m/b"]).as_deref(),
        Some("s3://b/m")
    );
    assert_eq!(common_dir(&["out/cc"]).as_deref(), Some("out/cc"));
    for none in [&["a", "b"][..], &["/a", "/b"], &["s3://a/x", "s3://b/x"]] {
        assert_eq!(common_dir(none), None, "{none:?}");
    }
    // two streams of one name, inputs that share a file name in different directories
    let d = Data::new();
    d.docs("x/documents/a/000.jsonl", &[("1", "one")]);
    d.docs("x/documents/b/000.jsonl", &[("2", "two")]);
    d.docs("y/000.jsonl", &[("3", "three")]);
    d.docs("z/000.jsonl", &[("4", "four")]);
    let text = format!(
        "streams:\n  - {{name: s, documents: ['{r}/x/documents/*/*.jsonl'], output: {{path: '{r}/o1'}}, filter: {{exclude: [$.n]}}}}\n  - {{name: s, documents: ['{r}/y/*.jsonl', '{r}/z/*.jsonl'], output: {{path: '{r}/o2'}}, filter: {{exclude: [$.n]}}}}\n",
        r = d.root()
    );
    let cfg = parse(&text, "m.yaml").unwrap();
    assert_eq!(stream_labels(&cfg), ["s@0", "s@1"]);
    let units = plan(&LocalStorage, &cfg).unwrap();
    let l: Vec<String> = ledger_paths(&cfg, &units, "M")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        l,
        [
            "M/ledger/s@0/a/000.jsonl.parquet",
            "M/ledger/s@0/b/000.jsonl.parquet",
            "M/ledger/s@1/y/000.jsonl.parquet",
            "M/ledger/s@1/z/000.jsonl.parquet"
        ]
    );
}

// ---------------------------------------------------------------- block-parallel processing

/// One gzip input of 1,500 documents (several blocks of the sizes below), with a document
/// attribute scored by line, paragraph spans to delete, an e-mail-like span to replace, and
/// a few documents without `metadata` or with a non-object one.
fn block_data() -> Data {
    let d = Data::new();
    let mut docs = String::new();
    let mut attrs = String::new();
    for i in 0..1500usize {
        let paras: Vec<String> = (0..(i % 5 + 1))
            .map(|p| format!("para {p} of doc {i}é{}", " word".repeat((i * 3 + p) % 23)))
            .collect();
        let text = paras.join("\n");
        let mut doc = serde_json::json!({"id": format!("d{i}"), "text": text, "source": "s"});
        match i % 7 {
            0 => {}
            1 => doc["metadata"] = serde_json::json!("not an object"),
            _ => doc["metadata"] = serde_json::json!({"n": i}),
        }
        docs.push_str(&format!("{doc}\n"));
        // Spans over every other paragraph, in characters.
        let mut spans = Vec::new();
        let mut at = 0usize;
        for (p, para) in paras.iter().enumerate() {
            let n = para.chars().count() + 1;
            if p % 2 == 1 {
                spans.push(serde_json::json!([
                    at,
                    (at + n).min(text.chars().count()),
                    1.0
                ]));
            }
            at += n;
        }
        let a = serde_json::json!({"id": format!("d{i}"), "attributes": {
            "t__x__y": [[0, 1, (i % 10) as f64 / 10.0]],
            "t__dup": spans,
            "t__mail": [[0, 4, if i % 3 == 0 { 0.9 } else { 0.1 }]],
        }});
        attrs.push_str(&format!("{a}\n"));
    }
    let gz = |s: &str| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(s.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    for (rel, body) in [
        ("documents/a.jsonl.gz", &docs),
        ("attributes/t/a.jsonl.gz", &attrs),
    ] {
        let p = d.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, gz(body)).unwrap();
    }
    d
}

#[test]
fn blocks_processed_in_parallel_write_the_bytes_of_one_sequential_pass() {
    use loam_mixes::dolma_mix::{mix_unit_blocks, Blocking};
    let d = block_data();
    let text = format!(
        "streams:\n  - name: s\n    documents: [{root}/documents/*.jsonl.gz]\n    output: {{path: {root}/out, min_text_length: 30}}\n    attributes: [t]\n    filter: {{syntax: jq, exclude: [\".attributes.t__x__y[0][2] * 1 > 0.75\"]}}\n    span_replacement:\n      - {{span: $.attributes.t__dup, min_score: 0.5, replacement: ''}}\n      - {{span: $.attributes.t__mail, min_score: 0.5, replacement: '[{{}}]'}}\n    sample_rate: 1.4\n    seed: 5\n",
        root = d.root()
    );
    let cfg = parse(&text, "m.yaml").unwrap_or_else(|e| panic!("{e:?}"));
    let units = plan(&LocalStorage, &cfg).unwrap();
    assert_eq!(units.len(), 1);
    let stream = CompiledStream::new(&cfg.streams[0], "streams[0]").unwrap();
    let ledgers = ledger_paths(&cfg, &units, d.root());
    let opts = MixOptions {
        sampling: stream_sampling(&cfg.streams[0]),
        ledgers: ledgers[0].clone(),
        ..Default::default()
    };
    // Output, ledger and index bytes, counts, for one way of cutting the input.
    let run = |threads: usize, blocking: Blocking| {
        let exec = Executor::new(threads).unwrap();
        let rep = exec.install(|| {
            mix_unit_blocks(
                &LocalStorage,
                &units[0],
                &stream,
                &opts,
                &CountingProgress::default(),
                blocking,
            )
        });
        assert!(!rep.scan.failed(), "{:?}", rep.scan);
        let read = |p: &str| std::fs::read(p).unwrap();
        let ledger = &rep.ledgers[0];
        (
            read(&units[0].output),
            read(&ledger.ledger.path),
            read(&ledger.index.path),
            rep.counts.clone(),
            rep.inputs.clone(),
            rep.attributes.clone(),
        )
    };
    let sequential = Blocking {
        max_lines: usize::MAX,
        max_bytes: usize::MAX,
        parallel: false,
    };
    let want = run(1, sequential);
    // Enough happened for the comparison to mean something.
    let c = &want.3;
    assert_eq!(c.documents, 1500);
    assert!(
        c.edited > 300 && c.kept > c.eligible && c.dropped.len() >= 2,
        "{c:?}"
    );
    for (threads, max_lines, max_bytes) in [
        (1, 7, 1 << 20),
        (2, 7, 1 << 20),
        (3, 64, 4096),
        (2, 1, 1),
        (2, 2048, 4 << 20),
    ] {
        for parallel in [true, false] {
            let blocking = Blocking {
                max_lines,
                max_bytes,
                parallel,
            };
            let got = run(threads, blocking);
            assert!(
                got.0 == want.0,
                "output differs with {blocking:?} at {threads} threads"
            );
            assert!(
                got.1 == want.1,
                "ledger differs with {blocking:?} at {threads} threads"
            );
            assert!(
                got.2 == want.2,
                "index differs with {blocking:?} at {threads} threads"
            );
            assert_eq!(got.3, want.3, "{blocking:?} at {threads} threads");
            assert_eq!(got.4, want.4);
            assert_eq!(got.5, want.5);
        }
    }
}
