//! `not_alphanum_paragraph_v1`: dolma 1.2.1's `python/dolma/taggers/punctuation.py`.
//!
//! A non-blank paragraph (dolma's `split_paragraphs`) is tagged `all_punct` (score 1) when it
//! has no ASCII letter or digit (`[a-zA-Z0-9]`) and every character is punctuation, whitespace
//! or an emoji of four blocks: dolma's `^([[:punct:]]|\s|[\U0001f300-\U0001f64f
//! \U0001f680-\U0001f6ff\u2600-\u26ff\u2700-\u27bf]+)+$` with the `regex` package, where
//! `[[:punct:]]` is `[\p{P}\p{S}]` minus `Alphabetic` (the `regex` package's `posix_punct`,
//! checked code point by code point against it) and `\s` is Unicode `White_Space`. When no
//! paragraph is tagged, one `all_punct` span `[0, len, 0]` covers the document.
//!
//! The `regex` package's Unicode tables may be a version newer than Rust's `regex` crate; a
//! character assigned in between can be classified differently.

use crate::pytext::{char_len, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use std::sync::OnceLock;

// A constant pattern (the unit tests compile it): `Regex::new` cannot fail.
#[allow(clippy::expect_used)]
fn punct() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:[\p{P}\p{S}&&\P{Alphabetic}]|\s|[\x{1f300}-\x{1f64f}\x{1f680}-\x{1f6ff}\x{2600}-\x{26ff}\x{2700}-\x{27bf}])+$",
        )
        .expect("static regex")
    })
}

/// Whether dolma counts `paragraph` as punctuation only.
pub fn is_all_punct(paragraph: &str) -> bool {
    !paragraph.bytes().any(|b| b.is_ascii_alphanumeric()) && punct().is_match(paragraph)
}

/// `not_alphanum_paragraph_v1`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NotAlphanumParagraphV1;

impl Tagger for NotAlphanumParagraphV1 {
    fn name(&self) -> &str {
        "not_alphanum_paragraph_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let mut any = false;
        for p in split_paragraphs(&doc.text, true) {
            if is_all_punct(p.text) {
                any = true;
                out.push("all_punct", Span::new(p.start, p.end, 1.0));
            }
        }
        if !any {
            out.push("all_punct", Span::new(0, char_len(&doc.text), 0.0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{run, spans};

    #[test]
    fn punctuation_paragraphs() {
        let s = run(&NotAlphanumParagraphV1, "!!!\nabc!\n\n★ ☀ 😀\n…\nⓐ\n");
        assert_eq!(
            spans(&s, "all_punct"),
            [(0, 4, 1.0), (10, 16, 1.0), (16, 18, 1.0)]
        );
        let s = run(&NotAlphanumParagraphV1, "words only");
        assert_eq!(spans(&s, "all_punct"), [(0, 10, 0.0)]);
        for text in crate::testutil::bad_inputs() {
            let s = run(&NotAlphanumParagraphV1, &text);
            assert!(!spans(&s, "all_punct").is_empty());
        }
    }

    #[test]
    fn control_separators_are_not_spaces() {
        // U+001C is whitespace to Python's str.split, not to the regex package's \s.
        assert!(!is_all_punct("!\u{1c}!"));
        assert!(is_all_punct("!\u{85}!"));
    }
}
