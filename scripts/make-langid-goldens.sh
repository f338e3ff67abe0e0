#!/usr/bin/env bash
# Regenerates the language-ID compatibility goldens in tests/fixtures/langid-sample/:
#   documents/sample.jsonl.gz   ~100 real multilingual documents (built once, deterministically,
#                               from ../shared/data/web, plus a few synthetic edge cases)
#   expected/<tagger>/sample.jsonl.gz   what dolma 1.2.1's `dolma tag` writes for each fastText
#                               language-ID tagger on that sample, with the model lid.176.ftz
#
#   scripts/make-langid-goldens.sh [--resample]
#
# Environment:
#   DOLMA_VENV       virtualenv holding dolma==1.2.1 (default /work/venv-dolma; created with
#                    `pip install dolma==1.2.1` when it has no dolma)
#   LOAM_MODELS_DIR  folder holding lid.176.ftz (default models/; fetched by scripts/fetch-models.sh)
#   LOAM_WEB_DATA    folder holding dolma_cc2019.jsonl.gz and chardet_feeds.jsonl.gz
#                    (default ../shared/data/web; only needed with --resample or a missing sample)
#
# dolma's fastText taggers download lid.176.bin on first use; offline, a tagger module
# (written to a temporary folder) points their MODEL_PATH at our lid.176.ftz instead.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOLMA_VENV:-/work/venv-dolma}"
MODELS="${LOAM_MODELS_DIR:-models}"
DATA="${LOAM_WEB_DATA:-../shared/data/web}"
FIX=tests/fixtures/langid-sample
TAGGERS=(
  ft_lang_id_en_doc_v2
  ft_lang_id_en_paragraph_v2
  ft_lang_id_en_paragraph_with_doc_score_v2
  ft_lang_id_doc_v1
  ft_lang_id_paragraph_v1
  ft_lang_id_en_only_v2
  ft_lang_id_1e2
)

if [ ! -x "$VENV/bin/dolma" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "dolma==1.2.1"
fi
version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("dolma"))')
if [ "$version" != "1.2.1" ]; then
  echo "error: $VENV has dolma $version, the goldens need dolma 1.2.1" >&2
  exit 1
fi

scripts/fetch-models.sh "$MODELS" >/dev/null
MODEL="$(cd "$MODELS" && pwd)/lid.176.ftz"

if [ "${1:-}" = "--resample" ] || [ ! -f "$FIX/documents/sample.jsonl.gz" ]; then
  mkdir -p "$FIX/documents"
  python3 - "$DATA" "$FIX/documents/sample.jsonl.gz" <<'PY'
import gzip, json, sys

data, out = sys.argv[1], sys.argv[2]

def load(name):
    with gzip.open(f"{data}/{name}", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]

def pick(rows, step):
    # Deterministic: file order, documents of 40..6000 code points, every step-th one.
    return [r for r in rows if 40 <= len(r["text"]) <= 6000][::step]

docs = pick(load("dolma_cc2019.jsonl.gz"), 9) + pick(load("chardet_feeds.jsonl.gz"), 10)

# Edge cases that pin Python-specific preprocessing (str.lower, str.strip, "\n" handling,
# NUL and other control characters, empty documents).
edge = {
    "empty": "",
    "whitespace-only": " \n\t \n\u3000\n",
    "one-newline": "\n",
    "control-chars": "Hello\x00world, this is\x0b a test\x1c\x1f of control\r\ncharacters \x7f\x1b[0m here.\n\x1c\nSecond paragraph after a line holding only U+001C.",
    "mixed-scripts": "English words mixed with Русский текст and 中文字符 and العربية كلمات in one line.\nΚαι ελληνικά.",
    "turkish-dotted-i": "İSTANBUL ŞEHRİ HAKKINDA BİLGİ VE İLGİNÇ GERÇEKLER",
    "greek-final-sigma": "ΟΔΥΣΣΕΥΣ ΚΑΙ Ο ΚΥΚΛΩΨ ΣΤΗΝ ΟΔΥΣΣΕΙΑ ΤΟΥ ΟΜΗΡΟΥ",
    "unicode-spaces": "\x1c\x1dThe quick brown fox\u2028jumps\u00a0over the lazy dog\x1e",
    "blank-lines": "\n\n\nBonjour tout le monde, comment allez-vous ?\n\n",
    "crlf": "Dies ist ein deutscher Satz.\r\nUnd noch einer hier.\r\n\r\n",
}
for key, text in edge.items():
    docs.append({"id": f"edge-{key}", "text": text, "source": "loam-edge-cases"})

keep = ("id", "text", "source", "added", "created", "metadata")
with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
    for d in docs:
        rec = {k: d[k] for k in keep if k in d}
        gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"sample: {len(docs)} documents -> {out}", file=sys.stderr)
PY
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/nltk/tokenizers/punkt" "$tmp/run/documents"
cp "$FIX/documents/sample.jsonl.gz" "$tmp/run/documents/"
cat >"$tmp/loam_local_lid.py" <<'PY'
# Points dolma's fastText language-ID taggers at a local model file (offline runs).
import os
from dolma.taggers.language import FastTextAllLanguagesDocumentTagger

FastTextAllLanguagesDocumentTagger.MODEL_PATH = os.environ["LOAM_LID_MODEL"]
PY

(
  cd "$tmp/run"
  NLTK_DATA="$tmp/nltk" LOAM_LID_MODEL="$MODEL" PYTHONPATH="$tmp" \
    "$VENV/bin/dolma" tag \
    --documents "$tmp/run/documents/sample.jsonl.gz" \
    --tagger_modules loam_local_lid \
    --taggers "${TAGGERS[@]}" \
    --processes 1
)

rm -rf "$FIX/expected"
mkdir -p "$FIX/expected"
for t in "${TAGGERS[@]}"; do
  mkdir -p "$FIX/expected/$t"
  # Re-compress deterministically (no timestamp) so regenerating gives identical bytes.
  python3 - "$tmp/run/attributes/$t/sample.jsonl.gz" "$FIX/expected/$t/sample.jsonl.gz" <<'PY'
import gzip, sys
data = gzip.open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
    gz.write(data)
PY
done
echo "goldens written to $FIX/expected (dolma $version, model $(sha256sum "$MODEL" | cut -c1-16)…)"
