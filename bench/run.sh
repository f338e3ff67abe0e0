#!/usr/bin/env bash
# loam against dolma 1.2.1 and datatrove 0.10.1, side by side, on the same real data, in one
# command. See BENCHMARKS.md for what each stage runs and the last results.
#
#   bench/run.sh [--size-mb N] [--repeats R] [--threads T] [--stages LIST] [--smoke]
#
#   --size-mb N   MB (10^6 bytes) of document text in the corpus (default 300)
#   --repeats R   timed runs per tool and stage; the table shows the median (default 3)
#   --threads T   loam threads = dolma processes = datatrove workers (default: nproc)
#   --stages LIST comma-separated subset of: tag,tag-langid,tag-new,tag-secrets,tag-code,filter,datamap,lines,urls,dedupe-docs,dedupe-paras,
#                 minhash,substring,dedup-tasks,mix,mix-uneven,tokens,run,scaling,explain,trace (default: all)
#   --explain-docs N  documents in the mix that `explain` is timed on (default 1000000)
#   --smoke       ~2 MB, 1 repeat, loam only, no installs; results in $BENCH_DIR only (CI)
#
# Environment: BENCH_DIR (work folder, default /tmp/loam-bench, or /tmp/loam-bench-smoke),
# BENCH_VENVS (where peer virtualenvs are created, default ~/.cache/loam-bench), DOLMA_VENV,
# DATATROVE_VENV (use these virtualenvs instead), LOAM_BIN (use this loam binary, no build),
# BENCH_NO_WRITE=1 (leave BENCHMARKS.md alone), BENCH_APPEND=1 (add this run's section after
# the ones in BENCHMARKS.md instead of replacing them), DATA_DIR (source documents, default
# ../shared/data/web next to the repository, then /work/shared/data/web).
#
# The corpus is the source documents *replicated* with new ids up to the size (copies after
# the first are exact duplicates, which the dedup stages find). Each stage runs loam and the
# peer on the same files at equal threads/processes, alternating which goes first; outputs are
# checked for agreement after the first repeat, and the table says what was found. Peak
# memory is the proportional set size (PSS) summed over the process tree, polled every 0.2 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=300 REPEATS=3 THREADS=$(nproc) SMOKE=0 STAGES=all EXPLAIN_DOCS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --stages) STAGES=$2; shift 2 ;;
    --explain-docs) EXPLAIN_DOCS=$2; shift 2 ;;
    --smoke) SMOKE=1; SIZE_MB=2; REPEATS=1; EXPLAIN_DOCS=20000; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
want() { [ "$STAGES" = all ] || [[ ",$STAGES," == *",$1,"* ]]; }
[ "$STAGES" = all ] || for s in ${STAGES//,/ }; do
  case $s in tag|tag-langid|tag-new|tag-secrets|tag-code|filter|datamap|lines|urls|dedupe-docs|dedupe-paras|minhash|substring|dedup-tasks|mix|mix-uneven|tokens|run|scaling|explain|trace) ;;
    *) echo "unknown stage $s (see --help)" >&2; exit 2 ;; esac
done

if [ $SMOKE = 1 ]; then W=${BENCH_DIR:-/tmp/loam-bench-smoke}; else W=${BENCH_DIR:-/tmp/loam-bench}; fi
DATA=${DATA_DIR:-}
[ -n "$DATA" ] || for d in "$ROOT/../shared/data/web" /work/shared/data/web; do
  [ -d "$d" ] && DATA=$(cd "$d" && pwd) && break
