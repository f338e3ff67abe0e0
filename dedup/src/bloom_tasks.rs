//! The Bloom-filter engine ([`crate::engine`]) as phases of units that `--rank/--world` tasks
//! share, each unit's output a file:
//!
//! 1. `keys`, per input shard: the shard's plan ([`plan_file`]): its key hashes and what to
//!    write once they are checked.
//! 2. `filter`, one unit: every plan's keys, in canonical order, checked against the filter
//!    and inserted ([`check`]); the output is one bit per key ("present before"), and the
//!    updated filter is saved beside the old one until the stage is complete.
//! 3. `marks`, per input shard: its attribute file from its plan and its bits ([`marks`]),
//!    byte for byte what one process writes.
//!
//! The check-and-insert stays one unit because a Bloom filter cannot say which key it
//! holds: the first copy in canonical order survives only if every earlier key went in
//! first. It reads 16 bytes per key; the reading and hashing (most of the time) and the
//! writing are spread over the tasks.

use crate::engine::{
    self, DocPlan, Job, KeptAt, Located, ParaKind, ParaPlan, ShardOutcome, ShardPlan, Survivors,
};
use crate::exact::DedupUnit;
use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::Storage;

const PLAN_MAGIC: &[u8; 8] = b"LOAMBPL1";
// 2: the bits then, for an exact key set, where each duplicate key's kept copy is.
const BITS_MAGIC: &[u8; 8] = b"LOAMBPR2";

/// A plan or bit file that is damaged or does not belong to this run.
#[derive(Debug, thiserror::Error)]
#[error("{path}: not a valid Bloom dedup {what} file: {reason}")]
pub struct TaskFileError {
    /// The file.
    pub path: String,
    /// `plan` or `bit`.
    pub what: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// What the check-and-insert unit found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The keys and the filter.
    pub stats: engine::CheckStats,
    /// A warning when the filter holds more keys than it was sized for.
    pub warning: Option<String>,
}

fn put32(b: &mut Vec<u8>, x: u32) {
    b.extend_from_slice(&x.to_le_bytes());
}

fn put64(b: &mut Vec<u8>, x: u64) {
    b.extend_from_slice(&x.to_le_bytes());
}

/// Phase 1: shard `unit`'s plan as bytes, with the scan (a failed scan's bytes are not to
/// be used).
pub fn plan_file(
    storage: &dyn Storage,
    unit: &DedupUnit,
    job: &Job,
    progress: &dyn Progress,
) -> (ScanReport, Vec<u8>) {
    let p = engine::plan_shard(storage, unit, job, progress);
    let mut b = Vec::with_capacity(48 + p.keys.len() * 16 + p.docs.len() * 24);
    b.extend_from_slice(PLAN_MAGIC);
    for n in [
        p.keys.len() as u64,
        p.docs.len() as u64,
        p.paras.len() as u64,
        p.skipped,
        p.other,
    ] {
        put64(&mut b, n);
    }
    // Keys first: the check unit reads only them.
    for k in &p.keys {
        b.extend_from_slice(&k.to_le_bytes());
    }
    for (d, id) in p.docs.iter().zip(&p.ids) {
        match *d {
            DocPlan::Empty => b.push(0),
            DocPlan::Nothing => b.push(1),
            DocPlan::Key { key, chars, bytes } => {
                b.push(2);
                put32(&mut b, key);
                put64(&mut b, chars);
                put64(&mut b, bytes);
            }
            DocPlan::Paras { first, n } => {
                b.push(3);
                put32(&mut b, first);
                put32(&mut b, n);
            }
        }
        put32(&mut b, id.len() as u32);
        b.extend_from_slice(id.as_bytes());
    }
    for q in &p.paras {
        put32(&mut b, q.start);
        put32(&mut b, q.end);
        match q.kind {
            ParaKind::Whole { key } => {
                b.push(0);
                put32(&mut b, key);
            }
            ParaKind::Ngrams { first, n, sampled } => {
                b.push(1);
                put32(&mut b, first);
                put32(&mut b, n);
                put32(&mut b, sampled);
            }
            ParaKind::Short { key } => {
                b.push(2);
                put32(&mut b, key);
            }
        }
    }
    let check = xxhash_rust::xxh3::xxh3_64(&b);
    put64(&mut b, check);
    (p.scan, b)
}

