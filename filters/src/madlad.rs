//! MADLAD-400's sentence-level document filter (Kudugunta et al. 2023, §2.3 and appendix
//! A.2), as Dolma 3's pipeline ran it (datamap-rs `madlad400_sentence_annotator` with
//! `rules_to_include: [2, 5]`, then `madlad400_rule_filter` with `rules_to_remove: [[2, 5]]`,
//! `remove_too_short: true`).
//!
//! A document is split into sentences at `[.!?]+\s+` (datamap-rs's splitter; blank pieces are
//! not sentences). A sentence is *questionable* under:
//! - rule 2, **list case**: at least 12 words (Unicode word boundaries) and more than half of
//!   them start with an upper-case letter;
//! - rule 3, **abnormal length**: fewer than 20 or more than 500 characters;
//! - rule 4, **technical characters**: more than 20% of its characters are digits or one of
//!   `{}+/()>`;
//! - rule 5, **cursed**: it contains one of the cursed substrings or matches one of the cursed
//!   regexes (a list file, below).
//!
//! - rule 1, **document consistency**, only with the tagger option `model` (a fastText
//!   language-ID model such as `lid.176.bin`): the model's top label for the sentence differs
//!   from its top label for the whole document, or it has none. Both are fastText's
//!   `predict(text, k=1)` on the text as written, newlines read as spaces (not lowercased), as
//!   datamap-rs predicts them: the document with a final newline (fastText's end-of-sentence
//!   token `</s>`, as datamap-rs's `fasttext_annotator` and fastText's CLI and Python add it),
//!   the sentence without one (datamap-rs's MADLAD annotator passes the bare sentence, so its
//!   sentence predictions see no `</s>`; with it, 76 sentences in 29 of the 295 test documents
//!   of 5 sentences or more get other flags). MADLAD used its own sentence-level LangID model, which is not
//!   published; datamap-rs takes the document's language from a field written by a
//!   document-level fastText annotator, which is what loam computes here. Checked against
//!   datamap-rs (f771794) on 403 documents (`datamap::tests`, config
//!   `madlad_rule1.datamap.yaml`): the same 628 of 6,824 sentences flagged. loam reads a NUL
//!   as a space; datamap-rs's fastText calls fail on one (its `fasttext_annotator` drops the
//!   document, its MADLAD annotator would panic).
//!
//! MADLAD drops a document with fewer than 5 sentences or with 20% or more questionable
//! sentences; the signals below let a mix rule say exactly that (`sentences < 5`,
//! `frac_list_case_or_cursed >= 0.2` for Dolma 3's rule group [2, 5], `frac_any >= 0.2` for all
//! of MADLAD's rules).
//!
//! Lengths are counted in characters, as the paper defines them; datamap-rs divides and
//! compares *byte* lengths (`str::len`) in rules 3 and 4, so on non-ASCII text its sentences
//! are longer and its technical-character ratios smaller than the paper's.
//!
//! Signals: `sentences` (document: the count); per rule a span per questionable sentence
//! (`list_case`, `abnormal_length`, `technical_characters`, `cursed`, score 1) and the
//! document's fraction of such sentences (`frac_list_case`, `frac_abnormal_length`,
//! `frac_technical_characters`, `frac_cursed`); `frac_list_case_or_cursed` (rules 2 or 5, Dolma
//! 3's group) and `frac_any` (any rule computed). With `model`, also `language_mismatch`
//! (spans) and `frac_language_mismatch`, and rule 1 counts in `frac_any`. Fractions are 0 for a
//! document without sentences.
//!
//! The cursed list (tagger option `cursed`, else `$LOAM_MODELS_DIR/madlad400_cursed.txt.gz`)
//! is datamap-rs's format: one entry per line, kept as written (spaces included), the last four
//! lines regular expressions and every other line a substring; `.gz` files are read gunzipped.

use crate::pytext::char_len;
use aho_corasick::AhoCorasick;
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use std::path::{Path, PathBuf};
use unicode_segmentation::UnicodeSegmentation;