done
[ -n "$DATA" ] && ls "$DATA"/*.jsonl.gz > /dev/null || { echo "no source documents (set DATA_DIR)" >&2; exit 2; }
LIB="python3 $ROOT/bench/lib.py"
export LOAM_MODELS_DIR=$ROOT/models
mkdir -p "$W"
RESULTS=$W/results.jsonl AGREE=$W/agreement.jsonl CMDS=$W/commands.txt
rm -f "$RESULTS" "$AGREE" "$CMDS"
log() { printf '\n== %s\n' "$*"; }

# ------------------------------------------------------------------ peers
VENVS=${BENCH_VENVS:-$HOME/.cache/loam-bench}
usable_dolma() { [ -x "$1/bin/dolma" ] && [ "$("$1/bin/python" -c 'import importlib.metadata as m; print(m.version("dolma"))' 2>/dev/null)" = 1.2.1 ]; }
usable_datatrove() { [ -x "$1/bin/python" ] && [ "$("$1/bin/python" -c 'import importlib.metadata as m; print(m.version("datatrove"))' 2>/dev/null)" = 0.10.1 ] && "$1/bin/python" -c 'import spacy' 2>/dev/null; }
DOLMA= DATATROVE=
for v in ${DOLMA_VENV:-} /work/venv-dolma "$VENVS/venv-dolma"; do usable_dolma "$v" && { DOLMA=$v; break; }; done
for v in ${DATATROVE_VENV:-} /work/venv-datatrove "$VENVS/venv-datatrove"; do usable_datatrove "$v" && { DATATROVE=$v; break; }; done
if [ $SMOKE = 0 ]; then
  # Only the peers the chosen stages compare with.
  want tag || want tag-langid || want tag-new || want tag-secrets || want tag-code || want dedupe-docs || want dedupe-paras || want mix || want mix-uneven || want tokens || DOLMA=-
  want filter || want datamap || want lines || want urls || want minhash || DATATROVE=-
  if [ -z "$DOLMA" ]; then
    log "installing dolma==1.2.1 in $VENVS/venv-dolma (slow: pip backtracks, but succeeds)"
    python3 -m venv "$VENVS/venv-dolma" && "$VENVS/venv-dolma/bin/pip" install -q dolma==1.2.1
    DOLMA=$VENVS/venv-dolma
  fi
  if [ -z "$DATATROVE" ]; then
    log "installing datatrove[io,processing,cli]==0.10.1 and spacy in $VENVS/venv-datatrove"
    python3 -m venv "$VENVS/venv-datatrove" && "$VENVS/venv-datatrove/bin/pip" install -q 'datatrove[io,processing,cli]==0.10.1' spacy
    DATATROVE=$VENVS/venv-datatrove
  fi
  [ "$DOLMA" = - ] && DOLMA=
  [ "$DATATROVE" = - ] && DATATROVE=
else
  DOLMA= DATATROVE=  # the smoke run is loam only: fast, and no network
fi
# dolma imports nltk's punkt at start and fails offline without it: an empty folder does.
export NLTK_DATA=$W/nltk HF_HUB_OFFLINE=1
mkdir -p "$NLTK_DATA/tokenizers/punkt" "$W/pymod"
# dolma's fastText taggers download lid.176.bin; point them at our lid.176.ftz instead (as
# scripts/make-langid-goldens.sh does), so both tools run the same model.
cat > "$W/pymod/loam_local_lid.py" <<'PY'
import os
from dolma.taggers.language import FastTextAllLanguagesDocumentTagger
FastTextAllLanguagesDocumentTagger.MODEL_PATH = os.environ["LOAM_LID_MODEL"]
PY
export LOAM_LID_MODEL=$ROOT/models/lid.176.ftz PYTHONPATH=$W/pymod

# ------------------------------------------------------------------ loam
BUILT="git $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' || echo '+local changes')"
if [ -n "${LOAM_BIN:-}" ]; then
  log "using the loam binary $LOAM_BIN (LOAM_BIN; not rebuilt)"; cp "$LOAM_BIN" "$W/loam"
  BUILT="binary from LOAM_BIN; work tree at $BUILT"
else
  log "building loam (release)"
  (cd "$ROOT" && cargo build --release --locked --bin loam 2>&1 | tail -1)
  cp "$ROOT/target/release/loam" "$W/loam"
fi
# A private copy: a rebuild in the work tree during the benchmark does not change what runs.
LOAM=$W/loam
[ -f "$LOAM_LID_MODEL" ] || "$ROOT/scripts/fetch-models.sh" "$ROOT/models" > /dev/null

# ------------------------------------------------------------------ corpus
SHARDS=16; [ $SMOKE = 1 ] && SHARDS=4
C=$W/corpus-v3-$SIZE_MB-$SHARDS
if [ ! -f "$C/stats.json" ]; then
  log "preparing the corpus: $SIZE_MB MB of text from $DATA"
  rm -rf "$C"; $LIB corpus "$DATA" "$C" "$SIZE_MB" "$SHARDS" > /dev/null
fi
STATS=$(cat "$C/stats.json")
stat() { python3 -c "import json,sys; print(json.load(open('$C/stats.json'))['$1'])"; }
log "corpus: $(stat documents) documents, $(stat text_bytes) bytes of text ($(stat jsonl_bytes) of JSON lines, $(stat gzip_bytes) gzip) in $SHARDS shards"
if python3 -c "import sys; sys.exit(not $(stat replication) > 1)"; then
  echo "   REPLICATED: $(stat source_documents) real documents ($(stat source_text_bytes) bytes of text) from $DATA,"
  echo "   copied $(stat replication)x with new ids (<id>#r<copy>); later copies are exact duplicates."
  CORPUS_NOTE="**replicated** — $(stat source_documents) real web documents copied $(stat replication)× with new ids, so copies after the first are exact duplicates"
else
  echo "   NOT replicated at this size: a fixed-seed sample ($(stat replication) of the text) of the"
  echo "   $(stat source_documents) real documents in $DATA, ids suffixed #r0."
  CORPUS_NOTE="real web documents, not replicated at this size: a fixed-seed sample ($(stat replication) of the text) of the $(stat source_documents) documents in the source folder"
fi
EXCLUDED=$(python3 -c "import json; print(', '.join(json.load(open('$C/stats.json'))['excluded']))")
if [ -n "$EXCLUDED" ]; then
  echo "   left out of the source (bench/exclude.txt says why): $EXCLUDED"
  CORPUS_NOTE="$CORPUS_NOTE; left out: $EXCLUDED (dolma's PII tagger runs for over 10 minutes on it, see bench/exclude.txt)"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# run STAGE TOOL REP DIR CMD...: fresh DIR (documents linked in), then a timed CMD
run() {
  local stage=$1 tool=$2 rep=$3 dir=$4; shift 4
  rm -rf "$dir"; mkdir -p "$dir"; ln -s "$C/documents" "$dir/documents"
  [ "$rep" = 1 ] && printf '%-22s %-10s %s\n' "$stage" "$tool" "$*" >> "$CMDS"
  (cd "$dir" && $LIB measure "$RESULTS" "$stage" "$tool" "$rep" "$dir/run.log" -- "$@")
}
agree() { # STAGE RESULT-LINE
  echo "  agreement ($1): $2"
  python3 -c 'import json,sys; print(json.dumps({"stage": sys.argv[1], "result": sys.argv[2]}))' "$1" "$2" >> "$AGREE"
}
# both STAGE PEER LOAM_FN PEER_FN CHECK_FN: R alternating repeats of loam and the peer
both() {
  local stage=$1 peer=$2 lf=$3 pf=$4 cf=$5
  log "$stage: loam vs ${peer:-nothing (peer not installed)}"
  for rep in $(seq "$REPEATS"); do
    if [ -z "$peer" ]; then $lf "$rep"
    elif [ $((rep % 2)) = 1 ]; then $lf "$rep"; $pf "$rep"
    else $pf "$rep"; $lf "$rep"; fi
    if [ "$rep" = 1 ] && [ -n "$peer" ]; then agree "$stage" "$($cf)"; fi
  done
}
R=$W/runs
T=$THREADS
LID=ft_lang_id_en_paragraph_with_doc_score_v2
RULE_TAGGERS="gopher_v1, c4_v1, pii_regex_v2, char_length_v1, whitespace_tokenizer_v1"
TAGGERS=$RULE_TAGGERS
if "$LOAM" taggers | grep -q "^$LID "; then TAGGERS="$TAGGERS, $LID"
else LID=; echo "note: this loam has no fastText language tagger yet; it is left out of every stage" >&2; fi

# ------------------------------------------------------------------ tag
# Two stages: the five rule taggers (experiment `bench`), and the fastText language tagger
# alone (experiment `benchlid`), so the rule taggers' ratio is not hidden behind fastText.
tag_cfg() { # DIR EXPERIMENT TAGGERS [extra line]
  printf 'documents: ["%s/documents/*.jsonl.gz"]\nexperiment: %s\ntaggers: [%s]\nprocesses: %s\n%s\n' \
    "$1" "$2" "$3" "$T" "${4:-}"
}
tag_loam() { local d=$R/tag-loam
  tag_cfg "$d" bench "$RULE_TAGGERS" > "$W/tag.yaml"
  run tag loam "$1" "$d" "$LOAM" --threads "$T" tag -c "$W/tag.yaml"; }
tag_dolma() { local d=$R/tag-dolma
  tag_cfg "$d" bench "$RULE_TAGGERS" > "$W/tag-dolma.yaml"
  run tag dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tag-dolma.yaml" tag; }
lid_loam() { local d=$R/tag-langid-loam
  tag_cfg "$d" benchlid "$LID" > "$W/tag-langid.yaml"
  run tag-langid loam "$1" "$d" "$LOAM" --threads "$T" tag -c "$W/tag-langid.yaml"; }
lid_dolma() { local d=$R/tag-langid-dolma
  tag_cfg "$d" benchlid "$LID" "tagger_modules: [loam_local_lid]" > "$W/tag-langid-dolma.yaml"
  run tag-langid dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tag-langid-dolma.yaml" tag; }
lid_check() { $LIB check-tag "$R/tag-langid-loam/attributes/benchlid" "$R/tag-langid-dolma/attributes/benchlid" 4000; }
tag_check() { # loam --dolma-bugs on pii_regex_v2 (untimed) tells documented differences apart
  local d=$R/tag-bugs; rm -rf "$d"; mkdir -p "$d"; ln -s "$C/documents" "$d/documents"
  printf 'documents: ["%s/documents/*.jsonl.gz"]\nexperiment: bench\ntaggers: [pii_regex_v2]\nprocesses: %s\n' "$d" "$T" > "$d/tag.yaml"
  "$LOAM" --threads "$T" tag --dolma-bugs -c "$d/tag.yaml" > /dev/null
  $LIB check-tag "$R/tag-loam/attributes/bench" "$R/tag-dolma/attributes/bench" 4000 "$d/attributes/bench"; }
# The mix stage's attributes without timing or comparing a tag stage it was not asked for
# (dolma's tag stages take minutes): loam's, as when the tag stages run.
mix_attrs() { # DIR EXPERIMENT TAGGERS
  rm -rf "$1"; mkdir -p "$1"; ln -s "$C/documents" "$1/documents"
  tag_cfg "$1" "$2" "$3" > "$1/tag.yaml"
  (cd "$1" && "$LOAM" --threads "$T" tag -c "$1/tag.yaml" > /dev/null)
}
# The newer rule taggers (issue 15: dolma's length, uniseg, OLMo pre-tokenizer and
# alphanumeric-paragraph taggers), experiment `benchnew`, on their own so their ratio is
# theirs.
NEW_TAGGERS="bytes_length_v1, char_length_strip_ws_v1, uniseg_length_paragraphs_with_doc_length_v1, olmo_pretokenizer_with_paragraphs_v1, not_alphanum_paragraph_v1"
new_loam() { local d=$R/tag-new-loam
  tag_cfg "$d" benchnew "$NEW_TAGGERS" > "$W/tag-new.yaml"
  run tag-new loam "$1" "$d" "$LOAM" --threads "$T" tag -c "$W/tag-new.yaml"; }
new_dolma() { local d=$R/tag-new-dolma
  tag_cfg "$d" benchnew "$NEW_TAGGERS" > "$W/tag-new-dolma.yaml"
  run tag-new dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tag-new-dolma.yaml" tag; }
new_check() { $LIB check-tag "$R/tag-new-loam/attributes/benchnew" "$R/tag-new-dolma/attributes/benchnew" 4000; }
if want tag-new; then both tag-new "${DOLMA:+dolma}" new_loam new_dolma new_check; fi
# code_secrets_v1 (issue 15: detect-secrets 1.4.0's 22 detectors as dolma runs them),
# experiment `benchsec`, alone; dolma needs its `code` extra (detect-secrets) in its venv.
sec_loam() { local d=$R/tag-secrets-loam
  tag_cfg "$d" benchsec code_secrets_v1 > "$W/tag-secrets.yaml"
  run tag-secrets loam "$1" "$d" "$LOAM" --threads "$T" tag -c "$W/tag-secrets.yaml"; }
sec_dolma() { local d=$R/tag-secrets-dolma
  tag_cfg "$d" benchsec code_secrets_v1 > "$W/tag-secrets-dolma.yaml"
  run tag-secrets dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tag-secrets-dolma.yaml" tag; }
sec_check() { $LIB check-tag "$R/tag-secrets-loam/attributes/benchsec" "$R/tag-secrets-dolma/attributes/benchsec" 4000; }
if want tag-secrets; then both tag-secrets "${DOLMA:+dolma}" sec_loam sec_dolma sec_check; fi
# code_starcoder_taggers_v2 (issue 15) needs source files with their extension, not web
# text: a corpus of the dolma venv's Python, npm's JavaScript and the machine's HTML
# documentation (and Java where $BENCH_JAVA_SRC points at some), half of --size-mb (dolma
# runs at about 2.4 MB/s; loam's run then lasts long enough that the ~0.05 s the
# measurement costs each run does not set the ratio), experiment `benchcode`.
RESULTS_C=$W/results-code.jsonl CC=$W/corpus-code-v1-$(( (SIZE_MB + 1) / 2 ))
rm -f "$RESULTS_C"
if want tag-code; then
  if [ ! -f "$CC/stats.json" ]; then
    PY=${DOLMA:+$DOLMA/bin/python}
    SITE=$("${PY:-python3}" -c 'import site; print(site.getsitepackages()[0])')
    rm -rf "$CC"; $LIB code-corpus "$CC" $(( (SIZE_MB + 1) / 2 )) 4 "$SITE" /usr/lib/node_modules /usr/share/doc ${BENCH_JAVA_SRC:-} > /dev/null
  fi
  log "tag-code: $(python3 -c "import json; s=json.load(open('$CC/stats.json')); print(s['documents'], 'documents,', s['text_bytes'], 'bytes of source,', s['per_language'])")"
  code_loam() { local d=$R/tag-code-loam
    tag_cfg "$d" benchcode code_starcoder_taggers_v2 > "$W/tag-code.yaml"
    C=$CC RESULTS=$RESULTS_C run tag-code loam "$1" "$d" "$LOAM" --threads "$T" tag -c "$W/tag-code.yaml"; }
  code_dolma() { local d=$R/tag-code-dolma
    tag_cfg "$d" benchcode code_starcoder_taggers_v2 > "$W/tag-code-dolma.yaml"
    C=$CC RESULTS=$RESULTS_C run tag-code dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tag-code-dolma.yaml" tag; }
  code_check() { $LIB check-tag "$R/tag-code-loam/attributes/benchcode" "$R/tag-code-dolma/attributes/benchcode" 4000; }
  both tag-code "${DOLMA:+dolma}" code_loam code_dolma code_check
  # Untimed: how long CPython's C parser alone takes on the corpus's Python files (the part
  # of dolma's time loam has to match with a parser of its own; BENCHMARKS.md).
  if [ -n "${DOLMA:-}" ]; then
    log "tag-code, CPython's share: $("$DOLMA/bin/python" "$ROOT/bench/lib.py" python-parse-bound "$CC/documents")"
  fi
fi
if want tag; then both tag "${DOLMA:+dolma}" tag_loam tag_dolma tag_check
elif want mix; then log "mix: tagging with loam for the mix (untimed; --stages tag,mix also compares it with dolma)"
  mix_attrs "$R/tag-loam" bench "$RULE_TAGGERS"; fi
if [ -n "$LID" ] && want tag-langid; then both tag-langid "${DOLMA:+dolma}" lid_loam lid_dolma lid_check
elif [ -n "$LID" ] && want mix; then mix_attrs "$R/tag-langid-loam" benchlid "$LID"; fi
if want mix; then
  # The mix stage reads these attributes (loam's; compared with dolma's when the tag stages
  # run).
  rm -rf "$W/mixdata"; mkdir -p "$W/mixdata/attributes"
  ln -s "$C/documents" "$W/mixdata/documents"
  mv "$R/tag-loam/attributes/bench" "$W/mixdata/attributes/bench"
  [ -n "$LID" ] && mv "$R/tag-langid-loam/attributes/benchlid" "$W/mixdata/attributes/benchlid"
fi

# ------------------------------------------------------------------ filter (vs datatrove)
# datatrove: GopherRepetitionFilter + GopherQualityFilter + C4QualityFilter (defaults).
# loam: `loam run` tagging gopher_v1 + c4_v1 and dropping on the same thresholds as far as
# dolma's signals express them (median for datatrove's mean word length; datatrove's C4 also
# edits lines, which a document filter does not): different algorithms, so the agreement is
# reported as a share of equal keep/drop decisions.
filter_rules() {
  local a=bench__gopher_v1__ c=bench__c4_v1__
  cat <<YAML
    - {rule: dup_line_frac, attribute: ${a}fraction_of_duplicate_lines, op: gt, value: 0.3}
    - {rule: dup_line_char_frac, attribute: ${a}fraction_of_characters_in_duplicate_lines, op: gt, value: 0.2}
    - {rule: top_2gram, attribute: ${a}fraction_of_characters_in_most_common_2grams, op: gt, value: 0.2}
    - {rule: top_3gram, attribute: ${a}fraction_of_characters_in_most_common_3grams, op: gt, value: 0.18}
    - {rule: top_4gram, attribute: ${a}fraction_of_characters_in_most_common_4grams, op: gt, value: 0.16}
    - {rule: dup_5gram, attribute: ${a}fraction_of_characters_in_duplicate_5grams, op: gt, value: 0.15}
    - {rule: dup_6gram, attribute: ${a}fraction_of_characters_in_duplicate_6grams, op: gt, value: 0.14}
    - {rule: dup_7gram, attribute: ${a}fraction_of_characters_in_duplicate_7grams, op: gt, value: 0.13}
    - {rule: dup_8gram, attribute: ${a}fraction_of_characters_in_duplicate_8grams, op: gt, value: 0.12}
    - {rule: dup_9gram, attribute: ${a}fraction_of_characters_in_duplicate_9grams, op: gt, value: 0.11}
    - {rule: dup_10gram, attribute: ${a}fraction_of_characters_in_duplicate_10grams, op: gt, value: 0.10}
    - {rule: few_words, attribute: ${a}word_count, op: lt, value: 50}
    - {rule: many_words, attribute: ${a}word_count, op: gt, value: 100000}
    - {rule: short_words, attribute: ${a}median_word_length, op: lt, value: 3}
    - {rule: long_words, attribute: ${a}median_word_length, op: gt, value: 10}
    - {rule: symbols, attribute: ${a}symbol_to_word_ratio, op: gt, value: 0.1}
    - {rule: bullets, attribute: ${a}fraction_of_lines_starting_with_bullet_point, op: gt, value: 0.9}
    - {rule: ellipsis, attribute: ${a}fraction_of_lines_ending_with_ellipsis, op: gt, value: 0.3}
    - {rule: alpha, attribute: ${a}fraction_of_words_with_alpha_character, op: lt, value: 0.8}
    - {rule: stop_words, attribute: ${a}required_word_count, op: lt, value: 2}
    - {rule: lorem_ipsum, attribute: ${c}has_lorem_ipsum, op: exists}
    - {rule: curly_brace, attribute: ${c}has_curly_brace, op: exists}
YAML
}
filter_loam() { local d=$R/filter-loam
  cat > "$W/filter.yaml" <<YAML
name: bench-filter
documents: ["$C/documents/*.jsonl.gz"]
output: $d/out
tag: {experiment: bench, taggers: [gopher_v1, c4_v1]}
mix:
  name: filtered
  version: v1
  drop:
$(filter_rules)
YAML
  run filter loam "$1" "$d" "$LOAM" --threads "$T" run "$W/filter.yaml"; }
filter_dt() { local d=$R/filter-datatrove
  run filter datatrove "$1" "$d" "$DATATROVE/bin/python" "$ROOT/bench/datatrove_bench.py" filter "$C/documents" "$d/out" "$T"; }
filter_check() { $LIB check-kept "$(ls -d "$R"/filter-loam/out/filtered/v1-*/documents)" "$R/filter-datatrove/out/documents" "$C/documents" datatrove; }
want filter && both filter "${DATATROVE:+datatrove}" filter_loam filter_dt filter_check

