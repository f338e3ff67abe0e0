//! Mixing one document shard for loam's pipeline file: compiled onto the one mix engine
//! ([`crate::dolma_mix`], which dolma mixer configs also run on) as a unit of one input, one
//! output (or a shuffle spool, [`crate::shuffle`]) and one ledger; structured rules decide
//! first, then an optional dolma filter, then span replacements and sampling. Documents are
//! written as they were read ([`crate::dolma_mix::Shape::AsRead`]).
//!
//! Attribute files are read in step with the documents ([`crate::align`]): any misalignment
//! is an error naming both files and the line.

use crate::buckets::BucketDoc;
use crate::dolma_mix::{
    mix_unit_tagging, mix_unit_with, BucketsMode, CompiledStream, DrawKey, InlineTagging,
    InputFiles, MixOptions, OutputUnit,
};
use crate::shuffle::{Shuffle, SpoolInfo};
use loam_manifests::{FileDigest, RuleCounts};
use loam_pipeline::executor::Progress;
use loam_pipeline::shard::ScanReport;
use loam_pipeline::storage::Storage;
use loam_pipeline::writer::WrittenShard;
use serde::{Deserialize, Serialize};
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
    /// Rules, filter, span replacements and tokenizer ([`CompiledStream::as_read`]).
    pub stream: &'a CompiledStream,
    /// Optional sampling after them.
    pub sampling: Option<Sampling>,
    /// Quality buckets: their counting pass (with `dry_run`) or their mix pass.
    pub buckets: Option<&'a BucketsMode>,
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
    /// Each eligible document's bucket key, in order (a bucket counting pass).
    pub bucket_docs: Vec<BucketDoc>,
    /// Per group, per bucket, [copies, tokens] written (a bucket mix pass).
    pub buckets: BTreeMap<String, Vec<[u64; 2]>>,
    /// What span replacement did (zeros without `span_replacement`).
    pub edits: Edits,
    /// The attribute file tagged while mixing ([`mix_shard_tagging`]).
    pub tagged: Option<WrittenShard>,
    /// Documents the gated taggers were not run on, when tagging while mixing.
    pub not_evaluated: u64,
}

/// What span replacement did to a shard's kept documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edits {
    /// Documents the rules and filter passed (span replacement ran on them).
    pub passed: u64,
    /// Those whose text it changed.
    pub edited: u64,
    /// Their text bytes before.
    pub bytes_in: u64,
    /// And after.
    pub bytes_out: u64,
    /// Edited documents by replacer (`span_replacement[k] <selector>`).
    pub by_replacer: BTreeMap<String, u64>,
}

impl Edits {
    /// Adds another shard's.
    pub fn add(&mut self, o: &Edits) {
        self.passed += o.passed;
        self.edited += o.edited;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        for (k, v) in &o.by_replacer {
            *self.by_replacer.entry(k.clone()).or_default() += v;
        }
    }
}

/// The high bit of each of eight bytes: set in a byte that is not ASCII.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Counts whitespace-separated tokens: runs of Unicode `White_Space` separate them (Rust's
/// `split_whitespace`; Python's `str.split()` also splits on U+001C..U+001F).
pub fn whitespace_tokens(text: &str) -> u64 {
    // `split_whitespace().count()` without decoding ASCII: a token starts at a
    // non-whitespace char after whitespace (or at the start). Runs of eight ASCII bytes are
    // counted from a bit mask of their whitespace bytes (9..=13 and 32); a non-ASCII char is
    // decoded at its first byte, its continuation bytes (0x80..=0xBF) skipped.
    let bytes = text.as_bytes();
    let mut n = 0u64;
    let mut in_token = false;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = bytes.get(i..i + 8) {
            let x = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
            if x & HIGH == 0 {
                let ws = ascii_whitespace_mask(x);
                // Byte k starts a token when it is not whitespace and byte k-1 (or, for
                // k = 0, the byte before the run) is.
                let before = (ws << 1) | u8::from(!in_token);
                n += u64::from((!ws & before).count_ones());
                in_token = ws & 0x80 == 0;
                i += 8;
                continue;
            }
        }
        let b = bytes.get(i).copied().unwrap_or(b' ');
        let ws = if b < 0x80 {
            matches!(b, 9..=13 | 32)
        } else if b < 0xC0 {
            i += 1;
            continue;
        } else {
            text.get(i..)
                .and_then(|r| r.chars().next())
                .is_some_and(char::is_whitespace)
        };
        n += u64::from(!ws && !in_token);
        in_token = !ws;
        i += 1;
    }
    n
}