/// The tagger's name.
pub const NAME: &str = "madlad400_sentences_v1";
/// Its default cursed list, below the models directory.
pub const DEFAULT_CURSED: &str = "madlad400_cursed.txt.gz";
/// Its signals.
pub const SIGNALS: &[&str] = &[
    "sentences",
    "list_case",
    "abnormal_length",
    "technical_characters",
    "cursed",
    "frac_list_case",
    "frac_abnormal_length",
    "frac_technical_characters",
    "frac_cursed",
    "frac_list_case_or_cursed",
    "frac_any",
    "language_mismatch",
    "frac_language_mismatch",
];

const CASE_MIN_WORDS: usize = 12;
const CASE_MAX_FRAC: f64 = 0.5;
const LEN_MIN: usize = 20;
const LEN_MAX: usize = 500;
const TECH_MAX_FRAC: f64 = 0.2;
/// Lines at the end of a cursed list that are regular expressions.
const CURSED_REGEXES: usize = 4;

/// The cursed list file: the option, else the default.
pub fn cursed_path(option: Option<&Path>) -> PathBuf {
    option
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::langid::models_dir().join(DEFAULT_CURSED))
}

/// A cursed list that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: the cursed list of {NAME}: {message} (give the `cursed` tagger option; loam never downloads)")]
pub struct CursedListError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The MADLAD-400 sentence tagger.
#[derive(Debug)]
pub struct Madlad400Sentences {
    substrings: AhoCorasick,
    regexes: Vec<Regex>,
    splitter: Regex,
    /// Rule 1's language-ID model (the `model` option).
    lid: Option<std::sync::Arc<crate::langid::SharedModel>>,
}

impl Madlad400Sentences {
    /// Loads the cursed list at `path`.
    pub fn load(path: &Path) -> Result<Self, CursedListError> {
        let bad = |message: String| CursedListError {
            path: path.display().to_string(),
            message,
        };
        let text = crate::url::read_text(path).map_err(|e| bad(e.to_string()))?;
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() < CURSED_REGEXES {
            return Err(bad(format!(
                "{} line(s); the last {CURSED_REGEXES} lines must be regular expressions",
                lines.len()
            )));
        }
        let (subs, res) = lines.split_at(lines.len() - CURSED_REGEXES);
        let substrings = AhoCorasick::new(subs).map_err(|e| bad(e.to_string()))?;
        let mut regexes = Vec::with_capacity(res.len());
        for (i, r) in res.iter().enumerate() {
            let line = subs.len() + i + 1;
            regexes.push(Regex::new(r).map_err(|e| bad(format!("line {line}: {e}")))?);
        }
        let splitter = Regex::new(r"[.!?]+\s+").map_err(|e| bad(e.to_string()))?;
        Ok(Madlad400Sentences {
            substrings,
            regexes,
            splitter,
            lid: None,
        })
    }

    /// Turns on rule 1 with the fastText language-ID model at `path`.
    pub fn with_language_model(mut self, path: &Path) -> Result<Self, crate::langid::LangIdError> {
        self.lid = Some(crate::langid::load_shared(path)?);
        Ok(self)
    }

    /// The model's most probable label for `text` as datamap-rs asks fastText for it:
    /// `predict(text, k=1)` on the text as written, newlines read as spaces (not lowercased,
    /// unlike dolma's language-ID taggers). A document ends with a newline (fastText's
    /// end-of-sentence token `</s>`), as datamap-rs's `fasttext_annotator` ends it; a
    /// sentence does not, as its MADLAD annotator passes it (`sentence`).
    fn language(lid: &crate::langid::SharedModel, text: &str, sentence: bool) -> Option<String> {
        let mut top = None;
        let f = |label: &str, _| {
            top.get_or_insert_with(|| label.to_string());
        };
        if sentence {
            lid.for_each_raw_unterminated(text, Some(1), f);
        } else {
            lid.for_each_raw(text, Some(1), f);
        }
        top
    }

