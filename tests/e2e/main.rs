//! End-to-end tests of the `loam` binary on the bundled real documents: one test binary
//! (`e2e`), one module per command area.

#[path = "../common/mod.rs"]
mod common;
mod helpers;
mod json;

mod bloom_tasks;
mod buckets;
mod datamap;
mod dedupe;
mod dolma_cli;
mod exact_tasks;
mod faults;
mod firsthour;
mod frozen;
mod minhash_tasks;
mod mix;
mod one_read;
mod provenance;
mod recipe;
mod reliability;
mod rerun;
mod reshard;
mod run;
mod shuffle;
mod substring;
mod tag;
mod tokens;
mod trace;
mod validate;
