//! A global shuffle of a mix in bounded memory, in two passes.
//!
//! **Pass 1** (one per input shard, in parallel, inside [`crate::mix::mix_shard`]): every kept
//! copy of a document gets a 64-bit key, a hash of (seed, input name, id, line, copy index)
//! ([`Shuffle::key`]), and goes to the bucket that owns its part of the key range
//! ([`Shuffle::bucket`]). Copies are buffered per bucket, at most [`SPOOL_BUFFER_BYTES`] for
//! the whole shard, and appended to the shard's *spool* file as one zstd frame per bucket and
//! flush ([`SpoolWriter`]); an index at the end of the spool lists each bucket's frames.
//!
//! **Pass 2** (one per bucket, in parallel, [`write_bucket`]): the bucket's frames are read
//! from every spool in canonical input order and sorted by key, stably (equal keys keep input
//! order). When they take more than the memory budget, sorted runs are spilled to scratch
//! files and merged. The output shard holds the bucket's copies in key order, so the shards
//! in name order are the whole mix sorted by key: a permutation that depends only on the seed
//! and the documents — not on threads, scheduling, buffer sizes or the memory budget.
//!
//! Memory: pass 1 holds one shard's buffer ([`SPOOL_BUFFER_BYTES`]) per worker, and 32 bytes
//! of index per frame (buckets × flushes); pass 2 holds at most its budget
//! ([`SORT_MEMORY_BYTES`]) of records per worker, plus one decoded frame, whatever the
//! bucket's size. Scratch space: the spools (the kept documents as zstd-compressed JSON)
//! plus, for a bucket larger than the budget, its sorted runs.
//!
//! Spool layout (integers little-endian): the frames, then the index — `buckets + 1` `u64`
//! prefix sums (bucket `b`'s entries are `table[b]..table[b + 1]`), then one entry per frame
//! (`offset`, compressed `length`, `raw` length: three `u64`, frames of a bucket in file
//! order) — then a 20-byte footer: the index offset (`u64`), the bucket count (`u32`) and the
//! magic `LOAMSPL1`. A frame (and a spilled run) is a sequence of records: `key` (`u64`),
//! `tokens` (`u64`), `length` (`u32`) and the document's JSON line without its newline.

use loam_pipeline::document::Document;
use loam_pipeline::executor::Progress;
use loam_pipeline::storage::{AtomicWrite, Storage, StorageError};
use loam_pipeline::writer::{DocumentWriter, WriteError, WrittenShard};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

/// Pass 1 flushes a shard's buffered copies to its spool when they reach this many bytes.
pub const SPOOL_BUFFER_BYTES: usize = 32 << 20;

/// Pass 2's default budget per bucket being sorted: records beyond it are spilled as sorted
/// runs and merged.
pub const SORT_MEMORY_BYTES: usize = 256 << 20;

const MAGIC: &[u8; 8] = b"LOAMSPL1";
const FOOTER_BYTES: u64 = 20;
const RECORD_HEADER: usize = 20;
/// zstd level of spools and runs: scratch data, so the fastest level.
const SCRATCH_ZSTD_LEVEL: i32 = 1;

/// A problem writing or reading the shuffle's scratch files or outputs.
#[derive(Debug, thiserror::Error)]
pub enum ShuffleError {
    /// Storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Writing an output shard failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A document too large for a spool record.
    #[error("{path}: document {id} is larger than 4 GiB as JSON")]
    TooLarge {
        /// The spool.
        path: String,
        /// The document's id.
        id: String,
    },
    /// A scratch file does not hold what pass 1 wrote.
    #[error("{path}: corrupt shuffle scratch file: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn corrupt(path: &str, message: impl Into<String>) -> ShuffleError {
    ShuffleError::Corrupt {
        path: path.to_string(),
        message: message.into(),
    }
}

fn io_err(path: &str, e: io::Error) -> ShuffleError {
    ShuffleError::Storage(StorageError::new(path, e))
}

/// Largest shard count of a shuffle: output names have five digits.
pub const MAX_SHUFFLE_SHARDS: u32 = 100_000;

