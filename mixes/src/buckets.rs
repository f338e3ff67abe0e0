//! Quality buckets and per-bucket rates (`mix.buckets` of loam's pipeline file): the documents
//! that pass every rule are split, per group (e.g. a topic), into buckets by token-weighted
//! quantiles of a score, and each bucket is written at its own rate — Dolma 3's quality
//! vigintiles per WebOrganizer topic, upsampled from 0× to 7×.
//!
//! Two passes over the mix's inputs:
//! 1. a counting pass (the engine's dry run) collects each eligible document's group, score,
//!    key, weight and draw ([`BucketDoc`]); [`Plan::compute`] sorts each group by
//!    **(score, id, file, line)** — `file` is the input's name in `metadata.provenance` (its
//!    path below `documents/`) and `line` is 1-based — so ties in score are broken by the
//!    document id, then its place, and the order never depends on threads or tasks. With
//!    `count: N` the cuts are at `k/N` of the group's weight, with `percentiles` at `p/100`.
//!    A document is in bucket `k` when the weight of the documents before it in that order
//!    is at least cut `k` (and below cut `k + 1`): breakpoint `k` is the first document of
//!    bucket `k + 1`. Then each bucket's target is `rate × its weight` (rounded), and
//!    [`Sampling::for_budget`] turns it into whole copies for every document plus one more
//!    for the documents whose seeded draw (of the id and line) is below a threshold chosen,
//!    in draw order, to reach the target: what is written is at least the target and less
//!    than the target plus one document.
//! 2. the mix pass finds each document's bucket by comparing its (score, id, file, line) with
//!    the breakpoints and writes its copies in its place in the output (copies are adjacent).
//!
//! A document with no score is dropped under the rule `bucket:missing-score`; one a bucket's
//! rate leaves out under `bucket:<group>/<k>` (`all` without grouping). With `sample`, the
//! breakpoints come from a seeded reservoir per group — the `size` documents with the smallest
//! hash of (seed, id, file, line), the same set whatever the order they are read in — while
//! targets still weigh every document.

use crate::mix::Sampling;
use crate::rules::attribute_value;
use loam_manifests::{
    BreakpointRecord, BucketGroupRecord, BucketRecord, BucketSampleRecord, BucketsRecord,
    RuleCounts,
};
use loam_pipeline::config::{index, is_dotted_path, join, Problems};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Largest `count` (and number of buckets).
pub const MAX_BUCKETS: usize = 1000;
/// Largest rate.
pub const MAX_RATE: f64 = 1000.0;
/// The rule of documents without a score.
pub const MISSING_SCORE_RULE: &str = "bucket:missing-score";
/// The group of every document when there is no `group`.
pub const ALL_GROUP: &str = "all";
/// The group of a document without the group's field or attribute.
pub const NO_GROUP: &str = "(none)";

/// `mix.buckets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketsConfig {
    /// The score: an attribute name, as the mix's rules name attributes
    /// (`<experiment>__<tagger>__<signal>`); its value is the first span's score.
    pub score: String,
    /// Buckets per group: `{field: metadata.topic}` or `{attribute: <name>}`; absent: one
    /// group, `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupBy>,
    /// `N` buckets of equal weight (cuts at `k/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Cuts at these percentiles of the weight (increasing, in (0, 100)): one more bucket
    /// than cuts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentiles: Option<Vec<f64>>,
    /// What quantiles and targets weigh.
    #[serde(default)]
    pub weight: Weight,
    /// Copies per document of each bucket, lowest bucket first (0 drops, fractions draw).
    pub rates: Vec<f64>,
    /// Breakpoints from a seeded reservoir instead of every document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleConfig>,
    /// Write each written copy's bucket, `<group>/<k>`, into this dotted document field
    /// (`metadata.bucket`): `loam reshard --partition-by` then splits the mix into
    /// `<group>/<k>/` directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What documents are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupBy {
    /// A document field, as a dotted path (`metadata.topic`; a leading `$.` is allowed); a
    /// string, number or boolean value names the group.
    Field(String),
    /// An attribute: its value (the first span's score, integers written without a
    /// fraction) names the group; a name ending in `__` (`exp__topic__`) takes the attribute
    /// with that prefix whose value is largest (ties: the first name) and names the group
    /// by the rest of its name — the argmax label of a classifier.
    Attribute(String),
}

