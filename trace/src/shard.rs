//! One index file per output file of the mix: the corpus symbols, the document table, the
//! suffix array in the smallest pointer width that holds a position, and each document's
//! provenance. Checked as it is read, so a truncated or corrupt file is an error naming it,
//! never a panic or a wrong count: opening checks the header, the lengths, the block
//! checksums' table and the document table; every block of [`BLOCK`] bytes is checked against
//! its checksum the first time a query reads from it. A count query thus reads and checks a
//! few dozen blocks, not the whole file (`loam manifest verify` hashes it all).
//!
//! Layout (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `LOAMTRCE` |
//! | 4 | format version ([`VERSION`]) |
//! | 1 | symbol width in bytes (1: UTF-8 text, 2 or 4: token ids) |
//! | 1 | pointer width in bytes (1–5) |
//! | 2 | zero |
//! | 8 | symbols `n` |
//! | 8 | documents `d` |
//! | 8 | metadata bytes `m` |
//! | 8 | file length |
//! | 8 | xxh3-64 of the block checksums' table |
//! | 8 | xxh3-64 of the 56 header bytes before it |
//! | `⌈body / BLOCK⌉ × 8` | xxh3-64 of each block of the body (everything below) |
//! | `n × width` | symbols |
//! | `(d + 1) × 8` | document starts (document `i` is `[start[i], start[i+1])`) |
//! | `n × pointer width` | suffix array |
//! | `m` | metadata: an 8-byte length `h`, `h` bytes of JSON [`ShardHead`], then the JSON array of [`DocMeta`] (parsed only when a document is shown) |

use crate::TraceError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as Atomic};
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_64;

/// Magic bytes at the start of every index file.
pub const MAGIC: &[u8; 8] = b"LOAMTRCE";
/// Version of the index files: their layout, and what their arrays are worth. 2: arrays of
/// version 1 could be mis-sorted where a document's last suffix was exactly one sort key
/// long (`loam_dedup::sa`), losing hits; such indexes are refused and rebuilt. 3: checksums
/// per block, checked as queries read them; the documents' metadata after a short head.
pub const VERSION: u32 = 3;
const HEADER: usize = 64;
/// Bytes of the body per checksum: small enough that a query checks only what it reads.
pub const BLOCK: usize = 1 << 16;

/// One document of a shard: where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    /// Document id.
    pub id: String,
    /// The file it was read from: the mix's document file (text index), or the `src` of the
    /// token array's `.csv.gz` row.
    pub src: String,
    /// Its 1-based line in `src`.
    pub line: u64,
}

/// What a shard file records besides its arrays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
    /// The indexed file (relative to the mix or tokens directory).
    pub source: String,
    /// Its SHA-256, as its manifest lists it.
    pub source_sha256: String,
    /// One entry per document, in order.
    pub documents: Vec<DocMeta>,
    /// Which piece of its file this shard is, when the file had more symbols than a shard
    /// may hold (absent: the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
}

/// The metadata a shard's queries always need (its [`ShardMeta`] without the documents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardHead {
    /// The indexed file (relative to the mix or tokens directory).
    pub source: String,
    /// Its SHA-256, as its manifest lists it.
    pub source_sha256: String,
    /// Which piece of its file this shard is (absent: the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
}

/// One piece of a file split over several shards at document boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// 0-based piece number.
    pub index: u32,
    /// Whether it is the file's last piece.
    pub last: bool,
    /// The largest shard, in symbols, the file was split for.
    pub max_symbols: u64,
}

/// Bytes needed for a position below `n`.
pub fn pointer_width(n: u64) -> usize {
    let mut w = 1;
    while w < 8 && n > 1u64 << (8 * w) {
        w += 1;
    }
    w
}