# ------------------------------------------------------------------ datamap (vs datatrove)
# Dolma 3's document filters as datamap-rs ran them (datamap_v1: symbol, bullet, ellipsis,
# alphabetic-word and stop-word ratios, MassiveWeb repetition; all_dressed's bounds) against
# datatrove's Gopher filters with the same bounds and no length rules. The definitions differ
# in details (datatrove's word tokenizer, datamap-rs's whitespace words and byte lengths): the
# agreement is reported, not required.
# datamap_header NAME OUT: the start of a pipeline file running datamap_v1 over the corpus,
# up to its `steps:` (the stage appends the steps and the mix).
datamap_header() {
  cat <<YAML
name: $1
documents: ["$C/documents/*.jsonl.gz"]
output: $2
tag:
  experiment: bench
  taggers: [datamap_v1]
  tagger_options:
    datamap_v1:
      steps:
YAML
}
datamap_loam() { local d=$R/datamap-loam
  { datamap_header bench-datamap "$d/out"; cat <<YAML
        - {name: symbol_ratio_filter, label: symbols, kwargs: {max_symbol_to_word_ratio: 0.1}}
        - {name: bullet_filter, label: bullets, kwargs: {max_bullet_ratio: 0.9}}
        - {name: ellipsis_line_ratio_filter, label: ellipsis, kwargs: {max_ratio: 0.3}}
        - {name: alphabetic_word_ratio_filter, label: non_alpha, kwargs: {max_ratio: 0.2}}
        - {name: stop_word_filter, label: stop_words, kwargs: {min_stop_word: 2}}
        - {name: massive_web_repetition_filter, label: repetition}
mix:
  name: filtered
  version: v1
  drop:
    - {rule: datamap_filters, attribute: bench__datamap_v1__kept, op: lt, value: 1}
YAML
  } > "$W/datamap.yaml"
  run datamap loam "$1" "$d" "$LOAM" --threads "$T" run "$W/datamap.yaml"; }
