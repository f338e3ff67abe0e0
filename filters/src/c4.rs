//! C4 rule signals: dolma 1.2.1's `python/dolma/taggers/c4.py` (`c4_v1`, `c4_v2`), after
//! Raffel et al. 2020 (C4).
//!
//! Lines are `text.split("\n")`; a line span covers the line and its `\n` (the last line has
//! none). Each line is compared lowercased (`str.lower()`) and stripped (`str.strip()`).
//!
//! | signal | spans |
//! |---|---|
//! | `lines_with_no_ending_punctuation` | `[line start, line end, 1]` for each line not ending with `.` `?` `!` or `"` (blank lines included) |
//! | `lines_with_too_few_words` | the same for each line with fewer than 3 words (`str.split()`) |
//! | `has_naughty_word` | `[0, len, 1]` when a word equals a listed word, or a listed phrase (an entry with a space) occurs in a line |
//! | `has_javascript` | `[0, len, 1]`: `c4_v1` when a word equals `javascript`; `c4_v2` when `javascript` occurs anywhere (also inside `javascripts`, `nojavascript`) |
//! | `has_lorem_ipsum` | `[0, len, 1]` when `lorem ipsum` occurs |
//! | `has_curly_brace` | `[0, len, 1]` when `{` occurs |
//! | `line_count` | `[0, len, number of lines]` (`""` has one line) |
//!
//! The flags are absent, not 0, when false; dolma emits no span for them either.
//!
//! # The word list
//!
//! dolma does not download its list: it reads `dolma/data/naughty_words_en.txt`, a file inside
//! the `dolma` package on PyPI (the English "List of Dirty, Naughty, Obscene, and Otherwise Bad
//! Words", LDNOOBW, CC BY 4.0). loam embeds that file, byte for byte as shipped in the
//! `dolma==1.2.1` wheel (`filters/data/naughty_words_en.txt`, sha256 in
//! [`NAUGHTY_WORDS_EN_SHA256`]); [`C4Tagger::with_word_list`] takes another list in the same
//! format (one entry a line).
//!
//! # Known dolma bug: `c4_v2` line offsets after lowercasing
//!
//! `c4_v2` lowercases the whole text first and computes line offsets on the lowercased copy.
//! `str.lower()` maps `İ` (U+0130) to two code points, so in dolma every line after an `İ` is
//! shifted right by one per `İ` (and the last line may reach past the document's end). loam's
//! `c4_v2` gives offsets in the document itself; [`C4Tagger::v2_dolma_offsets`] reproduces
//! dolma's shifted offsets.

use crate::hashing::FastSet;
use crate::pytext::{char_len, py_lower_into, py_split_whitespace, py_strip};
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::sync::{Arc, OnceLock};

/// dolma's C4 word list (from the `dolma==1.2.1` wheel, `dolma/data/naughty_words_en.txt`).
pub const NAUGHTY_WORDS_EN: &str = include_str!("../data/naughty_words_en.txt");
/// sha256 of [`NAUGHTY_WORDS_EN`].
pub const NAUGHTY_WORDS_EN_SHA256: &str =
    "af851ecef1d5f212caba17339b12ac39cc2fef7d78c74876f67237644fcee8bd";

const MIN_WORDS_PER_LINE: usize = 3;

/// A bad-word list: single words (matched against whole words) and phrases (substrings).
#[derive(Debug)]
pub struct WordList {
    words: FastSet<String>,
    /// A 65,536-bit filter of the words' (first byte, last byte, length): most words of a
    /// text miss it, and the test is cheaper than hashing the word.
    word_filter: Box<[u64]>,
    phrases: Option<AhoCorasick>,
    /// Whether every phrase starts and ends with a non-space, so that matching the whole
    /// lowercased text finds exactly what matching each stripped line would.
    phrases_whole_text: bool,
}

/// The [`WordList::word_filter`] bit of a word.
#[inline]
fn filter_bit(w: &[u8]) -> usize {
    match (w.first(), w.last()) {
        (Some(&f), Some(&l)) => ((usize::from(f) << 8) | usize::from(l)) ^ ((w.len() & 0xff) << 4),
        _ => 0,
    }
}

