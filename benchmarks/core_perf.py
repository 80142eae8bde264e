"""Omne Core performance: ingest throughput and search latency (p50 / p95) through MemoryCore.

    python -m benchmarks.core_perf --sizes 10000,100000 --layouts 1,100 --queries 300

Measures, with progress on stderr:
  * the embedder alone (MiniLM, batched) in records/s;
  * ingest with the real embedder (MemoryCore.add in batches) in records/s, and its ratio to the embedder;
  * ingest without embedding (vectors precomputed, so only validation + SQLite log + BM25 + Qdrant Edge
    upsert are timed) while growing a store to each size, in one scope and spread over N scopes;
  * search latency through MemoryCore.search at each size (the query is embedded by the real model on
    every call), before and after MemoryCore.optimize() builds the HNSW graph (--no-optimize: only the
    graph the index builds by itself), the slowest add (one that built a graph), automatic builds, RSS;
  * with --reopen, a fresh process that opens the largest store: open time, first search, p50 / p95, RSS.
Results go to a JSON file and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.synthetic import PrecomputedEmbedder, synthetic_queries, vector_pool
from omne import MemoryCore, MiniLMEmbedder, Record, RecordKind, Scope


def progress(message: str) -> None:
    """A progress line on stderr, labelled with the benchmark that runs (`python -m benchmarks.<name>`)."""
    print(f"[{Path(sys.argv[0]).stem or 'benchmarks'}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def corpus(size: int, texts: list[str], vectors: np.ndarray, seed: int = 3) -> tuple[list[str], np.ndarray]:
    """`size` distinct texts with vectors: the real pool first; beyond it, pool sentences with a reference
    suffix and their vector jittered (N(0, 0.01) per dimension, renormalised) so every point is distinct."""
    if size <= len(texts):
        return texts[:size], vectors[:size]
    rng = np.random.default_rng(seed)
    out_texts = list(texts)
    out_vectors = [vectors]
    for start in range(len(texts), size, len(texts)):
        n = min(len(texts), size - start)
        out_texts += [f"{t} (ref {start // len(texts)})" for t in texts[:n]]
        jitter = vectors[:n] + rng.normal(0, 0.01, (n, vectors.shape[1])).astype(np.float32)
        out_vectors.append(jitter / np.linalg.norm(jitter, axis=1, keepdims=True))
    return out_texts, np.concatenate(out_vectors)


def records_for(texts: list[str], start: int, end: int, scopes: list[Scope]) -> list[Record]:
    return [Record(kind=RecordKind.MESSAGE, scope=scopes[i % len(scopes)], role="user", text=texts[i])
            for i in range(start, end)]


async def time_searches(core: MemoryCore, queries: list[str], scopes: list[Scope], seed: int) -> dict:
    rng = random.Random(seed)
    for query in queries[:10]:  # warm-up
        await core.search(query, scope=scopes[0])
    latencies = []
    for query in queries:
        scope = rng.choice(scopes)
        start = time.perf_counter()
        await core.search(query, scope=scope, top_k=10)
        latencies.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
            "mean_ms": round(float(np.mean(latencies)), 2), "queries": len(latencies)}


async def bench_embedder(real: MiniLMEmbedder, texts: list[str], batch: int, workdir: Path) -> dict:
    """The embedder alone vs MemoryCore.add with it, interleaved batch by batch (embed batch i, then add
    batch i) so that both see the same machine load; each rate is records over its own summed time."""
    progress(f"embedder alone vs ingest with the real embedder: {len(texts):,} texts, batches of {batch}")
    core = await MemoryCore.open(workdir / "ingest-real", embedder=real)
    scope = Scope(user="bench")
    embed_s = ingest_s = 0.0
    for i in range(0, len(texts), batch):
        end = min(i + batch, len(texts))
        start = time.perf_counter()
        real.embed(texts[i:end])
        embed_s += time.perf_counter() - start
        records = records_for(texts, i, end, [scope])
        start = time.perf_counter()
        await core.add(records)
        ingest_s += time.perf_counter() - start
    stats = await core.stats()
    await core.close()
    assert stats["records"] == stats["vectors"] == len(texts)
    embed_rate, ingest_rate = len(texts) / embed_s, len(texts) / ingest_s
    progress(f"  embedder {embed_rate:,.0f} records/s; ingest {ingest_rate:,.0f} records/s "
             f"({ingest_rate / embed_rate:.0%} of the embedder)")
    return {"records": len(texts), "batch": batch, "embedder_records_per_s": round(embed_rate, 1),
            "ingest_records_per_s": round(ingest_rate, 1), "ratio": round(ingest_rate / embed_rate, 3)}


REOPEN = """
import asyncio, json, random, resource, sys, time
from omne import MemoryCore, Scope

