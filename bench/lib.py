#!/usr/bin/env python3
"""Helpers for bench/run.sh: corpus preparation, timing with peak memory, agreement checks
between loam and its peers, and the results table. Standard library only (runs on the
system Python, outside the peers' virtualenvs).

    lib.py corpus SRC_DIR OUT_DIR SIZE_MB SHARDS      -> OUT_DIR/documents/*.jsonl.gz, stats.json
    lib.py small-corpus SRC_DIR OUT_DIR N SHARDS       -> N short real-text documents (explain)
    lib.py pick-ids DOCS_DIR N SEED                    -> N ids, one per line, seeded
    lib.py ledger-size MANIFEST                        -> ledger + index bytes vs mix bytes
    lib.py measure RESULTS STAGE TOOL REP -- CMD...   -> one JSON line appended to RESULTS
    lib.py check-tag LOAM_ATTR DOLMA_ATTR MAX_LINES
    lib.py check-dedupe MODE LOAM_ATTR DOLMA_ATTR DOCS
    lib.py check-kept LOAM_DOCS PEER_DOCS ALL_DOCS    (same documents kept?)
    lib.py check-minhash LOAM_ATTR PEER_DOCS ALL_DOCS
    lib.py check-mix LOAM_OUT DOLMA_OUT
    lib.py trace-queries RESULTS LOAM MIX TOKEN_INDEX TEXT_INDEX N
                                                       -> query latencies, counts checked
    lib.py table RESULTS STATS AGREEMENT THREADS      -> markdown on stdout

Every check prints one line `ok|DIFF: <summary>`; run.sh records it next to the timings.
"""
import glob
import gzip
import io
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def files(d, pat="*.gz"):
    out = sorted(glob.glob(os.path.join(d, "**", pat), recursive=True))
    if not out:
        sys.exit(f"no files matching {pat} under {d}")
    return out


# ---------------------------------------------------------------- corpus


EXCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exclude.txt")


def excluded_ids():
    """Source ids left out of every benchmark corpus, with the reason in bench/exclude.txt."""
    out = set()
    if os.path.exists(EXCLUDE):
        for line in open(EXCLUDE, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                out.add(line)
    return out


def source_documents(src):
    base, left_out = [], []
    for f in sorted(glob.glob(os.path.join(src, "*.jsonl.gz"))):
        b, l = source_documents_of(f)
        base += b
        left_out += l
    return base, left_out


def source_documents_of(f):
    excluded = excluded_ids()
    base, left_out = [], []
    for d in read_jsonl(f):
        if not isinstance(d.get("text"), str) or not d["text"]:
            continue
        if str(d["id"]) in excluded:
            left_out.append(str(d["id"]))
            continue
        doc = {"id": str(d["id"]), "text": d["text"],
               "source": str(d.get("source") or os.path.basename(f).split(".")[0])}
        for k in ("added", "created"):
            if isinstance(d.get(k), str):
                doc[k] = d[k]
        if isinstance(d.get("metadata"), dict):
            doc["metadata"] = d["metadata"]
        base.append(doc)
    return base, left_out


def corpus(src, out, size_mb, shards):
    """Real documents from SRC (shuffled once with a fixed seed), replicated with new ids
    (`<id>#r<copy>`) until the text reaches SIZE_MB, interleaved into SHARDS gzip shards."""
    size = int(float(size_mb) * 1e6)
    shards = int(shards)
    base, left_out = source_documents(src)
    # Source files share some ids (one page through several extractors): make them unique.
    seen = {}
    for doc in base:
        n = seen[doc["id"]] = seen.get(doc["id"], 0) + 1
        if n > 1:
            doc["id"] = f"{doc['id']}~{n}"
    random.Random(0).shuffle(base)
    os.makedirs(os.path.join(out, "documents"), exist_ok=True)
    outs = [gzip.open(os.path.join(out, "documents", f"{i:03d}.jsonl.gz"), "wt",
                      encoding="utf-8", compresslevel=6) for i in range(shards)]
    n = text = raw = copies = 0
    while text < size:
        for d in base:
            if text >= size:
                break
            e = dict(d, id=f"{d['id']}#r{copies}")
            line = json.dumps(e, ensure_ascii=False) + "\n"
            outs[n % shards].write(line)
            n += 1
            text += len(d["text"].encode("utf-8"))
            raw += len(line.encode("utf-8"))
        copies += 1
    for o in outs:
        o.close()
    gz = sum(os.path.getsize(p) for p in glob.glob(os.path.join(out, "documents", "*.gz")))
    base_text = sum(len(d["text"].encode("utf-8")) for d in base)
    stats = {"documents": n, "text_bytes": text, "jsonl_bytes": raw, "gzip_bytes": gz,
             "shards": shards, "source_documents": len(base), "source_text_bytes": base_text,
             "replication": round(text / base_text, 2), "excluded": sorted(left_out)}
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f)
    print(json.dumps(stats))


