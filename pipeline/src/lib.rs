//! The loam engine: Dolma documents and attributes, streaming shard readers and writers
//! (JSON lines, gzip, zstd, Parquet), storage with atomic writes, config loading with
//! field-path errors, resumable run state, and a deterministic parallel executor.
//!
//! Dependencies point one way: `manifests` ← `pipeline` ← {`filters`, `dedup`, `mixes`} ←
//! the `loam` binary.
#![warn(missing_docs)]

pub mod config;
pub mod document;
pub mod executor;
pub mod format;
pub mod layout;
pub mod lock;
#[cfg(feature = "s3")]
pub mod object;
#[cfg(not(feature = "s3"))]
#[path = "object_off.rs"]
pub mod object;
pub mod pargz;
pub mod parquet_io;
pub mod reader;
pub mod runstate;
pub mod shard;
pub mod storage;
pub mod tagger;
pub mod units;
pub mod writer;

pub use document::{AttributeRecord, Document, Span};
pub use format::{Compression, Format};
pub use reader::{DocumentReader, LineReader, ReadError};
pub use storage::{AnyStorage, LocalStorage, Storage};
pub use writer::{DocumentWriter, JsonlWriter, WriteError, WrittenShard};

/// The tool's version, recorded in manifests and fingerprints.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
