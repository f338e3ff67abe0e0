//! Tokenizers: Hugging Face `tokenizer.json` files by path (or from the local Hugging Face
//! cache, never downloaded) and the tiktoken encodings bundled in the binary, with dolma's
//! rules for special tokens and paragraph segmentation.

use crate::TokensError;
use std::path::{Path, PathBuf};

/// The tiktoken encodings loam carries (vocabularies included, nothing downloaded).
pub const TIKTOKEN_NAMES: &[&str] = &["cl100k_base", "o200k_base", "p50k_base", "r50k_base"];

/// Token ids as written to the arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// `uint8` (vocabularies of at most 256 ids).
    Uint8,
    /// `uint16` (at most 65,536 ids; dolma's default).
    Uint16,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
}

impl Dtype {
    /// The numpy name.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Uint32 => "uint32",
            Dtype::Uint64 => "uint64",
        }
    }

    /// Parses a numpy dtype name.
    pub fn parse(s: &str) -> Option<Dtype> {
        match s {
            "uint8" | "u1" => Some(Dtype::Uint8),
            "uint16" | "u2" => Some(Dtype::Uint16),
            "uint32" | "u4" => Some(Dtype::Uint32),
            "uint64" | "u8" => Some(Dtype::Uint64),
            _ => None,
        }
    }

    /// Bytes per token.
    pub fn width(self) -> usize {
        match self {
            Dtype::Uint8 => 1,
            Dtype::Uint16 => 2,
            Dtype::Uint32 => 4,
            Dtype::Uint64 => 8,
        }
    }

    /// The largest id it holds.
    pub fn max(self) -> u64 {
        match self {
            Dtype::Uint8 => u8::MAX as u64,
            Dtype::Uint16 => u16::MAX as u64,
            Dtype::Uint32 => u32::MAX as u64,
            Dtype::Uint64 => u64::MAX,
        }
    }

    /// The smallest type holding ids below `vocab_size` (numpy's `min_scalar_type(vocab - 1)`,
    /// as dolma chooses it).
    pub fn for_vocab(vocab_size: u64) -> Dtype {
        let top = vocab_size.saturating_sub(1);
        [Dtype::Uint8, Dtype::Uint16, Dtype::Uint32]
            .into_iter()
            .find(|d| top <= d.max())
            .unwrap_or(Dtype::Uint64)
    }
}

enum Engine {
    /// Byte-level BPE files: ids equal to `tokenizers`', an order of magnitude faster (the
    /// `tokenizers` instance is kept for decoding, built when first needed).
    Fast(Box<crate::fastbpe::FastBpe>, Box<Decoder>),
    Hf(Box<tokenizers::Tokenizer>),
    Tiktoken(Box<tiktoken_rs::CoreBPE>),
}

/// The `tokenizers` instance of a fast-path file, for decoding: made from the file's text at
/// load ([`Tokenizer::load`]) or at the first decode ([`Tokenizer::load_for_queries`], where
/// building it would be most of a query's time).
struct Decoder {
    text: Vec<u8>,
    encode_special_tokens: bool,
    made: std::sync::OnceLock<Result<tokenizers::Tokenizer, String>>,
}

impl Decoder {
    fn build(&self) -> Result<tokenizers::Tokenizer, String> {
        let mut tok = tokenizers::Tokenizer::from_bytes(&self.text)
            .map_err(|e| format!("not a tokenizer.json: {e}"))?;
        tok.set_encode_special_tokens(self.encode_special_tokens);
        Ok(tok)
    }

    fn get(&self) -> Result<&tokenizers::Tokenizer, String> {
        self.made
            .get_or_init(|| self.build())
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// `tokenizers`' `get_vocab_size(true)` (0.19.1) read from the file: the number of distinct
/// token strings in the model's vocabulary and the added tokens together.
fn vocab_size_of_json(json: &serde_json::Value) -> Option<u64> {
    let vocab = json["model"]["vocab"].as_object()?;
    let mut n = vocab.len() as u64;
    let mut extra = std::collections::HashSet::new();
    for t in json["added_tokens"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let content = t["content"].as_str()?;
        if !vocab.contains_key(content) && extra.insert(content) {
            n += 1;
        }
    }
    Some(n)
}

/// A loaded tokenizer with dolma's special-token settings.
pub struct Tokenizer {
    engine: Engine,
    /// What the config named (a path or an encoding name).
    pub name: String,
    /// The file read, when it is a file.
    pub file: Option<PathBuf>,
    /// SHA-256 of the tokenizer file (or of the encoding's name for bundled encodings).
    pub sha256: String,
    /// Bytes of the tokenizer file (0 for bundled encodings).
    pub bytes: u64,
    /// Ids the vocabulary has, added tokens included.
    pub vocab_size: u64,
    /// Prepended to every document unless it already starts with it.
    pub bos: Option<u32>,
    /// Appended to every document unless it already ends with it.
    pub eos: Option<u32>,
    /// Split documents at newlines before tokenizing (dolma's `segment_before_tokenization`).
    pub segment: bool,
    /// Whether the pre-tokenizer or normalizer adds a prefix space (segmenting then adds one
    /// to each later paragraph and drops its first token, as dolma does).
    has_prefix: bool,
}

/// Where a tokenizer comes from.
#[derive(Debug, Clone)]
pub struct TokenizerSpec {
    /// `tokenizer.name_or_path`.
    pub name_or_path: String,
    /// `bos_token_id`.
    pub bos: Option<u32>,
    /// `eos_token_id`.
    pub eos: Option<u32>,
    /// `segment_before_tokenization`.
    pub segment: bool,
    /// `encode_special_tokens`: special tokens in text are split like text.
    pub encode_special_tokens: bool,
}

/// The `tokenizer.json` of a Hugging Face model in the local cache (`$HF_HUB_CACHE`,
/// `$HF_HOME/hub` or `~/.cache/huggingface/hub`), at the snapshot `refs/main` names.
fn hf_cache_file(name: &str) -> Option<PathBuf> {
    let hub = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
        })?;
    let dir = hub.join(format!("models--{}", name.replace('/', "--")));
    let rev = std::fs::read_to_string(dir.join("refs/main")).ok()?;
    let file = dir
        .join("snapshots")
        .join(rev.trim())
        .join("tokenizer.json");
    file.is_file().then_some(file)
}

