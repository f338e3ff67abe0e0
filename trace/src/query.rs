//! Queries over a built index: exact counts, located documents with their provenance, and
//! the maximal spans of a text that occur verbatim.

use crate::build::{read_manifest, Kind, TraceInfo, TRACE_JSON};
use crate::shard::Shard;
use crate::TraceError;
use loam_mixes::ledger::read_ledger_row;
use loam_mixes::mix::index_path;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Symbols of context shown on each side of a match (bytes for text, tokens for arrays).
const CONTEXT_BYTES: usize = 80;
const CONTEXT_TOKENS: usize = 16;
/// Suffix-array rows looked at per shard to find distinct documents.
const SCAN_LIMIT: usize = 100_000;

/// An opened index: every shard's header, lengths and document table checked; the blocks a
/// query reads are checked against their checksums as it reads them.
pub struct Index {
    dir: PathBuf,
    info: TraceInfo,
    shards: Vec<Shard>,
    tokenizer: Option<loam_tokens::Tokenizer>,
}

/// One located occurrence, with where its document came from.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Document id.
    pub id: String,
    /// The indexed file holding it (the mix's document file, or the token array).
    pub shard: String,
    /// The file the document was read from: the mix's document file (text index), or the
    /// input the arrays' rows name (token index).
    pub file: String,
    /// Its 1-based line in `file`.
    pub line: u64,
    /// Where the match starts in the document (bytes, or tokens).
    pub offset: u64,
    /// Context before the match.
    pub before: String,
    /// The matched text.
    pub matched: String,
    /// Context after the match.
    pub after: String,
    /// The mix's ledger about the document: source shard, line, decision (as `loam
    /// explain` prints them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ledger: Vec<LedgerEntry>,
}

/// One ledger row of a located document.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    /// The input (source) shard.
    pub source: String,
    /// The document's 1-based line in it.
    pub line: u64,
    /// What the mix did (`kept`, `dropped`, …).
    pub decision: String,
    /// The rule that decided, when not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Copies written to the mix.
    pub copies: u32,
}

/// A maximal span of a query found verbatim.
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    /// First symbol of the query in the span (byte or token).
    pub start: usize,
    /// One past its last symbol.
    pub end: usize,
    /// The span's text.
    pub text: String,
    /// Occurrences in the whole index.
    pub count: u64,
    /// Up to the asked number of documents holding it.
    pub documents: Vec<Hit>,
}

/// The answer to one query, as `loam trace` prints it (`Display`) or as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// `tokens` or `text`.
    pub kind: Kind,
    /// Symbols of the query (tokens, or bytes).
    pub query_symbols: usize,
    /// The query's token ids (token index only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_tokens: Option<Vec<u32>>,
    /// Occurrences of the whole query.
    pub count: u64,
    /// Maximal spans, longest first (absent for a count query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spans: Option<Vec<Span>>,
}

