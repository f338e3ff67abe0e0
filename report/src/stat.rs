//! `loam stat`: attribute histograms, compatible with dolma's `stat` (its "analyzer").
//!
//! Same config keys as dolma (`attributes`, `report`, `bins`, `regex`; `processes`, `seed`,
//! `debug`, `work_dir` are accepted), same output: `<report>/summaries.jsonl.gz`, one line
//! per `<attribute>/score` and `<attribute>/length` with `{"name", "counts", "bins"}`.
//!
//! The numbers follow dolma's algorithm step by step so both tools give the same histogram:
//! every span of every attribute is a value (an empty span list counts as one `0.0` score of
//! length 0; fastText `__label__` scores are capped at 1.0); values are kept in dolma's
//! fixed buckets (`frexp` mantissa to 5 decimal digits per power of two); each attribute
//! file is summarized to at most `bins` bins (numpy's equal-width weighted histogram when it
//! has more buckets), and the per-file summaries are merged and summarized again.
//!
//! Where loam differs on purpose: summaries are written sorted by name (dolma writes them in
//! the order its worker processes finished, which varies between runs); counts are written
//! as integers (numpy's weighted histogram turns them into floats such as `3.0`); a bad line
//! is reported with its file and line and the command exits 1 without writing a report
//! (dolma stops at the first one with a traceback); `regex` supports literal names and
//! `a|b` alternatives of literals (the `loam` binary carries no regex engine yet).

use loam_pipeline::config::{self, Problems, Validate};
use loam_pipeline::executor::{Executor, ExecutorError};
use loam_pipeline::reader::LineReader;
use loam_pipeline::storage::LocalStorage;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A problem computing or writing attribute statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatError {
    /// The config file could not be read or has bad fields (each named by its path).
    #[error(transparent)]
    Config(#[from] config::ConfigErrors),
    /// The config, with the command line's overrides, is incomplete or invalid.
    #[error("loam stat: {}\n(give -c CONFIG or --attributes PATH…)", problems.join("\n"))]
    Invalid {
        /// `field: message` per problem.
        problems: Vec<String>,
    },
    /// The `attributes` patterns could not be expanded.
    #[error("attributes: {0}")]
    Attributes(#[source] loam_pipeline::layout::LayoutError),
    /// `regex` uses syntax loam does not support.
    #[error("regex: {0}")]
    Regex(String),
    /// The worker threads could not start.
    #[error(transparent)]
    Executor(#[from] ExecutorError),
    /// Bad lines or unreadable attribute files (each problem names its file and line).
    #[error("{} problem(s) in the attribute files:\n{}", problems.len(), shown(problems))]
    AttributeFiles {
        /// Every problem found.
        problems: Vec<String>,
    },
    /// `summaries.jsonl.gz` could not be written.
    #[error(transparent)]
    Write(#[from] loam_pipeline::writer::WriteError),
}

impl StatError {
    /// Whether the problem is in what the user gave (a usage error: the binary exits 2),
    /// rather than in the data (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StatError::Config(_)
                | StatError::Invalid { .. }
                | StatError::Attributes(_)
                | StatError::Regex(_)
        )
    }
}

/// The first 50 problems, one a line, and how many more.
fn shown(problems: &[String]) -> String {
    let n = problems.len();
    let mut msg = problems
        .iter()
        .take(50)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if n > 50 {
        msg.push_str(&format!("\n… and {} more", n - 50));
    }
    msg
}

/// dolma's `AnalyzerConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatConfig {
    /// Attribute files, directories or globs.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Directory that receives `summaries.jsonl.gz`; printed only when absent.
    #[serde(default)]
    pub report: Option<String>,
    /// Number of histogram bins.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// dolma's process count; loam uses `--threads`.
    #[serde(default)]
    #[allow(dead_code)]
    pub processes: Option<Value>,
    /// Accepted for compatibility; the result does not depend on it.
    #[serde(default)]
    #[allow(dead_code)]
    pub seed: Option<Value>,
    /// Accepted for compatibility.
    #[serde(default)]
    #[allow(dead_code)]
    pub debug: Option<Value>,
    /// Accepted for compatibility (loam keeps per-file summaries in memory).
    #[serde(default)]
    #[allow(dead_code)]
    pub work_dir: Option<Value>,
    /// Only attributes whose name matches.
    #[serde(default)]
    pub regex: Option<String>,
}

fn default_bins() -> usize {
    1000
}

impl Validate for StatConfig {
    fn validate(&self, problems: &mut Problems) {
        if self.attributes.is_empty() {
            problems.push("attributes", "give at least one attribute path or glob");
        }
        if self.bins == 0 {
            problems.push("bins", "must be at least 1");
        }
        if let Some(r) = &self.regex {
            if let Err(e) = NameFilter::parse(r) {
                problems.push("regex", e);
            }
        }
    }
}

/// `regex`: literal alternatives, searched anywhere in the name (Python's `re.search`).
#[derive(Debug, Clone)]
struct NameFilter(Vec<String>);

impl NameFilter {
    fn parse(r: &str) -> Result<NameFilter, String> {
        let meta = |c: char| ".^$*+?()[]{}\\".contains(c);
        let alts: Vec<String> = r.split('|').map(str::to_string).collect();
        if alts.iter().any(|a| a.chars().any(meta)) {
            return Err(format!(
                "`{r}`: loam supports literal names and `a|b` alternatives only; \
                 regular-expression syntax is not supported yet"
            ));
        }
        Ok(NameFilter(alts))
    }

    fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|a| name.contains(a.as_str()))
    }
}

