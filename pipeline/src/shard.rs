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
/// shard. The digest is set only when the whole file was read.
pub fn scan<F>(storage: &dyn Storage, path: &str, mut f: F) -> ScanReport
where
    F: FnMut(u64, &Document) -> Result<(), String>,
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
    while let Some(item) = reader.next_document() {
        match item {
            Ok((line, doc)) => {
                report.documents += 1;
                report.text_bytes += doc.text.len() as u64;
                if let Err(e) = f(line, &doc) {
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