datamap_dt() { local d=$R/datamap-datatrove
  run datamap datatrove "$1" "$d" "$DATATROVE/bin/python" "$ROOT/bench/datatrove_bench.py" gopher "$C/documents" "$d/out" "$T"; }
datamap_check() { $LIB check-kept "$(ls -d "$R"/datamap-loam/out/filtered/v1-*/documents)" "$R/datamap-datatrove/out/documents" "$C/documents" datatrove; }
want datamap && both datamap "${DATATROVE:+datatrove}" datamap_loam datamap_dt datamap_check

# ------------------------------------------------------------------ lines (vs datatrove)
# Line-level cleaning: Dolma 3's line modifiers in datamap_v1 (upper-case and digit ratios,
# the counter regex, short lines, banned substrings, newline runs), their removals applied by
# the mix's span replacement, against datatrove's C4QualityFilter, the line editor datatrove
# has (lines without terminal punctuation, short lines, javascript/policy/lorem lines, curly
# brackets; defaults). Different rules: the ratio is of time, the agreement is reported.
lines_loam() { local d=$R/lines-loam
  { datamap_header bench-lines "$d/out"; cat <<YAML
        - {name: ratio_line_modifier, label: upper, kwargs: {upper_bound: 0.5, check: uppercase}}
        - {name: ratio_line_modifier, label: digits, kwargs: {upper_bound: 0.999999, check: numeric}}
        - {name: regex_line_modifier, label: counter}
        - {name: line_len_modifier, label: short, kwargs: {lower_bound: 2}}
        - {name: substring_line_modifier, label: cart, kwargs: {banlist: "items in cart", remove_substring_only: true}}
        - {name: newline_removal_modifier, label: newlines, kwargs: {max_consecutive: 2}}
mix:
  name: cleaned
  version: v1
  span_replacement:
    - {span: \$.attributes.bench__datamap_v1__upper, min_score: 0.5, replacement: ""}
    - {span: \$.attributes.bench__datamap_v1__digits, min_score: 0.5, replacement: ""}
    - {span: \$.attributes.bench__datamap_v1__counter, min_score: 0.5, replacement: ""}
    - {span: \$.attributes.bench__datamap_v1__short, min_score: 0.5, replacement: ""}
    - {span: \$.attributes.bench__datamap_v1__cart, min_score: 0.5, replacement: ""}
    - {span: \$.attributes.bench__datamap_v1__cart_space, min_score: 0.5, replacement: " "}
    - {span: \$.attributes.bench__datamap_v1__newlines, min_score: 0.5, replacement: ""}
YAML
  } > "$W/lines.yaml"
  run lines loam "$1" "$d" "$LOAM" --threads "$T" run "$W/lines.yaml"; }
lines_dt() { local d=$R/lines-datatrove
  run lines datatrove "$1" "$d" "$DATATROVE/bin/python" "$ROOT/bench/datatrove_bench.py" c4lines "$C/documents" "$d/out" "$T"; }
lines_check() { $LIB check-kept "$(ls -d "$R"/lines-loam/out/cleaned/v1-*/documents)" "$R/lines-datatrove/out/documents" "$C/documents" datatrove; }
want lines && both lines "${DATATROVE:+datatrove}" lines_loam lines_dt lines_check

