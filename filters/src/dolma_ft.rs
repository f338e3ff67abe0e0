//! dolma's fastText classifier taggers, under dolma's names, with dolma 1.2.1's
//! preprocessing, span boundaries and keys (`python/dolma/taggers/jigsaw.py`,
//! `quality.py`):
//!
//! | tagger | unit | text fastText sees | keys |
//! |---|---|---|---|
//! | `jigsaw_hatespeech_document_v2`, `jigsaw_nsfw_document_v1` | document | `text.replace("\n", " ").strip()` (not lowercased) | every label as fastText names it (`__label__toxic`), the label without `non` first |
//! | `jigsaw_hatespeech_sentence_v2`, `jigsaw_nsfw_sencence_v2` (dolma's spelling) | each blingfire sentence | the same, per sentence | the same |
//! | `dolma17-quality` | document | the text's whitespace-separated words joined by one space (tokenizers' `Strip` + `WhitespaceSplit`) | every label without `__label__`, most probable first |
//! | `dclm-oh-eli5` | document | `" ".join(text.strip().splitlines())` | the top label with `__label__` removed and `cc`/`hq` renamed `score`; a `cc` label scores `1 − p` |
//!
//! Models are given as `tagger_options.<tagger>.model`, else read under `$LOAM_MODELS_DIR` by
//! the path below the host dolma downloads them from ([`default_model`]). The sentence
//! taggers split with blingfire ([`crate::blingfire`]).
//!
//! Where dolma fails the whole file, loam writes no span for the document: `dolma17-quality`
//! on a text without a word (`zip(*[])`), and a jigsaw prediction with fewer than two labels
//! is written as fastText returns it (dolma indexes a second label that is not there).

use crate::blingfire::{Blingfire, BlingfireError};
use crate::langid::{load_shared, SharedModel};
use crate::pytext::{char_len, py_strip};
use loam_pipeline::document::Span;
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The taggers, by dolma's names.
pub const NAMES: &[&str] = &[
    "jigsaw_hatespeech_document_v2",
    "jigsaw_hatespeech_sentence_v2",
    "jigsaw_nsfw_document_v1",
    "jigsaw_nsfw_sencence_v2",
    "dolma17-quality",
    "dclm-oh-eli5",
];

const JIGSAW_HATESPEECH: &str =
    "fasttext_models/jigsaw_fasttext_bigrams_20230515/jigsaw_fasttext_bigrams_hatespeech_final.bin";
const JIGSAW_NSFW: &str =
    "fasttext_models/jigsaw_fasttext_bigrams_20230515/jigsaw_fasttext_bigrams_nsfw_final.bin";
const DOLMA17: &str =
    "fasttext_models/dolma-1_7/cc_wiki_wikiref_sw_pes2o_adult_fakenews_math_books_openhermes.bin";
const DCLM: &str =
    "mlfoundations/fasttext-oh-eli5/openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin";

/// What a tagger does with its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jigsaw { sentences: bool },
    Dolma17,
    Dclm,
}

fn kind(name: &str) -> Option<Kind> {
    Some(match name {
        "jigsaw_hatespeech_document_v2" | "jigsaw_nsfw_document_v1" => {
            Kind::Jigsaw { sentences: false }
        }
        "jigsaw_hatespeech_sentence_v2" | "jigsaw_nsfw_sencence_v2" => {
            Kind::Jigsaw { sentences: true }
        }
        "dolma17-quality" => Kind::Dolma17,
        "dclm-oh-eli5" => Kind::Dclm,
        _ => return None,
    })
}

/// The files `name` reads by default, below `$LOAM_MODELS_DIR`: its model (the path of its
/// URL below `https://dolma-artifacts.org/`; for `dclm-oh-eli5`, below
/// `https://huggingface.co/`, without `resolve/main/`), then, for a sentence tagger,
/// blingfire's library.
pub fn resources(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "jigsaw_hatespeech_document_v2" => &[JIGSAW_HATESPEECH],
        "jigsaw_hatespeech_sentence_v2" => &[JIGSAW_HATESPEECH, crate::blingfire::RESOURCE],
        "jigsaw_nsfw_document_v1" => &[JIGSAW_NSFW],
        "jigsaw_nsfw_sencence_v2" => &[JIGSAW_NSFW, crate::blingfire::RESOURCE],
        "dolma17-quality" => &[DOLMA17],
        "dclm-oh-eli5" => &[DCLM],
        _ => return None,
    })
}