/// One line of `summaries.jsonl.gz` (dolma's `SummarySpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `<attribute>/score` or `<attribute>/length`.
    pub name: String,
    /// Values per bin.
    pub counts: Vec<u64>,
    /// Bin edges (`counts.len() + 1` values).
    pub bins: Vec<f64>,
    /// Values summarized (dolma's `total`).
    #[serde(default)]
    pub total: u64,
    /// Their sum (dolma's `sum`: an integer while every value was one, as Python adds them).
    #[serde(default)]
    pub sum: PyNum,
}

/// A number as Python keeps it: `int` until a `float` joins in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyNum {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Default for PyNum {
    fn default() -> Self {
        PyNum::Int(0)
    }
}

impl PyNum {
    /// A JSON number as Python's `json` reads it (`1` an int, `1.0` a float).
    pub fn of_json(v: &Value) -> Option<PyNum> {
        match v {
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => PyNum::Int(i),
                None => PyNum::Float(n.as_f64()?),
            }),
            _ => None,
        }
    }

    /// As a float.
    pub fn f64(self) -> f64 {
        match self {
            PyNum::Int(i) => i as f64,
            PyNum::Float(x) => x,
        }
    }
}

/// Python's `+`: ints stay ints (past `i64` this becomes a float, where Python would not
/// overflow).
impl std::ops::Add for PyNum {
    type Output = PyNum;
    fn add(self, o: PyNum) -> PyNum {
        match (self, o) {
            (PyNum::Int(a), PyNum::Int(b)) => match a.checked_add(b) {
                Some(c) => PyNum::Int(c),
                None => PyNum::Float(a as f64 + b as f64),
            },
            (a, b) => PyNum::Float(a.f64() + b.f64()),
        }
    }
}

/// Python's `-`.
impl std::ops::Sub for PyNum {
    type Output = PyNum;
    fn sub(self, o: PyNum) -> PyNum {
        match (self, o) {
            (PyNum::Int(a), PyNum::Int(b)) => match a.checked_sub(b) {
                Some(c) => PyNum::Int(c),
                None => PyNum::Float(a as f64 - b as f64),
            },
            (a, b) => PyNum::Float(a.f64() - b.f64()),
        }
    }
}

impl Serialize for PyNum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PyNum::Int(i) => s.serialize_i64(*i),
            PyNum::Float(x) => s.serialize_f64(*x),
        }
    }
}

impl<'de> Deserialize<'de> for PyNum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        PyNum::of_json(&v).ok_or_else(|| serde::de::Error::custom("not a number"))
    }
}

/// Python's `math.frexp`: `x = m * 2^e` with `0.5 <= |m| < 1` (`(x, 0)` for 0 and non-finite).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(x * 2f64.powi(54));
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp - 1022)
}

/// `2**e` as Python computes it (exact for the exponents of finite doubles).
fn pow2(e: i32) -> f64 {
    // exp2 is exact at integers, subnormal results included.
    f64::from(e).exp2()
}

/// dolma's `FixedBucketsValTracker(n=5)`: buckets keyed by the value's binary exponent and
/// its mantissa truncated to `10^5` steps.
#[derive(Debug, Clone, Default)]
pub struct FixedBuckets {
    buckets: BTreeMap<(i32, i64), u64>,
    /// Values added with [`FixedBuckets::add_value`] (dolma's `total`).
    pub total: u64,
    /// Their sum (dolma's `sum`).
    pub sum: PyNum,
}

