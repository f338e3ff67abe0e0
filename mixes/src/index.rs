//! An id index beside each ledger: `ledger/<rel>.idx` lists (xxh3-64 of the id, ledger row)
//! sorted, so one document's decision is found by binary search instead of a scan.
//!
//! Layout (little-endian): magic `LOAMIDX1`, entry count (u64), then `count` entries of
//! (hash u64, row u32).

use loam_pipeline::storage::{write_atomic, Storage};
use loam_pipeline::writer::{WriteError, WrittenShard};

const MAGIC: &[u8; 8] = b"LOAMIDX1";
const ENTRY: usize = 12;

/// The hash the index is keyed by.
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Builds an index in memory (one entry per ledger row) and writes it atomically.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    entries: Vec<(u64, u32)>,
}

impl IndexBuilder {
    /// Records that ledger row `row` holds `id`.
    pub fn push(&mut self, id: &str, row: u32) {
        self.entries.push((id_hash(id), row));
    }

    /// Sorts and writes the index.
    pub fn write(mut self, storage: &dyn Storage, path: &str) -> Result<WrittenShard, WriteError> {
        self.entries.sort_unstable();
        let mut bytes = Vec::with_capacity(16 + self.entries.len() * ENTRY);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for (h, r) in &self.entries {
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        write_atomic(storage, path, &bytes)?;
        Ok(WrittenShard {
            path: path.to_string(),
            records: self.entries.len() as u64,
            digest: loam_manifests::digest_bytes(&bytes),
        })
    }
}

/// A damaged index file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: not a loam id index ({message})")]
pub struct IndexError {
    /// File.
    pub path: String,
    /// Why.
    pub message: String,
}

/// Ledger rows whose id hashes like `id` (callers check the id itself: hashes can collide).
pub fn lookup(bytes: &[u8], path: &str, id: &str) -> Result<Vec<u32>, IndexError> {
    let bad = |m: &str| IndexError {
        path: path.to_string(),
        message: m.to_string(),
    };
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("bad header"));
    }
    let mut n8 = [0u8; 8];
    n8.copy_from_slice(&bytes[8..16]);
    let n = u64::from_le_bytes(n8) as usize;
    if bytes.len() != 16 + n * ENTRY {
        return Err(bad("wrong length"));
    }
    let at = |i: usize| -> (u64, u32) {
        let o = 16 + i * ENTRY;
        let mut h = [0u8; 8];
        h.copy_from_slice(&bytes[o..o + 8]);
        let mut r = [0u8; 4];
        r.copy_from_slice(&bytes[o + 8..o + 12]);
        (u64::from_le_bytes(h), u32::from_le_bytes(r))
    };
    let want = id_hash(id);
    // First entry with hash >= want.
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid).0 < want {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut rows = Vec::new();
    while lo < n && at(lo).0 == want {
        rows.push(at(lo).1);
        lo += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loam_pipeline::storage::LocalStorage;

    #[test]
    fn finds_every_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.idx");
        let mut b = IndexBuilder::default();
        for i in 0..10_000u32 {
            b.push(&format!("doc-{i}"), i);
        }
        b.push("doc-7", 10_000); // a repeated id has two rows
        b.write(&LocalStorage, p.to_str().unwrap()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        for i in (0..10_000u32).step_by(97) {
            assert_eq!(lookup(&bytes, "x", &format!("doc-{i}")).unwrap(), vec![i]);
        }
        assert_eq!(lookup(&bytes, "x", "doc-7").unwrap(), vec![7, 10_000]);
        assert!(lookup(&bytes, "x", "nope").unwrap().is_empty());
        assert!(lookup(&bytes[..20], "x", "doc-1").is_err());
    }
}
