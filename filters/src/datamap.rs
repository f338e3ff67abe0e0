//! `datamap_v1`: the line-level cleaning Ai2 ran on Dolma 3 (OLMo 3's pretraining web text)
//! with its Rust tool datamap-rs (github.com/allenai/datamap-rs, `src/map_fxn.rs`), as a tagger.
//!
//! datamap-rs runs a list of *steps* on each document: modifiers rewrite the text, filters
//! drop the document, annotators add fields. This tagger runs a configured list of those steps
//! (`tagger_options.datamap_v1.steps`) the same way — each step on the text as the earlier
//! steps left it — but rewrites nothing: it reports, in the **original** text's code points,
//! what the steps would remove, so that loam's mix removes it (span replacement) and drops what
//! the filters drop (`kept`). Signals, `<label>` being each step's configured label:
//!
//! - line modifiers: one span per removed line (with the line break the join drops), signal
//!   `<label>`, score 1; replace with `""`. `substring_line_modifier` with `location: any`
//!   replaces each match by a space: those spans are `<label>_space`, replace with `" "`.
//!   A line modifier's signal is written on every document (possibly `[]`).
//! - `word_count_adder` and the filters: one document-level span with the value the step
//!   computed (word count; page length; mean word length; removed-word ratio), signal `<label>`
//!   (left out when the value is not a number, e.g. the mean word length of an empty text).
//! - `kept`: one document-level span, 1 when the document passed every step, else 0. The
//!   steps after the one that drops a document do not run on it (as in datamap-rs).
//!
//! Later steps see the text as edited by earlier ones; a later edit that covers an earlier one
//! (a line removed after a substring in it was replaced) absorbs it, so the spans never
//! overlap and the mix applies them all.
//!
//! The steps, with datamap-rs's names, kwargs and defaults (`—` means required):
//!
//! | step | kwargs (default) | what it does |
//! |---|---|---|
//! | `ratio_line_modifier` | `upper_bound` (—), `check` (— : `uppercase` \| `numeric`) | removes each non-empty line (split on `\n`) whose count of upper-case characters (Unicode `Uppercase`) or ASCII digits, divided by the line's length in characters, is above `upper_bound` (f32 arithmetic) |
//! | `regex_line_modifier` | `regex` (the counter regex below) | removes each line (split on `\n`) whose lowercased text the regex matches (Rust `regex`, Unicode classes); drops the document when no line is left |
//! | `line_len_modifier` | `lower_bound` (0) | removes each non-empty line with fewer than `lower_bound` Unicode words (UAX #29 words with a letter or digit); drops the document when only empty lines are left |
//! | `substring_line_modifier` | `banlist` (—, a regex), `max_len` (none), `remove_substring_only` (true), `location` (`any` \| `prefix` \| `suffix`) | on each line of Rust's `str::lines` (a `\r` before `\n` and a final `\n` are removed): lines with more than `max_len` words are left alone; else every match of `\s?(?:banlist)\s?` is replaced by a space (`any`), or of `^(?:banlist)\s?` / `\s?(?:banlist)$` removed (`prefix`/`suffix`), and a line left blank is removed; with `remove_substring_only: false` a line with a match is removed |
//! | `newline_removal_modifier` | `max_consecutive` (2) | runs of more than `max_consecutive` `\n` are cut to `max_consecutive` |
//! | `word_count_adder` | `word_count_field` (`original_word_count`) | records the Unicode word count (for `word_removal_ratio_filter`) |
//! | `word_removal_ratio_filter` | `word_count_field` (`original_word_count`), `upper_bound` (1.0) | drops the document when (recorded − current word count) / recorded > `upper_bound` |
//! | `page_len_filter` | `length_type` (— : `word` \| `sentence` \| `line` \| `paragraph` \| `char`), `lower_bound` (1), `upper_bound` (none), `ignore_punctuation` (true) | drops the document unless `lower_bound ≤ length ≤ upper_bound` |
//! | `word_len_filter` | `lower_bound` (0.0), `upper_bound` (f32::MAX) | drops the document unless the mean length of its whitespace-separated words is within the bounds |
//! | `url_substring_filter` | `url_key` (—), `alt_url_key`, `banlist_file` (—), `exact_domain_match`, `exact_subdomain_match`, `exact_url_match`, `exact_part_match` (false), `match_substrings` (true), `case_sensitive` (false), `ignore_chars` ([]), `num_banned_substrs` (1) | drops the document when its URL is banned (`crate::urlban`: RefinedWeb's and FineWeb's URL filters); value: 0 kept, the matches when banned, -1 no URL, -2 no host (both dropped) |
//!
//! `page_len_filter`'s lengths, as datamap-rs computes them: `char` counts characters
//! (alphanumeric ones with `ignore_punctuation`); `line` counts `str::lines`; `sentence` counts
//! `.`, `!` and `?` (at least 1); `paragraph` counts non-blank pieces between `\n\n` (at least
//! 1); `word` on an ASCII text counts runs of ASCII letters and digits (plus each ASCII
//! punctuation byte without `ignore_punctuation`), on any other text Unicode words (or
//! non-blank UAX #29 segments without `ignore_punctuation`) — two definitions that disagree on
//! `don't` (2 words in ASCII, 1 otherwise); loam keeps both, as datamap-rs does.
//!
//! The default regex of `regex_line_modifier` (social-media counters such as `12 likes`):
//! `^\W*\d(?:,|\.|\d)*(?:K|k|M|m|B|b)?\s+(?:likes|shares|comments|retweets|reposts|quotes|bookmarks|upvotes|downvotes|downloads|views|followers)\W*$`.
//!
//! **Where datamap-rs counts bytes as characters** (`datamap_bugs`, all off by default; turn
//! them on to reproduce Dolma 3's texts):
//! - `ratio_bytes`: `ratio_line_modifier` divides by the line's length in UTF-8 bytes, so a
//!   non-ASCII line's ratio is lower (a Greek or Cyrillic upper-case line passes).
//! - `word_len_bytes`: `word_len_filter` measures words in bytes, so non-Latin texts have
//!   longer words (most CJK, Cyrillic or Greek pages fail `upper_bound: 10`).
//! - `removal_ratio_unsigned`: `word_removal_ratio_filter` subtracts unsigned counts: when the
//!   edited text has *more* Unicode words than the recorded count (removing a substring can split
//!   a word), the difference wraps to about 1.8e19 and the document is dropped; loam's ratio is
//!   then negative and the document kept.
//!
//! **Dolma 3's config** (datamap-rs `configs/all_dressed/all_dressed_config.yaml`) spells two
//! kwargs that datamap-rs never reads — `regex_string` (for `regex`) and `max_length` (for
//! `max_len`) — so its regex step ran with the default regex (anchored with `$`) and its
//! substring steps on lines of any length. loam refuses unknown kwargs; these two are refused
//! with that explanation.

