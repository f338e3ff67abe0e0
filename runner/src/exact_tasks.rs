//! Exact document dedup across tasks (`dedupe.documents.partitions`): phases of resumable
//! units that `--rank/--world` tasks share ([`loam_dedup::exact::tasks`]):
//!
//! 1. `keys`: per input shard, its key hashes (and keep-policy values) in `P` hash ranges.
//! 2. `survivors`: per hash range, every shard's keys in it → each duplicate and its survivor.
//! 3. `marks`: per input shard, its attribute file — the dedupe stage's own units, byte for
//!    byte what one process writes.
//!
//! No task holds every key: a `survivors` task holds 1/P of them.

use crate::error::Result;
use crate::phases::{
    digest_of, made_from_files, made_from_scan, read_all, Phase, PhaseInfo, Section, Step,
};
use loam_dedup::exact::{tasks, DedupKey, Keep, ShardDedup};
use loam_manifests::FileDigest;
use loam_pipeline::runstate::RunState;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::units::Made;
use serde_json::json;

/// The partitioned exact dedup of one dedupe section.
pub(crate) struct Tasks<'a> {
    pub sec: Section<'a>,
    pub key: &'a DedupKey,
    pub keep: &'a Keep,
    pub attribute: &'a str,
    pub parts: usize,
}

impl Tasks<'_> {
    fn base(&self) -> String {
        format!("{}/.loam/exact", self.sec.dir)
    }

    fn key_path(&self, i: usize) -> String {
        format!("{}/keys/{}.keys", self.base(), self.sec.rel(i))
    }

    fn survivor_path(&self, p: usize) -> String {
        format!("{}/survivors/{p:05}.dup", self.base())
    }

    fn outputs(&self, phase: Phase) -> Vec<String> {
        match phase {
            Phase::Keys => (0..self.sec.units.len())
                .map(|i| self.key_path(i))
                .collect(),
            Phase::Survivors => (0..self.parts).map(|p| self.survivor_path(p)).collect(),
            _ => Vec::new(),
        }
    }

    fn state(&self, phase: Phase) -> RunState<'_> {
        let fp = json!({
            "stage": format!("exact-{}", phase.name()), "loam": loam_pipeline::VERSION,
            "key": self.key.path(), "keep": self.keep.describe(), "partitions": self.parts,
            "inputs": self.sec.rels,
        });
        self.sec
            .state(&self.base(), &format!("exact-{}", phase.name()), &fp)
    }

    fn make(
        &self,
        phase: Phase,
        i: usize,
        bar: &dyn loam_pipeline::executor::Progress,
    ) -> std::result::Result<Made<PhaseInfo>, String> {
        let s = self.sec.storage;
        let out = &self.outputs(phase)[i];
        match phase {
            Phase::Keys => {
                let (scan, bytes) = tasks::key_file(
                    s,
                    &self.sec.units[i].input,
                    self.key,
                    self.keep,
                    self.parts,
                    bar,
                );
                made_from_scan(s, out, &bytes, scan.documents, &scan)
            }
            Phase::Survivors => {
                let (paths, files, read) = self
                    .sec
                    .read_each(|k| self.key_path(k), |p| read_all(s, p))?;
                let refs: Vec<(&[u8], &str)> = files
                    .iter()
                    .zip(&paths)
                    .map(|(b, p)| (b.as_slice(), p.as_str()))
                    .collect();
                let pairs =
                    tasks::survivors(&refs, self.parts, i, self.keep).map_err(|e| e.to_string())?;
                let bytes = loam_dedup::lsh::edges_to_bytes(&pairs);
                made_from_files(s, out, &bytes, pairs.len() as u64, read)
            }
            _ => Err(format!(
                "internal error: no exact-dedup unit of phase {}",
                phase.name()
            )),
        }
    }

    /// Runs this task's share of the phases before the marks; `Done` with each shard's
    /// input and digest when they are all complete.
    pub(crate) fn advance(&self) -> Result<Step> {
        let runner = self.sec.runner("exact");
        runner.run(
            &[Phase::Keys, Phase::Survivors],
            &|p| self.outputs(p),
            &|p| self.state(p),
            &|p, i, bar| self.make(p, i, bar),
        )
    }

    /// The marks of shard `i`, with the files read besides the input.
    pub(crate) fn mark(
        &self,
        first: &[Option<PhaseInfo>],
        i: usize,
    ) -> std::result::Result<(ShardDedup, Vec<(String, FileDigest)>), String> {
        let s = self.sec.storage;
        let kp = self.key_path(i);
        let kb = read_all(s, &kp)?;
        let lines = tasks::key_file_lines(&kb, &kp).map_err(|e| e.to_string())?;
        let mut read = vec![digest_of(&kp, &kb)];
        let mut pairs = Vec::new();
        for p in 0..self.parts {
            let path = self.survivor_path(p);
            let b = read_all(s, &path)?;
            let all = loam_dedup::lsh::edges_from_bytes(&b, &path).map_err(|e| e.to_string())?;
            let lo = all.partition_point(|&(n, _)| ((n >> 32) as usize) < i);
            let hi = all.partition_point(|&(n, _)| ((n >> 32) as usize) <= i);
            pairs.extend_from_slice(&all[lo..hi]);
            read.push(digest_of(&path, &b));
        }
        let flags = tasks::flags(&pairs, lines, self.sec.units.len())?;
        let info = first.get(i).cloned().flatten().ok_or_else(|| {
            format!(
                "internal error: no key unit for {}",
                self.sec.units[i].input
            )
        })?;
        let first = ScanReport {
            path: info.input.clone().unwrap_or_default(),
            documents: info.documents,
            text_bytes: info.text_bytes,
            digest: info.input_digest.clone(),
            ..Default::default()
        };
        let kept_by = self.keep.describe();
        let rep = loam_dedup::exact::write_marks(
            s,
            self.sec.units,
            &self.sec.units[i],
            &flags,
            self.attribute,
            kept_by.as_deref(),
            first,
        );
        Ok((rep, read))
    }
}
