//! Exact-substring dedup (`dedupe.substring`) as phases of resumable units that
//! `--rank/--world` tasks share ([`loam_dedup::substr`]):
//!
//! 1. `suffixes`: per input shard, its suffix file (texts, ids, suffix array).
//! 2. `matches`: per key range (`substring.partitions`), the starts of repeated windows.
//! 3. `marks`: per input shard, its attribute file — the dedupe stage's own units.
//!
//! Every unit records the digests of the files it read, so a changed file upstream makes it
//! again. Suffix files are read in place (memory-mapped) when the storage is a local disk.

use crate::error::Result;
use crate::phases::{
    digest_of, made_from_files, made_from_scan, read_all, Phase, PhaseInfo, Section, Step,
};
use loam_dedup::substr::{self, SubstringConfig, SuffixView};
use loam_manifests::FileDigest;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::Storage;
use loam_pipeline::units::Made;
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use serde_json::json;

fn load(storage: &dyn Storage, path: &str) -> std::result::Result<substr::FileBytes, String> {
    substr::FileBytes::load(storage, path).map_err(|e| e.to_string())
}

/// One shard's spans, for the dedupe stage's unit.
pub(crate) struct Marked {
    /// The attribute file.
    pub output: WrittenShard,
    /// The input shard and its digest (as its suffix unit read it).
    pub input: Option<(String, FileDigest)>,
    /// Documents and their text bytes.
    pub documents: u64,
    /// Text bytes.
    pub text_bytes: u64,
    /// Documents with a span, spans, and code points under them.
    pub edited: u64,
    /// Spans written.
    pub spans: u64,
    /// Code points under them.
    pub chars: u64,
    /// Files read besides the input: its suffix file and every match file.
    pub read: Vec<(String, FileDigest)>,
}

/// The substring dedup of one dedupe section.
pub(crate) struct Tasks<'a> {
    pub sec: Section<'a>,
    pub c: &'a SubstringConfig,
}

impl Tasks<'_> {
    fn base(&self) -> String {
        format!("{}/.loam/substring", self.sec.dir)
    }

    fn sfx_path(&self, i: usize) -> String {
        format!("{}/suffixes/{}.sfx", self.base(), self.sec.rel(i))
    }

    fn match_path(&self, p: usize) -> String {
        format!("{}/matches/{p:05}.ssm", self.base())
    }

    fn outputs(&self, phase: Phase) -> Vec<String> {
        match phase {
            Phase::Suffixes => (0..self.sec.units.len())
                .map(|i| self.sfx_path(i))
                .collect(),
            Phase::Matches => (0..self.c.parts()).map(|p| self.match_path(p)).collect(),
            _ => Vec::new(),
        }
    }

    fn state(&self, phase: Phase) -> RunState<'_> {
        // Suffix files depend on the inputs only; matches on the length and ranges too.
        let mut fp = json!({
            "stage": format!("substring-{}", phase.name()), "loam": loam_pipeline::VERSION,
            "inputs": self.sec.rels,
        });
        if phase == Phase::Matches {
            fp["min_length"] = json!(self.c.min_length);
            fp["partitions"] = json!(self.c.parts());
        }
        self.sec
            .state(&self.base(), &format!("substring-{}", phase.name()), &fp)
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
            Phase::Suffixes => {
                let mut docs = Vec::new();
                let scan = loam_pipeline::shard::scan(s, &self.sec.units[i].input, |_, d| {
                    bar.advance(1, d.text.len() as u64);
                    docs.push((d.id.clone(), d.text.clone()));
                    Ok(())
                });
                if scan.failed() {
                    return Err(crate::outcome::scan_errors(&scan));
                }
                let bytes =
                    substr::build_suffix_file(&docs, &scan.path).map_err(|e| e.to_string())?;
                drop(docs);
                made_from_scan(s, out, &bytes, scan.documents, &scan)
            }
            Phase::Matches => {
                let (paths, files, read) =
                    self.sec.read_each(|k| self.sfx_path(k), |p| load(s, p))?;
                let views = files
                    .iter()
                    .zip(&paths)
                    .map(|(b, p)| SuffixView::new(b, p))
                    .collect::<std::result::Result<Vec<SuffixView>, _>>()
                    .map_err(|e| e.to_string())?;
                let found = substr::matches(&views, self.c.min_length, self.c.parts(), i);
                let bytes = substr::match_file(views.len(), &found);
                made_from_files(s, out, &bytes, found.len() as u64, read)
            }
            _ => Err(format!(
                "internal error: no substring unit of phase {}",
                phase.name()
            )),
        }
    }

    /// Runs this task's share of the phases before the marks; `Done` with each shard's
    /// input and digest when they are all complete.
    pub(crate) fn advance(&self) -> Result<Step> {
        let runner = self.sec.runner("substring");
        runner.run(
            &[Phase::Suffixes, Phase::Matches],
            &|p| self.outputs(p),
            &|p| self.state(p),
            &|p, i, bar| self.make(p, i, bar),
        )
    }

    /// The spans of shard `i`: its attribute file.
    pub(crate) fn mark(
        &self,
        first: &[Option<PhaseInfo>],
        i: usize,
    ) -> std::result::Result<Marked, String> {
        let s = self.sec.storage;
        let sfx = self.sfx_path(i);
        let b = load(s, &sfx)?;
        let v = SuffixView::new(&b, &sfx).map_err(|e| e.to_string())?;
        let mut read = vec![digest_of(&sfx, &b)];
        let mut runs = Vec::new();
        for p in 0..self.c.parts() {
            let path = self.match_path(p);
            let mb = read_all(s, &path)?;
            runs.extend(
                substr::match_runs(&mb, &path, self.sec.units.len(), i)
                    .map_err(|e| e.to_string())?,
            );
            read.push(digest_of(&path, &mb));
        }
        // Runs of different key ranges may touch or interleave: sorted, `ranges` merges them.
        runs.sort_unstable();
        let spans = substr::spans_of_shard(&v, &sfx, &runs, self.c).map_err(|e| e.to_string())?;
        let out = &self.sec.units[i].output;
        let mut w =
            JsonlWriter::with_gzip_level(s, out, loam_pipeline::writer::ATTRIBUTE_GZIP_LEVEL)
                .map_err(|e| e.to_string())?;
        for rec in &spans.records {
            w.write(rec).map_err(|e| e.to_string())?;
        }
        Ok(Marked {
            output: w.finish().map_err(|e| e.to_string())?,
            input: first.get(i).cloned().flatten().and_then(|d| d.input()),
            documents: v.documents() as u64,
            text_bytes: v.len() as u64,
            edited: spans.documents_edited,
            spans: spans.spans,
            chars: spans.chars_removed,
            read,
        })
    }
}

/// Heap memory of one task per phase, in bytes per byte of text (the suffix array's
/// construction; the match phase maps the suffix files, so its text and arrays are page
/// cache, not heap), for `loam validate`.
pub fn memory_note(c: &SubstringConfig) -> String {
    format!(
        "substring dedup: suffixes ≈ 40 B per text byte of the largest shard (the suffix array's construction); matches: every shard's suffix file (5 B per text byte) memory-mapped, plus {} key ranges' starts (4 B each); marks: one shard's suffix file and its starts",
        c.parts()
    )
}