impl WordList {
    /// Parses a list as dolma does: `str.splitlines()`, entries with a space are phrases.
    ///
    /// Fails only when the phrases are too many for one search automaton (dolma's list has
    /// 124).
    pub fn parse(list: &str) -> Result<Self, TagError> {
        let mut words = FastSet::default();
        let mut phrases = Vec::new();
        let mut phrases_whole_text = true;
        for entry in py_splitlines(list) {
            if entry.contains(' ') {
                phrases_whole_text &= py_strip(entry).len() == entry.len();
                phrases.push(entry);
            } else {
                words.insert(entry.to_string());
            }
        }
        phrases.sort_unstable();
        phrases.dedup();
        // A DFA: the list is small and searched over every document. (Teddy, the SIMD
        // searcher, was 2.5x slower here: 124 phrases give it too many false candidates.)
        let phrases = if phrases.is_empty() {
            None
        } else {
            let dfa = AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                // Its prefilter's rare bytes are not rare in text: the DFA alone is faster.
                .prefilter(false)
                .build(&phrases)
                .map_err(|e| TagError {
                    tagger: "c4".to_string(),
                    message: format!("word list: {} phrases: {e}", phrases.len()),
                })?;
            Some(dfa)
        };
        let mut word_filter = vec![0u64; 1 << 10].into_boxed_slice();
        for w in &words {
            let bit = filter_bit(w.as_bytes());
            word_filter[bit >> 6] |= 1 << (bit & 63);
        }
        Ok(WordList {
            words,
            word_filter,
            phrases,
            phrases_whole_text,
        })
    }

    /// dolma's list, parsed once.
    // The list is a constant (124 phrases) that `word_list_is_dolmas` parses: it cannot fail.
    #[allow(clippy::expect_used)]
    pub fn dolma_en() -> Arc<WordList> {
        static LIST: OnceLock<Arc<WordList>> = OnceLock::new();
        LIST.get_or_init(|| {
            Arc::new(WordList::parse(NAUGHTY_WORDS_EN).expect("dolma's word list builds"))
        })
        .clone()
    }

    #[inline]
    fn is_word(&self, w: &str) -> bool {
        let bit = filter_bit(w.as_bytes());
        self.word_filter[bit >> 6] & (1 << (bit & 63)) != 0 && self.words.contains(w)
    }

    fn has_phrase(&self, text: &str) -> bool {
        self.phrases.as_ref().is_some_and(|p| p.is_match(text))
    }
}