const PRECISION: f64 = 100_000.0;

impl FixedBuckets {
    /// Adds one value read from an attribute file, counted in `total` and `sum`.
    pub fn add_value(&mut self, value: PyNum) {
        self.add(value.f64(), 1);
        self.total += 1;
        self.sum = self.sum + value;
    }

    /// Adds `count` occurrences of `value` to the buckets (a summary's bins re-added; its
    /// `total` and `sum` are carried over by the caller, as dolma's `add_summary` does).
    pub fn add(&mut self, value: f64, count: u64) {
        let (m, e) = frexp(value);
        let k = (m * PRECISION).floor() as i64;
        *self.buckets.entry((e, k)).or_default() += count;
    }

    fn upper_bound(value: f64) -> f64 {
        let (m, e) = frexp(value);
        let k = (m * PRECISION).floor() + 1.0;
        k / PRECISION * pow2(e)
    }

    /// Up to `n` bins: the buckets themselves (plus the last one's upper edge) when there
    /// are few enough, else numpy's weighted equal-width histogram of them.
    pub fn summarize(&self, n: usize) -> (Vec<u64>, Vec<f64>) {
        let mut pairs: Vec<(f64, u64)> = self
            .buckets
            .iter()
            .map(|(&(e, k), &c)| (k as f64 / PRECISION * pow2(e), c))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if pairs.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let values: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let counts: Vec<u64> = pairs.iter().map(|p| p.1).collect();
        if pairs.len() <= n {
            let mut bins = values.clone();
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            bins.push(Self::upper_bound(max));
            return (counts, bins);
        }
        np_histogram(&values, &counts, n)
    }
}

/// `numpy.histogram(a, bins=n, weights=w)` for finite `a` (equal-width bins over
/// `[min, max]`, widened by 0.5 on each side when they are equal).
pub fn np_histogram(a: &[f64], w: &[u64], n: usize) -> (Vec<u64>, Vec<f64>) {
    let mut first = a.iter().copied().fold(f64::INFINITY, f64::min);
    let mut last = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    // np.linspace(first, last, n + 1)
    let step = (last - first) / n as f64;
    let mut edges: Vec<f64> = (0..=n).map(|i| i as f64 * step + first).collect();
    edges[n] = last;
    let denom = last - first;
    let mut counts = vec![0u64; n];
    for (&x, &c) in a.iter().zip(w) {
        if !(x >= first && x <= last) {
            continue;
        }
        let f = ((x - first) / denom) * n as f64;
        let mut i = f as usize;
        if i >= n {
            i = n - 1;
        }
        if x < edges[i] && i > 0 {
            i -= 1;
        }
        if x >= edges[i + 1] && i != n - 1 {
            i += 1;
        }
        counts[i] += c;
    }
    (counts, edges)
}

/// Per-file trackers, by summary name.
#[derive(Default)]
struct FileStats {
    trackers: BTreeMap<String, FixedBuckets>,
    documents: u64,
    total_sum: f64,
    total_count: u64,
}

/// Reads one attribute file the way dolma's analyzer does.
fn scan_file(path: &str, filter: Option<&NameFilter>) -> Result<FileStats, Vec<String>> {
    let mut st = FileStats::default();
    let mut errors = Vec::new();
    let mut r = LineReader::open(&LocalStorage, path).map_err(|e| vec![e.to_string()])?;
    while let Some(next) = r.next_line() {
        let (line, text) = match next {
            Ok(x) => x,
            Err(e) => {
                let fatal = e.is_fatal();
                errors.push(e.to_string());
                if fatal {
                    break;
                }
                continue;
            }
        };
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("{path}:{line}: not JSON: {e}"));
                continue;
            }
        };
        let Some(attrs) = v.get("attributes").and_then(Value::as_object) else {
            errors.push(format!(
                "{path}:{line}: no `attributes` object; is this an attributes file?"
            ));
            continue;
        };
        for (name, spans) in attrs {
            if filter.is_some_and(|f| !f.matches(name)) {
                continue;
            }
            let Some(list) = spans.as_array() else {
                errors.push(format!(
                    "{path}:{line}: attribute `{name}` is not a list of [start, end, score] spans"
                ));
                continue;
            };
            let push = |st: &mut FileStats, length: PyNum, mut score: PyNum| {
                // fastText probabilities a hair above 1 are capped (dolma's fix).
                if name.contains("__label__") && score.f64() > 1.0 {
                    score = PyNum::Float(1.0);
                }
                st.total_sum += score.f64();
                st.total_count += 1;
                st.trackers
                    .entry(format!("{name}/score"))
                    .or_default()
                    .add_value(score);
                st.trackers
                    .entry(format!("{name}/length"))
                    .or_default()
                    .add_value(length);
            };
            if list.is_empty() {
                push(&mut st, PyNum::Int(0), PyNum::Float(0.0));
            }
            for s in list {
                let span = s.as_array().filter(|a| a.len() == 3).and_then(|a| {
                    Some((
                        PyNum::of_json(&a[0])?,
                        PyNum::of_json(&a[1])?,
                        PyNum::of_json(&a[2])?,
                    ))
                });
                match span {
                    Some((a, b, c)) if c.f64().is_finite() => push(&mut st, b - a, c),
                    _ => errors.push(format!(
                        "{path}:{line}: attribute `{name}`: bad span {s} (want [start, end, score])"
                    )),
                }
            }
        }
        st.documents += 1;
    }
    if let Err(e) = r.finish() {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(st)
    } else {
        Err(errors)
    }
}

