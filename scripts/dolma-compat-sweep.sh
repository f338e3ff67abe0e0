#!/usr/bin/env bash
# Every dolma tagger loam implements, on up to 700 real documents of every file in
# ../shared/data/web (3,670 in all), against dolma 1.2.1's own output: every attribute value of every line compared (scores to 1e-4,
# fastText scores to 2e-3, spans exactly). Values that differ because loam fixes a dolma bug
# are counted as documented when `loam tag --dolma-bugs` reproduces dolma's value.
#
# Not a test (it needs dolma and the shared data, and takes dolma long): the
# committed goldens (tests/fixtures/tagger-sample, langid-sample) are the tests; this is the
# wide check behind them. Run it after any change to a tagger.
#
#   scripts/dolma-compat-sweep.sh [--taggers "a b c"] [--per-file N] [--skip-dolma]
#
#   --per-file N  at most N documents of each source file, evenly spaced (default 700:
#                 3,670 documents). The language taggers take dolma ~3 minutes on them; the
#                 rule taggers ~15 minutes on every file but chardet_feeds, where dolma's
#                 regexes backtrack for more than 20 minutes on some pages (a 49 KB
#                 box-drawing page, chardet_feeds/149/Johab/mdir-doc.txt): split with --taggers
#                 and compare the lines dolma finished.
#
# Environment: DOLMA_VENV (default /work/venv-dolma), DATA_DIR (default ../shared/data/web),
# SWEEP_DIR (work folder, default /tmp/loam-compat-sweep), LOAM_BIN (default: release build).
# Left out of the corpus, counted and printed: ids in bench/exclude.txt (dolma's pii_regex_v2
# runs for over 10 minutes on one), and documents with no words (dolma's pii_regex_v1 divides
# by the word count and crashes the whole run on them; loam's value for them is pinned by
# tests/fixtures/tagger-sample/documents/edge.jsonl.gz and the filters' bad-input tests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAGGERS="char_length_v1 char_length_with_paragraphs_v1 whitespace_tokenizer_v1
  whitespace_tokenizer_with_paragraphs_v1 gopher_v1 gopher_v2 c4_v1 c4_v2 pii_regex_v1
  pii_regex_v2 pii_regex_with_counts_fast_v2 repetitions_v1 paragraph_repetitions_v1
  ft_lang_id_en_doc_v2 ft_lang_id_en_paragraph_v2 ft_lang_id_en_paragraph_with_doc_score_v2
  ft_lang_id_doc_v1 ft_lang_id_paragraph_v1 ft_lang_id_en_only_v2 ft_lang_id_1e2"
