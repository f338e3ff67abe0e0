//! `loam report`: the HTML is rendered in headless Chromium and the rendered page is
//! checked — every chart present and sized, the funnel's numbers equal to the manifest's,
//! the threshold lines drawn, markup in the data shown as text — not only the HTML string.
//!
//! Chromium is Debian's `chromium` (`scripts/test.sh` installs it). Without it the browser
//! tests fail, unless `LOAM_SKIP_BROWSER=1`.

mod common;
use common::*;

use serde_json::Value;
use std::path::{Path, PathBuf};

const PIPELINE: &str = r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]
dedupe:
  name: dd
  documents: {attribute_name: dup, key: $.text}
mix:
  name: m
  version: LABEL
  drop:
    - {rule: duplicate, attribute: dup, op: exists}
    - {rule: too_few_words, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: WORDS}
    - {rule: symbols, attribute: exp__gopher_v1__symbol_to_word_ratio, op: gt, value: 0.1}
    - {rule: alpha_words, attribute: exp__gopher_v1__fraction_of_words_with_alpha_character, op: lt, value: 0.8}
"#;

/// The quickstart documents plus a shard whose `source` and text carry markup, mixed twice
/// (thresholds 50 and 100 words). Returns (workdir, mix A, mix B).
fn two_mixes() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), docs.join(e.file_name())).unwrap();
    }
    let evil = [
        r#"{"id":"evil-1","source":"<script>window.__pwned=1</script>","text":"</pre></script><script>window.__pwned=2</script><img src=x onerror=\"window.__pwned=3\"> short"}"#,
        r#"{"id":"evil-2","source":"<script>window.__pwned=1</script>","text":"</pre></script><script>window.__pwned=2</script><img src=x onerror=\"window.__pwned=3\"> short"}"#,
    ];
    std::fs::write(docs.join("zz_markup.jsonl"), evil.join("\n") + "\n").unwrap();
    for (label, words) in [("v1", 50), ("v2", 100)] {
        let cfg = dir.path().join(format!("{label}.yaml"));
        std::fs::write(
            &cfg,
            PIPELINE
                .replace("LABEL", label)
                .replace("WORDS", &words.to_string()),
        )
        .unwrap();
        let o = loam(dir.path(), &["run", cfg.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let a = version_dir(&dir.path().join("out/m"), "v1");
    let b = version_dir(&dir.path().join("out/m"), "v2");
    (dir, a, b)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The JSON the report's script wrote into `<pre id="measured">`.
fn measured(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"measured\">")
        .expect("the measurement element is in the DOM")
        + "<pre id=\"measured\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let raw = unescape(&dom[start..end]);
    assert!(
        !raw.trim().is_empty(),
        "the report's script did not run (no measurements)"
    );
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("measurements: {e}: {raw}"))
}

fn number(s: &str) -> i64 {
    let t: String = s
        .trim()
        .replace('−', "-")
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '-' || *c == '+')
        .collect();
    t.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

fn cell<'a>(m: &'a Value, funnel: &str, step: &str, field: &str) -> &'a str {
    m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["funnel"] == funnel && c["step"] == step && c["field"] == field)
        .unwrap_or_else(|| panic!("no funnel cell {funnel}/{step}/{field}"))["text"]
        .as_str()
        .unwrap()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn report_renders_in_chromium_and_matches_the_manifest() {
    let (work, a, b) = two_mixes();
    let html = work.path().join("report.html");
    let o = loam(
        work.path(),
        &["report", a.to_str().unwrap(), "-o", html.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let src = std::fs::read_to_string(&html).unwrap();

    // Self-contained: nothing fetched from anywhere.
    for bad in [
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(http",
        "<script src",
    ] {
        assert!(
            !src.contains(bad),
            "report references an external resource: {bad}"
        );
    }
    // Markup in the data is text, never markup.
    assert!(
        !src.contains("<script>window.__pwned"),
        "unescaped markup in the report"
    );
    assert!(src.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"));
    assert_eq!(
        src.matches("<script").count(),
        1,
        "one script: the measurer"
    );

    // Same mix → same bytes, whatever the thread count.
    let again = work.path().join("again.html");
    let o = loam(
        work.path(),
        &[
            "-j",
            "1",
            "report",
            a.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        src.as_bytes(),
        "report is not deterministic"
    );

    let Some(bin) = chromium() else { return };
    let dom = dump_dom(bin, &html, work.path());
    assert!(
        !dom.contains("<script>window.__pwned"),
        "markup from the data became DOM"
    );
    let m = measured(&dom);

    // Every chart is present and has a size on the page.
    let charts = m["charts"].as_array().unwrap();
    let names: Vec<&str> = charts
        .iter()
        .map(|c| c["chart"].as_str().unwrap())
        .collect();
    for want in ["funnel-documents-a", "funnel-tokens-a", "duplicates"] {
        assert!(names.contains(&want), "chart {want} missing: {names:?}");
    }
    let hists = names.iter().filter(|n| n.starts_with("hist-")).count();
    assert!(
        hists >= 10,
        "expected a histogram per numeric attribute, got {hists}"
    );
    for c in charts {
        for k in ["width", "height", "bbox_width", "bbox_height"] {
            assert!(
                c[k].as_f64().unwrap() > 10.0,
                "chart {} has {k} {}",
                c["chart"],
                c[k]
            );
        }
        assert!(
            c["visible_bars"].as_u64().unwrap() > 0,
            "chart {} draws no visible bar",
            c["chart"]
        );
        assert_eq!(
            c["bars"], c["visible_bars"],
            "chart {} has empty bars",
            c["chart"]
        );
    }

    // The funnel's rendered numbers are the manifest's.
    let man = manifest(&a);
    let stage = man["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("mix"))
        .unwrap();
    let docs_in = stage["documents_in"].as_i64().unwrap();
    let docs_out = stage["documents_out"].as_i64().unwrap();
    assert_eq!(number(cell(&m, "a", "input", "documents_after")), docs_in);
    assert_eq!(number(cell(&m, "a", "output", "documents_after")), docs_out);
    let bytes_out = stage["text_bytes_out"].as_i64().unwrap();
    assert_eq!(number(cell(&m, "a", "output", "bytes_after")), bytes_out);
    let mut remaining = docs_in;
    for rule in ["duplicate", "too_few_words", "symbols", "alpha_words"] {
        let want = stage["by_rule"][rule]["documents_dropped"]
            .as_i64()
            .unwrap_or(0);
        assert_eq!(
            number(cell(&m, "a", rule, "documents_removed")),
            want,
            "rule {rule}"
        );
        remaining -= want;
        assert_eq!(number(cell(&m, "a", rule, "documents_after")), remaining);
    }
    assert_eq!(remaining, docs_out);
    let tokens_out = outputs_sum(&man["outputs"], "tokens") as i64;
    assert_eq!(number(cell(&m, "a", "output", "tokens_after")), tokens_out);

    // Bar lengths are proportional to the counts.
    let width = |chart: &str, step: &str| -> f64 {
        m["bars"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["chart"] == chart && b["step"] == step)
            .unwrap_or_else(|| panic!("no bar {chart}/{step}"))["width"]
            .as_f64()
            .unwrap()
    };
    let (w_in, w_out) = (
        width("funnel-documents-a", "input"),
        width("funnel-documents-a", "output"),
    );
    let expect = w_in * docs_out as f64 / docs_in as f64;
    assert!(
        (w_out - expect).abs() < 1.5,
        "output bar {w_out}px, expected {expect}px"
    );

    // Thresholds drawn on their attributes' histograms.
    for rule in ["too_few_words", "symbols", "alpha_words"] {
        assert!(
            dom.contains(&format!("data-rule=\"{rule}\"")) && dom.contains("class=\"thr\""),
            "no threshold line for {rule}"
        );
    }
    // One mix: its funnel comes first.
    assert_eq!(m["sections"][0], "funnel", "{}", m["sections"]);
    // Attributes no rule reads are folded away; those a rule reads are not.
    let ruled = [
        "dup",
        "exp__whitespace_tokenizer_v1__length",
        "exp__gopher_v1__symbol_to_word_ratio",
        "exp__gopher_v1__fraction_of_words_with_alpha_character",
    ];
    let (mut folded, mut spiky_charts) = (0, 0);
    for c in charts
        .iter()
        .filter(|c| c["chart"].as_str().unwrap().starts_with("hist-"))
    {
        let attribute = c["attribute"].as_str().unwrap();
        let is_folded = c["folded"].as_bool().unwrap();
        assert_eq!(
            is_folded,
            !ruled.contains(&attribute),
            "{attribute} folded: {is_folded}"
        );
        folded += usize::from(is_folded);
        // Spiky — the tallest bin above 20× the median non-empty bin, from the drawn bars —
        // gets a log y axis that says so; the others a linear one.
        let mut bins: Vec<u64> = c["bins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .filter(|&b| b > 0)
            .collect();
        bins.sort_unstable();
        let spiky = bins.len() >= 2 && bins[bins.len() - 1] > 20 * bins[(bins.len() - 1) / 2];
        assert_eq!(
            c["yscale"] == "log",
            spiky,
            "{attribute}: {bins:?} {}",
            c["yscale"]
        );
        if spiky {
            spiky_charts += 1;
            assert!(
                c["ylabel"]
                    .as_str()
                    .is_some_and(|l| l.contains("log scale")),
                "{attribute}: {}",
                c["ylabel"]
            );
        }
    }
    assert!(folded >= 5, "{folded} folded histograms");
    assert!(spiky_charts >= 1, "no spiky histogram in the sample");
    assert!(dom.contains("id=\"unused-attributes\""));

    // Languages: none in this mix, said so.
    assert!(dom.contains("id=\"no-languages\""));
    // Removed examples for every rule that removed something.
    for rule in ["duplicate", "too_few_words"] {
        assert!(
            dom.contains(&format!("data-examples=\"{rule}\"")),
            "no examples for {rule}"
        );
    }

    // A screenshot anyone can look at.
    let png = work.path().join("report.png");
    let profile = tempfile::tempdir_in(work.path()).unwrap();
    let o = browser(
        bin,
        profile.path(),
        &[
            "--window-size=1400,2000".into(),
            format!("--screenshot={}", png.display()),
            format!("file://{}", html.display()),
        ],
    );
    assert!(o.status.success(), "chromium --screenshot: {}", text(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "screenshot"
    );

    // Two mixes: per-rule differences.
    let both = work.path().join("both.html");
    let o = loam(
        work.path(),
        &[
            "report",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "-o",
            both.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let dom = dump_dom(bin, &both, work.path());
    let m = measured(&dom);
    let names: Vec<&str> = m["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chart"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"compare-rules") && names.contains(&"funnel-documents-b"));
    // The comparison comes first; the changed threshold is highlighted, the others not.
    assert_eq!(m["sections"][0], "compare", "{}", m["sections"]);
    let changed = m["changed"].as_array().unwrap();
    let row = changed
        .iter()
        .find(|c| c["rule"] == "too_few_words")
        .unwrap_or_else(|| panic!("the changed threshold is not highlighted: {changed:?}"));
    assert_ne!(row["background"], "rgba(0, 0, 0, 0)", "{row}");
    for rule in ["duplicate", "symbols", "alpha_words"] {
        assert!(
            !changed.iter().any(|c| c["rule"] == rule),
            "{rule} marked changed"
        );
    }
    assert!(
        changed.iter().any(|c| c["path"]
            .as_str()
            .is_some_and(|p| p.contains("drop[1].value"))),
        "config value change not listed: {changed:?}"
    );
    let mb = manifest(&b);
    let sb = mb["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"].as_str().unwrap().starts_with("mix"))
        .unwrap();
    let (x, y) = (
        stage["by_rule"]["too_few_words"]["documents_dropped"]
            .as_i64()
            .unwrap(),
        sb["by_rule"]["too_few_words"]["documents_dropped"]
            .as_i64()
            .unwrap(),
    );
    assert!(y > x, "a higher word threshold drops more");
    let row_start = dom
        .find("<tr data-rule=\"too_few_words\"")
        .expect("rule row");
    let row = &dom[row_start..row_start + dom[row_start..].find("</tr>").unwrap()];
    assert!(row.contains(&format!("+{}", y - x)), "delta in {row}");
    assert!(
        dom.contains("data-compare=\"moves\""),
        "decision changes table"
    );
}

#[test]
fn dolma_tree_without_manifest_gets_histograms_and_an_explanation() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("dolma");
    let provided = repo().join("tests/fixtures/dolma/data/provided");
    std::fs::create_dir_all(tree.join("documents")).unwrap();
    std::fs::copy(
        provided.join("documents/000.json.gz"),
        tree.join("documents/000.json.gz"),
    )
    .unwrap();
    for name in ["pii", "toxicity", "sample", "duplicate_paragraphs"] {
        std::fs::create_dir_all(tree.join("attributes").join(name)).unwrap();
        std::fs::copy(
            provided.join("attributes").join(name).join("000.json.gz"),
            tree.join("attributes").join(name).join("000.json.gz"),
        )
        .unwrap();
    }
    let html = work.path().join("r.html");
    let o = loam(
        work.path(),
        &[
            "report",
            tree.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no manifest"));
    let src = std::fs::read_to_string(&html).unwrap();
    assert!(src.contains("id=\"no-manifest\""));
    assert!(
        src.contains("data-chart=\"hist-0\""),
        "histograms from attributes alone"
    );

    // Nothing to report on: a clear usage error.
    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = loam(
        work.path(),
        &[
            "report",
            empty.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no manifest.json and no attribute files"),
        "{err}"
    );

    let o = loam(
        work.path(),
        &["report", "does/not/exist", "-o", html.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    if let Some(bin) = chromium() {
        let dom = dump_dom(bin, &html, work.path());
        let m = measured(&dom);
        assert!(m["charts"].as_array().unwrap().iter().all(|c| {
            c["width"].as_f64().unwrap() > 10.0 && c["height"].as_f64().unwrap() > 10.0
        }));
    }
}

#[test]
fn quality_buckets_chart_shows_tokens_per_bucket_before_and_after() {
    let work = tempfile::tempdir().unwrap();
    let docs = work.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), docs.join(e.file_name())).unwrap();
    }
    let cfg = "name: t\ndocuments: [documents/*]\noutput: out\ntag:\n  experiment: exp\n  \
               taggers: [random_number_v1]\nmix:\n  name: m\n  version: v1\n  seed: 2\n  \
               buckets:\n    score: exp__random_number_v1__random\n    \
               group: {field: metadata.content_type}\n    count: 4\n    rates: [0, 0.5, 2, 3]\n";
    std::fs::write(work.path().join("p.yaml"), cfg).unwrap();
    let o = loam(work.path(), &["run", "p.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&work.path().join("out/m"), "v1");
    let rec = manifest(&v)["mix"]["buckets"].clone();
    let groups = rec["groups"].as_object().unwrap();
    let html = work.path().join("r.html");
    let o = loam(
        work.path(),
        &["report", v.to_str().unwrap(), "-o", html.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let src = std::fs::read_to_string(&html).unwrap();
    assert!(src.contains("<section id=\"buckets\"><h2>Quality buckets</h2>"));
    assert!(src.contains("href=\"#buckets\""));
    for (gi, (g, r)) in groups.iter().enumerate() {
        assert!(src.contains(&format!("data-chart=\"buckets-{gi}\"")), "{g}");
        for b in r["buckets"].as_array().unwrap() {
            let note = format!(
                "{} → {} tokens",
                int(b["tokens"].as_u64().unwrap()),
                int(b["tokens_after"].as_u64().unwrap())
            );
            assert!(src.contains(&note), "{g}: {note}");
        }
    }

    let Some(bin) = chromium() else { return };
    let dom = dump_dom(bin, &html, work.path());
    let m = measured(&dom);
    assert!(m["sections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "buckets"));
    let pairs = m["pairs"].as_array().unwrap();
    for (gi, (g, r)) in groups.iter().enumerate() {
        let chart = format!("buckets-{gi}");
        let buckets = r["buckets"].as_array().unwrap();
        let max = buckets
            .iter()
            .flat_map(|b| {
                [
                    b["tokens"].as_f64().unwrap(),
                    b["tokens_after"].as_f64().unwrap(),
                ]
            })
            .fold(0.0f64, f64::max);
        for (k, b) in buckets.iter().enumerate() {
            for (when, field) in [("before", "tokens"), ("after", "tokens_after")] {
                let bar = pairs
                    .iter()
                    .find(|p| p["chart"] == chart.as_str() && p["row"] == k && p["when"] == when)
                    .unwrap_or_else(|| panic!("no {when} bar for {g}/{k}"));
                let want = b[field].as_f64().unwrap() / max * 360.0;
                let got = bar["width"].as_f64().unwrap();
                assert!(
                    (got - want).abs() <= 1.5,
                    "{g}/{k} {when}: drawn {got}px for {want}px"
                );
            }
        }
        // Rate 0: nothing after in the bottom bucket.
        assert!(buckets[0]["tokens_after"] == 0, "{g}");
    }
}

/// `1234567` → `1,234,567`, as the report prints integers.
fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
