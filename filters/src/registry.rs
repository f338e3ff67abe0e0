//! Built-in taggers by their dolma names.

use crate::c4::C4Tagger;
use crate::fineweb::FineWebQualityV1;
use crate::gopher::GopherTagger;
use crate::length::{
    CharLengthV1, CharLengthWithParagraphsV1, WhitespaceTokenizerV1,
    WhitespaceTokenizerWithParagraphsV1,
};
use crate::pii::{FastPiiRegexTagger, PiiCompat, PiiRegexTagger};
use crate::repetitions::{ParagraphRepetitionsV1, RepetitionsV1};
use loam_pipeline::tagger::Tagger;

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
];

/// Names of every built-in tagger: the rule taggers, then the fastText language taggers.
pub fn names() -> Vec<&'static str> {
    NAMES.iter().chain(crate::langid::NAMES).copied().collect()
}

/// Builds a tagger by its dolma name; unknown names are an error listing the known ones.
pub fn build(name: &str) -> Result<Box<dyn Tagger>, BuildError> {
    build_with(name, DolmaBugs::default())
}

/// Builds a tagger by its dolma name, reproducing the chosen dolma bugs.
pub fn build_with(name: &str, bugs: DolmaBugs) -> Result<Box<dyn Tagger>, BuildError> {
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
    fn unknown_name_lists_known() {
        let e = build("gopher_v3").err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("gopher_v3") && msg.contains("gopher_v1") && msg.contains("c4_v2"));
    }
}
