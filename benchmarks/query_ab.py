"""Query-encoder latency, interleaved A/B in one process: an older `omne/embedding.py` (e.g. main's int8
TorchScript query trace) against this checkout's ONNX Runtime `MiniLMEmbedder.embed_query`, query by query.

    python -m benchmarks.query_ab --old /path/to/old/checkout/omne/embedding.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np

from benchmarks.synthetic import synthetic_queries
from omne.embedding import MiniLMEmbedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="path of the older omne/embedding.py")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("old_embedding", args.old)
    old_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old_module)
    old, new = old_module.MiniLMEmbedder(), MiniLMEmbedder()
    queries = synthetic_queries(args.queries)
    for query in queries[:20]:
        old.embed_query(query)
        new.embed_query(query)
    timings: dict[str, list[float]] = {"old": [], "new": []}
    load = os.getloadavg()
    for query in queries:
        for name, embedder in (("old", old), ("new", new)):
            start = time.perf_counter()
            embedder.embed_query(query)
            timings[name].append((time.perf_counter() - start) * 1000)
    for name, values in timings.items():
        print(f"{name}: p50 {np.percentile(values, 50):.2f} ms, p95 {np.percentile(values, 95):.2f} ms")
    print(f"load average {load} -> {os.getloadavg()}")


if __name__ == "__main__":
    main()