/// A shuffle as configured (`mix.shuffle` of loam's pipeline file, a dolma mixer stream's
/// `global_shuffle`): the kept documents, with their sampling copies, are written to `shards`
/// output shards in a seeded pseudo-random order that depends only on the seed and each
/// copy's (input file, id, line, copy index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShuffleSpec {
    /// Output shards; default: one per input shard. A shard holds about 1/`shards` of the
    /// mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// Seed of the order; default: the mix's (or stream's) sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl ShuffleSpec {
    /// The shuffle this spec asks for: `seed` when the spec has none, one shard per input
    /// (`inputs`) when it gives no count, clamped to 1..=[`MAX_SHUFFLE_SHARDS`].
    pub fn resolve(&self, seed: u64, inputs: usize) -> Shuffle {
        Shuffle {
            seed: self.seed.unwrap_or(seed),
            buckets: self.shards.unwrap_or_else(|| {
                u32::try_from(inputs)
                    .unwrap_or(MAX_SHUFFLE_SHARDS)
                    .clamp(1, MAX_SHUFFLE_SHARDS)
            }),
        }
    }

    /// Config problems, with field paths below `at`: a shard count outside
    /// 1..=[`MAX_SHUFFLE_SHARDS`].
    pub fn check(&self, at: &str, problems: &mut loam_pipeline::config::Problems) {
        if let Some(n) = self
            .shards
            .filter(|n| !(1..=MAX_SHUFFLE_SHARDS).contains(n))
        {
            problems.push(
                loam_pipeline::config::join(at, "shards"),
                format!("{n}: must be between 1 and {MAX_SHUFFLE_SHARDS}"),
            );
        }
    }
}

/// The shuffle's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shuffle {
    /// Seed of the keys.
    pub seed: u64,
    /// Buckets, one output shard each (at least 1).
    pub buckets: u32,
}

impl Shuffle {
    /// The key of one copy of a document: `input` is the input shard's name below
    /// `documents/` (not where it is stored), `line` is 1-based, `copy` counts from 0.
    pub fn key(&self, input: &str, id: &str, line: u64, copy: u32) -> u64 {
        let mut k = Vec::with_capacity(input.len() + id.len() + 36);
        k.extend_from_slice(b"shuffle\0");
        // Lengths first: no two (input, id) pairs give the same bytes.
        k.extend_from_slice(&(input.len() as u64).to_le_bytes());
        k.extend_from_slice(input.as_bytes());
        k.extend_from_slice(&(id.len() as u64).to_le_bytes());
        k.extend_from_slice(id.as_bytes());
        k.extend_from_slice(&line.to_le_bytes());
        k.extend_from_slice(&copy.to_le_bytes());
        xxhash_rust::xxh3::xxh3_64_with_seed(&k, self.seed)
    }

    /// The bucket of a key: bucket `b` owns keys in `[b·2⁶⁴/n, (b+1)·2⁶⁴/n)`, so buckets in
    /// order are keys in order.
    pub fn bucket(&self, key: u64) -> u32 {
        ((u128::from(key) * u128::from(self.buckets.max(1))) >> 64) as u32
    }

    /// The output file name of a bucket.
    pub fn output_name(bucket: u32) -> String {
        format!("shuffled-{bucket:05}.jsonl.gz")
    }
}

/// A finished spool: what pass 2 needs to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolInfo {
    /// Location.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Document copies in it.
    pub records: u64,
}

/// Appends one record to `buf`.
fn put_record(buf: &mut Vec<u8>, key: u64, tokens: u64, json: &[u8]) {
    buf.extend_from_slice(&key.to_le_bytes());
    buf.extend_from_slice(&tokens.to_le_bytes());
    // Callers check that the length fits.
    buf.extend_from_slice(&(json.len() as u32).to_le_bytes());
    buf.extend_from_slice(json);
}

/// The next record of a decoded frame, advancing `pos`; `None` at the end.
fn next_record<'a>(data: &'a [u8], pos: &mut usize) -> Option<Result<Record<'a>, String>> {
    let rest = data.get(*pos..)?;
    if rest.is_empty() {
        return None;
    }
    let Some(header) = rest.get(..RECORD_HEADER) else {
        return Some(Err(format!("truncated record at byte {pos}")));
    };
    let (key, tokens, len) = parse_header(header);
    let Some(json) = rest.get(RECORD_HEADER..RECORD_HEADER + len) else {
        return Some(Err(format!("truncated record at byte {pos}")));
    };
    *pos += RECORD_HEADER + len;
    Some(Ok(Record { key, tokens, json }))
}

