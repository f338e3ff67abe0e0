"""Builds tests/fixtures/tagger-starcoder/bs4-cases.jsonl and the CASES table in
filters/src/starcoder/bs4/mod.rs's tests with values computed by the dolma
venv (BeautifulSoup 4.15.0, CPython 3.11.7).

fixture/cases.jsonl: {"html", "text_len" (null on exception), "filter_html", "source"}
filters/src/starcoder/bs4/mod.rs (between the GENERATED CASES markers): the hand-written tricky cases with Python's exact get_text().
"""
import gzip, glob, json, os, random, sys, warnings

warnings.simplefilter("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bs4 import BeautifulSoup  # noqa: E402
from bs4_ref import filter_html  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = random.Random(2024)
PAD = " Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "


def py_text(html):
    try:
        soup = BeautifulSoup(html, features="html.parser")
        for s in soup(["script", "style"]):
            s.extract()
        return soup.get_text(), None
    except Exception as e:  # noqa: BLE001
        return None, type(e).__name__


# (description, html) -- each shows one behaviour of html.parser 3.11.7 / bs4 4.15.0.
TRICKY = [
    ("empty document: ZeroDivisionError", ""),
    ("plain text only", "plain text, no markup at all" + PAD),
    ("script and style content removed", "<p>keep</p><script>var a = '<b>x</b>';</script><style>p{}</style>after" + PAD),
    ("unclosed script swallows the rest", "before<script>x = 1;<p>all of this is lost" + PAD),
    ("unclosed style swallows the rest", "before" + PAD + "<style>p { color: red }<p>lost</p>"),
    ("script end tag with spaces closes it", "<script>a</script  >kept<script>b</ script>kept too" + PAD),
    ("script end tag with attributes does not close it", "<script>a</script foo>still script</script>kept" + PAD),
    ("re.I makes </\u017fcript> interesting but it is not an end tag", "<script>a</\u017fcript>still script</script>kept" + PAD),
    ("self-closing script is empty", "<script/>kept text<style/>more" + PAD),
    ("upper-case SCRIPT", "<SCRIPT>x</SCRIPT>kept<Style>y</STYLE>kept" + PAD),
    ("rt rp template strings are not NavigableString", "<ruby>\u6f22<rp>(</rp><rt>kan</rt><rp>)</rp></ruby><template><p>t</p></template>ok" + PAD),
    ("CDATA sections are counted", "<p>a<![CDATA[ inside <b>cdata</b> ]]>b</p>" + PAD),
    ("empty CDATA becomes one space", "<![CDATA[]]>x"),
    ("CDATA kept inside rt", "<rt>dropped<![CDATA[kept]]>dropped</rt>"),
    ("comments doctype PI bogus comments excluded", "<!DOCTYPE html><?xml version='1.0'?><!-- c --><!bogus>text</ x><!x y>more" + PAD),
    ("</> ignored, </ > is a bogus comment", "a</>b</ >c</ a>d"),
    ("MS conditional marked sections are declarations", "<![if !IE]>shown<![endif]>and" + PAD),
    ("unknown marked section keyword: ParserRejectedMarkup", "text <![foo[ bar ]]> more" + PAD),
    ("marked section without a name: ParserRejectedMarkup", "text <![ CDATA[x]]>" + PAD),
    ("marked section at end of input is text", "text" + PAD + "<![CDATA[unterminated"),
    ("whitespace-only strings collapse to one space or newline", "<p>   </p><p> \n\t </p><p>\r\n</p>x"),
    ("no collapse inside pre or textarea", "<pre>   </pre><textarea>\n\n</textarea><pre><b>  </b></pre>"),
    ("character references count before collapsing", "<b>&#10;&#10;</b><i>&#32;&#32;</i><u>&#9;x</u>"),
    ("redundant </br> does not end the string", "<br>  </br>  <br>\n\n</br>\n"),
    ("void elements close at once", "<p><img src=x>text<br/>more<hr>end</p>" + PAD),
    ("end tag pops intermediate tags", "<pre><b>x</pre>   <i>y</i>   "),
    ("entities: bs4 table without semicolon", "&amp; &amp &lt &notin &notin; &fjlig; &Tab;|&NewLine;|" + PAD),
    ("unknown entity keeps & and drops the semicolon", "&foo; &foo &a.b; &x-y" + PAD),
    ("entity name backtracks at end of input", "x &amp.x &a-b"),
    ("&amp at end of input stays raw", "x &amp"),
    ("&a at end of input loses the &", "x &a"),
    ("numeric references: windows-1252 and replacement", "&#x80;&#128;&#0;&#xD800;&#x110000;&#12345678901234567890;&#65&#x41g" + PAD),
    ("bad &# consumed then the parser moves to close()", "a &#12a; b <p>x</p> c" + PAD),
    ("second bad &# dumps the rest as raw text", "x &#1a; <b>y</b> &#2b; <i>z</i> &amp;" + PAD),
    ("&# without any later ; stops tokenizing", "x &#zz <b>y</b> &amp; z" + PAD),
    ("unclosed comment at close() becomes text up to >", "a <!-- b > c <b>d</b>" + PAD),
    ("unclosed comment without > is text up to next <", "a <!-- b <b>c</b>"),
    ("unclosed quoted attribute at close()", '<a href="x>link</a> tail' + PAD),
    ("junk after tag name makes the tag text", "<a\x00>text</a>"),
    ("attribute soup", "<a b='x'c d = \"y\"/e=f g>t</a><a ==\"x>u</a>" + PAD),
    ("backtracking: unclosed quote after spaces", '<a b= "c>d</a>' + PAD),
    ("lone < and & are text", "a < b & c <3 &# d" + PAD),
    ("< at end of input", "text" + PAD + "<"),
    ("& at end of input", "text" + PAD + "&"),
    ("</ at end of input", "text" + PAD + "</b"),
    ("start tag at end of input", "text" + PAD + "<div class="),
    ("unicode whitespace is \\s for html.parser", "<p\u3000>x</p\u3000><b\xa0c=d>y</b>" + PAD),
    ("\\x1c-\\x1f are \\s in Python re", "<b\x1cx=1>y</b\x1c>" + PAD),
    ("Kelvin sign lowercases to k: void link", "<lin\u212a>text</link>more" + PAD),
    ("dotted capital I lowercases to two chars", "<scr\u0130pt>visible</scr\u0130pt>" + PAD),
    ("final sigma in tag names", "<a\u03a3><b>x</a\u03c3>y</a\u03a3>z" + PAD),
    ("doctype variants", "<!DocType html>a<!doctypex>b<!doctype" + PAD),
    ("processing instruction ends at first >", "<?php echo '>'; ?>after" + PAD),
    ("nested pre inside rt", "<rt><pre>  </pre></rt>  <pre> </pre>"),
    ("textarea closed by end tag", "<textarea> a  b </textarea>   "),
]

out_cases = []


def add(html, source):
    text, exc = py_text(html)
    f = filter_html(html)
    out_cases.append({"html": html, "text_len": None if exc else len(text),
                      "filter_html": float(f), "source": source})


for desc, html in TRICKY:
    add(html, "handwritten: " + desc)
add("&#" + "1" * 4301 + "; text" + PAD, "handwritten: decimal reference with 4301 digits: ValueError")
add("&#" + "1" * 4300 + "; text" + PAD, "handwritten: decimal reference with 4300 digits is fine")
add("<p title='&#" + "0" * 4301 + ";'>x</p>" + PAD, "handwritten: 4301-digit reference in an attribute: ValueError")
add("&#x" + "f" * 5000 + "; text" + PAD, "handwritten: hex references have no digit limit")

# Real pages, trimmed.
REAL = [
    ("/root/.pyenv/versions/3.11.7/lib/python3.11/idlelib/help.html", "CPython 3.11.7 idlelib/help.html (PSF-2.0)"),
    ("/root/.pyenv/versions/3.11.7/lib/python3.11/test/test_difflib_expect.html", "CPython 3.11.7 test/test_difflib_expect.html (PSF-2.0)"),
    ("/root/.pyenv/versions/2.7.18/lib/python2.7/test/sgml_input.html", "CPython 2.7.18 test/sgml_input.html (PSF-2.0)"),
]
REAL += [(p, "Debian libffi8 HTML manual (MIT): " + os.path.basename(p)) for p in sorted(glob.glob("/usr/share/doc/libffi8/html/*.html"))[:4]]
REAL += [(p, "Debian libxslt1-dev HTML docs (MIT): " + os.path.basename(p)) for p in sorted(glob.glob("/usr/share/doc/libxslt1-dev/html/*.html"))[:5]]
REAL += [(p, "Debian libexpat1-dev expat.html (MIT)") for p in glob.glob("/usr/share/doc/libexpat1-dev/expat.html/*.html")]
REAL += [(p, "Debian nodejs API docs (MIT): " + os.path.basename(p)) for p in sorted(glob.glob("/usr/share/doc/nodejs/api/*.html"))[:4]]
REAL += [(p, "uniseg docs (MIT): " + os.path.basename(p)) for p in sorted(glob.glob("/work/venvs/venv-dolma/lib/python3.11/site-packages/uniseg/docs/html/*.html"))[:3]]
REAL += [(p, "html5ever 0.40.1 bench data (MIT/Apache-2.0): " + os.path.basename(p)) for p in sorted(glob.glob("/root/.cargo/registry/src/*/html5ever-0.40.1/data/bench/*.html"))]
rust_docs = sorted(glob.glob("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/std/*.html"))
rng.shuffle(rust_docs)
REAL += [(p, "Rust std docs (MIT/Apache-2.0): " + p.split("/share/doc/rust/")[1]) for p in rust_docs[:8]]
book = sorted(glob.glob("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/book/*.html"))
rng.shuffle(book)
REAL += [(p, "The Rust Programming Language book (MIT/Apache-2.0): " + p.split("/share/doc/rust/")[1]) for p in book[:4]]


def read(p):
    raw = open(p, "rb").read()
    return raw.decode("utf-8", errors="replace")


def window(text, size):
    if len(text) <= size:
        return text, 0
    a = rng.randint(0, len(text) - size)
    return text[a:a + size], a


real_excerpts = []
for p, src in REAL:
    t = read(p)
    w, a = window(t, 6000)
    real_excerpts.append((w, src))
    add(w, "%s, chars %d-%d" % (src, a, a + len(w)))

# Web pages from the shared data: short trimmed excerpts only.
aeb_dir = "/work/shared/data/html-extraction/aeb/html"
names = sorted(os.listdir(aeb_dir))
rng.shuffle(names)
for n in names[:12]:
    t = gzip.open(os.path.join(aeb_dir, n)).read().decode("utf-8", errors="replace")
    w, a = window(t, 1500)
    real_excerpts.append((w, "aeb"))
    add(w, "scrapinghub article-extraction-benchmark (MIT) %s, excerpt chars %d-%d" % (n, a, a + len(w)))
with gzip.open("/work/shared/data/web/chardet_feeds.jsonl.gz", "rt") as f:
    feeds = [json.loads(l) for l in f]
rng.shuffle(feeds)
for d in feeds[:6]:
    w, a = window(d["text"], 1000)
    add(w, "chardet test page (LGPL-2.1) %s, excerpt chars %d-%d" % (d["id"], a, a + len(w)))

# Mutated excerpts (the same tokens as the differential corpus).
sys.argv = [sys.argv[0]]
TOKENS = ["<", ">", "</script", "</script>", "<script>", "<style>", "</style>", "<!--", "-->",
          "<![CDATA[", "]]>", "&", "&amp", "&#x", "&#", "&#123", "'", '"', "\x00", "\r", "é",
          "\u3000", "<pre>", "</pre>", "<rt>", "<br>", "</br>", "<![if x]>", "<!x>", "</ >",
          "<a b=\"x", "&notin", "&#10;", "  \n  "]


def mutate(s, k):
    for _ in range(k):
        pos = rng.randint(0, len(s))
        if rng.random() < 0.25 and s:
            s = s[:pos] + s[pos + rng.randint(1, 30):]
        else:
            s = s[:pos] + rng.choice(TOKENS) + s[pos:]
    return s


kinds = {"exc": 0, "zero": 0, "ratio": 0}
attempts = 0
while sum(kinds.values()) < 45 and attempts < 5000:
    attempts += 1
    base, src = rng.choice(real_excerpts)
    w, a = window(base, rng.choice([300, 800, 2000]))
    m = mutate(w, rng.choice([1, 3, 6, 12]))
    f = filter_html(m)
    kind = "exc" if f == -1.0 else ("zero" if f == 0.0 else "ratio")
    if kinds[kind] >= {"exc": 8, "zero": 10, "ratio": 27}[kind]:
        continue
    kinds[kind] += 1
    add(m, "mutated excerpt of: " + src)

os.makedirs(os.path.join(ROOT, "tests/fixtures/tagger-starcoder"), exist_ok=True)
with open(os.path.join(ROOT, "tests/fixtures/tagger-starcoder/bs4-cases.jsonl"), "w") as f:
    for c in out_cases:
        f.write(json.dumps(c, ensure_ascii=True) + "\n")
size = os.path.getsize(os.path.join(ROOT, "tests/fixtures/tagger-starcoder/bs4-cases.jsonl"))
print(len(out_cases), "cases,", size, "bytes", kinds, file=sys.stderr)


# Rust unit tests for the hand-written cases, with Python's exact text.
def lit(s):
    out = []
    for c in s:
        if c.isascii() and (c.isalnum() or c in " <>/=!?-_.,:;()[]{}'#|+*@$%^~`"):
            out.append(c)
        else:
            out.append("\\u{%x}" % ord(c))
    return '"' + "".join(out) + '"'


lines = ["/// (what it shows, html, Python's get_text() or the exception name, dolma's score)",
         "static CASES: &[(&str, &str, Result<&str, &str>, f64)] = &["]
for desc, html in TRICKY:
    text, exc = py_text(html)
    res = "Err(%s)" % lit(exc) if exc else "Ok(%s)" % lit(text)
    lines.append("    (%s, %s, %s, %r)," % (lit(desc), lit(html), res, float(filter_html(html))))
lines.append("];")
lib_path = os.path.join(ROOT, "filters/src/starcoder/bs4/mod.rs")
lib = open(lib_path).read()
a = lib.index("    // BEGIN GENERATED CASES (scripts/starcoder/make_bs4_cases.py)\n")
a = lib.index("\n", a) + 1
b = lib.index("    // END GENERATED CASES")
lib = lib[:a] + "".join("    " + l + "\n" for l in lines) + lib[b:]
open(lib_path, "w").write(lib)