def uneven_corpus(src, out):
    """The source files as they are, one output file per source file (the same documents as
    `corpus` reads, ids made unique the same way): 11 files of very uneven sizes, the largest
    (aeb_extractor_outputs) about 60% of the text. Nothing replicated or shuffled."""
    base, left_out = source_documents(src)
    seen = {}
    for doc in base:
        n = seen[doc["id"]] = seen.get(doc["id"], 0) + 1
        if n > 1:
            doc["id"] = f"{doc['id']}~{n}"
    os.makedirs(os.path.join(out, "documents"), exist_ok=True)
    names = [os.path.basename(f) for f in sorted(glob.glob(os.path.join(src, "*.jsonl.gz")))]
    n = text = raw = 0  # `base` is every file's documents in this order: ids from it

    sizes = {}
    for name in names:
        docs, _ = source_documents_of(os.path.join(src, name))
        path = os.path.join(out, "documents", name)
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as o:
            for d in docs:
                d["id"] = base[n]["id"]
                line = json.dumps(d, ensure_ascii=False) + "\n"
                o.write(line)
                n += 1
                text += len(d["text"].encode("utf-8"))
                raw += len(line.encode("utf-8"))
        sizes[name] = os.path.getsize(path)
    assert n == len(base), (n, len(base))
    gz = sum(sizes.values())
    stats = {"documents": n, "text_bytes": text, "jsonl_bytes": raw, "gzip_bytes": gz,
             "shards": len(names), "source_documents": len(base), "source_text_bytes": text,
             "replication": 1.0, "excluded": sorted(left_out), "largest_file": max(sizes.values())}
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f)
    print(json.dumps(stats))


def code_corpus(out, size_mb, shards, *roots):
    """SIZE_MB of source files as The Stack's documents (`metadata.ext`,
    `metadata.max_stars_count`) for the code taggers: every UTF-8 .py, .js, .java and .html
    file of 200 B - 64 KB under ROOTS, sorted, taken one language at a time in turn so the mix
    holds all of them, repeated with new ids (<path>#r<copy>) until the size is reached."""
    exts = {".py": "py", ".js": "js", ".java": "java", ".html": "html"}
    by_lang = {e: [] for e in exts.values()}
    for root in roots:
        for d, dirs, fs in os.walk(root):
            dirs.sort()
            for f in sorted(fs):
                ext = exts.get(os.path.splitext(f)[1])
                p = os.path.join(d, f)
                if ext and 200 <= os.path.getsize(p) <= 65536:
                    try:
                        with open(p, encoding="utf-8", newline="") as h:
                            by_lang[ext].append((os.path.relpath(p, root), h.read()))
                    except (UnicodeDecodeError, OSError):
                        pass
    langs = [l for l in by_lang if by_lang[l]]
    if not langs:
        sys.exit(f"no .py, .js, .java or .html files of 200 B - 64 KB under {roots}")
    order = []
    for i in range(max(len(v) for v in by_lang.values())):
        order += [(l, by_lang[l][i]) for l in langs if i < len(by_lang[l])]
    limit, shards = int(size_mb) * 1_000_000, int(shards)
    os.makedirs(os.path.join(out, "documents"), exist_ok=True)
    outs = [gzip.open(os.path.join(out, "documents", f"code-{k:02d}.jsonl.gz"), "wt",
                      encoding="utf-8", compresslevel=6) for k in range(shards)]
    n = text = copy = 0
    counts = {l: 0 for l in langs}
    while text < limit:
        for lang, (path, body) in order:
            if text >= limit:
                break
            doc = {"id": f"{lang}/{path}#r{copy}", "text": body, "source": "code",
                   "metadata": {"ext": lang, "max_stars_count": n % 97}}
            outs[n % shards].write(json.dumps(doc, ensure_ascii=False) + "\n")
            n += 1
            counts[lang] += 1
            text += len(body.encode("utf-8"))
        copy += 1
    for o in outs:
        o.close()
    stats = {"documents": n, "text_bytes": text, "copies": copy, "per_language": counts,
             "source_files": {l: len(by_lang[l]) for l in langs}}
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f)
    print(json.dumps(stats))


