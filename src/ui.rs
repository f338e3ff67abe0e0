//! Terminal output: progress bars on stderr, the summary table on stdout, failures on
//! stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use loam_manifests::RuleCounts;
use loam_pipeline::executor::Progress;
use loam_pipeline::shard::ScanReport;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A stage's progress: a spinner on a terminal; otherwise (Slurm, nohup, a pipe) one log
/// line every `LOAM_PROGRESS_SECS` seconds (default 30; 0: none), so a long stage is never
/// silent until its end.
pub struct Bar {
    bar: ProgressBar,
    log: Option<LogLines>,
}

/// Counters and the clock behind the periodic log lines.
struct LogLines {
    stage: String,
    every: Duration,
    started: Instant,
    documents: AtomicU64,
    bytes: AtomicU64,
    /// Milliseconds since `started` of the last line.
    last_ms: AtomicU64,
}

impl LogLines {
    fn advance(&self, documents: u64, bytes: u64) {
        let docs = self.documents.fetch_add(documents, Ordering::Relaxed) + documents;
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let now = self.started.elapsed();
        let now_ms = now.as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        // One thread wins the line; the others go on.
        if now_ms.saturating_sub(last) >= self.every.as_millis() as u64
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let secs = now.as_secs_f64().max(1e-9);
            eprintln!(
                "loam: {}: {docs} documents, {:.1} MB of text, {:.1} MB/s, {:.0} s",
                self.stage,
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / secs,
                secs
            );
        }
    }
}

impl Progress for Bar {
    fn advance(&self, documents: u64, bytes: u64) {
        self.bar.inc(documents);
        if let Some(l) = &self.log {
            l.advance(documents, bytes);
        }
    }
}

impl Bar {
    /// Removes the bar.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// Seconds between progress lines when stderr is not a terminal.
fn log_every() -> Option<Duration> {
    let secs = std::env::var("LOAM_PROGRESS_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(30.0);
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// A spinner counting documents for one stage (log lines instead off a terminal).
pub fn stage_bar(stage: &str) -> Bar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {prefix:>8} {human_pos} docs  {per_sec}  {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_prefix(stage.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    let log = match (std::io::stderr().is_terminal(), log_every()) {
        (false, Some(every)) => Some(LogLines {
            stage: stage.to_string(),
            every,
            started: Instant::now(),
            documents: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        }),
        _ => None,
    };
    Bar { bar: pb, log }
}

/// A shard that failed in some stage.
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
pub struct StageLine {
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
    pub order: Vec<String>,
}

impl StageLine {
    /// A row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
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
            name,
            docs_in,
            docs_out,
            bytes_in,
            bytes_out,
            by_rule,
            ran,
            units,
            order: Vec::new(),
        }
    }

    /// The same row with its rules listed in this (config) order.
    pub fn with_order(mut self, order: Vec<String>) -> Self {
        self.order = order;
        self
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
    pub fn pass_through(name: String, docs: u64, bytes: u64, ran: usize, units: usize) -> Self {
        Self::new(name, docs, docs, bytes, bytes, BTreeMap::new(), ran, units)
    }
}

/// What a command did.
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
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
    /// Things that ran but may not do what was meant (a rule that matched nothing, an
    /// attribute no document had, a dolma key loam ignores): printed after the table.
    pub warnings: Vec<String>,
}

fn mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / 1e6)
}