async def main(path, scopes, queries):
    start = time.perf_counter()
    core = await MemoryCore.open(path)
    opened = time.perf_counter()
    rng = random.Random(5)
    await core.search(queries[0], scope=Scope(user=rng.choice(scopes)), top_k=10)
    first = time.perf_counter()
    latencies = []
    for query in queries:
        t = time.perf_counter()
        await core.search(query, scope=Scope(user=rng.choice(scopes)), top_k=10)
        latencies.append((time.perf_counter() - t) * 1000)
    await core.close()
    latencies.sort()
    print(json.dumps({"open_s": round(opened - start, 2), "first_search_s": round(first - opened, 2),
                      "search_p50_ms": round(latencies[len(latencies) // 2], 2),
                      "search_p95_ms": round(latencies[int(len(latencies) * 0.95)], 2),
                      # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent
                      "peak_rss_mib": round(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)}))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])))
"""


def reopen(path: Path, scopes: list[Scope], queries: list[str]) -> dict:
    """A fresh process opens the store (the query embedder loads on its first search) and searches it."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", REOPEN, str(path), json.dumps([s.user for s in scopes]),
                           json.dumps(queries)], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> int:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


async def bench_layout(real: MiniLMEmbedder, texts: list[str], vectors: np.ndarray, sizes: list[int],
                       n_scopes: int, queries: list[str], batch: int, optimize: bool, workdir: Path,
                       reopen_after: bool = False) -> list[dict]:
    scopes = [Scope(user=f"user{i:03d}") for i in range(n_scopes)]
    # Precomputed vectors time the store + index path alone; a message's contextual text (the messages before it
    # + its own, omne.storage.context) is not among them, so the second embedding is off here (the contextual
    # vector is then the dense one; searches still run the default read path's contextual query). What the
    # second embedding costs at ingest is in bench_embedder's ratio, which runs the default write path.
    path = workdir / f"layout-{n_scopes}"
    core = await MemoryCore.open(path, embedder=PrecomputedEmbedder(texts, vectors, real), contextual=False)
    rows: list[dict] = []
    done = 0
    try:
        for size in sizes:
            start = time.perf_counter()
            slowest = 0.0
            for i in range(done, size, batch):
                began = time.perf_counter()
                await core.add(records_for(texts, i, min(i + batch, size), scopes))
                slowest = max(slowest, time.perf_counter() - began)
                if (i // batch) % 20 == 0:
                    progress(f"  {n_scopes} scope(s): ingested {min(i + batch, size):,}/{size:,}")
            rate = (size - done) / (time.perf_counter() - start)
            done = size
            stats = await core.stats()
            assert stats["records"] == stats["vectors"] == size
            row = {"records": size, "scopes": n_scopes, "ingest_no_embedding_records_per_s": round(rate, 1),
                   "slowest_add_s": round(slowest, 1),  # an add that built the HNSW graph blocks this long
                   # the embedded index's own counter (a benchmark's look inside, not API; None for a server)
                   "auto_optimizations": getattr(getattr(core, "_index", None), "auto_optimizations", None),
                   "peak_rss_mib": peak_rss_mib(), "load_avg": os.getloadavg()}
            progress(f"{size:,} records / {n_scopes} scope(s): ingest {rate:,.0f}/s; searching")
            row["search"] = await time_searches(core, queries, scopes, seed=size)
            progress(f"  search {row['search']}")
            if optimize:
                start = time.perf_counter()
                await core.optimize()
                row["optimize_s"] = round(time.perf_counter() - start, 1)
                progress(f"  optimize {row['optimize_s']} s; searching again")
                row["search_optimized"] = await time_searches(core, queries, scopes, seed=size + 1)
                progress(f"  search after optimize {row['search_optimized']}")
            rows.append(row)
    finally:
        await core.close()
    if reopen_after:
        progress("reopening the store in a fresh process")
        rows[-1]["reopen"] = reopen(path, scopes, queries)
        progress(f"  {rows[-1]['reopen']}")
    return rows


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    from importlib import metadata

    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 2**20, 1),
            "onnxruntime": metadata.version("onnxruntime"), "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg()}


