"""Expected FineWeb quality ratios, computed with datatrove 0.10.1's own code.

Run by scripts/make-fineweb-goldens.sh inside a virtualenv holding datatrove[processing]==0.10.1
and spacy (for `list_ratio`); see tests/fixtures/fineweb-sample/README.md.

    python make-fineweb-goldens.py REPO

1. writes tests/fixtures/fineweb-sample/documents/edge.jsonl.gz (hand-written edge cases);
2. for every document of tests/fixtures/tagger-sample/documents/*.jsonl.gz and of that file,
   computes the quantities `FineWebQualityFilter.filter()` compares with its thresholds, with
   the same expressions and datatrove's own helpers (`find_duplicates`, `split_into_words`,
   `TERMINAL_PUNCTUATION` through the filter's `stop_chars`);
3. proves each value is exactly the one `filter()` computes: with the other rules disabled,
   `filter()` must keep the document at threshold = value and drop it, for that rule, one ulp
   to the strict side; and records `filter()`'s verdict at datatrove's default thresholds;
4. writes tests/fixtures/fineweb-sample/expected.jsonl, one line per document:
   `{"file", "id", "verdict", "line_punct_ratio", "short_line_ratio", "char_dup_ratio",
   "list_ratio"}` (ratios `null` when datatrove has none: "empty" documents), and
   tests/fixtures/fineweb-sample/filter.json, the filter's default parameters (every stop
   character, `short_line_length`, the thresholds).
"""

import glob
import gzip
import importlib.metadata
import inspect
import json
import math
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.filters import fineweb_quality_filter as fqf
from datatrove.pipeline.filters.fineweb_quality_filter import FineWebQualityFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_words

DATATROVE = "0.10.1"
RULES = ("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")

# The edge cases the tagger sample lacks (see the fixture README). Each is (name, text).
EDGE = [
    ("empty", ""),
    ("blank-lines", "\n\n  \n\t\n\r\n"),
    ("unicode-blank-lines", "\u3000\n\u00a0 \u2003\n\x1c\x1f\n\x85"),
    # U+001C..U+001F are whitespace to Python's strip() (not to Unicode's White_Space).
    (
        "python-whitespace-lines",
        "A real line that ends with a full stop.\n\x1c\x1d\n\x1e\x1f \n\u3000\u2028\n"
        "Another real line, long enough and without a stop",
    ),
    ("crlf", "The first line ends with a full stop.\r\nThe second one too!\r\nshort\r\nshort\r\n"),
    (
        "trailing-spaces",
        "This line ends with a stop and then spaces.   \n"
        "This one ends cleanly.\n"
        "Question?\t\n"
        "  Indented and ending with a stop.\n",
    ),
    (
        "non-latin-punctuation",
        "这是一个很长的中文句子，用来测试句号是否被识别。\n"
        "これは日本語の文です！\n"
        "Это предложение на русском языке.\n"
        "هل هذا سؤال باللغة العربية؟\n"
        "यह हिंदी में एक वाक्य है।\n"
        "ይህ የአማርኛ ዓረፍተ ነገር ነው።\n"
        "Full-width question mark？\n"
        "Double exclamation‼\n"
        "Ellipsis does not count…\n"
        "A quote after the stop does not count.\"\n"
        "Nor does a semicolon;\n",
    ),
    (
        "repeated-lines",
        "Same line here, repeated.\nSame line here, repeated.\nAnother line.\n\n"
        "Same line here, repeated.\nAnother line.\nUnique closing line.",
    ),
    ("near-duplicates", "dup\ndup \ndup\r\n dup\ndup"),
    (
        "line-lengths",
        "é" * 30 + "\n" + "é" * 31 + "\n" + "😀" * 30 + "\n" + "😀" * 31 + "\n"
        + "e\u0301" * 15 + "\n" + "e\u0301" * 16 + ".\n" + "İ" * 30,
    ),
    ("other-line-breaks", "one.\rtwo.\rthree.\u2028four.\u2029five.\x85six.\x0bseven.\x0ceight."),
    (
        "leading-and-trailing-newlines",
        "\n\n\nA line in the middle of nowhere, ending with a stop.\n\n\n",
    ),
    # At datatrove's default thresholds exactly: 12/100 lines end with a stop (kept, the rule
    # is `< 0.12`), 67/100 are short (kept, `> 0.67`).
    (
        "thresholds-exact",
        "\n".join(
            [f"Line number {i:03d} ends with a full stop." for i in range(12)]
            + [f"long line number {i:03d} without a final stop at all" for i in range(21)]
            + [f"short {i:03d}" for i in range(67)]
        ),
    ),
    # char_dup_ratio exactly 0.01: 10 duplicate code points out of 1000 (without newlines).
    (
        "char-dup-exact",
        "\n".join(["abcdefghi.", "abcdefghi."] + [f"{i:04d} is a unique filler line, okay." for i in range(28)]),
    ),
    (
        "list",
        "Shopping list:\n- eggs\n- milk\n- bread\n- butter\n- flour\n- sugar\n- salt\n"
        "- pepper\n- olive oil\n- coffee\n",
    ),
    ("contractions-and-urls", "Don't stop, we'll see https://example.com/a?b=c e-mail me at a@b.co!\nIt's 10:30 a.m. U.S.A."),
    ("zero-width", "\u200b\n\u200b\u200b\nword\u200bword."),
]


