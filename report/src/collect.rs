//! Gathers what the report shows, streaming every file with memory bounded by the number
//! of attributes, rules and bins (plus one shard's ledger decisions, two bytes a document).
//!
//! Passes: (0) ledgers — counts per rule and the example documents (the smallest xxh3 of
//! the id per rule: deterministic, spread over the mix); attribute files — each numeric
//! attribute's range; (1) per shard, in parallel, results merged in shard order: attribute
//! files again (histogram bins split kept/removed, languages, the examples' spans), then
//! the documents (tokens per decision, sources, the examples' text).

use crate::svg::Scale;
use crate::Error;
use loam_manifests::Manifest;
use loam_mixes::ledger::{read_ledger, Decision};
use loam_mixes::rules::{attribute_value, Op, Rule};
use loam_pipeline::executor::Executor;
use loam_pipeline::reader::{DocumentReader, LineReader};
use loam_pipeline::storage::AnyStorage;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Histogram bins.
pub const BINS: usize = 30;
/// Example documents per rule.
pub const EXAMPLES: usize = 3;
/// Ledger code of a document with no ledger row.
const UNKNOWN: u16 = u16::MAX;

/// One input shard: its documents, aligned attribute files and ledger.
#[derive(Debug, Clone)]
pub struct Shard {
    /// Path relative to `documents/` (the key that aligns the files).
    pub rel: String,
    /// The documents file as listed in the manifest.
    pub listed: Option<String>,
    /// The documents file, when found.
    pub documents: Option<PathBuf>,
    /// Attribute files found.
    pub attributes: Vec<PathBuf>,
    /// Ledger file.
    pub ledger: Option<PathBuf>,
}

/// What the report knows about one mix.
#[derive(Debug, Default)]
pub struct MixData {
    /// The directory given.
    pub dir: PathBuf,
    /// Its manifest (absent for dolma-made trees).
    pub manifest: Option<Manifest>,
    /// Drop rules from the manifest's normalized config, in order.
    pub rules: Vec<Rule>,
    /// Things the reader should know (missing files, inconsistencies).
    pub notes: Vec<String>,
    /// Rule names by ledger code - 1 (config order, then others as met).
    pub codes: Vec<String>,
    /// Ledger decision of each code.
    pub code_decision: Vec<Decision>,
    /// Whether any ledger was read.
    pub has_ledger: bool,
    /// Whether the document files were read.
    pub has_documents: bool,
    /// Documents per ledger code (index 0: kept).
    pub docs_by_code: Vec<u64>,
    /// Whitespace tokens per ledger code (index 0: kept).
    pub tokens_by_code: Vec<u64>,
    /// Documents per source: (documents, duplicates, removed by any rule).
    pub sources: BTreeMap<String, (u64, u64, u64)>,
    /// Numeric attribute histograms.
    pub histograms: Vec<Histogram>,
    /// Language taggers: group → label → (documents, kept).
    pub languages: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    /// Example documents per rule.
    pub examples: BTreeMap<String, Vec<Example>>,
    /// Shards.
    pub shards: Vec<Shard>,
    /// Per ledger file: ledger code per line (only kept while comparing two mixes).
    pub ledger_paths: BTreeMap<String, PathBuf>,
}

/// One attribute's histogram.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// Full attribute name.
    pub attribute: String,
    /// Documents that have a value.
    pub documents: u64,
    /// Documents whose value has several spans (the first span's score is used).
    pub multi_span: u64,
    /// Smallest and largest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Bin scale.
    pub scale: Scale,
    /// Kept documents per bin.
    pub kept: Vec<u64>,
    /// Removed documents per bin.
    pub removed: Vec<u64>,
}

