"""Reference comment_size (dolma starcoder.py, Pygments 2.21.0) for a manifest of files.

Input lines: `lang<TAB>path`. Output lines: `lang<TAB>comment_size<TAB>seconds<TAB>path`.
Files are read as bytes and decoded as strict UTF-8 (no newline translation); files that are
not valid UTF-8 are reported with comment_size -1 and skipped by the checker.
"""
import sys, time
import pygments
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment


def comment_size(text, language):
    lexer = get_lexer_by_name(language)
    tokens = pygments.lex(text, lexer)
    comment_len = 0
    for token_type, token in tokens:
        if token_type == Comment.Multiline or token_type == Comment.Single:
            comment_len += len(token)
    return comment_len


def main():
    out = sys.stdout
    for line in sys.stdin:
        lang, path = line.rstrip('\n').split('\t', 1)
        try:
            text = open(path, 'rb').read().decode('utf-8')
        except (UnicodeDecodeError, OSError):
            out.write(f"{lang}\t-1\t0\t{path}\n")
            continue
        t0 = time.perf_counter()
        n = comment_size(text, lang)
        dt = time.perf_counter() - t0
        out.write(f"{lang}\t{n}\t{dt:.6f}\t{path}\n")
        out.flush()


if __name__ == '__main__':
    main()
