//! Streaming shard readers: JSON lines (plain, gzip, zstd) and Parquet.
//!
//! Line-level problems (invalid UTF-8, not JSON, bad `id`/`text`, blank line) are reported
//! with file and line and reading goes on, so one pass finds every bad line; stream-level
//! problems (corrupt or truncated compression, unreadable file) end the shard.

use crate::document::{Document, DocumentError};
use crate::format::{Compression, Format, UnknownFormat};
use crate::parquet_io::ParquetDocReader;
use crate::storage::{Storage, StorageError};
use loam_manifests::{ContentHasher, FileDigest, HashingReader};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

/// Lines longer than this are refused rather than buffered without bound.
pub const MAX_LINE_BYTES: usize = 1 << 30;

/// A problem reading a shard, always naming the file and, where there is one, the line
/// (1-based).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The extension names no supported format.
    #[error(transparent)]
    Format(#[from] UnknownFormat),
    /// The file could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A line that is not valid UTF-8.
    #[error("{path}:{line}: invalid UTF-8 at byte {offset} of the line")]
    InvalidUtf8 {
        /// File.
        path: String,
        /// Line number.
        line: u64,
        /// Byte offset of the first invalid byte within the line.
        offset: usize,
    },
    /// A line that is not a valid Dolma document.
    #[error("{path}:{line}: {error}")]
    Document {
        /// File.
        path: String,
        /// Line number.
        line: u64,
        /// What is wrong.
        error: DocumentError,
    },
    /// An empty or whitespace-only line (it would misalign attribute files).
    #[error("{path}:{line}: blank line")]
    BlankLine {
        /// File.
        path: String,
        /// Line number.
        line: u64,
    },
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("{path}:{line}: line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong {
        /// File.
        path: String,
        /// Line number.
        line: u64,
    },
    /// The compressed stream is corrupt or truncated.
    #[error("{path}: {codec} stream is corrupt or truncated after line {line}: {source}")]
    Decode {
        /// File.
        path: String,
        /// `gzip`, `zstd` or `file`.
        codec: &'static str,
        /// Last complete line before the failure.
        line: u64,
        /// Decoder error.
        #[source]
        source: io::Error,
    },
    /// A file with no documents at all.
    #[error("{path}: empty file: no documents")]
    Empty {
        /// File.
        path: String,
    },
    /// A Parquet file that cannot be read as documents.
    #[error("{path}: parquet: {message}")]
    Parquet {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ReadError {
    /// True when reading cannot go on after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ReadError::InvalidUtf8 { .. }
                | ReadError::Document { .. }
                | ReadError::BlankLine { .. }
        )
    }

    /// The 1-based line the error is about, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReadError::InvalidUtf8 { line, .. }
            | ReadError::Document { line, .. }
            | ReadError::BlankLine { line, .. }
            | ReadError::LineTooLong { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Reads a JSON-lines shard line by line, hashing the stored bytes as they stream by.
pub struct LineReader {
    path: String,
    codec: &'static str,
    inner: BufReader<Box<dyn Read + Send>>,
    hasher: Arc<Mutex<ContentHasher>>,
    buf: Vec<u8>,
    line: u64,
    done: bool,
}

impl LineReader {
    /// Opens a JSON-lines shard; compression follows the extension.
    pub fn open(storage: &dyn Storage, path: &str) -> Result<LineReader, ReadError> {
        let compression = match Format::from_path(path)? {
            Format::Jsonl(c) => c,
            Format::Parquet => {
                return Err(ReadError::Parquet {
                    path: path.into(),
                    message: "not a JSON-lines file".into(),
                })
            }
        };
        let raw = storage.open(path)?;
        let (hashing, hasher) = HashingReader::new(raw);
        let (inner, codec): (Box<dyn Read + Send>, &'static str) = match compression {
            Compression::None => (Box::new(hashing), "file"),
            Compression::Gzip => (
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                    1 << 16,
                    hashing,
                ))),
                "gzip",
            ),
            Compression::Zstd => (
                Box::new(zstd::stream::read::Decoder::new(hashing).map_err(|e| {
                    ReadError::Decode {
                        path: path.into(),
                        codec: "zstd",
                        line: 0,
                        source: e,
                    }
                })?),
                "zstd",
            ),
        };
        Ok(LineReader {
            path: path.to_string(),
            codec,
            inner: BufReader::with_capacity(1 << 17, inner),
            hasher,
            buf: Vec::with_capacity(1 << 12),
            line: 0,
            done: false,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// The next line as UTF-8 text without its line ending, with its 1-based number.
    /// `None` at the end of the file or after a fatal error.
    pub fn next_line(&mut self) -> Option<Result<(u64, &str), ReadError>> {
        if self.done {
            return None;
        }
        self.buf.clear();
        let read = (&mut self.inner)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf);
        match read {
            Err(e) => {
                self.done = true;
                return Some(Err(ReadError::Decode {
                    path: self.path.clone(),
                    codec: self.codec,
                    line: self.line,
                    source: e,
                }));
            }
            Ok(0) => {
                self.done = true;
                if self.line == 0 {
                    return Some(Err(ReadError::Empty {
                        path: self.path.clone(),
                    }));
                }
                return None;
            }
            Ok(_) => {}
        }
        self.line += 1;
        if self.buf.len() > MAX_LINE_BYTES {
            self.done = true;
            return Some(Err(ReadError::LineTooLong {
                path: self.path.clone(),
                line: self.line,
            }));
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        let line = self.line;
        // The SIMD check is the fast path; std's only runs on bad input, for the offset.
        let checked = match simdutf8::basic::from_utf8(&self.buf) {
            Ok(s) => Ok(s),
            Err(_) => std::str::from_utf8(&self.buf),
        };
        match checked {
            Err(e) => Some(Err(ReadError::InvalidUtf8 {
                path: self.path.clone(),
                line,
                offset: e.valid_up_to(),
            })),
            Ok(s) if s.trim().is_empty() => Some(Err(ReadError::BlankLine {
                path: self.path.clone(),
                line,
            })),
            Ok(s) => Some(Ok((line, s))),
        }
    }

    /// Reads what is left of the stored file (so the checksum covers all of it) and returns
    /// its digest.
    pub fn finish(mut self) -> Result<FileDigest, ReadError> {
        let mut sink = [0u8; 1 << 14];
        // Drain decoded data first (trailing members), then any raw bytes the decoder left.
        loop {
            match self.inner.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(ReadError::Decode {
                        path: self.path.clone(),
                        codec: self.codec,
                        line: self.line,
                        source: e,
                    })
                }
            }
        }
        let digest = self
            .hasher
            .lock()
            .map(|h| h.clone().finish())
            .map_err(|_| ReadError::Decode {
                path: self.path.clone(),
                codec: self.codec,
                line: self.line,
                source: io::Error::other("hasher poisoned"),
            })?;
        Ok(digest)
    }
}