def small_corpus(src, out, n, shards):
    """N short documents (200-800 bytes of real text: windows of the source documents at
    seeded offsets, ids `s<n>`) in SHARDS gzip shards: a mix with many documents and little
    text, for the explain latency."""
    n, shards = int(n), int(shards)
    base, _ = source_documents(src)
    rnd = random.Random(1)
    os.makedirs(os.path.join(out, "documents"), exist_ok=True)
    outs = [gzip.open(os.path.join(out, "documents", f"{i:03d}.jsonl.gz"), "wt",
                      encoding="utf-8", compresslevel=1) for i in range(shards)]
    text = 0
    for i in range(n):
        t = base[rnd.randrange(len(base))]["text"]
        w = rnd.randrange(200, 800)
        start = rnd.randrange(max(1, len(t) - w))
        body = t[start:start + w]
        outs[i % shards].write(json.dumps({"id": f"s{i}", "text": body, "source": "bench"},
                                          ensure_ascii=False) + "\n")
        text += len(body.encode("utf-8"))
    for o in outs:
        o.close()
    stats = {"documents": n, "text_bytes": text, "shards": shards}
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f)
    print(json.dumps(stats))


def pick_ids(docs_dir, n, seed):
    ids = [d["id"] for f in files(docs_dir) for d in read_jsonl(f)]
    for i in random.Random(int(seed)).sample(ids, min(int(n), len(ids))):
        print(i)


def ledger_size(manifest):
    """The ledger's share of the mix: ledger + id index bytes against document bytes."""
    m = json.load(open(manifest))
    by = {}
    for o in m["outputs"]:
        by[o["kind"]] = by.get(o["kind"], 0) + o["bytes"]
    led = by.get("ledger", 0) + by.get("index", 0)
    docs = by.get("documents", 0)
    print(f"info: ledger + id index {led:,} bytes = {100 * led / max(docs, 1):.2f}% of the "
          f"{docs:,} bytes of mix documents ({by.get('ledger', 0):,} ledger, "
          f"{by.get('index', 0):,} index)")


# ---------------------------------------------------------------- measure


def _children():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError):
            pass
    return kids