impl Outcome {
    /// Prints the summary table to stdout and failures to stderr.
    pub fn print(&self) {
        println!(
            "{}: {} shard(s), {} thread(s), {:.2} s",
            self.title,
            self.shards,
            self.threads,
            self.elapsed.as_secs_f64()
        );
        println!();
        let w = self
            .stages
            .iter()
            .map(|s| s.name.chars().count())
            .chain(
                self.stages
                    .iter()
                    .flat_map(|s| s.rules().into_iter().map(|(k, _)| k.chars().count() + 4)),
            )
            .max()
            .unwrap_or(0)
            .max(12);
        println!(
            "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}  units run",
            "stage / rule", "docs in", "docs out", "dropped", "MB in", "MB out"
        );
        for s in &self.stages {
            println!(
                "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}  {}/{}",
                s.name,
                s.docs_in,
                s.docs_out,
                s.docs_in.saturating_sub(s.docs_out),
                mb(s.bytes_in),
                mb(s.bytes_out),
                s.ran,
                s.units
            );
            for (rule, c) in s.rules() {
                println!(
                    "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}",
                    format!("  - {rule}"),
                    "",
                    "",
                    c.documents_dropped,
                    "",
                    format!("-{}", mb(c.text_bytes_dropped))
                );
            }
        }
        if !self.warnings.is_empty() {
            println!();
            for w in &self.warnings {
                println!("warning: {w}");
            }
        }
        println!();
        match &self.manifest {
            Some(m) => println!("manifest: {m}"),
            None if !self.failures.is_empty() => {
                println!(
                    "no manifest written: {} shard(s) failed",
                    self.failures.len()
                )
            }
            None => {}
        }
        if !self.failures.is_empty() {
            eprintln!();
            eprintln!("{} shard(s) failed:", self.failures.len());
            for f in &self.failures {
                eprintln!("  [{}] {}", f.stage, f.input);
                for line in f.message.lines() {
                    eprintln!("      {line}");
                }
            }
        }
    }
}

/// `loam taggers`: each built-in tagger with its granularity, needed files and signals
/// (`--json`: a list of objects with the same fields).
pub fn print_taggers(json: bool) {
    use loam_filters::registry::{infos, SignalSet};
    let infos = infos();
    if json {
        let list: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                let (signals, labels) = match i.signals {
                    SignalSet::Fixed(n) => (n, None),
                    SignalSet::Labels { negative, fixed } => {
                        (fixed, Some(serde_json::json!({"negative": negative})))
                    }
                };
                serde_json::json!({
                    "name": i.name,
                    "signals": signals,
                    "label_signals": labels,
                    "granularity": i.granularity,
                    "resources": i.resources,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return;
    }
    for i in &infos {
        let header = format!("{}  [{}]", i.name, i.granularity);
        let one_line = format!("{header}  needs {}", i.resources.join(", "));
        if i.resources.is_empty() {
            println!("{header}");
        } else if one_line.chars().count() <= 100 {
            println!("{one_line}");
        } else {
            // A URL tagger's lists, one per line (paths under $LOAM_MODELS_DIR).
            println!("{header}  needs, under $LOAM_MODELS_DIR:");
            for r in i.resources {
                println!("  {r}");
            }
        }
        let mut signals: Vec<String> = i.signals.fixed().iter().map(|s| s.to_string()).collect();
        if let SignalSet::Labels { negative, .. } = i.signals {
            signals.push(if negative {
                "<label>, not_<label> (one per language label)".into()
            } else {
                "<label> (one per language label, e.g. en, de)".into()
            });
        }
        // Wrapped to fit 100 columns.
        let mut line = String::from("   ");
        for (k, sig) in signals.iter().enumerate() {
            let piece = if k + 1 < signals.len() {
                format!(" {sig},")
            } else {
                format!(" {sig}")
            };
            if line.len() + piece.len() > 100 && line.len() > 3 {
                println!("{line}");
                line = String::from("   ");
            }
            line.push_str(&piece);
        }
        println!("{line}");
    }
    println!();
    println!("Attribute keys are <experiment>__<tagger>__<signal>;");
    println!("classifiers write <experiment>__<name>__<label>.");
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
    /// The manifest's `run` object.
    pub fn info(self) -> loam_manifests::RunInfo {
        loam_manifests::RunInfo {
            started_at: self.started_at,
            duration_secs: self.duration_secs,
            host: hostname(),
            threads: self.threads,
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