/// Streams documents from any supported shard format.
pub enum DocumentReader {
    /// JSON lines.
    Jsonl(LineReader),
    /// Parquet.
    Parquet(Box<ParquetDocReader>),
}

impl DocumentReader {
    /// Opens a shard; the format follows the extension.
    pub fn open(storage: &dyn Storage, path: &str) -> Result<DocumentReader, ReadError> {
        match Format::from_path(path)? {
            Format::Jsonl(_) => Ok(DocumentReader::Jsonl(LineReader::open(storage, path)?)),
            Format::Parquet => Ok(DocumentReader::Parquet(Box::new(ParquetDocReader::open(
                storage, path,
            )?))),
        }
    }

    /// The next document with its 1-based line (row) number.
    pub fn next_document(&mut self) -> Option<Result<(u64, Document), ReadError>> {
        match self {
            DocumentReader::Jsonl(r) => {
                let path = r.path.clone();
                Some(r.next_line()?.and_then(|(line, text)| {
                    Document::from_json(text)
                        .map(|d| (line, d))
                        .map_err(|error| ReadError::Document { path, line, error })
                }))
            }
            DocumentReader::Parquet(r) => r.next_document(),
        }
    }

    /// Finishes reading and returns the stored file's digest.
    pub fn finish(self) -> Result<FileDigest, ReadError> {
        match self {
            DocumentReader::Jsonl(r) => r.finish(),
            DocumentReader::Parquet(r) => r.finish(),
        }
    }
}

impl Iterator for DocumentReader {
    type Item = Result<(u64, Document), ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_document()
    }
}
