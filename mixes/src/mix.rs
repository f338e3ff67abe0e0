//! Mixing one document shard: merge its attribute files line by line, apply the rules,
//! write the kept documents.
//!
//! Loud where dolma is silent: a missing attribute file, one with fewer or more lines than
//! the document file, or a line whose id differs is an error naming both files and the line.

use crate::rules::{first_match, Rule};
use loam_manifests::{FileDigest, RuleCounts};
use loam_pipeline::executor::Progress;
use loam_pipeline::reader::LineReader;
use loam_pipeline::shard::{scan, ScanReport};
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::{DocumentWriter, WrittenShard};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One unit: a document shard, its attribute files, and where kept documents go.
#[derive(Debug, Clone)]
pub struct MixUnit {
    /// Document shard.
    pub input: String,
    /// Attribute files aligned with it.
    pub attributes: Vec<String>,
    /// Output shard.
    pub output: String,
}

/// An attribute file that was read, with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeInput {
    /// Path.
    pub path: String,
    /// Lines.
    pub lines: u64,
    /// Digest.
    pub digest: FileDigest,
}

/// What happened to one shard.
#[derive(Debug, Clone)]
pub struct MixReport {
    /// The document side.
    pub scan: ScanReport,
    /// Attribute files read in full.
    pub attributes: Vec<AttributeInput>,
    /// Documents kept.
    pub kept: u64,
    /// Text bytes kept.
    pub kept_text_bytes: u64,
    /// Whitespace tokens kept.
    pub kept_tokens: u64,
    /// Drops by deciding rule.
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// The output shard, when anything was kept and nothing failed.
    pub output: Option<WrittenShard>,
}

#[derive(Deserialize)]
struct AttrLine {
    id: Value,
    #[serde(default)]
    attributes: Map<String, Value>,
}

/// Mixes one shard. Nothing is published if anything failed; an output with no kept
/// documents is not created.
pub fn mix_shard(
    storage: &dyn Storage,
    unit: &MixUnit,
    rules: &[Rule],
    progress: &dyn Progress,
) -> MixReport {
    let mut rep = MixReport {
        scan: ScanReport {
            path: unit.input.clone(),
            ..Default::default()
        },
        attributes: Vec::new(),
        kept: 0,
        kept_text_bytes: 0,
        kept_tokens: 0,
        by_rule: BTreeMap::new(),
        output: None,
    };
    let mut readers = Vec::with_capacity(unit.attributes.len());
    for a in &unit.attributes {
        match LineReader::open(storage, a) {
            Ok(r) => readers.push(r),
            Err(e) => {
                rep.scan.record(
                    format!("attribute file for {} cannot be read: {e}", unit.input),
                    true,
                );
                return rep;
            }
        }
    }
    let mut writer: Option<DocumentWriter> = None;
    let mut merged = Map::new();
    let scan_rep = scan(storage, &unit.input, |line, doc| {
        merged.clear();
        for r in readers.iter_mut() {
            let apath = r.path().to_string();
            let (aline, text) = match r.next_line() {
                None => {
                    return Err(format!(
                        "{apath} has fewer lines than {} (ends before line {line})",
                        unit.input
                    ))
                }
                Some(Err(e)) => return Err(format!("{e} (attributes for {})", unit.input)),
                Some(Ok(x)) => x,
            };
            let parsed: AttrLine = serde_json::from_str(text)
                .map_err(|e| format!("{apath}:{aline}: not an attribute record: {e}"))?;
            if parsed.id.as_str() != Some(doc.id.as_str()) {
                return Err(format!(
                    "{apath}:{aline}: id {} does not match id {:?} at {}:{line}",
                    parsed.id, doc.id, unit.input
                ));
            }
            merged.extend(parsed.attributes);
        }
        progress.advance(1, doc.text.len() as u64);
        if let Some(d) = first_match(rules, &merged) {
            let c = rep.by_rule.entry(d.rule.rule.clone()).or_default();
            c.documents_dropped += 1;
            c.text_bytes_dropped += doc.text.len() as u64;
            return Ok(());
        }
        if writer.is_none() {
            writer =
                Some(DocumentWriter::create(storage, &unit.output).map_err(|e| e.to_string())?);
        }
        if let Some(w) = writer.as_mut() {
            w.write(doc).map_err(|e| e.to_string())?;
        }
        rep.kept += 1;
        rep.kept_text_bytes += doc.text.len() as u64;
        rep.kept_tokens += doc.text.split_whitespace().count() as u64;
        Ok(())
    });
    rep.scan = scan_rep;
    if rep.scan.failed() {
        return rep;
    }
    for r in readers {
        let path = r.path().to_string();
        let mut r = r;
        let lines = r.lines_read();
        if let Some(extra) = r.next_line() {
            let at = match extra {
                Ok((l, _)) => l,
                Err(_) => lines + 1,
            };
            rep.scan.record(
                format!(
                    "{path}:{at}: attribute file has more lines than {} ({} documents)",
                    unit.input, rep.scan.documents
                ),
                true,
            );
            return rep;
        }
        match r.finish() {
            Ok(digest) => rep.attributes.push(AttributeInput {
                path,
                lines,
                digest,
            }),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return rep;
            }
        }
    }
    if let Some(w) = writer {
        match w.finish() {
            Ok(s) => rep.output = Some(s),
            Err(e) => rep.scan.record(e.to_string(), true),
        }
    }
    rep
}
