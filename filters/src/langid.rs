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
//! **Threads**: one model is loaded per process and path, and shared by every tagger and
//! thread: fastText's C++ `predictLine` is `const` and keeps its scratch state on the stack of
//! each call, and the `fasttext` crate marks its `FastText` `Send + Sync`.
//!
//! **Lone surrogates**: a Python `str` may hold them (from `\ud800` escapes in JSON), and the
//! fastText binding then fails to encode the text; a Rust `String` cannot hold them, so the
//! reader has already replaced them and loam predicts on the replaced text.

use crate::pytext::{char_len, py_lower, py_strip, split_paragraphs};
use fasttext::FastText;
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

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
    let dir = std::env::var_os(MODELS_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"));
    dir.join(MODEL_FILE)
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
    model: Arc<FastText>,
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
        predict_line(&self.model, &fasttext_input(text), -1).map_err(|e| self.predict_error(e))
    }

    fn predict_error(&self, message: String) -> TagError {
        TagError {
            tagger: self.kind.name.to_string(),
            message: format!("fastText predict failed: {message}"),
        }
    }

    /// dolma's per-unit predictions after the tagger's label filter.
    fn unit_predictions(&self, text: &str) -> Result<Vec<(String, f64)>, TagError> {
        Ok(match self.kind.labels {
            Labels::All => self.predict_text(text)?,
            Labels::English => vec![("en".to_string(), self.english_score(text)?)],
            Labels::AllAbove1e2 => self
                .predict_text(text)?
                .into_iter()
                .filter(|(_, p)| *p > 0.01)
                .map(|(l, p)| (l, py_round2(p)))
                .collect(),
        })
    }

    /// The `en` probability among all of fastText's predictions (`k=-1`), or 0.0 when `en` is
    /// not among them, as dolma's English taggers define it.
    ///
    /// One `k=-1` call: a `k=1` call first would give the same value whenever `en` ranks
    /// first (a label's probability does not depend on `k`), but tokenizing the text (char
    /// n-gram lookups) dominates fastText's cost, so the second call for non-English text
    /// costs more than the shortcut saves (measured: documents ~30% slower on the sample).
    fn english_score(&self, text: &str) -> Result<f64, TagError> {
        Ok(self
            .predict_text(text)?
            .into_iter()
            .find(|(l, _)| l == "en")
            .map_or(0.0, |(_, p)| p))
    }
}

impl Tagger for FastTextLangId {
    fn name(&self) -> &str {
        self.kind.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        // (start, end, label, unrounded score), in dolma's span order.
        let mut spans: Vec<(usize, usize, String, f64)> = Vec::new();
        let doc_len = char_len(&doc.text);
        match self.kind.unit {
            Unit::Document => {
                for (label, p) in self.unit_predictions(&doc.text)? {
                    spans.push((0, doc_len, label, p));
                }
            }
            Unit::Paragraph => {
                for para in split_paragraphs(&doc.text, true) {
                    for (label, p) in self.unit_predictions(para.text)? {
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
            let (doc_en, doc_not_en) = if doc_len == 0 {
                (0.0, 0.0)
            } else {
                let weighted: f64 = spans
                    .iter()
                    .filter(|(_, _, label, _)| label == "en")
                    .fold(0.0, |acc, (s, e, _, p)| acc + (e - s) as f64 * p);
                let en = weighted / doc_len as f64;
                (en, 1.0 - en)
            };
            out.push("doc_en", Span::new(0, doc_len, doc_en));
            out.push("doc_not_en", Span::new(0, doc_len, doc_not_en));
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
    let lower = py_lower(text);
    let stripped = py_strip(&lower);
    let mut line = String::with_capacity(stripped.len() + 1);
    for c in stripped.chars() {
        line.push(if c == '\n' || c == '\0' { ' ' } else { c });
    }
    line.push('\n');
    line
}

/// fastText's `predict(line, k, threshold=0.0)` on a line from [`fasttext_input`]:
/// `(label without "__label__", probability)`, most probable first.
pub(crate) fn predict_line(
    model: &FastText,
    line: &str,
    k: i32,
) -> Result<Vec<(String, f64)>, String> {
    let preds = model.predict(line, k, 0.0)?;
    Ok(preds
        .into_iter()
        .map(|p| {
            // dolma: `label.replace("__label__", "")`.
            let label = match p.label.strip_prefix("__label__") {
                Some(rest) if !rest.contains("__label__") => rest.to_string(),
                _ => p.label.replace("__label__", ""),
            };
            (label, f64::from(p.prob))
        })
        .collect())
}

/// Python's `round(x, 2)`: correctly rounded from the exact binary value, ties to even
/// (Rust's fixed-precision formatting rounds the same way).
fn py_round2(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.2}").parse().unwrap_or(x)
}

/// fastText's model file magic number (it reads format versions up to 12).
const FASTTEXT_MAGIC: i32 = 793_712_314;

/// Loads the model at `path` once per process (per path); later calls share it while any
/// tagger holds it.
pub(crate) fn load_shared(path: &Path) -> Result<Arc<FastText>, LangIdError> {
    /// Loaded models by canonical path; an entry dies with the last tagger holding it.
    type Cache = Mutex<Vec<(PathBuf, Weak<FastText>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    if !path.is_file() {
        return Err(LangIdError::ModelMissing {
            path: path.to_path_buf(),
        });
    }
    let key = path.canonicalize().map_err(|e| LangIdError::ModelInvalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    // Loading under the lock: concurrent builders wait for the one load instead of repeating it.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(_, w)| w.strong_count() > 0);
    if let Some(model) = cache
        .iter()
        .find(|(p, _)| *p == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(model);
    }
    let model = Arc::new(load_model(path)?);
    cache.push((key, Arc::downgrade(&model)));
    Ok(model)
}

fn load_model(path: &Path) -> Result<FastText, LangIdError> {
    let invalid = |message: String| LangIdError::ModelInvalid {
        path: path.to_path_buf(),
        message,
    };
    // fastText's loader rejects a wrong magic number with an error, but a file too short
    // for its header can abort the process in C++: check the header here first.
    let mut header = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| invalid(format!("cannot read the fastText header: {e}")))?;
    let magic = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let version = i32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if magic != FASTTEXT_MAGIC || !(0..=12).contains(&version) {
        return Err(invalid("not a fastText model file".to_string()));
    }
    let path_str = path
        .to_str()
        .ok_or_else(|| invalid("the path is not valid UTF-8".to_string()))?;
    let mut model = FastText::new();
    model.load_model(path_str).map_err(invalid)?;
    // A supervised classifier has labels; anything else cannot predict languages.
    let labels = model.get_labels().map_err(invalid)?;
    if labels.0.is_empty() {
        return Err(invalid(
            "the model has no labels (not a classifier)".to_string(),
        ));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{run, score, spans};

    /// The model for unit tests: `$LOAM_MODELS_DIR` or the workspace's `models/`.
    fn model_path() -> Option<PathBuf> {
        let p = match std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d).join(MODEL_FILE),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../models")
                .join(MODEL_FILE),
        };
        if p.is_file() {
            Some(p)
        } else {
            eprintln!(
                "SKIPPED: language-ID model {} absent; run {FETCH_SCRIPT} to enable this test",
                p.display()
            );
            None
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