/// The model's default path below `$LOAM_MODELS_DIR` (the first of [`resources`]).
pub fn default_model(name: &str) -> Option<&'static str> {
    resources(name).and_then(|r| r.first().copied())
}

/// Where dolma downloads the model of `name` from.
pub fn dolma_url(name: &str) -> Option<String> {
    let path = default_model(name)?;
    Some(match path.strip_prefix("mlfoundations/fasttext-oh-eli5/") {
        Some(file) => {
            format!("https://huggingface.co/mlfoundations/fasttext-oh-eli5/resolve/main/{file}")
        }
        None => format!("https://dolma-artifacts.org/{path}"),
    })
}

/// Whether `name` splits sentences (and so takes `sentence_splitter`).
pub fn splits_sentences(name: &str) -> bool {
    kind(name) == Some(Kind::Jigsaw { sentences: true })
}

/// The model file `name` reads: `given`, else [`default_model`] under `$LOAM_MODELS_DIR`.
pub fn model_path(name: &str, given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None => crate::langid::models_dir().join(default_model(name).unwrap_or_default()),
    }
}

/// A classifier tagger that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FastTextTaggerError {
    /// The model is missing or not a fastText model.
    #[error(
        "tagger `{tagger}`: fastText model {}: {message} (give it as tagger_options.{tagger}.model; \
         dolma downloads it from {url})",
        path.display()
    )]
    Model {
        /// The tagger.
        tagger: String,
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// Where dolma gets it.
        url: String,
    },
    /// blingfire's library is missing or unusable.
    #[error("tagger `{tagger}`: {source}")]
    Splitter {
        /// The tagger.
        tagger: String,
        /// What is wrong.
        source: BlingfireError,
    },
}

/// One of dolma's fastText classifier taggers.
pub struct DolmaFastText {
    name: &'static str,
    kind: Kind,
    model: Arc<SharedModel>,
    model_path: PathBuf,
    splitter: Option<Arc<Blingfire>>,
}

impl DolmaFastText {
    /// Builds `name` with its model (`model`, else the default path) and, for a sentence
    /// tagger, blingfire's library (`splitter`, else [`crate::blingfire::default_path`]);
    /// `None` if `name` is not one of [`NAMES`].
    pub fn load(
        name: &str,
        model: Option<&Path>,
        splitter: Option<&Path>,
    ) -> Option<Result<DolmaFastText, FastTextTaggerError>> {
        let kind = kind(name)?;
        let name = NAMES.iter().copied().find(|n| *n == name)?;
        let model_path = model_path(name, model);
        Some((|| {
            let shared = load_shared(&model_path).map_err(|e| FastTextTaggerError::Model {
                tagger: name.to_string(),
                path: model_path.clone(),
                message: match e {
                    crate::langid::LangIdError::ModelMissing { .. } => "no such file".into(),
                    crate::langid::LangIdError::ModelInvalid { message, .. } => message,
                },
                url: dolma_url(name).unwrap_or_default(),
            })?;
            let splitter = match kind {
                Kind::Jigsaw { sentences: true } => {
                    let path = splitter
                        .map(Path::to_path_buf)
                        .unwrap_or_else(crate::blingfire::default_path);
                    Some(Blingfire::load(&path).map_err(|source| {
                        FastTextTaggerError::Splitter {
                            tagger: name.to_string(),
                            source,
                        }
                    })?)
                }
                _ => None,
            };
            Ok(DolmaFastText {
                name,
                kind,
                model: shared,
                model_path,
                splitter,
            })
        })())
    }

    /// jigsaw's `predict_slice`: both labels, the one without `non` first.
    fn jigsaw(&self, text: &str, start: usize, end: usize, out: &mut Signals) {
        let cleaned = text.replace('\n', " ");
        let mut preds: Vec<(String, f64)> = Vec::with_capacity(2);
        self.model.for_each_raw(py_strip(&cleaned), None, |l, p| {
            preds.push((l.to_string(), p))
        });
        if preds.len() >= 2 && preds[0].0.contains("non") {
            preds.swap(0, 1);
        }
        // dolma writes exactly two spans (the first two labels).
        for (label, p) in preds.iter().take(2) {
            out.push(label, Span::new(start, end, *p));
        }
    }
}

