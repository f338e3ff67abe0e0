//! `loam stat`: attribute histograms, compatible with dolma's `stat` (`loam_report::stat`).

use crate::UsageError;
use anyhow::Result;
pub use loam_report::stat::StatArgs;
use loam_report::stat::{self, StatConfig, StatError};

fn error(e: StatError) -> anyhow::Error {
    if e.is_usage() {
        anyhow::Error::new(UsageError(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// `loam stat`: prints the summaries and writes `<report>/summaries.jsonl.gz` when the
/// config names a report directory.
pub fn stat(args: StatArgs, threads: usize) -> Result<()> {
    let cfg = StatConfig::resolve(args).map_err(error)?;
    let files = cfg.files().map_err(error)?;
    let r = stat::compute(&files, cfg.bins, cfg.regex.as_deref(), threads).map_err(error)?;
    print!("{}", stat::format_summaries(&r));
    if let Some(report) = &cfg.report {
        let p = stat::write_summaries(report, &r.summaries).map_err(error)?;
        println!("wrote {}", p.display());
    }
    Ok(())
}
