#!/usr/bin/env bash
# Renders `loam report` for a mix and takes a screenshot of it in headless Chromium, so
# anyone can look at the report without a browser of their own.
#   scripts/report-screenshot.sh MIX_DIR out.png [MIX_DIR_B]
# Env: LOAM (the loam binary; default target/debug/loam, built if missing),
#      CHROMIUM (default /usr/bin/chromium), HEIGHT (window height, default 2000).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 MIX_DIR out.png [MIX_DIR_B]" >&2
  exit 2
fi
mix=$1 png=$2 mix_b=${3:-}
cd "$(dirname "$0")/.." && root=$PWD && cd - >/dev/null
loam=${LOAM:-$root/target/debug/loam}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$loam" ]; then (cd "$root" && cargo build --quiet); fi
if [ ! -x "$chromium" ]; then
  echo "error: $chromium not found; run scripts/test.sh (it installs Debian's chromium) or" >&2
  echo "       apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$loam" report "$mix" ${mix_b:+"$mix_b"} -o "$tmp/report.html"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$tmp/profile" --window-size=1400,"${HEIGHT:-2000}" \
  --screenshot="$(realpath -m "$png")" "file://$tmp/report.html" 2>"$tmp/chromium.log" || {
  cat "$tmp/chromium.log" >&2
  exit 1
}
echo "wrote $png"
