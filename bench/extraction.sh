#!/usr/bin/env bash
# HTML main-text extraction benchmark: loam vs trafilatura vs resiliparse on the article
# extraction benchmark (181 pages), token-level precision/recall/F1 and ms per page per core.
#
#   bench/extraction.sh [AEB_DIR]
#
# Needs a Python with trafilatura and resiliparse; VENV (default /work/venv-extract) is
# created and filled from PyPI when missing. Results: out/bench/extraction.json.
set -euo pipefail
cd "$(dirname "$0")/.."
AEB="${1:-../shared/data/html-extraction/aeb}"
VENV="${VENV:-/work/venv-extract}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q trafilatura resiliparse lxml_html_clean
fi
cargo build --release -q -p loam-extract --example html2text
mkdir -p out/bench
"$VENV/bin/python" scripts/extraction-eval.py --aeb "$AEB" --repeat "${REPEAT:-3}" \
  --json out/bench/extraction.json
