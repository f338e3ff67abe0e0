//! MinHash LSH split into tasks: band buckets partitioned by hash range, connected
//! components per partition, merged pairwise in rounds, and exact-Jaccard verification
//! inside clusters. The pieces `loam run`'s phases ([`crate::minhash`]'s signatures first)
//! run as resumable units; each is a pure function of its input files, so any split over
//! tasks gives the same bytes.
//!
//! - A document is a [`Node`]: its shard's index in canonical order in the high 32 bits and
//!   its line (among the shard's valid documents) in the low 32, so node order is canonical
//!   order (sorted path, then line).
//! - Bands ([`BandFile`]): per shard, every document's band keys, each in the partition
//!   `key × P / 2⁶⁴` (hash ranges), sorted.
//! - Partition `p` ([`components`] over the bucket edges of [`bucket_edges`]): documents sharing a band key in
//!   `p` are linked; the result is, for every non-root node, `(node, root)` with `root` the
//!   smallest node of its component ([`EdgeFile`]).
//! - Merge rounds: two component files → the components of their union ([`components`]
//!   again), `⌈log₂ P⌉` rounds to one file, the global map. A task holds one partition's
//!   band pairs, or two component files (one entry per non-root node each).
//! - Verification ([`verify_cluster`]): in canonical order, a member is a near-duplicate of
//!   the first kept member whose exact Jaccard with it reaches the threshold, else kept.

use crate::minhash::{MinHasher, Signatures};
use std::collections::HashMap;

/// A document: shard index (high 32 bits) and line (low 32 bits); ordered canonically.
pub type Node = u64;

/// Why an LSH file or value cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LshError {
    /// A file that is damaged, truncated or of another kind.
    #[error("{path}: not a usable MinHash {kind} file: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// Which kind of file was expected.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// More shards or lines than a node can name.
    #[error("shard {shard}, line {line}: more than 2^32 shards or documents per shard")]
    TooLarge {
        /// Shard index.
        shard: usize,
        /// Line.
        line: usize,
    },
}

/// The node of line `line` of shard `shard`.
pub fn node(shard: usize, line: usize) -> Result<Node, LshError> {
    match (u32::try_from(shard), u32::try_from(line)) {
        (Ok(s), Ok(l)) => Ok(((s as u64) << 32) | l as u64),
        _ => Err(LshError::TooLarge { shard, line }),
    }
}

/// A node's shard index.
pub fn node_shard(n: Node) -> usize {
    (n >> 32) as usize
}

/// A node's line in its shard.
pub fn node_line(n: Node) -> usize {
    (n & 0xffff_ffff) as usize
}

/// The partition (of `parts`) of a 64-bit hash: hash ranges of equal width.
pub fn partition_of(hash: u64, parts: usize) -> usize {
    ((hash as u128 * parts as u128) >> 64) as usize
}

/// The verification group of a cluster (its root), of `parts`.
pub fn group_of(root: Node, parts: usize) -> usize {
    partition_of(xxhash_rust::xxh3::xxh3_64(&root.to_le_bytes()), parts)
}

/// Rounds of pairwise merging that reduce `parts` files to one: `⌈log₂ parts⌉`.
pub fn merge_rounds(parts: usize) -> usize {
    let mut r = 0;
    while (1usize << r) < parts.max(1) {
        r += 1;
    }
    r
}

/// Files left after round `round` of merging `parts` files (round 0: the partitions).
pub fn files_after(parts: usize, round: usize) -> usize {
    let mut n = parts.max(1);
    for _ in 0..round {
        n = n.div_ceil(2);
    }
    n
}

// ---- file framing: magic, u64 words, xxh3-64 of everything before ----

fn frame(magic: &[u8; 8], words: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(magic);
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    let check = xxhash_rust::xxh3::xxh3_64(&b);
    b.extend_from_slice(&check.to_le_bytes());
    b
}

fn unframe<'a>(
    b: &'a [u8],
    magic: &[u8; 8],
    path: &str,
    kind: &'static str,
) -> Result<Words<'a>, LshError> {
    let bad = |reason: &str| LshError::BadFile {
        path: path.to_string(),
        kind,
        reason: reason.to_string(),
    };
    let rest = crate::minhash::checked_body(b, magic).map_err(bad)?;
    if rest.len() % 8 != 0 {
        return Err(bad("not a whole number of words"));
    }
    Ok(Words {
        rest,
        path: path.to_string(),
        kind,
    })
}

