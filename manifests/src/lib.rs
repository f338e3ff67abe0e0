//! Provenance for loam: content hashes, config fingerprints and the mix manifest.
//!
//! Everything persisted here uses fixed, versioned algorithms: SHA-256 for file contents,
//! xxh3-128 (seed 0) over canonical JSON for config fingerprints.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

pub mod check;
pub mod manifest;

pub use manifest::*;

/// Name of the content-hash algorithm recorded in manifests.
pub const CONTENT_HASH: &str = "sha256";
/// Name of the config fingerprint algorithm recorded in manifests.
pub const FINGERPRINT_HASH: &str = "xxh3-128(canonical-json)";

/// Size and SHA-256 of a file's bytes as stored (compressed bytes for compressed shards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Incremental SHA-256 with a byte count.
#[derive(Clone, Default)]
pub struct ContentHasher {
    hasher: Sha256,
    bytes: u64,
}

impl ContentHasher {
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }
    /// The digest of everything added.
    pub fn finish(self) -> FileDigest {
        FileDigest {
            bytes: self.bytes,
            sha256: to_hex(&self.hasher.finalize()),
        }
    }
}

/// SHA-256 of a whole stream.
pub fn digest_reader(mut r: impl Read) -> io::Result<FileDigest> {
    let mut h = ContentHasher::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// SHA-256 of a byte slice.
pub fn digest_bytes(data: &[u8]) -> FileDigest {
    let mut h = ContentHasher::default();
    h.update(data);
    h.finish()
}

/// A reader that hashes every byte that passes through it; the hash is shared so it can be
/// read after the reader disappears inside a decoder.
pub struct HashingReader<R> {
    inner: R,
    hasher: Arc<Mutex<ContentHasher>>,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; returns the reader and a handle to its running hash.
    pub fn new(inner: R) -> (Self, Arc<Mutex<ContentHasher>>) {
        let hasher = Arc::new(Mutex::new(ContentHasher::default()));
        (
            HashingReader {
                inner,
                hasher: hasher.clone(),
            },
            hasher,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hasher.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A writer that hashes every byte written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: ContentHasher,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: ContentHasher::default(),
        }
    }
    /// The inner writer and the digest of what went through.
    pub fn into_parts(self) -> (W, FileDigest) {
        (self.inner, self.hasher.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Fingerprint of a JSON value: xxh3-128 of its canonical serialization (object keys
/// sorted, no whitespace), as 32 hex digits.
pub fn fingerprint(value: &serde_json::Value) -> String {
    let canonical = canonical_json(value);
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(canonical.as_bytes()))
}

/// Canonical JSON: keys sorted (serde_json's map is ordered by key), compact.
pub fn canonical_json(value: &serde_json::Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            digest_bytes(b"abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fingerprint_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"b":[2,1],"a":1}"#).unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
