//! datamap-rs's `ultrafineweb_annotator`: the UltraFineWeb quality classifier (a fastText
//! model) on its own preprocessing of the text (`src/map_fxn.rs`, `UltrafinewebAnnotator`):
//! at most `max_text_length` bytes (cut back to a character boundary; 0: all), runs of 3+
//! newlines cut to two, lowercased, NFKD with non-spacing marks (`Mn`) removed, split into the
//! tokens of a Hugging Face tokenizer (each token decoded alone, joined by spaces), `\n`,
//! `\r` and `\t` written as the two characters `\n`, `\r`, `\t`, runs of spaces collapsed,
//! trimmed; then fastText's top 10 labels with their probabilities. A text holding a NUL
//! cannot reach datamap-rs's fastText binding (a C string): datamap-rs drops the document,
//! and so does loam.

use crate::langid::SharedModel;
use regex::Regex;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use unicode_normalization::UnicodeNormalization;

/// The loaded tokenizer and model.
pub(super) struct Ufw {
    tokenizer: tokenizers::Tokenizer,
    model: Arc<SharedModel>,
    max_text_length: usize,
}

// Not the tokenizer's vocabulary.
impl std::fmt::Debug for Ufw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ufw")
            .field("max_text_length", &self.max_text_length)
            .finish_non_exhaustive()
    }
}

/// Why the annotator cannot load: the kwarg at fault and what is wrong.
pub(super) struct LoadError {
    pub(super) kwarg: &'static str,
    pub(super) message: String,
}

impl Ufw {
    /// Loads the tokenizer (`tokenizer.json`, or `.json.gz`) and the fastText model.
    pub(super) fn load(
        tokenizer: &Path,
        model: &Path,
        max_text_length: usize,
    ) -> Result<Ufw, LoadError> {
        let tok = crate::tokrep::read_maybe_gz(tokenizer)
            .map_err(|e| e.to_string())
            .and_then(|b| tokenizers::Tokenizer::from_bytes(&b).map_err(|e| e.to_string()))
            .map_err(|message| LoadError {
                kwarg: "tokenizer_path",
                message: format!("{}: {message}", tokenizer.display()),
            })?;
        let m = crate::langid::load_shared(model).map_err(|e| LoadError {
            kwarg: "fast_text_file",
            message: e.to_string(),
        })?;
        Ok(Ufw {
            tokenizer: tok,
            model: m,
            max_text_length,
        })
    }

    /// datamap-rs's preprocessing of `text`, or `None` when the tokenizer fails.
    fn preprocess(&self, text: &str) -> Option<String> {
        static RE: OnceLock<[Regex; 3]> = OnceLock::new();
        // Constant patterns: they compile.
        #[allow(clippy::expect_used)]
        let [newlines, marks, spaces] = RE.get_or_init(|| {
            [r"\n{3,}", r"\p{Mn}+", " +"].map(|p| Regex::new(p).expect("static regex"))
        });
        let text = newlines.replace_all(text, "\n\n").to_lowercase();
        let text: String = text.nfkd().collect();
        let text = marks.replace_all(&text, "");
        let enc = self.tokenizer.encode(text.as_ref(), false).ok()?;
        let mut pieces = Vec::with_capacity(enc.get_ids().len());
        for id in enc.get_ids() {
            pieces.push(self.tokenizer.decode(&[*id], false).ok()?);
        }
        let joined = pieces
            .join(" ")
            .replace('\n', r"\n")
            .replace('\r', r"\r")
            .replace('\t', r"\t");
        Some(spaces.replace_all(&joined, " ").trim().to_string())
    }

    /// The top 10 labels (without `__label__`) and probabilities; `None` drops the document.
    pub(super) fn annotate(&self, text: &str) -> Option<Vec<(String, f64)>> {
        let mut end = text.len();
        if self.max_text_length > 0 && end > self.max_text_length {
            end = self.max_text_length;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
        }
        let line = self.preprocess(text.get(..end).unwrap_or(text))?;
        if line.contains('\0') {
            return None;
        }
        let mut out = Vec::new();
        self.model.for_each_raw(&line, Some(10), |label, p| {
            out.push((label.replace("__label__", ""), p));
        });
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_are_two_characters() {
        assert_eq!("a\nb".replace('\n', r"\n"), "a\\nb");
    }
}
