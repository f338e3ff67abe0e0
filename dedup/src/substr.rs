//! Exact-substring dedup over suffix arrays (Lee et al. 2022, "Deduplicating Training Data
//! Makes Language Models Better"; Ai2's duplodocus built Dolma 3's with it).
//!
//! **What is removed.** Documents are taken in canonical order (input shards as listed,
//! lines in order), each text a run of UTF-8 bytes; no match crosses a document. A byte is
//! a duplicate when it lies inside some substring of at least `min_length` bytes that also
//! occurs *earlier* (in an earlier document, or earlier in the same one). So the first copy
//! of every repeated substring stays and every later copy goes — not all copies, as
//! Lee et al.'s scripts remove. That set is the union of the windows `[g, g + N)` (`N` =
//! `min_length`) whose `N` bytes occurred at an earlier position: a match of length `L ≥ N`
//! at `g` is covered by the windows at `g … g + L − N`, each of which occurred earlier too.
//! So it needs, per class of positions with equal `N`-byte prefixes, only the first member —
//! which a suffix array groups.
//!
//! **How, as tasks.** (1) Per shard, a suffix file ([`SuffixFile`]): the texts concatenated,
//! the document table and ids, and the suffix array ([`crate::sa`], suffixes clamped at
//! document ends). (2) Per key range of `P` (boundaries sampled from every shard's array,
//! so each task computes the same ones), the arrays' slices in that range merged: in each
//! class the first position in canonical order survives, all others are written ([`matches`]).
//! A class never spans two ranges (its members share their `N`-byte key), so the result is
//! the same for any `P` and any number of tasks. (3) Per shard, its starts (kept as runs of
//! consecutive positions) from every range
//! file become byte ranges — windows merged, gaps up to `merge_gap` closed, optionally
//! shrunk to whole lines — written as attribute spans in code points ([`spans_of_shard`]),
//! which the mix removes by span replacement.

use crate::sa::suffix_array;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// `dedupe.substring` in loam's pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstringConfig {
    /// Attribute name: the removed spans (score 1.0, in code points); a document with any
    /// also gets `<attribute_name>__kept_chars`, its length after removal, for a drop rule
    /// on documents left too short.
    pub attribute_name: String,
    /// Shortest repeated substring removed, in bytes; default 200, about Lee et al.'s 50
    /// tokens of English.
    #[serde(default = "default_min_length")]
    pub min_length: usize,
    /// Removed ranges of one document at most this many bytes apart are merged, the gap
    /// removed too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub merge_gap: usize,
    /// Shrink each removed range to the whole sentences, lines or paragraphs inside it
    /// (`sentence`, `line`, `paragraph`), so none is cut; `none` (default) removes exactly
    /// the repeated bytes.
    #[serde(default, skip_serializing_if = "Snap::is_none")]
    pub snap: Snap,
    /// Key ranges of the match phase (`--rank/--world` tasks share them); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<usize>,
}

fn default_min_length() -> usize {
    200
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Which whole units a removed range is shrunk to (never grown: no byte that is not
/// repeated is removed; a range with no whole unit in it is kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Snap {
    /// Exactly the repeated bytes (shrunk to whole code points).
    #[default]
    None,
    /// Sentences: units end after `.`, `!` or `?` followed by whitespace (the whitespace
    /// goes with the sentence), and at line ends.
    Sentence,
    /// Lines, each with its `\n`.
    Line,
    /// Paragraphs: units end after a blank line (`\n\n`, the newlines going with the
    /// paragraph before).
    Paragraph,
}

impl Snap {
    fn is_none(&self) -> bool {
        *self == Snap::None
    }

    /// Whether a unit starts at byte `i` of `t` (the text's ends always count).
    fn boundary(self, t: &[u8], i: usize) -> bool {
        if i == 0 || i >= t.len() {
            return true;
        }
        let prev = t[i - 1];
        match self {
            Snap::None => true,
            Snap::Line => prev == b'\n',
            Snap::Paragraph => prev == b'\n' && i >= 2 && t[i - 2] == b'\n' && t[i] != b'\n',
            Snap::Sentence => {
                prev == b'\n'
                    || (prev.is_ascii_whitespace()
                        && !t[i].is_ascii_whitespace()
                        && i >= 2
                        && matches!(t[i - 2], b'.' | b'!' | b'?'))
            }
        }
    }
}

impl SubstringConfig {
    /// What is wrong with the values, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.attribute_name.is_empty() {
            v.push("attribute_name: must not be empty".into());
        }
        if self.min_length < 8 {
            v.push(format!(
                "min_length: {} is too short to mean a repeated passage (at least 8 bytes)",
                self.min_length
            ));
        }
        if self.partitions == Some(0) {
            v.push("partitions: must be at least 1".into());
        }
        v
    }

    /// Key ranges of the match phase.
    pub fn parts(&self) -> usize {
        self.partitions.unwrap_or(1).max(1)
    }
}

