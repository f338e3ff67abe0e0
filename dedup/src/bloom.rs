//! A Bloom filter with a portable, versioned file format, shared lock-free by all threads.
//!
//! **Layout.** The bit array is split into [`REGIONS`] equal regions; a key's region comes
//! from the high half of its 128-bit hash (a hash range) and all of its bits fall inside that
//! region. Regions never share bits, so each can be processed by one thread in canonical order
//! (sorted shard path, then line) and the outcome — which copy survives, which keys are false
//! positives — does not depend on the thread count or on scheduling. The same regions are the
//! hash-range partitions of `num_partitions` (region `r` belongs to partition
//! `r % num_partitions`), which is why P partitioned tasks together give exactly the result of
//! one task. Bits are `AtomicU64` words set with `fetch_or`: check-and-insert is lock-free and
//! safe even when regions are shared by mistake.
//!
//! **Hashing.** Keys are hashed once with xxh3-128 and a fixed seed ([`KEY_SEED`]); the `k`
//! bit positions come from enhanced double hashing of the two halves. Nothing depends on the
//! process, the machine or the library version of a hasher.
//!
//! **File format, version 1** (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `LOAMBLM\0` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | hash count `k` |
//! | 16 | 8 | number of 64-bit words |
//! | 24 | 4 | number of regions |
//! | 28 | 4 | key hash algorithm (1 = xxh3-128) |
//! | 32 | 8 | key hash seed |
//! | 40 | 8 | keys inserted so far (new keys, not counting duplicates) |
//! | 48 | 8 | xxh3-64 of the bit array bytes |
//! | 56 | 8 | xxh3-64 of bytes 0..56 (the header) |
//! | 64 | 8·words | the words, little-endian |
//!
//! Files are loaded with `mmap` (private copy-on-write when the run inserts, read-only
//! otherwise) after checking both checksums, and saved to a temporary name then renamed.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64, Xxh3Default};

/// File magic.
pub const MAGIC: [u8; 8] = *b"LOAMBLM\0";
/// The file format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Header size in bytes (keeps the words 8-byte aligned in a mapping).
pub const HEADER_BYTES: usize = 64;
/// Regions (hash ranges) of every filter; also the most partitions a run may have.
pub const REGIONS: u32 = 1024;
/// Most hash functions a filter gets, whatever the sizing asks for (dolma has no cap: 1 MiB
/// for 1,000 keys gives it 5,815 hash functions, each a random memory access).
pub const MAX_HASHES: u32 = 32;
/// Hash count used when the expected number of keys is unknown (0).
pub const DEFAULT_HASHES: u32 = 7;
/// Smallest filter, as dolma's size suggestion starts (1 MiB).
pub const MIN_BYTES: u64 = 1 << 20;
/// Key hash algorithm id in the header: xxh3-128.
pub const HASH_XXH3_128: u32 = 1;
/// The fixed seed of key hashes.
pub const KEY_SEED: u64 = 0x6c6f_616d_6465_6475; // "loamdedu"

/// Sizes are rounded up to a whole number of words per region.
const GRANULE_BYTES: u64 = REGIONS as u64 * 8;

/// Hashes a key made of parts (one string for a document or paragraph, the words of an
/// n-gram): each part is length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ.
pub fn key_hash(parts: &[&str], buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    buf.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    for p in parts {
        buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
        buf.extend_from_slice(p.as_bytes());
    }
    xxh3_128_with_seed(buf, KEY_SEED)
}

/// The region (hash range) of a key hash.
#[inline]
pub fn region_of(h: u128) -> u32 {
    let hi = (h >> 64) as u64;
    ((hi as u128 * REGIONS as u128) >> 64) as u32
}

/// A problem with a filter file.
#[derive(Debug, thiserror::Error)]
pub enum BloomError {
    /// Reading or writing failed.
    #[error("bloom filter {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Not a loam filter file (dolma's own files land here too).
    #[error("bloom filter {path}: not a loam Bloom filter file (bad magic{hint})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// A hint when the file looks like dolma's.
        hint: &'static str,
    },
    /// Written by another format version.
    #[error(
        "bloom filter {path}: format version {found}, this loam reads version {FORMAT_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
    /// Header, size or checksum do not add up.
    #[error("bloom filter {path}: corrupt: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// Sizing of a filter: what `loam dedupe plan` prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloomPlan {
    /// Bytes of the bit array.
    pub size_bytes: u64,
    /// Hash functions.
    pub hashes: u32,
    /// Keys the sizing assumed (`estimated_doc_count`).
    pub expected_keys: u64,
    /// False-positive rate expected after inserting `expected_keys`.
    pub expected_fp_rate: f64,
}

