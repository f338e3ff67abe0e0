#!/usr/bin/env bash
# Regenerates datamap-rs's outputs for loam's `datamap_v1` tagger (filters/src/datamap.rs):
# runs datamap-rs's `map` with each tests/fixtures/datamap/configs/<name>.datamap.yaml on the
# documents of tests/fixtures/datamap/documents/ and stores, per input file,
# tests/fixtures/datamap/expected/<name>/<file>.jsonl.gz: one line per input line,
# {"line", "id", "step"} where `step` is the index of the step that dropped the document or
# "final", plus the cleaned `text` of every kept document (and `anno`, the values annotators
# wrote under `loam_anno`).
#
#   DATAMAP=/path/to/datamap-rs scripts/make-datamap-goldens.sh [NAME...]   (default: every config)
#
# DATAMAP is datamap-rs's binary (default /tmp/datamap-rs/target/release/datamap-rs), built from
# github.com/allenai/datamap-rs at commit f771794 ("Fixed") with `cargo build --release`. Its
# Cargo.toml asks for `tiktoken = "1.0.1"`, a version yanked from crates.io and used by no
# code: delete that line before building.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATAMAP="${DATAMAP:-/tmp/datamap-rs/target/release/datamap-rs}"
FIX="$REPO/tests/fixtures/datamap"
[ -x "$DATAMAP" ] || { echo "no datamap-rs binary at $DATAMAP (set DATAMAP)" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Number the lines (datamap-rs sorts documents into one directory per dropping step).
number_lines() {
rm -rf "$WORK/in" && mkdir -p "$WORK/in"
python3 - "$1" "$WORK/in" <<'PY'
import gzip, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
for f in sorted(os.listdir(src)):
    with gzip.open(os.path.join(src, f), "rt", encoding="utf-8") as r, \
         open(os.path.join(dst, f[:-3]), "w", encoding="utf-8") as w:
        for i, line in enumerate(r):
            d = json.loads(line)
            d["loam_line"] = i
            # datamap-rs's MADLAD annotator requires a document language.
            d.setdefault("metadata", {}).setdefault("lang", {"en": 1.0})
            w.write(json.dumps(d, ensure_ascii=False) + "\n")
PY
}
for cfg in "$FIX"/configs/*.datamap.yaml; do
  name="$(basename "$cfg" .datamap.yaml)"
  # With arguments, only the configs they name.
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  # A config runs on documents-<name>/ when there is one, else on documents/; list files
  # named in it are relative to tests/fixtures/datamap/ (datamap-rs runs there).
  docs="$FIX/documents"
  [ -d "$FIX/documents-$name" ] && docs="$FIX/documents-$name"
  number_lines "$docs"
  rm -rf "$WORK/out"
  # Configs name the GPT-NeoX test tokenizer as $LOAM_GOLDEN_WORK/gpt-neo.json.
  gzip -dc "$REPO/tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz" > "$WORK/gpt-neo.json"
  sed -e "s|\$LOAM_MODELS_DIR|${LOAM_MODELS_DIR:-$REPO/models}|g" -e "s|\$LOAM_GOLDEN_WORK|$WORK|g" "$cfg" > "$WORK/config.yaml"
  (cd "$FIX" && "$DATAMAP" map --input-dir "$WORK/in" --output-dir "$WORK/out" --config "$WORK/config.yaml" > "$WORK/log" 2>&1) || { cat "$WORK/log" >&2; exit 1; }
  mkdir -p "$FIX/expected/$name"
  python3 - "$WORK/in" "$WORK/out" "$FIX/expected/$name" <<'PY'
import gzip, json, os, sys
inp, out, dst = sys.argv[1:4]
for f in sorted(os.listdir(inp)):
    n = sum(1 for _ in open(os.path.join(inp, f), encoding="utf-8"))
    rows = [None] * n
    for step in sorted(os.listdir(out)):
        p = os.path.join(out, step, f)
        if not os.path.exists(p):
            continue
        opener = gzip.open if p.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as r:
            for line in r:
                d = json.loads(line)
                i = d["loam_line"]
                assert rows[i] is None, (f, i)
                if step == "step_final":
                    rows[i] = {"line": i, "id": d["id"], "step": "final", "text": d["text"]}
                    # Annotators' values, where a config writes them under `loam_anno`.
                    if "loam_anno" in d:
                        rows[i]["anno"] = d["loam_anno"]
                else:
                    rows[i] = {"line": i, "id": d["id"], "step": int(step.split("_")[1])}
    # A line no step output is one datamap-rs failed on (its error list, which `map`
    # writes nowhere unless asked): "error".
    for i, r in enumerate(rows):
        if r is None:
            rows[i] = {"line": i, "step": "error"}
    with gzip.GzipFile(os.path.join(dst, f + ".gz"), "wb", mtime=0) as w:
        for r in rows:
            w.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    kept = sum(1 for r in rows if r["step"] == "final")
    print(f"{os.path.basename(dst)}/{f}: {kept} of {n} kept")
PY
done