def filter_with(thresholds: dict[str, float]) -> FineWebQualityFilter:
    # Every rule off (it can never fire), then the ones given.
    kw = dict(line_punct_thr=0.0, short_line_thr=1.0, char_duplicates_ratio=math.inf, new_line_ratio=math.inf)
    kw.update(thresholds)
    return FineWebQualityFilter(**kw)


# Each rule: the threshold argument, and the direction in which its comparison is strict
# (`ratio < thr` drops for line_punct, `ratio > thr` for the others).
ARGS = {
    "line_punct_ratio": ("line_punct_thr", math.inf),
    "short_line_ratio": ("short_line_thr", -math.inf),
    "char_dup_ratio": ("char_duplicates_ratio", -math.inf),
    "list_ratio": ("new_line_ratio", -math.inf),
}


def ratios(f: FineWebQualityFilter, text: str) -> dict | None:
    """The quantities of `FineWebQualityFilter.filter()` (datatrove 0.10.1), expression for
    expression; None when filter() returns "empty"."""
    lines = text.split("\n")
    lines = [line for line in lines if line.strip() != ""]
    if len(lines) == 0:
        return None
    out = {}
    out["line_punct_ratio"] = sum(1 for line in lines if line.endswith(f.stop_chars)) / len(lines)
    out["short_line_ratio"] = sum(1 for line in lines if len(line) <= f.short_line_length) / len(lines)
    out["char_dup_ratio"] = find_duplicates(lines)[1] / len(text.replace("\n", ""))
    words = split_into_words(text, f.language)
    new_line = text.count("\n")
    out["list_ratio"] = new_line / len(words)
    return out


def prove(text: str, values: dict | None, doc_id: str) -> str:
    """Checks `values` against filter() itself; returns filter()'s default verdict."""
    doc = Document(text=text, id=doc_id)
    verdict = FineWebQualityFilter().filter(doc)
    verdict = "keep" if verdict is True else verdict[1]
    if values is None:
        assert verdict == "empty", (doc_id, verdict)
        assert filter_with({}).filter(doc) == (False, "empty"), doc_id
        return verdict
    for rule, (arg, strict) in ARGS.items():
        v = values[rule]
        kept = filter_with({arg: v}).filter(doc)
        dropped = filter_with({arg: math.nextafter(v, strict)}).filter(doc)
        assert kept is True, (doc_id, rule, v, kept)
        assert dropped == (False, rule), (doc_id, rule, v, dropped)
    return verdict


def read_docs(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def main() -> None:
    repo = sys.argv[1]
    version = importlib.metadata.version("datatrove")
    assert version == DATATROVE, f"datatrove {version}, expected {DATATROVE}"
    # The expressions above are copied from filter(); refuse to run against other code.
    src = inspect.getsource(FineWebQualityFilter.filter)
    for expr in (
        'lines = doc.text.split("\\n")',
        'lines = [line for line in lines if line.strip() != ""]',
        "sum(1 for line in lines if line.endswith(self.stop_chars)) / len(lines)",
        "sum(1 for line in lines if len(line) <= self.short_line_length) / len(lines)",
        'find_duplicates(lines)[1] / len(doc.text.replace("\\n", ""))',
        "words = split_into_words(doc.text, self.language)",
        'new_line = doc.text.count("\\n")',
        "new_line / len(words)",
    ):
        assert expr in src, f"datatrove's filter() changed: {expr!r} not found"
    assert fqf.find_duplicates is find_duplicates and fqf.split_into_words is split_into_words

    fix = os.path.join(repo, "tests/fixtures/fineweb-sample")
    os.makedirs(os.path.join(fix, "documents"), exist_ok=True)
    with gzip.GzipFile(os.path.join(fix, "documents/edge.jsonl.gz"), "wb", mtime=0) as fh:
        for name, text in EDGE:
            d = {"id": f"fineweb-edge/{name}", "text": text, "source": "fineweb-edge"}
            fh.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))

    files = sorted(glob.glob(os.path.join(repo, "tests/fixtures/tagger-sample/documents/*.jsonl.gz")))
    files.append(os.path.join(fix, "documents/edge.jsonl.gz"))
    f = FineWebQualityFilter()
    rows, verdicts = [], {}
    for path in files:
        rel = os.path.relpath(path, os.path.join(repo, "tests/fixtures"))
        for d in read_docs(path):
            values = ratios(f, d["text"])
            verdict = prove(d["text"], values, d["id"])
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            row = {"file": rel, "id": d["id"], "verdict": verdict}
            for rule in RULES:
                row[rule] = None if values is None else values[rule]
            rows.append(row)
    with open(os.path.join(fix, "expected.jsonl"), "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    # The filter's parameters as datatrove 0.10.1 sets them by default: the stop characters
    # (every one, not only those the documents use) and the thresholds.
    params = {
        "datatrove": version,
        "stop_chars": [f"U+{ord(c):04X}" for c in sorted(f.stop_chars)],
        "short_line_length": f.short_line_length,
        "line_punct_thr": f.line_punct_thr,
        "line_punct_exclude_zero": f.line_punct_exclude_zero,
        "short_line_thr": f.short_line_threshold,
        "char_duplicates_ratio": f.char_duplicates_ratio,
        "new_line_ratio": f.new_line_ratio,
        "language": f.language,
    }
    assert all(len(c) == 1 for c in f.stop_chars)
    with open(os.path.join(fix, "filter.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(params, indent=1) + "\n")
    print(f"{len(rows)} documents from {len(files)} files; verdicts {dict(sorted(verdicts.items()))}")


if __name__ == "__main__":
    main()
