"""What contextual vectors (omne.storage.context) cost: ingest with the real MiniLM embedder with them on and off,
and search latency with and without the contextual stage.

    nice -n 10 python -m benchmarks.contextual_cost --records 2000 --rounds 3 --search-size 10000 --queries 300

* ingest: the same messages (synthetic sentences, two speakers, sessions of `--session` turns) into fresh stores
  opened with `MemoryCore.open(contextual=True)` and `contextual=False`, alternating (and swapping which goes first)
  round by round so that both see the same machine load; records/s, embedder calls, texts and tokens embedded.
* search: one store of `--search-size` such messages written with contextual vectors (all embedded for real),
  searched with the `default` read path and with
  `default_without_context`, alternately query by query; every query is embedded by the real model. The write
  path's flag does not change what a search costs (every point holds a contextual vector either way, the dense
  one when there is none), so the read path's contextual stage is what is compared.
* with --upgrade-size: a store whose index is turned into one made before contextual vectors, opened once with
  the vectors added in place (this version) and once with its index emptied (a rebuild from the log, as before).
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.core_perf import machine, percentile, progress
from benchmarks.synthetic import synthetic_queries, synthetic_sentences
from omne import MemoryCore, MiniLMEmbedder, Record, RecordKind, Scope
from omne.retrieval.stages import PRESETS
from omne.testing import make_pre_contextual_index

SPEAKERS = ("Maya", "Omar")



class Counted:
    """An embedder that counts its calls and keeps the texts it was given (tokens are counted afterwards)."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls = 0
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def messages(texts: Sequence[str], session: int) -> list[Record]:
    """Messages in sessions of `session` turns (each session its own chain), two speakers taking turns."""
    return [Record(kind=RecordKind.MESSAGE, scope=Scope(user="bench", session=f"s{i // session:04d}"), role="user",
                   name=SPEAKERS[i % 2], text=text) for i, text in enumerate(texts)]


async def ingest(records: list[Record], contextual: bool, batch: int, where: Path, real: MiniLMEmbedder) -> dict:
    embedder = Counted(real)
    core = await MemoryCore.open(where, embedder=embedder, contextual=contextual)
    try:
        start = time.perf_counter()
        for i in range(0, len(records), batch):
            await core.add(records[i:i + batch])
        seconds = time.perf_counter() - start
    finally:
        await core.close()
    shutil.rmtree(where)
    tokens = sum(min(len(e.ids), 256) for e in real.tokenizer.encode_batch(embedder.texts))
    return {"contextual": contextual, "records": len(records), "seconds": round(seconds, 2),
            "records_per_s": round(len(records) / seconds, 1), "embedder_calls": embedder.calls,
            "texts_embedded": len(embedder.texts), "tokens_embedded": tokens, "load_avg": os.getloadavg()}


