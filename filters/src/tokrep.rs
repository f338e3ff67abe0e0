//! Token-repetition signals: dolma 1.2.1's `tokenizer_repetitions_v1`,
//! `paragraph_tokenizer_repetitions_v1` and `tokenizer_repetitions_v2r2`
//! (`python/dolma/taggers/repetitions/`), the last the one every Dolma v1.6 mix drops on
//! (`doc_max_score_repetition`).
//!
//! The text is tokenized without special tokens by a Hugging Face `tokenizer.json` (dolma:
//! `allenai/eleuther-ai-gpt-neox-20b-pii-special`, through `tokenizers` 0.19.1 — the same
//! crate version here), and [`periodic_sequences`] finds runs of token ids that repeat with
//! a period of 1 to 13 tokens at least three times, exactly as dolma's numpy sweep
//! (`find_periodic_sequences`) does, including its row wrap-around. A run's span goes from the
//! first token's start to the last token's end (code points), its score the number of
//! periods. Document signals as `repetitions_v1`: `doc_max_score_repetition`,
//! `doc_max_length_repetition`, `doc_frac_repetition`.
//!
//! - `tokenizer_repetitions_v1`: the whole text; document signals always.
//! - `paragraph_tokenizer_repetitions_v1`: each line of dolma's `split_paragraphs(text,
//!   remove_empty=False)`, tokenized with a space in front (dolma's way of tokenizing the
//!   first word as inside a text), offsets moved back by that space.
//! - `tokenizer_repetitions_v2r2`: the text in chunks of 100,000 code points; within a chunk
//!   spans sorted by (start, longest, highest score) and a span inside the previous kept one
//!   dropped; document signals only when there is a span.
//!
//! loam never downloads: the tokenizer is the tagger option `tokenizer` (a `tokenizer.json`,
//! or `tokenizer.json.gz`), else `$LOAM_MODELS_DIR/eleuther-ai-gpt-neox-20b-pii-special/tokenizer.json`.

use crate::pytext::{char_len, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::path::{Path, PathBuf};

/// The tagger names of this module.
pub const NAMES: &[&str] = &[
    "tokenizer_repetitions_v1",
    "paragraph_tokenizer_repetitions_v1",
    "tokenizer_repetitions_v2r2",
];

/// dolma's tokenizer, as a folder below the models directory.
pub const DEFAULT_TOKENIZER: &str = "eleuther-ai-gpt-neox-20b-pii-special/tokenizer.json";

const MIN_PERIOD: usize = 1;
const MAX_PERIOD: usize = 13;
/// `tokenizer_repetitions_v2r2`'s chunk, in code points.
const V2R2_CHUNK: usize = 100_000;

/// The tokenizer file a tagger of this module reads: the option, else the default.
pub fn tokenizer_path(option: Option<&Path>) -> PathBuf {
    option
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::langid::models_dir().join(DEFAULT_TOKENIZER))
}

/// A tokenizer that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot load the tokenizer of {tagger}: {message} (give the `tokenizer` tagger option, or put dolma's `allenai/eleuther-ai-gpt-neox-20b-pii-special` tokenizer.json at $LOAM_MODELS_DIR/{DEFAULT_TOKENIZER}; loam never downloads)")]
pub struct TokenizerError {
    /// The tagger.
    pub tagger: String,
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// A file's bytes, gunzipped when its name ends in `.gz`.
pub(crate) fn read_maybe_gz(path: &Path) -> std::io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)?;
        return Ok(out);
    }
    Ok(bytes)
}

/// One run of a repeated token sequence (dolma's `RepetitionTuple`), in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// Tokens per repeat.
    pub period: usize,
    /// Repeats (`(end - start) / period`, at least 3).
    pub times: usize,
}

