//! Terminal output: progress bars on stderr, the summary table on stdout, failures on
//! stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use loam_pipeline::executor::Progress;
use loam_runner::progress::Totals;
use loam_runner::Outcome;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A stage's progress. On a terminal: a bar with the fraction done, stored bytes done of
/// the total (or text bytes, when an earlier stage counted them), documents (of their
/// total, when known), MB/s of text and an ETA; a spinner while nothing is known of the
/// total. Otherwise (Slurm, nohup, a pipe) the same figures as one log line every
/// `LOAM_PROGRESS_SECS` seconds (default 30; 0: none), so a long stage is never silent
/// until its end.
pub struct Bar {
    bar: ProgressBar,
    meter: Meter,
    mode: Mode,
}

/// Where a stage's progress goes.
enum Mode {
    /// The bar, on a terminal.
    Terminal,
    /// A log line at most this often (stderr is not a terminal).
    Log(Duration),
    /// Nothing (not a terminal, `LOAM_PROGRESS_SECS=0`).
    Silent,
}

/// The counters and the clock behind a stage's display.
struct Meter {
    stage: String,
    started: Instant,
    totals: Mutex<Totals>,
    documents: AtomicU64,
    text: AtomicU64,
    /// Stored bytes of the finished units, and the text bytes they held.
    units_input: AtomicU64,
    units_text: AtomicU64,
    /// Milliseconds since `started` of the last drawing (or log line).
    last_ms: AtomicU64,
    /// Whether a log line was written (then the stage's end writes its last one).
    logged: AtomicBool,
}

/// One reading of a [`Meter`].
#[derive(Debug, Clone, Copy, Default)]
struct Reading {
    secs: f64,
    documents: u64,
    text: u64,
    units_input: u64,
    units_text: u64,
    totals: Totals,
}

impl Reading {
    /// The fraction done, when a total is known: text bytes of their total; else stored
    /// bytes of the finished units plus the running units' text at the finished units'
    /// stored-to-text ratio.
    fn fraction(&self) -> Option<f64> {
        if let Some(t) = self.totals.text_bytes.filter(|&t| t > 0) {
            return Some((self.text as f64 / t as f64).min(1.0));
        }
        let total = self.totals.input_bytes.filter(|&t| t > 0)? as f64;
        let running = match self.units_text {
            0 => 0.0,
            t => self.text.saturating_sub(t) as f64 * self.units_input as f64 / t as f64,
        };
        Some(((self.units_input as f64 + running) / total).min(1.0))
    }

    /// Seconds left at the rate so far, once something is done.
    fn eta(&self) -> Option<f64> {
        let f = self.fraction()?;
        (f > 0.0).then(|| self.secs * (1.0 - f) / f)
    }

    /// The figures, without the stage's name: `45%  120.3/267.0 MB read  12345 docs
    /// 38.2 MB/s  ETA 7s`.
    fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = self.fraction() {
            parts.push(format!("{:.0}%", 100.0 * f));
        }
        match self.totals {
            Totals {
                text_bytes: Some(t),
                ..
            } => parts.push(format!(
                "{:.1}/{:.1} MB of text",
                self.text as f64 / 1e6,
                t as f64 / 1e6
            )),
            Totals {
                input_bytes: Some(t),
                ..
            } => parts.push(format!(
                "{:.1}/{:.1} MB read",
                self.fraction().unwrap_or(0.0) * t as f64 / 1e6,
                t as f64 / 1e6
            )),
            _ => parts.push(format!("{:.1} MB of text", self.text as f64 / 1e6)),
        }
        parts.push(match self.totals.documents {
            Some(d) => format!("{}/{d} docs", self.documents),
            None => format!("{} docs", self.documents),
        });
        parts.push(format!(
            "{:.1} MB/s",
            self.text as f64 / 1e6 / self.secs.max(1e-3)
        ));
        match self.eta() {
            Some(eta) => parts.push(format!("ETA {}", clock(eta))),
            None => parts.push(format!("{} elapsed", clock(self.secs))),
        }
        parts.join("  ")
    }
}

