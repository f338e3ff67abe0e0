//! A streaming WARC reader: plain `.warc`, or `.warc.gz` with one gzip member per record (any
//! member layout decodes; offsets are exact when members align with records, as the WARC
//! standard recommends and Common Crawl does).
//!
//! Memory is bounded: header lines, header blocks and record bodies each have a cap; a body
//! over its cap is drained without being kept. A malformed record (bad version line, bad or
//! missing `Content-Length`, a body that does not end where `Content-Length` says) is
//! reported with its offset and the reader resynchronises on the next `WARC/` line, so one
//! bad record never costs the rest of the file. Only a broken compressed stream or an I/O
//! error ends the file.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

/// Longest header line kept (longer lines are an error).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Largest WARC header block.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// One WARC record, its body in memory.
#[derive(Debug, Clone)]
pub struct Record {
    /// The version line, e.g. `WARC/1.0`.
    pub version: String,
    /// Header fields in file order (names as written).
    pub headers: Vec<(String, String)>,
    /// The record block (`Content-Length` bytes); empty when [`Record::oversized`].
    pub body: Vec<u8>,
    /// The declared `Content-Length`.
    pub content_length: u64,
    /// Offset of the record in the uncompressed stream.
    pub offset: u64,
    /// Offset of the record's gzip member in the file, when the record starts a member.
    pub compressed_offset: Option<u64>,
    /// The body was larger than the reader's cap and was skipped, not kept.
    pub oversized: bool,
}

impl Record {
    /// A header's value (names compare case-insensitively; the first occurrence wins).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// `WARC-Type`, lower-cased (`response`, `resource`, `conversion`, …).
    pub fn kind(&self) -> String {
        self.header("WARC-Type")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// Looks a header up case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What went wrong with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Bytes where a `WARC/` version line should be.
    BadVersionLine,
    /// A header line over [`MAX_LINE_BYTES`], a header block over [`MAX_HEADER_BYTES`], or
    /// a line that is not `Name: value`.
    BadHeader,
    /// `Content-Length` missing or not a number.
    BadContentLength,
    /// The body is not followed by the `CRLF CRLF` separator: `Content-Length` is wrong.
    WrongContentLength,
    /// The stream ended inside the record.
    Truncated,
}

impl ProblemKind {
    /// Stable name used in counts.
    pub fn name(&self) -> &'static str {
        match self {
            ProblemKind::BadVersionLine => "bad_version_line",
            ProblemKind::BadHeader => "bad_header",
            ProblemKind::BadContentLength => "bad_content_length",
            ProblemKind::WrongContentLength => "wrong_content_length",
            ProblemKind::Truncated => "truncated",
        }
    }
}

/// A malformed record, located in the uncompressed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What.
    pub kind: ProblemKind,
    /// Where the record started (uncompressed offset).
    pub offset: u64,
    /// Details.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record at offset {}: {} ({})",
            self.offset,
            self.kind.name(),
            self.message
        )
    }
}

/// An item of the record stream.
#[derive(Debug)]
pub enum Item {
    /// A record.
    Record(Record),
    /// A malformed record, skipped; reading goes on.
    Problem(Problem),
}

/// Counts bytes consumed from a `BufRead`.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.count += amt as u64;
        self.inner.consume(amt);
    }
}

enum GzState<R: BufRead> {
    Between(Counting<R>),
    In(Box<flate2::bufread::GzDecoder<Counting<R>>>),
    Broken,
}

