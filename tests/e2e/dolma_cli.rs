//! dolma's command-line forms (`loam -c tag.yaml tag --experiment x`, flags without `-c`,
//! `${oc.env:VAR,default}`, `loam list`), checked against what dolma 1.2.1's CLI made of
//! the same command lines (tests/fixtures/dolma-cli, scripts/make-cli-goldens.sh): the same
//! exit code, and for the dry runs dolma accepts, the same value at every key both print.

use crate::common::{copy_quickstart_documents, loam, repo, text};
use crate::helpers::files_under;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

fn fixture() -> std::path::PathBuf {
    repo().join("tests/fixtures/dolma-cli")
}

/// Shell words of a `cases.tsv` line: spaces separate, single quotes group.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted, mut any) = (String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// A directory as the goldens were made in: `data/documents/*.gz`, the configs, and a
/// tokenizer file (loam's tokens dry run loads it; dolma's does not).
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart_documents(&dir.path().join("data"), 1);
    for e in std::fs::read_dir(fixture()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut tok = Vec::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(repo().join("tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz"))
            .unwrap(),
    )
    .read_to_end(&mut tok)
    .unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), tok).unwrap();
    dir
}

/// Every file under `root`, relative to it.
fn rel_files(root: &Path) -> Vec<String> {
    files_under(root, "")
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().to_string())
        .collect()
}

fn run(dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(args)
        .current_dir(dir)
        .env("LOAM_CLI_DATA", "data")
        .env_remove("LOAM_CLI_UNSET")
        .output()
        .expect("run loam")
}

