//! Character-repetition signals: dolma 1.2.1's `python/dolma/taggers/repetitions/`
//! (`repetitions_v1`, `paragraph_repetitions_v1`).
//!
//! dolma finds repetitions with the Python regex `(.+?)(\s?\1){3,}`: a unit of one or more
//! characters other than `\n`, then at least three more copies of it, each copy optionally
//! preceded by one whitespace character (CPython whitespace, `\n` included, so copies may sit on
//! consecutive lines). loam implements that regex's exact backtracking semantics without a
//! regex engine (Rust's `regex` has no back-references):
//!
//! - matches are searched left to right and do not overlap (`re.finditer`);
//! - at a position, the shortest unit that gives at least three copies wins (`+?` is lazy);
//! - copies are then taken greedily, each preferring a leading whitespace character
//!   (`\s?` is greedy), backtracking only while fewer than three copies are found.
//!
//! Signals: `repetition` — one span per match, score the number of non-overlapping
//! occurrences of the unit in the matched text (`str.count`); and, always, three
//! document-level spans `[0, len]`: `doc_max_score_repetition` (highest score, 0 without
//! matches), `doc_max_length_repetition` (longest match, 0 without matches) and
//! `doc_frac_repetition` (code points in matches over `len(text)`, 0 without matches).
//!
//! `paragraph_repetitions_v1` runs the same search inside each line of dolma's
//! `split_paragraphs(text, remove_empty=False)` (each line with its `\n`), so its matches never
//! cross a line.
//!
//! # Bound
//!
//! dolma's regex takes time quadratic in the line length (each start position tries every
//! unit length), so dolma never finishes on a multi-megabyte line. loam considers units of at
//! most [`MAX_UNIT_CHARS`] code points, which keeps the search fast on any input; a repetition
//! whose unit is longer (four copies of a 4,097-character unit on one line) is not reported.
//! Shorter units give exactly dolma's spans.

use crate::pytext::{char_len, is_py_space, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::collections::HashMap;

/// Longest repeated unit (code points) that is searched for.
pub const MAX_UNIT_CHARS: usize = 4096;

/// Length of the character k-grams used to find candidate unit lengths.
const K: usize = 8;

/// One repetition: code-point offsets and dolma's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repetition {
    /// First code point of the match.
    pub start: usize,
    /// One past the last code point.
    pub end: usize,
    /// Occurrences of the unit in the match (`str.count`).
    pub score: usize,
}

/// Finds the matches of `(.+?)(\s?\1){3,}` in `text` (as `re.finditer` does), offsets in code
/// points of `text`.
pub fn find_repetitions(text: &str) -> Vec<Repetition> {
    let chars: Vec<char> = text.chars().collect();
    Finder::new(&chars).run()
}

struct Finder<'a> {
    c: &'a [char],
    /// `next_same[p]`: the next position whose K-gram hash equals position p's (u32::MAX: none).
    next_same: Vec<u32>,
    /// `line_end[p]`: index of the first `\n` at or after p (or the text length), stored per
    /// line start run; computed on the fly.
    newline_after: Vec<u32>,
}

impl<'a> Finder<'a> {
    fn new(c: &'a [char]) -> Self {
        let n = c.len();
        let mut next_same = vec![u32::MAX; n];
        if n >= K {
            let mut last: HashMap<u64, u32> = HashMap::new();
            for p in (0..=n - K).rev() {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for ch in &c[p..p + K] {
                    h = (h ^ *ch as u64).wrapping_mul(0x0000_0100_0000_01b3);
                }
                if let Some(q) = last.insert(h, p as u32) {
                    next_same[p] = q;
                }
            }
        }
        let mut newline_after = vec![n as u32; n];
        let mut next = n as u32;
        for p in (0..n).rev() {
            if c[p] == '\n' {
                next = p as u32;
            }
            newline_after[p] = next;
        }
        Finder {
            c,
            next_same,
            newline_after,
        }
    }

