//! Regex PII signals: dolma 1.2.1's `python/dolma/taggers/pii.py` (`pii_regex_v1`,
//! `pii_regex_v2`, `pii_regex_with_counts_v2`, `pii_regex_with_counts_fast_v2`).
//!
//! Three patterns, as in dolma (Python `re` semantics: `\s` is CPython whitespace, `\d` any
//! Unicode decimal digit):
//!
//! - `EMAIL_ADDRESS`: `[.\s@,?!;:)(]*([^\s@]+@[^\s@,?!;:)(]+?)[.\s@,?!;:)(]?[\s\n\r]` — the span
//!   includes the punctuation and whitespace around the address;
//! - `PHONE_NUMBER`: `\s+\(?(\d{3})\)?[-\. ]*(\d{3})[-. ]?(\d{4})` — the span includes the
//!   leading whitespace;
//! - `IP_ADDRESS`: dotted quads of 0–255.
//!
//! ## `pii_regex_v1`, `pii_regex_v2`
//!
//! Each pattern runs over the whole text (all e-mails, then phones, then IPs). Then: an e-mail
//! match is kept when the part of the match before its first `@` is not `(` (after
//! `str.strip()`) and the part between the first and second `@` contains a `.`; a phone or IP
//! match is dropped when the 100 code points around it (either side) contain `isbn`, `doi` or
//! `#`; a phone match is also dropped when the document contains a URL anywhere. Signals: one
//! span per kept match (score 1) under its type, and `doc`: `[0, len, kept matches / words]`
//! (`str.split()` words). Without words, `pii_regex_v2` gives `doc` = -1; dolma's
//! `pii_regex_v1` raises `ZeroDivisionError` there (the whole file fails), loam gives -1 too.
//! `pii_regex_with_counts_v2` is `pii_regex_v1` plus `doc_count`: `[0, len, kept matches]`.
//!
//! ## `pii_regex_with_counts_fast_v2`
//!
//! The patterns run per non-blank paragraph (dolma's `split_paragraphs`), each only when the
//! paragraph can match (`@`, a digit, `.` followed by a non-space): e-mails (kept when the
//! address's local part is not `(` and its domain has a `.`), phones, then IPs (not inside a
//! URL). No context rules. When the text has more than 10,000 `?`, nothing is matched (as dolma).
//! Signals: the matches under their types, `doc_count`: `[0, len, matches]`, and `doc_frac`:
//! `[0, len, code points in matches / len(text)]` (-1 for an empty text).
//!
//! # Known dolma bugs, and the switches that reproduce them
//!
//! - **The URL regex never matches** (`pii.py`, `BasePiiFilter.__init__` and
//!   `FastPiiRegex.URL_REGEX`): the pattern is written `"(?i)\b((?:https?://|www…"` in a normal,
//!   not raw, Python string, so `\b` is the backspace character U+0008, not a word boundary.
//!   dolma's URL check therefore only fires on a URL preceded by a backspace, i.e. never on real
//!   text, and `pii_regex_v1`/`v2` keep phone numbers in documents that contain URLs. loam uses
//!   the intended `\b` (phones are dropped from documents with a URL). [`PiiCompat::url_regex`]
//!   restores dolma's pattern. (In `pii_regex_with_counts_fast_v2` the URL check is applied to
//!   the IP match itself, digits and dots only, which neither pattern can match: no difference.)
//! - **`doc_frac` is always ≥ 1** (`FastPiiRegex.predict`): dolma appends the `doc_count` span
//!   (`[0, len]`) to the list before summing span lengths, so `doc_frac` = 1 + the true
//!   fraction. loam gives the true fraction; [`PiiCompat::doc_frac`] restores dolma's value.

use crate::pytext::{
    char_len, py_strip, py_word_count, split_paragraphs, CharOffsets, PY_SPACE_CLASS,
};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use std::sync::OnceLock;

