//! The tagger contract and the stage that runs taggers over a shard.

use crate::document::{attribute_key, dolma_variable_name, AttributeRecord, Document, Span};
use crate::executor::Progress;
use crate::shard::{scan_blocks, ScanReport};
use crate::storage::Storage;
use crate::writer::{JsonlWriter, WrittenShard};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A tagger failed on one document.
#[derive(Debug, Clone, thiserror::Error)]
#[error("tagger {tagger}: {message}")]
pub struct TagError {
    /// Tagger name.
    pub tagger: String,
    /// What failed.
    pub message: String,
}

/// An attribute line as `dolma tag` writes it: its signals in the order the taggers made them
/// (taggers in config order, each tagger's signals in the order it first wrote them) instead
/// of [`AttributeRecord`]'s sorted order, then the document's `source` when it has one (dolma
/// copies it; readers ignore it). The same JSON as the record, dolma's bytes.
struct InOrder<'a> {
    rec: &'a AttributeRecord,
    order: &'a [String],
    source: Option<&'a str>,
}

impl serde::Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Attrs<'a>(&'a InOrder<'a>);
        impl serde::Serialize for Attrs<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let a = &self.0.rec.attributes;
                let mut m = s.serialize_map(Some(a.len()))?;
                for k in self.0.order {
                    if let Some(v) = a.get(k) {
                        m.serialize_entry(k, v)?;
                    }
                }
                m.end()
            }
        }
        let r = self.rec;
        let n = 2
            + usize::from(self.source.is_some())
            + usize::from(!r.duplicate_of.is_empty())
            + usize::from(!r.not_evaluated.is_empty());
        let mut m = s.serialize_map(Some(n))?;
        m.serialize_entry("id", &r.id)?;
        m.serialize_entry("attributes", &Attrs(self))?;
        if let Some(src) = self.source {
            m.serialize_entry("source", src)?;
        }
        if !r.duplicate_of.is_empty() {
            m.serialize_entry("duplicate_of", &r.duplicate_of)?;
        }
        if !r.not_evaluated.is_empty() {
            m.serialize_entry("not_evaluated", &r.not_evaluated)?;
        }
        m.end()
    }
}

/// Signals produced for one document by one tagger: `(signal name, spans)`.
#[derive(Debug, Default, Clone)]
pub struct Signals {
    items: Vec<(String, Vec<Span>)>,
}

impl Signals {
    /// Adds spans for a signal (appending if the signal is already present).
    pub fn push(&mut self, signal: &str, span: Span) {
        match self.items.iter_mut().find(|(s, _)| s == signal) {
            Some((_, v)) => v.push(span),
            None => self.items.push((signal.to_string(), vec![span])),
        }
    }
    /// Sets a signal's spans, replacing earlier ones.
    pub fn set(&mut self, signal: &str, spans: Vec<Span>) {
        match self.items.iter_mut().find(|(s, _)| s == signal) {
            Some((_, v)) => *v = spans,
            None => self.items.push((signal.to_string(), spans)),
        }
    }
    /// The signals, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &(String, Vec<Span>)> {
        self.items.iter()
    }
    /// Removes everything.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// Adds signals to documents, never drops them. Must be deterministic for
