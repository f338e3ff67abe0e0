//! Built-in taggers by their dolma names.

use crate::c4::C4Tagger;
use crate::code::{CodeCopyrightCommentsV1, CodeRedPajamaTaggersV1};
use crate::fineweb::FineWebQualityV1;
use crate::gopher::GopherTagger;
use crate::length::{
    BytesLengthV1, CharLengthStripWsV1, CharLengthV1, CharLengthWithParagraphsV1, DocCountV1,
    OlmoPreTokenizerV1, OlmoPreTokenizerWithParagraphsV1, UnisegLengthV1, UnisegParagraphs,
    UnisegParagraphsTagger, WhitespaceTokenizerV1, WhitespaceTokenizerWithParagraphsV1,
};
use crate::pii::{FastPiiRegexTagger, PiiCompat, PiiRegexTagger};
use crate::punctuation::NotAlphanumParagraphV1;
use crate::repetitions::{ParagraphRepetitionsV1, RepetitionsV1};
use crate::sampling::RandomNumberV1;
use loam_pipeline::tagger::Tagger;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A tagger name that is not built in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tagger `{name}`; known taggers: {}", known.join(", "))]
pub struct UnknownTagger {
    /// The name asked for.
    pub name: String,
    /// Every built-in name.
    pub known: Vec<&'static str>,
}

