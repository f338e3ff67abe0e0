#!/usr/bin/env bash
# Benchmark: `loam dedupe` vs `dolma dedupe` (dolma 1.2.1) on the same real data at equal
# threads; prints wall and CPU time, peak memory (max RSS) and the speed ratios per mode.
# On a shared machine the CPU-time ratio is the steadier figure.
#
#   bench/dedup.sh [THREADS] [COPIES]
#
# Data: every /work/shared/data/web/*.jsonl.gz, replicated COPIES times (default 4, ≈330 MB
# of JSON, ≈110 MB gzip) with new ids, interleaved into 8 gzip shards. Copies 2..COPIES are
# exact duplicates, so both tools find work. Needs: a release `loam` (built here if absent),
# dolma 1.2.1 in $DOLMA_VENV (default /work/venv-dolma, else /work/venv-dolma-dedup).
set -euo pipefail
THREADS=${1:-2}
COPIES=${2:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/loam-bench-dedup}
DATA=${DATA_DIR:-/work/shared/data/web}
DOLMA_VENV=${DOLMA_VENV:-/work/venv-dolma}
[ -x "$DOLMA_VENV/bin/dolma" ] || DOLMA_VENV=/work/venv-dolma-dedup
if [ ! -x "$DOLMA_VENV/bin/dolma" ]; then
  python3 -m venv "$DOLMA_VENV" && "$DOLMA_VENV/bin/pip" install -q dolma==1.2.1
fi
LOAM=${LOAM:-$ROOT/target/release/loam}
[ -x "$LOAM" ] || (cd "$ROOT" && cargo build --release --bin loam)

corpus="$WORK/corpus-$COPIES"
if [ ! -f "$corpus/.done" ]; then
  rm -rf "$corpus"; mkdir -p "$corpus/documents"
  python3 - "$DATA" "$corpus/documents" "$COPIES" <<'PY'
import glob, gzip, json, sys
src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
docs = []
for f in sorted(glob.glob(f"{src}/*.jsonl.gz")):
    with gzip.open(f, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append({"id": str(d["id"]), "text": d["text"], "source": f.split("/")[-1]})
shards = [gzip.open(f"{out}/{i:03d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=6) for i in range(8)]
n = 0
for c in range(copies):
    for i, d in enumerate(docs):
        e = dict(d, id=f"{d['id']}#r{c}")
        shards[n % 8].write(json.dumps(e, ensure_ascii=False) + "\n")
        n += 1
for s in shards:
    s.close()
print(f"{n} documents in 8 shards", file=sys.stderr)
PY
  touch "$corpus/.done"
fi
echo "data: $(du -sh "$corpus/documents" | cut -f1) gzip, $(zcat "$corpus"/documents/*.gz | wc -c | awk '{printf "%.0f MB", $1/1e6}') JSON, threads $THREADS"

# measure NAME CMD...: wall seconds and max RSS (MB) into $WALL, $RSS
measure() {
  local log="$WORK/$1.time"; shift
  /usr/bin/time -v "$@" > "$WORK/last.out" 2> "$log" || { cat "$log" >&2; exit 1; }
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  RSS=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$log")
  CPU=$(awk -F': ' '/User time|System time/{s+=$2} END{printf "%.2f", s}' "$log")
}

run_mode() { # MODE DEDUPE_JSON
  local mode=$1 dedupe=$2
  for tool in dolma loam; do
    local dir="$WORK/run-$mode-$tool"
    rm -rf "$dir"; mkdir -p "$dir"
    ln -s "$corpus/documents" "$dir/documents"
    cat > "$dir/config.json" <<JSON
{"documents": ["$dir/documents/*.jsonl.gz"],
 "dedupe": $dedupe,
 "bloom_filter": {"file": "$dir/filter.bin", "read_only": false, "size_in_bytes": 0,
                  "estimated_doc_count": 20000000, "desired_false_positive_rate": 1e-6},
 "processes": $THREADS}
JSON
    if [ $tool = dolma ]; then
      measure "$mode-dolma" "$DOLMA_VENV/bin/dolma" -c "$dir/config.json" dedupe
      DW=$WALL; DR=$RSS; DC=$CPU
    else
      measure "$mode-loam" "$LOAM" --threads "$THREADS" dedupe -c "$dir/config.json"
      LW=$WALL; LR=$RSS; LC=$CPU
    fi
  done
  # same duplicate marks? (loam's documented fixes aside: compare counts of marked lines)
  local dm lm
  dm=$(zcat "$WORK/run-$mode-dolma"/attributes/*/*.gz | grep -c '\[\[' || true)
  lm=$(zcat "$WORK/run-$mode-loam"/attributes/*/*.gz | grep -c '\[\[' || true)
  printf "%-10s dolma %6.2f s (cpu %6.2f s) %4s MB | loam %6.2f s (cpu %6.2f s) %4s MB | speedup %4.2fx wall, %4.2fx cpu | marked lines dolma %s loam %s\n" \
    "$mode" "$DW" "$DC" "$DR" "$LW" "$LC" "$LR" "$(echo "$DW / $LW" | bc -l)" "$(echo "$DC / $LC" | bc -l)" "$dm" "$lm"
}

run_mode documents '{"name": "dups", "documents": {"attribute_name": "dup", "key": "$.text"}}'
run_mode paragraphs '{"name": "dups", "paragraphs": {"attribute_name": "dup"}}'
run_mode ngrams '{"name": "dups", "paragraphs": {"attribute_name": "dup", "by_ngram": {"ngram_length": 13, "stride": 5, "overlap_threshold": 0.5}}}'
