"""Reference values with the dolma venv's BeautifulSoup 4.15.0 / CPython 3.11.7.

usage: ref.py corpus/<group>.bin [...]   ->  corpus/<group>.ref.tsv
One line per record: id, text_len (or exception class name prefixed with '!'),
repr(filter_html) exactly as dolma's tagger would score it. Prints seconds spent in
BeautifulSoup + get_text per group, for the speed comparison.
"""
import sys, time, warnings

warnings.simplefilter("ignore")
from bs4 import BeautifulSoup  # noqa: E402


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        did = data[pos:nl].decode()
        nl2 = data.index(b"\n", nl + 1)
        n = int(data[nl + 1:nl2])
        yield did, data[nl2 + 1:nl2 + 1 + n].decode("utf-8")
        pos = nl2 + 1 + n


def text_len(html):
    soup = BeautifulSoup(html, features="html.parser")
    for script in soup(["script", "style"]):
        script.extract()
    return len(soup.get_text())


def filter_html(html):
    """dolma.taggers.code.utils.filter_html wrapped like CodeStarCoderTaggers2.predict."""
    try:
        try:
            soup = BeautifulSoup(html, features="html.parser")
        except (TypeError, UnboundLocalError):
            return False
        for script in soup(["script", "style"]):
            script.extract()
        text = soup.get_text()
        ratio = len(text) / len(html)
        return (ratio) * (len(text) > 100)
    except:  # noqa: E722
        return -1.0


def main():
    for path in sys.argv[1:]:
        out = path[: -len(".bin")] + ".ref.tsv"
        t_total = 0.0
        nbytes = 0
        with open(out, "w") as f:
            for did, html in read_records(path):
                nbytes += len(html.encode())
                t0 = time.perf_counter()
                try:
                    tl = str(text_len(html))
                except Exception as e:  # noqa: BLE001
                    tl = "!" + type(e).__name__
                t_total += time.perf_counter() - t0
                fv = filter_html(html)
                f.write("%s\t%s\t%r\n" % (did, tl, float(fv)))
        print("%s\t%.3f s\t%d bytes\t%.3f MB/s" % (path, t_total, nbytes, nbytes / 1e6 / max(t_total, 1e-9)),
              file=sys.stderr)


if __name__ == "__main__":
    main()
