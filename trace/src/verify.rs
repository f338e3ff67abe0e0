//! `loam manifest verify` on a trace index: `trace.json` is the index's own manifest (every
//! shard's size and SHA-256, the mix's content id, each shard's source file and that file's
//! SHA-256 in its header). Verifying recomputes every shard's checksum, looks for files the
//! index does not list, and checks that the index still describes the mix: the same content
//! id, and each indexed file still the bytes the mix's (or token arrays') manifest records.

use crate::build::{read_manifest, Kind, TraceInfo, TRACE_JSON};
use crate::shard::Shard;
use crate::TraceError;
use loam_manifests::check::{short_id, Finding, Problem};
use loam_manifests::{FileDigest, Manifest, OutputKind};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The result of checking an index; `Display` is what `loam manifest verify` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexVerification {
    /// The index directory.
    pub index: PathBuf,
    /// The mix it indexes.
    pub mix: String,
    /// The mix's content id the index was built for.
    pub mix_content_id: String,
    /// Index files checked.
    pub checked: usize,
    /// What does not match, shards first (in order), then files not listed, then staleness.
    pub findings: Vec<Finding>,
}

impl IndexVerification {
    /// Whether every shard matched, nothing extra is there and the index describes the mix.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for IndexVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.findings {
            writeln!(f, "{x}")?;
        }
        if self.ok() {
            writeln!(
                f,
                "ok: {} index file(s) match {} (trace index of mix {})",
                self.checked,
                self.index.join(TRACE_JSON).display(),
                short_id(&self.mix_content_id)
            )
        } else {
            writeln!(
                f,
                "{} difference(s) in the trace index {}",
                self.findings.len(),
                self.index.display()
            )
        }
    }
}

/// Reads `trace.json` of an index directory.
pub fn read_info(dir: &Path) -> Result<TraceInfo, TraceError> {
    let file = dir.join(TRACE_JSON);
    let bytes = std::fs::read(&file).map_err(|e| TraceError::io(&file, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TraceError::Corrupt {
        path: file.display().to_string(),
        message: e.to_string(),
    })
}

fn digest(path: &Path) -> Result<Option<FileDigest>, String> {
    match std::fs::File::open(path) {
        Ok(f) => loam_manifests::digest_reader(std::io::BufReader::with_capacity(1 << 20, f))
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Verifies the index in `dir` on `threads` threads (0: one per core). Errors only when
/// `trace.json` itself cannot be read; everything else is a finding.
pub fn verify_index(dir: &Path, threads: usize) -> Result<IndexVerification, TraceError> {
    let info = read_info(dir)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| TraceError::Usage(format!("thread pool: {e}")))?;
    let finding = |path: &Path, problem: Problem| Finding {
        what: "trace index".into(),
        path: path.display().to_string(),
        problem,
    };
    // Shards: bytes as recorded, then the source (file, SHA-256) each header names.
    type Checked = (Option<Finding>, Option<(String, String)>);
    let checked: Vec<Checked> = pool.install(|| {
        info.shards
            .par_iter()
            .map(|s| {
                let path = dir.join(&s.index);
                let bytes = match digest(&path) {
                    Ok(None) => Some(finding(&path, Problem::Missing)),
                    Ok(Some(d)) if d == s.digest => None,
                    Ok(Some(found)) => Some(finding(
                        &path,
                        Problem::Changed {
                            want: s.digest.clone(),
                            found,
                        },
                    )),
                    Err(error) => Some(finding(&path, Problem::Unreadable { error })),
                };
                let source = match bytes {
                    None => Shard::open(&path)
                        .ok()
                        .map(|sh| (sh.meta.source.clone(), sh.meta.source_sha256.clone())),
                    Some(_) => None,
                };
                (bytes, source)
            })
            .collect()
    });
    let mut findings = Vec::new();
    let mut sources = BTreeMap::new();
    for (bad, source) in checked {
        findings.extend(bad);
        if let Some((rel, sha)) = source {
            sources.insert(rel, sha);
        }
    }
    // Files the index does not list (a leftover temporary file of a killed build, another
    // index's shards).
    let listed: std::collections::BTreeSet<&str> =
        info.shards.iter().map(|s| s.index.as_str()).collect();
    let mut extra = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name != TRACE_JSON && !listed.contains(name.as_str()) {
                    extra.push(name);
                }
            }
        }
        Err(e) => findings.push(finding(
            dir,
            Problem::Unreadable {
                error: e.to_string(),
            },
        )),
    }
    extra.sort();
    findings.extend(extra.iter().map(|n| finding(&dir.join(n), Problem::Extra)));
    findings.extend(staleness(dir, &info, &sources));
    Ok(IndexVerification {
        index: dir.to_path_buf(),
        mix: info.mix.clone(),
        mix_content_id: info.mix_content_id.clone(),
        checked: info.shards.len(),
        findings,
    })
}

/// Whether the index still describes its mix: the mix's content id, and every file the mix
/// (or its token arrays) holds indexed from the bytes its manifest records.
fn staleness(dir: &Path, info: &TraceInfo, sources: &BTreeMap<String, String>) -> Vec<Finding> {
    let stale = |path: &Path, reason: String| Finding {
        what: "trace index".into(),
        path: path.display().to_string(),
        problem: Problem::Stale { reason },
    };
    let json = dir.join(TRACE_JSON);
    let mix = PathBuf::from(&info.mix);
    let m = match read_manifest(&mix) {
        Ok(m) => m,
        Err(e) => return vec![stale(&json, format!("its mix cannot be read: {e}"))],
    };
    let mut out = Vec::new();
    if m.mix.content_id != info.mix_content_id {
        out.push(stale(
            &json,
            format!(
                "built for mix {}, {} now holds mix {}: rebuild with `loam trace build`",
                short_id(&info.mix_content_id),
                mix.display(),
                short_id(&m.mix.content_id)
            ),
        ));
        return out;
    }
    let (files, kind): (Manifest, OutputKind) = match (info.kind, &info.tokens) {
        (Kind::Text, _) => (m, OutputKind::Documents),
        (Kind::Tokens, Some(t)) => match read_manifest(Path::new(t)) {
            Ok(tm) => (tm, OutputKind::Tokens),
            Err(e) => {
                return vec![stale(
                    &json,
                    format!("its token arrays cannot be read: {e}"),
                )]
            }
        },
        (Kind::Tokens, None) => {
            return vec![stale(
                &json,
                "a token index without its arrays' directory".into(),
            )]
        }
    };
    for o in files.outputs.iter().filter(|o| o.kind == kind) {
        match sources.get(&o.path) {
            Some(sha) if *sha == o.digest.sha256 => {}
            Some(_) => out.push(stale(
                &json,
                format!(
                    "{} was indexed from other bytes than its manifest records",
                    o.path
                ),
            )),
            None if info.shards.iter().any(|s| s.source == o.path) => {} // a bad shard, reported above
            None => out.push(stale(&json, format!("{} is not indexed", o.path))),
        }
    }
    out
}
