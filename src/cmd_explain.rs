//! `loam explain` (one document's story) and `loam sample` (documents one rule removed),
//! answered from the mix's manifest, ledgers and id indexes — no scan of the text to find a
//! document.

use crate::cmd_manifest::load_manifest;
use crate::UsageError;
use anyhow::Result;
use loam_manifests::Manifest;
use loam_mixes::index;
use loam_mixes::ledger::{read_ledger, read_ledger_row, Decision, LedgerRow};
use loam_mixes::mix::index_path;
use loam_mixes::rules::{attribute_value, Op, Rule};
use loam_pipeline::document::Document;
use loam_pipeline::layout;
use loam_pipeline::reader::{DocumentReader, LineReader};
use loam_pipeline::storage::{read_all, AnyStorage, LocalStorage};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

fn rel_name(path: &str) -> String {
    match layout::relative_to_documents(path) {
        Ok(r) => r.to_string(),
        Err(_) => path.rsplit('/').next().unwrap_or(path).to_string(),
    }
}

fn rules_of(m: &Manifest) -> Vec<Rule> {
    m.config
        .normalized
        .get("mix")
        .and_then(|x| x.get("drop"))
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default()
}

/// The attribute files the manifest lists for one document file, where they are read
/// (relative ones under `root`, the run's working directory).
fn attribute_files(m: &Manifest, doc_file: &str, root: Option<&Path>) -> Vec<String> {
    let rel = rel_name(doc_file);
    let rel = layout::attribute_rel(&rel);
    m.inputs
        .iter()
        .filter(|i| {
            i.role == loam_manifests::InputRole::Attributes && i.path.ends_with(&format!("/{rel}"))
        })
        .map(|i| {
            loam_manifests::resolve_path(root, &i.path)
                .to_string_lossy()
                .to_string()
        })
        .collect()
}

/// What the attribute files say about one document line.
#[derive(Default)]
struct LineAttributes {
    /// The merged `attributes` objects.
    attributes: Map<String, Value>,
    /// The merged `duplicate_of` objects (loam's exact dedup: attribute → kept copy).
    duplicate_of: Map<String, Value>,
    /// The merged `duplicate_spans_of` objects (loam's exact paragraph dedup: attribute →
    /// each duplicate span with its kept copy's file, line and span).
    duplicate_spans_of: Map<String, Value>,
    /// Taggers not run on this document (`tag.gate`): tagger → the rule that made it moot.
    not_evaluated: Map<String, Value>,
}

/// Reads given lines (1-based) of several aligned attribute files, merged per line.
fn attributes_at(files: &[String], lines: &BTreeSet<u64>) -> Result<BTreeMap<u64, LineAttributes>> {
    let mut out: BTreeMap<u64, LineAttributes> = BTreeMap::new();
    for f in files {
        let mut r = LineReader::open(&AnyStorage, f)?;
        let last = lines.iter().next_back().copied().unwrap_or(0);
        while let Some(item) = r.next_line() {
            let (n, text) = item?;
            if lines.contains(&n) {
                let v: Value = serde_json::from_str(text)
                    .map_err(|e| anyhow::anyhow!("{f}:{n}: not an attribute record: {e}"))?;
                let e = out.entry(n).or_default();
                if let Some(a) = v.get("attributes").and_then(Value::as_object) {
                    e.attributes.extend(a.clone());
                }
                if let Some(a) = v.get("duplicate_of").and_then(Value::as_object) {
                    e.duplicate_of.extend(a.clone());
                }
                if let Some(a) = v.get("duplicate_spans_of").and_then(Value::as_object) {
                    e.duplicate_spans_of.extend(a.clone());
                }
                if let Some(a) = v.get("not_evaluated").and_then(Value::as_object) {
                    e.not_evaluated.extend(a.clone());
                }
            }
            if n >= last {
                break;
            }
        }
    }
    Ok(out)
}

