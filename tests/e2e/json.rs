//! `--json`: one JSON document on stdout for tools, from `run`, `explain`, `manifest verify`
//! and `manifest diff`, carrying what the tables show.

use crate::common::*;
use crate::helpers::files_under;
use serde_json::Value;

fn json_of(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn run_explain_verify_and_diff_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(repo().join("examples"), d.join("examples")).unwrap();
    let run = json_of(&loam(d, &["run", "examples/quickstart.yaml", "--json"]));
    let stages = run["stages"].as_array().unwrap();
    let kinds: Vec<&str> = stages.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["tag", "dedupe", "mix"]);
    let mix = &stages[2];
    assert_eq!(mix["docs_in"], 327);
    // Rules in config order, each with its counts; every stage timed.
    let rules: Vec<&str> = mix["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules[0], "duplicate");
    assert_eq!(rules[1], "too_few_words");
    let dropped: u64 = mix["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["counts"]["documents_dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(dropped, 327 - mix["docs_out"].as_u64().unwrap());
    assert!(stages.iter().all(|s| s["seconds"].as_f64().unwrap() >= 0.0));
    let manifest = run["manifest"].as_str().unwrap().to_string();
    let mix_dir = d.join(&manifest).parent().unwrap().to_path_buf();
    let mix_arg = mix_dir.to_str().unwrap();

    // A duplicate from the ledger, explained.
    let mut dup = None;
    for e in std::fs::read_dir(mix_dir.join("ledger")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            loam_mixes::ledger::read_ledger(&p, |r| {
                if dup.is_none() && r.decision == loam_mixes::ledger::Decision::Duplicate {
                    dup = Some(r.id);
                }
            })
            .unwrap();
        }
    }
    let id = dup.expect("a duplicate in the quickstart mix");
    let ex = json_of(&loam(d, &["explain", mix_arg, &id, "--json"]));
    let ex = &ex.as_array().unwrap()[0];
    assert_eq!(ex["id"], id.as_str());
    assert_eq!(ex["decision"], "duplicate");
    assert_eq!(ex["rule"], "duplicate");
    assert!(ex["kept_copy"].as_str().unwrap().contains(':'), "{ex}");
    assert_eq!(ex["rules"][0]["result"], "FIRES  ← decided");

    let v = json_of(&loam(d, &["manifest", "verify", mix_arg, "--json"]));
    assert_eq!(v["ok"], true);
    assert!(v["checked"].as_u64().unwrap() > 3);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    // A changed output is a finding with both digests, and exit 1.
    let out = files_under(&mix_dir.join("documents"), "")[0].clone();
    let mut bytes = std::fs::read(&out).unwrap();
    bytes.push(b'\n');
    std::fs::write(&out, bytes).unwrap();
    let o = loam(d, &["manifest", "verify", mix_arg, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["findings"][0]["problem"], "changed");
    assert!(v["findings"][0]["want"]["sha256"].is_string(), "{v}");

    let diff = json_of(&loam(d, &["manifest", "diff", mix_arg, mix_arg, "--json"]));
    assert_eq!(diff["mixes"].as_array().unwrap().len(), 2);
    let rows = diff["stages"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["a"] == r["b"]), "{diff}");
    assert_eq!(diff["moves"].as_array().unwrap().len(), 0);
    assert_eq!(diff["config"].as_array().unwrap().len(), 0);

    // A changed threshold is the first thing `manifest diff` shows.
    let cfg = std::fs::read_to_string(repo().join("examples/quickstart.yaml"))
        .unwrap()
        .replace("value: 50", "value: 60")
        .replace("output: out/quickstart", "output: out/q60");
    std::fs::write(d.join("q60.yaml"), cfg).unwrap();
    let run2 = json_of(&loam(d, &["run", "q60.yaml", "--json"]));
    let m2 = d.join(run2["manifest"].as_str().unwrap());
    let b = m2.parent().unwrap().to_str().unwrap().to_string();
    let diff = json_of(&loam(d, &["manifest", "diff", mix_arg, &b, "--json"]));
    let changes = diff["config"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{diff}");
    assert_eq!(changes[0]["path"], "mix.drop[1].value");
    assert_eq!(
        (changes[0]["a"].clone(), changes[0]["b"].clone()),
        (50.into(), 60.into())
    );
    assert_eq!(changes[1]["path"], "output");
    let o = loam(d, &["manifest", "diff", mix_arg, &b]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.starts_with("config values that differ (A → B):\n  mix.drop[1].value: 50 → 60"),
        "{table}"
    );
}

/// An upsampled mix writes more copies than it reads documents; its rules' drops still show,
/// in the table and in `--json` (they read `0` when `dropped` was `in - out`).
#[test]
fn an_upsampled_mix_still_shows_what_its_rules_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_quickstart_documents(d, 1);
    let cfg = crate::helpers::PIPELINE.replace("THRESHOLD", "100") + "  sample: {rate: 2.5}\n";
    std::fs::write(d.join("p.yaml"), cfg).unwrap();
    let run = json_of(&loam(d, &["run", "p.yaml", "--json"]));
    let mix = &run["stages"].as_array().unwrap()[2];
    let (docs_in, docs_out) = (
        mix["docs_in"].as_u64().unwrap(),
        mix["docs_out"].as_u64().unwrap(),
    );
    assert!(
        docs_out > docs_in,
        "upsampled: {docs_out} copies of {docs_in} documents"
    );
    let by_rules: u64 = mix["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["counts"]["documents_dropped"].as_u64().unwrap())
        .sum();
    assert!(
        by_rules > 0,
        "the quickstart has duplicates and short documents"
    );
    assert_eq!(mix["dropped"].as_u64().unwrap(), by_rules);

    // The table says the same (the mix row's fourth column).
    let o = loam(d, &["run", "p.yaml", "--overwrite"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let row = out
        .lines()
        .find(|l| l.starts_with("mix"))
        .unwrap_or_else(|| panic!("no mix row in\n{out}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // Columns from the right: dropped, MB in, MB out, seconds, share, units (the stage name
    // may hold spaces).
    assert_eq!(cols[cols.len() - 6], by_rules.to_string(), "{row}");
}