/// (document, config, model): the same document always gets the same signals.
pub trait Tagger: Send + Sync {
    /// The versioned name used in attribute keys, e.g. `gopher_v1`.
    fn name(&self) -> &str;
    /// Computes this tagger's signals for one document.
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError>;
    /// Model files the tagger reads (recorded with checksums in manifests).
    fn models(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// The result of tagging one shard.
#[derive(Debug, Clone)]
pub struct TagReport {
    /// The input side.
    pub scan: ScanReport,
    /// The attribute file, when published.
    pub output: Option<WrittenShard>,
    /// Documents the gated taggers were not run on ([`Gate`]).
    pub not_evaluated: u64,
}

/// Decides from a document's signals so far (the ungated taggers') whether a drop rule
/// already removes it, so the expensive gated taggers need not run on it.
pub trait Gate: Sync {
    /// The rule that drops a document with these signals, if any.
    fn drops(&self, attributes: &BTreeMap<String, Vec<Span>>) -> Option<String>;
}

/// Gated taggers and the gate they run behind.
#[derive(Clone, Copy)]
pub struct Gated<'a> {
    /// Taggers run only on documents the gate keeps.
    pub taggers: &'a [Box<dyn Tagger>],
    /// The gate.
    pub gate: &'a dyn Gate,
}

/// Tags every document of `input` and writes one attribute line per document line to
/// `output`, keys `<experiment>__<tagger>__<signal>` with each part as dolma names it
/// ([`dolma_variable_name`]: what `dolma tag` writes). Nothing is published if any line was
/// bad.
pub fn tag_shard(
    storage: &dyn Storage,
    input: &str,
    output: &str,
    experiment: &str,
    taggers: &[Box<dyn Tagger>],
    progress: &dyn Progress,
) -> TagReport {
    tag_shard_keyed(
        storage, input, output, experiment, taggers, None, true, None, progress,
    )
}

/// [`tag_shard`], with `gated` taggers run after the others and only on documents their gate
/// keeps; a document they skip records each of them in `not_evaluated` with the deciding rule.
/// `visit` is shown every document read, for work a later stage would otherwise read the
/// shard again for (`loam run` collects exact-dedup keys).
#[allow(clippy::too_many_arguments)]
pub fn tag_shard_gated(
    storage: &dyn Storage,
    input: &str,
    output: &str,
    experiment: &str,
    taggers: &[Box<dyn Tagger>],
    gated: Option<Gated<'_>>,
    visit: Option<&mut dyn FnMut(&Document)>,
    progress: &dyn Progress,
) -> TagReport {
    tag_shard_keyed(
        storage, input, output, experiment, taggers, gated, false, visit, progress,
    )
}

/// Tags one document at a time into its attribute line, as [`tag_shard`] and
/// [`tag_shard_gated`] write it: the stage's per-document step, shared with a mix that tags
/// as it reads (`loam run` without a dedup barrier reads each shard once).
pub struct DocTagger<'a> {
    experiment: &'a str,
    taggers: &'a [Box<dyn Tagger>],
    gated: Option<Gated<'a>>,
    dolma_names: bool,
}

/// What tagging one document gave besides its line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tagged {
    /// The gated taggers were not run on it (its gate's rule drops it).
    pub not_evaluated: bool,
}

impl<'a> DocTagger<'a> {
    /// Taggers of loam's pipeline file (keys as given), `gated` ones behind their gate.
    pub fn new(
        experiment: &'a str,
        taggers: &'a [Box<dyn Tagger>],
        gated: Option<Gated<'a>>,
    ) -> DocTagger<'a> {
        DocTagger {
            experiment,
            taggers,
            gated,
            dolma_names: false,
        }
    }

    fn key(&self, tagger: &str, signal: &str) -> String {
        if self.dolma_names {
            attribute_key(
                &dolma_variable_name(self.experiment),
                &dolma_variable_name(tagger),
                &dolma_variable_name(signal),
            )
        } else {
            attribute_key(self.experiment, tagger, signal)
        }
    }

    /// Tags `doc` and appends its attribute line (JSON and a newline, the bytes
    /// [`JsonlWriter::write`] writes for it) to `out`. `signals` is scratch space.
    pub fn tag_line(
        &self,
        doc: &Document,
        signals: &mut Signals,
        out: &mut Vec<u8>,
    ) -> Result<Tagged, TagError> {
        let mut rec = AttributeRecord::new(doc.id.clone());
        let mut order: Vec<String> = Vec::new();
        let mut run = |t: &dyn Tagger, rec: &mut AttributeRecord, order: &mut Vec<String>| {
            signals.clear();
            t.tag(doc, signals)?;
            for (signal, spans) in signals.iter() {
                let k = self.key(t.name(), signal);
                if rec.attributes.insert(k.clone(), spans.clone()).is_none() {
                    order.push(k);
                }
            }
            Ok::<(), TagError>(())
        };
        for t in self.taggers {
            run(t.as_ref(), &mut rec, &mut order)?;
        }
        let mut tagged = Tagged::default();
        if let Some(g) = self.gated {
            match g.gate.drops(&rec.attributes) {
                Some(rule) => {
                    tagged.not_evaluated = true;
                    for t in g.taggers {
                        rec.not_evaluated.insert(t.name().to_string(), rule.clone());
                    }
                }
                None => {
                    for t in g.taggers {
                        run(t.as_ref(), &mut rec, &mut order)?;
                    }
                }
            }
        }
        let line = InOrder {
            rec: &rec,
            order: &order,
            source: doc.source(),
        };
        // Not expected (string keys, finite or null numbers), but not unwrapped either.
        serde_json::to_writer(&mut *out, &line).map_err(|e| TagError {
            tagger: format!("(all of experiment {})", self.experiment),
            message: format!("the attribute line cannot be written: {e}"),
        })?;
        out.push(b'\n');
        Ok(tagged)
    }
}