/// Reads given lines (1-based) of a document file.
fn documents_at(file: &str, lines: &BTreeSet<u64>) -> Result<BTreeMap<u64, Document>> {
    let mut out = BTreeMap::new();
    let last = lines.iter().next_back().copied().unwrap_or(0);
    let mut r = DocumentReader::open(&AnyStorage, file)?;
    while let Some(item) = r.next_document() {
        let (n, d) = item?;
        if lines.contains(&n) {
            out.insert(n, d);
        }
        if n >= last {
            break;
        }
    }
    Ok(out)
}

/// A rule name stored as a JSON string.
fn rule_name(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn op_str(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Exists => "exists",
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.5}")
    }
}

fn find_rows(m: &Manifest, dir: &Path, id: &str) -> Result<Vec<(PathBuf, LedgerRow)>> {
    let mut hits = Vec::new();
    for o in m
        .outputs
        .iter()
        .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
    {
        let ledger = dir.join(&o.path);
        let idx = PathBuf::from(index_path(&ledger.to_string_lossy()));
        let bytes = read_all(&AnyStorage, &idx.to_string_lossy())
            .map_err(|e| anyhow::anyhow!("cannot read id index: {e}"))?;
        for row in index::lookup(&bytes, &idx.to_string_lossy(), id)? {
            let r = read_ledger_row(&ledger, u64::from(row))?;
            if r.id == id {
                hits.push((ledger.clone(), r));
            }
        }
    }
    Ok(hits)
}

