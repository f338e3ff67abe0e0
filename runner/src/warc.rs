//! `loam warc -c CONFIG`: WARC/WET files → Dolma documents, with dolma's `warc` config.

use crate::dolma::{load, lock_outputs, units_error, usage};
use crate::error::Result;
use crate::outcome::{Failure, Outcome, StageLine};
use crate::run::RunOptions;
use loam_extract::config::WarcConfig;
use loam_extract::record::Options;
use loam_extract::shard::{output_name, process_file, FileReport, Hooks};
use loam_manifests::{fingerprint, RuleCounts};
use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::layout;
use loam_pipeline::runstate::RunState;
use loam_pipeline::storage::{storage_for, Storage};
use loam_pipeline::tagger::{Signals, Tagger};
use loam_pipeline::units::{Made, Unit, Units};
use loam_pipeline::Document;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// dolma's `make_variable_name`.
fn variable_name(s: &str) -> String {
    loam_pipeline::document::dolma_variable_name(s).into_owned()
}

/// Pre/post taggers: attributes `<tagger>__<tagger>__<signal>` in the document's
/// `attributes`, as dolma's `warc` writes them.
struct TaggerHooks {
    pre: Vec<Box<dyn Tagger>>,
    pre_skip: bool,
    post: Vec<Box<dyn Tagger>>,
    post_skip: bool,
}

fn run_taggers(
    taggers: &[Box<dyn Tagger>],
    doc: &Document,
    attrs: &mut Map<String, Value>,
) -> Result<usize, String> {
    let mut spans = 0;
    let mut sig = Signals::default();
    for t in taggers {
        sig.clear();
        t.tag(doc, &mut sig).map_err(|e| e.to_string())?;
        let name = variable_name(t.name());
        for (signal, s) in sig.iter() {
            spans += s.len();
            let v = serde_json::to_value(s).map_err(|e| e.to_string())?;
            attrs.insert(format!("{name}__{name}__{}", variable_name(signal)), v);
        }
    }
    Ok(spans)
}

impl Hooks for TaggerHooks {
    fn pre(&self, doc: &mut Document, html: &str) -> Result<bool, String> {
        if self.pre.is_empty() {
            return Ok(true);
        }
        // dolma's pre-taggers see the page before extraction: loam hands them the decoded
        // HTML as the text.
        let mut view = doc.clone();
        view.text = html.to_string();
        let mut attrs = Map::new();
        let n = run_taggers(&self.pre, &view, &mut attrs)?;
        doc.fields.insert("attributes".into(), Value::Object(attrs));
        Ok(!(self.pre_skip && n == 0))
    }

    fn post(&self, doc: &mut Document) -> Result<bool, String> {
        if self.post.is_empty() {
            return Ok(true);
        }
        let mut attrs = match doc.fields.remove("attributes") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let n = run_taggers(&self.post, doc, &mut attrs)?;
        doc.fields.insert("attributes".into(), Value::Object(attrs));
        Ok(!(self.post_skip && n == 0))
    }
}

fn build_taggers(names: &[String]) -> Result<Vec<Box<dyn Tagger>>> {
    names
        .iter()
        .map(|n| loam_filters::registry::build(n).map_err(usage))
        .collect()
}

/// The deepest directory holding all `paths`.
fn common_dir(paths: &[String]) -> String {
    let mut common: Option<&str> = None;
    for p in paths {
        let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
        common = Some(match common {
            None => dir,
            Some(c) => {
                let mut end = 0;
                for ((i, a), b) in c.char_indices().zip(dir.chars()) {
                    if a != b {
                        break;
                    }
                    end = i + a.len_utf8();
                }
                let prefix = c.get(..end).unwrap_or(c);
                let at_boundary = |a: &str, b: &str| {
                    a.len() == end
                        && (b.len() == end || b.get(end..).is_some_and(|r| r.starts_with('/')))
                };
                if at_boundary(c, dir) || at_boundary(dir, c) {
                    prefix
                } else {
                    prefix.rsplit_once('/').map_or("", |(d, _)| d)
                }
            }
        });
    }
    common.unwrap_or("").to_string()
}

/// Inputs and their outputs: each file keeps its path relative to the deepest directory
/// common to the files sharing its destination; the name changes as dolma's does
/// (`x.warc.gz` → `x.jsonl.gz`).
fn plan(storage: &dyn Storage, cfg: &WarcConfig) -> Result<Vec<(String, String)>> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (i, pat) in cfg.documents.iter().enumerate() {
        let dest = if cfg.destination.len() == 1 {
            &cfg.destination[0]
        } else {
            &cfg.destination[i]
        };
        let files = layout::expand(storage, std::slice::from_ref(pat))
            .map_err(crate::dolma::layout_error)?;
        match groups.iter_mut().find(|(d, _)| d == dest) {
            Some((_, f)) => f.extend(files),
            None => groups.push((dest.clone(), files)),
        }
    }
    let mut out = Vec::new();
    for (dest, mut files) in groups {
        files.sort();
        files.dedup();
        let base = common_dir(&files);
        for f in files {
            let rel = f.strip_prefix(&base).unwrap_or(&f).trim_start_matches('/');
            let (dir, name) = rel.rsplit_once('/').map_or(("", rel), |(d, n)| (d, n));
            let mut o = dest.trim_end_matches('/').to_string();
            if !dir.is_empty() {
                o.push('/');
                o.push_str(dir);
            }
            o.push('/');
            o.push_str(&output_name(name));
            out.push((f, o));
        }
    }
    out.sort();
    let mut seen = std::collections::BTreeSet::new();
    for (_, o) in &out {
        if !seen.insert(o) {
            return Err(usage(format!("two inputs would write the same output {o}")));
        }
    }
    Ok(out)
}

