//! MinHash with `dedupe.minhash.partitions: P`: the LSH as phases, each a list of resumable
//! units ([`loam_pipeline::units::Units`]) that `--rank/--world` tasks share, so no task
//! holds every signature or edge ([`loam_dedup::lsh`]):
//!
//! 1. `signatures`: per input shard, its signature file (the one-process files, shared).
//! 2. `bands`: per input shard, its band keys in `P` hash-range partitions.
//! 3. `partitions`: per partition, the band collisions of every shard → components.
//! 4. `merge-1` … `merge-R` (`R = ⌈log₂ P⌉`): component files merged pairwise.
//! 5. `verify` (with `minhash.verify`): per cluster group, exact Jaccard inside clusters.
//! 6. `marks`: per input shard, its attribute file from the final component map — the
//!    dedupe stage's own units, byte-identical to the one-process MinHash.
//!
//! Every unit records the digests of the files it read, so a changed file upstream makes it
//! again. A task runs its share of the first phase not complete (or of `--phase`), and
//! stops when the phase waits on other tasks; `loam slurm submit` chains one array per phase.

use crate::dolma::units_error;
use crate::error::{Error, Result};
use loam_dedup::config::MinHashConfig;
use loam_dedup::exact::DedupUnit;
use loam_dedup::lsh::{self, BandFile, Node, Verified, VerifyCounts};
use loam_dedup::minhash::{MinHasher, Signatures};
use loam_manifests::{fingerprint, FileDigest};
use loam_pipeline::executor::Executor;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{write_atomic, Storage};
use loam_pipeline::units::{Made, Part, Unit, Units};
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A phase of partitioned MinHash (`loam run --phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Exact dedup: key files, per shard.
    Keys,
    /// Exact dedup: duplicates and their survivors, per hash range.
    Survivors,
    /// Signature files, per shard.
    Signatures,
    /// Band buckets, per shard.
    Bands,
    /// Components per partition.
    Partitions,
    /// Merge round `r` (from 1).
    Merge(usize),
    /// Exact-Jaccard verification, per cluster group.
    Verify,
    /// Substring dedup: suffix files, per shard.
    Suffixes,
    /// Substring dedup: repeated starts, per key range.
    Matches,
    /// Attribute files, per shard.
    Marks,
}

impl Phase {
    /// Its name on the command line.
    pub fn name(&self) -> String {
        match self {
            Phase::Keys => "keys".into(),
            Phase::Survivors => "survivors".into(),
            Phase::Signatures => "signatures".into(),
            Phase::Bands => "bands".into(),
            Phase::Partitions => "partitions".into(),
            Phase::Merge(r) => format!("merge-{r}"),
            Phase::Verify => "verify".into(),
            Phase::Suffixes => "suffixes".into(),
            Phase::Matches => "matches".into(),
            Phase::Marks => "marks".into(),
        }
    }

    /// Parses a name ([`Phase::name`]).
    pub fn parse(s: &str) -> std::result::Result<Phase, String> {
        Ok(match s {
            "keys" => Phase::Keys,
            "survivors" => Phase::Survivors,
            "signatures" => Phase::Signatures,
            "bands" => Phase::Bands,
            "partitions" => Phase::Partitions,
            "verify" => Phase::Verify,
            "suffixes" => Phase::Suffixes,
            "matches" => Phase::Matches,
            "marks" => Phase::Marks,
            _ => match s.strip_prefix("merge-").map(str::parse::<usize>) {
                Some(Ok(r)) if r >= 1 => Phase::Merge(r),
                _ => {
                    return Err(format!(
                    "unknown phase `{s}` (exact: keys, survivors; MinHash: signatures, bands, partitions, merge-1 …, verify; substring: suffixes, matches; all: marks)"
                ))
                }
            },
        })
    }

    /// The units of this phase for `shards` input shards (`None`: one per shard).
    pub fn units(&self, m: &MinHashConfig) -> Option<usize> {
        let parts = m.partitions.unwrap_or(1).max(1);
        match self {
            Phase::Signatures | Phase::Bands | Phase::Marks | Phase::Suffixes | Phase::Keys => None,
            Phase::Survivors => Some(parts),
            Phase::Partitions | Phase::Verify => Some(parts),
            Phase::Merge(r) => Some(lsh::files_after(parts, *r)),
            Phase::Matches => Some(1),
        }
    }

    /// The phases of an exact dedup section over `parts` hash ranges, with each one's unit
    /// count when it does not have one per shard.
    pub fn exact(parts: usize) -> Vec<(Phase, Option<usize>)> {
        vec![
            (Phase::Keys, None),
            (Phase::Survivors, Some(parts)),
            (Phase::Marks, None),
        ]
    }

    /// The phases of a substring dedup section, with each one's unit count when it does not
    /// have one per shard.
    pub fn substring(c: &loam_dedup::substr::SubstringConfig) -> Vec<(Phase, Option<usize>)> {
        vec![
            (Phase::Suffixes, None),
            (Phase::Matches, Some(c.parts())),
            (Phase::Marks, None),
        ]
    }

    /// Every phase of a config, in order.
    pub fn all(m: &MinHashConfig) -> Vec<Phase> {
        let parts = m.partitions.unwrap_or(1);
        let mut v = vec![Phase::Signatures, Phase::Bands, Phase::Partitions];
        v.extend((1..=lsh::merge_rounds(parts)).map(Phase::Merge));
        if m.verify.is_some() {
            v.push(Phase::Verify);
        }
        v.push(Phase::Marks);
        v
    }
}

/// What a phase unit's marker keeps: the files it read (a changed one redoes it) and counts.
/// A signature unit's marker has the one-process MinHash's fields (`input`, `input_digest`,
/// `documents`, `text_bytes`), so both read each other's markers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct PhaseInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_digest: Option<FileDigest>,
    pub documents: u64,
    pub text_bytes: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<(String, FileDigest)>,
    /// Band pairs, component entries or substring starts written.
    pub records: u64,
    /// A verification unit's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyCounts>,
}

impl PhaseInfo {
    /// The input a first-phase unit read, and its digest.
    pub(crate) fn input(&self) -> Option<(String, FileDigest)> {
        Some((self.input.clone()?, self.input_digest.clone()?))
    }

    fn files_read(&self) -> Vec<(String, FileDigest)> {
        let mut v = self.read.clone();
        if let (Some(p), Some(d)) = (&self.input, &self.input_digest) {
            v.push((p.clone(), d.clone()));
        }
        v
    }
}

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
    /// Verdicts (sorted by node) and the files they came from, with verification.
    verified: Option<(Verified, Vec<(String, FileDigest)>)>,
    /// Clusters of two or more documents.
    pub clusters: u64,
    /// Each shard's input and digest, as its signature unit read it.
    inputs: Vec<Option<(String, FileDigest)>>,
}

impl Ready {
    /// Verification's counts.
    pub fn verify_counts(&self) -> Option<VerifyCounts> {
        self.verified.as_ref().map(|(v, _)| v.counts())
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

/// Where a section's phases before the marks stand after this task's share.
pub(crate) enum Step {
    /// All done: the first phase's units' infos (per shard: its input, digest, documents
    /// and text bytes).
    Done(Vec<Option<PhaseInfo>>),
    /// This task has nothing more to do now; `failed`: units that failed, with their
    /// messages.
    Waiting { failed: Vec<(String, String)> },
}

type MakeUnit<'a> = dyn Fn(
        Phase,
        usize,
        &dyn loam_pipeline::executor::Progress,
    ) -> std::result::Result<Made<PhaseInfo>, String>
    + Sync
    + 'a;

/// Runs a task's share of a dedupe section's phases (MinHash's or substring dedup's): each
/// phase a list of resumable units; the first phase not complete is worked on, and a phase
/// that waits on other tasks stops the task.
pub(crate) struct PhaseRunner<'a> {
    pub storage: &'a dyn Storage,
    pub exec: &'a Executor,
    pub part: Part,
    /// Only this phase (`--phase`).
    pub only: Option<Phase>,
    /// The section's name (for messages).
    pub name: &'a str,
    /// The kind of dedup (for messages).
    pub what: &'a str,
}

impl PhaseRunner<'_> {
    /// Runs `phases` (in order, the marks not among them).
    pub(crate) fn run<'s>(
        &self,
        phases: &[Phase],
        outputs: &dyn Fn(Phase) -> Vec<String>,
        state: &dyn Fn(Phase) -> RunState<'s>,
        make: &MakeUnit<'_>,
    ) -> Result<Step> {
        if self
            .only
            .is_some_and(|p| p != Phase::Marks && !phases.contains(&p))
        {
            // A phase of another kind of section (or one this section has fewer of).
            return Ok(Step::Waiting { failed: Vec::new() });
        }
        let mut inputs = Vec::new();
        for (k, &phase) in phases.iter().enumerate() {
            let mut units =
                Units::<PhaseInfo>::check(state(phase), outputs(phase)).map_err(units_error)?;
            units.verify_outputs(self.storage, self.exec, Part::default());
            units.verify_inputs(self.storage, self.exec, |d| Some(d.files_read()));
            let selected = self.only.is_none_or(|p| p == phase);
            let mut failed = Vec::new();
            let results = if selected && !units.all_done() {
                let todo = units.todo(self.part);
                let bar = crate::progress::stage_bar(&format!(
                    "{} {}",
                    self.what.to_lowercase(),
                    phase.name()
                ));
                let results = units.run(self.exec, &todo, |i| make(phase, i, &bar));
                bar.finish_and_clear();
                for (i, r) in results.iter().enumerate() {
                    if let Unit::Failed(e) = r {
                        failed.push((units.outputs()[i].clone(), e.clone()));
                    }
                }
                let pending = results
                    .iter()
                    .filter(|r| !matches!(r, Unit::Done { .. }))
                    .count();
                eprintln!(
                    "dedupe {}: {} {}: {} unit(s) made here, {pending} of {} not done",
                    self.name,
                    self.what,
                    phase.name(),
                    todo.len() - failed.len(),
                    units.len()
                );
                results
            } else {
                units.collect(Vec::new())
            };
            let pending = results
                .iter()
                .filter(|r| !matches!(r, Unit::Done { .. }))
                .count();
            if k == 0 {
                inputs = results.iter().map(|r| r.info().cloned()).collect();
            }
            if !failed.is_empty() || self.only == Some(phase) {
                return Ok(Step::Waiting { failed });
            }
            if pending > 0 {
                if let Some(p) = self.only {
                    return Err(Error::Usage(format!(
                        "dedupe {}: {} phase `{}` is not complete ({} unit(s) not done); run `loam run … --stage dedupe --phase {}` (all ranks) before `--phase {}`",
                        self.name,
                        self.what,
                        phase.name(),
                        pending,
                        phase.name(),
                        p.name()
                    )));
                }
                return Ok(Step::Waiting { failed });
            }
        }
        Ok(Step::Done(inputs))
    }
}

/// The partitioned MinHash of one dedupe section.
pub(crate) struct Tasks<'a> {
    pub storage: &'a dyn Storage,
    /// The stage's units (input shard → attribute file), canonical order.
    pub units: &'a [DedupUnit],
    /// The attribute directory (`<output>/attributes/<name>`).
    pub dir: &'a str,
    /// The section's name (for messages).
    pub name: &'a str,
    pub m: &'a MinHashConfig,
    /// Input names as fingerprinted (node ids depend on shard order).
    pub rels: Vec<String>,
    pub exec: &'a Executor,
    pub overwrite: bool,
    /// This task's share.
    pub part: Part,
    /// Only this phase (`--phase`).
    pub only: Option<Phase>,
}

pub(crate) fn read_all(storage: &dyn Storage, path: &str) -> std::result::Result<Vec<u8>, String> {
    let mut f = storage.open(path).map_err(|e| e.to_string())?;
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut b).map_err(|e| format!("{path}: {e}"))?;
    Ok(b)
}

/// The files a unit read, as its marker keeps them.
pub(crate) fn digest_of(path: &str, b: &[u8]) -> (String, FileDigest) {
    (path.to_string(), loam_manifests::digest_bytes(b))
}

/// Writes `bytes` at `path` atomically; the unit's output.
pub(crate) fn commit(
    storage: &dyn Storage,
    path: &str,
    bytes: &[u8],
    records: u64,
) -> std::result::Result<WrittenShard, String> {
    write_atomic(storage, path, bytes).map_err(|e| e.to_string())?;
    Ok(WrittenShard {
        path: path.to_string(),
        records,
        digest: loam_manifests::digest_bytes(bytes),
    })
}

/// A partition or merge unit's output: its component edges, and the files it read.
fn commit_components(
    storage: &dyn Storage,
    path: &str,
    cc: &[(u64, u64)],
    read: Vec<(String, FileDigest)>,
) -> std::result::Result<Made<PhaseInfo>, String> {
    Ok(Made {
        output: Some(commit(
            storage,
            path,
            &lsh::edges_to_bytes(cc),
            cc.len() as u64,
        )?),
        info: PhaseInfo {
            read,
            records: cc.len() as u64,
            ..Default::default()
        },
    })
}

/// The signature files' parameters: the config without what does not change a signature.
pub(crate) fn signature_params(m: &MinHashConfig) -> Value {
    let mut params = json!(m);
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

impl Tasks<'_> {
    fn parts(&self) -> usize {
        self.m.partitions.unwrap_or(1).max(1)
    }

    fn base(&self) -> String {
        format!("{}/.loam/minhash-lsh", self.dir)
    }

    fn rel(&self, i: usize) -> &str {
        let out = &self.units[i].output;
        out.strip_prefix(self.dir)
            .unwrap_or(out)
            .trim_start_matches('/')
    }

    /// The signature file of shard `i` (where the one-process MinHash keeps it too).
    fn sig_path(&self, i: usize) -> String {
        format!("{}/.loam/minhash/{}.sig", self.dir, self.rel(i))
    }

    fn band_path(&self, i: usize) -> String {
        format!("{}/bands/{}.bands", self.base(), self.rel(i))
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
        let n = self.units.len();
        let p = self.parts();
        match phase {
            Phase::Signatures => (0..n).map(|i| self.sig_path(i)).collect(),
            Phase::Bands => (0..n).map(|i| self.band_path(i)).collect(),
            Phase::Partitions => (0..p).map(|j| self.cc_path(0, j)).collect(),
            Phase::Merge(r) => (0..lsh::files_after(p, r))
                .map(|j| self.cc_path(r, j))
                .collect(),
            Phase::Verify => (0..p).map(|g| self.verify_path(g)).collect(),
            Phase::Marks | Phase::Suffixes | Phase::Matches | Phase::Keys | Phase::Survivors => {
                Vec::new()
            }
        }
    }

    fn state(&self, phase: Phase) -> RunState<'_> {
        let params = signature_params(self.m);
        if phase == Phase::Signatures {
            // The one-process MinHash's signature units: the same files and markers.
            let fp = fingerprint(&json!({
                "stage": "minhash-signatures", "loam": loam_pipeline::VERSION, "minhash": params,
            }));
            return RunState::beside_outputs(
                self.storage,
                "minhash-signatures",
                &fp,
                self.overwrite,
            );
        }
        let mut fp = json!({
            "stage": format!("minhash-{}", phase.name()), "loam": loam_pipeline::VERSION,
            "minhash": params, "partitions": self.parts(), "inputs": self.rels,
        });
        if phase == Phase::Verify {
            fp["verify"] = json!(self.m.verify);
        }
        let stage = match phase {
            Phase::Merge(_) => "minhash-merge".to_string(),
            p => format!("minhash-{}", p.name()),
        };
        RunState::new(
            self.storage,
            &self.base(),
            &stage,
            &fingerprint(&fp),
            self.overwrite,
        )
    }

    /// Makes unit `i` of `phase`.
    fn make(
        &self,
        phase: Phase,
        i: usize,
        mh: &MinHasher,
        bar: &dyn loam_pipeline::executor::Progress,
    ) -> std::result::Result<Made<PhaseInfo>, String> {
        let s = self.storage;
        let parts = self.parts();
        let out = &self.outputs(phase)[i];
        match phase {
            Phase::Signatures => {
                let (scan, sigs) =
                    loam_dedup::minhash::sign_shard(s, &self.units[i].input, mh, bar);
                if scan.failed() {
                    return Err(crate::outcome::scan_errors(&scan));
                }
                let bytes = sigs.to_bytes();
                Ok(Made {
                    output: Some(commit(s, out, &bytes, sigs.len() as u64)?),
                    info: PhaseInfo {
                        input: Some(scan.path.clone()),
                        input_digest: scan.digest.clone(),
                        documents: scan.documents,
                        text_bytes: scan.text_bytes,
                        ..Default::default()
                    },
                })
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
                let mut read = Vec::with_capacity(self.units.len());
                for k in 0..self.units.len() {
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
            Phase::Verify => {
                let Some(v) = &self.m.verify else {
                    return Err("internal error: verify phase without minhash.verify".into());
                };
                let path = self.final_map();
                let b = read_all(s, &path)?;
                let map = lsh::edges_from_bytes(&b, &path).map_err(|e| e.to_string())?;
                let mine: Vec<(Node, Node)> = map
                    .into_iter()
                    .filter(|&(_, r)| lsh::group_of(r, parts) == i)
                    .collect();
                let clusters = lsh::clusters_of(&mine);
                let inputs: Vec<String> = self.units.iter().map(|u| u.input.clone()).collect();
                let found =
                    loam_dedup::minhash::verify_clusters(s, &inputs, &clusters, v, mh, self.exec)?;
                let mut read = vec![digest_of(&path, &b)];
                // The documents read: their digests as their signature units recorded them.
                let mut shards: Vec<usize> = clusters
                    .iter()
                    .flatten()
                    .map(|&n| lsh::node_shard(n))
                    .collect();
                shards.sort_unstable();
                shards.dedup();
                for k in shards {
                    let sig = self.sig_path(k);
                    let sb = read_all(s, &sig)?;
                    read.push(digest_of(&sig, &sb));
                }
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
                        verify: Some(found.counts()),
                        ..Default::default()
                    },
                })
            }
            Phase::Marks | Phase::Suffixes | Phase::Matches | Phase::Keys | Phase::Survivors => {
                Err(format!(
                    "internal error: no MinHash unit of phase {}",
                    phase.name()
                ))
            }
        }
    }

    /// Runs this task's share of the phases before the marks (see the module docs).
    pub(crate) fn advance(&self) -> Result<Progress> {
        let mh = MinHasher::new(self.m);
        let runner = PhaseRunner {
            storage: self.storage,
            exec: self.exec,
            part: self.part,
            only: self.only,
            name: self.name,
            what: "MinHash",
        };
        let phases: Vec<Phase> = Phase::all(self.m)
            .into_iter()
            .filter(|p| *p != Phase::Marks)
            .collect();
        match runner.run(
            &phases,
            &|p| self.outputs(p),
            &|p| self.state(p),
            &|p, i, bar| self.make(p, i, &mh, bar),
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
        let s = self.storage;
        let io = |e: String| Error::Usage(format!("dedupe {}: {e}", self.name));
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
        let verified = match &self.m.verify {
            None => None,
            Some(_) => {
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
            clusters: roots.len() as u64,
            inputs,
        })
    }

    /// The marks of shard `i`: its attribute file, written as the one-process MinHash
    /// writes it.
    pub(crate) fn mark(&self, ready: &Ready, i: usize) -> std::result::Result<Marked, String> {
        let s = self.storage;
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
        let out = &self.units[i].output;
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