/// A file of this module that is damaged or not what it should be.
#[derive(Debug, thiserror::Error)]
pub enum SubstrError {
    /// Not a well-formed file of its kind.
    #[error("{path}: not a valid {kind} file: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// Suffix or match file.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A shard too large for 32-bit positions.
    #[error("{path}: {bytes} bytes of text; a shard's suffix array holds at most 4 GiB − 1 of text (split the shard)")]
    TooLarge {
        /// The input.
        path: String,
        /// Its text bytes.
        bytes: u64,
    },
}

/// A file's bytes: memory-mapped from a local disk (page cache, not heap), else read whole.
pub enum FileBytes {
    /// Mapped.
    Mapped(memmap2::Mmap),
    /// Read.
    Owned(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}

impl FileBytes {
    /// Opens `path` on `storage`.
    pub fn load(
        storage: &dyn loam_pipeline::storage::Storage,
        path: &str,
    ) -> Result<FileBytes, loam_pipeline::storage::StorageError> {
        if let Some(local) = storage.local_path(path) {
            let io = |e| loam_pipeline::storage::StorageError::new(path, e);
            let f = std::fs::File::open(&local).map_err(io)?;
            // SAFETY: the files mapped here are written once, atomically (a rename), and
            // never changed in place; a replaced file keeps the mapped inode alive.
            let m = unsafe { memmap2::Mmap::map(&f) }.map_err(io)?;
            return Ok(FileBytes::Mapped(m));
        }
        loam_pipeline::storage::read_all(storage, path).map(FileBytes::Owned)
    }
}

const SFX_MAGIC: &[u8; 8] = b"LOAMSFX1";
const MATCH_MAGIC: &[u8; 8] = b"LOAMSSM1";

fn frame(mut b: Vec<u8>) -> Vec<u8> {
    let check = xxhash_rust::xxh3::xxh3_64(&b);
    b.extend_from_slice(&check.to_le_bytes());
    b
}

/// Builds one shard's suffix file from its documents `(id, text)` in line order; `path`
/// names the input in errors.
pub fn build_suffix_file(docs: &[(String, String)], path: &str) -> Result<Vec<u8>, SubstrError> {
    let total: u64 = docs.iter().map(|(_, t)| t.len() as u64).sum();
    if total >= u64::from(u32::MAX) {
        return Err(SubstrError::TooLarge {
            path: path.to_string(),
            bytes: total,
        });
    }
    let n = total as usize;
    let mut starts = Vec::with_capacity(docs.len() + 1);
    let mut seq: Vec<u32> = Vec::with_capacity(n);
    starts.push(0u64);
    for (_, t) in docs {
        seq.extend(t.bytes().map(u32::from));
        starts.push(seq.len() as u64);
    }
    let sa = suffix_array(&seq, &starts);
    drop(seq);
    let ids_len: usize = docs.iter().map(|(id, _)| 4 + id.len()).sum();
    let mut b = Vec::with_capacity(32 + 8 * starts.len() + ids_len + n * 5 + 16);
    b.extend_from_slice(SFX_MAGIC);
    for w in [docs.len() as u64, n as u64, ids_len as u64] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for s in &starts {
        b.extend_from_slice(&s.to_le_bytes());
    }
    for (id, _) in docs {
        b.extend_from_slice(&(id.len() as u32).to_le_bytes());
        b.extend_from_slice(id.as_bytes());
    }
    for (_, t) in docs {
        b.extend_from_slice(t.as_bytes());
    }
    for p in sa {
        b.extend_from_slice(&p.to_le_bytes());
    }
    Ok(frame(b))
}

/// A shard's suffix file, read in place (a memory map or the bytes).
#[derive(Debug, Clone, Copy)]
pub struct SuffixView<'a> {
    starts: &'a [u8],
    ids: &'a [u8],
    text: &'a [u8],
    sa: &'a [u8],
    docs: usize,
}

