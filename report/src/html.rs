//! `loam report MIX_DIR [MIX_DIR_B] -o report.html`: one self-contained HTML file (inline
//! CSS, inline SVG charts drawn by hand, one small inline script that only measures the
//! rendered charts for tests) — the funnel of documents and tokens through every rule, a
//! histogram of each numeric attribute with its rule's threshold, languages, duplicate
//! rates by source, removed examples with the deciding spans highlighted, the manifest's
//! summary, and, given two mixes, their per-rule differences.
//!
//! Same mix → same bytes: nothing depends on time, threads or hash-map order.

use crate::collect::{self, op_symbol, Example, MixData};
use crate::svg::{self, esc, int, num, pct, signed};
use crate::Error;
use loam_manifests::check::short_id;
use loam_mixes::ledger::Decision;
use loam_mixes::rules::Op;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Characters of context around a highlighted span.
const CONTEXT_CHARS: usize = 240;
/// Longest highlighted run shown.
const MAX_SPAN_CHARS: usize = 700;

/// A report written by [`report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Size of the HTML file.
    pub bytes: usize,
    /// Whether the (first) mix had a manifest; without one the report shows attribute
    /// histograms and languages only.
    pub manifest: bool,
}

/// `loam report`: collects mix `a` (and `b`, to compare) on `threads` threads, renders the
/// report and writes it to `out` atomically (a temporary name, then a rename).
pub fn report(a: &Path, b: Option<&Path>, out: &Path, threads: usize) -> Result<Written, Error> {
    let da = load(a, threads)?;
    let db = match b {
        Some(b) => Some(load(b, threads)?),
        None => None,
    };
    let html = render(&da, db.as_ref())?;
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html.as_bytes()).map_err(|error| Error::Write {
        path: tmp.clone(),
        error,
    })?;
    std::fs::rename(&tmp, out).map_err(|error| Error::Write {
        path: out.to_path_buf(),
        error,
    })?;
    Ok(Written {
        bytes: html.len(),
        manifest: da.manifest.is_some(),
    })
}

