//! Span replacement of dolma mixer configs (`span_replacement[]`), with dolma 1.2.1's
//! semantics (`SpanReplacer`, `Replacement` and the rewrite loop of `Shard::process`, in
//! `src/shard.rs` of allenai/dolma at v1.2.1), made strict where dolma panics or silently
//! garbles text.
//!
//! What dolma does, and so does loam:
//! - each replacer selects a value of the document (attributes merged) with its JSONPath or
//!   jq `span`; `null` means no spans; otherwise it must be an array of `[start, end, score]`
//!   spans, offsets in characters (Unicode code points), `end` exclusive;
//! - a span is replaced when `min_score <= score < max_score` (missing bounds are infinite);
//! - the replacement is the configured text, or, when it starts with `$`, the string the rest
//!   (a jq program) yields on the document; every `{}` in it stands for the replaced text, and
//!   an empty replacement deletes the span;
//! - spans of all replacers are applied together, sorted by start (stably: replacers in config
//!   order, spans in attribute order); a span that starts inside an earlier applied span is
//!   skipped.
//!
//! Where loam differs (each is an error naming the document line in dolma's silence or panic):
//! - a span that is not `[start, end, score]` with integer offsets and a numeric score
//!   (dolma panics on `unwrap`);
//! - a selected span past the end of the text or ending before it starts (dolma replaces up to
//!   the end of the text, or pastes a stale piece of text);
//! - two selected spans *of the same selection* (one tagger's list) that overlap without one
//!   containing the other: a malformed attribute (dolma keeps the second span's tail);
//! - a jq replacement that does not yield one string (dolma panics).
//!
//! A selected span of length zero selects no text and is ignored (dolma deletes the
//! character at its position, applies no later span of the document, and appends the
//! replacement once more at the end with `{}` standing for the rest of the text). With
//! `--dolma-bugs` such a span is kept and the document goes through [`apply_dolma`], dolma's
//! loop itself: dolma 1.2.1's paragraph dedupe writes them (`[n, n]` at a text's last
//! character), so a published mix is rebuilt byte for byte.
//!
//! Spans of *different* replacers overlap on real data (a PII e-mail span ending one
//! character into a phone-number span, say). dolma's rule is kept for them, so outputs stay
//! dolma's: the later-starting span is skipped and its tail stays in the text. It is not
//! silent: [`apply`] counts each such span and `loam mix` reports the count per stream.

use crate::config::SpanReplacementConfig;
use crate::filter::{DocView, ExprError, JqProgram, Selector};
use serde_json::Value;

/// A span replacement, compiled.
#[derive(Debug, Clone)]
pub struct SpanReplacer {
    /// Position in the stream's `span_replacement` list.
    pub index: usize,
    selector: Selector,
    min_score: f64,
    max_score: f64,
    replacement: Replacement,
}

/// What replaces a span.
#[derive(Debug, Clone)]
pub enum Replacement {
    /// Fixed text (`{}` is the replaced text).
    Text(String),
    /// A jq program on the document (`"$<program>"`).
    Jq(JqProgram),
}

/// One span to rewrite.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Which replacer selected it.
    pub replacer: usize,
    /// Replacement text (`{}` still in it).
    pub replacement: String,
}

/// A span problem in one document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("span_replacement[{replacer}] `{selector}`: {message}")]
pub struct SpanError {
    /// Replacer index.
    pub replacer: usize,
    /// Its selector.
    pub selector: String,
    /// What is wrong.
    pub message: String,
    /// The selected value, to find which attribute file it came from.
    pub selected: Option<Value>,
}

impl SpanReplacer {
    /// Compiles one `span_replacement` entry; `at` is its field path.
    pub fn new(
        index: usize,
        cfg: &SpanReplacementConfig,
        at: &str,
    ) -> Result<SpanReplacer, Vec<ExprError>> {
        let mut errs = Vec::new();
        let selector = Selector::new(&cfg.span, cfg.syntax, &format!("{at}.span"));
        // dolma: "Users should escape leading $ in replacement strings" — there is no escape;
        // a leading `$` always makes a jq program (`Replacement::new`).
        let replacement = match cfg.replacement.strip_prefix('$') {
            Some(program) => JqProgram::new(program, &format!("{at}.replacement"))
                .map(Replacement::Jq)
                .map_err(|mut e| {
                    // positions count from after the `$`
                    e.position = e.position.map(|p| p + 1);
                    e.expr = cfg.replacement.clone();
                    e
                }),
            None => Ok(Replacement::Text(cfg.replacement.clone())),
        };
        let selector = selector.map_err(|e| errs.push(e)).ok();
        let replacement = replacement.map_err(|e| errs.push(e)).ok();
        match (selector, replacement) {
            (Some(selector), Some(replacement)) => Ok(SpanReplacer {
                index,
                selector,
                min_score: cfg.min_score.unwrap_or(f64::NEG_INFINITY),
                max_score: cfg.max_score.unwrap_or(f64::INFINITY),
                replacement,
            }),
            _ => Err(errs),
        }
    }

