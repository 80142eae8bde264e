"""The record log on PostgreSQL against SQLite: ingest throughput and search latency (p50 / p95) through
MemoryCore, same data, same queries, same run: the two stores grow side by side (each batch goes to one, then
the other) and are searched query by query in turn, so the load of a shared machine falls on both alike.

    python -m benchmarks.postgres_perf --sizes 10000,100000 --scopes 1 --queries 300

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
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.core_perf import corpus, machine, percentile, progress, records_for
from benchmarks.synthetic import PrecomputedEmbedder, synthetic_queries, vector_pool
from omne import MemoryCore, MiniLMEmbedder, Scope
from omne.config import OmneConfig
from omne.testing import throwaway_cluster

BACKENDS = ("sqlite", "postgres")


async def _open(backend: str, url: str, workdir: Path, embedder: PrecomputedEmbedder) -> MemoryCore:
    config = OmneConfig(store_dir=workdir / backend, database=url if backend == "postgres" else None)
    return await MemoryCore.open(config=config, embedder=embedder)


async def run(args: argparse.Namespace) -> dict:
    """Both stores grow side by side, batch by batch, and are searched query by query in turn: the machine's
    load (other jobs share it) falls on both backends alike."""
    sizes = sorted(int(s) for s in args.sizes.split(","))
    real = MiniLMEmbedder.shared()
    pool_texts, pool_vectors = vector_pool(args.pool, real.embed, "minilm", Path(args.cache_dir))
    texts, vectors = corpus(max(sizes), pool_texts, pool_vectors)
    queries = synthetic_queries(args.queries)
    scopes = [Scope(user=f"user{i:03d}") for i in range(args.scopes)]
    result: dict = {"machine": machine(), "command": " ".join(["python -m benchmarks.postgres_perf", *sys.argv[1:]]),
                    "rows": []}
    workdir = Path(tempfile.mkdtemp(prefix="omne-pg-perf-", dir=args.workdir))
    embedder = PrecomputedEmbedder(texts, vectors, real)
    with throwaway_cluster(durable=True) as cluster:
        url = cluster.create_schema("bench")
        cores = {b: await _open(b, url, workdir, embedder) for b in BACKENDS}
        try:
            done = 0
            for size in sizes:
                spent = dict.fromkeys(BACKENDS, 0.0)
                for i in range(done, size, args.batch):
                    batch = records_for(texts, i, min(i + args.batch, size), scopes)
                    for backend, core in cores.items():
                        start = time.perf_counter()
                        await core.add([r.model_copy() for r in batch])
                        spent[backend] += time.perf_counter() - start
                    if (i // args.batch) % 40 == 0:
                        progress(f"ingested {min(i + args.batch, size):,}/{size:,} into both")
                row: dict = {"records": size, "scopes": args.scopes, "load_avg": os.getloadavg()}
                for backend, core in cores.items():
                    stats = await core.stats()
                    assert stats["records"] == stats["vectors"] == size, stats
                    row[backend] = {"ingest_records_per_s": round((size - done) / spent[backend], 1)}
                done = size
                rng = random.Random(size)
                latencies: dict[str, list[float]] = {b: [] for b in BACKENDS}
                for n, query in enumerate(queries[:10] + queries):  # the first 10 warm up
                    scope = rng.choice(scopes)
                    for backend, core in cores.items():
                        start = time.perf_counter()
                        await core.search(query, scope=scope, top_k=10)
                        if n >= 10:
                            latencies[backend].append((time.perf_counter() - start) * 1000)
                for backend in BACKENDS:
                    row[backend]["search_p50_ms"] = round(percentile(latencies[backend], 50), 2)
                    row[backend]["search_p95_ms"] = round(percentile(latencies[backend], 95), 2)
                progress(f"{row}")
                result["rows"].append(row)
        finally:
            for core in cores.values():
                await core.close()
            shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg_at_end"] = os.getloadavg()
    return result


def markdown(result: dict) -> str:
    lines = ["| records | scopes | backend | ingest w/o embedding (rec/s) | search p50 / p95 (ms) | load avg (1/5/15 min) |",
             "|---|---|---|---|---|---|"]
    for row in result["rows"]:
        load = " / ".join(f"{x:.1f}" for x in row["load_avg"])
        for backend in BACKENDS:
            r = row[backend]
            lines.append(f"| {row['records']:,} | {row['scopes']} | {backend} | {r['ingest_records_per_s']:,.0f} | "
                         f"{r['search_p50_ms']} / {r['search_p95_ms']} | {load} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="store sizes to measure at (comma-separated)")
    parser.add_argument("--scopes", type=int, default=1, help="number of scopes the records are spread over")
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
