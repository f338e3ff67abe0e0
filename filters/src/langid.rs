//! fastText language-ID taggers: dolma 1.2.1's `python/dolma/taggers/language.py`.
//!
//! | tagger | unit | signals |
//! |---|---|---|
//! | `ft_lang_id_en_doc_v2` | document | `en`, `not_en` |
//! | `ft_lang_id_en_paragraph_v2` | paragraph | `en`, `not_en` (one span per paragraph) |
//! | `ft_lang_id_en_paragraph_with_doc_score_v2` | paragraph | `en`, `not_en`, then `doc_en`, `doc_not_en` |
//! | `ft_lang_id_doc_v1` | document | one signal per predicted label (`en`, `fr`, `zh`, …) |
//! | `ft_lang_id_paragraph_v1` | paragraph | one signal per predicted label |
//! | `ft_lang_id_en_only_v2` | document | `en` |
//! | `ft_lang_id_1e2` | document | labels scoring above 0.01, scores rounded to 2 decimals |
//!
//! What dolma does, and so what loam does:
//!
//! - **Text sent to fastText**: `text.lower().replace("\n", " ").strip()` — CPython's full
//!   Unicode lowercase ([`py_lower`]) and CPython's whitespace for `strip`
//!   ([`py_strip`]: `White_Space` plus U+001C..U+001F) — then the Python binding appends `"\n"`,
//!   so fastText sees the end-of-sentence token `</s>` at the end of every line. Without that
//!   newline the predictions differ, so we append it too. An empty (or whitespace-only) unit
//!   is still predicted: fastText then sees only `</s>` and returns its prior-like distribution
//!   (`en` ≈ 0.1245 for `lid.176.ftz`). fastText splits words on ` \n\r\t\v\f\0`; a NUL, which
//!   a C string cannot carry, is replaced by a space before the call, which fastText reads the
//!   same way.
//! - **k and threshold**: `predict(text, k=-1)` with the default threshold 0.0: every label
//!   whose probability is above fastText's internal floor (its `log(p + 1e-5)` pruning on the
//!   hierarchical softmax), most probable first. Labels lose their `__label__` prefix.
//! - **English taggers** keep only the `en` prediction, or `("en", 0.0)` when fastText did not
//!   return `en` at all; `not_en` is `1 - en` over the same span.
//! - **Spans**: the whole document `[0, len)` or each paragraph of dolma's `split_paragraphs`
//!   (lines with their trailing `\n`, blank lines dropped; [`split_paragraphs`]), in code points.
//!   A document without a non-blank paragraph gets no paragraph spans at all.
//! - **`doc_en`** = Σ over paragraphs of (paragraph length × `en` score) / document length, and
//!   `doc_not_en = 1 - doc_en`, both over `[0, len)`; for an empty document both are 0.0
//!   (dolma's `ZeroDivisionError` branch). Scores are computed from unrounded fastText
//!   probabilities and rounded to 5 decimals only when emitted ([`Span::new`]).
//!
//! The model is fastText's `lid.176.ftz`, fetched by `scripts/fetch-models.sh` (dolma downloads
//! `lid.176.bin` by default; the two are the same classifier, `.ftz` quantized, so scores can
//! differ slightly between them). [`default_model_path`] says where it is looked for.
//!
//! **Engine**: loam's native fastText inference ([`crate::ftinfer`]), which gives fastText's
//! own probabilities (tested float for float against fastText's C++ code). The English
//! taggers compute only the `en` label's probability (under `lid.176`'s hierarchical softmax,
//! one root-to-leaf path of the tree), which equals what `predict(k=-1)` returns for `en`.
//!
//! **Threads**: one model is loaded per process and path, and shared by every tagger and
//! thread; each thread reuses its own buffers, so a prediction does not allocate.
//!
//! **Lone surrogates**: a Python `str` may hold them (from `\ud800` escapes in JSON), and the
//! fastText binding then fails to encode the text; a Rust `String` cannot hold them, so the
//! reader has already replaced them and loam predicts on the replaced text.

