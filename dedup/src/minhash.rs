//! MinHash near-duplicate documents (loam only; dolma has none).
//!
//! 1. Shingles (parallel over shards): word or character n-grams of the lowercased text, each
//!    hashed with xxh3-64 under a fixed seed; a document's signature is, for each of
//!    `bands × rows` hash functions `h_i(x) = splitmix64(x ^ s_i)` (seeds `s_i` from the
//!    config's `seed`), the minimum over its shingles.
//! 2. Bands: each band's rows hash to a 64-bit band key; documents sharing a band key are
//!    linked (union-find, the smaller canonical index always the root), so clusters are the
//!    connected components, independent of thread count and scheduling.
//! 3. Write (parallel over shards): every document but the survivor of its cluster — the
//!    first in canonical order (sorted path, then line), or the member a keep policy
//!    (`keep: {by, order}`) prefers, ties to the first — gets `[[0, len(text) in code points,
//!    J]]`, `J` the fraction of equal signature rows with the survivor (an estimate of their
//!    Jaccard similarity), rounded to 5 decimals. With `verify`, members are verified in the
//!    policy's order of preference instead.

use crate::config::{KeepOrder, MinHashConfig, MinHashVerify, ShingleKind};
use crate::exact::{DedupKey, DedupUnit, SortValue};
use crate::lsh::{self, node_line, node_shard, Node, Verified, VerifyCounts};
use crate::text::words;
use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::shard::{scan, ScanReport};
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde_json::json;
use std::collections::HashMap;
use xxhash_rust::xxh3::{xxh3_64_with_seed, Xxh3Default};

const SHINGLE_SEED: u64 = 0x6d69_6e68_6173_6831; // "minhash1"

