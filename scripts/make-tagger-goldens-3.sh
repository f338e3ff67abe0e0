#!/usr/bin/env bash
# Regenerates the goldens of dolma's fastText classifier, token-count and Adblock Plus URL
# taggers (issue 15) in tests/fixtures/tagger-sample-2/:
#   ../../../recipes/stand-in/fasttext_models/*.bin
#                                small stand-in models trained here with fastText 0.9.2
#                                (dolma's pin) in the published models' label schemes (jigsaw's
#                                __label__toxic/__label__non_toxic, dolma17's source labels,
#                                DCLM's __label__hq/__label__cc); not the published models (the
#                                recipes use them too)
#   documents/sentences.jsonl.gz texts made to exercise blingfire's sentence boundaries
#   lists/abp-*                  small Adblock Plus lists (rules on hosts and paths of the
#                                sample: anchors, wildcards, separators, regexes, exceptions,
#                                options), for the oisd_*/brave_* taggers
#   expected/<tagger>/<file>     what dolma 1.2.1's `dolma tag` writes with those models, and
#                                for dolma's token-count taggers with loam's test tokenizers
#                                (the LLaMA one adds <s>, the GPT-NeoX one adds nothing)
#
# dolma's classes download their models; a tagger module (`loam_local_models`) points each
# class's MODEL_PATH at the local files, as scripts/make-langid-goldens.sh does.
#
#   scripts/make-tagger-goldens-3.sh
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma), LOAM_SHARED (default ../shared).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${LOAM_SHARED:-$REPO/../shared}"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-sample-2"
MODELS="$REPO/recipes/stand-in/fasttext_models"
TAGGERS=(
  jigsaw_hatespeech_document_v2 jigsaw_hatespeech_sentence_v2
  jigsaw_nsfw_document_v1 jigsaw_nsfw_sencence_v2
  dolma17-quality dclm-oh-eli5
  dolma_v1_tokenizer dolma_v2_tokenizer tokenizers_EleutherAI_GPT_NeoX_20B tokenizers_AI2_OLMo_v1
  oisd_small_abp_v1 brave_core_abp_v1
)
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" -c 'import importlib.metadata as m; v=m.version("dolma"); assert v=="1.2.1", v'

WORK="$(mktemp -d)"
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
mkdir -p "$WORK/nltk/tokenizers/punkt" "$WORK/pymod" "$MODELS" "$FIX/documents"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1 PYTHONPATH="$WORK/pymod"

# Stand-in models, trained on lines of the shared web data that the sample does not hold
# (the sample takes every k-th line; training takes the others).
"$VENV/bin/python" - "$SHARED/data/web" "$FIX" "$WORK" "$MODELS" <<'PY'
import gzip, json, random, re, sys
import fasttext
src, fix, work, models = sys.argv[1:5]
plan = [("dolma_cc2019", 9, "cc"), ("dolma_cc_misc", 3, "cc"), ("trafilatura_html_main", 30, "wikiref"),
        ("aeb_groundtruth", 8, "books"), ("chardet_feeds", 40, "fakenews"), ("dolma_warc_main", 6, "pes2o")]