fn nearest_ids(m: &Manifest, dir: &Path, id: &str) -> Vec<String> {
    let mut best: Vec<(usize, String)> = Vec::new();
    for o in m
        .outputs
        .iter()
        .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
    {
        let _ = read_ledger(&dir.join(&o.path), |r| {
            let common =
                r.id.chars()
                    .zip(id.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
            if common > 0 {
                best.push((common, r.id));
            }
        });
    }
    best.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    best.dedup_by(|a, b| a.1 == b.1);
    best.into_iter().take(5).map(|x| x.1).collect()
}

/// `loam explain MIX_DIR ID`.
pub fn explain(mix: &Path, id: &str, json: bool, root: Option<&Path>) -> Result<()> {
    // The table, unless `--json` asked for one JSON document (built beside it).
    macro_rules! say {
        ($($t:tt)*) => {
            if !json {
                println!($($t)*);
            }
        };
    }
    let remote = crate::cmd_manifest::is_remote(&mix.to_string_lossy());
    if !remote && !mix.join("manifest.json").exists() && !mix.is_file() {
        return explain_without_manifest(mix, id);
    }
    let (m, dir) = load_manifest(mix)?;
    let root = crate::cmd_manifest::input_root(&m, &dir, root);
    let hits = find_rows(&m, &dir, id)?;
    if hits.is_empty() {
        let near = nearest_ids(&m, &dir, id);
        let mut msg = format!(
            "id {id:?} is not in mix {} {} ({} input documents)",
            m.mix.name,
            m.mix.label,
            m.outputs
                .iter()
                .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
                .map(|o| o.documents)
                .sum::<u64>()
        );
        if !near.is_empty() {
            msg.push_str("; nearest ids:");
            for n in near {
                msg.push_str(&format!("\n  {n}"));
            }
        }
        return Err(usage(msg));
    }
    let rules = rules_of(&m);
    let mut answers: Vec<Value> = Vec::new();
    for (ledger, row) in hits {
        let mut answer = serde_json::json!({
            "id": row.id,
            "file": row.file,
            "line": row.line,
            "ledger": ledger.display().to_string(),
            "decision": row.decision.as_str(),
            "rule": row.rule,
            "value": row.value,
            "threshold": row.threshold,
            "copies": row.copies,
        });
        say!("document   {}", row.id);
        let input = m.inputs.iter().find(|i| i.path == row.file);
        if let Some(i) = input {
            answer["source"] = serde_json::json!({
                "sha256": i.digest.sha256, "bytes": i.digest.bytes, "lines": i.lines,
            });
        }
        match input {
            Some(i) => say!(
                "source     {}:{}  (sha256 {}…, {} bytes, {} lines)",
                row.file,
                row.line,
                loam_manifests::check::short_sha(&i.digest.sha256),
                i.digest.bytes,
                i.lines
            ),
            None => say!("source     {}:{}", row.file, row.line),
        }
        say!("ledger     {}", ledger.display());
        let verdict = match (row.decision, &row.rule) {
            (Decision::Kept, _) if row.copies > 1 => format!("kept ({} copies)", row.copies),
            (Decision::Kept, _) => "kept".to_string(),
            (d, Some(r)) => {
                let mut s = format!("{} by rule `{r}`", d.as_str());
                match (row.value, row.threshold) {
                    (Some(v), Some(t)) => s.push_str(&format!(
                        ": value {} vs threshold {}",
                        fmt_num(v),
                        fmt_num(t)
                    )),
                    (None, None) => {}
                    (v, t) => s.push_str(&format!(": value {v:?}, threshold {t:?}")),
                }
                s
            }
            (d, None) => d.as_str().to_string(),
        };
        say!("decision   {verdict}");
        let files = attribute_files(&m, &row.file, root.as_deref());
        let lines: BTreeSet<u64> = [row.line].into_iter().collect();
        let line_attrs = attributes_at(&files, &lines)?
            .remove(&row.line)
            .unwrap_or_default();
        if row.decision == Decision::Duplicate {
            let attribute = rules
                .iter()
                .find(|r| Some(&r.rule) == row.rule.as_ref())
                .map(|r| r.attribute.as_str());
            let kept = attribute.and_then(|a| line_attrs.duplicate_of.get(a));
            let k = kept_copy(&m, &dir, kept);
            say!("kept copy  {k}");
            answer["kept_copy"] = Value::String(k);
            // A keep policy chose it (else the first copy in canonical order did).
            if let Some(k) = kept {
                let policy = k
                    .get("kept_by")
                    .and_then(Value::as_str)
                    .map_or("first in canonical order (shard path, then line)", |p| p);
                say!("kept by    {policy}");
                answer["kept_by"] = Value::String(policy.to_string());
            }
        }
        if !line_attrs.duplicate_spans_of.is_empty() {
            say!("kept copies of its duplicate spans (first in canonical order)");
            let mut shown = Vec::new();
            for (attribute, list) in &line_attrs.duplicate_spans_of {
                let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
                for (n, e) in list.iter().enumerate() {
                    if n == KEPT_SPANS_SHOWN {
                        say!("  {attribute}: … {} more", list.len() - n);
                        break;
                    }
                    let span = |k: &str| {
                        let r = e.get(k).and_then(Value::as_array);
                        let at = |i: usize| r.and_then(|r| r.get(i)).and_then(Value::as_u64);
                        (at(0).unwrap_or(0), at(1).unwrap_or(0))
                    };
                    let ((s0, e0), (s1, e1)) = (span("span"), span("kept_span"));
                    let k = kept_copy(&m, &dir, Some(e));
                    say!("  {attribute} [{s0}, {e0}) = [{s1}, {e1}) of {k}");
                    shown.push(serde_json::json!({
                        "attribute": attribute, "span": [s0, e0], "kept_span": [s1, e1],
                        "kept_copy": k,
                    }));
                }
            }
            answer["kept_spans"] = Value::Array(shown);
        }
        let attrs = line_attrs.attributes;
        let skipped = &line_attrs.not_evaluated;
        // The gated tagger behind an attribute key `<experiment>__<tagger>__<signal>`.
        let skipped_by = |key: &str| {
            key.split("__")
                .nth(1)
                .and_then(|t| skipped.get(t).map(|r| (t.to_string(), rule_name(r))))
        };
        if !rules.is_empty() {
            say!("rules      (in order; the first that fires decides)");
            let mut decided = false;
            let mut checked: Vec<Value> = Vec::new();
            for r in &rules {
                let fired = r.fires(&attrs).is_some();
                let seen = attrs.get(&r.attribute);
                let shown = match (r.op, seen) {
                    (_, None) => match skipped_by(&r.attribute) {
                        Some((t, why)) => {
                            format!("not evaluated: {t} skipped, rule `{why}` drops the document")
                        }
                        None => "absent".to_string(),
                    },
                    (Op::Exists, Some(v)) => format!("present {v}"),
                    (_, Some(v)) => attribute_value(v)
                        .map(fmt_num)
                        .unwrap_or_else(|| v.to_string()),
                };
                let cond = match r.value {
                    Some(t) => format!("{} {} {}", r.attribute, op_str(r.op), fmt_num(t)),
                    None => format!("{} {}", r.attribute, op_str(r.op)),
                };
                let mark = if fired && !decided {
                    decided = true;
                    "FIRES  ← decided"
                } else if fired {
                    "fires (after the deciding rule)"
                } else {
                    "passes"
                };
                say!("  {:<28} {cond}  [value: {shown}]  {mark}", r.rule);
                checked.push(serde_json::json!({
                    "rule": r.rule, "condition": cond, "value": shown, "result": mark,
                }));
            }
            answer["rules"] = Value::Array(checked);
        }
        say!("attributes ({} file(s))", files.len());
        for (k, v) in &attrs {
            say!("  {k} = {v}");
        }
        for (t, why) in skipped {
            let why = rule_name(why);
            say!("  {t}: not evaluated (gated; rule `{why}` drops the document)");
        }
        say!();
        answer["attributes"] = Value::Object(attrs.clone().into_iter().collect());
        answer["not_evaluated"] = serde_json::json!(skipped
            .iter()
            .map(|(t, why)| (t.clone(), rule_name(why)))
            .collect::<BTreeMap<String, String>>());
        answers.push(answer);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&answers)?);
    }
    Ok(())
}