/// A removed document shown as an example.
#[derive(Debug, Clone)]
pub struct Example {
    /// Document id.
    pub id: String,
    /// Documents file.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// The value the rule saw.
    pub value: Option<f64>,
    /// Its threshold.
    pub threshold: Option<f64>,
    /// The rule's attribute spans in the document (code points).
    pub spans: Vec<(usize, usize, f64)>,
    /// The document's text (`None` when the documents file was not found).
    pub text: Option<String>,
    /// Characters in the text.
    pub chars: usize,
    /// Hash that chose it.
    hash: u64,
}

#[derive(Deserialize)]
struct AttrLine {
    #[serde(default)]
    attributes: Map<String, Value>,
}

/// Splits `<experiment>__<tagger>__<signal>`.
pub fn split_key(key: &str) -> Option<(&str, &str, &str)> {
    let mut it = key.splitn(3, "__");
    Some((it.next()?, it.next()?, it.next()?))
}

/// Whether an attribute comes from a language-ID tagger.
pub fn is_language_key(key: &str) -> bool {
    split_key(key).is_some_and(|(_, t, _)| t.contains("lang"))
}

/// Finds files the manifest lists relative to the directory the run started in.
pub struct Resolver {
    bases: Vec<PathBuf>,
}

impl Resolver {
    /// Bases: the current directory, then the mix directory's ancestors.
    pub fn new(mix_dir: &Path) -> Resolver {
        let mut bases = vec![PathBuf::new()];
        if let Ok(abs) = std::fs::canonicalize(mix_dir) {
            bases.extend(abs.ancestors().map(Path::to_path_buf));
        }
        Resolver { bases }
    }

    /// The file, if it exists under one of the bases (or, for an object-store URL, there).
    pub fn find(&self, listed: &str) -> Option<PathBuf> {
        let p = Path::new(listed);
        if crate::mixdir::is_remote(listed) {
            return is_file(p).then(|| p.to_path_buf());
        }
        if p.is_absolute() {
            return p.is_file().then(|| p.to_path_buf());
        }
        self.bases.iter().map(|b| b.join(p)).find(|c| c.is_file())
    }
}

/// Whether a file exists, on local disk or in an object store.
fn is_file(p: &Path) -> bool {
    let loc = p.to_string_lossy();
    if crate::mixdir::is_remote(&loc) {
        use loam_pipeline::storage::Storage;
        return matches!(AnyStorage.size(&loc), Ok(Some(_)));
    }
    p.is_file()
}

/// `…/attributes/<name>/<rel>` → `<rel>`.
pub fn attribute_rel(path: &str) -> Option<&str> {
    let rest = match path.rfind("/attributes/") {
        Some(i) => path.get(i + "/attributes/".len()..)?,
        None => path.strip_prefix("attributes/")?,
    };
    rest.split_once('/').map(|(_, rel)| rel)
}

fn documents_rel(path: &str) -> &str {
    loam_pipeline::layout::relative_to_documents(path).unwrap_or_else(|_| {
        Path::new(path)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or(path)
    })
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let s = dir.to_string_lossy().to_string();
    use loam_pipeline::storage::Storage;
    AnyStorage
        .list(&s)
        .map(|v| v.into_iter().map(|o| PathBuf::from(o.path)).collect())
        .unwrap_or_default()
}

fn shard_mut<'a>(by_rel: &'a mut BTreeMap<String, Shard>, rel: &str) -> &'a mut Shard {
    by_rel.entry(rel.to_string()).or_insert_with(|| Shard {
        rel: rel.to_string(),
        listed: None,
        documents: None,
        attributes: Vec::new(),
        ledger: None,
    })
}

