//! MinHash with `dedupe.minhash.partitions: P`: the LSH as phases, each a list of resumable
//! units ([`loam_pipeline::units::Units`]) that `--rank/--world` tasks share, so no task
//! holds every signature or edge ([`loam_dedup::lsh`]):
//!
//! 1. `signatures`: per input shard, its signature file (the one-process files, shared).
//! 2. `bands`: per input shard, its band keys in `P` hash-range partitions.
//! 3. `partitions`: per partition, the band collisions of every shard → components.
//! 4. `merge-1` … `merge-R` (`R = ⌈log₂ P⌉`): component files merged pairwise.
//! 5. `verify` (with `minhash.verify`): per cluster group, exact Jaccard inside clusters,
//!    members taken in the keep policy's order of preference; or `survivors` (with
//!    `minhash.keep` alone): per cluster group, the member the policy prefers survives.
//! 6. `marks`: per input shard, its attribute file from the final component map — the
//!    dedupe stage's own units, byte-identical to the one-process MinHash.
//!
//! Every unit records the digests of the files it read, so a changed file upstream makes it
//! again. A task runs its share of the first phase not complete (or of `--phase`), and
//! stops when the phase waits on other tasks; `loam slurm submit` chains one array per phase.

use crate::error::{Error, Result};
use crate::phases::Phase;
use crate::phases::{
    commit, digest_of, made_from_files, made_from_scan, read_all, PhaseInfo, Section, Step,
};
use loam_dedup::config::MinHashConfig;
use loam_dedup::lsh::{self, BandFile, Node, Verified, VerifyCounts};
use loam_dedup::minhash::{MinHasher, Signatures};
use loam_manifests::{fingerprint, FileDigest};
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::Storage;
use loam_pipeline::units::Made;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One shard's marks, for the dedupe stage's unit.
pub(crate) struct Marked {
    /// The attribute file.
    pub output: WrittenShard,
    /// The input shard and its digest (as its signatures read it).
    pub input: Option<(String, FileDigest)>,
    /// Valid documents and their text bytes.
    pub documents: u64,
    /// Text bytes.
    pub text_bytes: u64,
    /// Near-duplicates marked and their text bytes.
    pub duplicates: u64,
    /// Their text bytes.
    pub duplicate_bytes: u64,
    /// Files read besides the input: the component map, signature or verification files.
    pub read: Vec<(String, FileDigest)>,
}

/// The phases before the marks, done: what the marks need.
pub(crate) struct Ready {
    /// The final component map (`(node, root)`, sorted by node).
    map: Vec<(Node, Node)>,
    /// Members per root, with `annotate_clusters`.
    sizes: BTreeMap<Node, u64>,
    map_file: (String, FileDigest),
    /// Verdicts (sorted by node) and the files they came from, with verification or a keep
    /// policy.
    verified: Option<(Verified, Vec<(String, FileDigest)>)>,
    /// Whether the verdicts come from exact-Jaccard verification (and its counts are
    /// reported).
    counted: bool,
    /// Clusters of two or more documents.
    pub clusters: u64,
    /// Each shard's input and digest, as its signature unit read it.
    inputs: Vec<Option<(String, FileDigest)>>,
}

impl Ready {
    /// Verification's counts.
    pub fn verify_counts(&self) -> Option<VerifyCounts> {
        self.verified
            .as_ref()
            .filter(|_| self.counted)
            .map(|(v, _)| v.counts())
    }
}

/// Where a phase stands after this task's share.
pub(crate) enum Progress {
    /// Every phase before the marks is done.
    Ready(Box<Ready>),
    /// This task has nothing more to do now (its `--phase` is done, or a phase waits on
    /// other tasks); `failed`: units that failed, with their messages.
    Waiting { failed: Vec<(String, String)> },
}

/// The partitioned MinHash of one dedupe section.
pub(crate) struct Tasks<'a> {
    pub sec: Section<'a>,
    pub m: &'a MinHashConfig,
    /// Its hash functions (and tokenizer), loaded once.
    mh: MinHasher,
    /// [`signature_params`] of `m`.
    params: Value,
}

/// A partition or merge unit's output: its component edges, and the files it read.
fn commit_components(
    storage: &dyn Storage,
    path: &str,
    cc: &[(u64, u64)],
    read: Vec<(String, FileDigest)>,
) -> std::result::Result<Made<PhaseInfo>, String> {
    made_from_files(
        storage,
        path,
        &lsh::edges_to_bytes(cc),
        cc.len() as u64,
        read,
    )
}