    /// The sentences of a text with their byte ranges.
    fn sentences<'t>(&self, text: &'t str) -> Vec<(usize, &'t str)> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut push = |start: usize, end: usize| {
            if let Some(s) = text.get(start..end) {
                if !s.trim().is_empty() {
                    out.push((start, s));
                }
            }
        };
        for m in self.splitter.find_iter(text) {
            push(at, m.start());
            at = m.end();
        }
        push(at, text.len());
        out
    }

    fn list_case(sentence: &str) -> bool {
        let words: Vec<&str> = sentence.unicode_words().collect();
        if words.len() < CASE_MIN_WORDS {
            return false;
        }
        let caps = words
            .iter()
            .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
            .count();
        caps as f64 > words.len() as f64 * CASE_MAX_FRAC
    }

    fn abnormal_length(chars: usize) -> bool {
        !(LEN_MIN..=LEN_MAX).contains(&chars)
    }

    fn technical(sentence: &str, chars: usize) -> bool {
        let tech = sentence
            .chars()
            .filter(|c| c.is_ascii_digit() || "{}+/()>".contains(*c))
            .count();
        tech as f64 > chars as f64 * TECH_MAX_FRAC
    }

    fn cursed(&self, sentence: &str) -> bool {
        self.substrings.is_match(sentence) || self.regexes.iter().any(|r| r.is_match(sentence))
    }
}

impl Tagger for Madlad400Sentences {
    fn name(&self) -> &str {
        NAME
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let n = char_len(text);
        let sentences = self.sentences(text);
        let mut counts = [0usize; 6];
        let doc_lang = self.lid.as_deref().map(|m| Self::language(m, text, false));
        let mut mismatches = 0usize;
        // Code points before each sentence: offsets move forward only.
        let (mut byte, mut cp) = (0usize, 0usize);
        for (start, s) in &sentences {
            cp += text.get(byte..*start).map_or(0, char_len);
            byte = *start;
            let chars = char_len(s);
            let span = Span::new(cp, cp + chars, 1.0);
            let flags = [
                Self::list_case(s),
                Self::abnormal_length(chars),
                Self::technical(s, chars),
                self.cursed(s),
            ];
            for (k, (&hit, name)) in flags.iter().zip(&SIGNALS[1..5]).enumerate() {
                if hit {
                    counts[k] += 1;
                    out.push(name, span);
                }
            }
            counts[4] += usize::from(flags[0] || flags[3]);
            let mut any = flags.iter().any(|&f| f);
            if let (Some(m), Some(doc)) = (self.lid.as_deref(), &doc_lang) {
                let lang = Self::language(m, s, true);
                if lang.is_none() || lang != *doc {
                    mismatches += 1;
                    any = true;
                    out.push("language_mismatch", span);
                }
            }
            counts[5] += usize::from(any);
        }
        let total = sentences.len();
        out.push("sentences", Span::new(0, n, total as f64));
        let frac = |c: usize| {
            if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            }
        };
        // The six fractions follow the rule signals in `SIGNALS`.
        for (name, &c) in SIGNALS[5..].iter().zip(&counts) {
            out.push(name, Span::new(0, n, frac(c)));
        }
        if self.lid.is_some() {
            out.push("frac_language_mismatch", Span::new(0, n, frac(mismatches)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger(lines: &str) -> Madlad400Sentences {
        // A directory per call: tests run in parallel threads.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursed.txt");
        std::fs::write(&path, lines).unwrap();
        Madlad400Sentences::load(&path).unwrap()
    }

    type Spans = Vec<(usize, usize, f64)>;

    fn signals(t: &Madlad400Sentences, text: &str) -> Vec<(String, Spans)> {
        let mut s = Signals::default();
        t.tag(&Document::new("d", text), &mut s).unwrap();
        s.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter().map(|x| (x.start, x.end, x.score)).collect(),
                )
            })
            .collect()
    }

