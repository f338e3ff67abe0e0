//! Dedupe sections as phases of resumable units that `--rank/--world` tasks share: exact
//! (`documents.partitions`, [`crate::exact_tasks`]), MinHash (`minhash.partitions`,
//! [`crate::minhash_tasks`]) and substring (`substring`, [`crate::substr_tasks`]). What they
//! share: the [`Phase`] names of `--phase`, the unit marker ([`PhaseInfo`]), the loop that runs
//! a task's share ([`PhaseRunner`]) and a section's common facts ([`Section`]).

use crate::dolma::units_error;
use crate::error::{Error, Result};
use loam_dedup::config::MinHashConfig;
use loam_dedup::exact::DedupUnit;
use loam_dedup::lsh::{self, VerifyCounts};
use loam_manifests::FileDigest;
use loam_pipeline::executor::Executor;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{write_atomic, Storage};
use loam_pipeline::units::{Made, Part, Unit, Units};
use loam_pipeline::writer::WrittenShard;
use serde::{Deserialize, Serialize};

/// A phase of partitioned MinHash (`loam run --phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Exact dedup: key files, per shard.
    Keys,
    /// Exact dedup: duplicates and their survivors, per hash range.
    Survivors,
    /// Bloom filter dedup: every key checked against the filter, one unit.
    Filter,
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
            Phase::Filter => "filter".into(),
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
            "filter" => Phase::Filter,
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
                    "unknown phase `{s}` (exact: keys, survivors; Bloom filter: keys, filter; MinHash: signatures, bands, partitions, merge-1 …, verify; substring: suffixes, matches; all: marks)"
                ))
                }
            },
        })
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

    /// The phases of a Bloom filter section split over tasks.
    pub fn bloom() -> Vec<(Phase, Option<usize>)> {
        vec![
            (Phase::Keys, None),
            (Phase::Filter, Some(1)),
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

    /// The phases of a partitioned MinHash section, in order, with each one's unit count
    /// when it does not have one per shard.
    pub fn minhash(m: &MinHashConfig) -> Vec<(Phase, Option<usize>)> {
        let parts = m.partitions.unwrap_or(1).max(1);
        let mut v = vec![
            (Phase::Signatures, None),
            (Phase::Bands, None),
            (Phase::Partitions, Some(parts)),
        ];
        v.extend(
            (1..=lsh::merge_rounds(parts))
                .map(|r| (Phase::Merge(r), Some(lsh::files_after(parts, r)))),
        );
        if m.verify.is_some() {
            v.push((Phase::Verify, Some(parts)));
        } else if m.keep.is_some() {
            v.push((Phase::Survivors, Some(parts)));
        }
        v.push((Phase::Marks, None));
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

/// What every phased section knows: where it runs, its units, and this task's share.
pub(crate) struct Section<'a> {
    pub storage: &'a dyn Storage,
    /// The stage's units (input shard → attribute file), canonical order.
    pub units: &'a [DedupUnit],
    /// The attribute directory (`<output>/attributes/<name>`).
    pub dir: &'a str,
    /// The section's name (for messages).
    pub name: &'a str,
    /// Input names as fingerprinted.
    pub rels: Vec<String>,
    pub exec: &'a Executor,
    pub overwrite: bool,
    /// This task's share.
    pub part: Part,
    /// Only this phase (`--phase`).
    pub only: Option<Phase>,
}

impl Section<'_> {
    /// Unit `i`'s attribute file below the attribute directory: the name its phase files
    /// take.
    pub(crate) fn rel(&self, i: usize) -> &str {
        let out = &self.units[i].output;
        out.strip_prefix(self.dir)
            .unwrap_or(out)
            .trim_start_matches('/')
    }

    /// The run state of a phase's units: markers under `base`, stamped with the
    /// fingerprint of `fp` (what the phase's outputs depend on).
    pub(crate) fn state(&self, base: &str, stage: &str, fp: &serde_json::Value) -> RunState<'_> {
        RunState::new(
            self.storage,
            base,
            stage,
            &loam_manifests::fingerprint(fp),
            self.overwrite,
        )
    }

    /// Every shard's file of an earlier phase (`path_of(shard)`), opened by `open`, with
    /// the paths and the digests a unit that reads them all records.
    #[allow(clippy::type_complexity)]
    pub(crate) fn read_each<B: std::ops::Deref<Target = [u8]>>(
        &self,
        path_of: impl Fn(usize) -> String,
        open: impl Fn(&str) -> std::result::Result<B, String>,
    ) -> std::result::Result<(Vec<String>, Vec<B>, Vec<(String, FileDigest)>), String> {
        let paths: Vec<String> = (0..self.units.len()).map(path_of).collect();
        let files = paths
            .iter()
            .map(|p| open(p))
            .collect::<std::result::Result<Vec<B>, String>>()?;
        let read = files
            .iter()
            .zip(&paths)
            .map(|(b, p)| digest_of(p, b))
            .collect();
        Ok((paths, files, read))
    }

    /// The loop that runs this task's share, for a kind of dedup (`what`, in messages).
    pub(crate) fn runner<'s>(&'s self, what: &'s str) -> PhaseRunner<'s> {
        PhaseRunner {
            storage: self.storage,
            exec: self.exec,
            part: self.part,
            only: self.only,
            name: self.name,
            what,
        }
    }

    /// Runs the section's marks (the dedupe stage's own units) once its phases are done.
    pub(crate) fn marks<I, F>(
        &self,
        units: &Units<'_, I>,
        label: &str,
        make: F,
    ) -> (usize, Vec<Unit<I>>)
    where
        I: Serialize + serde::de::DeserializeOwned + Clone + Send + Sync,
        F: Fn(
                usize,
                &dyn loam_pipeline::executor::Progress,
            ) -> std::result::Result<Made<I>, String>
            + Sync
            + Send,
    {
        let todo = units.todo(self.part);
        let bar = crate::progress::stage_bar(label);
        let results = units.run(self.exec, &todo, |k| make(k, &bar));
        bar.finish_and_clear();
        (todo.len(), results)
    }
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

/// A unit of a first phase (one per input shard): `bytes` written at `path` from the shard
/// `scan` read (its input, digest and counts in the marker); a scan with bad lines fails it.
pub(crate) fn made_from_scan(
    storage: &dyn Storage,
    path: &str,
    bytes: &[u8],
    records: u64,
    scan: &loam_pipeline::shard::ScanReport,
) -> std::result::Result<Made<PhaseInfo>, String> {
    if scan.failed() {
        return Err(crate::outcome::scan_errors(scan));
    }
    Ok(Made {
        output: Some(commit(storage, path, bytes, records)?),
        info: PhaseInfo {
            input: Some(scan.path.clone()),
            input_digest: scan.digest.clone(),
            documents: scan.documents,
            text_bytes: scan.text_bytes,
            ..Default::default()
        },
    })
}

/// A unit of a later phase: `bytes` (`records` of them) written at `path`, from the files
/// it `read`.
pub(crate) fn made_from_files(
    storage: &dyn Storage,
    path: &str,
    bytes: &[u8],
    records: u64,
    read: Vec<(String, FileDigest)>,
) -> std::result::Result<Made<PhaseInfo>, String> {
    Ok(Made {
        output: Some(commit(storage, path, bytes, records)?),
        info: PhaseInfo {
            read,
            records,
            ..Default::default()
        },
    })
}