/// `7s`, `3m05s`, `2h03m`.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Meter {
    fn read(&self) -> Reading {
        Reading {
            secs: self.started.elapsed().as_secs_f64(),
            documents: self.documents.load(Ordering::Relaxed),
            text: self.text.load(Ordering::Relaxed),
            units_input: self.units_input.load(Ordering::Relaxed),
            units_text: self.units_text.load(Ordering::Relaxed),
            totals: *self.totals.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Whether `every` has passed since the last drawing; one thread wins it.
    fn due(&self, every: Duration) -> bool {
        let now_ms = self.started.elapsed().as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= every.as_millis() as u64
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl Bar {
    fn draw(&self) {
        match self.mode {
            Mode::Silent => {}
            Mode::Log(every) => {
                if self.meter.due(every) {
                    self.meter.logged.store(true, Ordering::Relaxed);
                    eprintln!("loam: {}: {}", self.meter.stage, self.meter.read().line());
                }
            }
            Mode::Terminal => {
                if self.meter.due(Duration::from_millis(100)) {
                    let r = self.meter.read();
                    if let Some(f) = r.fraction() {
                        self.bar.set_position((f * 1000.0) as u64);
                    }
                    self.bar.set_message(r.line());
                }
            }
        }
    }
}

impl Progress for Bar {
    fn advance(&self, documents: u64, bytes: u64) {
        self.meter.documents.fetch_add(documents, Ordering::Relaxed);
        self.meter.text.fetch_add(bytes, Ordering::Relaxed);
        self.draw();
    }
}

impl loam_runner::progress::StageProgress for Bar {
    fn finish(&self) {
        self.bar.finish_and_clear();
        // A stage that logged progress logs where it ended.
        if matches!(self.mode, Mode::Log(_)) && self.meter.logged.load(Ordering::Relaxed) {
            eprintln!("loam: {}: {}", self.meter.stage, self.meter.read().line());
        }
    }

    fn set_totals(&self, totals: Totals) {
        *self.meter.totals.lock().unwrap_or_else(|e| e.into_inner()) = totals;
        if totals.text_bytes.is_some() || totals.input_bytes.is_some() {
            self.bar.set_length(1000);
            self.bar.set_style(
                ProgressStyle::with_template("{prefix:>8} [{bar:24}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
        }
    }

    fn unit_done(&self, input_bytes: u64, text_bytes: u64) {
        self.meter
            .units_input
            .fetch_add(input_bytes, Ordering::Relaxed);
        self.meter
            .units_text
            .fetch_add(text_bytes, Ordering::Relaxed);
        self.draw();
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

/// The progress display of one stage (a bar on a terminal, log lines otherwise).
pub fn stage_bar(stage: &str) -> Box<dyn loam_runner::progress::StageProgress> {
    let terminal = std::io::stderr().is_terminal();
    let pb = match terminal {
        true => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8)),
        false => ProgressBar::hidden(),
    };
    pb.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>8} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_prefix(stage.to_string());
    if terminal {
        pb.enable_steady_tick(Duration::from_millis(120));
    }
    let mode = match (terminal, log_every()) {
        (true, _) => Mode::Terminal,
        (false, Some(every)) => Mode::Log(every),
        (false, None) => Mode::Silent,
    };
    Box::new(Bar {
        bar: pb,
        meter: Meter {
            stage: stage.to_string(),
            started: Instant::now(),
            totals: Mutex::new(Totals::default()),
            documents: AtomicU64::new(0),
            text: AtomicU64::new(0),
            units_input: AtomicU64::new(0),
            units_text: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
            logged: AtomicBool::new(false),
        },
        mode,
    })
}

/// Megabytes in at most 7 columns: `1.35`, `123456`, then terabytes (`12.3TB`).
fn mb(bytes: u64) -> String {
    let v = bytes as f64 / 1e6;
    if v < 9_999.995 {
        format!("{v:.2}")
    } else if v < 9_999_999.5 {
        format!("{v:.0}")
    } else {
        format!("{:.1}TB", v / 1e6)
    }
}

/// A document count in at most 9 columns (`1.234e9` beyond).
fn count(n: u64) -> String {
    match n {
        0..=999_999_999 => n.to_string(),
        _ => format!("{:.3}e9", n as f64 / 1e9),
    }
}

/// Wall time in at most 7 columns: `0.13s`, `999.99s`, then `16m40s`, `2h03m`.
fn wall(secs: f64) -> String {
    match secs < 999.995 {
        true => format!("{secs:.2}s"),
        false => clock(secs),
    }
}

/// The summary's width: every line of the table fits it.
pub const SUMMARY_COLUMNS: usize = 100;

/// The widest label column that leaves room for the figures (71 columns); a longer label
/// gets a line of its own, its figures below it.
const LABEL: usize = SUMMARY_COLUMNS - 71;

/// `text` wrapped at spaces to `SUMMARY_COLUMNS`, its leading spaces kept, continuation
/// lines indented by `indent` more (a word longer than a line, like a path, stays whole).
fn wrap(text: &str, indent: usize) -> Vec<String> {
    let body = text.trim_start_matches(' ');
    let lead = text.len() - body.len();
    let mut lines = Vec::new();
    let mut line = " ".repeat(lead);
    let mut empty = true;
    for word in body.split(' ') {
        let width = line.chars().count() + 1 + word.chars().count();
        if !empty && width > SUMMARY_COLUMNS {
            lines.push(std::mem::replace(&mut line, " ".repeat(lead + indent)));
        } else if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// A row: its label, then its figures. A label longer than `width` keeps its first words
/// on the figures' line (so the line still starts with the stage's name) and continues on
/// the lines below, indented.
fn row(out: &mut Vec<String>, width: usize, label: &str, figures: &str) {
    let figures = figures.trim_end();
    if label.chars().count() <= width {
        out.push(format!("{label:<width$}{figures}").trim_end().to_string());
        return;
    }
    let body = label.trim_start_matches(' ');
    let body = body.strip_prefix("- ").unwrap_or(body);
    let lead = label.len() - body.len();
    let mut first = label[..lead].to_string();
    let mut rest = String::new();
    for w in body.split(' ') {
        let sep = usize::from(first.len() > lead);
        if rest.is_empty() && first.chars().count() + sep + w.chars().count() < width {
            if sep == 1 {
                first.push(' ');
            }
            first.push_str(w);
        } else {
            if !rest.is_empty() {
                rest.push(' ');
            }
            rest.push_str(w);
        }
    }
    if first.len() == lead {
        // The first word alone is too long: the label on a line of its own, then the
        // figures.
        out.extend(wrap(label, 4));
        if !figures.trim().is_empty() {
            out.push(format!("{:<width$}{figures}", ""));
        }
        return;
    }
    out.push(format!("{first:<width$}{figures}").trim_end().to_string());
    if !rest.is_empty() {
        out.extend(wrap(&format!("{}{rest}", " ".repeat(lead + 4)), 0));
    }
}

/// The summary table of a command, one string per line, none wider than
/// [`SUMMARY_COLUMNS`].
pub fn summary_lines(o: &Outcome) -> Vec<String> {
    let mut out = vec![
        format!(
            "{}: {} shard(s), {} thread(s), {:.2} s",
            o.title,
            o.shards,
            o.threads,
            o.elapsed.as_secs_f64()
        ),
        String::new(),
    ];
    // As wide as the longest label, within what the figures leave (the units column grows
    // with the number of units).
    let units_w = o
        .stages
        .iter()
        .map(|s| format!("{}/{}", s.ran, s.units).len())
        .max()
        .unwrap_or(0)
        .max(9);
    let width = o
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
        .clamp(12, (LABEL + 9).saturating_sub(units_w).max(12));
    row(
        &mut out,
        width,
        "stage / rule",
        &format!(
            " {:>9} {:>9} {:>9} {:>8} {:>8} {:>12} {:>units_w$}",
            "docs in", "docs out", "dropped", "MB in", "MB out", "wall time", "units run"
        ),
    );
    let seconds = o.stage_seconds();
    let total: f64 = seconds.iter().sum::<f64>().max(1e-9);
    for (s, secs) in o.stages.iter().zip(&seconds) {
        // An edit row's "out" is the documents whose text changed; it drops none.
        let edit = s.kind == loam_manifests::StageKind::Edit;
        let dropped = match edit {
            true => "edited".to_string(),
            false => count(s.dropped()),
        };
        row(
            &mut out,
            width,
            &s.name,
            &format!(
                " {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>3.0}% {:>units_w$}",
                count(s.docs_in),
                count(s.docs_out),
                dropped,
                mb(s.bytes_in),
                mb(s.bytes_out),
                wall(*secs),
                100.0 * secs / total,
                format!("{}/{}", s.ran, s.units)
            ),
        );
        for (rule, c) in s.rules() {
            row(
                &mut out,
                width,
                &format!("  - {rule}"),
                &format!(
                    " {:>9} {:>9} {:>9} {:>8} {:>8}",
                    "",
                    "",
                    count(match edit {
                        true => c.documents_edited,
                        false => c.documents_dropped,
                    }),
                    "",
                    match edit {
                        true => String::new(),
                        false => format!("-{}", mb(c.text_bytes_dropped)),
                    }
                ),
            );
        }
    }
    if !o.warnings.is_empty() {
        out.push(String::new());
        for w in &o.warnings {
            out.extend(wrap(&format!("warning: {w}"), 4));
        }
    }
    out.push(String::new());
    match &o.manifest {
        Some(m) => out.push(format!("manifest: {m}")),
        None if !o.failures.is_empty() => out.push(format!(
            "no manifest written: {} shard(s) failed",
            o.failures.len()
        )),
        None => {}
    }
    out
}

/// Prints a command's summary table to stdout and its failures to stderr.
pub fn print_outcome(o: &Outcome) {
    for line in summary_lines(o) {
        println!("{line}");
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
        if i.name == loam_filters::datamap::NAME {
            signals.push("<label>, <label>_space (one per configured step label)".into());
        } else if i.name.starts_with("jigsaw_") {
            signals.push("__label__<label> (each model label as fastText names it)".into());
        } else if i.name == "dclm-oh-eli5" {
            signals.push("score (the model's top label, cc/hq renamed score)".into());
        } else if loam_filters::dolma_ft::NAMES.contains(&i.name) {
            signals.push("<label> (one per model label)".into());
        } else if let SignalSet::Labels { negative, .. } = i.signals {
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

#[cfg(test)]
mod tests {
    use super::*;
    use loam_manifests::{RuleCounts, StageKind};
    use loam_runner::StageLine;
    use std::collections::BTreeMap;

    fn outcome(stage: &str, rule: &str, warning: &str) -> Outcome {
        let mut by_rule = BTreeMap::new();
        by_rule.insert(
            rule.to_string(),
            RuleCounts {
                documents_dropped: 1_234_567,
                text_bytes_dropped: 98_765_432_100,
                ..Default::default()
            },
        );
        let line = StageLine::new(
            StageKind::Mix,
            stage.to_string(),
            987_654_321,
            123_456_789,
            9_876_543_210_000,
            1_234_567_890_000,
            by_rule,
            12_345,
            12_345,
        );
        let started = Instant::now();
        Outcome {
            title: "loam run quickstart".into(),
            shards: 12_345,
            stages: vec![line],
            failures: Vec::new(),
            manifest: Some("out/quickstart/quickstart/v1-39563fdb3518/manifest.json".into()),
            elapsed: Duration::from_secs(12_345),
            started,
            threads: 2,
            warnings: vec![warning.to_string()],
        }
    }

    #[test]
    fn the_summary_fits_100_columns() {
        let long = "tag (char_length_v1, whitespace_tokenizer_v1, gopher_v1, c4_v1, pii_regex_v2, \
                    ft_lang_id_en_paragraph_with_doc_score_v2, random_number_v1, code_copyright_comments_v1)";
        let o = outcome(
            long,
            "gopher_fraction_of_characters_in_duplicate_5grams_above_threshold",
            "rule `x` dropped nothing: attribute quickstart__gopher_v1__fraction_of_characters_in_most_common_4gram was absent in every document of every input shard",
        );
        let lines = summary_lines(&o);
        for l in &lines {
            assert!(
                l.chars().count() <= SUMMARY_COLUMNS,
                "{} columns: {l}",
                l.chars().count()
            );
        }
        // Nothing is cut: the long label's words and the figures are all there.
        let all = lines.join("\n");
        for word in [
            "code_copyright_comments_v1)",
            "987654321",
            "123456789",
            "1234567",
            "12345/12345",
        ] {
            assert!(all.contains(word), "{word} missing from\n{all}");
        }
        // A long label's first words share the line with the figures (scripts find a
        // stage's row by its name); the rest follows below.
        let first = lines.iter().find(|l| l.starts_with("tag (")).unwrap();
        assert!(first.ends_with("12345/12345"), "{first}");
        // A rule name too long for the column: its figures on the next line.
        let k = lines
            .iter()
            .position(|l| l.starts_with("  - gopher_fraction"))
            .unwrap();
        assert!(lines[k + 1].ends_with("-98765"), "{}", lines[k + 1]);
        // A short label keeps its figures on its own line.
        let o = outcome("mix (a)", "short", "w");
        let lines = summary_lines(&o);
        let row = lines.iter().find(|l| l.starts_with("mix (a)")).unwrap();
        assert!(
            row.contains("987654321") && row.contains("12345/12345"),
            "{row}"
        );
    }

    #[test]
    fn progress_shows_the_fraction_done_and_an_eta() {
        let mut r = Reading {
            secs: 10.0,
            documents: 500,
            text: 3_000_000,
            units_input: 1_000_000,
            units_text: 2_000_000,
            totals: Totals {
                input_bytes: Some(4_000_000),
                ..Default::default()
            },
        };
        // 1 MB of finished units, plus 1 MB of text at 0.5 stored bytes per byte of text.
        assert_eq!(r.fraction(), Some(0.375));
        let line = r.line();
        assert!(
            line.starts_with("38%  1.5/4.0 MB read  500 docs  0.3 MB/s  ETA 17s"),
            "{line}"
        );
        // Text totals counted by an earlier stage come first.
        r.totals.text_bytes = Some(12_000_000);
        r.totals.documents = Some(2000);
        assert_eq!(r.fraction(), Some(0.25));
        assert!(
            r.line().contains("3.0/12.0 MB of text  500/2000 docs"),
            "{}",
            r.line()
        );
        assert!(r.line().ends_with("ETA 30s"), "{}", r.line());
        // Nothing known of the total: no %, no ETA.
        r.totals = Totals::default();
        assert_eq!(r.fraction(), None);
        assert_eq!(r.line(), "3.0 MB of text  500 docs  0.3 MB/s  10s elapsed");
        assert_eq!(clock(3725.0), "1h02m");
        assert_eq!(clock(65.0), "1m05s");
    }
}
