//! dolma's token-count taggers: the number of tokens a Hugging Face tokenizer gives a
//! document (`python/dolma/taggers/length.py`, `taggers/tokenizers.py`), with the
//! `tokenizers` version dolma 1.2.1 pins (0.19.1).
//!
//! | tagger | text | special tokens | signal |
//! |---|---|---|---|
//! | `dolma_v1_tokenizer`, `dolma_v2_tokenizer` | `text.strip()` (0 when empty) | added (`encode(text)`) | `length` |
//! | `tokenizers_EleutherAI_GPT_NeoX_20B`, `tokenizers_AI2_OLMo_v1` | the text | not added | `tokens` |
//!
//! One span `[0, len(text)]`. The tokenizer is the tagger option `tokenizer` (a
//! `tokenizer.json`, or `.json.gz`), else `$LOAM_MODELS_DIR/<model>/tokenizer.json` for the
//! Hugging Face model dolma downloads ([`hub_model`]); loam never downloads.

use crate::pytext::{char_len, py_strip};
use loam_pipeline::document::Span;
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::path::{Path, PathBuf};

/// The taggers, by dolma's names.
pub const NAMES: &[&str] = &[
    "dolma_v1_tokenizer",
    "dolma_v2_tokenizer",
    "tokenizers_EleutherAI_GPT_NeoX_20B",
    "tokenizers_AI2_OLMo_v1",
];

/// The Hugging Face model whose tokenizer dolma loads for `name`.
pub fn hub_model(name: &str) -> Option<&'static str> {
    Some(match name {
        "dolma_v1_tokenizer" => "allenai/gpt-neox-olmo-dolma-v1_5",
        "dolma_v2_tokenizer" => "allenai/dolma2-tokenizer",
        "tokenizers_EleutherAI_GPT_NeoX_20B" => "EleutherAI/gpt-neox-20B",
        "tokenizers_AI2_OLMo_v1" => "allenai/eleuther-ai-gpt-neox-20b-pii-special",
        _ => return None,
    })
}

/// The default tokenizer file of `name` below `$LOAM_MODELS_DIR`: `<model>/tokenizer.json`
/// (the model's name without its owner, as for the token-repetition taggers).
pub fn resources(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "dolma_v1_tokenizer" => &["gpt-neox-olmo-dolma-v1_5/tokenizer.json"],
        "dolma_v2_tokenizer" => &["dolma2-tokenizer/tokenizer.json"],
        "tokenizers_EleutherAI_GPT_NeoX_20B" => &["gpt-neox-20B/tokenizer.json"],
        "tokenizers_AI2_OLMo_v1" => &[crate::tokrep::DEFAULT_TOKENIZER],
        _ => return None,
    })
}

/// [`resources`]' one file.
pub fn default_tokenizer(name: &str) -> Option<&'static str> {
    resources(name).and_then(|r| r.first().copied())
}

/// The tokenizer file `name` reads: `given`, else [`default_tokenizer`] under
/// `$LOAM_MODELS_DIR`.
pub fn tokenizer_path(name: &str, given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None => crate::langid::models_dir().join(default_tokenizer(name).unwrap_or_default()),
    }
}

/// A tokenizer that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("tagger `{tagger}`: cannot load the tokenizer {}: {message} (give it as tagger_options.{tagger}.tokenizer, or put the tokenizer.json of `{model}` there; loam never downloads)", path.display())]
pub struct TokenCountError {
    /// The tagger.
    pub tagger: String,
    /// The file.
    pub path: PathBuf,
    /// The Hugging Face model dolma loads.
    pub model: String,
    /// What is wrong.
    pub message: String,
}

/// One of dolma's token-count taggers.
pub struct TokenCount {
    name: &'static str,
    /// `dolma_v*_tokenizer`: stripped text, special tokens, signal `length`.
    dolma: bool,
    tokenizer: tokenizers::Tokenizer,
    path: PathBuf,
}

impl TokenCount {
    /// Builds `name` with the tokenizer at `path`; `None` if `name` is not one of [`NAMES`].
    pub fn load(name: &str, path: &Path) -> Option<Result<TokenCount, TokenCountError>> {
        let name = NAMES.iter().copied().find(|n| *n == name)?;
        let error = |message: String| TokenCountError {
            tagger: name.to_string(),
            path: path.to_path_buf(),
            model: hub_model(name).unwrap_or_default().to_string(),
            message,
        };
        Some(
            crate::tokrep::read_maybe_gz(path)
                .map_err(|e| error(e.to_string()))
                .and_then(|b| {
                    tokenizers::Tokenizer::from_bytes(&b).map_err(|e| error(e.to_string()))
                })
                .map(|tokenizer| TokenCount {
                    name,
                    dolma: name.starts_with("dolma_"),
                    tokenizer,
                    path: path.to_path_buf(),
                }),
        )
    }

    fn count(&self, text: &str, special: bool) -> Result<usize, TagError> {
        self.tokenizer
            .encode(text, special)
            .map(|e| e.get_ids().len())
            .map_err(|e| TagError {
                tagger: self.name.to_string(),
                message: format!("tokenizer: {e}"),
            })
    }
}

impl Tagger for TokenCount {
    fn name(&self) -> &str {
        self.name
    }

    fn tag(&self, doc: &loam_pipeline::Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let end = char_len(text);
        if self.dolma {
            let stripped = py_strip(text);
            let n = if stripped.is_empty() {
                0
            } else {
                self.count(stripped, true)?
            };
            out.push("length", Span::new(0, end, n as f64));
        } else {
            let n = self.count(text, false)?;
            out.push("tokens", Span::new(0, end, n as f64));
        }
        Ok(())
    }

    fn models(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}
