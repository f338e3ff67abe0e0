//! Shard formats, chosen by file extension only: an unknown extension is an error, never
//! silently read as plain text.

use std::fmt;

/// Stream compression of a JSON-lines shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip, possibly several members concatenated (read with a multi-member decoder).
    Gzip,
    /// Zstandard.
    Zstd,
}

/// The on-disk format of a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`.jsonl`, `.json`, `.ndjson`), maybe compressed.
    Jsonl(Compression),
    /// Apache Parquet with the document fields as columns.
    Parquet,
}

/// A path whose extension names no supported format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported file extension in {path}: expected .jsonl/.json/.ndjson, optionally followed by .gz/.zst, or .parquet")]
pub struct UnknownFormat {
    /// The offending path.
    pub path: String,
}

impl Format {
    /// Detects the format from the file name's extensions.
    pub fn from_path(path: &str) -> Result<Format, UnknownFormat> {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let (stem, compression) = if let Some(s) = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".gzip"))
        {
            (s, Compression::Gzip)
        } else if let Some(s) = name
            .strip_suffix(".zst")
            .or_else(|| name.strip_suffix(".zstd"))
        {
            (s, Compression::Zstd)
        } else {
            (name.as_str(), Compression::None)
        };
        if compression == Compression::None && stem.ends_with(".parquet") {
            return Ok(Format::Parquet);
        }
        if stem.ends_with(".jsonl") || stem.ends_with(".json") || stem.ends_with(".ndjson") {
            return Ok(Format::Jsonl(compression));
        }
        Err(UnknownFormat {
            path: path.to_string(),
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Jsonl(Compression::None) => f.write_str("jsonl"),
            Format::Jsonl(Compression::Gzip) => f.write_str("jsonl+gzip"),
            Format::Jsonl(Compression::Zstd) => f.write_str("jsonl+zstd"),
            Format::Parquet => f.write_str("parquet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension() {
        assert_eq!(
            Format::from_path("a/b/000.json.gz"),
            Ok(Format::Jsonl(Compression::Gzip))
        );
        assert_eq!(
            Format::from_path("x.JSONL.ZST"),
            Ok(Format::Jsonl(Compression::Zstd))
        );
        assert_eq!(
            Format::from_path("x.jsonl"),
            Ok(Format::Jsonl(Compression::None))
        );
        assert_eq!(Format::from_path("x.parquet"), Ok(Format::Parquet));
        assert!(Format::from_path("x.txt").is_err());
        assert!(Format::from_path("x.gz").is_err());
        assert!(Format::from_path("x.parquet.gz").is_err());
    }
}
