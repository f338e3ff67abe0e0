//! Mixing for loam: the `loam mix` command, compatible with Ai2 dolma's `dolma mix`.
//!
//! [`config`] holds the typed, validated config that accepts dolma 1.2.1's mixer config files
//! (the Python CLI's YAML and the Rust mixer's JSON).

#![warn(missing_docs)]

pub mod align;
pub mod buckets;
pub mod config;
pub mod dolma_mix;
pub mod filter;
pub mod index;
pub mod jq_needs;
pub mod ledger;
pub mod mix;
pub mod replace;
pub mod rules;
pub mod shuffle;
pub mod tokens;