# ------------------------------------------------------------------ urls (vs datatrove)
# URL ban lists: datatrove's URLFilter with its integrated lists (the UT1 domain and URL
# lists, banned words, soft-banned words needing two, banned subwords of the URL with every
# non-alphanumeric character removed), against datamap_v1's url_substring_filter steps on the
# same lists (prepared once, untimed: extracted, and the word lists normalized as datatrove
# normalizes them). Definitions differ where datamap-rs's do (the host, not the registered
# domain; URL words lowercased; soft words counted as matches, not distinct words): the
# agreement is reported, not required.
urls_lists() { local L=$W/urllists
  [ -s "$L/domains" ] && return 0
  mkdir -p "$L"
  "$DATATROVE/bin/python" - "$L" <<'PY'
import os, re, sys, tarfile
from datatrove.utils._import_utils import ASSETS_PATH
out = sys.argv[1]
with tarfile.open(os.path.join(ASSETS_PATH, "url_filterblacklistsv0_3_0.tar.gz")) as t:
    t.extractall(out)
norm = re.compile(r"[^a-zA-Z0-9]+")
for name in ["banned_words", "soft_banned_words", "banned_subwords"]:
    with open(os.path.join(ASSETS_PATH, name + ".txt")) as f:
        words = sorted({norm.sub("", w).lower() for w in f if w[0] != "#"} - {""})
    with open(os.path.join(out, name), "w") as w:
        w.write("".join(x + "\n" for x in words))
PY
}
urls_loam() { local d=$R/urls-loam L=$W/urllists
  local punct='[" ", "!", "\"", "#", "$", "%", "&", "'"'"'", "(", ")", "*", "+", ",", "-", ".", "/", ":", ";", "<", "=", ">", "?", "@", "[", "\\", "]", "^", "_", "`", "{", "|", "}", "~"]'
  { datamap_header bench-urls "$d/out"; cat <<YAML
        - {name: url_substring_filter, label: domain, kwargs: {url_key: metadata.url, banlist_file: $L/domains, exact_domain_match: true}}
        - {name: url_substring_filter, label: subdomain, kwargs: {url_key: metadata.url, banlist_file: $L/domains, exact_subdomain_match: true}}
        - {name: url_substring_filter, label: url, kwargs: {url_key: metadata.url, banlist_file: $L/urls, exact_url_match: true}}
        - {name: url_substring_filter, label: words, kwargs: {url_key: metadata.url, banlist_file: $L/banned_words, exact_part_match: true}}
        - {name: url_substring_filter, label: soft, kwargs: {url_key: metadata.url, banlist_file: $L/soft_banned_words, match_substrings: false, num_banned_substrs: 2}}
        - {name: url_substring_filter, label: subwords, kwargs: {url_key: metadata.url, banlist_file: $L/banned_subwords, ignore_chars: $punct}}
mix:
  name: urls
  version: v1
  drop:
YAML
  for l in domain subdomain url words soft subwords; do
    echo "    - {rule: $l, attribute: bench__datamap_v1__$l, op: gt, value: 0}"
  done
  } > "$W/urls.yaml"
  run urls loam "$1" "$d" "$LOAM" --threads "$T" run "$W/urls.yaml"; }
urls_dt() { local d=$R/urls-datatrove
  run urls datatrove "$1" "$d" "$DATATROVE/bin/python" "$ROOT/bench/datatrove_bench.py" urls "$C/documents" "$d/out" "$T"; }
urls_check() { $LIB check-kept "$(ls -d "$R"/urls-loam/out/urls/v1-*/documents)" "$R/urls-datatrove/out/documents" "$C/documents" datatrove; }
if want urls && [ -n "${DATATROVE:-}" ]; then
  urls_lists
  both urls datatrove urls_loam urls_dt urls_check
elif want urls; then
  log "urls: skipped (the lists are datatrove's: needs its venv)"
fi

# ------------------------------------------------------------------ dedupe (vs dolma)
dedupe_cfg() { # DIR DEDUPE-JSON
  cat <<JSON
{"documents": ["$1/documents/*.jsonl.gz"],
 "dedupe": $2,
 "bloom_filter": {"file": "$1/filter.bin", "read_only": false, "size_in_bytes": 0,
                  "estimated_doc_count": 20000000, "desired_false_positive_rate": 1e-6},
 "processes": $T}
JSON
}
DD_DOCS='{"name": "dups", "documents": {"attribute_name": "dup", "key": "$.text"}}'
DD_PARAS='{"name": "dups", "paragraphs": {"attribute_name": "dup"}}'
dd_run() { # STAGE TOOL REP JSON
  local d=$R/$1-$2
  dedupe_cfg "$d" "$4" > "$W/$1-$2.json"
  if [ "$2" = loam ]; then run "$1" loam "$3" "$d" "$LOAM" --threads "$T" dedupe -c "$W/$1-$2.json"
  else run "$1" dolma "$3" "$d" "$DOLMA/bin/dolma" -c "$W/$1-$2.json" dedupe; fi
}
ddd_loam() { dd_run dedupe-docs loam "$1" "$DD_DOCS"; }
ddd_dolma() { dd_run dedupe-docs dolma "$1" "$DD_DOCS"; }
ddd_check() { $LIB check-dedupe documents "$R/dedupe-docs-loam/attributes/dups" "$R/dedupe-docs-dolma/attributes/dups" "$C/documents"; }
ddp_loam() { dd_run dedupe-paras loam "$1" "$DD_PARAS"; }
ddp_dolma() { dd_run dedupe-paras dolma "$1" "$DD_PARAS"; }
ddp_check() { $LIB check-dedupe paragraphs "$R/dedupe-paras-loam/attributes/dups" "$R/dedupe-paras-dolma/attributes/dups" "$C/documents"; }
want dedupe-docs && both dedupe-docs "${DOLMA:+dolma}" ddd_loam ddd_dolma ddd_check
want dedupe-paras && both dedupe-paras "${DOLMA:+dolma}" ddp_loam ddp_dolma ddp_check

# ------------------------------------------------------------------ MinHash (vs datatrove)
# Same parameters on both sides: word 5-grams, 14 bands x 8 rows (datatrove's defaults).
mh_loam() { local d=$R/minhash-loam
  cat > "$W/minhash.yaml" <<YAML
documents: ["$d/documents/*.jsonl.gz"]
dedupe:
  name: near_dups
  minhash: {attribute_name: near_dup, shingle: words, ngram_length: 5, num_bands: 14, rows_per_band: 8, seed: 0}
processes: $T
YAML
  run minhash loam "$1" "$d" "$LOAM" --threads "$T" dedupe -c "$W/minhash.yaml"; }
mh_dt() { local d=$R/minhash-datatrove
  run minhash datatrove "$1" "$d" "$DATATROVE/bin/python" "$ROOT/bench/datatrove_bench.py" minhash "$C/documents" "$d/out" "$T"; }
mh_check() { $LIB check-minhash "$R/minhash-loam/attributes/near_dups" "$R/minhash-datatrove/out/documents" "$C/documents"; }
want minhash && both minhash "${DATATROVE:+datatrove}" mh_loam mh_dt mh_check

# ------------------------------------------------------------------ substring (loam only)
# Exact-substring dedup (`dedupe.substring`, 200-byte windows, 4 key ranges), each phase
# timed on its own: suffix files (the suffix arrays: MB/s and peak memory per MB of text),
# matches, marks. No peer runs here: datatrove's ExactSubstr and duplodocus drive Google's
# deduplicate-text-datasets / their own Rust tools from GitHub, which this machine cannot fetch.
if want substring; then
  SB=$R/substring
  cat > "$W/substring.yaml" <<YAML
