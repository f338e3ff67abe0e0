//! Bloom filter dedup across tasks (`--rank/--world`, or `--phase`): phases of resumable
//! units that tasks share ([`loam_dedup::bloom_tasks`]):
//!
//! 1. `keys`: per input shard, its plan (key hashes, and what to write once they are
//!    checked).
//! 2. `filter`: one unit; every plan's keys checked against the filter in canonical order and
//!    inserted, one bit per key out; the updated filter waits beside the old one
//!    ([`loam_dedup::engine::pending_filter_path`]) until every attribute file is written.
//! 3. `marks`: per input shard, its attribute file — byte for byte what one process writes.

use crate::error::Result;
use crate::phases::{digest_of, made_from_files, made_from_scan, read_all, Phase, Section, Step};
use loam_dedup::bloom_tasks;
use loam_dedup::engine::{self, Job, ShardOutcome};
use loam_manifests::FileDigest;
use loam_pipeline::runstate::RunState;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::units::Made;
use serde_json::json;

/// The split Bloom filter dedup of one dedupe section.
pub(crate) struct Tasks<'a> {
    pub sec: Section<'a>,
    pub job: &'a Job,
    /// The filter is the run's own: made fresh when the check runs.
    pub owned: bool,
    /// The dedupe stage's fingerprint (config and inputs): what the phases' files depend on.
    pub stage_fp: &'a str,
}

impl Tasks<'_> {
    fn base(&self) -> String {
        format!("{}/.loam/bloom", self.sec.dir)
    }

    fn plan_path(&self, i: usize) -> String {
        format!("{}/plans/{}.plan", self.base(), self.sec.rel(i))
    }

    fn bits_path(&self) -> String {
        format!("{}/present.bits", self.base())
    }

    fn outputs(&self, phase: Phase) -> Vec<String> {
        match phase {
            Phase::Keys => (0..self.sec.units.len())
                .map(|i| self.plan_path(i))
                .collect(),
            Phase::Filter => vec![self.bits_path()],
            _ => Vec::new(),
        }
    }

    fn state(&self, phase: Phase) -> RunState<'_> {
        let fp = json!({
            "stage": format!("bloom-{}", phase.name()), "loam": loam_pipeline::VERSION,
            "dedupe": self.stage_fp, "filter": self.job.filter_file, "inputs": self.sec.rels,
        });
        self.sec
            .state(&self.base(), &format!("bloom-{}", phase.name()), &fp)
    }

    fn make(
        &self,
        phase: Phase,
        i: usize,
        bar: &dyn loam_pipeline::executor::Progress,
    ) -> std::result::Result<Made<crate::phases::PhaseInfo>, String> {
        let s = self.sec.storage;
        let out = &self.outputs(phase)[i];
        match phase {
            Phase::Keys => {
                let (scan, bytes) = bloom_tasks::plan_file(s, &self.sec.units[i], self.job, bar);
                made_from_scan(s, out, &bytes, scan.documents, &scan)
            }
            Phase::Filter => {
                if self.owned {
                    crate::run_dedupe::fresh_own_filter(self.job)?;
                }
                for w in self.job.warnings() {
                    eprintln!("warning: {w}");
                }
                // Each plan read, digested and reduced to its keys in turn (an exact key
                // set reads them again, for the kept copies' places: digested once).
                let n = self.sec.units.len();
                let mut read = Vec::with_capacity(n);
                let mut load = |k: usize| {
                    let p = self.plan_path(k);
                    let b = read_all(s, &p)?;
                    if read.len() == k {
                        read.push(digest_of(&p, &b));
                    }
                    Ok((b, p))
                };
                let (bytes, o) = bloom_tasks::check(n, &mut load, self.job, self.sec.exec)?;
                if let Some(w) = &o.warning {
                    eprintln!("warning: {w}");
                }
                eprintln!("dedupe {}: {}", self.sec.name, o.stats);
                made_from_files(s, out, &bytes, o.stats.keys, read)
            }
            _ => Err(format!(
                "internal error: no Bloom dedup unit of phase {}",
                phase.name()
            )),
        }
    }

    /// Runs this task's share of the phases before the marks; `Done` with each shard's
    /// input and digest when they are all complete.
    pub(crate) fn advance(&self) -> Result<Step> {
        let runner = self.sec.runner("Bloom");
        runner.run(
            &[Phase::Keys, Phase::Filter],
            &|p| self.outputs(p),
            &|p| self.state(p),
            &|p, i, bar| self.make(p, i, bar),
        )
    }

    /// The marks of shard `i`, with the files read besides the input.
    pub(crate) fn mark(
        &self,
        first: &[Option<crate::phases::PhaseInfo>],
        i: usize,
    ) -> std::result::Result<(ShardOutcome, Vec<(String, FileDigest)>), String> {
        let s = self.sec.storage;
        let pp = self.plan_path(i);
        let bp = self.bits_path();
        let plan = read_all(s, &pp)?;
        let bits = read_all(s, &bp)?;
        let read = vec![digest_of(&pp, &plan), digest_of(&bp, &bits)];
        let info = first.get(i).cloned().flatten().ok_or_else(|| {
            format!(
                "internal error: no key unit for {}",
                self.sec.units[i].input
            )
        })?;
        let scan = ScanReport {
            path: info.input.clone().unwrap_or_default(),
            documents: info.documents,
            text_bytes: info.text_bytes,
            digest: info.input_digest.clone(),
            ..Default::default()
        };
        let rep = bloom_tasks::marks(
            s,
            self.sec.units,
            i,
            (&plan, &pp),
            (&bits, &bp),
            scan,
            self.job,
        )
        .map_err(|e| e.to_string())?;
        Ok((rep, read))
    }
}

/// Whether a Bloom section with its attribute files under `dir` runs as phases: when asked
/// (`--phase`, as `loam slurm submit` runs each phase as a job array), or to continue a split
/// under way (its phase files are kept). Otherwise one process keeps the keys in memory and
/// writes no plan files, and of `--rank/--world` tasks started without `--phase`, task 0
/// makes the section whole: a task that did its share of a phase would leave before the
/// next one could start.
pub(crate) fn split(
    storage: &dyn loam_pipeline::storage::Storage,
    dir: &str,
    part: &crate::run::Part,
) -> bool {
    part.phase.is_some()
        || storage
            .list(&format!("{dir}/.loam/bloom/"))
            .is_ok_and(|v| !v.is_empty())
}

/// Publishes a complete stage's filter; tasks that finish together may race to it, and
/// the one that finds it already moved has nothing left to do.
pub(crate) fn publish_filter(job: &Job) -> Result<()> {
    match engine::commit_filter(job) {
        Err(_)
            if job.filter_file.exists()
                && !engine::pending_filter_path(&job.filter_file).exists() =>
        {
            Ok(())
        }
        r => r
            .map(|_| ())
            .map_err(|e| crate::error::Error::Usage(e.to_string())),
    }
}
