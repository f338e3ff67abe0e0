#!/usr/bin/env bash
# Regenerates tests/fixtures/stat/dolma-1.2.1-summaries.jsonl.gz: what dolma 1.2.1's analyzer
# (`dolma stat`) writes for five dolma-made attribute files (two from dolma's test data, three
# written by dolma's own taggers), with 20 bins. tests/stat.rs compares `loam stat` with it.
# dolma 1.2.1 refuses several `--attributes` prefixes with one report ("The number of source
# and destination prefixes must be the same"), so the files are copied into one directory.
#
# Environment: DOLMA_VENV (virtualenv with dolma==1.2.1; default /work/venvs/venv-dolma).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
[ -x "$VENV/bin/dolma" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install --quiet "dolma==1.2.1"; }
A=tests/fixtures/dolma/data/provided/attributes
T=tests/fixtures/tagger-sample/expected
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/attrs"
cp "$A/duplicate_paragraphs/000.json.gz" "$work/attrs/duplicate_paragraphs.json.gz"
cp "$A/sample/000.json.gz" "$work/attrs/sample.json.gz"
cp "$T/gopher_v1/sample.jsonl.gz" "$work/attrs/gopher_v1-sample.jsonl.gz"
cp "$T/c4_v1/edge.jsonl.gz" "$work/attrs/c4_v1-edge.jsonl.gz"
cp "$T/c4_v1/sample.jsonl.gz" "$work/attrs/c4_v1-sample.jsonl.gz"
(cd "$work" && "$VENV/bin/dolma" stat --attributes 'attrs/*' --report report --bins 20 --processes 1 --seed 0) >"$work/log" 2>&1 \
  || { tail -20 "$work/log" >&2; exit 1; }
mkdir -p tests/fixtures/stat
cp "$work/report/summaries.jsonl.gz" tests/fixtures/stat/dolma-1.2.1-summaries.jsonl.gz
echo "wrote tests/fixtures/stat/dolma-1.2.1-summaries.jsonl.gz ($(gzip -dc tests/fixtures/stat/dolma-1.2.1-summaries.jsonl.gz | wc -l) summaries)"
