#!/usr/bin/env bash
# Benchmark: `loam mix` vs `dolma mix` (dolma 1.2.1) on the same real data and the same dolma
# mixer config at equal threads; prints wall time, peak memory (max RSS), the speed ratio,
# and whether both wrote the same documents.
#
#   bench/mix.sh [THREADS] [COPIES] [SYNTAX]      SYNTAX: jsonpath (default) or jq
#
# Data: every /work/shared/data/web/*.jsonl.gz, replicated COPIES times (default 3, ≈245 MB
# of JSON) with new ids, interleaved into 16 gzip shards; attributes made once by `loam tag`
# (char_length_with_paragraphs_v1, gopher_v2, c4_v2, pii_regex_with_counts_fast_v2 under the
# experiment `bench`, dolma's attribute names and layout). The config is shaped like dolma's
# `tests/config/mixer-validator-*.yaml`: 5 exclude filters on attributes, 3 PII span
# replacements, `discard_fields: [attributes]`, outputs of ~20 MB of input each.
# Needs: a release `loam` (built here if absent), dolma 1.2.1 in $DOLMA_VENV (default
# /work/venv-dolma, else /work/venv-dolma-mix, installed there if missing).
set -euo pipefail
THREADS=${1:-2}
COPIES=${2:-3}
SYNTAX=${3:-jsonpath}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/loam-bench-mix}
DATA=${DATA_DIR:-/work/shared/data/web}
DOLMA_VENV=${DOLMA_VENV:-/work/venv-dolma}
[ -x "$DOLMA_VENV/bin/dolma" ] || DOLMA_VENV=/work/venv-dolma-mix
if [ ! -x "$DOLMA_VENV/bin/dolma" ]; then
  python3 -m venv "$DOLMA_VENV" && "$DOLMA_VENV/bin/pip" install -q dolma==1.2.1
fi
# dolma's CLI imports nltk's punkt at start-up; an empty directory satisfies it offline.
export NLTK_DATA=${NLTK_DATA:-$WORK/nltk}
mkdir -p "$NLTK_DATA/tokenizers/punkt"
LOAM=${LOAM:-$ROOT/target/release/loam}
[ -n "${DOCS_ONLY:-}" ] || [ -x "$LOAM" ] || (cd "$ROOT" && cargo build --release --bin loam)

corpus="$WORK/corpus-$COPIES"
if [ ! -f "$corpus/.docs" ]; then
  rm -rf "$corpus"; mkdir -p "$corpus/documents"
  python3 - "$DATA" "$corpus/documents" "$COPIES" <<'PY'
import glob, gzip, json, sys
src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
docs = []
for f in sorted(glob.glob(f"{src}/*.jsonl.gz")):
    with gzip.open(f, "rt", encoding="utf-8") as fh:
        for line in fh:
            docs.append(json.loads(line))