impl<'a> SuffixView<'a> {
    /// Checks and opens a suffix file's bytes (`path` names it in errors).
    pub fn new(b: &'a [u8], path: &str) -> Result<SuffixView<'a>, SubstrError> {
        let bad = |reason: &str| SubstrError::BadFile {
            path: path.to_string(),
            kind: "suffix",
            reason: reason.to_string(),
        };
        let body = crate::minhash::checked_body(b, SFX_MAGIC).map_err(bad)?;
        let word = |i: usize| -> Result<u64, SubstrError> {
            body.get(8 * i..8 * i + 8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
                .ok_or_else(|| bad("truncated header"))
        };
        let (docs, n, ids_len) = (word(0)? as usize, word(1)? as usize, word(2)? as usize);
        let starts_at = 24;
        let ids_at = docs
            .checked_add(1)
            .and_then(|d| d.checked_mul(8))
            .and_then(|d| d.checked_add(starts_at))
            .ok_or_else(|| bad("document count out of range"))?;
        let text_at = ids_at
            .checked_add(ids_len)
            .ok_or_else(|| bad("ids out of range"))?;
        let sa_at = text_at
            .checked_add(n)
            .ok_or_else(|| bad("text out of range"))?;
        let end = n
            .checked_mul(4)
            .and_then(|s| s.checked_add(sa_at))
            .ok_or_else(|| bad("array out of range"))?;
        if end != body.len() {
            return Err(bad(&format!(
                "{} bytes where the header says {end}",
                body.len()
            )));
        }
        let v = SuffixView {
            starts: &body[starts_at..ids_at],
            ids: &body[ids_at..text_at],
            text: &body[text_at..sa_at],
            sa: &body[sa_at..end],
            docs,
        };
        if v.start(0) != 0 || v.start(docs) != n as u64 {
            return Err(bad("document table does not cover the text"));
        }
        // A checksum says the bytes are as written, not that they were written right: every
        // later read indexes by these, so a bad table or array is an error, never a panic.
        if (0..docs).any(|d| v.start(d) > v.start(d + 1)) {
            return Err(bad("document table out of order"));
        }
        if (0..n).any(|i| v.sa_at(i) >= n) {
            return Err(bad("suffix array points past the text"));
        }
        Ok(v)
    }

    /// Documents.
    pub fn documents(&self) -> usize {
        self.docs
    }

    /// Text bytes (all documents).
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// No text at all.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Where document `d` starts (`d == documents()`: the end).
    pub fn start(&self, d: usize) -> u64 {
        let w = &self.starts[8 * d..8 * d + 8];
        u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))
    }

