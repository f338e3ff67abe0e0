#!/usr/bin/env bash
# Regenerates tests/fixtures/tagger-starcoder/ (issue 15's `code_starcoder_taggers_v2`) from
# dolma 1.2.1 (Pygments 2.21.0, BeautifulSoup 4.15.0, CPython 3.11.7: dolma's `code` extra):
#   documents/code.jsonl.gz — real files with The Stack's metadata (`ext`, `max_stars_count`):
#       Python (every k-th small file of the dolma venv's packages, and seeded variants of
#       some: tabs, CRLF and CR newlines, a stray quote, bracket or dedent, Python 2 lines),
#       JavaScript (npm's own modules), Java ($JAVA_SRC: a directory of .java files; the
#       goldens used JPype1 1.5.0's sdist from PyPI, Apache-2.0:
#       `pip download --no-deps --no-binary :all: jpype1==1.5.0` and unpack it), HTML
#       (Debian's and the packages' HTML documentation)
#   documents/edge.jsonl.gz — extensions dolma maps elsewhere or not at all, star counts of
#       every JSON type, `<?xml version=` inside and past the first 100 characters
#   expected/code_starcoder_taggers_v2/<file> — what `dolma tag` writes for them
#
#   JAVA_SRC=dir scripts/make-starcoder-goldens.sh           # documents + goldens
#   SKIP_SAMPLE=1 scripts/make-starcoder-goldens.sh          # keep the documents, redo goldens
#
# dolma divides by zero on an empty Python, Java or JavaScript text (loam writes -1): the
# documents have none. Environment: DOLMA_VENV (default /work/venvs/venv-dolma).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-starcoder"
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m, sys
assert m.version("dolma") == "1.2.1", m.version("dolma")
assert m.version("pygments") == "2.21.0", m.version("pygments")
assert m.version("beautifulsoup4") == "4.15.0", m.version("beautifulsoup4")
assert sys.version_info[:3] == (3, 11, 7), sys.version
PY

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/nltk/tokenizers/punkt"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1

mkdir -p "$FIX/documents"
if [ -z "${SKIP_SAMPLE:-}" ]; then
  [ -d "${JAVA_SRC:-}" ] || { echo "set JAVA_SRC to a directory of .java files" >&2; exit 2; }
  "$VENV/bin/python" - "$FIX" "$JAVA_SRC" <<'PY'
import glob, gzip, json, os, random, site, sys
fix, java_src = sys.argv[1], sys.argv[2]
rng = random.Random(20261205)

def write(name, docs):
    with gzip.GzipFile(f"{fix}/documents/{name}", "wb", mtime=0) as f:
        for d in docs:
            f.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{name}: {len(docs)} documents")

def files(root, exts, lo=200, hi=12000):
    out = []
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        for f in sorted(fs):
            p = os.path.join(d, f)
            if f.endswith(exts) and lo <= os.path.getsize(p) <= hi:
                out.append(p)
    return out