async def search_cost(records: list[Record], queries: list[str], batch: int, where: Path,
                      real: MiniLMEmbedder) -> dict:
    core = await MemoryCore.open(where, embedder=real)
    try:
        start = time.perf_counter()
        for i in range(0, len(records), batch):
            await core.add(records[i:i + batch])
            if (i // batch) % 8 == 0:
                progress(f"  search store: {min(i + batch, len(records)):,}/{len(records):,}")
        built = time.perf_counter() - start
        scope = Scope(user="bench")
        configs = {"default": PRESETS["default"], "default_without_context": PRESETS["default_without_context"]}
        for query in queries[:10]:  # warm-up
            for config in configs.values():
                await core.search(query, scope=scope, top_k=10, config=config)
        times: dict[str, list[float]] = {name: [] for name in configs}
        rng = random.Random(5)
        for query in queries:
            order = list(configs)
            rng.shuffle(order)
            for name in order:
                began = time.perf_counter()
                await core.search(query, scope=scope, top_k=10, config=configs[name])
                times[name].append((time.perf_counter() - began) * 1000)
    finally:
        await core.close()
    return {"records": len(records), "build_s": round(built, 1), "queries": len(queries),
            "load_avg": os.getloadavg(),
            **{name: {"p50_ms": round(percentile(t, 50), 2), "p95_ms": round(percentile(t, 95), 2)}
               for name, t in times.items()}}


async def upgrade_cost(records: list[Record], batch: int, where: Path, real: MiniLMEmbedder) -> dict:
    """Opening a store whose index was made before contextual vectors: adding them in place (this version) against
    rebuilding the index from the log (what the version before did), each on a copy of the same store."""
    core = await MemoryCore.open(where / "store", embedder=real)
    for i in range(0, len(records), batch):
        await core.add(records[i:i + batch])
    await core.close()
    make_pre_contextual_index(where / "store" / "vectors")
    out: dict = {"records": len(records)}
    for how in ("add_in_place", "rebuild"):
        copy = where / how
        shutil.copytree(where / "store", copy)
        if how == "rebuild":
            shutil.rmtree(copy / "vectors")  # an emptied index: every record is embedded again (both texts)
        embedder = Counted(real)
        start = time.perf_counter()
        core = await MemoryCore.open(copy, embedder=embedder)
        seconds = time.perf_counter() - start
        assert (await core.stats())["vectors"] == len(records)
        await core.close()
        out[how] = {"open_s": round(seconds, 2), "texts_embedded": len(embedder.texts), "load_avg": os.getloadavg()}
        progress(f"upgrade ({how}): {out[how]}")
    return out


async def run(args: argparse.Namespace) -> dict:
    real = MiniLMEmbedder.shared()
    workdir = Path(tempfile.mkdtemp(prefix="omne-contextual-cost-", dir=args.workdir))
    result: dict = {"machine": machine(), "command": " ".join(["python -m benchmarks.contextual_cost", *sys.argv[1:]]),
                    "ingest": [], "search": None, "upgrade": None}
    try:
        records = messages(synthetic_sentences(args.records, seed=13), args.session)
        real.embed([f'{r.name}: "{r.text}"' for r in records[:64]])  # warm-up (threads, allocator)
        for round_ in range(args.rounds):
            for contextual in ((True, False) if round_ % 2 == 0 else (False, True)):
                row = await ingest(records, contextual, args.batch, workdir / "ingest", real)
                progress(f"round {round_ + 1}: {row}")
                result["ingest"].append(row)
        if args.search_size:
            searched = messages(synthetic_sentences(args.search_size, seed=17), args.session)
            result["search"] = await search_cost(searched, synthetic_queries(args.queries), args.batch,
                                                 workdir / "search", real)
            progress(f"search: {result['search']}")
        if args.upgrade_size:
            result["upgrade"] = await upgrade_cost(messages(synthetic_sentences(args.upgrade_size, seed=19),
                                                            args.session), args.batch, workdir / "upgrade", real)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def summary(result: dict) -> str:
    lines = ["| contextual | round | records/s | embedder calls | texts embedded | tokens embedded | load (1 min) |",
             "|---|---|---|---|---|---|---|"]
    for i, row in enumerate(result["ingest"]):
        lines.append(f"| {'on' if row['contextual'] else 'off'} | {i // 2 + 1} | {row['records_per_s']:,.0f} | "
                     f"{row['embedder_calls']} | {row['texts_embedded']:,} | {row['tokens_embedded']:,} | "
                     f"{row['load_avg'][0]:.1f} |")
    on = [r["records_per_s"] for r in result["ingest"] if r["contextual"]]
    off = [r["records_per_s"] for r in result["ingest"] if not r["contextual"]]
    if on and off:
        lines.append(f"\nmedian records/s: on {np.median(on):,.0f}, off {np.median(off):,.0f} "
                     f"(off / on = {np.median(off) / np.median(on):.2f})")
    if result["search"]:
        s = result["search"]
        lines.append(f"\nsearch at {s['records']:,} ({s['queries']} queries each, query embedded): default "
                     f"{s['default']['p50_ms']} / {s['default']['p95_ms']} ms, default_without_context "
                     f"{s['default_without_context']['p50_ms']} / {s['default_without_context']['p95_ms']} ms "
                     f"(p50 / p95; load {s['load_avg'][0]:.1f})")
    if result.get("upgrade"):
        u = result["upgrade"]
        lines.append(f"\nopening {u['records']:,} messages indexed before contextual vectors: added in place "
                     f"{u['add_in_place']['open_s']} s ({u['add_in_place']['texts_embedded']:,} texts embedded), "
                     f"rebuilt {u['rebuild']['open_s']} s ({u['rebuild']['texts_embedded']:,} texts)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000, help="messages ingested per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (on, off) ingest runs")
    parser.add_argument("--session", type=int, default=25, help="turns per session (each session one chain)")
    parser.add_argument("--batch", type=int, default=250, help="records per MemoryCore.add call")
    parser.add_argument("--search-size", type=int, default=10000, help="messages in the searched store (0: none)")
    parser.add_argument("--upgrade-size", type=int, default=0,
                        help="messages in a store whose index is made pre-contextual, then opened (0: none)")
    parser.add_argument("--queries", type=int, default=300, help="timed searches per read path")
    parser.add_argument("--workdir", default=None, help="parent directory of the temporary stores")
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(summary(result))


if __name__ == "__main__":
    main()
