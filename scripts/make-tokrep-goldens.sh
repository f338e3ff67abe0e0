#!/usr/bin/env bash
# Regenerates dolma 1.2.1's token-repetition goldens in tests/fixtures/tagger-sample-2/expected/
# (tokenizer_repetitions_v1, paragraph_tokenizer_repetitions_v1, tokenizer_repetitions_v2r2)
# for the fixture's documents. dolma loads `allenai/eleuther-ai-gpt-neox-20b-pii-special` from
# the Hugging Face hub, which this machine cannot reach; a tagger module (`loam_local_tokenizer`)
# makes its `Tokenizer.from_pretrained` read the bundled GPT-NeoX pii-special test tokenizer
# (tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz) instead — the file
# filters/tests/dolma_compat_2.rs gives loam's taggers.
#
#   scripts/make-tokrep-goldens.sh
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-sample-2"
TAGGERS=(tokenizer_repetitions_v1 paragraph_tokenizer_repetitions_v1 tokenizer_repetitions_v2r2)
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" -c 'import importlib.metadata as m; v=m.version("dolma"); assert v=="1.2.1", v'

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/nltk/tokenizers/punkt" "$WORK/pymod" "$WORK/documents"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1 PYTHONPATH="$WORK/pymod"
gzip -dc "$REPO/tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz" > "$WORK/tokenizer.json"
cat > "$WORK/pymod/loam_local_tokenizer.py" <<PY
from tokenizers import Tokenizer
from dolma.taggers.repetitions import repetitions_taggers as rt

class _Local:
    @staticmethod
    def from_pretrained(_name):
        return Tokenizer.from_file("$WORK/tokenizer.json")

rt.Tokenizer = _Local
PY
# Texts made to repeat (the real sample has few token repetitions): periods 1 to 13 and
# longer, runs over line breaks, a text over v2r2's 100,000-code-point chunk with runs across
# the cut, non-ASCII text, PII placeholders (added tokens of the pii-special tokenizer).
"$VENV/bin/python" - "$FIX/documents/repeats.jsonl.gz" <<'PY'
import gzip, json, sys
texts = [
    "ha ha ha ha ha ha, said the man.",
    "the the the",
    "the the",
    "Buy now! Buy now! Buy now! Buy now! Limited offer.",
    "x = 1\ny = 2\nx = 1\ny = 2\nx = 1\ny = 2\nx = 1\ny = 2\n",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "Home | About | Contact | Home | About | Contact | Home | About | Contact | Home",
    "one two three four five six seven eight nine ten eleven twelve thirteen " * 4 + "end",
    "a b c d e f g h i j k l m n o p " * 3,
    "First paragraph is plain.\nSecond: la la la la la\n\nThird: no no no\nFourth: yes yes",
    "日本語 日本語 日本語 日本語 のテキスト。ü ü ü ü ü",
    "|||EMAIL_ADDRESS||| |||EMAIL_ADDRESS||| |||EMAIL_ADDRESS||| |||PHONE_NUMBER|||",
    "\n\n\n\n\n\n",
    "",
    "word",
    ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 1900) + "abab " * 40 + "tail",
    "ab" * 60 + " cd" * 7 + "\n" + "xyz xyz xyz xyz",
]
with gzip.GzipFile(sys.argv[1], "wb", mtime=0) as f:
    for i, t in enumerate(texts):
        f.write((json.dumps({"id": f"repeats/{i}", "text": t, "source": "repeats"}, ensure_ascii=False) + "\n").encode())
print(f"repeats: {len(texts)} documents")
PY
cp "$FIX"/documents/*.jsonl.gz "$WORK/documents/"
cat > "$WORK/tag.yaml" <<YAML
documents: ["$WORK/documents/*.jsonl.gz"]
taggers: [$(IFS=,; echo "${TAGGERS[*]}")]
tagger_modules: [loam_local_tokenizer]
processes: 1
YAML
"$VENV/bin/dolma" -c "$WORK/tag.yaml" tag
for t in "${TAGGERS[@]}"; do
  rm -rf "${FIX:?}/expected/$t"
  mkdir -p "$FIX/expected/$t"
  cp "$WORK/attributes/$t/"*.jsonl.gz "$FIX/expected/$t/"
done
echo "goldens written to $FIX/expected/{$(IFS=,; echo "${TAGGERS[*]}")}"
