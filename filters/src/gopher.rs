//! Gopher quality signals: dolma 1.2.1's `python/dolma/taggers/gopher.py` (`gopher_v1`,
//! `gopher_v2`), after Rae et al. 2021 (Gopher), table A1.
//!
//! Every signal is one document-level span `[0, len(text), value]`. Words are `str.split()`
//! (CPython whitespace, see [`crate::pytext`]); lengths are in code points.
//!
//! | signal | value |
//! |---|---|
//! | `fraction_of_characters_in_most_common_{n}grams`, n = 2, 3, 4 | characters (sum of word lengths) of the most frequent word n-gram times its count, over the characters of all words; ties go to the n-gram seen first. Absent when the text has fewer than n words |
//! | `fraction_of_characters_in_duplicate_{n}grams`, n = 5..10 | characters of all n-gram occurrences whose n-gram occurs more than once, over the characters of all n-gram occurrences. Absent when fewer than n words |
//! | `character_count` | `len(text)` |
//! | `word_count` | number of words |
//! | `median_word_length` | median word length (0 without words) |
//! | `symbol_to_word_ratio` | words containing `#` or `…`, over words |
//! | `fraction_of_words_with_alpha_character` | words with a `str.isalpha()` character, over words |
//! | `required_word_count` | words equal to one of `the be to of and that have with` (case-sensitive) |
//! | `fraction_of_lines_starting_with_bullet_point` | lines starting with `*` or `-`, over lines |
//! | `fraction_of_lines_ending_with_ellipsis` | lines ending with `…` (U+2026), over lines |
//! | `fraction_of_duplicate_lines` | lines whose exact text occurs more than once, over lines |
//! | `fraction_of_characters_in_duplicate_lines` | code points of those lines, over the characters **of all words** (dolma divides by the word-character count, not the text length; values can exceed 1) |
//!
//! Lines: `gopher_v1` splits on every `\n` (blank lines count, and are duplicates of each
//! other); `gopher_v2` splits on runs of `\n` (`re.split(r"\n+")`, so only a leading or trailing
//! empty line remains). An empty text gets zeros for the ten plain signals and no n-gram
//! signal; `word_count` 0 makes every word ratio 0.
//!
//! # Known dolma bug: n-gram signal names
//!
//! dolma names these signals `fraction_of_characters_in_most_common_2grams` (…`_3grams`,
//! `_4grams`) and `fraction_of_characters_in_duplicate_5grams` … `_10grams`, and loam keeps those
//! names so that existing attribute files and filters keep working. dolma's own Gopher mixer
//! configs (for example `configs/dolma-v1_5/mixing/c4.yaml` line 55 and `cc-head.yaml` line 52:
//! `$.attributes[?(@.gopher_rules__gopher_v1__fraction_of_characters_in_most_common_2gram && …)]`)
//! ask for the singular `…_2gram` form, which no tagger produces: the rules on the top 2-, 3-
//! and 4-gram fractions never fire in dolma. A loam mix that should apply them must use the names above.

use crate::hashing::FastMap;
use crate::pytext::{char_len, div, is_py_alpha, py_split_whitespace};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};

const REQUIRED_ENGLISH_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];
const ELLIPSIS: char = '\u{2026}';

/// How `gopher_*` splits lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSplit {
    /// `text.split("\n")` (`gopher_v1`).
    EveryNewline,
    /// `re.split(r"\n+", text)` (`gopher_v2`).
    NewlineRuns,
}

/// The Gopher tagger; [`GopherTagger::v1`] and [`GopherTagger::v2`] differ in line splitting.
#[derive(Debug, Clone)]
pub struct GopherTagger {
    name: &'static str,
    lines: LineSplit,
}

impl GopherTagger {
    /// `gopher_v1`.
    pub fn v1() -> Self {
        GopherTagger {
            name: "gopher_v1",
            lines: LineSplit::EveryNewline,
        }
    }
    /// `gopher_v2`.
    pub fn v2() -> Self {
        GopherTagger {
            name: "gopher_v2",
            lines: LineSplit::NewlineRuns,
        }
    }
}

