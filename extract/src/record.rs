//! One WARC record → one Dolma document, or a counted reason for skipping it.

use crate::charset::{self, Undecodable};
use crate::date;
use crate::dom;
use crate::text::{self, Mode};
use crate::urlnorm;
use crate::warc::{header, Record};
use loam_pipeline::Document;
use serde_json::{Map, Value};

/// Why a record produced no document. Every skip is counted under [`Skip::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// The payload is not HTML (image, PDF, JSON, …).
    NotHtml,
    /// No `WARC-Payload-Digest` (hence no id) or no `WARC-Target-URI`; dolma skips these too.
    NoDigestOrUri,
    /// The HTTP envelope of a `response` record cannot be parsed.
    BadHttp,
    /// Over the configured size cap.
    TooLarge,
    /// No charset decodes it (binary, or garbled beyond 1% replacement characters).
    Undecodable,
    /// Elements nested deeper than [`dom::MAX_DEPTH`].
    TooDeep,
    /// Nothing left after extraction.
    EmptyText,
    /// A pre- or post-tagger found nothing and the config says to skip such documents.
    TaggerSkip,
}

impl Skip {
    /// Stable name used in counts and reports.
    pub fn name(self) -> &'static str {
        match self {
            Skip::NotHtml => "not_html",
            Skip::NoDigestOrUri => "no_digest_or_uri",
            Skip::BadHttp => "bad_http",
            Skip::TooLarge => "too_large",
            Skip::Undecodable => "undecodable",
            Skip::TooDeep => "too_deep",
            Skip::EmptyText => "empty_text",
            Skip::TaggerSkip => "tagger_skip",
        }
    }
}

/// How records become documents.
#[derive(Debug, Clone)]
pub struct Options {
    /// dolma's `source_name`.
    pub source: String,
    /// Main text or whole visible text.
    pub mode: Mode,
    /// Keep the decoded HTML as `metadata.html` (dolma's `store_html_in_metadata`).
    pub store_html: bool,
    /// Records whose payload is larger are skipped as [`Skip::TooLarge`].
    pub max_payload_bytes: u64,
}

/// What the file's `warcinfo` record said.
#[derive(Debug, Clone, Default)]
pub struct WarcInfo {
    /// `WARC-Date`, in dolma's format.
    pub date: Option<String>,
    /// `WARC-Filename`.
    pub filename: Option<String>,
}

impl WarcInfo {
    /// Reads a `warcinfo` record.
    pub fn from_record(r: &Record) -> WarcInfo {
        WarcInfo {
            date: r.header("WARC-Date").and_then(date::to_dolma),
            filename: r.header("WARC-Filename").map(|s| s.trim().to_string()),
        }
    }
}

/// A converted record: the document, and the decoded HTML for pre-taggers.
pub struct Converted {
    /// The document.
    pub doc: Document,
    /// The decoded page (empty for WET records).
    pub html: String,
}

/// The HTTP envelope of a `response` record: header fields and where the payload starts.
struct Http<'a> {
    headers: Vec<(String, String)>,
    payload: &'a [u8],
}

const MAX_HTTP_HEADER_BYTES: usize = 128 * 1024;

fn parse_http(body: &[u8]) -> Option<Http<'_>> {
    if !body.starts_with(b"HTTP/") {
        return None;
    }
    let limit = body.len().min(MAX_HTTP_HEADER_BYTES);
    let (end, sep) = match memchr::memmem::find(&body[..limit], b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => (memchr::memmem::find(&body[..limit], b"\n\n")?, 2),
    };
    let head = String::from_utf8_lossy(&body[..end]);
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Some(Http {
        headers,
        payload: &body[end + sep..],
    })
}

/// Undoes `Transfer-Encoding: chunked`; `None` when the chunking is broken.
fn dechunk(mut b: &[u8], cap: u64) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    loop {
        let nl = memchr::memchr(b'\n', b)?;
        let line = std::str::from_utf8(&b[..nl]).ok()?.trim();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        b = &b[nl + 1..];
        if size == 0 {
            return Some(out);
        }
        if size > b.len() || (out.len() + size) as u64 > cap {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b
            .strip_prefix(b"\r\n")
            .or_else(|| b.strip_prefix(b"\n"))
            .unwrap_or(b);
    }
}

fn gunzip(b: &[u8], cap: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(b).take(cap + 1);
    d.read_to_end(&mut out).ok()?;
    (out.len() as u64 <= cap).then_some(out)
}