/// Every leaf of a tree, by its dotted path.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, p, out);
            }
        }
        Value::Array(a) if a.iter().any(|x| x.is_object()) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}.{i}"), out);
            }
        }
        other => out.push((path, other.clone())),
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| match cur {
        Value::Object(m) => m.get(k),
        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Numbers as f64, so `1.0` (dolma) equals `1` (loam) where both mean the same.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[test]
fn dolma_command_lines_mean_what_they_mean_to_dolma() {
    let dir = setup();
    let cases = std::fs::read_to_string(fixture().join("cases.tsv")).unwrap();
    let mut compared = 0;
    for line in cases
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, args) = line.split_once('\t').unwrap();
        let args = words(args);
        let o = run(dir.path(), &args);
        let expected = fixture().join("expected");
        let rc: i32 = std::fs::read_to_string(expected.join(format!("{name}.rc")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(o.status.code(), Some(rc), "{name}: {args:?}\n{}", text(&o));
        if rc != 0 {
            continue;
        }
        let dolma_text = std::fs::read_to_string(expected.join(format!("{name}.yaml"))).unwrap();
        let dolma = loam_pipeline::config::parse_text(&dolma_text, None).unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let ours: Value = serde_json::Deserializer::from_str(&stdout)
            .into_iter::<Value>()
            .next()
            .unwrap_or_else(|| panic!("{name}: no config printed\n{}", text(&o)))
            .unwrap();
        let mut theirs = Vec::new();
        leaves(&dolma, String::new(), &mut theirs);
        let mut common = 0;
        for (path, want) in &theirs {
            // dolma's scratch directories are fresh temporary ones on every run.
            if want.as_str().is_some_and(|s| s.starts_with("/tmp/dolma-")) {
                continue;
            }
            // Keys loam leaves unset where dolma prints its default (`dtype`: loam picks the
            // smallest type for the vocabulary, as dolma's docs recommend).
            let Some(got) = lookup(&ours, path).filter(|g| !g.is_null() || want.is_null()) else {
                continue;
            };
            assert!(
                same(got, want),
                "{name}: {path}: loam {got}, dolma {want}\n{args:?}\n{}",
                text(&o)
            );
            common += 1;
        }
        // Every key the command line set is among those compared.
        assert!(
            common >= 4,
            "{name}: only {common} keys in common\n{stdout}"
        );
        compared += 1;
    }
    assert_eq!(compared, 9, "every accepted case compared");
}

/// dolma's getting-started guide (docs/getting-started.md, Wikipedia), its command lines as
/// written but for resource paths: the bundled sample stands in for Wikipedia, a fastText
/// model trained here for `lid.176`, a local tokenizer file for `EleutherAI/gpt-neox-20b`;
/// `cld2_en_paragraph_with_doc_score_v2` is left out (loam has no cld2 tagger), with the
/// mixer's span replacement on its attribute.
#[test]
fn dolma_getting_started_runs() {
    let dir = setup();
    let d = dir.path();
    std::fs::create_dir_all(d.join("wikipedia/v0")).unwrap();
    std::fs::rename(d.join("data/documents"), d.join("wikipedia/v0/documents")).unwrap();
    // A stand-in language-ID model: `en` against `de`.
    let en = "the of and to in is that for it with as was on be by this are from at or";
    let de = "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als";
    let mut train = String::new();
    for i in 0..200 {
        let (label, v) = if i % 2 == 0 { ("en", en) } else { ("de", de) };
        let w: Vec<&str> = v.split(' ').collect();
        let text: Vec<&str> = (0..12).map(|k| w[(i * 7 + k * 3) % w.len()]).collect();
        train.push_str(&serde_json::json!({"text": text.join(" "), "label": label}).to_string());
        train.push('\n');
    }
    std::fs::write(d.join("train.jsonl"), train).unwrap();
    std::fs::create_dir_all(d.join("models")).unwrap();
    let o = loam(
        d,
        &[
            "train-classifier",
            "--input",
            "train.jsonl",
            "--output",
            "models/lid.176.ftz",
            "--dim",
            "8",
            "--bucket",
            "1000",
            "--quantize",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let steps: [&[&str]; 5] = [
        &["list"],
        &[
            "tag",
            "--documents",
            "wikipedia/v0/documents/*",
            "--experiment",
            "exp",
            "--taggers",
            "random_number_v1",
            "ft_lang_id_en_paragraph_with_doc_score_v2",
            "char_length_with_paragraphs_v1",
            "whitespace_tokenizer_with_paragraphs_v1",
            "--processes",
            "16",
        ],
        &[
            "dedupe",
            "--documents",
            "wikipedia/v0/documents/*",
            "--dedupe.paragraphs.attribute_name",
            "bff_duplicate_paragraph_spans",
            "--dedupe.skip_empty",
            "--bloom_filter.file",
            "/tmp/deduper_bloom_filter.bin",
            "--no-bloom_filter.read_only",
            "--bloom_filter.estimated_doc_count",
            "6_000_000",
            "--bloom_filter.desired_false_positive_rate",
            "0.0001",
            "--processes",
            "188",
        ],
        &["-c", "wikipedia-mixer.json", "mix", "--processes", "16"],
        &[
            "tokens",
            "--documents",
            "wikipedia/example0/documents/*.gz",
            "--tokenizer.name_or_path",
            "tokenizer.json",
            // The guide's command has no EOS id, which dolma 1.2.1 refuses too ("Neither
            // eos_token_id nor bos_token_id specified"); gpt-neox-20b's is 0.
            "--tokenizer.eos_token_id",
            "0",
            "--destination",
            "wikipedia/example0/tokens",
            "--processes",
            "16",
        ],
    ];
    // dolma's docs/examples/wikipedia-mixer.json, but for the cld2 span replacement.
    std::fs::write(
        d.join("wikipedia-mixer.json"),
        serde_json::json!({
            "streams": [{
                "name": "getting-started",
                "documents": ["wikipedia/v0/documents/*.gz"],
                "output": {"path": "wikipedia/example0/documents", "max_size_in_bytes": 1000000000},
                "attributes": ["exp", "bff_duplicate_paragraph_spans"],
                "filter": {
                    "include": ["$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 100000)]"],
                    "exclude": [
                        "$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 50)]",
                        "$.attributes[?(@.exp__ft_lang_id_en_paragraph_with_doc_score_v2__doc_en[0][2] <= 0.5)]",
                        "$@.attributes[?(@.bff_duplicate_paragraph_spans && @.bff_duplicate_paragraph_spans[0] && @.bff_duplicate_paragraph_spans[0][2] >= 1.0)]"
                    ]
                }
            }],
            "processes": 1
        })
        .to_string(),
    )
    .unwrap();
    // A unique filter file: the guide's /tmp path is shared by every run on the machine.
    let bloom = d
        .join("deduper_bloom_filter.bin")
        .to_string_lossy()
        .to_string();
    for step in steps {
        let args: Vec<&str> = step
            .iter()
            .map(|a| {
                if *a == "/tmp/deduper_bloom_filter.bin" {
                    bloom.as_str()
                } else {
                    a
                }
            })
            .collect();
        if args[0] == "tokens" {
            // The mix's manifest (in example0/, the parent of its documents folder) checks
            // out before the guide puts its tokens beside the documents.
            let o = loam(d, &["manifest", "verify", "wikipedia/example0"]);
            assert!(o.status.success(), "{}", text(&o));
        }
        let o = loam(d, &args);
        assert!(o.status.success(), "{args:?}\n{}", text(&o));
    }
    let files = rel_files(&d.join("wikipedia"));
    for want in [
        "v0/attributes/exp/",
        "v0/attributes/bff_duplicate_paragraph_spans/",
        "example0/documents/",
        "example0/tokens/",
    ] {
        assert!(
            files.iter().any(|f| f.contains(want)),
            "{want} missing: {files:?}"
        );
    }
    let o = loam(d, &["manifest", "verify", "wikipedia/example0/tokens"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn list_is_taggers() {
    let dir = tempfile::tempdir().unwrap();
    let a = loam(dir.path(), &["list"]);
    let b = loam(dir.path(), &["taggers"]);
    assert!(a.status.success(), "{}", text(&a));
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).contains("random_number_v1"));
}

#[test]
fn flags_change_what_runs_and_are_recorded() {
    let dir = setup();
    let d = dir.path();
    // Flags over a file: the experiment named on the command line is where attributes go.
    let o = run(
        d,
        &words("-c tag.yaml tag --experiment flagged --taggers char_length_v1"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = rel_files(&d.join("data/attributes"));
    assert!(files.iter().all(|f| f.starts_with("flagged/")), "{files:?}");
    assert!(!files.is_empty());
    let o = run(d, &words("tag -c tag.yaml"));
    assert!(o.status.success(), "{}", text(&o));
    // An unset variable without a default is a config error naming the field.
    std::fs::write(
        d.join("bad.yaml"),
        "documents: ['${oc.env:LOAM_CLI_UNSET}/documents/*.gz']\ntaggers: [char_length_v1]\n",
    )
    .unwrap();
    let o = run(d, &words("tag -c bad.yaml"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("documents[0]") && err.contains("LOAM_CLI_UNSET"),
        "{err}"
    );
    // The mix's manifest records the config that ran: the file with the flags over it.
    let o = run(d, &words("mix -c mix.yaml --processes 2 --no-shuffle"));
    assert!(o.status.success(), "{}", text(&o));
    let m: Value =
        serde_json::from_slice(&std::fs::read(d.join("data/mixed/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["config"]["path"], "mix.yaml + flags", "{m}");
    assert_eq!(m["config"]["normalized"]["shuffle"], false, "{m}");
    assert_eq!(
        m["config"]["normalized"]["streams"][0]["output"]["path"],
        "data/mixed/documents"
    );
    let o = loam(d, &["manifest", "verify", "data/mixed"]);
    assert!(o.status.success(), "{}", text(&o));
}
