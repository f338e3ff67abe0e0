//! Deduplication for loam: the `loam dedupe` command, compatible with Ai2 dolma's
//! `dolma dedupe`, plus MinHash near-duplicates.
//!
//! - [`config`]: the typed, validated config that accepts dolma 1.2.1's deduper config files
//!   (the Python CLI's YAML and the Rust deduper's JSON), plus loam's `dedupe.minhash`.
//! - [`engine`]: document and paragraph (whole or n-gram) dedup over a Bloom filter, writing
//!   dolma's attributes; deterministic survivor whatever the threads; hash-range partitions.
//! - [`bloom_tasks`]: the Bloom engine as phases of units that `--rank/--world` tasks share.
//! - [`bloom`]: the lock-free, region-split Bloom filter and its portable file format.
//! - [`text`]: dolma's word tokenizer and paragraph spans in code points.
//! - [`minhash`]: MinHash near-duplicate clusters.
//! - [`lsh`]: MinHash LSH as tasks: band partitions, components merged in rounds, exact-Jaccard
//!   verification.
//! - [`sa`]: suffix arrays of texts cut into documents (also `loam trace`'s index).
//! - [`substr`]: exact-substring dedup over suffix arrays: repeated byte ranges of at least
//!   `min_length` bytes, every copy after the first in canonical order marked.
//! - [`exact`]: exact (hash-set) document dedup used by `loam run`'s dedupe stage.
//!
//! See `docs/dedup.md` for the differences from dolma and the measurements.

#![warn(missing_docs)]

pub mod bloom;
pub mod bloom_tasks;
pub mod config;
pub mod engine;
pub mod exact;
pub mod lsh;
pub mod minhash;
pub mod sa;
pub mod substr;
pub mod text;
