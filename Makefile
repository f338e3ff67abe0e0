# The two commands in the README: `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test build models lint bench-smoke

# Build, fetch the pinned model, run the quickstart on the bundled sample.
demo: build models
	./target/release/loam run examples/quickstart.yaml

build:
	$(CARGO) build --release --locked

models:
	./scripts/fetch-models.sh models

# Everything CI runs.
test:
	./scripts/test.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The benchmark flow on ~2 MB, loam only (CI runs it so bench/run.sh cannot rot).
# The full comparison with dolma and datatrove: bench/run.sh (see BENCHMARKS.md).
bench-smoke: build
	./bench/run.sh --smoke
