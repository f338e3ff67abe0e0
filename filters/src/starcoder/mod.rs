//! `code_starcoder_taggers_v2`: dolma 1.2.1's StarCoder-style code signals
//! (`taggers/code/code_taggers.py`, BigCode's `preprocessing/utils/text_extraction.py`).
//!
//! Four document scores, each a span over the whole text:
//! - `has_xml_template_doc`: 1 when `<?xml version=` occurs in the first 100 characters;
//! - `num_github_stars_doc`: `metadata.max_stars_count` as a float (0 when absent or null);
//! - `code_to_comment_ratio_doc`: for Python, Java and JavaScript files (by `metadata.ext`,
//!   through dolma's extension table), the characters of natural-language text over the
//!   file's length — Python's comments and docstrings ([`python`]), Java's and JavaScript's
//!   comments as Pygments 2.21 lexes them ([`pygments`]); 0.5 for every other file;
//! - `code_to_text_ratio_html_doc`: for HTML files, the share of the file that is text as
//!   BeautifulSoup's `html.parser` sees it, script and style removed, or 0 when that text has
//!   100 characters or fewer ([`bs4`]); -1 where BeautifulSoup raises; 1 for every other file.
//!
//! Where dolma cannot compute a value it stops: an empty Python, Java or JavaScript text
//! divides by zero outside dolma's `try`, a `max_stars_count` that Python's `float()` refuses
//! raises. loam writes -1 for the empty text (dolma's own value for an empty HTML file) and
//! fails the document with a typed error for the star count.
//!
//! `code_starcoder_taggers_v1` is not provided: it lexes every one of the table's 300-odd
//! languages with its Pygments lexer (or -1 where Pygments has none), and only the three
//! lexers above are ported.

pub mod bs4;
pub mod pygments;
pub mod python;

use crate::pytext::is_py_space;
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use serde_json::Value;

/// Whether `c` lies in one of `table`'s inclusive, sorted, disjoint code-point ranges (the
/// generated character-class tables of the ports).
pub(crate) fn in_ranges(table: &[(u32, u32)], c: char) -> bool {
    let cp = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The languages of dolma's `ext_to_lang_mapping.json` that the tagger treats apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeLang {
    /// Comments and docstrings.
    Python,
    /// Comments, by Pygments' `JavaLexer`.
    Java,
    /// Comments, by Pygments' `JavascriptLexer`.
    JavaScript,
    /// Text share, by BeautifulSoup.
    Html,
}

/// The extensions dolma 1.2.1's `ext_to_lang_mapping.json` maps to one of [`CodeLang`]'s
/// languages (the table's other 800-odd extensions get the same values as an unknown one).
const EXTENSIONS: &[(&str, CodeLang)] = &[
    ("py", CodeLang::Python),
    ("bzl", CodeLang::Python),
    ("gyp", CodeLang::Python),
    ("lmi", CodeLang::Python),
    ("pyde", CodeLang::Python),
    ("pyp", CodeLang::Python),
    ("pyt", CodeLang::Python),
    ("pyw", CodeLang::Python),
    ("tac", CodeLang::Python),
    ("wsgi", CodeLang::Python),
    ("xpy", CodeLang::Python),
    ("java", CodeLang::Java),
    ("js", CodeLang::JavaScript),
    ("_js", CodeLang::JavaScript),
    ("bones", CodeLang::JavaScript),
    ("es6", CodeLang::JavaScript),
    ("jake", CodeLang::JavaScript),
    ("jsb", CodeLang::JavaScript),
    ("jscad", CodeLang::JavaScript),
    ("jsfl", CodeLang::JavaScript),
    ("jsm", CodeLang::JavaScript),
    ("jss", CodeLang::JavaScript),
    ("njs", CodeLang::JavaScript),
    ("pac", CodeLang::JavaScript),
    ("sjs", CodeLang::JavaScript),
    ("ssjs", CodeLang::JavaScript),
    ("xsjs", CodeLang::JavaScript),
    ("xsjslib", CodeLang::JavaScript),
    ("html", CodeLang::Html),
    ("htm", CodeLang::Html),
    ("htmlhl", CodeLang::Html),
    ("xht", CodeLang::Html),
    ("xhtml", CodeLang::Html),
];

/// The language of a `metadata.ext` value (exact, case-sensitive, as dolma's dict lookup).
pub fn lang_of_ext(ext: &str) -> Option<CodeLang> {
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|&(_, lang)| lang)
}