/// Signal names (dolma's PII types).
pub const EMAIL: &str = "EMAIL_ADDRESS";
/// Phone numbers.
pub const PHONE: &str = "PHONE_NUMBER";
/// IPv4 addresses.
pub const IP: &str = "IP_ADDRESS";

const WINDOW: usize = 100;
const MAX_QUESTION_MARKS: usize = 10_000;

/// Which of dolma 1.2.1's PII bugs to reproduce (all off by default: loam's values are
/// correct). Needed only to reproduce a mix made from dolma's attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PiiCompat {
    /// Use dolma's URL regex, which starts with a backspace character instead of `\b` and so
    /// never matches real text.
    pub url_regex: bool,
    /// Make `doc_frac` count the `doc_count` span too (dolma's value: 1 + the fraction).
    pub doc_frac: bool,
}

impl PiiCompat {
    /// Every dolma 1.2.1 behaviour.
    pub fn dolma() -> Self {
        PiiCompat {
            url_regex: true,
            doc_frac: true,
        }
    }
}

struct Patterns {
    email: Regex,
    phone: Regex,
    ip: Regex,
    url_fixed: Regex,
    url_dolma: Regex,
    digit: Regex,
    dot_nonspace: Regex,
}

// Every pattern is a constant (the tests compile them all): `Regex::new` cannot fail.
#[allow(clippy::expect_used)]
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let s = PY_SPACE_CLASS;
        let url_body = r#"((?:https?://|www\d{0,3}[.]|[a-z0-9.\-]+[.][a-z]{2,4}/)(?:[^\s()<>]+|\(([^\s()<>]+|(\([^\s()<>]+\)))*\))+(?:\(([^\s()<>]+|(\([^\s()<>]+\)))*\)|[^\s`!()\[\]{};:'".,<>?«»“”‘’]))"#
            .replace(r"\s", s);
        let build = |p: &str| Regex::new(p).expect("static regex");
        Patterns {
            email: build(&format!(
                r"[.{s}@,?!;:)(]*([^{s}@]+@[^{s}@,?!;:)(]+?)[.{s}@,?!;:)(]?[{s}\n\r]"
            )),
            phone: build(&format!(r"[{s}]+\(?(\d{{3}})\)?[-. ]*(\d{{3}})[-. ]?(\d{{4}})")),
            ip: build(
                r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
            ),
            url_fixed: build(&format!(r"(?i)\b{url_body}")),
            url_dolma: build(&format!(r"(?i)\x08{url_body}")),
            digit: build(r"\d"),
            dot_nonspace: build(&format!(r"\.[^{s}]")),
        }
    })
}

impl Patterns {
    fn url(&self, compat: PiiCompat) -> &Regex {
        if compat.url_regex {
            &self.url_dolma
        } else {
            &self.url_fixed
        }
    }
}

/// A match in byte offsets of the searched text.
#[derive(Debug, Clone, Copy)]
struct Hit {
    kind: &'static str,
    start: usize,
    end: usize,
}

/// Which patterns can match a text at all, from tests far cheaper than the patterns (each is
/// a necessary condition, so skipping a pattern never changes a result): an e-mail needs an
/// `@`; a phone number ten decimal digits (`\d`: any Unicode decimal digit); an IP address
/// an ASCII digit, a `.` and another ASCII digit in a row.
#[derive(Debug, Clone, Copy)]
struct Prefilter {
    email: bool,
    phone: bool,
    ip: bool,
}

impl Prefilter {
    fn of(text: &str) -> Self {
        let b = text.as_bytes();
        let ip = memchr::memchr_iter(b'.', b).any(|i| {
            i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        });
        let phone = at_least_digits(text, 10);
        Prefilter {
            email: memchr::memchr(b'@', b).is_some(),
            phone,
            ip,
        }
    }
}

