//! `loam trace`: an exact-match index over a mix, in the spirit of infini-gram, so a span of
//! a model's output can be found verbatim in its training data, every hit with its
//! provenance (document id, the mix's file and line, the source shard and line and the
//! decision the mix's ledger records).
//!
//! The index is sharded: one suffix array per output file of the mix — per token array of
//! `loam tokens` (what the model saw), or per document file of the mix (its UTF-8 text) when
//! there are no arrays — so building takes the memory of one shard and shards build in
//! parallel, on one machine or split over tasks (`rank`/`world`). A suffix stops at its
//! document's end: no match ever crosses a document boundary. Queries sum counts over
//! shards ([`query::Index::count`]), locate documents ([`query::Index::locate`]) and find the
//! maximal spans of a text that occur verbatim ([`query::Index::spans`]).

pub mod build;
pub mod query;
pub use loam_dedup::sa;
pub mod shard;
pub mod verify;

pub use build::{build, BuildOptions, BuildSummary, Kind, TraceInfo};
pub use query::{Hit, Index, Span};
pub use verify::{verify_index, IndexVerification};

/// What can go wrong building or querying an index; every variant names its file.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An index file is truncated, corrupt or of another version.
    #[error("{path}: corrupt trace index: {message}")]
    Corrupt {
        /// The index file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An input (manifest, token array, metadata, document) is not what the index needs.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A usage problem: no index, a bad query, a bad rank/world.
    #[error("{0}")]
    Usage(String),
}

impl TraceError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> TraceError {
        TraceError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn format(path: impl AsRef<std::path::Path>, message: impl Into<String>) -> Self {
        TraceError::Format {
            path: path.as_ref().display().to_string(),
            message: message.into(),
        }
    }
}
