//! Tokenized training output (`loam tokens`): documents → token arrays in dolma's `tokens`
//! format (OLMo's raw `.npy` memmaps with `.csv.gz` rows `start,end,id,src,loc`) or
//! Megatron-LM's indexed dataset, deterministic for any thread count, every token traceable
//! to its document.
//!
//! Work is split into *parts*: fixed groups of input files (`files_per_process`, default
//! `ring_size`), each a resumable unit writing `part-<k>-<m>.npy` files. Within a part the
//! files are read round-robin from a ring (dolma's scheme), `batch_size` documents at a
//! time are tokenized in parallel and shuffled with a generator seeded by
//! `(seed, part, batch)`, then written in that order. So the arrays depend on the inputs and
//! the config, never on threads or processes (dolma's shuffle depends on its process count
//! and Python's unseeded RNG).

pub mod config;
pub mod fastbpe;
pub mod run;
pub mod tokenizer;
pub mod write;

pub use config::{OutputFormat, TokensConfig};
pub use tokenizer::{Dtype, Tokenizer, TokenizerSpec};

use loam_pipeline::storage::StorageError;

/// What can go wrong while tokenizing.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The tokenizer cannot be loaded or used.
    #[error("tokenizer {name}: {message}")]
    Tokenizer {
        /// What the config named.
        name: String,
        /// Why.
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(StorageError),
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A value does not fit the output format.
    #[error("{0}")]
    Format(String),
    /// Bad documents: every one named with its file and line.
    #[error("{}", .0.join("; "))]
    Input(Vec<String>),
}

impl TokensError {
    pub(crate) fn io(path: &str, source: std::io::Error) -> TokensError {
        TokensError::Io {
            path: path.to_string(),
            source,
        }
    }
}
