"""The embedded index with and without int8 scalar quantisation of its dense vectors: HNSW build time, search
time and top-100 overlap with an exact search, on the same points.

    python -m benchmarks.index_quantisation --size 100000 --out result.json

Two Qdrant Edge shards are built side by side with Omne's segment policy (a graph build every 25,000 points) from
core_perf's corpus (the cached MiniLM pool, jittered beyond it), each point with the same vector as `dense` and
`context` and one scope. Each is searched with 150 synthetic queries embedded by MiniLM, two dense requests per
query (as the default read path sends), limit 100, filtered by the scope. The quantised shard is searched with
and without rescoring by the float32 vectors; overlap is measured against an exact search of the plain shard.
Last, each shard is reopened and searched once (timed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import qdrant_edge as q

from benchmarks.core_perf import corpus, machine, progress
from benchmarks.synthetic import synthetic_queries, vector_pool
from omne import MiniLMEmbedder, Scope
from omne.storage.index_payload import CONTEXT, DENSE
from omne.storage.qdrant_edge_index import QUANTISATION, RESCORED, edge_filter, segment_policy

BUILD_EVERY = 25_000
FILTER = edge_filter(Scope(user="bench"), None)


def build(path: Path, vectors, quantisation: q.ScalarQuantizationConfig | None) -> tuple[q.EdgeShard, float]:
    params = q.EdgeVectorParams(size=vectors.shape[1], distance=q.Distance.Cosine)
    shard = q.EdgeShard.create(str(path), q.EdgeConfig(
        vectors={DENSE: params, CONTEXT: params}, optimizers=segment_policy(vectors.shape[1], BUILD_EVERY),
        quantization_config=quantisation))
    shard.update(q.UpdateOperation.create_field_index("s_user", q.KeywordIndexParams(is_tenant=True)))
    build_s = 0.0
    for start in range(0, len(vectors), 1000):
        rows = range(start, min(len(vectors), start + 1000))
        points = [q.Point(i, {DENSE: vectors[i].tolist(), CONTEXT: vectors[i].tolist()}, {"s_user": "bench"})
                  for i in rows]
        shard.update(q.UpdateOperation.upsert_points(points))
        if rows.stop % BUILD_EVERY == 0 or rows.stop == len(vectors):
            started = time.perf_counter()
            shard.optimize()
            build_s += time.perf_counter() - started
    return shard, build_s


def search(shard: q.EdgeShard, queries: list[list[float]], params: q.SearchParams | None) -> tuple[float, list[set]]:
    def batch(vector: list[float]) -> list:
        return shard.query_batch(q.QueryBatchRequest([q.QueryRequest(
            limit=100, query=q.Query.Nearest(vector, using=using), filter=FILTER, params=params, with_payload=False,
            with_vector=False) for using in (DENSE, CONTEXT)]))

    for vector in queries[:20]:
        batch(vector)
    times, found = [], []
    for vector in queries:
        started = time.perf_counter()
        out = batch(vector)
        times.append((time.perf_counter() - started) * 1000)
        found.append({p.id for p in out[0]})
    return round(statistics.median(times), 2), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--cache-dir", default=".omne/bench-cache")
    parser.add_argument("--memory", choices=["cached", "cold"], default="cached",
                        help="where the int8 vectors live (Omne's setting: cached)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    embedder = MiniLMEmbedder()
    _, vectors = corpus(args.size, *vector_pool(args.pool, embedder.embed, "minilm", Path(args.cache_dir)))
    queries = [embedder.embed_query(text).tolist() for text in synthetic_queries(150)]
    quantisation = q.ScalarQuantizationConfig(type=QUANTISATION.type, quantile=QUANTISATION.quantile,
                                              memory=q.Memory.Cold if args.memory == "cold" else q.Memory.Cached)
    result: dict = {"machine": machine(), "size": args.size, "memory": args.memory}
    with tempfile.TemporaryDirectory(prefix="omne-quantisation-") as work:
        progress("building the plain shard")
        plain, result["plain_build_s"] = build(Path(work) / "plain", vectors, None)
        progress("building the quantised shard")
        quantised, result["quantised_build_s"] = build(Path(work) / "int8", vectors, quantisation)
        exact = [{p.id for p in plain.query(q.QueryRequest(limit=100, query=q.Query.Nearest(v, using=DENSE),
                                                           filter=FILTER, params=q.SearchParams(exact=True)))}
                 for v in queries]
        runs = {"plain": (plain, None),
                "int8, rescored": (quantised, RESCORED),  # Omne's search
                "int8, not rescored": (quantised, q.SearchParams(quantization=q.QuantizationSearchParams(rescore=False)))}
        for name, (shard, params) in runs.items():
            p50, found = search(shard, queries, params)
            overlap = statistics.mean(len(f & e) / 100 for f, e in zip(found, exact))
            result[name] = {"two_dense_requests_p50_ms": p50, "top100_overlap_with_exact": round(overlap, 3)}
            progress(f"{name}: {result[name]}")
        result["segments"] = plain.info().segments_count
        plain.close()
        quantised.close()
        for name in ("plain", "int8"):  # reopen each shard (its settings as persisted) and search once
            started = time.perf_counter()
            shard = q.EdgeShard.load(str(Path(work) / name))
            shard.query(q.QueryRequest(limit=100, query=q.Query.Nearest(queries[0], using=DENSE), filter=FILTER))
            result[f"{name}_reopen_and_first_search_s"] = round(time.perf_counter() - started, 2)
            shard.close()
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