impl Index {
    /// Opens the index in `dir` (its `trace.json` and every shard, checked).
    pub fn open(dir: &Path) -> Result<Index, TraceError> {
        let file = dir.join(TRACE_JSON);
        let bytes = std::fs::read(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TraceError::Usage(format!(
                "{}: no trace index (build it with `loam trace build MIX_DIR`)",
                file.display()
            )),
            _ => TraceError::io(&file, e),
        })?;
        let info: TraceInfo = serde_json::from_slice(&bytes).map_err(|e| TraceError::Corrupt {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        let mut shards = Vec::with_capacity(info.shards.len());
        for s in &info.shards {
            let path = dir.join(&s.index);
            let shard = Shard::open(&path)?;
            if shard.len() as u64 != s.symbols || shard.meta.source != s.source {
                return Err(TraceError::Corrupt {
                    path: path.display().to_string(),
                    message: format!("does not match {}", file.display()),
                });
            }
            shards.push(shard);
        }
        let tokenizer = match &info.tokenizer {
            None => None,
            Some(t) => {
                let spec = loam_tokens::TokenizerSpec {
                    name_or_path: t.name_or_path.clone(),
                    bos: None,
                    // Only for the loader's check: queries are encoded without specials.
                    eos: Some(0),
                    segment: false,
                    encode_special_tokens: false,
                };
                let tok = loam_tokens::Tokenizer::load_for_queries(&spec)
                    .map_err(|e| TraceError::format(&file, e.to_string()))?;
                if tok.sha256 != t.sha256 {
                    return Err(TraceError::format(
                        &file,
                        format!(
                            "tokenizer {} has changed since the arrays were made (SHA-256 {}, recorded {})",
                            t.name_or_path, tok.sha256, t.sha256
                        ),
                    ));
                }
                Some(tok)
            }
        };
        Ok(Index {
            dir: dir.to_path_buf(),
            info,
            shards,
            tokenizer,
        })
    }

    /// What `trace.json` says.
    pub fn info(&self) -> &TraceInfo {
        &self.info
    }

    /// The opened shards, in order.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The symbols of a query: its UTF-8 bytes, or its tokens (no BOS/EOS) with the
    /// tokenizer the arrays were made with.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TraceError> {
        match &self.tokenizer {
            None => Ok(text.bytes().map(u32::from).collect()),
            Some(t) => {
                let mut out = Vec::new();
                t.encode_ordinary(text, &mut out)
                    .map_err(|e| TraceError::Usage(format!("cannot tokenize the query: {e}")))?;
                Ok(out)
            }
        }
    }

