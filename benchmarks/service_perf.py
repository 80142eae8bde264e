"""omne serve performance: CLI through a warm server vs embedded, light embedded commands, HTTP search latency,
and concurrent clients.

    nice -n 10 python -m benchmarks.service_perf --sizes 10000,100000 --out benchmarks/results/service.json
    nice -n 10 python -m benchmarks.service_perf --parts a,b --sizes 10000   # the CLI figures only

Measures, with progress on stderr (stores are built with precomputed MiniLM vectors, as in core_perf):
  (a) `omne memory search` wall time per CLI invocation, median of N, through a warm `omne serve` and embedded;
  (b) embedded `omne memory stats` and `omne memory get` wall time, median of N;
  (c) search p50 / p95 over HTTP (RemoteMemoryCore -> omne serve, both on this machine) at each size, one scope;
  (d) C client processes doing mixed add and search for S seconds: throughput, p95, errors, and whether every
      acknowledged id is in the store afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.core_perf import corpus, machine, percentile, progress, records_for
from benchmarks.synthetic import PrecomputedEmbedder, synthetic_queries, vector_pool
from omne import MemoryCore, MiniLMEmbedder, Scope

SCOPE = Scope(user="bench")
ROOT = Path(__file__).resolve().parents[1]


# Times CLI processes from a light process, as a shell starts them: started from this harness, which holds the
# ONNX model and the corpus, the same command measured about 0.03-0.06 s slower.
_TIMER = """
import json, os, statistics, subprocess, sys, time
runs, args = int(sys.argv[1]), sys.argv[2:]
env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # bytecode is written, as pip does
env["OMNE_URL"] = ""
def wall():
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "omne", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"omne {' '.join(args)} failed: {done.stderr[-1000:]}")
    return time.perf_counter() - start
