"""Search latency of two read-path presets, interleaved A/B in one process on an existing store, query by query.

    python -m benchmarks.preset_ab --store /path/to/store --user user000 --a default --b default_weighted

Synthetic queries (benchmarks.synthetic), top 10, the query embedding included; the order alternates per query so
that the machine's drift hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np

from benchmarks.synthetic import synthetic_queries
from omne import MemoryCore, Scope
from omne.retrieval.stages import PRESETS


async def run(store: str, user: str, names: tuple[str, str], count: int) -> dict[str, list[float]]:
    core = await MemoryCore.open(store)
    scope = Scope(user=user)
    queries = synthetic_queries(count + 20)
    timings: dict[str, list[float]] = {name: [] for name in names}
    try:
        for query in queries[:20]:  # warm-up
            for name in names:
                await core.search(query, scope=scope, top_k=10, config=PRESETS[name])
        for i, query in enumerate(queries[20:]):
            for name in names if i % 2 == 0 else names[::-1]:
                start = time.perf_counter()
                await core.search(query, scope=scope, top_k=10, config=PRESETS[name])
                timings[name].append((time.perf_counter() - start) * 1000)
    finally:
        await core.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="an existing embedded store (e.g. one core_perf built)")
    parser.add_argument("--user", default="user000", help="the scope's user (core_perf's one-scope layout: user000)")
    parser.add_argument("--a", default="default", choices=sorted(PRESETS))
    parser.add_argument("--b", default="default_weighted", choices=sorted(PRESETS))
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    load = os.getloadavg()
    timings = asyncio.run(run(args.store, args.user, (args.a, args.b), args.queries))
    for name, values in timings.items():
        print(f"{name}: p50 {np.percentile(values, 50):.2f} ms, p95 {np.percentile(values, 95):.2f} ms")
    print(f"load average {load} -> {os.getloadavg()}")


if __name__ == "__main__":
    main()
