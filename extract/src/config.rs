//! Typed config for `loam warc`, accepting dolma 1.2.1's `dolma warc` config files.
//!
//! Keys, shapes and defaults are those of dolma's `WarcExtractorConfig`
//! (`python/dolma/cli/warc.py`): `documents`, `destination`, `processes`, `ignore_existing`,
//! `debug`, `source_name` (required), `linearizer`, `pre`/`post` (`taggers`, `skip`),
//! `store_html_in_metadata`, `work_dir`, `dryrun`. loam adds two keys of its own, both
//! optional: `extraction` (`main` or `full`) and `max_payload_size_bytes`.

use crate::text::Mode;
pub use loam_pipeline::config::dolma::WorkDirConfig;
use loam_pipeline::config::{index, omega, Problems, Validate};
use serde::{Deserialize, Serialize};

/// Pre- or post-extraction taggers (dolma `TaggerConfig` of `cli/warc.py`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Tagger names.
    #[serde(default, deserialize_with = "omega::req")]
    pub taggers: Vec<String>,
    /// Drop documents for which the taggers return no spans at all.
    #[serde(default, deserialize_with = "omega::req")]
    pub skip: bool,
}

fn default_processes() -> usize {
    1
}
fn default_linearizer() -> String {
    "resiliparse".into()
}
fn default_max_payload() -> u64 {
    DEFAULT_MAX_PAYLOAD_BYTES
}

/// Payloads larger than this are skipped (`too_large`) unless the config says otherwise.
pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 16 * 1024 * 1024;

/// Which text to extract (loam's `extraction` key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Extraction {
    /// Main text, boilerplate removed (what dolma's linearizers give with their defaults).
    #[default]
    Main,
    /// All visible text.
    Full,
}

/// Config of `dolma warc` / `loam warc`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WarcConfig {
    /// WARC/WET paths or globs.
    #[serde(default, deserialize_with = "omega::req")]
    pub documents: Vec<String>,
    /// Output directories: one for all `documents`, or one per entry.
    #[serde(default, deserialize_with = "omega::req")]
    pub destination: Vec<String>,
    /// Parallel processes in dolma; loam uses `-j` threads instead (accepted, unused).
    #[serde(default = "default_processes", deserialize_with = "omega::req")]
    pub processes: usize,
    /// Redo outputs that exist.
    #[serde(default, deserialize_with = "omega::req")]
    pub ignore_existing: bool,
    /// dolma's single-process debug mode (accepted, unused).
    #[serde(default, deserialize_with = "omega::req")]
    pub debug: bool,
    /// `source` of every document.
    #[serde(default, deserialize_with = "omega::opt")]
    pub source_name: Option<String>,
    /// dolma's HTML linearizer: `resiliparse` or `trafilatura`; loam's own extractor runs for
    /// both (see docs/warc.md).
    #[serde(default = "default_linearizer", deserialize_with = "omega::req")]
    pub linearizer: String,
    /// Taggers on the HTML before extraction.
    #[serde(default)]
    pub pre: HookConfig,
    /// Taggers on the text after extraction.
    #[serde(default)]
    pub post: HookConfig,
    /// Keep the decoded HTML in `metadata.html`.
    #[serde(default, deserialize_with = "omega::req")]
    pub store_html_in_metadata: bool,
    /// Scratch directories (accepted, unused).
    #[serde(default)]
    pub work_dir: WorkDirConfig,
    /// Print the config and stop.
    #[serde(default, deserialize_with = "omega::req")]
    pub dryrun: bool,
    /// loam: `main` (default) or `full` (all visible text).
    #[serde(default)]
    pub extraction: Extraction,
    /// loam: larger payloads are skipped as `too_large`.
    #[serde(default = "default_max_payload", deserialize_with = "omega::req")]
    pub max_payload_size_bytes: u64,
}

impl WarcConfig {
    /// The extraction mode.
    pub fn mode(&self) -> Mode {
        match self.extraction {
            Extraction::Main => Mode::Main,
            Extraction::Full => Mode::Full,
        }
    }

    /// Keys that do not change the bytes written (left out of fingerprints).
    pub fn runtime_keys() -> &'static [&'static str] {
        &[
            "processes",
            "ignore_existing",
            "debug",
            "work_dir",
            "dryrun",
        ]
    }
}

impl Validate for WarcConfig {
    fn validate(&self, problems: &mut Problems) {
        if self.documents.is_empty() {
            problems.push("documents", "no WARC paths given");
        }
        for (i, d) in self.documents.iter().enumerate() {
            if d.trim().is_empty() {
                problems.push(index("documents", i), "empty path");
            }
        }
        if self.destination.is_empty() {
            problems.push("destination", "no destination given");
        } else if self.destination.len() != 1 && self.destination.len() != self.documents.len() {
            problems.push(
                "destination",
                format!(
                    "{} entries for {} documents patterns; give one, or one per pattern",
                    self.destination.len(),
                    self.documents.len()
                ),
            );
        }
        match &self.source_name {
            None => problems.push("source_name", "required: the name to put in `source`"),
            Some(s) if s.trim().is_empty() => problems.push("source_name", "empty"),
            _ => {}
        }
        if !matches!(self.linearizer.as_str(), "resiliparse" | "trafilatura") {
            problems.push(
                "linearizer",
                format!(
                    "unknown linearizer {:?}; dolma knows resiliparse and trafilatura",
                    self.linearizer
                ),
            );
        }
        if self.max_payload_size_bytes == 0 {
            problems.push("max_payload_size_bytes", "must be positive");
        }
    }
}
