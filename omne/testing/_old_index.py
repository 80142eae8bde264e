"""An embedded store's vector index as an Omne before contextual vectors left it, for upgrade tests and runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import qdrant_edge as q

from omne.storage.index_payload import DENSE, LEXICAL


def make_pre_contextual_index(vectors: Path) -> None:
    """Rewrite the (closed) Qdrant Edge index at `vectors` (a store's `vectors` folder) with the same points (ids,
    dense and BM25 vectors, payloads) and no `context` vector: the layout of an index made before them."""
    shard = q.EdgeShard.load(str(vectors))
    points: list[Any] = []
    offset = None
    while True:
        page, offset = shard.scroll(q.ScrollRequest(limit=1000, offset=offset, with_payload=True,
                                                    with_vector=[DENSE, LEXICAL]))
        points += page
        if offset is None:
            break
    shard.close()
    shutil.rmtree(vectors)
    dim = len(points[0].vector[DENSE]) if points else 384
    old = q.EdgeShard.create(str(vectors), q.EdgeConfig(
        vectors={DENSE: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)},
        sparse_vectors={LEXICAL: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)}))
    for start in range(0, len(points), 1000):
        old.update(q.UpdateOperation.upsert_points([q.Point(p.id, p.vector, p.payload)
                                                    for p in points[start:start + 1000]]))
    old.close()