/// `code_starcoder_taggers_v2`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CodeStarcoderTaggersV2;

const NAME: &str = "code_starcoder_taggers_v2";

impl Tagger for CodeStarcoderTaggersV2 {
    fn name(&self) -> &str {
        NAME
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let len = text.chars().count();
        let head: &str = text
            .char_indices()
            .nth(100)
            .and_then(|(i, _)| text.get(..i))
            .unwrap_or(text);
        let xml = if head.contains("<?xml version=") {
            1.0
        } else {
            0.0
        };
        let metadata = doc.metadata();
        let stars =
            stars(metadata.and_then(|m| m.get("max_stars_count"))).map_err(|message| TagError {
                tagger: NAME.to_string(),
                message,
            })?;
        // dolma: `mapping[metadata.get("ext", "-no-lang")]`; a non-string key is not found.
        let lang = metadata
            .and_then(|m| m.get("ext"))
            .and_then(Value::as_str)
            .and_then(lang_of_ext);
        let comment = match lang {
            Some(l @ (CodeLang::Python | CodeLang::Java | CodeLang::JavaScript)) => {
                comment_ratio(text, len, l)
            }
            _ => 0.5,
        };
        let html = match lang {
            Some(CodeLang::Html) => bs4::filter_html(text),
            _ => 1.0,
        };
        out.push("has_xml_template_doc", Span::new(0, len, xml));
        out.push("num_github_stars_doc", Span::new(0, len, stars));
        out.push("code_to_comment_ratio_doc", Span::new(0, len, comment));
        out.push("code_to_text_ratio_html_doc", Span::new(0, len, html));
        Ok(())
    }
}

/// `get_nl_ratio(text, lang)`; -1 for an empty text (where dolma divides by zero).
fn comment_ratio(text: &str, len: usize, lang: CodeLang) -> f64 {
    if len == 0 {
        return -1.0;
    }
    let natural = match lang {
        CodeLang::Python => python::natural_text_len(text),
        CodeLang::Java => pygments::comment_size(text, pygments::PygLang::Java),
        _ => pygments::comment_size(text, pygments::PygLang::JavaScript),
    };
    natural as f64 / len as f64
}

/// `float(metadata.get("max_stars_count", 0) or 0)`.
fn stars(value: Option<&Value>) -> Result<f64, String> {
    match value {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("metadata.max_stars_count {n} is not a float")),
        Some(Value::String(s)) if s.is_empty() => Ok(0.0),
        Some(Value::String(s)) => py_float(s).ok_or_else(|| {
            format!("metadata.max_stars_count: could not convert string to float: {s:?}")
        }),
        Some(v) => Err(format!(
            "metadata.max_stars_count must be a number, not {v} (Python's float() raises)"
        )),
    }
}

/// Python's `float(str)`: surrounding whitespace, `_` between digits, `inf`/`nan` spellings.
fn py_float(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_py_space);
    let b = t.as_bytes();
    let mut plain = String::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        if c == '_' {
            let digit = |j: Option<usize>| j.and_then(|j| b.get(j)).is_some_and(u8::is_ascii_digit);
            if !(digit(i.checked_sub(1)) && digit(Some(i + 1))) {
                return None;
            }
        } else {
            plain.push(c);
        }
    }
    plain.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_counts_convert_as_python_float_does() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(stars(None), Ok(0.0));
        assert_eq!(stars(Some(&v("null"))), Ok(0.0));
        assert_eq!(stars(Some(&v("12"))), Ok(12.0));
        assert_eq!(stars(Some(&v("true"))), Ok(1.0));
        assert_eq!(stars(Some(&v("\"\""))), Ok(0.0));
        assert_eq!(stars(Some(&v("\" 1_000 \""))), Ok(1000.0));
        assert_eq!(stars(Some(&v("\"1e3\""))), Ok(1000.0));
        assert!(stars(Some(&v("\"1__0\""))).is_err());
        assert!(stars(Some(&v("\"ten\""))).is_err());
        assert!(stars(Some(&v("[1]"))).is_err());
    }

    #[test]
    fn extensions_are_dolmas() {
        assert_eq!(lang_of_ext("py"), Some(CodeLang::Python));
        assert_eq!(lang_of_ext("PY"), None);
        assert_eq!(lang_of_ext("es6"), Some(CodeLang::JavaScript));
        assert_eq!(lang_of_ext("xhtml"), Some(CodeLang::Html));
        assert_eq!(lang_of_ext("c"), None);
    }
}