SKIP_DOLMA=0 PER_FILE=700
while [ $# -gt 0 ]; do
  case "$1" in
    --taggers) TAGGERS=$2; shift 2 ;;
    --per-file) PER_FILE=$2; shift 2 ;;
    --skip-dolma) SKIP_DOLMA=1; shift ;;  # reuse the dolma attributes of the last sweep
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
VENV=${DOLMA_VENV:-/work/venv-dolma}
DATA=${DATA_DIR:-$ROOT/../shared/data/web}
W=${SWEEP_DIR:-/tmp/loam-compat-sweep}
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV; scripts/make-tagger-goldens.sh installs one)" >&2; exit 2; }
ls "$DATA"/*.jsonl.gz > /dev/null || { echo "no documents in $DATA (set DATA_DIR)" >&2; exit 2; }
if [ -z "${LOAM_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --locked --bin loam 2>&1 | tail -1)
  LOAM_BIN=$ROOT/target/release/loam
fi
"$ROOT/scripts/fetch-models.sh" "$ROOT/models" > /dev/null
export LOAM_MODELS_DIR=$ROOT/models LOAM_LID_MODEL=$ROOT/models/lid.176.ftz
mkdir -p "$W/nltk/tokenizers/punkt" "$W/pymod"
export NLTK_DATA=$W/nltk HF_HUB_OFFLINE=1 PYTHONPATH=$W/pymod
cat > "$W/pymod/loam_local_lid.py" <<'PY'
import os
from dolma.taggers.language import FastTextAllLanguagesDocumentTagger
FastTextAllLanguagesDocumentTagger.MODEL_PATH = os.environ["LOAM_LID_MODEL"]
PY

# The corpus: up to PER_FILE documents of every source file, evenly spaced, in shards of at
# most 250 documents (so dolma's processes share the big files), ids unique across files.
if [ $SKIP_DOLMA = 0 ] || [ ! -d "$W/documents" ]; then
  SKIP_DOLMA=0
  rm -rf "$W/documents" "$W/dolma" && mkdir -p "$W/documents"
  python3 - "$DATA" "$W/documents" "$ROOT/bench/exclude.txt" "$PER_FILE" <<'PY'
import glob, gzip, json, os, sys
src, dst, exclude, per_file = sys.argv[1:5]
per_file = int(per_file)
skip = {l.split("#", 1)[0].strip() for l in open(exclude, encoding="utf-8")} - {""}
n = wordless = excluded = 0
for f in sorted(glob.glob(os.path.join(src, "*.jsonl.gz"))):
    name = os.path.basename(f).split(".")[0]
    docs = []
    for i, line in enumerate(gzip.open(f, "rt", encoding="utf-8")):
        d = json.loads(line)
        if not isinstance(d.get("text"), str):
            continue
        if str(d["id"]) in skip:
            excluded += 1
            continue
        if not d["text"].split():
            wordless += 1
            continue
        docs.append({"id": f"{name}/{i}/{d['id']}", "text": d["text"], "source": name})
    if len(docs) > per_file:
        docs = [docs[j * len(docs) // per_file] for j in range(per_file)]
    for k in range(0, len(docs), 250):
        with gzip.open(os.path.join(dst, f"{name}-{k // 250:02d}.jsonl.gz"), "wt", encoding="utf-8") as o:
            for d in docs[k:k + 250]:
                o.write(json.dumps(d, ensure_ascii=False) + "\n")
    n += len(docs)
print(f"corpus: {n} documents; left out: {excluded} (bench/exclude.txt), {wordless} without words")
PY
fi

cfg() { # DIR [extra line]
  printf 'documents: ["%s/documents/*.jsonl.gz"]\nexperiment: sweep\ntaggers: [%s]\nprocesses: %s\n%s\n' \
    "$1" "$(echo $TAGGERS | sed 's/ /, /g')" "$(nproc)" "${2:-}"
}
fresh() { rm -rf "$1" && mkdir -p "$1" && ln -s "$W/documents" "$1/documents"; }
if [ $SKIP_DOLMA = 0 ]; then
  fresh "$W/dolma"; cfg "$W/dolma" "tagger_modules: [loam_local_lid]" > "$W/dolma.yaml"
  echo "dolma tag ($(echo $TAGGERS | wc -w) taggers)..."
  t=$(date +%s); "$VENV/bin/dolma" -c "$W/dolma.yaml" tag > "$W/dolma.log" 2>&1 \
    || { tail -20 "$W/dolma.log" >&2; exit 1; }
  echo "  $(( $(date +%s) - t )) s"
fi
fresh "$W/loam"; cfg "$W/loam" > "$W/loam.yaml"
fresh "$W/bugs"; cfg "$W/bugs" > "$W/bugs.yaml"
t=$(date +%s)
"$LOAM_BIN" tag -c "$W/loam.yaml" > "$W/loam.log" 2>&1 || { tail -20 "$W/loam.log" >&2; exit 1; }
echo "loam tag: $(( $(date +%s) - t )) s"
"$LOAM_BIN" tag --dolma-bugs -c "$W/bugs.yaml" > "$W/bugs.log" 2>&1 || { tail -20 "$W/bugs.log" >&2; exit 1; }
out=$(python3 "$ROOT/bench/lib.py" check-tag "$W/loam/attributes/sweep" "$W/dolma/attributes/sweep" 1000000000 "$W/bugs/attributes/sweep")
echo "$out"
case "$out" in ok:*) ;; *) exit 1 ;; esac