/// Why a tagger could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Not a built-in name.
    #[error(transparent)]
    Unknown(#[from] UnknownTagger),
    /// A language-ID tagger whose model is missing or unreadable.
    #[error(transparent)]
    Model(#[from] crate::langid::LangIdError),
    /// A URL tagger whose list is missing, unreadable or empty.
    #[error(transparent)]
    UrlList(#[from] crate::url::UrlListError),
    /// A token-repetition tagger whose tokenizer is missing or unreadable.
    #[error(transparent)]
    Tokenizer(#[from] crate::tokrep::TokenizerError),
    /// The MADLAD-400 tagger's cursed list is missing or bad.
    #[error(transparent)]
    CursedList(#[from] crate::madlad::CursedListError),
    /// A tagger whose code this build leaves out (a cargo feature).
    #[error("tagger `{tagger}` is not in this build of loam: rebuild with the cargo feature `{feature}` (on by default; `cargo install --path .` has it)")]
    NotBuilt {
        /// The tagger.
        tagger: String,
        /// The feature.
        feature: &'static str,
    },
    /// A token-count tagger whose tokenizer is missing or unreadable.
    #[error(transparent)]
    TokenCount(#[from] crate::tokcount::TokenCountError),
    /// One of dolma's fastText classifier taggers whose model or sentence splitter is
    /// missing or unusable.
    #[error(transparent)]
    FastText(#[from] crate::dolma_ft::FastTextTaggerError),
    /// `datamap_v1` without steps, or with steps that are not valid.
    #[error(transparent)]
    Datamap(#[from] crate::datamap::DatamapConfigError),
    /// Options given to a tagger that takes none (or not these).
    #[error("tagger `{tagger}` takes no option `{option}`")]
    Option {
        /// The tagger.
        tagger: String,
        /// The option.
        option: &'static str,
    },
}

/// Per-tagger options of a tag config (`tagger_options: {<tagger>: {...}}`, a loam
/// extension). Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaggerOptions {
    /// The list files of a URL tagger (`blocklist_*`, `allowlist_wikidata*`, …), instead of
    /// dolma's default files under `$LOAM_MODELS_DIR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<PathBuf>>,
    /// The `tokenizer.json` of a token-repetition tagger (`tokenizer_repetitions_*`),
    /// instead of dolma's tokenizer under `$LOAM_MODELS_DIR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
    /// The cursed list of `madlad400_sentences_v1`, instead of
    /// `$LOAM_MODELS_DIR/madlad400_cursed.txt.gz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursed: Option<PathBuf>,
    /// The datamap-rs steps `datamap_v1` runs, in order (`{name, label, kwargs}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<crate::datamap::StepSpec>>,
    /// Which of datamap-rs's byte-for-character behaviours `datamap_v1` reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datamap_bugs: Option<crate::datamap::DatamapBugs>,
    /// The fastText model of one of dolma's classifier taggers (`jigsaw_*`,
    /// `dolma17-quality`, `dclm-oh-eli5`), instead of its default path under
    /// `$LOAM_MODELS_DIR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// blingfire's library for the jigsaw sentence taggers, instead of
    /// `$LOAM_MODELS_DIR/blingfire/libblingfiretokdll.so`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_splitter: Option<PathBuf>,
}

impl TaggerOptions {
    /// Every option name set.
    pub fn names_set(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.lists.is_some() {
            v.push("lists");
        }
        if self.tokenizer.is_some() {
            v.push("tokenizer");
        }
        if self.cursed.is_some() {
            v.push("cursed");
        }
        if self.steps.is_some() {
            v.push("steps");
        }
        if self.datamap_bugs.is_some() {
            v.push("datamap_bugs");
        }
        if self.model.is_some() {
            v.push("model");
        }
        if self.sentence_splitter.is_some() {
            v.push("sentence_splitter");
        }
        v
    }
}

/// Whether `tagger` accepts `option` (for config checks before anything is built).
pub fn accepts_option(tagger: &str, option: &str) -> bool {
    match option {
        "lists" => crate::url::lookup(tagger).is_some() || crate::abp::files(tagger).is_some(),
        "tokenizer" => {
            crate::tokrep::NAMES.contains(&tagger) || crate::tokcount::NAMES.contains(&tagger)
        }
        "cursed" => tagger == crate::madlad::NAME,
        "steps" | "datamap_bugs" => tagger == crate::datamap::NAME,
        "model" => crate::dolma_ft::NAMES.contains(&tagger) || tagger == crate::madlad::NAME,
        "sentence_splitter" => crate::dolma_ft::splits_sentences(tagger),
        _ => false,
    }
}

/// The files a built-in tagger reads given its options: the language-ID model, or a URL
/// tagger's lists (the given ones, else dolma's default names under `$LOAM_MODELS_DIR`).
pub fn resource_paths(tagger: &str, options: Option<&TaggerOptions>) -> Vec<PathBuf> {
    if crate::langid::NAMES.contains(&tagger) {
        return vec![crate::langid::default_model_path()];
    }
    if crate::tokrep::NAMES.contains(&tagger) {
        let given = options.and_then(|o| o.tokenizer.as_deref());
        return vec![crate::tokrep::tokenizer_path(given)];
    }
    if tagger == crate::madlad::NAME {
        let given = options.and_then(|o| o.cursed.as_deref());
        let model = options.and_then(|o| o.model.clone());
        return std::iter::once(crate::madlad::cursed_path(given))
            .chain(model)
            .collect();
    }
    if crate::tokcount::NAMES.contains(&tagger) {
        let given = options.and_then(|o| o.tokenizer.as_deref());
        return vec![crate::tokcount::tokenizer_path(tagger, given)];
    }
    if crate::dolma_ft::NAMES.contains(&tagger) {
        let mut v = vec![crate::dolma_ft::model_path(
            tagger,
            options.and_then(|o| o.model.as_deref()),
        )];
        if crate::dolma_ft::splits_sentences(tagger) {
            v.push(
                options
                    .and_then(|o| o.sentence_splitter.clone())
                    .unwrap_or_else(crate::blingfire::default_path),
            );
        }
        return v;
    }
    if tagger == crate::datamap::NAME {
        return options
            .and_then(|o| o.steps.as_deref())
            .map(crate::datamap::list_files)
            .unwrap_or_default();
    }
    match options.and_then(|o| o.lists.clone()) {
        Some(l) => l,
        None => crate::url::default_lists(tagger)
            .or_else(|| crate::abp::default_lists(tagger))
            .unwrap_or_default(),
    }
}

/// The message for a missing resource `file` of the built-in `tagger` (one of
/// [`resource_paths`]): the tagger, the file, and the option that names it.
pub fn missing_resource(tagger: &str, file: &std::path::Path) -> String {
    if crate::langid::NAMES.contains(&tagger) {
        let e = crate::langid::LangIdError::ModelMissing {
            path: file.to_path_buf(),
        };
        return format!("tagger `{tagger}`: {e}");
    }
    let option = if crate::dolma_ft::NAMES.contains(&tagger) {
        if file.ends_with(crate::blingfire::LIBRARY_FILE) {
            return format!(
                "tagger `{tagger}`: {}",
                crate::blingfire::BlingfireError::Missing {
                    path: file.to_path_buf()
                }
            );
        }
        "model"
    } else if crate::tokrep::NAMES.contains(&tagger) || crate::tokcount::NAMES.contains(&tagger) {
        "tokenizer"
    } else if tagger == crate::madlad::NAME {
        // A fastText model (`.bin`, `.ftz`) is rule 1's; anything else the cursed list.
        match file.extension().and_then(|e| e.to_str()) {
            Some("bin" | "ftz") => "model",
            _ => "cursed",
        }
    } else if tagger == crate::datamap::NAME {
        "steps[…].kwargs"
    } else {
        "lists"
    };
    format!(
        "tagger `{tagger}`: {} not found (give it as `tagger_options.{tagger}.{option}`, or put \
         dolma's file there; docs/taggers.md says where each is published)",
        file.display()
    )
}

/// Which dolma 1.2.1 bugs to reproduce. All off by default: loam's values are the correct
/// ones, and each module's docs say what dolma does instead. Turn a switch on only to
/// reproduce a mix that was made from dolma's attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DolmaBugs {
    /// `pii_regex_*`: dolma's URL regex, which never matches (see [`crate::pii`]).
    pub pii_url_regex: bool,
    /// `pii_regex_with_counts_fast_v2`: dolma's `doc_frac`, always ≥ 1 (see [`crate::pii`]).
    pub pii_doc_frac: bool,
    /// `c4_v2`: line offsets counted in the lowercased text (see [`crate::c4`]).
    pub c4_v2_lowercase_offsets: bool,
}

impl DolmaBugs {
    /// Every dolma 1.2.1 behaviour loam can reproduce.
    pub fn all() -> Self {
        DolmaBugs {
            pii_url_regex: true,
            pii_doc_frac: true,
            c4_v2_lowercase_offsets: true,
        }
    }
}

const NAMES: &[&str] = &[
    "char_length_v1",
    "char_length_with_paragraphs_v1",
    "whitespace_tokenizer_v1",
    "whitespace_tokenizer_with_paragraphs_v1",
    "gopher_v1",
    "gopher_v2",
    "c4_v1",
    "c4_v2",
    "pii_regex_v1",
    "pii_regex_v2",
    "pii_regex_with_counts_fast_v2",
    "repetitions_v1",
    "paragraph_repetitions_v1",
    "fineweb_quality_v1",
    "bytes_length_v1",
    "doc_count_v1",
    "char_length_strip_ws_v1",
    "uniseg_length_v1",
    "uniseg_length_paragraphs_v1",
    "uniseg_length_paragraphs_with_empty_v1",
    "uniseg_length_paragraphs_with_doc_length_v1",
    "olmo_pretokenizer_v1",
    "olmo_pretokenizer_with_paragraphs_v1",
    "not_alphanum_paragraph_v1",
    "random_number_v1",
    "pii_regex_with_counts_v2",
    "code_copyright_comments_v1",
    "code_redpajama_taggers_v1",
    "code_secrets_v1",
    "code_starcoder_taggers_v2",
];

/// The signal names a tagger writes: the last part of `<experiment>__<tagger>__<signal>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalSet {
    /// Exactly these names.
    Fixed(&'static [&'static str]),
    /// One signal per model label (`en`, `de`, …, and `not_<label>` when `negative`), plus
    /// the `fixed` names: open-ended, so attribute names cannot be checked against it.
    Labels {
        /// Whether `not_<label>` is written too.
        negative: bool,
        /// Signals written besides the labels.
        fixed: &'static [&'static str],
    },
}

impl SignalSet {
    /// Whether `signal` is one this tagger writes; `None` when the set is open-ended.
    pub fn contains(&self, signal: &str) -> Option<bool> {
        match self {
            SignalSet::Fixed(names) => Some(names.contains(&signal)),
            SignalSet::Labels { .. } => None,
        }
    }

    /// The fixed names (for an open-ended set, those written besides the labels).
    pub fn fixed(&self) -> &'static [&'static str] {
        match *self {
            SignalSet::Fixed(n) | SignalSet::Labels { fixed: n, .. } => n,
        }
    }
}

/// What `loam taggers` says about a built-in tagger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggerInfo {
    /// dolma's name.
    pub name: &'static str,
    /// The signals it writes.
    pub signals: SignalSet,
    /// What its spans cover: `document`, `paragraph`, `line` or `span` (several kinds are
    /// listed with `+`, e.g. `paragraph+document`).
    pub granularity: &'static str,
    /// Files it needs besides the documents: the language-ID model, or a URL tagger's default
    /// lists (paths below `$LOAM_MODELS_DIR`, as below `https://dolma-artifacts.org/`).
    pub resources: &'static [&'static str],
}