use crate::ftinfer::{Model, Prediction, Scratch};
use crate::pytext::{char_len, py_lower_into, py_strip, split_paragraphs};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Names of the language-ID taggers.
pub const NAMES: &[&str] = &[
    "ft_lang_id_en_doc_v2",
    "ft_lang_id_en_paragraph_v2",
    "ft_lang_id_en_paragraph_with_doc_score_v2",
    "ft_lang_id_doc_v1",
    "ft_lang_id_paragraph_v1",
    "ft_lang_id_en_only_v2",
    "ft_lang_id_1e2",
];

/// File name of the language-ID model inside the models folder.
pub const MODEL_FILE: &str = "lid.176.ftz";

/// Environment variable naming the models folder (default `models/` in the working directory).
pub const MODELS_DIR_ENV: &str = "LOAM_MODELS_DIR";

/// The script that fetches the model.
pub const FETCH_SCRIPT: &str = "scripts/fetch-models.sh";

/// A language-ID tagger could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LangIdError {
    /// The model file does not exist.
    #[error(
        "language-ID model {} not found: run {FETCH_SCRIPT} (it fetches {MODEL_FILE} into models/), \
         or set {MODELS_DIR_ENV} to the folder holding {MODEL_FILE}",
        path.display()
    )]
    ModelMissing {
        /// Where the model was looked for.
        path: PathBuf,
    },
    /// The model file exists but could not be read or is not a fastText model.
    #[error("language-ID model {}: {message} (re-fetch it with {FETCH_SCRIPT})", path.display())]
    ModelInvalid {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

/// Where the language-ID model is looked for: `$LOAM_MODELS_DIR/lid.176.ftz` when that
/// variable is set, else `models/lid.176.ftz` relative to the working directory.
pub fn default_model_path() -> PathBuf {
    models_dir().join(MODEL_FILE)
}

/// The models folder: `$LOAM_MODELS_DIR` when set, else `models/` relative to the working
/// directory.
pub fn models_dir() -> PathBuf {
    std::env::var_os(MODELS_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// Builds a language-ID tagger by name; `None` if the name is not one of them.
/// The model is [`default_model_path`].
pub fn build(name: &str) -> Option<Result<Box<dyn Tagger>, LangIdError>> {
    build_with_model(name, &default_model_path())
}

/// Builds a language-ID tagger by name with the model at `model_path`; `None` if the name is
/// not one of [`NAMES`].
pub fn build_with_model(
    name: &str,
    model_path: &Path,
) -> Option<Result<Box<dyn Tagger>, LangIdError>> {
    let kind = Kind::from_name(name)?;
    Some(FastTextLangId::with_kind(kind, model_path).map(|t| Box::new(t) as Box<dyn Tagger>))
}

/// What a tagger predicts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Document,
    Paragraph,
}

/// Which predictions a tagger keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Labels {
    /// Every returned label.
    All,
    /// Only `en` (0.0 when not returned).
    English,
    /// Labels above 0.01, rounded to 2 decimals (`ft_lang_id_1e2`).
    AllAbove1e2,
}

/// One of dolma's fastText language taggers.
#[derive(Debug, Clone, Copy)]
struct Kind {
    name: &'static str,
    unit: Unit,
    labels: Labels,
    /// dolma's `INCLUDE_NEGATIVE`: add `not_<label>` with `1 - score`.
    negative: bool,
    /// Add `doc_en` / `doc_not_en` from the paragraph scores.
    doc_score: bool,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        let (unit, labels, negative, doc_score) = match name {
            "ft_lang_id_en_doc_v2" => (Unit::Document, Labels::English, true, false),
            "ft_lang_id_en_paragraph_v2" => (Unit::Paragraph, Labels::English, true, false),
            "ft_lang_id_en_paragraph_with_doc_score_v2" => {
                (Unit::Paragraph, Labels::English, true, true)
            }
            "ft_lang_id_doc_v1" => (Unit::Document, Labels::All, false, false),
            "ft_lang_id_paragraph_v1" => (Unit::Paragraph, Labels::All, false, false),
            "ft_lang_id_en_only_v2" => (Unit::Document, Labels::English, false, false),
            "ft_lang_id_1e2" => (Unit::Document, Labels::AllAbove1e2, false, false),
            _ => return None,
        };
        let name = NAMES.iter().copied().find(|n| *n == name)?;
        Some(Kind {
            name,
            unit,
            labels,
            negative,
            doc_score,
        })
    }
}

