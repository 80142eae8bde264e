"""Cold start: a fresh process opens an existing store and answers its first search.

    python -m benchmarks.cold_start --records 10000 --runs 5

Builds a store of `--records` records once (one scope; vectors from the cached MiniLM pool, as core_perf
does), then starts `--runs` fresh Python processes one after another. Each imports omne, opens the store,
runs one `MemoryCore.search` (its query embedded by the real model) and reports its own timings and peak
RSS (`ru_maxrss`); the parent times each process from spawn to exit. `--pythonpath` runs the processes
against another checkout (e.g. the previous commit's code) on the same store. Medians go to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.core_perf import corpus, progress, records_for
from benchmarks.synthetic import PrecomputedEmbedder, synthetic_queries, vector_pool
from omne import MemoryCore, Scope

SCOPE = Scope(user="cold")
CHILD = """
import time
started = time.perf_counter()
import asyncio, json, resource, sys
from omne import MemoryCore, Scope

async def main():
    imported = time.perf_counter()
    core = await MemoryCore.open(sys.argv[1])
    opened = time.perf_counter()
    hits = await core.search(sys.argv[2], scope=Scope(user="cold"), top_k=10)
    searched = time.perf_counter()
    await core.close()
    print(json.dumps({"import_s": imported - started, "open_s": opened - imported, "search_s": searched - opened,
                      "to_first_result_s": searched - started, "hits": len(hits),
                      # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent
                      "peak_rss_mib": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
                      "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),  # user + system
                      "torch_imported": "torch" in sys.modules}))

asyncio.run(main())
"""



async def build_store(path: Path, records: int, pool: int, cache_dir: Path) -> None:
    from omne import MiniLMEmbedder

    real = MiniLMEmbedder.shared()
    texts, vectors = corpus(records, *vector_pool(pool, real.embed, "minilm", cache_dir))
    core = await MemoryCore.open(path, embedder=PrecomputedEmbedder(texts, vectors, real))
    try:
        for start in range(0, records, 1000):
            await core.add(records_for(texts, start, min(start + 1000, records), [SCOPE]))
    finally:
        await core.close()


def one_run(store: Path, query: str, pythonpath: str) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(store), query], env=env, capture_output=True,
                          text=True, timeout=300, cwd=pythonpath)  # `-c` puts the working directory first
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the searching process failed:\n{done.stderr}")
    return {"process_wall_s": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pool", type=int, default=10000, help="distinct sentences embedded for real (cached)")
    parser.add_argument("--cache-dir", default=".omne/bench-cache")
    parser.add_argument("--store", default=None, help="reuse (or build once into) this store directory")
    parser.add_argument("--pythonpath", default=str(Path(__file__).resolve().parents[1]),
                        help="checkout the searching processes import omne from")
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args()
    workdir = None
    if args.store:
        store = Path(args.store)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="omne-cold-start-"))
        store = workdir / "store"
    try:
        if not store.exists():
            progress(f"building a store of {args.records:,} records at {store}")
            asyncio.run(build_store(store, args.records, args.pool, Path(args.cache_dir)))
        queries = synthetic_queries(args.runs)
        runs = []
        for i, query in enumerate(queries):
            runs.append(one_run(store, query, args.pythonpath))
            progress(f"run {i + 1}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in runs[-1].items()))
        keys = ("process_wall_s", "import_s", "open_s", "search_s", "to_first_result_s", "cpu_s", "peak_rss_mib")
        medians = {key: round(statistics.median(r[key] for r in runs), 3) for key in keys}
        result = {"command": " ".join(["python -m benchmarks.cold_start", *sys.argv[1:]]), "records": args.records,
                  "pythonpath": args.pythonpath, "load_avg": os.getloadavg(), "median": medians, "runs": runs}
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print("| median of %d | process wall (s) | import (s) | open (s) | first search (s) | CPU (s) | peak RSS (MiB) |"
          % len(runs))
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.pythonpath} | " + " | ".join(str(medians[k]) for k in (
        "process_wall_s", "import_s", "open_s", "search_s", "cpu_s", "peak_rss_mib")) + f" | load {result['load_avg']}")


if __name__ == "__main__":
    main()
