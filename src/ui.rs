//! Terminal output: progress bars on stderr, the summary table on stdout, failures on
//! stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use loam_pipeline::executor::Progress;
use loam_runner::Outcome;
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

impl loam_runner::progress::StageProgress for Bar {
    fn finish(&self) {
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
pub fn stage_bar(stage: &str) -> Box<dyn loam_runner::progress::StageProgress> {
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
    Box::new(Bar { bar: pb, log })
}

fn mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / 1e6)
}

/// Prints a command's summary table to stdout and its failures to stderr.
pub fn print_outcome(o: &Outcome) {
    println!(
        "{}: {} shard(s), {} thread(s), {:.2} s",
        o.title,
        o.shards,
        o.threads,
        o.elapsed.as_secs_f64()
    );
    println!();
    let w = o
        .stages
        .iter()
        .map(|s| s.name.chars().count())
        .chain(
            o.stages
                .iter()
                .flat_map(|s| s.rules().into_iter().map(|(k, _)| k.chars().count() + 4)),
        )
        .max()
        .unwrap_or(0)
        .max(12);
    println!(
        "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}  {:>14}  units run",
        "stage / rule", "docs in", "docs out", "dropped", "MB in", "MB out", "wall time"
    );
    let seconds = o.stage_seconds();
    let total: f64 = seconds.iter().sum::<f64>().max(1e-9);
    for (s, secs) in o.stages.iter().zip(&seconds) {
        // An edit row's "out" is the documents whose text changed; it drops none.
        let edit = s.kind == loam_manifests::StageKind::Edit;
        let dropped = match edit {
            true => "edited".to_string(),
            false => s.dropped().to_string(),
        };
        println!(
            "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}  {:>8.2}s {:>4.0}%  {}/{}",
            s.name,
            s.docs_in,
            s.docs_out,
            dropped,
            mb(s.bytes_in),
            mb(s.bytes_out),
            secs,
            100.0 * secs / total,
            s.ran,
            s.units
        );
        for (rule, c) in s.rules() {
            println!(
                "{:<w$} {:>10} {:>10} {:>10} {:>9} {:>9}",
                format!("  - {rule}"),
                "",
                "",
                match edit {
                    true => c.documents_edited,
                    false => c.documents_dropped,
                },
                "",
                match edit {
                    true => String::new(),
                    false => format!("-{}", mb(c.text_bytes_dropped)),
                }
            );
        }
    }
    if !o.warnings.is_empty() {
        println!();
        for w in &o.warnings {
            println!("warning: {w}");
        }
    }
    println!();
    match &o.manifest {
        Some(m) => println!("manifest: {m}"),
        None if !o.failures.is_empty() => {
            println!("no manifest written: {} shard(s) failed", o.failures.len())
        }
        None => {}
    }
    if !o.failures.is_empty() {
        eprintln!();
        eprintln!("{} shard(s) failed:", o.failures.len());
        for f in &o.failures {
            eprintln!("  [{}] {}", f.stage, f.input);
            for line in f.message.lines() {
                eprintln!("      {line}");
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
