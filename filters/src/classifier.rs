//! `fasttext_classifier`: any supervised fastText model (`.bin` or quantized `.ftz`) as a
//! tagger, per document, paragraph or sentence; and training one from labelled JSON lines
//! (what `loam train-classifier` runs), so users can build quality or topic classifiers from
//! their own examples.
//!
//! Text goes to fastText as the language taggers send it (lowercased, newlines as spaces);
//! every label's probability becomes a signal named after the label (without `__label__`).
//!
//! Prediction runs on loam's native engine ([`crate::ftinfer`]); training (the `train`
//! feature, on by default) runs fastText's C++ code through the `fasttext` crate.

#[cfg(feature = "train")]
use crate::langid::fasttext_input;
use crate::langid::{load_shared, SharedModel};
use crate::pytext::{char_len, split_paragraphs};
#[cfg(feature = "train")]
use fasttext::{Args, FastText, LossName, ModelName};
use loam_pipeline::document::Span;
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use serde::{Deserialize, Serialize};
#[cfg(feature = "train")]
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one prediction covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// The whole text: one span `[0, len]` per label.
    #[default]
    Document,
    /// Each non-empty paragraph (dolma's `split_paragraphs`).
    Paragraph,
    /// Each sentence (ends after `.`, `!`, `?` followed by whitespace, or at a newline).
    Sentence,
}

/// A fastText classifier used as a tagger (`tag.classifiers` in `loam run`, `classifiers` in
/// `loam tag -c`): attribute keys `<experiment>__<name>__<label>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSpec {
    /// Tagger name in attribute keys (must differ from the built-in tagger names).
    pub name: String,
    /// Model file (`.bin` or `.ftz`).
    pub model: String,
    /// One prediction per document, paragraph or sentence.
    #[serde(default)]
    pub granularity: Granularity,
}

impl ClassifierSpec {
    /// Loads the model.
    pub fn build(&self) -> Result<FastTextClassifier, ClassifierError> {
        FastTextClassifier::new(&self.name, Path::new(&self.model), self.granularity)
    }
}