    fn run(&self) -> Vec<Repetition> {
        let n = self.c.len();
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            if self.c[i] == '\n' {
                i += 1;
                continue;
            }
            match self.match_at(i) {
                Some((len, end)) => {
                    let score = count_non_overlapping(&self.c[i..end], &self.c[i..i + len]);
                    out.push(Repetition {
                        start: i,
                        end,
                        score,
                    });
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    /// The shortest unit length at `i` that matches, and the match end.
    fn match_at(&self, i: usize) -> Option<(usize, usize)> {
        let line_end = self.newline_after[i] as usize;
        let max_len = (line_end - i).min(MAX_UNIT_CHARS);
        // Short units: try every length.
        for len in 1..K.min(max_len + 1) {
            if let Some(end) = self.try_unit(i, len) {
                return Some((len, end));
            }
        }
        if max_len < K {
            return None;
        }
        // Longer units: the first copy starts at a later occurrence q of the K-gram at i,
        // either right after the unit (len = q - i) or after one whitespace (len = q - i - 1).
        let mut last_tried = 0;
        let mut q = self.next_same[i];
        while q != u32::MAX {
            let qu = q as usize;
            if qu > i + max_len + 1 {
                break;
            }
            for len in [qu - i - 1, qu - i] {
                if len < K || len > max_len || len <= last_tried {
                    continue;
                }
                // The whitespace form needs a whitespace before q (the plain form of this
                // length was tried at the previous occurrence, if any).
                if len == qu - i - 1 && !is_py_space(self.c[qu - 1]) {
                    continue;
                }
                last_tried = len;
                if let Some(end) = self.try_unit(i, len) {
                    return Some((len, end));
                }
            }
            q = self.next_same[qu];
        }
        None
    }

    /// Whether the unit `c[i..i+len]` occurs at `p`.
    #[inline]
    fn copy_at(&self, i: usize, len: usize, p: usize) -> bool {
        p + len <= self.c.len() && self.c[p..p + len] == self.c[i..i + len]
    }

    /// Matches `(\s?\1){3,}` after the unit `c[i..i+len]`; returns the match end.
    fn try_unit(&self, i: usize, len: usize) -> Option<usize> {
        self.copies(i, len, i + len, 0)
    }

    fn copies(&self, i: usize, len: usize, pos: usize, count: usize) -> Option<usize> {
        if count >= 3 {
            // Enough copies: the rest is a greedy chain that always succeeds.
            let mut pos = pos;
            loop {
                if pos < self.c.len() && is_py_space(self.c[pos]) && self.copy_at(i, len, pos + 1) {
                    pos += 1 + len;
                } else if self.copy_at(i, len, pos) {
                    pos += len;
                } else {
                    return Some(pos);
                }
            }
        }
        if pos < self.c.len() && is_py_space(self.c[pos]) && self.copy_at(i, len, pos + 1) {
            if let Some(end) = self.copies(i, len, pos + 1 + len, count + 1) {
                return Some(end);
            }
        }
        if self.copy_at(i, len, pos) {
            if let Some(end) = self.copies(i, len, pos + len, count + 1) {
                return Some(end);
            }
        }
        None
    }
}

/// Python's `haystack.count(needle)`: non-overlapping occurrences, left to right.
fn count_non_overlapping(haystack: &[char], needle: &[char]) -> usize {
    let l = needle.len();
    let mut count = 0;
    let mut j = 0;
    while j + l <= haystack.len() {
        if haystack[j..j + l] == *needle {
            count += 1;
            j += l;
        } else {
            j += 1;
        }
    }
    count
}

fn emit(text: &str, reps: &[Repetition], out: &mut Signals) {
    let n = char_len(text);
    for r in reps {
        out.push("repetition", Span::new(r.start, r.end, r.score as f64));
    }
    let max_score = reps.iter().map(|r| r.score).max().unwrap_or(0);
    let max_len = reps.iter().map(|r| r.end - r.start).max().unwrap_or(0);
    let covered: usize = reps.iter().map(|r| r.end - r.start).sum();
    let frac = if reps.is_empty() {
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
}

/// `repetitions_v1`: repetitions anywhere in the document.
#[derive(Debug, Default, Clone, Copy)]
pub struct RepetitionsV1;

impl Tagger for RepetitionsV1 {
    fn name(&self) -> &str {
        "repetitions_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let reps = find_repetitions(&doc.text);
        emit(&doc.text, &reps, out);
        Ok(())
    }
}

/// `paragraph_repetitions_v1`: repetitions within each line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParagraphRepetitionsV1;

impl Tagger for ParagraphRepetitionsV1 {
    fn name(&self) -> &str {
        "paragraph_repetitions_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let mut reps = Vec::new();
        for p in split_paragraphs(&doc.text, false) {
            for r in find_repetitions(p.text) {
                reps.push(Repetition {
                    start: r.start + p.start,
                    end: r.end + p.start,
                    score: r.score,
                });
            }
        }
        emit(&doc.text, &reps, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{bad_inputs, run, score, spans, ten_mb_line};

    fn reps(t: &str) -> Vec<(usize, usize, usize)> {
        find_repetitions(t)
            .into_iter()
            .map(|r| (r.start, r.end, r.score))
            .collect()
    }

    #[test]
    fn regex_semantics() {
        assert_eq!(reps("aaaa"), [(0, 4, 4)]);
        assert_eq!(reps("aaa"), []);
        // the unit may start with the space: " ab"
        assert_eq!(reps("xx ab ab ab ab yy"), [(2, 14, 4)]);
        // copies may be separated by a newline
        assert_eq!(reps("ab\nab\nab\nab"), [(0, 11, 4)]);
        // lazy unit: "a" wins over "aa"; greedy copies
        assert_eq!(reps("aaaaaaa b"), [(0, 7, 7)]);
        // "ab ab ab abab": copies with and without a space
        assert_eq!(reps("ab ab abab"), [(0, 10, 4)]);
        // at most one whitespace between copies
        assert_eq!(reps("ab  ab  ab  ab"), []);
        // the unit itself may contain spaces; score counts in the whole match
        assert_eq!(
            reps("hello world hello world hello world hello world!"),
            [(0, 47, 4)]
        );
        // unit of 8+ characters found through the K-gram index
        let u = "abcdefghij";
        assert_eq!(reps(&format!("{u}{u} {u}{u}")), [(0, 41, 4)]);
        assert_eq!(reps("a a aa"), [(0, 6, 4)]);
        // backtracking: the greedy first copy " ab" leaves too few; "ab" then " ab" " ab"
        assert_eq!(reps("ab ab ab"), []);
    }

    #[test]
    fn paragraph_version_stays_in_lines() {
        let t = "ab\nab\nab\nab\ncccc\n";
        let s = run(&RepetitionsV1, t);
        assert_eq!(spans(&s, "repetition"), [(0, 11, 4.0), (12, 16, 4.0)]);
        let s = run(&ParagraphRepetitionsV1, t);
        assert_eq!(spans(&s, "repetition"), [(12, 16, 4.0)]);
        assert_eq!(score(&s, "doc_max_length_repetition"), 4.0);
        assert_eq!(
            score(&s, "doc_frac_repetition"),
            Span::new(0, 0, 4.0 / 17.0).score
        );
    }

    #[test]
    fn bad_inputs_have_defined_values() {
        for text in bad_inputs() {
            for t in [&RepetitionsV1 as &dyn Tagger, &ParagraphRepetitionsV1] {
                let s = run(t, &text);
                let n = char_len(&text);
                assert_eq!(spans(&s, "doc_max_score_repetition").len(), 1);
                for (_, v) in s.iter() {
                    assert!(v.iter().all(|x| x.end <= n && x.score.is_finite()));
                }
            }
        }
        let s = run(&RepetitionsV1, "");
        assert_eq!(spans(&s, "doc_frac_repetition"), [(0, 0, 0.0)]);
        assert!(spans(&s, "repetition").is_empty());
    }

    #[test]
    fn ten_mb_single_line() {
        let t = ten_mb_line();
        let s = run(&RepetitionsV1, &t);
        assert!(score(&s, "doc_max_score_repetition") >= 0.0);
        let t = "ab".repeat(5_000_000);
        let s = run(&ParagraphRepetitionsV1, &t);
        assert_eq!(spans(&s, "repetition"), [(0, 10_000_000, 5_000_000.0)]);
    }
}