/// Shards of a mix with a manifest.
fn shards_from_manifest(m: &Manifest, dir: &Path, notes: &mut Vec<String>) -> Vec<Shard> {
    let mut res = Resolver::new(dir);
    if !crate::mixdir::is_remote(&dir.to_string_lossy()) {
        if let Some(root) = m.run.input_root(dir) {
            // The run's recorded working directory comes first.
            res.bases.insert(0, root);
        }
    }
    let mut by_rel: BTreeMap<String, Shard> = BTreeMap::new();
    let mut missing = Vec::new();
    for i in &m.inputs {
        let found = res.find(&i.path);
        if found.is_none() {
            missing.push(i.path.clone());
        }
        match i.role {
            loam_manifests::InputRole::Documents => {
                // Keyed by the attribute files' name (a Parquet shard's are `.jsonl.gz`).
                let rel = loam_pipeline::layout::attribute_rel(documents_rel(&i.path));
                let s = shard_mut(&mut by_rel, &rel);
                s.listed = Some(i.path.clone());
                s.documents = found;
            }
            loam_manifests::InputRole::Attributes => {
                let rel = attribute_rel(&i.path).unwrap_or_else(|| documents_rel(&i.path));
                let s = shard_mut(&mut by_rel, rel);
                if let Some(p) = found {
                    s.attributes.push(p);
                }
            }
            loam_manifests::InputRole::Warc => {}
        }
    }
    for o in &m.outputs {
        if o.kind != loam_manifests::OutputKind::Ledger {
            continue;
        }
        let rel = o.path.strip_prefix("ledger/").unwrap_or(&o.path);
        let rel = rel.strip_suffix(".parquet").unwrap_or(rel);
        let rel = loam_pipeline::layout::attribute_rel(rel);
        let p = dir.join(&o.path);
        if is_file(&p) {
            shard_mut(&mut by_rel, &rel).ledger = Some(p);
        } else {
            missing.push(p.display().to_string());
        }
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{} file(s) listed in the manifest were not found (paths are relative to the \
             directory the run started in; tried the current directory and the mix \
             directory's parents), e.g. {}; the parts of the report that need them are \
             left out.",
            missing.len(),
            missing
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    by_rel.into_values().collect()
}

/// Shards of a dolma tree: `documents/**` and `attributes/<name>/**`, or attribute files
/// given directly.
fn shards_from_tree(dir: &Path) -> Vec<Shard> {
    let mut by_rel: BTreeMap<String, Shard> = BTreeMap::new();
    let new = |rel: &str| Shard {
        rel: rel.to_string(),
        listed: None,
        documents: None,
        attributes: Vec::new(),
        ledger: None,
    };
    let attr_dir = dir.join("attributes");
    let docs_dir = dir.join("documents");
    if attr_dir.is_dir() || docs_dir.is_dir() {
        for p in list_files(&docs_dir) {
            let s = p.to_string_lossy().to_string();
            let rel = loam_pipeline::layout::attribute_rel(documents_rel(&s)).into_owned();
            let sh = by_rel.entry(rel.clone()).or_insert_with(|| new(&rel));
            sh.listed = Some(s);
            sh.documents = Some(p);
        }
        for p in list_files(&attr_dir) {
            let s = p.to_string_lossy().to_string();
            if let Some(rel) = attribute_rel(&s) {
                let rel = rel.to_string();
                by_rel
                    .entry(rel.clone())
                    .or_insert_with(|| new(&rel))
                    .attributes
                    .push(p);
            }
        }
    } else {
        // A directory of attribute files (one experiment).
        for p in list_files(dir) {
            let rel = p
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().to_string())
                .unwrap_or_default();
            by_rel
                .entry(rel.clone())
                .or_insert_with(|| new(&rel))
                .attributes
                .push(p);
        }
    }
    by_rel.into_values().collect()
}

fn rules_of(m: &Manifest, notes: &mut Vec<String>) -> Vec<Rule> {
    let Some(drop) = m.config.normalized.get("mix").and_then(|x| x.get("drop")) else {
        return Vec::new();
    };
    match serde_json::from_value::<Vec<Rule>>(drop.clone()) {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!(
                "the config's mix.drop rules could not be read: {e}"
            ));
            Vec::new()
        }
    }
}

fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), 0x6c6f_616d)
}

#[derive(Default, Clone, Copy)]
struct Range {
    n: u64,
    multi: u64,
    min: f64,
    max: f64,
}