/// What quantiles and targets weigh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    /// Tokens, as the mix's `tokenizer` counts them.
    #[default]
    Tokens,
    /// Documents.
    Documents,
}

impl Weight {
    /// The name in configs and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Weight::Tokens => "tokens",
            Weight::Documents => "documents",
        }
    }
}

/// `mix.buckets.sample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Largest sample per group.
    pub size: u64,
    /// Seed of the reservoir's hash.
    #[serde(default)]
    pub seed: u64,
}

impl BucketsConfig {
    /// Buckets per group.
    pub fn buckets(&self) -> usize {
        match (&self.count, &self.percentiles) {
            (Some(n), _) => *n as usize,
            (None, Some(p)) => p.len() + 1,
            (None, None) => 0,
        }
    }

    /// The cuts, as fractions of a group's weight (`buckets() - 1` of them).
    pub fn cuts(&self) -> Vec<f64> {
        match (&self.count, &self.percentiles) {
            (Some(n), _) => (1..*n).map(|k| f64::from(k) / f64::from(*n)).collect(),
            (None, Some(p)) => p.iter().map(|x| x / 100.0).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Checks the section; `at` is its field path (`mix.buckets`).
    pub fn validate(&self, at: &str, p: &mut Problems) {
        if self.score.trim().is_empty() {
            p.push(join(at, "score"), "empty attribute name");
        }
        if let Some(f) = &self.field {
            if !is_dotted_path(f) || f == "text" || f == "id" {
                p.push(
                    join(at, "field"),
                    "expected a dotted field path other than `text` and `id`, such as `metadata.bucket`",
                );
            }
        }
        match &self.group {
            Some(GroupBy::Field(f)) => {
                let f = f.strip_prefix("$.").unwrap_or(f);
                if !is_dotted_path(f) {
                    p.push(
                        join(&join(at, "group"), "field"),
                        "expected a dotted field path such as `metadata.topic`",
                    );
                }
            }
            Some(GroupBy::Attribute(a)) if a.trim().is_empty() => p.push(
                join(&join(at, "group"), "attribute"),
                "empty attribute name",
            ),
            _ => {}
        }
        match (&self.count, &self.percentiles) {
            (Some(_), Some(_)) => p.push(at, "give `count` or `percentiles`, not both"),
            (None, None) => p.push(at, "give `count` (equal buckets) or `percentiles`"),
            (Some(n), None) if *n == 0 || *n as usize > MAX_BUCKETS => p.push(
                join(at, "count"),
                format!("must be between 1 and {MAX_BUCKETS}"),
            ),
            (None, Some(ps)) => {
                if ps.len() >= MAX_BUCKETS {
                    p.push(
                        join(at, "percentiles"),
                        format!("at most {} cuts", MAX_BUCKETS - 1),
                    );
                }
                for (i, x) in ps.iter().enumerate() {
                    if !(x.is_finite() && *x > 0.0 && *x < 100.0) {
                        p.push(index(&join(at, "percentiles"), i), "must be in (0, 100)");
                    } else if i > 0 && ps[i - 1] >= *x {
                        p.push(
                            index(&join(at, "percentiles"), i),
                            "percentiles must increase",
                        );
                    }
                }
            }
            _ => {}
        }
        let n = self.buckets();
        if n > 0 && self.rates.len() != n {
            p.push(
                join(at, "rates"),
                format!(
                    "{} rate(s) for {n} bucket(s): give one rate per bucket",
                    self.rates.len()
                ),
            );
        }
        for (i, r) in self.rates.iter().enumerate() {
            if !(r.is_finite() && *r >= 0.0 && *r <= MAX_RATE) {
                p.push(
                    index(&join(at, "rates"), i),
                    format!("must be a number in [0, {MAX_RATE}]"),
                );
            }
        }
        if let Some(s) = &self.sample {
            if s.size == 0 {
                p.push(join(&join(at, "sample"), "size"), "must be positive");
            }
        }
    }

    /// The attributes the section reads (the score, and the group's when it is one):
    /// (field path, name).
    pub fn attributes(&self, at: &str) -> Vec<(String, String)> {
        let mut v = vec![(join(at, "score"), self.score.clone())];
        if let Some(GroupBy::Attribute(a)) = &self.group {
            v.push((join(&join(at, "group"), "attribute"), a.clone()));
        }
        v
    }

    /// A document's group and score: `None` when it has no score. `doc` is the document
    /// object, `attributes` its merged attributes.
    pub fn extract(
        &self,
        doc: &Map<String, Value>,
        attributes: Option<&Map<String, Value>>,
    ) -> Option<(String, f64)> {
        let score = attributes
            .and_then(|a| a.get(&self.score))
            .and_then(attribute_value)
            .filter(|s| s.is_finite())?;
        let group = match &self.group {
            None => ALL_GROUP.to_string(),
            Some(g) => group_of(g, doc, attributes).unwrap_or_else(|| NO_GROUP.to_string()),
        };
        Some((group, score))
    }
}

fn group_of(
    g: &GroupBy,
    doc: &Map<String, Value>,
    attributes: Option<&Map<String, Value>>,
) -> Option<String> {
    match g {
        GroupBy::Field(path) => {
            let path = path.strip_prefix("$.").unwrap_or(path);
            let mut parts = path.split('.');
            let mut v = doc.get(parts.next()?)?;
            for p in parts {
                v = v.as_object()?.get(p)?;
            }
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
        GroupBy::Attribute(name) => {
            let attributes = attributes?;
            if name.ends_with("__") {
                let mut best: Option<(&str, f64)> = None;
                for (k, v) in attributes {
                    let Some(label) = k.strip_prefix(name.as_str()) else {
                        continue;
                    };
                    let Some(x) = attribute_value(v).filter(|x| x.is_finite()) else {
                        continue;
                    };
                    // Largest value; equal values: the first label in name order.
                    if best.is_none_or(|(l, b)| x > b || (x == b && label < l)) {
                        best = Some((label, x));
                    }
                }
                best.map(|(l, _)| l.to_string())
            } else {
                let x = attribute_value(attributes.get(name)?)?;
                Some(number_name(x))
            }
        }
    }
}

/// A number as a group name: integers without a fraction.
fn number_name(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One eligible document, as the counting pass collects it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketDoc {
    /// Its group.
    pub group: String,
    /// Its score.
    pub score: f64,
    /// Its id.
    pub id: String,
    /// Its input's name (the path below `documents/`).
    pub file: String,
    /// Its line, 1-based.
    pub line: u64,
    /// Its tokens.
    pub tokens: u64,
    /// Its seeded draw in [0, 1) ([`Sampling::draw`] with the mix's seed).
    pub draw: f64,
}

/// The order buckets are cut in: score, then id, file and line.
pub fn order(a: (f64, &str, &str, u64), b: (f64, &str, &str, u64)) -> Ordering {
    a.0.total_cmp(&b.0)
        .then_with(|| a.1.cmp(b.1))
        .then_with(|| a.2.cmp(b.2))
        .then_with(|| a.3.cmp(&b.3))
}

/// One group's breakpoints and per-bucket sampling.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// First document of bucket `k + 1`; `None` when no document reaches cut `k + 1`.
    pub breakpoints: Vec<Option<BreakpointRecord>>,
    /// Per bucket.
    pub samplings: Vec<Sampling>,
    /// The record, without what was written.
    pub record: BucketGroupRecord,
}

/// What the mix pass needs: per group, breakpoints and per-bucket sampling.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The section.
    pub config: BucketsConfig,
    /// Per group.
    pub groups: BTreeMap<String, GroupPlan>,
    /// Seed of the extra-copy draws.
    pub seed: u64,
}

/// Where a document goes in the mix pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// Its bucket.
    pub bucket: usize,
    /// The bucket's sampling.
    pub sampling: Sampling,
    /// The bucket's rate.
    pub rate: f64,
}

/// A document in the mix pass whose group the counting pass did not see.
#[derive(Debug, thiserror::Error)]
#[error("group `{0}` was not in the counting pass: the input changed during the run")]
pub struct UnknownGroup(pub String);

impl Plan {
    /// The plan from every eligible document of the mix (any order: they are sorted).
    pub fn compute(config: &BucketsConfig, seed: u64, docs: Vec<BucketDoc>) -> Plan {
        let mut by_group: BTreeMap<String, Vec<BucketDoc>> = BTreeMap::new();
        for d in docs {
            by_group.entry(d.group.clone()).or_default().push(d);
        }
        let groups = by_group
            .into_iter()
            .map(|(g, docs)| (g, group_plan(config, seed, docs)))
            .collect();
        Plan {
            config: config.clone(),
            groups,
            seed,
        }
    }

