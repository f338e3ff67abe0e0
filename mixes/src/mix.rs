//! Mixing one document shard: merge its attribute files line by line, apply the rules and
//! sampling, write the kept documents (to an output shard, or to a spool for the global
//! shuffle, [`crate::shuffle`]) and one ledger row per input document.
//!
//! Attribute files are read in step with the documents ([`crate::align`]): any misalignment
//! is an error naming both files and the line.

use crate::align::AlignedAttributes;
use crate::index::IndexBuilder;
use crate::ledger::{Decision, LedgerRow, LedgerWriter};
use crate::rules::{first_match, Op, Rule};
use crate::shuffle::{Shuffle, SpoolInfo, SpoolWriter};
use loam_manifests::{FileDigest, RuleCounts};
use loam_pipeline::document::Document;
use loam_pipeline::executor::Progress;
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
    /// Where kept documents go.
    pub output: MixOutput,
    /// Ledger file (one row per input document); its id index goes beside it (`.idx`).
    pub ledger: Option<String>,
}

/// Where a unit's kept documents go.
#[derive(Debug, Clone)]
pub enum MixOutput {
    /// One output shard, documents in input order.
    Shard(String),
    /// A shuffle spool (pass 1 of [`crate::shuffle`]).
    Spool {
        /// The spool file.
        path: String,
        /// The input's name in shuffle keys: its path below `documents/`.
        name: String,
        /// Seed and buckets.
        shuffle: Shuffle,
    },
}

/// The id index path for a ledger path.
pub fn index_path(ledger: &str) -> String {
    format!("{}.idx", ledger.strip_suffix(".parquet").unwrap_or(ledger))
}

/// Seeded sampling: each document that passes the rules is written `whole` times, plus once
/// more when its draw — a hash of (seed, id, line) mapped to [0, 1) — is below `frac`: the
/// same documents whatever the thread count or machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Copies every eligible document gets.
    pub whole: u32,
    /// Draws below this get one more copy.
    pub frac: f64,
    /// Seed.
    pub seed: u64,
}

impl Sampling {
    /// Expected `rate` copies per document (< 1 downsamples, > 1 upsamples).
    pub fn from_rate(rate: f64, seed: u64) -> Sampling {
        let whole = rate.floor();
        Sampling {
            whole: whole as u32,
            frac: rate - whole,
            seed,
        }
    }

    /// Expected copies per document.
    pub fn rate(&self) -> f64 {
        f64::from(self.whole) + self.frac
    }

    /// The sampling that meets a token budget as closely as whole documents allow: every
    /// document `target / total` times, then the remainder filled in draw order. `draws`
    /// holds (draw, tokens) of every eligible document.
    pub fn for_budget(target: u64, draws: &mut [(f64, u64)], seed: u64) -> Sampling {
        let total: u64 = draws.iter().map(|d| d.1).sum();
        if total == 0 {
            return Sampling {
                whole: 0,
                frac: 0.0,
                seed,
            };
        }
        let whole = target / total;
        let mut rest = target - whole * total;
        draws.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut frac = 0.0;
        for (u, t) in draws.iter() {
            if rest == 0 {
                break;
            }
            // Take this document: the threshold moves just past its draw.
            frac = u.next_up();
            rest = rest.saturating_sub(*t);
        }
        Sampling {
            whole: u32::try_from(whole).unwrap_or(u32::MAX),
            frac,
            seed,
        }
    }

