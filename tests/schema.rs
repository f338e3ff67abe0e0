//! The manifest a real run writes conforms to `schemas/manifest.schema.json`: a small
//! validator for the subset of JSON Schema the file uses (type, const, enum, pattern of
//! hex strings, required, properties, additionalProperties, items, $ref, minimum).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            &root["$defs"][name]
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        _ => false,
    }
}

fn validate(root: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(root, schema);
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)),
            _ => true,
        };
        if !ok {
            errs.push(format!("{path}: expected type {t}, found {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{path}: expected {c}, found {v}"));
        }
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let (Some(p), Some(x)) = (s.get("pattern").and_then(Value::as_str), v.as_str()) {
        // The schema only uses ^[0-9a-f]{N}$ patterns.
        let n: usize = p
            .trim_start_matches("^[0-9a-f]{")
            .trim_end_matches("}$")
            .parse()
            .expect("hex pattern");
        if x.len() != n
            || !x
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            errs.push(format!("{path}: {x:?} does not match {p}"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            errs.push(format!("{path}: {x} < {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req {
                if !obj.contains_key(r.as_str().unwrap_or("")) {
                    errs.push(format!("{path}: missing required `{r}`"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            let sub = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, val, &sub, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{sub}: not in the schema")),
                    Some(ap @ Value::Object(_)) => validate(root, ap, val, &sub, errs),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(root, items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

#[test]
fn quickstart_manifest_matches_the_schema() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema: Value =
        serde_json::from_slice(&std::fs::read(repo.join("schemas/manifest.schema.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(
        repo.join("examples/quickstart/documents/cc_misc.jsonl.gz"),
        docs.join("cc_misc.jsonl.gz"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: s\ndocuments: [documents/*]\noutput: out\ntag: {experiment: e, taggers: [char_length_v1]}\n\
         mix: {name: m, version: v1, sample: {rate: 0.5}, drop: [{rule: short, attribute: e__char_length_v1__length, op: lt, value: 100}, {rule: never, attribute: e__char_length_v1__length, op: lt, value: 0}]}\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", "p.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mdir = std::fs::read_dir(dir.path().join("out/m"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(mdir.join("manifest.json")).unwrap()).unwrap();
    let mut errs = Vec::new();
    validate(&schema, &schema, &manifest, "$", &mut errs);
    assert!(errs.is_empty(), "{errs:#?}");
    // The rule that never fires is a warning (validated above).
    let warned = manifest["warnings"].as_array().unwrap();
    assert!(
        warned
            .iter()
            .any(|w| w.as_str().unwrap().contains("rule `never`")),
        "{warned:?}"
    );
    // The validator can fail: a stray key and a bad checksum are caught.
    let mut bad = manifest.clone();
    bad["outputs"][0]["surprise"] = Value::Bool(true);
    bad["inputs"][0]["sha256"] = Value::String("XYZ".into());
    let mut errs = Vec::new();
    validate(&schema, &schema, &bad, "$", &mut errs);
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn dolma_mix_manifest_matches_the_schema() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema: Value =
        serde_json::from_slice(&std::fs::read(repo.join("schemas/manifest.schema.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = repo.join("tests/fixtures/dolma/data/provided");
    let config = format!(
        r#"{{"streams": [
          {{"name": "filtered", "documents": ["{d}/documents/*.gz"], "attributes": ["pii", "toxicity"],
            "filter": {{"exclude": ["$.attributes[?(@.toxicity > 0.8)]"]}},
            "span_replacement": [{{"span": "$.attributes.pii.email", "min_score": 0.5, "replacement": "[E]"}}],
            "output": {{"path": "out/filtered", "min_text_length": 600}}, "sample_rate": 0.5, "seed": 1}},
          {{"name": "budget", "documents": ["{d}/documents/*.gz"],
            "filter": {{"include": ["$.metadata[?(@.length < 10000)]"]}},
            "output": {{"path": "out/budget"}}, "max_tokens": 2000}}]}}"#,
        d = data.display()
    );
    std::fs::write(dir.path().join("mix.json"), config).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["mix", "-c", "mix.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let mut errs = Vec::new();
    validate(&schema, &schema, &manifest, "$", &mut errs);
    assert!(errs.is_empty(), "{errs:#?}");
    let kinds: std::collections::BTreeSet<&str> = manifest["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["documents", "index", "ledger"]
    );
    // the edit stage's per-replacer counts are in the schema (and were validated above)
    let edit = manifest["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "edit:filtered")
        .expect("an edit stage");
    assert!(
        edit["by_rule"]["span_replacement[0] $.attributes.pii.email"]["documents_edited"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{edit}"
    );
}
