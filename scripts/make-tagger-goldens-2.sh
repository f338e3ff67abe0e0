#!/usr/bin/env bash
# Regenerates tests/fixtures/tagger-sample-2/ (issue 15's taggers) from dolma 1.2.1:
#   documents/sample.jsonl.gz  — real documents from ../shared/data/web, with metadata.url
#   documents/edge.jsonl.gz    — hand-written documents (word breaks, punctuation, URLs)
#   lists/*                    — small block/allow lists (hosts that occur in the sample)
#   expected/<tagger>/<file>   — what dolma 1.2.1's `dolma tag` writes for them
#
# The URL taggers' lists are dolma-artifacts.org URLs that dolma downloads at run time; a
# tagger module (`loam_local_lists`) points each class's BLOCKLIST_PATHS at the local files,
# as scripts/make-langid-goldens.sh does for the language model.
#
#   scripts/make-tagger-goldens-2.sh            # sample + lists + goldens
#   SKIP_SAMPLE=1 scripts/make-tagger-goldens-2.sh   # keep documents and lists, redo goldens
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma), LOAM_SHARED (default ../shared).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${LOAM_SHARED:-$REPO/../shared}"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-sample-2"
TAGGERS=(
  bytes_length_v1 doc_count_v1 char_length_strip_ws_v1
  uniseg_length_v1 uniseg_length_paragraphs_v1 uniseg_length_paragraphs_with_empty_v1
  uniseg_length_paragraphs_with_doc_length_v1
  olmo_pretokenizer_v1 olmo_pretokenizer_with_paragraphs_v1
  not_alphanum_paragraph_v1 pii_regex_with_counts_v2
  code_copyright_comments_v1 code_redpajama_taggers_v1
  blocklist_hosts_porn_v1 blocklist_project_social_v1 domain_blocklist_phishing_v1
  link_blocklist_phishing_v1 allowlist_wikidata_v1 allowlist_wikidata_cleaned_v1
)
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" -c 'import importlib.metadata as m; v=m.version("dolma"); assert v=="1.2.1", v'

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# dolma calls nltk.download("punkt") at import when punkt is missing; these taggers never use it.
mkdir -p "$WORK/nltk/tokenizers/punkt" "$WORK/pymod"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1 PYTHONPATH="$WORK/pymod"
# The code taggers refuse to start without dolma's `code` extra (detect-secrets, bs4, pygments)
# even where they do not use it; install it beside the venv, not into it, without dependencies
# (which would shadow the venv's urllib3, and so change the URL taggers).
if ! "$VENV/bin/python" -c 'import detect_secrets, bs4, pygments' 2> /dev/null; then
  "$VENV/bin/pip" install --quiet --no-deps --target "$WORK/codedeps" \
    detect-secrets==1.4.0 beautifulsoup4==4.15.0 soupsieve==4.1.4 pygments==2.21.0
  PYTHONPATH="$PYTHONPATH:$WORK/codedeps"
fi

mkdir -p "$FIX/documents" "$FIX/lists"
if [ -z "${SKIP_SAMPLE:-}" ]; then
  "$VENV/bin/python" - "$SHARED/data/web" "$FIX" <<'PY'
import gzip, json, sys
src, fix = sys.argv[1], sys.argv[2]
# every k-th line; documents without a word are left out (dolma's pii_regex_with_counts_v2
# divides by the word count and fails the whole file on them).
plan = [("dolma_cc2019", 9), ("dolma_cc_misc", 3), ("trafilatura_html_main", 30),
        ("aeb_groundtruth", 8), ("chardet_feeds", 40), ("dolma_warc_main", 6), ("cc_whirlwind_wet", 1)]
out = []
for name, k in plan:
    with gzip.open(f"{src}/{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % k:
                continue
            d = json.loads(line)
            if not isinstance(d.get("text"), str) or not d["text"].split():
                continue
            meta = d.get("metadata") or {}
            doc = {"id": f"{name}/{d['id']}", "text": d["text"], "source": name}
            if "url" in meta:
                doc["metadata"] = {"url": meta["url"]}
            else:
                doc["metadata"] = {}
            out.append(doc)
with gzip.GzipFile(f"{fix}/documents/sample.jsonl.gz", "wb", mtime=0) as f:
    for d in out:
        f.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"sample: {len(out)} documents")

