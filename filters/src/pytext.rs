//! The few Python `str` semantics that dolma's taggers rely on, reimplemented for `&str`.
//!
//! dolma 1.2.1 runs on CPython (3.11 in our goldens), so its signals depend on what CPython's
//! string functions mean:
//!
//! - `str.split()` / `str.strip()` and the `re` module's `\s` use CPython's whitespace
//!   (`Py_UNICODE_ISSPACE`): Unicode `White_Space` **plus** U+001C..U+001F (the information
//!   separators, bidi class B/S). Rust's [`char::is_whitespace`] lacks those four.
//! - `str.isalpha()` is true for general categories `L*` (Lu, Ll, Lt, Lm, Lo); Rust's
//!   [`char::is_alphabetic`] is the wider `Alphabetic` property (adds Nl and combining vowel
//!   signs), so we ask for `\p{L}` instead.
//! - `len()` counts code points: every offset here is in code points.
//!
//! Unicode versions differ slightly (CPython 3.11: 14.0, the `regex` package dolma uses for
//! `\w`: 17.0, Rust's `regex` crate: 16.0); only characters assigned after 14.0 can differ.

use regex::Regex;
use std::sync::OnceLock;

/// CPython's `str.isspace()` for one character (what `str.split()`, `str.strip()` and `re`'s
/// `\s` use).
#[inline]
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The character class matching [`is_py_space`], for use inside a `regex` character class
/// (`[...]`), replacing Python's `\s`.
pub const PY_SPACE_CLASS: &str = r"\s\x1C-\x1F";

/// `str.split()` without arguments: runs of whitespace separate words, no empty words.
pub fn py_split_whitespace(s: &str) -> PyWords<'_> {
    PyWords { text: s, pos: 0 }
}

/// The words of [`py_split_whitespace`]. Scans bytes: ASCII by table, and only the four lead
/// bytes that start a non-ASCII CPython space (U+0085, U+00A0, U+1680, U+2000..U+3000) are
/// decoded, so words are found without decoding every character.
#[derive(Debug, Clone)]
pub struct PyWords<'a> {
    text: &'a str,
    pos: usize,
}

/// ASCII bytes that are CPython whitespace: `\t \n \v \f \r`, U+001C..U+001F, space.
const ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0x09;
    while c <= 0x0d {
        t[c] = true;
        c += 1;
    }
    let mut c = 0x1c;
    while c <= 0x20 {
        t[c] = true;
        c += 1;
    }
    t
};

/// The byte length of the CPython space starting at `b[i]` (a char boundary), if it is one.
#[inline]
fn space_len(b: &[u8], i: usize) -> Option<usize> {
    let c = b[i];
    if c < 0x80 {
        return ASCII_SPACE[c as usize].then_some(1);
    }
    let b1 = b.get(i + 1).copied().unwrap_or(0);
    let b2 = b.get(i + 2).copied().unwrap_or(0);
    let space = match c {
        // U+0085, U+00A0
        0xc2 => b1 == 0x85 || b1 == 0xa0,
        // U+1680
        0xe1 => b1 == 0x9a && b2 == 0x80,
        // U+2000..U+200A, U+2028, U+2029, U+202F; U+205F
        0xe2 => {
            (b1 == 0x80 && (b2 <= 0x8a || matches!(b2, 0xa8 | 0xa9 | 0xaf)))
                || (b1 == 0x81 && b2 == 0x9f)
        }
        // U+3000
        0xe3 => b1 == 0x80 && b2 == 0x80,
        _ => false,
    };
    space.then_some(if c == 0xc2 { 2 } else { 3 })
}

/// The byte length of the UTF-8 sequence whose lead byte is `c`.
#[inline]
pub fn utf8_len(c: u8) -> usize {
    if c < 0x80 {
        1
    } else if c < 0xe0 {
        2
    } else if c < 0xf0 {
        3
    } else {
        4
    }
}

impl<'a> Iterator for PyWords<'a> {
    type Item = &'a str;