/// What `loam stat` computed.
pub struct StatResult {
    /// Merged summaries, sorted by name.
    pub summaries: Vec<Summary>,
    /// Attribute files read.
    pub files: usize,
    /// Documents (lines) read.
    pub documents: u64,
    /// Sum of all scores (dolma's `total_sum`).
    pub total_sum: f64,
    /// Number of scores (dolma's `total_count`).
    pub total_count: u64,
}

/// Computes the summaries of a set of attribute files (dolma's `create_and_run_analyzer`
/// without the output).
pub fn compute(
    files: &[String],
    bins: usize,
    regex: Option<&str>,
    threads: usize,
) -> Result<StatResult, StatError> {
    let filter = regex
        .map(NameFilter::parse)
        .transpose()
        .map_err(StatError::Regex)?;
    let exec = Executor::new(threads)?;
    let per_file = exec.map(files, |f| scan_file(f, filter.as_ref()));
    let mut errors = Vec::new();
    let mut merged: BTreeMap<String, FixedBuckets> = BTreeMap::new();
    let (mut documents, mut total_sum, mut total_count) = (0u64, 0.0f64, 0u64);
    for r in per_file {
        match r {
            Err(e) => errors.extend(e),
            Ok(st) => {
                documents += st.documents;
                total_sum += st.total_sum;
                total_count += st.total_count;
                for (name, t) in &st.trackers {
                    // dolma writes each file's summary, then re-adds its bins (lower edges)
                    // with their counts into one tracker per name.
                    let (counts, edges) = t.summarize(bins);
                    let m = merged.entry(name.clone()).or_default();
                    for (v, c) in edges.iter().zip(&counts) {
                        m.add(*v, *c);
                    }
                    m.total += t.total;
                    m.sum = m.sum + t.sum;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(StatError::AttributeFiles { problems: errors });
    }
    let summaries = merged
        .iter()
        .map(|(name, t)| {
            let (counts, bins) = t.summarize(bins);
            Summary {
                name: name.clone(),
                counts,
                bins,
                total: t.total,
                sum: t.sum,
            }
        })
        .collect();
    Ok(StatResult {
        summaries,
        files: files.len(),
        documents,
        total_sum,
        total_count,
    })
}

/// Re-bins a summary for display (dolma shows 10 bins per attribute).
fn rebin(s: &Summary, n: usize) -> (Vec<u64>, Vec<f64>) {
    let mut t = FixedBuckets::default();
    for (v, c) in s.bins.iter().zip(&s.counts) {
        t.add(*v, *c);
    }
    t.summarize(n)
}

/// What `loam stat` prints: each summary re-binned to 10 bins (as dolma shows them), then
/// the totals.
pub fn format_summaries(r: &StatResult) -> String {
    let mut out = String::new();
    for s in &r.summaries {
        let (counts, bins) = rebin(s, 10);
        let total: u64 = counts.iter().sum();
        let _ = writeln!(out, "{}", s.name);
        let _ = writeln!(out, "  {:<32} {:>8} {:>12}", "value", "dist", "count");
        for (i, c) in counts.iter().enumerate() {
            let lo = bins.get(i).copied().unwrap_or(f64::NAN);
            let hi = bins.get(i + 1).copied().unwrap_or(f64::NAN);
            let close = if i + 1 == counts.len() { ']' } else { ')' };
            let range = format!("[{}, {}{close}", short(lo), short(hi));
            let dist = if total > 0 {
                *c as f64 / total as f64
            } else {
                0.0
            };
            let _ = writeln!(out, "  {range:<32} {dist:>8.4} {c:>12}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} summaries from {} documents in {} file(s); total count {}, total sum {:.4}",
        r.summaries.len(),
        r.documents,
        r.files,
        r.total_count,
        r.total_sum
    );
    out
}

fn short(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 1e-3 && x.abs() < 1e6 {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

/// Writes `<report>/summaries.jsonl.gz` (atomically).
pub fn write_summaries(report: &str, summaries: &[Summary]) -> Result<PathBuf, StatError> {
    let path = Path::new(report).join("summaries.jsonl.gz");
    let p = path.to_string_lossy().to_string();
    let mut w = loam_pipeline::writer::JsonlWriter::create(&LocalStorage, &p)?;
    for s in summaries {
        w.write(s)?;
    }
    w.finish()?;
    Ok(path)
}

/// Command-line overrides of the config (dolma accepts the same keys as flags).
pub struct StatArgs {
    /// `-c CONFIG`.
    pub config: Option<PathBuf>,
    /// `--attributes` (repeatable).
    pub attributes: Vec<String>,
    /// `--report DIR`.
    pub report: Option<String>,
    /// `--bins N`.
    pub bins: Option<usize>,
    /// `--regex R`.
    pub regex: Option<String>,
}

impl StatConfig {
    /// The config of `loam stat`: the file given with `-c` (or defaults), the command
    /// line's overrides applied, validated.
    pub fn resolve(args: StatArgs) -> Result<StatConfig, StatError> {
        let mut cfg = match &args.config {
            Some(p) => config::load::<StatConfig>(p)?.0,
            None => StatConfig {
                attributes: Vec::new(),
                report: None,
                bins: default_bins(),
                processes: None,
                seed: None,
                debug: None,
                work_dir: None,
                regex: None,
            },
        };
        if !args.attributes.is_empty() {
            cfg.attributes = args.attributes;
        }
        if args.report.is_some() {
            cfg.report = args.report;
        }
        if let Some(b) = args.bins {
            cfg.bins = b;
        }
        if args.regex.is_some() {
            cfg.regex = args.regex;
        }
        let mut problems = Problems::default();
        cfg.validate(&mut problems);
        if !problems.is_empty() {
            return Err(StatError::Invalid {
                problems: problems
                    .into_vec()
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect(),
            });
        }
        Ok(cfg)
    }

    /// The attribute files the config names (directories and globs expanded, sorted).
    pub fn files(&self) -> Result<Vec<String>, StatError> {
        loam_pipeline::layout::expand(&LocalStorage, &self.attributes)
            .map_err(StatError::Attributes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_python() {
        assert_eq!(frexp(0.0), (0.0, 0));
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(0.3), (0.6, -1));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        let tiny = f64::MIN_POSITIVE / 8.0;
        let (m, e) = frexp(tiny);
        assert_eq!(m * pow2(e), tiny);
        assert!((0.5..1.0).contains(&m));
    }

    #[test]
    fn few_values_keep_their_buckets_and_an_upper_edge() {
        let mut t = FixedBuckets::default();
        for v in [1.0, 2.0, 2.0, 0.0] {
            t.add(v, 1);
        }
        let (counts, bins) = t.summarize(1000);
        assert_eq!(counts, [1, 1, 2]);
        assert_eq!(bins, [0.0, 1.0, 2.0, 2.00004]);
    }

    #[test]
    fn many_values_use_numpy_equal_width_bins() {
        // numpy.histogram([0,1,2,3,4,5,6,7,8,9,10], bins=5) → [2,2,2,2,3], edges 0,2,…,10
        let a: Vec<f64> = (0..=10).map(f64::from).collect();
        let w = vec![1u64; a.len()];
        let (c, e) = np_histogram(&a, &w, 5);
        assert_eq!(c, [2, 2, 2, 2, 3]);
        assert_eq!(e, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        // One distinct value: range widened by 0.5 each side.
        let (c, e) = np_histogram(&[3.0], &[4], 2);
        assert_eq!(c, [0, 4]);
        assert_eq!(e, [2.5, 3.0, 3.5]);
    }

    #[test]
    fn name_filter_is_literal() {
        let f = NameFilter::parse("gopher|length").unwrap();
        assert!(f.matches("exp__gopher_v1__word_count"));
        assert!(!f.matches("exp__c4_v1__lines"));
        assert!(NameFilter::parse("gopher.*").is_err());
    }
}