/// Reads the u64 words of a checked file.
struct Words<'a> {
    rest: &'a [u8],
    path: String,
    kind: &'static str,
}

impl Words<'_> {
    fn next(&mut self) -> Result<u64, LshError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<8>()
            .ok_or_else(|| self.bad("truncated"))?;
        self.rest = rest;
        Ok(u64::from_le_bytes(*head))
    }
    fn count(&mut self, width: usize) -> Result<usize, LshError> {
        let n = usize::try_from(self.next()?).map_err(|_| self.bad("count too large"))?;
        if n.saturating_mul(width).saturating_mul(8) > self.rest.len() {
            return Err(self.bad("count larger than the file"));
        }
        Ok(n)
    }
    fn bad(&self, reason: &str) -> LshError {
        LshError::BadFile {
            path: self.path.clone(),
            kind: self.kind,
            reason: reason.to_string(),
        }
    }
    fn end(self) -> Result<(), LshError> {
        match self.rest.is_empty() {
            true => Ok(()),
            false => Err(self.bad("trailing bytes")),
        }
    }
}

const BAND_MAGIC: &[u8; 8] = b"LOAMBND1";
const EDGE_MAGIC: &[u8; 8] = b"LOAMCC01";
const VERDICT_MAGIC: &[u8; 8] = b"LOAMVFY1";

/// One shard's band buckets: per partition, `(band key, node)` sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandFile {
    /// Per partition.
    pub parts: Vec<Vec<(u64, Node)>>,
}

impl BandFile {
    /// The band keys of shard `shard`'s signatures, in `parts` partitions. A document
    /// without shingles has no bands.
    pub fn of_shard(
        shard: usize,
        sigs: &Signatures,
        mh: &MinHasher,
        parts: usize,
    ) -> Result<BandFile, LshError> {
        let mut out = vec![Vec::new(); parts.max(1)];
        for (line, sig) in sigs.sigs.iter().enumerate() {
            let n = node(shard, line)?;
            for key in mh.bands(sig) {
                out[partition_of(key, parts.max(1))].push((key, n));
            }
        }
        for p in &mut out {
            p.sort_unstable();
            p.dedup();
        }
        Ok(BandFile { parts: out })
    }

    /// The file form: partition count, then per partition its length and pairs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = vec![self.parts.len() as u64];
        for p in &self.parts {
            w.push(p.len() as u64);
            for &(k, n) in p {
                w.push(k);
                w.push(n);
            }
        }
        frame(BAND_MAGIC, w)
    }

    /// Partition `part` of a file's bytes (`path` names it in errors); the file must have
    /// `parts` partitions.
    pub fn read_part(
        b: &[u8],
        path: &str,
        parts: usize,
        part: usize,
    ) -> Result<Vec<(u64, Node)>, LshError> {
        let mut w = unframe(b, BAND_MAGIC, path, "band")?;
        let have = w.next()?;
        if have != parts as u64 {
            return Err(w.bad(&format!("{have} partitions, the config has {parts}")));
        }
        let mut out = Vec::new();
        for p in 0..parts {
            let n = w.count(2)?;
            if p == part {
                out.reserve(n);
                for _ in 0..n {
                    out.push((w.next()?, w.next()?));
                }
            } else {
                w.rest = &w.rest[n * 16..];
            }
        }
        w.end()?;
        Ok(out)
    }
}

/// The edges band collisions make: `pairs` sorted by key (then node), each node of a bucket
/// linked to the bucket's first (smallest) node.
pub fn bucket_edges(pairs: &[(u64, Node)]) -> Vec<(Node, Node)> {
    let mut edges = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let (key, first) = pairs[i];
        let mut j = i + 1;
        while j < pairs.len() && pairs[j].0 == key {
            if pairs[j].1 != first {
                edges.push((pairs[j].1, first));
            }
            j += 1;
        }
        i = j;
    }
    edges
}

