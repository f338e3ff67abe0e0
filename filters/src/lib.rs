//! Taggers for loam: the `loam tag` command, compatible with Ai2 dolma's `dolma tag`.
//!
//! [`config`] holds the typed, validated config that accepts dolma 1.2.1's tagger config files.
//! The rule-based taggers reproduce dolma 1.2.1's Python taggers signal for signal (names,
//! spans in code points, scores rounded to 5 decimals): [`length`], [`gopher`], [`c4`],
//! [`pii`], [`repetitions`], [`tokrep`] (token repetitions); [`fineweb`] adds datatrove's FineWeb quality ratios. [`registry`]
//! builds any of them by its dolma name. Where dolma 1.2.1 has a bug, loam does the right
//! thing by default and the module docs say what dolma does instead
//! (see [`registry::DolmaBugs`] for the switches that reproduce it).
#![warn(missing_docs)]

pub mod abp;
pub mod blingfire;
pub mod c4;
pub mod classifier;
pub mod code;
pub mod config;
pub mod datamap;
pub mod dolma_ft;
pub mod fineweb;
pub mod ftinfer;
pub mod gopher;
mod hashing;
pub mod langid;
pub mod length;
pub mod madlad;
pub mod pii;
pub mod punctuation;
pub mod pytext;
pub mod registry;
pub mod repetitions;
pub mod sampling;
pub mod secrets;
mod shared;
pub mod starcoder;
pub mod tokcount;
pub mod tokrep;
pub mod url;
pub mod urlban;

#[cfg(test)]
pub(crate) mod testutil;
