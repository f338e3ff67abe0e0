//! An id index beside each ledger: `ledger/<rel>.idx` lists (hash of the id, ledger row)
//! sorted by hash, so one document's decision is found by binary search instead of a scan.
//!
//! Layout v2 (little-endian), what [`IndexBuilder`] writes: magic `LOAMIDX2`, entry count
//! (u32), row width in bytes `w` (u8: 2, 3 or 4 — the fewest that hold the largest row), then
//! `count` entries of (hash u32, row as `w` bytes): 6 bytes an entry for ledgers of up to
//! 65,536 rows. The hash is the low 32 bits of the xxh3-64 of the id; rows found are
//! checked against the id by the caller, so a collision costs one more row read, never a
//! wrong answer.
//!
//! Layout v1 (still read): magic `LOAMIDX1`, entry count (u64), then `count` entries of
//! (xxh3-64 hash u64, row u32).

use loam_pipeline::storage::{write_atomic, Storage};
use loam_pipeline::writer::{WriteError, WrittenShard};

const MAGIC_V1: &[u8; 8] = b"LOAMIDX1";
const MAGIC_V2: &[u8; 8] = b"LOAMIDX2";
const ENTRY_V1: usize = 12;
const HEADER_V2: usize = 13;

/// The hash the index is keyed by (v1 stores all 64 bits, v2 the low 32).
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Builds an index in memory (one entry per ledger row) and writes it atomically.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    entries: Vec<(u32, u32)>,
}

/// Bytes needed to store every row number up to `max` (at least 2).
fn row_width(max: u32) -> usize {
    match max {
        0..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    }
}

impl IndexBuilder {
    /// Records that ledger row `row` holds `id`.
    pub fn push(&mut self, id: &str, row: u32) {
        self.entries.push((id_hash(id) as u32, row));
    }