/// Duplicate spans of one attribute whose kept copies `loam explain` looks up (each reads a
/// ledger row).
const KEPT_SPANS_SHOWN: usize = 20;

/// Describes the surviving copy of a duplicate from its `duplicate_of` entry: its id and
/// decision from the ledger of its file (row = line − 1), and its location.
fn kept_copy(m: &Manifest, dir: &Path, kept: Option<&Value>) -> String {
    let Some((file, line)) = kept.and_then(|k| {
        Some((
            k.get("file")?.as_str()?.to_string(),
            k.get("line")?.as_u64()?,
        ))
    }) else {
        return "unknown (the dedup attribute does not say: a Bloom filter or MinHash dedup, dolma's, or an older loam's)"
            .to_string();
    };
    // `file` is below `documents/` (or a whole path, for inputs outside one); ledgers are
    // named after the same relative path.
    let want = [
        format!("ledger/{file}.parquet"),
        format!("ledger/{}.parquet", rel_name(&file)),
    ];
    let row = m
        .outputs
        .iter()
        .find(|o| o.kind == loam_manifests::OutputKind::Ledger && want.contains(&o.path))
        .and_then(|o| read_ledger_row(&dir.join(&o.path), line.saturating_sub(1)).ok())
        .filter(|r| {
            r.line == line
                && (r.file == file || layout::relative_to_documents(&r.file).ok() == Some(&file))
        });
    match row {
        Some(r) => {
            let fate = match (r.decision, &r.rule) {
                (Decision::Kept, _) => "kept in the mix".to_string(),
                (d, Some(rule)) => format!("itself {} by rule `{rule}`", d.as_str()),
                (d, None) => format!("itself {}", d.as_str()),
            };
            format!("{}  ({}:{line}; {fate})", r.id, r.file)
        }
        None => format!("{file}:{line} (not in this mix's ledgers)"),
    }
}