    /// The span selector as written.
    pub fn source(&self) -> &str {
        self.selector.source()
    }

    fn error(&self, message: String, selected: Option<&Value>) -> SpanError {
        SpanError {
            replacer: self.index,
            selector: self.selector.source().to_string(),
            message,
            selected: selected.cloned(),
        }
    }

    /// Its selector's JSONPath, when it is one.
    pub fn jsonpath_source(&self) -> Option<&str> {
        match &self.selector {
            Selector::JsonPath(p) => Some(p.source()),
            Selector::Jq(_) => None,
        }
    }

    /// The jq programs it runs on documents: its selector and its replacement, when jq.
    pub fn jq_sources(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Selector::Jq(p) = &self.selector {
            out.push(p.source());
        }
        if let Replacement::Jq(p) = &self.replacement {
            out.push(p.source());
        }
        out
    }

    /// Adds the spans this replacer selects in `doc` to `out`. `chars` gives the text's
    /// length in characters (computed once per document, on demand). Returns how many
    /// selected spans ended past the text and were cut at its end: dolma 1.2.1's paragraph
    /// dedupe writes such spans for non-ASCII texts (its byte/character mix-up) and its
    /// mixer replaces up to the end of the text, so loam reads them the same way and counts
    /// them.
    pub fn collect(
        &self,
        doc: &mut DocView,
        chars: &mut dyn FnMut() -> usize,
        out: &mut Vec<Edit>,
    ) -> Result<u64, SpanError> {
        self.collect_with(doc, chars, out, false)
    }

    /// [`SpanReplacer::collect`]; `keep_empty` keeps selected spans of length zero (for
    /// [`apply_dolma`]).
    pub fn collect_with(
        &self,
        doc: &mut DocView,
        chars: &mut dyn FnMut() -> usize,
        out: &mut Vec<Edit>,
        keep_empty: bool,
    ) -> Result<u64, SpanError> {
        let mut clamped = 0u64;
        let owned;
        let selected: &Value = match &self.selector {
            Selector::JsonPath(p) => match p.select(doc.json) {
                crate::filter::Selected::Null => return Ok(0),
                crate::filter::Selected::Borrowed(v) => v,
                crate::filter::Selected::Owned(v) => {
                    owned = v;
                    &owned
                }
            },
            Selector::Jq(p) => {
                owned = p
                    .select(doc.jq())
                    .map_err(|e| self.error(format!("jq error: {e}"), None))?;
                &owned
            }
        };
        let spans = match selected {
            Value::Null => return Ok(0),
            Value::Array(a) => a,
            other => {
                return Err(self.error(
                    format!(
                        "selects {}, not an array of [start, end, score] spans or null",
                        short(other)
                    ),
                    Some(other),
                ))
            }
        };
        let mut replacement: Option<String> = None;
        let first_new = out.len();
        for (k, span) in spans.iter().enumerate() {
            let bad = || {
                self.error(
                    format!("span {k} is {}, not [start, end, score]", short(span)),
                    Some(selected),
                )
            };
            let parts = span.as_array().ok_or_else(bad)?;
            if parts.len() != 3 {
                return Err(bad());
            }
            let (Some(start), Some(end), Some(score)) =
                (parts[0].as_u64(), parts[1].as_u64(), parts[2].as_f64())
            else {
                return Err(bad());
            };
            if !(score >= self.min_score && score < self.max_score) {
                continue;
            }
            let (start, mut end) = (start as usize, end as usize);
            let n = chars();
            if end > n && start <= n {
                end = n;
                clamped += 1;
            }
            if start > end || end > n {
                return Err(self.error(
                    format!(
                        "span {k} [{start}, {end}] is out of range for a text of {n} characters"
                    ),
                    Some(selected),
                ));
            }
            if start == end && !keep_empty {
                continue;
            }
            let text = match &mut replacement {
                Some(t) => t.clone(),
                None => {
                    let t = self.replacement_text(doc, selected)?;
                    replacement = Some(t.clone());
                    t
                }
            };
            out.push(Edit {
                start,
                end,
                replacer: self.index,
                replacement: text,
            });
        }
        // One selection's spans must nest or be disjoint.
        if out.len() > first_new + 1 {
            let mut mine: Vec<(usize, usize)> =
                out[first_new..].iter().map(|e| (e.start, e.end)).collect();
            mine.sort_by_key(|&(s, _)| s);
            let mut cover = mine[0];
            for &(s, e) in &mine[1..] {
                if s < cover.1 && e > cover.1 {
                    return Err(self.error(
                        format!(
                            "spans [{}, {}] and [{s}, {e}] overlap without one containing the other; dolma would leave characters {}..{e} unreplaced",
                            cover.0, cover.1, cover.1
                        ),
                        Some(selected),
                    ));
                }
                if e > cover.1 {
                    cover = (s, e);
                }
            }
        }
        Ok(clamped)
    }