fn mime(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn looks_like_html(b: &[u8]) -> bool {
    let head = &b[..b.len().min(1024)];
    let lower: Vec<u8> = head
        .iter()
        .skip_while(|c| c.is_ascii_whitespace() || **c == 0xef || **c == 0xbb || **c == 0xbf)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    lower.starts_with(b"<!doctype html")
        || lower.starts_with(b"<html")
        || memchr::memmem::find(&lower, b"<html").is_some()
        || memchr::memmem::find(&lower, b"<body").is_some()
        || memchr::memmem::find(&lower, b"<head").is_some()
}

fn is_html(ctype: &str, payload: &[u8]) -> bool {
    match ctype {
        "text/html" | "application/xhtml+xml" | "application/xhtml" => true,
        "" | "application/octet-stream" | "unknown/unknown" | "text/plain" => {
            looks_like_html(payload)
        }
        _ => false,
    }
}

/// dolma's id: the part of `WARC-Payload-Digest` after the algorithm, lower-cased.
pub fn digest_id(d: &str) -> String {
    d.split_once(':')
        .map_or(d, |(_, v)| v)
        .trim()
        .to_ascii_lowercase()
}

fn base_metadata(
    rec: &Record,
    info: &WarcInfo,
    file_name: &str,
    target: &str,
    ctype: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("warc_url".into(), Value::from(target));
    m.insert("url".into(), Value::from(urlnorm::normalize(target)));
    let rec_date = rec.header("WARC-Date").and_then(date::to_dolma);
    m.insert(
        "warc_date".into(),
        Value::from(info.date.clone().or(rec_date).unwrap_or_default()),
    );
    m.insert(
        "warc_filename".into(),
        Value::from(
            info.filename
                .clone()
                .unwrap_or_else(|| file_name.to_string()),
        ),
    );
    m.insert("content_type".into(), Value::from(ctype));
    m.insert("uncompressed_offset".into(), Value::from(rec.offset));
    if let Some(c) = rec.compressed_offset {
        m.insert("warc_record_offset".into(), Value::from(c));
    }
    m
}

fn document(
    id: String,
    text: String,
    source: &str,
    created: String,
    added: String,
    metadata: Map<String, Value>,
) -> Document {
    let mut doc = Document::new(id, text);
    doc.fields.insert("source".into(), Value::from(source));
    doc.fields.insert("version".into(), Value::from("v0"));
    doc.fields.insert("created".into(), Value::from(created));
    doc.fields.insert("added".into(), Value::from(added));
    doc.fields
        .insert("metadata".into(), Value::Object(metadata));
    doc
}

/// Converts a `response`, `resource` or `conversion` (WET) record. `file_name` is the input
/// file's name, used when no `warcinfo` names it.
pub fn convert(
    rec: &Record,
    info: &WarcInfo,
    file_name: &str,
    opts: &Options,
) -> Result<Converted, Skip> {
    let kind = rec.kind();
    let digest = rec
        .header("WARC-Payload-Digest")
        .or_else(|| {
            (kind == "conversion")
                .then(|| rec.header("WARC-Block-Digest"))
                .flatten()
        })
        .filter(|d| !d.trim().is_empty());
    let target = rec
        .header("WARC-Target-URI")
        .map(urlnorm::clean_target)
        .filter(|t| !t.is_empty());
    let (Some(digest), Some(target)) = (digest, target) else {
        return Err(Skip::NoDigestOrUri);
    };
    if rec.oversized {
        return Err(Skip::TooLarge);
    }
    let warc_date = rec
        .header("WARC-Date")
        .and_then(date::to_dolma)
        .unwrap_or_default();
    let id = digest_id(digest);
    if kind == "conversion" {
        let ctype = mime(rec.header("Content-Type").unwrap_or(""));
        let d = charset::decode(&rec.body, Some("utf-8")).map_err(|_| Skip::Undecodable)?;
        let text = d.text.trim().to_string();
        if text.is_empty() {
            return Err(Skip::EmptyText);
        }
        let mut m = base_metadata(rec, info, file_name, target, &ctype);
        if let Some(l) = rec.header("WARC-Identified-Content-Language") {
            m.insert("warc_content_language".into(), Value::from(l));
        }
        return Ok(Converted {
            doc: document(id, text, &opts.source, warc_date.clone(), warc_date, m),
            html: String::new(),
        });
    }
    let (ctype_full, created, mut payload, http_headers) = if kind == "response" {
        let http = parse_http(&rec.body).ok_or(Skip::BadHttp)?;
        let ct = header(&http.headers, "Content-Type")
            .unwrap_or("")
            .to_string();
        let created = header(&http.headers, "Date")
            .and_then(date::to_dolma)
            .unwrap_or_else(|| warc_date.clone());
        (
            ct,
            created,
            std::borrow::Cow::Borrowed(http.payload),
            http.headers,
        )
    } else {
        let ct = rec.header("Content-Type").unwrap_or("").to_string();
        (
            ct,
            warc_date.clone(),
            std::borrow::Cow::Borrowed(&rec.body[..]),
            Vec::new(),
        )
    };
    let ctype = mime(&ctype_full);
    if payload.len() as u64 > opts.max_payload_bytes {
        return Err(Skip::TooLarge);
    }
    if header(&http_headers, "Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        if let Some(d) = dechunk(&payload, opts.max_payload_bytes) {
            payload = d.into();
        }
    }
    if let Some(enc) = header(&http_headers, "Content-Encoding") {
        let enc = enc.trim().to_ascii_lowercase();
        if (enc == "gzip" || enc == "x-gzip") && payload.starts_with(&[0x1f, 0x8b]) {
            payload = gunzip(&payload, opts.max_payload_bytes)
                .ok_or(Skip::Undecodable)?
                .into();
        }
    }
    if !is_html(&ctype, &payload) {
        return Err(Skip::NotHtml);
    }
    let decoded = charset::decode(&payload, charset::charset_param(&ctype_full))
        .map_err(|_: Undecodable| Skip::Undecodable)?;
    let dom = dom::parse(&decoded.text).map_err(|_| Skip::TooDeep)?;
    let text = text::extract(&dom, opts.mode);
    if text.trim().is_empty() {
        return Err(Skip::EmptyText);
    }
    let mut m = base_metadata(rec, info, file_name, target, &ctype);
    m.insert("charset".into(), Value::from(decoded.encoding.name()));
    if opts.store_html {
        m.insert("html".into(), Value::from(decoded.text.as_str()));
    }
    Ok(Converted {
        doc: document(id, text, &opts.source, created, warc_date, m),
        html: decoded.text,
    })
}
