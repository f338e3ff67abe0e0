"""Reads `loam tokens` Megatron output (`output_format: megatron`) with Megatron-LM's own
reader (`megatron.core.datasets.indexed_dataset.IndexedDataset`, from the megatron-core
wheel) and checks every sequence against the `.csv.gz` rows and the `.npy`-equivalent
`.bin` bytes. torch is only imported by that module, not used to read, so a stub stands in.

    pip download --no-deps megatron-core==0.9.0 -d /tmp/meg   # the wheel, no torch
    python3 scripts/check-megatron.py /tmp/meg/megatron_core-0.9.0-*.whl OUT_DIR

Needs numpy. Prints one line per file and exits 1 on any difference.
"""
import csv, glob, gzip, io, os, sys, tempfile, types, zipfile

wheel, out = sys.argv[1], sys.argv[2]
root = tempfile.mkdtemp()
with zipfile.ZipFile(wheel) as z:
    for name in ("indexed_dataset.py", "utils_s3.py"):
        z.extract(f"megatron/core/datasets/{name}", root)
for pkg in ("megatron", "megatron/core", "megatron/core/datasets"):
    open(os.path.join(root, pkg, "__init__.py"), "w").close()
with open(os.path.join(root, "megatron/core/utils.py"), "w") as f:
    f.write("def log_single_rank(logger, *args, rank=0, **kwargs):\n    logger.log(*args, **kwargs)\n")
torch = types.ModuleType("torch")
torch.Tensor = object
torch.utils = types.ModuleType("torch.utils")
torch.utils.data = types.ModuleType("torch.utils.data")
torch.utils.data.Dataset = object
sys.modules.update({"torch": torch, "torch.utils": torch.utils, "torch.utils.data": torch.utils.data})
sys.path.insert(0, root)
import numpy as np  # noqa: E402
from megatron.core.datasets.indexed_dataset import IndexedDataset  # noqa: E402

bad = 0
for idx in sorted(glob.glob(os.path.join(out, "*.idx"))):
    prefix = idx[: -len(".idx")]
    ds = IndexedDataset(prefix, mmap=True)
    rows = list(csv.reader(io.TextIOWrapper(gzip.open(prefix + ".csv.gz"), encoding="utf-8", newline="")))
    flat = np.fromfile(prefix + ".bin", dtype=ds.index.dtype)
    ok = len(ds) == len(rows) and list(ds.document_indices) == list(range(len(rows) + 1))
    for i, r in enumerate(rows):
        if not ok:
            break
        ok = np.array_equal(ds[i], flat[int(r[0]):int(r[1])])
    print(f"{prefix}: {len(ds)} sequences, dtype {ds.index.dtype.__name__}: {'ok' if ok else 'DIFFERENT'}")
    bad += not ok
sys.exit(1 if bad else 0)
