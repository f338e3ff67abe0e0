//! Outputs of earlier versions still read (as search engines keep reading old index
//! formats): a frozen manifest, its ledgers and id indexes (`tests/fixtures/frozen/`).

use crate::common::*;
use loam_manifests::{InputRole, Manifest, OutputKind, StageKind};

#[test]
fn a_frozen_v1_manifest_and_its_ledgers_still_read() {
    let dir = repo().join("tests/fixtures/frozen/mix-v1");
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    // Written before stages recorded their kind: it is read from the label.
    assert!(m.stages.iter().all(|s| s.kind.is_none()));
    let kinds: Vec<Option<StageKind>> = m.stages.iter().map(|s| s.kind()).collect();
    assert_eq!(
        kinds,
        [
            Some(StageKind::Tag),
            Some(StageKind::Dedupe),
            Some(StageKind::Mix),
            Some(StageKind::Shuffle)
        ]
    );
    assert!(m.inputs.iter().any(|i| i.role == InputRole::Documents));
    assert!(m.inputs.iter().any(|i| i.role == InputRole::Attributes));
    let ledgers: Vec<_> = m
        .outputs
        .iter()
        .filter(|o| o.kind == OutputKind::Ledger)
        .collect();
    assert_eq!(ledgers.len(), 3);
    let mut rows = 0u64;
    for o in ledgers {
        let mut n = 0u64;
        loam_mixes::ledger::read_ledger(&dir.join(&o.path), |_| n += 1).unwrap();
        assert_eq!(n, o.documents, "{}", o.path);
        rows += n;
        // The id index beside it answers for an id of the ledger.
        let first = loam_mixes::ledger::read_ledger_row(&dir.join(&o.path), 0).unwrap();
        let idx = loam_mixes::mix::index_path(&dir.join(&o.path).to_string_lossy());
        let bytes = std::fs::read(&idx).unwrap();
        let found = loam_mixes::index::lookup(&bytes, &idx, &first.id).unwrap();
        assert!(found.contains(&0), "{}: {found:?}", first.id);
    }
    let mix = m
        .stages
        .iter()
        .find(|s| s.kind() == Some(StageKind::Mix))
        .unwrap();
    assert_eq!(rows, mix.documents_in);
    // Read and written again, it is the same manifest.
    let again: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(again, m);
}

#[test]
fn a_new_manifest_records_each_stages_kind() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo().join("examples"), dir.path().join("examples")).unwrap();
    let o = loam(dir.path(), &["run", "examples/quickstart.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let mix = version_dir(&dir.path().join("out/quickstart/quickstart"), "v1");
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(mix.join("manifest.json")).unwrap()).unwrap();
    let kinds: Vec<Option<StageKind>> = m.stages.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            Some(StageKind::Tag),
            Some(StageKind::Dedupe),
            Some(StageKind::Mix)
        ]
    );
}
