//! Bloom-filter deduplication for loam: the `loam dedupe` command, compatible with Ai2
//! dolma's `dolma dedupe`.
//!
//! [`config`] holds the typed, validated config that accepts dolma 1.2.1's deduper config
//! files (the Python CLI's YAML and the Rust deduper's JSON).

#![warn(missing_docs)]

pub mod bloom;
pub mod config;
pub mod engine;
pub mod exact;
pub mod minhash;
pub mod text;
