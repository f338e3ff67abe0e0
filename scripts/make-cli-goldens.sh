#!/usr/bin/env bash
# Regenerates tests/fixtures/dolma-cli/expected/: what dolma 1.2.1's CLI makes of each
# command line in tests/fixtures/dolma-cli/cases.tsv — its exit code (<case>.rc) and, for a
# dry run it accepts, the config it prints (<case>.yaml: flags merged over the -c file,
# interpolations resolved). tests/e2e/dolma_cli.rs runs loam on the same command lines.
#
#   scripts/make-cli-goldens.sh
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/dolma-cli"
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" -c 'import importlib.metadata as m; v=m.version("dolma"); assert v=="1.2.1", v'

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# dolma calls nltk.download("punkt") at import when punkt is missing; the CLI never uses it.
mkdir -p "$WORK/nltk/tokenizers/punkt" "$WORK/run/data/documents"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1 LOAM_CLI_DATA=data
unset LOAM_CLI_UNSET
cp "$REPO"/examples/quickstart/documents/*.gz "$WORK/run/data/documents/"
cp "$FIX"/*.yaml "$WORK/run/"
rm -rf "$FIX/expected"
mkdir -p "$FIX/expected"
while IFS=$'\t' read -r name args; do
  case "$name" in ''|'#'*) continue ;; esac
  set +e
  (cd "$WORK/run" && eval "\"$VENV/bin/dolma\" $args") >"$WORK/out" 2>"$WORK/err"
  rc=$?
  set -e
  echo "$rc" >"$FIX/expected/$name.rc"
  if [ "$rc" = 0 ]; then
    cp "$WORK/out" "$FIX/expected/$name.yaml"
  fi
  echo "$name: exit $rc"
done <"$FIX/cases.tsv"