// Byte offsets sliced here are char boundaries: ends of `\n` (ASCII) pieces, regex match
// bounds, and segment bounds made from those (an edit of the current text starts and ends
// where one of them does, and kept pieces are the original's bytes).
#![allow(clippy::string_slice)]

use loam_pipeline::config::{index, join, ConfigProblem, Problems};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use unicode_segmentation::UnicodeSegmentation;

#[cfg(test)]
mod tests;

/// The tagger's name.
pub const NAME: &str = "datamap_v1";

/// The document-level signal: 1 when every step passed, else 0.
pub const KEPT: &str = "kept";

/// Suffix of the signal of spans to be replaced by a space.
pub const SPACE_SUFFIX: &str = "_space";

/// `regex_line_modifier`'s default regex (datamap-rs `RegexLineModifier::new`).
pub const COUNTER_REGEX: &str = r"^\W*\d(?:,|\.|\d)*(?:K|k|M|m|B|b)?\s+(?:likes|shares|comments|retweets|reposts|quotes|bookmarks|upvotes|downvotes|downloads|views|followers)\W*$";

/// The datamap-rs steps this tagger runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// Removes lines with too many upper-case characters or digits.
    RatioLineModifier,
    /// Removes lines a regex matches (lowercased).
    RegexLineModifier,
    /// Removes lines with too few words.
    LineLenModifier,
    /// Strips a banned substring from lines, or removes the lines.
    SubstringLineModifier,
    /// Cuts runs of newlines.
    NewlineRemovalModifier,
    /// Records the word count.
    WordCountAdder,
    /// Drops documents that lost too many words.
    WordRemovalRatioFilter,
    /// Drops documents by length.
    PageLenFilter,
    /// Drops documents by mean word length.
    WordLenFilter,
    /// Drops documents whose URL a ban list names (`crate::urlban`).
    UrlSubstringFilter,
    /// Drops documents with too many `#` and ellipses per word.
    SymbolRatioFilter,
    /// Drops documents with too many lines starting with a bullet.
    BulletFilter,
    /// Drops documents with too many lines ending with an ellipsis.
    EllipsisLineRatioFilter,
    /// Drops documents with too many words without a letter.
    AlphabeticWordRatioFilter,
    /// Drops documents with too few English stop words.
    StopWordFilter,
    /// Drops documents by Gopher's (MassiveWeb's) repetition fractions.
    MassiveWebRepetitionFilter,
    /// Records the gzip-compressed size over the UTF-8 size.
    GzipAnnotator,
    /// Records the UltraFineWeb classifier's probabilities, one signal per label.
    UltrafinewebAnnotator,
    /// Records the text's tiktoken token count (special tokens encoded as such).
    TokenCountAnnotator,
}

impl StepName {
    /// Whether the step edits lines (and so writes removal spans).
    pub fn is_modifier(self) -> bool {
        matches!(
            self,
            StepName::RatioLineModifier
                | StepName::RegexLineModifier
                | StepName::LineLenModifier
                | StepName::SubstringLineModifier
                | StepName::NewlineRemovalModifier
        )
    }
}

/// One step of `tagger_options.datamap_v1.steps`: a datamap-rs step by its name, the label of
/// its signals, and its datamap-rs kwargs (checked by name: unknown kwargs are refused).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// datamap-rs's step name.
    pub name: StepName,
    /// The signal name of this step's spans (`<label>`, `<label>_space`).
    pub label: String,
    /// The step's kwargs, as datamap-rs names them.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub kwargs: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty())
}

/// Which datamap-rs byte-for-character behaviours to reproduce (all off: loam counts
/// characters). See the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatamapBugs {
    /// `ratio_line_modifier` divides by the line's UTF-8 byte length.
    #[serde(default)]
    pub ratio_bytes: bool,
    /// `word_removal_ratio_filter` subtracts unsigned word counts (wrapping).
    #[serde(default)]
    pub removal_ratio_unsigned: bool,
    /// `word_len_filter` measures words in UTF-8 bytes.
    #[serde(default)]
    pub word_len_bytes: bool,
    /// `url_substring_filter` as datamap-rs runs it (inverted `case_sensitive` for the list,
    /// first-label subdomains, scheme-less URLs without a host, blank list lines kept; see
    /// `crate::urlban`).
    #[serde(default)]
    pub url: bool,
}

impl DatamapBugs {
    /// Every datamap-rs behaviour, to reproduce Dolma 3's texts.
    pub fn all() -> Self {
        DatamapBugs {
            ratio_bytes: true,
            removal_ratio_unsigned: true,
            word_len_bytes: true,
            url: true,
        }
    }
}

/// `ratio_line_modifier`'s `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Check {
    Uppercase,
    Numeric,
}

/// `substring_line_modifier`'s `location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Location {
    Any,
    Prefix,
    Suffix,
}