/// A dolma fastText language-ID tagger (any of [`NAMES`]).
pub struct FastTextLangId {
    kind: Kind,
    model: Arc<SharedModel>,
    model_path: PathBuf,
}

impl std::fmt::Debug for FastTextLangId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastTextLangId")
            .field("name", &self.kind.name)
            .field("model_path", &self.model_path)
            .finish()
    }
}

impl FastTextLangId {
    /// The tagger `name` (one of [`NAMES`]) with the model at `model_path`; `None` for an
    /// unknown name.
    pub fn new(name: &str, model_path: &Path) -> Option<Result<Self, LangIdError>> {
        Kind::from_name(name).map(|k| Self::with_kind(k, model_path))
    }

    fn with_kind(kind: Kind, model_path: &Path) -> Result<Self, LangIdError> {
        Ok(FastTextLangId {
            kind,
            model: load_shared(model_path)?,
            model_path: model_path.to_path_buf(),
        })
    }

    /// fastText's predictions for one unit of text as dolma's `predict_text` returns them:
    /// `(label, probability)`, most probable first, before the English filter.
    pub fn predict_text(&self, text: &str) -> Result<Vec<(String, f64)>, TagError> {
        Ok(self.model.predict_all(text))
    }

    /// dolma's per-unit predictions after the tagger's label filter.
    fn unit_predictions(&self, text: &str) -> Vec<(String, f64)> {
        match self.kind.labels {
            Labels::All => self.model.predict_all(text),
            Labels::English => vec![("en".to_string(), self.model.english_score(text))],
            Labels::AllAbove1e2 => self
                .model
                .predict_all(text)
                .into_iter()
                .filter(|(_, p)| *p > 0.01)
                .map(|(l, p)| (l, py_round2(p)))
                .collect(),
        }
    }

    /// The English taggers: one `en` score per unit, and no label strings.
    fn tag_english(&self, doc: &Document, out: &mut Signals) {
        let doc_len = char_len(&doc.text);
        // (start, end, unrounded `en`): `not_en` and `doc_en` are computed from these.
        let units: Vec<(usize, usize, f64)> = match self.kind.unit {
            Unit::Document => vec![(0, doc_len, self.model.english_score(&doc.text))],
            Unit::Paragraph => split_paragraphs(&doc.text, true)
                .into_iter()
                .map(|p| (p.start, p.end, self.model.english_score(p.text)))
                .collect(),
        };
        if !units.is_empty() {
            out.set(
                "en",
                units.iter().map(|&(s, e, p)| Span::new(s, e, p)).collect(),
            );
            if self.kind.negative {
                out.set(
                    "not_en",
                    units
                        .iter()
                        .map(|&(s, e, p)| Span::new(s, e, 1.0 - p))
                        .collect(),
                );
            }
        }
        if self.kind.doc_score {
            push_doc_score(units.iter().map(|&(s, e, p)| (e - s, p)), doc_len, out);
        }
    }
}

