//! Reading one shard end to end and reporting what happened to it.

use crate::document::Document;
use crate::reader::{DocumentReader, ReadError};
use crate::storage::Storage;
use loam_manifests::FileDigest;

/// At most this many problems are kept per shard for the report; all are counted.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// The outcome of scanning one input shard.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// The input file.
    pub path: String,
    /// Valid documents read.
    pub documents: u64,
    /// UTF-8 bytes of their text.
    pub text_bytes: u64,
    /// Lines that could not be used (each is a problem).
    pub bad_lines: u64,
    /// The first [`MAX_REPORTED_ERRORS`] problems, each naming file and line.
    pub errors: Vec<String>,
    /// A problem that ended the shard early.
    pub fatal: Option<String>,
    /// Digest of the stored input, when it was read to the end.
    pub digest: Option<FileDigest>,
}

impl ScanReport {
    /// True when anything went wrong: the shard's outputs must not be published.
    pub fn failed(&self) -> bool {
        self.bad_lines > 0 || self.fatal.is_some()
    }

    /// Records a problem.
    pub fn record(&mut self, err: String, fatal: bool) {
        if fatal {
            self.fatal = Some(err);
        } else {
            self.bad_lines += 1;
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(err);
            }
        }
    }
}

/// Streams every document of `path` through `f` (with its 1-based line number). Bad lines
/// are counted and reading goes on; `f` returning an error, or a fatal read error, stops the
/// shard. The digest is set only when the whole file was read. ([`scan_blocks`] with no work
/// of its own: on a pool, lines are parsed on every thread.)
pub fn scan<F>(storage: &dyn Storage, path: &str, mut f: F) -> ScanReport
where
    F: FnMut(u64, &Document) -> Result<(), String>,
{
    scan_blocks(storage, path, |_, _| Ok(()), |line, doc, ()| f(line, doc))
}

/// Documents per block of [`scan_blocks`], and the raw bytes that end a block early.
const BLOCK_LINES: usize = 1024;
const BLOCK_BYTES: usize = 4 << 20;

/// A document line as read, before parsing (JSON lines), or already parsed (Parquet).
enum Raw {
    Line(u64, String),
    Parsed(u64, Document),
    Bad(ReadError),
}

/// Reads the next block: up to [`BLOCK_LINES`] items or [`BLOCK_BYTES`] of text; a fatal
/// read error ends it (and the reading).
fn read_block(reader: &mut DocumentReader, done: &mut bool) -> Vec<Raw> {
    let mut block = Vec::new();
    let mut bytes = 0usize;
    while !*done && block.len() < BLOCK_LINES && bytes < BLOCK_BYTES {
        // Each item with its text's size.
        let item = match reader {
            DocumentReader::Jsonl(r) => r
                .next_line()
                .map(|x| x.map(|(line, text)| (text.len(), Raw::Line(line, text.to_string())))),
            DocumentReader::Parquet(_) => reader
                .next_document()
                .map(|x| x.map(|(line, d)| (d.text.len(), Raw::Parsed(line, d)))),
        };
        match item {
            None => *done = true,
            Some(Ok((n, raw))) => {
                bytes += n;
                block.push(raw);
            }
            Some(Err(e)) => {
                *done |= e.is_fatal();
                block.push(Raw::Bad(e));
            }
        }
    }
    block
}

/// [`scan`] with the per-document work split in two: `work` runs on any thread, a block of
/// lines at a time in parallel (when called on a rayon pool, so a shard much larger than the
/// others does not hold its stage to one core), and `commit` takes each document and what
/// `work` made of it in line order. The same report, and the same calls to `commit` in the
/// same order, as [`scan`] with `f = work` then `commit`: a `work` or `commit` error stops the
/// shard at that document.
pub fn scan_blocks<T, W, C>(storage: &dyn Storage, path: &str, work: W, mut commit: C) -> ScanReport
where
    T: Send,
    W: Fn(u64, &Document) -> Result<T, String> + Sync,
    C: FnMut(u64, &Document, T) -> Result<(), String>,
{
    let mut report = ScanReport {
        path: path.to_string(),
        ..Default::default()
    };
    let mut reader = match DocumentReader::open(storage, path) {
        Ok(r) => r,
        Err(e) => {
            report.record(e.to_string(), true);
            return report;
        }
    };
    // Off a pool, everything on the calling thread: never on rayon's global pool.
    let parallel = rayon::current_thread_index().is_some();
    let one = |raw: Raw| -> Result<(u64, Document, Result<T, String>), ReadError> {
        let (line, doc) = match raw {
            Raw::Bad(e) => return Err(e),
            Raw::Parsed(line, d) => (line, d),
            Raw::Line(line, text) => match Document::from_json(&text) {
                Ok(d) => (line, d),
                Err(error) => {
                    let path = path.to_string();
                    return Err(ReadError::Document { path, line, error });
                }
            },
        };
        let made = work(line, &doc);
        Ok((line, doc, made))
    };
    let process = |block: Vec<Raw>| -> Vec<_> {
        if parallel && block.len() > 1 {
            use rayon::prelude::*;
            block.into_par_iter().with_max_len(16).map(one).collect()
        } else {
            block.into_iter().map(one).collect()
        }
    };
    let mut done = false;
    let mut block = read_block(&mut reader, &mut done);
    while !block.is_empty() {
        // The next block is read while this one is worked on.
        let (next, made) = if parallel {
            rayon::join(
                || read_block(&mut reader, &mut done),
                || process(std::mem::take(&mut block)),
            )
        } else {
            let made = process(std::mem::take(&mut block));
            (read_block(&mut reader, &mut done), made)
        };
        for item in made {
            match item {
                Ok((line, doc, made)) => {
                    report.documents += 1;
                    report.text_bytes += doc.text.len() as u64;
                    if let Err(e) = made.and_then(|t| commit(line, &doc, t)) {
                        report.record(e, true);
                        return report;
                    }
                }
                Err(e) => {
                    let fatal = e.is_fatal();
                    report.record(e.to_string(), fatal);
                    if fatal {
                        return report;
                    }
                }
            }
        }
        block = next;
    }
    match reader.finish() {
        Ok(d) => report.digest = Some(d),
        Err(e) => report.record(e.to_string(), true),
    }
    report
}

/// Reads a whole shard into memory (for tests and small tools), failing on the first
/// problem.
pub fn read_documents(storage: &dyn Storage, path: &str) -> Result<Vec<Document>, ReadError> {
    let mut out = Vec::new();
    let mut r = DocumentReader::open(storage, path)?;
    for item in r.by_ref() {
        out.push(item?.1);
    }
    r.finish()?;
    Ok(out)
}