/// `page_len_filter`'s `length_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LengthType {
    Word,
    Sentence,
    Line,
    Paragraph,
    Char,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatioKw {
    upper_bound: f64,
    check: Check,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegexKw {
    #[serde(default)]
    regex: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineLenKw {
    #[serde(default)]
    lower_bound: usize,
}

fn yes() -> bool {
    true
}

fn any() -> Location {
    Location::Any
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstringKw {
    banlist: String,
    #[serde(default)]
    max_len: Option<usize>,
    #[serde(default = "yes")]
    remove_substring_only: bool,
    #[serde(default = "any")]
    location: Location,
}

fn two() -> usize {
    2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewlineKw {
    #[serde(default = "two")]
    max_consecutive: usize,
}

fn original_word_count() -> String {
    "original_word_count".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordCountKw {
    #[serde(default = "original_word_count")]
    word_count_field: String,
}

fn one_f() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemovalKw {
    #[serde(default = "original_word_count")]
    word_count_field: String,
    #[serde(default = "one_f")]
    upper_bound: f64,
}

fn one_u() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageLenKw {
    length_type: LengthType,
    #[serde(default = "one_u")]
    lower_bound: usize,
    #[serde(default)]
    upper_bound: Option<usize>,
    #[serde(default = "yes")]
    ignore_punctuation: bool,
}

fn f32_max() -> f64 {
    f32::MAX as f64
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordLenKw {
    #[serde(default)]
    lower_bound: f64,
    #[serde(default = "f32_max")]
    upper_bound: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolRatioKw {
    #[serde(default = "f32_max")]
    max_symbol_to_word_ratio: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulletKw {
    #[serde(default = "f32_max")]
    max_bullet_ratio: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaxRatioKw {
    #[serde(default = "f32_max")]
    max_ratio: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopWordKw {
    #[serde(default)]
    count_unique: bool,
    #[serde(default = "two")]
    min_stop_word: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoKw {}

fn ufw_tokenizer() -> String {
    "tokenizers/deepseek_v2.json".into()
}

fn ufw_model() -> String {
    "ft_classifiers/ultrafineweb.bin".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UfwKw {
    #[serde(default = "ufw_tokenizer")]
    tokenizer_path: String,
    #[serde(default = "ufw_model")]
    fast_text_file: String,
    #[serde(default)]
    max_text_length: usize,
    #[serde(default)]
    #[allow(dead_code)]
    output_field: Option<String>,
}

/// An annotator's kwargs: where datamap-rs writes the value (loam writes it as the step's
/// label; accepted so that datamap-rs's configs read unchanged).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnoKw {
    #[serde(default)]
    #[allow(dead_code)]
    anno_field: Option<String>,
}

/// `token_count_annotator`'s kwargs: datamap-rs requires all three; `text_field` can only be
/// `text` here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCountKw {
    #[serde(default = "text_field")]
    text_field: String,
    tokenizer_name: TiktokenName,
    #[allow(dead_code)]
    output_field: String,
}

fn text_field() -> String {
    "text".into()
}

/// The encodings datamap-rs's `token_count_annotator` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum TiktokenName {
    /// `cl100k_base` (GPT-4).
    #[serde(rename = "cl100k")]
    Cl100k,
    /// `p50k_base` (Codex).
    #[serde(rename = "p50k")]
    P50k,
}

impl TiktokenName {
    /// Tokens of `text` as datamap-rs counts them: `encode_with_special_tokens`, so
    /// `<|endoftext|>` in a text is one token.
    fn count(self, text: &str) -> usize {
        let bpe = match self {
            TiktokenName::Cl100k => tiktoken_rs::cl100k_base_singleton(),
            TiktokenName::P50k => tiktoken_rs::p50k_base_singleton(),
        };
        bpe.encode_with_special_tokens(text).len()
    }
}

/// A step, compiled.
#[derive(Debug, Clone)]
enum Op {
    Ratio {
        upper_bound: f32,
        check: Check,
    },
    Regex {
        regex: Regex,
    },
    LineLen {
        lower_bound: usize,
    },
    Substring {
        regex: Regex,
        max_len: Option<usize>,
        remove_substring_only: bool,
        location: Location,
    },
    Newline {
        max_consecutive: usize,
        run: Regex,
    },
    WordCount {
        slot: usize,
    },
    Removal {
        slot: usize,
        upper_bound: f32,
    },
    PageLen {
        length_type: LengthType,
        lower_bound: usize,
        upper_bound: usize,
        ignore_punctuation: bool,
    },
    WordLen {
        lower_bound: f32,
        upper_bound: f32,
    },
    /// A filter that drops a document whose `measure` exceeds `max` (the symbol, bullet and
    /// ellipsis ratios).
    AtMost {
        measure: fn(&str) -> f32,
        max: f32,
    },
    Alphabetic {
        max: f32,
    },
    StopWords {
        count_unique: bool,
        min: usize,
    },
    MassiveWeb,
    Gzip,
    TokenCount(TiktokenName),
    /// Its files are read when the tagger is built.
    Ufw {
        tokenizer_path: String,
        fast_text_file: String,
        max_text_length: usize,
        loaded: Option<std::sync::Arc<ufw::Ufw>>,
    },
    /// Its list is read when the tagger is built (`DatamapV1::new`), not when configs are
    /// checked.
    Url {
        cfg: Box<crate::urlban::UrlBanConfig>,
        ban: Option<std::sync::Arc<crate::urlban::UrlBan>>,
    },
}

#[derive(Debug, Clone)]
struct Step {
    label: String,
    space_label: Option<String>,
    op: Op,
}

/// A `datamap_v1` config that cannot be used: every problem, each with its field path below
/// `tagger_options.datamap_v1`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("tagger `datamap_v1`: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct DatamapConfigError {
    /// The problems.
    pub problems: Vec<ConfigProblem>,
}

/// Kwargs Dolma 3's config gives that datamap-rs never reads, with why they are refused.
fn ignored_kwarg(step: StepName, key: &str) -> Option<&'static str> {
    match (step, key) {
        (StepName::RegexLineModifier, "regex_string") => Some(
            "datamap-rs reads `regex`, not `regex_string`: it ignored this key (Dolma 3's config has it) and ran the default counter regex; write `regex`, or leave it out to do what Dolma 3 did",
        ),
        (StepName::SubstringLineModifier, "max_length") => Some(
            "datamap-rs reads `max_len`, not `max_length`: it ignored this key (Dolma 3's config has it) and edited lines of any length; write `max_len`, or leave it out to do what Dolma 3 did",
        ),
        // datamap-rs's token counter requires the key: `text` is accepted there.
        (StepName::TokenCountAnnotator, "text_field") => None,
        (_, "text_field") => Some(
            "loam's documents keep their text in `text`; datamap-rs's `text_field` is not an option here",
        ),
        _ => None,
    }
}

fn parse_kwargs<T: serde::de::DeserializeOwned>(
    name: StepName,
    kwargs: &Value,
    at: &str,
    problems: &mut Problems,
) -> Option<T> {
    let mut kwargs = kwargs.clone();
    if kwargs.is_null() {
        kwargs = empty_object();
    }
    if let Some(map) = kwargs.as_object_mut() {
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            if let Some(why) = ignored_kwarg(name, &k) {
                problems.push(join(at, &k), why);
                map.remove(&k);
            }
        }
    }
    match loam_pipeline::config::from_value::<T>(&kwargs) {
        Ok(t) => Some(t),
        Err(ps) => {
            for p in ps {
                let path = if p.path.is_empty() {
                    at.to_string()
                } else {
                    join(at, &p.path)
                };
                problems.push(path, p.message);
            }
            None
        }
    }
}

fn compile_regex(pattern: &str, at: &str, problems: &mut Problems) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(at, format!("not a valid regex: {e}"));
            None
        }
    }
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && !label.contains("__")
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The compiled steps of a `datamap_v1` config.
fn compile(steps: &[StepSpec], at: &str, problems: &mut Problems) -> Vec<Step> {
    let mut out = Vec::new();
    let steps_at = join(at, "steps");
    if steps.is_empty() {
        problems.push(&steps_at, "no steps given; `datamap_v1` would do nothing");
    }
    let mut signals: Vec<String> = vec![KEPT.to_string()];
    let mut counted: Vec<String> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let sat = index(&steps_at, i);
        let kat = join(&sat, "kwargs");
        if !valid_label(&s.label) {
            problems.push(
                join(&sat, "label"),
                format!(
                    "label `{}` must be letters, digits, `_` or `-`, without `__` (it names the signal)",
                    s.label
                ),
            );
        }
        let mut own = vec![s.label.clone()];
        let space = s.name == StepName::SubstringLineModifier;
        if space {
            own.push(format!("{}{SPACE_SUFFIX}", s.label));
        }
        for o in &own {
            if signals.contains(o) {
                problems.push(
                    join(&sat, "label"),
                    format!("label `{}` gives signal `{o}`, which another step (or `kept`) already writes", s.label),
                );
            }
        }
        signals.extend(own);
        let n = s.name;
        let op = match n {
            StepName::RatioLineModifier => parse_kwargs::<RatioKw>(n, &s.kwargs, &kat, problems)
                .map(|k| Op::Ratio {
                    upper_bound: k.upper_bound as f32,
                    check: k.check,
                }),
            StepName::RegexLineModifier => parse_kwargs::<RegexKw>(n, &s.kwargs, &kat, problems)
                .and_then(|k| {
                    let pat = k.regex.unwrap_or_else(|| COUNTER_REGEX.to_string());
                    compile_regex(&pat, &join(&kat, "regex"), problems)
                })
                .map(|regex| Op::Regex { regex }),
            StepName::LineLenModifier => parse_kwargs::<LineLenKw>(n, &s.kwargs, &kat, problems)
                .map(|k| Op::LineLen {
                    lower_bound: k.lower_bound,
                }),
            StepName::SubstringLineModifier => {
                parse_kwargs::<SubstringKw>(n, &s.kwargs, &kat, problems).and_then(|k| {
                    let pattern = match k.location {
                        Location::Prefix => format!(r"^(?:{})\s?", k.banlist),
                        Location::Suffix => format!(r"\s?(?:{})$", k.banlist),
                        Location::Any => format!(r"\s?(?:{})\s?", k.banlist),
                    };
                    let bat = join(&kat, "banlist");
                    let regex = compile_regex(&pattern, &bat, problems)?;
                    // A match of nothing replaced by a space would insert text, which no span
                    // of the original text can say.
                    if k.location == Location::Any && k.remove_substring_only && min_len(&pattern) == Some(0) {
                        problems.push(
                            bat,
                            "this banlist regex can match the empty string; with `location: any` datamap-rs would insert a space there, which spans cannot express",
                        );
                        return None;
                    }
                    Some(Op::Substring {
                        regex,
                        max_len: k.max_len,
                        remove_substring_only: k.remove_substring_only,
                        location: k.location,
                    })
                })
            }
            StepName::NewlineRemovalModifier => {
                parse_kwargs::<NewlineKw>(n, &s.kwargs, &kat, problems).and_then(|k| {
                    let pat = format!(r"\n{{{},}}", k.max_consecutive + 1);
                    compile_regex(&pat, &join(&kat, "max_consecutive"), problems).map(|run| {
                        Op::Newline {
                            max_consecutive: k.max_consecutive,
                            run,
                        }
                    })
                })
            }
            StepName::WordCountAdder => parse_kwargs::<WordCountKw>(n, &s.kwargs, &kat, problems)
                .map(|k| {
                    let slot = match counted.iter().position(|f| *f == k.word_count_field) {
                        Some(p) => p,
                        None => {
                            counted.push(k.word_count_field);
                            counted.len() - 1
                        }
                    };
                    Op::WordCount { slot }
                }),
            StepName::WordRemovalRatioFilter => {
                parse_kwargs::<RemovalKw>(n, &s.kwargs, &kat, problems).and_then(|k| match counted
                    .iter()
                    .position(|f| *f == k.word_count_field)
                {
                    Some(slot) => Some(Op::Removal {
                        slot,
                        upper_bound: k.upper_bound as f32,
                    }),
                    None => {
                        problems.push(
                            join(&kat, "word_count_field"),
                            format!(
                                "no earlier `word_count_adder` step records `{}`",
                                k.word_count_field
                            ),
                        );
                        None
                    }
                })
            }
            StepName::PageLenFilter => {
                parse_kwargs::<PageLenKw>(n, &s.kwargs, &kat, problems).map(|k| Op::PageLen {
                    length_type: k.length_type,
                    lower_bound: k.lower_bound,
                    upper_bound: k.upper_bound.unwrap_or(usize::MAX),
                    ignore_punctuation: k.ignore_punctuation,
                })
            }
            StepName::UrlSubstringFilter => parse_kwargs::<crate::urlban::UrlBanConfig>(
                n, &s.kwargs, &kat, problems,
            )
            .map(|cfg| Op::Url {
                cfg: Box::new(cfg),
                ban: None,
            }),
            StepName::SymbolRatioFilter => {
                parse_kwargs::<SymbolRatioKw>(n, &s.kwargs, &kat, problems).map(|k| Op::AtMost {
                    measure: filters::symbol_ratio,
                    max: k.max_symbol_to_word_ratio as f32,
                })
            }
            StepName::BulletFilter => {
                parse_kwargs::<BulletKw>(n, &s.kwargs, &kat, problems).map(|k| Op::AtMost {
                    measure: filters::bullet_ratio,
                    max: k.max_bullet_ratio as f32,
                })
            }
            StepName::EllipsisLineRatioFilter => {
                parse_kwargs::<MaxRatioKw>(n, &s.kwargs, &kat, problems).map(|k| Op::AtMost {
                    measure: filters::ellipsis_ratio,
                    max: k.max_ratio as f32,
                })
            }
            StepName::AlphabeticWordRatioFilter => {
                parse_kwargs::<MaxRatioKw>(n, &s.kwargs, &kat, problems).map(|k| Op::Alphabetic {
                    max: k.max_ratio as f32,
                })
            }
            StepName::StopWordFilter => parse_kwargs::<StopWordKw>(n, &s.kwargs, &kat, problems)
                .map(|k| Op::StopWords {
                    count_unique: k.count_unique,
                    min: k.min_stop_word,
                }),
            StepName::MassiveWebRepetitionFilter => {
                parse_kwargs::<NoKw>(n, &s.kwargs, &kat, problems).map(|_| Op::MassiveWeb)
            }
            StepName::GzipAnnotator => {
                parse_kwargs::<AnnoKw>(n, &s.kwargs, &kat, problems).map(|_| Op::Gzip)
            }
            StepName::TokenCountAnnotator => {
                parse_kwargs::<TokenCountKw>(n, &s.kwargs, &kat, problems).and_then(|k| {
                    // The steps edit and judge the document's text; another field is not
                    // what they see.
                    if k.text_field != "text" {
                        problems.push(
                            join(&kat, "text_field"),
                            format!("`{}`: only `text` is counted", k.text_field),
                        );
                        return None;
                    }
                    Some(Op::TokenCount(k.tokenizer_name))
                })
            }
            StepName::UltrafinewebAnnotator => parse_kwargs::<UfwKw>(n, &s.kwargs, &kat, problems)
                .map(|k| Op::Ufw {
                    tokenizer_path: k.tokenizer_path,
                    fast_text_file: k.fast_text_file,
                    max_text_length: k.max_text_length,
                    loaded: None,
                }),
            StepName::WordLenFilter => {
                parse_kwargs::<WordLenKw>(n, &s.kwargs, &kat, problems).map(|k| Op::WordLen {
                    lower_bound: k.lower_bound as f32,
                    upper_bound: k.upper_bound as f32,
                })
            }
        };
        if let Some(op) = op {
            out.push(Step {
                label: s.label.clone(),
                space_label: space.then(|| format!("{}{SPACE_SUFFIX}", s.label)),
                op,
            });
        }
    }
    out
}

/// The shortest match of a regex, in bytes (`None` if it cannot be parsed).
fn min_len(pattern: &str) -> Option<usize> {
    regex_syntax::Parser::new()
        .parse(pattern)
        .ok()
        .and_then(|h| h.properties().minimum_len())
}

/// The list files the steps read (`url_substring_filter`'s `banlist_file`), for manifests and
/// the checks that resources exist.
pub fn list_files(steps: &[StepSpec]) -> Vec<std::path::PathBuf> {
    let file = |s: &StepSpec, key: &str, default: fn() -> String| {
        s.kwargs
            .get(key)
            .and_then(Value::as_str)
            .map_or_else(default, str::to_string)
            .into()
    };
    let mut v = Vec::new();
    for s in steps {
        match s.name {
            StepName::UrlSubstringFilter => v.extend(
                s.kwargs
                    .get("banlist_file")
                    .and_then(Value::as_str)
                    .map(Into::into),
            ),
            StepName::UltrafinewebAnnotator => {
                v.push(file(s, "tokenizer_path", ufw_tokenizer));
                v.push(file(s, "fast_text_file", ufw_model));
            }
            _ => {}
        }
    }
    v
}

/// Checks `tagger_options.datamap_v1` (`at` is its field path): every step's kwargs by its
/// name, labels, references between steps. Shared by both config front ends.
pub fn check(steps: Option<&[StepSpec]>, at: &str, problems: &mut Problems) {
    match steps {
        Some(steps) => {
            compile(steps, at, problems);
        }
        None => problems.push(
            join(at, "steps"),
            "`datamap_v1` needs its `steps` (the datamap-rs steps to run)",
        ),
    }
}

/// The `datamap_v1` tagger: a list of datamap-rs steps, compiled.
#[derive(Debug, Clone)]
pub struct DatamapV1 {
    steps: Vec<Step>,
    bugs: DatamapBugs,
    counts: usize,
}

/// One edit of the current text, in its bytes: removed, or replaced by one space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    space: bool,
}

/// What a step did.
enum Outcome {
    /// Edited the text (possibly not at all).
    Edits(Vec<Edit>),
    /// Dropped the document.
    Drop,
    /// Computed a value; `pass` is false when it drops the document.
    Value { value: f64, pass: bool },
    /// Computed named values (signals `<label>_<name>`); the document stays.
    Values(Vec<(String, f64)>),
}

/// What became of a piece of the original text (byte range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kept,
    /// Removed by step `k`.
    Removed(usize),
    /// Replaced by one space by step `k`.
    Replaced(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    start: usize,
    end: usize,
    kind: Kind,
}

impl Seg {
    fn width(&self) -> usize {
        match self.kind {
            Kind::Kept => self.end - self.start,
            Kind::Replaced(_) => 1,
            Kind::Removed(_) => 0,
        }
    }
}

/// Applies one step's edits (sorted, disjoint, non-empty, in the current text's bytes) to the
/// segments of the original text. An edit absorbs the earlier removals and replacements
/// strictly inside it.
fn apply(segs: &[Seg], edits: &[Edit], step: usize) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(segs.len() + 2 * edits.len());
    let mut ei = 0;
    let mut cur = 0usize;
    // The edit being absorbed: its original start and end so far.
    let mut open: Option<(usize, usize)> = None;
    let close = |out: &mut Vec<Seg>, o: (usize, usize), e: &Edit| {
        out.push(Seg {
            start: o.0,
            end: o.1,
            kind: if e.space {
                Kind::Replaced(step)
            } else {
                Kind::Removed(step)
            },
        })
    };
    for seg in segs {
        let w = seg.width();
        if w == 0 {
            match open.as_mut() {
                Some(o) => o.1 = seg.end,
                None => out.push(*seg),
            }
            continue;
        }
        let (c0, c1) = (cur, cur + w);
        // Original offset of current offset `p` inside this segment (start side).
        let orig = |p: usize| match seg.kind {
            Kind::Kept => seg.start + (p - c0),
            _ => {
                if p == c0 {
                    seg.start
                } else {
                    seg.end
                }
            }
        };
        let mut pos = c0;
        while pos < c1 {
            if let Some(o) = open.as_mut() {
                let e = edits[ei];
                let to = e.end.min(c1);
                o.1 = orig(to);
                pos = to;
                if to == e.end {
                    let done = *o;
                    open = None;
                    close(&mut out, done, &e);
                    ei += 1;
                }
            } else if ei < edits.len() && edits[ei].start < c1 {
                let st = edits[ei].start.max(pos);
                if st > pos {
                    out.push(Seg {
                        start: orig(pos),
                        end: orig(st),
                        kind: seg.kind,
                    });
                    pos = st;
                }
                open = Some((orig(pos), orig(pos)));
            } else {
                if pos == c0 {
                    out.push(*seg);
                } else {
                    out.push(Seg {
                        start: orig(pos),
                        end: seg.end,
                        kind: seg.kind,
                    });
                }
                pos = c1;
            }
        }
        cur = c1;
    }
    if let (Some(o), Some(e)) = (open, edits.get(ei)) {
        close(&mut out, o, e);
    }
    out
}

/// The current text: the kept pieces of `original`, a space for each replaced piece.
fn render(original: &str, segs: &[Seg], buf: &mut String) {
    buf.clear();
    for s in segs {
        match s.kind {
            Kind::Kept => buf.push_str(&original[s.start..s.end]),
            Kind::Replaced(_) => buf.push(' '),
            Kind::Removed(_) => {}
        }
    }
}

/// Byte ranges of `text.split('\n')`.
fn split_lines(text: &str) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        v.push((start, nl));
        start = nl + 1;
    }
    v.push((start, text.len()));
    v
}