/// False-positive rate of a filter of `bits` with `k` hashes after `n` insertions.
pub fn fp_rate(bits: f64, k: u32, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    (1.0 - (-(k as f64) * n / bits).exp()).powi(k as i32)
}

fn round_up(bytes: u64) -> u64 {
    bytes.div_ceil(GRANULE_BYTES).max(1) * GRANULE_BYTES
}

fn best_hashes(bits: f64, n: u64) -> u32 {
    if n == 0 {
        return DEFAULT_HASHES;
    }
    let k = (bits / n as f64 * std::f64::consts::LN_2).round();
    (k as u32).clamp(1, MAX_HASHES)
}

impl BloomPlan {
    /// Sizes a filter as dolma's config asks: `size_in_bytes` when non-zero (rounded up to
    /// whole regions), else the smallest size reaching `fp_rate` for `expected_keys` keys
    /// with at most [`MAX_HASHES`] hash functions (at least [`MIN_BYTES`]).
    pub fn new(size_in_bytes: u64, expected_keys: u64, desired_fp_rate: f64) -> BloomPlan {
        let size_bytes = if size_in_bytes > 0 {
            round_up(size_in_bytes)
        } else {
            let p = desired_fp_rate.clamp(1e-300, 0.5);
            let n = expected_keys.max(1) as f64;
            let k = ((-p.log2()).round() as u32).clamp(1, MAX_HASHES);
            // Smallest m with (1 - e^{-kn/m})^k <= p for this k.
            let bits = -(k as f64) * n / (1.0 - p.powf(1.0 / k as f64)).ln();
            let mut bytes = round_up(((bits / 8.0).ceil() as u64).max(MIN_BYTES));
            // The rounded size may support a better k; never go above the target.
            while fp_rate(
                bytes as f64 * 8.0,
                best_hashes(bytes as f64 * 8.0, expected_keys),
                n,
            ) > p
            {
                bytes = round_up(bytes + bytes / 64 + 1);
            }
            bytes
        };
        let bits = size_bytes as f64 * 8.0;
        let mut hashes = best_hashes(bits, expected_keys);
        // Every hash is a memory access: use the fewest that reach the target.
        if desired_fp_rate > 0.0 && expected_keys > 0 {
            let n = expected_keys as f64;
            if let Some(k) = (1..hashes).find(|&k| fp_rate(bits, k, n) <= desired_fp_rate) {
                hashes = k;
            }
        }
        BloomPlan {
            size_bytes,
            hashes,
            expected_keys,
            expected_fp_rate: fp_rate(bits, hashes, expected_keys as f64),
        }
    }
}

const _: () = assert!(
    std::mem::size_of::<AtomicU64>() == 8
        && std::mem::align_of::<AtomicU64>() == std::mem::align_of::<u64>()
);

/// `words` zeroed atomic words from a zeroed allocation (`calloc`/`mmap`): the OS commits a
/// page only when a bit in it is first set.
fn zeroed_words(words: usize) -> Vec<AtomicU64> {
    let v = std::mem::ManuallyDrop::new(vec![0u64; words]);
    // SAFETY: `AtomicU64` has the size and alignment of `u64` (asserted above) and the same
    // in-memory representation; the allocation is handed over whole (pointer, length,
    // capacity) and never used as `Vec<u64>` again.
    unsafe { Vec::from_raw_parts(v.as_ptr() as *mut AtomicU64, v.len(), v.capacity()) }
}

enum Bits {
    Owned(Vec<AtomicU64>),
    Mapped(memmap2::MmapMut),
    MappedRo(memmap2::Mmap),
}

/// The filter.
pub struct BloomFilter {
    bits: Bits,
    words: usize,
    hashes: u32,
    region_words: usize,
    inserted: AtomicU64,
}

impl std::fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BloomFilter")
            .field("bytes", &(self.words * 8))
            .field("hashes", &self.hashes)
            .finish()
    }
}

impl BloomFilter {
    /// An empty filter as planned.
    pub fn new(plan: &BloomPlan) -> BloomFilter {
        let words = (plan.size_bytes / 8) as usize;
        // A zeroed allocation: pages of a huge filter (or of other partitions' regions)
        // are only committed when touched.
        let bits = zeroed_words(words);
        BloomFilter {
            bits: Bits::Owned(bits),
            words,
            hashes: plan.hashes,
            region_words: words / REGIONS as usize,
            inserted: AtomicU64::new(0),
        }
    }

