#!/usr/bin/env python3
"""datatrove side of bench/run.sh (run with the datatrove virtualenv's Python).

    datatrove_bench.py filter  DOCS_DIR OUT_DIR WORKERS
        JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter
        -> JsonlWriter (datatrove 0.10.1 defaults; C4BadWordsFilter left out: it downloads
        its word lists)
    datatrove_bench.py gopher  DOCS_DIR OUT_DIR WORKERS
        JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter without its length rules
        (the document filters Dolma 3 ran through datamap-rs: symbols, bullets, ellipses,
        non-alphabetic words, stop words, repetition) -> JsonlWriter
    datatrove_bench.py c4lines DOCS_DIR OUT_DIR WORKERS
        JsonlReader -> C4QualityFilter (defaults: the line editor datatrove has) -> JsonlWriter
    datatrove_bench.py urls DOCS_DIR OUT_DIR WORKERS
        JsonlReader -> URLFilter (its integrated lists; documents without a URL kept) -> JsonlWriter
    datatrove_bench.py minhash DOCS_DIR OUT_DIR WORKERS
        datatrove's four MinHash stages (signatures, buckets, clusters, filter) with
        14 buckets x 8 hashes over word 5-grams, writing the kept documents.

One task per input shard, WORKERS processes, as loam uses one thread per core.
"""
import glob
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402


def reader(docs):
    return JsonlReader(docs, glob_pattern="*.jsonl.gz", text_key="text", id_key="id",
                       compression="gzip")


def main():
    mode, docs, out, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tasks = len(glob.glob(os.path.join(docs, "*.jsonl.gz")))
    logs = os.path.join(out, "logs")
    if mode == "filter":
        from datatrove.pipeline.filters import (C4QualityFilter, GopherQualityFilter,
                                                GopherRepetitionFilter)
        LocalPipelineExecutor(
            pipeline=[reader(docs), GopherRepetitionFilter(), GopherQualityFilter(),
                      C4QualityFilter(), JsonlWriter(os.path.join(out, "documents"))],
            tasks=tasks, workers=workers, logging_dir=os.path.join(logs, "filter"),
        ).run()
    elif mode == "gopher":
        from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
        quality = GopherQualityFilter(min_doc_words=None, max_doc_words=None,
                                      min_avg_word_length=None, max_avg_word_length=None)
        LocalPipelineExecutor(
            pipeline=[reader(docs), GopherRepetitionFilter(), quality,
                      JsonlWriter(os.path.join(out, "documents"))],
            tasks=tasks, workers=workers, logging_dir=os.path.join(logs, "gopher"),
        ).run()
    elif mode == "c4lines":
        from datatrove.pipeline.filters import C4QualityFilter
        LocalPipelineExecutor(
            pipeline=[reader(docs), C4QualityFilter(),
                      JsonlWriter(os.path.join(out, "documents"))],
            tasks=tasks, workers=workers, logging_dir=os.path.join(logs, "c4lines"),
        ).run()
    elif mode == "minhash":
        from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
        from datatrove.pipeline.dedup.minhash import MinhashConfig
        cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)
        base = os.path.join(out, "minhash")
        LocalPipelineExecutor(
            pipeline=[reader(docs), MinhashDedupSignature(output_folder=f"{base}/signatures",
                                                          config=cfg)],
            tasks=tasks, workers=workers, logging_dir=f"{logs}/signatures",
        ).run()
        LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(input_folder=f"{base}/signatures",
                                          output_folder=f"{base}/buckets", config=cfg)],
            tasks=cfg.num_buckets, workers=workers, logging_dir=f"{logs}/buckets",
        ).run()
        LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(input_folder=f"{base}/buckets",
                                          output_folder=f"{base}/remove_ids", config=cfg)],
            tasks=1, workers=1, logging_dir=f"{logs}/clusters",
        ).run()
        LocalPipelineExecutor(
            pipeline=[reader(docs), MinhashDedupFilter(input_folder=f"{base}/remove_ids"),
                      JsonlWriter(os.path.join(out, "documents"))],
            tasks=tasks, workers=workers, logging_dir=f"{logs}/filter",
        ).run()
    elif mode == "urls":
        from datatrove.pipeline.filters import URLFilter

        class URLFilterKeepingURLless(URLFilter):
            # datatrove asserts on a document without metadata.url; the bench corpus has
            # some, and loam keeps them: keep them here too.
            def filter(self, doc):
                return True if not doc.metadata.get("url") else super().filter(doc)

        LocalPipelineExecutor(
            pipeline=[reader(docs), URLFilterKeepingURLless(),
                      JsonlWriter(os.path.join(out, "documents"))],
            tasks=tasks, workers=workers, logging_dir=os.path.join(logs, "urls"),
        ).run()
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
