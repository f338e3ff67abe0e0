//! Code taggers: dolma 1.2.1's `python/dolma/taggers/code/code_taggers.py`
//! (`code_copyright_comments_v1`, `code_redpajama_taggers_v1`).
//!
//! ## `code_copyright_comments_v1` (RedPajama's license-header rule)
//!
//! The first C-style block comment of the text (`/\*[^*]*\*+(?:[^/*][^*]*\*+)*/`) is a
//! `copyright_notice` span when it contains `copyright` (any case: Python's `re.IGNORECASE`,
//! where `i` also matches `İ` and `ı`); a first block comment without it gives no span at all.
//! Without a block comment, the leading lines that start with `//`, `#` or `--` or are empty
//! form a `comment_block` span `[0, end]`, where `end` adds each such line's length and 1 for
//! each empty line (dolma does not count the newlines between non-empty lines, so the span
//! usually ends short of the comment block: dolma's arithmetic, kept). `doc`:
//! `(end - start + 1) / len(text)` of the first span, 0 without one, -1 for an empty text.
//!
//! ## `code_redpajama_taggers_v1`
//!
//! Document scores over Python's `str.splitlines()` lines (which also break at `\v`, `\f`,
//! U+001C..U+001E, U+0085, U+2028, U+2029): `max_line_length_doc`, `avg_line_length_doc` (0
//! without lines), `alnum_prop_doc` (characters with `str.isalnum()`, general categories `L*`
//! and `N*`, over the length; 0 for an empty text) and `alpha_token_prop_doc` (`str.isalpha()`
//! characters over dolma's whitespace-tokenizer count, see [`crate::length`]).
//!
//! Character classes follow Rust's Unicode tables, Python 3.11's are Unicode 14: a character
//! assigned since can be classified differently.

use crate::length::whitespace_token_count;
use crate::pytext::{char_len, is_py_alpha, CharOffsets};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    block: Regex,
    copyright: Regex,
    number: Regex,
}

// Constant patterns (the unit tests compile them): `Regex::new` cannot fail.
#[allow(clippy::expect_used)]
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        block: Regex::new(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/").expect("static regex"),
        // Python's case-insensitive `re` also equates `i` with U+0130 and U+0131.
        copyright: Regex::new(r"[cC][oO][pP][yY][rR][iIİı][gG][hH][tT]").expect("static regex"),
        number: Regex::new(r"^\p{N}$").expect("static regex"),
    })
}

/// `code_copyright_comments_v1`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CodeCopyrightCommentsV1;

impl Tagger for CodeCopyrightCommentsV1 {
    fn name(&self) -> &str {
        "code_copyright_comments_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let len = char_len(text);
        let p = patterns();
        let mut first: Option<(usize, usize)> = None;
        if let Some(m) = p.block.find(text) {
            if p.copyright.is_match(m.as_str()) {
                let mut offsets = CharOffsets::new(text);
                let span = (offsets.at(m.start()), offsets.at(m.end()));
                out.push("copyright_notice", Span::new(span.0, span.1, 1.0));
                first = Some(span);
            }
        } else {
            let mut skip = 0usize;
            let mut end = 0usize;
            for line in text.split('\n') {
                if line.is_empty() {
                    skip += 1;
                    end += 1;
                } else if line.starts_with("//") || line.starts_with('#') || line.starts_with("--")
                {
                    skip += 1;
                    end += char_len(line);
                } else {
                    break;
                }
            }
            if skip > 0 {
                out.push("comment_block", Span::new(0, end, 1.0));
                first = Some((0, end));
            }
        }
        let score = match first {
            _ if len == 0 => -1.0,
            None => 0.0,
            Some((s, e)) => (e - s + 1) as f64 / len as f64,
        };
        out.push("doc", Span::new(0, len, score));
        Ok(())
    }
}

/// Python's `str.splitlines()` (without the line ends).
pub fn py_splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let brk = matches!(
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
        );
        if brk {
            lines.push(text.get(start..i).unwrap_or(""));
            let mut next = i + c.len_utf8();
            if c == '\r' && it.peek().is_some_and(|&(_, n)| n == '\n') {
                it.next();
                next += 1;
            }
            start = next;
        }
    }
    if start < text.len() {
        lines.push(text.get(start..).unwrap_or(""));
    }
    lines
}

/// `str.isalnum()` for one character: general categories `L*` and `N*`.
fn is_py_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    is_py_alpha(c) || patterns().number.is_match(c.encode_utf8(&mut [0; 4]))
}

const ALPHA: u8 = 1;
const ALNUM: u8 = 2;

