//! Mixes through storage: manifests on local disk or in an object store (the
//! [`ManifestStore`] that `loam_manifests::check` reads through), and the ledger part of
//! `loam manifest diff` (how documents moved between decisions).

use crate::Error;
use loam_manifests::check::{self, LoadError, ManifestStore, StoreError};
use loam_manifests::Manifest;
use loam_mixes::ledger::{read_ledger, Decision};
use loam_pipeline::storage::{read_all, storage_for, AnyStorage, Storage};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Local disk and object stores, routed by scheme ([`AnyStorage`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Store;

impl ManifestStore for Store {
    fn is_remote(&self, loc: &str) -> bool {
        is_remote(loc)
    }

    fn read(&self, loc: &str) -> Result<Vec<u8>, StoreError> {
        Ok(storage_for(loc).and_then(|s| read_all(s, loc))?)
    }

    fn size(&self, loc: &str) -> Result<Option<u64>, StoreError> {
        Ok(storage_for(loc)?.size(loc)?)
    }

    fn open(&self, loc: &str) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        Ok(storage_for(loc)?.open(loc)?)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let listed = storage_for(prefix)?.list(prefix)?;
        Ok(listed.into_iter().map(|o| o.path).collect())
    }
}

/// Whether a location is not on local disk (an object store, `s3://…`), as the storage
/// layer routes it.
pub fn is_remote(loc: &str) -> bool {
    AnyStorage.local_path(loc).is_none()
}

/// Finds and parses `manifest.json` in a mix directory (or the file itself), on local disk or
/// in an object store (`s3://bucket/mixes/name/version`). Returns it with its directory.
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf), LoadError> {
    check::load(path, &Store)
}

/// A document's place: input file name and line.
type LedgerKey = (String, u64);
/// What the ledger says of it: decision and rule.
type LedgerEntry = (Decision, Option<String>);

fn ledger_decisions(m: &Manifest, dir: &Path) -> Result<HashMap<LedgerKey, LedgerEntry>, Error> {
    let mut out = HashMap::new();
    let ledgers: Vec<&loam_manifests::OutputFile> = m
        .outputs
        .iter()
        .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
        .collect();
    if ledgers.is_empty() {
        return Err(Error::NoLedger {
            dir: dir.to_path_buf(),
        });
    }
    for o in ledgers {
        let p = dir.join(&o.path);
        read_ledger(&p, |r| {
            let file = r.file.rsplit('/').next().unwrap_or(&r.file).to_string();
            out.insert((file, r.line), (r.decision, r.rule));
        })?;
    }
    Ok(out)
}

fn label(d: Decision, rule: &Option<String>) -> String {
    match (d, rule) {
        (Decision::Kept, _) => "kept".into(),
        (_, Some(r)) => format!("{}:{r}", d.as_str()),
        (_, None) => d.as_str().into(),
    }
}

/// How documents moved between decisions from mix A to mix B (matched by input file name
/// and line); `Display` prints it as `loam manifest diff` does after the stage table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionMoves {
    /// Documents per (decision in A, decision in B), for those that changed.
    pub moves: BTreeMap<(String, String), u64>,
    /// Documents only A's ledgers have.
    pub only_a: u64,
    /// Documents only B's ledgers have.
    pub only_b: u64,
}

impl DecisionMoves {
    /// Reads both mixes' ledgers (`da`, `db`: their manifests' directories); no text is
    /// read. A mix without ledgers is an error.
    pub fn new(ma: &Manifest, da: &Path, mb: &Manifest, db: &Path) -> Result<Self, Error> {
        let la = ledger_decisions(ma, da)?;
        let lb = ledger_decisions(mb, db)?;
        let mut out = DecisionMoves::default();
        for (k, (d, r)) in &la {
            match lb.get(k) {
                Some((d2, r2)) => {
                    let (x, y) = (label(*d, r), label(*d2, r2));
                    if x != y {
                        *out.moves.entry((x, y)).or_default() += 1;
                    }
                }
                None => out.only_a += 1,
            }
        }
        out.only_b = lb.keys().filter(|k| !la.contains_key(*k)).count() as u64;
        Ok(out)
    }
}

impl fmt::Display for DecisionMoves {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        if self.moves.is_empty() {
            writeln!(f, "no document changed its decision")?;
        } else {
            writeln!(
                f,
                "{:<36} {:<36} {:>10}",
                "decision in A", "decision in B", "documents"
            )?;
            for ((x, y), n) in &self.moves {
                writeln!(f, "{x:<36} {y:<36} {n:>10}")?;
            }
        }
        if self.only_a + self.only_b > 0 {
            writeln!(
                f,
                "documents only in A: {}, only in B: {}",
                self.only_a, self.only_b
            )?;
        }
        Ok(())
    }
}