    /// The index file's bytes (entries sorted by hash, then row).
    pub fn to_bytes(mut self) -> Vec<u8> {
        self.entries.sort_unstable();
        let max = self.entries.iter().map(|e| e.1).max().unwrap_or(0);
        let w = row_width(max);
        let mut bytes = Vec::with_capacity(HEADER_V2 + self.entries.len() * (4 + w));
        bytes.extend_from_slice(MAGIC_V2);
        bytes.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        bytes.push(w as u8);
        for (h, r) in &self.entries {
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes()[..w]);
        }
        bytes
    }

    /// Sorts and writes the index.
    pub fn write(self, storage: &dyn Storage, path: &str) -> Result<WrittenShard, WriteError> {
        let records = self.entries.len() as u64;
        let bytes = self.to_bytes();
        write_atomic(storage, path, &bytes)?;
        Ok(WrittenShard {
            path: path.to_string(),
            records,
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

/// Reads a little-endian unsigned integer of `b.len()` (≤ 8) bytes.
fn le(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    x[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(x)
}

/// Ledger rows whose id hashes like `id` (callers check the id itself: hashes can collide).
/// Reads both index versions.
pub fn lookup(bytes: &[u8], path: &str, id: &str) -> Result<Vec<u32>, IndexError> {
    let bad = |m: String| IndexError {
        path: path.to_string(),
        message: m,
    };
    if bytes.len() < 8 || !bytes.starts_with(b"LOAMIDX") {
        return Err(bad("bad header".into()));
    }
    // (entry count, header length, entry length, hash bytes, hash wanted)
    let (n, header, entry, hash_len, want) = match &bytes[..8] {
        m if m == MAGIC_V2 => {
            if bytes.len() < HEADER_V2 {
                return Err(bad("bad header".into()));
            }
            let w = bytes[12] as usize;
            if !(2..=4).contains(&w) {
                return Err(bad(format!("row width {w}")));
            }
            let n = le(&bytes[8..12]);
            (n, HEADER_V2, 4 + w, 4, id_hash(id) & 0xFFFF_FFFF)
        }
        m if m == MAGIC_V1 => {
            if bytes.len() < 16 {
                return Err(bad("bad header".into()));
            }
            (le(&bytes[8..16]), 16, ENTRY_V1, 8, id_hash(id))
        }
        m => {
            return Err(bad(format!(
                "version `{}` is newer than this loam reads (LOAMIDX1, LOAMIDX2); use a newer loam",
                String::from_utf8_lossy(m)
            )))
        }
    };
    let n = usize::try_from(n).map_err(|_| bad("wrong length".into()))?;
    if Some(bytes.len()) != n.checked_mul(entry).and_then(|x| x.checked_add(header)) {
        return Err(bad("wrong length".into()));
    }
    let at = |i: usize| -> (u64, u32) {
        let o = header + i * entry;
        (
            le(&bytes[o..o + hash_len]),
            le(&bytes[o + hash_len..o + entry]) as u32,
        )
    };
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

    /// A v1 index as loam wrote it before v2.
    fn v1_bytes(entries: &[(&str, u32)]) -> Vec<u8> {
        let mut e: Vec<(u64, u32)> = entries.iter().map(|(i, r)| (id_hash(i), *r)).collect();
        e.sort_unstable();
        let mut bytes = MAGIC_V1.to_vec();
        bytes.extend_from_slice(&(e.len() as u64).to_le_bytes());
        for (h, r) in e {
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn finds_every_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.idx");
        let mut b = IndexBuilder::default();
        for i in 0..10_000u32 {
            b.push(&format!("doc-{i}"), i);
        }
        b.push("doc-7", 10_000); // a repeated id has two rows
        let s = b.write(&LocalStorage, p.to_str().unwrap()).unwrap();
        assert_eq!(s.records, 10_001);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"LOAMIDX2");
        assert_eq!(bytes.len(), 13 + 10_001 * 6, "u32 hash + u16 row");
        for i in (0..10_000u32).step_by(97) {
            assert_eq!(lookup(&bytes, "x", &format!("doc-{i}")).unwrap(), vec![i]);
        }
        assert_eq!(lookup(&bytes, "x", "doc-7").unwrap(), vec![7, 10_000]);
        assert!(lookup(&bytes, "x", "nope").unwrap().is_empty());
        assert!(lookup(&bytes[..20], "x", "doc-1").is_err());
        assert!(lookup(b"LOAMIDX2\0\0\0\0", "x", "doc-1").is_err());
    }

    #[test]
    fn row_width_follows_the_largest_row() {
        for (rows, w) in [
            (vec![0u32], 2usize),
            (vec![0, 0xFFFF], 2),
            (vec![3, 0x1_0000], 3),
            (vec![0xFF_FFFF], 3),
            (vec![9, 0x100_0000], 4),
            (vec![u32::MAX], 4),
        ] {
            let mut b = IndexBuilder::default();
            for (k, r) in rows.iter().enumerate() {
                b.push(&format!("id{k}"), *r);
            }
            let bytes = b.to_bytes();
            assert_eq!(bytes[12] as usize, w);
            assert_eq!(bytes.len(), 13 + rows.len() * (4 + w));
            for (k, r) in rows.iter().enumerate() {
                assert_eq!(lookup(&bytes, "x", &format!("id{k}")).unwrap(), vec![*r]);
            }
        }
        // An empty ledger's index.
        let bytes = IndexBuilder::default().to_bytes();
        assert_eq!(bytes.len(), 13);
        assert!(lookup(&bytes, "x", "a").unwrap().is_empty());
    }

    #[test]
    fn reads_v1_and_refuses_unknown_versions() {
        let bytes = v1_bytes(&[("a", 0), ("b", 1), ("c", 2), ("a", 3)]);
        assert_eq!(lookup(&bytes, "x", "a").unwrap(), vec![0, 3]);
        assert_eq!(lookup(&bytes, "x", "c").unwrap(), vec![2]);
        assert!(lookup(&bytes, "x", "d").unwrap().is_empty());
        assert!(lookup(&bytes[..bytes.len() - 1], "x", "a").is_err());
        let mut v9 = bytes.clone();
        v9[7] = b'9';
        let e = lookup(&v9, "i.idx", "a").unwrap_err().to_string();
        assert!(e.contains("LOAMIDX9") && e.contains("newer"), "{e}");
        let e = lookup(b"PAR1....", "i.idx", "a").unwrap_err().to_string();
        assert!(e.contains("bad header"), "{e}");
    }
}
