//! Config of `loam tokens -c`, accepting dolma 1.2.1's `dolma tokens` config files
//! (`TokenizationConfig`, `python/dolma/cli/tokenizer.py`), with loam's `output_format`.

use loam_pipeline::config::dolma::WorkDirConfig;
use loam_pipeline::config::{join, omega, Problems, Validate};
use serde::{Deserialize, Serialize};

fn default_processes() -> usize {
    1
}
fn default_batch_size() -> usize {
    10_000
}
fn default_ring_size() -> usize {
    8
}
fn default_max_size() -> u64 {
    1024 * 1024 * 1024
}
fn default_seed() -> u64 {
    3920
}
fn default_true() -> bool {
    true
}
fn default_text() -> String {
    "text".into()
}
fn default_str() -> String {
    "str".into()
}
fn default_id() -> Option<String> {
    Some("id".into())
}

/// What the token arrays are written as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// dolma's (OLMo's): raw memmap `.npy` files without a header, each with a `.csv.gz` of
    /// `start,end,id,src,loc` rows.
    #[default]
    Npy,
    /// Megatron-LM's indexed dataset (`.bin` + `.idx`, `MMIDIDX` version 1), plus the same
    /// `.csv.gz` rows for provenance.
    Megatron,
}

/// dolma's `TokenizerConfig`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSection {
    /// A `tokenizer.json` path, a bundled tiktoken encoding (`cl100k_base`, …), or a Hugging
    /// Face model name found in the local cache.
    #[serde(default, deserialize_with = "omega::opt")]
    pub name_or_path: Option<String>,
    /// Prepended to each document.
    #[serde(default, deserialize_with = "omega::opt")]
    pub bos_token_id: Option<u64>,
    /// Appended to each document.
    #[serde(default, deserialize_with = "omega::opt")]
    pub eos_token_id: Option<u64>,
    /// Padding id (recorded; dolma writes no padding).
    #[serde(default, deserialize_with = "omega::opt")]
    pub pad_token_id: Option<u64>,
    /// Tokenize paragraph by paragraph (dolma's workaround for slow tokenizers).
    #[serde(default, deserialize_with = "omega::req")]
    pub segment_before_tokenization: bool,
    /// dolma reloads its tokenizer every N documents against a memory leak; loam has no
    /// leak to work around and ignores it.
    #[serde(default, deserialize_with = "omega::req")]
    pub refresh: i64,
    /// Fast (Rust) tokenizer: loam has only that one; `false` is refused.
    #[serde(default = "default_true", deserialize_with = "omega::req")]
    pub fast: bool,
    /// Split special tokens in text like ordinary text.
    #[serde(default, deserialize_with = "omega::req")]
    pub encode_special_tokens: bool,
}

/// dolma's `FieldsConfig`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsSection {
    /// Field holding the text (dotted for nested fields).
    #[serde(default = "default_text", deserialize_with = "omega::req")]
    pub text_field_name: String,
    /// Its type: `str`.
    #[serde(default = "default_str", deserialize_with = "omega::req")]
    pub text_field_type: String,
    /// Field holding the id; `null`: `<sha256 of the path>-<line>` as dolma names them.
    #[serde(default = "default_id", deserialize_with = "omega::opt")]
    pub id_field_name: Option<String>,
    /// Its type: `str` or `int`.
    #[serde(default = "default_str", deserialize_with = "omega::req")]
    pub id_field_type: String,
}

impl Default for FieldsSection {
    fn default() -> Self {
        FieldsSection {
            text_field_name: default_text(),
            text_field_type: default_str(),
            id_field_name: default_id(),
            id_field_type: default_str(),
        }
    }
}

