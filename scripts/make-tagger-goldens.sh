#!/usr/bin/env bash
# Regenerates the tagger compatibility fixtures in tests/fixtures/tagger-sample/:
#   documents/sample.jsonl.gz  — ~150 real documents sampled deterministically from ../shared/data/web
#   documents/edge.jsonl.gz    — a few hand-written documents that exercise Python string semantics
#   expected/<tagger>/<file>   — what dolma 1.2.1's `dolma tag` writes for them
#
# dolma is installed from PyPI into a virtual environment OUTSIDE the repository
# (default /work/venv-dolma; override with DOLMA_VENV). Run from anywhere:
#   scripts/make-tagger-goldens.sh            # sample + goldens
#   SKIP_SAMPLE=1 scripts/make-tagger-goldens.sh   # keep the committed documents, redo goldens
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${LOAM_SHARED:-$REPO/../shared}"
VENV="${DOLMA_VENV:-/work/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-sample"
TAGGERS=(
  char_length_v1 char_length_with_paragraphs_v1 whitespace_tokenizer_v1
  whitespace_tokenizer_with_paragraphs_v1 gopher_v1 gopher_v2 c4_v1 c4_v2
  pii_regex_v1 pii_regex_v2 pii_regex_with_counts_fast_v2 repetitions_v1
  paragraph_repetitions_v1
)

# 1. dolma 1.2.1 in a venv. s3fs==2023.6.0 (a dolma pin) needs aiobotocore 2.5.0, which pins
#    botocore 1.29.76; pinning boto3 to its matching release spares pip hours of backtracking.
if [ ! -x "$VENV/bin/dolma" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install dolma==1.2.1 boto3==1.26.76 botocore==1.29.76 aiobotocore==2.5.0 s3fs==2023.6.0
fi
"$VENV/bin/python" -c 'import importlib.metadata as m; v=m.version("dolma"); assert v=="1.2.1", v'

# dolma calls nltk.download("punkt") at import when punkt is missing, which fails offline; the
# rule taggers never use punkt, so an empty folder satisfies the check.
NLTK_DATA="$(mktemp -d)"
mkdir -p "$NLTK_DATA/tokenizers/punkt"
export NLTK_DATA

# 2. The sample: every k-th line of four web files (fields id, text, source only). dolma's
#    pii_regex_v1 divides by the word count and crashes on a text without words, so such
#    documents are left out.
mkdir -p "$FIX/documents"
if [ -z "${SKIP_SAMPLE:-}" ]; then
  "$VENV/bin/python" - "$SHARED/data/web" "$FIX/documents" <<'PY'
import gzip, json, sys
src, dst = sys.argv[1], sys.argv[2]
plan = [("dolma_cc2019", 10), ("dolma_cc_misc", 2), ("trafilatura_html_main", 25), ("chardet_feeds", 24)]
out = []
for name, k in plan:
    with gzip.open(f"{src}/{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % k:
                continue
            d = json.loads(line)
            if not isinstance(d.get("text"), str) or not d["text"].split():
                continue
            out.append({"id": f"{name}/{d['id']}", "text": d["text"], "source": name})
with gzip.GzipFile(f"{dst}/sample.jsonl.gz", "wb", mtime=0) as f:
    for d in out:
        f.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"sample: {len(out)} documents")

edge = [
    "İstanbul is big\nNext line here ok.\nAnd a third line.",
    "word\x1cword\x1dother\x1fthing\u00a0nbsp\u3000ideographic space\u200bzero width",
    "Call me at 555 123 4567 or see https://example.com/page for more.",
    "Call me at 555 123 4567 or see \x08https://example.com/page for more.",
    "Mail jane.doe@example.com, (@foo.com and bob@localhost today.\nAlso 10.0.0.1 and isbn 978 555 1234.",
    "aa b aa b aa\n\n\naa b aa b aa\n- bullet…\n* star…\n",
    "ab ab ab ab\nab\nab\nab\nab\nxyzxyzxyzxyz",
    "ΣΑΣ ΟΔΟΣ Ⅻ ॐ नमस्ते 数据 😀😀😀😀 🖕 two girls one cup javascript:void lorem ipsum {x}",
    "\ttabs\tand\r\nwindows\r\nlines\r\n\n",
    "?" * 20 + " done",
]
with gzip.GzipFile(f"{dst}/edge.jsonl.gz", "wb", mtime=0) as f:
    for i, t in enumerate(edge):
        f.write((json.dumps({"id": f"edge/{i}", "text": t, "source": "edge"}, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"edge: {len(edge)} documents")
PY
fi

# 3. dolma tag, without an experiment: keys are <tagger>__<tagger>__<signal> and each tagger's
#    output lands in attributes/<tagger>/ beside documents/.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK" "$NLTK_DATA"' EXIT
mkdir -p "$WORK/documents"
cp "$FIX"/documents/*.jsonl.gz "$WORK/documents/"
taggers_args=()
for t in "${TAGGERS[@]}"; do taggers_args+=("$t"); done
"$VENV/bin/dolma" tag \
  --documents "$WORK/documents/*.jsonl.gz" \
  --taggers "${taggers_args[@]}" \
  --processes 1
rm -rf "$FIX/expected"
mkdir -p "$FIX/expected"
for t in "${TAGGERS[@]}"; do
  mkdir -p "$FIX/expected/$t"
  cp "$WORK/attributes/$t/"*.jsonl.gz "$FIX/expected/$t/"
done
echo "goldens written to $FIX/expected"