impl Tagger for GopherTagger {
    fn name(&self) -> &str {
        self.name
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let a = attributes(&doc.text, self.lines);
        let end = a.character_count;
        for (n, v) in &a.most_common_ngram {
            out.push(
                &format!("fraction_of_characters_in_most_common_{n}grams"),
                Span::new(0, end, *v),
            );
        }
        for (n, v) in &a.duplicate_ngrams {
            out.push(
                &format!("fraction_of_characters_in_duplicate_{n}grams"),
                Span::new(0, end, *v),
            );
        }
        let plain = [
            ("character_count", a.character_count as f64),
            ("word_count", a.word_count as f64),
            ("median_word_length", a.median_word_length),
            ("symbol_to_word_ratio", a.symbol_to_word_ratio),
            (
                "fraction_of_words_with_alpha_character",
                a.fraction_of_words_with_alpha_character,
            ),
            ("required_word_count", a.required_word_count as f64),
            (
                "fraction_of_lines_starting_with_bullet_point",
                a.fraction_of_lines_starting_with_bullet_point,
            ),
            (
                "fraction_of_lines_ending_with_ellipsis",
                a.fraction_of_lines_ending_with_ellipsis,
            ),
            ("fraction_of_duplicate_lines", a.fraction_of_duplicate_lines),
            (
                "fraction_of_characters_in_duplicate_lines",
                a.fraction_of_characters_in_duplicate_lines,
            ),
        ];
        for (k, v) in plain {
            out.push(k, Span::new(0, end, v));
        }
        Ok(())
    }
}

/// The Gopher values of one text (unrounded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GopherAttributes {
    /// `(n, value)` for n = 2, 3, 4 when there are at least n words.
    pub most_common_ngram: Vec<(usize, f64)>,
    /// `(n, value)` for n = 5..=10 when there are at least n words.
    pub duplicate_ngrams: Vec<(usize, f64)>,
    /// `len(text)` in code points.
    pub character_count: usize,
    /// Number of words.
    pub word_count: usize,
    /// Median word length.
    pub median_word_length: f64,
    /// Words with `#` or `…`, over words.
    pub symbol_to_word_ratio: f64,
    /// Words with an alphabetic character, over words.
    pub fraction_of_words_with_alpha_character: f64,
    /// Words that are one of the required English words.
    pub required_word_count: usize,
    /// Lines starting with `*` or `-`, over lines.
    pub fraction_of_lines_starting_with_bullet_point: f64,
    /// Lines ending with `…`, over lines.
    pub fraction_of_lines_ending_with_ellipsis: f64,
    /// Duplicate lines, over lines.
    pub fraction_of_duplicate_lines: f64,
    /// Code points in duplicate lines, over word characters.
    pub fraction_of_characters_in_duplicate_lines: f64,
}