fn parse_header(h: &[u8]) -> (u64, u64, usize) {
    let mut k = [0u8; 8];
    let mut t = [0u8; 8];
    let mut l = [0u8; 4];
    k.copy_from_slice(&h[0..8]);
    t.copy_from_slice(&h[8..16]);
    l.copy_from_slice(&h[16..20]);
    (
        u64::from_le_bytes(k),
        u64::from_le_bytes(t),
        u32::from_le_bytes(l) as usize,
    )
}

/// One document copy in a frame or run.
struct Record<'a> {
    key: u64,
    tokens: u64,
    json: &'a [u8],
}

struct Frame {
    bucket: u32,
    offset: u64,
    len: u64,
    raw: u64,
}

/// Pass 1's writer: one input shard's kept copies, bucketed, written atomically.
pub struct SpoolWriter {
    path: String,
    shuffle: Shuffle,
    sink: Box<dyn AtomicWrite>,
    offset: u64,
    pending: Vec<Vec<u8>>,
    buffered: usize,
    limit: usize,
    frames: Vec<Frame>,
    records: u64,
    line: Vec<u8>,
    compressor: zstd::bulk::Compressor<'static>,
}

impl SpoolWriter {
    /// Starts a spool at `path` (invisible until [`SpoolWriter::finish`]).
    pub fn create(
        storage: &dyn Storage,
        path: &str,
        shuffle: Shuffle,
    ) -> Result<SpoolWriter, ShuffleError> {
        Self::with_buffer(storage, path, shuffle, SPOOL_BUFFER_BYTES)
    }

    /// Like [`SpoolWriter::create`], flushing every `limit` buffered bytes.
    pub fn with_buffer(
        storage: &dyn Storage,
        path: &str,
        shuffle: Shuffle,
        limit: usize,
    ) -> Result<SpoolWriter, ShuffleError> {
        let compressor =
            zstd::bulk::Compressor::new(SCRATCH_ZSTD_LEVEL).map_err(|e| io_err(path, e))?;
        Ok(SpoolWriter {
            path: path.to_string(),
            shuffle,
            sink: storage.create(path)?,
            offset: 0,
            pending: (0..shuffle.buckets.max(1)).map(|_| Vec::new()).collect(),
            buffered: 0,
            limit: limit.max(1),
            frames: Vec::new(),
            records: 0,
            line: Vec::new(),
            compressor,
        })
    }

