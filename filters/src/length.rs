//! Length taggers: dolma 1.2.1's `python/dolma/taggers/length.py`.
//!
//! | tagger | signals |
//! |---|---|
//! | `char_length_v1` | `length`: `[0, len, len]` (code points) |
//! | `char_length_with_paragraphs_v1` | `paragraph`: one span per non-blank paragraph, score its length with its `\n`; `document`: `[0, len, len]` |
//! | `whitespace_tokenizer_v1` | `length`: `[0, len, tokens]` |
//! | `whitespace_tokenizer_with_paragraphs_v1` | `paragraph`: tokens per non-blank paragraph; `document`: their sum |
//!
//! "tokens" is dolma's `len(regex.split(r"\w+|[^\w\s]+", text))`: the number of pieces between
//! the matches, which is the number of matches **plus one** (so an empty text counts 1, and a
//! paragraph `"hi\n"` counts 2). `\w` and `\s` are those of the `regex` package (Unicode word
//! characters and `White_Space`), which Rust's `regex` crate shares. Paragraphs are dolma's
//! `split_paragraphs` (see [`crate::pytext::split_paragraphs`]): a document with no non-blank
//! paragraph has no `paragraph` signal at all, and its `document` token count is 0.

use crate::pytext::{char_len, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::sync::OnceLock;

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
