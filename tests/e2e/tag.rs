//! `loam tag -c` (dolma tag configs): the dolma layout, the `--dolma-bugs` switch, and a
//! trained classifier used as a tagger.

use crate::common::*;

use serde_json::Value;

#[test]
fn dolma_tag_config_writes_dolma_layout() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*.gz]\nexperiment: lens\ntaggers: [char_length_v1]\nprocesses: 2\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let attr = dir.path().join("attributes/lens/cc_misc.jsonl.gz");
    let mut s = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&attr).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 40);
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert!(
        first["attributes"]["lens__char_length_v1__length"].is_array(),
        "{first}"
    );
    // Same config again: nothing to do.
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0/2"),
        "{}",
        text(&o)
    );
}

#[test]
fn dolma_bug_switch_is_explicit_and_fingerprinted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("documents")).unwrap();
    std::fs::write(
        dir.path().join("documents/a.jsonl"),
        "{\"id\":\"a\",\"text\":\"Mail someone@example.com or see https://example.com/page today, call 555-123-4567.\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "documents: [documents/*.jsonl]\ntaggers: [pii_regex_v2]\n",
    )
    .unwrap();
    let read =
        || std::fs::read_to_string(dir.path().join("attributes/pii_regex_v2/a.jsonl")).unwrap();
    let o = loam(dir.path(), &["tag", "-c", "t.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let correct = read();
    // Switching dolma's bugs on is a different config: refused over the old output...
    let o = loam(dir.path(), &["tag", "-c", "t.yaml", "--dolma-bugs"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // ...and with --overwrite it gives dolma's values, which differ here: dolma's URL regex
    // never matches, which changes how phone numbers are judged in a text with a URL.
    let o = loam(
        dir.path(),
        &["tag", "-c", "t.yaml", "--dolma-bugs", "--overwrite"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(correct, read());
}

#[test]
fn train_a_classifier_and_tag_with_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("documents")).unwrap();
    // Two topics with disjoint vocabularies; a seeded LCG picks words.
    let food = "apple banana bread butter cheese cook dinner eat flour fruit garlic kitchen lunch meal oven pasta recipe salt soup sugar";
    let cars = "brake car clutch diesel drive engine fuel gear highway motor oil park piston race road speed tire truck wheel wrench";
    let (food, cars): (Vec<&str>, Vec<&str>) =
        (food.split(' ').collect(), cars.split(' ').collect());
    let mut x: u64 = 7;
    let mut words = |vocab: &[&str], n: usize| -> String {
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                vocab[(x >> 33) as usize % vocab.len()]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut train = String::new();
    for i in 0..400 {
        let (label, v) = if i % 2 == 0 {
            ("food", &food)
        } else {
            ("cars", &cars)
        };
        train.push_str(&serde_json::json!({"text": words(v, 20), "label": label}).to_string());
        train.push('\n');
    }
    std::fs::write(dir.path().join("train.jsonl"), train).unwrap();
    let mut docs = String::new();
    for i in 0..20 {
        let v = if i % 2 == 0 { &food } else { &cars };
        docs.push_str(
            &serde_json::json!({"id": format!("d{i}"), "text": words(v, 30)}).to_string(),
        );
        docs.push('\n');
    }
    std::fs::write(dir.path().join("documents/d.jsonl"), docs).unwrap();
    let train_args = [
        "train-classifier",
        "--input",
        "train.jsonl",
        "--output",
        "topic.bin",
        "--dim",
        "16",
        "--bucket",
        "10000",
    ];
    let o = loam(dir.path(), &train_args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("cars 200, food 200"));
    // Training is single-threaded: the same input gives the same model bytes.
    let first = std::fs::read(dir.path().join("topic.bin")).unwrap();
    let o = loam(dir.path(), &train_args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(first == std::fs::read(dir.path().join("topic.bin")).unwrap());
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: c\ndocuments: [documents/*]\noutput: out\n\
         tag: {experiment: e, classifiers: [{name: topic, model: topic.bin}]}\n\
         mix: {name: m, version: v1, drop: [{rule: cars, attribute: e__topic__cars, op: gt, value: 0.5}]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&dir.path().join("out/m"), "v1");
    let m = manifest_without_run(&std::fs::read(v.join("manifest.json")).unwrap());
    // Every "cars" document is dropped, every "food" one kept; the model is in the manifest.
    assert_eq!(
        m["stages"][1]["by_rule"]["cars"]["documents_dropped"], 10,
        "{m}"
    );
    assert_eq!(m["stages"][1]["documents_out"], 10, "{m}");
    assert_eq!(m["models"][0]["used_by"], "topic");
    // `loam tag -c` (a dolma tag config) runs it too, beside a built-in tagger; without an
    // experiment each gets its own attribute directory and key prefix, as in dolma.
    std::fs::write(
        dir.path().join("tag.yaml"),
        "documents: [documents/*]\ntaggers: [char_length_v1]\n\
         classifiers: [{name: topic, model: topic.bin}]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let attrs = std::fs::read_to_string(dir.path().join("attributes/topic/d.jsonl")).unwrap();
    assert_eq!(attrs.lines().count(), 20);
    for (i, line) in attrs.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let cars = v["attributes"]["topic__topic__cars"][0][2]
            .as_f64()
            .unwrap();
        assert_eq!(cars > 0.5, i % 2 == 1, "{line}");
    }
    assert!(dir
        .path()
        .join("attributes/char_length_v1/d.jsonl")
        .is_file());
    // A classifier may not take a built-in tagger's name.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "documents: [documents/*]\nclassifiers: [{name: gopher_v1, model: topic.bin}]\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("classifiers[0].name"));
    // A missing model is a clear configuration error.
    std::fs::remove_file(dir.path().join("topic.bin")).unwrap();
    let o = loam(dir.path(), &["run", "p.yaml", "--overwrite"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("topic.bin"));
    let o = loam(dir.path(), &["tag", "-c", "tag.yaml", "--overwrite"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("topic.bin"));
}

/// A URL tagger reads the list given in `tagger_options` (or dolma's default name under
/// `LOAM_MODELS_DIR`); a missing list is a config error naming the tagger and the file, and
/// the list's checksum is part of the fingerprint.
#[test]
fn url_tagger_lists_come_from_config_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("documents")).unwrap();
    std::fs::write(
        dir.path().join("documents/a.jsonl"),
        concat!(
            "{\"id\":\"a\",\"text\":\"blocked\",\"metadata\":{\"url\":\"https://www.Bad.example/x\"}}\n",
            "{\"id\":\"b\",\"text\":\"fine\",\"metadata\":{\"url\":\"https://good.example/\"}}\n",
            "{\"id\":\"c\",\"text\":\"no url\"}\n",
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("hosts.txt"), "0.0.0.0 bad.example\n").unwrap();
    let missing = "documents: [documents/*.jsonl]\ntaggers: [blocklist_hosts_porn_v1]\n";
    std::fs::write(dir.path().join("missing.yaml"), missing).unwrap();
    let models = dir.path().join("no-models");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["tag", "-c", "missing.yaml"])
        .env("LOAM_MODELS_DIR", &models)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("blocklist_hosts_porn_v1")
            && err.contains("blocklist_hosts/blocklist_hosts-20240208/porn.txt"),
        "{err}"
    );
    // An option a tagger does not take is refused before any work.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "documents: [documents/*.jsonl]\ntaggers: [c4_v1]\ntagger_options: {c4_v1: {lists: [hosts.txt]}}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    std::fs::write(
        dir.path().join("t.yaml"),
        "documents: [documents/*.jsonl]\ntaggers: [blocklist_hosts_porn_v1]\ntagger_options:\n  blocklist_hosts_porn_v1: {lists: [hosts.txt]}\n",
    )
    .unwrap();
    let o = loam(dir.path(), &["tag", "-c", "t.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = std::fs::read_to_string(
        dir.path()
            .join("attributes/blocklist_hosts_porn_v1/a.jsonl"),
    )
    .unwrap();
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["attributes"]["blocklist_hosts_porn_v1__blocklist_hosts_porn_v1__url"],
        serde_json::json!([[0, 7, 1.0]])
    );
    assert_eq!(lines[1]["attributes"], serde_json::json!({}));
    assert_eq!(lines[2]["attributes"], serde_json::json!({}));
    // A changed list is a different config: refused over the old output.
    std::fs::write(dir.path().join("hosts.txt"), "0.0.0.0 good.example\n").unwrap();
    let o = loam(dir.path(), &["tag", "-c", "t.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
