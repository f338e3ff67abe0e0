#!/usr/bin/env bash
# Rebuilds recipes/stand-in/quality/dolma3-quality.ftz, the stand-in quality classifier of
# recipes/dolma3/: a fastText model trained by `loam train-classifier` (one thread: the same
# bytes every time) on tests/fixtures/fasttext-sample, labelled `hq` for the main text of
# curated pages (trafilatura's evaluation set) and `lq` for raw Common Crawl text (dolma's
# cc2019 test shard). Dolma 3's published classifier is named in recipes/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
LOAM=${LOAM:-target/release/loam}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - tests/fixtures/fasttext-sample/documents.jsonl.gz "$tmp/train.jsonl" <<'PY'
import gzip, json, sys
with gzip.open(sys.argv[1], "rt") as f, open(sys.argv[2], "w") as out:
    for line in f:
        d = json.loads(line)
        label = "hq" if d["id"].startswith("trafilatura") else "lq"
        out.write(json.dumps({"text": d["text"], "label": label}) + "\n")
PY
"$LOAM" train-classifier -j 1 --overwrite --input "$tmp/train.jsonl" \
  --output recipes/stand-in/quality/dolma3-quality.ftz \
  --quantize --dim 16 --bucket 20000 --epoch 10
sha256sum recipes/stand-in/quality/dolma3-quality.ftz
