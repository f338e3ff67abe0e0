#!/usr/bin/env bash
# HTML main-text extraction benchmark: loam vs trafilatura vs resiliparse, token-level
# precision/recall/F1 (and per page type on WCXB) and ms per page per core.
#
#   bench/extraction.sh [AEB_DIR]
#   WCXB=DIR TRAFEVAL=DIR bench/extraction.sh      # also the other page sets (docs/warc.md)
#
# AEB_DIR: the article extraction benchmark (181 pages; default ../shared/data/...).
# WCXB: a checkout of github.com/Murrough-Foley/web-content-extraction-benchmark (its dev and
# test splits are scored; HALF=tune|held|all picks the dev half, default held).
# TRAFEVAL: trafilatura's repository `tests/` directory (evaldata.json, eval/, cache/).
# Needs a Python with trafilatura and resiliparse; VENV (default /work/venv-extract) is
# created and filled from PyPI when missing, at the versions docs/warc.md reports.
# Results: out/bench/extraction*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
AEB="${1:-../shared/data/html-extraction/aeb}"
VENV="${VENV:-/work/venv-extract}"
REPEAT="${REPEAT:-3}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q trafilatura==2.3.1 resiliparse==2.0.1 lxml_html_clean==0.4.7
fi
cargo build --release -q -p loam-extract --example html2text
mkdir -p out/bench
run() { "$VENV/bin/python" scripts/extraction-eval.py --repeat "$REPEAT" "$@"; }
run --aeb "$AEB" --json out/bench/extraction.json
if [ -n "${WCXB:-}" ]; then
  run --wcxb "$WCXB" --split test --json out/bench/extraction-wcxb-test.json
  run --wcxb "$WCXB" --split dev --half "${HALF:-held}" --json out/bench/extraction-wcxb-dev.json
fi
if [ -n "${TRAFEVAL:-}" ]; then
  run --trafeval "$TRAFEVAL" --half "${HALF:-held}" --json out/bench/extraction-trafeval.json
fi