/// Writes a shard file atomically (temporary name, then rename): `symbols` as `width`-byte
/// integers, document `starts`, the suffix array `sa`, `meta`.
pub fn write(
    path: &Path,
    width: usize,
    symbols: &[u32],
    starts: &[u64],
    sa: &[u32],
    meta: &ShardMeta,
) -> Result<u64, TraceError> {
    let n = symbols.len();
    let pw = pointer_width(n as u64);
    let json = |e: serde_json::Error| TraceError::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let head = serde_json::to_vec(&ShardHead {
        source: meta.source.clone(),
        source_sha256: meta.source_sha256.clone(),
        part: meta.part,
    })
    .map_err(json)?;
    let mut meta_bytes = (head.len() as u64).to_le_bytes().to_vec();
    meta_bytes.extend_from_slice(&head);
    meta_bytes.extend_from_slice(&serde_json::to_vec(&meta.documents).map_err(json)?);
    let mut body = Vec::with_capacity(n * (width + pw) + starts.len() * 8 + meta_bytes.len());
    for &s in symbols {
        body.extend_from_slice(&s.to_le_bytes()[..width]);
    }
    for &s in starts {
        body.extend_from_slice(&s.to_le_bytes());
    }
    for &p in sa {
        body.extend_from_slice(&u64::from(p).to_le_bytes()[..pw]);
    }
    body.extend_from_slice(&meta_bytes);
    let mut table = Vec::with_capacity(body.len().div_ceil(BLOCK) * 8);
    for b in body.chunks(BLOCK) {
        table.extend_from_slice(&xxh3_64(b).to_le_bytes());
    }
    let total = HEADER + table.len() + body.len();
    let mut head = Vec::with_capacity(HEADER);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&[width as u8, pw as u8, 0, 0]);
    head.extend_from_slice(&(n as u64).to_le_bytes());
    head.extend_from_slice(&(starts.len() as u64 - 1).to_le_bytes());
    head.extend_from_slice(&(meta_bytes.len() as u64).to_le_bytes());
    head.extend_from_slice(&(total as u64).to_le_bytes());
    head.extend_from_slice(&xxh3_64(&table).to_le_bytes());
    let hsum = xxh3_64(&head);
    head.extend_from_slice(&hsum.to_le_bytes());
    let io = |e: std::io::Error| TraceError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let tmp = tmp_name(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&head)?;
        f.write_all(&table)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(total as u64)
}

/// The temporary name a file is written under before its rename.
pub fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// An opened, checked shard file (memory-mapped).
pub struct Shard {
    path: String,
    map: memmap2::Mmap,
    width: usize,
    pw: usize,
    n: usize,
    d: usize,
    /// Where the body (block 0) starts.
    body_at: usize,
    sym_at: usize,
    starts_at: usize,
    sa_at: usize,
    /// Where the documents' JSON array starts, and its end.
    docs_at: (usize, usize),
    /// One bit per body block: checked against its checksum already.
    checked: Vec<AtomicU64>,
    /// The shard's provenance.
    pub meta: ShardHead,
    documents: OnceLock<Result<Vec<DocMeta>, String>>,
}

