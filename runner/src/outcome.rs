//! What a command did: the summary rows, failed units and warnings the CLI prints, and the
//! manifest's `tool`, `run` and `config` records.

use loam_manifests::RuleCounts;
use loam_pipeline::shard::ScanReport;
use std::collections::BTreeMap;
use std::time::Duration;

/// A shard that failed in some stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// Stage.
    pub stage: String,
    /// Input shard.
    pub input: String,
    /// What went wrong (possibly several lines).
    pub message: String,
}

impl Failure {
    /// A failure record.
    pub fn new(stage: &str, input: &str, message: String) -> Self {
        Failure {
            stage: stage.into(),
            input: input.into(),
            message,
        }
    }
}

/// A unit's result from its engine's report: its committed output and summary when the
/// scan went well and an output was published, else the scan's errors.
pub(crate) fn made<I>(
    output: Option<loam_pipeline::writer::WrittenShard>,
    scan: &ScanReport,
    info: impl FnOnce() -> I,
) -> Result<loam_pipeline::units::Made<I>, String> {
    match (output, scan.failed()) {
        (Some(o), false) => Ok(loam_pipeline::units::Made {
            output: Some(o),
            info: info(),
        }),
        _ => Err(scan_errors(scan)),
    }
}

/// The errors of a failed scan, one per line, with the total count.
pub fn scan_errors(scan: &ScanReport) -> String {
    let mut lines: Vec<String> = scan.errors.clone();
    if scan.bad_lines as usize > scan.errors.len() {
        lines.push(format!("… {} bad lines in all", scan.bad_lines));
    } else if scan.bad_lines > 0 {
        lines.push(format!("{} bad line(s)", scan.bad_lines));
    }
    if let Some(f) = &scan.fatal {
        lines.push(f.clone());
    }
    if lines.is_empty() {
        lines.push("failed".into());
    }
    lines.join("\n")
}

/// One row of the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageLine {
    /// What kind of stage it is (the manifest records it; nothing parses the label).
    pub kind: loam_manifests::StageKind,
    /// Stage label.
    pub name: String,
    /// Documents in.
    pub docs_in: u64,
    /// Documents out.
    pub docs_out: u64,
    /// Text bytes in.
    pub bytes_in: u64,
    /// Text bytes out.
    pub bytes_out: u64,
    /// Drops by rule.
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// Units run now (others were already done).
    pub ran: usize,
    /// Units in all.
    pub units: usize,
    /// Rules in config order: listed first, with a zero row when they dropped nothing
    /// (rules not named here, like `sample`, follow).
    #[serde(skip)]
    pub order: Vec<String>,
    /// When the row was made: at its stage's end ([`Outcome::stage_seconds`]).
    #[serde(skip)]
    pub ended: std::time::Instant,
}

impl StageLine {
    /// A row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: loam_manifests::StageKind,
        name: String,
        docs_in: u64,
        docs_out: u64,
        bytes_in: u64,
        bytes_out: u64,
        by_rule: BTreeMap<String, RuleCounts>,
        ran: usize,
        units: usize,
    ) -> Self {
        StageLine {
            kind,
            name,
            docs_in,
            docs_out,
            bytes_in,
            bytes_out,
            by_rule,
            ran,
            units,
            order: Vec::new(),
            ended: std::time::Instant::now(),
        }
    }

    /// The same row with its rules listed in this (config) order.
    pub fn with_order(mut self, order: Vec<String>) -> Self {
        self.order = order;
        self
    }

    /// Documents dropped: what its rules dropped, or fewer documents out than in. An
    /// upsampled mix writes more copies than it reads, so `docs_in - docs_out` alone would
    /// hide its drops.
    pub fn dropped(&self) -> u64 {
        let by_rule: u64 = self.by_rule.values().map(|c| c.documents_dropped).sum();
        by_rule.max(self.docs_in.saturating_sub(self.docs_out))
    }

    /// Its rules in config order (zero counts included), then any others.
    pub fn rules(&self) -> Vec<(&str, RuleCounts)> {
        let mut out: Vec<(&str, RuleCounts)> = self
            .order
            .iter()
            .map(|r| (r.as_str(), self.by_rule.get(r).cloned().unwrap_or_default()))
            .collect();
        for (r, c) in &self.by_rule {
            if !self.order.contains(r) {
                out.push((r.as_str(), c.clone()));
            }
        }
        out
    }

    /// A row for a stage that keeps every document and byte (tagging, shuffling).
    pub fn pass_through(
        kind: loam_manifests::StageKind,
        name: String,
        docs: u64,
        bytes: u64,
        ran: usize,
        units: usize,
    ) -> Self {
        Self::new(
            kind,
            name,
            docs,
            docs,
            bytes,
            bytes,
            BTreeMap::new(),
            ran,
            units,
        )
    }

    /// The manifest's record of the row.
    pub fn counts(&self) -> loam_manifests::StageCounts {
        loam_manifests::StageCounts {
            stage: self.name.clone(),
            kind: Some(self.kind),
            documents_in: self.docs_in,
            documents_out: self.docs_out,
            text_bytes_in: self.bytes_in,
            text_bytes_out: self.bytes_out,
            by_rule: self.by_rule.clone(),
        }
    }
}