shards = [gzip.open(f"{out}/{i:03d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=6) for i in range(16)]
n = 0
for c in range(copies):
    for d in docs:
        e = dict(d, id=f"{d['id']}#r{c}")
        shards[n % 16].write(json.dumps(e, ensure_ascii=False) + "\n")
        n += 1
for s in shards:
    s.close()
print(f"{n} documents in 16 shards", file=sys.stderr)
PY
  touch "$corpus/.docs"
fi
[ -z "${DOCS_ONLY:-}" ] || exit 0
if [ ! -f "$corpus/.done" ]; then
  rm -rf "$corpus/attributes"
  cat > "$corpus/tag.yaml" <<YAML
documents: ["$corpus/documents/*.jsonl.gz"]
experiment: bench
taggers: [char_length_with_paragraphs_v1, gopher_v2, c4_v2, pii_regex_with_counts_fast_v2]
processes: $THREADS
YAML
  "$LOAM" --threads "$THREADS" tag -c "$corpus/tag.yaml" > /dev/null
  touch "$corpus/.done"
fi
echo "data: $(du -sh "$corpus/documents" | cut -f1) gzip documents ($(zcat "$corpus"/documents/*.gz | wc -c | awk '{printf "%.0f MB", $1/1e6}') JSON), $(du -sh "$corpus/attributes" | cut -f1) gzip attributes; threads $THREADS; $SYNTAX filters"

a='bench__'
if [ "$SYNTAX" = jq ]; then
  # dolma's tests/config/mixer-validator-jq.yaml style; spans stay JSONPath, as there
  filter=$(cat <<JQ
      syntax: jq
      exclude:
        - "(.attributes.${a}char_length_with_paragraphs_v1__document | if type == \"array\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] < 100 else false end)"
        - "(.attributes.${a}gopher_v2__word_count | if type == \"array\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] < 50 else false end)"
        - "(.attributes.${a}gopher_v2__symbol_to_word_ratio | if type == \"array\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] > 0.1 else false end)"
        - "(.attributes.${a}c4_v2__line_bullets | if type == \"array\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] > 0.5 else false end)"
        - "(.attributes.${a}c4_v2__phrase_repeat | if type == \"array\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] > 0.3 else false end)"
JQ
)
  sel='$.attributes.'
  sx=''
else
  filter=$(cat <<JP
      exclude:
        - "\$.attributes[?(@.${a}char_length_with_paragraphs_v1__document && @.${a}char_length_with_paragraphs_v1__document[0] && @.${a}char_length_with_paragraphs_v1__document[0][2] < 100)]"
        - "\$.attributes[?(@.${a}gopher_v2__word_count && @.${a}gopher_v2__word_count[0] && @.${a}gopher_v2__word_count[0][2] < 50)]"
        - "\$.attributes[?(@.${a}gopher_v2__symbol_to_word_ratio && @.${a}gopher_v2__symbol_to_word_ratio[0] && @.${a}gopher_v2__symbol_to_word_ratio[0][2] > 0.1)]"
        - "\$.attributes[?(@.${a}c4_v2__line_bullets && @.${a}c4_v2__line_bullets[0] && @.${a}c4_v2__line_bullets[0][2] > 0.5)]"
        - "\$.attributes[?(@.${a}c4_v2__phrase_repeat && @.${a}c4_v2__phrase_repeat[0] && @.${a}c4_v2__phrase_repeat[0][2] > 0.3)]"
JP
)
  sel='$.attributes.'
  sx=''
fi

# measure NAME CMD...: wall seconds and max RSS (MB) into $WALL, $RSS
measure() {
  local log="$WORK/$1.time"; shift
  /usr/bin/time -v "$@" > "$WORK/last.out" 2> "$log" || { tail -20 "$log" >&2; exit 1; }
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  RSS=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$log")
}

declare -A best_wall best_rss
for round in 1 2; do
  for tool in dolma loam; do
    dir="$WORK/run-$SYNTAX-$tool"
    rm -rf "$dir"; mkdir -p "$dir"
    cat > "$dir/config.yaml" <<YAML
streams:
  - name: bench
    documents: ["$corpus/documents/*.jsonl.gz"]
    attributes: [bench]
    output:
      path: $dir/out
      max_size_in_bytes: 20000000
      discard_fields: [attributes]
    filter:
$filter
    span_replacement:
      - span: "${sel}${a}pii_regex_with_counts_fast_v2__EMAIL_ADDRESS"
        min_score: 0.5
        replacement: " |||EMAIL_ADDRESS||| "
$sx
      - span: "${sel}${a}pii_regex_with_counts_fast_v2__PHONE_NUMBER"
        min_score: 0.5
        replacement: " |||PHONE_NUMBER||| "
$sx
      - span: "${sel}${a}pii_regex_with_counts_fast_v2__IP_ADDRESS"
        min_score: 0.5
        replacement: " |||IP_ADDRESS||| "
$sx
work_dir: {input: $dir/work-in, output: $dir/work-out}
processes: $THREADS
YAML
    if [ $tool = dolma ]; then
      measure "$SYNTAX-dolma" "$DOLMA_VENV/bin/dolma" -c "$dir/config.yaml" mix
    else
      measure "$SYNTAX-loam" "$LOAM" --threads "$THREADS" mix -c "$dir/config.yaml"
    fi
    if [ -z "${best_wall[$tool]:-}" ] || awk "BEGIN{exit !($WALL < ${best_wall[$tool]})}"; then
      best_wall[$tool]=$WALL; best_rss[$tool]=$RSS
    fi
  done
done

# Same documents, same order, same bytes once decompressed? (dolma names its last shard
# .json.gz, loam all .jsonl.gz)
same=yes
for f in "$WORK/run-$SYNTAX-dolma/out"/bench-*.json*.gz; do
  n=$(basename "$f"); n=${n%%.*}
  cmp -s <(zcat "$f") <(zcat "$WORK/run-$SYNTAX-loam/out/$n.jsonl.gz") || { same=no; echo "differs: $n" >&2; }
done
nd=$(ls "$WORK/run-$SYNTAX-dolma/out"/bench-*.gz | wc -l)
nl=$(ls "$WORK/run-$SYNTAX-loam/out"/bench-*.gz | wc -l)
docs=$(zcat "$WORK/run-$SYNTAX-loam/out"/bench-*.gz | wc -l)
printf "%-6s %9s %9s\n" tool "wall s" "max MB"
printf "%-6s %9.2f %9s\n" dolma "${best_wall[dolma]}" "${best_rss[dolma]}"
printf "%-6s %9.2f %9s\n" loam "${best_wall[loam]}" "${best_rss[loam]}"
echo "outputs: dolma $nd shards, loam $nl shards, $docs documents kept; identical after decompression: $same"
awk "BEGIN{printf \"speed-up (dolma wall / loam wall, best of 2): %.2fx\n\", ${best_wall[dolma]}/${best_wall[loam]}}"