/// A classifier model that cannot be used or trained.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// Missing or unreadable model.
    #[error("fastText model {path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Bad training input.
    #[error("{path}:{line}: {message}")]
    Input {
        /// The JSON-lines file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// fastText failed.
    #[error("fastText: {0}")]
    FastText(String),
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A fastText classifier used as a tagger.
pub struct FastTextClassifier {
    name: String,
    path: PathBuf,
    model: Arc<SharedModel>,
    granularity: Granularity,
}

impl FastTextClassifier {
    /// Loads `model` (shared with other taggers using the same file); `name` is the tagger
    /// name in attribute keys.
    pub fn new(
        name: &str,
        model: &Path,
        granularity: Granularity,
    ) -> Result<Self, ClassifierError> {
        if !model.is_file() {
            return Err(ClassifierError::Model {
                path: model.to_path_buf(),
                message: "no such file (train one with `loam train-classifier`)".into(),
            });
        }
        let m = load_shared(model).map_err(|e| ClassifierError::Model {
            path: model.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(FastTextClassifier {
            name: name.to_string(),
            path: model.to_path_buf(),
            model: m,
            granularity,
        })
    }

    fn predict_span(
        &self,
        text: &str,
        start: usize,
        end: usize,
        out: &mut Signals,
    ) -> Result<(), TagError> {
        self.model
            .for_each_prediction(text, |label, p| out.push(label, Span::new(start, end, p)));
        Ok(())
    }
}

/// Sentence spans (code points) of `text`: a sentence ends after `.`, `!` or `?` followed by
/// whitespace, or at a newline; spans cover their trailing whitespace so they tile the text.
// Byte bounds come from `char_indices` or are `text.len()`: char boundaries.
#[allow(clippy::string_slice)]
pub fn sentences(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let (mut start_cp, mut start_b) = (0usize, 0usize);
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        let boundary = c == '\n'
            || (matches!(c, '.' | '!' | '?')
                && chars.get(i + 1).is_some_and(|(_, n)| n.is_whitespace()));
        if boundary {
            // Include the following whitespace in this sentence.
            let mut j = i + 1;
            while j < chars.len() && chars[j].1.is_whitespace() {
                j += 1;
            }
            let end_b = chars.get(j).map_or(text.len(), |(b, _)| *b);
            out.push((start_cp, j, &text[start_b..end_b]));
            start_cp = j;
            start_b = end_b;
            i = j;
        } else {
            i += 1;
        }
    }
    if start_b < text.len() {
        out.push((start_cp, chars.len(), &text[start_b..]));
    }
    out
}

impl Tagger for FastTextClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self, doc: &loam_pipeline::Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        match self.granularity {
            Granularity::Document => self.predict_span(text, 0, char_len(text), out),
            Granularity::Paragraph => {
                for p in split_paragraphs(text, true) {
                    self.predict_span(p.text, p.start, p.end, out)?;
                }
                Ok(())
            }
            Granularity::Sentence => {
                for (s, e, t) in sentences(text) {
                    if !t.trim().is_empty() {
                        self.predict_span(t, s, e, out)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn models(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// Training settings (fastText supervised defaults where not given).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Field holding the text.
    pub text_field: String,
    /// Field holding the label (a string, or a list of strings for multi-label).
    pub label_field: String,
    /// Epochs.
    pub epoch: i32,
    /// Learning rate.
    pub lr: f64,
    /// Vector size.
    pub dim: i32,
    /// Word n-grams.
    pub word_ngrams: i32,
    /// Hash buckets for n-grams (fastText's 2M default makes 800 MB models).
    pub bucket: i32,
    /// Quantize the model (`.ftz`-style, much smaller).
    pub quantize: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            text_field: "text".into(),
            label_field: "label".into(),
            epoch: 25,
            lr: 0.5,
            dim: 64,
            word_ngrams: 2,
            bucket: 200_000,
            quantize: false,
        }
    }
}

/// What training did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Examples used.
    pub examples: u64,
    /// Examples per label.
    pub labels: std::collections::BTreeMap<String, u64>,
}

/// Without the `train` feature (fastText's C++ code): fails, saying how to get a build that
/// trains.
#[cfg(not(feature = "train"))]
pub fn train(
    _inputs: &[PathBuf],
    _output: &Path,
    _opts: &TrainOptions,
) -> Result<TrainReport, ClassifierError> {
    Err(ClassifierError::FastText(
        "this loam was built without training (the cargo feature `train`, on by default; \
         `make demo` builds without it): build it with `cargo install --path .` or `make build`"
            .into(),
    ))
}

/// Trains a supervised fastText model from JSON lines with `text` and `label` fields and
/// saves it to `output`. One training thread, so the same input gives the same model.
#[cfg(feature = "train")]
pub fn train(
    inputs: &[PathBuf],
    output: &Path,
    opts: &TrainOptions,
) -> Result<TrainReport, ClassifierError> {
    let tmp = tempfile_path(output);
    let mut report = TrainReport {
        examples: 0,
        labels: Default::default(),
    };
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for path in inputs {
            let r = std::io::BufReader::new(std::fs::File::open(path)?);
            for (n, line) in r.lines().enumerate() {
                let line = line?;
                let bad = |m: String| ClassifierError::Input {
                    path: path.clone(),
                    line: n as u64 + 1,
                    message: m,
                };
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| bad(format!("not JSON: {e}")))?;
                let text = v
                    .get(&opts.text_field)
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| bad(format!("no string field `{}`", opts.text_field)))?;
                let labels: Vec<String> = match v.get(&opts.label_field) {
                    Some(serde_json::Value::String(s)) => vec![s.clone()],
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad(format!("`{}` must hold strings", opts.label_field)))?,
                    _ => return Err(bad(format!("no string field `{}`", opts.label_field))),
                };
                if labels
                    .iter()
                    .any(|l| l.is_empty() || l.contains(char::is_whitespace))
                {
                    return Err(bad(
                        "labels must be non-empty and contain no whitespace".into()
                    ));
                }
                for l in &labels {
                    write!(w, "__label__{l} ")?;
                    *report.labels.entry(l.clone()).or_default() += 1;
                }
                // The training line gets the same preprocessing as prediction input.
                w.write_all(fasttext_input(text).as_bytes())?;
                report.examples += 1;
            }
        }
        w.flush()?;
    }
    if report.examples == 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(ClassifierError::FastText("no training examples".into()));
    }
    let mut args = Args::new();
    args.set_input(&tmp.to_string_lossy())
        .map_err(ClassifierError::FastText)?;
    args.set_model(ModelName::SUP);
    args.set_loss(LossName::SOFTMAX);
    args.set_epoch(opts.epoch);
    args.set_lr(opts.lr);
    args.set_dim(opts.dim);
    args.set_word_ngrams(opts.word_ngrams);
    args.set_bucket(opts.bucket);
    args.set_thread(1);
    args.set_verbose(0);
    let mut ft = FastText::new();
    let trained = ft.train(&args).map_err(ClassifierError::FastText);
    let _ = std::fs::remove_file(&tmp);
    trained?;
    if opts.quantize {
        let mut q = Args::new();
        q.set_qnorm(true);
        q.set_cutoff(0);
        q.set_retrain(false);
        ft.quantize(&q).map_err(ClassifierError::FastText)?;
    }
    ft.save_model(&output.to_string_lossy())
        .map_err(ClassifierError::FastText)?;
    Ok(report)
}

#[cfg(feature = "train")]
fn tempfile_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    output.with_file_name(format!(".loam-train.{}.{name}.txt", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_tile_the_text() {
        let t = "One sentence. Two? Three!\nFour";
        let s = sentences(t);
        let texts: Vec<&str> = s.iter().map(|x| x.2).collect();
        assert_eq!(texts, ["One sentence. ", "Two? ", "Three!\n", "Four"]);
        assert_eq!(s.last().unwrap().1, t.chars().count());
        assert_eq!(s[1].0, 14);
        assert!(sentences("").is_empty());
        assert_eq!(sentences("é.").len(), 1);
    }
}