# URLs urllib3 cannot parse (`http://[::1]/`, a port above 65535) make dolma fail the whole
# file (LocationParseError), so they are not here; loam's value for them is a unit test.
edge_texts = [
    ("The quick (“brown”) fox can’t jump 32.3 feet, right?\n\n  \nשָׁלוֹם ב\"ה a'b 3,000.5 カタカナ ｶﾀｶ�KANA_x1 \U0001F1FA\U0001F1F8\U0001F1E6 👩\u200d💻 e\u0301 \u200b\n", "http://www.Example.COM:8080/a/./b/../c/?q=1#frag"),
    ("!!!\n\n★★★ ☀☀\n— – …\n😀😀 🚀\n...?\nabc!\n¡¿«»\n\t\n~~~", "https://web.com/"),
    ("Contact 555 123 4567 or x@y.com today.\nAlso see 10.0.0.1\n", "wsj.com"),
    ("\r\n\r\nline one\r\nline two\u2028three\u0085four\x0cfive\n\n\n", "HTTP://USER:pw@News.BBC.co.uk/path%2fx%zz/ü?x"),
    ("   spaced   out   ", ""),
    ("a.b,c d—e 1.2.3 1,2 x_y __init__ can't won’t O'Neil", None),
    ("日本語のテキストです。中文文本。한국어 텍스트.\nไทย ภาษา\n", "//www.wikipedia.org"),
    ("Ünïcödé ÉCOLE İstanbul ǅ\n# heading\n* * *\n", "www.www.wsj.com:443"),
    ("words\n", "127.0.0.1/x"),
    ("/*\n * Copyright (c) 2020 Example Corp.\n * Licensed under MIT.\n */\n#include <stdio.h>\nint main(void) { return 0; }\n", None),
    ("#!/usr/bin/env python\n# SPDX-License-Identifier: MIT\n\n# Helper module.\nimport os\n\nprint(os.getcwd())  # /* not a block\n", None),
    ("-- schema\n--\n\nCREATE TABLE t (x int);\n/* trailing, no c0pyright here */\n", None),
    ("/* COPYRİGHT ünïcode */ x = 1\r\ny\u2028z\x0bw\x1cv\n\n", None),

    ("and more\n", "ftp://Files.Example.ORG/Pub/"),
]
with gzip.GzipFile(f"{fix}/documents/edge.jsonl.gz", "wb", mtime=0) as f:
    for i, (t, u) in enumerate(edge_texts):
        meta = {} if u is None else {"url": u}
        f.write((json.dumps({"id": f"edge/{i}", "text": t, "source": "edge", "metadata": meta}, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"edge: {len(edge_texts)} documents")

# Lists: hosts of the sample (every 4th distinct one, so some documents match and most do
# not), in each format dolma's parsers read, plus comments, invalid lines and localhost lines.
import urllib.parse
hosts = []
for d in out:
    u = d["metadata"].get("url") or ""
    h = urllib.parse.urlsplit(u if "//" in u else "//" + u).hostname
    if h and h not in hosts:
        hosts.append(h)
picked = hosts[::4]
L = f"{fix}/lists"
with open(f"{L}/hosts.txt", "w") as f:  # StevenBlack hosts format
    f.write("# hosts file\n127.0.0.1 localhost\n::1 localhost\n0.0.0.0 0.0.0.0\n\n")
    for i, h in enumerate(picked[:len(picked) // 2]):
        f.write(f"0.0.0.0 {h}\n" if i % 3 else f"{h}\n")
    f.write("0.0.0.0 wsj.com\n999.1.1.1 bad.example\n||adp.example.com^\n! comment\n; comment\nnot a host line\n")
with open(f"{L}/social-1.txt", "w") as f:
    for h in picked[len(picked) // 2:]:
        f.write(f"0.0.0.0 {h}\n")
with open(f"{L}/social-2.txt", "w") as f:
    f.write("# second file\n0.0.0.0 eb.com\n0.0.0.0 www.example.com:8080\n127.0.0.1 news.bbc.co.uk\n")
with gzip.GzipFile(f"{L}/phishing-domains.txt.gz", "wb", mtime=0) as f:
    body = "# phishing\n" + "".join(f"{h}\n" for h in picked[1::3]) + "example.com:8080/a/c\nwsj.com\n"
    f.write(body.encode())
rows = [{"url": f"https://{h}/", "description": ("gossip site" if i % 5 == 0 else "encyclopedia" if i % 5 == 1 else None if i % 5 == 2 else "news")} for i, h in enumerate(hosts[1::3])]
rows += [{"url": "https://www.wikipedia.org", "description": "online encyclopedia"}, {"url": "http://bbc.co.uk/news", "description": "news website"}, {"url": 7, "description": "bad row"}]
with open(f"{L}/wikidata-1.json", "w") as f:
    f.write(json.dumps(rows[: len(rows) // 2]) + "\n")
with open(f"{L}/wikidata-2.json", "w") as f:
    f.write(json.dumps(rows[len(rows) // 2:]) + "\n")
print(f"lists: {len(picked)} hosts, {len(rows)} wikidata rows")
PY
fi

cat > "$WORK/pymod/loam_local_lists.py" <<PY
from dolma.taggers import url
L = "$FIX/lists"
url.BlocklistHostsPornTagger.BLOCKLIST_PATHS = [f"{L}/hosts.txt"]
url.BlocklistProjectSocialTagger.BLOCKLIST_PATHS = [f"{L}/social-1.txt", f"{L}/social-2.txt"]
url.DomainBlocklistPhishingTagger.BLOCKLIST_PATHS = [f"{L}/phishing-domains.txt.gz"]
url.LinkBlocklistPhishingTagger.BLOCKLIST_PATHS = [f"{L}/phishing-domains.txt.gz"]
url.AllowlistWikidataTagger.BLOCKLIST_PATHS = [f"{L}/wikidata-1.json", f"{L}/wikidata-2.json"]
PY

mkdir -p "$WORK/documents"
cp "$FIX"/documents/*.jsonl.gz "$WORK/documents/"
cat > "$WORK/tag.yaml" <<YAML
documents: ["$WORK/documents/*.jsonl.gz"]
taggers: [$(IFS=,; echo "${TAGGERS[*]}")]
tagger_modules: [loam_local_lists]
processes: 1
YAML
"$VENV/bin/dolma" -c "$WORK/tag.yaml" tag
rm -rf "$FIX/expected"
for t in "${TAGGERS[@]}"; do
  mkdir -p "$FIX/expected/$t"
  cp "$WORK/attributes/$t/"*.jsonl.gz "$FIX/expected/$t/"
done
echo "goldens written to $FIX/expected"