/// A bounds-checked reader of a plan or bit file.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
    path: &'a str,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn bad(&self, reason: impl Into<String>) -> TaskFileError {
        TaskFileError {
            path: self.path.to_string(),
            what: self.what,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TaskFileError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        match end.and_then(|e| self.b.get(self.at..e)) {
            Some(s) => {
                self.at += n;
                Ok(s)
            }
            None => Err(self.bad(format!("truncated at byte {}", self.at))),
        }
    }

    fn u8(&mut self) -> Result<u8, TaskFileError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u32(&mut self) -> Result<u32, TaskFileError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }

    fn u64(&mut self) -> Result<u64, TaskFileError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn count(&mut self, each: usize) -> Result<usize, TaskFileError> {
        let n = self.u64()?;
        // A count larger than the file could hold is damage, not a reason to allocate.
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(each) <= self.b.len() => Ok(n),
            _ => Err(self.bad(format!("count {n} larger than the file"))),
        }
    }

    /// A checked file's body: its trailing xxh3-64 matches and it starts with `magic`.
    fn checked(
        b: &'a [u8],
        magic: &[u8; 8],
        path: &'a str,
        what: &'static str,
    ) -> Result<Cursor<'a>, TaskFileError> {
        match crate::minhash::checked_body(b, magic) {
            Ok(body) => Ok(Cursor {
                b: body,
                at: 0,
                path,
                what,
            }),
            Err(reason) => Err(TaskFileError {
                path: path.to_string(),
                what,
                reason: reason.to_string(),
            }),
        }
    }
}

/// A plan file's header (its keys appended to the caller's vector).
struct PlanHead<'a> {
    nkeys: usize,
    docs: usize,
    paras: usize,
    skipped: u64,
    other: u64,
    rest: Cursor<'a>,
}

fn read_head<'a>(
    b: &'a [u8],
    path: &'a str,
    keys: &mut Vec<u128>,
) -> Result<PlanHead<'a>, TaskFileError> {
    let mut c = Cursor::checked(b, PLAN_MAGIC, path, "plan")?;
    let nkeys = c.count(16)?;
    let docs = c.count(1)?;
    let paras = c.count(9)?;
    let skipped = c.u64()?;
    let other = c.u64()?;
    keys.reserve(nkeys);
    for _ in 0..nkeys {
        let mut a = [0u8; 16];
        a.copy_from_slice(c.take(16)?);
        keys.push(u128::from_le_bytes(a));
    }
    Ok(PlanHead {
        nkeys,
        docs,
        paras,
        skipped,
        other,
        rest: c,
    })
}

fn read_plan(b: &[u8], path: &str, scan: ScanReport) -> Result<ShardPlan, TaskFileError> {
    let mut keys = Vec::new();
    let h = read_head(b, path, &mut keys)?;
    let mut c = h.rest;
    let nkeys = h.nkeys as u64;
    let key = |c: &Cursor<'_>, k: u32| {
        if u64::from(k) < nkeys {
            Ok(k)
        } else {
            Err(c.bad(format!("key {k} out of {nkeys}")))
        }
    };
    let mut docs = Vec::with_capacity(h.docs);
    let mut ids = Vec::with_capacity(h.docs);
    for _ in 0..h.docs {
        let d = match c.u8()? {
            0 => DocPlan::Empty,
            1 => DocPlan::Nothing,
            2 => {
                let k = c.u32()?;
                DocPlan::Key {
                    key: key(&c, k)?,
                    chars: c.u64()?,
                    bytes: c.u64()?,
                }
            }
            3 => {
                let first = c.u32()?;
                let n = c.u32()?;
                if u64::from(first) + u64::from(n) > h.paras as u64 {
                    return Err(c.bad("paragraphs out of range"));
                }
                DocPlan::Paras { first, n }
            }
            t => return Err(c.bad(format!("unknown document kind {t}"))),
        };
        docs.push(d);
        let len = c.u32()? as usize;
        let id = std::str::from_utf8(c.take(len)?).map_err(|_| c.bad("id is not UTF-8"))?;
        ids.push(id.to_string());
    }
    let mut paras = Vec::with_capacity(h.paras);
    for _ in 0..h.paras {
        let start = c.u32()?;
        let end = c.u32()?;
        let kind = match c.u8()? {
            0 => {
                let k = c.u32()?;
                ParaKind::Whole { key: key(&c, k)? }
            }
            1 => {
                let first = c.u32()?;
                let n = c.u32()?;
                let sampled = c.u32()?;
                if u64::from(first) + u64::from(n) > nkeys {
                    return Err(c.bad("n-gram keys out of range"));
                }
                ParaKind::Ngrams { first, n, sampled }
            }
            2 => {
                let k = c.u32()?;
                ParaKind::Short { key: key(&c, k)? }
            }
            t => return Err(c.bad(format!("unknown paragraph kind {t}"))),
        };
        paras.push(ParaPlan { start, end, kind });
    }
    if c.at != c.b.len() {
        return Err(c.bad("bytes after the last paragraph"));
    }
    Ok(ShardPlan {
        scan,
        ids,
        docs,
        paras,
        keys,
        skipped: h.skipped,
        other: h.other,
    })
}