name: substring
documents: ["$SB/documents/*.jsonl.gz"]
output: "$SB/out"
dedupe:
  name: sub
  substring: {attribute_name: repeated, min_length: 200, partitions: 4}
mix: {name: m, version: v1, span_replacement: [{span: \$.attributes.repeated, min_score: 0.5, replacement: ""}]}
YAML
  log "substring: loam only (no peer installable here)"
  printf '%-22s %-10s %s\n' "substring: PHASE" loam "$LOAM --threads $T run substring.yaml --stage dedupe --phase PHASE" >> "$CMDS"
  for rep in $(seq "$REPEATS"); do
    rm -rf "$SB"; mkdir -p "$SB"; ln -s "$C/documents" "$SB/documents"
    for ph in suffixes matches marks; do
      (cd "$SB" && $LIB measure "$RESULTS" "substring: $ph" loam "$rep" "$SB/$ph.log" -- \
        "$LOAM" --threads "$T" run "$W/substring.yaml" --stage dedupe --phase "$ph")
    done
  done
  agree "substring" "ok: $(grep -ho 'repeated passages.*documents' "$SB/marks.log" | head -1)"
fi

# ------------------------------------------------------------------ dedup-tasks (loam only)
# Exact and MinHash dedup as phases (`partitions: 4`), each phase timed on its own at T
# threads: the per-task figures docs/scale.md projects a corpus-scale run from. No peer: the
# partitioned peers (duplodocus, datatrove's multi-task MinHash) are timed per stage above.
if want dedup-tasks; then
  DT=$R/dedup-tasks
  cat > "$W/dedup-tasks.yaml" <<YAML
name: dedup-tasks
documents: ["$DT/documents/*.jsonl.gz"]
output: "$DT/out"
dedupe:
  - {name: exact, documents: {attribute_name: dup, partitions: 4}}
  - {name: near, minhash: {attribute_name: near_dup, ngram_length: 5, num_bands: 14, rows_per_band: 8, partitions: 4}}
mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup, op: exists}, {rule: near, attribute: near_dup, op: exists}]}
YAML
  log "dedup-tasks: loam only, each phase of exact and MinHash dedup timed"
  printf '%-22s %-10s %s\n' "dedup-tasks: PHASE" loam "$LOAM --threads $T run dedup-tasks.yaml --stage dedupe --phase PHASE" >> "$CMDS"
  for rep in $(seq "$REPEATS"); do
    rm -rf "$DT"; mkdir -p "$DT"; ln -s "$C/documents" "$DT/documents"
    for ph in keys survivors signatures bands partitions merge-1 merge-2 marks; do
      (cd "$DT" && $LIB measure "$RESULTS" "dedup-tasks: $ph" loam "$rep" "$DT/$ph.log" -- \
        "$LOAM" --threads "$T" run "$W/dedup-tasks.yaml" --stage dedupe --phase "$ph")
    done
  done
  agree "dedup-tasks" "ok: $(grep -ho 'dedupe (exact[^|]*' "$DT/marks.log" | head -1 | sed 's/ *$//')"
fi

# ------------------------------------------------------------------ mix (vs dolma)
# One dolma mixer config, run unchanged by both (`loam mix -c`): jq filters on the tag
# stage's attributes, PII span replacement, discard_fields (shaped like bench/mix.sh and
# dolma's tests/config/mixer-validator-jq.yaml).
jqx() { # ATTRIBUTE OP VALUE
  printf '        - "(.attributes.%s | if type == \\"array\\" and length > 0 and .[0] != null and .[0][2] != null then .[0][2] %s %s else false end)"\n' "$1" "$2" "$3"
}
mix_cfg() { # TOOL
  local d=$R/mix-$1
  cat > "$W/mix-$1.yaml" <<YAML
streams:
  - name: bench
    documents: ["$W/mixdata/documents/*.jsonl.gz"]
    attributes: [bench${LID:+, benchlid}]
    output:
      path: $d/out
      max_size_in_bytes: 20000000
      discard_fields: [attributes]
    filter:
      syntax: jq
      exclude:
$(jqx bench__char_length_v1__length '<' 100)
$(jqx bench__whitespace_tokenizer_v1__length '<' 50)
$(jqx bench__gopher_v1__symbol_to_word_ratio '>' 0.1)
$(jqx bench__gopher_v1__fraction_of_characters_in_duplicate_lines '>' 0.2)
${LID:+$(jqx benchlid__${LID}__doc_en '<' 0.5)}
    span_replacement:
      - {span: "\$.attributes.bench__pii_regex_v2__EMAIL_ADDRESS", min_score: 0.5, replacement: " |||EMAIL_ADDRESS||| "}
      - {span: "\$.attributes.bench__pii_regex_v2__PHONE_NUMBER", min_score: 0.5, replacement: " |||PHONE_NUMBER||| "}
      - {span: "\$.attributes.bench__pii_regex_v2__IP_ADDRESS", min_score: 0.5, replacement: " |||IP_ADDRESS||| "}
work_dir: {input: $d/work-in, output: $d/work-out}
processes: $T
YAML
}
mix_loam() { mix_cfg loam; run mix loam "$1" "$R/mix-loam" "$LOAM" --threads "$T" mix -c "$W/mix-loam.yaml"; }
mix_dolma() { mix_cfg dolma; run mix dolma "$1" "$R/mix-dolma" "$DOLMA/bin/dolma" -c "$W/mix-dolma.yaml" mix; }
# The agreement, then the ledger's share of the mix's bytes (issue target: <= 2%).
mix_check() {
  echo "$($LIB check-mix "$R/mix-loam/out" "$R/mix-dolma/out"); $($LIB ledger-size "$R/mix-loam/out/manifest.json")"
}
want mix && both mix "${DOLMA:+dolma}" mix_loam mix_dolma mix_check

# ------------------------------------------------------------------ tokens
# The corpus tokenized with the GPT-NeoX-style tokenizer of dolma's tests (ByteLevel BPE,
# 50,280 ids; OLMo 1's eos/pad ids), dolma `tokens` at T processes vs loam at T threads.
# Agreement: for every document dolma wrote, the same tokens under the same id.
TOKJ=$W/gpt-neo-test-tokenizer.json
gunzip -c "$ROOT/tests/fixtures/tokens/gpt-neo-test-tokenizer.json.gz" > "$TOKJ"
tok_cfg() { # DIR
  printf 'documents: ["%s/documents/*.jsonl.gz"]\ndestination: %s/out\ntokenizer:\n  name_or_path: %s\n  eos_token_id: 50279\n  pad_token_id: 1\nprocesses: %s\ndtype: uint16\n' \
    "$1" "$1" "$TOKJ" "$T"
}
tokens_loam() { local d=$R/tokens-loam; tok_cfg "$d" > "$W/tokens-loam.yaml"
  run tokens loam "$1" "$d" "$LOAM" --threads "$T" tokens -c "$W/tokens-loam.yaml"; }
tokens_dolma() { local d=$R/tokens-dolma; tok_cfg "$d" > "$W/tokens-dolma.yaml"
  run tokens dolma "$1" "$d" "$DOLMA/bin/dolma" -c "$W/tokens-dolma.yaml" tokens; }
tokens_check() { $LIB check-tokens "$R/tokens-loam/out" "$R/tokens-dolma/out"; }
want tokens && both tokens "${DOLMA:+dolma}" tokens_loam tokens_dolma tokens_check

