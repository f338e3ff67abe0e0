//! `loam reshard IN OUT`: the JSON-lines documents under `IN` (`.jsonl`, `.json.gz`,
//! `.jsonl.gz`, `.jsonl.zst`, `.json.zst`, outside hidden directories) rewritten as shards of at most
//! `max_size` bytes (uncompressed; and at most `max_lines` lines) under `OUT`, each
//! subdirectory resharded on its own so the directory structure stays (`flat`: one group),
//! as datamap-rs's `reshard` does before and between Dolma 3's steps.
//!
//! Lines are copied byte for byte, in sorted file order then line order, so the
//! concatenation of a group's outputs is the concatenation of its inputs; every line is
//! checked to be a document first. A shard is closed when the next line would take it past a
//! limit (a single longer line is a shard of its own). Outputs are named
//! `<group>/shard-NNNNN.<ext>` and written atomically; groups run in parallel and the bytes
//! never depend on the thread count. A bad line is counted and reported with its file and
//! line, and then nothing is trusted: no `reshard.json` is written and the run fails.
//! `reshard.json` (written last) records the config, every input's and output's size,
//! SHA-256 and document count.

use crate::error::{Error, Result};
use loam_manifests::FileDigest;
use loam_pipeline::document::Document;
use loam_pipeline::executor::Executor;
use loam_pipeline::storage::{storage_for, write_atomic, Storage};
use loam_pipeline::writer::{JsonlWriter, WrittenShard};
use loam_pipeline::LineReader;
use serde::Serialize;
use std::collections::BTreeMap;

/// The file `reshard` writes last, beside the shards.
pub const RESHARD_JSON: &str = "reshard.json";
/// Bad lines reported by name (all are counted).
const MAX_REPORTED: usize = 20;

/// What to reshard and how.
#[derive(Debug, Clone, Serialize)]
pub struct ReshardOptions {
    /// The input directory (local or object store).
    pub input: String,
    /// The output directory; must hold no shards of an earlier run unless `overwrite`. Not
    /// in `reshard.json`, which lives in it (paths there are relative to it).
    #[serde(skip)]
    pub output: String,
    /// Largest shard, in uncompressed bytes (lines and their newlines).
    pub max_size: u64,
    /// Largest shard, in lines (documents); none: no limit.
    pub max_lines: Option<u64>,
    /// One group for the whole input instead of one per directory.
    pub flat: bool,
    /// Partition by this dotted document field: each document goes to the directory its
    /// value names (`text/html/3` → `text/html/3/shard-NNNNN…`), across the whole input
    /// (implies `flat`); a document without the field, or whose value is not a string or
    /// number or names a path outside the output, is a bad line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<String>,
    /// The outputs' extension: `jsonl.gz`, `jsonl.zst` or `jsonl`.
    pub extension: String,
    /// Replace the shards and `reshard.json` an earlier run left in the output.
    #[serde(skip)]
    pub overwrite: bool,
    /// Worker threads (groups run in parallel).
    #[serde(skip)]
    pub threads: usize,
}

/// One file read or written.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    /// Its path below the input or output directory.
    pub path: String,
    /// Documents (lines).
    pub documents: u64,
    /// Size and SHA-256 of the stored bytes.
    #[serde(flatten)]
    pub digest: FileDigest,
}

/// What a reshard did.
#[derive(Debug, Clone, Serialize)]
pub struct ReshardReport {
    /// Groups (directories) resharded.
    pub groups: usize,
    /// Inputs in the order read.
    pub inputs: Vec<FileRecord>,
    /// Outputs in the order written.
    pub outputs: Vec<FileRecord>,
    /// Documents copied.
    pub documents: u64,
    /// Lines that were not documents (not copied).
    pub bad_lines: u64,
    /// The first of them, with file and line.
    pub errors: Vec<String>,
}

impl ReshardReport {
    /// Whether every line was copied.
    pub fn complete(&self) -> bool {
        self.bad_lines == 0 && self.errors.is_empty()
    }
}