fn first_score(v: &Value) -> Option<(f64, usize)> {
    let x = attribute_value(v)?;
    let spans = v.as_array().map_or(1, Vec::len);
    x.is_finite().then_some((x, spans))
}

/// Reads an attribute file line by line; `f(line, attributes)`. Problems are returned.
fn each_attr_line(path: &Path, mut f: impl FnMut(u64, &Map<String, Value>)) -> Vec<String> {
    let p = path.to_string_lossy().to_string();
    let mut problems = Vec::new();
    let mut r = match LineReader::open(&AnyStorage, &p) {
        Ok(r) => r,
        Err(e) => return vec![e.to_string()],
    };
    while let Some(next) = r.next_line() {
        match next {
            Ok((line, text)) => match serde_json::from_str::<AttrLine>(text) {
                Ok(a) => f(line, &a.attributes),
                Err(e) => problems.push(format!("{p}:{line}: not an attribute line: {e}")),
            },
            Err(e) => {
                let fatal = e.is_fatal();
                problems.push(e.to_string());
                if fatal {
                    break;
                }
            }
        }
    }
    problems
}

fn language_of(signals: &BTreeMap<&str, f64>) -> Option<String> {
    let doc: BTreeMap<&str, f64> = signals
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("doc_").map(|k| (k, *v)))
        .filter(|(k, _)| !k.starts_with("not_"))
        .collect();
    let plain: BTreeMap<&str, f64> = signals
        .iter()
        .filter(|(k, _)| !k.starts_with("doc_") && !k.starts_with("not_"))
        .map(|(k, v)| (*k, *v))
        .collect();
    let use_ = if doc.is_empty() { plain } else { doc };
    if use_.len() == 1 {
        let (l, s) = use_.iter().next()?;
        return Some(if *s >= 0.5 {
            (*l).to_string()
        } else {
            format!("not {l} ({l} < 0.5)")
        });
    }
    let mut best: Option<(&str, f64)> = None;
    for (l, s) in &use_ {
        if best.is_none_or(|(_, b)| *s > b) {
            best = Some((l, *s));
        }
    }
    best.map(|(l, _)| l.to_string())
}

/// A language signal's document score: the first span's for one span, else the
/// length-weighted mean of the spans.
fn language_score(v: &Value) -> Option<f64> {
    let spans = v.as_array()?;
    if spans.len() <= 1 {
        return attribute_value(v);
    }
    let (mut num, mut den) = (0.0, 0.0);
    for s in spans {
        let a = s.as_array()?;
        let len = (a.get(1)?.as_f64()? - a.first()?.as_f64()?).max(0.0);
        num += len * a.get(2)?.as_f64()?;
        den += len;
    }
    (den > 0.0).then(|| num / den)
}

/// A rule attribute's spans in one document: `(start, end, score)`.
type Spans = Vec<(usize, usize, f64)>;

/// Per-shard results of pass 1.
#[derive(Default)]
struct ShardOut {
    problems: Vec<String>,
    kept: BTreeMap<String, Vec<u64>>,
    removed: BTreeMap<String, Vec<u64>>,
    languages: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    docs_by_code: Vec<u64>,
    tokens_by_code: Vec<u64>,
    sources: BTreeMap<String, (u64, u64, u64)>,
    /// (rule, line) → spans, text
    spans: BTreeMap<(String, u64), Spans>,
    texts: BTreeMap<u64, (String, usize)>,
    read_documents: bool,
}