    /// Adds one copy of `doc` with its key and whitespace token count.
    pub fn push(&mut self, key: u64, tokens: u64, doc: &Document) -> Result<(), ShuffleError> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        serde_json::to_writer(&mut line, doc).map_err(|e| WriteError::Encode {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let pushed = self.push_line(key, tokens, &doc.id, &line);
        self.line = line;
        pushed
    }

    /// Adds one copy of a document already serialized as one JSON line (no newline), with
    /// its key and token count; `id` names it in errors.
    pub fn push_line(
        &mut self,
        key: u64,
        tokens: u64,
        id: &str,
        line: &[u8],
    ) -> Result<(), ShuffleError> {
        if u32::try_from(line.len()).is_err() {
            return Err(ShuffleError::TooLarge {
                path: self.path.clone(),
                id: id.to_string(),
            });
        }
        let b = self.shuffle.bucket(key) as usize;
        let buf = &mut self.pending[b];
        let before = buf.len();
        put_record(buf, key, tokens, line);
        self.buffered += buf.len() - before;
        self.records += 1;
        if self.buffered >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ShuffleError> {
        for (b, buf) in self.pending.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            let z = self
                .compressor
                .compress(buf)
                .map_err(|e| io_err(&self.path, e))?;
            self.sink.write_all(&z).map_err(|e| io_err(&self.path, e))?;
            self.frames.push(Frame {
                bucket: b as u32,
                offset: self.offset,
                len: z.len() as u64,
                raw: buf.len() as u64,
            });
            self.offset += z.len() as u64;
            // Freed, not kept: buffers of many buckets must not add up to more than the limit.
            *buf = Vec::new();
        }
        self.buffered = 0;
        Ok(())
    }

    /// Flushes, writes the index and publishes the spool.
    pub fn finish(mut self) -> Result<SpoolInfo, ShuffleError> {
        self.flush()?;
        let n = self.shuffle.buckets.max(1) as usize;
        // Stable: a bucket's frames stay in file order.
        self.frames.sort_by_key(|f| f.bucket);
        let mut index = Vec::with_capacity(8 * (n + 1) + 24 * self.frames.len() + 20);
        let mut at = 0usize;
        for b in 0..=n {
            while at < self.frames.len() && (self.frames[at].bucket as usize) < b {
                at += 1;
            }
            index.extend_from_slice(&(at as u64).to_le_bytes());
        }
        for f in &self.frames {
            index.extend_from_slice(&f.offset.to_le_bytes());
            index.extend_from_slice(&f.len.to_le_bytes());
            index.extend_from_slice(&f.raw.to_le_bytes());
        }
        index.extend_from_slice(&self.offset.to_le_bytes());
        index.extend_from_slice(&(n as u32).to_le_bytes());
        index.extend_from_slice(MAGIC);
        self.sink
            .write_all(&index)
            .map_err(|e| io_err(&self.path, e))?;
        let bytes = self.offset + index.len() as u64;
        self.sink.commit()?;
        Ok(SpoolInfo {
            path: self.path,
            bytes,
            records: self.records,
        })
    }
}

/// Random access to a spool: a seekable file when local, ranged reads otherwise.
enum Source<'a> {
    Local(std::fs::File),
    Remote(&'a dyn Storage),
}

struct SpoolReader<'a> {
    info: &'a SpoolInfo,
    src: Source<'a>,
}

impl<'a> SpoolReader<'a> {
    fn open(storage: &'a dyn Storage, info: &'a SpoolInfo) -> Result<Self, ShuffleError> {
        let src = match storage.local_path(&info.path) {
            Some(p) => Source::Local(std::fs::File::open(p).map_err(|e| io_err(&info.path, e))?),
            None => Source::Remote(storage),
        };
        Ok(SpoolReader { info, src })
    }

    fn read_at(&mut self, start: u64, len: u64) -> Result<Vec<u8>, ShuffleError> {
        let path = &self.info.path;
        if start
            .checked_add(len)
            .is_none_or(|end| end > self.info.bytes)
        {
            return Err(corrupt(
                path,
                format!(
                    "range {start}+{len} past the end ({} bytes)",
                    self.info.bytes
                ),
            ));
        }
        match &mut self.src {
            Source::Local(f) => {
                f.seek(SeekFrom::Start(start))
                    .map_err(|e| io_err(path, e))?;
                let mut buf = vec![0; len as usize];
                f.read_exact(&mut buf).map_err(|e| io_err(path, e))?;
                Ok(buf)
            }
            Source::Remote(s) => Ok(s.read_range(path, start, len)?),
        }
    }

    fn u64_at(bytes: &[u8], i: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(b)
    }

    /// (offset, length, raw length) of each frame of `bucket`, in file order.
    fn frames(&mut self, bucket: u32, buckets: u32) -> Result<Vec<(u64, u64, u64)>, ShuffleError> {
        let path = self.info.path.clone();
        if self.info.bytes < FOOTER_BYTES {
            return Err(corrupt(&path, "shorter than its footer"));
        }
        let footer = self.read_at(self.info.bytes - FOOTER_BYTES, FOOTER_BYTES)?;
        if &footer[12..20] != MAGIC {
            return Err(corrupt(&path, "not a loam shuffle spool"));
        }
        let index_at = Self::u64_at(&footer, 0);
        let mut n = [0u8; 4];
        n.copy_from_slice(&footer[8..12]);
        let n = u32::from_le_bytes(n);
        if n != buckets.max(1) || bucket >= n {
            return Err(corrupt(
                &path,
                format!("written for {n} buckets, read for {buckets}"),
            ));
        }
        let slots = self.read_at(index_at.saturating_add(8 * u64::from(bucket)), 16)?;
        let (first, last) = (Self::u64_at(&slots, 0), Self::u64_at(&slots, 8));
        if last < first {
            return Err(corrupt(&path, "bad index"));
        }
        let entries_at = index_at.saturating_add(8 * (u64::from(n) + 1));
        let raw = self.read_at(
            entries_at.saturating_add(first.saturating_mul(24)),
            (last - first).saturating_mul(24),
        )?;
        let out: Vec<(u64, u64, u64)> = raw
            .chunks_exact(24)
            .map(|e| (Self::u64_at(e, 0), Self::u64_at(e, 8), Self::u64_at(e, 16)))
            .collect();
        if out.iter().any(|&(o, l, _)| o.saturating_add(l) > index_at) {
            return Err(corrupt(&path, "a frame overlaps the index"));
        }
        Ok(out)
    }
}

