"""The embedded index reaches its fast state by itself: enough unindexed points make the next write build
their HNSW graph (a trigger test, not a timing test)."""

from __future__ import annotations

import numpy as np

from omne import MemoryCore, OmneConfig, Scope
from omne.storage.protocols import IndexItem
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.testing import HashEmbedder
from omne.types import Record, RecordKind

RNG = np.random.default_rng(5)


def items(n: int, start: int = 0) -> list[IndexItem]:
    return [IndexItem(record=Record(kind=RecordKind.MESSAGE, scope=Scope(user="u"), role="user",
                                    text=f"note {start + i} about the harbour" if i % 7 else "   "),
                      vector=RNG.normal(size=384).astype(np.float32)) for i in range(n)]


def test_crossing_the_threshold_builds_the_graph_once(tmp_path):
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        index.upsert(items(150))
        assert index.auto_optimizations == 0 and index.unindexed() == 150  # a few points: exhaustive is fine
        index.upsert(items(100, 150))
        assert index.auto_optimizations == 1 and index.unindexed() == 0  # points without BM25 terms too
        index.upsert(items(100, 250))
        assert index.auto_optimizations == 1 and index.unindexed() == 100  # not again until 200 more
        hits = index.search(Scope(user="u"), None, dense=RNG.normal(size=384).astype(np.float32), lexical=None,
                            limit=5)["dense"]
        assert len(hits) == 5
    finally:
        index.close()


def test_a_store_left_unoptimised_builds_on_its_next_write(tmp_path):
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=None)  # never builds by itself
    index.upsert(items(300))
    assert index.auto_optimizations == 0 and index.unindexed() == 300
    index.close()
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        index.upsert(items(1, 300))
        assert index.auto_optimizations == 1 and index.unindexed() == 0
    finally:
        index.close()


async def test_memory_core_passes_the_threshold_from_its_config(tmp_path):
    config = OmneConfig(store_dir=tmp_path / "store", vectors={"auto_optimize_after": 120},
                        limits={"min_free_bytes": 1})  # not the default: the index must be handed it
    core = await MemoryCore.open(config=config, embedder=HashEmbedder())
    try:
        scope = Scope(user="u")
        await core.add([Record(kind=RecordKind.FACT, scope=scope, text=f"fact {i} about kayaks") for i in range(130)])
        assert core._index.auto_optimizations == 1 and core._index.unindexed() == 0  # white box
        assert core._index.min_free_bytes == config.limits.min_free_bytes  # the index takes the store's limits too
        assert len(await core.search("fact 7 kayaks", scope=scope)) > 0
    finally:
        await core.close()


def test_the_build_starts_at_exactly_the_threshold(tmp_path):
    """Kills `EdgeVectorIndex._maybe_optimize` mutants of its two comparisons (`<` -> `<=`, `>=` -> `>`): the
    write that brings the unindexed points to exactly `auto_optimize_after` builds their graph."""
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        index.upsert(items(199))
        assert index.auto_optimizations == 0
        index.upsert(items(1, 199))
        assert index.auto_optimizations == 1 and index.unindexed() == 0
        index.upsert(items(200, 200))  # the next batch builds again, and is counted (`_maybe_optimize` 6)
        assert index.auto_optimizations == 2 and index.unindexed() == 0
    finally:
        index.close()
