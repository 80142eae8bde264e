"""Several `omne serve` processes on one PostgreSQL database, each deriving its own vector index from the shared log.

    nice -n 10 python -m benchmarks.several_servers --records 2000 --probes 50 --out benchmarks/results/several_servers.json

PostgreSQL runs in a throwaway durable cluster on this machine (omne.testing.throwaway_cluster); servers A and B are
real `omne serve` processes with the MiniLM embedder. Measures, with progress on stderr:
  (a) visibility: a record added through A, then searched for on B every 20 ms (each poll a real HTTP search): when
      the first search that returns it started and ended, after A acknowledged the write, over P probes (p50 / p95 /
      max), and how long a search on B takes;
  (b) a server started later: N records written through A (batches of 100), then a core opened on a fresh store
      directory on the same database (what `omne serve` does when it starts): the seconds its open takes (the
      catch-up from the log and the stored vectors), how many texts it embedded, against the seconds MiniLM takes to
      embed the same N texts here; and what the stored vectors add to the database, per record;
  (c) with --ingest N: the write path's own cost (MemoryCore on PostgreSQL, hashing test embedder): records/s in
      batches of 100 and ms per single add (--ingest-only runs just this, e.g. on two commits to compare them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.core_perf import machine, percentile, progress
from benchmarks.service_perf import start_server, stop_server
from omne import MemoryCore, MiniLMEmbedder, Record, RecordKind, Scope
from omne.sync import SyncMemoryCore
from omne.testing import throwaway_cluster

SCOPE = Scope(user="bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CountingMiniLM:
    """MiniLM (same model name as the servers', so their stored vectors are used), counting what it embeds."""

    name = MiniLMEmbedder.name
    dim = MiniLMEmbedder.dim

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return MiniLMEmbedder.shared().embed(texts)


def visibility(a_url: str, b_url: str, probes: int) -> dict:
    """For each probe: when (after A acknowledged it) the first search on B that returned it started, and when it
    ended; and how long each search on B took (under load a search takes long, and polls cannot be faster)."""
    started: list[float] = []
    ended: list[float] = []
    searches: list[float] = []
    with SyncMemoryCore.connect(a_url) as via_a, SyncMemoryCore.connect(b_url) as via_b:
        for n in range(probes):
            added = via_a.remember(f"probe {n}: the ferry to island {n} leaves from pier {n * 7}", scope=SCOPE)
            acked = time.perf_counter()
            while True:
                begin = time.perf_counter()
                hits = via_b.search(f"ferry to island {n} pier {n * 7}", scope=SCOPE, top_k=5)
                end = time.perf_counter()
                searches.append(end - begin)
                if added.id in [h.record.id for h in hits]:
                    started.append(begin - acked)
                    ended.append(end - acked)
                    break
                if end - acked > 30:
                    raise RuntimeError(f"probe {n} not visible on B after 30 s")
                time.sleep(0.02)

    def dist(values: list[float]) -> dict:
        return {"p50_s": round(percentile(values, 50), 3), "p95_s": round(percentile(values, 95), 3),
                "max_s": round(max(values), 3)}
    return {"probes": probes, "found_by_search_started": dist(started), "found_by_search_ended": dist(ended),
            "search_on_b": dist(searches)}


def populate(a_url: str, records: int) -> list[str]:
    texts = [f"record {i}: parcel {i % 97} for flat {i % 31} arrived on day {i % 28}" for i in range(records)]
    with SyncMemoryCore.connect(a_url) as via_a:
        for start in range(0, records, 100):
            via_a.add([Record(kind=RecordKind.FACT, text=t, scope=SCOPE) for t in texts[start:start + 100]])
    return texts


async def late_server(workdir: Path, texts: list[str]) -> dict:
    counting = CountingMiniLM()
    start = time.perf_counter()
    core = await MemoryCore.open(workdir / "late", embedder=counting)
    open_s = time.perf_counter() - start
    try:
        stats = await core.stats(SCOPE)
    finally:
        await core.close()
    MiniLMEmbedder.shared().embed(["warm up"])
    start = time.perf_counter()
    MiniLMEmbedder.shared().embed(texts)
    embed_s = time.perf_counter() - start
    return {"records": stats["records"], "vectors": stats["vectors"], "open_s": round(open_s, 2),
            "texts_embedded_on_open": counting.embedded, "minilm_embed_same_texts_s": round(embed_s, 2)}


async def ingest(workdir: Path, records: int) -> dict:
    """The write path's own cost on PostgreSQL (the hashing test embedder, so embedding costs next to nothing):
    records/s in batches of 100, and ms per single-record add."""
    from omne.testing import HashEmbedder

    core = await MemoryCore.open(workdir / "ingest", embedder=HashEmbedder())
    try:
        start = time.perf_counter()
        for i in range(0, records, 100):
            await core.add([Record(kind=RecordKind.FACT, text=f"ingest {j}: parcel {j % 97} for flat {j % 31}",
                                   scope=SCOPE) for j in range(i, min(i + 100, records))])
        batched = records / (time.perf_counter() - start)
        singles = []
        for j in range(200):
            start = time.perf_counter()
            await core.remember(f"single {j}: the ferry leaves at {j % 24}", scope=SCOPE)
            singles.append(time.perf_counter() - start)
    finally:
        await core.close()
    return {"records": records, "batched_records_per_s": round(batched), "single_add_p50_ms":
            round(percentile(singles, 50) * 1000, 1), "single_add_p95_ms": round(percentile(singles, 95) * 1000, 1)}


def run(args: argparse.Namespace) -> dict:
    result: dict = {"machine": machine(), "command": " ".join(["python -m benchmarks.several_servers", *sys.argv[1:]])}
    workdir = Path(tempfile.mkdtemp(prefix="omne-several-", dir=args.workdir))
    servers = []
    try:
        with throwaway_cluster(durable=True) as cluster:
            if args.ingest:
                os.environ["OMNE_DATABASE_URL"] = cluster.create_schema("ingest")
                progress(f"(c) ingest of {args.ingest} records through MemoryCore")
                result["ingest"] = asyncio.run(ingest(workdir, args.ingest))
                if args.ingest_only:
                    result["load_avg_at_end"] = os.getloadavg()
                    return result
            os.environ["OMNE_DATABASE_URL"] = cluster.create_schema("bench")
            ports = [free_port(), free_port()]
            progress("starting servers A and B (omne serve, MiniLM)")
            servers = [start_server(workdir / name, port) for name, port in zip("ab", ports)]
            a_url, b_url = (f"http://127.0.0.1:{port}" for port in ports)
            progress(f"(a) {args.probes} visibility probes A -> B")
            result["visibility"] = visibility(a_url, b_url, args.probes)
            progress(f"(b) {args.records} records through A")
            texts = populate(a_url, args.records)
            size = cluster_size(cluster.url_for_schema("bench"))
            result["stored_vectors_bytes_per_record"] = round(size / (args.records + args.probes))
            for proc in servers:
                stop_server(proc)
            servers = []
            progress("(b) a core opened later on a fresh store directory")
            result["late_server"] = asyncio.run(late_server(workdir, texts))
    finally:
        for proc in servers:
            stop_server(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg_at_end"] = os.getloadavg()
    return result


def cluster_size(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_total_relation_size('record_vectors')").fetchone()
    assert row is not None
    return int(row[0])


def markdown(r: dict) -> str:
    v, late = r["visibility"], r["late_server"]

    def d(x: dict) -> str:
        return f"p50 {x['p50_s']} s, p95 {x['p95_s']} s, max {x['max_s']} s"
    return "\n".join([
        f"- (a) {v['probes']} records added through A: the first search on B that returned each had started "
        f"{d(v['found_by_search_started'])} after A acknowledged it, and had ended {d(v['found_by_search_ended'])} "
        f"after; a search on B took {d(v['search_on_b'])}.",
        f"- (b) a core opened later on a fresh store directory: {late['records']:,} records, {late['vectors']:,} "
        f"vectors after an open of {late['open_s']} s, embedding {late['texts_embedded_on_open']} texts (MiniLM "
        f"embeds the same texts in {late['minilm_embed_same_texts_s']} s here).",
        f"- stored vectors (table record_vectors, with its index): {r['stored_vectors_bytes_per_record']:,} bytes a "
        "record.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--ingest", type=int, default=0, help="(c) also measure the write path with N records")
    parser.add_argument("--ingest-only", action="store_true", help="only (c): e.g. to compare two commits")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if "visibility" in result:
        print(markdown(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
