#!/usr/bin/env bash
# Coverage-guided fuzzing of loam's readers (cargo-fuzz, libFuzzer, nightly Rust):
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   # default: 60 s each for every target
#
# Targets (fuzz/fuzz_targets/): documents (JSONL plain/gzip/zstd and Parquet shards),
# attributes (attribute-file lines as the mixer reads them), configs (every config type,
# YAML and JSON), warc_reader (WARC/WET records, charset, HTML extraction), code_taggers
# (source text through the code taggers, starcoder's Python/Pygments/BeautifulSoup ports), dedup_files
# (suffix, substring match, exact key and MinHash signature files; no seeds here: libFuzzer
# starts from nothing, the stable run seeds it with files loam wrote). Their bodies are
# fuzz/targets.rs, which CI also runs on stable over mutated real files (tests/fuzz.rs).
# Seeds come from the bundled real files; findings land in fuzz/artifacts/<target>/.
# Needs `rustup toolchain install nightly` and `cargo install cargo-fuzz --version 0.12.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(documents attributes configs warc_reader code_taggers dedup_files)
command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz not installed (cargo install cargo-fuzz --version 0.12.0)" >&2; exit 2; }

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
python3 - "$corpus" <<'PY'
import gzip, json, os, sys, glob
out = sys.argv[1]
def put(target, name, data):
    os.makedirs(f"{out}/{target}", exist_ok=True)
    open(f"{out}/{target}/{name}", "wb").write(data)
# documents: a format byte (fuzz/targets.rs FORMATS: 0 jsonl, 1 jsonl.gz, 2 jsonl.zst, 3 parquet, 4 json.gz)
for i, p in enumerate(sorted(glob.glob("examples/quickstart/documents/*.gz"))):
    lines = gzip.open(p, "rt").read().splitlines()[:8]
    plain = "".join(l + "\n" for l in lines).encode()
    put("documents", f"plain{i}", b"\0" + plain)
    put("documents", f"gz{i}", b"\1" + gzip.compress(plain))
for i, p in enumerate(sorted(glob.glob("tests/fixtures/frozen/mix-v1/ledger/*.parquet"))):
    put("documents", f"parquet{i}", b"\3" + open(p, "rb").read())
for name in ("sample", "pii", "toxicity"):
    for j, line in enumerate(gzip.open(f"tests/fixtures/dolma/data/provided/attributes/{name}/000.json.gz", "rt").read().splitlines()[:3]):
        put("attributes", f"{name}{j}", (json.loads(line)["id"] + "\n" + line).encode())
for p in ["examples/quickstart.yaml"] + sorted(glob.glob("examples/dolma/*.yaml")):
    put("configs", os.path.basename(p), b"\0" + open(p, "rb").read())
# code_taggers: an extension byte (0 py, 1 java, 2 js, 3 html, 4 other), then the text
for j, line in enumerate(gzip.open("tests/fixtures/tagger-starcoder/documents/code.jsonl.gz", "rt").read().splitlines()[::8]):
    d = json.loads(line)
    sel = {"py": 0, "java": 1, "js": 2, "html": 3}.get(d["id"].split("/")[0], 0)
    put("code_taggers", f"code{j}", bytes([sel]) + d["text"][:3000].encode())
for p in sorted(glob.glob("tests/fixtures/warc/*.gz")):
    put("warc_reader", os.path.basename(p), open(p, "rb").read()[:200000])
PY

cd fuzz
for t in "${targets[@]}"; do
  echo "== $t: $secs s"
  mkdir -p "$corpus/$t"
  cargo +nightly fuzz run "$t" "$corpus/$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 2>&1 \
    | grep -E "^#[0-9]+.*(DONE|pulse)|Done [0-9]+ runs|ERROR|SUMMARY|artifact" || true
  [ -z "$(ls -A "artifacts/$t" 2>/dev/null)" ] || { echo "fuzz.sh: $t found a crash: fuzz/artifacts/$t" >&2; exit 1; }
done
echo "fuzz.sh: no crash"