fn describe(r: &FileReport) -> String {
    let mut lines: Vec<String> = Vec::new();
    if !r.malformed.is_empty() {
        let counts: Vec<String> = r
            .malformed
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.push(format!(
            "{}: malformed records skipped: {}",
            r.path,
            counts.join(", ")
        ));
        lines.extend(r.problems.iter().cloned());
    }
    if let Some(f) = &r.fatal {
        lines.push(f.clone());
    }
    lines.join("\n")
}

/// `loam warc -c CONFIG`.
pub fn warc(path: &Path, opts: RunOptions) -> Result<Option<Outcome>> {
    let started = Instant::now();
    let (cfg, raw) = load::<WarcConfig>(path)?;
    if cfg.dryrun {
        println!("{}", serde_json::to_string_pretty(&raw)?);
        return Ok(None);
    }
    let hooks = TaggerHooks {
        pre: build_taggers(&cfg.pre.taggers)?,
        pre_skip: cfg.pre.skip,
        post: build_taggers(&cfg.post.taggers)?,
        post_skip: cfg.post.skip,
    };
    let storage: &dyn Storage = storage_for(cfg.documents.first().map_or(".", |s| s.as_str()))?;
    let units = plan(storage, &cfg)?;
    // One run per destination at a time, as for every other command.
    let _lock = lock_outputs(&cfg.destination, opts)?;
    let mut fp_cfg = raw.clone();
    if let Some(o) = fp_cfg.as_object_mut() {
        for k in WarcConfig::runtime_keys() {
            o.remove(*k);
        }
    }
    let fp = fingerprint(&json!({
        "stage": "warc", "loam": loam_pipeline::VERSION, "config": fp_cfg,
    }));
    let outputs: Vec<String> = units.iter().map(|(_, o)| o.clone()).collect();
    let state =
        RunState::beside_outputs(storage, "warc", &fp, opts.overwrite || cfg.ignore_existing);
    // The marker keeps the file's report (`FileReport::info`).
    let mut done = Units::<Value>::check(state, outputs).map_err(units_error)?;
    let exec = Executor::new(opts.threads)?;
    done.verify_outputs(storage, &exec, opts.part.units);
    let todo = done.todo(opts.part.units);
    let options = Options {
        source: cfg.source_name.clone().unwrap_or_default(),
        mode: cfg.mode(),
        store_html: cfg.store_html_in_metadata,
        max_payload_bytes: cfg.max_payload_size_bytes,
    };
    let bar = crate::progress::stage_bar("warc");
    let results = done.run(&exec, &todo, |i| {
        let (input, output) = &units[i];
        let rep = process_file(storage, input, output, &options, &hooks, |n| {
            bar.advance(n, 0)
        });
        match rep.fatal {
            None => Ok(Made {
                info: rep.info(),
                output: rep.output,
            }),
            Some(_) => Err(describe(&rep)),
        }
    });
    bar.finish_and_clear();
    let mut failures = Vec::new();
    let mut reports: Vec<FileReport> = Vec::with_capacity(units.len());
    for (i, u) in results.iter().enumerate() {
        match u {
            Unit::Done { info, .. } => reports.push(FileReport::from_info(&units[i].0, info)),
            Unit::Failed(e) => failures.push(Failure::new("warc", &units[i].0, e.clone())),
            Unit::Skipped => {}
        }
    }
    let mut records = 0u64;
    let mut docs = 0u64;
    let mut bytes = 0u64;
    let mut by_reason: BTreeMap<String, RuleCounts> = BTreeMap::new();
    for r in &reports {
        let convertible: u64 = ["response", "resource", "conversion"]
            .iter()
            .map(|k| r.records.get(*k).copied().unwrap_or(0))
            .sum();
        records += convertible;
        docs += r.documents;
        bytes += r.text_bytes;
        for (k, v) in r.skipped.iter().chain(r.malformed.iter()) {
            by_reason.entry(k.clone()).or_default().documents_dropped += v;
        }
        let skipped: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let malformed: Vec<String> = r
            .malformed
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "{}: {} record(s) to convert, {} document(s); skipped: {}; malformed: {}",
            r.path,
            convertible,
            r.documents,
            if skipped.is_empty() {
                "none".into()
            } else {
                skipped.join(", ")
            },
            if malformed.is_empty() {
                "none".into()
            } else {
                malformed.join(", ")
            },
        );
        if r.failed() {
            failures.push(Failure::new("warc", &r.path, describe(r)));
        }
    }
    let stages = vec![StageLine::new(
        loam_manifests::StageKind::Warc,
        format!(
            "warc ({})",
            match options.mode {
                loam_extract::Mode::Main => "main text",
                loam_extract::Mode::Full => "full text",
            }
        ),
        records,
        docs,
        0,
        bytes,
        by_reason,
        todo.len(),
        units.len(),
    )];
    Ok(Some(Outcome {
        warnings: Vec::new(),
        title: format!("loam warc ({})", path.display()),
        shards: units.len(),
        stages,
        failures,
        manifest: None,
        elapsed: started.elapsed(),
        started,
        threads: exec.threads(),
    }))
}

#[cfg(test)]
mod tests {
    use super::common_dir;

    #[test]
    fn common_dirs() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(common_dir(&v(&["a/b/x.warc.gz", "a/b/y.warc.gz"])), "a/b");
        assert_eq!(common_dir(&v(&["a/b/x.warc.gz", "a/bc/y.warc.gz"])), "a");
        assert_eq!(common_dir(&v(&["a/b/c/x", "a/b/y"])), "a/b");
    }
}