    /// The bucket of a document, and its sampling.
    pub fn place(
        &self,
        group: &str,
        score: f64,
        id: &str,
        file: &str,
        line: u64,
    ) -> Result<Placed, UnknownGroup> {
        let g = self
            .groups
            .get(group)
            .ok_or_else(|| UnknownGroup(group.to_string()))?;
        let bucket = g.breakpoints.partition_point(|b| {
            b.as_ref().is_some_and(|b| {
                order((b.score, &b.id, &b.file, b.line), (score, id, file, line))
                    != Ordering::Greater
            })
        });
        let sampling = g.samplings.get(bucket).copied().unwrap_or(Sampling {
            whole: 0,
            frac: 0.0,
            seed: self.seed,
        });
        let rate = self.config.rates.get(bucket).copied().unwrap_or(0.0);
        Ok(Placed {
            bucket,
            sampling,
            rate,
        })
    }

    /// The manifest's record: `after` holds, per group, [copies, tokens] written per bucket;
    /// `dropped` the mix's drops by rule (those under [`MISSING_SCORE_RULE`] are the documents
    /// without a score); `tokenizer` names the token counter.
    pub fn record(
        &self,
        after: &BTreeMap<String, Vec<[u64; 2]>>,
        dropped: &BTreeMap<String, RuleCounts>,
        tokenizer: &str,
    ) -> BucketsRecord {
        let missing_score = dropped
            .get(MISSING_SCORE_RULE)
            .map_or(0, |r| r.documents_dropped);
        let groups = self
            .groups
            .iter()
            .map(|(g, p)| {
                let mut r = p.record.clone();
                if let Some(a) = after.get(g) {
                    for (b, x) in r.buckets.iter_mut().zip(a) {
                        b.documents_after = x[0];
                        b.tokens_after = x[1];
                    }
                }
                (g.clone(), r)
            })
            .collect();
        let c = &self.config;
        BucketsRecord {
            score: c.score.clone(),
            group: c.group.as_ref().map(|g| match g {
                GroupBy::Field(f) => format!("field:{f}"),
                GroupBy::Attribute(a) => format!("attribute:{a}"),
            }),
            weight: c.weight.name().to_string(),
            tokenizer: tokenizer.to_string(),
            cuts: c.cuts(),
            rates: c.rates.clone(),
            seed: self.seed,
            sample: c.sample.map(|s| BucketSampleRecord {
                size: s.size,
                seed: s.seed,
            }),
            missing_score,
            groups,
        }
    }
}

/// The rule name of a bucket's drops.
pub fn bucket_rule(group: &str, bucket: usize) -> String {
    format!("bucket:{group}/{bucket}")
}

/// The reservoir hash of a document.
fn reservoir_hash(seed: u64, d: &BucketDoc) -> u64 {
    let mut key = Vec::with_capacity(d.id.len() + d.file.len() + 10);
    key.extend_from_slice(d.id.as_bytes());
    key.push(0);
    key.extend_from_slice(d.file.as_bytes());
    key.push(0);
    key.extend_from_slice(&d.line.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64_with_seed(&key, seed)
}

/// The breakpoints of documents sorted in [`order`]: breakpoint `k` is the first document
/// whose preceding weight reaches cut `k + 1`. Returns indexes into `sorted`.
pub fn breakpoints(weights: &[u64], cuts: &[f64]) -> Vec<Option<usize>> {
    let total: u64 = weights.iter().sum();
    let mut out = Vec::with_capacity(cuts.len());
    let mut before = 0u64;
    let mut i = 0usize;
    for &c in cuts {
        let cut = c * total as f64;
        while i < weights.len() && (before as f64) < cut {
            before += weights[i];
            i += 1;
        }
        out.push((i < weights.len() && before as f64 >= cut).then_some(i));
    }
    out
}

fn group_plan(config: &BucketsConfig, seed: u64, mut docs: Vec<BucketDoc>) -> GroupPlan {
    let weight = |d: &BucketDoc| match config.weight {
        Weight::Tokens => d.tokens,
        Weight::Documents => 1,
    };
    let cmp = |a: &BucketDoc, b: &BucketDoc| {
        order(
            (a.score, &a.id, &a.file, a.line),
            (b.score, &b.id, &b.file, b.line),
        )
    };
    let cuts = config.cuts();
    // The documents the breakpoints come from: all, or the reservoir.
    let sample: Vec<&BucketDoc> = match config.sample {
        Some(s) if (docs.len() as u64) > s.size => {
            let mut h: Vec<(u64, &BucketDoc)> = docs
                .iter()
                .map(|d| (reservoir_hash(s.seed, d), d))
                .collect();
            h.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp(a.1, b.1)));
            h.truncate(usize::try_from(s.size).unwrap_or(usize::MAX));
            let mut v: Vec<&BucketDoc> = h.into_iter().map(|x| x.1).collect();
            v.sort_by(|a, b| cmp(a, b));
            v
        }
        _ => {
            docs.sort_by(&cmp);
            docs.iter().collect()
        }
    };
    let weights: Vec<u64> = sample.iter().map(|d| weight(d)).collect();
    let breakpoints: Vec<Option<BreakpointRecord>> = breakpoints(&weights, &cuts)
        .into_iter()
        .map(|i| {
            i.and_then(|i| sample.get(i)).map(|d| BreakpointRecord {
                score: d.score,
                id: d.id.clone(),
                file: d.file.clone(),
                line: d.line,
            })
        })
        .collect();
    let sampled = sample.len() as u64;
    drop(sample);
    // Every document into its bucket.
    let n = config.buckets();
    let mut buckets: Vec<Vec<&BucketDoc>> = vec![Vec::new(); n];
    for d in &docs {
        let k = breakpoints.partition_point(|b| {
            b.as_ref().is_some_and(|b| {
                order(
                    (b.score, &b.id, &b.file, b.line),
                    (d.score, &d.id, &d.file, d.line),
                ) != Ordering::Greater
            })
        });
        if let Some(v) = buckets.get_mut(k) {
            v.push(d);
        }
    }
    let mut samplings = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for (k, members) in buckets.iter().enumerate() {
        let rate = config.rates.get(k).copied().unwrap_or(0.0);
        let total: u64 = members.iter().map(|d| weight(d)).sum();
        let target = (rate * total as f64).round() as u64;
        let mut draws: Vec<(f64, u64)> = members.iter().map(|d| (d.draw, weight(d))).collect();
        samplings.push(Sampling::for_budget(target, &mut draws, seed));
        let scores = members.iter().map(|d| d.score);
        records.push(BucketRecord {
            min_score: scores.clone().reduce(f64::min),
            max_score: scores.reduce(f64::max),
            documents: members.len() as u64,
            tokens: members.iter().map(|d| d.tokens).sum(),
            rate,
            target,
            documents_after: 0,
            tokens_after: 0,
        });
    }
    GroupPlan {
        record: BucketGroupRecord {
            sampled,
            breakpoints: breakpoints.clone(),
            buckets: records,
        },
        breakpoints,
        samplings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> BucketsConfig {
        serde_json::from_str(yaml).unwrap()
    }

    fn docs(n: u64, groups: &[&str]) -> Vec<BucketDoc> {
        let s = Sampling::from_rate(1.0, 9);
        (0..n)
            .map(|i| BucketDoc {
                group: groups[(i as usize) % groups.len()].to_string(),
                // Ties on purpose: 50 distinct scores.
                score: ((i * 7919) % 50) as f64 / 50.0,
                id: format!("d{i}"),
                file: format!("f{}.jsonl", i % 3),
                line: i / 3 + 1,
                tokens: 1 + (i * 31) % 400,
                draw: s.draw(&format!("d{i}"), i / 3 + 1),
            })
            .collect()
    }

    #[test]
    fn breakpoints_cut_the_weight_before_a_document() {
        // Weights 1..=4 (total 10), halves: before-weights 0,1,3,6 → the first with ≥ 5 is
        // the fourth.
        assert_eq!(breakpoints(&[1, 2, 3, 4], &[0.5]), [Some(3)]);
        assert_eq!(breakpoints(&[1, 2, 3, 4], &[0.1, 0.3]), [Some(1), Some(2)]);
        // One heavy document: nothing reaches the upper cuts.
        assert_eq!(breakpoints(&[100], &[0.5, 0.75]), [None, None]);
        assert_eq!(breakpoints(&[], &[0.5]), [None]);
    }

    #[test]
    fn targets_are_met_within_one_document_and_order_does_not_matter() {
        let c = cfg(
            r#"{"score":"s","group":{"field":"metadata.topic"},"count":5,"rates":[0,0.5,1,2.5,7]}"#,
        );
        let all = docs(3000, &["a", "b", "c"]);
        let plan = Plan::compute(&c, 9, all.clone());
        let mut rev = all.clone();
        rev.reverse();
        let again = Plan::compute(&c, 9, rev);
        for (g, p) in &plan.groups {
            assert_eq!(p.breakpoints, again.groups[g].breakpoints);
        }
        let mut got: BTreeMap<(String, usize), u64> = BTreeMap::new();
        for d in &all {
            let pl = plan
                .place(&d.group, d.score, &d.id, &d.file, d.line)
                .unwrap();
            let copies = pl.sampling.copies(&d.id, d.line).0;
            *got.entry((d.group.clone(), pl.bucket)).or_default() += u64::from(copies) * d.tokens;
        }
        for (g, p) in &plan.groups {
            for (k, b) in p.record.buckets.iter().enumerate() {
                let realised = got.get(&(g.clone(), k)).copied().unwrap_or(0);
                assert!(
                    realised >= b.target && realised < b.target + 400,
                    "{g}/{k}: {realised} vs {}",
                    b.target
                );
                if k == 0 {
                    assert_eq!(realised, 0);
                }
            }
            // Equal-weight buckets: each holds about a fifth of the group's tokens.
            let total: u64 = p.record.buckets.iter().map(|b| b.tokens).sum();
            for b in &p.record.buckets {
                assert!(b.tokens * 5 + 5 * 400 >= total && b.tokens * 5 <= total + 5 * 400);
            }
        }
    }

    #[test]
    fn a_reservoir_is_the_same_set_in_any_order() {
        let c = cfg(r#"{"score":"s","count":4,"rates":[1,1,1,1],"sample":{"size":100,"seed":3}}"#);
        let all = docs(2000, &["all"]);
        let plan = Plan::compute(&c, 1, all.clone());
        let mut rev = all;
        rev.reverse();
        let again = Plan::compute(&c, 1, rev);
        assert_eq!(
            plan.groups["all"].breakpoints,
            again.groups["all"].breakpoints
        );
        assert_eq!(plan.groups["all"].record.sampled, 100);
        assert_eq!(
            plan.groups["all"]
                .record
                .buckets
                .iter()
                .map(|b| b.documents)
                .sum::<u64>(),
            2000
        );
    }

    #[test]
    fn groups_by_field_attribute_value_or_argmax() {
        let doc: Map<String, Value> =
            serde_json::from_str(r#"{"metadata":{"topic":"science","n":3}}"#).unwrap();
        let attrs: Map<String, Value> = serde_json::from_str(
            r#"{"q":[[0,5,0.25]],"t__a":[[0,5,0.2]],"t__b":[[0,5,0.7]],"t__c":[[0,5,0.1]],"k":[[0,5,2.0]]}"#,
        )
        .unwrap();
        let with = |g: &str| {
            let mut c = cfg(r#"{"score":"q","count":2,"rates":[1,1]}"#);
            c.group = serde_json::from_str(g).unwrap();
            c.extract(&doc, Some(&attrs))
        };
        assert_eq!(with("null"), Some(("all".into(), 0.25)));
        assert_eq!(
            with(r#"{"field":"metadata.topic"}"#),
            Some(("science".into(), 0.25))
        );
        assert_eq!(
            with(r#"{"field":"$.metadata.n"}"#),
            Some(("3".into(), 0.25))
        );
        assert_eq!(
            with(r#"{"field":"metadata.x"}"#),
            Some(("(none)".into(), 0.25))
        );
        assert_eq!(with(r#"{"attribute":"t__"}"#), Some(("b".into(), 0.25)));
        assert_eq!(with(r#"{"attribute":"k"}"#), Some(("2".into(), 0.25)));
        let c = cfg(r#"{"score":"missing","count":2,"rates":[1,1]}"#);
        assert_eq!(c.extract(&doc, Some(&attrs)), None);
    }

    #[test]
    fn validation_names_fields() {
        let mut p = Problems::default();
        cfg(r#"{"score":"","count":3,"rates":[1,-1]}"#).validate("mix.buckets", &mut p);
        cfg(r#"{"score":"s","percentiles":[50,40],"rates":[1,1,1],"sample":{"size":0}}"#)
            .validate("b", &mut p);
        cfg(r#"{"score":"s","rates":[1]}"#).validate("c", &mut p);
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "mix.buckets.score",
                "mix.buckets.rates",
                "mix.buckets.rates[1]",
                "b.percentiles[1]",
                "b.sample.size",
                "c"
            ]
        );
        let e = serde_json::from_str::<BucketsConfig>(
            r#"{"score":"s","count":2,"rates":[1,1],"cout":3}"#,
        );
        assert!(e.unwrap_err().to_string().contains("unknown field `cout`"));
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::dolma_mix::{BucketsMode, CompiledStream};
    use crate::mix::{mix_shard, MixOutput, MixSpec, MixUnit};
    use loam_pipeline::executor::CountingProgress;
    use loam_pipeline::storage::LocalStorage;
    use std::sync::Arc;

    #[test]
    fn the_two_passes_place_count_and_drop_documents_without_a_score() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let mut docs = String::new();
        let mut attrs = String::new();
        for i in 0..60u64 {
            let text = "word ".repeat(1 + (i as usize * 13) % 40);
            docs.push_str(&format!(
                "{{\"id\":\"d{i}\",\"text\":\"{text}\",\"metadata\":{{\"t\":\"{}\"}}}}\n",
                ["a", "b"][i as usize % 2]
            ));
            // Every seventh document has no score.
            let a = match i % 7 {
                0 => "{}".to_string(),
                _ => format!("{{\"q\":[[0,1,{}]]}}", (i * 37 % 100) as f64 / 100.0),
            };
            attrs.push_str(&format!("{{\"id\":\"d{i}\",\"attributes\":{a}}}\n"));
        }
        std::fs::create_dir_all(format!("{root}/documents")).unwrap();
        std::fs::write(format!("{root}/documents/in.jsonl"), docs).unwrap();
        std::fs::write(format!("{root}/attrs.jsonl"), attrs).unwrap();
        let unit = |out: &str| MixUnit {
            input: format!("{root}/documents/in.jsonl"),
            attributes: vec![format!("{root}/attrs.jsonl")],
            output: MixOutput::Shard(format!("{root}/{out}.jsonl")),
            ledger: None,
        };
        let stream = CompiledStream::as_read(
            &[],
            &[],
            None,
            &[],
            crate::tokens::Tokenizer::Whitespace,
            "mix",
        )
        .unwrap();
        let c: BucketsConfig = serde_json::from_str(
            r#"{"score":"q","group":{"field":"metadata.t"},"count":3,"rates":[0,1.5,3]}"#,
        )
        .unwrap();
        let count = BucketsMode::Count(Arc::new(c.clone()));
        let p = CountingProgress::default();
        let spec = MixSpec {
            stream: &stream,
            sampling: Some(Sampling::from_rate(1.0, 4)),
            buckets: Some(&count),
        };
        let counted = mix_shard(&LocalStorage, &unit("x"), spec, true, None, &p);
        assert!(!counted.scan.failed(), "{:?}", counted.scan);
        assert_eq!(counted.bucket_docs.len(), 60 - 9);
        assert_eq!(counted.by_rule[MISSING_SCORE_RULE].documents_dropped, 9);
        let plan = Arc::new(Plan::compute(&c, 4, counted.bucket_docs.clone()));
        let apply = BucketsMode::Apply(plan.clone());
        let spec = MixSpec {
            stream: &stream,
            sampling: None,
            buckets: Some(&apply),
        };
        let r = mix_shard(&LocalStorage, &unit("y"), spec, false, None, &p);
        assert!(!r.scan.failed(), "{:?}", r.scan);
        assert_eq!(r.by_rule[MISSING_SCORE_RULE].documents_dropped, 9);
        let rec = plan.record(&r.buckets, &r.by_rule, "whitespace");
        assert_eq!(rec.missing_score, 9);
        let mut written = 0;
        for (g, gr) in &rec.groups {
            assert_eq!(gr.buckets[0].tokens_after, 0, "{g}");
            assert_eq!(
                r.by_rule[&bucket_rule(g, 0)].documents_dropped,
                gr.buckets[0].documents
            );
            for b in &gr.buckets {
                assert!(b.tokens_after >= b.target && b.tokens_after < b.target + 40);
                written += b.documents_after;
            }
        }
        assert_eq!(r.kept, written);
        assert_eq!(
            std::fs::read_to_string(format!("{root}/y.jsonl"))
                .unwrap()
                .lines()
                .count() as u64,
            written
        );
    }
}