/// splitmix64's finalizer: a fast, well-mixed 64-bit permutation.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashed shingles of a text (deduplicated, sorted).
pub fn shingles(text: &str, kind: ShingleKind, n: usize) -> Vec<u64> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut buf = String::new();
    match kind {
        ShingleKind::Words => {
            let w: Vec<&str> = words(&lower).collect();
            if w.is_empty() {
                return out;
            }
            for g in w.windows(n.min(w.len())) {
                buf.clear();
                for (i, x) in g.iter().enumerate() {
                    if i > 0 {
                        buf.push(' ');
                    }
                    buf.push_str(x);
                }
                out.push(xxh3_64_with_seed(buf.as_bytes(), SHINGLE_SEED));
            }
        }
        // Token ids need a tokenizer: `MinHasher::try_shingles`.
        ShingleKind::Tokens => return out,
        ShingleKind::Chars => {
            let mut c: Vec<char> = Vec::with_capacity(lower.len());
            for ch in lower.chars() {
                let ch = if ch.is_whitespace() { ' ' } else { ch };
                if !(ch == ' ' && c.last().is_none_or(|l| *l == ' ')) {
                    c.push(ch);
                }
            }
            while c.last() == Some(&' ') {
                c.pop();
            }
            if c.is_empty() {
                return out;
            }
            for g in c.windows(n.min(c.len())) {
                buf.clear();
                buf.extend(g);
                out.push(xxh3_64_with_seed(buf.as_bytes(), SHINGLE_SEED));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Hashed n-grams of token ids (deduplicated, sorted).
pub fn token_shingles(ids: &[u32], n: usize) -> Vec<u64> {
    let mut out: Vec<u64> = if ids.is_empty() {
        Vec::new()
    } else {
        ids.windows(n.min(ids.len()))
            .map(|g| {
                let b: Vec<u8> = g.iter().flat_map(|t| t.to_le_bytes()).collect();
                xxh3_64_with_seed(&b, SHINGLE_SEED)
            })
            .collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// A tokenizer for `shingle: tokens`: a text's token ids, or why it cannot be encoded.
pub type TokenIds = std::sync::Arc<dyn Fn(&str) -> Result<Vec<u32>, String> + Send + Sync>;

/// The hash functions of a config.
#[derive(Clone)]
pub struct MinHasher {
    seeds: Vec<u64>,
    rows: usize,
    kind: ShingleKind,
    n: usize,
    /// The keep policy's field and whether the greatest value wins.
    keep: Option<(DedupKey, bool)>,
    /// The tokenizer of `shingle: tokens`, and what identifies it (its SHA-256).
    tokens: Option<(TokenIds, String)>,
}

impl std::fmt::Debug for MinHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinHasher")
            .field("hashes", &self.seeds.len())
            .field("rows", &self.rows)
            .field("kind", &self.kind)
            .field("n", &self.n)
            .field("keep", &self.keep)
            .field("tokenizer", &self.tokens.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl MinHasher {
    /// From the config.
    pub fn new(cfg: &MinHashConfig) -> MinHasher {
        let k = cfg.num_bands * cfg.rows_per_band;
        MinHasher {
            seeds: (0..k as u64).map(|i| mix(cfg.seed ^ mix(i + 1))).collect(),
            rows: cfg.rows_per_band,
            kind: cfg.shingle,
            n: cfg.ngram_length,
            // A `keep.by` that does not parse is refused by the config's checks first.
            keep: cfg
                .keep
                .as_ref()
                .and_then(|k| Some((DedupKey::parse(&k.by).ok()?, k.order == KeepOrder::Latest))),
            tokens: None,
        }
    }

    /// With the tokenizer `shingle: tokens` encodes with, and what identifies it (its
    /// SHA-256, for fingerprints).
    pub fn with_tokens(mut self, tokens: TokenIds, id: String) -> MinHasher {
        self.tokens = Some((tokens, id));
        self
    }

    /// What identifies the tokenizer of `shingle: tokens`, when there is one.
    pub fn tokenizer_id(&self) -> Option<&str> {
        self.tokens.as_ref().map(|(_, id)| id.as_str())
    }

    /// Whether a keep policy chooses survivors (signature files then hold its values).
    pub fn keeps_by_field(&self) -> bool {
        self.keep.is_some()
    }

    /// Sorts a cluster's members into the keep policy's order of preference, ties in
    /// canonical order (node order): the first is the cluster's survivor. Without a policy,
    /// canonical order.
    pub fn order_members(&self, members: &mut [Node], value: impl Fn(Node) -> SortValue) {
        match &self.keep {
            None => members.sort_unstable(),
            Some((_, latest)) => {
                let mut v: Vec<(SortValue, Node)> =
                    members.iter().map(|&n| (value(n), n)).collect();
                v.sort_by(|a, b| a.0.preference(&b.0, *latest).then(a.1.cmp(&b.1)));
                for (m, (_, n)) in members.iter_mut().zip(v) {
                    *m = n;
                }
            }
        }
    }

    /// The signature of a set of shingle hashes (empty when there are none).
    pub fn signature_of(&self, sh: &[u64]) -> Vec<u64> {
        if sh.is_empty() {
            return Vec::new();
        }
        self.seeds
            .iter()
            .map(|&s| sh.iter().map(|&x| mix(x ^ s)).min().unwrap_or(u64::MAX))
            .collect()
    }

    /// The hashed shingles of a text (sorted, deduplicated): what signatures and exact
    /// Jaccard are computed over.
    /// Word and character shingles only (token shingles need [`MinHasher::try_shingles`]).
    pub fn shingles(&self, text: &str) -> Vec<u64> {
        shingles(text, self.kind, self.n)
    }

    /// Shingles then signature of a text (words and characters only, as [`MinHasher::shingles`]).
    pub fn signature(&self, text: &str) -> Vec<u64> {
        self.signature_of(&shingles(text, self.kind, self.n))
    }

    /// The hashed shingles of a text of any kind: token ids from the tokenizer for
    /// `shingle: tokens` (an error without one, or when it cannot encode the text).
    pub fn try_shingles(&self, text: &str) -> Result<Vec<u64>, String> {
        match self.kind {
            ShingleKind::Tokens => {
                let (t, _) = self
                    .tokens
                    .as_ref()
                    .ok_or("shingle: tokens without a tokenizer")?;
                Ok(token_shingles(&t(text)?, self.n))
            }
            kind => Ok(shingles(text, kind, self.n)),
        }
    }

    /// Band keys of a signature (band index mixed in).
    pub fn bands(&self, sig: &[u64]) -> Vec<u64> {
        sig.chunks(self.rows)
            .enumerate()
            .map(|(b, rows)| {
                let mut h = Xxh3Default::new();
                h.update(&(b as u64).to_le_bytes());
                for r in rows {
                    h.update(&r.to_le_bytes());
                }
                h.digest()
            })
            .collect()
    }
}

/// Estimated Jaccard similarity: the fraction of equal rows.
pub fn estimate(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Union-find where the root is always the smallest index.
pub struct Clusters {
    parent: Vec<u32>,
}

impl Clusters {
    /// `n` singletons.
    pub fn new(n: usize) -> Clusters {
        Clusters {
            parent: (0..n as u32).collect(),
        }
    }
    /// The root (smallest member) of `x`'s cluster.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    /// Joins two clusters.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// What happened to one shard.
#[derive(Debug, Clone)]
pub struct MinHashShard {
    /// The input scan.
    pub scan: ScanReport,
    /// Documents marked as near-duplicates.
    pub duplicates: u64,
    /// Their text bytes.
    pub duplicate_bytes: u64,
    /// The attribute file.
    pub output: Option<WrittenShard>,
}

/// What a run did.
#[derive(Debug)]
pub struct MinHashOutcome {
    /// Per unit.
    pub shards: Vec<MinHashShard>,
    /// Clusters with more than one document.
    pub clusters: u64,
    /// Warnings (a run that marked nothing says why).
    pub warnings: Vec<String>,
    /// What exact-Jaccard verification counted (when `verify` is set).
    pub verify: Option<VerifyCounts>,
}

/// Shingles of some valid documents of one shard, by line (among its valid documents, as in
/// [`Signatures`]); `lines` sorted. Used by verification, which needs the sets themselves.
pub fn shingles_of_lines(
    storage: &dyn Storage,
    input: &str,
    lines: &[usize],
    mh: &MinHasher,
) -> Result<HashMap<usize, Vec<u64>>, String> {
    let mut out = HashMap::with_capacity(lines.len());
    let mut line = 0usize;
    let mut next = 0usize;
    let rep = scan(storage, input, |_, doc| {
        if lines.get(next) == Some(&line) {
            out.insert(line, mh.try_shingles(&doc.text)?);
            next += 1;
        }
        line += 1;
        Ok(())
    });
    if rep.failed() {
        return Err(format!(
            "{input}: cannot read the shingles verification needs: {}",
            rep.fatal
                .clone()
                .or_else(|| rep.errors.first().cloned())
                .unwrap_or_else(|| "read failed".into())
        ));
    }
    if next != lines.len() {
        return Err(format!(
            "{input}: has {line} documents, fewer than its signature file says (changed since?)"
        ));
    }
    Ok(out)
}

/// Verifies every cluster (`clusters`: sorted members, root first) of documents in `inputs`
/// (a node's shard indexes it), reading each shard with members once.
pub fn verify_clusters(
    storage: &dyn Storage,
    inputs: &[String],
    clusters: &[Vec<Node>],
    verify: &MinHashVerify,
    mh: &MinHasher,
    exec: &Executor,
) -> Result<Verified, String> {
    let mut need: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for c in clusters {
        for &n in c {
            need.entry(node_shard(n)).or_default().push(node_line(n));
        }
    }
    let need: Vec<(usize, Vec<usize>)> = need
        .into_iter()
        .map(|(s, mut l)| {
            l.sort_unstable();
            l.dedup();
            (s, l)
        })
        .collect();
    let read = exec.map(&need, |(s, lines)| {
        let input = inputs
            .get(*s)
            .ok_or_else(|| format!("node of shard {s}, of only {}", inputs.len()))?;
        shingles_of_lines(storage, input, lines, mh).map(|m| (*s, m))
    });
    let mut sets: HashMap<Node, Vec<u64>> = HashMap::new();
    for r in read {
        let (s, m) = r?;
        for (line, sh) in m {
            sets.insert(lsh::node(s, line).map_err(|e| e.to_string())?, sh);
        }
    }
    let empty: Vec<u64> = Vec::new();
    let mut out = Verified::default();
    for c in clusters {
        out.extend(lsh::verify_cluster(
            c,
            |n| sets.get(&n).unwrap_or(&empty).as_slice(),
            verify.threshold,
            verify.max_cluster,
        ));
    }
    Ok(out)
}

/// One shard's MinHash signatures with what the marks need (id, length in code points and
/// bytes), in line order of its valid documents: phase 1's result, kept in a file
/// ([`Signatures::to_bytes`]) so a rerun reads it instead of the shard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signatures {
    /// Document ids.
    pub ids: Vec<String>,
    /// Text lengths in code points.
    pub chars: Vec<u64>,
    /// Text lengths in bytes.
    pub bytes: Vec<u64>,
    /// Signatures (empty for a text without shingles).
    pub sigs: Vec<Vec<u64>>,
    /// The keep policy's value of each document (empty without a policy).
    pub keep: Vec<SortValue>,
}

/// The signature file's first bytes (format version 1): no keep values.
const SIG_MAGIC: &[u8; 8] = b"LOAMSIG1";
/// Version 2: each document's keep value after its signature.
const SIG_MAGIC_KEEP: &[u8; 8] = b"LOAMSIG2";

/// The body of a checked file (`magic`, body, xxh3-64 of both): the bytes after the magic, or
/// why the file is not one. Signature files and the LSH phases' files share this framing.
pub(crate) fn checked_body<'a>(b: &'a [u8], magic: &[u8; 8]) -> Result<&'a [u8], &'static str> {
    let body_len = b.len().checked_sub(8).ok_or("too short")?;
    let (body, check) = b.split_at(body_len);
    let check = u64::from_le_bytes(check.try_into().map_err(|_| "too short")?);
    if xxhash_rust::xxh3::xxh3_64(body) != check {
        return Err("checksum mismatch (damaged or truncated)");
    }
    body.strip_prefix(magic.as_slice()).ok_or("wrong magic")
}

/// A signature file that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: not a usable MinHash signature file: {reason}")]
pub struct SignatureFileError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl Signatures {
    /// Documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The file form: magic, count, then per document its lengths, id and signature (all
    /// little-endian) and, with a keep policy, its keep value; then an xxh3-64 of everything
    /// before, so a damaged file is refused.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + self.len() * 64);
        let with_keep = !self.keep.is_empty();
        b.extend_from_slice(if with_keep { SIG_MAGIC_KEEP } else { SIG_MAGIC });
        b.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for i in 0..self.len() {
            b.extend_from_slice(&self.chars[i].to_le_bytes());
            b.extend_from_slice(&self.bytes[i].to_le_bytes());
            b.extend_from_slice(&(self.ids[i].len() as u64).to_le_bytes());
            b.extend_from_slice(self.ids[i].as_bytes());
            b.extend_from_slice(&(self.sigs[i].len() as u64).to_le_bytes());
            for v in &self.sigs[i] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            if let Some(k) = self.keep.get(i).filter(|_| with_keep) {
                k.write_to(&mut b);
            }
        }
        let check = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(&check.to_le_bytes());
        b
    }

    /// Reads the file form back; `path` names the file in errors.
    pub fn from_bytes(b: &[u8], path: &str) -> Result<Signatures, SignatureFileError> {
        let bad = |reason: &str| SignatureFileError {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let with_keep = b.starts_with(SIG_MAGIC_KEEP);
        let magic = if with_keep { SIG_MAGIC_KEEP } else { SIG_MAGIC };
        let mut r = checked_body(b, magic).map_err(bad)?;
        let u64_at = |r: &mut &[u8]| -> Result<u64, SignatureFileError> {
            let (head, rest) = r.split_first_chunk::<8>().ok_or_else(|| bad("truncated"))?;
            *r = rest;
            Ok(u64::from_le_bytes(*head))
        };
        let n = u64_at(&mut r)?;
        let mut s = Signatures::default();
        for _ in 0..n {
            s.chars.push(u64_at(&mut r)?);
            s.bytes.push(u64_at(&mut r)?);
            let len = usize::try_from(u64_at(&mut r)?).map_err(|_| bad("id too long"))?;
            if r.len() < len {
                return Err(bad("truncated id"));
            }
            let (id, rest) = r.split_at(len);
            r = rest;
            s.ids
                .push(String::from_utf8(id.to_vec()).map_err(|_| bad("an id is not UTF-8"))?);
            let k = usize::try_from(u64_at(&mut r)?).map_err(|_| bad("signature too long"))?;
            if r.len() / 8 < k {
                return Err(bad("truncated signature"));
            }
            let mut sig = Vec::with_capacity(k);
            for _ in 0..k {
                sig.push(u64_at(&mut r)?);
            }
            s.sigs.push(sig);
            if with_keep {
                s.keep
                    .push(SortValue::read_from(&mut r).ok_or_else(|| bad("bad keep value"))?);
            }
        }
        if !r.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(s)
    }
}

/// Phase 1 for one shard: every valid document's signature.
pub fn sign_shard(
    storage: &dyn Storage,
    input: &str,
    mh: &MinHasher,
    progress: &dyn Progress,
) -> (ScanReport, Signatures) {
    let mut s = Signatures::default();
    let rep = scan(storage, input, |_, doc| {
        s.ids.push(doc.id.clone());
        s.chars.push(doc.text.chars().count() as u64);
        s.bytes.push(doc.text.len() as u64);
        let sig = mh.signature_of(&mh.try_shingles(&doc.text)?);
        s.sigs.push(sig);
        if let Some((field, _)) = &mh.keep {
            s.keep.push(SortValue::of(doc, field));
        }
        progress.advance(1, doc.text.len() as u64);
        Ok(())
    });
    (rep, s)
}

/// Runs MinHash dedup over `units` (canonical order) and writes the attribute files.
pub fn run(
    storage: &dyn Storage,
    units: &[DedupUnit],
    cfg: &MinHashConfig,
    mh: &MinHasher,
    attribute: &str,
    exec: &Executor,
    progress: &dyn Progress,
) -> MinHashOutcome {
    let plans = exec.map(units, |u| sign_shard(storage, &u.input, mh, progress));
    mark(storage, units, plans, cfg, mh, attribute, exec)
}

/// Phases 2 and 3: clusters over every shard's signatures (one per unit, in canonical
/// order; a failed scan takes part in nothing), then one attribute file per unit.
pub fn mark(
    storage: &dyn Storage,
    units: &[DedupUnit],
    plans: Vec<(ScanReport, Signatures)>,
    cfg: &MinHashConfig,
    mh: &MinHasher,
    attribute: &str,
    exec: &Executor,
) -> MinHashOutcome {
    // Global canonical indices; failed shards take part in nothing.
    let mut offsets = Vec::with_capacity(plans.len());
    let mut n = 0usize;
    for (_, p) in &plans {
        offsets.push(n);
        n += p.sigs.len();
    }
    let mut clusters = Clusters::new(n);
    let mut first_with: HashMap<u64, u32> = HashMap::new();
    for (s, (scan, p)) in plans.iter().enumerate() {
        if scan.failed() {
            continue;
        }
        for (i, sig) in p.sigs.iter().enumerate() {
            let g = (offsets[s] + i) as u32;
            for b in mh.bands(sig) {
                match first_with.get(&b) {
                    Some(&f) => clusters.union(f, g),
                    None => {
                        first_with.insert(b, g);
                    }
                }
            }
        }
    }
    drop(first_with);
    let roots: Vec<u32> = (0..n as u32).map(|i| clusters.find(i)).collect();
    let multi = {
        let mut seen = std::collections::HashSet::new();
        for (i, &r) in roots.iter().enumerate() {
            if r as usize != i {
                seen.insert(r);
            }
        }
        seen.len() as u64
    };
    let as_node = |g: usize| -> Node {
        let s = offsets.partition_point(|&o| o <= g) - 1;
        ((s as u64) << 32) | (g - offsets[s]) as u64
    };
    // The keep policy's value of a document (by canonical index).
    let keep_of = |g: usize| -> SortValue {
        let s = offsets.partition_point(|&o| o <= g) - 1;
        plans[s]
            .1
            .keep
            .get(g - offsets[s])
            .cloned()
            .unwrap_or(SortValue::Missing)
    };
    // Without verification, each cluster's survivor (by root): the member the keep policy
    // prefers, ties to the first in canonical order; absent, the root itself. A failed
    // shard's documents are clusters of their own.
    let mut survivor: HashMap<u32, (u32, &SortValue)> = HashMap::new();
    if let (Some((_, latest)), None) = (&mh.keep, &cfg.verify) {
        for (s, (scan, p)) in plans.iter().enumerate() {
            if scan.failed() {
                continue;
            }
            for (i, v) in p.keep.iter().enumerate() {
                let g = (offsets[s] + i) as u32;
                survivor
                    .entry(roots[g as usize])
                    .and_modify(|best| {
                        if v.beats(best.1, *latest) {
                            *best = (g, v);
                        }
                    })
                    .or_insert((g, v));
            }
        }
    }
    // Members per root, for `annotate_clusters`.
    let mut sizes: HashMap<u32, u64> = HashMap::new();
    if cfg.annotate_clusters {
        for &r in &roots {
            *sizes.entry(r).or_default() += 1;
        }
    }
    // Exact-Jaccard verification: the verdicts replace "every member but the first".
    let mut verified: Option<(Verdicts, VerifyCounts)> = None;
    if let Some(v) = &cfg.verify {
        let as_index = |n: Node| offsets[node_shard(n)] + node_line(n);
        let map: Vec<(Node, Node)> = roots
            .iter()
            .enumerate()
            .filter(|(g, r)| **r as usize != *g)
            .map(|(g, &r)| (as_node(g), as_node(r as usize)))
            .collect();
        let inputs: Vec<String> = units.iter().map(|u| u.input.clone()).collect();
        let mut clusters = lsh::clusters_of(&map);
        for c in &mut clusters {
            mh.order_members(c, |n| keep_of(as_index(n)));
        }
        match verify_clusters(storage, &inputs, &clusters, v, mh, exec) {
            Ok(found) => {
                let counts = found.counts();
                let by = found
                    .verdicts
                    .iter()
                    .map(|d| (as_index(d.node), (as_index(d.survivor), d.jaccard)))
                    .collect();
                verified = Some((by, counts));
            }
            Err(e) => {
                // Every shard fails: the marks would be unverified.
                let shards = plans
                    .iter()
                    .map(|(scan, _)| {
                        let mut scan = scan.clone();
                        scan.record(e.clone(), true);
                        MinHashShard {
                            scan,
                            duplicates: 0,
                            duplicate_bytes: 0,
                            output: None,
                        }
                    })
                    .collect();
                return MinHashOutcome {
                    shards,
                    clusters: multi,
                    warnings: Vec::new(),
                    verify: None,
                };
            }
        }
    }
    let sig_of = |g: usize| -> &Vec<u64> {
        let s = offsets.partition_point(|&o| o <= g) - 1;
        &plans[s].1.sigs[g - offsets[s]]
    };
    let work: Vec<usize> = (0..units.len()).collect();
    let shards = exec.map(&work, |&s| {
        let (scan, p) = &plans[s];
        let mut out = MinHashShard {
            scan: scan.clone(),
            duplicates: 0,
            duplicate_bytes: 0,
            output: None,
        };
        if scan.failed() {
            return out;
        }
        let mut w = match JsonlWriter::with_gzip_level(
            storage,
            &units[s].output,
            loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL,
        ) {
            Ok(w) => w,
            Err(e) => {
                out.scan.record(e.to_string(), true);
                return out;
            }
        };
        for (i, id) in p.ids.iter().enumerate() {
            let g = offsets[s] + i;
            let root = roots[g] as usize;
            let kept = survivor.get(&roots[g]).map_or(root, |&(k, _)| k as usize);
            let score = match &verified {
                Some((by, _)) => by.get(&g).map(|&(_, j)| j),
                None => (kept != g).then(|| estimate(&p.sigs[i], sig_of(kept))),
            };
            let cluster = sizes
                .get(&(root as u32))
                .filter(|&&n| n > 1)
                .map(|&n| (as_node(root), n));
            let rec = annotated_record(attribute, id, p.chars[i], score, cluster);
            if score.is_some() {
                out.duplicates += 1;
                out.duplicate_bytes += p.bytes[i];
            }
            if let Err(e) = w.write(&rec) {
                out.scan.record(e.to_string(), true);
                return out;
            }
        }
        match w.finish() {
            Ok(f) => out.output = Some(f),
            Err(e) => out.scan.record(e.to_string(), true),
        }
        out
    });
    let mut warnings = Vec::new();
    if shards.iter().all(|s| s.duplicates == 0) {
        warnings.push(format!(
            "nothing was marked as a near-duplicate in {n} documents: no two share a band of {} rows (similarity about {:.2} or more is needed for even odds)",
            cfg.rows_per_band,
            (1.0 / cfg.num_bands as f64).powf(1.0 / cfg.rows_per_band as f64)
        ));
    }
    MinHashOutcome {
        shards,
        clusters: multi,
        warnings,
        verify: verified.map(|(_, c)| c),
    }
}

/// Verified near-duplicates by canonical index: (survivor's index, exact Jaccard).
type Verdicts = HashMap<usize, (usize, f64)>;

/// One document's attribute record: `[[0, chars, score]]` for a near-duplicate (the score
/// rounded to 5 decimals), none for a kept document.
pub fn mark_record(attribute: &str, id: &str, chars: u64, score: Option<f64>) -> serde_json::Value {
    match score {
        Some(j) => {
            let j = loam_pipeline::document::round5(j);
            json!({"attributes": {attribute: [[0, chars, j]]}, "id": id})
        }
        None => json!({"attributes": {}, "id": id}),
    }
}

/// [`mark_record`] with `annotate_clusters`: a member of a cluster `(survivor node, size)`
/// also gets `<attribute>__cluster_id` and `<attribute>__cluster_size`.
pub fn annotated_record(
    attribute: &str,
    id: &str,
    chars: u64,
    score: Option<f64>,
    cluster: Option<(Node, u64)>,
) -> serde_json::Value {
    let mut rec = mark_record(attribute, id, chars, score);
    if let (Some((root, size)), Some(a)) = (cluster, rec["attributes"].as_object_mut()) {
        a.insert(
            format!("{attribute}__cluster_id"),
            json!([[0, chars, root]]),
        );
        a.insert(
            format!("{attribute}__cluster_size"),
            json!([[0, chars, size]]),
        );
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: ShingleKind) -> MinHashConfig {
        MinHashConfig {
            attribute_name: "near".into(),
            shingle: kind,
            ngram_length: 3,
            num_bands: 16,
            rows_per_band: 8,
            seed: 1,
            partitions: None,
            verify: None,
            annotate_clusters: false,
            keep: None,
            tokenizer: None,
        }
    }

    #[test]
    fn similar_texts_have_similar_signatures() {
        let m = MinHasher::new(&cfg(ShingleKind::Words));
        let a = "the quick brown fox jumps over the lazy dog and runs far away into the woods";
        let b = "the quick brown fox jumps over the lazy dog and runs far away into the trees";
        let c = "completely different words about an unrelated topic entirely for testing here";
        let (sa, sb, sc) = (m.signature(a), m.signature(b), m.signature(c));
        assert!(estimate(&sa, &sb) > 0.6, "{}", estimate(&sa, &sb));
        assert!(estimate(&sa, &sc) < 0.1);
        assert_eq!(sa, m.signature(&a.to_uppercase()));
        assert!(m.signature("").is_empty());
        let m = MinHasher::new(&cfg(ShingleKind::Chars));
        assert_eq!(m.signature("a  b\n"), m.signature("A b"));
    }

    #[test]
    fn signature_files_round_trip_and_refuse_damage() {
        let mh = MinHasher::new(&cfg(ShingleKind::Words));
        let s = Signatures {
            ids: vec!["a".into(), "é-2".into(), String::new()],
            chars: vec![5, 3, 0],
            bytes: vec![5, 4, 0],
            sigs: vec![
                mh.signature("one two three four five six"),
                mh.signature("x"),
                Vec::new(),
            ],
            keep: Vec::new(),
        };
        let b = s.to_bytes();
        assert!(b.starts_with(SIG_MAGIC));
        assert_eq!(Signatures::from_bytes(&b, "f").unwrap(), s);
        // With a keep policy's values (version 2), which read back as written.
        let mut k = s.clone();
        k.keep = vec![
            SortValue::Number(2.5),
            SortValue::Missing,
            SortValue::Text("2024-05-01".into()),
        ];
        let kb = k.to_bytes();
        assert!(kb.starts_with(SIG_MAGIC_KEEP));
        assert_eq!(Signatures::from_bytes(&kb, "f").unwrap(), k);
        assert!(Signatures::from_bytes(&kb[..kb.len() - 9], "f").is_err());
        for cut in [0, 7, 8, 20, b.len() - 1] {
            assert!(
                Signatures::from_bytes(&b[..cut], "f").is_err(),
                "cut at {cut}"
            );
        }
        let mut flipped = b.clone();
        flipped[20] ^= 1;
        let e = Signatures::from_bytes(&flipped, "f.sig").unwrap_err();
        assert!(e.to_string().contains("f.sig"), "{e}");
    }

    #[test]
    fn members_are_ordered_by_the_keep_policy_then_canonically() {
        let mut c = cfg(ShingleKind::Words);
        c.keep = Some(crate::config::KeepPolicy {
            by: "$.metadata.crawl".into(),
            order: KeepOrder::Latest,
        });
        let mh = MinHasher::new(&c);
        let value = |n: Node| match n {
            1 => SortValue::Number(3.0),
            2 => SortValue::Missing,
            3 => SortValue::Number(7.0),
            _ => SortValue::Number(3.0),
        };
        let mut m = vec![4, 2, 3, 1];
        mh.order_members(&mut m, value);
        assert_eq!(m, [3, 1, 4, 2]);
        c.keep.as_mut().unwrap().order = KeepOrder::Earliest;
        let mut m = vec![4, 2, 3, 1];
        MinHasher::new(&c).order_members(&mut m, value);
        assert_eq!(m, [1, 4, 3, 2]);
        let mut m = vec![4, 2, 3, 1];
        MinHasher::new(&cfg(ShingleKind::Words)).order_members(&mut m, value);
        assert_eq!(m, [1, 2, 3, 4]);
    }

    #[test]
    fn clusters_root_at_the_smallest_index() {
        let mut c = Clusters::new(5);
        c.union(4, 3);
        c.union(3, 1);
        c.union(2, 4);
        assert_eq!(
            (0..5).map(|i| c.find(i)).collect::<Vec<_>>(),
            [0, 1, 1, 1, 1]
        );
    }
}