/// Computes the Gopher values of `text` (dolma's `get_attributes`).
pub fn attributes(text: &str, line_split: LineSplit) -> GopherAttributes {
    let mut a = GopherAttributes {
        character_count: char_len(text),
        ..Default::default()
    };
    if a.character_count == 0 {
        return a;
    }
    // One pass over the words: lengths, the per-word counts and the word ids. Web text has
    // about one word per 6 bytes, and fewer distinct words.
    let mut lens: Vec<usize> = Vec::with_capacity(text.len() / 6);
    let mut word_ids: Vec<u32> = Vec::with_capacity(text.len() / 6);
    let mut word_counts: Vec<u32> = Vec::new();
    let mut ids: FastMap<&str, u32> = FastMap::default();
    ids.reserve(text.len() / 8);
    let (mut symbols, mut alpha, mut required) = (0usize, 0usize, 0usize);
    for w in py_split_whitespace(text) {
        let bytes = w.as_bytes();
        let len = if w.is_ascii() {
            bytes.len()
        } else {
            char_len(w)
        };
        lens.push(len);
        // `#` is ASCII; `…` (U+2026) is E2 80 A6 and cannot start inside another character.
        if memchr::memchr2(b'#', 0xe2, bytes).is_some() && (w.contains('#') || w.contains(ELLIPSIS))
        {
            symbols += 1;
        }
        if bytes.iter().any(u8::is_ascii_alphabetic)
            || (len != bytes.len() && w.chars().any(is_py_alpha))
        {
            alpha += 1;
        }
        if is_required_word(bytes) {
            required += 1;
        }
        let next = word_counts.len() as u32;
        let id = *ids.entry(w).or_insert(next);
        if id == next {
            word_counts.push(0);
        }
        word_counts[id as usize] += 1;
        word_ids.push(id);
    }
    drop(ids);
    let word_count = lens.len();
    let word_chars: usize = lens.iter().sum();
    let denom_words = word_count.max(1);
    a.word_count = word_count;
    a.median_word_length = median(&lens);
    a.symbol_to_word_ratio = div(symbols, denom_words);
    a.fraction_of_words_with_alpha_character = div(alpha, denom_words);
    a.required_word_count = required;

    let mut prefix = Vec::with_capacity(word_count + 1);
    prefix.push(0usize);
    for l in &lens {
        prefix.push(prefix.last().copied().unwrap_or(0) + l);
    }
    // An n-gram's id is the id of its (n-1)-gram prefix paired with its last word's id, so
    // each level is one exact hash lookup per window (no collisions, no slice hashing). An
    // n-gram can repeat only if both of its (n-1)-grams do, so each level looks only at the
    // windows whose prefix and suffix (n-1)-grams repeat (`pos`, ascending, with their ids
    // in `pid`); every other window occurs once. Past n = 3 few windows of real text remain.
    let mut pos: Vec<u32> = Vec::with_capacity(word_count);
    let mut pid: Vec<u32> = Vec::with_capacity(word_count);
    for (i, &id) in word_ids.iter().enumerate() {
        if word_counts[id as usize] > 1 {
            pos.push(i as u32);
            pid.push(id);
        }
    }
    let mut pairs: FastMap<u64, u32> = FastMap::default();
    pairs.reserve(pos.len());
    let mut counts: Vec<u32> = Vec::new();
    let (mut npos, mut nid): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for n in 2..=10usize {
        if word_count < n {
            break;
        }
        let windows = word_count - n + 1;
        pairs.clear();
        counts.clear();
        npos.clear();
        nid.clear();
        for k in 1..pos.len() {
            let i = pos[k - 1] as usize;
            if pos[k] as usize != i + 1 {
                continue;
            }
            // Window i + 1 of n - 1 words exists, so word i + n - 1 does.
            let key = (u64::from(pid[k - 1]) << 32) | u64::from(word_ids[i + n - 1]);
            let next = counts.len() as u32;
            let id = *pairs.entry(key).or_insert(next);
            if id == next {
                counts.push(0);
            }
            counts[id as usize] += 1;
            npos.push(i as u32);
            nid.push(id);
        }
        let chars_of = |i: usize| prefix[i + n] - prefix[i];
        if n <= 4 {
            // Counter.most_common(1): the highest count, first inserted on ties, i.e. the
            // first window (in text order) whose n-gram has the highest count (window 0
            // when every n-gram occurs once).
            let max = counts.iter().copied().max().unwrap_or(1);
            let first = if max > 1 {
                (0..npos.len())
                    .find(|&k| counts[nid[k] as usize] == max)
                    .map_or(0, |k| npos[k] as usize)
            } else {
                0
            };
            let value = div(max as usize * chars_of(first), word_chars.max(1));
            a.most_common_ngram.push((n, value));
        } else {
            // The characters of all windows, Σ_i prefix[i+n] - prefix[i], telescoped.
            let all: usize = prefix[windows..windows + n].iter().sum::<usize>()
                - prefix[..n].iter().sum::<usize>();
            let dup: usize = npos
                .iter()
                .zip(&nid)
                .filter(|(_, &id)| counts[id as usize] > 1)
                .map(|(&i, _)| chars_of(i as usize))
                .sum();
            a.duplicate_ngrams.push((n, div(dup, all.max(1))));
        }
        // The repeating n-grams are the next level's candidates.
        pos.clear();
        pid.clear();
        for (&i, &id) in npos.iter().zip(&nid) {
            if counts[id as usize] > 1 {
                pos.push(i);
                pid.push(id);
            }
        }
    }

    let lines: Vec<&str> = match line_split {
        LineSplit::EveryNewline => text.split('\n').collect(),
        LineSplit::NewlineRuns => {
            let pieces: Vec<&str> = text.split('\n').collect();
            let last = pieces.len() - 1;
            pieces
                .into_iter()
                .enumerate()
                .filter(|(i, p)| *i == 0 || *i == last || !p.is_empty())
                .map(|(_, p)| p)
                .collect()
        }
    };
    let line_count = lines.len().max(1);
    a.fraction_of_lines_starting_with_bullet_point = div(
        lines
            .iter()
            .filter(|l| l.starts_with('*') || l.starts_with('-'))
            .count(),
        line_count,
    );
    a.fraction_of_lines_ending_with_ellipsis = div(
        lines.iter().filter(|l| l.ends_with(ELLIPSIS)).count(),
        line_count,
    );
    let mut line_counts: FastMap<&str, usize> = FastMap::default();
    line_counts.reserve(lines.len());
    for l in &lines {
        *line_counts.entry(l).or_insert(0) += 1;
    }
    let mut dup_lines = 0usize;
    let mut dup_line_chars = 0usize;
    for (l, c) in &line_counts {
        if *c > 1 {
            dup_lines += c;
            dup_line_chars += char_len(l) * c;
        }
    }
    a.fraction_of_duplicate_lines = div(dup_lines, line_count);
    a.fraction_of_characters_in_duplicate_lines = div(dup_line_chars, word_chars.max(1));
    a
}

/// Whether a word is one of [`REQUIRED_ENGLISH_WORDS`] (at most 4 bytes each): the word and
/// the list packed into integers (with the length), so the test is 8 integer compares.
#[inline]
fn is_required_word(bytes: &[u8]) -> bool {
    if bytes.len() > 4 {
        return false;
    }
    const fn pack(b: &[u8]) -> u64 {
        let mut v = b.len() as u64;
        let mut i = 0;
        while i < b.len() {
            v |= (b[i] as u64) << (8 * (i + 1));
            i += 1;
        }
        v
    }
    const PACKED: [u64; 8] = {
        let mut t = [0u64; 8];
        let mut i = 0;
        while i < 8 {
            t[i] = pack(REQUIRED_ENGLISH_WORDS[i].as_bytes());
            i += 1;
        }
        t
    };
    let w = pack(bytes);
    PACKED.contains(&w)
}