impl Tokenizer {
    /// Loads a tokenizer: a `tokenizer.json` path, a tiktoken encoding name, or a Hugging
    /// Face model name present in the local cache. Every part is built and checked now.
    pub fn load(spec: &TokenizerSpec) -> Result<Tokenizer, TokensError> {
        Self::load_with(spec, false)
    }

    /// [`Tokenizer::load`] for a process that encodes a query or two: on the fast path the
    /// `tokenizers` instance (only needed to decode) is built at the first decode.
    pub fn load_for_queries(spec: &TokenizerSpec) -> Result<Tokenizer, TokensError> {
        Self::load_with(spec, true)
    }

    fn load_with(spec: &TokenizerSpec, lazy: bool) -> Result<Tokenizer, TokensError> {
        let name = spec.name_or_path.as_str();
        let bad = |message: String| TokensError::Tokenizer {
            name: name.to_string(),
            message,
        };
        let mut vocab_of_file = 0u64;
        let (engine, file, sha256, bytes, has_prefix) = if TIKTOKEN_NAMES.contains(&name) {
            use tiktoken_rs as tk;
            let bpe = match name {
                "cl100k_base" => tk::cl100k_base(),
                "o200k_base" => tk::o200k_base(),
                "p50k_base" => tk::p50k_base(),
                _ => tk::r50k_base(),
            }
            .map_err(|e| bad(e.to_string()))?;
            let sha = loam_manifests::digest_bytes(format!("tiktoken:{name}").as_bytes()).sha256;
            (Engine::Tiktoken(Box::new(bpe)), None, sha, 0, false)
        } else {
            let path = if Path::new(name).is_file() {
                PathBuf::from(name)
            } else if let Some(p) = hf_cache_file(name) {
                p
            } else {
                return Err(bad(format!(
                    "not a file, not a bundled encoding ({}), and not in the local Hugging Face cache; loam never downloads: give the path of the tokenizer.json",
                    TIKTOKEN_NAMES.join(", ")
                )));
            };
            let text = std::fs::read(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
            let json: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| bad(format!("{}: not a tokenizer.json: {e}", path.display())))?;
            let sha = loam_manifests::digest_bytes(&text).sha256;
            let fast = if spec.encode_special_tokens {
                None
            } else {
                crate::fastbpe::FastBpe::from_value(&json).map_err(|e| bad(e.to_string()))?
            };
            let has_prefix = has_prefix_space(&json);
            let n_bytes = text.len() as u64;
            let decoder = Decoder {
                text,
                encode_special_tokens: spec.encode_special_tokens,
                made: std::sync::OnceLock::new(),
            };
            let engine = match (fast, vocab_size_of_json(&json)) {
                (Some(f), Some(n)) => {
                    vocab_of_file = n;
                    if !lazy {
                        decoder
                            .get()
                            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
                    }
                    Engine::Fast(Box::new(f), Box::new(decoder))
                }
                _ => {
                    let tok = decoder
                        .build()
                        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
                    Engine::Hf(Box::new(tok))
                }
            };
            (engine, Some(path), sha, n_bytes, has_prefix)
        };
        let vocab_size = match &engine {
            Engine::Hf(t) => t.get_vocab_size(true) as u64,
            Engine::Fast(..) => vocab_of_file,
            // Ordinary ranks plus the special tokens, as `n_vocab` counts them.
            Engine::Tiktoken(_) => match name {
                "cl100k_base" => 100_277,
                "o200k_base" => 200_019,
                "p50k_base" => 50_281,
                _ => 50_257,
            },
        };
        if spec.bos.is_none() && spec.eos.is_none() {
            return Err(bad(
                "neither bos_token_id nor eos_token_id is set: documents would run together (dolma refuses too)".into(),
            ));
        }
        Ok(Tokenizer {
            engine,
            name: name.to_string(),
            file,
            sha256,
            bytes,
            vocab_size,
            bos: spec.bos,
            eos: spec.eos,
            segment: spec.segment,
            has_prefix,
        })
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) -> Result<(), String> {
        match &self.engine {
            Engine::Fast(f, _) => f.encode(text, out),
            Engine::Hf(t) => {
                let enc = t.encode(text, false).map_err(|e| e.to_string())?;
                out.extend_from_slice(enc.get_ids());
            }
            Engine::Tiktoken(b) => out.extend(b.encode_ordinary(text)),
        }
        Ok(())
    }