const GOPHER: &[&str] = &[
    "fraction_of_characters_in_most_common_2grams",
    "fraction_of_characters_in_most_common_3grams",
    "fraction_of_characters_in_most_common_4grams",
    "fraction_of_characters_in_duplicate_5grams",
    "fraction_of_characters_in_duplicate_6grams",
    "fraction_of_characters_in_duplicate_7grams",
    "fraction_of_characters_in_duplicate_8grams",
    "fraction_of_characters_in_duplicate_9grams",
    "fraction_of_characters_in_duplicate_10grams",
    "character_count",
    "word_count",
    "median_word_length",
    "symbol_to_word_ratio",
    "fraction_of_words_with_alpha_character",
    "required_word_count",
    "fraction_of_lines_starting_with_bullet_point",
    "fraction_of_lines_ending_with_ellipsis",
    "fraction_of_duplicate_lines",
    "fraction_of_characters_in_duplicate_lines",
];
const C4: &[&str] = &[
    "has_naughty_word",
    "has_javascript",
    "has_lorem_ipsum",
    "has_curly_brace",
    "lines_with_no_ending_punctuation",
    "lines_with_too_few_words",
    "line_count",
];
const PII: &[&str] = &["EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "doc"];
const PII_FAST: &[&str] = &[
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "doc_count",
    "doc_frac",
];
const REPETITIONS: &[&str] = &[
    "repetition",
    "doc_max_score_repetition",
    "doc_max_length_repetition",
    "doc_frac_repetition",
];
const PII_COUNTS: &[&str] = &[
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "doc",
    "doc_count",
];
const UNISEG_PARAGRAPHS: &[&str] = &["paragraph", "negative_paragraph"];
const LID: &[&str] = &[crate::langid::MODEL_FILE];
const TOKREP: &[&str] = &[crate::tokrep::DEFAULT_TOKENIZER];

/// Every built-in tagger with its signals, in [`names`] order.
pub fn infos() -> Vec<TaggerInfo> {
    use SignalSet::{Fixed, Labels};
    let t = |name, signals, granularity, resources| TaggerInfo {
        name,
        signals,
        granularity,
        resources,
    };
    let mut v = vec![
        t("char_length_v1", Fixed(&["length"]), "document", &[]),
        t(
            "char_length_with_paragraphs_v1",
            Fixed(&["paragraph", "document"]),
            "paragraph+document",
            &[],
        ),
        t(
            "whitespace_tokenizer_v1",
            Fixed(&["length"]),
            "document",
            &[],
        ),
        t(
            "whitespace_tokenizer_with_paragraphs_v1",
            Fixed(&["paragraph", "document"]),
            "paragraph+document",
            &[],
        ),
        t("gopher_v1", Fixed(GOPHER), "document", &[]),
        t("gopher_v2", Fixed(GOPHER), "document", &[]),
        t("c4_v1", Fixed(C4), "line+document", &[]),
        t("c4_v2", Fixed(C4), "line+document", &[]),
        t("pii_regex_v1", Fixed(PII), "span+document", &[]),
        t("pii_regex_v2", Fixed(PII), "span+document", &[]),
        t(
            "pii_regex_with_counts_fast_v2",
            Fixed(PII_FAST),
            "span+document",
            &[],
        ),
        t("repetitions_v1", Fixed(REPETITIONS), "span+document", &[]),
        t(
            "paragraph_repetitions_v1",
            Fixed(REPETITIONS),
            "span+document",
            &[],
        ),
        t(
            "fineweb_quality_v1",
            Fixed(&["line_punct_ratio", "short_line_ratio", "char_dup_ratio"]),
            "document",
            &[],
        ),
        t("bytes_length_v1", Fixed(&["bytes"]), "document", &[]),
        t("doc_count_v1", Fixed(&["docs"]), "document", &[]),
        t(
            "char_length_strip_ws_v1",
            Fixed(&["length_no_ws"]),
            "document",
            &[],
        ),
        t("uniseg_length_v1", Fixed(&["length"]), "document", &[]),
        t(
            "uniseg_length_paragraphs_v1",
            Fixed(UNISEG_PARAGRAPHS),
            "paragraph",
            &[],
        ),
        t(
            "uniseg_length_paragraphs_with_empty_v1",
            Fixed(UNISEG_PARAGRAPHS),
            "paragraph",
            &[],
        ),
        t(
            "uniseg_length_paragraphs_with_doc_length_v1",
            Fixed(&[
                "paragraph",
                "negative_paragraph",
                "document",
                "negative_document",
            ]),
            "paragraph+document",
            &[],
        ),
        t("olmo_pretokenizer_v1", Fixed(&["length"]), "document", &[]),
        t(
            "olmo_pretokenizer_with_paragraphs_v1",
            Fixed(&["paragraph", "document"]),
            "paragraph+document",
            &[],
        ),
        t(
            "not_alphanum_paragraph_v1",
            Fixed(&["all_punct"]),
            "paragraph+document",
            &[],
        ),
        t("random_number_v1", Fixed(&["random"]), "document", &[]),
        t(
            "pii_regex_with_counts_v2",
            Fixed(PII_COUNTS),
            "span+document",
            &[],
        ),
        t(
            "code_copyright_comments_v1",
            Fixed(&["copyright_notice", "comment_block", "doc"]),
            "span+document",
            &[],
        ),
        t(
            "code_redpajama_taggers_v1",
            Fixed(&[
                "max_line_length_doc",
                "avg_line_length_doc",
                "alnum_prop_doc",
                "alpha_token_prop_doc",
            ]),
            "document",
            &[],
        ),
        t(
            "code_secrets_v1",
            Fixed(crate::secrets::SIGNALS),
            "span+document",
            &[],
        ),
        t(
            "code_starcoder_taggers_v2",
            Fixed(&[
                "has_xml_template_doc",
                "num_github_stars_doc",
                "code_to_comment_ratio_doc",
                "code_to_text_ratio_html_doc",
            ]),
            "document",
            &[],
        ),
    ];
    v.extend(
        crate::url::TAGGERS
            .iter()
            .map(|&(name, _, files)| t(name, Fixed(&["url"]), "document", files)),
    );
    v.extend(
        crate::abp::TAGGERS
            .iter()
            .map(|&(name, files)| t(name, Fixed(&["url"]), "document", files)),
    );
    v.extend([
        t(
            "ft_lang_id_en_doc_v2",
            Fixed(&["en", "not_en"]),
            "document",
            LID,
        ),
        t(
            "ft_lang_id_en_paragraph_v2",
            Fixed(&["en", "not_en"]),
            "paragraph",
            LID,
        ),
        t(
            "ft_lang_id_en_paragraph_with_doc_score_v2",
            Fixed(&["en", "not_en", "doc_en", "doc_not_en"]),
            "paragraph+document",
            LID,
        ),
        t(
            "ft_lang_id_doc_v1",
            Labels {
                negative: false,
                fixed: &[],
            },
            "document",
            LID,
        ),
        t(
            "ft_lang_id_paragraph_v1",
            Labels {
                negative: false,
                fixed: &[],
            },
            "paragraph",
            LID,
        ),
        t("ft_lang_id_en_only_v2", Fixed(&["en"]), "document", LID),
        t(
            "ft_lang_id_1e2",
            Labels {
                negative: false,
                fixed: &[],
            },
            "document",
            LID,
        ),
    ]);
    v.extend(
        crate::tokrep::NAMES
            .iter()
            .map(|&name| t(name, Fixed(REPETITIONS), "span+document", TOKREP)),
    );
    v.push(t(
        crate::madlad::NAME,
        Fixed(crate::madlad::SIGNALS),
        "span+document",
        &[crate::madlad::DEFAULT_CURSED],
    ));
    for &name in crate::tokcount::NAMES {
        let signal: &'static [&'static str] = if name.starts_with("dolma_") {
            &["length"]
        } else {
            &["tokens"]
        };
        let files = crate::tokcount::resources(name).unwrap_or_default();
        v.push(t(name, Fixed(signal), "document", files));
    }
    for &name in crate::dolma_ft::NAMES {
        let labels = Labels {
            negative: false,
            fixed: &[],
        };
        let granularity = if crate::dolma_ft::splits_sentences(name) {
            "sentence"
        } else {
            "document"
        };
        let files = crate::dolma_ft::resources(name).unwrap_or_default();
        v.push(t(name, labels, granularity, files));
    }
    v.push(t(
        crate::datamap::NAME,
        Labels {
            negative: false,
            fixed: &[crate::datamap::KEPT],
        },
        "line+span+document",
        &[],
    ));
    v
}