/// Connected components of `edges`: `(node, root)` for every node of a component of two or
/// more, but the root, the smallest node of its component; sorted by node. The result of
/// the edges' union is the same whatever their order or grouping, so merging component
/// files pairwise gives the components of every edge.
pub fn components(edges: impl IntoIterator<Item = (Node, Node)>) -> Vec<(Node, Node)> {
    let mut parent: HashMap<Node, Node> = HashMap::new();
    fn find(parent: &mut HashMap<Node, Node>, mut x: Node) -> Node {
        let mut path = Vec::new();
        while let Some(&p) = parent.get(&x) {
            if p == x {
                break;
            }
            path.push(x);
            x = p;
        }
        for n in path {
            parent.insert(n, x);
        }
        x
    }
    for (a, b) in edges {
        if a == b {
            continue;
        }
        parent.entry(a).or_insert(a);
        parent.entry(b).or_insert(b);
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent.insert(hi, lo);
        }
    }
    let nodes: Vec<Node> = parent.keys().copied().collect();
    let mut out: Vec<(Node, Node)> = nodes
        .into_iter()
        .filter_map(|n| {
            let r = find(&mut parent, n);
            (r != n).then_some((n, r))
        })
        .collect();
    out.sort_unstable();
    out
}

/// A component file's form: `(node, root)` pairs sorted by node.
pub fn edges_to_bytes(edges: &[(Node, Node)]) -> Vec<u8> {
    let mut w = vec![edges.len() as u64];
    for &(a, b) in edges {
        w.push(a);
        w.push(b);
    }
    frame(EDGE_MAGIC, w)
}

/// Reads a component file (`path` names it in errors).
pub fn edges_from_bytes(b: &[u8], path: &str) -> Result<Vec<(Node, Node)>, LshError> {
    let mut w = unframe(b, EDGE_MAGIC, path, "component")?;
    let n = w.count(2)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push((w.next()?, w.next()?));
    }
    w.end()?;
    Ok(out)
}

/// A verified near-duplicate: the document, its survivor and their exact Jaccard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The near-duplicate.
    pub node: Node,
    /// The kept member it matched.
    pub survivor: Node,
    /// Their exact Jaccard similarity.
    pub jaccard: f64,
}

/// What verifying some clusters found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    /// Near-duplicates, sorted by node.
    pub verdicts: Vec<Verdict>,
    /// Members past `max_cluster` compared with their cluster's first member only.
    pub capped: u64,
    /// Clusters larger than `max_cluster`.
    pub capped_clusters: u64,
    /// Candidates (non-first members) that verification kept: banding's false positives.
    pub rejected: u64,
}

/// What verification counted, for the summary and the manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifyCounts {
    /// Members past `max_cluster` compared with their cluster's first member only.
    pub capped: u64,
    /// Clusters larger than `max_cluster`.
    pub capped_clusters: u64,
    /// Candidates that verification kept (banding's false positives).
    pub rejected: u64,
}

impl Verified {
    /// Its counts.
    pub fn counts(&self) -> VerifyCounts {
        VerifyCounts {
            capped: self.capped,
            capped_clusters: self.capped_clusters,
            rejected: self.rejected,
        }
    }

    /// Adds another's verdicts and counts (verdicts are sorted again).
    pub fn extend(&mut self, o: Verified) {
        self.verdicts.extend(o.verdicts);
        self.verdicts.sort_unstable_by_key(|v| v.node);
        self.capped += o.capped;
        self.capped_clusters += o.capped_clusters;
        self.rejected += o.rejected;
    }

    /// The file form: counts, then `(node, survivor, jaccard bits)` per verdict.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = vec![
            self.capped,
            self.capped_clusters,
            self.rejected,
            self.verdicts.len() as u64,
        ];
        for v in &self.verdicts {
            w.extend([v.node, v.survivor, v.jaccard.to_bits()]);
        }
        frame(VERDICT_MAGIC, w)
    }

    /// Reads the file form (`path` names it in errors).
    pub fn from_bytes(b: &[u8], path: &str) -> Result<Verified, LshError> {
        let mut w = unframe(b, VERDICT_MAGIC, path, "verification")?;
        let (capped, capped_clusters, rejected) = (w.next()?, w.next()?, w.next()?);
        let n = w.count(3)?;
        let mut verdicts = Vec::with_capacity(n);
        for _ in 0..n {
            verdicts.push(Verdict {
                node: w.next()?,
                survivor: w.next()?,
                jaccard: f64::from_bits(w.next()?),
            });
        }
        w.end()?;
        Ok(Verified {
            verdicts,
            capped,
            capped_clusters,
            rejected,
        })
    }
}