def _mem_kb(pid):
    """Proportional set size (shared pages split between the processes sharing them), so a
    forked worker pool is not counted once per worker; RSS where PSS is unavailable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(results, stage, tool, rep, cmd, log):
    """Runs CMD; wall time, and peak memory summed over its whole process tree (PSS), polled
    every 0.2 s (the tree rescanned every second). Appends {"stage","tool","rep","wall","peak_mb","rc"} to RESULTS."""
    t0 = time.monotonic()
    with open(log, "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
        peak, tree, scanned = 0, [p.pid], 0.0
        while p.poll() is None:
            now = time.monotonic()
            if now - scanned > 1.0:  # the process tree, once a second (cheap enough)
                kids, tree, todo = _children(), [], [p.pid]
                while todo:
                    x = todo.pop()
                    tree.append(x)
                    todo.extend(kids.get(x, []))
                scanned = now
            peak = max(peak, sum(_mem_kb(x) for x in tree))
            try:  # returns as soon as the command ends, so wall time is not rounded up
                p.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
    wall = time.monotonic() - t0
    rec = {"stage": stage, "tool": tool, "rep": int(rep), "wall": round(wall, 3),
           "peak_mb": round(peak / 1024, 1), "rc": p.returncode,
           "load1": round(os.getloadavg()[0], 2)}
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"  {stage:<22} {tool:<10} rep {rep}: {wall:8.2f} s  {peak / 1024:8.1f} MB"
          f"{'' if p.returncode == 0 else f'  EXIT {p.returncode} (see {log})'}", flush=True)
    if p.returncode != 0:
        sys.exit(p.returncode)


# ---------------------------------------------------------------- checks


def _num_equal(a, b, tol):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_num_equal(x, y, tol) for x, y in zip(a, b))
    return a == b


def check_tag(loam_dir, dolma_dir, max_lines, bugs_dir=None):
    """Every attribute of the first MAX_LINES lines (spread over all shards), loam vs dolma:
    same keys, same spans; scores equal to 1e-4 (fastText scores to 2e-3: both run the same
    .ftz model, dolma through the Python binding). A value that differs is a *documented*
    difference when loam run with `--dolma-bugs` (BUGS_DIR, same experiment) gives dolma's
    value: loam fixes that dolma bug by default (docs/taggers.md)."""
    max_lines = int(max_lines)
    lf, df = files(loam_dir), files(dolma_dir)
    rel = lambda fs, root: {os.path.relpath(f, root): f for f in fs}
    lr, dr = rel(lf, loam_dir), rel(df, dolma_dir)
    if set(lr) != set(dr):
        print(f"DIFF: attribute files differ: loam {sorted(lr)[:3]} dolma {sorted(dr)[:3]}")
        return
    br = rel(files(bugs_dir), bugs_dir) if bugs_dir else {}
    per_file = max(1, max_lines // len(lr))
    keys_total, keys_diff, lines, documented = {}, {}, 0, {}
    examples = []
    # CHECK_TAG_DIFFS=FILE: every undocumented difference, one JSON line each (for sweeps).
    dump = open(os.environ["CHECK_TAG_DIFFS"], "w") if os.environ.get("CHECK_TAG_DIFFS") else None
    for r in sorted(lr):
        bugs = read_jsonl(br[r]) if r in br else iter(())
        for i, (a, b) in enumerate(itertools.zip_longest(read_jsonl(lr[r]), read_jsonl(dr[r]))):
            if i >= per_file:
                break
            if a is None or b is None:
                print(f"DIFF: {r}: {'loam' if a is None else 'dolma'} has fewer lines ({i})")
                return
            c = next(bugs, {"attributes": {}})
            lines += 1
            if a["id"] != b["id"]:
                print(f"DIFF: {r} line {i + 1}: ids {a['id']} vs {b['id']}")
                return
            aa, ba, ca = a["attributes"], b["attributes"], c["attributes"]
            for k in set(aa) | set(ba):
                short = k.split("__", 1)[1] if "__" in k else k
                keys_total[short] = keys_total.get(short, 0) + 1
                tol = 2e-3 if "ft_lang_id" in k else 1e-4
                if not _num_equal(aa.get(k), ba.get(k), tol):
                    if (k in ca or k not in ba) and _num_equal(ca.get(k), ba.get(k), tol):
                        documented[short] = documented.get(short, 0) + 1
                        continue
                    keys_diff[short] = keys_diff.get(short, 0) + 1
                    if dump:
                        dump.write(json.dumps({"file": r, "line": i + 1, "id": a["id"], "key": short,
                                               "loam": aa.get(k), "dolma": ba.get(k)}) + "\n")
                    if len(examples) < 3:
                        examples.append(f"{r}:{i + 1} {short}: loam {aa.get(k)!s:.80} dolma {ba.get(k)!s:.80}")
    values = sum(keys_total.values())
    bad = sum(keys_diff.values())
    msg = (f"{lines} lines, {len(keys_total)} attribute keys, {values} values compared: "
           f"{values - bad - sum(documented.values())} equal")
    if documented:
        msg += (f", {sum(documented.values())} documented (dolma bugs loam fixes; equal with "
                f"--dolma-bugs: {', '.join(sorted(documented))})")
    if bad:
        worst = sorted(keys_diff.items(), key=lambda kv: -kv[1])[:4]
        print(f"DIFF: {msg}, {bad} differ ("
              + ", ".join(f"{k} {v}" for k, v in worst) + ") e.g. " + " | ".join(examples))
    else:
        print(f"ok: {msg}")


def _marked(attr_dir):
    """id -> list of spans, for every line with a non-empty value of any attribute."""
    out = {}
    for f in files(attr_dir):
        for d in read_jsonl(f):
            for k, v in d.get("attributes", {}).items():
                if isinstance(v, list) and v:
                    out.setdefault(d["id"], []).extend(v)
    return out


def _texts(doc_dir):
    return {d["id"]: d["text"] for f in files(doc_dir) for d in read_jsonl(f)}


def check_dedupe(mode, loam_dir, dolma_dir, doc_dir):
    """documents: every distinct text keeps exactly one copy in both (which copy survives
    may differ: dolma's survivor depends on thread timing, its issue 111; loam keeps the
    first in canonical order). paragraphs: the same number of duplicate paragraphs marked in
    each document group (span ends differ by the documented separator fix)."""
    lm, dm = _marked(loam_dir), _marked(dolma_dir)
    texts = _texts(doc_dir)
    if mode == "documents":
        groups = {}
        for i, t in texts.items():
            groups.setdefault(t, []).append(i)
        wrong = 0
        for t, ids in groups.items():
            kl = sum(1 for i in ids if i not in lm)
            kd = sum(1 for i in ids if i not in dm)
            wrong += (kl != 1) + (kd != 1)
        same = len(set(lm) ^ set(dm)) == 0
        s = (f"{len(texts)} docs, {len(groups)} distinct texts; duplicates marked: loam {len(lm)}, "
             f"dolma {len(dm)}; every text keeps one copy: {'yes' if wrong == 0 else f'no ({wrong})'}"
             f"; same ids marked: {'yes' if same else 'no (survivor choice differs)'}")
        print(("ok: " if wrong == 0 and len(lm) == len(dm) else "DIFF: ") + s)
    else:
        # The multiset of marked paragraph *contents* must be equal whichever copy survives.
        from collections import Counter
        cl, cd = Counter(), Counter()
        for m, c in ((lm, cl), (dm, cd)):
            for i, spans in m.items():
                t = texts[i]
                for sp in spans:
                    c[t[int(sp[0]):int(sp[1])].strip()] += 1
        nl, nd = sum(cl.values()), sum(cd.values())
        diff = sum(((cl - cd) + (cd - cl)).values())
        s = (f"duplicate paragraphs marked: loam {nl}, dolma {nd}; same paragraph contents "
             f"marked: {'yes' if diff == 0 else f'no ({diff} differ)'} (span ends differ by "
             f"the documented separator fix; which copy is marked may differ, dolma issue 111)")
        print(("ok: " if diff == 0 else "DIFF: ") + s)


def _kept_ids(doc_dir):
    return {d["id"] for f in files(doc_dir) for d in read_jsonl(f)}


def check_kept(loam_docs, peer_docs, all_docs, label="peer"):
    """Same keep/drop decision per document? (A different algorithm may disagree; the
    figure is reported, not required to be 100%.)"""
    allids = _kept_ids(all_docs)
    kl, kp = _kept_ids(loam_docs), _kept_ids(peer_docs)
    agree = sum(1 for i in allids if (i in kl) == (i in kp))
    print(f"info: kept loam {len(kl)}, {label} {len(kp)} of {len(allids)}; same decision for "
          f"{agree / len(allids):.1%} of documents")


def check_minhash(loam_attr, peer_docs, all_docs):
    allids = _kept_ids(all_docs)
    lm = set(_marked(loam_attr))
    kl = allids - lm
    kp = _kept_ids(peer_docs)
    agree = sum(1 for i in allids if (i in kl) == (i in kp))
    print(f"info: near-duplicates removed: loam {len(lm)}, datatrove {len(allids) - len(kp)} of "
          f"{len(allids)}; same decision for {agree / len(allids):.1%} of documents")


def check_mix(loam_out, dolma_out):
    """Same documents, same order, same bytes once decompressed (shards matched by name;
    dolma names its last shard .json.gz)."""
    lf, df = files(loam_out), files(dolma_out)
    key = lambda p: os.path.basename(p).split(".")[0]
    lk, dk = {key(p): p for p in lf}, {key(p): p for p in df}
    if set(lk) != set(dk):
        print(f"DIFF: shards differ: loam {sorted(lk)} dolma {sorted(dk)}")
        return
    docs, bad = 0, []
    for k in sorted(lk):
        a = gzip.open(lk[k]).read()
        b = gzip.open(dk[k]).read()
        docs += a.count(b"\n")
        if a != b:
            bad.append(k)
    print(("ok: " if not bad else "DIFF: ") + f"{len(lk)} shards, {docs} documents kept; identical "
          f"after decompression: {'yes' if not bad else 'no: ' + ', '.join(bad)}")


def _token_docs(out_dir):
    """{id: tokens} of a dolma-format tokens directory (uint16 arrays, .csv.gz rows)."""
    import array, csv
    docs = {}
    for meta in sorted(glob.glob(os.path.join(out_dir, "*.csv.gz"))):
        arr = array.array("H")
        with open(meta[: -len(".csv.gz")] + ".npy", "rb") as f:
            arr.frombytes(f.read())
        for row in csv.reader(io.TextIOWrapper(gzip.open(meta), encoding="utf-8", newline="")):
            start, end, doc_id = int(row[0]), int(row[1]), row[2]
            docs[doc_id] = arr[start:end]
    return docs


def check_tokens(loam_out, dolma_out):
    """For every document dolma wrote, loam's token slice for the same id is equal (dolma's
    order depends on its processes and an unseeded shuffle: compared by id)."""
    a, b = _token_docs(loam_out), _token_docs(dolma_out)
    missing = [k for k in b if k not in a]
    extra = [k for k in a if k not in b]
    bad = [k for k in b if k in a and a[k] != b[k]]
    tokens = sum(len(v) for v in b.values())
    ok = not (missing or extra or bad)
    print(("ok: " if ok else "DIFF: ") + f"{len(b)} documents, {tokens} tokens; equal token "
          f"slices for every id: {'yes' if ok else f'no: {len(bad)} differ, {len(missing)} missing, {len(extra)} extra'}")


# ---------------------------------------------------------------- table


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


def trace_queries(results, loam, mix, idx_tokens, idx_text, n):
    """N seeded 60-character windows (no newline) of the mix's documents, each queried as a
    separate process (start-up and index opening included): `--count` on the token index and
    on the text index, the default query (maximal spans, 5 documents each, ledger rows) on
    the text index, and `grep -c -F` on the mix's text in one plain file. The first 5 text
    counts are checked against a scan of the texts (overlapping occurrences). Appends one
    result per query (tool loam/grep) and prints one summary line."""
    texts = [d["text"] for f in files(os.path.join(mix, "documents")) for d in read_jsonl(f)]
    plain = os.path.join(os.path.dirname(idx_text.rstrip("/")), "mix-text.txt")
    with open(plain, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    rnd = random.Random(20)
    qs = []
    while len(qs) < int(n):
        t = texts[rnd.randrange(len(texts))]
        if len(t) < 80:
            continue
        a = rnd.randrange(len(t) - 60)
        q = t[a:a + 60]
        if "\n" not in q and "\r" not in q and q.strip():
            qs.append(q)
    lat = {}
    bad = []

    def timed(stage, tool, rep, cmd):
        t0 = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if out.returncode not in (0, 1) or (tool == "loam" and out.returncode != 0):
            sys.exit(f"{cmd}: exit {out.returncode}: {out.stderr}")
        lat.setdefault(stage, []).append(wall)
        with open(results, "a") as f:
            f.write(json.dumps({"stage": stage, "tool": tool, "rep": rep, "wall": round(wall, 4),
                                "peak_mb": 0, "rc": out.returncode}) + "\n")
        return out.stdout

    for i, q in enumerate(qs, 1):
        c_tok = json.loads(timed("trace query: count (tokens)", "loam", i,
                                 [loam, "trace", mix, "--index", idx_tokens, "--text", q, "--count", "--json"]))
        c_txt = json.loads(timed("trace query: count (text)", "loam", i,
                                 [loam, "trace", mix, "--index", idx_text, "--text", q, "--count", "--json"]))
        timed("trace query: spans + 5 docs (text)", "loam", i,
              [loam, "trace", mix, "--index", idx_text, "--text", q, "--json"])
        timed("trace query: grep -c -F (text)", "grep", i, ["grep", "-c", "-F", "--", q, plain])
        if i <= 5:
            want = 0
            for t in texts:
                k = t.find(q)
                while k >= 0:
                    want += 1
                    k = t.find(q, k + 1)
            if c_txt["count"] != want:
                bad.append(f"{q!r}: {c_txt['count']} != {want}")
        if c_txt["count"] < 1:
            bad.append(f"{q!r}: not found in the text index")
        _ = c_tok
    parts = [f"{k.split(': ', 1)[1]} median {statistics.median(v) * 1000:.0f} ms, p99 {_pct(v, 0.99) * 1000:.0f} ms"
             for k, v in lat.items()]
    print(("DIFF: " + "; ".join(bad[:3]) if bad else "ok: counts equal a scan") + "; " + "; ".join(parts))


def table(results, stats_path, agreement, threads):
    stats = json.load(open(stats_path))
    mb = stats["text_bytes"] / 1e6
    docs = stats["documents"]
    runs = [json.loads(l) for l in open(results) if l.strip()]
    agree = {}
    if os.path.exists(agreement):
        for l in open(agreement):
            if l.strip():
                r = json.loads(l)
                agree[r["stage"]] = r["result"]
    stages = []
    for r in runs:
        if r["stage"] not in stages:
            stages.append(r["stage"])
    print("| stage | tool | median wall (s) | MB/s | docs/s | peak memory (MB) | loam/peer time | agreement |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for s in stages:
        by_tool = {}
        for r in runs:
            if r["stage"] == s:
                by_tool.setdefault(r["tool"], []).append(r)
        med = {t: statistics.median(x["wall"] for x in v) for t, v in by_tool.items()}
        loam_t = med.get("loam")
        for t, v in by_tool.items():
            w = med[t]
            peak = max(x["peak_mb"] for x in v)
            ratio = ""
            if t != "loam" and loam_t:
                ratio = f"{loam_t / w:.3f} ({w / loam_t:.1f}× faster)"
            reps = len(v)
            ag = agree.get(s, "") if t != "loam" or len(by_tool) == 1 else ""
            # Throughput is of the main corpus; the explain stages run on their own mix.
            mbs, dps = ("–", "–") if s.startswith(("explain", "trace query")) else (f"{mb / w:.1f}", f"{docs / w:,.0f}")
            print(f"| {s} | {t} | {w:.2f} (n={reps}) | {mbs} | {dps} | {peak:,.0f} | {ratio} | {ag} |")


def python_parse_bound(docs_dir):
    """What dolma's code_starcoder_taggers_v2 spends on Python files in CPython's C code.

    Times, on one core, the Python files (`metadata.ext` py) of the code corpus through
    `ast.parse` alone (CPython's C parser, which dolma calls for docstrings), then through the
    pure-Python `tokenize` dolma calls for comments. A tagger that must accept a file exactly
    when `ast.parse` does cannot beat dolma by more than dolma's time over the parse's time
    unless its own parser is faster than CPython's: the bound the bench reports next to the
    tag-code ratio. Run with the dolma venv's Python (dolma's CPython).
    """
    import ast
    import io
    import time
    import tokenize

    srcs = []
    for f in files(docs_dir):
        for d in read_jsonl(f):
            if (d.get("metadata") or {}).get("ext") == "py":
                srcs.append(d["text"])
    size = sum(len(s.encode()) for s in srcs)

    def timed(fn):
        t = time.process_time()
        for s in srcs:
            try:
                fn(s)
            except Exception:  # noqa: BLE001 - dolma's own try: a failing file still costs
                pass
        return time.process_time() - t

    parse = timed(ast.parse)
    tok = timed(lambda s: sum(1 for _ in tokenize.generate_tokens(io.StringIO(s).readline)))
    print(f"{len(srcs)} Python files, {size} bytes: CPython ast.parse {parse:.2f} s "
          f"({size / parse / 1e6:.1f} MB/s), tokenize {tok:.2f} s, one core")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "corpus":
        corpus(*args)
    elif cmd == "uneven-corpus":
        uneven_corpus(*args)
    elif cmd == "code-corpus":
        code_corpus(*args)
    elif cmd == "python-parse-bound":
        python_parse_bound(*args)
    elif cmd == "small-corpus":
        small_corpus(*args)
    elif cmd == "pick-ids":
        pick_ids(*args)
    elif cmd == "ledger-size":
        ledger_size(*args)
    elif cmd == "measure":
        i = args.index("--")
        results, stage, tool, rep, log = args[:5]
        measure(results, stage, tool, rep, args[i + 1:], log)
    elif cmd == "check-tag":
        check_tag(*args)
    elif cmd == "check-dedupe":
        check_dedupe(*args)
    elif cmd == "check-kept":
        check_kept(*args)
    elif cmd == "check-minhash":
        check_minhash(*args)
    elif cmd == "check-mix":
        check_mix(*args)
    elif cmd == "check-tokens":
        check_tokens(*args)
    elif cmd == "trace-queries":
        trace_queries(*args)
    elif cmd == "table":
        table(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
