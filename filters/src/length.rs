//! Length taggers: dolma 1.2.1's `python/dolma/taggers/length.py`.
//!
//! | tagger | signals |
//! |---|---|
//! | `char_length_v1` | `length`: `[0, len, len]` (code points) |
//! | `char_length_with_paragraphs_v1` | `paragraph`: one span per non-blank paragraph, score its length with its `\n`; `document`: `[0, len, len]` |
//! | `whitespace_tokenizer_v1` | `length`: `[0, len, tokens]` |
//! | `whitespace_tokenizer_with_paragraphs_v1` | `paragraph`: tokens per non-blank paragraph; `document`: their sum |
//! | `bytes_length_v1` | `bytes`: `[0, len, UTF-8 bytes]` |
//! | `doc_count_v1` | `docs`: `[0, len, 1]` |
//! | `char_length_strip_ws_v1` | `length_no_ws`: `[0, len, code points of str.strip()]` |
//! | `uniseg_length_v1` | `length`: `[0, len, word-break segments of str.strip()]` (0 when it is empty) |
//! | `uniseg_length_paragraphs_v1` | `paragraph` and `negative_paragraph`: per non-blank paragraph, the segments of its `str.strip()` that are not whitespace, and minus that |
//! | `uniseg_length_paragraphs_with_empty_v1` | the same for every paragraph, blank ones included |
//! | `uniseg_length_paragraphs_with_doc_length_v1` | the paragraphs as `uniseg_length_paragraphs_v1`, plus `document` and `negative_document`, their sums |
//!
//! | `olmo_pretokenizer_v1` | `length`: `[0, len, pieces]` of OLMo's pre-tokenizer |
//! | `olmo_pretokenizer_with_paragraphs_v1` | `paragraph`: pieces per non-blank paragraph; `document`: their sum |
//!
//! OLMo's pre-tokenizer (dolma's `OlmoPreTokenizerV1`, Hugging Face `tokenizers` 0.19.1, no
//! model file) splits off every punctuation character with the space before it
//! (` ?[[:punct:]]`, which Oniguruma reads as `\p{P}`: checked code point by code point),
//! then every digit with the space before it (` ?\d`), then applies GPT-2's byte-level regex
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` to each
//! piece; the score is the number of pieces. [`olmo_piece_count`] does the three steps by
//! hand (the lookahead is one step back at the end of a whitespace run).
//!
//! "Word-break segments" are the pieces between the word boundaries of Unicode's UAX #29
//! (`uniseg.wordbreak.words` in dolma, uniseg 0.10.1 with Unicode 16; here
//! [`unicode_segmentation::UnicodeSegmentation::split_word_bounds`], Unicode 17). On the
//! committed sample both give the same counts; a character whose word-break property changed
//! between Unicode 16 and 17 could count differently.
//!
//! "tokens" is dolma's `len(regex.split(r"\w+|[^\w\s]+", text))`: the number of pieces between
//! the matches, which is the number of matches **plus one** (so an empty text counts 1, and a
//! paragraph `"hi\n"` counts 2). `\w` and `\s` are those of the `regex` package (Unicode word
//! characters and `White_Space`), which Rust's `regex` crate shares. Paragraphs are dolma's
//! `split_paragraphs` (see [`crate::pytext::split_paragraphs`]): a document with no non-blank
//! paragraph has no `paragraph` signal at all, and its `document` token count is 0.

use crate::pytext::{char_len, py_strip, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::sync::OnceLock;
use unicode_segmentation::UnicodeSegmentation;

/// `char_length_v1`: the document's length in code points.
#[derive(Debug, Default, Clone, Copy)]
pub struct CharLengthV1;

impl Tagger for CharLengthV1 {
    fn name(&self) -> &str {
        "char_length_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        out.push("length", Span::new(0, n, n as f64));
        Ok(())
    }
}

/// `char_length_with_paragraphs_v1`: each non-blank paragraph's length and the document's.
#[derive(Debug, Default, Clone, Copy)]
pub struct CharLengthWithParagraphsV1;

impl Tagger for CharLengthWithParagraphsV1 {
    fn name(&self) -> &str {
        "char_length_with_paragraphs_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        for p in split_paragraphs(&doc.text, true) {
            out.push(
                "paragraph",
                Span::new(p.start, p.end, (p.end - p.start) as f64),
            );
        }
        let n = char_len(&doc.text);
        out.push("document", Span::new(0, n, n as f64));
        Ok(())
    }
}

/// dolma's whitespace-tokenizer count for a text: matches of `\w+|[^\w\s]+`, plus one.
///
/// Each match is a maximal run of word characters or a maximal run of characters that are
/// neither word characters nor spaces, so the count is the number of places where such a run
/// starts: one pass over the characters, no regex engine. `\w` is the `regex` crate's Unicode
/// word class ([`regex_syntax::is_word_character`]), `\s` its `White_Space`
/// ([`char::is_whitespace`]); a test checks both against the regex for every code point.
pub fn whitespace_token_count(text: &str) -> usize {
    let bmp = bmp_classes();
    let mut count = 1;
    let mut prev = SPACE;
    let mut step = |k: u8| {
        count += usize::from(k != SPACE && k != prev);
        prev = k;
    };
    if text.is_ascii() {
        text.bytes().for_each(|b| step(bmp[usize::from(b)]));
    } else {
        for c in text.chars() {
            step(bmp.get(c as usize).copied().unwrap_or_else(|| class(c)));
        }
    }
    count
}

/// Token classes of characters.
const SPACE: u8 = 0;
const WORD: u8 = 1;
const OTHER: u8 = 2;

/// The token class of one character.
fn class(c: char) -> u8 {
    if regex_syntax::try_is_word_character(c).unwrap_or(false) {
        WORD
    } else if c.is_whitespace() {
        SPACE
    } else {
        OTHER
    }
}

/// [`class`] of every Basic Multilingual Plane character, computed once (64 KiB): the
/// word-character test is a binary search, too slow to run per character.
fn bmp_classes() -> &'static [u8] {
    static CLASSES: OnceLock<Box<[u8]>> = OnceLock::new();
    CLASSES.get_or_init(|| {
        (0u32..0x10000)
            .map(|u| char::from_u32(u).map_or(OTHER, class))
            .collect()
    })
}

/// `whitespace_tokenizer_v1`: dolma's whitespace-tokenizer count of the document.
#[derive(Debug, Default, Clone, Copy)]
pub struct WhitespaceTokenizerV1;

impl Tagger for WhitespaceTokenizerV1 {
    fn name(&self) -> &str {
        "whitespace_tokenizer_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        let count = whitespace_token_count(&doc.text);
        out.push("length", Span::new(0, n, count as f64));
        Ok(())
    }
}

/// `whitespace_tokenizer_with_paragraphs_v1`: token counts per non-blank paragraph and their
/// sum for the document.
#[derive(Debug, Default, Clone, Copy)]
pub struct WhitespaceTokenizerWithParagraphsV1;

impl Tagger for WhitespaceTokenizerWithParagraphsV1 {
    fn name(&self) -> &str {
        "whitespace_tokenizer_with_paragraphs_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let mut total = 0usize;
        for p in split_paragraphs(&doc.text, true) {
            let c = whitespace_token_count(p.text);
            total += c;
            out.push("paragraph", Span::new(p.start, p.end, c as f64));
        }
        let n = char_len(&doc.text);
        out.push("document", Span::new(0, n, total as f64));
        Ok(())
    }
}

/// `bytes_length_v1`: the document's length in UTF-8 bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct BytesLengthV1;

impl Tagger for BytesLengthV1 {
    fn name(&self) -> &str {
        "bytes_length_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        out.push("bytes", Span::new(0, n, doc.text.len() as f64));
        Ok(())
    }
}

/// `doc_count_v1`: 1 per document (to count documents in a mix).
#[derive(Debug, Default, Clone, Copy)]
pub struct DocCountV1;

impl Tagger for DocCountV1 {
    fn name(&self) -> &str {
        "doc_count_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        out.push("docs", Span::new(0, char_len(&doc.text), 1.0));
        Ok(())
    }
}

/// `char_length_strip_ws_v1`: the length in code points of the text without leading and
/// trailing (Python) whitespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct CharLengthStripWsV1;

impl Tagger for CharLengthStripWsV1 {
    fn name(&self) -> &str {
        "char_length_strip_ws_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        let stripped = char_len(py_strip(&doc.text));
        out.push("length_no_ws", Span::new(0, n, stripped as f64));
        Ok(())
    }
}

/// The number of UAX #29 word-break segments of `text` (`uniseg.wordbreak.words`), counting
/// only those that are not whitespace when `skip_blank`.
pub fn uniseg_word_count(text: &str, skip_blank: bool) -> usize {
    text.split_word_bounds()
        .filter(|w| !skip_blank || !py_strip(w).is_empty())
        .count()
}

/// `uniseg_length_v1`: word-break segments of the stripped document, whitespace included.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnisegLengthV1;

impl Tagger for UnisegLengthV1 {
    fn name(&self) -> &str {
        "uniseg_length_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        let count = uniseg_word_count(py_strip(&doc.text), false);
        out.push("length", Span::new(0, n, count as f64));
        Ok(())
    }
}

/// The number of pieces OLMo's pre-tokenizer makes of `text` (see the module docs).
pub fn olmo_piece_count(text: &str) -> usize {
    // Step 1 and 2: isolate ` ?\p{P}`, then ` ?\d`, keeping the pieces between.
    let mut count = 0;
    for_each_isolated(
        text,
        |c| olmo_classes(c) & PUNCT != 0,
        |p1| {
            for_each_isolated(
                p1,
                |c| olmo_classes(c) & DIGIT != 0,
                |p2| count += gpt2_piece_count(p2),
            );
        },
    );
    count
}

const PUNCT: u8 = 1;
const DIGIT: u8 = 2;
const LETTER: u8 = 4;
const NUMBER: u8 = 8;

/// The OLMo classes of one character ([`is_onig_punct`], [`is_digit`], [`is_letter`],
/// [`is_number`] as bits), from a table of the Basic Multilingual Plane built once.
fn olmo_classes(c: char) -> u8 {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    let classes = |c: char| {
        (if is_onig_punct(c) { PUNCT } else { 0 })
            | (if is_digit(c) { DIGIT } else { 0 })
            | (if is_letter(c) { LETTER } else { 0 })
            | (if is_number(c) { NUMBER } else { 0 })
    };
    let table = TABLE.get_or_init(|| {
        (0u32..0x10000)
            .map(|u| char::from_u32(u).map_or(0, classes))
            .collect()
    });
    table.get(c as usize).copied().unwrap_or_else(|| classes(c))
}

/// Onig's `[[:punct:]]` in Unicode mode: general category `P*`.
fn is_onig_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    regex_p().is_match(c.encode_utf8(&mut [0; 4]))
}

/// `\d`: Unicode decimal digits (`Nd`).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    regex_nd().is_match(c.encode_utf8(&mut [0; 4]))
}

// Constant patterns (the unit tests compile them): `Regex::new` cannot fail.
#[allow(clippy::expect_used)]
fn regex_p() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\p{P}$").expect("static regex"))
}

#[allow(clippy::expect_used)]
fn regex_nd() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\d$").expect("static regex"))
}

/// `Split(" ?X", behavior="isolated")` for a one-character class `X`: calls `f` with every
/// non-empty piece, the matches (`X` with the space before it, if any) and the text between.
fn for_each_isolated(text: &str, is_x: impl Fn(char) -> bool, mut f: impl FnMut(&str)) {
    let mut piece_start = 0;
    let mut prev_space: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_x(c) {
            let start = prev_space.unwrap_or(i);
            if start > piece_start {
                f(text.get(piece_start..start).unwrap_or(""));
            }
            let end = i + c.len_utf8();
            f(text.get(start..end).unwrap_or(""));
            piece_start = end;
            prev_space = None;
        } else {
            prev_space = (c == ' ').then_some(i);
        }
    }
    if piece_start < text.len() {
        f(text.get(piece_start..).unwrap_or(""));
    }
}

/// GPT-2's pre-tokenization regex, counted: the number of its matches in `piece` (they cover
/// every character).
fn gpt2_piece_count(piece: &str) -> usize {
    #[derive(PartialEq, Clone, Copy)]
    enum K {
        L,
        N,
        S,
        O,
    }
    let kind = |c: char| {
        let k = olmo_classes(c);
        if k & LETTER != 0 {
            K::L
        } else if k & NUMBER != 0 {
            K::N
        } else if c.is_whitespace() {
            K::S
        } else {
            K::O
        }
    };
    let chars: Vec<char> = piece.chars().collect();
    let kinds: Vec<K> = chars.iter().map(|&c| kind(c)).collect();
    let n = chars.len();
    let mut i = 0;
    let mut count = 0;
    let run = |from: usize, k: K| {
        let mut j = from;
        while j < n && kinds[j] == k {
            j += 1;
        }
        j
    };
    while i < n {
        count += 1;
        // Contractions: `'s|'t|'re|'ve|'m|'ll|'d`.
        if chars[i] == '\'' {
            let next: String = chars[i + 1..n.min(i + 3)].iter().collect();
            let len = if next.starts_with(['s', 't', 'm', 'd']) {
                2
            } else if next == "re" || next == "ve" || next == "ll" {
                3
            } else {
                0
            };
            if len > 0 {
                i += len;
                continue;
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`.
        let body = if chars[i] == ' ' && i + 1 < n && kinds[i + 1] != K::S {
            i + 1
        } else {
            i
        };
        if kinds[body] != K::S {
            i = run(body, kinds[body]);
            continue;
        }
        // `\s+(?!\S)`: the whitespace run, less its last character when a non-space
        // follows; `\s+` when that leaves nothing.
        let end = run(i, K::S);
        i = if end < n && end - i > 1 { end - 1 } else { end };
    }
    count
}

/// `\p{L}`.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    regex_l().is_match(c.encode_utf8(&mut [0; 4]))
}

/// `\p{N}`.
fn is_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    regex_n().is_match(c.encode_utf8(&mut [0; 4]))
}

#[allow(clippy::expect_used)]
fn regex_l() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\p{L}$").expect("static regex"))
}

#[allow(clippy::expect_used)]
fn regex_n() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\p{N}$").expect("static regex"))
}

/// `olmo_pretokenizer_v1`: OLMo pre-tokenizer pieces of the document.
#[derive(Debug, Default, Clone, Copy)]
pub struct OlmoPreTokenizerV1;

impl Tagger for OlmoPreTokenizerV1 {
    fn name(&self) -> &str {
        "olmo_pretokenizer_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let n = char_len(&doc.text);
        let count = olmo_piece_count(&doc.text);
        out.push("length", Span::new(0, n, count as f64));
        Ok(())
    }
}

/// `olmo_pretokenizer_with_paragraphs_v1`: pieces per non-blank paragraph and their sum.
#[derive(Debug, Default, Clone, Copy)]
pub struct OlmoPreTokenizerWithParagraphsV1;

impl Tagger for OlmoPreTokenizerWithParagraphsV1 {
    fn name(&self) -> &str {
        "olmo_pretokenizer_with_paragraphs_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let mut total = 0usize;
        for p in split_paragraphs(&doc.text, true) {
            let c = olmo_piece_count(p.text);
            total += c;
            out.push("paragraph", Span::new(p.start, p.end, c as f64));
        }
        let n = char_len(&doc.text);
        out.push("document", Span::new(0, n, total as f64));
        Ok(())
    }
}

/// Which of dolma's three `uniseg_length_paragraphs*` taggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnisegParagraphs {
    /// `uniseg_length_paragraphs_v1`: non-blank paragraphs.
    V1,
    /// `uniseg_length_paragraphs_with_empty_v1`: every paragraph.
    WithEmptyV1,
    /// `uniseg_length_paragraphs_with_doc_length_v1`: non-blank paragraphs and the document.
    WithDocLengthV1,
}

/// `uniseg_length_paragraphs*`: non-whitespace word-break segments per paragraph (and its
/// negation, because dolma's mixer only compares with `>=`).
#[derive(Debug, Clone, Copy)]
pub struct UnisegParagraphsTagger(pub UnisegParagraphs);

impl Tagger for UnisegParagraphsTagger {
    fn name(&self) -> &str {
        match self.0 {
            UnisegParagraphs::V1 => "uniseg_length_paragraphs_v1",
            UnisegParagraphs::WithEmptyV1 => "uniseg_length_paragraphs_with_empty_v1",
            UnisegParagraphs::WithDocLengthV1 => "uniseg_length_paragraphs_with_doc_length_v1",
        }
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let remove_empty = self.0 != UnisegParagraphs::WithEmptyV1;
        let mut total = 0usize;
        for p in split_paragraphs(&doc.text, remove_empty) {
            let c = uniseg_word_count(py_strip(p.text), true);
            total += c;
            out.push("paragraph", Span::new(p.start, p.end, c as f64));
            // dolma negates an int: `-0` is 0, not -0.0.
            out.push(
                "negative_paragraph",
                Span::new(p.start, p.end, 0.0 - c as f64),
            );
        }
        if self.0 == UnisegParagraphs::WithDocLengthV1 {
            let n = char_len(&doc.text);
            out.push("document", Span::new(0, n, total as f64));
            out.push("negative_document", Span::new(0, n, 0.0 - total as f64));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{run, spans};

    #[test]
    fn token_count_matches_the_regex_for_every_code_point() {
        let re = regex::Regex::new(r"\w+|[^\w\s]+").unwrap();
        let by_regex = |t: &str| re.find_iter(t).count() + 1;
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            for t in [
                format!("{c}"),
                format!("a{c}b"),
                format!(".{c}."),
                format!(" {c} "),
                format!("{c}{c}a"),
            ] {
                assert_eq!(
                    whitespace_token_count(&t),
                    by_regex(&t),
                    "U+{:04X}",
                    c as u32
                );
            }
        }
        for t in [
            "",
            "   ",
            "hi there!! ok...",
            "a_b-c d\u{a0}e",
            "x\u{1c}y",
            "日本語 テキスト。",
        ] {
            assert_eq!(whitespace_token_count(t), by_regex(t), "{t:?}");
        }
    }

    #[test]
    fn olmo_table_agrees_with_the_classes() {
        for c in (0u32..0x11000).filter_map(char::from_u32) {
            let k = olmo_classes(c);
            assert_eq!(k & PUNCT != 0, is_onig_punct(c));
            assert_eq!(k & DIGIT != 0, is_digit(c));
            assert_eq!(k & LETTER != 0, is_letter(c));
            assert_eq!(k & NUMBER != 0, is_number(c));
        }
    }

    #[test]
    fn char_length() {
        let s = run(&CharLengthV1, "héllo\n");
        assert_eq!(spans(&s, "length"), [(0, 6, 6.0)]);
    }

    #[test]
    fn char_length_paragraphs() {
        let s = run(&CharLengthWithParagraphsV1, "ab\n\n \ncdé");
        assert_eq!(spans(&s, "paragraph"), [(0, 3, 3.0), (6, 9, 3.0)]);
        assert_eq!(spans(&s, "document"), [(0, 9, 9.0)]);
        let s = run(&CharLengthWithParagraphsV1, "ab\n\n\n");
        assert_eq!(spans(&s, "document"), [(0, 5, 5.0)]);
    }

    #[test]
    fn whitespace_tokens() {
        // "Hello", ",", "world", "!!" -> 4 matches, 5 pieces.
        assert_eq!(whitespace_token_count("Hello, world!!"), 5);
        assert_eq!(whitespace_token_count(""), 1);
        assert_eq!(whitespace_token_count("   "), 1);
        assert_eq!(whitespace_token_count("a_b1"), 2);
        let s = run(&WhitespaceTokenizerWithParagraphsV1, "a b\n\nc\n");
        assert_eq!(spans(&s, "paragraph"), [(0, 4, 3.0), (5, 7, 2.0)]);
        assert_eq!(spans(&s, "document"), [(0, 7, 5.0)]);
    }

    #[test]
    fn bad_inputs() {
        for text in crate::testutil::bad_inputs() {
            for t in [
                &CharLengthV1 as &dyn Tagger,
                &CharLengthWithParagraphsV1,
                &WhitespaceTokenizerV1,
                &WhitespaceTokenizerWithParagraphsV1,
            ] {
                let s = run(t, &text);
                let n = char_len(&text);
                let key = if t.name().contains("paragraph") {
                    "document"
                } else {
                    "length"
                };
                let doc = spans(&s, key);
                assert_eq!(doc.len(), 1);
                assert_eq!((doc[0].0, doc[0].1), (0, n));
            }
        }
        let s = run(&WhitespaceTokenizerWithParagraphsV1, "");
        assert!(spans(&s, "paragraph").is_empty());
        assert_eq!(spans(&s, "document"), [(0, 0, 0.0)]);
        let s = run(&CharLengthWithParagraphsV1, " \n\t");
        assert!(spans(&s, "paragraph").is_empty());
        assert_eq!(spans(&s, "document"), [(0, 3, 3.0)]);
    }
}