/// `" ".join(text.strip().splitlines())`: Python's line boundaries (`\r\n` is one) become
/// one space each.
fn join_lines(text: &str) -> String {
    let s = py_strip(text);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Tagger for DolmaFastText {
    fn name(&self) -> &str {
        self.name
    }

    // Sentence bounds are code points of `text` mapped to bytes by `char_indices`.
    #[allow(clippy::string_slice)]
    fn tag(&self, doc: &loam_pipeline::Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        match self.kind {
            Kind::Jigsaw { sentences: false } => self.jigsaw(text, 0, char_len(text), out),
            Kind::Jigsaw { sentences: true } => {
                let Some(splitter) = &self.splitter else {
                    return Ok(());
                };
                let bounds = splitter.sentences(text);
                if bounds.is_empty() {
                    return Ok(());
                }
                // Code point → byte offsets, with the text's end.
                let bytes: Vec<usize> = text
                    .char_indices()
                    .map(|(b, _)| b)
                    .chain(std::iter::once(text.len()))
                    .collect();
                for (s, e) in bounds {
                    let (Some(&bs), Some(&be)) = (bytes.get(s), bytes.get(e)) else {
                        continue;
                    };
                    // Python slices an inverted range to "".
                    let slice = if bs <= be { &text[bs..be] } else { "" };
                    self.jigsaw(slice, s, e, out);
                }
            }
            Kind::Dolma17 => {
                let words: Vec<&str> = text.split_whitespace().collect();
                if words.is_empty() {
                    return Ok(());
                }
                let line = words.join(" ");
                let end = char_len(text);
                let mut preds: Vec<(String, f64)> = Vec::new();
                self.model.for_each_raw(&line, None, |l, p| {
                    preds.push((l.replace("__label__", ""), p));
                });
                // Python's stable sort, most probable first (fastText's order already).
                preds.sort_by(|a, b| b.1.total_cmp(&a.1));
                for (label, p) in &preds {
                    out.push(label, Span::new(0, end, *p));
                }
            }
            Kind::Dclm => {
                let line = join_lines(text);
                let end = char_len(text);
                let mut top: Option<(String, f64)> = None;
                self.model.for_each_raw(&line, Some(1), |l, p| {
                    if top.is_none() {
                        top = Some((l.to_string(), p));
                    }
                });
                if let Some((label, mut p)) = top {
                    if label == "__label__cc" {
                        p = 1.0 - p;
                    }
                    let name = label
                        .replace("__label__", "")
                        .replace("cc", "score")
                        .replace("hq", "score");
                    out.push(&name, Span::new(0, end, p));
                }
            }
        }
        Ok(())
    }

    fn models(&self) -> Vec<PathBuf> {
        let mut v = vec![self.model_path.clone()];
        if let Some(s) = &self.splitter {
            v.push(s.path().to_path_buf());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_join_as_pythons_splitlines_does() {
        assert_eq!(join_lines("  a\r\nb\rc\u{2028}d\n\ne\x0c "), "a b c d  e");
        assert_eq!(join_lines("\n\n"), "");
    }

    #[test]
    fn every_name_has_a_default_model_and_url() {
        for n in NAMES {
            assert!(default_model(n).is_some(), "{n}");
            assert!(
                dolma_url(n).is_some_and(|u| u.starts_with("https://")),
                "{n}"
            );
        }
        assert!(splits_sentences("jigsaw_nsfw_sencence_v2"));
        assert!(!splits_sentences("jigsaw_nsfw_document_v1"));
    }

    #[test]
    fn a_missing_model_names_the_tagger_the_file_and_the_option() {
        let dir = std::env::temp_dir().join("loam-no-such-model.bin");
        let Some(Err(e)) = DolmaFastText::load("dolma17-quality", Some(&dir), None) else {
            panic!("expected an error");
        };
        let msg = e.to_string();
        assert!(msg.contains("dolma17-quality") && msg.contains("loam-no-such-model.bin"));
        assert!(
            msg.contains("tagger_options.dolma17-quality.model"),
            "{msg}"
        );
    }
}