/// The MinHash hash functions of a config, with its tokenizer for `shingle: tokens` (loaded
/// as the tokens stage loads one; a tokenizer that cannot be loaded is a usage error).
pub(crate) fn minhasher(m: &MinHashConfig) -> Result<MinHasher> {
    let mh = MinHasher::new(m);
    let tok = match (&m.shingle, &m.tokenizer) {
        (loam_dedup::config::ShingleKind::Tokens, Some(name)) => {
            let spec = loam_tokens::TokenizerSpec {
                name_or_path: name.clone(),
                // Shingles use `encode_ordinary`, which adds no special token; the loader
                // only insists on one so token arrays never run documents together.
                bos: None,
                eos: Some(0),
                segment: false,
                encode_special_tokens: true,
            };
            loam_tokens::Tokenizer::load(&spec)
                .map_err(|e| Error::Usage(format!("dedupe.minhash.tokenizer: {e}")))?
        }
        _ => return Ok(mh),
    };
    let id = tok.sha256.clone();
    Ok(mh.with_tokens(
        std::sync::Arc::new(move |text: &str| {
            let mut ids = Vec::new();
            tok.encode_ordinary(text, &mut ids)?;
            Ok(ids)
        }),
        id,
    ))
}

/// The signature files' parameters: the config without what does not change a signature,
/// with the tokenizer's SHA-256 for `shingle: tokens`.
pub(crate) fn signature_params(m: &MinHashConfig, mh: &MinHasher) -> Value {
    let mut params = json!(m);
    if let Some(id) = mh.tokenizer_id() {
        params["tokenizer_sha256"] = json!(id);
    }
    if let Value::Object(o) = &mut params {
        for k in [
            "attribute_name",
            "partitions",
            "verify",
            "annotate_clusters",
        ] {
            o.remove(k);
        }
    }
    params
}

