//! Taggers for loam: the `loam tag` command, compatible with Ai2 dolma's `dolma tag`.
//!
//! [`config`] holds the typed, validated config that accepts dolma 1.2.1's tagger config files.

#![warn(missing_docs)]

pub mod config;