    /// The draw in [0, 1) for a document.
    pub fn draw(&self, id: &str, line: u64) -> f64 {
        let mut key = Vec::with_capacity(id.len() + 9);
        key.extend_from_slice(id.as_bytes());
        key.push(0);
        key.extend_from_slice(&line.to_le_bytes());
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(&key, self.seed);
        // 53 high bits → uniform double in [0, 1).
        (h >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Copies to write, and the draw that decided.
    pub fn copies(&self, id: &str, line: u64) -> (u32, f64) {
        let u = self.draw(id, line);
        (self.whole + u32::from(u < self.frac), u)
    }
}

/// What to apply to every document.
#[derive(Debug, Clone, Copy)]
pub struct MixSpec<'a> {
    /// Drop rules, first match decides.
    pub rules: &'a [Rule],
    /// Attributes that mark duplicates: a rule on one of them records `duplicate`.
    pub duplicate_attributes: &'a [String],
    /// Optional sampling after the rules.
    pub sampling: Option<Sampling>,
    /// How tokens are counted (budgets, manifest).
    pub tokenizer: crate::tokens::Tokenizer,
    /// A JSONPath or jq filter after the rules (dolma's `filter`), on the document with its
    /// attributes merged under `attributes`; its rules are named as dolma mixes name them.
    pub filter: Option<&'a crate::filter::DocFilter>,
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
    /// Documents that passed every rule (before sampling).
    pub eligible: u64,
    /// Whitespace tokens of those documents.
    pub eligible_tokens: u64,
    /// (draw, tokens) of each eligible document, collected in dry runs with sampling.
    pub draws: Vec<(f64, u64)>,
    /// Document copies written.
    pub kept: u64,
    /// Text bytes written.
    pub kept_text_bytes: u64,
    /// Whitespace tokens written.
    pub kept_tokens: u64,
    /// Drops by deciding rule (`sample` for sampling).
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// Per rule, the documents that had its attribute (every rule listed, zeros included):
    /// a rule whose attribute no document had is a silent no-op worth a warning.
    pub rule_seen: BTreeMap<String, u64>,
    /// The output shard, when anything was kept and nothing failed.
    pub output: Option<WrittenShard>,
    /// The shuffle spool instead, when the unit writes one and anything was kept.
    pub spool: Option<SpoolInfo>,
    /// The ledger, when written.
    pub ledger: Option<WrittenShard>,
    /// The ledger's id index, when written.
    pub index: Option<WrittenShard>,
}

/// Counts whitespace-separated tokens: runs of Unicode `White_Space` separate them (Rust's
/// `split_whitespace`; Python's `str.split()` also splits on U+001C..U+001F).
pub fn whitespace_tokens(text: &str) -> u64 {
    // `split_whitespace().count()` a byte at a time: an ASCII byte is a char (9..=13 and 32
    // are its whitespace); a non-ASCII char is decoded at its first byte, its continuation
    // bytes (0x80..=0xBF) skipped. A token is a maximal run of non-whitespace chars.
    let bytes = text.as_bytes();
    let mut n = 0u64;
    let mut in_token = false;
    for (i, &b) in bytes.iter().enumerate() {
        let ws = if b < 0x80 {
            matches!(b, 9..=13 | 32)
        } else if b < 0xC0 {
            continue;
        } else {
            text.get(i..)
                .and_then(|r| r.chars().next())
                .is_some_and(char::is_whitespace)
        };
        n += u64::from(!ws && !in_token);
        in_token = !ws;
    }
    n
}

/// The open destination of a unit's kept documents.
enum Sink<'a> {
    Shard(DocumentWriter),
    Spool(Box<SpoolWriter>, &'a str, Shuffle),
}

enum Finished {
    Shard(WrittenShard),
    Spool(SpoolInfo),
}

impl<'a> Sink<'a> {
    fn create(storage: &dyn Storage, output: &'a MixOutput) -> Result<Sink<'a>, String> {
        Ok(match output {
            MixOutput::Shard(path) => {
                Sink::Shard(DocumentWriter::create(storage, path).map_err(|e| e.to_string())?)
            }
            MixOutput::Spool {
                path,
                name,
                shuffle,
            } => Sink::Spool(
                Box::new(SpoolWriter::create(storage, path, *shuffle).map_err(|e| e.to_string())?),
                name,
                *shuffle,
            ),
        })
    }

    /// Writes `copies` copies of the document at `line`.
    fn write(&mut self, doc: &Document, line: u64, copies: u32, tokens: u64) -> Result<(), String> {
        match self {
            Sink::Shard(w) => {
                for _ in 0..copies {
                    w.write(doc).map_err(|e| e.to_string())?;
                }
            }
            Sink::Spool(w, name, shuffle) => {
                for copy in 0..copies {
                    let key = shuffle.key(name, &doc.id, line, copy);
                    w.push(key, tokens, doc).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Finished, String> {
        match self {
            Sink::Shard(w) => w.finish().map(Finished::Shard).map_err(|e| e.to_string()),
            Sink::Spool(w, ..) => w.finish().map(Finished::Spool).map_err(|e| e.to_string()),
        }
    }
}

/// Mixes one shard. Nothing is published if anything failed; an output with no kept
/// documents is not created. With `dry_run`, only counts are produced (for token budgets).
/// `counted`: the tokens of each eligible document, in order, from a counting pass — taken
/// instead of counting again; a shard whose eligible documents are not as many fails (its
/// input changed between the passes).
pub fn mix_shard(
    storage: &dyn Storage,
    unit: &MixUnit,
    spec: MixSpec<'_>,
    dry_run: bool,
    counted: Option<&[u32]>,
    progress: &dyn Progress,
) -> MixReport {
    let mut rep = MixReport {
        scan: ScanReport {
            path: unit.input.clone(),
            ..Default::default()
        },
        attributes: Vec::new(),
        eligible: 0,
        eligible_tokens: 0,
        draws: Vec::new(),
        kept: 0,
        kept_text_bytes: 0,
        kept_tokens: 0,
        by_rule: BTreeMap::new(),
        rule_seen: spec.rules.iter().map(|r| (r.rule.clone(), 0)).collect(),
        output: None,
        spool: None,
        ledger: None,
        index: None,
    };
    let mut aligned = match AlignedAttributes::open(storage, &unit.input, &unit.attributes) {
        Ok(x) => x,
        Err(e) => {
            rep.scan.record(e, true);
            return rep;
        }
    };
    let mut parts: Vec<Map<String, Value>> = Vec::with_capacity(unit.attributes.len());
    let mut ledger = match (&unit.ledger, dry_run) {
        (Some(path), false) => match LedgerWriter::create(storage, path) {
            Ok(w) => Some(w),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return rep;
            }
        },
        _ => None,
    };
    let mut index = ledger.as_ref().map(|_| IndexBuilder::default());
    let mut row_no: u32 = 0;
    let mut writer: Option<Sink> = None;
    let mut merged = Map::new();
    let scan_rep = scan(storage, &unit.input, |line, doc| {
        merged.clear();
        parts.clear();
        aligned.next(&doc.id, line, &mut parts)?;
        for p in parts.drain(..) {
            merged.extend(p);
        }
        progress.advance(1, doc.text.len() as u64);
        let mut row = LedgerRow {
            id: doc.id.clone(),
            file: unit.input.clone(),
            line,
            decision: Decision::Kept,
            rule: None,
            value: None,
            threshold: None,
            copies: 0,
        };
        let bytes = doc.text.len() as u64;
        for r in spec.rules {
            if merged.contains_key(&r.attribute) {
                *rep.rule_seen.entry(r.rule.clone()).or_default() += 1;
            }
        }
        let decided = first_match(spec.rules, &merged);
        // The filter sees only what the rules kept (a rule names the drop first).
        let filtered = match (spec.filter, &decided) {
            (Some(f), None) => {
                filter_rule(f, doc, &merged).map_err(|e| format!("{}:{line}: {e}", unit.input))?
            }
            _ => None,
        };
        if let Some(rule) = filtered {
            let c = rep.by_rule.entry(rule.clone()).or_default();
            c.documents_dropped += 1;
            c.text_bytes_dropped += bytes;
            row.decision = Decision::Dropped;
            row.rule = Some(rule);
        } else if let Some(d) = decided {
            let c = rep.by_rule.entry(d.rule.rule.clone()).or_default();
            c.documents_dropped += 1;
            c.text_bytes_dropped += bytes;
            let dup =
                d.rule.op == Op::Exists && spec.duplicate_attributes.contains(&d.rule.attribute);
            row.decision = if dup {
                Decision::Duplicate
            } else {
                Decision::Dropped
            };
            row.rule = Some(d.rule.rule.clone());
            row.value = d.value;
            row.threshold = d.rule.value;
        } else {
            let tokens = spec
                .tokenizer
                .count_or_take(counted, rep.eligible, &doc.text);
            rep.eligible += 1;
            rep.eligible_tokens += tokens;
            let (copies, u) = match spec.sampling {
                Some(s) => s.copies(&doc.id, line),
                None => (1, 0.0),
            };
            if dry_run && spec.sampling.is_some() {
                rep.draws.push((u, tokens));
            }
            row.copies = copies;
            if copies == 0 {
                let c = rep.by_rule.entry("sample".into()).or_default();
                c.documents_dropped += 1;
                c.text_bytes_dropped += bytes;
                row.decision = Decision::SampledOut;
                row.rule = Some("sample".into());
                row.value = Some(u);
                row.threshold = spec.sampling.map(|s| s.frac);
            } else if !dry_run {
                if writer.is_none() {
                    writer = Some(Sink::create(storage, &unit.output)?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(doc, line, copies, tokens)?;
                }
            }
            rep.kept += u64::from(copies);
            rep.kept_text_bytes += bytes * u64::from(copies);
            rep.kept_tokens += tokens * u64::from(copies);
        }
        if let Some(ix) = index.as_mut() {
            ix.push(&row.id, row_no);
            row_no += 1;
        }
        if let Some(l) = ledger.as_mut() {
            l.push(row).map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    rep.scan = scan_rep;
    if rep.scan.failed() {
        return rep;
    }
    if let Err(e) = crate::tokens::check_counted(counted, rep.eligible, &unit.input) {
        rep.scan.record(e, true);
        return rep;
    }
    match aligned.finish(rep.scan.documents) {
        Ok(a) => rep.attributes = a,
        Err(e) => {
            rep.scan.record(e, true);
            return rep;
        }
    }
    match writer.map(Sink::finish) {
        None => {}
        Some(Ok(Finished::Shard(s))) => rep.output = Some(s),
        Some(Ok(Finished::Spool(s))) => rep.spool = Some(s),
        Some(Err(e)) => {
            rep.scan.record(e, true);
            return rep;
        }
    }
    if let (Some(l), Some(ix), Some(path)) = (ledger, index, unit.ledger.as_ref()) {
        match l.finish() {
            Ok(s) => rep.ledger = Some(s),
            Err(e) => {
                rep.scan.record(e.to_string(), true);
                return rep;
            }
        }
        match ix.write(storage, &index_path(path)) {
            Ok(s) => rep.index = Some(s),
            Err(e) => rep.scan.record(e.to_string(), true),
        }
    }
    rep
}

/// The filter rule that drops a document (with its attributes), if any.
fn filter_rule(
    f: &crate::filter::DocFilter,
    doc: &Document,
    attributes: &Map<String, Value>,
) -> Result<Option<String>, String> {
    use crate::filter::{Decision as FilterDecision, DocView, INCLUDE_RULE};
    let mut map = doc.fields.clone();
    map.insert("id".into(), Value::String(doc.id.clone()));
    map.insert("text".into(), Value::String(doc.text.clone()));
    map.insert("attributes".into(), Value::Object(attributes.clone()));
    let value = Value::Object(map);
    Ok(match f.decide(&mut DocView::new(&value))? {
        FilterDecision::Keep => None,
        FilterDecision::NoInclude => Some(INCLUDE_RULE.to_string()),
        FilterDecision::Excluded(i) => f.exclude_rules().into_iter().nth(i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_tokens_count_as_split_whitespace() {
        for t in [
            "",
            " ",
            "a",
            " a b  c ",
            "a\tb\nc\x0bd\x0ce\rf",
            "a\x1cb",
            "naïve café  ok",
            "x\u{a0}y\u{2003}z\u{3000} w",
            "\u{85}a\u{85}",
            "日本語 テキスト",
            "ab\u{200b}cd",
        ] {
            assert_eq!(
                whitespace_tokens(t),
                t.split_whitespace().count() as u64,
                "{t:?}"
            );
        }
    }

    #[test]
    fn counts_from_the_counting_pass_are_taken_and_checked() {
        use loam_pipeline::executor::CountingProgress;
        use loam_pipeline::storage::LocalStorage;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let docs: String = (0..40)
            .map(|i| {
                format!(
                    "{{\"id\":\"d{i}\",\"text\":\"{}\"}}\n",
                    "word ".repeat(i + 1)
                )
            })
            .collect();
        std::fs::write(format!("{root}/in.jsonl"), docs).unwrap();
        let unit = |out: &str| MixUnit {
            input: format!("{root}/in.jsonl"),
            attributes: Vec::new(),
            output: MixOutput::Shard(format!("{root}/{out}.jsonl")),
            ledger: None,
        };
        let mut spec = MixSpec {
            rules: &[],
            duplicate_attributes: &[],
            sampling: Some(Sampling::from_rate(1.0, 7)),
            tokenizer: crate::tokens::Tokenizer::Cl100kBase,
            filter: None,
        };
        let p = CountingProgress::default();
        let count = mix_shard(&LocalStorage, &unit("x"), spec, true, None, &p);
        let mut draws = count.draws.clone();
        let tokens: Vec<u32> = draws.iter().map(|d| d.1 as u32).collect();
        spec.sampling = Some(Sampling::for_budget(
            count.eligible_tokens / 2,
            &mut draws,
            7,
        ));
        let again = mix_shard(&LocalStorage, &unit("a"), spec, false, None, &p);
        let taken = mix_shard(&LocalStorage, &unit("b"), spec, false, Some(&tokens), &p);
        assert!(!taken.scan.failed(), "{:?}", taken.scan);
        assert_eq!(
            (taken.kept, taken.kept_tokens, taken.eligible_tokens),
            (again.kept, again.kept_tokens, again.eligible_tokens)
        );
        assert_eq!(
            std::fs::read(format!("{root}/a.jsonl")).unwrap(),
            std::fs::read(format!("{root}/b.jsonl")).unwrap()
        );
        // Counts for one document fewer than there are: the input changed; nothing published.
        let short = &tokens[..tokens.len() - 1];
        let r = mix_shard(&LocalStorage, &unit("c"), spec, false, Some(short), &p);
        assert!(r.scan.failed());
        assert!(format!("{:?}", r.scan).contains("token-counting pass"));
        assert!(!std::path::Path::new(&format!("{root}/c.jsonl")).exists());
    }

    #[test]
    fn sampling_is_seeded_and_near_the_rate() {
        let s = Sampling::from_rate(0.3, 7);
        let kept: u32 = (0..100_000u64)
            .map(|i| s.copies(&format!("d{i}"), i + 1).0)
            .sum();
        assert!((29_000..31_000).contains(&kept), "{kept}");
        assert_eq!(s.copies("x", 3), s.copies("x", 3));
        let up = Sampling::from_rate(2.5, 7);
        let copies: u32 = (0..100_000u64)
            .map(|i| up.copies(&format!("d{i}"), i + 1).0)
            .sum();
        assert!((248_000..252_000).contains(&copies), "{copies}");
        let other = Sampling::from_rate(0.3, 8);
        let same = (0..1000u64)
            .filter(|&i| s.copies(&format!("d{i}"), i).0 == other.copies(&format!("d{i}"), i).0)
            .count();
        assert!(same < 1000, "a different seed draws differently");
    }

    #[test]
    fn budgets_are_met_to_within_one_document() {
        let s = Sampling::from_rate(1.0, 3);
        let docs: Vec<(String, u64)> = (0..5000u64)
            .map(|i| (format!("d{i}"), 1 + i % 997))
            .collect();
        let mut draws: Vec<(f64, u64)> = docs
            .iter()
            .enumerate()
            .map(|(i, (id, t))| (s.draw(id, i as u64 + 1), *t))
            .collect();
        let total: u64 = docs.iter().map(|d| d.1).sum();
        for target in [1000, total / 3, total, total * 2 + 12345] {
            let b = Sampling::for_budget(target, &mut draws.clone(), 3);
            let got: u64 = docs
                .iter()
                .enumerate()
                .map(|(i, (id, t))| u64::from(b.copies(id, i as u64 + 1).0) * t)
                .sum();
            assert!(
                got >= target && got < target + 997,
                "target {target}, got {got}"
            );
        }
        draws.clear();
        assert_eq!(Sampling::for_budget(10, &mut draws, 3).rate(), 0.0);
    }
}