/// Exact Jaccard similarity of two sorted, deduplicated sets (0 when both are empty).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - both;
    match union {
        0 => 0.0,
        u => both as f64 / u as f64,
    }
}

/// Verifies one cluster, `members` in order of preference (canonical order, or the keep
/// policy's: the first always survives), `shingles` giving each member's sorted shingle
/// hashes. In that order, a member is a near-duplicate of the
/// first kept member whose exact Jaccard with it is at least `threshold`, else it is kept;
/// members past the first `max_cluster` are compared with the first member only.
pub fn verify_cluster<'s>(
    members: &[Node],
    shingles: impl Fn(Node) -> &'s [u64],
    threshold: f64,
    max_cluster: usize,
) -> Verified {
    let mut out = Verified::default();
    let Some(&first) = members.first() else {
        return out;
    };
    let mut kept: Vec<Node> = vec![first];
    for (i, &m) in members.iter().enumerate().skip(1) {
        let sm = shingles(m);
        let against: &[Node] = if i < max_cluster {
            &kept
        } else {
            out.capped += 1;
            &kept[..1]
        };
        let hit = against.iter().find_map(|&k| {
            let j = jaccard(sm, shingles(k));
            (j >= threshold).then_some((k, j))
        });
        match hit {
            Some((survivor, j)) => out.verdicts.push(Verdict {
                node: m,
                survivor,
                jaccard: j,
            }),
            None => {
                out.rejected += 1;
                if i < max_cluster {
                    kept.push(m);
                }
            }
        }
    }
    if members.len() > max_cluster {
        out.capped_clusters = 1;
    }
    out
}

/// The clusters of a component map (`(node, root)` sorted by node): each root followed by
/// its members, sorted, in root order.
pub fn clusters_of(map: &[(Node, Node)]) -> Vec<Vec<Node>> {
    let mut by_root: std::collections::BTreeMap<Node, Vec<Node>> = Default::default();
    for &(n, r) in map {
        by_root.entry(r).or_insert_with(|| vec![r]).push(n);
    }
    by_root
        .into_values()
        .map(|mut v| {
            v.sort_unstable();
            v
        })
        .collect()
}

/// What one task of each phase holds, per unit of input: `(phase, bytes, per what)`, for
/// `k = bands × rows` hash functions over `partitions` partitions. `loam validate` prints it
/// before any work; [`memory_per_task`] applies it to a corpus.
pub fn memory_coefficients(
    k: u64,
    bands: u64,
    partitions: u64,
) -> Vec<(&'static str, f64, &'static str)> {
    let p = partitions.max(1) as f64;
    let sig = (8 * k + 64) as f64;
    vec![
        ("signatures", sig, "document of its shard"),
        ("bands", (bands * 16 * 2) as f64, "document of its shard"),
        (
            "partition",
            (bands * 16 * 3) as f64 / p,
            "document of the corpus",
        ),
        ("merge (last round)", 48.0, "clustered document"),
        (
            "marks",
            sig,
            "document of its shard, plus 16 B per clustered document",
        ),
    ]
}