/// Whether `text` has at least `need` characters that `\d` matches (Unicode `Nd`). ASCII
/// digits are counted over bytes; other characters are decoded only when those fall short.
fn at_least_digits(text: &str, need: usize) -> bool {
    let b = text.as_bytes();
    let ascii = b.iter().filter(|c| c.is_ascii_digit()).count();
    if ascii >= need {
        return true;
    }
    if text.is_ascii() {
        return false;
    }
    let digit = &patterns().digit;
    let mut buf = [0u8; 4];
    let other = text
        .chars()
        .filter(|c| !c.is_ascii() && !c.is_alphabetic() && digit.is_match(c.encode_utf8(&mut buf)))
        .take(need - ascii)
        .count();
    ascii + other >= need
}

/// `pii_regex_v1` / `pii_regex_v2`.
#[derive(Debug, Clone)]
pub struct PiiRegexTagger {
    name: &'static str,
    compat: PiiCompat,
    /// `pii_regex_with_counts_v2`: also write `doc_count`.
    counts: bool,
}

impl PiiRegexTagger {
    /// `pii_regex_v1`.
    pub fn v1(compat: PiiCompat) -> Self {
        PiiRegexTagger {
            name: "pii_regex_v1",
            compat,
            counts: false,
        }
    }
    /// `pii_regex_v2`.
    pub fn v2(compat: PiiCompat) -> Self {
        PiiRegexTagger {
            name: "pii_regex_v2",
            compat,
            counts: false,
        }
    }
    /// `pii_regex_with_counts_v2`: `pii_regex_v1` plus `doc_count`, the number of kept
    /// matches. (dolma's divides by the word count as `v1` does and fails the whole file on a
    /// text without words; loam gives `doc` = -1 there, as for `v1`.)
    pub fn with_counts_v2(compat: PiiCompat) -> Self {
        PiiRegexTagger {
            name: "pii_regex_with_counts_v2",
            compat,
            counts: true,
        }
    }
}

/// Whether the `window` code points before `start` and after `end` (bytes), with the match,
/// contain `isbn`, `doi` or `#`.
// `start` and `end` are a match's bounds in `text`, the others `char_indices` positions or
// `text.len()`: char boundaries.
#[allow(clippy::string_slice)]
fn context_rejects(text: &str, start: usize, end: usize, window: usize) -> bool {
    let before = text[..start]
        .char_indices()
        .rev()
        .nth(window - 1)
        .map_or(0, |(b, _)| b);
    let after = text[end..]
        .char_indices()
        .nth(window)
        .map_or(text.len(), |(b, _)| end + b);
    let ctx = &text[before..after];
    ctx.contains("isbn") || ctx.contains("doi") || ctx.contains('#')
}