    fn replacement_text(&self, doc: &mut DocView, selected: &Value) -> Result<String, SpanError> {
        match &self.replacement {
            Replacement::Text(t) => Ok(t.clone()),
            Replacement::Jq(p) => match p.select(doc.jq()) {
                Ok(Value::String(s)) => Ok(s),
                Ok(other) => Err(self.error(
                    format!(
                        "replacement `${}` yields {}, not a string",
                        p.source(),
                        short(&other)
                    ),
                    Some(selected),
                )),
                Err(e) => Err(self.error(
                    format!("replacement `${}`: jq error: {e}", p.source()),
                    Some(selected),
                )),
            },
        }
    }
}

/// A short rendering of a value for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// The result of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new text.
    pub text: String,
    /// Spans skipped because they start inside an applied span yet reach past it (dolma's
    /// rule leaves their tail in the text).
    pub overlapping: u64,
    /// The replacers (their `index`) with at least one span applied, ascending.
    pub replacers: Vec<usize>,
}

/// Applies `edits` (all within `text`, none empty) to `text` in dolma's order.
// Every byte offset is a sum of whole chars' lengths from `char_indices` (in ASCII text, any
// offset up to its length), and `copied` never passes `b_start`: char boundaries, in order.
#[allow(clippy::string_slice)]
pub fn apply(text: &str, edits: &mut [Edit]) -> Applied {
    // Stable: equal starts keep replacer order, then attribute order (dolma's `sort_by`).
    edits.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    let mut char_pos = 0usize; // characters consumed from `chars`
    let mut byte_pos = 0usize; // byte offset of `char_pos`
    let mut copied = 0usize; // bytes of `text` already handled
    let mut last_end: Option<usize> = None;
    let mut overlapping = 0u64;
    let mut replacers: Vec<usize> = Vec::new();
    // ASCII text (most of it): code points are bytes.
    let ascii = text.is_ascii();
    let mut byte_at = |target: usize, char_pos: &mut usize, byte_pos: &mut usize| -> usize {
        if ascii {
            return target.min(text.len());
        }
        while *char_pos < target {
            match chars.next() {
                Some((_, c)) => {
                    *byte_pos += c.len_utf8();
                    *char_pos += 1;
                }
                None => break,
            }
        }
        *byte_pos
    };
    for e in edits.iter() {
        if let Some(end) = last_end {
            if e.start < end {
                if e.end > end {
                    overlapping += 1;
                }
                continue;
            }
        }
        let b_start = byte_at(e.start, &mut char_pos, &mut byte_pos);
        let b_end = byte_at(e.end, &mut char_pos, &mut byte_pos);
        out.push_str(&text[copied..b_start]);
        if e.replacement.contains("{}") {
            out.push_str(&e.replacement.replace("{}", &text[b_start..b_end]));
        } else {
            out.push_str(&e.replacement);
        }
        copied = b_end;
        last_end = Some(e.end);
        if !replacers.contains(&e.replacer) {
            replacers.push(e.replacer);
        }
    }
    out.push_str(&text[copied..]);
    replacers.sort_unstable();
    Applied {
        text: out,
        overlapping,
        replacers,
    }
}