    // `start` and `i` move over whole UTF-8 sequences (`space_len`, `utf8_len` of a lead
    // byte), so they stay on char boundaries.
    #[allow(clippy::string_slice)]
    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let n = b.len();
        let mut i = self.pos;
        loop {
            if i >= n {
                self.pos = n;
                return None;
            }
            match space_len(b, i) {
                Some(l) => i += l,
                None => break,
            }
        }
        let start = i;
        while i < n {
            let c = b[i];
            if c < 0x80 {
                if ASCII_SPACE[c as usize] {
                    break;
                }
                i += 1;
            } else {
                if space_len(b, i).is_some() {
                    break;
                }
                i += utf8_len(c);
            }
        }
        self.pos = i;
        Some(&self.text[start..i])
    }
}

/// `len(s.split())`: the number of [`py_split_whitespace`] words, without producing them.
///
/// The text is cut at its non-ASCII spaces (found from their lead bytes with `memchr`); in
/// each piece a word starts wherever a non-space byte follows an ASCII space byte (or the
/// piece's start), a branch-free count over byte pairs that the compiler vectorizes. Bytes
/// of other non-ASCII characters are never spaces, and a continuation byte always follows a
/// non-space byte, so only lead bytes can start words.
pub fn py_word_count(s: &str) -> usize {
    let b = s.as_bytes();
    let mut cuts: Vec<(usize, usize)> = memchr::memchr3_iter(0xc2, 0xe2, 0xe3, b)
        .filter_map(|i| space_len(b, i).map(|l| (i, i + l)))
        .collect();
    if memchr::memchr(0xe1, b).is_some() {
        cuts.extend(
            memchr::memchr_iter(0xe1, b).filter_map(|i| space_len(b, i).map(|l| (i, i + l))),
        );
        cuts.sort_unstable();
    }
    let mut count = 0;
    let mut from = 0;
    for (start, end) in cuts {
        count += ascii_word_count(&b[from..start]);
        from = end;
    }
    count + ascii_word_count(&b[from..])
}

/// Words in bytes that hold no non-ASCII space, preceded by a space (or nothing).
fn ascii_word_count(b: &[u8]) -> usize {
    // 1 for an ASCII space byte, from comparisons only, so the loop below vectorizes.
    #[inline(always)]
    fn space(c: u8) -> u8 {
        u8::from(c == b' ')
            | u8::from(c.wrapping_sub(0x09) < 5)
            | u8::from(c.wrapping_sub(0x1c) < 4)
    }
    let Some(&first) = b.first() else {
        return 0;
    };
    let mut total = usize::from(space(first) == 0);
    // Byte-wide counters, emptied every 255 pairs before they can overflow.
    for (prev, cur) in b.chunks(255).zip(b[1..].chunks(255)) {
        let mut starts: u8 = 0;
        for (&p, &c) in prev.iter().zip(cur) {
            starts += space(p) & (space(c) ^ 1);
        }
        total += usize::from(starts);
    }
    total
}

/// `str.strip()` without arguments.
#[inline]
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `str.isalpha()` for one character: general category `L*`.
pub fn is_py_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    // `Alphabetic` is a superset of `L*`: a cheap negative answer.
    if !c.is_alphabetic() {
        return false;
    }
    static LETTER: OnceLock<Regex> = OnceLock::new();
    // A constant pattern: it cannot fail to compile.
    #[allow(clippy::expect_used)]
    let re = LETTER.get_or_init(|| Regex::new(r"\p{L}").expect("static regex"));
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf))
}

/// `str.lower()`: full Unicode lowercase mapping (U+0130 becomes two code points), with the
/// final-sigma rule, as CPython does.
pub fn py_lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    py_lower_into(s, &mut out);
    out
}