/// `doc_en` = Σ (unit length × unrounded `en`) / document length, and `doc_not_en`; both 0.0
/// for an empty document (dolma's `ZeroDivisionError` branch).
fn push_doc_score(en: impl Iterator<Item = (usize, f64)>, doc_len: usize, out: &mut Signals) {
    let (doc_en, doc_not_en) = if doc_len == 0 {
        (0.0, 0.0)
    } else {
        let weighted: f64 = en.fold(0.0, |acc, (len, p)| acc + len as f64 * p);
        let en = weighted / doc_len as f64;
        (en, 1.0 - en)
    };
    out.push("doc_en", Span::new(0, doc_len, doc_en));
    out.push("doc_not_en", Span::new(0, doc_len, doc_not_en));
}

impl Tagger for FastTextLangId {
    fn name(&self) -> &str {
        self.kind.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        if self.kind.labels == Labels::English {
            self.tag_english(doc, out);
            return Ok(());
        }
        // (start, end, label, unrounded score), in dolma's span order.
        let mut spans: Vec<(usize, usize, String, f64)> = Vec::new();
        let doc_len = char_len(&doc.text);
        match self.kind.unit {
            Unit::Document => {
                for (label, p) in self.unit_predictions(&doc.text) {
                    spans.push((0, doc_len, label, p));
                }
            }
            Unit::Paragraph => {
                for para in split_paragraphs(&doc.text, true) {
                    for (label, p) in self.unit_predictions(para.text) {
                        spans.push((para.start, para.end, label, p));
                    }
                }
            }
        }
        // dolma groups spans by label in order of first appearance (positives, then the
        // negatives); grouping here keeps `Signals` lookups per label, not per span.
        let mut grouped = Grouped::default();
        for (start, end, label, p) in &spans {
            grouped.push(label, Span::new(*start, *end, *p));
        }
        if self.kind.negative {
            for (start, end, label, p) in &spans {
                grouped.push(&format!("not_{label}"), Span::new(*start, *end, 1.0 - *p));
            }
        }
        for (signal, spans) in grouped.items {
            out.set(&signal, spans);
        }
        if self.kind.doc_score {
            let en = spans
                .iter()
                .filter(|(_, _, label, _)| label == "en")
                .map(|(s, e, _, p)| (e - s, *p));
            push_doc_score(en, doc_len, out);
        }
        Ok(())
    }

    fn models(&self) -> Vec<PathBuf> {
        vec![self.model_path.clone()]
    }
}

/// Spans grouped by signal, in order of first appearance.
#[derive(Default)]
struct Grouped {
    items: Vec<(String, Vec<Span>)>,
    index: HashMap<String, usize>,
}

impl Grouped {
    fn push(&mut self, signal: &str, span: Span) {
        match self.index.get(signal) {
            Some(&i) => self.items[i].1.push(span),
            None => {
                self.index.insert(signal.to_string(), self.items.len());
                self.items.push((signal.to_string(), vec![span]));
            }
        }
    }
}

/// The line fastText receives for `text`: dolma's `text.lower().replace("\n", " ").strip()`,
/// NULs as spaces (same word split for fastText, and a C string cannot hold them), and the
/// `"\n"` the Python binding appends.
pub fn fasttext_input(text: &str) -> String {
    let mut lower = String::new();
    let mut line = Vec::new();
    fasttext_input_into(text, &mut lower, &mut line);
    // Only ASCII bytes were replaced in valid UTF-8.
    String::from_utf8(line).unwrap_or_default()
}

/// [`fasttext_input`] into reused buffers (`lower` is scratch space); the line is `line`.
pub fn fasttext_input_into(text: &str, lower: &mut String, line: &mut Vec<u8>) {
    lower.clear();
    py_lower_into(text, lower);
    let stripped = py_strip(lower);
    line.clear();
    line.extend_from_slice(stripped.as_bytes());
    for b in line.iter_mut() {
        if *b == b'\n' || *b == 0 {
            *b = b' ';
        }
    }
    line.push(b'\n');
}