/// `isalpha` and `isalnum` of one character, from a table of the Basic Multilingual Plane
/// built once (the Unicode tests are binary searches, too slow to run per character).
fn alpha_alnum(c: char) -> u8 {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    let classes = |c: char| {
        (if is_py_alpha(c) { ALPHA } else { 0 }) | (if is_py_alnum(c) { ALNUM } else { 0 })
    };
    let table = TABLE.get_or_init(|| {
        (0u32..0x10000)
            .map(|u| char::from_u32(u).map_or(0, classes))
            .collect()
    });
    table.get(c as usize).copied().unwrap_or_else(|| classes(c))
}

/// `code_redpajama_taggers_v1`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CodeRedPajamaTaggersV1;

impl Tagger for CodeRedPajamaTaggersV1 {
    fn name(&self) -> &str {
        "code_redpajama_taggers_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let len = char_len(text);
        let lines: Vec<usize> = py_splitlines(text).into_iter().map(char_len).collect();
        let max = lines.iter().copied().max().unwrap_or(0);
        let avg = if lines.is_empty() {
            0.0
        } else {
            lines.iter().sum::<usize>() as f64 / lines.len() as f64
        };
        let (mut alnum, mut alpha) = (0usize, 0usize);
        if text.is_ascii() {
            for b in text.bytes() {
                alnum += usize::from(b.is_ascii_alphanumeric());
                alpha += usize::from(b.is_ascii_alphabetic());
            }
        } else {
            for c in text.chars() {
                let k = alpha_alnum(c);
                alnum += usize::from(k & ALNUM != 0);
                alpha += usize::from(k & ALPHA != 0);
            }
        }
        let alnum_prop = if len > 0 {
            alnum as f64 / len as f64
        } else {
            0.0
        };
        let tokens = whitespace_token_count(text);
        out.push("max_line_length_doc", Span::new(0, len, max as f64));
        out.push("avg_line_length_doc", Span::new(0, len, avg));
        out.push("alnum_prop_doc", Span::new(0, len, alnum_prop));
        out.push(
            "alpha_token_prop_doc",
            Span::new(0, len, alpha as f64 / tokens as f64),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{run, score, spans};

    #[test]
    fn copyright_header() {
        let t = "/* Copyright 2020 X */\nint main() {}\n";
        let s = run(&CodeCopyrightCommentsV1, t);
        assert_eq!(spans(&s, "copyright_notice"), [(0, 22, 1.0)]);
        assert!((score(&s, "doc") - 23.0 / 37.0).abs() < 1e-5);
        // A first block comment without "copyright": nothing, not even the line rule.
        let s = run(&CodeCopyrightCommentsV1, "# a\n/* license */\n");
        assert!(spans(&s, "comment_block").is_empty());
        assert_eq!(score(&s, "doc"), 0.0);
        // Leading comment lines: lengths without their newlines, 1 per empty line.
        let s = run(&CodeCopyrightCommentsV1, "# ab\n\n// cd\ncode\n");
        assert_eq!(spans(&s, "comment_block"), [(0, 10, 1.0)]);
        let s = run(&CodeCopyrightCommentsV1, "");
        assert_eq!(spans(&s, "comment_block"), [(0, 1, 1.0)]);
        assert_eq!(score(&s, "doc"), -1.0);
        assert!(patterns().copyright.is_match("COPYRİGHT"));
    }

    #[test]
    fn table_agrees_with_the_classes() {
        for c in (0u32..0x11000).filter_map(char::from_u32) {
            let k = alpha_alnum(c);
            assert_eq!(k & ALPHA != 0, is_py_alpha(c), "U+{:04X}", c as u32);
            assert_eq!(k & ALNUM != 0, is_py_alnum(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(
            py_splitlines("a\r\nb\rc\u{2028}d\n\ne\n"),
            ["a", "b", "c", "d", "", "e"]
        );
        assert!(py_splitlines("").is_empty());
        assert_eq!(py_splitlines("\n"), [""]);
    }

    #[test]
    fn redpajama_scores() {
        let s = run(&CodeRedPajamaTaggersV1, "ab 12\n½x!\n");
        assert_eq!(score(&s, "max_line_length_doc"), 5.0);
        assert_eq!(score(&s, "avg_line_length_doc"), 4.0);
        assert!((score(&s, "alnum_prop_doc") - 6.0 / 10.0).abs() < 1e-5);
        for text in crate::testutil::bad_inputs() {
            let s = run(&CodeRedPajamaTaggersV1, &text);
            assert!(score(&s, "alpha_token_prop_doc").is_finite());
        }
    }
}
