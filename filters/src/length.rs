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
use regex::Regex;
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
pub fn whitespace_token_count(text: &str) -> usize {
    static TOKENS: OnceLock<Regex> = OnceLock::new();
    let re = TOKENS.get_or_init(|| Regex::new(r"\w+|[^\w\s]+").expect("static regex"));
    re.find_iter(text).count() + 1
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