/// The edits that turn `lines` (consecutive pieces of `split('\n')`) into the `\n`-join of
/// the kept ones: a removed line before the last kept one goes with its following `\n`, one
/// after it with its preceding `\n`.
fn line_removals(lines: &[(usize, usize)], keep: &[bool], out: &mut Vec<Edit>) {
    let last_kept = keep.iter().rposition(|k| *k);
    let n = lines.len();
    for (i, (&(s, e), &k)) in lines.iter().zip(keep).enumerate() {
        if k {
            continue;
        }
        let (s, e) = match last_kept {
            Some(lk) if i > lk => (s - 1, e),
            _ if i + 1 < n => (s, e + 1),
            _ => (s, e),
        };
        if e > s {
            out.push(Edit {
                start: s,
                end: e,
                space: false,
            });
        }
    }
}

/// The edits sorted by position (they are disjoint).
fn sorted(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits
}

mod filters;
mod ufw;

fn unicode_words(s: &str) -> usize {
    s.unicode_words().count()
}

/// Whether `s` has at least `n` Unicode words: `unicode_words(s) >= n`, without segmenting
/// past the `n`-th word (most lines have many).
fn has_words(s: &str, n: usize) -> bool {
    s.unicode_words().take(n).count() >= n
}

impl DatamapV1 {
    /// Compiles the steps; every problem is reported, with field paths below `at`.
    pub fn new(
        steps: &[StepSpec],
        bugs: DatamapBugs,
        at: &str,
    ) -> Result<DatamapV1, DatamapConfigError> {
        let mut problems = Problems::default();
        let mut compiled = compile(steps, at, &mut problems);
        if problems.is_empty() {
            // Every step compiled, so `compiled[i]` is `steps[i]`.
            for (i, step) in compiled.iter_mut().enumerate() {
                if let Op::Ufw {
                    tokenizer_path,
                    fast_text_file,
                    max_text_length,
                    loaded,
                } = &mut step.op
                {
                    match ufw::Ufw::load(
                        Path::new(tokenizer_path),
                        Path::new(fast_text_file),
                        *max_text_length,
                    ) {
                        Ok(u) => *loaded = Some(std::sync::Arc::new(u)),
                        Err(e) => problems.push(
                            join(&join(&index(&join(at, "steps"), i), "kwargs"), e.kwarg),
                            e.message,
                        ),
                    }
                }
                if let Op::Url { cfg, ban } = &mut step.op {
                    match crate::urlban::UrlBan::load(cfg, bugs.url) {
                        Ok(b) => *ban = Some(std::sync::Arc::new(b)),
                        Err(e) => problems.push(
                            join(
                                &join(&index(&join(at, "steps"), i), "kwargs"),
                                "banlist_file",
                            ),
                            e.to_string(),
                        ),
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(DatamapConfigError {
                problems: problems.into_vec(),
            });
        }
        let counts = compiled
            .iter()
            .filter_map(|s| match s.op {
                Op::WordCount { slot } => Some(slot + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Ok(DatamapV1 {
            steps: compiled,
            bugs,
            counts,
        })
    }

    fn run_step(&self, op: &Op, text: &str, counts: &mut [usize]) -> Outcome {
        match op {
            Op::Ratio { upper_bound, check } => {
                let lines = split_lines(text);
                let keep: Vec<bool> = lines
                    .iter()
                    .map(|&(s, e)| {
                        let line = &text[s..e];
                        if line.is_empty() {
                            return true;
                        }
                        let len = if self.bugs.ratio_bytes {
                            line.len()
                        } else {
                            line.chars().count()
                        };
                        let count = match check {
                            Check::Uppercase => line.chars().filter(|c| c.is_uppercase()).count(),
                            Check::Numeric => line.chars().filter(|c| c.is_ascii_digit()).count(),
                        };
                        (count as f32) / (len.max(1) as f32) <= *upper_bound
                    })
                    .collect();
                let mut edits = Vec::new();
                line_removals(&lines, &keep, &mut edits);
                Outcome::Edits(edits)
            }
            Op::Regex { regex } => {
                let lines = split_lines(text);
                let keep: Vec<bool> = lines
                    .iter()
                    .map(|&(s, e)| !regex.is_match(&text[s..e].to_lowercase()))
                    .collect();
                if !keep.iter().any(|k| *k) {
                    return Outcome::Drop;
                }
                let mut edits = Vec::new();
                line_removals(&lines, &keep, &mut edits);
                Outcome::Edits(edits)
            }
            Op::LineLen { lower_bound } => {
                let lines = split_lines(text);
                let keep: Vec<bool> = lines
                    .iter()
                    .map(|&(s, e)| s == e || has_words(&text[s..e], *lower_bound))
                    .collect();
                if !lines.iter().zip(&keep).any(|(&(s, e), &k)| k && e > s) {
                    return Outcome::Drop;
                }
                let mut edits = Vec::new();
                line_removals(&lines, &keep, &mut edits);
                Outcome::Edits(edits)
            }
            Op::Substring {
                regex,
                max_len,
                remove_substring_only,
                location,
            } => self.substring(
                text,
                regex,
                *max_len,
                *remove_substring_only,
                *location == Location::Any,
            ),
            Op::Newline {
                max_consecutive,
                run,
            } => Outcome::Edits(
                run.find_iter(text)
                    .map(|m| Edit {
                        start: m.start() + max_consecutive,
                        end: m.end(),
                        space: false,
                    })
                    .collect(),
            ),
            Op::WordCount { slot } => {
                let n = unicode_words(text);
                counts[*slot] = n;
                Outcome::Value {
                    value: n as f64,
                    pass: true,
                }
            }
            Op::Removal { slot, upper_bound } => {
                let old = counts[*slot];
                let cur = unicode_words(text);
                let removed = if self.bugs.removal_ratio_unsigned {
                    old.wrapping_sub(cur) as f32
                } else {
                    (old as i64 - cur as i64) as f32
                };
                let ratio = removed / old as f32;
                Outcome::Value {
                    value: ratio as f64,
                    pass: ratio <= *upper_bound,
                }
            }
            Op::PageLen {
                length_type,
                lower_bound,
                upper_bound,
                ignore_punctuation,
            } => {
                let len = page_len(text, *length_type, *ignore_punctuation);
                Outcome::Value {
                    value: len as f64,
                    pass: *lower_bound <= len && len <= *upper_bound,
                }
            }
            Op::WordLen {
                lower_bound,
                upper_bound,
            } => {
                let (mut sum, mut n) = (0usize, 0usize);
                for w in text.split_whitespace() {
                    sum += if self.bugs.word_len_bytes {
                        w.len()
                    } else {
                        w.chars().count()
                    };
                    n += 1;
                }
                let avg = sum as f32 / n as f32;
                Outcome::Value {
                    value: avg as f64,
                    pass: *lower_bound <= avg && avg <= *upper_bound,
                }
            }
            Op::AtMost { measure, max } => {
                let ratio = measure(text);
                Outcome::Value {
                    value: f64::from(ratio),
                    pass: ratio <= *max,
                }
            }
            Op::Alphabetic { max } => {
                let (ratio, words) = filters::non_alphabetic_ratio(text);
                Outcome::Value {
                    value: f64::from(ratio),
                    // datamap-rs drops a one-word text whatever the ratio (and an empty one:
                    // 0/0 is NaN, never ≤ the bound).
                    pass: words != 1 && ratio <= *max,
                }
            }
            Op::StopWords { count_unique, min } => {
                let n = filters::stop_words(text, *count_unique, *min);
                Outcome::Value {
                    value: n as f64,
                    pass: *min == 0 || n >= *min,
                }
            }
            Op::MassiveWeb => {
                let (worst, pass) = filters::massive_web(text);
                Outcome::Value {
                    value: f64::from(worst),
                    pass,
                }
            }
            Op::Gzip => Outcome::Value {
                value: filters::gzip_ratio(text),
                pass: true,
            },
            Op::TokenCount(name) => Outcome::Value {
                value: name.count(text) as f64,
                pass: true,
            },
            Op::Ufw { loaded, .. } => match loaded.as_ref().map(|u| u.annotate(text)) {
                Some(Some(values)) => Outcome::Values(values),
                Some(None) => Outcome::Drop,
                // Not built through `DatamapV1::new`: nothing loaded, nothing to say.
                None => Outcome::Values(Vec::new()),
            },
            // `tag` runs a loaded filter on the document; a filter whose list was never read
            // (not built through `DatamapV1::new`) cannot judge.
            Op::Url { .. } => Outcome::Value {
                value: f64::NAN,
                pass: true,
            },
        }
    }

    /// `substring_line_modifier` on `str::lines`: a `\r` before each `\n` goes, a final `\n`
    /// goes, then lines as configured.
    fn substring(
        &self,
        text: &str,
        regex: &Regex,
        max_len: Option<usize>,
        remove_substring_only: bool,
        any: bool,
    ) -> Outcome {
        let pieces = split_lines(text);
        let n = pieces.len();
        let mut keep = vec![true; n];
        let mut edits = Vec::new();
        for (i, &(s, e)) in pieces.iter().enumerate() {
            // `str::lines` has no line after a final `\n`: an empty piece the join drops.
            if i + 1 == n && i > 0 && s == e {
                keep[i] = false;
                continue;
            }
            let mut ce = e;
            if i + 1 < n && text.as_bytes()[..e].last() == Some(&b'\r') && e > s {
                ce = e - 1;
            }
            let line = &text[s..ce];
            let kept = if line.is_empty()
                || max_len.is_some_and(|m| has_words(line, m.saturating_add(1)))
            {
                true
            } else if remove_substring_only {
                let mut cleaned_blank = true;
                let mut last = 0;
                let mut line_edits = Vec::new();
                for m in regex.find_iter(line) {
                    if !line[last..m.start()].trim().is_empty() {
                        cleaned_blank = false;
                    }
                    last = m.end();
                    if m.end() > m.start() {
                        line_edits.push(Edit {
                            start: s + m.start(),
                            end: s + m.end(),
                            space: any,
                        });
                    }
                }
                if !line[last..].trim().is_empty() {
                    cleaned_blank = false;
                }
                if cleaned_blank {
                    false
                } else {
                    edits.extend(line_edits);
                    true
                }
            } else {
                !regex.is_match(line)
            };
            keep[i] = kept;
            if kept && ce < e {
                edits.push(Edit {
                    start: ce,
                    end: e,
                    space: false,
                });
            }
        }
        line_removals(&pieces, &keep, &mut edits);
        Outcome::Edits(sorted(edits))
    }
}

/// `page_len_filter`'s length (datamap-rs `PageLenFilter::calculate_length`).
fn page_len(text: &str, t: LengthType, ignore_punctuation: bool) -> usize {
    match t {
        LengthType::Word => {
            if text.is_ascii() {
                let (mut count, mut in_word) = (0, false);
                for &b in text.as_bytes() {
                    if b.is_ascii_alphanumeric() {
                        if !in_word {
                            count += 1;
                            in_word = true;
                        }
                    } else {
                        in_word = false;
                        if !ignore_punctuation && b.is_ascii_punctuation() {
                            count += 1;
                        }
                    }
                }
                count
            } else if ignore_punctuation {
                text.unicode_words().count()
            } else {
                text.split_word_bounds()
                    .filter(|s| !s.trim().is_empty())
                    .count()
            }
        }
        LengthType::Char => {
            if ignore_punctuation {
                text.chars().filter(|c| c.is_alphanumeric()).count()
            } else {
                text.chars().count()
            }
        }
        LengthType::Line => text.lines().count(),
        LengthType::Sentence => text
            .chars()
            .filter(|c| matches!(c, '.' | '!' | '?'))
            .count()
            .max(1),
        LengthType::Paragraph => text
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .count()
            .max(1),
    }
}

/// Code-point offsets of sorted byte offsets of `text`.
fn char_offsets(text: &str, bytes: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut b, mut c) = (0usize, 0usize);
    let mut chars = text.char_indices().peekable();
    for &target in bytes {
        while b < target {
            match chars.next() {
                Some((_, ch)) => {
                    b += ch.len_utf8();
                    c += 1;
                }
                None => break,
            }
        }
        out.push(c);
    }
    out
}

/// `url_substring_filter`'s value: 0 kept; the matches when banned; -1 when the document has
/// no URL and -2 when a host mode finds no host in it — both dropped, as datamap-rs drops a
/// document without a URL (and fails on a URL it cannot parse).
fn url_outcome(ban: &crate::urlban::UrlBan, doc: &Document) -> Outcome {
    use crate::urlban::UrlVerdict;
    let (value, pass) = match ban.check(doc) {
        UrlVerdict::Kept => (0.0, true),
        UrlVerdict::Banned(n) => (n as f64, false),
        UrlVerdict::MissingUrl => (-1.0, false),
        UrlVerdict::NoHost => (-2.0, false),
    };
    Outcome::Value { value, pass }
}

impl Tagger for DatamapV1 {
    fn name(&self) -> &str {
        NAME
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let original = doc.text.as_str();
        let mut segs = vec![Seg {
            start: 0,
            end: original.len(),
            kind: Kind::Kept,
        }];
        let mut text = original.to_string();
        let mut counts = vec![0usize; self.counts];
        let mut values: Vec<(usize, f64)> = Vec::new();
        let mut named: Vec<(usize, String, f64)> = Vec::new();
        let mut kept = true;
        let mut edited = false;
        for (k, step) in self.steps.iter().enumerate() {
            if edited {
                render(original, &segs, &mut text);
                edited = false;
            }
            let outcome = match &step.op {
                Op::Url { ban: Some(ban), .. } => url_outcome(ban, doc),
                op => self.run_step(op, &text, &mut counts),
            };
            match outcome {
                Outcome::Edits(edits) => {
                    if !edits.is_empty() {
                        segs = apply(&segs, &edits, k);
                        edited = true;
                    }
                }
                Outcome::Drop => {
                    kept = false;
                    break;
                }
                Outcome::Value { value, pass } => {
                    values.push((k, value));
                    if !pass {
                        kept = false;
                        break;
                    }
                }
                Outcome::Values(v) => named.extend(v.into_iter().map(|(n, x)| (k, n, x))),
            }
        }
        // Spans, in code points of the original text.
        let mut bounds: Vec<usize> = Vec::new();
        for s in &segs {
            if s.kind != Kind::Kept {
                bounds.push(s.start);
                bounds.push(s.end);
            }
        }
        bounds.push(original.len());
        let chars = char_offsets(original, &bounds);
        let total = chars[chars.len() - 1];
        let mut per_step: Vec<Vec<Span>> = vec![Vec::new(); self.steps.len()];
        let mut per_step_space: Vec<Vec<Span>> = vec![Vec::new(); self.steps.len()];
        let mut j = 0;
        for s in &segs {
            match s.kind {
                Kind::Kept => continue,
                Kind::Removed(k) => per_step[k].push(Span::new(chars[j], chars[j + 1], 1.0)),
                Kind::Replaced(k) => per_step_space[k].push(Span::new(chars[j], chars[j + 1], 1.0)),
            }
            j += 2;
        }
        for (k, step) in self.steps.iter().enumerate() {
            let is_modifier = matches!(
                step.op,
                Op::Ratio { .. }
                    | Op::Regex { .. }
                    | Op::LineLen { .. }
                    | Op::Substring { .. }
                    | Op::Newline { .. }
            );
            if is_modifier {
                out.set(&step.label, std::mem::take(&mut per_step[k]));
                if let Some(sl) = &step.space_label {
                    out.set(sl, std::mem::take(&mut per_step_space[k]));
                }
            }
        }
        for (k, v) in values {
            if v.is_finite() {
                out.set(&self.steps[k].label, vec![Span::new(0, total, v)]);
            }
        }
        for (k, name, v) in named {
            if v.is_finite() {
                let signal = format!("{}_{name}", self.steps[k].label);
                out.set(&signal, vec![Span::new(0, total, v)]);
            }
        }
        out.set(
            KEPT,
            vec![Span::new(0, total, if kept { 1.0 } else { 0.0 })],
        );
        Ok(())
    }
}