/// Without a manifest (e.g. a dolma-made tree): find the document by scanning
/// `documents/` and show its attributes from every `attributes/<name>/` directory.
fn explain_without_manifest(dir: &Path, id: &str) -> Result<()> {
    let docs_dir = dir.join("documents");
    if !docs_dir.is_dir() {
        return Err(usage(format!(
            "{}: no manifest.json (not a loam mix) and no documents/ directory to search",
            dir.display()
        )));
    }
    eprintln!(
        "{}: no manifest or ledger (not made by loam): scanning documents/ for the id and reading attributes/*; rules and decisions are unknown without the mixer config",
        dir.display()
    );
    let files = layout::expand(&LocalStorage, &[docs_dir.to_string_lossy().to_string()])?;
    for f in files {
        let mut r = DocumentReader::open(&LocalStorage, &f)?;
        while let Some(item) = r.next_document() {
            let Ok((line, d)) = item else { continue };
            if d.id != id {
                continue;
            }
            println!("document   {id}\nsource     {f}:{line}");
            let rel = layout::relative_to_documents(&f)?.to_string();
            let mut attr_files = Vec::new();
            if let Ok(rd) = std::fs::read_dir(dir.join("attributes")) {
                let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                names.sort();
                for n in names {
                    let p = n.join(layout::attribute_rel(&rel).as_ref());
                    if p.exists() {
                        attr_files.push(p.to_string_lossy().to_string());
                    }
                }
            }
            let lines: BTreeSet<u64> = [line].into_iter().collect();
            let attrs = attributes_at(&attr_files, &lines)?
                .remove(&line)
                .unwrap_or_default()
                .attributes;
            println!("attributes ({} file(s))", attr_files.len());
            for (k, v) in &attrs {
                println!("  {k} = {v}");
            }
            return Ok(());
        }
    }
    Err(usage(format!(
        "id {id:?} not found under {}",
        docs_dir.display()
    )))
}

/// Renders text with spans highlighted (ANSI when `color`, else `[[…]]` markers), cut to
/// windows around the spans when long.
/// Pushes `c`, or for a control character other than newline and tab (ESC, CR, DEL, C1 …)
/// its escape `\x1b`: document text must not drive the terminal or hide lines.
fn push_printable(out: &mut String, c: char) {
    if c.is_control() && c != '\n' && c != '\t' {
        out.push_str(&format!("\\x{:02x}", u32::from(c)));
    } else {
        out.push(c);
    }
}

fn highlight(text: &str, spans: &[(usize, usize)], color: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (open, close) = if color {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("[[", "]]")
    };
    let mut marks = vec![0i8; chars.len() + 1];
    for &(s, e) in spans {
        let (s, e) = (s.min(chars.len()), e.min(chars.len()));
        if s < e {
            marks[s] += 1;
            marks[e] -= 1;
        }
    }
    let mut out = String::new();
    let mut depth = 0i32;
    let limit = 1500;
    for (i, c) in chars.iter().enumerate() {
        let before = depth > 0;
        depth += i32::from(marks[i]);
        let now = depth > 0;
        if !before && now {
            out.push_str(open);
        } else if before && !now {
            out.push_str(close);
        }
        if i >= limit {
            out.push_str(&format!(
                "{}… ({} more characters)",
                if now { close } else { "" },
                chars.len() - i
            ));
            return out;
        }
        push_printable(&mut out, *c);
    }
    if depth > 0 {
        out.push_str(close);
    }
    out
}

/// Whether a ledger's rule name is `rule`, or `rule` is its short form: the name before the
/// first space of a dolma filter's or replacer's rule (`filter.exclude[0]` for
/// `filter.exclude[0] <pattern>`), so a long jq pattern need not be typed.
fn rule_is(name: &str, rule: &str) -> bool {
    name == rule || name.strip_prefix(rule).is_some_and(|r| r.starts_with(' '))
}