/// `statistics.median` of the values (0.0 when empty).
fn median(values: &[usize]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    // Selection instead of a sort: linear time; the lower middle of an even count is the
    // largest value left of the upper middle.
    let mut v = values.to_vec();
    let n = v.len();
    let (left, upper, _) = v.select_nth_unstable(n / 2);
    let upper = *upper;
    if n % 2 == 1 {
        upper as f64
    } else {
        let lower = left.iter().copied().max().unwrap_or(upper);
        (lower + upper) as f64 / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{bad_inputs, run, score, spans, ten_mb_line};

    #[test]
    fn basic_values() {
        let t = "the cat the cat the dog\n* item…\n* item…\n";
        let s = run(&GopherTagger::v1(), t);
        let n = char_len(t);
        assert_eq!(spans(&s, "character_count"), [(0, n, n as f64)]);
        assert_eq!(score(&s, "word_count"), 10.0);
        // words: the cat the cat the dog * item… * item…: lengths 3 3 3 3 3 3 1 5 1 5
        assert_eq!(score(&s, "median_word_length"), 3.0);
        assert_eq!(score(&s, "symbol_to_word_ratio"), 0.2);
        assert_eq!(score(&s, "fraction_of_words_with_alpha_character"), 0.8);
        assert_eq!(score(&s, "required_word_count"), 3.0);
        // lines: 3 texts + trailing "" -> 4 lines
        assert_eq!(
            score(&s, "fraction_of_lines_starting_with_bullet_point"),
            0.5
        );
        assert_eq!(score(&s, "fraction_of_lines_ending_with_ellipsis"), 0.5);
        assert_eq!(score(&s, "fraction_of_duplicate_lines"), 0.5);
        // 2 × "* item…" (7 chars) over 30 word characters
        assert_eq!(
            score(&s, "fraction_of_characters_in_duplicate_lines"),
            0.46667
        );
        // most common 2-gram: "the cat" (first of the two with count 2: "the cat", "cat the")
        assert_eq!(
            score(&s, "fraction_of_characters_in_most_common_2grams"),
            0.4
        );
        assert!(spans(&s, "fraction_of_characters_in_duplicate_10grams").len() == 1);
    }

    #[test]
    fn tie_goes_to_first_ngram() {
        // "aa b" and "b aa" both occur twice; "aa b" comes first: (2+1)*2/... ; word chars 9
        let s = run(&GopherTagger::v1(), "aa b aa b aa");
        // 2-grams: (aa,b)×2, (b,aa)×2 -> first is (aa,b): 3 chars × 2 / 8
        assert_eq!(
            score(&s, "fraction_of_characters_in_most_common_2grams"),
            0.75
        );
    }

    #[test]
    fn v2_splits_newline_runs() {
        let t = "\n\na\n\n\nb\n\n";
        let a1 = attributes(t, LineSplit::EveryNewline);
        let a2 = attributes(t, LineSplit::NewlineRuns);
        // v1: ['', '', 'a', '', '', 'b', '', ''] -> 6 duplicate lines of 8
        assert_eq!(a1.fraction_of_duplicate_lines, 0.75);
        // v2: ['', 'a', 'b', ''] -> 2 of 4
        assert_eq!(a2.fraction_of_duplicate_lines, 0.5);
    }

    #[test]
    fn bad_inputs_have_defined_values() {
        for text in bad_inputs() {
            for t in [GopherTagger::v1(), GopherTagger::v2()] {
                let s = run(&t, &text);
                let n = char_len(&text);
                assert_eq!(spans(&s, "character_count"), [(0, n, n as f64)]);
                for (_, v) in s.iter() {
                    assert!(v.iter().all(|x| x.score.is_finite()));
                }
            }
        }
        let s = run(&GopherTagger::v1(), "");
        assert_eq!(s.iter().count(), 10);
        assert_eq!(score(&s, "median_word_length"), 0.0);
        let s = run(&GopherTagger::v1(), " \n ");
        assert_eq!(score(&s, "word_count"), 0.0);
        assert_eq!(score(&s, "fraction_of_duplicate_lines"), 1.0);
    }

    #[test]
    fn ten_mb_single_line() {
        let t = ten_mb_line();
        let s = run(&GopherTagger::v2(), &t);
        assert!(score(&s, "word_count") > 1e6);
        assert_eq!(score(&s, "fraction_of_duplicate_lines"), 0.0);
    }
}