    /// Document `d`'s text bytes.
    pub fn doc_text(&self, d: usize) -> &'a [u8] {
        &self.text[self.start(d) as usize..self.start(d + 1) as usize]
    }

    /// The ids, in line order.
    pub fn ids(&self) -> Result<Vec<&'a str>, &'static str> {
        let mut out = Vec::with_capacity(self.docs);
        let mut r = self.ids;
        for _ in 0..self.docs {
            let (l, rest) = r.split_first_chunk::<4>().ok_or("ids truncated")?;
            let l = u32::from_le_bytes(*l) as usize;
            let id = rest.get(..l).ok_or("ids truncated")?;
            out.push(std::str::from_utf8(id).map_err(|_| "an id is not UTF-8")?);
            r = &rest[l..];
        }
        Ok(out)
    }

    fn sa_at(&self, i: usize) -> usize {
        let w = &self.sa[4 * i..4 * i + 4];
        u32::from_le_bytes(w.try_into().unwrap_or([0; 4])) as usize
    }

    /// The end of the document holding byte `pos`.
    fn doc_end(&self, pos: usize) -> usize {
        // The first document start past `pos`.
        let (mut lo, mut hi) = (1, self.docs);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.start(mid) as usize <= pos {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.start(lo) as usize
    }

    /// The first `n` bytes of suffix `i` of the array, clamped at its document's end.
    fn key(&self, i: usize, n: usize) -> (&'a [u8], usize) {
        let p = self.sa_at(i);
        let e = self.doc_end(p).min(p + n);
        (&self.text[p..e], p)
    }

    /// The first array index whose key is not below `bound` (keys are non-decreasing).
    fn lower_bound(&self, bound: &[u8], n: usize) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.key(mid, n).0 < bound {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The `parts − 1` key boundaries of the match phase: quantiles of keys sampled at fixed
/// array positions of every shard, so every task computes the same ones.
pub fn boundaries(views: &[SuffixView<'_>], n: usize, parts: usize) -> Vec<Vec<u8>> {
    const SAMPLES: usize = 256;
    let mut keys: Vec<&[u8]> = Vec::new();
    for v in views {
        if v.is_empty() {
            continue;
        }
        for j in 0..SAMPLES {
            keys.push(v.key(j * v.len() / SAMPLES, n).0);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    let mut out: Vec<Vec<u8>> = (1..parts)
        .filter_map(|q| keys.get(q * keys.len() / parts).map(|k| k.to_vec()))
        .collect();
    out.dedup();
    out
}

struct Cursor<'a> {
    key: &'a [u8],
    shard: u32,
    pos: u32,
    next: usize,
    end: usize,
}

impl PartialEq for Cursor<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Cursor<'_> {}
impl PartialOrd for Cursor<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cursor<'_> {
    // Reversed: BinaryHeap is a max-heap.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.key, o.shard, o.pos).cmp(&(self.key, self.shard, self.pos))
    }
}

/// Moves `c` to its next suffix of at least `n` bytes before its document's end (shorter
/// ones match nothing of length `n`); false at the end of its slice.
fn advance<'a>(v: &SuffixView<'a>, c: &mut Cursor<'a>, n: usize) -> bool {
    while c.next < c.end {
        let (key, pos) = v.key(c.next, n);
        c.next += 1;
        if key.len() == n {
            c.key = key;
            c.pos = pos as u32;
            return true;
        }
    }
    false
}

/// Starts gathered as runs of consecutive positions `(shard, first, last)`: a repeated
/// passage of `L` bytes gives `L − N + 1` consecutive starts, kept as one run, so memory
/// follows the number of repeated passages rather than their bytes.
#[derive(Debug, Default)]
struct Runs {
    pending: Vec<(u32, u32)>,
    runs: Vec<(u32, u32, u32)>,
}

impl Runs {
    fn push(&mut self, s: (u32, u32)) {
        self.pending.push(s);
        if self.pending.len() >= (1 << 22).max(self.runs.len()) {
            self.compact();
        }
    }

    /// Sorts the pending starts into runs and merges them with the runs so far.
    fn compact(&mut self) {
        self.pending.sort_unstable();
        let mut fresh: Vec<(u32, u32, u32)> = Vec::new();
        for &(k, p) in &self.pending {
            match fresh.last_mut() {
                Some(r) if r.0 == k && r.2.checked_add(1) == Some(p) => r.2 = p,
                _ => fresh.push((k, p, p)),
            }
        }
        self.pending.clear();
        let old = std::mem::take(&mut self.runs);
        let (mut a, mut b) = (old.into_iter().peekable(), fresh.into_iter().peekable());
        let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(a.len() + b.len());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if (x.0, x.1) <= (y.0, y.1) => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            let Some(r) = next else { break };
            match out.last_mut() {
                Some(l) if l.0 == r.0 && l.2.checked_add(1).is_some_and(|e| e >= r.1) => {
                    l.2 = l.2.max(r.2)
                }
                _ => out.push(r),
            }
        }
        self.runs = out;
    }

    fn finish(mut self) -> Vec<(u32, u32, u32)> {
        self.compact();
        self.runs
    }
}