docs = []
for name, k, label in plan:
    with gzip.open(f"{src}/{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % k == 0:
                continue
            t = json.loads(line).get("text")
            if isinstance(t, str) and t.split():
                docs.append((name, label, t))
rng = random.Random(15)
rng.shuffle(docs)
docs = docs[:3000]
toxic = re.compile(r"\b(kill|killed|hate|war|attack|death|dead|stupid|fight|crime|police|gun)\b", re.I)
nsfw = re.compile(r"\b(sex|sexy|adult|dating|girls|nude|love|body|bed|hot)\b", re.I)
def one_line(t):
    return " ".join(t.split())
def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for label, text in rows:
            f.write(f"__label__{label} {one_line(text)}\n")
sents = [s for _, _, t in docs for s in re.split(r"(?<=[.!?])\s+|\n", t) if s.split()]
write(f"{work}/hs.txt", [("toxic" if toxic.search(s) else "non_toxic", s) for s in sents[:20000]])
write(f"{work}/nsfw.txt", [("nsfw" if nsfw.search(s) else "non_nsfw", s) for s in sents[:20000]])
write(f"{work}/d17.txt", [(label, t[:3000]) for _, label, t in docs])
write(f"{work}/dclm.txt", [("hq" if name in ("aeb_groundtruth", "trafilatura_html_main") else "cc", t[:3000]) for name, _, t in docs])
common = dict(dim=8, wordNgrams=2, bucket=4000, minCount=8, epoch=4, lr=0.3, thread=1, seed=15, verbose=0)
for name, data in [("jigsaw_hatespeech", "hs"), ("jigsaw_nsfw", "nsfw"), ("dolma17_quality", "d17"), ("dclm_oh_eli5", "dclm")]:
    m = fasttext.train_supervised(input=f"{work}/{data}.txt", **common)
    m.save_model(f"{models}/{name}.bin")
    print(name, m.get_labels())

# Texts for blingfire's boundaries and the taggers' preprocessing.
texts = [
    "Dr. Smith arrived at 5 p.m. on Jan. 3rd. He said: \"Hello!\" Then he left... Nobody knew why?",
    "No punctuation at all here",
    "   ",
    "\n\n",
    "Line one\nLine two\n\nA new paragraph. With two sentences.",
    "Ünïcödé sentences élégantes. Ça marche très bien! N'est-ce pas?",
    "日本語の文です。二つ目の文です。三つ目？はい！",
    "Emoji 👩\u200d💻 work. Flags 🇺🇸 too.  And  spaces\tand\ttabs.",
    "U.S.A. and e.g. abbreviations, i.e. tricky ones. 3.14 is pi. Version 1.2.3 shipped.",
    "“Quoted.” ‘Single.’ (Parenthesised.) [Bracketed.] End",
    "\r\nWindows\r\nline endings. Second\r\n",
    "Trailing space after the last sentence.   ",
    "Kill the lights. I hate waiting. Sexy dating adult ads here. Love the hot bed.",
    "a" * 400 + ". " + "b " * 300,
    "Nul \u0000 inside. After it.",
    "\u2028Line separator\u2029paragraph separator. \u0085Next line.",
    "x",
]
with gzip.GzipFile(f"{fix}/documents/sentences.jsonl.gz", "wb", mtime=0) as f:
    for i, t in enumerate(texts):
        f.write((json.dumps({"id": f"sentences/{i}", "text": t, "source": "edge", "metadata": {}}, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"sentences: {len(texts)} documents")

# Adblock Plus lists: rules on hosts and paths of the sample's URLs.
import urllib.parse
urls = []
for name in ("sample", "edge"):
    with gzip.open(f"{fix}/documents/{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        urls += [json.loads(l)["metadata"].get("url") or "" for l in f]
parts = [urllib.parse.urlsplit(u if "//" in u else "//" + u) for u in urls if u]
hosts = sorted({p.hostname for p in parts if p.hostname})
paths = [p.path for p in parts if p.path.count("/") >= 2]
segs = sorted({p.strip("/").split("/")[0] for p in paths if p.strip("/")})
with gzip.GzipFile(f"{fix}/lists/abp-oisd.txt.gz", "wb", mtime=0) as f:
    body = "[Adblock Plus 2.0]\n! Title: stand-in\n! comment\n\n" + "".join(f"||{h}^\n" for h in hosts[::4])
    body += "  ||wsj.com^  \n||example.com:8080^\n!||not-a-rule.example^\n"
    f.write(body.encode())
rules = ["! brave stand-in", "[Adblock Plus 2.0]"]
rules += [f"/{s}/*" for s in segs[::7]]
rules += [f"||{h}/{s}^" for h, s in zip(hosts[1::9], segs[2::9])]
rules += ["/wiki/*$domain=~be.wikipedia.org", "@@||en.brickimedia.org^", "|http://www.a11ymetadata.org/", "/^https?:\\/\\/[a-z]+\\.wikidot\\.com\\/help/", "*tag=*", "/2019/04/*$third-party", "/category/$script", "||blogspot.com^$document", "-hemos-^", "@@/welcome-back*"]
with open(f"{fix}/lists/abp-brave-1.txt", "w") as f:
    f.write("\n".join(rules[: len(rules) // 2]) + "\n")
with open(f"{fix}/lists/abp-brave-2.txt", "w") as f:
    f.write("\r\n".join(rules[len(rules) // 2:]) + "\r\n")
print(f"abp: {len(hosts[::4])} host rules, {len(rules)} brave rules")
PY

cat > "$WORK/pymod/loam_local_models.py" <<PY
from dolma.taggers import jigsaw, quality
M = "$MODELS"
jigsaw.FastTextJigsawHatespeechDocumentTagger.MODEL_PATH = f"{M}/jigsaw_hatespeech.bin"
jigsaw.FastTextJigsawHatespeechSentenceTagger.MODEL_PATH = f"{M}/jigsaw_hatespeech.bin"
jigsaw.FastTextJigsawNsfwDocumentTagger.MODEL_PATH = f"{M}/jigsaw_nsfw.bin"
jigsaw.FastTextJigsawNsfwSentenceTagger.MODEL_PATH = f"{M}/jigsaw_nsfw.bin"
quality.Dolma17QualityClassifier.MODEL_PATH = f"{M}/dolma17_quality.bin"
quality.DclmQualityClassifier.MODEL_PATH = f"{M}/dclm_oh_eli5.bin"

from dolma.taggers import url
L = "$FIX/lists"
url.OISDSmallAdblockPlusTagger.BLOCKLIST_PATHS = [f"{L}/abp-oisd.txt.gz"]
url.BraveCoreAdblockPlusTagger.BLOCKLIST_PATHS = [f"{L}/abp-brave-1.txt", f"{L}/abp-brave-2.txt"]

from tokenizers import Tokenizer
from dolma.taggers import length, tokenizers as tk
T = "$REPO/tests/fixtures/tokens"
FILES = {
    "allenai/gpt-neox-olmo-dolma-v1_5": "$WORK/llama.json",
    "allenai/dolma2-tokenizer": "$WORK/llama.json",
    "EleutherAI/gpt-neox-20B": "$WORK/gpt-neo.json",
    "allenai/eleuther-ai-gpt-neox-20b-pii-special": "$WORK/gpt-neo.json",
}
class _Local:
    @staticmethod
    def from_pretrained(name):
        return Tokenizer.from_file(FILES[name])
length.Tokenizer = _Local
tk.Tokenizer = _Local
PY
gzip -dc "$REPO/tests/fixtures/tokens/llama-test-tokenizer.json.gz" > "$WORK/llama.json"
gzip -dc "$REPO/tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz" > "$WORK/gpt-neo.json"

# dolma17-quality fails the whole file on a text without a word (`zip(*[])`): the quality
# taggers read the sample and edge files, the jigsaw taggers also the sentence texts.
tag() {
  local dir="$WORK/$1"; shift
  mkdir -p "$dir/documents"
  for f in "${FILES[@]}"; do cp "$FIX/documents/$f" "$dir/documents/"; done
  cat > "$dir/tag.yaml" <<YAML
documents: ["$dir/documents/*.jsonl.gz"]
taggers: [$(IFS=,; echo "$*")]
tagger_modules: [loam_local_models]
processes: 1
YAML
  "$VENV/bin/dolma" -c "$dir/tag.yaml" tag
}
FILES=(sample.jsonl.gz edge.jsonl.gz sentences.jsonl.gz)
tag jigsaw "${TAGGERS[@]:0:4}"
tag tokens "${TAGGERS[@]:6:4}"
FILES=(sample.jsonl.gz edge.jsonl.gz)
tag quality "${TAGGERS[@]:4:2}"
tag abp "${TAGGERS[@]:10}"
# dolma names a tagger's folder (and its keys) after the name as a variable name.
for t in "${TAGGERS[@]}"; do
  v="${t//-/_}"
  rm -rf "$FIX/expected/$v"
  mkdir -p "$FIX/expected/$v"
  cp "$WORK"/*/attributes/"$v"/*.jsonl.gz "$FIX/expected/$v/"
done
echo "goldens written to $FIX/expected"