/// Collects everything for one mix directory.
pub fn collect(dir: &Path, threads: usize) -> Result<MixData, Error> {
    let mut d = MixData {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    // A mix in an object store is read through its manifest (a bucket has no directories).
    let remote = crate::mixdir::is_remote(&dir.to_string_lossy());
    let manifest_path = if dir.is_file() || (remote && dir.to_string_lossy().ends_with(".json")) {
        dir.to_path_buf()
    } else {
        dir.join("manifest.json")
    };
    if remote || manifest_path.is_file() {
        let (m, mdir) = crate::mixdir::load_manifest(&manifest_path)?;
        d.dir = mdir.clone();
        d.rules = rules_of(&m, &mut d.notes);
        d.shards = shards_from_manifest(&m, &mdir, &mut d.notes);
        for o in &m.outputs {
            if o.kind == loam_manifests::OutputKind::Ledger {
                d.ledger_paths.insert(o.path.clone(), mdir.join(&o.path));
            }
        }
        d.manifest = Some(m);
    } else {
        d.shards = shards_from_tree(dir);
    }
    for r in &d.rules {
        d.codes.push(r.rule.clone());
        d.code_decision.push(Decision::Dropped);
    }
    // Pass 0a: ledgers — codes, counts, example candidates.
    let mut cands: BTreeMap<String, BTreeSet<(u64, usize, u64, String)>> = BTreeMap::new();
    let mut values: BTreeMap<(usize, u64), (Option<f64>, Option<f64>)> = BTreeMap::new();
    for (si, sh) in d.shards.iter().enumerate() {
        let Some(lp) = &sh.ledger else { continue };
        d.has_ledger = true;
        let codes = &mut d.codes;
        let decisions = &mut d.code_decision;
        read_ledger(lp, |row| {
            // Edited documents are in the mix: the report's "removed" figures leave them out.
            if row.decision.in_mix() {
                return;
            }
            let name = row
                .rule
                .clone()
                .unwrap_or_else(|| row.decision.as_str().to_string());
            if !codes.contains(&name) {
                codes.push(name.clone());
                decisions.push(row.decision);
            } else if let Some(i) = codes.iter().position(|c| *c == name) {
                decisions[i] = row.decision;
            }
            let set = cands.entry(name).or_default();
            let key = (id_hash(&row.id), si, row.line, row.id.clone());
            if set.len() < EXAMPLES || set.last().is_some_and(|l| key < *l) {
                set.insert(key);
                values.insert((si, row.line), (row.value, row.threshold));
                if set.len() > EXAMPLES {
                    set.pop_last();
                }
            }
        })?;
    }
    // Pass 0b: attribute ranges.
    let attr_files: Vec<PathBuf> = d
        .shards
        .iter()
        .flat_map(|s| s.attributes.iter().cloned())
        .collect();
    let exec = Executor::new(threads)?;
    let rule_attrs: BTreeSet<&str> = d.rules.iter().map(|r| r.attribute.as_str()).collect();
    let ranges_per_file = exec.map(&attr_files, |p| {
        let mut ranges: BTreeMap<String, Range> = BTreeMap::new();
        let problems = each_attr_line(p, |_, attrs| {
            for (k, v) in attrs {
                if is_language_key(k) && !rule_attrs.contains(k.as_str()) {
                    continue;
                }
                if let Some((x, spans)) = first_score(v) {
                    let r = ranges.entry(k.clone()).or_insert(Range {
                        n: 0,
                        multi: 0,
                        min: x,
                        max: x,
                    });
                    r.n += 1;
                    r.multi += u64::from(spans > 1);
                    r.min = r.min.min(x);
                    r.max = r.max.max(x);
                }
            }
        });
        (ranges, problems)
    });
    let mut ranges: BTreeMap<String, Range> = BTreeMap::new();
    for (rs, problems) in ranges_per_file {
        d.notes.extend(problems.into_iter().take(5));
        for (k, r) in rs {
            let e = ranges.entry(k).or_insert(Range {
                n: 0,
                multi: 0,
                min: r.min,
                max: r.max,
            });
            e.n += r.n;
            e.multi += r.multi;
            e.min = e.min.min(r.min);
            e.max = e.max.max(r.max);
        }
    }
    // Scales: include thresholds; log for long-tailed non-negative values.
    let mut scales: BTreeMap<String, Scale> = BTreeMap::new();
    for (k, r) in &ranges {
        let (mut lo, mut hi) = (r.min, r.max);
        for rule in d.rules.iter().filter(|x| x.attribute == *k) {
            if let Some(t) = rule.value {
                lo = lo.min(t);
                hi = hi.max(t);
            }
        }
        if lo == hi {
            lo -= 0.5;
            hi += 0.5;
        }
        let log = lo >= 0.0 && hi >= 1000.0;
        scales.insert(k.clone(), Scale { lo, hi, log });
    }
    // Example targets per shard: line → [(rule, attribute)].
    let mut targets: Vec<BTreeMap<u64, Vec<(String, String)>>> =
        vec![BTreeMap::new(); d.shards.len()];
    for (rule, set) in &cands {
        let attr = d
            .rules
            .iter()
            .find(|r| r.rule == *rule)
            .map(|r| r.attribute.clone())
            .unwrap_or_default();
        for (_, si, line, _) in set {
            targets[*si]
                .entry(*line)
                .or_default()
                .push((rule.clone(), attr.clone()));
        }
    }
    let ncodes = d.codes.len() + 1;
    let code_of: BTreeMap<String, u16> = d
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), (i + 1) as u16))
        .collect();
    let dup_codes: BTreeSet<u16> = d
        .code_decision
        .iter()
        .enumerate()
        .filter(|(_, x)| **x == Decision::Duplicate)
        .map(|(i, _)| (i + 1) as u16)
        .collect();
    // Pass 1, per shard.
    let idx: Vec<usize> = (0..d.shards.len()).collect();
    let shards = &d.shards;
    let outs = exec.map(&idx, |&si| {
        let sh = &shards[si];
        let mut out = ShardOut {
            docs_by_code: vec![0; ncodes],
            tokens_by_code: vec![0; ncodes],
            ..Default::default()
        };
        let mut codes: Vec<u16> = Vec::new();
        if let Some(lp) = &sh.ledger {
            let r = read_ledger(lp, |row| {
                let i = (row.line.max(1) - 1) as usize;
                if codes.len() <= i {
                    codes.resize(i + 1, UNKNOWN);
                }
                codes[i] = if row.decision.in_mix() {
                    0
                } else {
                    let name = row
                        .rule
                        .clone()
                        .unwrap_or_else(|| row.decision.as_str().to_string());
                    code_of.get(&name).copied().unwrap_or(UNKNOWN)
                };
            });
            if let Err(e) = r {
                out.problems.push(e.to_string());
            }
        }
        let code = |line: u64| -> u16 {
            codes
                .get((line.max(1) - 1) as usize)
                .copied()
                .unwrap_or(UNKNOWN)
        };
        let want = &targets[si];
        for ap in &sh.attributes {
            let problems = each_attr_line(ap, |line, attrs| {
                let c = code(line);
                let removed = c != 0 && c != UNKNOWN;
                let mut lang: BTreeMap<String, BTreeMap<&str, f64>> = BTreeMap::new();
                for (k, v) in attrs {
                    if let Some(sc) = scales.get(k) {
                        if let Some((x, _)) = first_score(v) {
                            let b = sc.bin(x, BINS);
                            let map = if removed {
                                &mut out.removed
                            } else {
                                &mut out.kept
                            };
                            map.entry(k.clone()).or_insert_with(|| vec![0; BINS])[b] += 1;
                        }
                    }
                    if is_language_key(k) {
                        if let (Some((e, t, sig)), Some(s)) = (split_key(k), language_score(v)) {
                            lang.entry(format!("{e}__{t}")).or_default().insert(sig, s);
                        }
                    }
                }
                for (g, sigs) in lang {
                    if let Some(l) = language_of(&sigs) {
                        let e = out.languages.entry(g).or_default().entry(l).or_default();
                        e.0 += 1;
                        e.1 += u64::from(c == 0 || c == UNKNOWN);
                    }
                }
                if let Some(ts) = want.get(&line) {
                    for (rule, attr) in ts {
                        if let Some(spans) = attrs.get(attr).and_then(Value::as_array) {
                            let v: Vec<(usize, usize, f64)> = spans
                                .iter()
                                .filter_map(|s| {
                                    let a = s.as_array()?;
                                    Some((
                                        a.first()?.as_u64()? as usize,
                                        a.get(1)?.as_u64()? as usize,
                                        a.get(2)?.as_f64().unwrap_or(f64::NAN),
                                    ))
                                })
                                .collect();
                            out.spans.insert((rule.clone(), line), v);
                        }
                    }
                }
            });
            out.problems.extend(problems);
        }
        if let Some(dp) = &sh.documents {
            let p = dp.to_string_lossy().to_string();
            match DocumentReader::open(&AnyStorage, &p) {
                Err(e) => out.problems.push(e.to_string()),
                Ok(mut r) => {
                    out.read_documents = true;
                    while let Some(next) = r.next_document() {
                        let (line, doc) = match next {
                            Ok(x) => x,
                            Err(e) => {
                                let fatal = e.is_fatal();
                                out.problems.push(e.to_string());
                                if fatal {
                                    break;
                                }
                                continue;
                            }
                        };
                        let c = code(line);
                        let ci = if c == UNKNOWN { 0 } else { c as usize };
                        let toks = loam_mixes::mix::whitespace_tokens(&doc.text);
                        if ci < ncodes {
                            out.docs_by_code[ci] += 1;
                            out.tokens_by_code[ci] += toks;
                        }
                        let src = doc.source().unwrap_or(&sh.rel).to_string();
                        let e = out.sources.entry(src).or_default();
                        e.0 += 1;
                        e.1 += u64::from(dup_codes.contains(&c));
                        e.2 += u64::from(c != 0 && c != UNKNOWN);
                        if want.contains_key(&line) {
                            let chars = doc.text.chars().count();
                            out.texts.insert(line, (doc.text, chars));
                        }
                    }
                }
            }
        } else if sh.ledger.is_some() {
            // No documents: count decisions from the ledger alone.
            for &c in &codes {
                let ci = if c == UNKNOWN { 0 } else { c as usize };
                if ci < ncodes {
                    out.docs_by_code[ci] += 1;
                }
                let e = out.sources.entry(sh.rel.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(dup_codes.contains(&c));
                e.2 += u64::from(c != 0 && c != UNKNOWN);
            }
        }
        out
    });
    d.docs_by_code = vec![0; ncodes];
    d.tokens_by_code = vec![0; ncodes];
    let mut kept: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut removed: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut any_docs = false;
    let mut spans_all: BTreeMap<(String, usize, u64), Spans> = BTreeMap::new();
    let mut texts_all: BTreeMap<(usize, u64), (String, usize)> = BTreeMap::new();
    for (si, o) in outs.into_iter().enumerate() {
        problems.extend(o.problems);
        any_docs |= o.read_documents;
        for i in 0..ncodes {
            d.docs_by_code[i] += o.docs_by_code[i];
            d.tokens_by_code[i] += o.tokens_by_code[i];
        }
        for (k, v) in o.kept {
            let e = kept.entry(k).or_insert_with(|| vec![0; BINS]);
            e.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (k, v) in o.removed {
            let e = removed.entry(k).or_insert_with(|| vec![0; BINS]);
            e.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (g, m) in o.languages {
            let ge = d.languages.entry(g).or_default();
            for (l, (a, b)) in m {
                let e = ge.entry(l).or_default();
                e.0 += a;
                e.1 += b;
            }
        }
        for (s, (a, b, c)) in o.sources {
            let e = d.sources.entry(s).or_default();
            e.0 += a;
            e.1 += b;
            e.2 += c;
        }
        for ((rule, line), v) in o.spans {
            spans_all.insert((rule, si, line), v);
        }
        for (line, t) in o.texts {
            texts_all.insert((si, line), t);
        }
    }
    d.has_documents = any_docs;
    if !problems.is_empty() {
        let n = problems.len();
        d.notes.push(format!(
            "{n} problem(s) while reading: {}{}",
            problems
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
            if n > 5 { "; …" } else { "" }
        ));
    }
    // Histograms: rule attributes first (config order), then the others by name.
    let mut order: Vec<String> = Vec::new();
    for r in &d.rules {
        if ranges.contains_key(&r.attribute) && !order.contains(&r.attribute) {
            order.push(r.attribute.clone());
        }
    }
    for k in ranges.keys() {
        if !order.contains(k) {
            order.push(k.clone());
        }
    }
    for k in order {
        let r = ranges[&k];
        d.histograms.push(Histogram {
            attribute: k.clone(),
            documents: r.n,
            multi_span: r.multi,
            min: r.min,
            max: r.max,
            scale: scales[&k],
            kept: kept.remove(&k).unwrap_or_else(|| vec![0; BINS]),
            removed: removed.remove(&k).unwrap_or_else(|| vec![0; BINS]),
        });
    }
    // Examples.
    for (rule, set) in cands {
        let mut v = Vec::new();
        for (hash, si, line, id) in set {
            let (value, threshold) = values.get(&(si, line)).copied().unwrap_or((None, None));
            let spans = spans_all
                .remove(&(rule.clone(), si, line))
                .unwrap_or_default();
            let (text, chars) = match texts_all.get(&(si, line)) {
                Some((t, c)) => (Some(t.clone()), *c),
                None => (None, 0),
            };
            let sh = &d.shards[si];
            v.push(Example {
                id,
                file: sh.listed.clone().unwrap_or_else(|| sh.rel.clone()),
                line,
                value,
                threshold,
                spans,
                text,
                chars,
                hash,
            });
        }
        v.sort_by(|a, b| (a.hash, &a.file, a.line).cmp(&(b.hash, &b.file, b.line)));
        d.examples.insert(rule, v);
    }
    Ok(d)
}

/// `lt` → `<`, …
pub fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "≤",
        Op::Gt => ">",
        Op::Ge => "≥",
        Op::Eq => "=",
        Op::Ne => "≠",
        Op::Exists => "exists",
    }
}