impl Tagger for PiiRegexTagger {
    fn name(&self) -> &str {
        self.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let p = patterns();
        let text = doc.text.as_str();
        let mut kept: Vec<Hit> = Vec::new();
        let cheap = Prefilter::of(text);
        for m in p.email.find_iter(if cheap.email { text } else { "" }) {
            let mention = m.as_str();
            let mut parts = mention.split('@');
            let addressee = parts.next().unwrap_or("");
            let domain = parts.next().unwrap_or("");
            if py_strip(addressee) != "(" && domain.contains('.') {
                kept.push(Hit {
                    kind: EMAIL,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        let mut has_url: Option<bool> = None;
        for m in p.phone.find_iter(if cheap.phone { text } else { "" }) {
            if context_rejects(text, m.start(), m.end(), WINDOW) {
                continue;
            }
            let url = *has_url.get_or_insert_with(|| p.url(self.compat).is_match(text));
            if !url {
                kept.push(Hit {
                    kind: PHONE,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        for m in p.ip.find_iter(if cheap.ip { text } else { "" }) {
            if !context_rejects(text, m.start(), m.end(), WINDOW) {
                kept.push(Hit {
                    kind: IP,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        let mut offsets = CharOffsets::new(text);
        for h in &kept {
            let s = offsets.at(h.start);
            let e = offsets.at(h.end);
            out.push(h.kind, Span::new(s, e, 1.0));
        }
        let words = py_word_count(text);
        let score = if words == 0 {
            -1.0
        } else {
            kept.len() as f64 / words as f64
        };
        out.push("doc", Span::new(0, char_len(text), score));
        if self.counts {
            out.push("doc_count", Span::new(0, char_len(text), kept.len() as f64));
        }
        Ok(())
    }
}

/// `pii_regex_with_counts_fast_v2`.
#[derive(Debug, Clone)]
pub struct FastPiiRegexTagger {
    compat: PiiCompat,
}

impl FastPiiRegexTagger {
    /// `pii_regex_with_counts_fast_v2`.
    pub fn new(compat: PiiCompat) -> Self {
        FastPiiRegexTagger { compat }
    }
}

impl Tagger for FastPiiRegexTagger {
    fn name(&self) -> &str {
        "pii_regex_with_counts_fast_v2"
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let p = patterns();
        let text = doc.text.as_str();
        let len = char_len(text);
        let mut count = 0usize;
        let mut covered = 0usize;
        let skip = text.bytes().filter(|b| *b == b'?').count() > MAX_QUESTION_MARKS;
        let paragraphs = if skip {
            Vec::new()
        } else {
            split_paragraphs(text, true)
        };
        let mut hits: Vec<Hit> = Vec::new();
        for para in paragraphs {
            let t = para.text;
            hits.clear();
            if t.contains('@') {
                for c in p.email.captures_iter(t) {
                    let (m, addr) = match (c.get(0), c.get(1)) {
                        (Some(m), Some(a)) => (m, a.as_str()),
                        _ => continue,
                    };
                    let (addressee, domain) = addr.split_once('@').unwrap_or((addr, ""));
                    if py_strip(addressee) == "(" || !domain.contains('.') {
                        continue;
                    }
                    hits.push(Hit {
                        kind: EMAIL,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
            if p.digit.is_match(t) {
                for m in p.phone.find_iter(t) {
                    hits.push(Hit {
                        kind: PHONE,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
            if p.dot_nonspace.is_match(t) {
                for m in p.ip.find_iter(t) {
                    if p.url(self.compat).is_match(m.as_str()) {
                        continue;
                    }
                    hits.push(Hit {
                        kind: IP,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
            let mut offsets = CharOffsets::new(t);
            for h in &hits {
                let s = offsets.at(h.start);
                let e = offsets.at(h.end);
                count += 1;
                covered += e - s;
                out.push(h.kind, Span::new(para.start + s, para.start + e, 1.0));
            }
        }
        out.push("doc_count", Span::new(0, len, count as f64));
        let frac = if len == 0 {
            -1.0
        } else if self.compat.doc_frac {
            (covered + len) as f64 / len as f64
        } else {
            covered as f64 / len as f64
        };
        out.push("doc_frac", Span::new(0, len, frac));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_prefilter_agrees_with_the_regex() {
        let re = Regex::new(r"\d").unwrap();
        let mut buf = [0u8; 4];
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            if re.is_match(c.encode_utf8(&mut buf)) {
                assert!(!c.is_alphabetic(), "U+{:04X}", c as u32);
            }
        }
        for t in [
            "",
            "123",
            "12345 6789 0",
            "١٢٣٤٥٦٧٨٩٠",
            "abc ٣ 123456789",
            "१२३ x 4567",
            "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖",
        ] {
            for need in [1, 9, 10, 11] {
                assert_eq!(
                    at_least_digits(t, need),
                    re.find_iter(t).count() >= need,
                    "{t:?} {need}"
                );
            }
        }
    }
    use crate::testutil::{bad_inputs, run, score, spans, ten_mb_line};

    fn all() -> Vec<Box<dyn Tagger>> {
        let mut v: Vec<Box<dyn Tagger>> = Vec::new();
        for c in [PiiCompat::default(), PiiCompat::dolma()] {
            v.push(Box::new(PiiRegexTagger::v1(c)));
            v.push(Box::new(PiiRegexTagger::v2(c)));
            v.push(Box::new(FastPiiRegexTagger::new(c)));
        }
        v
    }

    #[test]
    fn finds_email_phone_ip() {
        let t = "Write to jane.doe@example.com or call (555) 123-4567 from 192.168.0.1 today";
        let s = run(&PiiRegexTagger::v2(PiiCompat::default()), t);
        assert_eq!(spans(&s, EMAIL), [(8, 30, 1.0)]);
        assert_eq!(spans(&s, PHONE), [(37, 52, 1.0)]);
        assert_eq!(spans(&s, IP), [(58, 69, 1.0)]);
        assert_eq!(score(&s, "doc"), 0.3);
        let f = run(&FastPiiRegexTagger::new(PiiCompat::default()), t);
        assert_eq!(score(&f, "doc_count"), 3.0);
        let covered = (30 - 8) + (52 - 37) + (69 - 58);
        let len = char_len(t);
        assert_eq!(
            score(&f, "doc_frac"),
            Span::new(0, 0, covered as f64 / len as f64).score
        );
        let d = run(&FastPiiRegexTagger::new(PiiCompat::dolma()), t);
        assert_eq!(
            score(&d, "doc_frac"),
            Span::new(0, 0, (covered + len) as f64 / len as f64).score
        );
    }

    #[test]
    fn url_regex_bug() {
        let t = "see https://example.com/page and call 555 123 4567 now";
        let fixed = run(&PiiRegexTagger::v1(PiiCompat::default()), t);
        let dolma = run(&PiiRegexTagger::v1(PiiCompat::dolma()), t);
        assert!(spans(&fixed, PHONE).is_empty());
        assert_eq!(spans(&dolma, PHONE).len(), 1);
        // dolma's pattern does match after a literal backspace.
        let t = "see \u{8}https://example.com/page and call 555 123 4567 now";
        let dolma = run(&PiiRegexTagger::v1(PiiCompat::dolma()), t);
        assert!(spans(&dolma, PHONE).is_empty());
    }

    #[test]
    fn context_rules() {
        let s = run(
            &PiiRegexTagger::v1(PiiCompat::default()),
            "isbn 978 555 1234 5",
        );
        assert!(spans(&s, PHONE).is_empty());
        let s = run(
            &PiiRegexTagger::v1(PiiCompat::default()),
            "mail (@foo.com and a@b c",
        );
        assert!(spans(&s, EMAIL).is_empty());
    }

    #[test]
    fn bad_inputs_have_defined_values() {
        for text in bad_inputs() {
            let n = char_len(&text);
            for t in all() {
                let s = run(t.as_ref(), &text);
                for (_, v) in s.iter() {
                    assert!(v
                        .iter()
                        .all(|x| x.end <= n && x.start <= x.end && x.score.is_finite()));
                }
            }
        }
        let s = run(&PiiRegexTagger::v1(PiiCompat::default()), " \n ");
        assert_eq!(spans(&s, "doc"), [(0, 3, -1.0)]);
        let s = run(&FastPiiRegexTagger::new(PiiCompat::dolma()), "");
        assert_eq!(spans(&s, "doc_frac"), [(0, 0, -1.0)]);
        assert_eq!(spans(&s, "doc_count"), [(0, 0, 0.0)]);
    }

    #[test]
    fn many_question_marks_skip() {
        let t = format!("{} a@b.com ", "?".repeat(10_001));
        let s = run(&FastPiiRegexTagger::new(PiiCompat::default()), &t);
        assert_eq!(score(&s, "doc_count"), 0.0);
    }

    #[test]
    fn ten_mb_single_line() {
        let t = ten_mb_line();
        let s = run(&PiiRegexTagger::v2(PiiCompat::default()), &t);
        assert!(score(&s, "doc") > 0.0);
        let s = run(&FastPiiRegexTagger::new(PiiCompat::default()), &t);
        assert!(score(&s, "doc_count") > 0.0);
    }
}
