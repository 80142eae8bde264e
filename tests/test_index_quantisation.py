"""The embedded index keeps int8 copies of its dense vectors for the HNSW graphs (QUANTISATION) and rescores each
search's candidates with the float32 vectors; an index made before keeps its own settings and is not rebuilt."""

from __future__ import annotations

import json

import numpy as np

from omne.storage import qdrant_edge_index
from omne.storage.protocols import IndexItem
from omne.storage.qdrant_edge_index import EdgeVectorIndex
from omne.types import Record, RecordKind, Scope

SCOPE = Scope(user="u")


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(index: EdgeVectorIndex, vectors: np.ndarray) -> list[str]:
    """Writes one record per vector; 300 points cross the test's build threshold (200), so a graph is built."""
    items = [IndexItem(record=Record(kind=RecordKind.FACT, scope=SCOPE, text=f"fact {i}"), vector=vector)
             for i, vector in enumerate(vectors)]
    index.upsert(items)
    return [item.record.id for item in items]


def test_a_new_index_is_quantised_and_searches_rescore_with_the_float_vectors(tmp_path):
    vectors = unit_vectors(300, seed=1)
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        ids = fill(index, vectors)
        assert index.auto_optimizations == 1 and index.unindexed() == 0
        for row in (0, 123, 299):
            (best, *_) = index.search(SCOPE, None, dense=vectors[row], lexical=None, limit=5)["dense"]
            # the point itself, scored by its float32 vector (an int8 score is off by about 1e-3)
            assert best.id == ids[row] and abs(best.score - 1.0) < 1e-5, best
    finally:
        index.close()
    # white box: the binding's own record of the shard's settings (no API reports them)
    persisted = json.loads((tmp_path / "v" / "edge_config.json").read_text("utf-8"))
    assert persisted["quantization_config"]["scalar"]["type"] == "int8"
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        assert index.optimize() is False  # reopened as it was made: nothing to rebuild
    finally:
        index.close()


def test_an_index_made_before_quantisation_is_opened_as_it_was_not_rebuilt(tmp_path, monkeypatch):
    vectors = unit_vectors(300, seed=2)
    with monkeypatch.context() as before:  # the index as the previous version made it
        before.setattr(qdrant_edge_index, "QUANTISATION", None)
        index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
        ids = fill(index, vectors)
        assert index.auto_optimizations == 1
        index.close()
    index = EdgeVectorIndex(tmp_path / "v", 384, auto_optimize_after=200)
    try:
        # switching an index's quantisation rebuilds every graph at its next build: minutes at a million points
        assert index.optimize() is False
        (best, *_) = index.search(SCOPE, None, dense=vectors[7], lexical=None, limit=5)["dense"]
        assert best.id == ids[7] and abs(best.score - 1.0) < 1e-5
    finally:
        index.close()
