#!/usr/bin/env python3
"""Token-level precision / recall / F1 of HTML main-text extractors on the article
extraction benchmark (scrapinghub, MIT): `html/*.html.gz` + `ground-truth.json`.

Usage:
  scripts/extraction-eval.py --aeb DIR [--loam BIN] [--extractors loam,loam-full,trafilatura,resiliparse]
                             [--repeat N] [--json OUT]

Scoring (the same for every extractor): both texts are lower-cased and split into word
tokens (regex \\w+, Unicode); a page's precision is |pred ∩ truth| / |pred| and recall
|pred ∩ truth| / |truth| over token multisets; an empty output scores 0/0. Reported: the mean
precision and recall over pages, the F1 of those means (the benchmark's own convention) and
the mean per-page F1.

Speed: seconds per page on ONE core, timing only the extraction call (bytes in memory ->
text out, charset detection included), best of --repeat runs. trafilatura and resiliparse are
imported from the running Python (use a virtualenv that has them); loam runs through the
`html2text` example binary (build it with `cargo build --release -p loam-extract --example
html2text`), pinned to one core with `taskset` when available.
"""

import argparse
import collections
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time

TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text):
    return collections.Counter(TOKEN.findall((text or "").lower()))


def score(pred, truth):
    p, t = tokens(pred), tokens(truth)
    common = sum((p & t).values())
    np_, nt = sum(p.values()), sum(t.values())
    if nt == 0 and np_ == 0:
        return 1.0, 1.0
    prec = common / np_ if np_ else 0.0
    rec = common / nt if nt else 0.0
    return prec, rec


def load(aeb):
    truth = json.load(open(os.path.join(aeb, "ground-truth.json")))
    pages = {}
    for key in sorted(truth):
        path = os.path.join(aeb, "html", key + ".html.gz")
        with gzip.open(path, "rb") as f:
            pages[key] = f.read()
    return truth, pages


def run_loam(binary, mode, aeb, keys, repeat):
    files = [os.path.join(aeb, "html", k + ".html.gz") for k in keys]
    cmd = [binary, mode] + files
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    best = None
    for _ in range(repeat):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = [json.loads(l) for l in out.splitlines()]
        texts = {os.path.basename(r["file"])[: -len(".html.gz")]: r["text"] for r in rows}
        secs = sum(r["seconds"] for r in rows)
        if best is None or secs < best[1]:
            best = (texts, secs)
    return best


def run_python(fn, pages, repeat):
    best = None
    for _ in range(repeat):
        texts, secs = {}, 0.0
        for k, b in pages.items():
            t0 = time.perf_counter()
            texts[k] = fn(b) or ""
            secs += time.perf_counter() - t0
        if best is None or secs < best[1]:
            best = (texts, secs)
    return best


def trafilatura_fn():
    import logging

    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    # dolma's trafilatura linearizer settings (python/dolma/warc/linearizers.py).
    return lambda b: trafilatura.extract(
        b, output_format="txt", include_comments=False, include_links=False, include_tables=False
    )


def resiliparse_fn(main_content=True):
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import detect_encoding
    from resiliparse.parse.html import HTMLTree

    # dolma's resiliparse linearizer settings.
    def f(b):
        tree = HTMLTree.parse_from_bytes(b, detect_encoding(b))
        return extract_plain_text(
            tree, preserve_formatting=True, main_content=main_content, list_bullets=True,
            alt_texts=False, links=False, form_fields=False, noscript=False, comments=True,
        )

    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aeb", default="../shared/data/html-extraction/aeb")
    ap.add_argument("--loam", default="target/release/examples/html2text")
    ap.add_argument("--extractors", default="loam,loam-full,trafilatura,resiliparse,resiliparse-full")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--worst", type=int, default=0, help="print the N worst pages of the first extractor")
    args = ap.parse_args()

    truth, pages = load(args.aeb)
    keys = list(pages)
    results = []
    for name in args.extractors.split(","):
        if name == "loam":
            texts, secs = run_loam(args.loam, "main", args.aeb, keys, args.repeat)
        elif name == "loam-full":
            texts, secs = run_loam(args.loam, "full", args.aeb, keys, args.repeat)
        elif name == "trafilatura":
            texts, secs = run_python(trafilatura_fn(), pages, args.repeat)
        elif name == "resiliparse":
            texts, secs = run_python(resiliparse_fn(True), pages, args.repeat)
        elif name == "resiliparse-full":
            texts, secs = run_python(resiliparse_fn(False), pages, args.repeat)
        else:
            sys.exit(f"unknown extractor {name}")
        per = {k: score(texts.get(k, ""), truth[k]["articleBody"]) for k in keys}
        P = sum(p for p, _ in per.values()) / len(per)
        R = sum(r for _, r in per.values()) / len(per)
        f1s = [2 * p * r / (p + r) if p + r else 0.0 for p, r in per.values()]
        row = {
            "extractor": name,
            "pages": len(per),
            "precision": round(P, 4),
            "recall": round(R, 4),
            "f1": round(2 * P * R / (P + R) if P + R else 0.0, 4),
            "mean_page_f1": round(sum(f1s) / len(f1s), 4),
            "ms_per_page": round(1000 * secs / len(per), 3),
        }
        results.append(row)
        print(json.dumps(row), flush=True)
        if args.worst and len(results) == 1:
            worst = sorted(keys, key=lambda k: 2 * per[k][0] * per[k][1] / (per[k][0] + per[k][1] or 1))
            for k in worst[: args.worst]:
                print(f"  {k[:16]} P={per[k][0]:.2f} R={per[k][1]:.2f} {truth[k]['url'][:80]}")
    base = {r["extractor"]: r for r in results}
    if "loam" in base and "trafilatura" in base:
        print(
            f"loam vs trafilatura: F1 {base['loam']['f1'] - base['trafilatura']['f1']:+.4f}, "
            f"speed x{base['trafilatura']['ms_per_page'] / base['loam']['ms_per_page']:.1f} per core"
        )
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