/// One bucket of pass 2.
#[derive(Debug, Clone, Copy)]
pub struct BucketJob<'a> {
    /// The shuffle (its bucket count must be the spools').
    pub shuffle: Shuffle,
    /// Which bucket.
    pub bucket: u32,
    /// Every spool of the mix, in canonical input order.
    pub spools: &'a [SpoolInfo],
    /// The output shard (`.jsonl.gz`).
    pub output: &'a str,
    /// Directory for sorted runs when the bucket exceeds `memory`.
    pub scratch: &'a str,
    /// Bytes of records held in memory at most (a single larger record is still held).
    pub memory: usize,
}

/// What pass 2 wrote for one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketReport {
    /// The output shard; `None` when the bucket is empty (no file is written).
    pub output: Option<WrittenShard>,
    /// Document copies written.
    pub documents: u64,
    /// Their text bytes.
    pub text_bytes: u64,
    /// Their whitespace tokens.
    pub tokens: u64,
    /// Sorted runs spilled to scratch files (0 when the bucket fit in memory).
    pub runs: usize,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    key: u64,
    tokens: u64,
    start: usize,
    len: usize,
}

/// Records held in memory for sorting.
struct Sorter {
    arena: Vec<u8>,
    held: Vec<Held>,
    limit: usize,
}

impl Sorter {
    fn new(limit: usize) -> Sorter {
        Sorter {
            arena: Vec::new(),
            held: Vec::new(),
            limit,
        }
    }

    fn push(&mut self, r: &Record<'_>) {
        let start = self.arena.len();
        let need = start + r.json.len();
        if need > self.arena.capacity() {
            // Doubling, but not past the budget (unless one record is larger): the arena's
            // allocation stays within it.
            let target = self
                .arena
                .capacity()
                .saturating_mul(2)
                .max(need)
                .min(self.limit.max(need));
            self.arena.reserve_exact(target - start);
        }
        self.arena.extend_from_slice(r.json);
        self.held.push(Held {
            key: r.key,
            tokens: r.tokens,
            start,
            len: r.json.len(),
        });
    }

    fn bytes(&self) -> usize {
        self.arena.len() + self.held.len() * std::mem::size_of::<Held>()
    }

    /// Sorts by key, stably: equal keys stay in arrival (input) order.
    fn sort(&mut self) {
        self.held.sort_by_key(|h| h.key);
    }

    fn record(&self, h: &Held) -> Record<'_> {
        Record {
            key: h.key,
            tokens: h.tokens,
            json: &self.arena[h.start..h.start + h.len],
        }
    }

    /// Writes the held records, sorted, as a run; empties the sorter.
    fn spill(&mut self, storage: &dyn Storage, path: &str) -> Result<(), ShuffleError> {
        self.sort();
        let sink = storage.create(path)?;
        let mut enc = zstd::stream::write::Encoder::new(sink, SCRATCH_ZSTD_LEVEL)
            .map_err(|e| io_err(path, e))?;
        let mut buf = Vec::new();
        for h in &self.held {
            buf.clear();
            let r = self.record(h);
            put_record(&mut buf, r.key, r.tokens, r.json);
            enc.write_all(&buf).map_err(|e| io_err(path, e))?;
        }
        let sink = enc.finish().map_err(|e| io_err(path, e))?;
        sink.commit()?;
        // Kept allocated (within the budget) for the next run.
        self.arena.clear();
        self.held.clear();
        Ok(())
    }
}