/// Bit k set when byte k of `x` (eight ASCII bytes, little-endian) is whitespace: 9..=13
/// or 32. Each byte is below 0x80, so adding to it never carries into the next.
fn ascii_whitespace_mask(x: u64) -> u8 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let at_least_9 = x.wrapping_add(0x7777_7777_7777_7777) & HIGH;
    let below_14 = !x.wrapping_add(0x7272_7272_7272_7272) & HIGH;
    let y = x ^ 0x2020_2020_2020_2020;
    let space = !(((y & LOW7).wrapping_add(LOW7)) | y) & HIGH;
    let hi = (at_least_9 & below_14) | space;
    // Gather the high bit of byte k into bit k.
    ((hi >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
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
    mix_shard_inner(storage, unit, spec, dry_run, counted, progress, None)
}

/// [`mix_shard`] of a shard that is tagged as it is read ([`mix_unit_tagging`]): the tag
/// stage's attribute file and the mix in one read of the input. `unit.attributes` are the
/// other attribute files (after the tag stage's, in order).
pub fn mix_shard_tagging(
    storage: &dyn Storage,
    unit: &MixUnit,
    spec: MixSpec<'_>,
    tagging: InlineTagging<'_>,
    progress: &dyn Progress,
) -> MixReport {
    mix_shard_inner(storage, unit, spec, false, None, progress, Some(tagging))
}

fn mix_shard_inner(
    storage: &dyn Storage,
    unit: &MixUnit,
    spec: MixSpec<'_>,
    dry_run: bool,
    counted: Option<&[u32]>,
    progress: &dyn Progress,
    tagging: Option<InlineTagging<'_>>,
) -> MixReport {
    let (output, spool) = match &unit.output {
        MixOutput::Shard(p) => (p.clone(), None),
        MixOutput::Spool {
            path,
            name,
            shuffle,
        } => (path.clone(), Some((name.clone(), *shuffle))),
    };
    let one = OutputUnit {
        stream: 0,
        output,
        inputs: vec![InputFiles {
            documents: unit.input.clone(),
            size: 0,
            attributes: unit.attributes.clone(),
        }],
    };
    let opts = MixOptions {
        sampling: spec.sampling,
        dry_run,
        ledgers: unit.ledger.iter().cloned().collect(),
        counted: counted.map(std::sync::Arc::from),
        draw_key: DrawKey::Id,
        spool,
        buckets: spec.buckets.cloned(),
        // A pipeline file's own span replacement ignores zero-length spans; dolma's rewrite
        // loop is for dolma mixer configs (`loam mix -c`, recipes) under `--dolma-bugs`.
        dolma_bugs: false,
    };
    let r = match tagging {
        None => mix_unit_with(storage, &one, spec.stream, &opts, progress),
        Some(t) => mix_unit_tagging(storage, &one, spec.stream, &opts, progress, t),
    };
    let mut c = r.counts;
    let buckets = std::mem::take(&mut c.buckets);
    let mut scan = r.scan;
    scan.path = unit.input.clone();
    scan.documents = c.documents;
    scan.text_bytes = c.text_bytes;
    scan.digest = r.inputs.first().map(|i| i.digest.clone());
    let mut rule_seen: BTreeMap<String, u64> = spec
        .stream
        .rules
        .iter()
        .map(|r| (r.rule.clone(), 0))
        .collect();
    rule_seen.extend(c.rules_seen);
    let failed = scan.failed();
    let (ledger, index) = match r.ledgers.into_iter().next() {
        Some(l) if !failed => (Some(l.ledger), Some(l.index)),
        _ => (None, None),
    };
    let edits = Edits {
        passed: c.passed_filter,
        edited: c.edited,
        bytes_in: c.edited_text_bytes_in,
        bytes_out: c.edited_text_bytes_out,
        by_replacer: c.edited_by.clone(),
    };
    MixReport {
        edits,
        scan,
        attributes: r.attributes,
        eligible: c.eligible,
        eligible_tokens: c.eligible_tokens,
        draws: r.draws,
        kept: c.kept,
        kept_text_bytes: c.kept_text_bytes,
        kept_tokens: c.kept_tokens,
        by_rule: c.dropped,
        rule_seen,
        output: r.output.filter(|_| !failed),
        spool: r.spool.filter(|_| !failed),
        ledger,
        index,
        bucket_docs: r.bucket_docs,
        buckets,
        tagged: r.tagged.filter(|_| !failed),
        not_evaluated: r.not_evaluated,
    }
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
            "a sentence that runs past eight bytes, twice over\tand\nagain   ",
            "        eight spaces, then words; then\u{a0}a no-break space in a long run",
            "abcdefgh ijklmnop\u{3000}qrstuvwx yz",
        ] {
            assert_eq!(
                whitespace_tokens(t),
                t.split_whitespace().count() as u64,
                "{t:?}"
            );
        }
        // The mask, byte by byte.
        for b in 0u8..0x80 {
            for k in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[k] = b;
                let want = u8::from(matches!(b, 9..=13 | 32)) << k;
                assert_eq!(
                    ascii_whitespace_mask(u64::from_le_bytes(bytes)),
                    want,
                    "{b} at {k}"
                );
            }
        }
        // Seeded random strings over ASCII letters and whitespace, and non-ASCII letters
        // and whitespace, at every alignment of the eight-byte runs.
        let alphabet = [
            "a", "b", "Z", "0", ".", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "é", "日",
            "\u{a0}", "\u{3000}", "\u{85}", "\u{200b}",
        ];
        let mut x: u64 = 7;
        for len in 0..400 {
            let mut t = String::new();
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Mostly ASCII, so long ASCII runs occur.
                let k = (x >> 33) as usize % (alphabet.len() * 3);
                t.push_str(alphabet[if k < alphabet.len() { k } else { k % 8 }]);
            }
            assert_eq!(
                whitespace_tokens(&t),
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
        let stream = CompiledStream::as_read(
            &[],
            &[],
            None,
            &[],
            crate::tokens::Tokenizer::Cl100kBase,
            "mix",
        )
        .unwrap();
        let mut spec = MixSpec {
            stream: &stream,
            sampling: Some(Sampling::from_rate(1.0, 7)),
            buckets: None,
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
