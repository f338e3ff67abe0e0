//! MinHash near-duplicate documents (loam only; dolma has none).
//!
//! 1. Shingles (parallel over shards): word or character n-grams of the lowercased text, each
//!    hashed with xxh3-64 under a fixed seed; a document's signature is, for each of
//!    `bands × rows` hash functions `h_i(x) = splitmix64(x ^ s_i)` (seeds `s_i` from the
//!    config's `seed`), the minimum over its shingles.
//! 2. Bands: each band's rows hash to a 64-bit band key; documents sharing a band key are
//!    linked (union-find, the smaller canonical index always the root), so clusters are the
//!    connected components, independent of thread count and scheduling.
//! 3. Write (parallel over shards): every document but the first of its cluster (canonical
//!    order: sorted path, then line) gets `[[0, len(text) in code points, J]]`, `J` the
//!    fraction of equal signature rows with that first document (an estimate of their
//!    Jaccard similarity), rounded to 5 decimals.

use crate::config::{MinHashConfig, ShingleKind};
use crate::exact::DedupUnit;
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

/// The hash functions of a config.
#[derive(Debug, Clone)]
pub struct MinHasher {
    seeds: Vec<u64>,
    rows: usize,
    kind: ShingleKind,
    n: usize,
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

    /// Shingles then signature of a text.
    pub fn signature(&self, text: &str) -> Vec<u64> {
        self.signature_of(&shingles(text, self.kind, self.n))
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
}

struct Planned {
    scan: ScanReport,
    ids: Vec<String>,
    chars: Vec<u64>,
    bytes: Vec<u64>,
    sigs: Vec<Vec<u64>>,
}

/// Runs MinHash dedup over `units` (canonical order) and writes the attribute files.
pub fn run(
    storage: &dyn Storage,
    units: &[DedupUnit],
    cfg: &MinHashConfig,
    attribute: &str,
    exec: &Executor,
    progress: &dyn Progress,
) -> MinHashOutcome {
    let mh = MinHasher::new(cfg);
    let plans: Vec<Planned> = exec.map(units, |u| {
        let mut p = Planned {
            scan: ScanReport::default(),
            ids: Vec::new(),
            chars: Vec::new(),
            bytes: Vec::new(),
            sigs: Vec::new(),
        };
        p.scan = scan(storage, &u.input, |_, doc| {
            p.ids.push(doc.id.clone());
            p.chars.push(doc.text.chars().count() as u64);
            p.bytes.push(doc.text.len() as u64);
            p.sigs.push(mh.signature(&doc.text));
            progress.advance(1, doc.text.len() as u64);
            Ok(())
        });
        p
    });
    // Global canonical indices; failed shards take part in nothing.
    let mut offsets = Vec::with_capacity(plans.len());
    let mut n = 0usize;
    for p in &plans {
        offsets.push(n);
        n += p.sigs.len();
    }
    let mut clusters = Clusters::new(n);
    let mut first_with: HashMap<u64, u32> = HashMap::new();
    for (s, p) in plans.iter().enumerate() {
        if p.scan.failed() {
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
    let sig_of = |g: usize| -> &Vec<u64> {
        let s = offsets.partition_point(|&o| o <= g) - 1;
        &plans[s].sigs[g - offsets[s]]
    };
    let work: Vec<usize> = (0..units.len()).collect();
    let shards = exec.map(&work, |&s| {
        let p = &plans[s];
        let mut out = MinHashShard {
            scan: p.scan.clone(),
            duplicates: 0,
            duplicate_bytes: 0,
            output: None,
        };
        if p.scan.failed() {
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
            let rec = if root != g {
                out.duplicates += 1;
                out.duplicate_bytes += p.bytes[i];
                let j = loam_pipeline::document::round5(estimate(&p.sigs[i], sig_of(root)));
                json!({"attributes": {attribute: [[0, p.chars[i], j]]}, "id": id})
            } else {
                json!({"attributes": {}, "id": id})
            };
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
    }
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