/// Key range `part` of `parts`: every eligible position (at least `n` bytes before its
/// document's end) whose `n`-byte key occurred at an earlier position, as runs of
/// consecutive positions `(shard, first, last)`, sorted. `views` are every shard's suffix
/// files in canonical order.
pub fn matches(
    views: &[SuffixView<'_>],
    n: usize,
    parts: usize,
    part: usize,
) -> Vec<(u32, u32, u32)> {
    let bounds = boundaries(views, n, parts);
    let lo_key = part.checked_sub(1).and_then(|q| bounds.get(q));
    let hi_key = bounds.get(part);
    if part >= parts || part > bounds.len() {
        // Fewer distinct boundaries than ranges: this range is empty.
        return Vec::new();
    }
    let mut heap = BinaryHeap::new();
    for (k, v) in views.iter().enumerate() {
        let start = lo_key.map_or(0, |b| v.lower_bound(b, n));
        let end = hi_key.map_or(v.len(), |b| v.lower_bound(b, n));
        let mut c = Cursor {
            key: &[],
            shard: k as u32,
            pos: 0,
            next: start,
            end,
        };
        if advance(v, &mut c, n) {
            heap.push(c);
        }
    }
    let mut out = Runs::default();
    // The class being read: its key and its first member so far.
    let mut class: Option<(&[u8], (u32, u32))> = None;
    while let Some(mut c) = heap.pop() {
        let here = (c.shard, c.pos);
        match &mut class {
            Some((key, first)) if *key == c.key => {
                if here < *first {
                    out.push(*first);
                    *first = here;
                } else {
                    out.push(here);
                }
            }
            _ => class = Some((c.key, here)),
        }
        if advance(&views[c.shard as usize], &mut c, n) {
            heap.push(c);
        }
    }
    out.finish()
}

/// A match file: the runs of starts of one key range, grouped by shard.
pub fn match_file(shards: usize, runs: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + 8 * (shards + 1) + 8 * runs.len());
    b.extend_from_slice(MATCH_MAGIC);
    b.extend_from_slice(&(shards as u64).to_le_bytes());
    let mut at = 0usize;
    for k in 0..=shards {
        while at < runs.len() && (runs[at].0 as usize) < k {
            at += 1;
        }
        b.extend_from_slice(&(at as u64).to_le_bytes());
    }
    for &(_, first, last) in runs {
        b.extend_from_slice(&first.to_le_bytes());
        b.extend_from_slice(&last.to_le_bytes());
    }
    frame(b)
}

/// Shard `shard`'s runs `(first, last)` in a match file made for `shards` shards.
pub fn match_runs(
    b: &[u8],
    path: &str,
    shards: usize,
    shard: usize,
) -> Result<Vec<(u32, u32)>, SubstrError> {
    let bad = |reason: &str| SubstrError::BadFile {
        path: path.to_string(),
        kind: "substring match",
        reason: reason.to_string(),
    };
    let body = crate::minhash::checked_body(b, MATCH_MAGIC).map_err(bad)?;
    let word = |i: usize| -> Result<u64, SubstrError> {
        body.get(8 * i..8 * i + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .ok_or_else(|| bad("truncated"))
    };
    let have = word(0)? as usize;
    if have != shards {
        return Err(bad(&format!(
            "made for {have} shards, the stage has {shards}"
        )));
    }
    let data = 8 * (shards + 2);
    let (a, e) = (word(1 + shard)? as usize, word(2 + shard)? as usize);
    let total = body.len().saturating_sub(data) / 8;
    if a > e || e > total || data + 8 * total != body.len() {
        return Err(bad("offsets out of range"));
    }
    let u32_at = |i: usize| {
        let w = &body[data + 4 * i..data + 4 * i + 4];
        u32::from_le_bytes(w.try_into().unwrap_or([0; 4]))
    };
    (a..e)
        .map(|i| {
            let (f, l) = (u32_at(2 * i), u32_at(2 * i + 1));
            if f > l {
                return Err(bad("a run ends before it starts"));
            }
            Ok((f, l))
        })
        .collect()
}

/// What one task of each phase holds on its heap, per unit of input: `(phase, bytes, per
/// what)`, for `loam validate`. The suffix array's construction (prefix doubling over 32-bit
/// symbols: the symbols, document ends, keyed positions, ranks and the array) dominates; the
/// match phase maps every shard's suffix file (5 B per text byte: page cache the kernel can
/// drop, not heap) and holds the runs of starts it finds (one per repeated passage).
pub fn memory_coefficients(parts: usize) -> Vec<(&'static str, f64, String)> {
    vec![
        ("suffixes", 34.0, "text byte of its shard".into()),
        (
            "matches",
            12.0,
            format!(
                "repeated passage in its key range (1/{} of the corpus's), plus every suffix file mapped",
                parts.max(1)
            ),
        ),
        (
            "marks",
            8.0,
            "repeated passage of its shard, plus its suffix file mapped".into(),
        ),
    ]
}

/// What one shard's spans came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardSpans {
    /// One attribute record per document, in line order.
    pub records: Vec<Value>,
    /// Documents with at least one span.
    pub documents_edited: u64,
    /// Spans.
    pub spans: u64,
    /// Bytes under them.
    pub bytes_removed: u64,
    /// Code points under them.
    pub chars_removed: u64,
}

