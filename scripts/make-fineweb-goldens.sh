#!/usr/bin/env bash
# Regenerates the FineWeb compatibility fixture in tests/fixtures/fineweb-sample/:
#   documents/edge.jsonl.gz — hand-written edge cases the tagger sample lacks
#   expected.jsonl          — for every document of tests/fixtures/tagger-sample/documents/*
#                             and documents/edge.jsonl.gz: the four ratios datatrove 0.10.1's
#                             FineWebQualityFilter.filter() compares with its thresholds, and
#                             its verdict at the default thresholds
# computed with datatrove's own code by scripts/make-fineweb-goldens.py (see its docstring and
# the fixture's README). filters/tests/fineweb_compat.rs compares loam's fineweb_quality_v1 with it.
#
# datatrove runs in a virtual environment OUTSIDE the repository: $DATATROVE_VENV if set (it must
# hold datatrove 0.10.1 and spaCy), else ${BENCH_VENVS:-~/.cache/loam-bench}/venv-datatrove,
# created with pinned versions when missing (the same place bench/run.sh uses). Run from anywhere:
#   scripts/make-fineweb-goldens.sh
#   DATATROVE_VENV=/work/venv-datatrove scripts/make-fineweb-goldens.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATATROVE_PIN='datatrove[processing]==0.10.1'
SPACY_PIN='spacy==3.8.18' # datatrove's English word tokenizer (list_ratio) is spacy.blank("en")

usable() {
  [ -x "$1/bin/python" ] &&
    [ "$("$1/bin/python" -c 'import importlib.metadata as m; print(m.version("datatrove"))' 2>/dev/null)" = 0.10.1 ] &&
    "$1/bin/python" -c 'import spacy' 2>/dev/null
}

if [ -n "${DATATROVE_VENV:-}" ]; then
  VENV=$DATATROVE_VENV
  usable "$VENV" || { echo "DATATROVE_VENV=$VENV has no datatrove 0.10.1 with spaCy" >&2; exit 2; }
else
  VENV="${BENCH_VENVS:-$HOME/.cache/loam-bench}/venv-datatrove"
  if ! usable "$VENV"; then
    echo "installing $DATATROVE_PIN $SPACY_PIN in $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "$DATATROVE_PIN" "$SPACY_PIN"
    usable "$VENV" || { echo "$VENV: install failed" >&2; exit 1; }
  fi
fi

# Nothing here needs the network: spacy.blank("en") ships with spaCy, and NLTK is not used for
# English. Make sure nothing tries.
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" -c 'import sys, importlib.metadata as m; print("python", sys.version.split()[0], "datatrove", m.version("datatrove"), "spacy", m.version("spacy"))'
"$VENV/bin/python" "$REPO/scripts/make-fineweb-goldens.py" "$REPO"
echo "goldens written to $REPO/tests/fixtures/fineweb-sample"