/// Per-shard decision labels of a ledger (`kept`, `dropped:rule`, …), by 0-based line.
pub fn ledger_labels(path: &Path) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    read_ledger(path, |r| {
        let i = (r.line.max(1) - 1) as usize;
        if out.len() <= i {
            out.resize(i + 1, String::new());
        }
        out[i] = match (r.decision, r.rule) {
            (Decision::Kept, _) => "kept".into(),
            (d, Some(rule)) => format!("{}: {rule}", d.as_str()),
            (d, None) => d.as_str().into(),
        };
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        let m: BTreeMap<&str, f64> = [("en", 0.9), ("fr", 0.05)].into_iter().collect();
        assert_eq!(language_of(&m).as_deref(), Some("en"));
        let m: BTreeMap<&str, f64> = [("en", 0.2), ("not_en", 0.8)].into_iter().collect();
        assert_eq!(language_of(&m).as_deref(), Some("not en (en < 0.5)"));
        let m: BTreeMap<&str, f64> = [("en", 0.9), ("doc_en", 0.3), ("doc_de", 0.6)]
            .into_iter()
            .collect();
        assert_eq!(language_of(&m).as_deref(), Some("de"));
    }

    #[test]
    fn attribute_paths_align_with_documents() {
        assert_eq!(
            attribute_rel("out/q/attributes/exp/sub/a.jsonl.gz"),
            Some("sub/a.jsonl.gz")
        );
        assert_eq!(
            documents_rel("x/documents/sub/a.jsonl.gz"),
            "sub/a.jsonl.gz"
        );
        assert!(is_language_key("e__ft_lang_id_doc_v1__en"));
        assert!(!is_language_key("e__gopher_v1__word_count"));
    }
}