/// Collects one mix directory (or dolma tree, or directory of attribute files); refuses a
/// directory that does not exist or has neither a manifest nor attribute files.
pub fn load(dir: &Path, threads: usize) -> Result<MixData, Error> {
    if !crate::mixdir::is_remote(&dir.to_string_lossy()) && !dir.exists() {
        return Err(Error::NoSuchDirectory {
            dir: dir.to_path_buf(),
        });
    }
    let d = collect::collect(dir, threads)?;
    if d.manifest.is_none() {
        let attrs: usize = d.shards.iter().map(|s| s.attributes.len()).sum();
        if attrs == 0 {
            return Err(Error::NothingToReport {
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(d)
}

const CSS: &str = r#"
:root{--keep:#2f6db3;--cut:#e59a3b;--thr:#c62828;--ink:#1d2330;--mute:#5d6677;--line:#d9dde5;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
header{background:var(--ink);color:#fff;padding:18px 28px}
header h1{margin:0;font-size:21px;font-weight:600}
header .sub{color:#c3c9d6;font-size:13px;margin-top:4px}
nav{padding:8px 28px;background:var(--bg);border-bottom:1px solid var(--line);font-size:13px}
nav a{margin-right:14px;color:var(--keep);text-decoration:none}
main{padding:8px 28px 40px;max-width:1320px}
section{margin-top:26px}
h2{font-size:18px;margin:0 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}
.card .k{color:var(--mute);font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px;margin:10px 0}
.muted{color:var(--mute)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(470px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}
figcaption{font-size:12px;color:var(--mute);word-break:break-all}
figcaption b{color:var(--ink)}
svg.chart{display:block;max-width:100%;height:auto}
svg .lbl{font-size:12px;fill:var(--ink)}
svg .num{font-size:12px;fill:var(--mute);font-variant-numeric:tabular-nums}
svg .tick{font-size:10px;fill:var(--mute)}
svg .grid{stroke:#eceff3}
svg .axis{stroke:#8a93a3}
svg .keep{fill:var(--keep)}
svg .cut{fill:var(--cut)}
svg .before{fill:#9aa3b2}
svg .after{fill:var(--keep)}
svg .thr{stroke:var(--thr);stroke-width:2;stroke-dasharray:5 3}
svg .thrl{font-size:11px;fill:var(--thr);font-weight:600}
.legend span{display:inline-block;width:11px;height:11px;margin:0 4px -1px 10px;border-radius:2px}
.ex{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:8px 12px}
.ex .meta{font-size:12px;color:var(--mute);word-break:break-all}
pre.doc{white-space:pre-wrap;word-break:break-word;background:var(--bg);padding:8px;margin:6px 0 0;max-height:280px;overflow:auto;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
mark{background:#ffd54f;color:#000;padding:0 1px}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
details summary{cursor:pointer;color:var(--keep)}
tr.changed td{background:#fff3bf}
tr.changed td code{font-weight:600}
.chg{display:inline-block;margin-left:6px;padding:0 5px;border-radius:3px;background:var(--thr);color:#fff;font-size:11px;font-weight:600}
details.unused{margin-top:14px}
#measured{display:none}
"#;

/// Measures every chart after layout and copies the funnel cells' rendered text, so a
/// headless browser's DOM dump shows what a reader sees. Reads nothing from the data.
const SCRIPT: &str = r#"
(function(){
  function m(){
    var charts=[];
    // Folded charts are measured unfolded (then folded again), and marked as folded.
    var closed=[];
    document.querySelectorAll('details:not([open])').forEach(function(d){closed.push(d);d.open=true;});
    document.querySelectorAll('svg[data-chart]').forEach(function(s){
      var r=s.getBoundingClientRect(),b=s.getBBox(),bars=0,visible=0;
      s.querySelectorAll('rect.bar').forEach(function(x){bars++;var q=x.getBoundingClientRect();if(q.width>0&&q.height>0)visible++;});
      var fig=s.closest('figure'),fold=s.closest('details'),bins={};
      s.querySelectorAll('rect.bar').forEach(function(x){
        var t=x.querySelector('title'),g=t&&t.textContent.match(/\): ([0-9,]+) /);
        if(g){var k=x.getAttribute('x');bins[k]=(bins[k]||0)+parseInt(g[1].replace(/,/g,''),10);}
      });
      charts.push({chart:s.getAttribute('data-chart'),width:r.width,height:r.height,bbox_width:b.width,bbox_height:b.height,bars:bars,visible_bars:visible,
        attribute:fig?fig.getAttribute('data-attribute'):null,folded:!!fold&&closed.indexOf(fold)>=0,yscale:s.getAttribute('data-yscale'),
        ylabel:(s.querySelector('text.ylabel')||{}).textContent||null,
        bins:Object.keys(bins).map(function(k){return bins[k];})});
    });
    closed.forEach(function(d){d.open=false;});
    var sections=[];
    document.querySelectorAll('main > section').forEach(function(x){sections.push(x.id);});
    var changed=[];
    document.querySelectorAll('tr.changed').forEach(function(x){
      changed.push({rule:x.getAttribute('data-rule'),path:x.getAttribute('data-path'),background:getComputedStyle(x.querySelector('td')).backgroundColor});
    });
    var steps=[];
    document.querySelectorAll('svg[data-chart] rect.bar.keep[data-step]').forEach(function(x){
      var q=x.getBoundingClientRect();
      steps.push({chart:x.closest('svg').getAttribute('data-chart'),step:x.getAttribute('data-step'),width:q.width});
    });
    var cells=[];
    document.querySelectorAll('[data-funnel]').forEach(function(c){
      cells.push({funnel:c.getAttribute('data-funnel'),step:c.getAttribute('data-step'),field:c.getAttribute('data-field'),text:c.innerText});
    });
    var pairs=[];
    document.querySelectorAll('svg[data-chart] rect[data-when]').forEach(function(x){
      pairs.push({chart:x.closest('svg').getAttribute('data-chart'),row:Number(x.getAttribute('data-row')),when:x.getAttribute('data-when'),width:x.getBoundingClientRect().width});
    });
    var el=document.getElementById('measured');
    el.textContent=JSON.stringify({charts:charts,bars:steps,cells:cells,sections:sections,changed:changed,pairs:pairs});
    document.body.setAttribute('data-measured',String(charts.length));
  }
  if(document.readyState==='complete'){m();}else{window.addEventListener('load',m);}
})();
"#;

/// One funnel step.
struct Step {
    key: String,
    label: String,
    rule: Option<String>,
    docs_removed: i64,
    docs_after: u64,
    bytes_removed: i64,
    bytes_after: u64,
    tokens_removed: Option<i64>,
    tokens_after: Option<u64>,
}

/// The mix funnel: stage totals and per-rule counts from the manifest; tokens from the
/// ledger and the documents.
fn funnel(d: &MixData) -> Option<Vec<Step>> {
    let m = d.manifest.as_ref()?;
    let mix: Vec<&loam_manifests::StageCounts> = m
        .stages
        .iter()
        .filter(|s| s.kind() == Some(loam_manifests::StageKind::Mix))
        .collect();
    if mix.is_empty() {
        return None;
    }
    let docs_in: u64 = mix.iter().map(|s| s.documents_in).sum();
    let docs_out: u64 = mix.iter().map(|s| s.documents_out).sum();
    let bytes_in: u64 = mix.iter().map(|s| s.text_bytes_in).sum();
    let bytes_out: u64 = mix.iter().map(|s| s.text_bytes_out).sum();
    let mut by_rule: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for s in &mix {
        for (r, c) in &s.by_rule {
            let e = by_rule.entry(r.as_str()).or_default();
            e.0 += c.documents_dropped;
            e.1 += c.text_bytes_dropped;
        }
    }
    let mut order: Vec<&str> = d
        .rules
        .iter()
        .map(|r| r.rule.as_str())
        .filter(|r| by_rule.contains_key(r))
        .collect();
    for r in by_rule.keys() {
        if !order.contains(r) {
            order.push(r);
        }
    }
    let tokens = d.has_documents;
    let tok_in: u64 = d.tokens_by_code.iter().sum();
    let tok_of = |rule: &str| -> u64 {
        d.codes
            .iter()
            .position(|c| c == rule)
            .map_or(0, |i| d.tokens_by_code[i + 1])
    };
    let tok_out: u64 = m
        .outputs
        .iter()
        .filter(|o| o.kind == loam_manifests::OutputKind::Documents)
        .filter_map(|o| o.tokens)
        .sum();
    let mut steps = vec![Step {
        key: "input".into(),
        label: "input documents".into(),
        rule: None,
        docs_removed: 0,
        docs_after: docs_in,
        bytes_removed: 0,
        bytes_after: bytes_in,
        tokens_removed: tokens.then_some(0),
        tokens_after: tokens.then_some(tok_in),
    }];
    let (mut docs, mut bytes, mut toks) = (docs_in, bytes_in, tok_in);
    for r in order {
        let (n, b) = by_rule[r];
        let t = tok_of(r);
        docs = docs.saturating_sub(n);
        bytes = bytes.saturating_sub(b);
        toks = toks.saturating_sub(t);
        steps.push(Step {
            key: r.to_string(),
            label: r.to_string(),
            rule: Some(r.to_string()),
            docs_removed: n as i64,
            docs_after: docs,
            bytes_removed: b as i64,
            bytes_after: bytes,
            tokens_removed: tokens.then_some(t as i64),
            tokens_after: tokens.then_some(toks),
        });
    }
    // Sampling / token budget (and up-sampling copies): whatever remains to the output.
    let sampled = docs != docs_out || bytes != bytes_out || (tokens && toks != tok_out);
    if sampled {
        steps.push(Step {
            key: "sampling".into(),
            label: "sampling / budget".into(),
            rule: None,
            docs_removed: docs as i64 - docs_out as i64,
            docs_after: docs_out,
            bytes_removed: bytes as i64 - bytes_out as i64,
            bytes_after: bytes_out,
            tokens_removed: tokens.then_some(toks as i64 - tok_out as i64),
            tokens_after: tokens.then_some(tok_out),
        });
    }
    steps.push(Step {
        key: "output".into(),
        label: "in the mix".into(),
        rule: None,
        docs_removed: 0,
        docs_after: docs_out,
        bytes_removed: 0,
        bytes_after: bytes_out,
        tokens_removed: tokens.then_some(0),
        tokens_after: tokens.then_some(tok_out),
    });
    Some(steps)
}

fn rule_desc(d: &MixData, rule: &str) -> String {
    match d.rules.iter().find(|r| r.rule == rule) {
        Some(r) if r.op == Op::Exists => format!("{} exists", r.attribute),
        Some(r) => format!(
            "{} {} {}",
            r.attribute,
            op_symbol(r.op),
            r.value.map(num).unwrap_or_default()
        ),
        None if rule == "sample" => "sampling draw".into(),
        None => String::new(),
    }
}

fn mix_title(d: &MixData) -> String {
    match &d.manifest {
        Some(m) => format!(
            "{} {} ({})",
            m.mix.name,
            m.mix.label,
            short_id(&m.mix.content_id)
        ),
        None => d.dir.display().to_string(),
    }
}

/// The report's HTML for mix `a`, compared with `b` when given.
pub fn render(a: &MixData, b: Option<&MixData>) -> Result<String, Error> {
    let mut h = String::with_capacity(1 << 18);
    let title = match b {
        Some(b) => format!("loam report: {} vs {}", mix_title(a), mix_title(b)),
        None => format!("loam report: {}", mix_title(a)),
    };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"loam {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>",
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        CSS
    );
    let sub = match &a.manifest {
        Some(m) => format!(
            "mix {} · label {} · content id {} · made by {} {}",
            m.mix.name, m.mix.label, m.mix.content_id, m.tool.name, m.tool.version
        ),
        None => format!("{} · no manifest (attributes only)", a.dir.display()),
    };
    let _ = writeln!(
        h,
        "<header><h1>{}</h1><div class=\"sub\">{}</div></header>",
        esc(&title),
        esc(&sub)
    );
    // Given two mixes, their comparison comes first: it is what the reader came for.
    let mut nav = match b {
        Some(_) => vec![("compare", "Comparison")],
        None => Vec::new(),
    };
    nav.push(("funnel", "Funnel"));
    if has_buckets(a) {
        nav.push(("buckets", "Quality buckets"));
    }
    nav.extend([
        ("attributes", "Attributes"),
        ("languages", "Languages"),
        ("duplicates", "Duplicates"),
        ("examples", "Removed examples"),
        ("manifest", "Manifest"),
    ]);
    h.push_str("<nav>");
    for (id, t) in &nav {
        let _ = write!(h, "<a href=\"#{id}\">{t}</a>");
    }
    h.push_str("</nav>\n<main>\n");
    if a.manifest.is_none() {
        let _ = writeln!(
            h,
            "<div class=\"note\" id=\"no-manifest\"><b>No loam manifest in {}.</b> This looks \
             like a tree made by dolma (or attribute files alone). From attributes alone the \
             report shows each attribute's histogram and the languages; the funnel, the rules' \
             thresholds, duplicate rates and removed examples need the manifest and ledger \
             that <code>loam run</code> writes. Run the same pipeline with loam (it reads \
             dolma configs) to get them, or <code>loam stat</code> for dolma-compatible \
             summaries.</div>",
            esc(&a.dir.display().to_string())
        );
    }
    for n in &a.notes {
        let _ = writeln!(h, "<div class=\"note\">{}</div>", esc(n));
    }
    if let Some(b) = b {
        section_compare(&mut h, a, b)?;
    }
    let steps = funnel(a);
    cards(&mut h, a, steps.as_deref());
    section_funnel(&mut h, a, steps.as_deref(), "a");
    section_buckets(&mut h, a);
    section_attributes(&mut h, a);
    section_languages(&mut h, a);
    section_duplicates(&mut h, a);
    section_examples(&mut h, a);
    section_manifest(&mut h, a);
    h.push_str("</main>\n<pre id=\"measured\"></pre>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body>\n</html>\n");
    Ok(h)
}

fn cards(h: &mut String, d: &MixData, steps: Option<&[Step]>) {
    let Some(steps) = steps else { return };
    let (first, last) = (&steps[0], &steps[steps.len() - 1]);
    h.push_str("<div class=\"cards\">");
    let mut card = |k: &str, v: String| {
        let _ = write!(
            h,
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            esc(&v),
            esc(k)
        );
    };
    card("input documents", int(first.docs_after));
    card("documents in the mix", int(last.docs_after));
    card(
        "documents removed",
        pct(
            first.docs_after.saturating_sub(last.docs_after),
            first.docs_after,
        ),
    );
    if let (Some(a), Some(b)) = (first.tokens_after, last.tokens_after) {
        card("input tokens (whitespace)", int(a));
        card("tokens in the mix", int(b));
    }
    card("rules", int(d.rules.len() as u64));
    h.push_str("</div>\n");
}

fn section_funnel(h: &mut String, d: &MixData, steps: Option<&[Step]>, tag: &str) {
    h.push_str("<section id=\"funnel\"><h2>Funnel</h2>\n");
    let Some(steps) = steps else {
        h.push_str("<p class=\"muted\">No funnel: it needs a loam manifest with a mix stage.</p></section>\n");
        return;
    };
    let rows: Vec<svg::FunnelRow> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| svg::FunnelRow {
            key: s.key.clone(),
            label: s.label.clone(),
            before: if i == 0 {
                s.docs_after
            } else {
                steps[i - 1].docs_after
            },
            after: s.docs_after,
        })
        .collect();
    h.push_str("<p class=\"muted\">The first rule that fires decides; each row is what remains after it (blue) and what it removed (orange). Document and byte counts are the manifest's; tokens are whitespace tokens of the input documents, summed per deciding rule from the ledger.</p>");
    h.push_str("<h3>Documents</h3>\n");
    h.push_str(&svg::funnel(
        &format!("funnel-documents-{tag}"),
        "documents",
        &rows,
    ));
    if steps[0].tokens_after.is_some() {
        let rows: Vec<svg::FunnelRow> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| svg::FunnelRow {
                key: s.key.clone(),
                label: s.label.clone(),
                before: if i == 0 {
                    s.tokens_after.unwrap_or(0)
                } else {
                    steps[i - 1].tokens_after.unwrap_or(0)
                },
                after: s.tokens_after.unwrap_or(0),
            })
            .collect();
        h.push_str("\n<h3>Tokens</h3>\n");
        h.push_str(&svg::funnel(
            &format!("funnel-tokens-{tag}"),
            "tokens",
            &rows,
        ));
    } else {
        h.push_str(
            "<p class=\"muted\">Token counts need the input documents, which were not found.</p>",
        );
    }
    let total = steps[0].docs_after;
    let _ = writeln!(
        h,
        "\n<table class=\"funnel\" data-funnel-table=\"{tag}\"><thead><tr><th>step</th><th>rule</th>\
         <th class=\"n\">documents removed</th><th class=\"n\">documents after</th><th class=\"n\">% of input</th>\
         <th class=\"n\">text bytes removed</th><th class=\"n\">text bytes after</th><th class=\"n\">tokens removed</th><th class=\"n\">tokens after</th></tr></thead><tbody>"
    );
    for s in steps {
        let cell = |field: &str, text: String| {
            format!(
                "<td class=\"n\" data-funnel=\"{tag}\" data-step=\"{}\" data-field=\"{field}\">{}</td>",
                esc(&s.key),
                esc(&text)
            )
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td>{}{}{}{}{}{}{}</tr>",
            esc(&s.label),
            esc(&s
                .rule
                .as_deref()
                .map(|r| rule_desc(d, r))
                .unwrap_or_default()),
            cell("documents_removed", int_or_signed(s.docs_removed)),
            cell("documents_after", int(s.docs_after)),
            cell("percent", pct(s.docs_after, total)),
            cell("bytes_removed", int_or_signed(s.bytes_removed)),
            cell("bytes_after", int(s.bytes_after)),
            cell(
                "tokens_removed",
                s.tokens_removed
                    .map(int_or_signed)
                    .unwrap_or_else(|| "–".into())
            ),
            cell(
                "tokens_after",
                s.tokens_after.map(int).unwrap_or_else(|| "–".into())
            ),
        );
    }
    h.push_str("</tbody></table>\n");
    // Ledger cross-check.
    if d.has_ledger {
        let mut diffs = Vec::new();
        for s in steps.iter().filter(|s| s.rule.is_some()) {
            let r = s.rule.as_deref().unwrap_or_default();
            let ledger = d
                .codes
                .iter()
                .position(|c| c == r)
                .map_or(0, |i| d.docs_by_code[i + 1]);
            if d.has_documents && ledger as i64 != s.docs_removed {
                diffs.push(format!("{r}: manifest {}, ledger {ledger}", s.docs_removed));
            }
        }
        if diffs.is_empty() {
            if d.has_documents {
                h.push_str("<p class=\"muted\">The ledger agrees with the manifest on every rule's count.</p>");
            }
        } else {
            let _ = write!(
                h,
                "<div class=\"note\">The ledger and the manifest disagree: {}</div>",
                esc(&diffs.join("; "))
            );
        }
    }
    // All stages.
    if let Some(m) = &d.manifest {
        h.push_str("<h3>All stages</h3><table><thead><tr><th>stage</th><th class=\"n\">documents in</th><th class=\"n\">documents out</th><th class=\"n\">text bytes in</th><th class=\"n\">text bytes out</th><th>by rule (documents)</th></tr></thead><tbody>\n");
        for s in &m.stages {
            let rules: Vec<String> = s
                .by_rule
                .iter()
                .map(|(r, c)| format!("{r}: {}", int(c.documents_dropped)))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&s.stage),
                int(s.documents_in),
                int(s.documents_out),
                int(s.text_bytes_in),
                int(s.text_bytes_out),
                esc(&rules.join(", "))
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
}

fn int_or_signed(n: i64) -> String {
    if n < 0 {
        signed(n)
    } else {
        int(n as u64)
    }
}

fn section_attributes(h: &mut String, d: &MixData) {
    h.push_str("<section id=\"attributes\"><h2>Attributes</h2>\n");
    if d.histograms.is_empty() {
        h.push_str("<p class=\"muted\">No numeric attributes found.</p></section>\n");
        return;
    }
    let (s0, s1) = if d.has_ledger {
        ("kept", "removed (by any rule)")
    } else {
        ("documents", "removed")
    };
    let _ = writeln!(
        h,
        "<p class=\"muted\">Value of each document-level attribute (the first span's score, as \
         the rules read it), {} equal bins (log scale for long-tailed counts). Dashed red: a rule's threshold.</p>\
         <p class=\"legend\"><span style=\"background:var(--keep)\"></span>{}{}</p>\n<div class=\"grid\">",
        collect::BINS,
        s0,
        if d.has_ledger {
            format!("<span style=\"background:var(--cut)\"></span>{s1}")
        } else {
            String::new()
        }
    );
    // Attributes no rule reads are folded away (when there are rules at all).
    let used =
        |attribute: &str| d.rules.is_empty() || d.rules.iter().any(|r| r.attribute == attribute);
    let mut unused = String::new();
    let mut n_unused = 0usize;
    for (i, hist) in d.histograms.iter().enumerate() {
        let h: &mut String = match used(&hist.attribute) {
            true => &mut *h,
            false => {
                n_unused += 1;
                &mut unused
            }
        };
        let thresholds: Vec<svg::Threshold> = d
            .rules
            .iter()
            .filter(|r| r.attribute == hist.attribute)
            .filter_map(|r| {
                Some(svg::Threshold {
                    rule: r.rule.clone(),
                    text: format!("{} {}", op_symbol(r.op), num(r.value?)),
                    value: r.value?,
                })
            })
            .collect();
        let exists: Vec<&str> = d
            .rules
            .iter()
            .filter(|r| r.attribute == hist.attribute && r.op == Op::Exists)
            .map(|r| r.rule.as_str())
            .collect();
        let spiky = {
            let totals: Vec<u64> = hist
                .kept
                .iter()
                .zip(&hist.removed)
                .map(|(k, r)| k + r)
                .collect();
            svg::is_spiky(&totals)
        };
        let _ = writeln!(
            h,
            "<figure data-attribute=\"{}\">{}<figcaption><b>{}</b><br>{} documents · min {} · max {}{}{}{}{}</figcaption></figure>",
            esc(&hist.attribute),
            svg::histogram(
                &format!("hist-{i}"),
                hist.scale,
                &hist.kept,
                &hist.removed,
                (s0, "removed"),
                &thresholds
            ),
            esc(&hist.attribute),
            int(hist.documents),
            esc(&num(hist.min)),
            esc(&num(hist.max)),
            if hist.multi_span > 0 {
                format!(
                    " · {} documents have several spans (first one shown)",
                    int(hist.multi_span)
                )
            } else {
                String::new()
            },
            if exists.is_empty() {
                String::new()
            } else {
                format!(" · rule {} drops documents that have it", esc(&exists.join(", ")))
            },
            thresholds
                .iter()
                .map(|t| format!(" · threshold: <b>{}</b> {}", esc(&t.rule), esc(&t.text)))
                .collect::<String>(),
            match spiky {
                true => format!(
                    " · y axis log scale: the tallest bin holds more than {}× the documents of the median non-empty bin",
                    svg::SPIKY
                ),
                false => String::new(),
            }
        );
    }
    h.push_str("</div>\n");
    if n_unused > 0 {
        let _ = writeln!(
            h,
            "<details class=\"unused\" id=\"unused-attributes\"><summary>{n_unused} attribute(s) no rule uses</summary><div class=\"grid\">{unused}</div></details>"
        );
    }
    h.push_str("</section>\n");
}

fn has_buckets(d: &MixData) -> bool {
    d.manifest.as_ref().is_some_and(|m| m.mix.buckets.is_some())
}

/// `mix.buckets`: per group, tokens per quality bucket before and after the rates.
fn section_buckets(h: &mut String, d: &MixData) {
    let Some(b) = d.manifest.as_ref().and_then(|m| m.mix.buckets.as_ref()) else {
        return;
    };
    h.push_str("<section id=\"buckets\"><h2>Quality buckets</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">Buckets by <code>{}</code>{}, cut at equal {} (rates {}). \
         Upper bar: tokens in the bucket; lower bar: tokens written. {} documents had no score.</p>\n\
         <p class=\"legend\"><span style=\"background:#9aa3b2\"></span>before \
         <span style=\"background:var(--keep)\"></span>after</p>",
        esc(&b.score),
        b.group
            .as_ref()
            .map(|g| format!(" per <code>{}</code>", esc(g)))
            .unwrap_or_default(),
        esc(&b.weight),
        esc(&b
            .rates
            .iter()
            .map(|r| num(*r))
            .collect::<Vec<_>>()
            .join(", ")),
        int(b.missing_score)
    );
    for (gi, (group, g)) in b.groups.iter().enumerate() {
        let rows: Vec<svg::PairedBar> = g
            .buckets
            .iter()
            .enumerate()
            .map(|(k, x)| svg::PairedBar {
                label: format!("bucket {k} (×{})", num(x.rate)),
                before: x.tokens as f64,
                after: x.tokens_after as f64,
                note: format!(
                    "{} → {} tokens · {} → {} docs",
                    int(x.tokens),
                    int(x.tokens_after),
                    int(x.documents),
                    int(x.documents_after)
                ),
            })
            .collect();
        let before: u64 = g.buckets.iter().map(|x| x.tokens).sum();
        let after: u64 = g.buckets.iter().map(|x| x.tokens_after).sum();
        let _ = writeln!(
            h,
            "<h3 data-bucket-group=\"{}\">{}</h3><p class=\"muted\">{} tokens before, {} after; breakpoints from {} documents.</p>{}",
            esc(group),
            esc(group),
            int(before),
            int(after),
            int(g.sampled),
            svg::paired_bars(&format!("buckets-{gi}"), &rows)
        );
    }
    h.push_str("</section>\n");
}

fn section_languages(h: &mut String, d: &MixData) {
    h.push_str("<section id=\"languages\"><h2>Languages</h2>\n");
    if d.languages.is_empty() {
        h.push_str("<p class=\"muted\" id=\"no-languages\">None: no language-ID attribute (such as <code>…__ft_lang_id_doc_v1__en</code>) among the attribute files. Add a <code>ft_lang_id_*</code> tagger to see languages.</p></section>\n");
        return;
    }
    for (gi, (group, langs)) in d.languages.iter().enumerate() {
        let total: u64 = langs.values().map(|x| x.0).sum();
        let mut v: Vec<(&String, &(u64, u64))> = langs.iter().collect();
        v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let mut rows: Vec<svg::HBar> = Vec::new();
        let mut other = (0u64, 0u64);
        for (i, (l, (n, k))) in v.iter().enumerate() {
            if i < 15 {
                rows.push(svg::HBar {
                    label: (*l).clone(),
                    value: *n as f64,
                    note: format!("{} ({}) · kept {}", int(*n), pct(*n, total), int(*k)),
                });
            } else {
                other.0 += n;
                other.1 += k;
            }
        }
        if other.0 > 0 {
            rows.push(svg::HBar {
                label: format!("{} other languages", v.len() - 15),
                value: other.0 as f64,
                note: format!("{} ({})", int(other.0), pct(other.0, total)),
            });
        }
        let _ = writeln!(
            h,
            "<h3><code>{}</code></h3><p class=\"muted\">Most probable label per document ({} documents).</p>{}",
            esc(group),
            int(total),
            svg::hbars(&format!("languages-{gi}"), &rows)
        );
    }
    h.push_str("</section>\n");
}

fn section_duplicates(h: &mut String, d: &MixData) {
    h.push_str("<section id=\"duplicates\"><h2>Duplicates by source</h2>\n");
    if !d.has_ledger {
        h.push_str("<p class=\"muted\">Needs the mix's ledger (which documents were duplicates), written by <code>loam run</code>.</p></section>\n");
        return;
    }
    let dup_rules: Vec<&str> = d
        .codes
        .iter()
        .zip(&d.code_decision)
        .filter(|(_, x)| **x == Decision::Duplicate)
        .map(|(c, _)| c.as_str())
        .collect();
    let _ = write!(
        h,
        "<p class=\"muted\">Source: the documents' <code>source</code> field, else their input file. Duplicates: documents whose deciding rule was a dedup rule ({}); a duplicate caught first by another rule counts under that rule.</p>",
        esc(&if dup_rules.is_empty() {
            "none in this mix".to_string()
        } else {
            dup_rules.join(", ")
        })
    );
    let rows: Vec<svg::HBar> = d
        .sources
        .iter()
        .map(|(s, (n, dup, _))| svg::HBar {
            label: s.clone(),
            value: if *n > 0 {
                *dup as f64 / *n as f64 * 100.0
            } else {
                0.0
            },
            note: format!("{} of {} ({})", int(*dup), int(*n), pct(*dup, *n)),
        })
        .collect();
    h.push_str(&svg::hbars("duplicates", &rows));
    h.push_str("<table><thead><tr><th>source</th><th class=\"n\">documents</th><th class=\"n\">duplicates</th><th class=\"n\">duplicate rate</th><th class=\"n\">removed (any rule)</th></tr></thead><tbody>\n");
    for (s, (n, dup, rem)) in &d.sources {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td></tr>",
            esc(s),
            int(*n),
            int(*dup),
            pct(*dup, *n),
            int(*rem),
            pct(*rem, *n)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// The excerpt: context, the first span highlighted (long spans cut), context; later spans
/// that fall inside the window are highlighted too.
fn excerpt(ex: &Example) -> String {
    let Some(text) = &ex.text else {
        return "<p class=\"muted\">(text not available: the documents file was not found)</p>"
            .into();
    };
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut spans: Vec<(usize, usize)> = ex
        .spans
        .iter()
        .map(|&(a, b, _)| (a.min(n), b.min(n)))
        .filter(|(a, b)| b > a)
        .collect();
    spans.sort();
    let whole = spans.len() == 1 && spans[0].0 == 0 && spans[0].1 >= n;
    let (start, end) = match spans.first() {
        Some(&(a, b)) if !whole => (
            a.saturating_sub(CONTEXT_CHARS),
            (b.min(a + MAX_SPAN_CHARS) + CONTEXT_CHARS).min(n),
        ),
        _ => (0, n.min(2 * CONTEXT_CHARS + MAX_SPAN_CHARS / 2)),
    };
    let mut out = String::from("<pre class=\"doc\">");
    if start > 0 {
        out.push_str("<span class=\"muted\">… </span>");
    }
    let mut i = start;
    let marks: Vec<(usize, usize)> = if whole { Vec::new() } else { spans };
    while i < end {
        if let Some(&(a, b)) = marks.iter().find(|(a, b)| *a <= i && i < *b) {
            let stop = b.min(end).min(a.max(i) + MAX_SPAN_CHARS);
            let s: String = chars[i..stop].iter().collect();
            let _ = write!(out, "<mark>{}</mark>", esc(&s));
            if stop < b.min(end) {
                let _ = write!(
                    out,
                    "<span class=\"muted\"> … [{} more highlighted characters] … </span>",
                    int((b.min(end) - stop) as u64)
                );
                i = b.min(end);
                continue;
            }
            i = stop;
        } else {
            let next = marks
                .iter()
                .filter(|(a, _)| *a > i)
                .map(|(a, _)| *a)
                .min()
                .unwrap_or(end)
                .min(end);
            let s: String = chars[i..next].iter().collect();
            out.push_str(&esc(&s));
            i = next;
        }
    }
    if end < n {
        let _ = write!(
            out,
            "<span class=\"muted\"> … ({} more characters)</span>",
            int((n - end) as u64)
        );
    }
    out.push_str("</pre>");
    out
}

fn section_examples(h: &mut String, d: &MixData) {
    h.push_str("<section id=\"examples\"><h2>Removed examples</h2>\n");
    if d.examples.is_empty() {
        h.push_str(if d.has_ledger {
            "<p class=\"muted\">No document was removed.</p></section>\n"
        } else {
            "<p class=\"muted\">Needs the mix's ledger, written by <code>loam run</code>.</p></section>\n"
        });
        return;
    }
    let _ = writeln!(
        h,
        "<p class=\"muted\">Up to {} documents per rule, chosen by the smallest xxh3 hash of their id (deterministic, spread over the mix). Highlighted: the rule attribute's spans; a document-level attribute covers the whole text, so nothing is highlighted and the beginning is shown.</p>",
        collect::EXAMPLES
    );
    let mut order: Vec<&String> = Vec::new();
    for r in &d.rules {
        if let Some((k, _)) = d.examples.get_key_value(&r.rule) {
            order.push(k);
        }
    }
    for k in d.examples.keys() {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    for rule in order {
        let exs = &d.examples[rule];
        let _ = writeln!(
            h,
            "<h3 data-examples=\"{}\">{} <span class=\"muted\"><code>{}</code></span></h3>",
            esc(rule),
            esc(rule),
            esc(&rule_desc(d, rule))
        );
        for ex in exs {
            let spans = if ex.spans.is_empty() {
                "no spans".to_string()
            } else {
                let v: Vec<String> = ex
                    .spans
                    .iter()
                    .take(4)
                    .map(|(a, b, s)| format!("[{a}, {b}) score {}", num(*s)))
                    .collect();
                format!(
                    "{}{}",
                    v.join(", "),
                    if ex.spans.len() > 4 {
                        format!(", … ({} spans)", ex.spans.len())
                    } else {
                        String::new()
                    }
                )
            };
            let _ = writeln!(
                h,
                "<div class=\"ex\" data-rule=\"{}\"><div class=\"meta\">id <code>{}</code> · {}:{} · {} characters · value {} · threshold {} · spans: {}</div>{}</div>",
                esc(rule),
                esc(&ex.id),
                esc(&ex.file),
                ex.line,
                int(ex.chars as u64),
                ex.value.map(num).unwrap_or_else(|| "–".into()),
                ex.threshold.map(num).unwrap_or_else(|| "–".into()),
                esc(&spans),
                excerpt(ex)
            );
        }
    }
    h.push_str("</section>\n");
}

fn section_compare(h: &mut String, a: &MixData, b: &MixData) -> Result<(), Error> {
    h.push_str("<section id=\"compare\"><h2>Comparison</h2>\n");
    let (Some(ma), Some(mb)) = (&a.manifest, &b.manifest) else {
        h.push_str(
            "<p class=\"muted\">Comparing needs a loam manifest on both sides.</p></section>\n",
        );
        return Ok(());
    };
    let _ = write!(
        h,
        "<p>A: <b>{}</b> · B: <b>{}</b></p>",
        esc(&mix_title(a)),
        esc(&mix_title(b))
    );
    // Per-rule counts and definitions.
    let count = |m: &loam_manifests::Manifest| -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in m
            .stages
            .iter()
            .filter(|s| s.kind() == Some(loam_manifests::StageKind::Mix))
        {
            for (r, c) in &s.by_rule {
                *out.entry(r.clone()).or_default() += c.documents_dropped;
            }
        }
        out
    };
    let (ca, cb) = (count(ma), count(mb));
    let mut names: Vec<String> = a.rules.iter().map(|r| r.rule.clone()).collect();
    for r in b
        .rules
        .iter()
        .map(|r| &r.rule)
        .chain(ca.keys())
        .chain(cb.keys())
    {
        if !names.contains(r) {
            names.push(r.clone());
        }
    }
    let out_a: u64 = ma
        .stages
        .iter()
        .filter(|s| s.kind() == Some(loam_manifests::StageKind::Mix))
        .map(|s| s.documents_out)
        .sum();
    let out_b: u64 = mb
        .stages
        .iter()
        .filter(|s| s.kind() == Some(loam_manifests::StageKind::Mix))
        .map(|s| s.documents_out)
        .sum();
    let mut bars = Vec::new();
    h.push_str("<table data-compare=\"rules\"><thead><tr><th>rule</th><th>A</th><th>B</th><th class=\"n\">dropped in A</th><th class=\"n\">dropped in B</th><th class=\"n\">B − A</th></tr></thead><tbody>\n");
    for r in &names {
        let (x, y) = (
            ca.get(r).copied().unwrap_or(0),
            cb.get(r).copied().unwrap_or(0),
        );
        let da = rule_desc(a, r);
        let db = rule_desc(b, r);
        // A rule whose definition (threshold, attribute, operator) differs is marked.
        let (class, badge) = match da != db {
            true => (" class=\"changed\"", "<span class=\"chg\">changed</span>"),
            false => ("", ""),
        };
        let _ = writeln!(
            h,
            "<tr data-rule=\"{}\"{class}><td>{}{badge}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(r),
            esc(r),
            esc(if da.is_empty() { "–" } else { &da }),
            esc(if db.is_empty() { "–" } else { &db }),
            int(x),
            int(y),
            signed(y as i64 - x as i64)
        );
        bars.push(svg::HBar {
            label: r.clone(),
            value: y as f64 - x as f64,
            note: signed(y as i64 - x as i64),
        });
    }
    let _ = writeln!(
        h,
        "<tr><td><b>in the mix</b></td><td></td><td></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        int(out_a),
        int(out_b),
        signed(out_b as i64 - out_a as i64)
    );
    h.push_str("</tbody></table>\n<h3>Documents dropped per rule, B − A</h3>\n");
    h.push_str(&svg::hbars("compare-rules", &bars));
    // Decisions that changed, shard by shard from the ledgers.
    let shared: Vec<(&String, &std::path::PathBuf)> = a
        .ledger_paths
        .iter()
        .filter(|(k, _)| b.ledger_paths.contains_key(*k))
        .collect();
    if shared.is_empty() {
        h.push_str("<p class=\"muted\">The two mixes share no ledger file, so document-level changes cannot be shown.</p>");
    } else {
        let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut same = 0u64;
        for (k, pa) in &shared {
            let la = collect::ledger_labels(pa)?;
            let lb = collect::ledger_labels(&b.ledger_paths[*k])?;
            for i in 0..la.len().max(lb.len()) {
                let x = la.get(i).cloned().unwrap_or_else(|| "(absent)".into());
                let y = lb.get(i).cloned().unwrap_or_else(|| "(absent)".into());
                if x == y {
                    same += 1;
                } else {
                    *moves.entry((x, y)).or_default() += 1;
                }
            }
        }
        let _ = write!(
            h,
            "<h3>Documents whose decision changed</h3><p class=\"muted\">From the ledgers of the {} shard(s) both mixes read; {} documents kept the same decision.</p>",
            shared.len(),
            int(same)
        );
        if moves.is_empty() {
            h.push_str("<p>No document changed its decision.</p>");
        } else {
            h.push_str("<table data-compare=\"moves\"><thead><tr><th>decision in A</th><th>decision in B</th><th class=\"n\">documents</th></tr></thead><tbody>\n");
            let mut v: Vec<_> = moves.into_iter().collect();
            v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            for ((x, y), n) in v {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                    esc(&x),
                    esc(&y),
                    int(n)
                );
            }
            h.push_str("</tbody></table>\n");
        }
    }
    // B's own funnel.
    if let Some(steps) = funnel(b) {
        let rows: Vec<svg::FunnelRow> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| svg::FunnelRow {
                key: s.key.clone(),
                label: s.label.clone(),
                before: if i == 0 {
                    s.docs_after
                } else {
                    steps[i - 1].docs_after
                },
                after: s.docs_after,
            })
            .collect();
        let _ = write!(
            h,
            "<h3>Funnel of B ({})</h3>{}",
            esc(&mix_title(b)),
            svg::funnel("funnel-documents-b", "documents", &rows)
        );
    }
    // Config values that differ, thresholds among them.
    let changes = loam_manifests::check::config_changes(ma, mb);
    if !changes.is_empty() {
        h.push_str("<h3>Config values that differ</h3><table data-compare=\"config\"><thead><tr><th>field</th><th>A</th><th>B</th></tr></thead><tbody>\n");
        let show = |v: &Option<serde_json::Value>| match v {
            Some(v) => v.to_string(),
            None => "–".to_string(),
        };
        for c in &changes {
            let _ = writeln!(
                h,
                "<tr class=\"changed\" data-path=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                esc(&c.path),
                esc(&c.path),
                esc(&show(&c.a)),
                esc(&show(&c.b))
            );
        }
        h.push_str("</tbody></table>\n");
    }
    // Config differences (fingerprints).
    if ma.config.fingerprint != mb.config.fingerprint {
        let _ = write!(
            h,
            "<p class=\"muted\">Config fingerprints differ: A <code>{}</code>, B <code>{}</code>.</p>",
            esc(&ma.config.fingerprint),
            esc(&mb.config.fingerprint)
        );
    }
    h.push_str("</section>\n");
    Ok(())
}

fn section_manifest(h: &mut String, d: &MixData) {
    h.push_str("<section id=\"manifest\"><h2>Manifest</h2>\n");
    let Some(m) = &d.manifest else {
        h.push_str("<p class=\"muted\">No manifest.</p></section>\n");
        return;
    };
    h.push_str("<table data-manifest=\"summary\"><tbody>\n");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(&v)
        );
    };
    kv(
        "tool",
        format!(
            "{} {}{}",
            m.tool.name,
            m.tool.version,
            m.tool
                .git_commit
                .as_deref()
                .map(|c| format!(" (git {c})"))
                .unwrap_or_default()
        ),
    );
    kv("manifest version", m.manifest_version.to_string());
    kv(
        "mix",
        format!(
            "{} · label {} · content id {}",
            m.mix.name, m.mix.label, m.mix.content_id
        ),
    );
    kv("config", m.config.path.clone());
    kv("config sha256", m.config.sha256.clone());
    kv(
        "config fingerprint",
        format!("{} ({})", m.config.fingerprint, m.hashes.fingerprint),
    );
    kv("content hash", m.hashes.content.clone());
    if let Some(s) = &m.mix.sampling {
        kv(
            "sampling",
            format!(
                "rate {} · seed {} · target tokens {} · eligible tokens {}",
                num(s.rate),
                s.seed,
                s.target_tokens.map(int).unwrap_or_else(|| "–".into()),
                int(s.eligible_tokens)
            ),
        );
    }
    kv(
        "run",
        format!(
            "{} · {:.1} s · host {} · {} threads",
            m.run.started_at, m.run.duration_secs, m.run.host, m.run.threads
        ),
    );
    if !m.parents.is_empty() {
        kv("parents", m.parents.join(", "));
    }
    h.push_str("</tbody></table>\n");
    // Inputs and outputs by role/kind.
    let mut roles: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for i in &m.inputs {
        let e = roles.entry(i.role.as_str()).or_default();
        e.0 += 1;
        e.1 += i.lines;
        e.2 += i.digest.bytes;
    }
    let mut kinds: BTreeMap<&str, (u64, u64, u64, u64)> = BTreeMap::new();
    for o in &m.outputs {
        let e = kinds.entry(o.kind.as_str()).or_default();
        e.0 += 1;
        e.1 += o.documents;
        e.2 += o.tokens.unwrap_or(0);
        e.3 += o.digest.bytes;
    }
    h.push_str("<h3>Inputs and outputs</h3><table data-manifest=\"files\"><thead><tr><th></th><th>role / kind</th><th class=\"n\">files</th><th class=\"n\">lines / documents</th><th class=\"n\">tokens</th><th class=\"n\">bytes</th></tr></thead><tbody>\n");
    for (r, (n, l, b)) in &roles {
        let _ = writeln!(
            h,
            "<tr><td>input</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">–</td><td class=\"n\">{}</td></tr>",
            esc(r),
            int(*n),
            int(*l),
            int(*b)
        );
    }
    for (k, (n, docs, t, b)) in &kinds {
        let _ = writeln!(
            h,
            "<tr><td>output</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(k),
            int(*n),
            int(*docs),
            if *t > 0 { int(*t) } else { "–".into() },
            int(*b)
        );
    }
    if !m.models.is_empty() {
        let _ = writeln!(
            h,
            "<tr><td>model</td><td></td><td class=\"n\">{}</td><td></td><td></td><td class=\"n\">{}</td></tr>",
            m.models.len(),
            int(m.models.iter().map(|x| x.digest.bytes).sum())
        );
    }
    h.push_str("</tbody></table>\n");
    h.push_str("<details><summary>Every file with its checksum</summary><table><thead><tr><th></th><th>path</th><th>role / kind</th><th class=\"n\">bytes</th><th>sha256</th></tr></thead><tbody>\n");
    for i in &m.inputs {
        let _ = writeln!(
            h,
            "<tr><td>input</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            esc(&i.path),
            esc(i.role.as_str()),
            int(i.digest.bytes),
            esc(&i.digest.sha256)
        );
    }
    for md in &m.models {
        let _ = writeln!(
            h,
            "<tr><td>model</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            esc(&md.path),
            esc(&md.used_by),
            int(md.digest.bytes),
            esc(&md.digest.sha256)
        );
    }
    for o in &m.outputs {
        let _ = writeln!(
            h,
            "<tr><td>output</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            esc(&o.path),
            esc(o.kind.as_str()),
            int(o.digest.bytes),
            esc(&o.digest.sha256)
        );
    }
    h.push_str("</tbody></table></details>\n");
    let cfg = serde_json::to_string_pretty(&m.config.normalized).unwrap_or_default();
    let _ = writeln!(
        h,
        "<details><summary>Normalized config</summary><pre class=\"doc\">{}</pre></details>",
        esc(&cfg)
    );
    h.push_str("</section>\n");
}