/// dolma 1.2.1's rewrite loop (`Shard::process`) as it is, for `--dolma-bugs` documents with
/// a span of length zero (which [`apply`] never receives): characters are walked one by one
/// against the current span (sorted by start); at a span's end its replacement is written
/// and every span starting before that point is passed over; a span starting exactly there
/// becomes current and its first character is not written. So a zero-length span deletes the
/// character at its position and stays current for the rest of the text (no later span
/// applies), and a span still current after the last character writes its replacement once
/// more, `{}` being the text from where it started (or from the beginning).
// Byte offsets come from `char_indices` of `text`: char boundaries.
#[allow(clippy::string_slice)]
pub fn apply_dolma(text: &str, edits: &mut [Edit]) -> Applied {
    edits.sort_by_key(|e| e.start);
    let fill = |r: &str, piece: &str| match r.contains("{}") {
        true => r.replace("{}", piece),
        false => r.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    let mut k = 0usize;
    let mut span_start = 0usize;
    let mut overlapping = 0u64;
    let mut replacers: Vec<usize> = Vec::new();
    let note = |r: usize, replacers: &mut Vec<usize>| {
        if !replacers.contains(&r) {
            replacers.push(r);
        }
    };
    for (i, (b, c)) in text.char_indices().enumerate() {
        let Some(cur) = edits.get(k) else {
            out.push(c);
            continue;
        };
        let inside = i >= cur.start && i < cur.end;
        if i == cur.start {
            span_start = b;
            note(cur.replacer, &mut replacers);
        }
        if inside {
            continue;
        }
        if i == cur.end {
            if !cur.replacement.is_empty() {
                out.push_str(&fill(
                    &cur.replacement,
                    text.get(span_start..b).unwrap_or(""),
                ));
            }
            let first = k;
            while k < edits.len() && edits[k].start < i {
                if k != first && edits[k].end > i {
                    overlapping += 1;
                }
                k += 1;
            }
        }
        match edits.get(k) {
            Some(next) if next.start == i => {
                span_start = b;
                note(next.replacer, &mut replacers);
            }
            _ => out.push(c),
        }
    }
    if let Some(cur) = edits.get(k) {
        if !cur.replacement.is_empty() {
            out.push_str(&fill(
                &cur.replacement,
                text.get(span_start..).unwrap_or(""),
            ));
        }
    }
    replacers.sort_unstable();
    Applied {
        text: out,
        overlapping,
        replacers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilterSyntax;
    use serde_json::json;

    fn edit(start: usize, end: usize, replacer: usize, r: &str) -> Edit {
        Edit {
            start,
            end,
            replacer,
            replacement: r.into(),
        }
    }

    fn dolma_apply(text: &str, reps: &mut [Edit]) -> String {
        apply_dolma(text, reps).text
    }

    /// What `dolma mix` 1.2.1 wrote for these texts and spans (`replacement: ""` and
    /// `"<{}>"`): zero-length spans, one at the end of the text, an empty text, overlaps.
    #[test]
    fn apply_dolma_writes_what_dolma_wrote() {
        // (text, spans, output with replacement "", output with "<{}>")
        type Case<'a> = (&'a str, &'a [(usize, usize)], &'a str, &'a str);
        let cases: &[Case] = &[
            ("abcdef", &[(2, 2)], "abdef", "ab<>def<cdef>"),
            ("abcdef", &[(1, 2), (4, 4)], "acdf", "a<b>cd<>f<ef>"),
            ("abcdef", &[(6, 6)], "abcdef", "abcdef<abcdef>"),
            ("abcdef", &[(0, 0), (3, 5)], "bcdef", "<>bcdef<abcdef>"),
            ("abcdef", &[(1, 3), (3, 3), (4, 5)], "aef", "a<bc>ef<def>"),
            (
                "héllo wörld",
                &[(2, 2), (5, 7)],
                "hélo wörld",
                "hé<>lo wörld<llo wörld>",
            ),
            ("", &[(0, 0)], "", "<>"),
            ("abcdef", &[(1, 3), (2, 5), (5, 6)], "ade", "a<bc>de<f>"),
        ];
        for (text, spans, deleted, wrapped) in cases {
            for (r, want) in [("", deleted), ("<{}>", wrapped)] {
                let mut e: Vec<Edit> = spans.iter().map(|&(s, e)| edit(s, e, 0, r)).collect();
                assert_eq!(
                    apply_dolma(text, &mut e).text,
                    *want,
                    "{text:?} {spans:?} {r:?}"
                );
            }
        }
    }

    #[test]
    fn matches_dolma_on_well_formed_spans() {
        let text = "héllo wörld, this is ä test of spans — ok.";
        let n = text.chars().count();
        let cases: Vec<Vec<Edit>> = vec![
            vec![edit(0, 5, 0, "[{}]")],
            vec![edit(6, 11, 0, "")],
            vec![edit(0, 5, 0, "<{}>"), edit(5, 6, 1, "_")],
            vec![edit(13, 17, 0, "X"), edit(0, 2, 1, "{}{}")],
            vec![edit(30, n, 0, "[{}]")],
            vec![edit(0, n, 0, "")],
            vec![
                edit(0, 10, 0, "A"),
                edit(2, 4, 1, "B"),
                edit(10, 12, 0, "C"),
            ],
            vec![edit(3, 9, 0, "A"), edit(3, 5, 1, "B")],
            vec![edit(1, 2, 0, "a"), edit(2, 3, 0, "b"), edit(3, 4, 0, "")],
        ];
        // The same spans on non-ASCII text and on ASCII text (code points are bytes).
        let ascii = "hello world, this is a test of spans -- ok.";
        for t in [text, ascii] {
            for c in &cases {
                let want = dolma_apply(t, &mut c.clone());
                assert_eq!(apply(t, &mut c.clone()).text, want, "{t:?} {c:?}");
            }
        }
    }

    #[test]
    fn dolma_garbles_zero_length_spans_loam_ignores_them() {
        let mut e = vec![edit(2, 2, 0, "X{}"), edit(4, 5, 1, "Y")];
        // dolma: deletes `c`, never applies the later span, appends the replacement again
        // with `{}` = the rest of the text
        assert_eq!(dolma_apply("abcdef", &mut e.clone()), "abXdefXcdef");
        e.retain(|x| x.start < x.end); // what `collect` keeps
        assert_eq!(apply("abcdef", &mut e).text, "abcdYf");
    }

    #[test]
    fn partial_overlap_across_replacers_follows_dolma_and_is_counted() {
        for mut e in [
            vec![edit(0, 5, 0, "A"), edit(3, 8, 1, "B")],
            // equal starts: the shorter one first leaves the longer one's tail
            vec![edit(2, 4, 0, "A"), edit(2, 6, 1, "B")],
            vec![edit(2, 6, 0, "A"), edit(2, 4, 1, "B")],
        ] {
            let want = dolma_apply("abcdefghij", &mut e.clone());
            let got = apply("abcdefghij", &mut e);
            assert_eq!(got.text, want);
            let partial = u64::from(e[0].end < e[1].end);
            assert_eq!(got.overlapping, partial, "{e:?}");
        }
    }

    #[test]
    fn applied_replacers_are_reported() {
        // the second replacer's span starts inside the first's: skipped, not reported
        let got = apply("abcdefghij", &mut [edit(0, 5, 0, "A"), edit(3, 8, 1, "B")]);
        assert_eq!(got.replacers, [0]);
        let got = apply(
            "abcdefghij",
            &mut [edit(6, 8, 2, "C"), edit(0, 2, 1, "B"), edit(3, 4, 2, "")],
        );
        assert_eq!(got.text, "BcefCij");
        assert_eq!(got.replacers, [1, 2]);
        assert!(apply("abc", &mut []).replacers.is_empty());
    }

    fn replacer(
        span: &str,
        syntax: FilterSyntax,
        min: Option<f64>,
        max: Option<f64>,
        r: &str,
    ) -> SpanReplacer {
        let cfg = SpanReplacementConfig {
            span: span.into(),
            min_score: min,
            max_score: max,
            replacement: r.into(),
            syntax,
        };
        SpanReplacer::new(0, &cfg, "streams[0].span_replacement[0]").unwrap()
    }

    fn collect(r: &SpanReplacer, doc: &Value) -> Result<Vec<Edit>, SpanError> {
        let n = doc["text"].as_str().unwrap().chars().count();
        let mut out = Vec::new();
        r.collect(&mut DocView::new(doc), &mut || n, &mut out)?;
        Ok(out)
    }

    #[test]
    fn selects_by_score_with_exclusive_max() {
        let doc = json!({"text": "0123456789", "attributes": {"s": [[0, 2, 0.5], [2, 4, 0.9], [4, 6, 0.1]]}});
        for syntax in [FilterSyntax::Jsonpath, FilterSyntax::Jq] {
            let sel = if syntax == FilterSyntax::Jq {
                ".attributes.s"
            } else {
                "$.attributes.s"
            };
            let r = replacer(sel, syntax, Some(0.5), Some(0.9), "x");
            let got = collect(&r, &doc).unwrap();
            assert_eq!(got, vec![edit(0, 2, 0, "x")], "{syntax:?}");
        }
        let r = replacer(
            "$.attributes.missing",
            FilterSyntax::Jsonpath,
            Some(0.5),
            None,
            "x",
        );
        assert!(collect(&r, &doc).unwrap().is_empty());
    }

    #[test]
    fn jq_replacement_reads_the_document() {
        let doc =
            json!({"text": "abcdef", "metadata": {"p": "<P>"}, "attributes": {"s": [[1, 3, 1.0]]}});
        let r = replacer(
            "$.attributes.s",
            FilterSyntax::Jsonpath,
            Some(0.5),
            None,
            "$.metadata.p",
        );
        let mut e = collect(&r, &doc).unwrap();
        assert_eq!(apply("abcdef", &mut e).text, "a<P>def");
        let r = replacer(
            "$.attributes.s",
            FilterSyntax::Jsonpath,
            Some(0.5),
            None,
            "$.metadata",
        );
        assert!(collect(&r, &doc)
            .unwrap_err()
            .message
            .contains("not a string"));
    }

    #[test]
    fn spans_past_the_end_are_cut_at_it_and_counted() {
        // dolma 1.2.1's paragraph dedupe ends the last span of a non-ASCII text past it;
        // dolma's mixer replaces to the end of the text.
        let r = replacer(
            "$.attributes.s",
            FilterSyntax::Jsonpath,
            Some(0.5),
            None,
            "",
        );
        let doc = json!({"text": "añb\ncd", "attributes": {"s": [[0, 3, 1.0], [4, 8, 1.0]]}});
        let mut out = Vec::new();
        let n = 6;
        let clamped = r
            .collect(&mut DocView::new(&doc), &mut || n, &mut out)
            .unwrap();
        assert_eq!(clamped, 1);
        assert_eq!((out[1].start, out[1].end), (4, 6));
        let mut reps = out.clone();
        assert_eq!(apply("añb\ncd", &mut out).text, "\n");
        assert_eq!(dolma_apply("añb\ncd", &mut reps), "\n");
    }

    #[test]
    fn malformed_spans_are_errors() {
        for bad in [
            json!({"text": "abc", "attributes": {"s": [[0, 2]]}}),
            json!({"text": "abc", "attributes": {"s": [[0, "2", 1.0]]}}),
            json!({"text": "abc", "attributes": {"s": [[-1, 2, 1.0]]}}),
            json!({"text": "abc", "attributes": {"s": [[0.0, 2, 1.0]]}}),
            json!({"text": "abc", "attributes": {"s": [7]}}),
            json!({"text": "abc", "attributes": {"s": "x"}}),
            json!({"text": "abc", "attributes": {"s": [[4, 5, 1.0]]}}),
            json!({"text": "abc", "attributes": {"s": [[2, 1, 1.0]]}}),
            json!({"text": "abcdef", "attributes": {"s": [[0, 3, 1.0], [2, 5, 1.0]]}}),
        ] {
            let r = replacer(
                "$.attributes.s",
                FilterSyntax::Jsonpath,
                Some(0.5),
                None,
                "",
            );
            assert!(collect(&r, &bad).is_err(), "{bad}");
        }
        // out of range but not selected: not an error
        let doc = json!({"text": "abc", "attributes": {"s": [[0, 9, 0.1]]}});
        let r = replacer(
            "$.attributes.s",
            FilterSyntax::Jsonpath,
            Some(0.5),
            None,
            "",
        );
        assert!(collect(&r, &doc).unwrap().is_empty());
        // empty spans are ignored
        let doc = json!({"text": "abc", "attributes": {"s": [[1, 1, 1.0]]}});
        assert!(collect(&r, &doc).unwrap().is_empty());
        // nested spans of one selection are fine (the inner one is skipped)
        let doc =
            json!({"text": "abcdef", "attributes": {"s": [[0, 4, 1.0], [1, 2, 1.0], [4, 6, 1.0]]}});
        assert_eq!(collect(&r, &doc).unwrap().len(), 3);
    }

    #[test]
    fn bad_replacement_program_points_into_it() {
        let cfg = SpanReplacementConfig {
            span: "$.a[".into(),
            min_score: Some(0.5),
            max_score: None,
            replacement: "$.x | (".into(),
            syntax: FilterSyntax::Jsonpath,
        };
        let errs = SpanReplacer::new(2, &cfg, "streams[0].span_replacement[2]").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].field, "streams[0].span_replacement[2].span");
        assert_eq!(errs[1].field, "streams[0].span_replacement[2].replacement");
    }
}