/// Per-thread buffers: predictions reuse them instead of allocating.
#[derive(Default)]
struct Buffers {
    lower: String,
    line: Vec<u8>,
    scratch: Scratch,
    preds: Vec<Prediction>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Runs `f` with this thread's buffers (fresh ones if they are already in use); buffers grown
/// by an outsized text are released afterwards.
fn with_buffers<R>(f: impl FnOnce(&mut Buffers) -> R) -> R {
    const KEEP: usize = 1 << 18;
    BUFFERS.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => {
            let r = f(&mut b);
            if b.line.capacity() > KEEP || b.lower.capacity() > KEEP {
                b.line = Vec::new();
                b.lower = String::new();
            }
            b.scratch.trim();
            r
        }
        Err(_) => f(&mut Buffers::default()),
    })
}

/// A loaded model and its labels as dolma names them.
#[derive(Debug)]
pub(crate) struct SharedModel {
    model: Model,
    /// Labels without `__label__` (dolma: `label.replace("__label__", "")`).
    names: Vec<String>,
    /// The label named `en`, when exactly one is.
    en: Option<usize>,
}

impl SharedModel {
    fn new(model: Model) -> SharedModel {
        let names: Vec<String> = model
            .labels()
            .iter()
            .map(|l| l.replace("__label__", ""))
            .collect();
        let mut en = names.iter().enumerate().filter(|(_, n)| *n == "en");
        let en = match (en.next(), en.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        };
        SharedModel { model, names, en }
    }

    /// fastText's `predict(line, k=-1)` on `text` preprocessed as dolma does: every label
    /// fastText returns, most probable first, with its probability.
    pub(crate) fn predict_all(&self, text: &str) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        self.for_each_prediction(text, |name, p| out.push((name.to_string(), p)));
        out
    }

    /// [`SharedModel::predict_all`] without building the list.
    pub(crate) fn for_each_prediction(&self, text: &str, mut f: impl FnMut(&str, f64)) {
        with_buffers(|b| {
            fasttext_input_into(text, &mut b.lower, &mut b.line);
            self.model
                .predict(&b.line, None, 0.0, &mut b.scratch, &mut b.preds);
            for p in &b.preds {
                let name = self.names.get(p.label).map_or("", String::as_str);
                f(name, f64::from(p.prob));
            }
        })
    }

    /// fastText's `predict(text, k)` (`None`: `k=-1`) on `text` exactly as given (the
    /// caller did dolma's preprocessing; NULs and newlines become spaces, as fastText reads
    /// them) and a final newline (the end-of-sentence token `</s>`): each label with its raw
    /// name (`__label__…`) and probability, most probable first.
    pub(crate) fn for_each_raw(&self, text: &str, k: Option<usize>, f: impl FnMut(&str, f64)) {
        self.for_each_raw_line(text, true, k, f);
    }

    /// [`SharedModel::for_each_raw`] without the final newline, so without `</s>`: what
    /// fastText's `predict` gives on a string that does not end a line (datamap-rs's MADLAD
    /// annotator predicts sentences so).
    pub(crate) fn for_each_raw_unterminated(
        &self,
        text: &str,
        k: Option<usize>,
        f: impl FnMut(&str, f64),
    ) {
        self.for_each_raw_line(text, false, k, f);
    }

    fn for_each_raw_line(
        &self,
        text: &str,
        eos: bool,
        k: Option<usize>,
        mut f: impl FnMut(&str, f64),
    ) {
        with_buffers(|b| {
            b.line.clear();
            b.line.extend_from_slice(text.as_bytes());
            for c in b.line.iter_mut() {
                if *c == b'\n' || *c == 0 {
                    *c = b' ';
                }
            }
            if eos {
                b.line.push(b'\n');
            }
            self.model
                .predict(&b.line, k, 0.0, &mut b.scratch, &mut b.preds);
            let labels = self.model.labels();
            for p in &b.preds {
                let name = labels.get(p.label).map_or("", String::as_str);
                f(name, f64::from(p.prob));
            }
        })
    }

    /// The `en` probability among all of fastText's predictions (`k=-1`), or 0.0 when `en` is
    /// not among them, as dolma's English taggers define it; only `en` is computed.
    pub(crate) fn english_score(&self, text: &str) -> f64 {
        match self.en {
            Some(en) => with_buffers(|b| {
                fasttext_input_into(text, &mut b.lower, &mut b.line);
                self.model
                    .predict_label(&b.line, en, 0.0, &mut b.scratch)
                    .map_or(0.0, f64::from)
            }),
            None => self
                .predict_all(text)
                .into_iter()
                .find(|(l, _)| l == "en")
                .map_or(0.0, |(_, p)| p),
        }
    }
}

