//! Running loam's stages: a loam pipeline file (`run`), dolma's tag, dedupe, mix, warc and
//! tokens configs (`dolma`, `dedupe`, `mix`, `warc`, `tokens`) and dolma recipes of several
//! configs (`recipe`), each as resumable units (`loam_pipeline::units`) with a summary
//! ([`outcome::Outcome`]) and a provenance manifest. The `loam` binary parses arguments and
//! prints; everything between is here.

mod bloom_tasks;
pub mod checks;
pub mod dedupe;
pub mod dolma;
pub mod dolma_cli;
pub mod error;
pub mod exact_tasks;
pub mod minhash_tasks;
pub mod mix;
pub mod outcome;
pub mod phases;
pub mod pipeline_config;
pub mod progress;
pub mod recipe;
pub mod reshard;
pub mod run;
mod run_dedupe;
pub mod substr_tasks;
pub mod tokens;
pub mod warc;

pub use error::{Error, Result};
pub use outcome::{Failure, Outcome, StageLine};
pub use run::{Part, RunOptions, Stage};

/// What kind of config a file is (`loam validate --kind`, recipes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A loam pipeline file.
    Pipeline,
    /// A dolma tagger config.
    Tag,
    /// A dolma deduper config.
    Dedupe,
    /// A dolma mixer config.
    Mix,
    /// A dolma warc config.
    Warc,
    /// A dolma tokens config.
    Tokens,
}