/// Phase 2: checks (and, unless read-only, inserts) the keys of the `n` plans `load(k)`
/// gives (`(bytes, path)`, canonical order; each read, used and dropped in turn, so only the
/// keys stay) against the job's key set, saving an updated Bloom filter at
/// [`engine::pending_filter_path`]; returns the bit file and what was found. With an exact
/// key set the plans are loaded a second time, to find where each duplicate's first copy
/// is, which the bit file then records.
pub fn check(
    n: usize,
    load: &mut dyn FnMut(usize) -> Result<(Vec<u8>, String), String>,
    job: &Job,
    exec: &Executor,
) -> Result<(Vec<u8>, CheckOutcome), String> {
    let filter = engine::open_key_set(job).map_err(|e| e.to_string())?;
    let mut all: Vec<u128> = Vec::new();
    let mut offsets = Vec::new();
    let (mut skipped, mut other) = (0, 0);
    for k in 0..n {
        let (b, path) = load(k)?;
        offsets.push(all.len() as u64);
        let h = read_head(&b, &path, &mut all).map_err(|e| e.to_string())?;
        skipped += h.skipped;
        other += h.other;
    }
    offsets.push(all.len() as u64);
    let keys = all.len();
    let (present, firsts) =
        engine::check_all(filter.as_ref(), all, job, exec).map_err(|e| e.to_string())?;
    let survivors = match firsts {
        Some(pairs) => {
            let mut found = Located::new(&pairs);
            for k in 0..n {
                let (b, path) = load(k)?;
                let p = read_plan(&b, &path, ScanReport::default()).map_err(|e| e.to_string())?;
                found.shard(k as u32, offsets.get(k).copied().unwrap_or(0), &p);
            }
            found.survivors(pairs).0
        }
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(40 + offsets.len() * 8 + keys.div_ceil(8));
    out.extend_from_slice(BITS_MAGIC);
    put64(&mut out, n as u64);
    for o in &offsets {
        put64(&mut out, *o);
    }
    put64(&mut out, present.0.len() as u64);
    for w in &present.0 {
        put64(&mut out, w.load(std::sync::atomic::Ordering::Relaxed));
    }
    put64(&mut out, survivors.len() as u64);
    for (dup, k) in &survivors {
        put64(&mut out, *dup);
        put32(&mut out, k.shard);
        put64(&mut out, k.line);
        put32(&mut out, k.start);
        put32(&mut out, k.end);
    }
    let check = xxhash_rust::xxh3::xxh3_64(&out);
    put64(&mut out, check);
    Ok((
        out,
        CheckOutcome {
            stats: engine::CheckStats::of(
                filter.as_ref(),
                keys as u64,
                present.count(),
                skipped,
                other,
            ),
            warning: filter.as_ref().and_then(|f| engine::overfull(f, job)),
        },
    ))
}

/// Phase 3: shard `i`'s attribute file from its plan (`(bytes, path)`) and the bit file
/// (`(bytes, path)`); `scan` is what phase 1 read of it (its counts and digest). `units`
/// are the run's, in canonical order (kept copies are named by them).
pub fn marks(
    storage: &dyn Storage,
    units: &[DedupUnit],
    i: usize,
    plan: (&[u8], &str),
    bits: (&[u8], &str),
    scan: ScanReport,
    job: &Job,
) -> Result<ShardOutcome, TaskFileError> {
    let p = read_plan(plan.0, plan.1, scan)?;
    let b = read_bits(bits.0, bits.1, i, p.keys.len() as u64)?;
    let hit = |k: u32| {
        let at = b.first + u64::from(k);
        let w = (at / 64) as usize * 8;
        b.words.get(w..w + 8).is_some_and(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) & (1 << (at % 64)) != 0
        })
    };
    let kept = |k: u32| b.kept.get(b.first + u64::from(k));
    Ok(engine::write_shard(storage, units, i, &p, &hit, &kept, job))
}

