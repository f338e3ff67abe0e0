#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: formatting, lints, models, then every test
# (unit, dolma-compatibility, end-to-end) in release mode so the quickstart binary is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
# Nothing may be skipped or re-blessed in the full run: drop every LOAM_SKIP_* and LOAM_BLESS
# the caller's environment carries.
for v in $(compgen -e | grep -E '^LOAM_SKIP_' || true); do unset "$v"; done
unset LOAM_BLESS
echo "== fmt";    cargo fmt --all --check
echo "== clippy"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== clippy, lean (make demo's features)"
cargo clippy --workspace --all-targets --locked --no-default-features -- -D warnings
echo "== models"; ./scripts/fetch-models.sh models --blingfire
echo "== chromium (the report test renders HTML in it)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update && apt-get install -y --no-install-recommends chromium
fi
echo "== s3 server"  # SeaweedFS for tests/s3.rs (endpoint and credentials in the env)
S3_DIR=$(mktemp -d)
trap './scripts/s3-server.sh stop "$S3_DIR"; rm -rf "$S3_DIR"; ./scripts/slurm-down.sh' EXIT
eval "$(./scripts/s3-server.sh start "$S3_DIR")"
echo "== slurm"  # a single-node slurmctld/slurmd on localhost for tests/slurm.rs
./scripts/slurm-up.sh
export LOAM_SLURM=1
echo "== tests";  LOAM_MODELS_DIR="$PWD/models" cargo test --workspace --release --locked
echo "== bench smoke"; LOAM_BIN=target/release/loam ./bench/run.sh --smoke > /tmp/loam-bench-smoke.log 2>&1 && sed -n '/^| stage/,/^$/p' /tmp/loam-bench-smoke.log || { tail -40 /tmp/loam-bench-smoke.log; exit 1; }
echo "== quickstart"
rm -rf out/quickstart
./target/release/loam run examples/quickstart.yaml
ls out/quickstart/quickstart/v1-*/manifest.json
echo "all checks passed"
