//! WARC/WET ingestion and HTML text extraction for loam.
//!
//! - [`warc`]: a streaming WARC reader (plain or one gzip member per record), bounded
//!   memory, malformed records reported with offsets and skipped.
//! - [`charset`]: BOM → HTTP header → `<meta>` → statistical detection.
//! - [`dom`] and [`text`]: an arena DOM from html5ever's tokenizer, and main-text / full-text
//!   extraction.
//! - [`record`] and [`shard`]: WARC records → Dolma documents with dolma `warc`'s fields,
//!   every skipped record counted by reason.
//! - [`config`]: dolma's `warc` config.
#![warn(missing_docs)]

pub mod charset;
#[cfg(feature = "pipeline")]
pub mod config;
pub mod date;
pub mod dom;
#[cfg(feature = "pipeline")]
pub mod record;
#[cfg(feature = "pipeline")]
pub mod shard;
pub mod text;
pub mod urlnorm;
pub mod warc;

pub use text::Mode;

/// Extracts text from an HTML string; `None` when the page nests too deeply.
pub fn html_to_text(html: &str, mode: Mode) -> Option<String> {
    dom::parse(html).ok().map(|d| text::extract(&d, mode))
}
