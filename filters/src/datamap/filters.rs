//! datamap-rs's document filters beyond length (`src/map_fxn.rs` at f771794: Gopher-style
//! quality rules as Dolma 3 ran them). Each returns what the filter measures, in datamap-rs's
//! arithmetic (`f32`, byte lengths where it counts bytes), and the caller compares it with the
//! bound as datamap-rs does.

use crate::hashing::FastMap;
use std::collections::HashSet;
use unicode_segmentation::UnicodeSegmentation;

/// `symbol_ratio_filter`: occurrences of `#`, `...`, `. . .` and `…` per whitespace word
/// (`. . .` counted as one word), over at least one word.
pub(super) fn symbol_ratio(text: &str) -> f32 {
    let symbols: usize = ["#", "...", ". . .", "\u{2026}"]
        .iter()
        .map(|s| text.matches(s).count())
        .sum();
    let words = text.replace(". . .", "...").split_whitespace().count();
    symbols as f32 / words.max(1) as f32
}

/// `bullet_filter`: lines (split on `\n`, empty ones included) starting with `●`, `•`, `*`
/// or `-`, over all lines.
pub(super) fn bullet_ratio(text: &str) -> f32 {
    let (mut lines, mut bullets) = (0usize, 0usize);
    for line in text.split('\n') {
        lines += 1;
        bullets += usize::from(line.starts_with(['●', '•', '*', '-']));
    }
    bullets as f32 / lines as f32
}

/// `ellipsis_line_ratio_filter`: non-empty lines (`str::lines`) ending with `...`, `. . .` or
/// `…`, over at least one line.
pub(super) fn ellipsis_ratio(text: &str) -> f32 {
    let (mut lines, mut ellipses) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.is_empty()) {
        lines += 1;
        ellipses += usize::from(
            line.ends_with("...") || line.ends_with(". . .") || line.ends_with('\u{2026}'),
        );
    }
    ellipses as f32 / lines.max(1) as f32
}

/// `alphabetic_word_ratio_filter`: whitespace words without an alphabetic character, over all
/// words (NaN for no word, as datamap-rs divides); and the number of words.
pub(super) fn non_alphabetic_ratio(text: &str) -> (f32, usize) {
    let (mut words, mut non_alpha) = (0usize, 0usize);
    for w in text.split_whitespace() {
        words += 1;
        non_alpha += usize::from(!w.chars().any(char::is_alphabetic));
    }
    (non_alpha as f32 / words as f32, words)
}

/// `gzip_annotator`: the size of the text gzip-compressed as datamap-rs does it (flate2's
/// `GzEncoder` at its default level 6 on its default backend, miniz_oxide: a 10-byte header,
/// the raw deflate stream, an 8-byte trailer) over its UTF-8 size (NaN for an empty text, as
/// datamap-rs divides).
pub(super) fn gzip_ratio(text: &str) -> f64 {
    let deflated = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 6);
    (deflated.len() + 18) as f64 / text.len() as f64
}

const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// `stop_word_filter`: whitespace words that lowercase to one of its eight stop words (or the
/// distinct ones, with `count_unique`), counted up to `min` (datamap-rs stops there).
pub(super) fn stop_words(text: &str, count_unique: bool, min: usize) -> usize {
    let mut seen: HashSet<String> = HashSet::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        if count >= min {
            break;
        }
        let lower = word.to_lowercase();
        if STOP_WORDS.contains(&lower.as_str()) {
            if count_unique {
                seen.insert(lower);
                count = seen.len();
            } else {
                count += 1;
            }
        }
    }
    count
}

/// `massive_web_repetition_filter`'s thirteen checks, in its order: (elements, n-gram size,
/// weighted by length, bound). The bounds are `f32` as datamap-rs compares them.
const CHECKS: [(Elements, usize, bool, f32); 13] = [
    (Elements::Lines, 1, false, 0.3),
    (Elements::Paragraphs, 1, false, 0.3),
    (Elements::Lines, 1, true, 0.2),
    (Elements::Paragraphs, 1, true, 0.2),
    (Elements::Words, 2, true, 0.2),
    (Elements::Words, 3, true, 0.18),
    (Elements::Words, 4, true, 0.16),
    (Elements::Words, 5, true, 0.15),
    (Elements::Words, 6, true, 0.14),
    (Elements::Words, 7, true, 0.13),
    (Elements::Words, 8, true, 0.12),
    (Elements::Words, 9, true, 0.11),
    (Elements::Words, 10, true, 0.10),
];