    /// Loads a filter file with mmap, checking magic, version, sizes and checksums.
    /// `writable`: map copy-on-write so the run can insert (the file itself is only changed
    /// by [`BloomFilter::save`]).
    pub fn load(path: &Path, writable: bool) -> Result<BloomFilter, BloomError> {
        let io = |source| BloomError::Io {
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |what: String| BloomError::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < 8 {
            return Err(corrupt(format!("{len} bytes is shorter than the header")));
        }
        // SAFETY: the file is only read through this mapping; loam never writes a filter in
        // place (saves go to a temporary file and are renamed over it).
        let (bytes_ptr, bits): (*const u8, Bits) = unsafe {
            if writable {
                let m = memmap2::MmapOptions::new().map_copy(&file).map_err(io)?;
                (m.as_ptr(), Bits::Mapped(m))
            } else {
                let m = memmap2::Mmap::map(&file).map_err(io)?;
                (m.as_ptr(), Bits::MappedRo(m))
            }
        };
        // SAFETY: the mapping is `len` bytes and lives in `bits`, moved into the result.
        let bytes = unsafe { std::slice::from_raw_parts(bytes_ptr, len as usize) };
        if bytes[..8] != MAGIC {
            let hint = if bytes[..4] == 0x81F0F117u32.to_le_bytes() {
                ": this is a dolma filter, whose random seeds and native-endian bits loam cannot use; rebuild it with loam"
            } else {
                ""
            };
            return Err(BloomError::BadMagic {
                path: path.to_path_buf(),
                hint,
            });
        }
        if (len as usize) < HEADER_BYTES {
            return Err(corrupt(format!("{len} bytes is shorter than the header")));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap_or_default());
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap_or_default());
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(BloomError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        if xxh3_64(&bytes[..56]) != u64_at(56) {
            return Err(corrupt("header checksum mismatch".into()));
        }
        let hashes = u32_at(12);
        let words = u64_at(16);
        let regions = u32_at(24);
        let algo = u32_at(28);
        let seed = u64_at(32);
        if regions != REGIONS || algo != HASH_XXH3_128 || seed != KEY_SEED {
            return Err(corrupt(format!(
                "unsupported layout: {regions} regions, hash algorithm {algo}, seed {seed:#x}"
            )));
        }
        if hashes == 0 || hashes > MAX_HASHES || words == 0 || words % REGIONS as u64 != 0 {
            return Err(corrupt(format!("{hashes} hashes over {words} words")));
        }
        let want = HEADER_BYTES as u64 + words * 8;
        if len != want {
            return Err(corrupt(format!(
                "{len} bytes, the header says {want} (truncated or appended to)"
            )));
        }
        if xxh3_64(&bytes[HEADER_BYTES..]) != u64_at(48) {
            return Err(corrupt("bit array checksum mismatch".into()));
        }
        let inserted = u64_at(40);
        let words = words as usize;
        let bits = if cfg!(target_endian = "little") {
            bits
        } else {
            let v = bytes[HEADER_BYTES..]
                .chunks_exact(8)
                .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap_or_default())))
                .collect();
            Bits::Owned(v)
        };
        Ok(BloomFilter {
            bits,
            words,
            hashes,
            region_words: words / REGIONS as usize,
            inserted: AtomicU64::new(inserted),
        })
    }

    fn words(&self) -> &[AtomicU64] {
        match &self.bits {
            Bits::Owned(v) => v,
            // SAFETY: mapped files were checked to hold `HEADER_BYTES + 8 * words` bytes;
            // the mapping is page-aligned and the header is 64 bytes, so the words are
            // aligned; on little-endian hosts the file's words are native `u64`s.
            Bits::Mapped(m) => unsafe {
                std::slice::from_raw_parts(
                    m.as_ptr().add(HEADER_BYTES) as *const AtomicU64,
                    self.words,
                )
            },
            // SAFETY: as above; a read-only filter is never written (only loaded from).
            Bits::MappedRo(m) => unsafe {
                std::slice::from_raw_parts(
                    m.as_ptr().add(HEADER_BYTES) as *const AtomicU64,
                    self.words,
                )
            },
        }
    }

    /// Size of the bit array in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.words as u64 * 8
    }

    /// Hash functions.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// New keys inserted over the filter's life (saved in the file).
    pub fn inserted(&self) -> u64 {
        self.inserted.load(Ordering::Relaxed)
    }

    /// The false-positive rate now, from the keys inserted so far.
    pub fn current_fp_rate(&self) -> f64 {
        fp_rate(
            self.size_bytes() as f64 * 8.0,
            self.hashes,
            self.inserted() as f64,
        )
    }

    #[inline]
    fn positions(&self, h: u128) -> impl Iterator<Item = (usize, u64)> {
        let region = region_of(h) as usize;
        let base = region * self.region_words;
        let region_bits = (self.region_words as u128) * 64;
        let mut a = h as u64;
        let mut b = ((h >> 64) as u64).rotate_left(29) | 1;
        (0..self.hashes).map(move |i| {
            let pos = ((a as u128 * region_bits) >> 64) as usize;
            a = a.wrapping_add(b);
            b = b.wrapping_add(i as u64);
            (base + pos / 64, 1u64 << (pos % 64))
        })
    }

    /// True when every bit of the key is set (the key was probably inserted).
    pub fn contains(&self, h: u128) -> bool {
        let w = self.words();
        self.positions(h)
            .all(|(i, m)| w[i].load(Ordering::Relaxed) & m != 0)
    }

    /// Sets the key's bits; returns whether all were already set ("was present"). Each unset
    /// bit is set with one atomic `fetch_or` (whose old value decides "present", so two
    /// threads racing on a bit cannot both see it unset and lose it). Must not be called on a filter loaded read-only.
    pub fn check_and_insert(&self, h: u128) -> bool {
        let w = self.words();
        let mut present = true;
        for (i, m) in self.positions(h) {
            // Test first: a set bit needs no read-modify-write (most probes of duplicates).
            if w[i].load(Ordering::Relaxed) & m == 0 {
                present &= w[i].fetch_or(m, Ordering::Relaxed) & m != 0;
            }
        }
        if !present {
            self.inserted.fetch_add(1, Ordering::Relaxed);
        }
        present
    }

    /// Writes the filter to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), BloomError> {
        let io = |source| BloomError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // The workspace's temporary-file convention, so a killed run's half-written filter
        // is swept by the next one instead of staying beside the filter for good.
        let tmp_name = format!(
            ".loam-tmp.{}.bloom.{}",
            std::process::id(),
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().to_string())
        );
        let tmp = dir.map_or_else(
            || std::path::PathBuf::from(&tmp_name),
            |d| d.join(&tmp_name),
        );
        loam_pipeline::storage::sweep_dead_temporaries(dir.unwrap_or(Path::new(".")));
        let result = (|| -> io::Result<()> {
            let mut f = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            f.write_all(&[0u8; HEADER_BYTES])?;
            let mut sum = Xxh3Default::new();
            let mut chunk = Vec::with_capacity(1 << 16);
            for w in self.words().chunks(8192) {
                chunk.clear();
                for x in w {
                    chunk.extend_from_slice(&x.load(Ordering::Relaxed).to_le_bytes());
                }
                sum.update(&chunk);
                f.write_all(&chunk)?;
            }
            let mut file = f.into_inner().map_err(|e| e.into_error())?;
            let mut h = [0u8; HEADER_BYTES];
            h[..8].copy_from_slice(&MAGIC);
            h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
            h[12..16].copy_from_slice(&self.hashes.to_le_bytes());
            h[16..24].copy_from_slice(&(self.words as u64).to_le_bytes());
            h[24..28].copy_from_slice(&REGIONS.to_le_bytes());
            h[28..32].copy_from_slice(&HASH_XXH3_128.to_le_bytes());
            h[32..40].copy_from_slice(&KEY_SEED.to_le_bytes());
            h[40..48].copy_from_slice(&self.inserted().to_le_bytes());
            h[48..56].copy_from_slice(&sum.digest().to_le_bytes());
            let hs = xxh3_64(&h[..56]);
            h[56..64].copy_from_slice(&hs.to_le_bytes());
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&h)?;
            file.sync_all()?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_caps_hashes_and_meets_the_rate() {
        // dolma: 1 MiB for 1,000 keys at 0.001 gives 5,815 hash functions.
        let p = BloomPlan::new(0, 1000, 0.001);
        assert_eq!(p.size_bytes, MIN_BYTES);
        assert!(p.hashes <= MAX_HASHES);
        assert!(p.expected_fp_rate <= 0.001);
        let p = BloomPlan::new(0, 10_000_000, 1e-6);
        assert!(p.expected_fp_rate <= 1e-6, "{p:?}");
        // about 28.8 bits per key at the optimum; the cap and rounding cost little
        let bits_per_key = p.size_bytes as f64 * 8.0 / 1e7;
        assert!((28.0..31.0).contains(&bits_per_key), "{bits_per_key}");
        let p = BloomPlan::new(0, 1_000_000, 1e-15);
        assert_eq!(p.hashes, MAX_HASHES);
        assert!(p.expected_fp_rate <= 1e-15);
        let p = BloomPlan::new(1000, 0, 0.0);
        assert_eq!(p.size_bytes, GRANULE_BYTES);
        assert_eq!(p.hashes, DEFAULT_HASHES);
    }

    #[test]
    fn insert_then_contains_and_measured_fp_rate() {
        let plan = BloomPlan::new(0, 100_000, 0.01);
        let f = BloomFilter::new(&plan);
        let mut buf = Vec::new();
        for i in 0..100_000u32 {
            let h = key_hash(&[&i.to_string()], &mut buf);
            assert!(!f.check_and_insert(h) || i > 0);
        }
        for i in 0..100_000u32 {
            assert!(f.contains(key_hash(&[&i.to_string()], &mut buf)));
        }
        let fps = (100_000..200_000u32)
            .filter(|i| f.contains(key_hash(&[&i.to_string()], &mut buf)))
            .count();
        let rate = fps as f64 / 100_000.0;
        assert!(rate < 0.02, "{rate} vs planned {}", plan.expected_fp_rate);
    }

    #[test]
    fn file_round_trip_and_corruption_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.bin");
        let f = BloomFilter::new(&BloomPlan::new(0, 1000, 0.01));
        let mut buf = Vec::new();
        for i in 0..1000u32 {
            f.check_and_insert(key_hash(&[&i.to_string()], &mut buf));
        }
        f.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"LOAMBLM\0");
        assert_eq!(bytes.len() as u64, 64 + f.size_bytes());
        for writable in [false, true] {
            let g = BloomFilter::load(&path, writable).unwrap();
            assert_eq!(g.inserted(), f.inserted());
            assert_eq!(g.hashes(), f.hashes());
            for i in 0..1000u32 {
                assert!(g.contains(key_hash(&[&i.to_string()], &mut buf)));
            }
        }
        // writable loads do not change the file until saved
        let g = BloomFilter::load(&path, true).unwrap();
        g.check_and_insert(key_hash(&["new"], &mut buf));
        drop(g);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);

        let bad = dir.path().join("bad.bin");
        let mut b = bytes.clone();
        b[64 + 100] ^= 1;
        std::fs::write(&bad, &b).unwrap();
        let e = BloomFilter::load(&bad, false).unwrap_err().to_string();
        assert!(e.contains("corrupt") && e.contains("checksum"), "{e}");
        let mut b = bytes.clone();
        b[8] = 2;
        std::fs::write(&bad, &b).unwrap();
        let e = BloomFilter::load(&bad, false).unwrap_err().to_string();
        assert!(e.contains("format version 2"), "{e}");
        std::fs::write(&bad, &bytes[..1000]).unwrap();
        let e = BloomFilter::load(&bad, false).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut b = 0x81F0F117u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 100]);
        std::fs::write(&bad, &b).unwrap();
        let e = BloomFilter::load(&bad, false).unwrap_err().to_string();
        assert!(e.contains("dolma filter"), "{e}");
    }

    #[test]
    fn key_hash_is_fixed() {
        // Persisted: a change here is a new file format version.
        let mut buf = Vec::new();
        let h = key_hash(&["hello", "world"], &mut buf);
        assert_ne!(h, key_hash(&["hellow", "orld"], &mut buf));
        assert_eq!(h, key_hash(&["hello", "world"], &mut buf));
        assert_eq!(format!("{h:032x}"), "b5c723baa956966eeef315dd5ad94b3f");
        assert_eq!(region_of(h), 727);
    }
}

#[cfg(test)]
mod frozen {
    use super::*;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bloom-v1.bin");

    fn build() -> BloomFilter {
        let f = BloomFilter::new(&BloomPlan::new(8192, 100, 0.0));
        let mut buf = Vec::new();
        for i in 0..100u32 {
            f.check_and_insert(key_hash(&[&format!("key {i}")], &mut buf));
        }
        f
    }

    /// Format version 1 is frozen: today's code writes the same bytes and reads the file.
    #[test]
    fn version_1_file_is_frozen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        build().save(&p).unwrap();
        if std::env::var_os("LOAM_BLESS").is_some() {
            std::fs::copy(&p, FIXTURE).unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(FIXTURE).unwrap());
        let f = BloomFilter::load(Path::new(FIXTURE), false).unwrap();
        let mut buf = Vec::new();
        assert_eq!(f.inserted(), 100);
        assert!((0..100u32).all(|i| f.contains(key_hash(&[&format!("key {i}")], &mut buf))));
    }
}