/// [`py_lower`], appended to `out` (so one buffer serves many lines).
// Slices start at `out`'s length before a push or end at the first non-ASCII byte: char
// boundaries.
#[allow(clippy::string_slice)]
pub fn py_lower_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else if s.contains('Σ') {
        // Only capital sigma's mapping depends on its neighbours (final sigma): std's
        // `str::to_lowercase` implements that rule, as CPython does.
        out.push_str(&s.to_lowercase());
    } else {
        // Elsewhere `str::to_lowercase` is exactly the per-character mapping; doing it here
        // avoids its allocation and copies ASCII runs whole.
        let mut rest = s;
        while !rest.is_empty() {
            let ascii = rest.bytes().position(|b| b >= 0x80).unwrap_or(rest.len());
            let start = out.len();
            out.push_str(&rest[..ascii]);
            out[start..].make_ascii_lowercase();
            rest = &rest[ascii..];
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.extend(c.to_lowercase());
            }
            rest = chars.as_str();
        }
    }
}

/// `len(s)` in Python: the number of code points.
#[inline]
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// One paragraph of a text, as dolma's `split_paragraphs` returns it
/// (`python/dolma/core/utils.py`): offsets in code points, the trailing `\n` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paragraph<'a> {
    /// First code point.
    pub start: usize,
    /// One past the last code point (after the `\n`, when there is one).
    pub end: usize,
    /// Byte offset of the paragraph in the document.
    pub byte_start: usize,
    /// The paragraph's text, with its trailing `\n` if any.
    pub text: &'a str,
}

/// dolma's `split_paragraphs(text, remove_empty)`: the matches of `[^\n]*\n|[^\n]+$`, i.e.
/// every line with its `\n`, plus a last line without one when it is not empty. With
/// `remove_empty`, paragraphs whose `str.strip()` is empty (whitespace only) are dropped.
pub fn split_paragraphs(text: &str, remove_empty: bool) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut byte = 0usize;
    let mut cp = 0usize;
    for piece in text.split_inclusive('\n') {
        let n = char_len(piece);
        if !remove_empty || !py_strip(piece).is_empty() {
            out.push(Paragraph {
                start: cp,
                end: cp + n,
                byte_start: byte,
                text: piece,
            });
        }
        byte += piece.len();
        cp += n;
    }
    out
}

/// Converts increasing byte offsets of one text into code-point offsets in amortized O(1).
#[derive(Debug)]
pub struct CharOffsets<'a> {
    text: &'a str,
    byte: usize,
    cp: usize,
}

impl<'a> CharOffsets<'a> {
    /// A converter at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        CharOffsets {
            text,
            byte: 0,
            cp: 0,
        }
    }

    /// The code-point offset of byte offset `byte` (a char boundary). Offsets may go
    /// backwards; that costs a rescan from the start.
    pub fn at(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.cp = 0;
        }
        self.cp += match self.text.get(self.byte..byte) {
            Some(s) => char_len(s),
            // Not char boundaries: count the code points that start in between (UTF-8 lead
            // bytes), so `at` stays a count of code points starting before `byte`.
            None => {
                let between = self.text.bytes().take(byte).skip(self.byte);
                between.filter(|b| b & 0xc0 != 0x80).count()
            }
        };
        self.byte = byte;
        self.cp
    }
}