/// `loam sample MIX_DIR --rule RULE [-n N] [--seed S]`.
pub fn sample(mix: &Path, rule: &str, n: usize, seed: u64, root: Option<&Path>) -> Result<()> {
    let (m, dir) = load_manifest(mix)?;
    let root = crate::cmd_manifest::input_root(&m, &dir, root);
    let mut candidates: Vec<(u64, LedgerRow)> = Vec::new();
    let mut seen_rules: BTreeSet<String> = BTreeSet::new();
    for o in m
        .outputs
        .iter()
        .filter(|o| o.kind == loam_manifests::OutputKind::Ledger)
    {
        read_ledger(&dir.join(&o.path), |r| {
            if let Some(x) = &r.rule {
                seen_rules.insert(x.clone());
            }
            if r.rule.as_deref().is_some_and(|x| rule_is(x, rule)) {
                let key = format!("{}\0{}\0{}", r.file, r.line, r.id);
                let h = xxhash_rust::xxh3::xxh3_64_with_seed(key.as_bytes(), seed);
                candidates.push((h, r));
            }
        })?;
    }
    if candidates.is_empty() {
        return Err(usage(format!(
            "rule `{rule}` removed no document in this mix; rules that did: {}",
            seen_rules.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let total = candidates.len();
    // The full name, for the heading and the rule's attribute.
    let rule = candidates
        .first()
        .and_then(|c| c.1.rule.clone())
        .unwrap_or_else(|| rule.to_string());
    let rule = rule.as_str();
    candidates.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.file.cmp(&b.1.file))
            .then(a.1.line.cmp(&b.1.line))
    });
    candidates.truncate(n);
    let rules = rules_of(&m);
    let attribute = rules
        .iter()
        .find(|r| r.rule == rule)
        .map(|r| r.attribute.clone());
    let mut by_file: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (_, r) in &candidates {
        by_file.entry(r.file.clone()).or_default().insert(r.line);
    }
    let mut texts: BTreeMap<(String, u64), Document> = BTreeMap::new();
    let mut attrs: BTreeMap<(String, u64), Map<String, Value>> = BTreeMap::new();
    for (file, lines) in &by_file {
        let path = loam_manifests::resolve_path(root.as_deref(), file);
        for (l, d) in documents_at(&path.to_string_lossy(), lines)? {
            texts.insert((file.clone(), l), d);
        }
        for (l, a) in attributes_at(&attribute_files(&m, file, root.as_deref()), lines)? {
            attrs.insert((file.clone(), l), a.attributes);
        }
    }
    let color = std::io::stdout().is_terminal();
    println!(
        "{} of {total} documents removed by `{rule}` (seed {seed})\n",
        candidates.len()
    );
    for (_, r) in &candidates {
        let key = (r.file.clone(), r.line);
        let spans: Vec<(usize, usize)> = attribute
            .as_ref()
            .and_then(|a| attrs.get(&key).and_then(|m| m.get(a)))
            .and_then(Value::as_array)
            .map(|arr| {
                arr.iter()
                    .filter_map(|s| {
                        let s = s.as_array()?;
                        Some((s.first()?.as_u64()? as usize, s.get(1)?.as_u64()? as usize))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let vt = match (r.value, r.threshold) {
            (Some(v), Some(t)) => format!("  value {} vs threshold {}", fmt_num(v), fmt_num(t)),
            _ => String::new(),
        };
        println!("── {}  ({}:{}){vt}", r.id, r.file, r.line);
        match texts.get(&key) {
            Some(d) => println!("{}\n", highlight(&d.text, &spans, color)),
            None => println!("(document text not found)\n"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn highlights_spans_in_code_points() {
        assert_eq!(
            highlight("héllo wörld", &[(6, 11)], false),
            "héllo [[wörld]]"
        );
        assert_eq!(highlight("abcdef", &[(0, 2), (1, 4)], false), "[[abcd]]ef");
        assert_eq!(highlight("abc", &[(2, 99)], false), "ab[[c]]");
        assert!(highlight("abc", &[(0, 1)], true).contains("\x1b[1;31ma\x1b[0m"));
        // The document's own escapes are shown, not sent to the terminal.
        assert_eq!(
            highlight("a\x1b[2Jb\r\u{9b}c\nd", &[], false),
            "a\\x1b[2Jb\\x0d\\x9bc\nd"
        );
        assert!(!highlight("\x1b]0;title\x07", &[(0, 3)], true).contains("\x1b]"));
    }
}