#[derive(Debug, Clone, Copy)]
enum Elements {
    /// Non-empty pieces between `\n`.
    Lines,
    /// Non-empty pieces between `\n\n`.
    Paragraphs,
    /// UAX #29 words.
    Words,
}

/// `massive_web_repetition_filter`: whether every check stays within its bound, and the
/// largest fraction-to-bound ratio over the checks datamap-rs runs (it stops at the first
/// failing one), so a value above 1 is a drop.
pub(super) fn massive_web(text: &str) -> (f32, bool) {
    let lines = Interned::new(text.split('\n').filter(|w| !w.is_empty()));
    let pars = Interned::new(text.split("\n\n").filter(|w| !w.is_empty()));
    // Words are split only when the line and paragraph checks pass.
    let mut words: Option<(Interned, Vec<u32>, usize)> = None;
    let mut worst = 0f32;
    for (elements, n, weighted, bound) in CHECKS {
        let frac = match elements {
            // Lines and paragraphs are checked one by one (n = 1).
            Elements::Lines => lines.repeated_fraction(weighted),
            Elements::Paragraphs => pars.repeated_fraction(weighted),
            Elements::Words => {
                // The checks take n = 2, 3, … in order: each level's n-gram ids are made from
                // the last one's.
                let (w, grams, level) = words.get_or_insert_with(|| {
                    let w = Interned::new(text.unicode_words());
                    let ids = w.ids.clone();
                    (w, ids, 1)
                });
                while *level < n {
                    *grams = w.extend(grams, *level);
                    *level += 1;
                }
                w.ngram_fraction(grams, n)
            }
        };
        worst = worst.max(frac / bound);
        if frac > bound {
            return (worst, false);
        }
    }
    (worst, true)
}

/// Elements as dense ids (equal strings, equal ids) with their byte lengths.
struct Interned {
    ids: Vec<u32>,
    lens: Vec<usize>,
}

impl Interned {
    fn new<'a>(elements: impl Iterator<Item = &'a str>) -> Interned {
        let mut map: FastMap<&str, u32> = FastMap::default();
        let (mut ids, mut lens) = (Vec::new(), Vec::new());
        for e in elements {
            let next = map.len() as u32;
            ids.push(*map.entry(e).or_insert(next));
            lens.push(e.len());
        }
        Interned { ids, lens }
    }

    /// Dense ids of the (n+1)-grams from those of the n-grams (`grams[i]` starts at element
    /// `i`): equal ids exactly when the elements are equal.
    fn extend(&self, grams: &[u32], n: usize) -> Vec<u32> {
        let count = grams.len().saturating_sub(1);
        let mut pairs: FastMap<u64, u32> = FastMap::default();
        pairs.reserve(count);
        (0..count)
            .map(|i| {
                let key = (u64::from(grams[i]) << 32) | u64::from(self.ids[i + n]);
                let next = pairs.len() as u32;
                *pairs.entry(key).or_insert(next)
            })
            .collect()
    }

    /// datamap-rs's `_rep_counter_fraction` for single elements. Lengths are bytes, as
    /// datamap-rs counts them.
    fn repeated_fraction(&self, weighted: bool) -> f32 {
        let ids = &self.ids;
        match ids.len() {
            0 => return 1.0,
            1 => return 0.0,
            _ => {}
        }
        let counts = counts(ids);
        if weighted {
            let total: usize = self.lens.iter().sum();
            let bytes: usize = ids
                .iter()
                .zip(&self.lens)
                .filter(|(i, _)| counts[**i as usize] > 1)
                .map(|(_, l)| l)
                .sum();
            bytes as f32 / total as f32
        } else {
            let repeated = ids.iter().filter(|&&i| counts[i as usize] > 1).count();
            repeated as f32 / ids.len() as f32
        }
    }

    /// `_rep_counter_fraction` for n ≥ 2 over the n-grams' ids: for n ≤ 4 the most repeated
    /// n-gram (the longer on equal counts; datamap-rs groups by an FxHash of the elements,
    /// which merges the rare colliding pairs, and breaks full ties by its hash map's order,
    /// loam by the first occurrence: they differ only when the tied n-grams overlap themselves
    /// differently), for n ≥ 5 every repeated one; the bytes of the elements they cover over
    /// all bytes.
    fn ngram_fraction(&self, grams: &[u32], n: usize) -> f32 {
        match grams.len() {
            0 => return 0.0,
            1 => return 0.0,
            _ => {}
        }
        let counts = counts(grams);
        let mut prefix = Vec::with_capacity(self.lens.len() + 1);
        prefix.push(0usize);
        for l in &self.lens {
            prefix.push(prefix[prefix.len() - 1] + l);
        }
        let total = prefix[prefix.len() - 1];
        let mut covered = vec![false; self.ids.len()];
        let mut cover = |i: usize| covered[i..i + n].iter_mut().for_each(|c| *c = true);
        if n <= 4 {
            // (count, bytes, id): the first occurrence of each n-gram, in order.
            let mut seen = vec![false; counts.len()];
            let mut best: Option<(u32, usize, u32)> = None;
            for (i, &g) in grams.iter().enumerate() {
                if seen[g as usize] {
                    continue;
                }
                seen[g as usize] = true;
                let c = counts[g as usize];
                if c < 2 {
                    continue;
                }
                let len = prefix[i + n] - prefix[i];
                if best.is_none_or(|(bc, bl, _)| (c, len) > (bc, bl)) {
                    best = Some((c, len, g));
                }
            }
            if let Some((_, _, g)) = best {
                (0..grams.len())
                    .filter(|&i| grams[i] == g)
                    .for_each(&mut cover);
            }
        } else {
            (0..grams.len())
                .filter(|&i| counts[grams[i] as usize] > 1)
                .for_each(&mut cover);
        }
        let repeated: usize = self
            .lens
            .iter()
            .zip(&covered)
            .filter(|(_, c)| **c)
            .map(|(l, _)| l)
            .sum();
        repeated as f32 / total as f32
    }
}

