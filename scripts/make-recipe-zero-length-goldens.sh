#!/usr/bin/env bash
# Regenerates tests/fixtures/recipe/zero-length/: ten short documents (most ASCII, ending
# with a newline, sharing a boilerplate paragraph) and what dolma 1.2.1 makes of them with
# the recipe's four configs (tests/fixtures/recipe/*.yaml). dolma's paragraph dedupe marks
# the empty paragraph after an ASCII text's final newline as `[n, n]` (its offset arithmetic)
# and its mixer then deletes that newline: the zero-length-span case of `--dolma-bugs`.
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/recipe/zero-length"
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/nltk/tokenizers/punkt" "$WORK/corpus/documents" "$FIX/documents" "$FIX/dolma-1.2.1-output"
export NLTK_DATA="$WORK/nltk"
cp "$REPO"/tests/fixtures/recipe/*.yaml "$WORK/"
python3 - "$FIX/documents/zero.jsonl.gz" <<'PY'
import gzip, json, random, sys
rng = random.Random(3)
words = "the data curation pipeline reads shards tags documents removes duplicates and writes versioned mixes with provenance manifests for training open language models".split()
accents = ["café", "naïve", "résumé"]
def para(n, ascii_only):
    w = words + ([] if ascii_only else accents)
    return " ".join(rng.choice(w) for _ in range(n)).capitalize() + "."
boiler = "Subscribe to our newsletter. All rights reserved."
docs = []
for i in range(10):
    ascii_only = i % 4 != 3
    ps = [para(rng.randrange(15, 30), ascii_only) for _ in range(3)]
    if i % 2:
        ps.insert(rng.randrange(0, 3), boiler)
    sep = "\n\n" if i % 3 else "\n"
    text = sep.join(ps) + ("\n" if i != 5 else "")
    docs.append({"id": f"z{i}", "text": text, "source": "zero-length"})
with gzip.GzipFile(sys.argv[1], "wb", mtime=0) as f:
    for d in docs:
        f.write((json.dumps(d, ensure_ascii=False) + "\n").encode())
PY
cp "$FIX/documents/zero.jsonl.gz" "$WORK/corpus/documents/"
cd "$WORK"
"$VENV/bin/dolma" -c tag.yaml tag > /dev/null
"$VENV/bin/dolma" -c dedupe_docs.yaml dedupe > /dev/null
"$VENV/bin/dolma" -c dedupe_paras.yaml dedupe > /dev/null
"$VENV/bin/dolma" -c mix.yaml mix > /dev/null
cp out/web/web-0000.json.gz "$FIX/dolma-1.2.1-output/"
echo "goldens written to $FIX"
