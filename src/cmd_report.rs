//! `loam report MIX_DIR [MIX_DIR_B] -o report.html`: the HTML report (`loam_report::html`).

use crate::UsageError;
use anyhow::Result;
use std::path::Path;

/// A report error as the binary exits on it: usage problems exit 2.
pub fn error(e: loam_report::Error) -> anyhow::Error {
    if e.is_usage() {
        anyhow::Error::new(UsageError(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// `loam report`.
pub fn report(a: &Path, b: Option<&Path>, out: &Path, threads: usize) -> Result<()> {
    let w = loam_report::html::report(a, b, out, threads).map_err(error)?;
    eprintln!(
        "wrote {} ({} bytes){}",
        out.display(),
        w.bytes,
        if w.manifest {
            ""
        } else {
            " — no manifest: attribute histograms and languages only"
        }
    );
    Ok(())
}