/// A sorted run being merged.
struct RunReader {
    path: String,
    r: BufReader<zstd::stream::read::Decoder<'static, BufReader<Box<dyn Read + Send>>>>,
    key: u64,
    tokens: u64,
    json: Vec<u8>,
}

impl RunReader {
    fn open(storage: &dyn Storage, path: &str) -> Result<RunReader, ShuffleError> {
        let d =
            zstd::stream::read::Decoder::new(storage.open(path)?).map_err(|e| io_err(path, e))?;
        Ok(RunReader {
            path: path.to_string(),
            r: BufReader::with_capacity(1 << 16, d),
            key: 0,
            tokens: 0,
            json: Vec::new(),
        })
    }

    /// Reads the next record; false at the end.
    fn advance(&mut self) -> Result<bool, ShuffleError> {
        let mut h = [0u8; RECORD_HEADER];
        let mut got = 0;
        while got < RECORD_HEADER {
            let n = self
                .r
                .read(&mut h[got..])
                .map_err(|e| io_err(&self.path, e))?;
            if n == 0 {
                if got == 0 {
                    return Ok(false);
                }
                return Err(corrupt(&self.path, "truncated record"));
            }
            got += n;
        }
        let (key, tokens, len) = parse_header(&h);
        self.json.resize(len, 0);
        self.r
            .read_exact(&mut self.json)
            .map_err(|e| io_err(&self.path, e))?;
        self.key = key;
        self.tokens = tokens;
        Ok(true)
    }
}

/// The bucket's output shard, created at its first document.
struct BucketOutput<'a> {
    storage: &'a dyn Storage,
    path: &'a str,
    writer: Option<DocumentWriter>,
    report: BucketReport,
    progress: &'a dyn Progress,
}

impl BucketOutput<'_> {
    fn write(&mut self, tokens: u64, json: &[u8], from: &str) -> Result<(), ShuffleError> {
        let text = std::str::from_utf8(json).map_err(|e| corrupt(from, e.to_string()))?;
        let doc = Document::from_json(text).map_err(|e| corrupt(from, e.to_string()))?;
        if self.writer.is_none() {
            self.writer = Some(DocumentWriter::create(self.storage, self.path)?);
        }
        if let Some(w) = self.writer.as_mut() {
            w.write(&doc)?;
        }
        let bytes = doc.text.len() as u64;
        self.report.documents += 1;
        self.report.text_bytes += bytes;
        self.report.tokens += tokens;
        self.progress.advance(1, bytes);
        Ok(())
    }

    fn finish(mut self) -> Result<BucketReport, ShuffleError> {
        if let Some(w) = self.writer.take() {
            self.report.output = Some(w.finish()?);
        }
        Ok(self.report)
    }
}

/// Pass 2 for one bucket: reads its frames from every spool in order, sorts them by key
/// (spilling sorted runs beyond `job.memory` and merging them) and writes the output shard
/// atomically. Nothing is published on error; the runs are deleted once merged.
pub fn write_bucket(
    storage: &dyn Storage,
    job: &BucketJob<'_>,
    progress: &dyn Progress,
) -> Result<BucketReport, ShuffleError> {
    let mut sorter = Sorter::new(job.memory);
    let mut runs: Vec<String> = Vec::new();
    let run_path = |i: usize| format!("{}/bucket-{:05}-{i:05}.run", job.scratch, job.bucket);
    for info in job.spools {
        let mut reader = SpoolReader::open(storage, info)?;
        for (offset, len, raw) in reader.frames(job.bucket, job.shuffle.buckets)? {
            let z = reader.read_at(offset, len)?;
            let data =
                zstd::stream::decode_all(&z[..]).map_err(|e| corrupt(&info.path, e.to_string()))?;
            if data.len() as u64 != raw {
                return Err(corrupt(&info.path, "a frame decodes to the wrong length"));
            }
            let mut pos = 0;
            while let Some(r) = next_record(&data, &mut pos) {
                let r = r.map_err(|m| corrupt(&info.path, m))?;
                sorter.push(&r);
                if sorter.bytes() >= job.memory {
                    let p = run_path(runs.len());
                    sorter.spill(storage, &p)?;
                    runs.push(p);
                }
            }
        }
    }
    let mut out = BucketOutput {
        storage,
        path: job.output,
        writer: None,
        report: BucketReport::default(),
        progress,
    };
    if runs.is_empty() {
        sorter.sort();
        for h in &sorter.held {
            let r = sorter.record(h);
            out.write(r.tokens, r.json, job.output)?;
        }
    } else {
        if !sorter.held.is_empty() {
            let p = run_path(runs.len());
            sorter.spill(storage, &p)?;
            runs.push(p);
        }
        let mut readers = Vec::with_capacity(runs.len());
        // (key, run): on equal keys the earlier run — earlier input — comes first.
        let mut heap = BinaryHeap::new();
        for (i, p) in runs.iter().enumerate() {
            let mut r = RunReader::open(storage, p)?;
            if r.advance()? {
                heap.push(Reverse((r.key, i)));
            }
            readers.push(r);
        }
        while let Some(Reverse((_, i))) = heap.pop() {
            let r = &mut readers[i];
            out.write(r.tokens, &r.json, &r.path)?;
            if r.advance()? {
                heap.push(Reverse((r.key, i)));
            }
        }
    }
    let mut report = out.finish()?;
    report.runs = runs.len();
    for p in &runs {
        storage.delete(p)?;
    }
    Ok(report)
}