/// Byte ranges of document text `t` to remove, from the sorted runs of window starts
/// `(first, last)` (relative to the document): windows of `n` bytes merged, gaps up to `gap`
/// closed, snapped.
pub fn ranges(
    t: &[u8],
    runs: &[(usize, usize)],
    n: usize,
    gap: usize,
    snap: Snap,
) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for &(first, last) in runs {
        let (s, e) = (first, (last + n).min(t.len()));
        match merged.last_mut() {
            Some(last) if s <= last.1.saturating_add(gap) => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = Vec::with_capacity(merged.len());
    for (mut s, mut e) in merged {
        if snap != Snap::None {
            // Forward to the first unit boundary, back to the last one: whole units only.
            while s < e && !snap.boundary(t, s) {
                s += 1;
            }
            while e > s && !snap.boundary(t, e) {
                e -= 1;
            }
        }
        // Whole code points only: a match may begin or end inside one.
        while s < e && (t[s] & 0xC0) == 0x80 {
            s += 1;
        }
        while e > s && e < t.len() && (t[e] & 0xC0) == 0x80 {
            e -= 1;
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

/// The attribute records of one shard: `runs` are its runs of window starts `(first, last)`
/// (sorted, shard positions) from every match file.
pub fn spans_of_shard(
    v: &SuffixView<'_>,
    path: &str,
    runs: &[(u32, u32)],
    cfg: &SubstringConfig,
) -> Result<ShardSpans, SubstrError> {
    let ids = v.ids().map_err(|reason| SubstrError::BadFile {
        path: path.to_string(),
        kind: "suffix",
        reason: reason.to_string(),
    })?;
    let mut out = ShardSpans::default();
    let mut at = 0usize;
    let kept_name = format!("{}__kept_chars", cfg.attribute_name);
    let mut rel = Vec::new();
    for (d, id) in ids.iter().enumerate() {
        let (a, e) = (v.start(d) as usize, v.start(d + 1) as usize);
        rel.clear();
        while at < runs.len() && (runs[at].0 as usize) < e {
            let (f, l) = (runs[at].0 as usize, runs[at].1 as usize);
            if f >= a {
                // A run never crosses a document: its last window ends inside it.
                rel.push((f - a, l.min(e - 1) - a));
            }
            at += 1;
        }
        let t = v.doc_text(d);
        let rs = ranges(t, &rel, cfg.min_length, cfg.merge_gap, cfg.snap);
        if rs.is_empty() {
            out.records.push(json!({"attributes": {}, "id": id}));
            continue;
        }
        // Byte offsets to code points, in one pass over the text.
        let chars = |a: usize, b: usize| t[a..b].iter().filter(|&&c| (c & 0xC0) != 0x80).count();
        let total = chars(0, t.len());
        let mut spans = Vec::with_capacity(rs.len());
        let mut removed = 0usize;
        let (mut byte, mut char_at) = (0usize, 0usize);
        for &(s, e) in &rs {
            let cs = char_at + chars(byte, s);
            let ce = cs + chars(s, e);
            (byte, char_at) = (e, ce);
            removed += ce - cs;
            out.bytes_removed += (e - s) as u64;
            spans.push(json!([cs, ce, 1.0]));
        }
        out.documents_edited += 1;
        out.spans += rs.len() as u64;
        out.chars_removed += removed as u64;
        out.records.push(json!({
            "attributes": {
                cfg.attribute_name.as_str(): spans,
                kept_name.as_str(): [[0, total, (total - removed) as f64]],
            },
            "id": id,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