/// dolma's `find_periodic_sequences(ids, max_period=13, min_period=1)`: for each period, the
/// ids laid out in rows of `period` (the last row padded with a value no id has), rows equal
/// to the row before (the first row compared with the last, as `np.roll` wraps), runs of such
/// rows widened by the matching tail of the row before and head of the row after.
pub fn periodic_sequences(ids: &[u32]) -> Vec<Periodic> {
    let n = ids.len();
    let mut out = Vec::new();
    let max_period = MAX_PERIOD.min(n / 3);
    // A cell of the padded matrix; `None` is the padding.
    let cell = |i: usize| ids.get(i).copied();
    for period in MIN_PERIOD..=max_period {
        let rows = n / period + 1;
        let prev_row = |r: usize| if r == 0 { rows - 1 } else { r - 1 };
        let eq = |r: usize, c: usize| cell(r * period + c) == cell(prev_row(r) * period + c);
        let full = |r: usize| (0..period).all(|c| eq(r, c));
        let mut r = 0;
        while r < rows {
            if !full(r) {
                r += 1;
                continue;
            }
            let start_row = r;
            while r + 1 < rows && full(r + 1) {
                r += 1;
            }
            let end_row = r;
            r += 1;
            // The matching tail of the row before (`find_start_last_consecutive_true`).
            let before = prev_row(start_row);
            let trailing = (0..period).rev().take_while(|&c| eq(before, c)).count();
            let start_offset = if trailing > 0 && trailing < period {
                trailing
            } else {
                0
            };
            // The matching head of the row after (`find_end_first_consecutive_true`); numpy
            // would raise past the last row, which the padding makes unreachable.
            let after = end_row + 1;
            let end_offset = if after < rows {
                (0..period).take_while(|&c| eq(after, c)).count()
            } else {
                0
            };
            let Some(start) = ((start_row as isize - 1) * period as isize)
                .checked_sub(start_offset as isize)
                .filter(|s| *s >= 0)
            else {
                continue;
            };
            let start = start as usize;
            let end = (end_row + 1) * period + end_offset;
            let times = (end - start) / period;
            if times > 2 {
                out.push(Periodic {
                    start,
                    end,
                    period,
                    times,
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    V1,
    Paragraph,
    V2r2,
}

/// One of dolma's token-repetition taggers over a loaded tokenizer.
pub struct TokenizerRepetitions {
    name: &'static str,
    variant: Variant,
    tokenizer: tokenizers::Tokenizer,
}

impl std::fmt::Debug for TokenizerRepetitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenizerRepetitions")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A repetition in code points of the document, with its score.
type Rep = (i64, i64, usize);

impl TokenizerRepetitions {
    /// Builds the tagger `name` (one of [`NAMES`]) with the tokenizer file `path`; `None`
    /// for another name.
    pub fn load(name: &str, path: &Path) -> Option<Result<Self, TokenizerError>> {
        let (name, variant) = match name {
            "tokenizer_repetitions_v1" => ("tokenizer_repetitions_v1", Variant::V1),
            "paragraph_tokenizer_repetitions_v1" => {
                ("paragraph_tokenizer_repetitions_v1", Variant::Paragraph)
            }
            "tokenizer_repetitions_v2r2" => ("tokenizer_repetitions_v2r2", Variant::V2r2),
            _ => return None,
        };
        let error = |message: String| TokenizerError {
            tagger: name.to_string(),
            path: path.display().to_string(),
            message,
        };
        Some(
            read_maybe_gz(path)
                .map_err(|e| error(e.to_string()))
                .and_then(|bytes| {
                    tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| error(e.to_string()))
                })
                .map(|tokenizer| TokenizerRepetitions {
                    name,
                    variant,
                    tokenizer,
                }),
        )
    }

    /// Repetitions of one text, in code points of it (dolma's `_extract_from_text` of the
    /// base class).
    fn extract(&self, text: &str) -> Result<Vec<Rep>, TagError> {
        let enc = self
            .tokenizer
            .encode_char_offsets(text, false)
            .map_err(|e| TagError {
                tagger: self.name.to_string(),
                message: format!("tokenizer: {e}"),
            })?;
        let (ids, offsets) = (enc.get_ids(), enc.get_offsets());
        let mut out = Vec::new();
        for seq in periodic_sequences(ids) {
            let (Some(first), Some(last)) = (offsets.get(seq.start), offsets.get(seq.end - 1))
            else {
                continue;
            };
            out.push((first.0 as i64, last.1 as i64, seq.times));
        }
        Ok(out)
    }

    /// `tokenizer_repetitions_v2r2`'s `_extract_from_text`: sorted, contained spans dropped.
    fn extract_v2r2(&self, text: &str) -> Result<Vec<Rep>, TagError> {
        let mut spans = self.extract(text)?;
        // Python's sort is stable and so is this one: equal keys keep their order.
        spans.sort_by_key(|&(s, e, score)| (s, std::cmp::Reverse(e), std::cmp::Reverse(score)));
        let (mut prev_start, mut prev_end) = (-1i64, -1i64);
        let mut out = Vec::with_capacity(spans.len());
        for (s, e, score) in spans {
            if s >= prev_start && e <= prev_end {
                continue;
            }
            prev_start = s;
            prev_end = e;
            out.push((s, e, score));
        }
        Ok(out)
    }
}

impl Tagger for TokenizerRepetitions {
    fn name(&self) -> &str {
        self.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let mut reps: Vec<Rep> = Vec::new();
        match self.variant {
            Variant::V1 => reps = self.extract(text)?,
            Variant::Paragraph => {
                for p in split_paragraphs(text, false) {
                    let spaced = format!(" {}", p.text);
                    let at = p.start as i64 - 1;
                    reps.extend(
                        self.extract(&spaced)?
                            .into_iter()
                            .map(|(s, e, score)| (s + at, e + at, score)),
                    );
                }
            }
            Variant::V2r2 => {
                // Chunks of 100,000 code points, offsets moved by the chunk's start.
                let mut at = 0i64;
                let mut rest = text;
                while !rest.is_empty() {
                    let cut = rest
                        .char_indices()
                        .nth(V2R2_CHUNK)
                        .map_or(rest.len(), |(b, _)| b);
                    let (chunk, tail) = rest.split_at(cut);
                    reps.extend(
                        self.extract_v2r2(chunk)?
                            .into_iter()
                            .map(|(s, e, score)| (s + at, e + at, score)),
                    );
                    at += char_len(chunk) as i64;
                    rest = tail;
                }
            }
        }
        let n = char_len(text);
        // dolma's spans are never negative here (a paragraph's leading space is trimmed from
        // the first token's offsets); clamp rather than wrap if a tokenizer does otherwise.
        let clamp = |x: i64| x.max(0) as usize;
        for &(s, e, score) in &reps {
            out.push("repetition", Span::new(clamp(s), clamp(e), score as f64));
        }
        if reps.is_empty() && self.variant == Variant::V2r2 {
            return Ok(());
        }
        let max_score = reps.iter().map(|r| r.2).max().unwrap_or(0);
        let max_len = reps.iter().map(|r| r.1 - r.0).max().unwrap_or(0);
        let covered: i64 = reps.iter().map(|r| r.1 - r.0).sum();
        let frac = if reps.is_empty() || n == 0 {
            0.0
        } else {
            covered as f64 / n as f64
        };
        out.push(
            "doc_max_score_repetition",
            Span::new(0, n, max_score as f64),
        );
        out.push("doc_max_length_repetition", Span::new(0, n, max_len as f64));
        out.push("doc_frac_repetition", Span::new(0, n, frac));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(ids: &[u32]) -> Vec<(usize, usize, usize, usize)> {
        periodic_sequences(ids)
            .into_iter()
            .map(|p| (p.start, p.end, p.period, p.times))
            .collect()
    }

    #[test]
    fn periodic_runs_as_dolmas_numpy_sweep_finds_them() {
        // Values worked out by hand from dolma's algorithm.
        assert_eq!(seqs(&[7, 7, 7]), vec![(0, 3, 1, 3)]);
        assert_eq!(seqs(&[7, 7]), vec![]);
        assert_eq!(seqs(&[1, 7, 7, 7, 7, 2]), vec![(1, 5, 1, 4)]);
        // period 2 from an odd start: rows [1,5][6,5][6,5][6,5][6,9] → widened by one.
        assert_eq!(seqs(&[1, 5, 6, 5, 6, 5, 6, 5, 6, 9]), vec![(1, 9, 2, 4)]);
        // no repetition
        assert_eq!(seqs(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), vec![]);
        assert_eq!(seqs(&[]), vec![]);
    }
}
