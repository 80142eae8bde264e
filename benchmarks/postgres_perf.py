"""The record log on PostgreSQL against SQLite: ingest throughput and search latency (p50 / p95) through
MemoryCore, same data, same queries, same run (benchmarks.core_perf's measurements, once per backend).

    python -m benchmarks.postgres_perf --sizes 100000 --layouts 1 --queries 300

PostgreSQL runs in a throwaway cluster on this machine (omne.testing.throwaway_cluster, durable: fsync and
synchronous commit on, as a real server runs) over a loopback TCP connection; the vectors are Qdrant Edge in the
store directory for both backends, so the difference is the record log alone. Every search embeds its query
with the real MiniLM model, as a user's search does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.core_perf import bench_layout, corpus, fmt, machine, progress
from benchmarks.synthetic import synthetic_queries, vector_pool
from omne import MiniLMEmbedder
from omne.testing import throwaway_cluster


async def run(args: argparse.Namespace) -> dict:
    sizes = sorted(int(s) for s in args.sizes.split(","))
    layouts = [int(s) for s in args.layouts.split(",")]
    real = MiniLMEmbedder.shared()
    pool_texts, pool_vectors = vector_pool(args.pool, real.embed, "minilm", Path(args.cache_dir))
    texts, vectors = corpus(max(sizes), pool_texts, pool_vectors)
    queries = synthetic_queries(args.queries)
    result: dict = {"machine": machine(), "command": " ".join(["python -m benchmarks.postgres_perf", *sys.argv[1:]]),
                    "backends": {}}
    with throwaway_cluster(durable=True) as cluster:
        for backend in ("sqlite", "postgres"):
            if backend == "postgres":
                os.environ["OMNE_DATABASE_URL"] = cluster.create_schema("bench")
            else:
                os.environ.pop("OMNE_DATABASE_URL", None)
            progress(f"backend {backend}")
            workdir = Path(tempfile.mkdtemp(prefix=f"omne-pg-perf-{backend}-", dir=args.workdir))
            try:
                rows = []
                for n_scopes in layouts:
                    rows += await bench_layout(real, texts, vectors, sizes, n_scopes, queries, args.batch,
                                               False, workdir)
                result["backends"][backend] = rows
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg_at_end"] = os.getloadavg()
    return result


def markdown(result: dict) -> str:
    lines = ["| backend | records | scopes | ingest w/o embedding (rec/s) | search p50 / p95 (ms) |",
             "|---|---|---|---|---|"]
    for backend, rows in result["backends"].items():
        for row in rows:
            lines.append(f"| {backend} | {row['records']:,} | {row['scopes']} | "
                         f"{row['ingest_no_embedding_records_per_s']:,.0f} | {fmt(row['search'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="store sizes to measure at (comma-separated)")
    parser.add_argument("--layouts", default="1", help="numbers of scopes the records are spread over")
    parser.add_argument("--queries", type=int, default=300, help="timed searches per measurement")
    parser.add_argument("--batch", type=int, default=250, help="records per MemoryCore.add call")
    parser.add_argument("--pool", type=int, default=10000, help="distinct sentences embedded for real (cached)")
    parser.add_argument("--cache-dir", default=".omne/bench-cache", help="where pool vectors are cached")
    parser.add_argument("--workdir", default=None, help="parent directory of the temporary stores")
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