    /// The ids of a text as it is, appended to `out`: no BOS/EOS, no segmentation (what a
    /// search for a span inside documents needs).
    pub fn encode_ordinary(&self, text: &str, out: &mut Vec<u32>) -> Result<(), String> {
        self.encode_plain(text, out)
    }

    /// The text of some ids (special tokens included); bytes that do not form whole
    /// characters become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        match &self.engine {
            Engine::Fast(_, d) => d.get()?.decode(ids, false).map_err(|e| e.to_string()),
            Engine::Hf(t) => t.decode(ids, false).map_err(|e| e.to_string()),
            Engine::Tiktoken(b) => b
                .decode_bytes(ids)
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .map_err(|e| e.to_string()),
        }
    }

    /// The ids of one document's text (already stripped), with BOS/EOS as dolma adds them:
    /// BOS unless the ids start with it, EOS unless they end with it, nothing for no ids.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) -> Result<(), String> {
        out.clear();
        if self.segment {
            for (i, para) in paragraphs(text).enumerate() {
                if self.has_prefix && i > 0 {
                    // dolma adds a space so the first word is tokenized as inside a text,
                    // then drops the space's token.
                    let start = out.len();
                    self.encode_plain(&format!(" {para}"), out)?;
                    if out.len() > start {
                        out.remove(start);
                    }
                } else {
                    self.encode_plain(para, out)?;
                }
            }
        } else {
            self.encode_plain(text, out)?;
        }
        if out.is_empty() {
            return Ok(());
        }
        if let Some(b) = self.bos {
            if out.first() != Some(&b) {
                out.insert(0, b);
            }
        }
        if let Some(e) = self.eos {
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        Ok(())
    }
}

/// dolma's `tokenizer_has_prefix`: a pre-tokenizer (or one in a sequence) with
/// `add_prefix_space`, or a `Prepend` normalizer (or one in a sequence).
fn has_prefix_space(json: &serde_json::Value) -> bool {
    let pre = &json["pre_tokenizer"];
    let pre_has = if pre["type"] == "Sequence" {
        pre["pretokenizers"]
            .as_array()
            .is_some_and(|v| v.iter().any(|p| p["add_prefix_space"] == true))
    } else {
        pre["add_prefix_space"] == true
    };
    let norm = &json["normalizer"];
    let norm_has = if norm["type"] == "Sequence" {
        norm["normalizers"]
            .as_array()
            .is_some_and(|v| v.iter().any(|n| n["type"] == "Prepend"))
    } else {
        norm["type"] == "Prepend"
    };
    pre_has || norm_has
}

/// dolma's paragraphs for `segment_before_tokenization` (`(^\n*|\n+)[^\n]*`): the first
/// keeps its leading newlines, every later one starts with the newlines before it.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut pos = 0usize;
    let mut first = true;
    std::iter::from_fn(move || {
        if !first && pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos] == b'\n' {
            pos += 1;
        }
        if !first && pos == start {
            return None;
        }
        first = false;
        while pos < bytes.len() && bytes[pos] != b'\n' {
            pos += 1;
        }
        // Newlines are ASCII, so both ends are char boundaries.
        text.get(start..pos)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_as_dolma_splits() {
        fn p(s: &str) -> Vec<&str> {
            paragraphs(s).collect()
        }
        assert_eq!(p("a\n\nb\nc"), vec!["a", "\n\nb", "\nc"]);
        assert_eq!(p("\n\na"), vec!["\n\na"]);
        assert_eq!(p("a\n"), vec!["a", "\n"]);
        assert_eq!(p("abc"), vec!["abc"]);
    }

    #[test]
    fn dtype_by_vocab() {
        assert_eq!(Dtype::for_vocab(256), Dtype::Uint8);
        assert_eq!(Dtype::for_vocab(257), Dtype::Uint16);
        assert_eq!(Dtype::for_vocab(50_280), Dtype::Uint16);
        assert_eq!(Dtype::for_vocab(65_536), Dtype::Uint16);
        assert_eq!(Dtype::for_vocab(100_278), Dtype::Uint32);
    }
}