/// One built-in tagger's signals, granularity and resources; `None` for an unknown name.
pub fn info(name: &str) -> Option<TaggerInfo> {
    infos().into_iter().find(|i| i.name == name)
}

/// The signal set of a built-in tagger; `None` for an unknown name.
pub fn signals(name: &str) -> Option<SignalSet> {
    info(name).map(|i| i.signals)
}

/// Levenshtein distance in code points (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word` by edit distance (the first on ties), when it is close
/// enough to be a likely typo (at most a third of the word, or 2 edits).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= limit)
        .map(|(_, c)| c)
}

/// A signal a known tagger does not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tagger `{tagger}` writes no signal `{signal}`{}", closest.as_ref().map(|c| format!("; did you mean `{c}`?")).unwrap_or_default())]
pub struct UnknownSignal {
    /// The tagger.
    pub tagger: String,
    /// The signal asked for.
    pub signal: String,
    /// The closest signal it does write.
    pub closest: Option<String>,
}

/// Checks `signal` against what `tagger` writes: `Ok` when it is one, when the tagger is
/// not built in (a classifier, or a tagger of an earlier dolma run) or when its signals are
/// open-ended (language labels).
pub fn check_signal(tagger: &str, signal: &str) -> Result<(), UnknownSignal> {
    let Some(set) = signals(tagger) else {
        return Ok(());
    };
    match set.contains(signal) {
        Some(false) => Err(UnknownSignal {
            tagger: tagger.to_string(),
            signal: signal.to_string(),
            closest: closest(signal, set.fixed().iter().copied()).map(str::to_string),
        }),
        _ => Ok(()),
    }
}