/// The shared body; `dolma_names` passes every part of the keys through
/// [`dolma_variable_name`].
#[allow(clippy::too_many_arguments)]
fn tag_shard_keyed(
    storage: &dyn Storage,
    input: &str,
    output: &str,
    experiment: &str,
    taggers: &[Box<dyn Tagger>],
    gated: Option<Gated<'_>>,
    dolma_names: bool,
    mut visit: Option<&mut dyn FnMut(&Document)>,
    progress: &dyn Progress,
) -> TagReport {
    let tagger = DocTagger {
        experiment,
        taggers,
        gated,
        dolma_names,
    };
    // An input of no known format is the input's problem: say so before naming the output.
    let opened = crate::format::Format::from_path(input)
        .map_err(crate::writer::WriteError::from)
        .and_then(|_| {
            JsonlWriter::with_gzip_level(storage, output, crate::writer::ATTRIBUTE_GZIP_LEVEL)
        });
    let mut writer = match opened {
        Ok(w) => Some(w),
        Err(e) => {
            let mut scan = ScanReport {
                path: input.to_string(),
                ..Default::default()
            };
            scan.record(e.to_string(), true);
            return TagReport {
                scan,
                output: None,
                not_evaluated: 0,
            };
        }
    };
    let mut not_evaluated = 0u64;
    // Tagged on any thread a block at a time, written in line order.
    let work = |line: u64, doc: &Document| {
        let mut out = Vec::with_capacity(256);
        let t = tagger
            .tag_line(doc, &mut Signals::default(), &mut out)
            .map_err(|e| format!("{input}:{line}: {e}"))?;
        Ok((out, t))
    };
    let scan = scan_blocks(
        storage,
        input,
        work,
        |_, doc, (out, t): (Vec<u8>, Tagged)| {
            not_evaluated += u64::from(t.not_evaluated);
            if let Some(v) = visit.as_mut() {
                v(doc);
            }
            progress.advance(1, doc.text.len() as u64);
            match writer.as_mut() {
                Some(w) => w.write_line(&out).map_err(|e| e.to_string()),
                None => Ok(()),
            }
        },
    );
    let output = match (scan.failed(), writer.take()) {
        (false, Some(w)) => match w.finish() {
            Ok(s) => Some(s),
            Err(e) => {
                let mut scan = scan;
                scan.record(e.to_string(), true);
                return TagReport {
                    scan,
                    output: None,
                    not_evaluated,
                };
            }
        },
        // Dropping the writer discards the temporary file.
        _ => None,
    };
    TagReport {
        scan,
        output,
        not_evaluated,
    }
}
