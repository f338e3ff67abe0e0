//! Exact document dedup across tasks (`dedupe.documents.partitions`): the phases split over
//! 1, 4 and 16 `--rank/--world` tasks give the attribute and mix bytes of the one-process
//! exact dedup, with the first-copy rule and with a keep policy; bad keys are refused.

use crate::common::*;
use crate::helpers::ok;
use std::collections::BTreeMap;
use std::path::Path;

fn pipeline(dir: &Path, documents: &str) {
    std::fs::write(
        dir.join("p.yaml"),
        format!(
            "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: exact\n  documents: {documents}\nmix:\n  name: m\n  version: v1\n  drop: [{{rule: dup, attribute: dup, op: exists}}]\n"
        ),
    )
    .unwrap();
}

fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::minhash_tasks::section_outputs(dir, "exact")
}

#[test]
fn exact_tasks_1_4_16_give_the_one_process_bytes() {
    for base_cfg in [
        "{attribute_name: dup}",
        "{attribute_name: dup, keep: {by: $.id, order: latest}}",
    ] {
        let base = tempfile::tempdir().unwrap();
        crate::minhash_tasks::corpus(base.path());
        pipeline(base.path(), base_cfg);
        let out = ok(base.path(), &["run", "p.yaml"]);
        let want = outputs(base.path());
        // The corpus has exact copies: some documents are marked.
        let marked =
            crate::helpers::files_under(&base.path().join("out/attributes/exact"), ".jsonl")
                .iter()
                .flat_map(|f| crate::helpers::text_lines(f))
                .filter(|l| l.contains("duplicate_of"))
                .count();
        assert!(marked >= 10, "{marked}: {out}");
        let cfg = format!("{}, partitions: 4}}", base_cfg.strip_suffix('}').unwrap());
        for world in [1usize, 4, 16] {
            let d = tempfile::tempdir().unwrap();
            crate::minhash_tasks::corpus(d.path());
            pipeline(d.path(), &cfg);
            if world == 1 {
                ok(d.path(), &["run", "p.yaml"]);
            } else {
                crate::minhash_tasks::run_as_tasks(
                    d.path(),
                    world,
                    &["keys", "survivors", "marks"],
                );
            }
            let got = outputs(d.path());
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>()
            );
            for (k, v) in &want {
                assert!(got[k] == *v, "{base_cfg}, {world} task(s): {k} differs");
            }
            // A rerun finds every unit done.
            ok(d.path(), &["run", "p.yaml"]);
            assert!(outputs(d.path()) == want);
        }
    }
}

#[test]
fn exact_tasks_refuse_bad_keys() {
    let d = tempfile::tempdir().unwrap();
    crate::minhash_tasks::corpus(d.path());
    pipeline(d.path(), "{attribute_name: dup, partitions: 0}");
    let o = loam(d.path(), &["run", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("dedupe.documents.partitions"),
        "{}",
        text(&o)
    );
    std::fs::write(
        d.path().join("p.yaml"),
        "name: t\ndocuments: [documents/*]\noutput: out\ndedupe:\n  name: exact\n  documents: {attribute_name: dup, partitions: 2}\n  bloom_filter: {estimated_doc_count: 100, desired_false_positive_rate: 0.01}\nmix: {name: m, version: v1}\n",
    )
    .unwrap();
    let o = loam(d.path(), &["run", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs exact document dedup"),
        "{}",
        text(&o)
    );
    // Survivors before every key file: refused, naming the phase.
    pipeline(d.path(), "{attribute_name: dup, partitions: 2}");
    ok(
        d.path(),
        &[
            "run", "p.yaml", "--stage", "dedupe", "--phase", "keys", "--rank", "0", "--world", "2",
        ],
    );
    let o = loam(
        d.path(),
        &[
            "run",
            "p.yaml",
            "--stage",
            "dedupe",
            "--phase",
            "survivors",
            "--rank",
            "0",
            "--world",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("`keys` is not complete"), "{}", text(&o));
}