/// Config of `dolma tokens` (dolma `TokenizationConfig`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    /// Document paths or globs.
    #[serde(default, deserialize_with = "omega::req")]
    pub documents: Vec<String>,
    /// Output directory.
    #[serde(default, deserialize_with = "omega::opt")]
    pub destination: Option<String>,
    /// Deprecated form of `tokenizer.name_or_path` (dolma then takes the last id as EOS).
    #[serde(default, deserialize_with = "omega::opt")]
    pub tokenizer_name_or_path: Option<String>,
    /// The tokenizer.
    #[serde(default)]
    pub tokenizer: Option<TokenizerSection>,
    /// Worker threads when `--threads` is not given; never changes the output.
    #[serde(default = "default_processes", deserialize_with = "omega::req")]
    pub processes: usize,
    /// Input files per output part (a resumable unit); default `ring_size`.
    #[serde(default, deserialize_with = "omega::opt")]
    pub files_per_process: Option<usize>,
    /// Documents read (round-robin over the ring of open files) and shuffled together
    /// before they are written.
    #[serde(default = "default_batch_size", deserialize_with = "omega::req")]
    pub batch_size: usize,
    /// Files of a part read at once.
    #[serde(default = "default_ring_size", deserialize_with = "omega::req")]
    pub ring_size: usize,
    /// Field names.
    #[serde(default)]
    pub fields: FieldsSection,
    /// Pick the next document's file in proportion to file sizes instead of round-robin.
    #[serde(default, deserialize_with = "omega::req")]
    pub sample_ring_prop: bool,
    /// Tokens per output file (dolma's name says bytes; its writer counts tokens): a file
    /// holds fewer than this many, unless one document alone is longer.
    #[serde(default = "default_max_size", deserialize_with = "omega::req")]
    pub max_size: u64,
    /// numpy dtype of the arrays; by default the smallest that holds the vocabulary.
    #[serde(default, deserialize_with = "omega::opt")]
    pub dtype: Option<String>,
    /// dolma's single-process mode; loam's output does not depend on it.
    #[serde(default, deserialize_with = "omega::req")]
    pub debug: bool,
    /// Seed of the shuffle.
    #[serde(default = "default_seed", deserialize_with = "omega::req")]
    pub seed: u64,
    /// Scratch directories (accepted; loam streams and needs none).
    #[serde(default)]
    pub work_dir: WorkDirConfig,
    /// Check the config and inputs, write nothing.
    #[serde(default, deserialize_with = "omega::req")]
    pub dryrun: bool,
    /// `npy` (dolma's format, default) or `megatron` (a loam extension).
    #[serde(default)]
    pub output_format: OutputFormat,
}

impl TokensConfig {
    /// The tokenizer name or path, from either form.
    pub fn tokenizer_name(&self) -> Option<&str> {
        self.tokenizer
            .as_ref()
            .and_then(|t| t.name_or_path.as_deref())
            .or(self.tokenizer_name_or_path.as_deref())
    }

    /// Input files per part.
    pub fn files_per_part(&self) -> usize {
        self.files_per_process.unwrap_or(self.ring_size).max(1)
    }
}

impl Validate for TokensConfig {
    fn validate(&self, problems: &mut Problems) {
        if self.documents.is_empty() {
            problems.push(
                "documents",
                "at least one document path or glob is required",
            );
        }
        if self.destination.as_deref().is_none_or(str::is_empty) {
            problems.push("destination", "required: the directory the arrays go to");
        }
        if self.tokenizer_name().is_none() {
            problems.push(
                "tokenizer.name_or_path",
                "required: a tokenizer.json path or a bundled encoding (cl100k_base, o200k_base, p50k_base, r50k_base)",
            );
        }
        if let Some(t) = &self.tokenizer {
            for (k, v) in [
                ("bos_token_id", t.bos_token_id),
                ("eos_token_id", t.eos_token_id),
                ("pad_token_id", t.pad_token_id),
            ] {
                if v.is_some_and(|v| v > u32::MAX as u64) {
                    problems.push(join("tokenizer", k), "ids above 2^32 - 1 are not supported");
                }
            }
            if !t.fast {
                problems.push(
                    "tokenizer.fast",
                    "loam has only fast (Rust) tokenizers; slow ones need Python's transformers",
                );
            }
            if t.bos_token_id.is_none()
                && t.eos_token_id.is_none()
                && self.tokenizer_name_or_path.is_none()
            {
                problems.push(
                    "tokenizer",
                    "set eos_token_id or bos_token_id (or both): without them documents run together",
                );
            }
        }
        if let Some(d) = &self.dtype {
            if crate::tokenizer::Dtype::parse(d).is_none() {
                problems.push(
                    "dtype",
                    format!("{d:?} is not one of uint8, uint16, uint32, uint64"),
                );
            }
        }
        if self.batch_size == 0 {
            problems.push("batch_size", "must be at least 1");
        }
        if self.ring_size == 0 {
            problems.push("ring_size", "must be at least 1");
        }
        if self.max_size < 2 {
            problems.push("max_size", "must be at least 2 tokens");
        }
        if self.fields.text_field_type != "str" {
            problems.push(
                join("fields", "text_field_type"),
                format!(
                    "{:?}: only str texts can be tokenized",
                    self.fields.text_field_type
                ),
            );
        }
        if !["str", "int"].contains(&self.fields.id_field_type.as_str()) {
            problems.push(
                join("fields", "id_field_type"),
                format!("{:?} is not str or int", self.fields.id_field_type),
            );
        }
    }
}
