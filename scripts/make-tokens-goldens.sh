#!/usr/bin/env bash
# Regenerates the `loam tokens` compatibility goldens in tests/fixtures/tokens/:
#   documents/{a,b}.jsonl.gz   ~110 real documents in many languages (built once,
#                              deterministically, from ../shared/data/web) plus edge cases
#                              (empty and blank texts, special tokens in text, CSV quoting in
#                              ids, CRLF and blank-line paragraphs)
#   gpt-neo-test-tokenizer.json.gz, llama-test-tokenizer.json.gz   dolma's test tokenizers
#                              (Apache-2.0, dolma's tests/data/tokenizer/), gzipped
#   dolma-1.2.1/<case>/part-0-00000.{npy,csv.gz}   what `dolma tokens` writes for each case
#
#   scripts/make-tokens-goldens.sh [--resample]
#
# Environment: DOLMA_VENV (virtualenv with dolma==1.2.1; default /work/venv-dolma, created
# when missing), LOAM_DOLMA_TESTS (dolma's test data; default ../shared/data/dolma-tests),
# LOAM_WEB_DATA (default ../shared/data/web; only for --resample or a missing sample).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOLMA_VENV:-/work/venv-dolma}"
[ -x "$VENV/bin/dolma" ] || VENV=/work/venvs/venv-dolma
DT="${LOAM_DOLMA_TESTS:-../shared/data/dolma-tests}"
DATA="${LOAM_WEB_DATA:-../shared/data/web}"
FIX=tests/fixtures/tokens

if [ ! -x "$VENV/bin/dolma" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "dolma==1.2.1"
fi
version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("dolma"))')
[ "$version" = 1.2.1 ] || { echo "need dolma 1.2.1 in $VENV, found $version" >&2; exit 2; }

mkdir -p "$FIX/documents"
if [ "${1:-}" = --resample ] || [ ! -f "$FIX/documents/a.jsonl.gz" ]; then
  python3 - "$DATA" "$FIX/documents" <<'PY'
import gzip, json, sys
data, out = sys.argv[1], sys.argv[2]
def take(name, n, cap=6000):
    docs = []
    for line in gzip.open(f"{data}/{name}.jsonl.gz", "rt", encoding="utf-8"):
        d = json.loads(line)
        if d.get("text"):
            docs.append({"id": f"{name}-{d['id']}", "text": d["text"][:cap], "source": name})
        if len(docs) == n:
            break
    return docs
a = take("dolma_cc2019", 45) + take("trafilatura_html_main", 15)
b = take("chardet_feeds", 35) + take("dolma_cc_misc", 15)
b += [
    {"id": "empty", "text": "", "source": "edge"},
    {"id": "blank", "text": " \n\t \u3000", "source": "edge"},
    {"id": "special", "text": "a <|endoftext|> b |||IP_ADDRESS||| c <s> d </s>", "source": "edge"},
    {"id": "comma,\"quoted\"", "text": "Quotes \"and\", commas", "source": "edge"},
    {"id": "crlf", "text": "line one\r\nline two\n\n\nthird paragraph\n fourth", "source": "edge"},
    {"id": "lead", "text": "\n\n  leading newlines and spaces  \n", "source": "edge"},
]
for name, docs in (("a", a), ("b", b)):
    with gzip.open(f"{out}/{name}.jsonl.gz", "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
PY
fi
for t in gpt-neo llama; do
  gzip -9 -n -c "$DT/tests/data/tokenizer/$t-test-tokenizer.json" > "$FIX/$t-test-tokenizer.json.gz"
done

W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export NLTK_DATA=$W/nltk HF_HUB_OFFLINE=1; mkdir -p "$NLTK_DATA/tokenizers/punkt"
for t in gpt-neo llama; do gunzip -c "$FIX/$t-test-tokenizer.json.gz" > "$W/$t.json"; done
# case: tokenizer, bos, eos, pad, segment_before_tokenization
cases=(
  "neo-eos gpt-neo null 50279 1 false"
  "neo-bos-segment gpt-neo 50279 50279 1 true"
  "llama-segment llama 1 2 0 true"
)
for c in "${cases[@]}"; do
  read -r name tok bos eos pad seg <<< "$c"
  rm -rf "$FIX/dolma-1.2.1/$name"; mkdir -p "$FIX/dolma-1.2.1/$name"
  cat > "$W/$name.yaml" <<Y
documents: [$PWD/$FIX/documents/*.jsonl.gz]
destination: $W/out-$name
tokenizer:
  name_or_path: $W/$tok.json
  bos_token_id: $bos
  eos_token_id: $eos
  pad_token_id: $pad
  segment_before_tokenization: $seg
processes: 1
dtype: uint16
Y
  "$VENV/bin/dolma" -c "$W/$name.yaml" tokens > "$W/$name.log" 2>&1 || { cat "$W/$name.log"; exit 1; }
  cp "$W/out-$name"/part-0-00000.npy "$FIX/dolma-1.2.1/$name/"
  # The gzip header holds a timestamp and a name: store the rows re-gzipped without them.
  gunzip -c "$W/out-$name"/part-0-00000.csv.gz | gzip -9 -n > "$FIX/dolma-1.2.1/$name/part-0-00000.csv.gz"
  # dolma writes the absolute input path in `src`: keep it relative to the fixture.
  echo "$name: $(gunzip -c "$FIX/dolma-1.2.1/$name/part-0-00000.csv.gz" | wc -l) documents"
done
echo "$PWD/$FIX/documents/" > "$FIX/dolma-1.2.1/src-prefix.txt"