/// What a command did.
#[derive(Debug, serde::Serialize)]
pub struct Outcome {
    /// Heading.
    pub title: String,
    /// Input shards.
    pub shards: usize,
    /// Per-stage rows.
    pub stages: Vec<StageLine>,
    /// Failed shards.
    pub failures: Vec<Failure>,
    /// Manifest written, if any.
    pub manifest: Option<String>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// When the command started.
    #[serde(skip)]
    pub started: std::time::Instant,
    /// Threads used.
    pub threads: usize,
    /// Things that ran but may not do what was meant (a rule that matched nothing, an
    /// attribute no document had, a dolma key loam ignores): printed after the table.
    pub warnings: Vec<String>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Outcome {
    /// Each row's wall time: from the previous row's end (the first: from the start) to its
    /// own. Rows are made as their stages end; rows made together (one per stream) share
    /// the time of the first.
    pub fn stage_seconds(&self) -> Vec<f64> {
        let mut prev = self.started;
        self.stages
            .iter()
            .map(|s| {
                let d = s.ended.saturating_duration_since(prev);
                prev = prev.max(s.ended);
                d.as_secs_f64()
            })
            .collect()
    }

    /// The outcome as one JSON document (`--json`): rows with their rules in config order
    /// and wall time, warnings, failures, manifest.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        let seconds = self.stage_seconds();
        if let Some(rows) = v.get_mut("stages").and_then(|x| x.as_array_mut()) {
            for ((row, line), secs) in rows.iter_mut().zip(&self.stages).zip(seconds) {
                if let Some(o) = row.as_object_mut() {
                    o.insert("seconds".into(), serde_json::json!(secs));
                    o.insert("dropped".into(), serde_json::json!(line.dropped()));
                    let rules: Vec<serde_json::Value> = line
                        .rules()
                        .into_iter()
                        .map(|(r, c)| serde_json::json!({"rule": r, "counts": c}))
                        .collect();
                    o.insert("rules".into(), serde_json::Value::Array(rules));
                    o.remove("by_rule");
                }
            }
        }
        v
    }
}

/// Run metadata for the manifest's `run` object.
pub struct RunMeta {
    /// Start, RFC 3339.
    pub started_at: String,
    /// Wall time.
    pub duration_secs: f64,
    /// Threads.
    pub threads: usize,
}

impl RunMeta {
    /// The manifest's `run` object, for a manifest written into `manifest_dir`: with the
    /// working directory (absolute, and relative to `manifest_dir` when that is on local
    /// disk), which the manifest's relative paths are relative to.
    pub fn info(self, manifest_dir: &str) -> loam_manifests::RunInfo {
        let cwd = std::env::current_dir().ok();
        let root = match (&cwd, manifest_dir.contains("://")) {
            (Some(cwd), false) => {
                let dir = cwd.join(manifest_dir);
                let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
                let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.clone());
                loam_manifests::relative_path(&dir, &cwd)
            }
            _ => None,
        };
        loam_manifests::RunInfo {
            started_at: self.started_at,
            duration_secs: self.duration_secs,
            host: hostname(),
            threads: self.threads,
            working_dir: cwd.and_then(|c| c.to_str().map(str::to_string)),
            root,
        }
    }
}

/// The manifest's `tool` object: this binary's version and the git commit it was built from.
pub fn tool_info() -> loam_manifests::ToolInfo {
    loam_manifests::ToolInfo {
        name: "loam".into(),
        version: loam_pipeline::VERSION.into(),
        git_commit: option_env!("LOAM_GIT_COMMIT").map(str::to_string),
    }
}

/// The manifest's `config` object: the file as given with its checksum, and the normalized
/// config with its fingerprint.
pub fn config_record(
    path: &std::path::Path,
    bytes: &[u8],
    normalized: serde_json::Value,
) -> loam_manifests::ConfigRecord {
    loam_manifests::ConfigRecord {
        path: path.display().to_string(),
        sha256: loam_manifests::digest_bytes(bytes).sha256,
        fingerprint: loam_manifests::fingerprint(&normalized),
        normalized,
    }
}

/// The host name, from the kernel.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The current UTC time as RFC 3339 (seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