/// Python's `round(x, 2)`: correctly rounded from the exact binary value, ties to even
/// (Rust's fixed-precision formatting rounds the same way).
fn py_round2(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.2}").parse().unwrap_or(x)
}

/// Loads the model at `path` once per process (per path); later calls share it while any
/// tagger holds it.
pub(crate) fn load_shared(path: &Path) -> Result<Arc<SharedModel>, LangIdError> {
    static CACHE: crate::shared::PerFile<SharedModel> = crate::shared::PerFile::new();
    if !path.is_file() {
        return Err(LangIdError::ModelMissing {
            path: path.to_path_buf(),
        });
    }
    let key = path.canonicalize().map_err(|e| LangIdError::ModelInvalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    CACHE.get_or_load(key, || {
        let model = Model::load(path).map_err(|e| LangIdError::ModelInvalid {
            path: path.to_path_buf(),
            message: match e {
                crate::ftinfer::ModelError::Io { source, .. } => source.to_string(),
                crate::ftinfer::ModelError::Format { source, .. } => source.to_string(),
            },
        })?;
        Ok(SharedModel::new(model))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{run, score, spans};

    /// The model for unit tests: `$LOAM_MODELS_DIR` or the workspace's `models/`.
    /// Absent, it fails the test unless `LOAM_SKIP_MODELS=1` (then the test says SKIPPED and
    /// returns): a plain `cargo test` must not pass without testing anything.
    fn model_path() -> Option<PathBuf> {
        let p = match std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d).join(MODEL_FILE),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../models")
                .join(MODEL_FILE),
        };
        if p.is_file() {
            Some(p)
        } else if std::env::var("LOAM_SKIP_MODELS").as_deref() == Ok("1") {
            eprintln!(
                "SKIPPED: language-ID model {} absent (LOAM_SKIP_MODELS=1)",
                p.display()
            );
            None
        } else {
            panic!(
                "language-ID model {} absent: run {FETCH_SCRIPT} (or set {MODELS_DIR_ENV}), or set LOAM_SKIP_MODELS=1 to skip",
                p.display()
            );
        }
    }

    fn tagger(name: &str) -> Option<FastTextLangId> {
        let p = model_path()?;
        Some(
            FastTextLangId::new(name, &p)
                .expect("known name")
                .expect("model loads"),
        )
    }

    #[test]
    fn names_build_and_unknown_is_none() {
        assert!(build("gopher_v1").is_none());
        assert!(FastTextLangId::new("ft_lang_id_en_doc_v3", Path::new("x")).is_none());
        for name in NAMES {
            assert!(Kind::from_name(name).is_some(), "{name}");
        }
        let Some(p) = model_path() else { return };
        for name in NAMES {
            let t = build_with_model(name, &p).expect("known").expect("loads");
            assert_eq!(t.name(), *name);
            assert_eq!(t.models(), vec![p.clone()]);
        }
    }

    #[test]
    fn missing_model_names_the_fetch_script() {
        let err = build_with_model("ft_lang_id_doc_v1", Path::new("/nonexistent/lid.176.ftz"))
            .expect("known name")
            .err()
            .expect("no model");
        assert!(matches!(err, LangIdError::ModelMissing { .. }));
        let msg = err.to_string();
        assert!(msg.contains("scripts/fetch-models.sh"), "{msg}");
        assert!(msg.contains("/nonexistent/lid.176.ftz"), "{msg}");
    }

    #[test]
    fn invalid_model_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("empty.ftz", &b""[..]),
            ("short.ftz", &b"\xba\x16\x4f\x2f"[..]),
            ("text.ftz", &b"this is not a fastText model at all"[..]),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let err = build_with_model("ft_lang_id_doc_v1", &p)
                .unwrap()
                .err()
                .expect(name);
            assert!(
                matches!(err, LangIdError::ModelInvalid { .. }),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn preprocessing_like_dolma() {
        assert_eq!(fasttext_input("Hello\nWorld"), "hello world\n");
        assert_eq!(fasttext_input("  \n\u{1c}ABC\u{3000}\n"), "abc\n");
        assert_eq!(fasttext_input(""), "\n");
        assert_eq!(fasttext_input("a\0b"), "a b\n");
        // CPython's lower(): İ becomes i + combining dot; final sigma.
        assert_eq!(fasttext_input("İ ΟΔΟΣ"), "i\u{307} οδος\n");
        // \r is kept (fastText splits words on it).
        assert_eq!(fasttext_input("a\r\nb"), "a\r b\n");
    }

    #[test]
    fn round2_like_python() {
        assert_eq!(py_round2(0.125), 0.12);
        assert_eq!(py_round2(0.375), 0.38);
        assert_eq!(py_round2(1.005), 1.0);
        assert_eq!(py_round2(0.98765), 0.99);
    }

    #[test]
    fn english_document() {
        let Some(t) = tagger("ft_lang_id_en_doc_v2") else {
            return;
        };
        let s = run(
            &t,
            "This is a perfectly ordinary English sentence about the weather.",
        );
        let en = score(&s, "en");
        assert!(en > 0.9, "{en}");
        let not_en = score(&s, "not_en");
        assert!((en + not_en - 1.0).abs() < 2e-5);
        let names: Vec<_> = s.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["en", "not_en"]);
    }

    #[test]
    fn all_labels_document() {
        let Some(t) = tagger("ft_lang_id_doc_v1") else {
            return;
        };
        let s = run(&t, "Le chat est sur la table et il dort depuis ce matin.");
        let first = s.iter().next().unwrap();
        assert_eq!(first.0, "fr");
        assert!(first.1[0].score > 0.9);
        // Most probable first, each label once, whole-document spans.
        let mut last = f64::INFINITY;
        for (_, v) in s.iter() {
            assert_eq!(v.len(), 1);
            assert_eq!((v[0].start, v[0].end), (0, 52));
            assert!(v[0].score <= last);
            last = v[0].score;
        }
    }

    #[test]
    fn paragraphs_and_doc_score() {
        let Some(t) = tagger("ft_lang_id_en_paragraph_with_doc_score_v2") else {
            return;
        };
        let text = "The committee will meet again next week to discuss the budget.\n\n\
                    Der Ausschuss wird sich nächste Woche erneut treffen.\n";
        let s = run(&t, text);
        let en = spans(&s, "en");
        assert_eq!(en.len(), 2);
        assert_eq!((en[0].0, en[0].1), (0, 63));
        assert_eq!((en[1].0, en[1].1), (64, 118));
        assert!(en[0].2 > 0.8 && en[1].2 < 0.1, "{en:?}");
        let doc_en = spans(&s, "doc_en");
        assert_eq!((doc_en[0].0, doc_en[0].1), (0, 118));
        let expect = (63.0 * en[0].2 + 54.0 * en[1].2) / 118.0;
        assert!((doc_en[0].2 - expect).abs() < 1e-4);
        let names: Vec<_> = s.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["en", "not_en", "doc_en", "doc_not_en"]);
    }

    #[test]
    fn bad_input_gives_defined_values() {
        let Some(p) = model_path() else { return };
        let taggers: Vec<_> = NAMES
            .iter()
            .map(|n| FastTextLangId::new(n, &p).unwrap().unwrap())
            .collect();
        let by_name = |n: &str| taggers.iter().find(|t| t.name() == n).unwrap();

        // Empty text: fastText still sees "</s>" and predicts; paragraphs: none.
        let s = run(by_name("ft_lang_id_en_doc_v2"), "");
        assert_eq!(spans(&s, "en"), [(0, 0, 0.1245)]);
        assert_eq!(spans(&s, "not_en"), [(0, 0, 0.8755)]);
        let s = run(by_name("ft_lang_id_en_paragraph_v2"), "");
        assert_eq!(s.iter().count(), 0);
        let s = run(by_name("ft_lang_id_en_paragraph_with_doc_score_v2"), "");
        assert_eq!(spans(&s, "doc_en"), [(0, 0, 0.0)]);
        assert_eq!(spans(&s, "doc_not_en"), [(0, 0, 0.0)]);

        // Whitespace only (CPython whitespace, including U+001C and U+3000).
        let ws = " \n\t\u{1c}\n\u{3000}\n";
        let s = run(by_name("ft_lang_id_en_doc_v2"), ws);
        assert_eq!(spans(&s, "en"), [(0, 7, 0.1245)]);
        let s = run(by_name("ft_lang_id_en_paragraph_with_doc_score_v2"), ws);
        assert_eq!(spans(&s, "en"), []);
        assert_eq!(spans(&s, "doc_en"), [(0, 7, 0.0)]);
        assert_eq!(spans(&s, "doc_not_en"), [(0, 7, 1.0)]);

        // Control characters, NUL included, and mixed scripts: defined, in [0, 1].
        for text in [
            "Hello\0world\x0b with\x1b[0m control\x7f characters\r\n\x01\x02",
            "English words, Русский текст, 中文字符, العربية, ελληνικά",
            "\0",
            "\u{feff}\u{200b}\u{fffd}",
        ] {
            for t in &taggers {
                let s = run(t, text);
                for (_, v) in s.iter() {
                    for sp in v {
                        assert!((0.0..=1.0).contains(&sp.score), "{}: {sp:?}", t.name());
                        assert!(sp.end <= char_len(text));
                    }
                }
                if t.name() == "ft_lang_id_en_doc_v2" {
                    assert_eq!(spans(&s, "en").len(), 1);
                }
            }
        }
    }

    #[test]
    fn ten_mb_single_line() {
        let Some(t) = tagger("ft_lang_id_en_paragraph_with_doc_score_v2") else {
            return;
        };
        let line = crate::testutil::ten_mb_line();
        let n = char_len(&line);
        let s = run(&t, &line);
        let en = spans(&s, "en");
        assert_eq!(en.len(), 1);
        assert_eq!((en[0].0, en[0].1), (0, n));
        assert!((0.0..=1.0).contains(&en[0].2));
        assert_eq!(spans(&s, "doc_en")[0].1, n);
    }

    #[test]
    fn shared_model_is_thread_safe() {
        let Some(p) = model_path() else { return };
        let a = FastTextLangId::new("ft_lang_id_doc_v1", &p)
            .unwrap()
            .unwrap();
        let b = FastTextLangId::new("ft_lang_id_en_doc_v2", &p)
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&a.model, &b.model), "one model per process");
        let texts: Vec<String> = (0..64)
            .map(|i| match i % 4 {
                0 => format!("This is English sentence number {i} about trains."),
                1 => format!("Ceci est la phrase numéro {i} sur les trains."),
                2 => format!("Dies ist Satz Nummer {i} über Züge."),
                _ => format!("Это предложение номер {i} о поездах."),
            })
            .collect();
        let serial: Vec<_> = texts.iter().map(|t| a.predict_text(t).unwrap()).collect();
        let a = &a;
        let parallel: Vec<Vec<_>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| texts.iter().map(|t| a.predict_text(t).unwrap()).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for p in parallel {
            assert_eq!(p, serial);
        }
    }
}