/// Bytes of memory a phase's task needs, roughly: `docs` documents in `shards` shards,
/// `partitions` partitions, `k = bands × rows` hash functions, `bands` bands, `dup_fraction` of
/// documents in clusters (an estimate the user gives; 0.3 is typical of web text).
pub fn memory_per_task(
    docs: u64,
    shards: u64,
    partitions: u64,
    k: u64,
    bands: u64,
    dup_fraction: f64,
) -> Vec<(&'static str, u64)> {
    let per_shard = (docs / shards.max(1) + 1) as f64;
    let dups = docs as f64 * dup_fraction;
    memory_coefficients(k, bands, partitions)
        .into_iter()
        .map(|(phase, bytes, per)| {
            let n = match per {
                "document of the corpus" => docs as f64,
                "clustered document" => dups,
                _ => per_shard,
            };
            let extra = if phase == "marks" { dups * 16.0 } else { 0.0 };
            (phase, (bytes * n + extra) as u64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_canonical_order() {
        let a = node(0, 5).unwrap();
        let b = node(1, 0).unwrap();
        assert!(a < b);
        assert_eq!((node_shard(b), node_line(a)), (1, 5));
        assert!(node(1 << 33, 0).is_err());
    }

    #[test]
    fn rounds_reduce_to_one_file() {
        assert_eq!(merge_rounds(1), 0);
        assert_eq!(merge_rounds(2), 1);
        assert_eq!(merge_rounds(5), 3);
        assert_eq!(merge_rounds(16), 4);
        assert_eq!(files_after(5, 1), 3);
        assert_eq!(files_after(5, 3), 1);
        assert_eq!(partition_of(u64::MAX, 7), 6);
        assert_eq!(partition_of(0, 7), 0);
    }

    #[test]
    fn merged_partitions_equal_one_union_find() {
        // Random edges over 200 nodes, split into 8 parts, merged pairwise in rounds.
        let mut x = 7u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges: Vec<(Node, Node)> = (0..150).map(|_| (rnd() % 200, rnd() % 200)).collect();
        let whole = components(edges.iter().copied());
        let mut files: Vec<Vec<(Node, Node)>> = (0..8)
            .map(|p| components(edges.iter().copied().skip(p).step_by(8)))
            .collect();
        while files.len() > 1 {
            files = files
                .chunks(2)
                .map(|c| components(c.iter().flatten().copied()))
                .collect();
        }
        assert_eq!(files[0], whole);
        let mut uf = crate::minhash::Clusters::new(200);
        for &(a, b) in &edges {
            uf.union(a as u32, b as u32);
        }
        let want: Vec<(Node, Node)> = (0..200u32)
            .filter_map(|i| {
                let r = uf.find(i);
                (r != i).then_some((i as u64, r as u64))
            })
            .collect();
        assert_eq!(whole, want);
    }

    #[test]
    fn files_round_trip_and_refuse_damage() {
        let bf = BandFile {
            parts: vec![vec![(1, 2), (3, 4)], vec![], vec![(9, 1)]],
        };
        let b = bf.to_bytes();
        assert_eq!(BandFile::read_part(&b, "f", 3, 0).unwrap(), bf.parts[0]);
        assert_eq!(BandFile::read_part(&b, "f", 3, 2).unwrap(), bf.parts[2]);
        assert!(BandFile::read_part(&b, "f", 4, 0).is_err());
        let e = edges_to_bytes(&[(5, 1), (7, 1)]);
        assert_eq!(edges_from_bytes(&e, "e").unwrap(), [(5, 1), (7, 1)]);
        for cut in [0, 8, e.len() - 1] {
            assert!(edges_from_bytes(&e[..cut], "e").is_err());
        }
        let mut flipped = e.clone();
        flipped[10] ^= 1;
        let err = edges_from_bytes(&flipped, "x.cc").unwrap_err();
        assert!(err.to_string().contains("x.cc"), "{err}");
        assert!(
            edges_from_bytes(&b, "f").is_err(),
            "a band file is not a component file"
        );
        let v = Verified {
            verdicts: vec![Verdict {
                node: 3,
                survivor: 1,
                jaccard: 0.8125,
            }],
            capped: 2,
            capped_clusters: 1,
            rejected: 4,
        };
        assert_eq!(Verified::from_bytes(&v.to_bytes(), "v").unwrap(), v);
    }

    #[test]
    fn bucket_edges_link_to_the_first() {
        let pairs = [(1, 10), (1, 12), (1, 15), (2, 3), (3, 4), (3, 9)];
        assert_eq!(bucket_edges(&pairs), [(12, 10), (15, 10), (9, 4)]);
    }

    #[test]
    fn verification_keeps_false_positives_and_caps() {
        let sets: HashMap<Node, Vec<u64>> = [
            (0, (0..10).collect()),
            (1, (0..9).collect()),   // 0.9 with 0
            (2, (20..30).collect()), // unrelated: kept
            (3, (20..29).collect()), // 0.9 with 2 (kept before it)
            (4, (0..9).collect()),   // past the cap: compared with 0 only
            (5, (20..30).collect()), // past the cap: 0 with 0: kept
        ]
        .into_iter()
        .collect();
        let v = verify_cluster(&[0, 1, 2, 3, 4, 5], |n| &sets[&n], 0.85, 4);
        let got: Vec<(Node, Node)> = v.verdicts.iter().map(|v| (v.node, v.survivor)).collect();
        assert_eq!(got, [(1, 0), (3, 2), (4, 0)]);
        assert_eq!((v.capped, v.capped_clusters, v.rejected), (2, 1, 2));
        assert!((jaccard(&[1, 2, 3], &[2, 3, 4]) - 0.5).abs() < 1e-12);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }
}