def fmt(search: dict | None) -> str:
    return f"{search['p50_ms']} / {search['p95_ms']}" if search else "-"


def markdown(result: dict) -> str:
    e = result["ingest_real"]
    lines = [f"Embedder alone: {e['embedder_records_per_s']:,.0f} records/s; ingest with embedding: "
             f"{e['ingest_records_per_s']:,.0f} records/s ({e['ratio']:.0%} of the embedder; {e['records']:,} "
             f"records, batches of {e['batch']}).", "",
             "| records | scopes | ingest w/o embedding (rec/s) | search p50 / p95 (ms) | optimize (s) | "
             "search p50 / p95 after optimize (ms) |", "|---|---|---|---|---|---|"]
    for row in result["layouts"]:
        s, o = row["search"], row.get("search_optimized")
        lines.append(f"| {row['records']:,} | {row['scopes']} | {row['ingest_no_embedding_records_per_s']:,.0f} | "
                     f"{fmt(s)} | {row.get('optimize_s', '-')} | "
                     f"{fmt(o)} |")
    lines += ["", "| records | scopes | automatic builds | slowest add (s) | peak RSS (MiB) | reopen: open (s) | "
              "first search (s) | search p50 / p95 (ms) | peak RSS (MiB) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in result["layouts"]:
        r = row.get("reopen") or {}
        lines.append(f"| {row['records']:,} | {row['scopes']} | {row['auto_optimizations']} | {row['slowest_add_s']} | "
                     f"{row['peak_rss_mib']:,} | {r.get('open_s', '-')} | {r.get('first_search_s', '-')} | "
                     f"{r.get('search_p50_ms', '-')} / {r.get('search_p95_ms', '-')} | {r.get('peak_rss_mib', '-')} |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict:
    sizes = sorted(int(s) for s in args.sizes.split(","))
    layouts = [int(s) for s in args.layouts.split(",")]
    progress("loading MiniLM")
    real = MiniLMEmbedder.shared()
    progress(f"vector pool: {args.pool:,} sentences embedded with MiniLM (cached under {args.cache_dir})")
    pool_texts, pool_vectors = vector_pool(args.pool, real.embed, "minilm", Path(args.cache_dir))
    texts, vectors = corpus(max(sizes + [args.ingest_sample]), pool_texts, pool_vectors)
    queries = synthetic_queries(args.queries)
    workdir = Path(tempfile.mkdtemp(prefix="omne-core-perf-", dir=args.workdir))
    try:
        result = {"machine": machine(), "command": " ".join(["python -m benchmarks.core_perf", *sys.argv[1:]]),
                  "pool": args.pool, "ingest_real": await bench_embedder(real, texts[:args.ingest_sample],
                                                                         args.batch, workdir),
                  "layouts": []}
        for n_scopes in [] if args.ingest_only else layouts:
            result["layouts"] += await bench_layout(real, texts, vectors, sizes, n_scopes, queries, args.batch,
                                                    not args.no_optimize, workdir, args.reopen)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="store sizes to measure at (comma-separated)")
    parser.add_argument("--layouts", default="1,100", help="numbers of scopes the records are spread over")
    parser.add_argument("--queries", type=int, default=300, help="timed searches per measurement")
    parser.add_argument("--ingest-sample", type=int, default=2000, help="records for the real-embedder ingest")
    parser.add_argument("--batch", type=int, default=250, help="records per MemoryCore.add call")
    parser.add_argument("--pool", type=int, default=10000, help="distinct sentences embedded for real (cached)")
    parser.add_argument("--cache-dir", default=".omne/bench-cache", help="where pool vectors are cached")
    parser.add_argument("--workdir", default=None, help="parent directory of the temporary stores")
    parser.add_argument("--no-optimize", action="store_true", help="skip MemoryCore.optimize()")
    parser.add_argument("--ingest-only", action="store_true", help="measure only the ingest ratio")
    parser.add_argument("--reopen", action="store_true",
                        help="after the largest size, reopen the store in a fresh process: open time, search, RSS")
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
