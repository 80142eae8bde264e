"""Inspector page times on a 10k-record scope: server time per page (the app in process over ASGI, no network).

    nice -n 10 python -m benchmarks.inspector_perf --size 10000 --out benchmarks/results/inspector.json

The scope holds `size` message records (precomputed MiniLM vectors, as in core_perf), a fact with three
versions, an insight derived from it, a block with an edit history and a failed job. Each page is requested
once to warm up, then `--repeat` times; the report gives p50 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.core_perf import corpus, machine, percentile, progress, records_for
from benchmarks.synthetic import PrecomputedEmbedder, vector_pool
from omne import MemoryCore, MiniLMEmbedder, Scope
from omne.agents.blocks import BlockSpec, CoreMemory
from omne.service.app import create_app
from omne.types import Edge, EdgeKind, Record, RecordKind
from tests.support.inspector_store import fail_a_job

SCOPE = Scope(user="bench")
Q = "user=bench"


async def build(store: Path, size: int, pool: int, cache_dir: Path) -> dict[str, str]:
    real = MiniLMEmbedder.shared()
    pool_texts, pool_vectors = vector_pool(pool, real.embed, "minilm", cache_dir)
    texts, vectors = corpus(size, pool_texts, pool_vectors)
    core = await MemoryCore.open(store, embedder=PrecomputedEmbedder(texts, vectors, real))
    try:
        for i in range(0, size, 500):
            await core.add(records_for(texts, i, min(i + 500, size), [SCOPE]))
            progress(f"{min(i + 500, size):,}/{size:,} records")
        fact = await core.remember("The bench user lives in Porto", scope=SCOPE)
        fact = await core.update(fact.id, scope=SCOPE, text="The bench user lives in Lisbon")
        fact = await core.update(fact.id, scope=SCOPE, text="The bench user lives in Madrid")
        insight = (await core.add(Record(kind=RecordKind.INSIGHT, scope=SCOPE, text="The bench user moves often",
                                         source_ids=[fact.id])))[0]
        await core.add_edges([Edge(scope=SCOPE, src=insight.id, dst=fact.id, kind=EdgeKind.DERIVED_FROM)])
        blocks = CoreMemory(core, private_scope=SCOPE, team_scope=None, editor="bench")
        await blocks.attach(BlockSpec(label="human", value="Name: Bench", limit=2000))
        for n in range(5):
            await blocks.append("human", f"note {n}")
        await core.optimize()
    finally:
        await core.close()
    fail_a_job(store, SCOPE, "no model")
    return {"fact": fact.id, "insight": insight.id}


async def measure(store: Path, ids: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    async def open_core() -> MemoryCore:
        return await MemoryCore.open(store, embedder=MiniLMEmbedder.shared())

    app = create_app(open_core, keys_required=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            first = (await client.get(f"/records?{Q}")).text
            deep = f"/records?{Q}"
            for _ in range(20):  # page 21 of the newest-first listing, by its "older" links
                html = (await client.get(deep)).text
                deep = html.split('id="older" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            pages = {  # name: (path, text the page must show)
                "home (stats)": (f"/?{Q}", "live records"),
                "records, page 1": (f"/records?{Q}", "The bench user moves often"),
                "records, page 21": (deep, 'id="older"'),
                "records of one kind": (f"/records?{Q}&kind=insight", "The bench user moves often"),
                "search, hybrid (explain)": (f"/search?{Q}&q=where+does+the+bench+user+live",
                                             "The bench user lives in Madrid"),
                "search, full text": (f"/search?{Q}&q=lives+Madrid&mode=text", "The bench user lives in Madrid"),
                "record (3 versions, provenance, graph)": (f"/records/{ids['fact']}?{Q}", "Version history (3)"),
                "record (derived insight)": (f"/records/{ids['insight']}?{Q}", "Provenance (1 source"),
                "blocks with edit history": (f"/blocks?{Q}&label=human", "(6 versions)"),
                "jobs": (f"/jobs?{Q}", "no model"),
            }
            assert "older" in first
            out = {}
            for name, (path, shown) in pages.items():
                response = await client.get(path)
                assert response.status_code == 200 and shown in response.text, (path, response.status_code)
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    response = await client.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200
                out[name] = {"p50_ms": round(percentile(times, 50), 1), "max_ms": round(max(times), 1)}
                progress(f"{name}: {out[name]}")
            return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cache-dir", default=".omne/bench-cache", help="where pool vectors are cached")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omne-inspector-perf-", dir=args.workdir) as work:
        store = Path(work) / "store"
        ids = asyncio.run(build(store, args.size, args.pool, Path(args.cache_dir)))
        pages = asyncio.run(measure(store, ids, args.repeat))
    result = {"machine": machine(), "command": " ".join(["python -m benchmarks.inspector_perf", *sys.argv[1:]]),
              "records_in_scope": args.size, "pages": pages}
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