def read(p):
    try:
        with open(p, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError:
        return None

def every(paths, n):
    k = max(1, len(paths) // n)
    return paths[::k][:n]

docs = []
def add(kind, name, text, ext, stars=None):
    meta = {"ext": ext}
    if stars is not None:
        meta["max_stars_count"] = stars
    docs.append({"id": f"{kind}/{name}", "text": text, "source": "code", "metadata": meta})

def stars():
    return rng.choice([None, 0, 1, 7, 123, 45678])

root = site.getsitepackages()[0]
py = [p for p in every(files(root, (".py",)), 110) if read(p)]
for p in py:
    add("py", os.path.relpath(p, root), read(p), "py", stars())

def mutate(text):
    lines = text.split("\n")
    k = rng.randrange(7)
    if k == 0:
        return text.replace("    ", "\t")
    if k == 1:
        return text.replace("\n", "\r\n")
    if k == 2:
        return text.replace("\n", "\r")
    if k == 3:
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(["'", '"', '"""', "(", ")", "\\\n", "#"]) + text[i:]
    if k == 4:
        i = rng.randrange(len(lines))
        lines[i] = "  " + lines[i]
        return "\n".join(lines)
    if k == 5:
        i = rng.randrange(len(lines))
        lines.insert(i, 'print "python 2"  # comment')
        return "\n".join(lines)
    i = rng.randrange(len(lines))
    lines[i] = " \t" + lines[i].lstrip(" ")
    return "\n".join(lines)

for j, p in enumerate(py[::2][:50]):
    add("py-variant", f"{j}", mutate(read(p)), rng.choice(["py", "pyw", "bzl"]), stars())

npm = "/usr/lib/node_modules/npm"
for p in every(files(npm, (".js",)), 45):
    t = read(p)
    if t:
        add("js", os.path.relpath(p, npm), t, rng.choice(["js", "js", "es6", "jsm"]), stars())

for p in every(files(java_src, (".java",), hi=16000), 45):
    t = read(p)
    if t:
        add("java", os.path.relpath(p, java_src), t, "java", stars())

html = sorted(glob.glob("/usr/share/doc/*/html/*.html") + glob.glob("/usr/share/doc/*/*/*.html"))
html += files(root, (".html", ".htm"), hi=40000)
for p in every(html, 45):
    t = read(p)
    if t:
        add("html", os.path.relpath(p, "/"), t, rng.choice(["html", "html", "htm", "xhtml"]), stars())
write("code.jsonl.gz", docs)

edge = []
def e(name, text, metadata):
    d = {"id": f"edge/{name}", "text": text, "source": "edge"}
    if metadata is not None:
        d["metadata"] = metadata
    edge.append(d)
src = '"""Doc."""\n# comment\nx = 1\n'
e("no-metadata", src, None)
e("no-ext", src, {})
e("ext-null", src, {"ext": None})
e("ext-number", src, {"ext": 3})
e("ext-upper", src, {"ext": "PY"})
e("ext-c", "/* comment */\nint main() { return 0; }\n", {"ext": "c"})
e("ext-md", "# Title\n\nText.\n", {"ext": "md"})
e("empty-html", "", {"ext": "html"})
e("short-html", "<p>hi</p>", {"ext": "html"})
e("empty-other", "", {"ext": "c"})
for v in [None, 0, 5, 2.5, True, False, "12", " 7 ", "1_000", "", "1e3", 10**15]:
    e(f"stars-{json.dumps(v)}", src, {"ext": "py", "max_stars_count": v})
xml = '<?xml version="1.0"?>\n<root/>\n'
e("xml-head", xml, {"ext": "xml"})
e("xml-at-90", " " * 90 + xml, {"ext": "xml"})
e("xml-past-100", " " * 95 + xml, {"ext": "xml"})
e("xml-nonascii-prefix", "é" * 85 + xml, {"ext": "xml"})
e("java-unicode", "/** Ünïcødé javadoc */\nclass A { String s = \"// not a comment\"; } // é\n", {"ext": "java"})
e("js-regex", "var r = /\\/\\/ not/g; // yes\nconst t = `${a /* in */}` /* out */;\n", {"ext": "js"})
write("edge.jsonl.gz", edge)
PY
fi

mkdir -p "$WORK/documents"
cp "$FIX"/documents/*.jsonl.gz "$WORK/documents/"
cat > "$WORK/tag.yaml" <<YAML
documents: ["$WORK/documents/*.jsonl.gz"]
taggers: [code_starcoder_taggers_v2]
processes: 1
YAML
"$VENV/bin/dolma" -c "$WORK/tag.yaml" tag
rm -rf "$FIX/expected"
mkdir -p "$FIX/expected/code_starcoder_taggers_v2"
cp "$WORK/attributes/code_starcoder_taggers_v2/"*.jsonl.gz "$FIX/expected/code_starcoder_taggers_v2/"
echo "goldens written to $FIX/expected"