/// Occurrences of each dense id.
fn counts(ids: &[u32]) -> Vec<u32> {
    let mut counts = vec![0u32; ids.iter().max().map_or(0, |m| *m as usize + 1)];
    for &i in ids {
        counts[i as usize] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_bullets_ellipses_and_letters() {
        // 3 symbols; `. . .` becomes one word of 7.
        assert_eq!(symbol_ratio("a # b ... c . . . d"), 3.0 / 7.0);
        assert_eq!(bullet_ratio("- a\n* b\nc\n"), 2.0 / 4.0);
        assert_eq!(ellipsis_ratio("a...\n\nb…\nc\r\n"), 2.0 / 3.0);
        assert_eq!(non_alphabetic_ratio("a 12 ?? b"), (0.5, 4));
        assert!(non_alphabetic_ratio("").0.is_nan());
    }

    #[test]
    fn stop_words_count_up_to_the_minimum() {
        assert_eq!(stop_words("The cat and THE dog", false, 5), 3);
        assert_eq!(stop_words("The cat and THE dog", true, 5), 2);
        assert_eq!(stop_words("the the the", false, 2), 2);
    }

    #[test]
    fn repetition_fractions_follow_gopher_weighting() {
        let f = |e: &[&str], n: usize, w| {
            let e = Interned::new(e.iter().copied());
            if n == 1 {
                return e.repeated_fraction(w);
            }
            let mut grams = e.ids.clone();
            for level in 1..n {
                grams = e.extend(&grams, level);
            }
            e.ngram_fraction(&grams, n)
        };
        // Lines: 2 of 3 repeated.
        assert_eq!(f(&["a", "a", "bb"], 1, false), 2.0 / 3.0);
        // Weighted by bytes: 2 of 4.
        assert_eq!(f(&["a", "a", "bb"], 1, true), 2.0 / 4.0);
        // No element: a fraction of 1 for single elements, 0 for n-grams.
        assert_eq!(f(&[], 1, false), 1.0);
        assert_eq!(f(&["x"], 2, true), 0.0);
        // Bigram "a b" twice: 4 of 5 bytes (the elements a, b, a, b).
        assert_eq!(f(&["a", "b", "a", "b", "c"], 2, true), 4.0 / 5.0);
        // Self-overlapping "a a" in "a a a": every element covered.
        assert_eq!(f(&["a", "a", "a", "b"], 2, true), 3.0 / 4.0);
        let (_, pass) = massive_web("one line\none line\none line\nother\n");
        assert!(!pass);
        let (worst, pass) =
            massive_web("A plain sentence with different words.\n\nAnother one here.");
        assert!(pass && worst < 1.0, "{worst}");
    }
}