impl<'a> Tasks<'a> {
    /// The tasks of a section (the tokenizer of `shingle: tokens` loaded and checked).
    pub(crate) fn new(sec: Section<'a>, m: &'a MinHashConfig) -> Result<Tasks<'a>> {
        let mh = minhasher(m)?;
        Ok(Tasks {
            params: signature_params(m, &mh),
            mh,
            sec,
            m,
        })
    }

    fn parts(&self) -> usize {
        self.m.partitions.unwrap_or(1).max(1)
    }

    fn base(&self) -> String {
        format!("{}/.loam/minhash-lsh", self.sec.dir)
    }

    /// The signature file of shard `i` (where the one-process MinHash keeps it too).
    fn sig_path(&self, i: usize) -> String {
        format!("{}/.loam/minhash/{}.sig", self.sec.dir, self.sec.rel(i))
    }

    fn band_path(&self, i: usize) -> String {
        format!("{}/bands/{}.bands", self.base(), self.sec.rel(i))
    }

    fn cc_path(&self, round: usize, j: usize) -> String {
        format!("{}/cc/r{round}/{j:05}.cc", self.base())
    }

    fn final_map(&self) -> String {
        self.cc_path(lsh::merge_rounds(self.parts()), 0)
    }

    fn verify_path(&self, g: usize) -> String {
        format!("{}/verify/{g:05}.vfy", self.base())
    }

    fn outputs(&self, phase: Phase) -> Vec<String> {
        let n = self.sec.units.len();
        let p = self.parts();
        match phase {
            Phase::Signatures => (0..n).map(|i| self.sig_path(i)).collect(),
            Phase::Bands => (0..n).map(|i| self.band_path(i)).collect(),
            Phase::Partitions => (0..p).map(|j| self.cc_path(0, j)).collect(),
            Phase::Merge(r) => (0..lsh::files_after(p, r))
                .map(|j| self.cc_path(r, j))
                .collect(),
            Phase::Verify | Phase::Survivors => (0..p).map(|g| self.verify_path(g)).collect(),
            Phase::Marks | Phase::Suffixes | Phase::Matches | Phase::Keys | Phase::Filter => {
                Vec::new()
            }
        }
    }

    fn state(&self, phase: Phase) -> RunState<'_> {
        let params = self.params.clone();
        if phase == Phase::Signatures {
            // The one-process MinHash's signature units: the same files and markers.
            let fp = fingerprint(&json!({
                "stage": "minhash-signatures", "loam": loam_pipeline::VERSION, "minhash": params,
            }));
            return RunState::beside_outputs(
                self.sec.storage,
                "minhash-signatures",
                &fp,
                self.sec.overwrite,
            );
        }
        let mut fp = json!({
            "stage": format!("minhash-{}", phase.name()), "loam": loam_pipeline::VERSION,
            "minhash": params, "partitions": self.parts(), "inputs": self.sec.rels,
        });
        // (`keep`, when set, is in `params`: the signature files hold its values.)
        if matches!(phase, Phase::Verify | Phase::Survivors) {
            fp["verify"] = json!(self.m.verify);
        }
        let stage = match phase {
            Phase::Merge(_) => "minhash-merge".to_string(),
            p => format!("minhash-{}", p.name()),
        };
        self.sec.state(&self.base(), &stage, &fp)
    }

    /// Makes unit `i` of `phase`.
    fn make(
        &self,
        phase: Phase,
        i: usize,
        mh: &MinHasher,
        bar: &dyn loam_pipeline::executor::Progress,
    ) -> std::result::Result<Made<PhaseInfo>, String> {
        let s = self.sec.storage;
        let parts = self.parts();
        let out = &self.outputs(phase)[i];
        match phase {
            Phase::Signatures => {
                let (scan, sigs) =
                    loam_dedup::minhash::sign_shard(s, &self.sec.units[i].input, mh, bar);
                made_from_scan(s, out, &sigs.to_bytes(), sigs.len() as u64, &scan)
            }
            Phase::Bands => {
                let path = self.sig_path(i);
                let b = read_all(s, &path)?;
                let sigs = Signatures::from_bytes(&b, &path).map_err(|e| e.to_string())?;
                let bf = BandFile::of_shard(i, &sigs, mh, parts).map_err(|e| e.to_string())?;
                let records = bf.parts.iter().map(|p| p.len() as u64).sum();
                Ok(Made {
                    output: Some(commit(s, out, &bf.to_bytes(), records)?),
                    info: PhaseInfo {
                        read: vec![digest_of(&path, &b)],
                        records,
                        ..Default::default()
                    },
                })
            }
            Phase::Partitions => {
                let mut pairs = Vec::new();
                let mut read = Vec::with_capacity(self.sec.units.len());
                for k in 0..self.sec.units.len() {
                    let path = self.band_path(k);
                    let b = read_all(s, &path)?;
                    pairs.extend(
                        BandFile::read_part(&b, &path, parts, i).map_err(|e| e.to_string())?,
                    );
                    read.push(digest_of(&path, &b));
                }
                pairs.sort_unstable();
                let cc = lsh::components(lsh::bucket_edges(&pairs));
                drop(pairs);
                commit_components(s, out, &cc, read)
            }
            Phase::Merge(r) => {
                let before = lsh::files_after(parts, r - 1);
                let mut edges = Vec::new();
                let mut read = Vec::new();
                for j in [2 * i, 2 * i + 1].into_iter().filter(|&j| j < before) {
                    let path = self.cc_path(r - 1, j);
                    let b = read_all(s, &path)?;
                    edges.extend(lsh::edges_from_bytes(&b, &path).map_err(|e| e.to_string())?);
                    read.push(digest_of(&path, &b));
                }
                commit_components(s, out, &lsh::components(edges), read)
            }
            Phase::Verify | Phase::Survivors => {
                let path = self.final_map();
                let b = read_all(s, &path)?;
                let map = lsh::edges_from_bytes(&b, &path).map_err(|e| e.to_string())?;
                let mine: Vec<(Node, Node)> = map
                    .into_iter()
                    .filter(|&(_, r)| lsh::group_of(r, parts) == i)
                    .collect();
                let mut clusters = lsh::clusters_of(&mine);
                let mut read = vec![digest_of(&path, &b)];
                // The members' signature files: their keep values and signatures, and the
                // digests of the documents as their signature units read them.
                let mut shards: Vec<usize> = clusters
                    .iter()
                    .flatten()
                    .map(|&n| lsh::node_shard(n))
                    .collect();
                shards.sort_unstable();
                shards.dedup();
                // (This phase runs without `verify` only with a keep policy, so the policy
                // is what needs the signature files parsed.)
                let mut sigs: BTreeMap<usize, Signatures> = BTreeMap::new();
                let keeps = mh.keeps_by_field();
                for k in shards {
                    let sig = self.sig_path(k);
                    let sb = read_all(s, &sig)?;
                    if keeps {
                        sigs.insert(
                            k,
                            Signatures::from_bytes(&sb, &sig).map_err(|e| e.to_string())?,
                        );
                    }
                    read.push(digest_of(&sig, &sb));
                }
                let of = |n: Node| -> std::result::Result<(&Signatures, usize), String> {
                    let line = lsh::node_line(n);
                    sigs.get(&lsh::node_shard(n))
                        .filter(|g| line < g.len())
                        .map(|g| (g, line))
                        .ok_or_else(|| {
                            format!("{path}: names a document no signature file has ({n})")
                        })
                };
                if keeps {
                    for c in &mut clusters {
                        for &n in c.iter() {
                            of(n)?;
                        }
                        mh.order_members(c, |n| {
                            of(n)
                                .ok()
                                .and_then(|(g, l)| g.keep.get(l).cloned())
                                .unwrap_or(loam_dedup::exact::SortValue::Missing)
                        });
                    }
                }
                let found = match &self.m.verify {
                    Some(v) => {
                        let inputs: Vec<String> =
                            self.sec.units.iter().map(|u| u.input.clone()).collect();
                        loam_dedup::minhash::verify_clusters(
                            s,
                            &inputs,
                            &clusters,
                            v,
                            mh,
                            self.sec.exec,
                        )?
                    }
                    None => {
                        // Every member but the preferred one, with its estimate against it.
                        let mut found = Verified::default();
                        for c in &clusters {
                            let Some((&first, rest)) = c.split_first() else {
                                continue;
                            };
                            let (fs, fl) = of(first)?;
                            for &n in rest {
                                let (ns, nl) = of(n)?;
                                found.verdicts.push(lsh::Verdict {
                                    node: n,
                                    survivor: first,
                                    jaccard: loam_dedup::minhash::estimate(
                                        &ns.sigs[nl],
                                        &fs.sigs[fl],
                                    ),
                                });
                            }
                        }
                        found.verdicts.sort_unstable_by_key(|v| v.node);
                        found
                    }
                };
                Ok(Made {
                    output: Some(commit(
                        s,
                        out,
                        &found.to_bytes(),
                        found.verdicts.len() as u64,
                    )?),
                    info: PhaseInfo {
                        read,
                        records: found.verdicts.len() as u64,
                        verify: self.m.verify.as_ref().map(|_| found.counts()),
                        ..Default::default()
                    },
                })
            }
            Phase::Marks | Phase::Suffixes | Phase::Matches | Phase::Keys | Phase::Filter => Err(
                format!("internal error: no MinHash unit of phase {}", phase.name()),
            ),
        }
    }

    /// Runs this task's share of the phases before the marks (see the module docs).
    pub(crate) fn advance(&self) -> Result<Progress> {
        let mh = &self.mh;
        let runner = self.sec.runner("MinHash");
        let phases: Vec<Phase> = Phase::minhash(self.m)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| *p != Phase::Marks)
            .collect();
        match runner.run(
            &phases,
            &|p| self.outputs(p),
            &|p| self.state(p),
            &|p, i, bar| self.make(p, i, mh, bar),
        )? {
            Step::Waiting { failed } => Ok(Progress::Waiting { failed }),
            Step::Done(first) => self
                .ready(
                    first
                        .iter()
                        .map(|d| d.as_ref().and_then(PhaseInfo::input))
                        .collect(),
                )
                .map(|r| Progress::Ready(Box::new(r))),
        }
    }

    fn ready(&self, inputs: Vec<Option<(String, FileDigest)>>) -> Result<Ready> {
        let s = self.sec.storage;
        let io = |e: String| Error::Usage(format!("dedupe {}: {e}", self.sec.name));
        let path = self.final_map();
        let b = read_all(s, &path).map_err(io)?;
        let map = lsh::edges_from_bytes(&b, &path).map_err(|e| io(e.to_string()))?;
        let mut roots: Vec<Node> = map.iter().map(|&(_, r)| r).collect();
        roots.sort_unstable();
        // Members per root (the root itself included), for `annotate_clusters`.
        let mut sizes: BTreeMap<Node, u64> = BTreeMap::new();
        if self.m.annotate_clusters {
            for &r in &roots {
                *sizes.entry(r).or_insert(1) += 1;
            }
        }
        roots.dedup();
        let verified = match self.m.verify.is_some() || self.m.keep.is_some() {
            false => None,
            true => {
                let mut all = Verified::default();
                let mut read = Vec::new();
                for g in 0..self.parts() {
                    let p = self.verify_path(g);
                    let vb = read_all(s, &p).map_err(io)?;
                    all.extend(Verified::from_bytes(&vb, &p).map_err(|e| io(e.to_string()))?);
                    read.push(digest_of(&p, &vb));
                }
                Some((all, read))
            }
        };
        Ok(Ready {
            map,
            sizes,
            map_file: digest_of(&path, &b),
            verified,
            counted: self.m.verify.is_some(),
            clusters: roots.len() as u64,
            inputs,
        })
    }

    /// The marks of shard `i`: its attribute file, written as the one-process MinHash
    /// writes it.
    pub(crate) fn mark(&self, ready: &Ready, i: usize) -> std::result::Result<Marked, String> {
        let s = self.sec.storage;
        let sig_path = self.sig_path(i);
        let sb = read_all(s, &sig_path)?;
        let sigs = Signatures::from_bytes(&sb, &sig_path).map_err(|e| e.to_string())?;
        let lo = ready.map.partition_point(|&(n, _)| lsh::node_shard(n) < i);
        let hi = ready.map.partition_point(|&(n, _)| lsh::node_shard(n) <= i);
        let mine = &ready.map[lo..hi];
        let mut read = vec![digest_of(&sig_path, &sb), ready.map_file.clone()];
        // Each line's score: the verdict's exact Jaccard, or the estimate with its root.
        let mut score: BTreeMap<usize, f64> = BTreeMap::new();
        match &ready.verified {
            Some((v, files)) => {
                read.extend(files.iter().cloned());
                let lo = v.verdicts.partition_point(|d| lsh::node_shard(d.node) < i);
                for d in &v.verdicts[lo..] {
                    if lsh::node_shard(d.node) != i {
                        break;
                    }
                    score.insert(lsh::node_line(d.node), d.jaccard);
                }
            }
            None => {
                // Roots' signatures, one signature file at a time.
                let mut by_shard: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
                for &(n, r) in mine {
                    by_shard
                        .entry(lsh::node_shard(r))
                        .or_default()
                        .push((lsh::node_line(n), lsh::node_line(r)));
                }
                for (k, lines) in by_shard {
                    let other;
                    let rs = if k == i {
                        &sigs
                    } else {
                        let p = self.sig_path(k);
                        let ob = read_all(s, &p)?;
                        read.push(digest_of(&p, &ob));
                        other = Signatures::from_bytes(&ob, &p).map_err(|e| e.to_string())?;
                        &other
                    };
                    for (line, root_line) in lines {
                        let (Some(a), Some(b)) = (sigs.sigs.get(line), rs.sigs.get(root_line))
                        else {
                            return Err(format!(
                                "{sig_path}: the component map names a document it does not have (line {line})"
                            ));
                        };
                        score.insert(line, loam_dedup::minhash::estimate(a, b));
                    }
                }
            }
        }
        let out = &self.sec.units[i].output;
        let mut w =
            JsonlWriter::with_gzip_level(s, out, loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL)
                .map_err(|e| e.to_string())?;
        let (mut dups, mut dup_bytes) = (0, 0);
        for (line, id) in sigs.ids.iter().enumerate() {
            let sc = score.get(&line).copied();
            if sc.is_some() {
                dups += 1;
                dup_bytes += sigs.bytes[line];
            }
            let node = ((i as u64) << 32) | line as u64;
            let cluster = if self.m.annotate_clusters {
                // A member's root from the map; a root is itself when it has members.
                let root = mine
                    .binary_search_by_key(&node, |&(n, _)| n)
                    .ok()
                    .map_or(node, |k| mine[k].1);
                ready.sizes.get(&root).map(|&n| (root, n))
            } else {
                None
            };
            let rec = loam_dedup::minhash::annotated_record(
                &self.m.attribute_name,
                id,
                sigs.chars[line],
                sc,
                cluster,
            );
            w.write(&rec).map_err(|e| e.to_string())?;
        }
        let output = w.finish().map_err(|e| e.to_string())?;
        Ok(Marked {
            output,
            input: ready.inputs.get(i).cloned().flatten(),
            documents: sigs.len() as u64,
            text_bytes: sigs.bytes.iter().sum(),
            duplicates: dups,
            duplicate_bytes: dup_bytes,
            read,
        })
    }
}
