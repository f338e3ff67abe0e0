#!/usr/bin/env bash
# Regenerates tests/fixtures/dolma/data/dolma-1.2.1-output/: what dolma 1.2.1 itself writes
# for dolma's own test configs (tests/fixtures/dolma/config/, copied from dolma's tests/)
# on their inputs (tests/fixtures/dolma/data/provided/). The dedupe goldens are the
# attribute files (`dedupe-*.json.gz`), the mixer goldens the mixed shard (`mix-*.json.gz`);
# dedup/tests/dolma_compat.rs and mixes/tests/dolma_mixer.rs compare loam with them.
#
#   scripts/make-dolma-output-goldens.sh [--check]
#
# Each config runs in a fresh copy of the data (the paragraph configs share a filter file
# name) with `processes: 1` as the configs say (with more, dolma's dedupe decides first
# occurrences by thread timing). A golden is rewritten only when its decompressed content
# changed, so an unchanged run leaves the committed bytes alone; --check only compares
# (exit 1 on a difference). Environment: DOLMA_VENV (virtualenv with dolma==1.2.1; default
# /work/venvs/venv-dolma, created when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
FIX=tests/fixtures/dolma
OUT=$FIX/data/dolma-1.2.1-output
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
check=${1:-}

if [ ! -x "$VENV/bin/dolma" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "dolma==1.2.1"
fi
version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("dolma"))')
[ "$version" = 1.2.1 ] || { echo "need dolma 1.2.1 in $VENV, found $version" >&2; exit 2; }

changed=0
# config  command  file dolma writes (relative to the work dir)  golden
while read -r cfg cmd produced golden; do
  work=$(mktemp -d)
  mkdir -p "$work/tests/data"
  cp -r "$FIX/data/provided" "$work/tests/data/provided"
  if ! (cd "$work" && "$VENV/bin/dolma" -c "$REPO/$FIX/config/$cfg" "$cmd") >"$work/log" 2>&1; then
    tail -20 "$work/log" >&2
    echo "dolma $cmd -c $cfg failed (log above)" >&2
    exit 1
  fi
  new="$work/$produced"
  [ -f "$new" ] || { echo "$cfg: dolma wrote no $produced" >&2; ls -R "$work/tests/work" >&2 || true; exit 1; }
  if [ -f "$OUT/$golden" ] && cmp -s <(gzip -dc "$new") <(gzip -dc "$OUT/$golden"); then
    echo "$golden: unchanged"
  else
    echo "$golden: CHANGED"
    changed=1
    [ "$check" = --check ] || cp "$new" "$OUT/$golden"
  fi
  rm -rf "$work"
done <<'LIST'
dedupe-by-url.json dedupe tests/data/provided/deduper/attributes/dedupe_by_url/000.json.gz dedupe-by-url.json.gz
dedupe-paragraphs.json dedupe tests/data/provided/deduper/attributes/dedupe_paragraphs/000.json.gz dedupe-paragraphs.json.gz
dedupe-paragraph-ngrams.json dedupe tests/data/provided/deduper/attributes/dedupe_paragraph_ngrams/000.json.gz dedupe-paragraph-ngrams.json.gz
mixer.json mix tests/work/output/mixer/mixer-test-0000.json.gz mix-mixer.json.gz
email-spans.json mix tests/work/output/email-spans/email-spans-0000.json.gz mix-email-spans.json.gz
email-spans-jq.yaml mix tests/work/output/email-spans-jq/email-spans-jq-0000.json.gz mix-email-spans-jq.json.gz
filter-by-spans.json mix tests/work/output/filter-by-spans/filter-by-spans-test-0000.json.gz mix-filter-by-spans.json.gz
paragraph-spans.json mix tests/work/output/paragraph-spans/paragraph-spans-test-0000.json.gz mix-paragraph-spans.json.gz
LIST
if [ "$check" = --check ] && [ $changed = 1 ]; then exit 1; fi
echo "done"