/// Whether a file (its path below the input) is a JSON-lines shard `reshard` reads: not in a
/// hidden directory (run state such as a mix's `.loam/` markers), and named as dolma names
/// documents (a plain `.json` is a manifest or a config, not JSON lines).
fn is_jsonl(rel: &str) -> bool {
    !rel.split('/').any(|c| c.starts_with('.'))
        && [".jsonl", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst"]
            .iter()
            .any(|e| rel.ends_with(e))
}

/// A group's output directory below `OUT` for an input's path below `IN`.
fn group_of(rel: &str, flat: bool) -> String {
    match (flat, rel.rfind('/')) {
        (false, Some(i)) => rel.get(..i).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

fn shard_name(group: &str, k: usize, ext: &str) -> String {
    match group.is_empty() {
        true => format!("shard-{k:05}.{ext}"),
        false => format!("{group}/shard-{k:05}.{ext}"),
    }
}

/// What one group's pass found.
struct GroupPass {
    inputs: Vec<FileRecord>,
    outputs: Vec<FileRecord>,
    bad_lines: u64,
    errors: Vec<String>,
}

/// A shard being written: the writer, its bytes so far and its name.
type Open = (JsonlWriter, u64, String);

/// The partition a document goes to under `--partition-by`: its field's value as a relative
/// directory, or why it has none.
fn partition_of(doc: &Document, field: &str) -> std::result::Result<String, String> {
    let missing = || format!("no field `{field}` to partition by");
    let name = match field {
        "id" => doc.id.clone(),
        "text" => doc.text.clone(),
        _ => {
            let mut parts = field.split('.');
            let mut v = parts
                .next()
                .and_then(|p| doc.fields.get(p))
                .ok_or_else(missing)?;
            for part in parts {
                v = v.get(part).ok_or_else(missing)?;
            }
            match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(format!("`{field}` is not a string or a number")),
            }
        }
    };
    let ok = !name.is_empty()
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'));
    match ok {
        true => Ok(name),
        false => Err(format!(
            "`{field}` = {name:?} is not a relative directory name"
        )),
    }
}

/// Reshards one group: its inputs (sorted) into its shards (with `partition_by`, into one
/// series of shards per partition, each rotating at the limits).
fn reshard_group(
    storage: &dyn Storage,
    opts: &ReshardOptions,
    group: &str,
    inputs: &[String],
) -> std::result::Result<GroupPass, String> {
    let root = opts.input.trim_end_matches('/');
    let out_root = opts.output.trim_end_matches('/');
    let mut pass = GroupPass {
        inputs: Vec::new(),
        outputs: Vec::new(),
        bad_lines: 0,
        errors: Vec::new(),
    };
    // Per output directory: the shard being written and how many were closed before it.
    let mut open: BTreeMap<String, (Option<Open>, usize)> = BTreeMap::new();
    let close = |w: Option<Open>, outs: &mut Vec<FileRecord>| -> std::result::Result<(), String> {
        if let Some((w, _, name)) = w {
            let WrittenShard {
                records, digest, ..
            } = w.finish().map_err(|e| e.to_string())?;
            outs.push(FileRecord {
                path: name,
                documents: records,
                digest,
            });
        }
        Ok(())
    };
    let mut line_buf: Vec<u8> = Vec::new();
    for rel in inputs {
        let path = format!("{root}/{rel}");
        let mut reader = LineReader::open(storage, &path).map_err(|e| e.to_string())?;
        let mut documents = 0u64;
        while let Some(item) = reader.next_line() {
            let (line, text) = match item {
                Ok(x) => x,
                Err(e) => {
                    pass.bad_lines += 1;
                    if pass.errors.len() < MAX_REPORTED {
                        pass.errors.push(e.to_string());
                    }
                    continue;
                }
            };
            // The line is parsed once: it must be a document, and it names its partition.
            let dir = match Document::from_json(text) {
                Err(e) => Err(e.to_string()),
                Ok(doc) => match &opts.partition_by {
                    None => Ok(group.to_string()),
                    Some(field) => partition_of(&doc, field),
                },
            };
            let dir = match dir {
                Ok(d) => d,
                Err(e) => {
                    pass.bad_lines += 1;
                    if pass.errors.len() < MAX_REPORTED {
                        pass.errors.push(format!("{path}:{line}: {e}"));
                    }
                    continue;
                }
            };
            line_buf.clear();
            line_buf.extend_from_slice(text.as_bytes());
            line_buf.push(b'\n');
            let size = line_buf.len() as u64;
            let (writer, closed) = open.entry(dir.clone()).or_insert((None, 0));
            let full = writer.as_ref().is_some_and(|(w, bytes, _)| {
                bytes + size > opts.max_size || opts.max_lines.is_some_and(|m| w.records() >= m)
            });
            if full {
                close(writer.take(), &mut pass.outputs)?;
                *closed += 1;
            }
            if writer.is_none() {
                let name = shard_name(&dir, *closed, &opts.extension);
                let w = JsonlWriter::create(storage, &format!("{out_root}/{name}"))
                    .map_err(|e| e.to_string())?;
                *writer = Some((w, 0, name));
            }
            if let Some((w, bytes, _)) = writer.as_mut() {
                w.write_line(&line_buf).map_err(|e| e.to_string())?;
                *bytes += size;
            }
            documents += 1;
        }
        let digest = reader.finish().map_err(|e| e.to_string())?;
        pass.inputs.push(FileRecord {
            path: rel.clone(),
            documents,
            digest,
        });
    }
    for (_, (w, _)) in std::mem::take(&mut open) {
        close(w, &mut pass.outputs)?;
    }
    // Closed as limits were reached: listed by directory, then in the order written.
    pass.outputs.sort_by(|a, b| {
        let dir = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        dir(&a.path).cmp(&dir(&b.path))
    });
    Ok(pass)
}

/// Reshards `opts.input` into `opts.output` (see the module docs). Problems with the options
/// or an output left by another run are usage errors; bad lines are in the report (and no
/// `reshard.json` is written).
pub fn reshard(opts: &ReshardOptions) -> Result<ReshardReport> {
    if opts.max_size == 0 || opts.max_lines == Some(0) {
        return Err(Error::Usage(
            "reshard: --max-size and --max-lines must be at least 1".into(),
        ));
    }
    if let Some(f) = &opts.partition_by {
        if !loam_pipeline::config::is_dotted_path(f) {
            return Err(Error::Usage(format!(
                "reshard: --partition-by {f:?}: expected a dotted field path such as metadata.bucket"
            )));
        }
    }
    if !matches!(opts.extension.as_str(), "jsonl.gz" | "jsonl.zst" | "jsonl") {
        return Err(Error::Usage(format!(
            "reshard: --extension {}: use jsonl.gz, jsonl.zst or jsonl",
            opts.extension
        )));
    }
    let root = opts.input.trim_end_matches('/');
    let out_root = opts.output.trim_end_matches('/');
    if root == out_root || out_root.starts_with(&format!("{root}/")) {
        return Err(Error::Usage(format!(
            "reshard: the output {out_root} is inside the input {root}"
        )));
    }
    let storage = storage_for(root).map_err(|e| Error::Usage(e.to_string()))?;
    let out_storage = storage_for(out_root).map_err(|e| Error::Usage(e.to_string()))?;
    let listed = storage
        .list(root)
        .map_err(|e| Error::Usage(format!("reshard: {e}")))?;
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other = Vec::new();
    for o in listed {
        let Some(rel) = o
            .path
            .strip_prefix(root)
            .map(|r| r.trim_start_matches('/').to_string())
        else {
            continue;
        };
        if is_jsonl(&rel) {
            groups
                .entry(group_of(&rel, opts.flat || opts.partition_by.is_some()))
                .or_default()
                .push(rel);
        } else {
            other.push(rel);
        }
    }
    if groups.is_empty() {
        return Err(Error::Usage(format!(
            "reshard: no JSON-lines files under {root}{}",
            match other.first() {
                Some(f) => format!(" (found {f}; Parquet and other formats are not resharded)"),
                None => String::new(),
            }
        )));
    }
    // Shards an earlier run left: refused (their count could differ), or removed first.
    let earlier: Vec<String> = out_storage
        .list(out_root)
        .map_err(|e| Error::Usage(format!("reshard: {e}")))?
        .into_iter()
        .map(|o| o.path)
        .filter(|p| {
            p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("shard-") || n == RESHARD_JSON)
        })
        .collect();
    if !earlier.is_empty() {
        if !opts.overwrite {
            return Err(Error::Usage(format!(
                "reshard: {} holds {} shard(s) of an earlier run (e.g. {}); give --overwrite to replace them",
                out_root,
                earlier.len(),
                earlier[0]
            )));
        }
        for p in &earlier {
            out_storage
                .delete(p)
                .map_err(|e| Error::Failed(format!("reshard: removing {p}: {e}")))?;
        }
    }
    let exec = Executor::new(opts.threads).map_err(|e| Error::Usage(e.to_string()))?;
    let work: Vec<(String, Vec<String>)> = groups.into_iter().collect();
    let passes = exec.map(&work, |(g, files)| reshard_group(storage, opts, g, files));
    let mut report = ReshardReport {
        groups: work.len(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        documents: 0,
        bad_lines: 0,
        errors: Vec::new(),
    };
    for (p, (g, _)) in passes.into_iter().zip(&work) {
        match p {
            Ok(p) => {
                report.documents += p.inputs.iter().map(|f| f.documents).sum::<u64>();
                report.inputs.extend(p.inputs);
                report.outputs.extend(p.outputs);
                report.bad_lines += p.bad_lines;
                report.errors.extend(p.errors);
            }
            Err(e) => report
                .errors
                .push(format!("group {}: {e}", if g.is_empty() { "." } else { g })),
        }
    }
    if report.complete() {
        let record = serde_json::json!({
            "format": "loam-reshard",
            "version": 1,
            "loam": loam_pipeline::VERSION,
            "config": opts,
            "documents": report.documents,
            "inputs": report.inputs,
            "outputs": report.outputs,
        });
        let mut bytes = serde_json::to_vec_pretty(&record)
            .map_err(|e| Error::Failed(format!("reshard: {e}")))?;
        bytes.push(b'\n');
        write_atomic(out_storage, &format!("{out_root}/{RESHARD_JSON}"), &bytes)
            .map_err(|e| Error::Failed(format!("reshard: {e}")))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_names() {
        assert_eq!(group_of("a/b/c.jsonl.gz", false), "a/b");
        assert_eq!(group_of("c.jsonl.gz", false), "");
        assert_eq!(group_of("a/b/c.jsonl.gz", true), "");
        assert_eq!(shard_name("", 3, "jsonl.gz"), "shard-00003.jsonl.gz");
        assert_eq!(shard_name("a/b", 0, "jsonl"), "a/b/shard-00000.jsonl");
        assert!(is_jsonl("x.json.gz") && is_jsonl("a/x.jsonl.zst") && !is_jsonl("x.parquet"));
        assert!(!is_jsonl("manifest.json") && !is_jsonl("v1/.loam/mix/x.jsonl.gz.json"));
        assert!(!is_jsonl(".hidden/x.jsonl"));
    }

    #[test]
    fn partitions_are_relative_directories_named_by_the_field() {
        let d = &Document::from_json(
            r#"{"id": "a/b", "text": "t", "metadata": {"bucket": "text/html/3", "n": 7,
                "up": "../x", "abs": "/etc", "list": [1]}}"#,
        )
        .unwrap();
        assert_eq!(partition_of(d, "id").unwrap(), "a/b");
        assert_eq!(partition_of(d, "metadata.bucket").unwrap(), "text/html/3");
        assert_eq!(partition_of(d, "metadata.n").unwrap(), "7");
        for bad in [
            "metadata.up",
            "metadata.abs",
            "metadata.list",
            "metadata.none",
            "x",
        ] {
            assert!(partition_of(d, bad).is_err(), "{bad}");
        }
    }
}