/// Decodes a sequence of gzip members, remembering where each one starts, both in the file
/// and in the decoded stream.
struct GzMembers<R: BufRead> {
    state: GzState<R>,
    decoded: u64,
    /// (uncompressed start, compressed start) of recently started members.
    starts: VecDeque<(u64, u64)>,
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, GzState::Broken) {
                GzState::Broken => {
                    return Err(io::Error::other("gzip stream already failed"));
                }
                GzState::Between(mut inner) => {
                    if inner.fill_buf()?.is_empty() {
                        self.state = GzState::Between(inner);
                        return Ok(0);
                    }
                    if self.starts.len() >= 4096 {
                        self.starts.pop_front();
                    }
                    self.starts.push_back((self.decoded, inner.count));
                    self.state = GzState::In(Box::new(flate2::bufread::GzDecoder::new(inner)));
                }
                GzState::In(mut dec) => match dec.read(buf) {
                    Ok(0) if !buf.is_empty() => {
                        self.state = GzState::Between(dec.into_inner());
                    }
                    Ok(n) => {
                        self.decoded += n as u64;
                        self.state = GzState::In(dec);
                        return Ok(n);
                    }
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

enum Source<R: BufRead> {
    Plain(Counting<R>),
    Gzip(Counting<BufReader<GzMembers<R>>>),
}

impl<R: BufRead> Source<R> {
    fn buf(&mut self) -> &mut dyn BufRead {
        match self {
            Source::Plain(r) => r,
            Source::Gzip(r) => r,
        }
    }
    fn pos(&self) -> u64 {
        match self {
            Source::Plain(r) => r.count,
            Source::Gzip(r) => r.count,
        }
    }
    fn compressed_offset(&mut self, at: u64) -> Option<u64> {
        match self {
            Source::Plain(_) => None,
            Source::Gzip(r) => {
                let starts = &mut r.inner.get_mut().starts;
                while starts.front().is_some_and(|&(u, _)| u < at) {
                    starts.pop_front();
                }
                starts.front().filter(|&&(u, _)| u == at).map(|&(_, c)| c)
            }
        }
    }
}

/// Streams records out of a WARC file.
pub struct WarcReader<R: BufRead> {
    src: Source<R>,
    max_body_bytes: u64,
    done: bool,
    /// The previous record was malformed: skip to the next `WARC/` line.
    resync: bool,
    /// A version line already read (offset, text) whose record comes next.
    pending: Option<(u64, String)>,
    line: Vec<u8>,
}

/// Why reading had to stop.
#[derive(Debug, thiserror::Error)]
#[error("at uncompressed offset {offset}: {source}")]
pub struct FatalError {
    /// Where.
    pub offset: u64,
    /// The I/O or decompression error.
    #[source]
    pub source: io::Error,
}

enum Line {
    Eof,
    TooLong,
    Ok,
}

impl<R: BufRead> WarcReader<R> {
    /// A reader over `input`; gzip is detected from the magic bytes. Bodies over
    /// `max_body_bytes` are skipped (the record comes back with [`Record::oversized`]).
    pub fn new(mut input: R, max_body_bytes: u64) -> io::Result<Self> {
        let gz = {
            let b = input.fill_buf()?;
            b.len() >= 2 && b[0] == 0x1f && b[1] == 0x8b
        };
        let src = if gz {
            Source::Gzip(Counting {
                inner: BufReader::with_capacity(
                    64 * 1024,
                    GzMembers {
                        state: GzState::Between(Counting {
                            inner: input,
                            count: 0,
                        }),
                        decoded: 0,
                        starts: VecDeque::new(),
                    },
                ),
                count: 0,
            })
        } else {
            Source::Plain(Counting {
                inner: input,
                count: 0,
            })
        };
        Ok(WarcReader {
            src,
            max_body_bytes,
            done: false,
            resync: false,
            pending: None,
            line: Vec::with_capacity(256),
        })
    }

    /// Reads one line (up to and including `\n`) into `self.line`, keeping at most
    /// [`MAX_LINE_BYTES`]; the rest of an over-long line is consumed and dropped.
    fn read_line(&mut self) -> io::Result<Line> {
        self.line.clear();
        let mut too_long = false;
        let r = self.src.buf();
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(if self.line.is_empty() && !too_long {
                    Line::Eof
                } else if too_long {
                    Line::TooLong
                } else {
                    Line::Ok
                });
            }
            let (take, end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if !too_long {
                let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
                if take > room {
                    too_long = true;
                } else {
                    self.line.extend_from_slice(&buf[..take]);
                }
            }
            r.consume(take);
            if end {
                return Ok(if too_long { Line::TooLong } else { Line::Ok });
            }
        }
    }

    fn fatal(&self, e: io::Error) -> FatalError {
        FatalError {
            offset: self.src.pos(),
            source: e,
        }
    }

    /// Consumes `n` bytes, keeping them when `keep`; returns how many were available.
    fn take(&mut self, n: u64, keep: Option<&mut Vec<u8>>) -> io::Result<u64> {
        let r = self.src.buf();
        let mut left = n;
        let mut keep = keep;
        while left > 0 {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            if let Some(v) = keep.as_deref_mut() {
                v.extend_from_slice(&buf[..k]);
            }
            r.consume(k);
            left -= k as u64;
        }
        Ok(n - left)
    }

    /// The next record or problem; `None` at the end. An `Err` ends the stream.
    pub fn next_item(&mut self) -> Option<Result<Item, FatalError>> {
        if self.done {
            return None;
        }
        match self.next_inner() {
            Ok(Some(i)) => Some(Ok(i)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn is_version_line(line: &[u8]) -> bool {
        line.starts_with(b"WARC/") && line.len() <= 32 && line.ends_with(b"\n")
    }

    fn next_inner(&mut self) -> Result<Option<Item>, FatalError> {
        if let Some((start, version)) = self.pending.take() {
            return self.read_record(start, version).map(Some);
        }
        // Find the version line: skip blank lines; after a problem, skip anything.
        let start;
        let mut skipped = 0u64;
        let mut first_bad: Option<u64> = None;
        loop {
            let at = self.src.pos();
            let l = self.read_line().map_err(|e| self.fatal(e))?;
            match l {
                Line::Eof => {
                    let resync = std::mem::replace(&mut self.resync, false);
                    return Ok(match first_bad {
                        Some(off) if !resync => Some(Item::Problem(Problem {
                            kind: ProblemKind::BadVersionLine,
                            offset: off,
                            message: format!("{skipped} bytes of non-WARC data before the end"),
                        })),
                        _ => None,
                    });
                }
                Line::TooLong => {}
                Line::Ok => {
                    if Self::is_version_line(&self.line) {
                        start = at;
                        break;
                    }
                    if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                }
            }
            if first_bad.is_none() {
                first_bad = Some(at);
            }
            skipped += self.src.pos() - at;
        }
        let resync = std::mem::replace(&mut self.resync, false);
        let version = String::from_utf8_lossy(&self.line).trim().to_string();
        if let (Some(off), false) = (first_bad, resync) {
            // Junk between records: report it, read the record on the next call.
            self.pending = Some((start, version));
            return Ok(Some(Item::Problem(Problem {
                kind: ProblemKind::BadVersionLine,
                offset: off,
                message: format!("{skipped} bytes of non-WARC data skipped"),
            })));
        }
        self.read_record(start, version).map(Some)
    }

    fn problem(&mut self, kind: ProblemKind, offset: u64, message: String) -> Item {
        self.resync = true;
        Item::Problem(Problem {
            kind,
            offset,
            message,
        })
    }

    fn read_record(&mut self, start: u64, version: String) -> Result<Item, FatalError> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut header_bytes = 0usize;
        loop {
            let l = self.read_line().map_err(|e| self.fatal(e))?;
            match l {
                Line::Eof => {
                    return Ok(self.problem(
                        ProblemKind::Truncated,
                        start,
                        "stream ended inside the header".into(),
                    ))
                }
                Line::TooLong => {
                    return Ok(self.problem(
                        ProblemKind::BadHeader,
                        start,
                        format!("header line over {MAX_LINE_BYTES} bytes"),
                    ))
                }
                Line::Ok => {}
            }
            header_bytes += self.line.len();
            if header_bytes > MAX_HEADER_BYTES {
                return Ok(self.problem(
                    ProblemKind::BadHeader,
                    start,
                    format!("header block over {MAX_HEADER_BYTES} bytes"),
                ));
            }
            let text = String::from_utf8_lossy(&self.line);
            let t = text.trim_end_matches(['\r', '\n']);
            if t.is_empty() {
                if !self.line.ends_with(b"\n") {
                    return Ok(self.problem(
                        ProblemKind::Truncated,
                        start,
                        "stream ended inside the header".into(),
                    ));
                }
                break;
            }
            if t.starts_with([' ', '\t']) {
                // Folded continuation line.
                if let Some((_, v)) = headers.last_mut() {
                    v.push(' ');
                    v.push_str(t.trim());
                    continue;
                }
            }
            match t.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    headers.push((k.trim().to_string(), v.trim().to_string()))
                }
                _ => {
                    return Ok(self.problem(
                        ProblemKind::BadHeader,
                        start,
                        format!("not a header line: {:?}", truncate(t, 80)),
                    ))
                }
            }
        }
        let cl = match header(&headers, "Content-Length").map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                return Ok(self.problem(
                    ProblemKind::BadContentLength,
                    start,
                    "Content-Length is not a number".into(),
                ))
            }
            None => {
                return Ok(self.problem(
                    ProblemKind::BadContentLength,
                    start,
                    "no Content-Length".into(),
                ))
            }
        };
        let compressed_offset = self.src.compressed_offset(start);
        let oversized = cl > self.max_body_bytes;
        let mut body = Vec::new();
        let got = if oversized {
            self.take(cl, None)
        } else {
            body.reserve_exact(cl as usize);
            self.take(cl, Some(&mut body))
        }
        .map_err(|e| self.fatal(e))?;
        if got < cl {
            return Ok(self.problem(
                ProblemKind::Truncated,
                start,
                format!("Content-Length {cl}, stream ended after {got} bytes"),
            ));
        }
        // The block must be followed by CRLF CRLF (bare LF LF tolerated).
        let ok = self.trailer().map_err(|e| self.fatal(e))?;
        if !ok {
            return Ok(self.problem(
                ProblemKind::WrongContentLength,
                start,
                format!("Content-Length {cl} does not end the record"),
            ));
        }
        Ok(Item::Record(Record {
            version,
            headers,
            body,
            content_length: cl,
            offset: start,
            compressed_offset,
            oversized,
        }))
    }

    /// Consumes the record separator; false when something else follows the block. The end
    /// of the stream right after the block is accepted (some writers drop the separator).
    fn trailer(&mut self) -> io::Result<bool> {
        let r = self.src.buf();
        let mut newlines = 0;
        loop {
            let buf = r.fill_buf()?;
            let Some(&b) = buf.first() else {
                return Ok(true);
            };
            match b {
                b'\r' => r.consume(1),
                b'\n' => {
                    r.consume(1);
                    newlines += 1;
                    if newlines == 2 {
                        return Ok(true);
                    }
                }
                // One newline then the next record: tolerated.
                b'W' if newlines >= 1 => return Ok(true),
                _ => return Ok(false),
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> &str {
    s.char_indices()
        .nth(n)
        .and_then(|(i, _)| s.get(..i))
        .unwrap_or(s)
}