/// What one task of each phase holds, per unit of data (`loam dedupe plan -c` prints it):
/// `exact` for an exact key set, else a Bloom filter (whose own size adds to `filter`).
pub fn memory_coefficients(exact: bool) -> Vec<(&'static str, f64, String)> {
    vec![
        (
            "keys",
            16.0,
            "key of its shard, plus 20 per paragraph and 48 per document with its id".into(),
        ),
        match exact {
            true => (
                "filter",
                20.0,
                "key of the corpus, plus 36 per duplicate key (its kept copy's place)".into(),
            ),
            false => (
                "filter",
                36.0,
                "key of the corpus, plus the filter's size".into(),
            ),
        },
        (
            "marks",
            1.0,
            "8 keys of the corpus (the bit file), plus its shard's plan".into(),
        ),
    ]
}

/// Checks a plan file whole (as [`marks`] reads it); its documents.
pub fn validate_plan(b: &[u8], path: &str) -> Result<usize, TaskFileError> {
    read_plan(b, path, ScanReport::default()).map(|p| p.docs.len())
}

/// Shard `i`'s place in a bit file that should give it `keys` keys: the index of its first
/// key and every key's bits (u64 words, little-endian).
pub fn shard_bits<'a>(
    b: &'a [u8],
    path: &'a str,
    i: usize,
    keys: u64,
) -> Result<(u64, &'a [u8]), TaskFileError> {
    read_bits(b, path, i, keys).map(|r| (r.first, r.words))
}

/// What a bit file says of one shard.
struct ShardBits<'a> {
    /// The index of its first key among every key.
    first: u64,
    /// Every key's bits (u64 words, little-endian).
    words: &'a [u8],
    /// Its duplicate keys' kept copies (exact key sets), by key index among every key.
    kept: Survivors,
}

fn read_bits<'a>(
    b: &'a [u8],
    path: &'a str,
    i: usize,
    keys: u64,
) -> Result<ShardBits<'a>, TaskFileError> {
    let mut c = Cursor::checked(b, BITS_MAGIC, path, "bit")?;
    let shards = c.count(8)?;
    if i >= shards {
        return Err(c.bad(format!("shard {i} of {shards}")));
    }
    let mut offsets = Vec::with_capacity(shards + 1);
    for _ in 0..=shards {
        offsets.push(c.u64()?);
    }
    let (lo, hi) = (offsets[i], offsets[i + 1]);
    if hi.checked_sub(lo) != Some(keys) {
        return Err(c.bad(format!(
            "shard {i} has {keys} keys in its plan, {} here: the plan changed after the check",
            hi.saturating_sub(lo)
        )));
    }
    let nwords = c.count(8)?;
    let words = c.take(nwords * 8)?;
    let total = offsets.last().copied().unwrap_or(0);
    if (nwords as u64) < total.div_ceil(64) {
        return Err(c.bad("fewer bits than keys"));
    }
    let n = c.count(28)?;
    let mut kept = Vec::new();
    for _ in 0..n {
        let dup = c.u64()?;
        let at = KeptAt {
            shard: c.u32()?,
            line: c.u64()?,
            start: c.u32()?,
            end: c.u32()?,
        };
        if (lo..hi).contains(&dup) {
            kept.push((dup, at));
        }
    }
    if c.at != c.b.len() {
        return Err(c.bad("bytes after the kept copies"));
    }
    if kept.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(c.bad("kept copies out of order"));
    }
    Ok(ShardBits {
        first: lo,
        words,
        kept: Survivors(kept),
    })
}
