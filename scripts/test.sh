#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: formatting, lints, models, then every test
# (unit, dolma-compatibility, end-to-end) in release mode so the quickstart binary is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== fmt";    cargo fmt --all --check
echo "== clippy"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== models"; ./scripts/fetch-models.sh models
echo "== tests";  LOAM_MODELS_DIR="$PWD/models" cargo test --workspace --release --locked
echo "== quickstart"
rm -rf out/quickstart
./target/release/loam run examples/quickstart.yaml
ls out/quickstart/quickstart/v1-*/manifest.json
echo "all checks passed"
