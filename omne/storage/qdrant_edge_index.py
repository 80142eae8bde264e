"""Qdrant Edge as the embedded vector index: dense MiniLM vectors + BM25 sparse vectors in-process."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as q

from omne.errors import StorageError, StoreLockedError
from omne.storage.index_payload import DENSE, LEXICAL, SCOPE_KEYS, LexicalEncoder, index_payload, index_text
from omne.storage.protocols import IndexHit, IndexItem, RecordFilter
from omne.storage.space import DEFAULT_MIN_FREE_BYTES, require_free_space
from omne.types import Scope


def edge_filter(scope: Scope, flt: RecordFilter | None) -> q.Filter:
    """The scope partition (always) plus the optional record filter, as a Qdrant Edge filter."""
    must: list[q.ConditionType] = [q.FieldCondition(f"s_{key}", match=q.MatchValue(value)) for key, value in scope.fields().items()]
    if flt is not None:
        if flt.kinds:
            must.append(q.FieldCondition("kind", match=q.MatchAny([k.value for k in flt.kinds])))
        if flt.roles:
            must.append(q.FieldCondition("role", match=q.MatchAny(list(flt.roles))))
        if flt.tags:
            must.append(q.FieldCondition("tags", match=q.MatchAny(list(flt.tags))))
        if flt.start or flt.end:
            must.append(q.FieldCondition("t", range=q.RangeFloat(
                gte=flt.start.timestamp() if flt.start else None, lte=flt.end.timestamp() if flt.end else None)))
    return q.Filter(must=must)


class EdgeVectorIndex:
    """One Qdrant Edge shard under `<store>/vectors`. One process may hold it at a time."""

    def __init__(self, path: Path, dim: int, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self._lexical = LexicalEncoder()
        self._lock = threading.Lock()
        try:
            if (path / "segments").exists() or (path / "wal").exists():
                self._shard = q.EdgeShard.load(str(path))
            else:
                require_free_space(path, min_free_bytes)
                self._shard = q.EdgeShard.create(str(path), q.EdgeConfig(
                    vectors={DENSE: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)},
                    sparse_vectors={LEXICAL: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
                ))
                for key in SCOPE_KEYS:
                    self._shard.update(q.UpdateOperation.create_field_index(
                        key, q.KeywordIndexParams(is_tenant=key == "s_user")))
                for key in ("kind", "role", "tags"):
                    self._shard.update(q.UpdateOperation.create_field_index(key, q.PayloadSchemaType.Keyword))
                self._shard.update(q.UpdateOperation.create_field_index("t", q.PayloadSchemaType.Float))
        except StorageError:
            raise
        except Exception as exc:  # the binding raises plain Exception
            if "WouldBlock" in str(exc):
                raise StoreLockedError(
                    f"the vector index at {path} is open in another process. An embedded store has one owner "
                    "process: stop the other one, or point every process at a Qdrant server (OMNE_QDRANT_URL)."
                ) from exc
            raise StorageError(f"cannot open the vector index at {path}: {exc}") from exc

    def upsert(self, items: Sequence[IndexItem]) -> None:
        if not items:
            return
        points = []
        for item in items:
            indices, values = self._lexical.document(index_text(item.record))
            vectors: dict[str, q.NamedVector] = {DENSE: item.vector.astype(np.float32).tolist()}
            if indices:
                vectors[LEXICAL] = q.SparseVector(indices, values)
            points.append(q.Point(item.record.id, vectors, index_payload(item.record)))
        # a full disk would crash the process (SIGBUS in the index's memory-mapped files): refuse first
        require_free_space(self.path, self.min_free_bytes, refused="the records are committed to the log but not "
                           "yet searchable")
        with self._lock:
            self._shard.update(q.UpdateOperation.upsert_points(points))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            require_free_space(self.path, self.min_free_bytes, refused="the change is committed to the log but the "
                               "index still lists the records")
            with self._lock:
                self._shard.update(q.UpdateOperation.delete_points(list(ids)))

    def search(self, scope: Scope, flt: RecordFilter | None, *, dense: np.ndarray | None,
               lexical: str | None, limit: int) -> dict[str, list[IndexHit]]:
        condition = edge_filter(scope, flt)
        stages: list[str] = []
        requests: list[q.QueryRequest] = []
        if dense is not None:
            stages.append("dense")
            requests.append(q.QueryRequest(limit=limit, query=q.Query.Nearest(dense.astype(np.float32).tolist(),
                                                                              using=DENSE), filter=condition,
                                           with_payload=False, with_vector=False))
        if lexical:
            indices, values = self._lexical.query(lexical)
            if indices:
                stages.append("lexical")
                requests.append(q.QueryRequest(
                    limit=limit, query=q.Query.Nearest(q.SparseVector(indices, values), using=LEXICAL),
                    filter=condition, params=q.SearchParams(idf=q.IdfParams(corpus=condition)),
                    with_payload=False, with_vector=False))
        if not requests:
            return {}
        results = self._shard.query_batch(q.QueryBatchRequest(requests))
        return {stage: [IndexHit(id=str(p.id), score=p.score, rank=i + 1) for i, p in enumerate(points)]
                for stage, points in zip(stages, results)}

    def count(self, scope: Scope | None = None) -> int:
        return self._shard.count(q.CountRequest(filter=edge_filter(scope, None) if scope is not None else None))

    def flush(self) -> None:
        with self._lock:
            self._shard.flush()

    def optimize(self) -> bool:
        """Build the HNSW graph over segments grown since the last call (Qdrant Edge has no background
        optimiser); blocks until done. Searches stay correct without it, just slower on large scopes."""
        with self._lock:
            return self._shard.optimize()

    def close(self) -> None:
        with self._lock:
            self._shard.close()