wall()  # unmeasured: writes any missing bytecode
print(json.dumps(statistics.median(wall() for _ in range(runs))))
"""


def median_wall(runs: int, *args: str) -> float:
    """Median wall seconds of `runs` `omne ...` CLI processes (each must succeed), after one unmeasured call."""
    done = subprocess.run([sys.executable, "-c", _TIMER, str(runs), *args], capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return round(json.loads(done.stdout), 3)


async def grow(store: Path, texts: list[str], vectors, real: MiniLMEmbedder, start: int, size: int) -> None:
    """Add records [start, size) to the one scope with precomputed vectors, then build the HNSW graph."""
    core = await MemoryCore.open(store, embedder=PrecomputedEmbedder(texts, vectors, real))
    try:
        for i in range(start, size, 500):
            await core.add(records_for(texts, i, min(i + 500, size), [SCOPE]))
        await core.optimize()
    finally:
        await core.close()


def start_server(store: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "omne", "serve", "--store", str(store), "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT)
    while True:
        if proc.poll() is not None:
            raise RuntimeError("omne serve exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(120)


async def http_search(url: str, queries: list[str]) -> dict:
    async with MemoryCore.connect(url) as client:
        for q in queries[:10]:  # warm the connection and the server's query path
            await client.search(q, scope=SCOPE, top_k=10)
        times = []
        for q in queries:
            start = time.perf_counter()
            await client.search(q, scope=SCOPE, top_k=10)
            times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1), "n": len(times)}


async def load_client(url: str, worker: int, seconds: float, out: Path) -> None:
    """One of the concurrent clients: alternate add and search for `seconds`; write what it saw."""
    rng = random.Random(worker)
    queries = synthetic_queries(200, seed=worker)
    scope = Scope(user="bench", session=f"load-{worker}")
    acked, latencies, errors = [], [], []
    async with MemoryCore.connect(url, timeout_s=120) as client:
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                if n % 2 == 0:
                    acked.append((await client.remember(f"load note {worker}-{n}", scope=scope)).id)
                else:
                    await client.search(rng.choice(queries), scope=SCOPE, top_k=10)
                latencies.append((time.perf_counter() - start) * 1000)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(exc).__name__}: {exc}")
            n += 1
    out.write_text(json.dumps({"acked": acked, "latencies_ms": latencies, "errors": errors}))


def concurrent(url: str, clients: int, seconds: float, workdir: Path) -> dict:
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.service_perf", "--load-client", url, str(i),
                               str(seconds), str(workdir / f"client-{i}.json")], cwd=ROOT) for i in range(clients)]
    for proc in procs:
        proc.wait(seconds + 300)
    reports = [json.loads((workdir / f"client-{i}.json").read_text()) for i in range(clients)]
    latencies = [x for r in reports for x in r["latencies_ms"]]
    acked = [i for r in reports for i in r["acked"]]

    async def present() -> int:
        async with MemoryCore.connect(url) as client:
            found = 0
            for i in range(clients):
                ids = reports[i]["acked"]
                found += len(await client.get_many(ids, scope=Scope(user="bench", session=f"load-{i}")))
            return found

    found = asyncio.run(present())
    return {"clients": clients, "seconds": seconds, "requests": len(latencies),
            "throughput_per_s": round(len(latencies) / seconds, 1), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "errors": sum(len(r["errors"]) for r in reports),
            "error_samples": [e for r in reports for e in r["errors"]][:5], "acked_writes": len(acked),
            "acked_present": found}


def run(args: argparse.Namespace) -> dict:
    parts = set(args.parts.split(","))
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if "c" not in parts:
        sizes = sizes[:1]  # (a) and (b) run on the smallest store only
    progress("loading MiniLM and the vector pool")
    real = MiniLMEmbedder.shared()
    pool_texts, pool_vectors = vector_pool(args.pool, real.embed, "minilm", Path(args.cache_dir))
    texts, vectors = corpus(max(sizes), pool_texts, pool_vectors)
    queries = synthetic_queries(args.queries)
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="omne-service-perf-", dir=args.workdir))
    store = workdir / "store"
    url = f"http://127.0.0.1:{args.port}"
    result: dict = {"machine": machine(), "command": " ".join(["python -m benchmarks.service_perf", *sys.argv[1:]]),
                    "search_http": []}
    try:
        done = 0
        for n, size in enumerate(sizes):
            progress(f"growing the store to {size:,} records in one scope")
            asyncio.run(grow(store, texts, vectors, real, done, size))
            done = size
            server = start_server(store, args.port)
            try:
                if "c" in parts:
                    progress(f"HTTP search at {size:,}")
                    result["search_http"].append({"records": size, **asyncio.run(http_search(url, queries))})
                    progress(f"  {result['search_http'][-1]}")
                if n == 0 and "a" in parts:
                    progress("CLI search through the warm server")
                    result["cli_search_server_s"] = median_wall(args.runs, "memory", "--server", url, "search",
                                                                queries[0], "--user", "bench")
                    progress(f"  {result['cli_search_server_s']} s")
                if n == 0 and "d" in parts:
                    progress(f"{args.clients} concurrent clients")
                    result["concurrent"] = concurrent(url, args.clients, args.seconds, workdir)
                    progress(f"  {result['concurrent']}")
            finally:
                stop_server(server)
            if n == 0 and parts & {"a", "b"}:
                progress("embedded CLI: search, stats, get")
                some_id = json.loads(subprocess.run(
                    [sys.executable, "-m", "omne", "memory", "list", "--store", str(store), "--user", "bench",
                     "--limit", "1", "--json"], capture_output=True, text=True, check=True).stdout)[0]["id"]
                if "a" in parts:
                    result["cli_search_embedded_s"] = median_wall(args.runs, "memory", "search", queries[0],
                                                                  "--store", str(store), "--user", "bench")
                if "b" in parts:
                    result["cli_stats_embedded_s"] = median_wall(args.runs, "memory", "stats", "--store", str(store))
                    result["cli_get_embedded_s"] = median_wall(args.runs, "memory", "get", some_id, "--store",
                                                               str(store), "--user", "bench")
                progress(f"  {result}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def markdown(r: dict) -> str:
    lines = []
    if "cli_search_server_s" in r:
        lines += [f"(a) `omne memory search`, median of runs: through a warm server {r['cli_search_server_s']} s; "
                  f"embedded {r['cli_search_embedded_s']} s (ratio "
                  f"{r['cli_search_server_s'] / r['cli_search_embedded_s']:.3f})."]
    if "cli_stats_embedded_s" in r:
        lines += [f"(b) embedded `omne memory stats` {r['cli_stats_embedded_s']} s; `omne memory get` "
                  f"{r['cli_get_embedded_s']} s."]
    if r["search_http"]:
        lines += ["", "(c) | records in one scope | HTTP search p50 / p95 (ms) |", "|---|---|"]
        lines += [f"| {s['records']:,} | {s['p50_ms']} / {s['p95_ms']} |" for s in r["search_http"]]
    if "concurrent" in r:
        c = r["concurrent"]
        lines += ["", f"(d) {c['clients']} client processes, mixed add/search, {c['seconds']} s: {c['requests']} "
                  f"requests, {c['throughput_per_s']}/s, p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, {c['errors']} "
                  f"errors; acknowledged writes {c['acked_writes']}, present afterwards {c['acked_present']}."]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load-client":
        url, worker, seconds, out = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5])
        asyncio.run(load_client(url, worker, seconds, out))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="a,b,c,d", help="which measures to run (comma-separated; a,b: the CLI)")
    parser.add_argument("--sizes", default="10000,100000", help="records in the one scope (comma-separated)")
    parser.add_argument("--queries", type=int, default=200, help="timed HTTP searches per size")
    parser.add_argument("--runs", type=int, default=10, help="CLI invocations per median")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pool", type=int, default=10000, help="distinct sentences embedded for real (cached)")
    parser.add_argument("--cache-dir", default=".omne/bench-cache")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
