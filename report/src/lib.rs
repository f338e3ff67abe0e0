//! Looking at results: the HTML report of a mix (`loam report`: [`collect`] gathers, [`html`]
//! renders, [`svg`] draws), dolma's attribute statistics (`loam stat`: [`stat`]), and the
//! parts of `loam manifest verify|diff` and `loam explain` that read mixes through storage
//! ([`mixdir`]: manifests on local disk or in object stores, ledgers).
//!
//! Same mix → same bytes: nothing here depends on time, threads or hash-map order.
#![warn(missing_docs)]

pub mod collect;
pub mod html;
pub mod mixdir;
pub mod stat;
pub mod svg;

use std::path::PathBuf;

/// A problem making a report or reading a mix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mix directory given does not exist.
    #[error("{}: no such directory", dir.display())]
    NoSuchDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// Neither a manifest nor attribute files: nothing to report on.
    #[error(
        "{}: no manifest.json and no attribute files found.\n\
         `loam report` needs either a loam mix directory (with manifest.json, written \
         by `loam run`) or a dolma tree with attributes/<name>/… files (or a directory \
         of attribute files): from attributes alone it draws histograms and languages; \
         the funnel, thresholds, duplicate rates and removed examples need a loam \
         manifest and ledger.",
        dir.display()
    )]
    NothingToReport {
        /// The directory.
        dir: PathBuf,
    },
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] loam_manifests::check::LoadError),
    /// A mix without ledgers where they are needed.
    #[error(
        "{}: this mix has no ledger (made by dolma or an older loam); diff needs ledgers",
        dir.display()
    )]
    NoLedger {
        /// The mix directory.
        dir: PathBuf,
    },
    /// A ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] loam_mixes::ledger::LedgerError),
    /// The worker threads could not start.
    #[error(transparent)]
    Executor(#[from] loam_pipeline::executor::ExecutorError),
    /// The report could not be written.
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl Error {
    /// Whether the problem is in what the user gave (a usage error: the binary exits 2),
    /// rather than in reading or writing data (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::NoSuchDirectory { .. }
                | Error::NothingToReport { .. }
                | Error::Manifest(_)
                | Error::NoLedger { .. }
        )
    }
}