    /// The text of some symbols.
    pub fn decode(&self, symbols: &[u32]) -> String {
        match &self.tokenizer {
            None => {
                let bytes: Vec<u8> = symbols.iter().map(|&s| s as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Some(t) => t.decode(symbols).unwrap_or_else(|_| format!("{symbols:?}")),
        }
    }

    /// Exact occurrences of `q` in the index (0 for an empty `q`).
    pub fn count(&self, q: &[u32]) -> Result<u64, TraceError> {
        let mut n = 0u64;
        for s in &self.shards {
            n += s.find(q)?.len() as u64;
        }
        Ok(n)
    }

    fn occurs(&self, q: &[u32]) -> Result<bool, TraceError> {
        for s in &self.shards {
            if !s.find(q)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Up to `max_docs` distinct documents holding `q` (shards in order, then suffix
    /// order), with context.
    pub fn locate(&self, q: &[u32], max_docs: usize) -> Result<Vec<Hit>, TraceError> {
        let mut hits = Vec::new();
        for s in &self.shards {
            if hits.len() >= max_docs {
                break;
            }
            let mut seen = BTreeSet::new();
            for row in s.find(q)?.take(SCAN_LIMIT) {
                if hits.len() >= max_docs {
                    break;
                }
                let p = s.suffix(row)?;
                let d = s.document_of(p)?;
                if seen.insert(d) {
                    hits.push(self.hit(s, d, p, q.len())?);
                }
            }
        }
        Ok(hits)
    }

    fn hit(&self, s: &Shard, d: usize, p: usize, len: usize) -> Result<Hit, TraceError> {
        let (a, b) = (s.start(d)? as usize, s.start(d + 1)? as usize);
        let ctx = if self.tokenizer.is_some() {
            CONTEXT_TOKENS
        } else {
            CONTEXT_BYTES
        };
        let (mut from, mut to) = (p.saturating_sub(ctx).max(a), (p + len + ctx).min(b));
        let text = |x: usize, y: usize| -> Result<String, TraceError> {
            Ok(if self.tokenizer.is_some() {
                self.decode(&s.symbols(x, y)?)
            } else {
                String::from_utf8_lossy(s.symbol_bytes(x, y)?).into_owned()
            })
        };
        if self.tokenizer.is_none() {
            // Whole characters of context.
            while from < p && (s.symbol(from)? & 0xC0) == 0x80 {
                from += 1;
            }
            while to > p + len && to < b && (s.symbol(to)? & 0xC0) == 0x80 {
                to -= 1;
            }
        }
        let m = s.document(d)?;
        Ok(Hit {
            id: m.id.clone(),
            shard: s.meta.source.clone(),
            file: m.src.clone(),
            line: m.line,
            offset: (p - a) as u64,
            before: text(from, p)?,
            matched: text(p, p + len)?,
            after: text(p + len, to)?,
            ledger: Vec::new(),
        })
    }

    /// The maximal spans of `q` that occur verbatim and are at least `min_len` symbols
    /// long, longest first (ties: leftmost first), each with its count and up to `max_docs`
    /// documents. A span is maximal when it cannot be extended on either side.
    pub fn spans(
        &self,
        q: &[u32],
        min_len: usize,
        max_docs: usize,
    ) -> Result<Vec<Span>, TraceError> {
        // longest[i]: the longest prefix of q[i..] that occurs. It shrinks by at most one
        // from i to i + 1, so extending from there costs O(|q|) lookups in all.
        let mut longest = vec![0usize; q.len()];
        let mut l = 0usize;
        for i in 0..q.len() {
            l = l.saturating_sub(1);
            while i + l < q.len() && self.occurs(&q[i..=i + l])? {
                l += 1;
            }
            longest[i] = l;
        }
        let mut out = Vec::new();
        let mut prev_end = 0usize;
        for (i, &l) in longest.iter().enumerate() {
            let end = i + l;
            if l > 0 && end > prev_end && l >= min_len.max(1) {
                let span = &q[i..end];
                out.push(Span {
                    start: i,
                    end,
                    text: self.decode(span),
                    count: self.count(span)?,
                    documents: self.locate(span, max_docs)?,
                });
            }
            prev_end = prev_end.max(end);
        }
        out.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(a.start.cmp(&b.start))
        });
        Ok(out)
    }

    /// Adds the mix's ledger rows (source shard and line, decision) to each hit.
    pub fn add_ledger(&self, hits: &mut [Hit]) -> Result<(), TraceError> {
        if hits.is_empty() {
            return Ok(());
        }
        let mix = PathBuf::from(&self.info.mix);
        let m = read_manifest(&mix)?;
        let mut indexes = Vec::new();
        for o in m
            .outputs
            .iter()
            .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
        {
            let ledger = mix.join(&o.path);
            let idx = index_path(&ledger.to_string_lossy());
            let bytes = std::fs::read(&idx).map_err(|e| TraceError::io(&idx, e))?;
            indexes.push((ledger, idx, bytes));
        }
        for h in hits.iter_mut() {
            for (ledger, idx, bytes) in &indexes {
                let rows = loam_mixes::index::lookup(bytes, idx, &h.id)
                    .map_err(|e| TraceError::format(idx, e.to_string()))?;
                for row in rows {
                    let r = read_ledger_row(ledger, u64::from(row))
                        .map_err(|e| TraceError::format(ledger, e.to_string()))?;
                    if r.id == h.id && r.decision.in_mix() {
                        h.ledger.push(LedgerEntry {
                            source: r.file,
                            line: r.line,
                            decision: r.decision.as_str().to_string(),
                            rule: r.rule,
                            copies: r.copies,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Answers a query text: its count, and unless `count_only` its maximal spans of at
    /// least `min_len` symbols with up to `max_docs` documents each and their ledger rows.
    pub fn answer(
        &self,
        text: &str,
        count_only: bool,
        min_len: usize,
        max_docs: usize,
    ) -> Result<Answer, TraceError> {
        let q = self.encode(text)?;
        if q.is_empty() {
            return Err(TraceError::Usage("the query is empty".into()));
        }
        let count = self.count(&q)?;
        let spans = if count_only {
            None
        } else {
            let mut spans = self.spans(&q, min_len, max_docs)?;
            for s in &mut spans {
                self.add_ledger(&mut s.documents)?;
            }
            Some(spans)
        };
        Ok(Answer {
            kind: self.info.kind,
            query_symbols: q.len(),
            query_tokens: self.tokenizer.as_ref().map(|_| q.clone()),
            count,
            spans,
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], "⏎")
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.kind {
            Kind::Tokens => "tokens",
            Kind::Text => "bytes",
        };
        writeln!(
            f,
            "count      {} (whole query, {} {unit})",
            self.count, self.query_symbols
        )?;
        let Some(spans) = &self.spans else {
            return Ok(());
        };
        if spans.is_empty() {
            writeln!(
                f,
                "no span of the query occurs verbatim at the minimum length"
            )?;
        }
        for s in spans {
            writeln!(f)?;
            writeln!(
                f,
                "span       {unit} {}..{} ({}), {} occurrence(s): {:?}",
                s.start,
                s.end,
                s.end - s.start,
                s.count,
                s.text
            )?;
            for h in &s.documents {
                writeln!(
                    f,
                    "  document {}  ({}:{}, offset {})",
                    h.id, h.file, h.line, h.offset
                )?;
                writeln!(
                    f,
                    "    …{}[{}]{}…",
                    one_line(&h.before),
                    one_line(&h.matched),
                    one_line(&h.after)
                )?;
                for l in &h.ledger {
                    write!(
                        f,
                        "    source {}:{}  decision {}",
                        l.source, l.line, l.decision
                    )?;
                    if let Some(r) = &l.rule {
                        write!(f, " ({r})")?;
                    }
                    writeln!(
                        f,
                        ", {} cop{}",
                        l.copies,
                        if l.copies == 1 { "y" } else { "ies" }
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

impl Answer {
    /// A self-contained HTML page: the query with every span found highlighted, then each
    /// span with its documents (context, file and line, ledger rows).
    pub fn to_html(&self, query: &str) -> String {
        let spans = self.spans.as_deref().unwrap_or_default();
        // Highlight where each span's text first occurs in the query.
        let mut marked = vec![false; query.len()];
        for s in spans {
            if let Some(at) = query.find(s.text.as_str()) {
                marked[at..at + s.text.len()]
                    .iter_mut()
                    .for_each(|m| *m = true);
            }
        }
        let mut body = String::new();
        let mut open = false;
        for (i, c) in query.char_indices() {
            if marked[i] != open {
                body.push_str(if open { "</mark>" } else { "<mark>" });
                open = marked[i];
            }
            body.push_str(&escape(&c.to_string()));
        }
        if open {
            body.push_str("</mark>");
        }
        let mut out = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>loam trace</title><style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto}}mark{{background:#fd6}}.q{{white-space:pre-wrap;border:1px solid #ccc;padding:1em}}.ctx{{white-space:pre-wrap;color:#444}}li{{margin:.6em 0}}</style></head><body>\n<h1>loam trace</h1>\n<p>{} occurrence(s) of the whole text; {} span(s) found verbatim.</p>\n<div class=\"q\">{body}</div>\n",
            self.count,
            spans.len()
        );
        for s in spans {
            out.push_str(&format!(
                "<section><h2>“{}” — {} occurrence(s)</h2><ul>\n",
                escape(&s.text),
                s.count
            ));
            for h in &s.documents {
                out.push_str(&format!(
                    "<li><b>{}</b> {}:{}<div class=\"ctx\">…{}<mark>{}</mark>{}…</div>",
                    escape(&h.id),
                    escape(&h.file),
                    h.line,
                    escape(&h.before),
                    escape(&h.matched),
                    escape(&h.after)
                ));
                for l in &h.ledger {
                    out.push_str(&format!(
                        "<div>source {}:{}, decision {}</div>",
                        escape(&l.source),
                        l.line,
                        escape(&l.decision)
                    ));
                }
                out.push_str("</li>\n");
            }
            out.push_str("</ul></section>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}