fn le(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    x[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(x)
}

impl Shard {
    /// Opens and checks a shard file: every problem is a [`TraceError::Corrupt`] naming it.
    pub fn open(path: &Path) -> Result<Shard, TraceError> {
        let name = path.display().to_string();
        let bad = |message: String| TraceError::Corrupt {
            path: name.clone(),
            message,
        };
        let f = std::fs::File::open(path).map_err(|e| TraceError::Io {
            path: name.clone(),
            source: e,
        })?;
        // SAFETY: the file is only read; index files are written once under a temporary
        // name and renamed, never modified in place.
        let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| TraceError::Io {
            path: name.clone(),
            source: e,
        })?;
        let len = map.len();
        if len < HEADER {
            return Err(bad(format!(
                "{len} bytes, shorter than the {HEADER}-byte header (truncated?)"
            )));
        }
        let h = &map[..HEADER];
        if &h[..8] != MAGIC {
            return Err(bad("not a loam trace index (bad magic)".into()));
        }
        if le(&h[56..64]) != xxh3_64(&h[..56]) {
            return Err(bad("header checksum mismatch".into()));
        }
        let version = le(&h[8..12]) as u32;
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}, this loam reads {VERSION}: rebuild with `loam trace build`"
            )));
        }
        let (width, pw) = (h[12] as usize, h[13] as usize);
        let (n, d, m, total) = (
            le(&h[16..24]),
            le(&h[24..32]),
            le(&h[32..40]),
            le(&h[40..48]),
        );
        if !matches!(width, 1 | 2 | 4) || !(1..=8).contains(&pw) {
            return Err(bad(format!("bad widths {width}/{pw}")));
        }
        if total != len as u64 {
            return Err(bad(format!(
                "{len} bytes, the header says {total} (truncated?)"
            )));
        }
        let body = (|| {
            let s = n.checked_mul(width as u64)?;
            let st = d.checked_add(1)?.checked_mul(8)?;
            let sa = n.checked_mul(pw as u64)?;
            s.checked_add(st)?.checked_add(sa)?.checked_add(m)
        })();
        let table = body.map(|b| b.div_ceil(BLOCK as u64) * 8);
        let want = body
            .zip(table)
            .and_then(|(b, t)| b.checked_add(t)?.checked_add(HEADER as u64));
        if want != Some(total) || n >= u64::from(u32::MAX) || m < 8 {
            return Err(bad(
                "section lengths do not add up to the file length".into()
            ));
        }
        let table = table.unwrap_or(0) as usize;
        let body_at = HEADER + table;
        if le(&h[48..56]) != xxh3_64(&map[HEADER..body_at]) {
            return Err(bad(
                "block checksums' table mismatch (the file changed after it was written)".into(),
            ));
        }
        let (n, d) = (n as usize, d as usize);
        let sym_at = body_at;
        let starts_at = sym_at + n * width;
        let sa_at = starts_at + (d + 1) * 8;
        let meta_at = sa_at + n * pw;
        let blocks = (len - body_at).div_ceil(BLOCK);
        let mut shard = Shard {
            path: name.clone(),
            map,
            width,
            pw,
            n,
            d,
            body_at,
            sym_at,
            starts_at,
            sa_at,
            docs_at: (len, len),
            checked: (0..blocks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            meta: ShardHead {
                source: String::new(),
                source_sha256: String::new(),
                part: None,
            },
            documents: OnceLock::new(),
        };
        let head_len = usize::try_from(le(shard.bytes(meta_at, meta_at + 8)?))
            .ok()
            .filter(|&h| h <= len - meta_at - 8)
            .ok_or_else(|| bad("metadata head longer than the metadata".into()))?;
        let head_at = meta_at + 8;
        shard.meta = serde_json::from_slice(shard.bytes(head_at, head_at + head_len)?)
            .map_err(|e| bad(format!("metadata: {e}")))?;
        shard.docs_at = (head_at + head_len, len);
        let table = shard.bytes(starts_at, sa_at)?;
        let mut prev = 0;
        for (i, w) in table.chunks_exact(8).enumerate() {
            let s = le(w);
            if s < prev || (i == 0 && s != 0) || (i == d && s != n as u64) {
                return Err(bad("document table out of order".into()));
            }
            prev = s;
        }
        Ok(shard)
    }

    /// Bytes `[a, b)` of the file (`a` at or after the body), every block they touch checked
    /// against its checksum the first time it is read.
    fn bytes(&self, a: usize, b: usize) -> Result<&[u8], TraceError> {
        if a < self.body_at || b < a || b > self.map.len() {
            return Err(TraceError::Corrupt {
                path: self.path.clone(),
                message: format!("bytes {a}..{b} are outside the body"),
            });
        }
        if b > a {
            for k in (a - self.body_at) / BLOCK..=(b - 1 - self.body_at) / BLOCK {
                self.check_block(k)?;
            }
        }
        Ok(&self.map[a..b])
    }

    fn check_block(&self, k: usize) -> Result<(), TraceError> {
        let (word, bit) = (&self.checked[k / 64], 1u64 << (k % 64));
        if word.load(Atomic::Relaxed) & bit != 0 {
            return Ok(());
        }
        let lo = self.body_at + k * BLOCK;
        let hi = (lo + BLOCK).min(self.map.len());
        let want = le(&self.map[HEADER + k * 8..HEADER + k * 8 + 8]);
        if xxh3_64(&self.map[lo..hi]) != want {
            return Err(TraceError::Corrupt {
                path: self.path.clone(),
                message: format!(
                    "checksum mismatch in bytes {lo}..{hi} (the file changed after it was written)"
                ),
            });
        }
        word.fetch_or(bit, Atomic::Relaxed);
        Ok(())
    }

    /// Checks every block (what a query would find as it reads).
    pub fn check_all(&self) -> Result<(), TraceError> {
        (0..(self.map.len() - self.body_at).div_ceil(BLOCK)).try_for_each(|k| self.check_block(k))
    }

    /// Document `i`'s provenance (the documents' metadata is parsed at the first call).
    pub fn document(&self, i: usize) -> Result<&DocMeta, TraceError> {
        let bad = |message: String| TraceError::Corrupt {
            path: self.path.clone(),
            message,
        };
        let docs = self.documents.get_or_init(|| {
            let b = self
                .bytes(self.docs_at.0, self.docs_at.1)
                .map_err(|e| e.to_string())?;
            let v: Vec<DocMeta> =
                serde_json::from_slice(b).map_err(|e| format!("document metadata: {e}"))?;
            if v.len() != self.d {
                return Err(format!("{} documents, metadata for {}", self.d, v.len()));
            }
            Ok(v)
        });
        match docs {
            Ok(v) => v.get(i).ok_or_else(|| bad(format!("no document {i}"))),
            Err(e) => Err(bad(e.clone())),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Symbols (tokens or bytes) in the shard.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the shard holds no symbols.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Documents in the shard.
    pub fn documents(&self) -> usize {
        self.d
    }

    /// Bytes per symbol.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Symbol `i`.
    pub fn symbol(&self, i: usize) -> Result<u32, TraceError> {
        let a = self.sym_at + i * self.width;
        Ok(le(self.bytes(a, a + self.width)?) as u32)
    }

    /// Symbols `[a, b)`.
    pub fn symbols(&self, a: usize, b: usize) -> Result<Vec<u32>, TraceError> {
        Ok(self
            .symbol_bytes(a, b)?
            .chunks_exact(self.width)
            .map(|w| le(w) as u32)
            .collect())
    }

    /// The raw bytes of symbols `[a, b)` (the text itself for a text index).
    pub fn symbol_bytes(&self, a: usize, b: usize) -> Result<&[u8], TraceError> {
        if a > b || b > self.n {
            return Err(TraceError::Corrupt {
                path: self.path.clone(),
                message: format!("symbols {a}..{b} of {}", self.n),
            });
        }
        self.bytes(self.sym_at + a * self.width, self.sym_at + b * self.width)
    }

    /// Start of document `i` (`i == documents()` gives the end of the last).
    pub fn start(&self, i: usize) -> Result<u64, TraceError> {
        // The whole table was read when the file was opened: its blocks are checked.
        let a = self.starts_at + i * 8;
        Ok(le(self.bytes(a, a + 8)?))
    }

    /// Entry `i` of the suffix array.
    pub fn suffix(&self, i: usize) -> Result<usize, TraceError> {
        let a = self.sa_at + i * self.pw;
        let p = le(self.bytes(a, a + self.pw)?) as usize;
        if p >= self.n {
            return Err(TraceError::Corrupt {
                path: self.path.clone(),
                message: format!("suffix array entry {i} points past the end"),
            });
        }
        Ok(p)
    }

    /// The document holding position `p`.
    pub fn document_of(&self, p: usize) -> Result<usize, TraceError> {
        // The last document starting at or before p (empty documents start at the same
        // place as the next one).
        let (mut lo, mut hi) = (0usize, self.d);
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if self.start(mid)? <= p as u64 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// Compares the suffix at `p`, clamped at its document's end, with `q`: `Equal` when
    /// `q` is a prefix of it.
    fn compare(&self, p: usize, q: &[u32]) -> Result<Ordering, TraceError> {
        let end = self.start(self.document_of(p)? + 1)? as usize;
        let have = self.symbol_bytes(p, (p + q.len()).min(end).max(p))?;
        for (w, &want) in have.chunks_exact(self.width).zip(q) {
            match (le(w) as u32).cmp(&want) {
                Ordering::Equal => {}
                o => return Ok(o),
            }
        }
        // Equal as far as the document goes: shorter (ended) sorts first.
        Ok(if have.len() / self.width < q.len() {
            Ordering::Less
        } else {
            Ordering::Equal
        })
    }

    /// The suffix-array rows whose suffixes start with `q` (empty for an empty `q`).
    pub fn find(&self, q: &[u32]) -> Result<std::ops::Range<usize>, TraceError> {
        if q.is_empty() {
            return Ok(0..0);
        }
        let lower = self.partition(|o| o == Ordering::Less, q)?;
        let upper = self.partition(|o| o != Ordering::Greater, q)?;
        Ok(lower..upper.max(lower))
    }

    fn partition(&self, before: impl Fn(Ordering) -> bool, q: &[u32]) -> Result<usize, TraceError> {
        let (mut lo, mut hi) = (0usize, self.n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if before(self.compare(self.suffix(mid)?, q)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_widths() {
        assert_eq!(pointer_width(0), 1);
        assert_eq!(pointer_width(256), 1);
        assert_eq!(pointer_width(257), 2);
        assert_eq!(pointer_width(1 << 32), 4);
        assert_eq!(pointer_width((1 << 32) + 1), 5);
    }
}