/// Deletes the shuffle's scratch directory (spools, runs, and temporary files of killed
/// runs).
pub fn remove_scratch(storage: &dyn Storage, dir: &str) -> Result<(), ShuffleError> {
    match storage.local_path(dir) {
        Some(p) => match std::fs::remove_dir_all(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(dir, e)),
        },
        None => {
            for o in storage.list(dir)? {
                storage.delete(&o.path)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loam_pipeline::executor::CountingProgress;
    use loam_pipeline::storage::LocalStorage;

    fn read_gz_lines(path: &std::path::Path) -> Vec<String> {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s.lines().map(str::to_string).collect()
    }

    /// Spools for three inputs of `docs` documents each (with a second copy of every third).
    fn spools(dir: &str, shuffle: Shuffle, docs: u64, buffer: usize) -> Vec<SpoolInfo> {
        (0..3)
            .map(|i| {
                let name = format!("in{i}.jsonl.gz");
                let mut w = SpoolWriter::with_buffer(
                    &LocalStorage,
                    &format!("{dir}/spool/{name}.spool"),
                    shuffle,
                    buffer,
                )
                .unwrap();
                for line in 1..=docs {
                    let id = format!("d{}", line % 17); // ids repeat, as real ids may
                    let mut doc = Document::new(
                        &id,
                        format!("text {i} {line} {}", "x ".repeat(line as usize % 40)),
                    );
                    doc.fields.insert("n".into(), serde_json::json!([i, line]));
                    for copy in 0..(1 + u32::from(line % 3 == 0)) {
                        let key = shuffle.key(&name, &id, line, copy);
                        w.push(key, crate::mix::whitespace_tokens(&doc.text), &doc)
                            .unwrap();
                    }
                }
                w.finish().unwrap()
            })
            .collect()
    }

    fn run_all(
        dir: &str,
        shuffle: Shuffle,
        sp: &[SpoolInfo],
        memory: usize,
        out: &str,
    ) -> Vec<BucketReport> {
        (0..shuffle.buckets)
            .map(|b| {
                let output = format!("{dir}/{out}/{}", Shuffle::output_name(b));
                write_bucket(
                    &LocalStorage,
                    &BucketJob {
                        shuffle,
                        bucket: b,
                        spools: sp,
                        output: &output,
                        scratch: &format!("{dir}/runs"),
                        memory,
                    },
                    &CountingProgress::default(),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn output_is_a_keyed_permutation_whatever_the_buffers_and_memory() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_str().unwrap();
        let shuffle = Shuffle {
            seed: 7,
            buckets: 5,
        };
        // Small flush buffer: several frames per bucket per spool.
        let sp = spools(dir, shuffle, 400, 2000);
        let big = run_all(dir, shuffle, &sp, usize::MAX, "a");
        assert!(big.iter().all(|r| r.runs == 0));
        // A tiny budget: many spilled runs, merged.
        let small = run_all(dir, shuffle, &sp, 3000, "b");
        assert!(small.iter().all(|r| r.runs > 2), "{small:?}");
        let total: u64 = small.iter().map(|r| r.documents).sum();
        assert_eq!(total, sp.iter().map(|s| s.records).sum::<u64>());
        assert_eq!(total, 3 * (400 + 133));
        for (x, y) in big.iter().zip(&small) {
            assert_eq!(
                x.output.as_ref().map(|o| &o.digest),
                y.output.as_ref().map(|o| &o.digest)
            );
            assert_eq!((x.documents, x.tokens), (y.documents, y.tokens));
        }
        // Runs are deleted once merged.
        assert!(std::fs::read_dir(format!("{dir}/runs"))
            .unwrap()
            .next()
            .is_none());
        // A different spool buffer gives the same bytes.
        let t2 = tempfile::tempdir().unwrap();
        let dir2 = t2.path().to_str().unwrap();
        let sp2 = spools(dir2, shuffle, 400, 1 << 20);
        let other = run_all(dir2, shuffle, &sp2, usize::MAX, "a");
        for (x, y) in big.iter().zip(&other) {
            assert_eq!(
                x.output.as_ref().map(|o| &o.digest),
                y.output.as_ref().map(|o| &o.digest)
            );
        }
        // Concatenated in bucket order, the documents are sorted by key, copies spread out.
        let mut keys = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        for b in 0..shuffle.buckets {
            for l in read_gz_lines(&t.path().join("a").join(Shuffle::output_name(b))) {
                let d = Document::from_json(&l).unwrap();
                let n = &d.fields["n"];
                let (i, line) = (n[0].as_u64().unwrap(), n[1].as_u64().unwrap());
                // Two copies: the one met first must have the smaller key.
                let name = format!("in{i}.jsonl.gz");
                let mut ks: Vec<u64> = (0..1 + u32::from(line % 3 == 0))
                    .map(|c| shuffle.key(&name, &d.id, line, c))
                    .collect();
                ks.sort();
                let met = seen.entry((i, line)).or_insert(0usize);
                keys.push(ks[*met]);
                *met += 1;
            }
        }
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(keys.len() as u64, total);
    }

    #[test]
    fn keys_depend_on_every_part_and_buckets_cover_the_range() {
        let s = Shuffle {
            seed: 1,
            buckets: 16,
        };
        let k = s.key("a", "x", 1, 0);
        assert_ne!(k, s.key("b", "x", 1, 0));
        assert_ne!(k, s.key("a", "y", 1, 0));
        assert_ne!(k, s.key("a", "x", 2, 0));
        assert_ne!(k, s.key("a", "x", 1, 1));
        assert_ne!(
            k,
            Shuffle {
                seed: 2,
                buckets: 16
            }
            .key("a", "x", 1, 0)
        );
        assert_ne!(s.key("ab", "c", 1, 0), s.key("a", "bc", 1, 0));
        assert_eq!(s.bucket(0), 0);
        assert_eq!(s.bucket(u64::MAX), 15);
        let mut counts = [0u32; 16];
        for i in 0..16_000u64 {
            counts[s.bucket(s.key("f", &i.to_string(), i, 0)) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_damaged_spool_is_an_error_not_a_panic() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_str().unwrap();
        let shuffle = Shuffle {
            seed: 3,
            buckets: 2,
        };
        let mut sp = spools(dir, shuffle, 50, 1 << 20);
        let path = sp[0].path.clone();
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let output = format!("{dir}/out.jsonl.gz");
        let attempt = |sp: &[SpoolInfo]| {
            let job = BucketJob {
                shuffle,
                bucket: 0,
                spools: sp,
                output: &output,
                scratch: dir,
                memory: usize::MAX,
            };
            write_bucket(&LocalStorage, &job, &CountingProgress::default())
                .unwrap_err()
                .to_string()
        };
        let e = attempt(&sp);
        assert!(e.contains("not a loam shuffle spool"), "{e}");
        sp[0].bytes = 3;
        let e = attempt(&sp);
        assert!(e.contains("footer"), "{e}");
        assert!(!t.path().join("out.jsonl.gz").exists());
    }
}
