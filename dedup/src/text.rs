//! Words and paragraphs as dolma's deduper sees them.

use unicode_segmentation::UnicodeSegmentation;

/// dolma's word tokenizer (`src/wimbd/tokens.rs`, `tokenize`): Unicode word boundaries
/// (UAX #29), keeping every segment with a non-whitespace character (so punctuation counts
/// as a word).
pub fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split_word_bounds()
        .filter(|w| w.chars().any(|c| !c.is_whitespace()))
}

/// One paragraph: its text and its span in code points. The span covers the paragraph and
/// the separator after it (none after the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paragraph<'a> {
    /// Text without the separator.
    pub text: &'a str,
    /// First code point.
    pub start: usize,
    /// One past the last code point, separator included.
    pub end: usize,
    /// Code points of `text`.
    pub chars: usize,
}

/// Splits `text` on `separator` (a plain string, as Rust's `str::split`), with spans in code
/// points. Unlike dolma, the span always includes the whole separator after the paragraph
/// (dolma adds 1, whatever the separator's length, and compares a code-point offset with a
/// byte length to decide whether the last paragraph gets one).
pub fn paragraphs<'a>(text: &'a str, separator: &'a str) -> Paragraphs<'a> {
    let mut chars = separator.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    Paragraphs {
        rest: text,
        separator,
        single,
        sep_chars: separator.chars().count(),
        offset: 0,
        done: false,
    }
}

/// Iterator of [`paragraphs`].
#[derive(Debug, Clone)]
pub struct Paragraphs<'a> {
    /// The text after the paragraphs already returned.
    rest: &'a str,
    separator: &'a str,
    /// A one-character separator is searched with `memchr` (a `&str` pattern is not).
    single: Option<char>,
    sep_chars: usize,
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Paragraph<'a>;

    fn next(&mut self) -> Option<Paragraph<'a>> {
        if self.done {
            return None;
        }
        let found = match self.single {
            Some(c) => self.rest.split_once(c),
            None => self.rest.split_once(self.separator),
        };
        let (p, after) = match found {
            Some((p, after)) => (p, Some(after)),
            None => (self.rest, None),
        };
        let chars = p.chars().count();
        let start = self.offset;
        self.offset += chars;
        match after {
            Some(after) => {
                self.offset += self.sep_chars;
                self.rest = after;
            }
            None => self.done = true,
        }
        Some(Paragraph {
            text: p,
            start,
            end: self.offset,
            chars,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_like_dolma() {
        let s = "You can follow any responses to this entry through the RSS 2.0 feed";
        assert_eq!(words(s).count(), 13);
        assert_eq!(
            words("Hello, world!  ok").collect::<Vec<_>>(),
            ["Hello", ",", "world", "!", "ok"]
        );
        assert_eq!(words(" \n\t").count(), 0);
    }

    #[test]
    fn paragraph_spans_in_code_points() {
        let p: Vec<_> = paragraphs("ab\nc\n\nd", "\n")
            .map(|p| (p.text, p.start, p.end))
            .collect();
        assert_eq!(p, [("ab", 0, 3), ("c", 3, 5), ("", 5, 6), ("d", 6, 7)]);
        // a trailing separator belongs to the paragraph before it
        let p: Vec<_> = paragraphs("a\n", "\n").map(|p| (p.start, p.end)).collect();
        assert_eq!(p, [(0, 2), (2, 2)]);
        // multi-byte text and multi-character separators
        let p: Vec<_> = paragraphs("ééé\n\nb", "\n\n")
            .map(|p| (p.text, p.start, p.end))
            .collect();
        assert_eq!(p, [("ééé", 0, 5), ("b", 5, 6)]);
        let p: Vec<_> = paragraphs("", "\n").map(|p| (p.start, p.end)).collect();
        assert_eq!(p, [(0, 0)]);
    }
}