# ------------------------------------------------------------------ mix on uneven shards
# The source files as they are (11 files, the largest ~60% of the text; not --size-mb), so
# one file dominates: a mix must not be bounded by it. Attributes made once by loam (untimed):
# rule taggers and paragraph dedup; one jq exclude, duplicate paragraphs removed by span
# replacement (dolma's remove-paragraphs), discard_fields. Own corpus, own table below.
U=$W/corpus-uneven-v1 RESULTS_U=$W/results-uneven.jsonl
rm -f "$RESULTS_U"
if want mix-uneven; then
  if [ ! -f "$U/stats.json" ]; then
    log "mix-uneven: preparing the source files as they are, from $DATA"
    rm -rf "$U"; $LIB uneven-corpus "$DATA" "$U" > /dev/null
  fi
  ustat() { python3 -c "import json,sys; print(json.load(open('$U/stats.json'))['$1'])"; }
  log "mix-uneven: $(ustat documents) documents, $(ustat text_bytes) bytes of text in $(ustat shards) files, the largest $(ustat largest_file) bytes gzip; tagging and paragraph dedup with loam (untimed)"
  UD=$W/uneven-data; rm -rf "$UD"; mkdir -p "$UD"; cp -r "$U/documents" "$UD/documents"
  printf 'documents: ["%s/documents/*.jsonl.gz"]\nexperiment: uneven\ntaggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]\nprocesses: %s\n' "$UD" "$T" > "$W/uneven-tag.yaml"
  "$LOAM" --threads "$T" tag -c "$W/uneven-tag.yaml" > /dev/null
  dedupe_cfg "$UD" "$DD_PARAS" > "$W/uneven-dedupe.json"
  "$LOAM" --threads "$T" dedupe -c "$W/uneven-dedupe.json" > /dev/null
  mixu_cfg() { # TOOL
    local d=$R/mix-uneven-$1
    cat > "$W/mix-uneven-$1.yaml" <<YAML
streams:
  - name: uneven
    documents: ["$UD/documents/*.jsonl.gz"]
    attributes: [uneven, dups]
    output:
      path: $d/out
      max_size_in_bytes: 20000000
      discard_fields: [attributes]
    filter:
      syntax: jq
      exclude:
$(jqx uneven__whitespace_tokenizer_v1__length '<' 50)
    span_replacement:
      - {span: "\$.attributes.dup", min_score: 0.5, replacement: ""}
work_dir: {input: $d/work-in, output: $d/work-out}
processes: $T
YAML
  }
  # `run` links the main corpus in; these configs name their documents by absolute path.
  mixu_loam() { mixu_cfg loam; RESULTS=$RESULTS_U run mix-uneven loam "$1" "$R/mix-uneven-loam" "$LOAM" --threads "$T" mix -c "$W/mix-uneven-loam.yaml"; }
  mixu_dolma() { mixu_cfg dolma; RESULTS=$RESULTS_U run mix-uneven dolma "$1" "$R/mix-uneven-dolma" "$DOLMA/bin/dolma" -c "$W/mix-uneven-dolma.yaml" mix; }
  mixu_check() {
    echo "$($LIB check-mix "$R/mix-uneven-loam/out" "$R/mix-uneven-dolma/out"); $($LIB ledger-size "$R/mix-uneven-loam/out/manifest.json")"
  }
  both mix-uneven "${DOLMA:+dolma}" mixu_loam mixu_dolma mixu_check
fi