    fn get<'a>(s: &'a [(String, Spans)], k: &str) -> Option<&'a Spans> {
        s.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    #[test]
    fn each_rule_flags_the_sentences_it_defines() {
        let t = tagger(" crusher \nxxx\n\\d{3}-\\d{4}\nZZZ+\n^never$\n\\bqqq\\b\n");
        let text = "This Is A Title Case Sentence With Many Words In It Today Here Now. \
                    Short one! \
                    A normal sentence that talks about ordinary things at length? \
                    Call 555-1234 for (12/34) > 56 now. \
                    the crusher of worlds is a fine ordinary sentence here.\n\
                    Ünïcödé sentence with accents, long enough to pass";
        let s = signals(&t, text);
        assert_eq!(get(&s, "sentences").unwrap()[0].2, 6.0);
        // Sentence starts in code points: the splitter's match ends where the next begins.
        let starts: Vec<usize> = get(&s, "abnormal_length")
            .unwrap()
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(starts.len(), 1, "{s:?}"); // "Short one" (9 characters)
        assert_eq!(get(&s, "list_case").unwrap().len(), 1);
        assert_eq!(get(&s, "list_case").unwrap()[0].0, 0);
        assert_eq!(get(&s, "technical_characters").unwrap().len(), 1);
        // "555-1234" matches a regex line, "crusher" a substring line (with its spaces).
        assert_eq!(get(&s, "cursed").unwrap().len(), 2);
        // Scores are rounded to 5 decimals, as dolma writes them.
        let r = loam_pipeline::document::round5;
        assert_eq!(get(&s, "frac_cursed").unwrap()[0].2, r(2.0 / 6.0));
        // Rules 2 or 5: the title-case sentence and the two cursed ones.
        assert_eq!(
            get(&s, "frac_list_case_or_cursed").unwrap()[0].2,
            r(3.0 / 6.0)
        );
        assert_eq!(get(&s, "frac_any").unwrap()[0].2, r(4.0 / 6.0));
        // The last sentence's span is in code points.
        let n = text.chars().count();
        assert_eq!(get(&s, "sentences").unwrap()[0].1, n);
    }

    #[test]
    fn empty_and_sentence_free_texts() {
        let t = tagger("a\nb\nc\nd\n");
        for text in ["", "   \n", "!!! ...  ?? "] {
            let s = signals(&t, text);
            assert_eq!(get(&s, "sentences").unwrap()[0].2, 0.0, "{text:?}");
            assert_eq!(get(&s, "frac_any").unwrap()[0].2, 0.0);
        }
    }

    #[test]
    fn a_list_too_short_or_with_a_bad_regex_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.txt");
        std::fs::write(&p, "a\nb\n").unwrap();
        assert!(Madlad400Sentences::load(&p)
            .unwrap_err()
            .to_string()
            .contains("2 line"));
        std::fs::write(&p, "a\nb\n(\nx\ny\nz\n").unwrap();
        assert!(Madlad400Sentences::load(&p)
            .unwrap_err()
            .to_string()
            .contains("line 3"));
    }

    /// Rule 1 with the language-ID model (lid.176, fetched by `scripts/fetch-models.sh`): the
    /// French and German sentences of an English text, and nothing without the option.
    #[test]
    fn rule_one_flags_sentences_in_another_language() {
        let model = crate::langid::default_model_path();
        let plain = tagger("a\nb\nc\nd\ne\n");
        let t = tagger("a\nb\nc\nd\ne\n")
            .with_language_model(&model)
            .unwrap();
        let english = [
            "The committee met on Tuesday to discuss the budget for the coming year.",
            "Several members raised concerns about the rising cost of maintenance work.",
            "After a long debate, the proposal was approved by a narrow majority of votes.",
            "The chair thanked everyone for their patience and closed the meeting early.",
        ];
        let french =
            "Le conseil municipal a décidé de rénover la bibliothèque du quartier cette année.";
        let german =
            "Die Mitglieder des Ausschusses haben lange über die neuen Vorschläge diskutiert.";
        let text = format!(
            "{} {} {french} {} {german} {}",
            english[0], english[1], english[2], english[3]
        );
        let s = signals(&t, &text);
        let spans = get(&s, "language_mismatch").unwrap();
        let flagged: Vec<&str> = spans
            .iter()
            .map(|&(a, b, _)| {
                let chars: Vec<char> = text.chars().collect();
                let t: String = chars[a..b].iter().collect();
                if t.starts_with("Le conseil") {
                    "fr"
                } else if t.starts_with("Die Mitglieder") {
                    "de"
                } else {
                    "other"
                }
            })
            .collect();
        assert_eq!(flagged, ["fr", "de"], "{spans:?}");
        assert_eq!(get(&s, "frac_language_mismatch").unwrap()[0].2, 0.33333);
        assert!(get(&s, "frac_any").unwrap()[0].2 >= 2.0 / 6.0);
        let p = signals(&plain, &text);
        assert!(get(&p, "language_mismatch").is_none());
        assert!(get(&p, "frac_language_mismatch").is_none());
    }
}