/// Names of every built-in tagger: the rule taggers, the URL-list taggers, then the fastText
/// language taggers.
pub fn names() -> Vec<&'static str> {
    NAMES
        .iter()
        .copied()
        .chain(crate::url::names())
        .chain(crate::abp::names())
        .chain(crate::langid::NAMES.iter().copied())
        .chain(crate::tokrep::NAMES.iter().copied())
        .chain([crate::madlad::NAME])
        .chain(crate::tokcount::NAMES.iter().copied())
        .chain(crate::dolma_ft::NAMES.iter().copied())
        .chain([crate::datamap::NAME])
        .collect()
}

/// Builds a tagger by its dolma name; unknown names are an error listing the known ones.
pub fn build(name: &str) -> Result<Box<dyn Tagger>, BuildError> {
    build_with(name, DolmaBugs::default())
}

/// Builds a tagger by its dolma name, reproducing the chosen dolma bugs.
pub fn build_with(name: &str, bugs: DolmaBugs) -> Result<Box<dyn Tagger>, BuildError> {
    build_full(name, bugs, None)
}

/// Builds a tagger by its dolma name with its options from the config (`tagger_options`).
/// A URL tagger reads its lists here: a missing one is an error naming the tagger and file.
pub fn build_full(
    name: &str,
    bugs: DolmaBugs,
    options: Option<&TaggerOptions>,
) -> Result<Box<dyn Tagger>, BuildError> {
    // One check for every tagger: an option it does not read is an error, never ignored.
    if let Some(option) = options
        .into_iter()
        .flat_map(TaggerOptions::names_set)
        .find(|o| !accepts_option(name, o))
    {
        return Err(BuildError::Option {
            tagger: name.to_string(),
            option,
        });
    }
    if name == crate::datamap::NAME {
        let o = options.cloned().unwrap_or_default();
        let at = format!("tagger_options.{name}");
        let Some(steps) = o.steps.as_deref() else {
            let mut p = loam_pipeline::config::Problems::default();
            crate::datamap::check(None, &at, &mut p);
            return Err(BuildError::Datamap(crate::datamap::DatamapConfigError {
                problems: p.into_vec(),
            }));
        };
        let t = crate::datamap::DatamapV1::new(steps, o.datamap_bugs.unwrap_or_default(), &at)?;
        return Ok(Box::new(t));
    }
    let lists = options.and_then(|o| o.lists.as_deref());
    if let Some(t) = crate::url::UrlListTagger::load(name, lists) {
        return Ok(Box::new(t?));
    }
    if crate::abp::files(name).is_some() {
        #[cfg(feature = "abp")]
        if let Some(t) = crate::abp::AbpTagger::load(name, lists) {
            return Ok(Box::new(t?));
        }
        #[cfg(not(feature = "abp"))]
        return Err(BuildError::NotBuilt {
            tagger: name.to_string(),
            feature: "abp",
        });
    }
    if name == crate::madlad::NAME {
        let path = crate::madlad::cursed_path(options.and_then(|o| o.cursed.as_deref()));
        let t = crate::madlad::Madlad400Sentences::load(&path)?;
        return Ok(Box::new(match options.and_then(|o| o.model.as_deref()) {
            Some(m) => t.with_language_model(m)?,
            None => t,
        }));
    }
    if crate::tokrep::NAMES.contains(&name) {
        let path = crate::tokrep::tokenizer_path(options.and_then(|o| o.tokenizer.as_deref()));
        if let Some(t) = crate::tokrep::TokenizerRepetitions::load(name, &path) {
            return Ok(Box::new(t?));
        }
    }
    if crate::tokcount::NAMES.contains(&name) {
        let given = options.and_then(|o| o.tokenizer.as_deref());
        let path = crate::tokcount::tokenizer_path(name, given);
        if let Some(t) = crate::tokcount::TokenCount::load(name, &path) {
            return Ok(Box::new(t?));
        }
    }
    if let Some(t) = crate::dolma_ft::DolmaFastText::load(
        name,
        options.and_then(|o| o.model.as_deref()),
        options.and_then(|o| o.sentence_splitter.as_deref()),
    ) {
        return Ok(Box::new(t?));
    }
    if let Some(t) = crate::langid::build(name) {
        return Ok(t?);
    }
    let pii = PiiCompat {
        url_regex: bugs.pii_url_regex,
        doc_frac: bugs.pii_doc_frac,
    };
    Ok(match name {
        "char_length_v1" => Box::new(CharLengthV1),
        "char_length_with_paragraphs_v1" => Box::new(CharLengthWithParagraphsV1),
        "whitespace_tokenizer_v1" => Box::new(WhitespaceTokenizerV1),
        "whitespace_tokenizer_with_paragraphs_v1" => Box::new(WhitespaceTokenizerWithParagraphsV1),
        "gopher_v1" => Box::new(GopherTagger::v1()),
        "gopher_v2" => Box::new(GopherTagger::v2()),
        "c4_v1" => Box::new(C4Tagger::v1()),
        "c4_v2" if bugs.c4_v2_lowercase_offsets => Box::new(C4Tagger::v2_dolma_offsets()),
        "c4_v2" => Box::new(C4Tagger::v2()),
        "pii_regex_v1" => Box::new(PiiRegexTagger::v1(pii)),
        "pii_regex_v2" => Box::new(PiiRegexTagger::v2(pii)),
        "pii_regex_with_counts_fast_v2" => Box::new(FastPiiRegexTagger::new(pii)),
        "repetitions_v1" => Box::new(RepetitionsV1),
        "paragraph_repetitions_v1" => Box::new(ParagraphRepetitionsV1),
        "fineweb_quality_v1" => Box::new(FineWebQualityV1),
        "bytes_length_v1" => Box::new(BytesLengthV1),
        "doc_count_v1" => Box::new(DocCountV1),
        "char_length_strip_ws_v1" => Box::new(CharLengthStripWsV1),
        "uniseg_length_v1" => Box::new(UnisegLengthV1),
        "uniseg_length_paragraphs_v1" => Box::new(UnisegParagraphsTagger(UnisegParagraphs::V1)),
        "uniseg_length_paragraphs_with_empty_v1" => {
            Box::new(UnisegParagraphsTagger(UnisegParagraphs::WithEmptyV1))
        }
        "uniseg_length_paragraphs_with_doc_length_v1" => {
            Box::new(UnisegParagraphsTagger(UnisegParagraphs::WithDocLengthV1))
        }
        "olmo_pretokenizer_v1" => Box::new(OlmoPreTokenizerV1),
        "olmo_pretokenizer_with_paragraphs_v1" => Box::new(OlmoPreTokenizerWithParagraphsV1),
        "not_alphanum_paragraph_v1" => Box::new(NotAlphanumParagraphV1),
        "random_number_v1" => Box::new(RandomNumberV1),
        "code_copyright_comments_v1" => Box::new(CodeCopyrightCommentsV1),
        "code_redpajama_taggers_v1" => Box::new(CodeRedPajamaTaggersV1),
        "code_secrets_v1" => Box::new(crate::secrets::CodeSecretsV1),
        "code_starcoder_taggers_v2" => Box::new(crate::starcoder::CodeStarcoderTaggersV2),
        "pii_regex_with_counts_v2" => Box::new(PiiRegexTagger::with_counts_v2(pii)),
        _ => {
            return Err(BuildError::Unknown(UnknownTagger {
                name: name.to_string(),
                known: names(),
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_with_its_own_name() {
        for n in NAMES.iter().copied() {
            assert_eq!(build(n).unwrap().name(), n);
            assert_eq!(build_with(n, DolmaBugs::all()).unwrap().name(), n);
        }
    }

    #[test]
    fn every_name_has_signals() {
        let listed: Vec<&str> = infos().iter().map(|i| i.name).collect();
        assert_eq!(listed, names());
    }

    /// The declared signals cover what the rule taggers write on varied texts.
    #[test]
    fn declared_signals_cover_what_taggers_write() {
        let mut texts = crate::testutil::bad_inputs();
        texts.push("Mail me at x@y.com or call 555-123-4567 from 10.0.0.1.\n\nlorem ipsum { javascript }\nA line without punctuation\n".into());
        texts.push("the the the the the the the the the the the the the the the the the\n- bullet...\n- bullet...\n".repeat(5));
        for n in NAMES.iter().copied() {
            let set = signals(n).unwrap();
            for bugs in [DolmaBugs::default(), DolmaBugs::all()] {
                let t = build_with(n, bugs).unwrap();
                for text in &texts {
                    let s = crate::testutil::run(t.as_ref(), text);
                    for (signal, _) in s.iter() {
                        assert_eq!(set.contains(signal), Some(true), "{n} wrote {signal}");
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_signal_names_the_closest() {
        let e = check_signal("gopher_v1", "symbol_to_word_ratios").unwrap_err();
        assert_eq!(e.closest.as_deref(), Some("symbol_to_word_ratio"));
        assert!(e
            .to_string()
            .contains("did you mean `symbol_to_word_ratio`"));
        assert!(check_signal("gopher_v1", "symbol_to_word_ratio").is_ok());
        assert!(check_signal("my_classifier", "anything").is_ok());
        assert!(check_signal("ft_lang_id_doc_v1", "de").is_ok());
        assert!(check_signal("ft_lang_id_en_doc_v2", "de").is_err());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("pii_v1", ["c4_v1", "pii_regex_v1"]), None);
    }

    #[test]
    fn unknown_name_lists_known() {
        let e = build("gopher_v3").err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("gopher_v3") && msg.contains("gopher_v1") && msg.contains("c4_v2"));
    }
}