# ------------------------------------------------------------------ loam run, all stages
run_cfg() { # OUT [GATE]
  cat <<YAML
name: bench
documents: ["$C/documents/*.jsonl.gz"]
output: "$1"
tag: {experiment: bench, taggers: [$TAGGERS]${2:+, gate: [$2]}}
dedupe: {name: dedupe_text, documents: {attribute_name: duplicate_text, key: \$.text}}
mix:
  name: bench
  version: v1
  drop:
    - {rule: duplicate, attribute: duplicate_text, op: exists}
    - {rule: short, attribute: bench__char_length_v1__length, op: lt, value: 100}
    - {rule: few_words, attribute: bench__whitespace_tokenizer_v1__length, op: lt, value: 50}
    - {rule: symbols, attribute: bench__gopher_v1__symbol_to_word_ratio, op: gt, value: 0.1}
    - {rule: dup_lines, attribute: bench__gopher_v1__fraction_of_characters_in_duplicate_lines, op: gt, value: 0.2}
${LID:+    - {rule: not_english, attribute: bench__${LID}__doc_en, op: lt, value: 0.5\}}
YAML
}
fused() { # STAGE THREADS REP [GATE]
  local d=$R/run-j$2${4:+-gated}
  run_cfg "$d/out" "${4:-}" > "$W/run.yaml"
  run "$1" loam "$3" "$d" "$LOAM" --threads "$2" run "$W/run.yaml"
}
if want run; then
  log "loam run: tag (6 taggers) + document dedup + mix (6 rules) in one command"
  for rep in $(seq "$REPEATS"); do
    fused "run (all stages)" "$T" "$rep"
    # Language ID only on documents the cheap rules keep (tag.gate): the same mix.
    [ -n "$LID" ] && fused "run (LID gated)" "$T" "$rep" "$LID"
  done
  agree "run (all stages)" "$($LIB ledger-size "$(ls -d "$R"/run-j"$T"/out/bench/v1-*)/manifest.json")"
  if [ -n "$LID" ]; then
    a=$(cat "$R"/run-j"$T"/out/bench/v1-*/documents/* | gzip -dc | sha256sum | cut -c1-16)
    b=$(cat "$R"/run-j"$T"-gated/out/bench/v1-*/documents/* | gzip -dc | sha256sum | cut -c1-16)
    agree "run (LID gated)" "mix documents $([ "$a" = "$b" ] && echo identical || echo DIFFER) to the ungated run ($a, $b)"
  fi
fi
if want scaling; then
  log "scaling: loam run (all stages) at 1..$(nproc) threads"
  ts=1; t=2; while [ $t -lt "$(nproc)" ]; do ts="$ts $t"; t=$((t * 2)); done
  [ "$(nproc)" -gt 1 ] && ts="$ts $(nproc)"
  for rep in $(seq "$REPEATS"); do
    for t in $ts; do fused "scaling: run -j$t" "$t" "$rep"; done
  done
fi

# ------------------------------------------------------------------ explain latency
# A mix of EXPLAIN_DOCS short documents (real text windows), then `loam explain` on 20
# seeded ids: each answer is a separate process (start-up included), from the id index.
if want explain; then
  E=$W/explain-$EXPLAIN_DOCS
  if [ ! -f "$E/stats.json" ]; then
    log "explain: preparing $EXPLAIN_DOCS short documents"
    rm -rf "$E"; $LIB small-corpus "$DATA" "$E" "$EXPLAIN_DOCS" 16 > /dev/null
  fi
  log "explain: building a mix of $EXPLAIN_DOCS documents, then explaining 20 ids"
  cat > "$W/explain.yaml" <<YAML
name: explain
documents: ["$E/documents/*.jsonl.gz"]
output: "$R/explain/out"
tag: {experiment: bench, taggers: [char_length_v1]}
dedupe: {name: dedupe_text, documents: {attribute_name: duplicate_text, key: \$.text}}
mix:
  name: explain
  version: v1
  drop:
    - {rule: duplicate, attribute: duplicate_text, op: exists}
    - {rule: short, attribute: bench__char_length_v1__length, op: lt, value: 300}
YAML
  rm -rf "$R/explain"; mkdir -p "$R/explain"
  (cd "$R/explain" && $LIB measure "$RESULTS" "explain: build the mix" loam 1 "$R/explain/run.log" -- "$LOAM" --threads "$T" run "$W/explain.yaml")
  XV=$(ls -d "$R"/explain/out/explain/v1-*)
  i=0
  for id in $($LIB pick-ids "$E/documents" 20 7); do
    i=$((i + 1))
    $LIB measure "$RESULTS" "explain: one id" loam "$i" "$R/explain/explain-$i.log" -- "$LOAM" explain "$XV" "$id" > /dev/null
  done
  for f in "$R"/explain/explain-*.log; do
    grep -q '^decision' "$f" || { echo "explain printed no decision (see $f)" >&2; exit 1; }
  done
  agree "explain: one id" "ok: $EXPLAIN_DOCS documents in the mix; every answer printed the document's decision (e.g. \`$(grep '^decision' "$R/explain/explain-1.log" | head -1 | cut -c12- )\`)"
fi

# ------------------------------------------------------------------ trace
# The corpus as one mix (every non-empty document), tokenized in the same `loam run` (the
# tokens stage's tokenizer, uint16); `loam trace build` timed on the token arrays and on the
# text (MB/s is of the corpus's text, at T threads); then 40 queries, each its own process.
if want trace; then
  TR=$R/trace; rm -rf "$TR"; mkdir -p "$TR"; ln -s "$C/documents" "$TR/documents"
  cat > "$W/trace.yaml" <<YAML
name: trace
documents: ["$TR/documents/*.jsonl.gz"]
output: "$TR/out"
tag: {experiment: bench, taggers: [char_length_v1]}
mix:
  name: trace
  version: v1
  drop:
    - {rule: empty, attribute: bench__char_length_v1__length, op: lt, value: 1}
tokens:
  tokenizer: {name_or_path: "$TOKJ", eos_token_id: 50279, pad_token_id: 1}
  dtype: uint16
YAML
  log "trace: a mix of the corpus with its token arrays (untimed), then build and query"
  (cd "$TR" && "$LOAM" --threads "$T" run "$W/trace.yaml" > "$TR/run.log" 2>&1)
  printf '%-22s %-10s %s\n' "trace: build" loam "$LOAM --threads $T trace build MIX --index IDX [--text]" >> "$CMDS"
  printf '%-22s %-10s %s\n' "trace query" loam "$LOAM trace MIX --index IDX --text Q [--count] --json; grep -c -F -- Q mix-text.txt" >> "$CMDS"
  TV=$(ls -d "$TR"/out/trace/v1-*)
  for rep in $(seq "$REPEATS"); do
    for k in tokens text; do
      rm -rf "$TR/idx-$k"
      (cd "$TR" && $LIB measure "$RESULTS" "trace: build ($k)" loam "$rep" "$TR/build-$k-$rep.log" -- \
        "$LOAM" --threads "$T" trace build "$TV" --index "$TR/idx-$k" $([ $k = text ] && echo --text))
    done
  done
  for k in tokens text; do
    agree "trace: build ($k)" "ok: $(sed -n 's/^trace index [^:]*: //p' "$TR/build-$k-1.log")"
  done
  agree "trace query: count (text)" "$($LIB trace-queries "$RESULTS" "$LOAM" "$TV" "$TR/idx-tokens" "$TR/idx-text" 40)"
fi

# ------------------------------------------------------------------ report
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$W/results.md
{
  echo "### $([ "$STAGES" = all ] && echo "All stages" || echo "${STAGES//,/, }"): $SIZE_MB MB, $REPEATS repeat(s)"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/run.sh --size-mb $SIZE_MB --repeats $REPEATS --threads $T$([ "$STAGES" = all ] || echo " --stages $STAGES")\`$([ $SMOKE = 1 ] && echo ' (smoke)')."
  echo
  echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GB", $2/1e6}' /proc/meminfo) RAM, $(uname -sr)."
  echo "- Load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER (the machine is shared; runs alternate so both tools see the same load)."
  echo "- loam $("$LOAM" --version | cut -d' ' -f2) ($BUILT); dolma $([ -n "$DOLMA" ] && echo 1.2.1 || echo "not run"); datatrove $([ -n "$DATATROVE" ] && echo "0.10.1 (with spaCy $("$DATATROVE/bin/python" -c "import spacy; print(spacy.__version__)"))" || echo "not run")."
  echo "- Corpus: $(stat documents) documents, $(stat text_bytes) bytes of text ($(stat jsonl_bytes) bytes of JSON lines, $(stat gzip_bytes) gzip) in $SHARDS gzip shards: $CORPUS_NOTE."
  echo "- Throughput is MB of document text (10^6 bytes) per second of wall time; peak memory is PSS summed over the process tree; $REPEATS repeat(s), median shown; loam/peer time < 1 means loam is faster."
  echo
  [ -s "$RESULTS" ] && $LIB table "$RESULTS" "$C/stats.json" "$AGREE" "$T"
  if [ -s "$RESULTS_C" ]; then
    echo
    echo "tag-code: $(python3 -c "import json; s=json.load(open('$CC/stats.json')); print(f\"{s['documents']} source files as documents ({s['text_bytes']} bytes; per extension {s['per_language']}; {s['copies']} pass(es) over {s['source_files']} files)\")"), the machine's own files, so only each run's ratio compares:"
    echo
    $LIB table "$RESULTS_C" "$CC/stats.json" "$AGREE" "$T"
  fi
  if [ -s "$RESULTS_U" ]; then
    echo
    echo "mix-uneven: the $(python3 -c "import json; s=json.load(open('$U/stats.json')); print(f\"{s['documents']} source documents ({s['text_bytes']} bytes of text, {s['gzip_bytes']} gzip) in their {s['shards']} files as they are, the largest {s['largest_file']} bytes gzip\")") (not replicated, whatever --size-mb); attributes from loam (rule taggers, paragraph dedup); 1 jq exclude, duplicate paragraphs removed by span replacement:"
    echo
    $LIB table "$RESULTS_U" "$U/stats.json" "$AGREE" "$T"
  fi
  echo
  echo "Commands (each from a fresh folder holding a \`documents\` link to the corpus; configs in \`$W\`):"
  echo
  echo '```'
  cat "$CMDS"
  echo '```'
} > "$OUT"
log "results ($OUT)"
cat "$OUT"
DISAGREE=0; grep -q '"DIFF' "$AGREE" 2>/dev/null && DISAGREE=1
if [ $SMOKE = 0 ] && [ -z "${BENCH_NO_WRITE:-}" ]; then
  # Replace the generated part of BENCHMARKS.md (between the markers), keep the rest;
  # BENCH_APPEND=1 adds this run after the runs already there instead.
  B=$ROOT/BENCHMARKS.md
  python3 - "$B" "$OUT" "${BENCH_APPEND:-}" <<'PY'
import os, sys
b, out, append = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3] == "1"
begin, end = "<!-- bench/run.sh results: begin -->", "<!-- bench/run.sh results: end -->"
text = open(b).read() if os.path.exists(b) else "# Benchmarks\n\n" + begin + "\n" + end + "\n"
if begin not in text:
    text += "\n" + begin + "\n" + end + "\n"
head, rest = text.split(begin, 1)
old, tail = rest.split(end, 1)
if append:
    out = old.strip("\n") + "\n\n" + out
open(b, "w").write(head + begin + "\n" + out + end + tail)
PY
  echo "written to $B"
fi
if [ $DISAGREE = 1 ]; then echo "some outputs disagree (see the agreement column): those timings count for nothing" >&2; exit 1; fi