/// Python's `str.splitlines()` (line boundaries `\n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028
/// \u2029`), without the line ends.
// `start` and `i` are `char_indices` positions or one past a char: char boundaries.
#[allow(clippy::string_slice)]
fn py_splitlines(s: &str) -> Vec<&str> {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if is_break(c) {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r' {
                if let Some((j, '\n')) = it.peek().copied() {
                    it.next();
                    next = j + 1;
                }
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// The C4 tagger (`c4_v1`, `c4_v2`).
#[derive(Debug, Clone)]
pub struct C4Tagger {
    name: &'static str,
    version: Version,
    list: Arc<WordList>,
    dolma_lowercase_offsets: bool,
}

impl C4Tagger {
    /// `c4_v1` with dolma's word list.
    pub fn v1() -> Self {
        C4Tagger {
            name: "c4_v1",
            version: Version::V1,
            list: WordList::dolma_en(),
            dolma_lowercase_offsets: false,
        }
    }
    /// `c4_v2` with dolma's word list; line offsets in the document (see the module docs).
    pub fn v2() -> Self {
        C4Tagger {
            name: "c4_v2",
            version: Version::V2,
            list: WordList::dolma_en(),
            dolma_lowercase_offsets: false,
        }
    }
    /// `c4_v2` with dolma 1.2.1's line offsets, counted in the lowercased text (compatibility
    /// switch; see "Known dolma bug" in the module docs).
    pub fn v2_dolma_offsets() -> Self {
        C4Tagger {
            dolma_lowercase_offsets: true,
            ..Self::v2()
        }
    }
    /// The same tagger with another word list (dolma's format: one entry a line, entries
    /// containing a space are phrases). Fails as [`WordList::parse`] does.
    pub fn with_word_list(mut self, list: &str) -> Result<Self, TagError> {
        let list = WordList::parse(list).map_err(|e| TagError {
            tagger: self.name.to_string(),
            message: e.message,
        })?;
        self.list = Arc::new(list);
        Ok(self)
    }
}

impl Tagger for C4Tagger {
    fn name(&self) -> &str {
        self.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = &doc.text;
        let len = char_len(text);
        let mut no_punct = Vec::new();
        let mut too_few = Vec::new();
        let (mut naughty, mut javascript) = (false, false);
        let mut line_count = 0usize;
        let mut offset = 0usize;
        // Every line lowercased, `\n` between lines: the substring tests (phrases,
        // `lorem ipsum`, `{`, v2's `javascript`) run once over it at the end; none of their
        // needles holds a `\n` or starts or ends with a space, so a match there is a match in
        // one stripped line.
        let mut lowered = String::with_capacity(text.len());
        let mut lines = text.split('\n').peekable();
        while let Some(original) = lines.next() {
            let last = lines.peek().is_none();
            let from = lowered.len();
            py_lower_into(original, &mut lowered);
            #[allow(clippy::string_slice)] // `from` was the length before this push
            let lower = &lowered[from..];
            let n = if self.dolma_lowercase_offsets {
                char_len(lower)
            } else {
                char_len(original)
            };
            let end = offset + n + usize::from(!last);
            let line = py_strip(lower);
            if !line.ends_with(['.', '?', '!', '"']) {
                no_punct.push(Span::new(offset, end, 1.0));
            }
            let mut words = 0usize;
            for w in py_split_whitespace(line) {
                words += 1;
                naughty = naughty || self.list.is_word(w);
                javascript = javascript || (self.version == Version::V1 && w == "javascript");
                if words >= MIN_WORDS_PER_LINE
                    && naughty
                    && (javascript || self.version == Version::V2)
                {
                    break;
                }
            }
            if words < MIN_WORDS_PER_LINE {
                too_few.push(Span::new(offset, end, 1.0));
            }
            if !naughty && !self.list.phrases_whole_text && self.list.has_phrase(line) {
                naughty = true;
            }
            line_count += 1;
            offset = end;
            if !last {
                lowered.push('\n');
            }
        }
        if !naughty && self.list.phrases_whole_text && self.list.has_phrase(&lowered) {
            naughty = true;
        }
        if self.version == Version::V2 {
            javascript = lowered.contains("javascript");
        }
        let lorem = lowered.contains("lorem ipsum");
        let curly = memchr::memchr(b'{', lowered.as_bytes()).is_some();
        let flag = |out: &mut Signals, on: bool, key: &str| {
            if on {
                out.push(key, Span::new(0, len, 1.0));
            }
        };
        match self.version {
            Version::V1 => {
                if !no_punct.is_empty() {
                    out.set("lines_with_no_ending_punctuation", no_punct);
                }
                if !too_few.is_empty() {
                    out.set("lines_with_too_few_words", too_few);
                }
                flag(out, naughty, "has_naughty_word");
                flag(out, javascript, "has_javascript");
                flag(out, lorem, "has_lorem_ipsum");
                flag(out, curly, "has_curly_brace");
            }
            Version::V2 => {
                flag(out, curly, "has_curly_brace");
                flag(out, lorem, "has_lorem_ipsum");
                flag(out, javascript, "has_javascript");
                flag(out, naughty, "has_naughty_word");
                // dolma's v2 appends both kinds line by line, so the kind its first such
                // line has comes first (a line with both: no ending punctuation first).
                let too_few_first = match (too_few.first(), no_punct.first()) {
                    (Some(a), Some(b)) => a.start < b.start,
                    _ => false,
                };
                if too_few_first {
                    out.set("lines_with_too_few_words", too_few);
                    out.set("lines_with_no_ending_punctuation", no_punct);
                } else {
                    if !no_punct.is_empty() {
                        out.set("lines_with_no_ending_punctuation", no_punct);
                    }
                    if !too_few.is_empty() {
                        out.set("lines_with_too_few_words", too_few);
                    }
                }
            }
        }
        out.push("line_count", Span::new(0, len, line_count as f64));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{bad_inputs, run, score, spans, ten_mb_line};

    #[test]
    fn word_list_is_dolmas() {
        let l = WordList::parse(NAUGHTY_WORDS_EN).unwrap();
        assert_eq!(
            l.words.len()
                + py_splitlines(NAUGHTY_WORDS_EN)
                    .iter()
                    .filter(|e| e.contains(' '))
                    .count(),
            403
        );
        assert!(l.words.contains("🖕"));
    }

    #[test]
    fn lines_and_flags() {
        let t = "Hello there my friend.\nshort line\n\nUse JavaScript {now}";
        for tagger in [C4Tagger::v1(), C4Tagger::v2()] {
            let s = run(&tagger, t);
            assert_eq!(
                spans(&s, "lines_with_no_ending_punctuation"),
                [(23, 34, 1.0), (34, 35, 1.0), (35, 55, 1.0)]
            );
            assert_eq!(
                spans(&s, "lines_with_too_few_words"),
                [(23, 34, 1.0), (34, 35, 1.0)]
            );
            assert_eq!(score(&s, "has_javascript"), 1.0);
            assert_eq!(score(&s, "has_curly_brace"), 1.0);
            assert!(spans(&s, "has_lorem_ipsum").is_empty());
            assert!(spans(&s, "has_naughty_word").is_empty());
            assert_eq!(score(&s, "line_count"), 4.0);
        }
        // v1 wants the word, v2 any substring.
        let s1 = run(&C4Tagger::v1(), "nojavascript here");
        let s2 = run(&C4Tagger::v2(), "nojavascript here");
        assert!(spans(&s1, "has_javascript").is_empty());
        assert_eq!(score(&s2, "has_javascript"), 1.0);
    }

    #[test]
    fn naughty_words_and_phrases() {
        let s = run(&C4Tagger::v1(), "this is a 🖕 line");
        assert_eq!(score(&s, "has_naughty_word"), 1.0);
        let s = run(&C4Tagger::v2(), "he was a Two Girls One Cup fan");
        assert_eq!(score(&s, "has_naughty_word"), 1.0);
        let zebra = C4Tagger::v2().with_word_list("zebra\n").unwrap();
        let s = run(&zebra, "A ZEBRA here.");
        assert_eq!(score(&s, "has_naughty_word"), 1.0);
    }

    #[test]
    fn v2_offsets_differ_from_dolma_after_dotted_capital_i() {
        // "İ".lower() is two code points: dolma shifts the next line by one.
        let t = "İstanbul\nnext";
        let ours = run(&C4Tagger::v2(), t);
        let dolma = run(&C4Tagger::v2_dolma_offsets(), t);
        assert_eq!(
            spans(&ours, "lines_with_no_ending_punctuation"),
            [(0, 9, 1.0), (9, 13, 1.0)]
        );
        assert_eq!(
            spans(&dolma, "lines_with_no_ending_punctuation"),
            [(0, 10, 1.0), (10, 14, 1.0)]
        );
    }

    #[test]
    fn bad_inputs_have_defined_values() {
        for text in bad_inputs() {
            for t in [C4Tagger::v1(), C4Tagger::v2()] {
                let s = run(&t, &text);
                let n = char_len(&text);
                let lines = text.split('\n').count() as f64;
                assert_eq!(spans(&s, "line_count"), [(0, n, lines)]);
                for (_, v) in s.iter() {
                    assert!(v.iter().all(|x| x.end <= n && x.start <= x.end));
                }
            }
        }
        let s = run(&C4Tagger::v1(), "");
        assert_eq!(spans(&s, "lines_with_no_ending_punctuation"), [(0, 0, 1.0)]);
        assert_eq!(score(&s, "line_count"), 1.0);
    }

    #[test]
    fn ten_mb_single_line() {
        let t = ten_mb_line();
        let s = run(&C4Tagger::v2(), &t);
        assert_eq!(score(&s, "line_count"), 1.0);
    }
}