/// Python's `a / b` for two non-negative integers as a float (correctly rounded for values
/// below 2^53, like CPython's true division).
#[inline]
pub fn div(a: usize, b: usize) -> f64 {
    a as f64 / b as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_matches_cpython() {
        // The complete list of `str.isspace()` code points in CPython 3.11.
        let py: Vec<u32> = vec![
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> = (0u32..0x110000)
            .filter_map(char::from_u32)
            .filter(|c| is_py_space(*c))
            .map(|c| c as u32)
            .collect();
        assert_eq!(ours, py);
        let re = Regex::new(&format!("^[{PY_SPACE_CLASS}]$")).unwrap();
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            assert_eq!(re.is_match(&c.to_string()), is_py_space(c), "{c:?}");
        }
    }

    #[test]
    fn byte_scanner_splits_like_is_py_space() {
        let reference = |s: &str| -> Vec<String> {
            s.split(is_py_space)
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        };
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            for s in [
                format!("a{c}b"),
                format!("{c}"),
                format!("{c}{c} x{c}"),
                format!("é{c}\u{2000}z"),
            ] {
                let got: Vec<String> = py_split_whitespace(&s).map(String::from).collect();
                assert_eq!(got, reference(&s), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn split_and_strip_like_python() {
        let s = "\u{1c}a\u{a0}b  c\u{200b}d\n";
        assert_eq!(
            py_split_whitespace(s).collect::<Vec<_>>(),
            ["a", "b", "c\u{200b}d"]
        );
        assert_eq!(py_strip(" \u{1f}x \u{3000}"), "x");
        assert_eq!(py_split_whitespace("").count(), 0);
        assert_eq!(py_split_whitespace(" \t ").count(), 0);
    }

    #[test]
    fn isalpha_like_python() {
        assert!(is_py_alpha('a'));
        assert!(is_py_alpha('é'));
        assert!(is_py_alpha('中'));
        assert!(!is_py_alpha('1'));
        assert!(!is_py_alpha('_'));
        // Roman numeral twelve: Alphabetic (Nl) in Rust, not isalpha in Python.
        assert!(!is_py_alpha('\u{216b}'));
        // Devanagari vowel sign AA (Mc): Alphabetic in Rust, not isalpha in Python.
        assert!(!is_py_alpha('\u{093e}'));
    }

    #[test]
    fn word_count_matches_split() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "a b",
            "  a\t\nb\x1c c  ",
            "x\u{a0}y",
            "é b",
            "\u{3000}",
            "one two three four five six seven eight nine ten eleven twelve thirteen",
        ] {
            assert_eq!(py_word_count(s), py_split_whitespace(s).count(), "{s:?}");
        }
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            for s in [
                format!("a{c}b"),
                format!("{c}{c}x"),
                format!("x{c}"),
                format!("{c}"),
                format!("é {c}\u{a0}\u{1680}\u{3000}ü{c} z"),
            ] {
                assert_eq!(py_word_count(&s), py_split_whitespace(&s).count(), "{s:?}");
            }
        }
    }

    #[test]
    fn lower_into_matches_str_to_lowercase() {
        for s in [
            "ABC",
            "ÀÉÎ x",
            "\u{130}i",
            "ΑΣ ΑΣ",
            "ὈΔΥΣΣΕΎΣ",
            "Straße ǅ",
            "MiXeD 123 Ω",
        ] {
            let mut out = String::from("prefix");
            py_lower_into(s, &mut out);
            assert_eq!(out, format!("prefix{}", s.to_lowercase()), "{s:?}");
        }
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            let s = format!("A{c}b");
            assert_eq!(py_lower(&s), s.to_lowercase(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn lower_like_python() {
        assert_eq!(py_lower("ABC"), "abc");
        assert_eq!(char_len(&py_lower("\u{130}")), 2);
        assert_eq!(py_lower("ΑΣ ΑΣ"), "ας ας");
    }

    #[test]
    fn paragraphs_like_dolma() {
        let t = "a\n\n  \nbé\nc";
        let p = split_paragraphs(t, true);
        let got: Vec<_> = p.iter().map(|p| (p.start, p.end, p.text)).collect();
        assert_eq!(got, [(0, 2, "a\n"), (6, 9, "bé\n"), (9, 10, "c")]);
        let all = split_paragraphs(t, false);
        assert_eq!(all.len(), 5);
        assert_eq!(split_paragraphs("", false).len(), 0);
        assert_eq!(split_paragraphs("x\n", false).len(), 1);
    }

    #[test]
    fn char_offsets() {
        let t = "é1é2";
        let mut c = CharOffsets::new(t);
        assert_eq!(c.at(2), 1);
        assert_eq!(c.at(6), 4);
        assert_eq!(c.at(0), 0);
    }
}
