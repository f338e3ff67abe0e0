# The two commands in the README: `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test build models lint bench-smoke

# A quick first build (profile `demo`: less optimization; without the S3 client, classifier
# training and the Adblock engine), fetch the pinned model, run the quickstart on the bundled
# sample. `make build` (or `cargo install --path .`) builds the full, fully optimized loam.
demo: models
	$(CARGO) build --profile demo --locked --no-default-features
	./target/demo/loam run examples/quickstart.yaml

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
